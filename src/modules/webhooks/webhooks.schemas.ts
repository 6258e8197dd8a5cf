import { z } from 'zod';
import { httpUrl, isoDate } from '../../lib/schemas';

export const WEBHOOK_EVENTS = ['decision.changed', 'srm.detected', 'experiment.rolled_out'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const createWebhookBody = z.strictObject({
  url: httpUrl,
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1, `name at least one of: ${WEBHOOK_EVENTS.join(', ')}`)
    .max(WEBHOOK_EVENTS.length)
    .transform((events) => [...new Set(events)]),
  /** Signing secret; generated when absent. */
  secret: z.string().min(16, 'must be at least 16 characters').max(200).optional(),
});
export type CreateWebhookInput = z.infer<typeof createWebhookBody>;

export const idempotencyKeyHeader = z.string().min(1).max(200).optional();

export const webhookIdParams = z.object({ id: z.string().regex(/^wh_[A-Za-z0-9_-]{8,64}$/, 'must be a webhook id') });

export const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

// Answers (the API reference, src/lib/openapi.ts).

export const webhookView = z
  .object({ id: z.string(), url: z.string(), events: z.array(z.enum(WEBHOOK_EVENTS)), createdAt: isoDate, createdBy: z.string() })
  .meta({ id: 'Webhook' });

export const createdWebhook = webhookView
  .extend({ secret: z.string().meta({ description: 'the signing secret (HMAC-SHA256 of each delivery): shown only when created' }) })
  .meta({ id: 'CreatedWebhook' });

export const webhookList = z.object({ webhooks: z.array(webhookView) });

export const DELIVERY_STATUSES = ['delivered', 'pending', 'failed', 'cancelled'] as const;

export const webhookDeliveries = z.object({
  deliveries: z.array(
    z.object({
      id: z.string(),
      event: z.enum(WEBHOOK_EVENTS),
      createdAt: isoDate,
      status: z.enum(DELIVERY_STATUSES),
      attemptCount: z.number().int(),
      maxAttempts: z.number().int(),
      nextAttemptAt: isoDate.nullable().meta({ description: 'while pending' }),
      attempts: z.array(
        z.object({ attempt: z.number().int(), at: isoDate, ok: z.boolean(), statusCode: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number() }),
      ),
      payload: z.unknown().meta({ description: 'the body sent: {id, event, createdAt, data} (docs/webhooks.md)' }),
    }),
  ).meta({ description: 'newest first' }),
});
