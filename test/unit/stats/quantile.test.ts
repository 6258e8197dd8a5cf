import assert from 'node:assert/strict';
import {
  addToQuantileSketch,
  emptyQuantileSketch,
  mergeQuantileSketches,
  quantileEstimate,
  quantileSketchOf,
  quantileTest,
  sketchBucketOf,
  sketchQuantile,
  validateQuantileSketch,
} from '../../../src/stats';
import { assertClose, assertNoNaN, normalDraw, parkMiller } from './helpers';

/** Hours to resolution, lognormal: exp(mu + sigma·N(0, 1)). */
function hours(seed: number, n: number, mu: number, sigma: number): number[] {
  const u = parkMiller(seed);
  return Array.from({ length: n }, () => Math.exp(mu + sigma * normalDraw(u)));
}

// Reference values from NumPy/SciPy on the same draws (park_miller and Box–Muller ported as in helpers.ts):
//   qc = lognormal(101, 2000, 1.5, 0.8); qt = lognormal(202, 1800, 1.35, 0.8)
//   exact = {q: [np.quantile(qc, q), np.quantile(qt, q)] for q in [0.01, 0.1, 0.25, 0.5, 0.9, 0.99]}
const EXACT: Record<string, [number, number]> = {
  '0.01': [0.6872991864410033, 0.6340116161353312],
  '0.1': [1.591551962281054, 1.3973146165739398],
  '0.25': [2.6083265955759267, 2.2696449173461333],
  '0.5': [4.4774614968452, 3.916151641308809],
  '0.9': [12.558092603953229, 10.582999176699902],
  '0.99': [28.87662043373881, 26.033510584592673],
};
// The median test on the exact values:
//   s = np.sort(v); n = len(s); zc = scipy.stats.norm.ppf(0.975); spread = zc * sqrt(n*q*(1-q))
//   lo = clip(floor(n*q - spread), 1, n); hi = clip(ceil(n*q + spread), 1, n)
//   ci = [s[lo-1], s[hi-1]]; variance = ((ci[1] - ci[0]) / (2*zc))**2
//   z = (et - ec) / sqrt(vc + vt); p = 2 * scipy.stats.norm.sf(abs(z))
const MEDIAN_TEST = {
  control: { estimate: 4.4774614968452, ci: [4.303680236644246, 4.694601619675337], variance: 0.009945409728700895 },
  treatment: { estimate: 3.916151641308809, ci: [3.7177813149664787, 4.092195492260031], variance: 0.009123225231728316 },
  z: -4.0648344742317315,
  p: 4.806656257766547e-5,
};
// Signed values with zeros: u = park_miller(7); each value is 0.0 unless u() > 0.1, else
// (-1 if u() < 0.3 else 1) * exp(N(0, 1)); {q: np.quantile(mixed, q) for q in [0.05, 0.2, 0.75, 0.95]}
const MIXED: Record<string, number> = { '0.05': -2.5003387333067213, '0.2': -0.6507184574629918, '0.75': 1.2574467885003024, '0.95': 4.42551928636976 };

