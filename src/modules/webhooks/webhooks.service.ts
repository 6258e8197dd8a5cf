// Webhook subscriptions, the deliveries log, and emit(): queue one delivery per subscribed webhook.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { BadRequestError, ConflictError, NotFoundError } from '../../lib/errors';
import { MAX_ATTEMPTS } from './webhook-signing';
import { registrationProblem, type TargetPolicy } from './webhook-target';
import type { WebhookRecord } from './webhooks.model';
import { webhooksRepository } from './webhooks.repository';
import type { CreateWebhookInput, DELIVERY_STATUSES, WebhookEvent } from './webhooks.schemas';

function publicView(record: WebhookRecord) {
  return { id: record._id, url: record.url, events: record.events, createdAt: record.createdAt, createdBy: record.createdBy };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function sameSubscription(a: WebhookRecord, input: CreateWebhookInput): boolean {
  return a.url === input.url && a.events.length === input.events.length && a.events.every((e) => input.events.includes(e)) && (input.secret === undefined || input.secret === a.secret);
}

export interface EmitOptions {
  /** Stable id of the occurrence: emitting it again (a retry, another instance) queues nothing new. */
  eventId?: string;
  /** When it happened: webhooks created later do not get it. */
  occurredAt?: Date;
}

export interface WebhooksSettings {
  /** Which URLs may be registered (targetPolicyOf: NODE_ENV, ALLOW_PRIVATE_WEBHOOKS). */
  targets: TargetPolicy;
}

let settings: WebhooksSettings | undefined;

/** Given by the composition root (src/wiring.ts) before the first request. */
export function configureWebhooks(given: WebhooksSettings): void {
  settings = { targets: { ...given.targets } };
}

function configured(): WebhooksSettings {
  if (!settings) throw new Error('webhooks are not configured (configureWebhooks, called by the composition root)');
  return settings;
}

export const webhooksService = {
  /**
   * Creates a subscription and returns its signing secret (this is the only time it is shown). With an
   * idempotency key, a retried request gets the same webhook back instead of a second one. The URL must
   * be a target the policy allows (webhook-target.ts; the settings' policy with the changes `targets` makes).
   */
  async create(input: CreateWebhookInput, actor: { id: string; name: string }, idempotencyKey?: string, targets: Partial<TargetPolicy> = {}) {
    const problem = await registrationProblem(input.url, { ...configured().targets, ...targets });
    if (problem) throw new BadRequestError(`url: ${problem}`, [{ path: 'url', message: problem }]);
    const record: WebhookRecord = {
      _id: idempotencyKey ? `wh_${sha256(`${actor.id}\n${idempotencyKey}`).slice(0, 24)}` : `wh_${randomBytes(12).toString('base64url')}`,
      url: input.url,
      events: input.events,
      secret: input.secret ?? `whsec_${randomBytes(32).toString('base64url')}`,
      createdAt: new Date(),
      createdBy: actor.name,
    };
    if (await webhooksRepository.insertWebhook(record)) return { created: true, webhook: { ...publicView(record), secret: record.secret } };
    const existing = await webhooksRepository.findWebhook(record._id);
    if (!existing || !sameSubscription(existing, input)) throw new ConflictError('this Idempotency-Key was already used for a different webhook');
    return { created: false, webhook: { ...publicView(existing), secret: existing.secret } };
  },

  async list() {
    return (await webhooksRepository.listWebhooks()).map(publicView);
  },

  async remove(id: string): Promise<void> {
    if (!(await webhooksRepository.deleteWebhook(id))) throw new NotFoundError(`webhook "${id}"`);
  },

  /** Recent deliveries, newest first, each with its attempts and state. */
  async deliveries(id: string, limit: number) {
    if (!(await webhooksRepository.findWebhook(id))) throw new NotFoundError(`webhook "${id}"`);
    const records = await webhooksRepository.listDeliveries(id, limit);
    const [attempts, queued] = await Promise.all([
      webhooksRepository.attemptsFor(id, records.map((r) => r._id)),
      webhooksRepository.queuedFor(id),
    ]);
    const queueById = new Map(queued.map((q) => [q._id, q]));
    return records.map((record) => {
      const own = attempts.filter((a) => a.deliveryId === record._id).sort((a, b) => a.attempt - b.attempt);
      const last = own[own.length - 1];
      const pending = queueById.get(record._id);
      const status: (typeof DELIVERY_STATUSES)[number] = last?.ok ? 'delivered' : pending ? 'pending' : last?.final ? 'failed' : 'cancelled';
      return {
        id: record._id,
        event: record.event,
        createdAt: record.createdAt,
        status,
        attemptCount: own.length,
        maxAttempts: MAX_ATTEMPTS,
        nextAttemptAt: status === 'pending' ? pending!.dueAt : null,
        attempts: own.map((a) => ({ attempt: a.attempt, at: a.at, ok: a.ok, statusCode: a.statusCode ?? null, error: a.error ?? null, durationMs: a.durationMs })),
        payload: JSON.parse(record.body) as unknown,
      };
    });
  },

  /**
   * Queues `event` for every webhook subscribed to it and returns what was queued. The queue entry is
   * written first and carries everything needed to send, so a crash right after it loses nothing.
   */
  async emit(event: WebhookEvent, data: Record<string, unknown>, options: EmitOptions = {}): Promise<{ webhookId: string; deliveryId: string }[]> {
    const hooks = (await webhooksRepository.listWebhooks()).filter(
      (hook) => hook.events.includes(event) && (!options.occurredAt || hook.createdAt.getTime() <= options.occurredAt.getTime()),
    );
    const queued: { webhookId: string; deliveryId: string }[] = [];
    for (const hook of hooks) {
      const id = `dl_${options.eventId ? sha256(`${hook._id}\n${event}\n${options.eventId}`).slice(0, 32) : randomUUID().replace(/-/g, '')}`;
      if (options.eventId && (await webhooksRepository.deliveryExists(id))) continue;
      const createdAt = new Date();
      const body = JSON.stringify({ id, event, createdAt: createdAt.toISOString(), data });
      if (await webhooksRepository.enqueue({ _id: id, webhookId: hook._id, event, body, createdAt, attempt: 1, dueAt: createdAt, leaseUntil: new Date(0) })) {
        await webhooksRepository.recordDelivery({ _id: id, webhookId: hook._id, event, body, createdAt });
        queued.push({ webhookId: hook._id, deliveryId: id });
      }
    }
    return queued;
  },
};
