import type { Collection, Document, OptionalUnlessRequiredId } from 'mongodb';
import { groupCommit } from './group-commit';

export interface InsertOutcome {
  /** _ids that existed already (duplicate key). */
  existing: Set<string>;
  /** _ids the database refused for another reason (the error says why); nothing else was left out. */
  failed: Map<string, Error>;
}

/**
 * Inserts documents unordered and reports, item by item, which _ids existed already and which the
 * database refused. Throws only when the outcome of the items is unknown (the connection failed, ...).
 */
export async function insertEach<T extends Document & { _id: string }>(collection: Collection<T>, records: T[]): Promise<InsertOutcome> {
  const outcome: InsertOutcome = { existing: new Set(), failed: new Map() };
  if (records.length === 0) return outcome;
  try {
    await collection.insertMany(records as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (error) {
    const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
    // The driver wraps a failure of the whole command (connection lost, no server) in a
    // MongoBulkWriteError too, with `writeErrors: []`: then nothing is known about the items.
    if (!(Array.isArray(writeErrors) ? writeErrors.length > 0 : writeErrors)) throw error;
    for (const writeError of (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as { code?: number; index: number; errmsg?: string; message?: string }[]) {
      const id = records[writeError.index]._id;
      if (writeError.code === 11000) outcome.existing.add(id);
      else outcome.failed.set(id, new Error(writeError.errmsg ?? writeError.message ?? `write error ${writeError.code}`));
    }
  }
  return outcome;
}

/**
 * Inserts documents unordered and reports which _ids existed already (duplicate key), so a retried
 * batch inserts only what is new. Any other write error is thrown.
 */
export async function insertNew<T extends Document & { _id: string }>(collection: Collection<T>, records: T[]): Promise<Set<string>> {
  const { existing, failed } = await insertEach(collection, records);
  const [first] = failed.values();
  if (first) throw first;
  return existing;
}

/**
 * insertOne for hot paths: concurrent callers share one unordered insertMany (group commit). Resolves
 * true when this record was stored, false when its _id existed already (or an earlier record in the same
 * batch had the same _id: the first one wins).
 */
export function sharedInsertOne<T extends Document & { _id: string }>(
  collection: () => Collection<T>,
  options: { onInserted?: (record: T) => void; lingerMs?: number | 'turn' } = {},
): (record: T) => Promise<boolean> {
  const { onInserted, lingerMs = 0 } = options;
  return groupCommit<T, boolean>(async (records) => {
    const unique = new Map<string, T>();
    for (const record of records) if (!unique.has(record._id)) unique.set(record._id, record);
    const existing = await insertNew(collection(), [...unique.values()]);
    if (onInserted) for (const record of unique.values()) if (!existing.has(record._id)) onInserted(record);
    return records.map((record) => !existing.has(record._id) && unique.get(record._id) === record);
  }, 1000, lingerMs);
}
