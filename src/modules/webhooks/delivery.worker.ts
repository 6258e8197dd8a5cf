// Sends queued webhook deliveries. Every instance may run a worker: an entry is leased with a
// compare-and-set before it is sent, and a lease left by a crash expires, so pending deliveries resume
// after a restart. Delivery is at least once; receivers de-duplicate on X-Verdict-Delivery.
import { getConfig } from '../../../config';
import { logger } from '../../lib/logger';
import { notifyRollouts } from './notifications.service';
import { backoffMs, deliveryHeaders, MAX_ATTEMPTS } from './webhook-signing';
import type { QueueRecord } from './webhooks.model';
import { webhooksRepository } from './webhooks.repository';

export interface WebhookWorkerOptions {
  intervalMs?: number;
  retryBaseMs?: number;
  timeoutMs?: number;
  /** Deliveries sent at the same time by this worker. */
  concurrency?: number;
}

export interface WebhookWorker {
  /** Runs one poll now (tests use it to avoid waiting); resolves when it is done. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

const BATCH = 50;

/** What a failed attempt is recorded as: a status, or an error code, never a response body. */
function describe(error: unknown): string {
  const err = error as { name?: string; cause?: { code?: string }; code?: string; message?: string };
  if (err?.name === 'TimeoutError') return 'timeout';
  return String(err?.cause?.code ?? err?.code ?? err?.name ?? 'error').slice(0, 100);
}

export function startWebhookWorker(options: WebhookWorkerOptions = {}): WebhookWorker {
  const config = getConfig();
  const intervalMs = options.intervalMs ?? config.SCHEDULER_INTERVAL_MS;
  const retryBaseMs = options.retryBaseMs ?? config.WEBHOOK_RETRY_BASE_MS;
  const timeoutMs = options.timeoutMs ?? config.WEBHOOK_TIMEOUT_MS;
  const concurrency = options.concurrency ?? 8;
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function deliver(entry: QueueRecord): Promise<void> {
    const now = new Date();
    const claimed = await webhooksRepository.claim(entry._id, now, new Date(now.getTime() + timeoutMs + 30_000));
    if (!claimed) return;
    const hook = await webhooksRepository.findWebhook(claimed.webhookId);
    if (!hook) {
      await webhooksRepository.dequeue(claimed._id);
      return;
    }
    // The permanent record is normally written by emit(); this covers a crash between its two inserts.
    if (claimed.attempt === 1) await webhooksRepository.recordDelivery({ _id: claimed._id, webhookId: claimed.webhookId, event: claimed.event, body: claimed.body, createdAt: claimed.createdAt });
    const started = Date.now();
    const timestamp = Math.floor(started / 1000);
    let statusCode: number | undefined;
    let failure: string | undefined;
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: deliveryHeaders({ event: claimed.event, deliveryId: claimed._id, secret: hook.secret, body: claimed.body, timestamp }),
        body: claimed.body,
        // A redirect is a failure, not something to follow: the receiver is the URL that was registered.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping.signal]),
      });
      statusCode = response.status;
      await response.body?.cancel().catch(() => undefined);
    } catch (error) {
      if (stopping.signal.aborted) {
        // Shutting down mid-send: not the receiver's fault, so the attempt is not counted.
        await webhooksRepository.release(claimed._id);
        return;
      }
      failure = describe(error);
    }
    const ok = statusCode !== undefined && statusCode >= 200 && statusCode < 300;
    const final = ok || claimed.attempt >= MAX_ATTEMPTS;
    await webhooksRepository.recordAttempt({
      _id: `${claimed._id}:${claimed.attempt}`,
      deliveryId: claimed._id,
      webhookId: claimed.webhookId,
      attempt: claimed.attempt,
      at: new Date(started),
      ok,
      ...(statusCode !== undefined ? { statusCode } : {}),
      ...(failure ? { error: failure } : statusCode !== undefined && !ok ? { error: `HTTP ${statusCode}` } : {}),
      durationMs: Date.now() - started,
      final,
    });
    if (final) {
      await webhooksRepository.dequeue(claimed._id);
      if (!ok) logger.warn({ webhook: claimed.webhookId, delivery: claimed._id, attempts: claimed.attempt }, 'webhook delivery failed for good');
    } else {
      await webhooksRepository.reschedule(claimed._id, claimed.attempt + 1, new Date(Date.now() + backoffMs(claimed.attempt, retryBaseMs)));
    }
  }

  async function poll(): Promise<void> {
    // A failure here must not hold up deliveries that are due.
    await notifyRollouts().catch((error) => logger.warn({ err: error }, 'could not check for rollouts to notify'));
    const due = await webhooksRepository.due(new Date(), BATCH);
    let next = 0;
    const lane = async () => {
      while (next < due.length && !stopping.signal.aborted) {
        const entry = due[next++]!;
        try {
          await deliver(entry);
        } catch (error) {
          logger.warn({ err: error, delivery: entry._id }, 'webhook delivery attempt could not be processed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, lane));
  }

  function tick(): Promise<void> {
    running ??= poll()
      .catch((error) => logger.warn({ err: error }, 'webhook worker poll failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      void tick().then(schedule);
    }, intervalMs);
    timer.unref();
  }

  schedule();
  return {
    tick,
    async stop() {
      stopping.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
