// The only code that touches the webhook collections.
import { collectionOf } from '../../db/connection';
import { insertNew } from '../../db/insert-new';
import { isDuplicateKeyError } from '../../lib/errors';
import {
  AttemptModel,
  DeliveryModel,
  NotificationStateModel,
  QueueModel,
  WebhookModel,
  type AttemptRecord,
  type DeliveryRecord,
  type NotificationStateRecord,
  type QueueRecord,
  type WebhookRecord,
} from './webhooks.model';

const queue = () => collectionOf<QueueRecord>(QueueModel);
const deliveries = () => collectionOf<DeliveryRecord>(DeliveryModel);
const attempts = () => collectionOf<AttemptRecord>(AttemptModel);
const states = () => collectionOf<NotificationStateRecord>(NotificationStateModel);

async function insertOnce(insert: () => Promise<unknown>): Promise<boolean> {
  try {
    await insert();
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}

export const webhooksRepository = {
  /** Returns false when a webhook with this id exists already. */
  async insertWebhook(record: WebhookRecord): Promise<boolean> {
    return insertOnce(() => WebhookModel.create(record));
  },
  async findWebhook(id: string): Promise<WebhookRecord | null> {
    return WebhookModel.findById(id).lean<WebhookRecord>();
  },
  async listWebhooks(): Promise<WebhookRecord[]> {
    return WebhookModel.find().sort({ createdAt: 1, _id: 1 }).lean<WebhookRecord[]>();
  },
  /** Removes the subscription and what it still had to send; sent deliveries stay as a record. */
  async deleteWebhook(id: string): Promise<boolean> {
    const result = await WebhookModel.deleteOne({ _id: id });
    await queue().deleteMany({ webhookId: id });
    return result.deletedCount === 1;
  },

  async deliveryExists(id: string): Promise<boolean> {
    return (await deliveries().findOne({ _id: id }, { projection: { _id: 1 } })) !== null;
  },
  /** Queues a delivery; false when it is queued already. */
  async enqueue(record: QueueRecord): Promise<boolean> {
    return insertOnce(() => queue().insertOne(record));
  },
  /** Writes the delivery's permanent record unless it exists (a retried emit, or a crash after enqueue). */
  async recordDelivery(record: DeliveryRecord): Promise<void> {
    await insertNew(deliveries(), [record]);
  },
  async listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    return deliveries().find({ webhookId }).sort({ createdAt: -1, _id: 1 }).limit(limit).toArray();
  },
  async attemptsFor(webhookId: string, deliveryIds: string[]): Promise<AttemptRecord[]> {
    if (deliveryIds.length === 0) return [];
    return attempts().find({ webhookId, deliveryId: { $in: deliveryIds } }).toArray();
  },
  async queuedFor(webhookId: string): Promise<QueueRecord[]> {
    return queue().find({ webhookId }).toArray();
  },

  /** Queue entries due now and not leased by a live worker. */
  async due(now: Date, limit: number): Promise<QueueRecord[]> {
    return queue().find({ dueAt: { $lte: now }, leaseUntil: { $lte: now } }).sort({ dueAt: 1 }).limit(limit).toArray();
  },
  /** Takes the entry for this worker until `until`, unless another worker holds it (compare-and-set). */
  async claim(id: string, now: Date, until: Date): Promise<QueueRecord | null> {
    return queue().findOneAndUpdate({ _id: id, leaseUntil: { $lte: now } }, { $set: { leaseUntil: until } }, { returnDocument: 'after' });
  },
  async release(id: string): Promise<void> {
    await queue().updateOne({ _id: id }, { $set: { leaseUntil: new Date(0) } });
  },
  async reschedule(id: string, attempt: number, dueAt: Date): Promise<void> {
    await queue().updateOne({ _id: id }, { $set: { attempt, dueAt, leaseUntil: new Date(0) } });
  },
  async dequeue(id: string): Promise<void> {
    await queue().deleteOne({ _id: id });
  },
  /** Records an attempt once; a second worker that sent the same attempt after a lost lease is ignored. */
  async recordAttempt(record: AttemptRecord): Promise<void> {
    await insertNew(attempts(), [record]);
  },

  async findState(experiment: string): Promise<NotificationStateRecord | null> {
    return states().findOne({ _id: experiment });
  },
  /** Inserts the first state, or moves from `expected` to `next`; false when another process moved it first. */
  async saveState(expected: NotificationStateRecord | null, next: NotificationStateRecord): Promise<boolean> {
    if (!expected) return insertOnce(() => states().insertOne(next));
    const result = await states().updateOne(
      { _id: next._id, seq: expected.seq, srmSeq: expected.srmSeq, srmMismatch: expected.srmMismatch },
      { $set: { seq: next.seq, verdict: next.verdict, variant: next.variant, srmMismatch: next.srmMismatch, srmSeq: next.srmSeq, updatedAt: next.updatedAt } },
    );
    return result.matchedCount === 1;
  },
  async saveRollout(experiment: string, rolloutAt: string, initial: Omit<NotificationStateRecord, '_id' | 'rolloutAt' | 'updatedAt'>): Promise<void> {
    await states().updateOne(
      { _id: experiment },
      { $set: { rolloutAt, updatedAt: new Date() }, $setOnInsert: initial },
      { upsert: true },
    );
  },
};
