// Campaign storage. Only the campaigns collection (one small document per campaign) is ever updated;
// recipients, messages and deliveries are insert-only with meaningful unique _ids, so retries and restarts
// are idempotent and no large collection pays the embedded database's per-update scan. The send queue is
// updated, but it holds one entry per 400 messages (or per message being retried) and shrinks as it drains.
import { Schema, model } from 'mongoose';

export type OnInconclusive = 'send_control' | 'send_best' | 'hold';
export type MessagePhase = 'test' | 'winner' | 'export';
export type DeliveryStatus = 'sent' | 'failed' | 'bounced' | 'suppressed';

export interface CampaignHistoryEntry {
  at: Date;
  action: string;
  actor: string;
  details?: Record<string, unknown>;
}

export interface CampaignDecision {
  at: Date;
  by: 'manual' | 'auto';
  actor: string;
  metric: string;
  /** 'manual' when a variant was named; 'ship' when the results picked it; else the onInconclusive rule. */
  rule: 'manual' | 'ship' | OnInconclusive;
  variant?: string;
  resultsVerdict?: string;
  reasons: string[];
}

export interface CampaignRecord {
  _id: string; // the campaign key
  experiment: string;
  /** Absent: email. 'sms': the experiment is an SMS one, `from` is the sender id and recipients have phones. */
  channel?: 'sms';
  from: string;
  replyTo?: string;
  testFraction: number;
  /** Share of the audience held out: assigned to the experiment's no-send arm (HOLDOUT_VARIANT), sent nothing. */
  holdoutFraction?: number;
  winnerPolicy: { after: string; afterMs: number; metric?: string; onInconclusive: OnInconclusive };
  autoSendWinner: boolean;
  /** The upload whose recipients are the audience; staged uploads stay invisible until they validate. */
  audience?: { upload: string; accepted: number; merged: number; suppressed: number; testGroup: number; holdout?: number; uploadedAt: Date };
  /** heldOut: holdout members assigned to the no-send arm (with a holdout only). */
  test?: { requestedAt: Date; winnerDueAt: Date; enqueuedAt?: Date; queued?: number; skipped?: number; heldOut?: number };
  decision?: CampaignDecision;
  winner?: { requestedAt: Date; variant: string; enqueuedAt?: Date; queued?: number; skipped?: number };
  history: CampaignHistoryEntry[];
  createdAt: Date;
  updatedAt: Date;
}

export interface RecipientRecord {
  _id: string; // `${upload}:${customerId}`: a customer appears once per upload
  campaign: string;
  upload: string;
  customerId: string;
  /** Email campaigns: the address. */
  email?: string;
  /** SMS campaigns: the number, E.164. */
  phone?: string;
  /** Lowercased address (or `phone:<E.164>`): unique per upload, so duplicate emails or phones merge as well. */
  emailKey: string;
  name?: string;
  locale?: string;
  attributes?: Record<string, unknown>;
  /** In the test group: decided at upload from the customer id, the campaign's seed and testFraction. */
  test: boolean;
  /** In the holdout (never in the test group): decided at upload from the customer id and holdoutFraction. */
  holdout?: boolean;
}

export interface MessageRecord {
  _id: string; // `${campaign}:${phase}:${customerId}`: one message per recipient and phase, ever
  campaign: string;
  phase: MessagePhase;
  customerId: string;
  email?: string;
  /** SMS campaigns: the number, E.164. */
  phone?: string;
  name?: string;
  locale?: string;
  attributes?: Record<string, unknown>;
  variant: string;
  /** The Message-ID header, fixed at enqueue so a resend after a crash carries the same one. */
  messageIdHeader: string;
  /** Not sent before this time: the variant's sendAt or sendDelay (absent: at once). */
  notBefore?: Date;
  /** Always 1: the embedded database's $sum: 1 is broken, $sum over a field works. */
  n: 1;
  createdAt: Date;
}

