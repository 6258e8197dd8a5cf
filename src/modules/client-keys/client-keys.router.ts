import express, { Router } from 'express';
import { Reply } from '../../lib/handler';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { clientKeyCors } from './client-cors';
import { clientKeyIdParams, clientKeyList, clientKeyParams, clientKeyView, createClientKeyBody, pageEventsAnswer, pageEventsBody, sdkPayload } from './client-keys.schemas';
import { clientKeysService } from './client-keys.service';
import { pageEventsService } from './page-events.service';
import { sdkPayloadService } from './sdk-payload.service';
import { sdkScript } from './sdk-script';

/** Admin: under /v1, behind authentication. */
export const clientKeysRouter = Router();
const admin = documented(clientKeysRouter, { prefix: '/v1', tag: 'Client keys' });

admin.post(
  '/client-keys',
  {
    access: can.admin,
    summary: 'Create a client key',
    description: 'A public key (`vc_…`) for web pages and browser SDKs: it reads the SDK payload and sends exposures and events for page experiments, nothing else.',
    body: createClientKeyBody,
    responses: { 201: { description: 'the key (public: it may be put in a web page)', json: clientKeyView } },
  },
  ({ body }, req) => clientKeysService.create(body, req.principal!.name),
);
admin.get('/client-keys', { access: can.admin, summary: 'List the client keys', responses: { 200: { description: 'every client key, revoked ones too', json: clientKeyList } } }, async () => ({
  clientKeys: await clientKeysService.list(),
}));
admin.delete(
  '/client-keys/:id',
  { access: can.admin, summary: 'Revoke a client key', params: clientKeyIdParams, responses: { 200: { description: 'the revoked key', json: clientKeyView } }, errors: { 404: '`not_found`: no such key.' } },
  ({ params }) => clientKeysService.revoke(params.id),
);

/**
 * Public, for pages and SDKs: mounted at /api before the service's JSON parser, so that the events route
 * reads its own small body (sendBeacon's limit is 64 KiB) and beacons' text/plain bodies as JSON.
 */
export const clientApiRouter = Router();
const pages = documented(clientApiRouter, { prefix: '/api', tag: 'Pages and SDKs' });

/** Short: a change to an experiment reaches pages within this (and the ETag makes a re-check cheap). */
const PAYLOAD_CACHE_CONTROL = 'public, max-age=30, stale-while-revalidate=30';
const PAGE_EVENTS_BODY_LIMIT = '64kb';
const KEY_ERRORS = {
  403: '`forbidden`: the request comes from an origin (its `Origin` header) that the key\'s allowedOrigins do not list.',
  404: '`not_found`: no such client key, or it was revoked.',
};

for (const path of ['/features/:clientKey', '/events/:clientKey']) {
  pages.raw(
    'options',
    path,
    { access: 'public', summary: 'CORS preflight', params: clientKeyParams, responses: { 204: { description: 'the methods and headers a page may use, for the key\'s origins' } }, errors: KEY_ERRORS },
    clientKeyCors,
  );
}
pages.get(
  '/features/:clientKey',
  {
    access: 'public',
    summary: 'The GrowthBook SDK payload',
    description:
      'What GrowthBook SDKs (`apiHost` = this service, `clientKey`) and /sdk/verdict.js load: one feature per running page experiment (feature key = experiment key, values = variant keys) with an experiment rule that buckets exactly as POST /v1/assignments does; a rolled-out experiment forces the winner. CORS: any origin when the key lists none, else the listed ones.',
    before: [clientKeyCors],
    params: clientKeyParams,
    responses: {
      200: { description: 'the payload', json: sdkPayload, headers: { ETag: 'changes with the payload', 'Cache-Control': PAYLOAD_CACHE_CONTROL } },
      304: { description: 'unchanged since the ETag sent in If-None-Match' },
    },
    errors: KEY_ERRORS,
  },
  async (_input, req, res) => {
    const { payload, version } = await sdkPayloadService.payload();
    res.set({ ETag: `"${version}"`, 'Cache-Control': PAYLOAD_CACHE_CONTROL });
    if (req.fresh) return new Reply(304);
    return payload;
  },
);
pages.post(
  '/events/:clientKey',
  {
    access: 'public',
    summary: 'Exposures and events from a page',
    description:
      'A batch (up to 100 items, 64 kB; JSON, also as `text/plain` as navigator.sendBeacon sends it) of `{type: "exposure", id?, experiment, variant, customerId, attributes?}` and `{type: "event", id, name, customerId, experiment?, value?, properties?}`, for page experiments only. An exposure records the assignment when the claimed variant is the one the hash gives (else that item is refused); an event is stored for the page experiment it names, or for each one the customer is assigned to, with an eventId derived from the item\'s id, so a retried beacon counts nothing twice. Each item is answered on its own.',
    before: [clientKeyCors, express.json({ type: () => true, limit: PAGE_EVENTS_BODY_LIMIT })],
    params: clientKeyParams,
    body: pageEventsBody,
    responses: { 202: { description: 'what became of each item', json: pageEventsAnswer } },
    errors: { ...KEY_ERRORS, 413: '`payload_too_large`: the body is over 64 kB.' },
    bodyLimit: false,
  },
  ({ body }, req) => pageEventsService.record(req.clientKey!, body.items),
);

/** Public: the browser snippet, a static file that pages of any origin load with <script src>. */
export const sdkScriptRouter = Router();
documented(sdkScriptRouter, { tag: 'Pages and SDKs' }).raw(
  'get',
  '/sdk/verdict.js',
  {
    access: 'public',
    summary: 'The browser snippet',
    description: 'Plain JavaScript without dependencies: `Verdict.init({clientKey, apiHost, customerId, attributes?})`, `Verdict.variant(experimentKey)`, `Verdict.track(name, {value, properties})`. Loadable from pages of any origin.',
    responses: {
      200: { description: 'the script', content: { 'application/javascript': { type: 'string' } }, headers: { ETag: 'a hash of the script', 'Cache-Control': 'public, max-age=300' } },
      304: { description: 'unchanged since the ETag sent in If-None-Match' },
    },
  },
  (req, res) => {
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
  },
);
