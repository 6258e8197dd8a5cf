import { tQuantile, tTwoSidedPValue } from './distributions';
import { validateAlpha } from './proportions';
import type { Interval, MeanSample, WelchTTestInput, WelchTTestResult } from './types';
import { fail, requireFinite, requireNonNegative, requireObject } from './validate';

/** Validates {n, mean, variance}: integer n ≥ 2, finite mean, variance ≥ 0. */
export function validateMeanSample(value: unknown, field: string): MeanSample {
  const sample = requireObject(value, field);
  const n = sample.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) fail(`${field}.n must be an integer`);
  if (n < 2) fail(`${field}.n must be at least 2 for a variance`);
  const mean = requireFinite(sample.mean, `${field}.mean`);
  const variance = requireNonNegative(sample.variance, `${field}.variance`);
  return { n, mean, variance };
}

/**
 * Welch's unequal-variance t-test (Welch 1947).
 * t = (x̄T − x̄C) / √(s²T/nT + s²C/nC), ν = (s²T/nT + s²C/nC)² / ((s²T/nT)²/(nT−1) + (s²C/nC)²/(nC−1)),
 * two-sided p-value from Student's t with ν degrees of freedom; both intervals use t₁₋α/₂,ν.
 */
export function welchTTest(input: WelchTTestInput): WelchTTestResult {
  const args = requireObject(input, 'input');
  const control = validateMeanSample(args.control, 'control');
  const treatment = validateMeanSample(args.treatment, 'treatment');
  const alpha = validateAlpha(args.alpha);

  const difference = treatment.mean - control.mean;
  const vC = control.variance / control.n;
  const vT = treatment.variance / treatment.n;
  const se2 = vC + vT;
  const se = Math.sqrt(se2);

  let degreesOfFreedom: number;
  let tStatistic: number;
  if (se2 > 0) {
    degreesOfFreedom = (se2 * se2) / ((vC * vC) / (control.n - 1) + (vT * vT) / (treatment.n - 1));
    tStatistic = difference / se;
  } else {
    // Both arms constant: the difference is known exactly.
    degreesOfFreedom = control.n + treatment.n - 2;
    tStatistic = difference === 0 ? 0 : difference > 0 ? Infinity : -Infinity;
  }
  const pValue = tTwoSidedPValue(tStatistic, degreesOfFreedom);
  const tCrit = tQuantile(1 - alpha / 2, degreesOfFreedom);
  const ci: Interval = [difference - tCrit * se, difference + tCrit * se];

  let relativeLift: number | null = null;
  let relativeCi: Interval | null = null;
  if (control.mean !== 0) {
    const mC = control.mean;
    const mT = treatment.mean;
    relativeLift = mT / mC - 1;
    const relSe = Math.sqrt(vT / (mC * mC) + (mT * mT * vC) / (mC * mC * mC * mC));
    relativeCi = [relativeLift - tCrit * relSe, relativeLift + tCrit * relSe];
  }

  return {
    difference,
    relativeLift,
    tStatistic,
    degreesOfFreedom,
    pValue,
    ci,
    relativeCi,
    significant: pValue < alpha,
  };
}
