import assert from 'node:assert/strict';
import {
  adjustPValues,
  alwaysValidPValue,
  chanceToBeatControl,
  chiSquareIndependence,
  mannWhitneyTest,
  npsTest,
  sampleSizeForMeans,
  sampleSizePerVariant,
  srmTest,
  twoProportionTest,
  welchTTest,
  type PValueAdjustmentMethod,
} from '../../../src/stats';

/** Asserts a RangeError whose message contains `field`. */
function throwsNaming(fn: () => unknown, field: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RangeError, `expected RangeError, got ${String(error)}`);
    if (typeof field === 'string') assert.ok(error.message.includes(field), `"${error.message}" does not name ${field}`);
    else assert.match(error.message, field);
    return true;
  });
}

const ok = { successes: 5, trials: 10 };
const mean = { n: 10, mean: 1, variance: 1 };
const nps = { promoters: 1, passives: 1, detractors: 1 };

describe('stats input validation', () => {
  it('when successes exceed trials, then a RangeError names the field', () => {
    throwsNaming(() => twoProportionTest({ control: { successes: 11, trials: 10 }, treatment: ok }), 'control.successes must not exceed control.trials');
    throwsNaming(() => chanceToBeatControl({ control: ok, treatment: { successes: 3, trials: 2 } }), 'treatment.successes must not exceed treatment.trials');
  });

  it('when counts are negative, fractional or trials are 0, then a RangeError names the field', () => {
    throwsNaming(() => twoProportionTest({ control: { successes: -1, trials: 10 }, treatment: ok }), 'control.successes');
    throwsNaming(() => twoProportionTest({ control: ok, treatment: { successes: 1.5, trials: 10 } }), 'treatment.successes');
    throwsNaming(() => twoProportionTest({ control: { successes: 0, trials: 0 }, treatment: ok }), 'control.trials');
    throwsNaming(() => npsTest({ control: { promoters: -2, passives: 1, detractors: 1 }, treatment: nps }), 'control.promoters');
    throwsNaming(() => npsTest({ control: nps, treatment: { promoters: 0, passives: 0, detractors: 0 } }), 'treatment');
  });

  it('when alpha is outside (0, 1), then a RangeError names alpha', () => {
    for (const alpha of [0, 1, -0.1, 1.5, Number.NaN]) {
      throwsNaming(() => twoProportionTest({ control: ok, treatment: ok, alpha }), 'alpha');
      throwsNaming(() => welchTTest({ control: mean, treatment: mean, alpha }), 'alpha');
      throwsNaming(() => npsTest({ control: nps, treatment: nps, alpha }), 'alpha');
    }
  });

  it('when n < 2 or the variance is negative, then welchTTest names the field', () => {
    throwsNaming(() => welchTTest({ control: { n: 1, mean: 1, variance: 0 }, treatment: mean }), 'control.n');
    throwsNaming(() => welchTTest({ control: mean, treatment: { n: 5, mean: 1, variance: -1 } }), 'treatment.variance');
    throwsNaming(() => welchTTest({ control: mean, treatment: { n: 5, mean: Number.NaN, variance: 1 } }), 'treatment.mean');
  });

  it('when histograms are malformed, then mannWhitneyTest names the field', () => {
    throwsNaming(() => mannWhitneyTest({ control: [1, 2, 3], treatment: [1, 2] }), 'same number of scale points');
    throwsNaming(() => mannWhitneyTest({ control: [1, -2, 3], treatment: [1, 2, 3] }), 'control[1]');
    throwsNaming(() => mannWhitneyTest({ control: [1, 2, 3], treatment: [0, 0, 0] }), 'treatment');
  });

  it('when SRM or contingency inputs are malformed, then the field is named', () => {
    throwsNaming(() => srmTest({ observed: [10, 20], weights: [1] }), 'weights');
    throwsNaming(() => srmTest({ observed: [10, 20], weights: [1, 0] }), 'weights[1]');
    throwsNaming(() => srmTest({ observed: [10, -20], weights: [1, 1] }), 'observed[1]');
    throwsNaming(() => srmTest({ observed: [10], weights: [1] }), 'observed');
    throwsNaming(() => chiSquareIndependence([[1, 2]]), 'table');
    throwsNaming(() => chiSquareIndependence([[1, 2], [3]]), 'table[1]');
    throwsNaming(() => chiSquareIndependence([[1, 2], [3, -4]]), 'table[1][1]');
  });

  it('when p-values or the method are invalid, then adjustPValues names them', () => {
    throwsNaming(() => adjustPValues([0.1, 1.2], 'holm'), 'pValues[1]');
    throwsNaming(() => adjustPValues([0.1], 'bonferroni' as PValueAdjustmentMethod), 'method');
  });

  it('when the sequential inputs are invalid, then alwaysValidPValue names the field', () => {
    throwsNaming(() => alwaysValidPValue({ difference: 0.1, variance: 0 }), 'variance');
    throwsNaming(() => alwaysValidPValue({ difference: 0.1, variance: 1, tau2: -1 }), 'tau2');
    throwsNaming(() => alwaysValidPValue({ difference: Number.POSITIVE_INFINITY, variance: 1 }), 'difference');
  });

  it('when sample-size inputs are impossible, then the field is named', () => {
    throwsNaming(() => sampleSizePerVariant({ baselineRate: 0, minimumDetectableEffect: 0.1 }), 'baselineRate');
    throwsNaming(() => sampleSizePerVariant({ baselineRate: 0.6, minimumDetectableEffect: 1 }), 'minimumDetectableEffect');
    throwsNaming(() => sampleSizePerVariant({ baselineRate: 0.1, minimumDetectableEffect: 0 }), 'minimumDetectableEffect');
    throwsNaming(() => sampleSizePerVariant({ baselineRate: 0.1, minimumDetectableEffect: 0.1, power: 1 }), 'power');
    throwsNaming(() => sampleSizeForMeans({ standardDeviation: 0, minimumDetectableDifference: 1 }), 'standardDeviation');
    throwsNaming(() => sampleSizeForMeans({ standardDeviation: 1, minimumDetectableDifference: 0 }), 'minimumDetectableDifference');
  });

  it('when defaults are omitted, then alpha = 0.05 and power = 0.8 are used', () => {
    assert.deepEqual(
      sampleSizePerVariant({ baselineRate: 0.1, minimumDetectableEffect: 0.2 }),
      sampleSizePerVariant({ baselineRate: 0.1, minimumDetectableEffect: 0.2, alpha: 0.05, power: 0.8 }),
    );
    // Classic textbook value: σ = 1, δ = 0.5, α = 0.05, power 0.8 → 63 per group.
    assert.deepEqual(sampleSizeForMeans({ standardDeviation: 1, minimumDetectableDifference: 0.5 }), { n: 63 });
  });
});
