// The write path of every counted record (assignments, events, answers): one durable append per
// request, counted later by the aggregator. See docs/counting.md.
//
//   1. open the batch: an ingest log entry naming the records about to be stored;
//   2. store the raw records, each stamped with `b` = the batch (a duplicate _id keeps the stored one).
//      Now the request answers 2xx: its records and their batch are durably in the database;
//   3. seal the batch (which records were duplicates), after the answer, sharing the write with the
//      openings and seals of concurrent requests.
//
// A request that dies anywhere after step 1 leaves an open batch; the aggregator seals it itself after
// the grace period and counts what was stored by it. So a record is counted because it is stored, never
// because its request succeeded, and a retry still learns the true duplicates from step 2. A read that
// must count what was acknowledged waits for every batch in the log when it began, sealed or not (fence.ts).
import { randomBytes } from 'node:crypto';
import type { InsertOutcome } from '../../db/insert-new';
import { groupCommit } from '../../db/group-commit';
import { logger } from '../../lib/logger';
import type { RecordKind } from './counting.model';
import { countingRepository } from './counting.repository';

export type Stamped<T> = T & { b: string };
export type InsertRaw<T> = (records: Stamped<T>[]) => Promise<InsertOutcome>;
/** Reads stored records by _id (at least their batch stamp `b`). */
export type ReadStored = (ids: string[]) => Promise<Map<string, { b?: string }>>;

/**
 * Records this request found stored already may have been stored by a request that died before sealing
 * its batch: they are acknowledged now (this answer calls them duplicates), so that batch is sealed
 * for the aggregator at once (a takeover, as after the grace period) rather than after it. A read that
 * waits for this request's seal then waits for that one too.
 */
async function sealOpenBatchesOf(stamps: Map<string, { b?: string }>, own: string): Promise<void> {
  const batches = [...new Set([...stamps.values()].map((r) => r.b).filter((b): b is string => b !== undefined && b !== own))];
  if (batches.length === 0) return;
  const sealed = await countingRepository.sealsAmong(batches);
  const open = batches.filter((b) => !sealed.has(b));
  if (open.length === 0) return;
  const stillOpen = await countingRepository.batchesAmong(open);
  for (const b of stillOpen.keys()) await countingRepository.sealBatch({ _id: b, dups: [], n: 0, takeover: true, at: new Date() });
}

/** What this process stored for one sealed batch: exactly the records stamped with it. */
export interface StoredBatch {
  batch: string;
  kind: RecordKind;
  records: { _id: string; b: string }[];
}

const listeners = new Set<(stored: StoredBatch) => void>();

/**
 * Called after every sealed batch in this process with the records it stored, so the local aggregator
 * can count them without reading them back (it still reads batches sealed by other instances).
 */
export function onAppended(listener: (stored: StoredBatch) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Batch ids sort by creation time (base-36 milliseconds), then at random. */
export function newBatchId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
}

export class RecordsRefusedError extends Error {
  constructor(readonly failed: Map<string, Error>) {
    super(`the database refused ${failed.size} record(s): ${[...failed.values()][0]?.message}`);
    this.name = 'RecordsRefusedError';
  }
}

/**
 * Appends records (unique _ids) of one kind; resolves to the _ids that were stored before (duplicates)
 * once the new ones are durably stored (their batch is sealed right after).
 */
export async function appendRecords<T extends { _id: string }>(kind: RecordKind, records: T[], insertRaw: InsertRaw<T>, readStored?: ReadStored): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const batch = newBatchId();
  await countingRepository.openBatch({ _id: batch, kind, ids: records.map((r) => r._id), createdAt: new Date() });
  const stamped = records.map((r) => ({ ...r, b: batch }));
  const outcome = await insertRaw(stamped);
  if (readStored && outcome.existing.size > 0) {
    const stamps = await readStored([...outcome.existing]);
    // Stamped with this batch: stored by this very insert (the driver retried it after a lost answer).
    for (const [id, stored] of stamps) if (stored.b === batch) outcome.existing.delete(id);
    await sealOpenBatchesOf(stamps, batch);
  }
  // The records and their batch are durable: the answer need not wait for the seal (step 3).
  void sealBatch(kind, batch, stamped, outcome).catch((error: unknown) => {
    logger.warn({ err: error, batch }, 'could not seal a batch; the aggregator takes it over after the grace period');
  });
  if (outcome.failed.size > 0) throw new RecordsRefusedError(outcome.failed);
  return outcome.existing;
}

/** Step 3: seals the batch, then hands what it stored to the local aggregator. */
async function sealBatch<T extends { _id: string }>(kind: RecordKind, batch: string, stamped: Stamped<T>[], outcome: InsertOutcome): Promise<void> {
  const notStored = [...outcome.existing, ...outcome.failed.keys()];
  const storedIds = stamped.map((r) => r._id).filter((id) => !outcome.existing.has(id) && !outcome.failed.has(id));
  const sealed = await countingRepository.sealBatch({ _id: batch, dups: notStored, n: stamped.length - notStored.length, at: new Date() });
  if (!sealed) await requeueAfterTakeover(kind, batch, storedIds);
  else if (listeners.size > 0) {
    const stored: StoredBatch = { batch, kind, records: stamped.filter((r) => !outcome.existing.has(r._id) && !outcome.failed.has(r._id)) };
    for (const listener of listeners) listener(stored);
  }
}

/**
 * The aggregator sealed this batch itself (this request outlived the grace period) and counted what it
 * found stored then. Whatever this request stored after that is queued again, to be counted once.
 */
async function requeueAfterTakeover(kind: RecordKind, batch: string, storedIds: string[]): Promise<void> {
  if (storedIds.length === 0) return;
  const again = newBatchId();
  await countingRepository.openBatch({ _id: again, kind, ids: storedIds, adopt: batch, createdAt: new Date() });
  await countingRepository.sealBatch({ _id: again, dups: [], n: storedIds.length, at: new Date() });
}

/**
 * appendRecords for one record at a time on hot paths: concurrent callers share one batch (group
 * commit). Resolves true when this record was stored, false when its _id existed already (or an earlier
 * record with the same _id in the same batch won).
 */
export function sharedAppend<T extends { _id: string }>(kind: RecordKind, insertRaw: InsertRaw<T>, readStored?: ReadStored): (record: T) => Promise<boolean> {
  return groupCommit<T, boolean>(async (records) => {
    const unique = new Map<string, T>();
    for (const record of records) if (!unique.has(record._id)) unique.set(record._id, record);
    const existing = await appendRecords(kind, [...unique.values()], insertRaw, readStored);
    return records.map((record) => !existing.has(record._id) && unique.get(record._id) === record);
  });
}
