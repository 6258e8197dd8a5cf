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

/**
 * The same read split into up to `parts` concurrent reads: the embedded database decodes each large
 * document on the connection that asked for it, so a few connections at once decode several at a time.
 */
export async function findByIdsInParallel<T extends Document & { _id: string }>(collection: Collection<T>, ids: Iterable<string>, parts = 4): Promise<Map<string, T>> {
  const unique = [...new Set(ids)];
  const size = Math.max(1, Math.ceil(unique.length / parts));
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += size) chunks.push(unique.slice(i, i + size));
  const found = new Map<string, T>();
  for (const part of await Promise.all(chunks.map((chunk) => findByIds(collection, chunk)))) for (const [id, doc] of part) found.set(id, doc);
  return found;
}
