import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import type { AggregateRecord } from '../../../src/modules/aggregates';
import type { ExperimentRecord } from '../../../src/modules/experiments';
import { analyse, sequentialKey, tau2Key, wilsonInterval } from '../../../src/modules/results/results.analysis';
import { csvField, resultsToCsv } from '../../../src/modules/results/results.csv';
import { decide } from '../../../src/modules/results/results.decision';
import { sampleSizePerVariant } from '../../../src/stats';

const NOW = new Date('2025-03-10T12:00:00Z');

function experiment(overrides: Partial<ExperimentRecord> = {}): ExperimentRecord {
  return {
    _id: 'exp-unit',
    name: 'Unit',
    assetType: 'email',
    variants: [
      { key: 'control', weight: 0.5, content: {} },
      { key: 'b', weight: 0.5, content: {} },
    ],
    controlVariant: 'control',
    coverage: 1,
    seed: 'exp-unit',
    metrics: { primary: 'email_open', secondary: ['email_click'], guardrails: ['unsubscribe'], custom: [] },
    analysis: { alpha: 0.05, power: 0.8, minimumDetectableEffect: 0.1, method: 'frequentist', correction: 'holm', minSamplePerVariant: 100 },
    status: 'running',
    history: [],
    createdAt: new Date('2025-03-01T00:00:00Z'),
    updatedAt: new Date('2025-03-01T00:00:00Z'),
    startedAt: new Date('2025-03-08T12:00:00Z'),
    ...overrides,
  };
}

function aggregate(variant: string, metric: string, fields: Partial<AggregateRecord>): AggregateRecord {
  return { _id: `exp-unit|${variant}|${metric}`, experiment: 'exp-unit', variant, metric, units: 0, sum: 0, sumSquares: 0, histogram: {}, ...fields };
}

const assigned = (variant: string, units: number) => aggregate(variant, '$assigned', { units });
const binomial = (variant: string, metric: string, units: number) => aggregate(variant, metric, { units, sum: units, sumSquares: units });

function survey(variant: string, metric: string, histogram: Record<string, number>): AggregateRecord {
  let units = 0;
  let sum = 0;
  let sumSquares = 0;
  for (const [score, count] of Object.entries(histogram)) {
    units += count;
    sum += Number(score) * count;
    sumSquares += Number(score) * Number(score) * count;
  }
  return aggregate(variant, metric, { units, sum, sumSquares, histogram });
}

function run(record: ExperimentRecord, aggregates: AggregateRecord[]) {
  const { results, sequentialUpdates } = analyse(record, aggregates, NOW);
  return { results: { ...results, decision: decide(results, record, NOW) }, sequentialUpdates };
}

