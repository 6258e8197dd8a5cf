// The z-test of two independent estimates, each with its variance (a ratio by the delta method, a
// quantile from its order-statistic interval): the difference, its interval, the two-sided p-value, and
// the relative lift T/C − 1 with the delta-method interval Var ≈ Var_T/C² + T²·Var_C/C⁴.
import { normalQuantile, normalTwoSidedPValue } from './distributions';
import type { IndependentDifference, Interval } from './types';

export function independentDifference(control: { estimate: number; variance: number }, treatment: { estimate: number; variance: number }, alpha: number): IndependentDifference {
  const difference = treatment.estimate - control.estimate;
  const standardError = Math.sqrt(control.variance + treatment.variance);
  const zScore = standardError > 0 ? difference / standardError : difference === 0 ? 0 : difference > 0 ? Infinity : -Infinity;
  const pValue = Number.isFinite(zScore) ? normalTwoSidedPValue(zScore) : 0;
  const zCrit = normalQuantile(1 - alpha / 2);
  const ci: Interval = [difference - zCrit * standardError, difference + zCrit * standardError];
  let relativeLift: number | null = null;
  let relativeCi: Interval | null = null;
  if (control.estimate !== 0) {
    const c = control.estimate;
    const t = treatment.estimate;
    relativeLift = t / c - 1;
    const relSe = Math.sqrt(treatment.variance / (c * c) + (t * t * control.variance) / (c * c * c * c));
    relativeCi = [relativeLift - zCrit * relSe, relativeLift + zCrit * relSe];
  }
  return { difference, relativeLift, standardError, zScore, pValue, ci, relativeCi };
}
