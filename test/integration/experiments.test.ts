import assert from 'node:assert/strict';
import { api, type Api } from '../helpers/app';
import { emailExperiment, pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';

interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

function paths(body: ErrorBody): string[] {
  return (body.error.details ?? []).map((d) => d.path);
}

function variants(n: number, weight = 1 / n) {
  return Array.from({ length: n }, (_, i) => ({ key: `v${i}`, weight, content: { subject: `Subject ${i}`, html: `<p>${i}</p>` } }));
}

describe('experiments', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  describe('POST /v1/experiments', () => {
    it('when a valid experiment is created, then 201 returns the stored shape with its defaults', async () => {
      const body = emailExperiment();
      const res = await client.post('/v1/experiments').send(body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const e = res.body;
      assert.equal(e.key, body.key);
      assert.equal(e.name, body.name);
      assert.equal(e.hypothesis, body.hypothesis);
      assert.equal(e.assetType, 'email');
      assert.equal(e.status, 'draft');
      assert.equal(e.controlVariant, 'control', 'the control defaults to the first variant');
      assert.equal(e.coverage, 1);
      assert.equal(e.seed, body.key, 'the seed defaults to the key');
      assert.deepEqual(e.analysis, { alpha: 0.05, power: 0.8, minimumDetectableEffect: 0.05, method: 'frequentist', correction: 'holm', minSamplePerVariant: 100 });
      assert.deepEqual(e.metrics, { primary: 'email_open', secondary: ['email_click'], guardrails: ['unsubscribe'], custom: [] });
      assert.deepEqual(
        e.variants.map((v: { key: string; weight: number; content: { subject: string } }) => [v.key, v.weight, v.content.subject]),
        [
          ['control', 0.5, 'Welcome to Acme'],
          ['friendly', 0.5, 'Hi {{name}}, glad you are here'],
        ],
      );
      assert.ok(e.createdAt && e.updatedAt);
      assert.equal(e._id, undefined, 'the internal _id is not exposed');

      const read = await client.get(`/v1/experiments/${body.key}`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, e, 'what GET returns is what was stored');
    });

    it('when optional fields are given, then they are stored as given', async () => {
      const body = pageExperiment({
        controlVariant: 'guided',
        coverage: 0.3,
        seed: 'my-seed',
        targeting: { country: { $in: ['IR', 'AE'] }, plan: 'pro' },
        analysis: { alpha: 0.1, method: 'bayesian' },
        metrics: { primary: 'spend', custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }] },
      });
      const res = await client.post('/v1/experiments').send(body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.controlVariant, 'guided');
      assert.equal(res.body.coverage, 0.3);
      assert.equal(res.body.seed, 'my-seed');
      assert.deepEqual(res.body.targeting, { country: { $in: ['IR', 'AE'] }, plan: 'pro' });
      assert.equal(res.body.analysis.alpha, 0.1);
      assert.equal(res.body.analysis.method, 'bayesian');
      assert.equal(res.body.analysis.power, 0.8, 'unspecified analysis fields keep their defaults');
      assert.deepEqual(res.body.metrics.custom, [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }]);
    });

    // Each case: a body change, and the field path the 400 must name.
    const invalid: { when: string; body: (key: string) => Record<string, unknown>; path: RegExp }[] = [
      { when: 'the key is not a slug', body: () => emailExperiment({ key: 'Bad Key!' }), path: /^key$/ },
      { when: 'the key is one character', body: () => emailExperiment({ key: 'a' }), path: /^key$/ },
      { when: 'there is 1 variant', body: (key) => emailExperiment({ key, variants: variants(1, 1) }), path: /^variants$/ },
      { when: 'there are 9 variants', body: (key) => emailExperiment({ key, variants: variants(9) }), path: /^variants$/ },
      { when: 'weights do not sum to 1', body: (key) => emailExperiment({ key, variants: variants(2, 0.4) }), path: /^variants$/ },
      {
        when: 'a page experiment has email content',
        body: (key) => pageExperiment({ key, variants: variants(2) }),
        path: /^variants\.0\.content/,
      },
      {
        when: 'an email experiment has page content',
        body: (key) => emailExperiment({ key, variants: [{ key: 'a', weight: 0.5, content: { url: 'https://a.example' } }, { key: 'b', weight: 0.5, content: { url: 'https://b.example' } }] }),
        path: /^variants\.0\.content/,
      },
      { when: 'the primary metric is unknown', body: (key) => emailExperiment({ key, metrics: { primary: 'happiness' } }), path: /^metrics\.primary$/ },
      { when: 'a secondary metric is unknown', body: (key) => emailExperiment({ key, metrics: { primary: 'email_open', secondary: ['nope'] } }), path: /^metrics\.secondary\.0$/ },
      { when: 'the controlVariant is not a variant', body: (key) => emailExperiment({ key, controlVariant: 'ghost' }), path: /^controlVariant$/ },
      { when: 'a targeting operator is unknown', body: (key) => emailExperiment({ key, targeting: { country: { $regex: '^I' } } }), path: /^targeting\.country/ },
      {
        when: 'two variants share a key',
        body: (key) => emailExperiment({ key, variants: [variants(2)[0], variants(2)[0]] }),
        path: /^variants\.1\.key$/,
      },
      { when: 'coverage is above 1', body: (key) => emailExperiment({ key, coverage: 1.5 }), path: /^coverage$/ },
      { when: 'assetType is unknown', body: (key) => emailExperiment({ key, assetType: 'push' }), path: /^assetType$/ },
      { when: 'the name is missing', body: (key) => ({ ...emailExperiment({ key }), name: undefined }), path: /^name$/ },
      { when: 'an unknown field is sent', body: (key) => emailExperiment({ key, colour: 'blue' }), path: /.*/ },
      { when: 'the analysis method is unknown', body: (key) => emailExperiment({ key, analysis: { method: 'vibes' } }), path: /^analysis\.method$/ },
      { when: 'a page URL is not http(s)', body: (key) => pageExperiment({ key, variants: [{ key: 'a', weight: 0.5, content: { url: 'javascript:alert(1)' } }, { key: 'b', weight: 0.5, content: { url: 'https://b.example' } }] }), path: /^variants\.0\.content\.url$/ },
    ];

    for (const c of invalid) {
      it(`when ${c.when}, then 400 names the field and nothing is stored`, async () => {
        const key = uniqueKey('bad');
        const body = c.body(key);
        const res = await client.post('/v1/experiments').send(body);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'validation_failed');
        assert.ok(paths(res.body).some((p) => c.path.test(p)), `expected a detail matching ${c.path}, got ${JSON.stringify(paths(res.body))}`);
        assert.equal(typeof res.body.error.message, 'string');
        const stored = await client.get(`/v1/experiments/${key}`);
        assert.equal(stored.status, 404, 'nothing is stored after a 400');
      });
    }

    it('when a templated field of a variant does not compile, then 400 names the variant, the field and the line, and nothing is stored', async () => {
      for (const field of ['subject', 'html', 'text', 'preheader']) {
        const key = uniqueKey('template');
        const [control, friendly] = emailExperiment().variants;
        const body = emailExperiment({ key, variants: [control, { ...friendly, content: { ...friendly.content, [field]: 'Hello {{name}}\nYou scored {{7*7}}' } }] });
        const res = await client.post('/v1/experiments').send(body);
        assert.equal(res.status, 400, `${field}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'validation_failed');
        const detail = (res.body as ErrorBody).error.details?.find((d) => d.path === `variants.1.content.${field}`);
        assert.ok(detail, `${field}: ${JSON.stringify(res.body.error.details)}`);
        assert.match(detail.message, /does not compile \(line 2\)/);
        assert.match(res.body.error.message, new RegExp(`^variants\\.1\\.content\\.${field}: .*line 2`));
        assert.equal((await client.get(`/v1/experiments/${key}`)).status, 404, 'nothing is stored after a 400');
      }
    });

    it('when the key exists already, then 409 and the first experiment is unchanged', async () => {
      const body = emailExperiment();
      assert.equal((await client.post('/v1/experiments').send(body)).status, 201);
      const again = await client.post('/v1/experiments').send({ ...body, name: 'Another name' });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conflict');
      assert.match(again.body.error.message, new RegExp(body.key));
      assert.equal((await client.get(`/v1/experiments/${body.key}`)).body.name, body.name);
    });

    it('when the body is not an object, then 400', async () => {
      const res = await client.post('/v1/experiments').send([1, 2]);
      assert.equal(res.status, 400);
    });
  });

  describe('GET /v1/experiments', () => {
    it('when filtered by status and assetType, then only matching experiments are listed', async () => {
      const page = pageExperiment();
      const email = emailExperiment();
      await client.post('/v1/experiments').send(page);
      await runningExperiment(client, email);

      const pages = await client.get('/v1/experiments?assetType=page&limit=200');
      assert.equal(pages.status, 200);
      assert.ok(pages.body.experiments.length > 0);
      assert.ok(pages.body.experiments.every((e: { assetType: string }) => e.assetType === 'page'));
      assert.ok(pages.body.experiments.some((e: { key: string }) => e.key === page.key));
      assert.ok(!pages.body.experiments.some((e: { key: string }) => e.key === email.key));

      const running = await client.get('/v1/experiments?status=running&assetType=email&limit=200');
      assert.ok(running.body.experiments.every((e: { status: string; assetType: string }) => e.status === 'running' && e.assetType === 'email'));
      assert.ok(running.body.experiments.some((e: { key: string }) => e.key === email.key));
      assert.ok(!running.body.experiments.some((e: { key: string }) => e.key === page.key));

      const drafts = await client.get('/v1/experiments?status=draft&limit=200');
      assert.ok(drafts.body.experiments.every((e: { status: string }) => e.status === 'draft'));
      assert.ok(!drafts.body.experiments.some((e: { key: string }) => e.key === email.key));
    });

    it('when paginated, then pages are consecutive slices with a total, newest first', async () => {
      for (let i = 0; i < 4; i++) await client.post('/v1/experiments').send(emailExperiment());
      const whole = await client.get('/v1/experiments?limit=6&offset=0');
      const first = await client.get('/v1/experiments?limit=3&offset=0');
      const second = await client.get('/v1/experiments?limit=3&offset=3');
      assert.equal(whole.body.experiments.length, 6);
      assert.equal(first.body.limit, 3);
      assert.equal(second.body.offset, 3);
      assert.deepEqual(
        [...first.body.experiments, ...second.body.experiments].map((e: { key: string }) => e.key),
        whole.body.experiments.map((e: { key: string }) => e.key),
      );
      assert.ok(whole.body.total >= 6);
      const times = whole.body.experiments.map((e: { createdAt: string }) => Date.parse(e.createdAt));
      assert.deepEqual(times, [...times].sort((a, b) => b - a));
      const beyond = await client.get(`/v1/experiments?offset=${whole.body.total}`);
      assert.deepEqual(beyond.body.experiments, []);
    });

    it('when the query is invalid, then 400 names the parameter', async () => {
      const status = await client.get('/v1/experiments?status=finished');
      assert.equal(status.status, 400);
      assert.ok(paths(status.body).includes('status'));
      const limit = await client.get('/v1/experiments?limit=0');
      assert.equal(limit.status, 400);
      assert.ok(paths(limit.body).includes('limit'));
      const asset = await client.get('/v1/experiments?assetType=push');
      assert.ok(paths(asset.body).includes('assetType'));
    });
  });

  describe('GET /v1/experiments/:key', () => {
    it('when the experiment is unknown, then 404', async () => {
      const res = await client.get(`/v1/experiments/${uniqueKey('missing')}`);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    });

    it('when the key is malformed, then 400 naming key', async () => {
      const res = await client.get('/v1/experiments/NOT_A_KEY');
      assert.equal(res.status, 400);
      assert.ok(paths(res.body).includes('key'));
    });
  });

  describe('PATCH /v1/experiments/:key', () => {
    it('when a draft changes variants, weights, coverage and seed, then they are stored', async () => {
      const body = emailExperiment();
      await client.post('/v1/experiments').send(body);
      const res = await client.patch(`/v1/experiments/${body.key}`).send({ variants: variants(3, 1 / 3), coverage: 0.4, seed: 'new-seed', name: 'Renamed' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.variants.map((v: { key: string }) => v.key), ['v0', 'v1', 'v2']);
      assert.equal(res.body.controlVariant, 'v0', 'the control follows the new first variant when the old one is gone');
      assert.equal(res.body.coverage, 0.4);
      assert.equal(res.body.seed, 'new-seed');
      assert.equal(res.body.name, 'Renamed');
      assert.equal((await client.get(`/v1/experiments/${body.key}`)).body.coverage, 0.4);
    });

    it('when a draft patch breaks a cross-field rule, then 400 and nothing changes', async () => {
      const body = emailExperiment();
      await client.post('/v1/experiments').send(body);
      const badWeights = await client.patch(`/v1/experiments/${body.key}`).send({ variants: variants(2, 0.3) });
      assert.equal(badWeights.status, 400);
      assert.ok(paths(badWeights.body).includes('variants'));
      const badAsset = await client.patch(`/v1/experiments/${body.key}`).send({ assetType: 'page' });
      assert.equal(badAsset.status, 400);
      assert.ok(paths(badAsset.body).some((p) => p.startsWith('variants.0.content')));
      const badControl = await client.patch(`/v1/experiments/${body.key}`).send({ controlVariant: 'nobody' });
      assert.equal(badControl.status, 400);
      const empty = await client.patch(`/v1/experiments/${body.key}`).send({});
      assert.equal(empty.status, 400);
      const stored = (await client.get(`/v1/experiments/${body.key}`)).body;
      assert.equal(stored.assetType, 'email');
      assert.deepEqual(stored.variants.map((v: { weight: number }) => v.weight), [0.5, 0.5]);
      assert.equal(stored.controlVariant, 'control');
    });

    it('when a draft patch brings a variant template that does not compile, then 400 names it and the stored variants are unchanged', async () => {
      const body = emailExperiment();
      assert.equal((await client.post('/v1/experiments').send(body)).status, 201);
      const broken = variants(2);
      broken[0].content.html = '<p>{{#if name}}Hi{{/if}}</p>\n<p>{{7*7}}</p>';
      const res = await client.patch(`/v1/experiments/${body.key}`).send({ variants: broken });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      const detail = (res.body as ErrorBody).error.details?.find((d) => d.path === 'variants.0.content.html');
      assert.ok(detail, JSON.stringify(res.body.error.details));
      assert.match(detail.message, /line 2/);
      const stored = (await client.get(`/v1/experiments/${body.key}`)).body;
      assert.deepEqual(stored.variants.map((v: { key: string }) => v.key), ['control', 'friendly']);
    });

    it('when a running experiment changes name, hypothesis, metrics and analysis, then 200', async () => {
      const key = await runningExperiment(client, emailExperiment());
      const res = await client.patch(`/v1/experiments/${key}`).send({
        name: 'New name',
        hypothesis: 'Sharper',
        metrics: { primary: 'email_click', secondary: ['csat'] },
        analysis: { alpha: 0.01 },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.name, 'New name');
      assert.equal(res.body.metrics.primary, 'email_click');
      assert.equal(res.body.analysis.alpha, 0.01);
      assert.equal(res.body.analysis.power, 0.8, 'a partial analysis patch keeps the other fields');
      assert.equal(res.body.status, 'running');
    });

    it('when a running experiment changes variants or weights, then 409 says why and nothing changes', async () => {
      const body = emailExperiment();
      const key = await runningExperiment(client, body);
      const weights = await client.patch(`/v1/experiments/${key}`).send({
        name: 'Sneaky rename',
        variants: body.variants.map((v, i) => ({ ...v, weight: i === 0 ? 0.9 : 0.1 })),
      });
      assert.equal(weights.status, 409);
      assert.equal(weights.body.error.code, 'conflict');
      assert.match(weights.body.error.message, /variants/);
      assert.match(weights.body.error.message, /running/);
      assert.match(weights.body.error.message, /move customers between variants/);
      for (const field of [{ seed: 'other' }, { controlVariant: 'friendly' }, { assetType: 'page' }, { targeting: { plan: 'pro' } }]) {
        const res = await client.patch(`/v1/experiments/${key}`).send(field);
        assert.equal(res.status, 409, `${Object.keys(field)[0]} must be refused while running`);
      }
      const stored = (await client.get(`/v1/experiments/${key}`)).body;
      assert.equal(stored.name, body.name, 'a refused patch changes nothing, not even the allowed fields');
      assert.deepEqual(stored.variants.map((v: { weight: number }) => v.weight), [0.5, 0.5]);
      assert.equal(stored.seed, key);
    });

    it('when a running experiment grows its coverage, then 200; when it shrinks it, then 409', async () => {
      const key = await runningExperiment(client, emailExperiment({ coverage: 0.5 }));
      const grow = await client.patch(`/v1/experiments/${key}`).send({ coverage: 0.8 });
      assert.equal(grow.status, 200, JSON.stringify(grow.body));
      assert.equal(grow.body.coverage, 0.8);
      const shrink = await client.patch(`/v1/experiments/${key}`).send({ coverage: 0.2 });
      assert.equal(shrink.status, 409);
      assert.match(shrink.body.error.message, /coverage/);
      assert.equal((await client.get(`/v1/experiments/${key}`)).body.coverage, 0.8);
    });

    it('when the experiment is unknown, then 404', async () => {
      const res = await client.patch(`/v1/experiments/${uniqueKey('missing')}`).send({ name: 'x' });
      assert.equal(res.status, 404);
    });
  });

  describe('DELETE /v1/experiments/:key', () => {
    it('when a draft is deleted, then 204 and it is gone', async () => {
      const body = emailExperiment();
      await client.post('/v1/experiments').send(body);
      const res = await client.delete(`/v1/experiments/${body.key}`);
      assert.equal(res.status, 204);
      assert.equal((await client.get(`/v1/experiments/${body.key}`)).status, 404);
      // The key is free again.
      assert.equal((await client.post('/v1/experiments').send(body)).status, 201);
    });

    it('when a running experiment is deleted, then it is archived, kept, and its assignments answer not_running', async () => {
      const key = await runningExperiment(client, emailExperiment());
      await client.post('/v1/assignments').send({ experiment: key, customerId: 'archived-1' });
      const res = await client.delete(`/v1/experiments/${key}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'archived');
      const stored = await client.get(`/v1/experiments/${key}`);
      assert.equal(stored.status, 200);
      assert.equal(stored.body.status, 'archived');
      const again = await client.delete(`/v1/experiments/${key}`);
      assert.equal(again.status, 200, 'archiving twice is harmless');
      const start = await client.post(`/v1/experiments/${key}/start`);
      assert.equal(start.status, 409);
      const history = await client.get(`/v1/experiments/${key}/history`);
      assert.deepEqual(history.body.history.map((h: { action: string }) => h.action), ['created', 'start', 'archived']);
    });

    it('when the experiment is unknown, then 404', async () => {
      assert.equal((await client.delete(`/v1/experiments/${uniqueKey('missing')}`)).status, 404);
    });
  });

  describe('lifecycle', () => {
    it('when an experiment goes draft → running → paused → running → stopped, then each step is stored with its times', async () => {
      const body = emailExperiment();
      await client.post('/v1/experiments').send(body);
      const key = body.key;
      const start = await client.post(`/v1/experiments/${key}/start`);
      assert.equal(start.status, 200);
      assert.equal(start.body.status, 'running');
      assert.ok(start.body.startedAt);
      assert.equal((await client.post(`/v1/experiments/${key}/pause`)).body.status, 'paused');
      assert.equal((await client.post(`/v1/experiments/${key}/resume`)).body.status, 'running');
      const stop = await client.post(`/v1/experiments/${key}/stop`);
      assert.equal(stop.body.status, 'stopped');
      assert.ok(stop.body.stoppedAt);
      assert.equal((await client.get(`/v1/experiments/${key}`)).body.status, 'stopped');
    });

    it('when a paused experiment is stopped, then it is stopped', async () => {
      const key = await runningExperiment(client, emailExperiment());
      await client.post(`/v1/experiments/${key}/pause`);
      const res = await client.post(`/v1/experiments/${key}/stop`);
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'stopped');
    });

    const illegal: { from: string; setup: string[]; action: string }[] = [
      { from: 'draft', setup: [], action: 'pause' },
      { from: 'draft', setup: [], action: 'resume' },
      { from: 'draft', setup: [], action: 'stop' },
      { from: 'running', setup: ['start'], action: 'start' },
      { from: 'running', setup: ['start'], action: 'resume' },
      { from: 'paused', setup: ['start', 'pause'], action: 'pause' },
      { from: 'paused', setup: ['start', 'pause'], action: 'start' },
      { from: 'stopped', setup: ['start', 'stop'], action: 'start' },
      { from: 'stopped', setup: ['start', 'stop'], action: 'resume' },
      { from: 'stopped', setup: ['start', 'stop'], action: 'pause' },
      { from: 'stopped', setup: ['start', 'stop'], action: 'stop' },
    ];
    for (const c of illegal) {
      it(`when a ${c.from} experiment is asked to ${c.action}, then 409 and it stays ${c.from}`, async () => {
        const body = emailExperiment();
        await client.post('/v1/experiments').send(body);
        for (const step of c.setup) assert.equal((await client.post(`/v1/experiments/${body.key}/${step}`)).status, 200);
        const res = await client.post(`/v1/experiments/${body.key}/${c.action}`);
        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, 'conflict');
        assert.match(res.body.error.message, new RegExp(`it is ${c.from}`));
        assert.equal((await client.get(`/v1/experiments/${body.key}`)).body.status, c.from);
      });
    }

    it('when an unknown experiment is started, then 404; an unknown action is 404', async () => {
      assert.equal((await client.post(`/v1/experiments/${uniqueKey('missing')}/start`)).status, 404);
      const body = emailExperiment();
      await client.post('/v1/experiments').send(body);
      assert.equal((await client.post(`/v1/experiments/${body.key}/explode`)).status, 404);
    });
  });
});
