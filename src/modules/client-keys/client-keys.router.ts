import express, { Router } from 'express';
import { handle, Reply } from '../../lib/handler';
import { requireRole } from '../../middleware/auth';
import { clientKeyCors } from './client-cors';
import { clientKeyIdParams, clientKeyParams, createClientKeyBody, pageEventsBody } from './client-keys.schemas';
import { clientKeysService } from './client-keys.service';
import { pageEventsService } from './page-events.service';
import { sdkPayloadService } from './sdk-payload.service';
import { sdkScript } from './sdk-script';

/** Admin: under /v1, behind authentication. */
export const clientKeysRouter = Router();

clientKeysRouter.post(
  '/client-keys',
  requireRole('admin'),
  handle({ body: createClientKeyBody }, ({ body }, req) => clientKeysService.create(body, req.principal!.name), { status: 201 }),
);
clientKeysRouter.get('/client-keys', requireRole('admin'), handle({}, async () => ({ clientKeys: await clientKeysService.list() })));
clientKeysRouter.delete('/client-keys/:id', requireRole('admin'), handle({ params: clientKeyIdParams }, ({ params }) => clientKeysService.revoke(params.id)));

/**
 * Public, for pages and SDKs: mounted at /api before the service's JSON parser, so that the events route
 * reads its own small body (sendBeacon's limit is 64 KiB) and beacons' text/plain bodies as JSON.
 */
export const clientApiRouter = Router();

/** Short: a change to an experiment reaches pages within this (and the ETag makes a re-check cheap). */
const PAYLOAD_CACHE_CONTROL = 'public, max-age=30, stale-while-revalidate=30';
const PAGE_EVENTS_BODY_LIMIT = '64kb';

clientApiRouter.options(['/features/:clientKey', '/events/:clientKey'], clientKeyCors);
clientApiRouter.get(
  '/features/:clientKey',
  clientKeyCors,
  handle({ params: clientKeyParams }, async (_input, req, res) => {
    const { payload, version } = await sdkPayloadService.payload();
    res.set({ ETag: `"${version}"`, 'Cache-Control': PAYLOAD_CACHE_CONTROL });
    if (req.fresh) return new Reply(304);
    return payload;
  }),
);
clientApiRouter.post(
  '/events/:clientKey',
  clientKeyCors,
  // Any content type: navigator.sendBeacon sends a string as text/plain (a request without a preflight).
  express.json({ type: () => true, limit: PAGE_EVENTS_BODY_LIMIT }),
  handle({ params: clientKeyParams, body: pageEventsBody }, ({ body }, req) => pageEventsService.record(req.clientKey!, body.items), { status: 202 }),
);

/** Public: the browser snippet, a static file that pages of any origin load with <script src>. */
export const sdkScriptRouter = Router();
sdkScriptRouter.get('/sdk/verdict.js', (req, res) => {
  const script = sdkScript();
  res.set({
    'Content-Type': 'application/javascript; charset=utf-8',
    'Cache-Control': 'public, max-age=300',
    ETag: script.etag,
    'Cross-Origin-Resource-Policy': 'cross-origin',
    'Access-Control-Allow-Origin': '*',
  });
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  res.send(script.body);
});
