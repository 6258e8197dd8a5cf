import type { Collection, Document, Filter } from 'mongodb';

/**
 * Reads documents by _id with `{_id: {$in}}` in chunks: one round trip per chunk on MongoDB (primary
 * index) and on the embedded FerretDB (whose patched SQLite backend pushes `_id $in` down to its index).
 */
export async function findByIds<T extends Document & { _id: string }>(collection: Collection<T>, ids: Iterable<string>, chunk = 2000): Promise<Map<string, T>> {
  const unique = [...new Set(ids)];
  const found = new Map<string, T>();
  for (let i = 0; i < unique.length; i += chunk) {
    const slice = unique.slice(i, i + chunk);
    const docs = await collection.find({ _id: { $in: slice } } as Filter<T>).toArray();
    for (const doc of docs) found.set(doc._id, doc as T);
  }
  return found;
}
