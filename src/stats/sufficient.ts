/**
 * Sufficient-statistics helpers: turn the aggregates the service keeps per experiment × variant
 * × metric (`assigned`, `units`, `sum`, `sumSquares`, score `histogram`) into test inputs.
 */
import type { Histogram, MeanSample, NpsCounts, ProportionSample, SumStatistics, TopBoxCounts } from './types';
import { fail, requireCount, requireFinite, requireNonNegative, requireObject, requirePositiveCount } from './validate';

/**
 * {count, sum, sumSquares} → {n, mean, variance} with the sample variance (n − 1):
 * s² = (Σx² − (Σx)²/n)/(n − 1), clamped at 0 so rounding never makes it negative.
 * Throws when count < 2 or when Σx² is clearly below (Σx)²/n (impossible for real data).
 */
export function meanStatsFromSums(stats: SumStatistics): MeanSample {
  const args = requireObject(stats, 'stats');
  const n = requireCount(args.count, 'count');
  if (n < 2) fail('count must be at least 2 for a variance');
  const sum = requireFinite(args.sum, 'sum');
  const sumSquares = requireNonNegative(args.sumSquares, 'sumSquares');
  const mean = sum / n;
  const centered = sumSquares - sum * mean;
  if (centered < -1e-9 * Math.max(sumSquares, 1e-300)) fail('sumSquares must be at least sum² / count');
  return { n, mean, variance: Math.max(0, centered) / (n - 1) };
}

/** Parses an integer histogram key, naming it in errors. */
function scoreOf(key: string): number {
  const score = Number(key);
  if (key.trim() === '' || !Number.isInteger(score)) fail(`histogram["${key}"] must have an integer score as key`);
  return score;
}

function histogramEntries(histogram: Histogram): [number, number][] {
  const h = requireObject(histogram, 'histogram');
  return Object.keys(h).map((key) => [scoreOf(key), requireCount(h[key], `histogram["${key}"]`)]);
}

/** Histogram → counts per scale point min..max (index 0 = min). Scores outside the scale throw. */
export function histogramToArray(histogram: Histogram, min: number, max: number): number[] {
  if (!Number.isSafeInteger(min)) fail('min must be an integer');
  if (!Number.isSafeInteger(max)) fail('max must be an integer');
  if (max < min) fail('max must not be less than min');
  if (max - min > 1000) fail('max − min must be at most 1000 scale points');
  const counts = new Array<number>(max - min + 1).fill(0);
  for (const [score, count] of histogramEntries(histogram)) {
    if (score < min || score > max) fail(`histogram["${score}"] is outside the scale ${min}–${max}`);
    counts[score - min] += count;
  }
  return counts;
}

/** NPS histogram (scores 0–10) → {promoters: 9–10, passives: 7–8, detractors: 0–6}. */
export function npsCountsFromHistogram(histogram: Histogram): NpsCounts {
  const counts = histogramToArray(histogram, 0, 10);
  const sum = (from: number, to: number) => counts.slice(from, to + 1).reduce((a, b) => a + b, 0);
  return { promoters: sum(9, 10), passives: sum(7, 8), detractors: sum(0, 6) };
}

/**
 * Top-box counts: successes = responses scoring ≥ threshold, trials = all responses.
 * CSAT top-2-box on a 1–5 scale is topBoxCounts(histogram, 4).
 */
export function topBoxCounts(histogram: Histogram, threshold: number): TopBoxCounts {
  requireFinite(threshold, 'threshold');
  let successes = 0;
  let trials = 0;
  for (const [score, count] of histogramEntries(histogram)) {
    trials += count;
    if (score >= threshold) successes += count;
  }
  return { successes, trials };
}

/** Histogram → {n, mean, variance (n − 1)} of the scores, computed in two passes (exact for integer scores). */
export function meanStatsFromHistogram(histogram: Histogram): MeanSample {
  const entries = histogramEntries(histogram);
  const n = entries.reduce((a, [, c]) => a + c, 0);
  if (n < 2) fail('histogram must hold at least 2 responses for a variance');
  const mean = entries.reduce((a, [s, c]) => a + s * c, 0) / n;
  const ss = entries.reduce((a, [s, c]) => a + c * (s - mean) * (s - mean), 0);
  return { n, mean, variance: Math.max(0, ss) / (n - 1) };
}

/** Conversion metric: customers with ≥ 1 event (`units`) out of customers assigned. */
export function proportionFromCounts(input: { units: number; assigned: number }): ProportionSample {
  const args = requireObject(input, 'input');
  const units = requireCount(args.units, 'units');
  const assigned = requirePositiveCount(args.assigned, 'assigned');
  if (units > assigned) fail('units must not exceed assigned');
  return { successes: units, trials: assigned };
}

/**
 * Survey response-rate table for chiSquareIndependence: one row per variant,
 * columns [responders, non-responders].
 */
export function responseRateTable(variants: readonly { units: number; assigned: number }[]): number[][] {
  const given: unknown = variants; // checked as given: JavaScript callers may pass anything
  if (!Array.isArray(given)) fail('variants must be an array');
  return variants.map((v, i) => {
    const units = requireCount(v?.units, `variants[${i}].units`);
    const assigned = requireCount(v.assigned, `variants[${i}].assigned`);
    if (units > assigned) fail(`variants[${i}].units must not exceed variants[${i}].assigned`);
    return [units, assigned - units];
  });
}
