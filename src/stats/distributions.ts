/**
 * Thin wrappers over @stdlib distributions. Tail probabilities are computed directly
 * (CDF at −|x|, upper regularised incomplete gamma) rather than as 1 − CDF, so they keep
 * full relative precision down to ~1e-300.
 */
import normal = require('@stdlib/stats-base-dists-normal');
import studentT = require('@stdlib/stats-base-dists-t');
import gammainc = require('@stdlib/math-base-special-gammainc');

/** Two-sided normal p-value 2·Φ(−|z|), capped at 1. */
export function normalTwoSidedPValue(z: number): number {
  if (Number.isNaN(z)) return 1;
  return Math.min(1, 2 * normal.cdf(-Math.abs(z), 0, 1));
}

/** Standard normal quantile Φ⁻¹(p). */
export function normalQuantile(p: number): number {
  return normal.quantile(p, 0, 1);
}

/** Two-sided Student t p-value 2·F_df(−|t|), capped at 1. */
export function tTwoSidedPValue(t: number, df: number): number {
  if (Number.isNaN(t)) return 1;
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, 2 * studentT.cdf(-Math.abs(t), df));
}

/** Student t quantile F_df⁻¹(p). */
export function tQuantile(p: number, df: number): number {
  return studentT.quantile(p, df);
}

/** Chi-square survival function P(X ≥ x) = Q(df/2, x/2) (upper regularised incomplete gamma). */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(x > 0)) return 1;
  if (!Number.isFinite(x)) return 0;
  return Math.min(1, gammainc(x / 2, df / 2, true, true));
}
