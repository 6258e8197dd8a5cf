// Sends queued webhook deliveries, as the job runner's periodic `webhook-deliveries` duty (one instance
// at a time). Each entry is also leased with a compare-and-set before it is sent, and a lease left by a
// crash expires, so pending deliveries resume after a restart or a takeover. Delivery is at least once;
// receivers de-duplicate on X-Verdict-Delivery.
import type { Duty } from '../../jobs/runner';
import { logger } from '../../lib/logger';
import { notifyRollouts } from './notifications.service';
import { backoffMs, deliveryHeaders, MAX_ATTEMPTS } from './webhook-signing';
import { postToTarget, TargetRefusedError, type TargetPolicy } from './webhook-target';
import type { QueueRecord } from './webhooks.model';
import { webhooksRepository } from './webhooks.repository';

/** From the composition root: SCHEDULER_INTERVAL_MS, WEBHOOK_RETRY_BASE_MS, WEBHOOK_TIMEOUT_MS, the target policy. */
export interface WebhookDeliverySettings {
  intervalMs: number;
  retryBaseMs: number;
  timeoutMs: number;
  /** Where deliveries may go (targetPolicyOf: NODE_ENV, ALLOW_PRIVATE_WEBHOOKS). */
  targets: TargetPolicy;
}

/** What a test (or a bench) changes from the settings. */
export interface WebhookWorkerOptions {
  intervalMs?: number;
  retryBaseMs?: number;
  timeoutMs?: number;
  /** Deliveries sent at the same time by this worker. */
  concurrency?: number;
  /** Where deliveries may go: the settings' policy with these changes. */
  targets?: Partial<TargetPolicy>;
}

export interface WebhookDeliveries {
  /** Register on the job runner: one poll every intervalMs while this instance holds the lease. */
  duty: Duty;
  /** Runs one poll now (tests use it to avoid waiting), or waits for the one running; resolves when done. */
  tick: () => Promise<void>;
}

const BATCH = 50;

/** What a failed attempt is recorded as: a status, or an error code, never a response body. */
function describe(error: unknown): string {
  const err = error as { name?: string; cause?: { code?: string | number }; code?: string | number; message?: string };
  if (err?.name === 'TimeoutError') return 'timeout';
  return String(err?.cause?.code ?? err?.code ?? err?.name ?? 'error').slice(0, 100);
}

export function webhookDeliveries(settings: WebhookDeliverySettings, options: WebhookWorkerOptions = {}): WebhookDeliveries {
  const intervalMs = options.intervalMs ?? settings.intervalMs;
  const retryBaseMs = options.retryBaseMs ?? settings.retryBaseMs;
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs;
  const concurrency = options.concurrency ?? 8;
  const targets: TargetPolicy = { ...settings.targets, ...options.targets };
  // Aborted when the runner stops the duty: a delivery in flight is released, not counted as an attempt.
  let stopping: AbortSignal = new AbortController().signal;
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
      // Checks the target again (its host resolved now, DNS rebinding) and connects to exactly the checked
      // address. A redirect is a failure, not something to follow: the receiver is the URL that was registered.
      statusCode = await postToTarget(
        hook.url,
        {
          headers: deliveryHeaders({ event: claimed.event, deliveryId: claimed._id, secret: hook.secret, body: claimed.body, timestamp }),
          body: claimed.body,
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping]),
        },
        targets,
      );
    } catch (error) {
      if (stopping.aborted) {
        // Shutting down mid-send: not the receiver's fault, so the attempt is not counted.
        await webhooksRepository.release(claimed._id);
        return;
      }
      // A refused target was never contacted: its record says so and nothing more.
      failure = error instanceof TargetRefusedError ? 'target refused' : describe(error);
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
    await notifyRollouts().catch((error: unknown) => logger.warn({ err: error }, 'could not check for rollouts to notify'));
    const due = await webhooksRepository.due(new Date(), BATCH);
    let next = 0;
    const lane = async () => {
      while (next < due.length && !stopping.aborted) {
        const entry = due[next++];
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
      .catch((error: unknown) => logger.warn({ err: error }, 'webhook worker poll failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    duty: {
      name: 'webhook-deliveries',
      everyMs: intervalMs,
      run: async (ctx) => {
        stopping = ctx.signal;
        await tick();
      },
    },
    tick,
  };
}
