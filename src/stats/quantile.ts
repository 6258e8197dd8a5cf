// Quantile metrics ("median hours to resolution"): a mergeable sketch kept in the aggregates, the
// q-quantile estimated from it, its interval and the test of two quantiles.
//
// Sketch: DDSketch (Masson, Rim & Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
// relative-error guarantees", VLDB 2019). Values fall in logarithmic buckets (γ^(i−1), γ^i] with
// γ = (1 + a)/(1 − a); the bucket's representative 2γ^i/(γ + 1) is within a (relative) of every value in
// it, so each order statistic is known within a = 0.5%. Merging adds bucket counts, so sketches of
// several aggregate documents (variants, slices, days) combine exactly.
//
// Interval and test: GrowthBook's event quantiles (https://docs.growthbook.io/statistics/quantile): the
// normal approximation to the distribution-free order-statistic interval, ranks n·q ± z·√(n·q·(1 − q))
// (Conover, Practical Nonparametric Statistics, 3rd ed., §3.2), whose width gives the variance of the
// estimate, ((upper − lower)/(2z))²; two independent quantiles are compared with a z-test.
import { normalQuantile } from './distributions';
import { independentDifference } from './independent-difference';
import { validateAlpha } from './proportions';
import type { Interval, QuantileEstimate, QuantileSketch, QuantileTestInput, QuantileTestResult } from './types';
import { fail, requireCount, requireFinite, requireObject, requireOpenUnit } from './validate';

/** Relative accuracy of every order statistic read from a sketch. */
export const SKETCH_RELATIVE_ACCURACY = 0.005;
const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Values with |value| below this count as zero; bucket indices then run from about −2,070 (1e-9) to 71,000 (the largest double). */
const MIN_INDEXABLE = 1e-9;

export function emptyQuantileSketch(): QuantileSketch {
  return { n: 0, zero: 0, pos: {}, neg: {}, min: null, max: null };
}

/**
 * Where a value is counted, as a path inside the sketch: "zero", "pos.<i>" or "neg.<i>". An aggregate
 * can then count it with `$inc: {"<sketch>.n": 1, "<sketch>.<path>": 1}` and `$min`/`$max` on min and max.
 */
export function sketchBucketOf(value: number): string {
  requireFinite(value, 'value');
  const magnitude = Math.abs(value);
  if (magnitude < MIN_INDEXABLE) return 'zero';
  const index = Math.ceil(Math.log(magnitude) / LOG_GAMMA);
  return `${value > 0 ? 'pos' : 'neg'}.${index}`;
}

/** Counts a value into the sketch, in place (for building one in memory); returns the sketch. */
export function addToQuantileSketch(sketch: QuantileSketch, value: number, count = 1): QuantileSketch {
  requireCount(count, 'count');
  const bucket = sketchBucketOf(value);
  sketch.n += count;
  if (bucket === 'zero') sketch.zero += count;
  else {
    const [store, key] = bucket.split('.') as ['pos' | 'neg', string];
    sketch[store][key] = (sketch[store][key] ?? 0) + count;
  }
  sketch.min = sketch.min === null ? value : Math.min(sketch.min, value);
  sketch.max = sketch.max === null ? value : Math.max(sketch.max, value);
  return sketch;
}

/** A sketch of these values. */
export function quantileSketchOf(values: readonly number[]): QuantileSketch {
  const sketch = emptyQuantileSketch();
  for (const value of values) addToQuantileSketch(sketch, value);
  return sketch;
}

function validateStore(value: unknown, field: string): { store: Record<string, number>; total: number } {
  const store = requireObject(value ?? {}, field);
  let total = 0;
  for (const [key, count] of Object.entries(store)) {
    if (!/^-?\d+$/.test(key)) fail(`${field}.${key} is not a bucket index`);
    total += requireCount(count, `${field}.${key}`);
  }
  return { store: store as Record<string, number>, total };
}

/** Validates a stored sketch: counts are non-negative integers that add up to n. */
export function validateQuantileSketch(value: unknown, field: string): QuantileSketch {
  const sketch = requireObject(value, field);
  const n = requireCount(sketch.n, `${field}.n`);
  const zero = requireCount(sketch.zero ?? 0, `${field}.zero`);
  const pos = validateStore(sketch.pos, `${field}.pos`);
  const neg = validateStore(sketch.neg, `${field}.neg`);
  const total = zero + pos.total + neg.total;
  if (total !== n) fail(`${field}.n is ${n} but its buckets count ${total}`);
  const min = sketch.min === null || sketch.min === undefined ? null : requireFinite(sketch.min, `${field}.min`);
  const max = sketch.max === null || sketch.max === undefined ? null : requireFinite(sketch.max, `${field}.max`);
  if (n > 0 && (min === null || max === null)) fail(`${field}.min and ${field}.max are needed when n > 0`);
  return { n, zero, pos: pos.store, neg: neg.store, min, max };
}

