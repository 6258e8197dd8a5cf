import { Router } from 'express';
import { Reply } from '../../lib/handler';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { experimentKeyParams } from '../experiments';
import { freshnessQuery } from '../counting';
import { experimentSummary, ingestEventsBody, ingestResult, responseBody, responseResult } from './events.schemas';
import { eventsService } from './events.service';

export const eventsRouter = Router();
const route = documented(eventsRouter, { prefix: '/v1', tag: 'Events and answers' });

route.post(
  '/events',
  {
    access: can.ingest,
    summary: 'Record up to 5,000 engagement events',
    description: 'Answers once the events are durably stored; the aggregator counts them. An eventId seen before is a duplicate, so retries are safe.',
    body: ingestEventsBody,
    responses: { 202: { description: 'stored (to be counted)', json: ingestResult } },
  },
  ({ body }) => eventsService.ingest(body.events),
);
route.post(
  '/responses',
  {
    access: can.ingest,
    summary: 'Record a survey answer (CSAT 1–5, NPS 0–10, CES 1–7)',
    body: responseBody,
    responses: { 201: { description: 'stored', json: responseResult }, 200: { description: 'this responseId was stored before: nothing changed', json: responseResult } },
    errors: { 404: '`not_found`: the experiment named does not exist.' },
  },
  async ({ body }) => {
    const result = await eventsService.respond(body);
    return new Reply(result.duplicate ? 200 : 201, result);
  },
);
route.get(
  '/experiments/:key/summary',
  {
    access: can.read,
    summary: 'Per-variant aggregates',
    description: 'Assigned customers per variant and the aggregates behind every metric. Waits (at most 5 s) until everything acknowledged before the read is counted, unless `?stale=ok`.',
    params: experimentKeyParams,
    query: freshnessQuery,
    responses: { 200: { description: 'the aggregates', json: experimentSummary } },
    errors: { 404: '`not_found`: no such experiment.' },
  },
  ({ params, query }) => eventsService.summary(params.key, { stale: query.stale === 'ok' }),
);