export interface DeliveryRecord {
  _id: string; // the message _id: a message has at most one outcome
  campaign: string;
  phase: MessagePhase;
  variant: string;
  customerId: string;
  status: DeliveryStatus;
  attempts: number;
  subject?: string;
  response?: string;
  error?: string;
  responseCode?: number;
  /** Development outbox: the .eml (or SMS .json) file, relative to DATA_DIR/outbox/<campaign>/. */
  file?: string;
  /** SMS: the segments the message cost and the SMSC's message id (delivery receipts name it). */
  segments?: number;
  smscId?: string;
  n: 1;
  at: Date;
}

export interface QueueEntryRecord {
  _id: string; // `${campaign}:${phase}:${chunk}` for a batch, `retry:${messageId}` for a retry
  campaign: string;
  phase: MessagePhase;
  kind: 'batch' | 'retry';
  messages: string[];
  /** The attempt the next send of these messages is (1 for a fresh batch). */
  attempt: number;
  status: 'queued' | 'sending';
  nextAttemptAt: Date;
  claimedBy?: string;
  claimedAt?: Date;
  lastError?: string;
  createdAt: Date;
}

const campaignSchema = new Schema<CampaignRecord>(
  {
    _id: { type: String, required: true },
    experiment: { type: String, required: true, index: true },
    channel: String,
    from: { type: String, required: true },
    replyTo: String,
    testFraction: { type: Number, required: true },
    holdoutFraction: Number,
    winnerPolicy: { type: Schema.Types.Mixed, required: true },
    autoSendWinner: { type: Boolean, required: true },
    audience: Schema.Types.Mixed,
    test: Schema.Types.Mixed,
    decision: Schema.Types.Mixed,
    winner: Schema.Types.Mixed,
    history: { type: Schema.Types.Mixed, default: () => [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'campaigns', minimize: false },
);

const recipientSchema = new Schema<RecipientRecord>(
  {
    _id: String,
    campaign: { type: String, required: true },
    upload: { type: String, required: true, index: true },
    customerId: { type: String, required: true },
    email: String,
    phone: String,
    emailKey: { type: String, required: true },
    name: String,
    locale: String,
    attributes: Schema.Types.Mixed,
    test: { type: Boolean, required: true },
    holdout: Boolean,
  },
  { versionKey: false, collection: 'campaign_recipients' },
);
recipientSchema.index({ upload: 1, emailKey: 1 }, { unique: true });

const messageSchema = new Schema<MessageRecord>(
  {
    _id: String,
    campaign: { type: String, required: true, index: true },
    phase: { type: String, required: true },
    customerId: { type: String, required: true },
    email: String,
    phone: String,
    name: String,
    locale: String,
    attributes: Schema.Types.Mixed,
    variant: { type: String, required: true },
    messageIdHeader: { type: String, required: true },
    notBefore: Date,
    n: { type: Number, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'campaign_messages' },
);

const deliverySchema = new Schema<DeliveryRecord>(
  {
    _id: String,
    campaign: { type: String, required: true, index: true },
    phase: { type: String, required: true },
    variant: { type: String, required: true },
    customerId: { type: String, required: true },
    status: { type: String, required: true },
    attempts: { type: Number, required: true },
    subject: String,
    response: String,
    error: String,
    responseCode: Number,
    file: String,
    segments: Number,
    smscId: String,
    n: { type: Number, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'campaign_deliveries' },
);

const queueSchema = new Schema<QueueEntryRecord>(
  {
    _id: String,
    campaign: { type: String, required: true, index: true },
    phase: { type: String, required: true },
    kind: { type: String, required: true },
    messages: { type: [String], required: true },
    attempt: { type: Number, required: true },
    status: { type: String, required: true },
    nextAttemptAt: { type: Date, required: true },
    claimedBy: String,
    claimedAt: Date,
    lastError: String,
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'campaign_send_queue' },
);
queueSchema.index({ status: 1, nextAttemptAt: 1 });

export const CampaignModel = model<CampaignRecord>('Campaign', campaignSchema);
export const RecipientModel = model<RecipientRecord>('CampaignRecipient', recipientSchema);
export const MessageModel = model<MessageRecord>('CampaignMessage', messageSchema);
export const DeliveryModel = model<DeliveryRecord>('CampaignDelivery', deliverySchema);
export const QueueEntryModel = model<QueueEntryRecord>('CampaignQueueEntry', queueSchema);
