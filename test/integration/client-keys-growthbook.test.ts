// The official GrowthBook SDK, fed GET /api/features/:clientKey over HTTP, assigns every customer exactly
// as POST /v1/assignments does: unequal weights, coverage below 1, a targeting condition whose attributes
// go both to the SDK and to the service, and a rolled-out experiment.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clearCache, GrowthBook } from '@growthbook/growthbook';
import { ADMIN_KEY, api, type Api } from '../helpers/app';
import { pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { registerStopper } from '../helpers/resources';

const CUSTOMERS = 4000;
const CONCURRENCY = 24;

/** Attributes of the i-th customer: every branch of the condition is met and missed (and some send none). */
function attributesOf(i: number): Record<string, unknown> | undefined {
  if (i % 13 === 0) return undefined;
  const attributes: Record<string, unknown> = {};
  const country = ['AE', 'SA', 'QA', 'US', undefined][i % 5];
  const plan = ['pro', 'team', 'free', undefined][Math.floor(i / 5) % 4];
  if (country !== undefined) attributes.country = country;
  if (plan !== undefined) attributes.plan = plan;
  if (i % 7 !== 0) attributes.age = 14 + ((i * 7) % 40);
  return attributes;
}

async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** What the SDK shows one customer for a feature: its variant key when in the experiment (or forced), else null. */
function sdkVariant(payload: Record<string, unknown>, feature: string, customerId: string, attributes: Record<string, unknown> | undefined) {
  const gb = new GrowthBook({ attributes: { ...attributes, id: customerId } });
  gb.initSync({ payload });
  const result = gb.evalFeature<string>(feature);
  gb.destroy();
  if (result.source === 'experiment') {
    assert.equal(result.value, result.experimentResult!.key, 'the value is the variant key');
    return { variant: result.experimentResult!.key, value: result.value };
  }
  if (result.source === 'force') return { variant: result.value, value: result.value };
  assert.equal(result.source, 'defaultValue', customerId);
  return { variant: null, value: result.value };
}

describe('GrowthBook SDK against the SDK payload', () => {
  let client: Api;
  let base: string;
  let clientKey: string;

  before(async () => {
    client = await api();
    const server = await new Promise<Server>((resolve) => {
      const s = client.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    registerStopper(() => new Promise<void>((resolve) => server.close(() => resolve())));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    clientKey = (await client.post('/v1/client-keys').send({ name: 'growthbook sdk' })).body.key;
  });

  /** The payload as the SDK itself fetches it (apiHost + clientKey), not from the SDK's cache of an earlier fetch. */
  async function fetchedPayload(): Promise<Record<string, unknown>> {
    await clearCache();
    const gb = new GrowthBook({ apiHost: base, clientKey });
    const init = await gb.init({ timeout: 10_000 });
    assert.equal(init.success, true, JSON.stringify(init));
    const payload = gb.getPayload() as Record<string, unknown>;
    gb.destroy();
    return payload;
  }

  async function serverAssign(experiment: string, customerId: string, attributes?: Record<string, unknown>): Promise<{ variant: string | null; reason: string }> {
    const res = await fetch(`${base}/v1/assignments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ experiment, customerId, ...(attributes ? { attributes } : {}) }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { variant: string | null; reason: string };
  }

  it(`when ${CUSTOMERS} customers meet unequal weights, coverage 0.8 and a targeting condition, then the SDK gives each the variant POST /v1/assignments gives (or none when the service gives none)`, async function () {
    this.timeout(300_000);
    const key = await runningExperiment(
      client,
      pageExperiment({
        key: uniqueKey('gb'),
        variants: [
          { key: 'control', weight: 0.2, content: { url: 'https://acme.example/help' } },
          { key: 'guided', weight: 0.5, content: { url: 'https://acme.example/help?layout=guided' } },
          { key: 'search', weight: 0.3, content: { url: 'https://acme.example/help?layout=search' } },
        ],
        coverage: 0.8,
        seed: 'gb-parity-seed',
        targeting: { country: { $in: ['AE', 'SA', 'QA'] }, plan: { $ne: 'free' }, age: { $gte: 18 } },
      }),
    );
    const payload = await fetchedPayload();
    const ids = Array.from({ length: CUSTOMERS }, (_, i) => i);
    const server = await pool(ids, CONCURRENCY, (i) => serverAssign(key, `${key}-c${i}`, attributesOf(i)));

    const reasons: Record<string, number> = {};
    const variants: Record<string, number> = {};
    const mismatches: string[] = [];
    for (const i of ids) {
      const customerId = `${key}-c${i}`;
      const sdk = sdkVariant(payload, key, customerId, attributesOf(i));
      const answer = server[i];
      reasons[answer.reason] = (reasons[answer.reason] ?? 0) + 1;
      variants[String(answer.variant)] = (variants[String(answer.variant)] ?? 0) + 1;
      if (sdk.variant !== answer.variant) mismatches.push(`${customerId} ${JSON.stringify(attributesOf(i))}: sdk ${sdk.variant}, service ${answer.variant} (${answer.reason})`);
      // Outside the experiment the page shows the control (the feature's default value).
      if (sdk.variant === null) assert.equal(sdk.value, 'control');
    }
    assert.deepEqual(mismatches, [], `${mismatches.length} customers differ:\n${mismatches.slice(0, 10).join('\n')}`);
    // Every path was taken, and the hash honours the weights among those in the experiment.
    assert.ok(reasons.hash > 400 && reasons.not_targeted > 400 && reasons.coverage > 50, JSON.stringify(reasons));
    const inExperiment = reasons.hash;
    for (const [variant, weight] of [['control', 0.2], ['guided', 0.5], ['search', 0.3]] as const) {
      assert.ok(Math.abs(variants[variant] / inExperiment - weight) < 0.06, `${variant}: ${variants[variant]} of ${inExperiment} (${JSON.stringify(variants)})`);
    }
  });

  it('when an experiment is rolled out, then the SDK forces the winner for everyone, as POST /v1/assignments answers (reason rollout)', async function () {
    this.timeout(120_000);
    const key = await runningExperiment(client, pageExperiment({ key: uniqueKey('gbroll'), coverage: 0.5, targeting: { plan: 'pro' } }));
    const rolled = await client.post(`/v1/experiments/${key}/rollout`).send({ variant: 'guided', force: true });
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    const payload = await fetchedPayload();
    const ids = Array.from({ length: 300 }, (_, i) => i);
    const server = await pool(ids, CONCURRENCY, (i) => serverAssign(key, `${key}-c${i}`, attributesOf(i)));
    for (const i of ids) {
      assert.deepEqual([server[i].variant, server[i].reason], ['guided', 'rollout']);
      assert.equal(sdkVariant(payload, key, `${key}-c${i}`, attributesOf(i)).variant, 'guided');
    }
  });

  it('when an experiment is paused, then its feature leaves the payload the SDK fetches (unknown feature: null)', async () => {
    const key = await runningExperiment(client, pageExperiment({ key: uniqueKey('gbpause') }));
    assert.ok(((await fetchedPayload()).features as Record<string, unknown>)[key]);
    await client.post(`/v1/experiments/${key}/pause`);
    const gb = new GrowthBook({ attributes: { id: 'someone' } });
    gb.initSync({ payload: await fetchedPayload() });
    assert.equal(gb.evalFeature(key).source, 'unknownFeature');
    gb.destroy();
  });
});
