// The only code that touches the counting engine's collections.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Collection, Document } from 'mongodb';
import { countingCollectionOf, countingDb, db } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertNew, sharedInsertOne } from '../../db/insert-new';
import { isDuplicateKeyError } from '../../lib/errors';
import {
  CountingStateModel,
  IngestLogModel,
  TakenBatchModel,
  type IngestBatchRecord,
  type IngestSealRecord,
  type TakenBatchRecord,
} from './counting.model';

/**
 * The ingest log (ingest_log): a batch's opening (`o:<batch>`) and its seal (`s:<batch>`) in one
 * collection, so that the openings and seals of concurrent requests share one insert (group commit),
 * the aggregator lists both with one read, and a counted batch goes with one delete (opening and seal
 * together). Earlier versions kept them in ingest_batches and ingest_seals (moved over by
 * moveLegacyEntries).
 */
type OpenEntry = Omit<IngestBatchRecord, '_id' | 'ids'> & { _id: string; t: 'o'; ids: string };
type SealEntry = Omit<IngestSealRecord, '_id'> & { _id: string; t: 's' };
type LogEntry = OpenEntry | SealEntry;
const log = () => countingCollectionOf<LogEntry>(IngestLogModel);
const OPEN = 'o:';
const SEAL = 's:';

/**
 * A batch names up to thousands of records. Stored as one string rather than an array, the embedded
 * database encodes and decodes one value instead of one typed element per id, on every write, every
 * listing by the aggregator and every delete (measured: array decoding was 8% of FerretDB's CPU
 * during an events burst).
 */
function openEntry(record: IngestBatchRecord): OpenEntry {
  return { ...record, _id: OPEN + record._id, t: 'o', ids: packText(JSON.stringify(record.ids)) };
}

function batchOf(entry: OpenEntry | (Omit<IngestBatchRecord, 'ids'> & { ids: string | string[] })): IngestBatchRecord {
  const { t: _t, ...rest } = entry as OpenEntry;
  return { ...rest, _id: rest._id.startsWith(OPEN) ? rest._id.slice(OPEN.length) : rest._id, ids: typeof entry.ids === 'string' ? (JSON.parse(unpackText(entry.ids)) as string[]) : entry.ids };
}

/**
 * Long texts the aggregator writes and deletes again within a second (a batch's ids, a plan) are stored
 * deflated, in base64: the embedded database's cost is per byte it encodes, parses and writes (and a
 * JSON text inside a string is escaped, quote by quote). Short ones stay as they are.
 */
const PACKED = 'z:';
function packText(text: string): string {
  return text.length < 1024 ? text : PACKED + deflateRawSync(text).toString('base64');
}

function unpackText(stored: string): string {
  return stored.startsWith(PACKED) ? inflateRawSync(Buffer.from(stored.slice(PACKED.length), 'base64')).toString('utf8') : stored;
}

function sealEntry(record: IngestSealRecord): SealEntry {
  return { ...record, _id: SEAL + record._id, t: 's' };
}

function sealOf(entry: SealEntry): IngestSealRecord {
  const { t: _t, ...rest } = entry;
  return { ...rest, _id: rest._id.slice(SEAL.length) };
}

/**
 * Concurrent openings and seals share one insert; resolves false when the entry existed already. The
 * write waits for the end of the event loop's turn: a group of single requests seals its batch and the
 * next group opens its own in the same turn (src/modules/counting/append.ts), and both go as one insert.
 */
let appendToLog: ((entry: LogEntry) => Promise<boolean>) | undefined;
function logAppend(entry: LogEntry): Promise<boolean> {
  appendToLog ??= sharedInsertOne(log, { lingerMs: 'turn' });
  return appendToLog(entry);
}