/** One sketch holding every value of the given ones (bucket counts added). */
export function mergeQuantileSketches(sketches: readonly QuantileSketch[]): QuantileSketch {
  const merged = emptyQuantileSketch();
  sketches.forEach((input, i) => {
    const sketch = validateQuantileSketch(input, `sketches[${i}]`);
    merged.n += sketch.n;
    merged.zero += sketch.zero;
    for (const store of ['pos', 'neg'] as const) {
      for (const [key, count] of Object.entries(sketch[store])) if (count > 0) merged[store][key] = (merged[store][key] ?? 0) + count;
    }
    if (sketch.min !== null) merged.min = merged.min === null ? sketch.min : Math.min(merged.min, sketch.min);
    if (sketch.max !== null) merged.max = merged.max === null ? sketch.max : Math.max(merged.max, sketch.max);
  });
  return merged;
}

/** The sketch's buckets in ascending order of value, with cumulative counts, for reading ranks. */
class OrderStatistics {
  private readonly values: number[] = [];
  private readonly cumulative: number[] = [];

  constructor(private readonly sketch: QuantileSketch) {
    const representative = (index: number) => (2 * Math.pow(GAMMA, index)) / (GAMMA + 1);
    const entries = (store: Record<string, number>) =>
      Object.entries(store)
        .filter(([, count]) => count > 0)
        .map(([key, count]) => [Number(key), count] as const);
    let running = 0;
    const push = (value: number, count: number) => {
      running += count;
      this.values.push(value);
      this.cumulative.push(running);
    };
    for (const [index, count] of entries(sketch.neg).sort((a, b) => b[0] - a[0])) push(-representative(index), count);
    if (sketch.zero > 0) push(0, sketch.zero);
    for (const [index, count] of entries(sketch.pos).sort((a, b) => a[0] - b[0])) push(representative(index), count);
  }

  /** The order statistic of 0-based rank k (0 ≤ k < n): exact at both ends, within 0.5% elsewhere. */
  at(k: number): number {
    const { min, max, n } = this.sketch;
    if (k <= 0) return min!;
    if (k >= n - 1) return max!;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > k) hi = mid;
      else lo = mid + 1;
    }
    return Math.min(max!, Math.max(min!, this.values[lo]));
  }
}

/**
 * The q-quantile of the sketched values by linear interpolation between the order statistics of ranks
 * ⌊(n − 1)q⌋ and ⌈(n − 1)q⌉ (numpy.quantile's default), within 0.5% of the exact sample quantile.
 */
export function sketchQuantile(input: QuantileSketch, q: number): number {
  const sketch = validateQuantileSketch(input, 'sketch');
  requireOpenUnit(q, 'quantile');
  if (sketch.n === 0) fail('sketch holds no values');
  return interpolated(new OrderStatistics(sketch), sketch.n, q);
}

function interpolated(order: OrderStatistics, n: number, q: number): number {
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const low = order.at(lo);
  return h === lo ? low : low + (h - lo) * (order.at(lo + 1) - low);
}

/**
 * The q-quantile of a sketch with its interval: the order statistics of 1-based ranks
 * ⌊n·q − z·√(n·q(1 − q))⌋ and ⌈n·q + z·√(n·q(1 − q))⌉ (clamped to 1…n), z = Φ⁻¹(1 − α/2), and the
 * variance ((upper − lower)/(2z))² that interval implies.
 */
export function quantileEstimate(input: QuantileSketch, q: number, alpha?: number, field = 'sketch'): QuantileEstimate {
  const sketch = validateQuantileSketch(input, field);
  requireOpenUnit(q, 'quantile');
  const level = validateAlpha(alpha);
  const { n } = sketch;
  if (n === 0) fail(`${field} holds no values`);
  const order = new OrderStatistics(sketch);
  const z = normalQuantile(1 - level / 2);
  const spread = z * Math.sqrt(n * q * (1 - q));
  const lowerRank = Math.min(n, Math.max(1, Math.floor(n * q - spread)));
  const upperRank = Math.min(n, Math.max(1, Math.ceil(n * q + spread)));
  const ci: Interval = [order.at(lowerRank - 1), order.at(upperRank - 1)];
  const halfWidth = (ci[1] - ci[0]) / (2 * z);
  return { n, estimate: interpolated(order, n, q), ci, variance: halfWidth * halfWidth };
}

/**
 * Difference of two independent q-quantiles: z = (q_T − q_C)/√(Var_T + Var_C) with the variances of
 * quantileEstimate, two-sided normal p-value; the relative lift q_T/q_C − 1 gets the delta-method
 * interval Var ≈ Var_T/q_C² + q_T²·Var_C/q_C⁴.
 */
export function quantileTest(input: QuantileTestInput): QuantileTestResult {
  const args = requireObject(input, 'input');
  const q = requireOpenUnit(args.quantile, 'quantile');
  const alpha = validateAlpha(args.alpha);
  const control = quantileEstimate(args.control as QuantileSketch, q, alpha, 'control');
  const treatment = quantileEstimate(args.treatment as QuantileSketch, q, alpha, 'treatment');

  const test = independentDifference(control, treatment, alpha);
  return { control, treatment, ...test, significant: test.pValue < alpha };
}
