import { z } from 'zod';
import { httpUrl } from '../../lib/schemas';
import { WEBHOOK_EVENTS } from './webhooks.model';


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
