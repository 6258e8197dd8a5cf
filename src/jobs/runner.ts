// One job runner for background duties. Each duty has a lease in the database (leases.ts): of all the
// instances on one database, only the holder runs it. A periodic duty runs once every `everyMs` while
// held; a continuous duty (the aggregator) runs until it is stopped or loses its lease. A duty about the
// instance itself (following the change counter into its caches) runs on every instance, with no lease.
import { randomUUID } from 'node:crypto';
import { logger } from '../lib/logger';
import { leasesRepository } from './leases';

export interface DutyContext {
  readonly signal: AbortSignal;
  /** Whether the lease is still ours (renewed in the background; checked before every durable step). */
  holds(): boolean;
  /** Renews the lease now; false when it was lost (stop working). */
  renew(): Promise<boolean>;
  /** Resolves after `ms`, or earlier when the duty is woken or stopped. */
  sleep(ms: number): Promise<void>;
  /** Ends the current sleep now. */
  wake: () => void;
}

export interface Duty {
  name: string;
  /** Periodic: pause between runs. Continuous: pause before trying to take the lease again. */
  everyMs: number;
  continuous?: boolean;
  /** Runs on every instance, every `everyMs`, without a lease (work about this instance only). */
  everyInstance?: boolean;
  run(ctx: DutyContext): Promise<void>;
}

export interface RunnerOptions {
  /** Lease length; a dead holder's duty is taken over within this (plus one try interval). */
  leaseMs: number;
  /** How often an instance without the lease tries to take it. */
  retryMs?: number;
  instanceId?: string;
}

interface Running {
  duty: Duty;
  controller: AbortController;
  loop: Promise<void>;
  wake: () => void;
}

export class JobRunner {
  readonly instanceId: string;
  private readonly running = new Map<string, Running>();
  private readonly duties: Duty[] = [];

  constructor(private readonly options: RunnerOptions) {
    this.instanceId = options.instanceId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  register(duty: Duty): this {
    this.duties.push(duty);
    return this;
  }

  start(): void {
    for (const duty of this.duties) {
      if (this.running.has(duty.name)) continue;
      const controller = new AbortController();
      let wakeUp: (() => void) | undefined;
      // A wake while the duty is busy is kept: its next sleep returns at once.
      let woken = false;
      const wake = () => {
        if (wakeUp) wakeUp();
        else woken = true;
      };
      const entry: Running = { duty, controller, loop: Promise.resolve(), wake };
      const sleep = (ms: number) =>
        new Promise<void>((resolve) => {
          if (controller.signal.aborted || woken) {
            woken = false;
            return resolve();
          }
          const timer = setTimeout(done, ms);
          function done() {
            clearTimeout(timer);
            controller.signal.removeEventListener('abort', done);
            wakeUp = undefined;
            resolve();
          }
          wakeUp = done;
          controller.signal.addEventListener('abort', done);
        });
      entry.loop = this.loop(duty, controller.signal, sleep, entry.wake);
      this.running.set(duty.name, entry);
    }
  }

  /** Wakes a duty now (e.g. new work arrived in this process). */
  wake(name: string): void {
    this.running.get(name)?.wake();
  }

  async stop(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    for (const r of all) r.controller.abort();
    await Promise.all(all.map((r) => r.loop));
    await Promise.all(all.filter((r) => !r.duty.everyInstance).map((r) => leasesRepository.release(r.duty.name, this.instanceId).catch(() => undefined)));
  }

  private async loop(duty: Duty, signal: AbortSignal, sleep: (ms: number) => Promise<void>, wake: () => void): Promise<void> {
    const leaseMs = this.options.leaseMs;
    const retryMs = this.options.retryMs ?? Math.max(50, Math.min(2_000, leaseMs / 4));
    let heldUntil = 0;
    const claim = async () => {
      const started = Date.now();
      const epoch = await leasesRepository.claim(duty.name, this.instanceId, leaseMs);
      heldUntil = epoch === null ? 0 : started + leaseMs;
      return epoch !== null;
    };
    const ctx: DutyContext = {
      signal,
      // A margin of a third of the lease: stop before another instance may take it over.
      holds: () => !signal.aborted && Date.now() < heldUntil - leaseMs / 3,
      renew: async () => {
        try {
          return await claim();
        } catch (error) {
          logger.warn({ err: error, duty: duty.name }, 'could not renew lease');
          heldUntil = 0;
          return false;
        }
      },
      sleep,
      wake,
    };
    if (duty.everyInstance) {
      const local: DutyContext = { ...ctx, holds: () => !signal.aborted, renew: async () => !signal.aborted };
      while (!signal.aborted) {
        try {
          await duty.run(local);
        } catch (error) {
          logger.warn({ err: error, duty: duty.name }, 'background duty failed; it will be retried');
        }
        await sleep(duty.everyMs);
      }
      return;
    }
    while (!signal.aborted) {
      let held = false;
      try {
        held = await claim();
      } catch (error) {
        logger.warn({ err: error, duty: duty.name }, 'could not claim lease');
      }
      if (held && !signal.aborted) {
        const renewer = duty.continuous ? setInterval(() => void ctx.renew(), Math.max(20, leaseMs / 4)) : undefined;
        try {
          await duty.run(ctx);
        } catch (error) {
          logger.error({ err: error, duty: duty.name }, 'background duty failed; it will be retried');
        } finally {
          if (renewer) clearInterval(renewer);
        }
      }
      await sleep(held && !duty.continuous ? duty.everyMs : held ? duty.everyMs : retryMs);
    }
  }
}
