// The only code that touches the counting engine's collections.
import type { Collection, Document } from 'mongodb';
import { collectionOf, db } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertNew } from '../../db/insert-new';
import { isDuplicateKeyError } from '../../lib/errors';
import {
  CountingStateModel,
  IngestBatchModel,
  IngestSealModel,
  TakenBatchModel,
  type IngestBatchRecord,
  type IngestSealRecord,
  type TakenBatchRecord,
} from './counting.model';

/** As stored: the ids as one JSON string (older entries: an array), see toStored. */
type StoredBatchEntry = Omit<IngestBatchRecord, 'ids'> & { ids: string | string[] };
const batches = () => collectionOf<StoredBatchEntry>(IngestBatchModel);

/**
 * A batch names up to thousands of records. Stored as one string rather than an array, the embedded
 * database encodes and decodes one value instead of one typed element per id, on every write, every
 * listing by the aggregator and every delete (measured: array decoding was 8% of FerretDB's CPU
 * during an events burst).
 */
function toStored(record: IngestBatchRecord): StoredBatchEntry {
  return { ...record, ids: JSON.stringify(record.ids) };
}

function fromStored(entry: StoredBatchEntry): IngestBatchRecord {
  return { ...entry, ids: typeof entry.ids === 'string' ? (JSON.parse(entry.ids) as string[]) : entry.ids };
}
const seals = () => collectionOf<IngestSealRecord>(IngestSealModel);
const taken = () => collectionOf<TakenBatchRecord>(TakenBatchModel);
const state = () => db().collection<Document & { _id: string }>(CountingStateModel.collection.collectionName);
const rebuilds = () => db().collection<RebuildRequestRecord>('counting_rebuilds');

export interface ProgressRecord {
  _id: 'progress';
  /** The last plan whose writes are all applied. */
  applied: number;
  /** Every batch sealed before this time (the start of the last completed cycle) is counted. */
  asOf: Date;
}

export interface RebuildRequestRecord {
  _id: string; // `rebuild:${experiment}`
  experiment: string;
  requestId: string;
  requestedAt: Date;
  status: 'pending' | 'done' | 'failed';
  result?: Record<string, unknown>;
  error?: string;
  doneAt?: Date;
}

export const countingRepository = {
  async openBatch(record: IngestBatchRecord): Promise<void> {
    await batches().insertOne(toStored(record));
  },

  /** Seals a batch; false when it was sealed already (by the aggregator taking it over). */
  async sealBatch(record: IngestSealRecord): Promise<boolean> {
    return (await insertNew(seals(), [record])).size === 0;
  },

  async findSeal(id: string): Promise<IngestSealRecord | null> {
    return seals().findOne({ _id: id });
  },

  async listSeals(): Promise<IngestSealRecord[]> {
    return seals().find({}).toArray();
  },

  async sealsAmong(ids: string[]): Promise<Map<string, IngestSealRecord>> {
    return findByIds(seals(), ids);
  },

  async listBatches(): Promise<IngestBatchRecord[]> {
    return (await batches().find({}).toArray()).map(fromStored);
  },

  async batchesAmong(ids: string[]): Promise<Map<string, IngestBatchRecord>> {
    return new Map([...(await findByIds(batches(), ids))].map(([id, entry]) => [id, fromStored(entry)]));
  },

  async removeBatches(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    // Both go only after the batch is counted, so a read waiting for a seal to go sees it go only then. A
    // crash between the two leaves a batch without its seal or the reverse: the aggregator applies its
    // last plan again on start (removing both), and a seal without a batch is removed as stale.
    await Promise.all([batches().deleteMany({ _id: { $in: ids } }), seals().deleteMany({ _id: { $in: ids } })]);
  },

  async recordTaken(records: TakenBatchRecord[]): Promise<void> {
    await insertNew(taken(), records);
  },

  async takenAmong(ids: string[]): Promise<Map<string, TakenBatchRecord>> {
    return findByIds(taken(), ids);
  },

  async readProgress(): Promise<ProgressRecord & { started: boolean }> {
    const doc = (await state().findOne({ _id: 'progress' })) as ProgressRecord | null;
    return doc ? { ...doc, started: true } : { _id: 'progress', applied: 0, asOf: new Date(0), started: false };
  },

  async saveProgress(applied: number, asOf: Date): Promise<void> {
    // $max: a late write of an older plan can never move the marker back.
    await state().updateOne({ _id: 'progress' }, { $max: { applied }, $set: { asOf } }, { upsert: true });
  },

  /** The stored plan (see savePlan), or null. */
  async readPlan<T extends { n: number }>(): Promise<T | null> {
    const doc = (await state().findOne({ _id: 'plan' })) as { n: number; body: string } | null;
    return doc ? (JSON.parse(doc.body, reviveDates) as T) : null;
  },

  /**
   * Stores the plan as one JSON string: one value for the database to write, however many units it
   * holds (FerretDB's cost grows with the number of fields, not with the length of a string).
   */
  async savePlan(plan: { n: number }): Promise<boolean> {
    // A compare-and-set on the plan number: of two aggregators that both think they hold the lease
    // (one paused past its lease), only one stores plan n; the other learns it and stops.
    try {
      await state().replaceOne({ _id: 'plan', n: { $lt: plan.n } }, { n: plan.n, body: JSON.stringify(plan) }, { upsert: true });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  },

  /** Asks for a rebuild (replacing an earlier request of the same experiment); resolves to its time. */
  async requestRebuild(experiment: string, requestId: string): Promise<Date> {
    const requestedAt = new Date();
    await rebuilds().replaceOne(
      { _id: `rebuild:${experiment}` },
      { experiment, requestId, requestedAt, status: 'pending' },
      { upsert: true },
    );
    return requestedAt;
  },

  async pendingRebuilds(): Promise<RebuildRequestRecord[]> {
    return (await rebuilds().find({}).toArray()).filter((d) => d.status === 'pending');
  },

  async readRebuild(experiment: string): Promise<RebuildRequestRecord | null> {
    return rebuilds().findOne({ _id: `rebuild:${experiment}` });
  },

  async finishRebuild(experiment: string, requestId: string, outcome: { result?: Record<string, unknown>; error?: string }): Promise<void> {
    await rebuilds().updateOne(
      { _id: `rebuild:${experiment}`, requestId },
      { $set: { status: outcome.error ? 'failed' : 'done', doneAt: new Date(), ...outcome } },
    );
  },
};

export type { Collection };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** JSON.parse reviver: ISO-8601 timestamps (as JSON.stringify writes Dates) back to Dates. */
function reviveDates(_key: string, value: unknown): unknown {
  return typeof value === 'string' && ISO_DATE.test(value) ? new Date(value) : value;
}
