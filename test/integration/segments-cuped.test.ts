// Segments and CUPED over HTTP: an imported experiment with three variants, two dimensions and a
// pre-period for every customer. Every figure is compared with an independent computation from the same
// raw data, written here from the definitions in docs/metrics.md (CUPED: Deng et al. 2013).
import assert from 'node:assert/strict';
import studentT = require('@stdlib/stats-base-dists-t');
import { api, type Api } from '../helpers/app';
import { emailExperiment, pageExperiment, uniqueKey } from '../helpers/factories';
import { parkMiller as random } from '../helpers/random';
import { countingRepository } from '../../src/modules/counting';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const LOOKBACK = 14 * DAY;


interface Customer {
  customerId: string;
  variant: string;
  assignedAt: number;
  plan?: string;
  country: string;
}

interface RawEvent {
  customerId: string;
  name: string;
  at: number;
  value?: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sampleVariance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};

/** Welch's t-test from raw values: the two-sided p-value. */
function welchP(control: number[], treatment: number[]): number {
  const vc = sampleVariance(control) / control.length;
  const vt = sampleVariance(treatment) / treatment.length;
  const t = (mean(treatment) - mean(control)) / Math.sqrt(vc + vt);
  const df = (vc + vt) ** 2 / (vc ** 2 / (control.length - 1) + vt ** 2 / (treatment.length - 1));
  return 2 * (1 - studentT.cdf(Math.abs(t), df));
}

interface MetricOut {
  metric: string;
  test: string;
  cuped?: { theta: number; varianceReduction: number; lookback: string };
  variants: { variant: string; value: number | null; adjustedValue?: number | null; analysedUnits?: number }[];
  comparisons: { variant: string; absoluteLift: number | null; pValue: number | null; adjustedPValue: number | null; unadjusted?: { absoluteLift: number | null; pValue: number | null } }[];
}

