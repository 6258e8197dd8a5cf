import { Router } from 'express';
import { z } from 'zod';
import { Reply } from '../../lib/handler';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { createdWebhook, createWebhookBody, deliveriesQuery, idempotencyKeyHeader, webhookDeliveries, webhookIdParams, webhookList } from './webhooks.schemas';
import { webhooksService } from './webhooks.service';

export const webhooksRouter = Router();
const route = documented(webhooksRouter, { prefix: '/v1', tag: 'Webhooks' });

const notFound = '`not_found`: no such webhook.';

route.post(
  '/webhooks',
  {
    access: can.edit,
    summary: 'Subscribe a URL to notifications',
    description: 'decision.changed, srm.detected, experiment.rolled_out; each delivery is signed (docs/webhooks.md). With an Idempotency-Key, a retried request gets the same webhook back.',
    headers: z.object({ 'Idempotency-Key': idempotencyKeyHeader }),
    body: createWebhookBody,
    responses: {
      201: { description: 'created, with its secret', json: createdWebhook },
      200: { description: 'this Idempotency-Key made this webhook before: the same one', json: createdWebhook },
    },
    errors: { 400: '`bad_request`: the URL is not a target deliveries may go to (docs/webhooks.md).', 409: '`conflict`: this Idempotency-Key was used for a different webhook.' },
  },
  async ({ body }, req) => {
    const idempotencyKey = idempotencyKeyHeader.parse(req.get('Idempotency-Key'));
    const result = await webhooksService.create(body, req.principal!, idempotencyKey);
    return new Reply(result.created ? 201 : 200, result.webhook);
  },
);
route.get('/webhooks', { access: can.edit, summary: 'List the webhooks', responses: { 200: { description: 'every webhook (without secrets)', json: webhookList } } }, async () => ({
  webhooks: await webhooksService.list(),
}));
route.delete(
  '/webhooks/:id',
  { access: can.edit, summary: 'Delete a webhook', params: webhookIdParams, responses: { 204: { description: 'deleted' } }, errors: { 404: notFound } },
  async ({ params }) => {
    await webhooksService.remove(params.id);
    return new Reply(204);
  },
);
route.get(
  '/webhooks/:id/deliveries',
  {
    access: can.edit,
    summary: "A webhook's recent deliveries",
    description: 'Each with its attempts and state.',
    params: webhookIdParams,
    query: deliveriesQuery,
    responses: { 200: { description: 'newest first', json: webhookDeliveries } },
    errors: { 404: notFound },
  },
  async ({ params, query }) => ({ deliveries: await webhooksService.deliveries(params.id, query.limit) }),
);
