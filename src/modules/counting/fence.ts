// Read your writes: a read that must count everything acknowledged before it began waits until every
// batch in the ingest log when the read began has been counted (its entries are removed only then). A
// request answers once its records are stored, before it seals its batch, so open batches are waited
// for too: sealed moments later, or taken over by the aggregator if their request died.
import { countingRepository } from './counting.repository';

/** How long a read waits for the aggregator before answering with what is counted. */
export const READ_WAIT_MS = 5_000;
const POLL_MS = 15;

export interface CountingFreshness {
  /** Everything acknowledged before this time is counted in the answer. */
  asOf: Date;
  /** Records stored (acknowledged, or being acknowledged) but not yet counted when the answer was made. */
  pending: number;
  /** False when the read stopped waiting (READ_WAIT_MS) or was asked not to wait (?stale=ok). */
  complete: boolean;
}

const wakers = new Set<() => void>();

/** The local aggregator registers here, so a waiting read wakes it at once instead of at its next poll. */
export function onReadWaiting(waker: () => void): () => void {
  wakers.add(waker);
  return () => wakers.delete(waker);
}

/** Wakes the local aggregator (a rebuild was asked, ...). */
export function wakeAggregator(): void {
  for (const wake of wakers) wake();
}

/**
 * Waits (at most `waitMs`) until everything acknowledged before the call is counted; `stale: true`
 * answers at once. With `experiment`, a rebuild of that experiment still pending (asked by a recompute,
 * or by the start of a CUPED experiment, whose covariates come from records stored before the start)
 * is waited for too: until it has run, the experiment's aggregates are not complete. Never writes.
 */
export async function readFreshness(options: { stale?: boolean; waitMs?: number; experiment?: string } = {}): Promise<CountingFreshness> {
  const began = new Date();
  const rebuilding = async () => options.experiment !== undefined && (await countingRepository.readRebuild(options.experiment))?.status === 'pending';
  const [seen, rebuildPending] = await Promise.all([countingRepository.listLog(), rebuilding()]);
  if (seen.batches.length + seen.seals.length === 0 && !rebuildPending) return { asOf: began, pending: 0, complete: true };
  if (!options.stale) {
    wakeAggregator();
    const deadline = began.getTime() + (options.waitMs ?? READ_WAIT_MS);
    let remaining = [...new Set([...seen.batches.map((b) => b._id), ...seen.seals.map((s) => s._id)])];
    let waitingForRebuild = rebuildPending;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      [remaining, waitingForRebuild] = await Promise.all([
        remaining.length > 0 ? countingRepository.batchesInLog(remaining).then((left) => [...left]) : remaining,
        waitingForRebuild ? rebuilding() : false,
      ]);
      if (remaining.length === 0 && !waitingForRebuild) return { asOf: began, pending: pendingOf(await countingRepository.listLog()), complete: true };
    }
  }
  const [now, stillRebuilding] = await Promise.all([countingRepository.listLog(), rebuilding()]);
  // A batch still in the log is not counted yet; every one opened before the oldest of them is counted.
  const oldest = Math.min(began.getTime() + 1, ...now.batches.map((b) => b.createdAt.getTime()), ...now.seals.map((s) => s.at.getTime()));
  return { asOf: new Date(oldest - 1), pending: pendingOf(now), complete: now.batches.length + now.seals.length === 0 && !stillRebuilding };
}

/** Records stored but not counted: what the seals say, and for batches not sealed yet, their records. */
function pendingOf(log: { batches: { _id: string; ids: string[] }[]; seals: { _id: string; n: number }[] }): number {
  const sealed = new Set(log.seals.map((s) => s._id));
  return log.seals.reduce((sum, s) => sum + s.n, 0) + log.batches.filter((b) => !sealed.has(b._id)).reduce((sum, b) => sum + b.ids.length, 0);
}
