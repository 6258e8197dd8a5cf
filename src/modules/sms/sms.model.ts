// SMS storage, all insert-only with meaningful unique _ids (retries and redelivered receipts add nothing):
// the short links' references, what was submitted to the SMSC under which id, the delivery receipts and
// the inbound messages (opt-outs). Phone numbers are kept as hashes only.
import { Schema, model } from 'mongoose';

export type SmsReceiptStatus = 'delivered' | 'failed' | 'expired';

/** What a short link (/m/<token>) stands for: the facts a long tracking token would carry. */
export interface SmsLinkRecord {
  _id: string; // the short reference (tracking's shortReference of the message id)
  messageId: string;
  campaign: string;
  customerId: string;
  experiment: string;
  variant: string;
  locale?: string;
  /** false: the survey's frequency cap (SURVEY_FREQUENCY_PERIOD) left this message without the survey. */
  survey?: false;
  createdAt: Date;
}

/** One accepted submit_sm: the SMSC's message id names the message in its delivery receipt. */
export interface SmsSubmissionRecord {
  _id: string; // `${smscId}`
  messageId: string;
  campaign: string;
  phase: string;
  variant: string;
  customerId: string;
  experiment: string;
  /** sha256 of the E.164 number: an inbound STOP finds the customer by it. */
  phoneKey: string;
  at: Date;
}

/** A message's final delivery receipt (one per message: later duplicates are ignored). */
export interface SmsReceiptRecord {
  _id: string; // the campaign message _id
  campaign: string;
  phase: string;
  variant: string;
  customerId: string;
  smscId: string;
  status: SmsReceiptStatus;
  /** The receipt's stat (DELIVRD, UNDELIV, EXPIRED, REJECTD, ...) and err fields. */
  stat: string;
  err?: string;
  n: 1;
  at: Date;
}

/** An inbound message (mobile originated); only whether it was an opt-out is kept, not its text. */
export interface SmsInboundRecord {
  _id: string;
  phoneKey: string;
  optOut: boolean;
  keyword?: string;
  customerId?: string;
  experiment?: string;
  at: Date;
}

const linkSchema = new Schema<SmsLinkRecord>(
  {
    _id: String,
    messageId: { type: String, required: true },
    campaign: { type: String, required: true },
    customerId: { type: String, required: true },
    experiment: { type: String, required: true },
    variant: { type: String, required: true },
    locale: String,
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'sms_links' },
);

const submissionSchema = new Schema<SmsSubmissionRecord>(
  {
    _id: String,
    messageId: { type: String, required: true },
    campaign: { type: String, required: true },
    phase: { type: String, required: true },
    variant: { type: String, required: true },
    customerId: { type: String, required: true },
    experiment: { type: String, required: true },
    phoneKey: { type: String, required: true, index: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'sms_submissions' },
);

const receiptSchema = new Schema<SmsReceiptRecord>(
  {
    _id: String,
    campaign: { type: String, required: true, index: true },
    phase: { type: String, required: true },
    variant: { type: String, required: true },
    customerId: { type: String, required: true },
    smscId: { type: String, required: true },
    status: { type: String, required: true },
    stat: { type: String, required: true },
    err: String,
    n: { type: Number, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'sms_receipts' },
);

const inboundSchema = new Schema<SmsInboundRecord>(
  {
    _id: String,
    phoneKey: { type: String, required: true },
    optOut: { type: Boolean, required: true },
    keyword: String,
    customerId: String,
    experiment: String,
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'sms_inbound' },
);

export const SmsLinkModel = model<SmsLinkRecord>('SmsLink', linkSchema);
export const SmsSubmissionModel = model<SmsSubmissionRecord>('SmsSubmission', submissionSchema);
export const SmsReceiptModel = model<SmsReceiptRecord>('SmsReceipt', receiptSchema);
export const SmsInboundModel = model<SmsInboundRecord>('SmsInbound', inboundSchema);