describe('results analysis (pure)', () => {
  it('when rates are computed, then the Wilson interval stays inside [0, 1] and contains the rate', () => {
    assert.deepEqual(wilsonInterval(0, 0, 0.05), null);
    const [low, high] = wilsonInterval(0, 20, 0.05)!;
    assert.equal(low, 0);
    assert.ok(high > 0.1 && high < 0.2);
    const [l2, h2] = wilsonInterval(30, 100, 0.05)!;
    assert.ok(l2 < 0.3 && 0.3 < h2);
    assert.ok(Math.abs(l2 - 0.2189) < 1e-3 && Math.abs(h2 - 0.3958) < 1e-3);
  });

  it('when two treatments both win, then ship picks the one with the best primary estimate', () => {
    const record = experiment({
      variants: [
        { key: 'control', weight: 1 / 3, content: {} },
        { key: 'b', weight: 1 / 3, content: {} },
        { key: 'c', weight: 1 / 3, content: {} },
      ],
      metrics: { primary: 'email_open', secondary: [], guardrails: [], custom: [] },
    });
    const { results } = run(record, [
      assigned('control', 1000), assigned('b', 1000), assigned('c', 1000),
      binomial('control', 'email_open', 200), binomial('b', 'email_open', 300), binomial('c', 'email_open', 350),
    ]);
    assert.equal(results.decision.verdict, 'ship');
    assert.equal(results.decision.variant, 'c');
    assert.match(results.decision.reasons[1], /Other winners \("b"\) have a weaker primary estimate/);
  });

  it('when the primary metric is lower-is-better, then the lowest estimate wins', () => {
    const record = experiment({ metrics: { primary: 'unsubscribe', secondary: [], guardrails: [], custom: [] } });
    const { results } = run(record, [assigned('control', 2000), assigned('b', 2000), binomial('control', 'unsubscribe', 100), binomial('b', 'unsubscribe', 40)]);
    assert.equal(results.metrics[0].comparisons[0].better, true);
    assert.equal(results.decision.verdict, 'ship');
  });

  it('when a guardrail is harmed, then it is not corrected and the verdict is keep_control', () => {
    const { results } = run(experiment(), [
      assigned('control', 1000), assigned('b', 1000),
      binomial('control', 'email_open', 200), binomial('b', 'email_open', 300),
      binomial('control', 'unsubscribe', 10), binomial('b', 'unsubscribe', 30),
    ]);
    const guardrail = results.metrics.find((m) => m.metric === 'unsubscribe')!.comparisons[0];
    assert.equal(guardrail.adjustedPValue, guardrail.pValue);
    assert.equal(guardrail.better, false);
    assert.equal(results.decision.verdict, 'keep_control');
  });

  it('when inconclusive with enough data, then additionalUnitsNeeded follows the sample-size formula and the traffic shares', () => {
    const record = experiment({
      variants: [
        { key: 'control', weight: 0.25, content: {} },
        { key: 'b', weight: 0.75, content: {} },
      ],
      metrics: { primary: 'email_open', secondary: [], guardrails: [], custom: [] },
    });
    const { results } = run(record, [assigned('control', 200), assigned('b', 600), binomial('control', 'email_open', 40), binomial('b', 'email_open', 126)]);
    assert.equal(results.decision.verdict, 'inconclusive');
    const n = sampleSizePerVariant({ baselineRate: 0.2, minimumDetectableEffect: 0.1, alpha: 0.05, power: 0.8 }).n;
    // The control fills at a quarter of the traffic, so it needs (n − 200) / 0.25 more customers in total.
    assert.equal(results.decision.additionalUnitsNeeded, Math.max(Math.ceil((n - 200) / 0.25), Math.ceil((n - 600) / 0.75)));
    // 800 customers in 2 days: 400 a day.
    assert.equal(results.decision.estimatedDaysToDecision, Math.ceil((results.decision.additionalUnitsNeeded / 400) * 10) / 10);
  });

  it('when a survey metric is primary, then the sample size is in responders and converted with the response rate', () => {
    const record = experiment({ metrics: { primary: 'csat', secondary: [], guardrails: [], custom: [] }, analysis: { ...experiment().analysis, minimumDetectableEffect: 0.02, minSamplePerVariant: 10 } });
    const { results } = run(record, [
      assigned('control', 400), assigned('b', 400),
      survey('control', 'csat', { 3: 20, 4: 20 }), survey('b', 'csat', { 3: 19, 4: 21 }),
    ]);
    assert.equal(results.decision.verdict, 'inconclusive');
    const csat = results.metrics[0];
    assert.equal(csat.variants[0].responders, 40);
    assert.equal(csat.variants[0].value, 3.5);
    assert.match(results.decision.reasons.at(-1)!, /needs \d+ responders per variant/);
    // 40 of 400 customers answer in each arm: each needed responder costs 10 assignments, at half the traffic.
    const perVariant = Number(/needs (\d+) responders per variant/.exec(results.decision.reasons.at(-1)!)![1]);
    assert.equal(results.decision.additionalUnitsNeeded, Math.ceil((perVariant * 10 - 400) / 0.5));
  });

  it('when the aggregates are inconsistent, then comparisons are null instead of throwing', () => {
    const record = experiment({ metrics: { primary: 'email_open', secondary: ['csat'], guardrails: [], custom: [] } });
    const { results } = run(record, [
      assigned('control', 10), assigned('b', 10),
      binomial('control', 'email_open', 12), // more units than assigned customers
      binomial('b', 'email_open', 5),
      survey('control', 'csat', { 3: -1, 9: 2 }), // negative count and a score off the scale
      survey('b', 'csat', { 4: 3 }),
    ]);
    assert.equal(results.metrics[0].variants[0].value, null);
    assert.equal(results.metrics[0].comparisons[0].pValue, null);
    assert.equal(results.metrics[1].comparisons[0].pValue, null);
    assert.equal(results.metrics[1].variants[0].distribution, undefined);
  });

  it('when a variant has weight 0, then it is left out of the SRM check with a warning', () => {
    const record = experiment({
      variants: [
        { key: 'control', weight: 0.5, content: {} },
        { key: 'b', weight: 0.5, content: {} },
        { key: 'qa', weight: 0, content: {} },
      ],
    });
    const { results } = run(record, [assigned('control', 500), assigned('b', 505), assigned('qa', 3)]);
    assert.equal(results.health.srm.mismatch, false);
    assert.ok(results.health.warnings.some((w) => w.includes('"qa" has weight 0 but 3 assigned customers')));
  });

  it('when the SRM has fewer than 8 expected customers per variant, then it is reported but never flags a mismatch', () => {
    const { results } = run(experiment(), [assigned('control', 7), assigned('b', 0)]);
    assert.equal(results.health.srm.mismatch, false);
    assert.ok(results.health.srm.pValue < 0.05);
    assert.ok(results.health.warnings.some((w) => w.includes('needs at least 8 expected customers per variant')));
  });

  it('when the method is sequential, then the stored running minimum wins over a weaker look and τ² is fixed per mean metric', () => {
    const record = experiment({
      metrics: { primary: 'email_open', secondary: ['spend'], guardrails: [], custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }] },
      analysis: { ...experiment().analysis, method: 'sequential' },
    });
    const aggregates = [
      assigned('control', 1000), assigned('b', 1000),
      binomial('control', 'email_open', 200), binomial('b', 'email_open', 260),
      aggregate('control', 'spend', { units: 300, sum: 3000, sumSquares: 40000 }),
      aggregate('b', 'spend', { units: 300, sum: 3600, sumSquares: 52000 }),
    ];
    const first = analyse(record, aggregates, NOW);
    const openKey = sequentialKey('email_open', 'b');
    const p = first.sequentialUpdates[openKey];
    assert.ok(p > 0 && p <= 1);
    assert.ok(first.sequentialUpdates[tau2Key('spend')] > 0);
    assert.equal(first.sequentialUpdates[tau2Key('email_open')], undefined, 'rates use the default τ²');
    const open = first.results.metrics[0].comparisons[0];
    assert.equal(open.pValue, p);
    assert.ok(open.fixedHorizonPValue! < p);

    // A later look with a stored lower minimum: the minimum is shown and nothing new is stored for it.
    const later = analyse({ ...record, sequential: { ...first.sequentialUpdates, [openKey]: p / 10 } }, aggregates, NOW);
    assert.equal(later.results.metrics[0].comparisons[0].pValue, p / 10);
    assert.equal(later.sequentialUpdates[openKey], undefined);
    assert.equal(later.sequentialUpdates[tau2Key('spend')], undefined, 'τ² is chosen once');
  });

  it('when the results are written as CSV, then fields with commas, quotes or line breaks are quoted', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField(null), '');
    assert.equal(csvField(Infinity), '');
    assert.equal(csvField(-0.25), '-0.25');
    const { results } = run(experiment(), [assigned('control', 1000), assigned('b', 1000), binomial('control', 'email_open', 200), binomial('b', 'email_open', 300)]);
    const rows = parse<Record<string, string>>(resultsToCsv({ ...results, decision: { ...results.decision, reasons: ['a, "quoted"\nreason'] } }), { columns: true });
    assert.equal(rows.length, 6);
    assert.equal(rows[1].variant, 'b');
    assert.equal(Number(rows[1].value), 0.3);
  });
});