describe('segments and CUPED over HTTP (an imported experiment with a pre-period)', () => {
  let client: Api;
  const now = Date.now();
  const startedAt = now - 30 * DAY;
  const key = uniqueKey('cuped');
  const prefix = key.replace(/-/g, '_');
  const revenue = `${prefix}_rev`;
  const active = `${prefix}_active`;
  const customers: Customer[] = [];
  const events: RawEvent[] = [];
  const variants = ['control', 'a', 'b'];
  let results: { metrics: MetricOut[] };

  const inVariant = (list: Customer[], variant: string) => list.filter((c) => c.variant === variant);
  const eventsOf = (c: Customer, name: string) => events.filter((e) => e.customerId === c.customerId && e.name === name);
  const post = (c: Customer, name: string) => eventsOf(c, name).filter((e) => e.at >= c.assignedAt);
  const pre = (c: Customer, name: string) => eventsOf(c, name).filter((e) => e.at < c.assignedAt && e.at >= c.assignedAt - LOOKBACK);
  const y = { [revenue]: (c: Customer) => post(c, 'purchase').reduce((s, e) => s + e.value!, 0), [active]: (c: Customer) => (post(c, 'login').length > 0 ? 1 : 0) };
  const x = { [revenue]: (c: Customer) => pre(c, 'purchase').reduce((s, e) => s + e.value!, 0), [active]: (c: Customer) => (pre(c, 'login').length > 0 ? 1 : 0) };

  /** The CUPED computation from the definition: θ pooled over every customer, Y − θ(X − X̄) per customer. */
  function cuped(list: Customer[], metric: string) {
    const xs = list.map(x[metric]);
    const ys = list.map(y[metric]);
    const mx = mean(xs);
    const my = mean(ys);
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < list.length; i++) {
      sxy += (xs[i] - mx) * (ys[i] - my);
      sxx += (xs[i] - mx) ** 2;
    }
    const theta = sxy / sxx;
    const adjusted = new Map(list.map((c, i) => [c.customerId, ys[i] - theta * (xs[i] - mx)]));
    return { theta, adjusted };
  }

  const metricOf = (out: { metrics: MetricOut[] }, name: string) => out.metrics.find((m) => m.metric === name)!;

  before(async function () {
    this.timeout(240_000);
    client = await api();
    for (const definition of [
      { key: revenue, name: 'Revenue per customer', kind: 'mean', direction: 'increase', event: 'purchase', value: 'value' },
      { key: active, name: 'Active (any login)', kind: 'proportion', direction: 'increase', event: 'login' },
    ]) {
      const created = await client.post('/v1/metrics').send(definition);
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    const body = emailExperiment({
      key,
      variants: variants.map((v) => ({ key: v, weight: 1 / 3, content: { subject: v, html: `<p>${v}</p>` } })),
      metrics: { primary: revenue, secondary: [active], guardrails: [] },
      analysis: { cuped: { lookback: 'P14D' } },
      dimensions: ['plan', 'country'],
    });
    const created = await client.post('/v1/experiments').send(body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await client.post(`/v1/experiments/${key}/start`).send({ startedAt: new Date(startedAt).toISOString() })).status, 200);

    const rand = random(20261202);
    const plans = ['free', 'pro', 'enterprise'];
    for (let i = 0; i < 600; i++) {
      const assignedAt = startedAt + Math.floor(rand() * 20 * DAY);
      customers.push({ customerId: `${key}-c${i}`, variant: variants[i % 3], assignedAt, ...(i % 7 === 0 ? {} : { plan: plans[Math.floor(rand() * 3)] }), country: `C${i % 25}` });
    }
    for (const c of customers) {
      // A customer's habit shows before and after the assignment: the covariate predicts the outcome.
      const habit = rand() * 3;
      const lift = c.variant === 'b' ? 1.4 : c.variant === 'a' ? 1.1 : 1;
      const prePurchases = Math.floor(habit * 1.5 + rand());
      for (let k = 0; k < prePurchases; k++) events.push({ customerId: c.customerId, name: 'purchase', at: c.assignedAt - HOUR - Math.floor(rand() * (LOOKBACK - 2 * HOUR)), value: Math.round(10 + 20 * habit + rand() * 20) });
      // Older than the lookback: not part of the covariate.
      if (rand() < 0.5) events.push({ customerId: c.customerId, name: 'purchase', at: c.assignedAt - LOOKBACK - DAY, value: 500 });
      if (rand() < habit / 3) events.push({ customerId: c.customerId, name: 'login', at: c.assignedAt - Math.floor(rand() * LOOKBACK * 0.9) - HOUR });
      const postPurchases = Math.floor(habit * 1.5 * lift + rand());
      for (let k = 0; k < postPurchases; k++) events.push({ customerId: c.customerId, name: 'purchase', at: c.assignedAt + HOUR + Math.floor(rand() * 5 * DAY), value: Math.round(10 + 20 * habit + rand() * 20) });
      if (rand() < (habit / 3) * lift * 0.8) events.push({ customerId: c.customerId, name: 'login', at: c.assignedAt + HOUR + Math.floor(rand() * 5 * DAY) });
    }
    const send = async (list: RawEvent[], tag: string) => {
      for (let i = 0; i < list.length; i += 1000) {
        const batch = list.slice(i, i + 1000).map((e, j) => ({ eventId: `${key}-${tag}${i + j}`, customerId: e.customerId, name: e.name, timestamp: new Date(e.at).toISOString(), ...(e.value !== undefined ? { value: e.value } : {}) }));
        const sent = await client.post('/v1/events').send({ events: batch });
        assert.equal(sent.status, 202, JSON.stringify(sent.body));
      }
    };
    const row = (c: Customer) => ({ customerId: c.customerId, variant: c.variant, assignedAt: new Date(c.assignedAt).toISOString(), attributes: { ...(c.plan ? { plan: c.plan } : {}), country: c.country } });
    // Half the customers' pre-period events arrive before their assignment is imported (kept as pending
    // pre-period events), the other half's after it (added to covariates counted already).
    const byId = new Map(customers.map((c) => [c.customerId, c]));
    const early = (e: RawEvent) => Number(e.customerId.slice(e.customerId.lastIndexOf('c') + 1)) < 300 && e.at < byId.get(e.customerId)!.assignedAt;
    await send(events.filter(early), 'e');
    // Counted before the assignments arrive.
    assert.equal((await client.get(`/v1/experiments/${key}/summary`)).status, 200);
    for (let i = 0; i < customers.length; i += 200) {
      const imported = await client.post(`/v1/experiments/${key}/assignments/import`).send({ assignments: customers.slice(i, i + 200).map(row) });
      assert.equal(imported.status, 200, JSON.stringify(imported.body));
    }
    await send(events.filter((e) => !early(e)), 'l');
    // A read waits at most 5 s for the counting; on a slow machine it can answer with part of it counted
    // and say so (complete: false). The rebuild the start of a CUPED experiment asks for is not part of
    // that wait (a full CI run once read before it had run). The comparisons need everything counted.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const rebuild = await countingRepository.readRebuild(key);
      const response = await client.get(`/v1/experiments/${key}/results`);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      results = response.body;
      if (response.body.complete === true && rebuild?.status !== 'pending') break;
      assert.ok(Date.now() < deadline, `still pending after 120 s: ${JSON.stringify({ pending: response.body.pending, complete: response.body.complete })}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });

  for (const metricName of ['rev', 'active']) {
    it(`when CUPED is on (${metricName}), then θ, the adjusted means and the Welch p-value on adjusted values match the raw data`, () => {
      const name = `${prefix}_${metricName}`;
      const { theta, adjusted } = cuped(customers, name);
      const got = metricOf(results, name);
      assert.ok(got.cuped, JSON.stringify(got));
      assert.equal(got.test, 'cuped-welch-t-test');
      assert.ok(Math.abs(got.cuped.theta - theta) < 1e-9 * Math.max(1, Math.abs(theta)), `θ ${got.cuped.theta} vs ${theta}`);
      assert.ok(theta > 0.05, 'the pre-period predicts the outcome');
      const adjustedOf = (variant: string) => inVariant(customers, variant).map((c) => adjusted.get(c.customerId)!);
      // 1 − Σ var(adjusted)/n ÷ Σ var(Y)/n over the variants (docs/metrics.md).
      const spread = (f: (variant: string) => number[]) => variants.reduce((sum, v) => sum + sampleVariance(f(v)) / f(v).length, 0);
      const reduction = 1 - spread(adjustedOf) / spread((v) => inVariant(customers, v).map(y[name]));
      assert.ok(Math.abs(got.cuped.varianceReduction - reduction) < 1e-9, `variance reduction ${got.cuped.varianceReduction} vs ${reduction}`);
      assert.ok(reduction > 0.05);
      for (const variant of variants) {
        const estimate = got.variants.find((v) => v.variant === variant)!;
        assert.ok(Math.abs(estimate.adjustedValue! - mean(adjustedOf(variant))) < 1e-9, `${variant} adjusted ${estimate.adjustedValue} vs ${mean(adjustedOf(variant))}`);
        assert.ok(Math.abs(estimate.value! - mean(inVariant(customers, variant).map(y[name]))) < 1e-9, 'the estimate itself stays unadjusted');
      }
      for (const variant of ['a', 'b']) {
        const comparison = got.comparisons.find((c) => c.variant === variant)!;
        const p = welchP(adjustedOf('control'), adjustedOf(variant));
        assert.ok(Math.abs(comparison.pValue! - p) < 1e-6 * Math.max(p, 1e-12) + 1e-12, `${variant}: p ${comparison.pValue} vs ${p}`);
        assert.ok(Math.abs(comparison.absoluteLift! - (mean(adjustedOf(variant)) - mean(adjustedOf('control')))) < 1e-9);
        const rawLift = mean(inVariant(customers, variant).map(y[name])) - mean(inVariant(customers, 'control').map(y[name]));
        assert.ok(Math.abs(comparison.unadjusted!.absoluteLift! - rawLift) < 1e-9, 'the unadjusted lift is shown beside');
      }
    });
  }

  it('when the results are read by a dimension, then each slice counts its customers and its metric means match the raw data', async () => {
    const response = await client.get(`/v1/experiments/${key}/results?dimension=plan`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const body = response.body as { dimension: string; warnings: string[]; slices: { value: string; variants: { variant: string; assigned: number }[]; srm: { pValue: number }; metrics: MetricOut[] }[] };
    assert.equal(body.dimension, 'plan');
    assert.match(body.warnings[0], /exploratory/);
    assert.deepEqual(body.slices.map((s) => s.value).sort(), ['(none)', 'enterprise', 'free', 'pro']);
    for (const slice of body.slices) {
      const members = customers.filter((c) => (c.plan ?? '(none)') === slice.value);
      for (const variant of variants) {
        assert.equal(slice.variants.find((v) => v.variant === variant)!.assigned, inVariant(members, variant).length, `${slice.value} ${variant}`);
        const estimate = metricOf(slice, revenue).variants.find((v) => v.variant === variant)!;
        assert.ok(Math.abs(estimate.value! - mean(inVariant(members, variant).map(y[revenue]))) < 1e-9, `${slice.value} ${variant} revenue`);
      }
      // CUPED within the slice: θ pooled over the slice's customers.
      const { theta } = cuped(members, revenue);
      assert.ok(Math.abs(metricOf(slice, revenue).cuped!.theta - theta) < 1e-9 * Math.max(1, Math.abs(theta)), `${slice.value} θ`);
    }
    // One correction over slices × metrics × treatments (Holm): recomputed from the p-values shown.
    const family = body.slices.flatMap((s) => s.metrics.flatMap((m) => m.comparisons)).filter((c) => c.pValue !== null);
    assert.equal(family.length, body.slices.length * 2 * 2);
    const order = [...family].sort((p, q) => p.pValue! - q.pValue!);
    let running = 0;
    order.forEach((c, i) => {
      running = Math.max(running, Math.min(1, (family.length - i) * c.pValue!));
      assert.ok(Math.abs(c.adjustedPValue! - running) < 1e-12, `Holm over ${family.length}: ${c.adjustedPValue} vs ${running}`);
    });
  });

  it('when a dimension has more than 20 values, then 20 are kept and the rest count together as "(other)"', async () => {
    const response = await client.get(`/v1/experiments/${key}/results?dimension=country`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const slices = response.body.slices as { value: string; variants: { assigned: number }[] }[];
    const named = slices.filter((s) => s.value !== '(other)');
    assert.equal(named.length, 20);
    assert.ok(slices.some((s) => s.value === '(other)'));
    let total = 0;
    for (const slice of named) {
      const assigned = slice.variants.reduce((s, v) => s + v.assigned, 0);
      assert.equal(assigned, customers.filter((c) => c.country === slice.value).length, slice.value);
      total += assigned;
    }
    const other = slices.find((s) => s.value === '(other)')!.variants.reduce((s, v) => s + v.assigned, 0);
    assert.equal(total + other, customers.length);
    assert.match(response.body.warnings.join(' '), /more than 20 values/);
  });

  it('when the results are read as CSV, then the rows of every slice of every dimension follow the whole experiment, with CUPED columns', async () => {
    const response = await client.get(`/v1/experiments/${key}/results.csv`);
    assert.equal(response.status, 200);
    const lines = (response.text).trim().split('\r\n');
    const header = lines[0].split(',');
    const col = (name: string) => header.indexOf(name);
    const rows = lines.slice(1).map((line) => line.split(','));
    const whole = rows.filter((r) => r[col('dimension')] === '');
    assert.equal(whole.length, 2 * 3);
    const theta = Number(whole.find((r) => r[col('metric')] === revenue)![col('cuped_theta')]);
    assert.ok(Math.abs(theta - metricOf(results, revenue).cuped!.theta) < 1e-9);
    const pro = rows.filter((r) => r[col('dimension')] === 'plan' && r[col('slice')] === 'pro' && r[col('metric')] === revenue);
    assert.equal(pro.length, 3);
    const proControl = customers.filter((c) => c.plan === 'pro' && c.variant === 'control');
    assert.equal(Number(pro.find((r) => r[col('variant')] === 'control')![col('assigned')]), proControl.length);
    assert.ok(rows.some((r) => r[col('dimension')] === 'country' && r[col('slice')] === '(other)'));
  });

  it('when the HTML report is opened, then adjusted metrics are marked and every dimension has its slices', async () => {
    const share = await client.post(`/v1/experiments/${key}/share`).send({});
    assert.equal(share.status, 201, JSON.stringify(share.body));
    const url = new URL(share.body.url as string);
    const response = await client.raw().get(`${url.pathname}${url.search}`);
    assert.equal(response.status, 200);
    const html = response.text;
    assert.equal((html.match(/<span class="badge">CUPED<\/span>/g) ?? []).length, 2);
    assert.match(html, /<h3>By plan<\/h3>/);
    assert.match(html, /<h3>By country<\/h3>/);
    assert.match(html, /<td>\(other\)<\/td>/);
    assert.match(html, /exploratory/);
  });

  it('when the dimension is not one the experiment declares, then 400 names the field', async () => {
    const response = await client.get(`/v1/experiments/${key}/results?dimension=city`);
    assert.equal(response.status, 400);
    assert.match(JSON.stringify(response.body), /dimension/);
  });

  it('when the experiment is recomputed from its raw records, then CUPED and the slices come out the same', async function () {
    this.timeout(120_000);
    const slicesBefore = (await client.get(`/v1/experiments/${key}/results?dimension=plan`)).body;
    const recomputed = await client.post(`/v1/experiments/${key}/recompute`);
    assert.equal(recomputed.status, 200, JSON.stringify(recomputed.body));
    const after = (await client.get(`/v1/experiments/${key}/results`)).body as { metrics: MetricOut[] };
    for (const name of [revenue, active]) {
      const a = metricOf(results, name);
      const b = metricOf(after, name);
      assert.ok(Math.abs(a.cuped!.theta - b.cuped!.theta) < 1e-9, name);
      assert.deepEqual(b.comparisons.map((c) => c.pValue!.toPrecision(10)), a.comparisons.map((c) => c.pValue!.toPrecision(10)));
    }
    const slicesAfter = (await client.get(`/v1/experiments/${key}/results?dimension=plan`)).body;
    const shape = (body: { slices: { value: string; variants: unknown[]; metrics: MetricOut[] }[] }) =>
      body.slices.map((s) => ({ value: s.value, variants: s.variants, p: s.metrics.map((m) => m.comparisons.map((c) => c.pValue?.toPrecision(10))) })).sort((p, q) => (p.value < q.value ? -1 : 1));
    assert.deepEqual(shape(slicesAfter), shape(slicesBefore));
  });

  it('when results were read and then more is counted, then the next read (whole and by slice) counts it: what was read is kept only while nothing changes', async () => {
    const first = (await client.get(`/v1/experiments/${key}/results`)).body as { metrics: MetricOut[] };
    const again = (await client.get(`/v1/experiments/${key}/results`)).body as { metrics: MetricOut[] };
    assert.deepEqual(again.metrics, first.metrics);
    const customer = customers.find((c) => c.variant === 'control' && c.plan === 'pro')!;
    const sent = await client.post('/v1/events').send({ events: [{ eventId: `${key}-extra`, customerId: customer.customerId, name: 'purchase', value: 600, timestamp: new Date(customer.assignedAt + DAY).toISOString() }] });
    assert.equal(sent.status, 202);
    const after = (await client.get(`/v1/experiments/${key}/results`)).body as { metrics: MetricOut[] };
    const control = (out: { metrics: MetricOut[] }) => metricOf(out, revenue).variants.find((v) => v.variant === 'control')!.value!;
    assert.ok(Math.abs(control(after) - control(first) - 600 / inVariant(customers, 'control').length) < 1e-9);
    const sliced = (await client.get(`/v1/experiments/${key}/results?dimension=plan`)).body as { slices: { value: string; metrics: MetricOut[] }[] };
    const pro = customers.filter((c) => c.plan === 'pro' && c.variant === 'control');
    const proValue = metricOf(sliced.slices.find((s) => s.value === 'pro')!, revenue).variants.find((v) => v.variant === 'control')!.value!;
    assert.ok(Math.abs(proValue - (pro.reduce((sum, c) => sum + y[revenue](c), 0) + 600) / pro.length) < 1e-9);
  });

  it('when CUPED or the dimensions change after the start, then 409', async () => {
    assert.equal((await client.patch(`/v1/experiments/${key}`).send({ analysis: { cuped: { lookback: 'P7D' } } })).status, 409);
    assert.equal((await client.patch(`/v1/experiments/${key}`).send({ dimensions: ['plan'] })).status, 409);
    assert.equal((await client.patch(`/v1/experiments/${key}`).send({ analysis: { alpha: 0.1 } })).status, 200);
  });
});

describe('segments: where a customer\'s dimension values come from', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  it('when customers are assigned one by one, in a batch and through a page redirect with attr.<name>=, then each is counted in the slice of the value it gave', async () => {
    const key = uniqueKey('slices');
    const created = await client.post('/v1/experiments').send(pageExperiment({ key, dimensions: ['plan'] }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await client.post(`/v1/experiments/${key}/start`).send({})).status, 200);
    const single = await client.post('/v1/assignments').send({ experiment: key, customerId: `${key}-s1`, attributes: { plan: 'pro' } });
    assert.equal(single.status, 200, JSON.stringify(single.body));
    const batch = await client.post('/v1/assignments/batch').send({ experiment: key, customers: [{ customerId: `${key}-b1`, attributes: { plan: 'pro' } }, { customerId: `${key}-b2`, attributes: { plan: 'free' } }, { customerId: `${key}-b3` }] });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    const redirect = await client.raw().get(`/p/${key}?cid=${key}-p1&attr.plan=free`);
    assert.equal(redirect.status, 302);
    assert.equal((await client.raw().get(`/p/${key}?cid=${key}-p2&attr.pl%24an=x`)).status, 400, 'an attribute name that is not one is refused');
    const response = await client.get(`/v1/experiments/${key}/results?dimension=plan`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const assigned = Object.fromEntries((response.body.slices as { value: string; variants: { assigned: number }[] }[]).map((s) => [s.value, s.variants.reduce((sum, v) => sum + v.assigned, 0)]));
    assert.deepEqual(assigned, { pro: 2, free: 2, '(none)': 1 });
  });

  it('when an experiment declares more than 5 dimensions or one twice, then 400 names the field and nothing is stored', async () => {
    const key = uniqueKey('slices');
    const tooMany = await client.post('/v1/experiments').send(pageExperiment({ key, dimensions: ['a', 'b', 'c', 'd', 'e', 'f'] }));
    assert.equal(tooMany.status, 400);
    assert.match(JSON.stringify(tooMany.body), /dimensions/);
    const twice = await client.post('/v1/experiments').send(pageExperiment({ key, dimensions: ['plan', 'plan'] }));
    assert.equal(twice.status, 400);
    assert.equal((await client.get(`/v1/experiments/${key}`)).status, 404);
  });
});
