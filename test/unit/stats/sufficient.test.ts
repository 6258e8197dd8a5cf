import assert from 'node:assert/strict';
import {
  chiSquareIndependence,
  histogramToArray,
  mannWhitneyTest,
  meanStatsFromHistogram,
  meanStatsFromSums,
  npsCountsFromHistogram,
  npsTest,
  proportionFromCounts,
  responseRateTable,
  topBoxCounts,
  twoProportionTest,
  welchTTest,
} from '../../../src/stats';

function throwsNaming(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RangeError && e.message.includes(field));
}

describe('stats sufficient-statistics helpers', () => {
  it('when sums come from constant values with rounding noise, then the variance is 0, never negative', () => {
    const x = 0.1;
    const n = 1_000_003;
    const r = meanStatsFromSums({ count: n, sum: x * n, sumSquares: x * x * n * (1 - 1e-15) });
    assert.equal(r.variance, 0);
    assert.ok(Math.abs(r.mean - 0.1) < 1e-15);
  });

  it('when sums are impossible or too few, then a RangeError names the field', () => {
    throwsNaming(() => meanStatsFromSums({ count: 1, sum: 3, sumSquares: 9 }), 'count');
    throwsNaming(() => meanStatsFromSums({ count: 10, sum: 100, sumSquares: 500 }), 'sumSquares');
    throwsNaming(() => meanStatsFromSums({ count: 10, sum: 1, sumSquares: -1 }), 'sumSquares');
    throwsNaming(() => meanStatsFromSums({ count: 10, sum: Number.NaN, sumSquares: 1 }), 'sum');
  });

  it('when a CSAT histogram is turned into an array, then counts land on their scale points', () => {
    assert.deepEqual(histogramToArray({ '1': 3, '5': 10, '4': 2 }, 1, 5), [3, 0, 0, 2, 10]);
    assert.deepEqual(histogramToArray({}, 1, 7), [0, 0, 0, 0, 0, 0, 0]);
    throwsNaming(() => histogramToArray({ '6': 1 }, 1, 5), 'histogram["6"]');
    throwsNaming(() => histogramToArray({ abc: 1 }, 1, 5), 'histogram["abc"]');
    throwsNaming(() => histogramToArray({ '2': -1 }, 1, 5), 'histogram["2"]');
    throwsNaming(() => histogramToArray({ '2.5': 1 }, 1, 5), 'histogram["2.5"]');
  });

  it('when an NPS histogram is split, then 9–10 are promoters, 7–8 passives and 0–6 detractors', () => {
    const counts = npsCountsFromHistogram({ '0': 1, '6': 2, '7': 3, '8': 4, '9': 5, '10': 6 });
    assert.deepEqual(counts, { promoters: 11, passives: 7, detractors: 3 });
    const r = npsTest({ control: counts, treatment: counts });
    assert.equal(r.controlNps, (100 * 8) / 21);
  });

  it('when the NPS variance formula is compared with the +100/0/−100 recoding, then they agree', () => {
    const counts = { promoters: 37, passives: 21, detractors: 42 };
    const values = [
      ...Array<number>(counts.promoters).fill(100),
      ...Array<number>(counts.passives).fill(0),
      ...Array<number>(counts.detractors).fill(-100),
    ];
    const n = values.length;
    const m = values.reduce((a, b) => a + b, 0) / n;
    const populationVariance = values.reduce((a, v) => a + (v - m) ** 2, 0) / n;
    const other = { promoters: 1, passives: 0, detractors: 0 }; // variance 0
    const r = npsTest({ control: counts, treatment: other });
    assert.ok(Math.abs(r.standardError ** 2 - populationVariance / n) < 1e-9);
  });

  it('when CSAT top-2-box is computed, then scores 4 and 5 are successes out of all responses', () => {
    assert.deepEqual(topBoxCounts({ '1': 3, '2': 1, '3': 4, '4': 6, '5': 10 }, 4), { successes: 16, trials: 24 });
    const control = topBoxCounts({ '3': 50, '4': 30, '5': 20 }, 4);
    const treatment = topBoxCounts({ '3': 30, '4': 40, '5': 30 }, 4);
    const r = twoProportionTest({ control, treatment });
    assert.equal(r.controlRate, 0.5);
    assert.equal(r.treatmentRate, 0.7);
  });

  it('when a histogram is summarised, then mean and n − 1 variance are exact and feed welchTTest', () => {
    const r = meanStatsFromHistogram({ '1': 1, '2': 1, '3': 1, '4': 1, '5': 1 });
    assert.deepEqual(r, { n: 5, mean: 3, variance: 2.5 });
    assert.deepEqual(meanStatsFromHistogram({ '4': 1_000_000 }), { n: 1_000_000, mean: 4, variance: 0 });
    throwsNaming(() => meanStatsFromHistogram({ '4': 1 }), 'histogram');
    const t = welchTTest({ control: r, treatment: meanStatsFromHistogram({ '3': 2, '4': 2, '5': 2 }) });
    assert.ok(t.pValue > 0.05);
  });

  it('when histograms feed Mann–Whitney, then histogramToArray aligns both on one scale', () => {
    const control = histogramToArray({ '1': 5, '2': 5, '3': 10 }, 1, 5);
    const treatment = histogramToArray({ '3': 8, '4': 7, '5': 5 }, 1, 5);
    const r = mannWhitneyTest({ control, treatment });
    assert.ok(r.zScore > 0);
  });

  it('when assigned/units aggregates are converted, then the proportion and response-rate table are right', () => {
    assert.deepEqual(proportionFromCounts({ units: 40, assigned: 1000 }), { successes: 40, trials: 1000 });
    throwsNaming(() => proportionFromCounts({ units: 41, assigned: 40 }), 'units must not exceed assigned');
    const table = responseRateTable([
      { units: 120, assigned: 1000 },
      { units: 180, assigned: 1000 },
    ]);
    assert.deepEqual(table, [
      [120, 880],
      [180, 820],
    ]);
    assert.ok(chiSquareIndependence(table).pValue < 0.001);
    throwsNaming(() => responseRateTable([{ units: 5, assigned: 4 }]), 'variants[0].units');
  });
});
