// Read your writes: a read that must count everything acknowledged before it began waits until every
// batch sealed by a request when the read began has been counted (its seal is removed only then).
import { countingRepository } from './counting.repository';

/** How long a read waits for the aggregator before answering with what is counted. */
export const READ_WAIT_MS = 5_000;
const POLL_MS = 15;

export interface CountingFreshness {
  /** Everything acknowledged before this time is counted in the answer. */
  asOf: Date;
  /** Records acknowledged (sealed) but not yet counted when the answer was made. */
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
 * Every seal is waited for: a request's own, and a takeover (a dead request's batch, sealed by the
 * aggregator or by a retry that found its records stored); the aggregator counts either promptly.
 */
function acknowledged<T extends { takeover?: boolean }>(seals: T[]): T[] {
  return seals;
}

/**
 * Waits (at most `waitMs`) until everything acknowledged before the call is counted; `stale: true`
 * answers at once. Never writes.
 */
export async function readFreshness(options: { stale?: boolean; waitMs?: number } = {}): Promise<CountingFreshness> {
  const began = new Date();
  const seen = acknowledged(await countingRepository.listSeals());
  if (seen.length === 0) return { asOf: began, pending: 0, complete: true };
  if (!options.stale) {
    wakeAggregator();
    const deadline = began.getTime() + (options.waitMs ?? READ_WAIT_MS);
    let remaining = seen.map((s) => s._id);
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      remaining = [...(await countingRepository.sealsAmong(remaining)).keys()];
      if (remaining.length === 0) {
        const after = acknowledged(await countingRepository.listSeals());
        return { asOf: began, pending: after.reduce((sum, s) => sum + s.n, 0), complete: true };
      }
    }
  }
  const pending = acknowledged(await countingRepository.listSeals());
  // A seal still there is a batch not yet counted; every one sealed before the oldest of them is counted.
  const oldest = pending.reduce((min, s) => Math.min(min, s.at.getTime()), began.getTime() + 1);
  const asOf = new Date(oldest - 1);
  return { asOf, pending: pending.reduce((sum, s) => sum + s.n, 0), complete: pending.length === 0 };
}
