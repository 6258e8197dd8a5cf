import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { recordLook } from '../../src/modules/results';
import { api, type Api } from '../helpers/app';
import { emailExperiment, pageExperiment, runningExperiment, uniqueKey } from '../helpers/factories';
import { assignCustomers, eventsAtRates, hits, metricOf, respond, sendEvents, type Customer, type MetricBody, sequentialExperimentWithEffect } from './results.helpers';

interface ResultsBody {
  experiment: string;
  status: string;
  method: string;
  alpha: number;
  correction: string;
  controlVariant: string;
  health: { srm: { chiSquare: number; pValue: number; mismatch: boolean }; unitsByVariant: Record<string, number>; warnings: string[] };
  metrics: MetricBody[];
  decision: { verdict: string; variant?: string; reasons: string[]; additionalUnitsNeeded?: number; estimatedDaysToDecision?: number };
}

async function results(client: Api, key: string): Promise<ResultsBody> {
  const response = await client.get(`/v1/experiments/${key}/results`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as ResultsBody;
}

/** An email experiment with the given opens and unsubscribes per variant. */
async function emailTraffic(client: Api, options: { customers: number; open: Record<string, number>; unsubscribe?: Record<string, number>; click?: Record<string, number>; experiment?: Record<string, unknown> }) {
  const body = emailExperiment(options.experiment ?? {});
  const key = await runningExperiment(client, body);
  const customers = await assignCustomers(client, key, options.customers);
  await sendEvents(client, key, [
    ...eventsAtRates(customers, 'email.open', options.open),
    ...eventsAtRates(customers, 'email.click', options.click ?? { control: 0.05, friendly: 0.05 }),
    ...eventsAtRates(customers, 'unsubscribe', options.unsubscribe ?? { control: 0.01, friendly: 0.01 }),
  ]);
  return { key, customers };
}

describe('results', () => {
  let client: Api;
  before(async () => {
    client = await api();
  });

  describe('when one variant clearly lifts email opens', () => {
    let key: string;
    let customers: Customer[];
    let body: ResultsBody;
    before(async () => {
      ({ key, customers } = await emailTraffic(client, { customers: 400, open: { control: 0.2, friendly: 0.4 } }));
      body = await results(client, key);
    });

    it('when results are read, then the verdict is ship with the lifted variant and readable reasons', () => {
      assert.equal(body.decision.verdict, 'ship', JSON.stringify(body.decision));
      assert.equal(body.decision.variant, 'friendly');
      assert.match(body.decision.reasons[0], /^"friendly": email open rate (39\.\d|40\.\d)% against (19\.\d|20\.\d)% for "control" \(\+\d+\.\d%, adjusted p < 0\.0001\): significantly better/);
      assert.ok(body.decision.reasons.some((r) => r.includes('No guardrail (unsubscribe rate)')), body.decision.reasons.join(' | '));
    });

    it('when results are read, then the binomial numbers come from the aggregates: rates over assigned customers', () => {
      const assigned = { control: customers.filter((c) => c.variant === 'control').length, friendly: customers.filter((c) => c.variant === 'friendly').length };
      assert.deepEqual(body.health.unitsByVariant, assigned);
      const open = metricOf(body, 'email_open');
      assert.equal(open.role, 'primary');
      assert.equal(open.kind, 'binomial');
      assert.equal(open.test, 'two-proportion-z-test');
      for (const variant of open.variants) {
        const expected = customers.filter((c) => c.variant === variant.variant && hits(c.rank, variant.variant === 'control' ? 0.2 : 0.4)).length;
        assert.equal(variant.units, assigned[variant.variant as 'control' | 'friendly']);
        assert.ok(Math.abs(variant.value! - expected / variant.units) < 1e-12);
        assert.ok(variant.ci![0] < variant.value! && variant.value! < variant.ci![1]);
      }
      const [comparison] = open.comparisons;
      assert.equal(comparison.variant, 'friendly');
      assert.equal(comparison.baseline, 'control');
      assert.ok(comparison.absoluteLift! > 0.15 && comparison.absoluteLift! < 0.25);
      assert.ok(comparison.relativeLift! > 0.7);
      assert.ok(comparison.ci![0] > 0);
      assert.ok(comparison.pValue! < 1e-4);
      assert.ok(comparison.adjustedPValue! >= comparison.pValue!);
      assert.equal(comparison.significant, true);
      assert.equal(comparison.better, true);
      assert.equal(comparison.chanceToBeatControl, undefined, 'only the bayesian method adds a chance to beat control');
    });

    it('when results are read, then the primary and secondary metrics are corrected together and guardrails are not', () => {
      const open = metricOf(body, 'email_open').comparisons[0];
      const click = metricOf(body, 'email_click').comparisons[0];
      const unsubscribe = metricOf(body, 'unsubscribe').comparisons[0];
      // Holm over two p-values: the smaller is doubled, the larger kept (or raised to the smaller's adjustment).
      const [small, large] = [open, click].sort((a, b) => a.pValue! - b.pValue!);
      assert.ok(Math.abs(small.adjustedPValue! - Math.min(1, 2 * small.pValue!)) < 1e-12);
      assert.ok(Math.abs(large.adjustedPValue! - Math.max(large.pValue!, small.adjustedPValue!)) < 1e-12);
      assert.equal(unsubscribe.adjustedPValue, unsubscribe.pValue);
      assert.equal(metricOf(body, 'unsubscribe').role, 'guardrail');
      assert.equal(metricOf(body, 'unsubscribe').direction, 'decrease');
    });

    it('when the health is read, then the split passes the sample ratio check without warnings', () => {
      assert.equal(body.health.srm.mismatch, false);
      assert.ok(body.health.srm.pValue > 0.001);
      assert.deepEqual(body.health.warnings, []);
    });

    it('when the CSV is downloaded, then it has one row per metric × variant with the same numbers', async () => {
      const response = await client.get(`/v1/experiments/${key}/results.csv`);
      assert.equal(response.status, 200);
      assert.match(response.headers['content-type'], /^text\/csv/);
      assert.match(response.headers['content-disposition'], new RegExp(`${key}-results\\.csv`));
      const rows = parse<Record<string, string>>(response.text, { columns: true });
      assert.equal(rows.length, 3 * 2);
      assert.deepEqual(
        rows.map((r) => `${r.metric}/${r.variant}`),
        ['email_open/control', 'email_open/friendly', 'email_click/control', 'email_click/friendly', 'unsubscribe/control', 'unsubscribe/friendly'],
      );
      const friendly = rows.find((r) => r.metric === 'email_open' && r.variant === 'friendly')!;
      const control = rows.find((r) => r.metric === 'email_open' && r.variant === 'control')!;
      const json = metricOf(body, 'email_open');
      assert.equal(Number(friendly.value), json.variants.find((v) => v.variant === 'friendly')!.value);
      assert.equal(Number(friendly.p_value), json.comparisons[0].pValue);
      assert.equal(Number(friendly.absolute_lift_ci_lower), json.comparisons[0].ci![0]);
      assert.equal(friendly.better, 'true');
      assert.equal(friendly.is_control, 'false');
      assert.equal(friendly.verdict, 'ship');
      assert.equal(friendly.decision_variant, 'friendly');
      assert.equal(control.is_control, 'true');
      assert.equal(control.p_value, '', 'the control row has no comparison');
      assert.equal(Number(control.assigned), body.health.unitsByVariant.control);
    });
  });

  it('when a guardrail is significantly harmed, then the verdict is keep_control even though the primary improved', async () => {
    const { key } = await emailTraffic(client, {
      customers: 300,
      open: { control: 0.2, friendly: 0.35 },
      unsubscribe: { control: 0.01, friendly: 0.12 },
    });
    const body = await results(client, key);
    assert.equal(metricOf(body, 'email_open').comparisons[0].better, true);
    const unsubscribe = metricOf(body, 'unsubscribe').comparisons[0];
    assert.equal(unsubscribe.significant, true);
    assert.equal(unsubscribe.better, false, 'more unsubscribes is worse');
    assert.equal(body.decision.verdict, 'keep_control', JSON.stringify(body.decision));
    assert.match(body.decision.reasons[0], /^Guardrail harmed: "friendly": unsubscribe rate 1\d\.\d% against \d\.\d% for "control" \(\+\d+\.\d%, p [<=] [\d.]+\); lower is better\.$/);
    assert.ok(body.decision.reasons.some((r) => r.includes('harmed a guardrail')));
  });

  it('when the primary metric is significantly worse for every treatment, then the verdict is keep_control', async () => {
    const { key } = await emailTraffic(client, { customers: 300, open: { control: 0.35, friendly: 0.12 } });
    const body = await results(client, key);
    const open = metricOf(body, 'email_open').comparisons[0];
    assert.equal(open.better, false);
    assert.ok(open.absoluteLift! < 0);
    assert.equal(body.decision.verdict, 'keep_control');
    assert.match(body.decision.reasons.join(' '), /significantly worse on the primary metric/);
  });

  it('when there are too few customers, then the verdict is inconclusive with the customers and days still needed', async () => {
    const { key } = await emailTraffic(client, { customers: 60, open: { control: 0.2, friendly: 0.3 } });
    const body = await results(client, key);
    assert.equal(body.decision.verdict, 'inconclusive');
    assert.match(body.decision.reasons[0], /^Too little data: "control" has \d+ customers, "friendly" has \d+ customers, below the minimum of 100 per variant\.$/);
    assert.ok(body.decision.additionalUnitsNeeded! > 1000, `needed ${body.decision.additionalUnitsNeeded}`);
    assert.ok(body.decision.estimatedDaysToDecision! > 0);
    assert.match(body.decision.reasons[1], /needs \d+ customers per variant: about \d+ more customers in total, about [\d.]+ more days/);
    assert.ok(body.health.warnings.some((w) => w.includes('Too few customers for a decision')));
  });

  it('when enough customers show no difference, then the verdict is inconclusive and names the p-value', async () => {
    const { key } = await emailTraffic(client, { customers: 200, open: { control: 0.3, friendly: 0.3 }, experiment: { analysis: { minSamplePerVariant: 50 } } });
    const body = await results(client, key);
    assert.equal(body.decision.verdict, 'inconclusive');
    assert.match(body.decision.reasons[0], /^No significant difference: "friendly": email open rate \d+\.\d% against \d+\.\d% for "control" \([+-]\d+\.\d%, (adjusted )?p = [\d.]+\)\.$/);
    assert.ok(body.decision.additionalUnitsNeeded! > 0);
  });

  it('when many customers are forced into one variant, then the sample ratio mismatch makes the verdict invalid', async () => {
    const key = await runningExperiment(client, emailExperiment());
    const customers = await assignCustomers(client, key, 120);
    // 150 forced on top of 120 hashed: a mismatch whichever way the hash happens to split the 120.
    for (let i = 0; i < 150; i++) {
      const forced = await client.post('/v1/assignments').send({ experiment: key, customerId: `${key}-forced-${i}`, forceVariant: 'friendly' });
      assert.equal(forced.body.reason, 'forced');
    }
    await sendEvents(client, key, eventsAtRates(customers, 'email.open', { control: 0.2, friendly: 0.4 }));
    const body = await results(client, key);
    assert.equal(body.health.srm.mismatch, true);
    assert.ok(body.health.srm.pValue < 0.001);
    assert.equal(body.health.unitsByVariant.friendly, customers.filter((c) => c.variant === 'friendly').length + 150);
    assert.equal(body.decision.verdict, 'invalid');
    assert.equal(body.decision.variant, undefined);
    assert.match(body.decision.reasons[0], /^Sample ratio mismatch/);
    assert.ok(body.health.warnings.some((w) => w.startsWith("Sample ratio mismatch")));
  });

  it('when nobody is assigned yet, then every comparison is empty and the verdict is inconclusive, not an error', async () => {
    const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['csat', 'nps', 'ces', 'spend'], custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }] } }));
    const body = await results(client, key);
    assert.equal(body.decision.verdict, 'inconclusive');
    assert.deepEqual(body.health.unitsByVariant, { control: 0, friendly: 0 });
    for (const metric of body.metrics) {
      for (const comparison of metric.comparisons) {
        assert.deepEqual([comparison.pValue, comparison.absoluteLift, comparison.ci, comparison.better, comparison.significant], [null, null, null, null, false], metric.metric);
      }
      for (const variant of metric.variants) assert.equal(variant.value, null, metric.metric);
    }
    assert.equal(body.decision.additionalUnitsNeeded, undefined, 'no baseline to size the test on');
  });

  it('when every customer behaves the same, then zero-variance comparisons are null instead of failing', async () => {
    const key = await runningExperiment(client, emailExperiment({ metrics: { primary: 'email_open', secondary: ['spend'], custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }] } }));
    const customers = await assignCustomers(client, key, 20);
    // Everybody opens and everybody spends exactly 10: no variation anywhere.
    await sendEvents(client, key, customers.flatMap((c) => [{ customerId: c.id, name: 'email.open' }, { customerId: c.id, name: 'purchase', value: 10 }]));
    const body = await results(client, key);
    assert.equal(metricOf(body, 'email_open').variants[0].value, 1);
    assert.equal(metricOf(body, 'email_open').comparisons[0].pValue, null);
    assert.equal(metricOf(body, 'spend').variants[0].value, 10);
    assert.equal(metricOf(body, 'spend').comparisons[0].better, null);
    assert.equal(body.decision.verdict, 'inconclusive');
  });

  describe('when a page experiment collects conversions, spend and CSAT, NPS and CES answers', () => {
    let key: string;
    let customers: Customer[];
    let body: ResultsBody;
    const spendOf = (c: Customer) => (c.variant === 'guided' ? 20 : 10) + (c.rank % 4) * 2.5;
    const csatOf = (c: Customer) => (c.variant === 'guided' ? [5, 4, 5, 4, 3] : [3, 2, 4, 3, 2])[c.rank % 5];
    const npsOf = (c: Customer) => (c.variant === 'guided' ? [10, 9, 8, 9, 6] : [6, 5, 9, 7, 3])[c.rank % 5];
    const cesOf = (c: Customer) => (c.variant === 'guided' ? [2, 1, 2, 3, 1] : [4, 5, 3, 6, 4])[c.rank % 5];

    before(async () => {
      key = await runningExperiment(
        client,
        pageExperiment({
          metrics: {
            primary: 'conversion',
            secondary: ['spend', 'csat', 'nps', 'ces'],
            guardrails: ['complaint'],
            custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }],
          },
          analysis: { minSamplePerVariant: 20 },
        }),
      );
      customers = await assignCustomers(client, key, 240);
      const buyers = customers.filter((c) => hits(c.rank, c.variant === 'guided' ? 0.5 : 0.25));
      await sendEvents(client, key, [
        ...buyers.map((c) => ({ customerId: c.id, name: 'conversion' })),
        // Two purchases per buyer: the metric sums a customer's values.
        ...buyers.flatMap((c) => [{ customerId: c.id, name: 'purchase', value: spendOf(c) / 2 }, { customerId: c.id, name: 'purchase', value: spendOf(c) / 2 }]),
      ]);
      // Control customers answer surveys twice as often: response rates differ.
      const responders = customers.filter((c) => hits(c.rank, c.variant === 'control' ? 0.6 : 0.3));
      for (const c of responders) {
        await respond(client, key, { customerId: c.id, metric: 'csat', score: csatOf(c) });
        await respond(client, key, { customerId: c.id, metric: 'nps', score: npsOf(c) });
        await respond(client, key, { customerId: c.id, metric: 'ces', score: cesOf(c) });
      }
      body = await results(client, key);
    });

    it('when results are read, then a custom mean metric averages over every assigned customer, non-buyers counting 0', () => {
      const spend = metricOf(body, 'spend');
      assert.equal(spend.kind, 'mean');
      assert.equal(spend.test, 'welch-t-test');
      for (const variant of spend.variants) {
        const inVariant = customers.filter((c) => c.variant === variant.variant);
        const total = inVariant.filter((c) => hits(c.rank, c.variant === 'guided' ? 0.5 : 0.25)).reduce((sum, c) => sum + spendOf(c), 0);
        assert.equal(variant.units, inVariant.length);
        assert.ok(Math.abs(variant.value! - total / inVariant.length) < 1e-9, `${variant.value} vs ${total / inVariant.length}`);
        assert.ok(variant.standardDeviation! > 0);
      }
      assert.equal(spend.comparisons[0].better, true);
    });

    it('when results are read, then CSAT is a mean among responders with its top-2-box and a Mann–Whitney check', () => {
      const csat = metricOf(body, 'csat');
      assert.equal(csat.kind, 'mean');
      const guided = csat.variants.find((v) => v.variant === 'guided')!;
      const answered = customers.filter((c) => c.variant === 'guided' && hits(c.rank, 0.3));
      assert.equal(guided.responders, answered.length);
      assert.equal(guided.units, answered.length);
      assert.ok(Math.abs(guided.value! - answered.reduce((s, c) => s + csatOf(c), 0) / answered.length) < 1e-12);
      assert.deepEqual(Object.keys(guided.distribution!), ['1', '2', '3', '4', '5']);
      assert.equal(Object.values(guided.distribution!).reduce((a, b) => a + b, 0), answered.length);
      assert.equal(guided.topBox!.trials, answered.length);
      assert.equal(guided.topBox!.successes, answered.filter((c) => csatOf(c) >= 4).length);
      const comparison = csat.comparisons[0];
      assert.equal(comparison.better, true);
      assert.ok(comparison.robustness!.mannWhitney.pValue < 0.05);
      assert.ok(comparison.robustness!.mannWhitney.statistic! > 0, 'guided scores higher');
      assert.ok(comparison.robustness!.topBox.pValue < 0.05);
    });

    it('when results are read, then NPS is in points among responders and CES is ordinal with lower effort better', () => {
      const nps = metricOf(body, 'nps');
      assert.equal(nps.kind, 'nps');
      assert.equal(nps.test, 'nps-z-test');
      const guided = nps.variants.find((v) => v.variant === 'guided')!;
      const answered = customers.filter((c) => c.variant === 'guided' && hits(c.rank, 0.3)).map(npsOf);
      const expected = (100 * (answered.filter((s) => s >= 9).length - answered.filter((s) => s <= 6).length)) / answered.length;
      assert.ok(Math.abs(guided.value! - expected) < 1e-9);
      assert.equal(Object.keys(guided.distribution!).length, 11);
      assert.equal(nps.comparisons[0].better, true);

      const ces = metricOf(body, 'ces');
      assert.equal(ces.kind, 'ordinal');
      assert.equal(ces.direction, 'decrease');
      assert.ok(ces.comparisons[0].absoluteLift! < 0, 'guided needs less effort');
      assert.equal(ces.comparisons[0].better, true, 'less effort is better');
      assert.ok(ces.comparisons[0].robustness!.mannWhitney.statistic! < 0);
    });

    it('when survey response rates differ between variants, then the health warns that scores may be biased', () => {
      const warnings = body.health.warnings.filter((w) => w.includes('response rates differ between variants'));
      assert.deepEqual(warnings.map((w) => w.split(' ')[0]), ['CSAT', 'NPS', 'CES']);
      assert.match(warnings[0], /\(control [56]\d\.\d%, guided [23]\d\.\d%; chi-square p [<=] [\d.]+\)/);
    });

    it('when the CSV is downloaded, then survey rows carry responders, distributions and robustness p-values', async () => {
      const response = await client.get(`/v1/experiments/${key}/results.csv`);
      const rows = parse<Record<string, string>>(response.text, { columns: true });
      assert.equal(rows.length, 6 * 2);
      const csat = rows.find((r) => r.metric === 'csat' && r.variant === 'guided')!;
      assert.match(csat.distribution, /^1:\d+ 2:\d+ 3:\d+ 4:\d+ 5:\d+$/);
      assert.ok(Number(csat.responders) > 0);
      assert.ok(Number(csat.top_box_rate) > 0);
      assert.ok(Number(csat.mann_whitney_p_value) < 0.05);
      assert.ok(Number(csat.top_box_p_value) < 0.05);
    });
  });

  it('when the method is bayesian, then binomial comparisons carry the chance to beat control in the metric direction', async () => {
    const { key } = await emailTraffic(client, {
      customers: 300,
      open: { control: 0.2, friendly: 0.4 },
      unsubscribe: { control: 0.01, friendly: 0.02 },
      experiment: { analysis: { method: 'bayesian' } },
    });
    const body = await results(client, key);
    assert.equal(body.method, 'bayesian');
    const open = metricOf(body, 'email_open').comparisons[0];
    assert.ok(open.chanceToBeatControl! > 0.999, String(open.chanceToBeatControl));
    const unsubscribe = metricOf(body, 'unsubscribe').comparisons[0];
    // More unsubscribes in friendly (not significantly): on a lower-is-better metric its chance is below one half.
    assert.equal(unsubscribe.significant, false);
    assert.ok(unsubscribe.chanceToBeatControl! > 0 && unsubscribe.chanceToBeatControl! < 0.5, String(unsubscribe.chanceToBeatControl));
    assert.equal(body.decision.verdict, 'ship');
  });

  it('when the method is sequential, then p-values are always-valid and keep their running minimum across looks', async () => {
    const { key } = await sequentialExperimentWithEffect(client);
    const look1 = await results(client, key);
    const open1 = metricOf(look1, 'email_open').comparisons[0];
    assert.equal(look1.method, 'sequential');
    assert.ok(open1.fixedHorizonPValue! < open1.pValue!, 'the always-valid p-value is more conservative than the fixed-horizon one');
    assert.ok(open1.pValue! < 0.05);
    const spend1 = metricOf(look1, 'spend').comparisons[0];
    assert.equal(typeof spend1.fixedHorizonPValue, 'number');
    assert.equal(typeof spend1.pValue, 'number');
    // The GET only read; a look (here the scheduled one) records the running minimum.
    const look = await recordLook(key, 'scheduled');
    assert.equal(metricOf(look.results as unknown as ResultsBody, 'email_open').comparisons[0].pValue, open1.pValue);

    // A second wave with no difference dilutes the effect: this look alone is weaker, the stored minimum stays.
    const second = await assignCustomers(client, key, 400, key, 400);
    await sendEvents(client, key, eventsAtRates(second, 'email.open', { control: 0.3, friendly: 0.3 }));
    const look2 = await results(client, key);
    const open2 = metricOf(look2, 'email_open').comparisons[0];
    assert.ok(open2.absoluteLift! < open1.absoluteLift!);
    assert.ok(open2.fixedHorizonPValue! > open1.fixedHorizonPValue!, 'the diluted effect alone is weaker');
    assert.equal(open2.pValue, open1.pValue, 'the running minimum of the always-valid p-value never goes up');
  });

  it('when the experiment is unknown or the key malformed, then 404 and 400', async () => {
    const missing = await client.get(`/v1/experiments/${uniqueKey('nope')}/results`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    const csv = await client.get(`/v1/experiments/${uniqueKey('nope')}/results.csv`);
    assert.equal(csv.status, 404);
    const bad = await client.get('/v1/experiments/Bad%20Key/results');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^key:/);
  });

  it('when a viewer key reads results, then it may, but it may not recompute or roll out', async () => {
    const created = await client.post('/v1/api-keys').send({ name: 'results viewer', role: 'viewer' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const viewer = await api(created.body.key);
    const key = await runningExperiment(client, emailExperiment());
    assert.equal((await viewer.get(`/v1/experiments/${key}/results`)).status, 200);
    assert.equal((await viewer.get(`/v1/experiments/${key}/results.csv`)).status, 200);
    assert.equal((await viewer.post(`/v1/experiments/${key}/recompute`)).status, 403);
    assert.equal((await viewer.post(`/v1/experiments/${key}/rollout`).send({ force: true, variant: 'friendly' })).status, 403);
    assert.equal((await viewer.post(`/v1/experiments/${key}/rollback`)).status, 403);
    assert.equal((await client.get(`/v1/experiments/${key}`)).body.status, 'running');
  });
});