function within(actual: number, expected: number, relative: number, label: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${label}: ${actual} is not within ${relative * 100}% of ${expected}`);
}

describe('quantile metrics (DDSketch, order-statistic interval)', () => {
  const control = hours(101, 2000, 1.5, 0.8);
  const treatment = hours(202, 1800, 1.35, 0.8);

  it('when values are sketched, then every quantile is within 0.5% of numpy.quantile on the exact values', () => {
    const sketches = [quantileSketchOf(control), quantileSketchOf(treatment)];
    for (const [q, expected] of Object.entries(EXACT)) {
      expected.forEach((value, arm) => within(sketchQuantile(sketches[arm], Number(q)), value, 0.005, `q=${q} arm ${arm}`));
    }
  });

  it('when a sketch is stored, then it is a plain object with few keys and bucket keys a MongoDB document accepts', () => {
    const sketch = quantileSketchOf(control);
    assert.deepEqual(Object.keys(sketch).sort(), ['max', 'min', 'n', 'neg', 'pos', 'zero']);
    const keys = Object.keys(sketch.pos);
    assert.ok(keys.length > 50 && keys.length < 1000, `${keys.length} buckets`);
    for (const key of keys) assert.match(key, /^-?\d+$/);
    assert.deepEqual(JSON.parse(JSON.stringify(sketch)), sketch);
    assert.match(sketchBucketOf(4.2), /^pos\.\d+$/);
    assert.match(sketchBucketOf(-0.5), /^neg\.-\d+$/);
    assert.equal(sketchBucketOf(0), 'zero');
  });

  it('when sketches of parts are merged, then the result equals the sketch of all values', () => {
    const whole = quantileSketchOf([...control, ...treatment]);
    const merged = mergeQuantileSketches([quantileSketchOf(control.slice(0, 700)), quantileSketchOf(control.slice(700)), quantileSketchOf(treatment)]);
    assert.equal(merged.n, whole.n);
    assert.deepEqual(merged.pos, whole.pos);
    assert.equal(merged.min, whole.min);
    assert.equal(merged.max, whole.max);
    assert.equal(sketchQuantile(merged, 0.5), sketchQuantile(whole, 0.5));
  });

  it('when values are negative, positive and zero, then quantiles stay within 0.5% of numpy.quantile', () => {
    const u = parkMiller(7);
    const values = Array.from({ length: 1000 }, () => {
      if (!(u() > 0.1)) return 0;
      const sign = u() < 0.3 ? -1 : 1;
      return sign * Math.exp(normalDraw(u));
    });
    const sketch = quantileSketchOf(values);
    assert.ok(sketch.zero > 50 && Object.keys(sketch.neg).length > 0);
    for (const [q, expected] of Object.entries(MIXED)) within(sketchQuantile(sketch, Number(q)), expected, 0.005, `q=${q}`);
  });

  it('when two medians are compared, then the intervals, variances, z and p agree with SciPy on the exact values', () => {
    const r = quantileTest({ control: quantileSketchOf(control), treatment: quantileSketchOf(treatment), quantile: 0.5 });
    for (const arm of ['control', 'treatment'] as const) {
      within(r[arm].estimate, MEDIAN_TEST[arm].estimate, 0.005, `${arm} estimate`);
      within(r[arm].ci[0], MEDIAN_TEST[arm].ci[0], 0.005, `${arm} ci lower`);
      within(r[arm].ci[1], MEDIAN_TEST[arm].ci[1], 0.005, `${arm} ci upper`);
      // The variance is a squared difference of two order statistics, each within 0.5%.
      within(r[arm].variance, MEDIAN_TEST[arm].variance, 0.25, `${arm} variance`);
    }
    assert.equal(r.control.n, 2000);
    assert.ok(Math.abs(r.zScore - MEDIAN_TEST.z) < 0.3, `z ${r.zScore} vs ${MEDIAN_TEST.z}`);
    assert.ok(r.pValue < 0.001 && MEDIAN_TEST.p < 0.001);
    assert.equal(r.significant, true);
    assertClose(r.difference, r.treatment.estimate - r.control.estimate, 'difference');
    assertClose(r.relativeLift!, r.treatment.estimate / r.control.estimate - 1, 'relativeLift');
    assert.ok(r.ci[0] < r.difference && r.difference < r.ci[1] && r.ci[1] < 0);
    assertNoNaN(r);
  });

  it('when the interval is computed from the exact order statistics, then it reproduces the SciPy figures (the formula, without sketch error)', () => {
    // A sketch of one distinct value per bucket reads back each value within 0.5%; the formula itself is
    // checked here on ranks: n = 2000, q = 0.5 → ranks floor(1000 − 1.96·√500) = 956 and ceil(1043.8) = 1044.
    const sorted = [...control].sort((a, b) => a - b);
    assertClose(sorted[955], MEDIAN_TEST.control.ci[0], 'rank 956');
    assertClose(sorted[1043], MEDIAN_TEST.control.ci[1], 'rank 1044');
    const estimate = quantileEstimate(quantileSketchOf(control), 0.5);
    within(estimate.ci[0], sorted[955], 0.005, 'sketch rank 956');
    within(estimate.ci[1], sorted[1043], 0.005, 'sketch rank 1044');
  });

  it('when every value is the same, then the estimate is that value exactly and equal arms give z = 0', () => {
    const sketch = quantileSketchOf([3, 3, 3, 3]);
    assert.equal(sketchQuantile(sketch, 0.5), 3);
    const r = quantileTest({ control: sketch, treatment: sketch, quantile: 0.9 });
    assert.equal(r.zScore, 0);
    assert.equal(r.pValue, 1);
    assert.deepEqual(r.control.ci, [3, 3]);
  });

  it('when a sketch is empty, malformed or q is outside (0, 1), then a RangeError names the field', () => {
    assert.throws(() => sketchQuantile(emptyQuantileSketch(), 0.5), /holds no values/);
    assert.throws(() => sketchQuantile(quantileSketchOf([1, 2]), 1), /quantile must be in \(0, 1\)/);
    assert.throws(() => validateQuantileSketch({ n: 3, zero: 0, pos: { '5': 2 }, neg: {}, min: 1, max: 2 }, 'sketch'), /sketch\.n is 3 but its buckets count 2/);
    assert.throws(() => validateQuantileSketch({ n: 1, zero: 0, pos: { 'a.b': 1 }, neg: {}, min: 1, max: 1 }, 'sketch'), /not a bucket index/);
    assert.throws(() => addToQuantileSketch(emptyQuantileSketch(), Infinity), /value must be a finite number/);
    assert.throws(() => quantileTest({ control: emptyQuantileSketch(), treatment: quantileSketchOf([1, 2]), quantile: 0.5 }), /control holds no values/);
  });
});
