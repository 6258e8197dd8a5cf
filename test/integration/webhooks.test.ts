import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { getConfig } from '../../config';
import { recordLook } from '../../src/modules/results';
import { verifyPayload, webhooksService } from '../../src/modules/webhooks';
import { startWebhookWorker, type WebhookWorker } from '../helpers/jobs';
import type { TargetLookup, TargetPolicy } from '../../src/modules/webhooks/webhook-target';
import { createWebhookBody } from '../../src/modules/webhooks/webhooks.schemas';
import { api, type Api } from '../helpers/app';
import { emailExperiment, experimentWithClearWinner, runningExperiment, uniqueKey } from '../helpers/factories';
import { registerStopper } from '../helpers/resources';

interface Received {
  host: string;
  event: string;
  delivery: string;
  signatureValid: boolean;
  body: { id: string; event: string; createdAt: string; data: Record<string, unknown> };
  answeredWith: number;
}

/**
 * A real HTTP receiver on loopback. It checks each request's signature with the webhook's secret and
 * answers with `statusFor(n)` for its n-th request (1-based), recording what it got.
 */
async function startReceiver(statusFor: (n: number) => number = () => 200) {
  const received: Received[] = [];
  let secret = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const status = statusFor(received.length + 1);
      received.push({
        host: String(req.headers.host),
        event: String(req.headers['x-verdict-event']),
        delivery: String(req.headers['x-verdict-delivery']),
        signatureValid: verifyPayload(secret, req.headers['x-verdict-timestamp'] as string, raw, req.headers['x-verdict-signature'] as string),
        body: JSON.parse(raw),
        answeredWith: status,
      });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  registerStopper(stop);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/verdict`,
    received,
    setSecret(value: string) {
      secret = value;
    },
    about: (experiment: string) => received.filter((r) => r.body.data.experiment === experiment),
    stop,
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The receivers here listen on loopback, which webhooks may not reach unless ALLOW_PRIVATE_WEBHOOKS is
 * set. The test environment leaves it unset (so the refusals below are what a default install does) and
 * the delivery tests pass the on-premise setting to the worker and to registration instead.
 */
const ON_PREMISE: Partial<TargetPolicy> = { allowPrivate: true };

/** A resolver that answers `hostname` with each of `answers` in turn (the last one from then on), counting its calls. */
function answering(hostname: string, answers: string[]) {
  const calls: string[] = [];
  const lookup: TargetLookup = async (name) => {
    calls.push(name);
    if (name !== hostname) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    const address = answers[Math.min(calls.filter((c) => c === hostname).length, answers.length) - 1];
    return [{ address, family: net.isIP(address) as 4 | 6 }];
  };
  return { lookup, calls: () => calls.filter((c) => c === hostname).length };
}

async function experimentWithWinner(client: Api): Promise<string> {
  return (await experimentWithClearWinner(client)).key;
}

describe('webhooks', () => {
  let client: Api;
  let worker: WebhookWorker;
  const created: string[] = [];

  const createWebhook = async (body: Record<string, unknown>) => {
    const response = await client.post('/v1/webhooks').send(body);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    created.push(response.body.id);
    return response.body as { id: string; secret: string; url: string; events: string[] };
  };
  /** Registers a webhook as an install with `targets` would (the API's own checks, without HTTP). */
  const createLocalWebhook = async (body: Record<string, unknown>, targets: Partial<TargetPolicy> = ON_PREMISE) => {
    const { webhook } = await webhooksService.create(createWebhookBody.parse(body), { id: 'admin', name: 'admin' }, undefined, targets);
    created.push(webhook.id);
    return webhook;
  };
  const deliveriesOf = async (id: string) => {
    const response = await client.get(`/v1/webhooks/${id}/deliveries`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.deliveries as { id: string; event: string; status: string; attemptCount: number; attempts: { attempt: number; ok: boolean; statusCode: number | null; error: string | null }[]; payload: { data: Record<string, unknown> } }[];
  };

  /** Emits srm.detected (every srm webhook gets it) and returns the delivery id for one webhook. */
  const emitFor = async (webhookId: string, experiment: string, eventId?: string) => {
    const queued = await webhooksService.emit('srm.detected', { experiment }, eventId ? { eventId } : {});
    const mine = queued.find((q) => q.webhookId === webhookId);
    assert.ok(mine, JSON.stringify(queued));
    return mine.deliveryId;
  };

  before(async () => {
    client = await api();
    worker = startWebhookWorker({ intervalMs: 50, retryBaseMs: 100, timeoutMs: 2000, targets: ON_PREMISE });
    registerStopper(() => worker.stop());
  });

  after(async () => {
    // Webhooks are global: remove this file's so later tests queue nothing for receivers that are gone.
    for (const id of created) await client.delete(`/v1/webhooks/${id}`);
    await worker.stop();
  });

  describe('subscriptions', () => {
    // These point nowhere: remove them before the delivery tests so nothing is queued for them.
    after(async () => {
      for (const id of created.splice(0)) await client.delete(`/v1/webhooks/${id}`);
    });

    it('when a webhook is created without a secret, then 201 returns a generated secret once and the list never shows it', async () => {
      const hook = await createWebhook({ url: 'https://hooks.example/verdict', events: ['decision.changed', 'decision.changed', 'srm.detected'] });
      assert.match(hook.id, /^wh_/);
      assert.match(hook.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(hook.events, ['decision.changed', 'srm.detected']);
      const list = await client.get('/v1/webhooks');
      assert.equal(list.status, 200);
      const listed = list.body.webhooks.find((w: { id: string }) => w.id === hook.id);
      assert.deepEqual(Object.keys(listed).sort(), ['createdAt', 'createdBy', 'events', 'id', 'url']);
      assert.ok(!JSON.stringify(list.body).includes(hook.secret));
    });

    it('when the url is not http(s), events are empty or unknown, or the secret is short, then 400 names the field and nothing is stored', async () => {
      const before = (await client.get('/v1/webhooks')).body.webhooks.length;
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ url: 'ftp://hooks.example/x', events: ['srm.detected'] }, /^url: /],
        [{ url: 'not a url', events: ['srm.detected'] }, /^url: /],
        [{ url: 'https://hooks.example/x', events: [] }, /^events: /],
        [{ url: 'https://hooks.example/x', events: ['experiment.deleted'] }, /^events\.0: /],
        [{ url: 'https://hooks.example/x', events: ['srm.detected'], secret: 'short' }, /^secret: /],
        [{ events: ['srm.detected'] }, /^url: /],
      ];
      for (const [body, message] of cases) {
        const response = await client.post('/v1/webhooks').send(body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.match(response.body.error.message, message);
      }
      assert.equal((await client.get('/v1/webhooks')).body.webhooks.length, before);
    });

    it('when the url is a loopback, private, link-local, unique-local, CGNAT, unspecified, multicast or broadcast address, in any spelling, then 400 names url and nothing is stored', async () => {
      const before = (await client.get('/v1/webhooks')).body.webhooks.length;
      const urls = [
        'http://127.0.0.1:8080/hooks',
        'http://127.1/hooks',
        'http://2130706433/hooks',
        'http://[::1]/hooks',
        'http://[::ffff:127.0.0.1]/hooks',
        'http://10.0.0.5/hooks',
        'http://172.16.3.4/hooks',
        'http://192.168.1.10/hooks',
        'http://[::ffff:192.168.1.10]/hooks',
        'http://169.254.169.254/latest/meta-data/',
        'http://[fe80::1]/hooks',
        'http://[fd12:3456:789a::1]/hooks',
        'http://100.64.0.1/hooks',
        'http://0.0.0.0/hooks',
        'http://[::]/hooks',
        'http://224.0.0.251/hooks',
        'http://[ff02::1]/hooks',
        'http://255.255.255.255/hooks',
      ];
      for (const url of urls) {
        const response = await client.post('/v1/webhooks').send({ url, events: ['srm.detected'] });
        assert.equal(response.status, 400, `${url}: ${JSON.stringify(response.body)}`);
        assert.match(response.body.error.message, /^url: .*public addresses/, url);
        assert.deepEqual(response.body.error.details.map((d: { path: string }) => d.path), ['url']);
      }
      assert.equal((await client.get('/v1/webhooks')).body.webhooks.length, before);
      // A public address is a target like any other.
      await createWebhook({ url: 'https://93.184.216.34/hooks', events: ['srm.detected'] });
    });

    it('when the host name resolves to a loopback address, then 400 names url', async () => {
      const response = await client.post('/v1/webhooks').send({ url: 'http://localhost:8080/hooks', events: ['srm.detected'] });
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.match(response.body.error.message, /^url: .*resolves to a non-public address/);
    });

    it('when the url carries a user name or password, then 400 names url and nothing is stored', async () => {
      const before = (await client.get('/v1/webhooks')).body.webhooks.length;
      for (const url of ['https://user:secret@hooks.example/x', 'https://user@hooks.example/x', 'https://:secret@hooks.example/x']) {
        const response = await client.post('/v1/webhooks').send({ url, events: ['srm.detected'] });
        assert.equal(response.status, 400, url);
        assert.match(response.body.error.message, /^url: .*user name or password/);
      }
      assert.equal((await client.get('/v1/webhooks')).body.webhooks.length, before);
    });

    it('when the same Idempotency-Key is sent twice, then one webhook exists; reused for another body, then 409', async () => {
      const key = uniqueKey('idem');
      const body = { url: 'https://hooks.example/idem', events: ['srm.detected'] };
      const first = await client.post('/v1/webhooks').set('Idempotency-Key', key).send(body);
      assert.equal(first.status, 201);
      created.push(first.body.id);
      const again = await client.post('/v1/webhooks').set('Idempotency-Key', key).send(body);
      assert.equal(again.status, 200);
      assert.equal(again.body.id, first.body.id);
      assert.equal(again.body.secret, first.body.secret);
      const other = await client.post('/v1/webhooks').set('Idempotency-Key', key).send({ ...body, url: 'https://hooks.example/other' });
      assert.equal(other.status, 409);
    });

    it('when a webhook is deleted, then 204, and it is gone: a second delete and its deliveries are 404', async () => {
      const hook = await createWebhook({ url: 'https://hooks.example/gone', events: ['srm.detected'] });
      assert.equal((await client.delete(`/v1/webhooks/${hook.id}`)).status, 204);
      assert.equal((await client.delete(`/v1/webhooks/${hook.id}`)).status, 404);
      assert.equal((await client.get(`/v1/webhooks/${hook.id}/deliveries`)).status, 404);
      assert.equal((await client.get('/v1/webhooks/nonsense/deliveries')).status, 400);
    });

    it('when a viewer or ingest key manages webhooks, then 403; an editor may', async () => {
      for (const role of ['viewer', 'ingest']) {
        const key = (await client.post('/v1/api-keys').send({ name: `webhook ${role}`, role })).body.key;
        const other = await api(key);
        assert.equal((await other.get('/v1/webhooks')).status, 403);
        assert.equal((await other.post('/v1/webhooks').send({ url: 'https://hooks.example/x', events: ['srm.detected'] })).status, 403);
      }
      const editor = await api((await client.post('/v1/api-keys').send({ name: 'webhook editor', role: 'editor' })).body.key);
      const response = await editor.post('/v1/webhooks').send({ url: 'https://hooks.example/editor', events: ['srm.detected'] });
      assert.equal(response.status, 201);
      created.push(response.body.id);
    });
  });

  describe('deliveries', () => {
    it('when a decision changes to ship, then a signed decision.changed is POSTed, retried after a 500, and both attempts are recorded', async () => {
      const receiver = await startReceiver((n) => (n === 1 ? 500 : 200));
      const hook = await createLocalWebhook({ url: receiver.url, events: ['decision.changed'], secret: 'receiver-secret-0123456789' });
      receiver.setSecret('receiver-secret-0123456789');
      const key = await experimentWithWinner(client);
      const results = await client.get(`/v1/experiments/${key}/results`);
      assert.equal(results.status, 200);
      assert.equal(results.body.decision.verdict, 'ship', JSON.stringify(results.body.decision));
      // Reading the results notifies nobody: decisions are noticed by looks.
      await worker.tick();
      assert.equal((await deliveriesOf(hook.id)).filter((d) => d.payload.data.experiment === key).length, 0, 'a GET queues nothing');
      // A look at this experiment (the schedule would look at every experiment of the run, and its
      // claims are tested in results-looks.test.ts).
      const lookedAt = new Date();
      await recordLook(key, 'scheduled', lookedAt);

      await until('two requests for the experiment', () => receiver.about(key).length >= 2 && receiver.about(key));
      const [first, second] = receiver.about(key) as [Received, Received];
      assert.equal(first.answeredWith, 500);
      assert.equal(second.answeredWith, 200);
      assert.equal(first.delivery, second.delivery, 'a retry keeps its delivery id');
      assert.deepEqual(first.body, second.body, 'a retry sends the same body');
      for (const request of [first, second]) {
        assert.equal(request.signatureValid, true);
        assert.equal(request.event, 'decision.changed');
      }
      assert.equal(first.body.data.experiment, key);
      assert.deepEqual(first.body.data.previous, { verdict: 'inconclusive', variant: null });
      assert.equal((first.body.data.decision as { verdict: string; variant: string }).verdict, 'ship');
      assert.equal((first.body.data.decision as { verdict: string; variant: string }).variant, 'friendly');

      const delivery = await until('the delivery to be marked delivered', async () => (await deliveriesOf(hook.id)).find((d) => d.id === first.delivery && d.status === 'delivered'));
      assert.equal(delivery.event, 'decision.changed');
      assert.deepEqual(delivery.attempts.map((a) => [a.attempt, a.ok, a.statusCode]), [[1, false, 500], [2, true, 200]]);
      assert.equal(delivery.attempts[0].error, 'HTTP 500');

      // The decision did not change again: the next scheduled look queues nothing new.
      await recordLook(key, 'scheduled', new Date(lookedAt.getTime() + getConfig().lookIntervalMs));
      await worker.tick();
      assert.equal((await deliveriesOf(hook.id)).filter((d) => d.payload.data.experiment === key).length, 1);
    });

    it('when the split of customers is far from the weights, then srm.detected is delivered once to the webhooks that asked for it', async () => {
      const receiver = await startReceiver();
      const hook = await createLocalWebhook({ url: receiver.url, events: ['srm.detected'] });
      receiver.setSecret(hook.secret);
      const key = await runningExperiment(client, emailExperiment({ analysis: { minSamplePerVariant: 10 } }));
      // 90 customers forced into control and 30 into friendly under 50/50 weights: chi-square 30, p < 0.001.
      for (let i = 0; i < 120; i++) {
        const response = await client.post('/v1/assignments').send({ experiment: key, customerId: `${key}-${i}`, forceVariant: i < 90 ? 'control' : 'friendly' });
        assert.equal(response.status, 200);
      }
      const results = await client.get(`/v1/experiments/${key}/results`);
      assert.equal(results.body.health.srm.mismatch, true, JSON.stringify(results.body.health));
      await worker.tick();
      assert.equal(receiver.about(key).length, 0, 'a GET queues nothing');
      // The scheduled look notices the mismatch; the rollout look (409: the verdict is invalid) sees it again.
      await recordLook(key, 'scheduled');
      assert.equal((await client.post(`/v1/experiments/${key}/rollout`).send({})).status, 409);

      const [request] = await until('srm.detected', () => receiver.about(key).length > 0 && receiver.about(key));
      assert.equal(request.event, 'srm.detected');
      assert.equal(request.signatureValid, true);
      assert.deepEqual(request.body.data.unitsByVariant, { control: 90, friendly: 30 });
      await worker.tick();
      assert.equal(receiver.about(key).length, 1, 'one event for one mismatch, and no decision.changed for this subscriber');
    });

    it('when an experiment is rolled out, then experiment.rolled_out is delivered with the variant and who did it', async () => {
      const receiver = await startReceiver();
      const hook = await createLocalWebhook({ url: receiver.url, events: ['experiment.rolled_out'] });
      receiver.setSecret(hook.secret);
      const key = await experimentWithWinner(client);
      const rollout = await client.post(`/v1/experiments/${key}/rollout`).send({});
      assert.equal(rollout.status, 200, JSON.stringify(rollout.body));

      const [request] = await until('experiment.rolled_out', () => receiver.about(key).length > 0 && receiver.about(key));
      assert.equal(request.event, 'experiment.rolled_out');
      assert.equal(request.signatureValid, true);
      assert.equal(request.body.data.variant, 'friendly');
      assert.equal(request.body.data.by, 'admin');
      await worker.tick();
      assert.equal(receiver.about(key).length, 1);
    });

    it('when the worker stops after a failed attempt and another starts, then the pending delivery resumes and is delivered', async () => {
      let failing = true;
      const receiver = await startReceiver(() => (failing ? 503 : 200));
      const hook = await createLocalWebhook({ url: receiver.url, events: ['srm.detected'] });
      receiver.setSecret(hook.secret);
      const experiment = uniqueKey('restart');
      const id = await emitFor(hook.id, experiment, `${experiment}:srm:1`);
      assert.deepEqual(await webhooksService.emit('srm.detected', { experiment }, { eventId: `${experiment}:srm:1` }), [], 'the same event is queued once');

      await until('the first attempt', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.attemptCount >= 1));
      await worker.stop();
      const pending = (await deliveriesOf(hook.id)).find((d) => d.id === id)!;
      assert.equal(pending.status, 'pending');
      failing = false;

      worker = startWebhookWorker({ intervalMs: 50, retryBaseMs: 100, timeoutMs: 2000, targets: ON_PREMISE });
      const delivered = await until('delivery after the restart', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.status === 'delivered'));
      assert.deepEqual(delivered.attempts.map((a) => a.statusCode), [...delivered.attempts.slice(0, -1).map(() => 503), 200]);
      assert.ok(receiver.about(experiment).every((r) => r.delivery === id && r.signatureValid));
    });

    it('when the receiver keeps failing, then the delivery is given up after 8 attempts, each recorded', async function () {
      this.timeout(60_000);
      const receiver = await startReceiver(() => 500);
      const hook = await createLocalWebhook({ url: receiver.url, events: ['srm.detected'] });
      receiver.setSecret(hook.secret);
      await worker.stop();
      worker = startWebhookWorker({ intervalMs: 50, retryBaseMs: 20, timeoutMs: 2000, targets: ON_PREMISE });
      const experiment = uniqueKey('failing');
      const id = await emitFor(hook.id, experiment);
      const failed = await until('the delivery to fail for good', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.status === 'failed'), 45_000);
      assert.equal(failed.attemptCount, 8);
      assert.deepEqual(failed.attempts.map((a) => a.attempt), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.ok(failed.attempts.every((a) => a.statusCode === 500 && !a.ok));
      assert.equal(receiver.about(experiment).length, 8);
    });

    it('when the receiver is unreachable, then the attempt records the connection error and stays pending', async () => {
      const receiver = await startReceiver();
      const url = receiver.url;
      await receiver.stop();
      const hook = await createLocalWebhook({ url, events: ['srm.detected'] });
      const experiment = uniqueKey('down');
      const id = await emitFor(hook.id, experiment);
      const delivery = await until('a failed attempt', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.attemptCount >= 1));
      assert.equal(delivery.attempts[0].ok, false);
      assert.equal(delivery.attempts[0].statusCode, null);
      assert.equal(delivery.attempts[0].error, 'ECONNREFUSED');
      assert.equal(delivery.status, 'pending');
      assert.ok(delivery.attemptCount < 8);
    });
  });

  describe('the target checked again at delivery', () => {
    // The shared worker allows loopback: here it is stopped, and each test runs its own worker with the
    // policy it is about (the file's later tests get the shared worker back).
    let own: WebhookWorker | undefined;
    const startOwn = (targets: Partial<TargetPolicy>) => {
      own = startWebhookWorker({ intervalMs: 50, retryBaseMs: 60_000, timeoutMs: 2000, targets });
    };
    before(async () => {
      await worker.stop();
    });
    afterEach(async () => {
      await own?.stop();
      own = undefined;
    });
    after(() => {
      worker = startWebhookWorker({ intervalMs: 50, retryBaseMs: 100, timeoutMs: 2000, targets: ON_PREMISE });
    });
    const firstAttempt = (hookId: string, id: string) => until('an attempt', async () => (await deliveriesOf(hookId)).find((d) => d.id === id && d.attemptCount >= 1));

    it('when a name that resolved to a public address at registration resolves to loopback at delivery (DNS rebinding), then nothing is sent and the attempt says only "target refused"', async () => {
      const receiver = await startReceiver();
      const url = `http://rebind.test:${new URL(receiver.url).port}/hooks/verdict`;
      const registration = answering('rebind.test', ['93.184.216.34']);
      const hook = await createLocalWebhook({ url, events: ['srm.detected'] }, { allowPrivate: false, lookup: registration.lookup });
      assert.equal(registration.calls(), 1, 'the name was resolved and checked at registration');
      const delivery = answering('rebind.test', ['127.0.0.1']);
      startOwn({ allowPrivate: false, lookup: delivery.lookup });
      const id = await emitFor(hook.id, uniqueKey('rebind'));
      const attempt = await firstAttempt(hook.id, id);
      assert.deepEqual(attempt.attempts.map((a) => [a.ok, a.statusCode, a.error]), [[false, null, 'target refused']]);
      assert.ok(delivery.calls() >= 1);
      assert.equal(receiver.received.length, 0, 'no request reached the loopback receiver');
    });

    it('when a webhook on a loopback address is delivered with private addresses refused, then no connection is made and the record does not tell how the address answered', async () => {
      // Nothing listens there: a connection would be refused (ECONNREFUSED, as the test above shows when allowed).
      const receiver = await startReceiver();
      await receiver.stop();
      const hook = await createLocalWebhook({ url: receiver.url, events: ['srm.detected'] });
      startOwn({ allowPrivate: false });
      const id = await emitFor(hook.id, uniqueKey('refused'));
      const attempt = await firstAttempt(hook.id, id);
      assert.equal(attempt.attempts[0].error, 'target refused');
      assert.equal(attempt.attempts[0].statusCode, null);
    });

    it('when the service runs in production, then an http webhook is not delivered', async () => {
      const receiver = await startReceiver();
      const hook = await createLocalWebhook({ url: receiver.url, events: ['srm.detected'] });
      startOwn({ httpsOnly: true, allowPrivate: true });
      const id = await emitFor(hook.id, uniqueKey('plain-http'));
      const attempt = await firstAttempt(hook.id, id);
      assert.equal(attempt.attempts[0].error, 'target refused');
      assert.equal(receiver.received.length, 0);
    });

    it('when the name would resolve elsewhere on a second lookup, then the delivery connects to the address it checked, with the name as Host', async () => {
      const receiver = await startReceiver();
      const port = new URL(receiver.url).port;
      const hook = await createLocalWebhook({ url: `http://pinned.test:${port}/hooks/verdict`, events: ['srm.detected'] });
      receiver.setSecret(hook.secret);
      // The first answer is the receiver; any later one an address where nothing answers (TEST-NET-1).
      const dns = answering('pinned.test', ['127.0.0.1', '192.0.2.1']);
      startOwn({ allowPrivate: true, lookup: dns.lookup });
      const experiment = uniqueKey('pinned');
      const id = await emitFor(hook.id, experiment);
      const delivered = await until('the delivery', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.attemptCount >= 1));
      assert.deepEqual(delivered.attempts.map((a) => [a.ok, a.statusCode]), [[true, 200]], JSON.stringify(delivered.attempts));
      assert.equal(dns.calls(), 1, 'one lookup: the checked answer is the one connected to');
      const [request] = receiver.about(experiment);
      assert.equal(request.host, `pinned.test:${port}`);
      assert.equal(request.signatureValid, true);
    });
  });
});
