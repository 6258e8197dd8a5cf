import { Router } from 'express';
import { handle, Reply } from '../../lib/handler';
import { can } from '../../middleware/auth';
import { experimentKeyParams } from '../experiments';
import { freshnessQuery } from '../counting';
import { ingestEventsBody, responseBody } from './events.schemas';
import { eventsService } from './events.service';

export const eventsRouter = Router();

eventsRouter.post('/events', can.ingest, handle({ body: ingestEventsBody }, ({ body }) => eventsService.ingest(body.events), { status: 202 }));
eventsRouter.post(
  '/responses',
  can.ingest,
  handle({ body: responseBody }, async ({ body }) => {
    const result = await eventsService.respond(body);
    return new Reply(result.duplicate ? 200 : 201, result);
  }),
);
eventsRouter.get(
  '/experiments/:key/summary',
  can.read,
  handle({ params: experimentKeyParams, query: freshnessQuery }, ({ params, query }) => eventsService.summary(params.key, { stale: query.stale === 'ok' })),
);
