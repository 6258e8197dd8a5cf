// Every GET route only reads. A populated database is fingerprinted (per collection: the number of
// documents and a hash of all of them, BSON-serialized in _id order), every mounted GET route is called
// (found by walking the Express router stack, so a new GET route is covered without editing this file),
// and the fingerprint must be byte-for-byte the same afterwards.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BSON } from 'mongodb';
import mongoose from 'mongoose';
import { countingDb } from '../../src/db/connection';
import { SendWorker } from '../../src/modules/campaigns';
import { recordLook } from '../../src/modules/results';
import { startDuties } from '../helpers/jobs';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';

// Public tracking beacons and the page redirect record what happened by design (an open, a click, an
// answer, an unsubscribe, a page assignment): they are the write paths of email and page tracking.
// /m/: an SMS short link counts its click on GET, as a click link does (a link in a message can only be a GET).
const WRITE_BY_DESIGN = [/^\/t\/o\//, /^\/t\/c\//, /^\/s\//, /^\/u\//, /^\/p\//, /^\/m\//];

// Background duties renew their leases on a timer whatever the requests (src/jobs); no route writes them.
const BACKGROUND_COLLECTIONS = new Set(['job_leases']);

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/** The GET paths of an Express 5 app, with their mount prefixes. */
function getRoutes(stack: Layer[], prefix = ''): string[] {
  const paths: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      if (!layer.route.methods.get) continue;
      for (const path of ([] as string[]).concat(layer.route.path)) paths.push(`${prefix}${path}`);
    } else if (layer.handle?.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      paths.push(...getRoutes(layer.handle.stack, `${prefix}${mount}`));
    }
  }
  return [...new Set(paths)];
}

/** Every collection of the service's database and of the counting engine's (countingDb). */
async function fingerprint(): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const db of [mongoose.connection.db!, countingDb()]) {
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((name) => !BACKGROUND_COLLECTIONS.has(name)).sort();
    for (const name of names) {
      const hash = createHash('sha256');
      let count = 0;
      for await (const doc of db.collection(name).find({}).sort({ _id: 1 })) {
        hash.update(BSON.serialize(doc));
        count++;
      }
      result[`${db.databaseName}.${name}`] = `${count}:${hash.digest('hex')}`;
    }
  }
  return result;
}

/** Waits until nothing changes without any request (counting of earlier writes has finished). */
async function settledFingerprint(): Promise<Record<string, string>> {
  let previous = await fingerprint();
  for (let attempt = 0; attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const current = await fingerprint();
    if (JSON.stringify(current) === JSON.stringify(previous)) return current;
    previous = current;
  }
  throw new Error('the database kept changing without requests');
}

