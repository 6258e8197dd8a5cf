import { normalQuantile, normalTwoSidedPValue } from './distributions';
import { validateAlpha } from './proportions';
import type { Interval, NpsCounts, NpsTestInput, NpsTestResult } from './types';
import { fail, requireCount, requireObject } from './validate';

export function validateNpsCounts(value: unknown, field: string): NpsCounts {
  const counts = requireObject(value, field);
  const promoters = requireCount(counts.promoters, `${field}.promoters`);
  const passives = requireCount(counts.passives, `${field}.passives`);
  const detractors = requireCount(counts.detractors, `${field}.detractors`);
  if (promoters + passives + detractors < 1) fail(`${field} must have at least one response`);
  return { promoters, passives, detractors };
}

/** NPS in points and its sampling variance 100²·((p + d) − (p − d)²)/n. */
export function npsWithVariance(counts: NpsCounts): { nps: number; variance: number; n: number } {
  const n = counts.promoters + counts.passives + counts.detractors;
  const p = counts.promoters / n;
  const d = counts.detractors / n;
  const variance = Math.max(0, (10000 * (p + d - (p - d) * (p - d))) / n);
  return { nps: (100 * (counts.promoters - counts.detractors)) / n, variance, n };
}

/**
 * Difference of two independent Net Promoter Scores (points, −100 to 100):
 * z = (NPS_T − NPS_C) / √(Var_C + Var_T), two-sided normal p-value, Wald interval.
 */
export function npsTest(input: NpsTestInput): NpsTestResult {
  const args = requireObject(input, 'input');
  const control = npsWithVariance(validateNpsCounts(args.control, 'control'));
  const treatment = npsWithVariance(validateNpsCounts(args.treatment, 'treatment'));
  const alpha = validateAlpha(args.alpha);

  const difference = treatment.nps - control.nps;
  const standardError = Math.sqrt(control.variance + treatment.variance);
  const zScore =
    standardError > 0 ? difference / standardError : difference === 0 ? 0 : difference > 0 ? Infinity : -Infinity;
  const pValue = normalTwoSidedPValue(zScore);
  const zCrit = normalQuantile(1 - alpha / 2);
  const ci: Interval = [difference - zCrit * standardError, difference + zCrit * standardError];
  return {
    controlNps: control.nps,
    treatmentNps: treatment.nps,
    difference,
    standardError,
    zScore,
    pValue,
    ci,
    significant: pValue < alpha,
  };
}
