import type { Collection, Document, OptionalUnlessRequiredId } from 'mongodb';

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
