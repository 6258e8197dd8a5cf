// Instances agree within a second: every change to cached state (an experiment's state or definition,
// an API key's revocation) is counted in the database after it is written, and every instance follows
// the counter (one read by _id every CHANGES_POLL_MS, a duty run on every instance) into its caches.
// The instance that made a change has invalidated its own cache already. A count lost to a failure
// between the write and the increment shows up when the caches expire (their TTL is the safety net).
import type { Duty } from '../../jobs/runner';
import { logger } from '../../lib/logger';
import { changesRepository, type ChangeScope } from './changes.repository';

type Listener = () => void;
const listeners: Record<ChangeScope, Set<Listener>> = { experiments: new Set(), apiKeys: new Set() };

export const changesService = {
  /** Call after a change is written: other instances drop what they cached of that scope. */
  async recordChange(scope: ChangeScope): Promise<void> {
    try {
      await changesRepository.increment(scope);
    } catch (error) {
      logger.warn({ err: error, scope }, 'could not count a change; other instances see it when their caches expire');
    }
  },

  /** Called whenever another instance (or this one) changed something of this scope. */
  onChange(scope: ChangeScope, listener: Listener): () => void {
    listeners[scope].add(listener);
    return () => listeners[scope].delete(listener);
  },
};

/** Follows the change counter on this instance. */
export function followChangesDuty(pollMs: number): Duty {
  let seen: Record<ChangeScope, number> | undefined;
  return {
    name: 'follow-changes',
    everyInstance: true,
    everyMs: pollMs,
    run: async () => {
      const now = await changesRepository.read();
      // On the first read everything counts as changed: a cache may have been filled before it.
      for (const scope of Object.keys(now) as ChangeScope[]) if (!seen || now[scope] !== seen[scope]) for (const listener of listeners[scope]) listener();
      seen = now;
    },
  };
}
