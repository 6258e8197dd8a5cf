// Group commit: concurrent callers share one database write. While a write is in flight, the items that
// arrive meanwhile wait and are written together next; each caller's promise settles only when the write
// that carried its item has finished, so nothing is acknowledged before it is in the database.
// On the embedded database every write is a commit of its own, so sharing them is what keeps concurrent
// single requests (one assignment, one counter update) from queueing behind each other's commits.

export type Flush<T, R> = (items: T[]) => Promise<R[]>;

/**
 * `lingerMs`: how long the first item of an idle group waits for company before the write starts (0:
 * at once; 'turn': until the end of this turn of the event loop, setImmediate). For writes nobody waits
 * on item by item (a sender's delivery records), a few milliseconds turn many small inserts into a few
 * larger ones. 'turn' lets items that callers queue in the promise continuations of the same turn share
 * the write: a request's seal and the next request's opening, written in one turn, go as one insert.
 */
export function groupCommit<T, R>(flush: Flush<T, R>, maxBatch = 1000, lingerMs: number | 'turn' = 0): (item: T) => Promise<R> {
  let queue: { item: T; resolve: (value: R) => void; reject: (error: unknown) => void }[] = [];
  let writing = false;

  async function drain(): Promise<void> {
    writing = true;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const results = await flush(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => entry.resolve(results[i]));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    writing = false;
  }

  return (item: T) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (writing) return;
      if (lingerMs === 0) void drain();
      else {
        writing = true;
        if (lingerMs === 'turn') setImmediate(() => void drain());
        else setTimeout(() => void drain(), lingerMs);
      }
    });
}
