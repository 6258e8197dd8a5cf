// CUPED (Deng, Xu, Kohavi & Walker, "Improving the sensitivity of online controlled experiments by
// utilizing pre-experiment data", WSDM 2013): the covariate X is the same metric's per-customer value
// before assignment. θ = cov(Y, X)/var(X) over all arms pooled, each value adjusted as Y − θ(X − X̄) with
// X̄ the pooled covariate mean, and the arms compared on the adjusted values; the variance shrinks by
// about 1 − ρ². Everything here comes from per-arm sums, so it works on aggregates.
import { welchTTest } from './means';
import type { CupedArm, CupedResult, CupedSums, MeanSample, WelchTTestResult } from './types';
import { fail, requireArray, requireFinite, requireNonNegative, requireObject } from './validate';

export function validateCupedSums(value: unknown, field: string): CupedSums {
  const sums = requireObject(value, field);
  const n = sums.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) fail(`${field}.n must be an integer`);
  if (n < 2) fail(`${field}.n must be at least 2 for a variance`);
  return {
    n,
    sumY: requireFinite(sums.sumY, `${field}.sumY`),
    sumX: requireFinite(sums.sumX, `${field}.sumX`),
    sumY2: requireNonNegative(sums.sumY2, `${field}.sumY2`),
    sumX2: requireNonNegative(sums.sumX2, `${field}.sumX2`),
    sumXY: requireFinite(sums.sumXY, `${field}.sumXY`),
  };
}

/** θ, the pooled covariate mean and each arm's adjusted mean and variance (arms in the order given). */
export function cupedAdjust(input: readonly CupedSums[]): CupedResult {
  requireArray(input, 'arms');
  if (input.length === 0) fail('arms must not be empty');
  const arms = input.map((arm, i) => validateCupedSums(arm, `arms[${i}]`));
  const total = arms.reduce(
    (acc, arm) => ({ n: acc.n + arm.n, sumY: acc.sumY + arm.sumY, sumX: acc.sumX + arm.sumX, sumY2: acc.sumY2 + arm.sumY2, sumX2: acc.sumX2 + arm.sumX2, sumXY: acc.sumXY + arm.sumXY }),
    { n: 0, sumY: 0, sumX: 0, sumY2: 0, sumX2: 0, sumXY: 0 },
  );
  const covariateMean = total.sumX / total.n;
  const pooledVarX = (total.sumX2 - total.n * covariateMean * covariateMean) / (total.n - 1);
  const pooledCov = (total.sumXY - (total.sumX * total.sumY) / total.n) / (total.n - 1);
  // No spread in the covariate (nobody had a pre-period value): nothing to adjust with.
  const theta = pooledVarX > 1e-12 * Math.max(1, covariateMean * covariateMean) ? pooledCov / pooledVarX : 0;

  let rawSum = 0;
  let adjustedSum = 0;
  const results: CupedArm[] = arms.map(({ n, sumY, sumX, sumY2, sumX2, sumXY }) => {
    const meanY = sumY / n;
    const meanX = sumX / n;
    const variance = Math.max(0, (sumY2 - n * meanY * meanY) / (n - 1));
    const varX = Math.max(0, (sumX2 - n * meanX * meanX) / (n - 1));
    const cov = (sumXY - n * meanX * meanY) / (n - 1);
    const adjustedVariance = Math.max(0, variance - 2 * theta * cov + theta * theta * varX);
    rawSum += variance / n;
    adjustedSum += adjustedVariance / n;
    return { n, mean: meanY, variance, adjustedMean: meanY - theta * (meanX - covariateMean), adjustedVariance, varianceReduction: variance > 0 ? 1 - adjustedVariance / variance : 0 };
  });
  return { theta, covariateMean, arms: results, varianceReduction: rawSum > 0 ? 1 - adjustedSum / rawSum : 0 };
}

/** An adjusted arm as a mean sample, for welchTTest and the other mean comparisons. */
export function cupedMeanSample(arm: CupedArm): MeanSample {
  return { n: arm.n, mean: arm.adjustedMean, variance: arm.adjustedVariance };
}

/** Welch's t-test of treatment against control on the CUPED-adjusted values, θ pooled over both. */
export function cupedTest(input: { control: CupedSums; treatment: CupedSums; alpha?: number }): WelchTTestResult & { theta: number; varianceReduction: number } {
  const args = requireObject(input, 'input');
  const adjusted = cupedAdjust([args.control as CupedSums, args.treatment as CupedSums]);
  const [control, treatment] = adjusted.arms;
  const result = welchTTest({ control: cupedMeanSample(control), treatment: cupedMeanSample(treatment), ...(args.alpha !== undefined ? { alpha: args.alpha as number } : {}) });
  return { ...result, theta: adjusted.theta, varianceReduction: adjusted.varianceReduction };
}
