import type { Collection, Document, OptionalUnlessRequiredId } from 'mongodb';
import { groupCommit } from './group-commit';

/**
 * Inserts documents unordered and reports which _ids existed already (duplicate key), so a retried
 * batch inserts only what is new. Any other write error is thrown.
 */
export async function insertNew<T extends Document & { _id: string }>(collection: Collection<T>, records: T[]): Promise<Set<string>> {
  const existing = new Set<string>();
  if (records.length === 0) return existing;
  try {
    await collection.insertMany(records as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (error) {
    const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
    if (!writeErrors) throw error;
    for (const writeError of (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as { code?: number; index: number }[]) {
      if (writeError.code !== 11000) throw error;
      existing.add(records[writeError.index]!._id);
    }
  }
  return existing;
}

/**
 * insertOne for hot paths: concurrent callers share one unordered insertMany (group commit). Resolves
 * true when this record was stored, false when its _id existed already (or an earlier record in the same
 * batch had the same _id: the first one wins).
 */
export function sharedInsertOne<T extends Document & { _id: string }>(collection: () => Collection<T>, onInserted?: (record: T) => void): (record: T) => Promise<boolean> {
  return groupCommit<T, boolean>(async (records) => {
    const unique = new Map<string, T>();
    for (const record of records) if (!unique.has(record._id)) unique.set(record._id, record);
    const existing = await insertNew(collection(), [...unique.values()]);
    if (onInserted) for (const record of unique.values()) if (!existing.has(record._id)) onInserted(record);
    return records.map((record) => !existing.has(record._id) && unique.get(record._id) === record);
  });
}
