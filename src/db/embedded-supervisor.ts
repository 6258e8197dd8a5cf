// Keeps the embedded FerretDB running. When its process dies without having been asked to stop, it is
// started again on the same files (DATA_DIR) and the same loopback port, so the driver reconnects to the
// address it already knows; the attempts back off (0.5 s, 1 s, 2 s … 10 s at most) and are logged. After
// MAX_ATTEMPTS failed attempts in a row the service gives up and exits non-zero, for a supervisor to act.
import type { Logger } from '../lib/logger';
import type { EmbeddedDatabase } from './embedded-ferretdb';

export interface SupervisorOptions {
  /** Starts FerretDB (on the given port, or a free one the first time). */
  start(port?: number): Promise<EmbeddedDatabase>;
  logger: Logger;
  /** The database process has died (called once per outage). */
  onDown(): void;
  /** It answers again after a restart. */
  onUp(): void;
  /** Every restart attempt of an outage failed. */
  onGiveUp(error: Error): void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
}

export interface SupervisedDatabase {
  uri: string;
  /** Stops FerretDB for good (no restart), waiting for a restart in progress. */
  stop(): Promise<void>;
}

export async function superviseEmbeddedDatabase(options: SupervisorOptions): Promise<SupervisedDatabase> {
  const { logger } = options;
  const initialDelayMs = options.initialDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 8;
  let current = await options.start();
  const { port, uri } = current;
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let restarting: Promise<void> | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const restart = async () => {
    for (let attempt = 1; ; attempt++) {
      const delayMs = Math.min(initialDelayMs * 2 ** (attempt - 1), maxDelayMs);
      await pause(delayMs);
      if (stopped) return;
      try {
        const next = await options.start(port);
        if (stopped) {
          await next.stop();
          return;
        }
        current = next;
        watch(next);
        options.onUp();
        logger.info({ attempt, port }, 'the embedded database (FerretDB) was restarted and answers again');
        return;
      } catch (error) {
        if (stopped) return;
        if (attempt >= maxAttempts) {
          logger.fatal({ err: error, attempts: attempt }, 'the embedded database (FerretDB) could not be restarted; giving up');
          options.onGiveUp(error as Error);
          return;
        }
        logger.error({ err: error, attempt, retryInMs: Math.min(initialDelayMs * 2 ** attempt, maxDelayMs) }, 'restarting the embedded database (FerretDB) failed');
      }
    }
  };

  const watch = (database: EmbeddedDatabase) => {
    void database.exited.then(({ code, signal }) => {
      if (stopped || database !== current) return;
      options.onDown();
      logger.error({ code, signal, port, restartInMs: initialDelayMs }, 'the embedded database (FerretDB) exited unexpectedly; restarting it');
      restarting = restart().finally(() => {
        restarting = undefined;
      });
    });
  };
  watch(current);

  return {
    uri,
    async stop() {
      stopped = true;
      wakeUp?.();
      await restarting;
      await current.stop();
    },
  };
}
