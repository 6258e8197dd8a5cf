// Capping (winsorization) of per-customer totals, as GrowthBook and Statsig do for mean metrics: totals
// above the cap count as the cap, so one customer with a huge basket cannot decide an experiment. The
// cap is a fixed value, or a percentile of the totals of all customers of the experiment pooled (every
// variant together, so the cap is the same for all of them and does not depend on the treatment).
import { sketchQuantile } from './quantile';
import type { Capping, QuantileSketch, SumStatistics } from './types';
import { fail, requireArray, requireFinite, requireObject } from './validate';

export function validateCapping(value: unknown, field = 'capping'): Capping {
  const capping = requireObject(value, field);
  if (capping.type === 'absolute') return { type: 'absolute', value: requireFinite(capping.value, `${field}.value`) };
  if (capping.type === 'percentile') {
    const p = capping.value;
    if (typeof p !== 'number' || !(p > 0 && p < 1)) fail(`${field}.value must be in (0, 1) for a percentile cap`);
    return { type: 'percentile', value: p };
  }
  fail(`${field}.type must be "absolute" or "percentile"`);
}

/** The exact sample q-quantile, q in [0, 1], by linear interpolation between order statistics (numpy.quantile's default). */
export function sampleQuantile(values: readonly number[], q: number): number {
  requireArray(values, 'values');
  if (values.length === 0) fail('values must not be empty');
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) fail('q must be in [0, 1]');
  const sorted = values.map((v, i) => requireFinite(v, `values[${i}]`)).sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return h === lo ? sorted[lo] : sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

/** The cap for these pooled per-customer totals (customers without an event count with total 0). */
export function capValue(input: Capping, pooledTotals: readonly number[]): number {
  const capping = validateCapping(input);
  if (capping.type === 'absolute') return capping.value;
  return pooledTotals.length === 0 ? 0 : sampleQuantile(pooledTotals, capping.value);
}

/** The cap read from a sketch of the pooled totals (within 0.5% of the exact percentile), for large experiments. */
export function capValueFromSketch(input: Capping, pooled: QuantileSketch): number {
  const capping = validateCapping(input);
  if (capping.type === 'absolute') return capping.value;
  return pooled.n === 0 ? 0 : sketchQuantile(pooled, capping.value);
}

/** Count, sum and sum of squares of the totals, each at most `cap`; `capped` is how many were lowered. */
export function cappedSumStatistics(totals: readonly number[], cap: number): SumStatistics & { capped: number } {
  requireFinite(cap, 'cap');
  let sum = 0;
  let sumSquares = 0;
  let capped = 0;
  totals.forEach((raw, i) => {
    const total = requireFinite(raw, `totals[${i}]`);
    const value = total > cap ? cap : total;
    if (total > cap) capped++;
    sum += value;
    sumSquares += value * value;
  });
  return { count: totals.length, sum, sumSquares, capped };
}

/**
 * Caps the per-customer totals of every arm with one cap (a percentile cap over all arms pooled) and
 * reports it: `{cap, arms: [{count, sum, sumSquares, capped}]}`, ready for meanStatsFromSums.
 */
export function applyCapping(capping: Capping, arms: readonly (readonly number[])[]): { cap: number; arms: (SumStatistics & { capped: number })[] } {
  requireArray(arms, 'arms');
  const cap = capValue(capping, arms.flat());
  return { cap, arms: arms.map((totals) => cappedSumStatistics(totals, cap)) };
}
