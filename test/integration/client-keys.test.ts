import assert from 'node:assert/strict';
import type { Express } from 'express';
import supertest from 'supertest';
import { parseConfig } from '../../config';
import { buildApp } from '../../src/app';
import { db } from '../../src/db/connection';
import { pageEventId } from '../../src/modules/client-keys';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, pageExperiment, runningExperiment } from '../helpers/factories';

interface ClientKeyView {
  id: string;
  key: string;
  name: string;
  allowedOrigins: string[];
  revokedAt: string | null;
}

async function createClientKey(client: Api, body: Record<string, unknown> = { name: 'help centre' }): Promise<ClientKeyView> {
  const res = await client.post('/v1/client-keys').send(body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** A page experiment with a mean metric (basket value) beside conversion. */
function pageWithBasket(overrides: Record<string, unknown> = {}) {
  return pageExperiment({
    metrics: { primary: 'conversion', secondary: ['basket'], custom: [{ key: 'basket', kind: 'mean', event: 'basket', direction: 'increase' }] },
    ...overrides,
  });
}

/** The customer's variant from POST /v1/assignments (which stores it). */
async function variantOf(client: Api, experiment: string, customerId: string, attributes?: Record<string, unknown>): Promise<string | null> {
  const res = await client.post('/v1/assignments').send({ experiment, customerId, ...(attributes ? { attributes } : {}) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.variant;
}

async function metric(client: Api, key: string, variant: string, name: string) {
  const res = await client.get(`/v1/experiments/${key}/summary`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const entry = (res.body.variants as { variant: string; assigned: number; metrics: Record<string, { units: number; sum: number }> }[]).find((v) => v.variant === variant)!;
  return { assigned: entry.assigned, ...entry.metrics[name] };
}

describe('client keys, the SDK payload and page beacons', () => {
  let client: Api;
  let http: () => supertest.Agent;
  before(async () => {
    client = await api();
    http = () => supertest.agent(client.app);
  });

  describe('/v1/client-keys (admin)', () => {
    it('when an admin creates, lists and revokes a client key, then the key is public (vc_...), listed, and revoked keys stop reading the payload', async () => {
      const created = await createClientKey(client, { name: 'shop', allowedOrigins: ['https://shop.example', 'http://localhost:8080'] });
      assert.match(created.key, /^vc_[A-Za-z0-9_-]{24}$/);
      assert.equal(created.id, created.key);
      assert.deepEqual(created.allowedOrigins, ['https://shop.example', 'http://localhost:8080']);
      assert.equal(created.revokedAt, null);

      const listed = await client.get('/v1/client-keys');
      assert.equal(listed.status, 200);
      assert.ok((listed.body.clientKeys as ClientKeyView[]).some((k) => k.key === created.key && k.name === 'shop'));

      assert.equal((await http().get(`/api/features/${created.key}`)).status, 200);
      const revoked = await client.delete(`/v1/client-keys/${created.id}`);
      assert.equal(revoked.status, 200);
      assert.ok(revoked.body.revokedAt);
      const after = await http().get(`/api/features/${created.key}`);
      assert.equal(after.status, 404);
      assert.equal(after.body.error.code, 'not_found');
      const beacon = await http().post(`/api/events/${created.key}`).send({ items: [{ type: 'event', id: 'x1', name: 'conversion', customerId: 'c1' }] });
      assert.equal(beacon.status, 404);
      assert.equal((await client.delete('/v1/client-keys/vc_AAAAAAAAAAAAAAAAAAAAAAAA')).status, 404);
    });

    it('when a key without the admin role or a bad origin is used, then 403 and 400 and nothing is created', async () => {
      const editor = await client.post('/v1/api-keys').send({ name: 'editor', role: 'editor' });
      const asEditor = await api(editor.body.key);
      assert.equal((await asEditor.post('/v1/client-keys').send({ name: 'x' })).status, 403);
      assert.equal((await asEditor.get('/v1/client-keys')).status, 403);
      for (const origin of ['https://shop.example/', 'https://shop.example/path', 'ftp://shop.example', 'shop.example', 'https://Shop.example']) {
        const res = await client.post('/v1/client-keys').send({ name: 'x', allowedOrigins: [origin] });
        assert.equal(res.status, 400, origin);
        assert.equal(res.body.error.code, 'validation_failed');
      }
    });
  });

  describe('GET /api/features/:clientKey', () => {
    it('when running page experiments exist, then each is a feature with an experiment rule as GrowthBook SDKs read it, and email, draft and paused experiments are left out', async () => {
      const page = pageExperiment({
        variants: [
          { key: 'control', name: 'Current', weight: 0.3, content: { url: 'https://acme.example/help' } },
          { key: 'guided', weight: 0.7, content: { url: 'https://acme.example/help?layout=guided' } },
        ],
        coverage: 0.6,
        seed: 'help-seed',
        targeting: { country: { $in: ['AE', 'SA'] } },
      });
      const key = await runningExperiment(client, page);
      const email = await runningExperiment(client, emailExperiment());
      const paused = await runningExperiment(client, pageExperiment());
      await client.post(`/v1/experiments/${paused}/pause`);
      const draft = pageExperiment();
      await client.post('/v1/experiments').send(draft);
      const { key: clientKey } = await createClientKey(client);

      const res = await http().get(`/api/features/${clientKey}`);
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'], /^application\/json/);
      assert.equal(res.body.status, 200);
      assert.ok(!Number.isNaN(Date.parse(res.body.dateUpdated)));
      assert.deepEqual(res.body.features[key], {
        defaultValue: 'control',
        rules: [
          {
            id: `${key}:experiment`,
            key,
            name: page.name,
            variations: ['control', 'guided'],
            weights: [0.3, 0.7],
            coverage: 0.6,
            seed: 'help-seed',
            hashVersion: 2,
            hashAttribute: 'id',
            condition: { country: { $in: ['AE', 'SA'] } },
            meta: [{ key: 'control', name: 'Current' }, { key: 'guided' }],
            phase: '0',
          },
        ],
      });
      for (const absent of [email, paused, draft.key]) assert.equal(res.body.features[absent], undefined, absent);
    });

    it('when an experiment is rolled out, then its feature forces the winner', async () => {
      const key = await runningExperiment(client, pageExperiment());
      const rolled = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'guided', force: true });
      assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
      const { key: clientKey } = await createClientKey(client);
      const res = await http().get(`/api/features/${clientKey}`);
      assert.deepEqual(res.body.features[key], { defaultValue: 'guided', rules: [{ id: `${key}:rollout`, force: 'guided' }] });
    });

    it('when the payload is asked again with its ETag, then 304 without a body; a change to the experiments gives a new ETag and a later dateUpdated, archiving included', async () => {
      const { key: clientKey } = await createClientKey(client);
      const first = await http().get(`/api/features/${clientKey}`);
      assert.equal(first.status, 200);
      assert.match(first.headers.etag ?? '', /^"[A-Za-z0-9_-]{27}"$/);
      assert.equal(first.headers['cache-control'], 'public, max-age=30, stale-while-revalidate=30');
      const again = await http().get(`/api/features/${clientKey}`).set('If-None-Match', first.headers.etag);
      assert.equal(again.status, 304);
      assert.equal(again.text, '');
      assert.equal(again.headers.etag, first.headers.etag);

      const key = await runningExperiment(client, pageExperiment());
      const started = await http().get(`/api/features/${clientKey}`).set('If-None-Match', first.headers.etag);
      assert.equal(started.status, 200);
      assert.notEqual(started.headers.etag, first.headers.etag);
      assert.ok(started.body.features[key]);
      assert.ok(started.body.dateUpdated > first.body.dateUpdated);

      // GrowthBook SDKs keep cached features while dateUpdated is unchanged: it must move on every change.
      await client.delete(`/v1/experiments/${key}`);
      const archived = await http().get(`/api/features/${clientKey}`);
      assert.equal(archived.body.features[key], undefined);
      assert.ok(archived.body.dateUpdated > started.body.dateUpdated, `${archived.body.dateUpdated} after ${started.body.dateUpdated}`);
    });

    it('when the key lists no origins, then any origin may read it (Access-Control-Allow-Origin: *); a preflight is answered', async () => {
      const { key: clientKey } = await createClientKey(client);
      const res = await http().get(`/api/features/${clientKey}`).set('Origin', 'https://anywhere.example');
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['access-control-expose-headers'], 'ETag');
      assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
      const preflight = await http().options(`/api/features/${clientKey}`).set('Origin', 'https://anywhere.example').set('Access-Control-Request-Method', 'GET').set('Access-Control-Request-Headers', 'if-none-match');
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], '*');
      assert.match(preflight.headers['access-control-allow-headers'] ?? '', /If-None-Match/);
      assert.match(preflight.headers['access-control-allow-methods'] ?? '', /POST/);
    });

    it('when the key lists origins, then a listed origin is echoed (Vary: Origin), another is refused with 403, and a request without Origin (a server) is answered', async () => {
      const { key: clientKey } = await createClientKey(client, { name: 'shop', allowedOrigins: ['https://shop.example'] });
      const listed = await http().get(`/api/features/${clientKey}`).set('Origin', 'https://shop.example');
      assert.equal(listed.status, 200);
      assert.equal(listed.headers['access-control-allow-origin'], 'https://shop.example');
      assert.match(listed.headers.vary ?? '', /Origin/);
      const other = await http().get(`/api/features/${clientKey}`).set('Origin', 'https://evil.example');
      assert.equal(other.status, 403);
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const beacon = await http().post(`/api/events/${clientKey}`).set('Origin', 'https://evil.example').send({ items: [{ type: 'event', id: 'e', name: 'conversion', customerId: 'c' }] });
      assert.equal(beacon.status, 403);
      const server = await http().get(`/api/features/${clientKey}`);
      assert.equal(server.status, 200);
      assert.equal(server.headers['access-control-allow-origin'], undefined);
    });

    it('when the key is unknown or malformed, then 404 JSON that any page can read', async () => {
      for (const key of ['vc_doesnotexist0000000000', 'nonsense']) {
        const res = await http().get(`/api/features/${key}`).set('Origin', 'https://shop.example');
        assert.equal(res.status, 404, key);
        assert.equal(res.body.error.code, 'not_found');
        assert.equal(res.headers['access-control-allow-origin'], '*');
      }
    });
  });

  describe('POST /api/events/:clientKey', () => {
    let clientKey: string;
    before(async () => {
      clientKey = (await createClientKey(client, { name: 'beacons' })).key;
    });
    const beacon = (items: unknown[], type = 'text/plain;charset=UTF-8') => http().post(`/api/events/${clientKey}`).set('Content-Type', type).send(JSON.stringify({ items }));

    it('when a page reports the exposure the hash gives, then the assignment is recorded (as POST /v1/assignments would) and counted', async () => {
      const key = await runningExperiment(client, pageWithBasket());
      const variant = (await client.post('/v1/assignments/batch').send({ experiment: key, customers: [{ customerId: 'probe' }] })).body.assignments[0].variant as string;
      // "probe" is assigned already: its exposure agrees with the stored assignment.
      const res = await beacon([{ type: 'exposure', id: 'x1', experiment: key, variant, customerId: 'probe' }]);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.body.results, [{ status: 'accepted', variant }]);

      // "visitor" is new: of the two claims, the one the hash gives is recorded, the other refused.
      assert.equal(await db().collection('assignments').findOne({ _id: `${key}:visitor` as never }), null);
      const fresh = await beacon(
        ['control', 'guided'].map((v, i) => ({ type: 'exposure', id: `v${i}`, experiment: key, variant: v, customerId: 'visitor' })),
        'application/json',
      );
      const accepted = (fresh.body.results as { status: string; variant?: string | null }[]).filter((r) => r.status === 'accepted');
      const mismatch = (fresh.body.results as { status: string; reason?: string; variant?: string | null }[]).filter((r) => r.status === 'refused');
      assert.equal(accepted.length, 1, JSON.stringify(fresh.body));
      assert.equal(mismatch.length, 1);
      assert.equal(mismatch[0].reason, 'variant_mismatch');
      assert.equal(mismatch[0].variant, accepted[0].variant);
      const listed = await client.get(`/v1/experiments/${key}/assignments?customerId=visitor`);
      assert.deepEqual(
        (listed.body.assignments as { variant: string; reason: string }[]).map((a) => [a.variant, a.reason]),
        [[accepted[0].variant, 'hash']],
      );
      assert.equal(await variantOf(client, key, 'visitor'), accepted[0].variant);
      assert.equal((await metric(client, key, accepted[0].variant!, 'conversion')).assigned >= 1, true);
    });

    it('when a page claims a variant the hash does not give, or the customer is outside coverage or targeting, then that item is refused and nothing is stored for it', async () => {
      const key = await runningExperiment(client, pageExperiment({ coverage: 0.5, targeting: { plan: 'pro' } }));
      const customers = Array.from({ length: 40 }, (_, i) => `mm-${i}`);
      const items = customers.flatMap((customerId) => [
        { type: 'exposure', experiment: key, variant: 'control', customerId, attributes: { plan: 'pro' } },
        { type: 'exposure', experiment: key, variant: 'guided', customerId, attributes: { plan: 'pro' } },
      ]);
      const res = await beacon(items);
      assert.equal(res.status, 202);
      const results = res.body.results as { status: string; reason?: string; variant?: string | null }[];
      for (let i = 0; i < customers.length; i++) {
        const [control, guided] = [results[2 * i], results[2 * i + 1]];
        const expected = await db().collection<{ _id: string; variant: string }>('assignments').findOne({ _id: `${key}:${customers[i]}` });
        if (expected === null) {
          // Outside coverage: both refused, the hash gives nothing.
          assert.deepEqual([control.reason, guided.reason, control.variant, guided.variant], ['variant_mismatch', 'variant_mismatch', null, null]);
        } else {
          const [right, wrong] = expected.variant === 'control' ? [control, guided] : [guided, control];
          assert.equal(right.status, 'accepted');
          assert.equal(wrong.status, 'refused');
          assert.equal(wrong.variant, expected.variant);
        }
      }
      assert.ok(results.some((r) => r.status === 'accepted') && results.some((r) => r.variant === null), 'both kinds occur among 40 customers');
      // Targeting: without the attribute the customer is not targeted, whatever the claim.
      const untargeted = await beacon([{ type: 'exposure', experiment: key, variant: 'control', customerId: 'no-plan' }, { type: 'exposure', experiment: key, variant: 'guided', customerId: 'no-plan' }]);
      assert.deepEqual((untargeted.body.results as { reason: string }[]).map((r) => r.reason), ['variant_mismatch', 'variant_mismatch']);
      assert.equal(await db().collection('assignments').findOne({ _id: `${key}:no-plan` as never }), null);
    });

    it('when items name email, paused, unknown experiments or are malformed, then each is refused alone and the rest is recorded', async () => {
      const email = await runningExperiment(client, emailExperiment());
      const paused = await runningExperiment(client, pageExperiment());
      await client.post(`/v1/experiments/${paused}/pause`);
      const page = await runningExperiment(client, pageExperiment({ coverage: 1 }));
      const variant = await variantOf(client, page, 'mixed');
      const res = await beacon([
        { type: 'exposure', experiment: email, variant: 'control', customerId: 'mixed' },
        { type: 'exposure', experiment: paused, variant: 'control', customerId: 'mixed' },
        { type: 'exposure', experiment: 'no-such-experiment', variant: 'control', customerId: 'mixed' },
        { type: 'exposure', experiment: page, variant: 'nope', customerId: 'mixed' },
        { type: 'exposure', experiment: page, customerId: 'mixed' },
        { type: 'click', customerId: 'mixed' },
        { type: 'event', id: 'e1', name: 'conversion', customerId: 'mixed', experiment: email },
        { type: 'exposure', experiment: page, variant, customerId: 'mixed' },
      ]);
      assert.equal(res.status, 202);
      assert.deepEqual(
        (res.body.results as { status: string; reason?: string }[]).map((r) => r.reason ?? r.status),
        ['not_page_experiment', 'not_running', 'unknown_experiment', 'unknown_variant', 'invalid', 'invalid', 'not_page_experiment', 'accepted'],
      );
      assert.deepEqual(res.body.exposures, { accepted: 1, refused: 4 });
    });

    it('when a page sends events, then they are stored once per page experiment the customer is in (never for an email experiment) and a retried beacon counts nothing twice', async () => {
      const page = await runningExperiment(client, pageWithBasket());
      const email = await runningExperiment(client, emailExperiment({ metrics: { primary: 'conversion' } }));
      const customerId = `shopper-${eventId()}`;
      const pageVariant = (await variantOf(client, page, customerId))!;
      const emailVariant = (await variantOf(client, email, customerId))!;
      const items = [
        { type: 'event', id: 'pv1.1', name: 'conversion', customerId },
        { type: 'event', id: 'pv1.2', name: 'basket', customerId, value: 30, properties: { sku: 'A-1' } },
        { type: 'event', id: 'pv1.3', name: 'basket', customerId, value: 12 },
      ];
      const first = await beacon(items);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      assert.deepEqual(first.body.results, items.map(() => ({ status: 'accepted', experiments: [page] })));
      assert.deepEqual(first.body.events, { accepted: 3, duplicates: 0, ignored: 0, refused: 0 });
      const stored = await db().collection('events').findOne({ _id: pageEventId(clientKey, customerId, 'pv1.2', page) as never });
      assert.ok(stored);
      assert.equal(stored.experiment, page);
      assert.deepEqual(stored.properties, { sku: 'A-1' });

      const retry = await beacon(items);
      assert.deepEqual(retry.body.events, { accepted: 0, duplicates: 3, ignored: 0, refused: 0 });

      const basket = await metric(client, page, pageVariant, 'basket');
      assert.deepEqual([basket.units, basket.sum], [1, 42]);
      assert.equal((await metric(client, page, pageVariant, 'conversion')).units, 1);
      assert.equal((await metric(client, email, emailVariant, 'conversion')).units, 0, 'a page event never counts in an email experiment');
    });

    it('when the customer is in no page experiment, then the event is ignored (nothing would count it) and nothing is stored', async () => {
      const res = await beacon([{ type: 'event', id: 'lonely', name: 'conversion', customerId: `nobody-${eventId()}` }]);
      assert.equal(res.status, 202);
      assert.equal(res.body.results[0].status, 'ignored');
      assert.equal(res.body.results[0].reason, 'not_assigned');
    });

    it('when the body is over 64 kB or not JSON, then 413 or 400 and nothing is stored', async () => {
      const big = await beacon([{ type: 'event', id: 'big', name: 'conversion', customerId: 'c', properties: { blob: 'x'.repeat(70_000) } }]);
      assert.equal(big.status, 413);
      assert.equal(big.body.error.code, 'payload_too_large');
      const broken = await http().post(`/api/events/${clientKey}`).set('Content-Type', 'text/plain').send('{"items": [');
      assert.equal(broken.status, 400);
      const empty = await beacon([]);
      assert.equal(empty.status, 400);
      const tooMany = await beacon(Array.from({ length: 101 }, (_, i) => ({ type: 'event', id: `m${i}`, name: 'conversion', customerId: 'c' })));
      assert.equal(tooMany.status, 400);
    });

    it('when one client sends beyond the public rate limit, then 429 (the payload and beacons share the public limiter)', async () => {
      const limited: Express = buildApp(parseConfig({ ...process.env, RATE_LIMIT_PUBLIC_PER_MINUTE: '3' }));
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await supertest(limited).post(`/api/events/${clientKey}`).type('text/plain').send(JSON.stringify({ items: [{ type: 'event', id: `rl${i}`, name: 'x', customerId: 'rl' }] }))).status);
      assert.deepEqual(statuses, [202, 202, 202]);
      assert.equal((await supertest(limited).post(`/api/events/${clientKey}`).type('text/plain').send('{}')).status, 429);
      assert.equal((await supertest(limited).get(`/api/features/${clientKey}`)).status, 429);
    });
  });

  describe('GET /sdk/verdict.js', () => {
    it('when the snippet is asked for, then small plain JavaScript, cacheable with an ETag, loadable from other origins (Cross-Origin-Resource-Policy: cross-origin)', async () => {
      const res = await http().get('/sdk/verdict.js');
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/javascript; charset=utf-8');
      assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['cache-control'], 'public, max-age=300');
      assert.match(res.headers.etag ?? '', /^"[A-Za-z0-9_-]{27}"$/);
      const body = res.text || (res.body as Buffer).toString('utf8');
      assert.ok(body.length < 16_000, `${body.length} bytes`);
      assert.match(body, /Verdict/);
      assert.doesNotMatch(body, /\brequire\(|\bimport\s/);
      const again = await http().get('/sdk/verdict.js').set('If-None-Match', res.headers.etag);
      assert.equal(again.status, 304);
    });
  });
});
