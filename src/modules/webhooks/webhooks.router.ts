import { Router } from 'express';
import { handle, Reply } from '../../lib/handler';
import { can } from '../../middleware/auth';
import { createWebhookBody, deliveriesQuery, idempotencyKeyHeader, webhookIdParams } from './webhooks.schemas';
import { webhooksService } from './webhooks.service';

export const webhooksRouter = Router();

webhooksRouter.post(
  '/webhooks',
  can.edit,
  handle({ body: createWebhookBody }, async ({ body }, req) => {
    const idempotencyKey = idempotencyKeyHeader.parse(req.get('Idempotency-Key'));
    const result = await webhooksService.create(body, req.principal!, idempotencyKey);
    return new Reply(result.created ? 201 : 200, result.webhook);
  }),
);
webhooksRouter.get('/webhooks', can.edit, handle({}, async () => ({ webhooks: await webhooksService.list() })));
webhooksRouter.delete(
  '/webhooks/:id',
  can.edit,
  handle({ params: webhookIdParams }, async ({ params }) => {
    await webhooksService.remove(params.id);
    return new Reply(204);
  }),
);
webhooksRouter.get(
  '/webhooks/:id/deliveries',
  can.edit,
  handle({ params: webhookIdParams, query: deliveriesQuery }, async ({ params, query }) => ({ deliveries: await webhooksService.deliveries(params.id, query.limit) })),
);