async function waitUntil(predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('GET routes are read-only', () => {
  let client: Api;
  const ids: Record<string, string> = {};
  let reportToken = '';
  let webhookId = '';

  before(async function () {
    this.timeout(120_000);
    client = await api();
    // An experiment under the sequential method (whose results used to store running minima).
    const experiment = await runningExperiment(
      client,
      emailExperiment({ metrics: { primary: 'email_open', secondary: ['email_click', 'csat'], guardrails: ['unsubscribe'] }, analysis: { method: 'sequential', minSamplePerVariant: 10 } }),
    );
    ids.experiment = experiment;
    const customers = Array.from({ length: 60 }, (_, i) => ({ customerId: `${experiment}-c${i}` }));
    await client.post('/v1/assignments/batch').send({ experiment, customers }).expect(200);
    await client.post('/v1/assignments').send({ experiment, customerId: `${experiment}-single` }).expect(200);
    ids.customer = `${experiment}-c1`;
    const events = customers.flatMap((c, i) => [
      ...(i % 3 === 0 ? [{ eventId: eventId(), customerId: c.customerId, name: 'email.open', experiment }] : []),
      ...(i % 7 === 0 ? [{ eventId: eventId(), customerId: c.customerId, name: 'email.click', experiment }] : []),
    ]);
    await client.post('/v1/events').send({ events }).expect(202);
    for (let i = 0; i < 10; i++) await client.post('/v1/responses').send({ experiment, customerId: `${experiment}-c${i}`, metric: 'csat', score: 1 + (i % 5) });

    // A webhook subscription, and a look so stored sequential minima and webhook state exist.
    const webhook = await client.post('/v1/webhooks').send({ url: 'https://hooks.example/read-only', events: ['decision.changed', 'srm.detected'] }).expect(201);
    webhookId = webhook.body.id;
    await recordLook(experiment, 'scheduled');

    // A campaign with an audience whose test group was sent to the development outbox, and an export.
    const campaign = uniqueKey('camp');
    ids.campaign = campaign;
    await client.post('/v1/campaigns').send({ key: campaign, experiment, from: 'Acme CX <cx@acme.example>', testFraction: 0.5, winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } }).expect(201);
    const audience = Array.from({ length: 12 }, (_, i) => ({ customerId: `${campaign}-r${i}`, email: `${campaign}.r${i}@example.org`, name: `R ${i}` }));
    await client.post(`/v1/campaigns/${campaign}/audience`).send(audience).expect(200);
    const sender = startDuties(new SendWorker({ pollMs: 50 }).duty);
    try {
      await client.post(`/v1/campaigns/${campaign}/send-test`).expect(202);
      await waitUntil(async () => (await client.get(`/v1/campaigns/${campaign}`)).body.phase === 'waiting_for_winner');
    } finally {
      await sender.stop();
    }
    await client.post(`/v1/campaigns/${campaign}/recipients`).expect(200);
    // A second campaign whose audience was never exported (reading its recipients must not export them).
    ids.unexported = uniqueKey('camp');
    await client.post('/v1/campaigns').send({ key: ids.unexported, experiment, from: 'Acme CX <cx@acme.example>', testFraction: 1, winnerPolicy: { after: 'PT4H', onInconclusive: 'send_control' } }).expect(201);
    await client.post(`/v1/campaigns/${ids.unexported}/audience`).send(audience.map((r) => ({ ...r, customerId: `${r.customerId}-x` }))).expect(200);

    // A running page experiment and a client key, so the GrowthBook payload has a feature to serve.
    await runningExperiment(client, pageExperiment());
    ids.clientKey = (await client.post('/v1/client-keys').send({ name: 'read-only test' }).expect(201)).body.key;

    // A share link to the HTML report.
    const share = await client.post(`/v1/experiments/${experiment}/share`).send({ expiresIn: 'P1D' }).expect(201);
    reportToken = new URL(share.body.url).searchParams.get('token')!;
    ids.webhook = webhookId;

    // A library metric, so GET /v1/metrics/:key reads a stored one.
    ids.metric = `reopen_${ids.experiment.replace(/[^a-z0-9]/g, '_')}`.slice(0, 64);
    await client.post('/v1/metrics').send({ key: ids.metric, name: 'Ticket reopen rate', kind: 'ratio', direction: 'decrease', numerator: { event: 'ticket.reopened', value: 'count' }, denominator: { event: 'ticket.resolved', value: 'count' } }).expect(201);
  });

  after(async () => {
    if (webhookId) await client.delete(`/v1/webhooks/${webhookId}`);
  });

  /** The value for a path parameter, by the segment naming what it identifies. */
  function fill(path: string, known: boolean): string {
    const missing = 'nope-0000000000';
    return path.replace(/(\/[^/]*)?\/:(\w+)/g, (_whole, segment: string | undefined, param: string) => {
      const owner = `${segment ?? ''}/:${param}`;
      const values: Record<string, string | undefined> = {
        '/experiments/:key': ids.experiment,
        '/campaigns/:key': ids.campaign,
        '/webhooks/:id': ids.webhook,
        '/customers/:customerId': ids.customer,
        '/reports/:key': ids.experiment,
        '/api-keys/:id': undefined,
        '/features/:clientKey': ids.clientKey,
        '/metrics/:key': ids.metric,
      };
      if (!(owner in values)) throw new Error(`a new GET route ${path}: tell this test which value ${owner} takes`);
      return `${segment ?? ''}/${known ? (values[owner] ?? missing) : missing}`;
    });
  }

  it('when every GET route is called on a populated database, then no collection changes at all', async function () {
    this.timeout(400_000); // 77 s on a quiet 2-core machine; over 120 s on a slow one (every route twice, plus two settled fingerprints of every collection)
    const routes = getRoutes((client.app as unknown as { router: { stack: Layer[] } }).router.stack).filter((path) => !WRITE_BY_DESIGN.some((pattern) => pattern.test(path)));
    for (const expected of ['/v1/experiments/:key/results', '/v1/experiments/:key/results.csv', '/v1/campaigns/:key/recipients', '/v1/campaigns/:key/recipients.csv', '/reports/:key']) {
      assert.ok(routes.includes(expected), `${expected} is found among ${routes.join(', ')}`);
    }
    const calls: string[] = [];
    for (const route of routes) {
      const path = fill(route, true);
      calls.push(route.startsWith('/reports/') ? `${path}?token=${encodeURIComponent(reportToken)}` : path, fill(route, false));
    }
    // Query forms that take other paths through the same routes.
    calls.push(
      `/v1/experiments?status=running&limit=5`,
      `/v1/experiments/${ids.experiment}/assignments?customerId=${ids.customer}`,
      `/v1/campaigns?experiment=${ids.experiment}`,
      `/v1/campaigns/${ids.campaign}/outbox?limit=5&offset=1`,
      `/v1/campaigns/${ids.campaign}/recipients?group=all&format=csv`,
      `/v1/campaigns/${ids.campaign}/recipients.csv?group=winner`,
      `/v1/campaigns/${ids.unexported}`,
      `/v1/campaigns/${ids.unexported}/recipients`,
      `/v1/campaigns/${ids.unexported}/recipients.csv?group=all`,
      `/v1/webhooks/${ids.webhook}/deliveries?limit=5`,
      `/reports/${ids.experiment}?token=forged`,
      `/v1/metrics/csat`,
      `/v1/metrics/no_such_metric`,
    );

    const before = await settledFingerprint();
    assert.ok(Object.keys(before).length >= 10, Object.keys(before).join(', '));
    const answered: string[] = [];
    for (const url of calls) {
      for (let round = 0; round < 2; round++) {
        const response = await client.get(url);
        assert.ok(response.status < 500, `${url}: ${response.status} ${response.text.slice(0, 300)}`);
        if (round === 0) answered.push(`${response.status} ${url}`);
      }
    }
    // The populated routes answered (not only their 404s).
    for (const route of routes) {
      const path = fill(route, true).split('?')[0];
      assert.ok(answered.some((line) => /^(200|302) /.test(line) && line.slice(4).split('?')[0] === path), `${route} answered ${answered.filter((line) => line.includes(path)).join('; ')}`);
    }
    const after = await settledFingerprint();
    const changed = Object.keys({ ...before, ...after }).filter((name) => before[name] !== after[name]);
    assert.deepEqual(changed, [], `GET requests changed ${changed.map((name) => `${name} (${before[name] ?? 'absent'} → ${after[name] ?? 'absent'})`).join(', ')}`);
  });
});
