import { independentDifference } from './independent-difference';
import { validateAlpha } from './proportions';
import type { RatioSample, RatioSums, RatioTestInput, RatioTestResult } from './types';
import { fail, requireFinite, requireNonNegative, requireObject } from './validate';

/** Validates per-customer sums: integer n ≥ 2, finite sums, non-negative sums of squares. */
export function validateRatioSums(value: unknown, field: string): RatioSums {
  const sums = requireObject(value, field);
  const n = sums.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) fail(`${field}.n must be an integer`);
  if (n < 2) fail(`${field}.n must be at least 2 for a variance`);
  return {
    n,
    sumX: requireFinite(sums.sumX, `${field}.sumX`),
    sumY: requireFinite(sums.sumY, `${field}.sumY`),
    sumX2: requireNonNegative(sums.sumX2, `${field}.sumX2`),
    sumY2: requireNonNegative(sums.sumY2, `${field}.sumY2`),
    sumXY: requireFinite(sums.sumXY, `${field}.sumXY`),
  };
}

/**
 * A ratio metric R = x̄/ȳ = Σx/Σy from per-customer sums, with the delta-method variance
 * Var(R) = (s²x − 2R·sxy + R²·s²y) / (n·ȳ²) (sample variances and covariance with n − 1; GrowthBook
 * and Statsig ratio metrics, Deng, Knoblich & Lu 2018). Throws when Σy is 0 (no denominator).
 */
export function ratioStatsFromSums(input: RatioSums, field = 'sums'): RatioSample {
  const { n, sumX, sumY, sumX2, sumY2, sumXY } = validateRatioSums(input, field);
  if (sumY === 0) fail(`${field}.sumY must not be 0: a ratio needs a denominator`);
  const meanX = sumX / n;
  const meanY = sumY / n;
  const ratio = sumX / sumY;
  // Rounding can leave a variance a hair below 0 for constant values; clamp it.
  const varX = Math.max(0, (sumX2 - n * meanX * meanX) / (n - 1));
  const varY = Math.max(0, (sumY2 - n * meanY * meanY) / (n - 1));
  const covXY = (sumXY - n * meanX * meanY) / (n - 1);
  const variance = Math.max(0, (varX - 2 * ratio * covXY + ratio * ratio * varY) / (n * meanY * meanY));
  return { n, ratio, variance };
}

/**
 * z-test of two independent ratios: z = (R_T − R_C) / √(Var(R_T) + Var(R_C)), two-sided normal p-value.
 * The relative lift R_T/R_C − 1 gets the delta-method interval with Var ≈ Var(R_T)/R_C² + R_T²·Var(R_C)/R_C⁴.
 */
export function ratioTest(input: RatioTestInput): RatioTestResult {
  const args = requireObject(input, 'input');
  const control = ratioStatsFromSums(args.control as RatioSums, 'control');
  const treatment = ratioStatsFromSums(args.treatment as RatioSums, 'treatment');
  const alpha = validateAlpha(args.alpha);

  const test = independentDifference({ estimate: control.ratio, variance: control.variance }, { estimate: treatment.ratio, variance: treatment.variance }, alpha);
  return { controlRatio: control.ratio, treatmentRatio: treatment.ratio, ...test, significant: test.pValue < alpha };
}