const taken = () => countingCollectionOf<TakenBatchRecord>(TakenBatchModel);
const state = () => countingDb().collection<Document & { _id: string }>(CountingStateModel.collection.collectionName);
const rebuilds = () => countingDb().collection<RebuildRequestRecord>('counting_rebuilds');

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
    if (!(await logAppend(openEntry(record)))) throw new Error(`batch ${record._id} was opened already`);
  },

  /** Seals a batch; false when it was sealed already (by the aggregator taking it over). */
  async sealBatch(record: IngestSealRecord): Promise<boolean> {
    return logAppend(sealEntry(record));
  },

  async findSeal(id: string): Promise<IngestSealRecord | null> {
    const entry = await log().findOne({ _id: SEAL + id });
    return entry ? sealOf(entry as SealEntry) : null;
  },

  /** Every opening and every seal, read at once (one snapshot of the log). */
  async listLog(): Promise<{ batches: IngestBatchRecord[]; seals: IngestSealRecord[] }> {
    const entries = await log().find({}).toArray();
    return {
      batches: entries.filter((e): e is OpenEntry => e.t === 'o').map(batchOf),
      seals: entries.filter((e): e is SealEntry => e.t === 's').map(sealOf),
    };
  },

  /** The batches among `ids` still in the log (opened or sealed, not yet counted). */
  async batchesInLog(ids: string[]): Promise<Set<string>> {
    const found = await findByIds(log(), ids.flatMap((id) => [OPEN + id, SEAL + id]));
    return new Set([...found.keys()].map((key) => key.slice(2)));
  },

  async sealsAmong(ids: string[]): Promise<Map<string, IngestSealRecord>> {
    const found = await findByIds(log(), ids.map((id) => SEAL + id));
    return new Map([...found.values()].map((e) => sealOf(e as SealEntry)).map((seal) => [seal._id, seal]));
  },

  async batchesAmong(ids: string[]): Promise<Map<string, IngestBatchRecord>> {
    const found = await findByIds(log(), ids.map((id) => OPEN + id));
    return new Map([...found.values()].map((e) => batchOf(e as OpenEntry)).map((batch) => [batch._id, batch]));
  },

  /**
   * Removes counted batches: opening and seal in one delete, so a read waiting for a seal to go sees it
   * go only once the batch is counted, and never a batch left without its seal.
   */
  async removeBatches(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await log().deleteMany({ _id: { $in: ids.flatMap((id) => [OPEN + id, SEAL + id]) } });
  },

  /**
   * Moves what an earlier version left in ingest_batches and ingest_seals (batches not counted yet) into
   * the log; run by the aggregator before it counts. Idempotent.
   */
  async moveLegacyEntries(): Promise<number> {
    const legacyBatches = db().collection<Omit<IngestBatchRecord, 'ids'> & { ids: string | string[] }>('ingest_batches');
    const legacySeals = db().collection<IngestSealRecord>('ingest_seals');
    const [oldBatches, oldSeals] = await Promise.all([legacyBatches.find({}).toArray(), legacySeals.find({}).toArray()]);
    if (oldBatches.length + oldSeals.length === 0) return 0;
    await insertNew(log(), [...oldBatches.map((b) => openEntry(batchOf(b))), ...oldSeals.map((seal) => sealEntry(seal))]);
    await legacyBatches.deleteMany({ _id: { $in: oldBatches.map((b) => b._id) } });
    await legacySeals.deleteMany({ _id: { $in: oldSeals.map((seal) => seal._id) } });
    return oldBatches.length + oldSeals.length;
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
    return doc ? (JSON.parse(unpackText(doc.body), reviveDates) as T) : null;
  },

  /**
   * Stores the plan as one JSON string: one value for the database to write, however many units it
   * holds (FerretDB's cost grows with the number of fields, not with the length of a string).
   */
  async savePlan(plan: { n: number }): Promise<boolean> {
    // A compare-and-set on the plan number: of two aggregators that both think they hold the lease
    // (one paused past its lease), only one stores plan n; the other learns it and stops.
    try {
      await state().replaceOne({ _id: 'plan', n: { $lt: plan.n } }, { n: plan.n, body: packText(JSON.stringify(plan)) }, { upsert: true });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  },

  /**
   * The values each dimension keeps (segments), per experiment, as the aggregator last stored them
   * (counting_state `slices:<experiment>`, read by _id).
   */
  async readSliceValues(experiments: string[]): Promise<Map<string, Record<string, string[]>>> {
    if (experiments.length === 0) return new Map();
    const found = await findByIds(state(), experiments.map((e) => `slices:${e}`));
    return new Map([...found.values()].map((doc) => [doc._id.slice('slices:'.length), (doc.values ?? {}) as Record<string, string[]>]));
  },

  /** Stores the kept values of these experiments whole: writing the same lists again changes nothing. */
  async saveSliceValues(values: Record<string, Record<string, string[]>>): Promise<void> {
    const entries = Object.entries(values);
    if (entries.length === 0) return;
    await state().bulkWrite(
      entries.map(([experiment, kept]) => ({ replaceOne: { filter: { _id: `slices:${experiment}` }, replacement: { values: kept }, upsert: true } })),
      { ordered: false },
    );
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
