import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getConfig } from '../../config';
import { recordLook } from '../../src/modules/results';
import { startWebhookWorker, verifyPayload, webhooksService, type WebhookWorker } from '../../src/modules/webhooks';
import { api, type Api } from '../helpers/app';
import { emailExperiment, eventId, experimentWithClearWinner, runningExperiment, uniqueKey } from '../helpers/factories';
import { registerStopper } from '../helpers/resources';

interface Received {
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
    worker = startWebhookWorker({ intervalMs: 50, retryBaseMs: 100, timeoutMs: 2000 });
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
      const hook = await createWebhook({ url: receiver.url, events: ['decision.changed'], secret: 'receiver-secret-0123456789' });
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
      assert.equal(delivery.attempts[0]!.error, 'HTTP 500');

      // The decision did not change again: the next scheduled look queues nothing new.
      await recordLook(key, 'scheduled', new Date(lookedAt.getTime() + getConfig().lookIntervalMs));
      await worker.tick();
      assert.equal((await deliveriesOf(hook.id)).filter((d) => d.payload.data.experiment === key).length, 1);
    });

    it('when the split of customers is far from the weights, then srm.detected is delivered once to the webhooks that asked for it', async () => {
      const receiver = await startReceiver();
      const hook = await createWebhook({ url: receiver.url, events: ['srm.detected'] });
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
      assert.equal(request!.event, 'srm.detected');
      assert.equal(request!.signatureValid, true);
      assert.deepEqual(request!.body.data.unitsByVariant, { control: 90, friendly: 30 });
      await worker.tick();
      assert.equal(receiver.about(key).length, 1, 'one event for one mismatch, and no decision.changed for this subscriber');
    });

    it('when an experiment is rolled out, then experiment.rolled_out is delivered with the variant and who did it', async () => {
      const receiver = await startReceiver();
      const hook = await createWebhook({ url: receiver.url, events: ['experiment.rolled_out'] });
      receiver.setSecret(hook.secret);
      const key = await experimentWithWinner(client);
      const rollout = await client.post(`/v1/experiments/${key}/rollout`).send({});
      assert.equal(rollout.status, 200, JSON.stringify(rollout.body));

      const [request] = await until('experiment.rolled_out', () => receiver.about(key).length > 0 && receiver.about(key));
      assert.equal(request!.event, 'experiment.rolled_out');
      assert.equal(request!.signatureValid, true);
      assert.equal(request!.body.data.variant, 'friendly');
      assert.equal(request!.body.data.by, 'admin');
      await worker.tick();
      assert.equal(receiver.about(key).length, 1);
    });

    it('when the worker stops after a failed attempt and another starts, then the pending delivery resumes and is delivered', async () => {
      let failing = true;
      const receiver = await startReceiver(() => (failing ? 503 : 200));
      const hook = await createWebhook({ url: receiver.url, events: ['srm.detected'] });
      receiver.setSecret(hook.secret);
      const experiment = uniqueKey('restart');
      const id = await emitFor(hook.id, experiment, `${experiment}:srm:1`);
      assert.deepEqual(await webhooksService.emit('srm.detected', { experiment }, { eventId: `${experiment}:srm:1` }), [], 'the same event is queued once');

      await until('the first attempt', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.attemptCount >= 1));
      await worker.stop();
      const pending = (await deliveriesOf(hook.id)).find((d) => d.id === id)!;
      assert.equal(pending.status, 'pending');
      failing = false;

      worker = startWebhookWorker({ intervalMs: 50, retryBaseMs: 100, timeoutMs: 2000 });
      const delivered = await until('delivery after the restart', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.status === 'delivered'));
      assert.deepEqual(delivered.attempts.map((a) => a.statusCode), [...delivered.attempts.slice(0, -1).map(() => 503), 200]);
      assert.ok(receiver.about(experiment).every((r) => r.delivery === id && r.signatureValid));
    });

    it('when the receiver keeps failing, then the delivery is given up after 8 attempts, each recorded', async function () {
      this.timeout(60_000);
      const receiver = await startReceiver(() => 500);
      const hook = await createWebhook({ url: receiver.url, events: ['srm.detected'] });
      receiver.setSecret(hook.secret);
      await worker.stop();
      worker = startWebhookWorker({ intervalMs: 50, retryBaseMs: 20, timeoutMs: 2000 });
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
      const hook = await createWebhook({ url, events: ['srm.detected'] });
      const experiment = uniqueKey('down');
      const id = await emitFor(hook.id, experiment);
      const delivery = await until('a failed attempt', async () => (await deliveriesOf(hook.id)).find((d) => d.id === id && d.attemptCount >= 1));
      assert.equal(delivery.attempts[0]!.ok, false);
      assert.equal(delivery.attempts[0]!.statusCode, null);
      assert.equal(delivery.attempts[0]!.error, 'ECONNREFUSED');
      assert.equal(delivery.status, 'pending');
      assert.ok(delivery.attemptCount < 8);
    });
  });
});
