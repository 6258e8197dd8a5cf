/**
 * Point lookups by _id with bounded concurrency: the one query every backend (the embedded FerretDB
 * included) answers from its primary index, where `$in` would scan the collection there.
 */
export async function findEach<T>(find: (id: string) => Promise<T | null>, ids: string[], concurrency = 16): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const record = await find(id);
      if (record) found.set(id, record);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return found;
}
