import { normalQuantile, normalTwoSidedPValue } from './distributions';
import type { Interval, ProportionSample, TwoProportionTestInput, TwoProportionTestResult } from './types';
import { fail, requireCount, requireObject, requireOpenUnit, requirePositiveCount } from './validate';

/** Validates {successes, trials}: non-negative integers, trials ≥ 1, successes ≤ trials. */
export function validateProportionSample(value: unknown, field: string): ProportionSample {
  const sample = requireObject(value, field);
  const successes = requireCount(sample.successes, `${field}.successes`);
  const trials = requirePositiveCount(sample.trials, `${field}.trials`);
  if (successes > trials) fail(`${field}.successes must not exceed ${field}.trials`);
  return { successes, trials };
}

/** Validates an optional alpha (default 0.05). */
export function validateAlpha(alpha: unknown): number {
  return alpha === undefined ? 0.05 : requireOpenUnit(alpha, 'alpha');
}

/**
 * Two-proportion z-test.
 * z = (pT − pC) / √(p̄(1 − p̄)(1/nC + 1/nT)) with the pooled rate p̄; two-sided normal p-value.
 * `ci` is the unpooled Wald interval of pT − pC; `relativeCi` is the delta-method interval
 * of pT/pC − 1 with Var ≈ Var(pT)/pC² + pT²·Var(pC)/pC⁴.
 */
export function twoProportionTest(input: TwoProportionTestInput): TwoProportionTestResult {
  const args = requireObject(input, 'input');
  const control = validateProportionSample(args.control, 'control');
  const treatment = validateProportionSample(args.treatment, 'treatment');
  const alpha = validateAlpha(args.alpha);

  const pC = control.successes / control.trials;
  const pT = treatment.successes / treatment.trials;
  const absoluteLift = pT - pC;
  const pooled = (control.successes + treatment.successes) / (control.trials + treatment.trials);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / control.trials + 1 / treatment.trials));
  // The pooled SE is 0 only when both arms are all-failure or all-success, i.e. the rates are equal.
  const zScore = pooledSe > 0 ? absoluteLift / pooledSe : 0;
  const pValue = normalTwoSidedPValue(zScore);

  const zCrit = normalQuantile(1 - alpha / 2);
  const varC = (pC * (1 - pC)) / control.trials;
  const varT = (pT * (1 - pT)) / treatment.trials;
  const se = Math.sqrt(varC + varT);
  const ci: Interval = [absoluteLift - zCrit * se, absoluteLift + zCrit * se];

  let relativeLift: number | null = null;
  let relativeCi: Interval | null = null;
  if (pC > 0) {
    relativeLift = pT / pC - 1;
    const relSe = Math.sqrt(varT / (pC * pC) + (pT * pT * varC) / (pC * pC * pC * pC));
    relativeCi = [relativeLift - zCrit * relSe, relativeLift + zCrit * relSe];
  }

  return {
    controlRate: pC,
    treatmentRate: pT,
    absoluteLift,
    relativeLift,
    zScore,
    pValue,
    ci,
    relativeCi,
    significant: pValue < alpha,
  };
}
