import assert from 'node:assert/strict';
import type { AggregateRecord } from '../../../src/modules/aggregates';
import type { ExperimentRecord } from '../../../src/modules/experiments';
import { analyse } from '../../../src/modules/results/results.analysis';
import { analyseHoldout } from '../../../src/modules/results/results.holdout';

const NOW = new Date('2026-12-01T12:00:00Z');

function experiment(): ExperimentRecord {
  return {
    _id: 'exp-hold',
    name: 'Holdout',
    assetType: 'email',
    variants: [
      { key: 'control', weight: 0.5, content: {} },
      { key: 'b', weight: 0.5, content: {} },
    ],
    controlVariant: 'control',
    coverage: 1,
    seed: 'exp-hold',
    metrics: { primary: 'conversion', secondary: ['email_click'], guardrails: ['unsubscribe'], custom: [] },
    analysis: { alpha: 0.05, power: 0.8, minimumDetectableEffect: 0.1, method: 'frequentist', correction: 'holm', minSamplePerVariant: 100 },
    status: 'running',
    history: [],
    createdAt: NOW,
    updatedAt: NOW,
    startedAt: NOW,
  };
}

const aggregate = (variant: string, metric: string, units: number): AggregateRecord => ({ _id: `exp-hold|${variant}|${metric}`, experiment: 'exp-hold', variant, metric, units, sum: units, sumSquares: units, histogram: {} });

describe('results: the holdout comparison (pure)', () => {
  it('when nobody is held out, then there is no holdout comparison', () => {
    assert.equal(analyseHoldout(experiment(), [aggregate('control', '$assigned', 500), aggregate('b', '$assigned', 500)]), undefined);
  });

  it('when sending raises conversions over the holdout, then each variant is compared with the holdout on the primary and guardrails, the verdict says sending helps, and the comparison between variants is unchanged', () => {
    const aggregates = [
      aggregate('control', '$assigned', 1000),
      aggregate('b', '$assigned', 1000),
      aggregate('holdout', '$assigned', 1000),
      aggregate('control', 'conversion', 150),
      aggregate('b', 'conversion', 160),
      aggregate('holdout', 'conversion', 50),
      aggregate('control', 'unsubscribe', 5),
      aggregate('b', 'unsubscribe', 6),
    ];
    const holdout = analyseHoldout(experiment(), aggregates)!;
    assert.equal(holdout.assigned, 1000);
    assert.deepEqual(holdout.metrics.map((m) => [m.metric, m.role]), [['conversion', 'primary'], ['unsubscribe', 'guardrail']]);
    const conversion = holdout.metrics[0];
    assert.equal(conversion.variants[0].variant, 'holdout');
    assert.equal(conversion.variants[0].value, 0.05);
    assert.deepEqual(conversion.comparisons.map((c) => [c.variant, c.baseline, c.better]), [['control', 'holdout', true], ['b', 'holdout', true]]);
    assert.equal(holdout.verdict, 'sending_helps');
    assert.deepEqual(holdout.helping, ['control', 'b']);

    const withHoldout = analyse(experiment(), aggregates, NOW).results;
    const without = analyse(experiment(), aggregates.filter((a) => a.variant !== 'holdout'), NOW).results;
    assert.deepEqual(withHoldout.metrics, without.metrics);
    assert.deepEqual(withHoldout.health, without.health);
  });

  it('when a sent variant lowers conversions against the holdout and none raises them, then sending hurts', () => {
    const aggregates = [
      aggregate('control', '$assigned', 1000),
      aggregate('b', '$assigned', 1000),
      aggregate('holdout', '$assigned', 1000),
      aggregate('control', 'conversion', 52),
      aggregate('b', 'conversion', 20),
      aggregate('holdout', 'conversion', 50),
      aggregate('b', 'unsubscribe', 60),
    ];
    const holdout = analyseHoldout(experiment(), aggregates)!;
    assert.equal(holdout.verdict, 'sending_hurts');
    assert.deepEqual(holdout.hurting, ['b']);
    assert.ok(holdout.reasons.some((r) => r.includes('Sending "b" lowers the conversion rate')));
  });

  it('when the primary metric is measured on the message itself (opens), then the comparison is shown but the verdict stays inconclusive and says why', () => {
    const record = { ...experiment(), metrics: { primary: 'email_open', secondary: [], guardrails: ['unsubscribe'], custom: [] } };
    const holdout = analyseHoldout(record, [
      aggregate('control', '$assigned', 1000),
      aggregate('b', '$assigned', 1000),
      aggregate('holdout', '$assigned', 1000),
      aggregate('control', 'email_open', 400),
      aggregate('b', 'email_open', 450),
    ])!;
    assert.equal(holdout.verdict, 'inconclusive');
    assert.equal(holdout.metrics[0].comparisons[0].better, true);
    assert.match(holdout.reasons[0], /measured on the message itself/);
  });
});
