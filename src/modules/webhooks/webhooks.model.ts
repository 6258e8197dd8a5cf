import { Schema, model } from 'mongoose';
import type { WebhookEvent } from './webhooks.schemas';

/** A subscription. The secret is kept as is: it has to sign every delivery. */
export interface WebhookRecord {
  _id: string; // wh_<random>
  url: string;
  events: WebhookEvent[];
  secret: string;
  createdAt: Date;
  createdBy: string;
}

/** One event for one webhook, written once: the body is fixed so every retry sends the same bytes. */
export interface DeliveryRecord {
  _id: string; // dl_<hash of webhook and event id>: a retried emit finds the same delivery
  webhookId: string;
  event: WebhookEvent;
  body: string;
  createdAt: Date;
}

/** One attempt at a delivery, written once (`${deliveryId}:${attempt}`), so the log is insert-only. */
export interface AttemptRecord {
  _id: string;
  deliveryId: string;
  webhookId: string;
  attempt: number;
  at: Date;
  ok: boolean;
  statusCode?: number;
  error?: string;
  durationMs: number;
  /** Last attempt of the delivery: delivered, or retries exhausted. */
  final: boolean;
}

/**
 * Deliveries still to send. Kept small on purpose (entries leave when delivered or given up), because
 * the embedded database's updates get slower as a collection grows.
 */
export interface QueueRecord {
  _id: string; // the delivery id
  webhookId: string;
  event: WebhookEvent;
  body: string;
  createdAt: Date;
  /** The attempt to make next (1-based), and when. */
  attempt: number;
  dueAt: Date;
  /** A worker owns the entry until then; an expired lease (a crash) lets another worker take it. */
  leaseUntil: Date;
}

/** The last decision, SRM state and rollout notified per experiment: what "changed" is measured against. */
export interface NotificationStateRecord {
  _id: string; // the experiment key
  seq: number;
  verdict: string;
  variant: string | null;
  srmMismatch: boolean;
  srmSeq: number;
  rolloutAt: string | null;
  updatedAt: Date;
}

const webhookSchema = new Schema<WebhookRecord>(
  {
    _id: String,
    url: { type: String, required: true },
    events: { type: [String], required: true },
    secret: { type: String, required: true },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
  },
  { versionKey: false, collection: 'webhooks' },
);

const deliverySchema = new Schema<DeliveryRecord>(
  {
    _id: String,
    webhookId: { type: String, required: true, index: true },
    event: { type: String, required: true },
    body: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'webhook_deliveries' },
);

const attemptSchema = new Schema<AttemptRecord>(
  {
    _id: String,
    deliveryId: { type: String, required: true, index: true },
    webhookId: { type: String, required: true, index: true },
    attempt: { type: Number, required: true },
    at: { type: Date, required: true },
    ok: { type: Boolean, required: true },
    statusCode: Number,
    error: String,
    durationMs: { type: Number, required: true },
    final: { type: Boolean, required: true },
  },
  { versionKey: false, collection: 'webhook_attempts' },
);

const queueSchema = new Schema<QueueRecord>(
  {
    _id: String,
    webhookId: { type: String, required: true },
    event: { type: String, required: true },
    body: { type: String, required: true },
    createdAt: { type: Date, required: true },
    attempt: { type: Number, required: true },
    dueAt: { type: Date, required: true, index: true },
    leaseUntil: { type: Date, required: true },
  },
  { versionKey: false, collection: 'webhook_queue' },
);

const notificationStateSchema = new Schema<NotificationStateRecord>(
  {
    _id: String,
    seq: { type: Number, required: true },
    verdict: { type: String, required: true },
    variant: { type: String, default: null },
    srmMismatch: { type: Boolean, required: true },
    srmSeq: { type: Number, required: true },
    rolloutAt: { type: String, default: null },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'webhook_notification_state' },
);

export const WebhookModel = model<WebhookRecord>('Webhook', webhookSchema);
export const DeliveryModel = model<DeliveryRecord>('WebhookDelivery', deliverySchema);
export const AttemptModel = model<AttemptRecord>('WebhookAttempt', attemptSchema);
export const QueueModel = model<QueueRecord>('WebhookQueue', queueSchema);
export const NotificationStateModel = model<NotificationStateRecord>('WebhookNotificationState', notificationStateSchema);
