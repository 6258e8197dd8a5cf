import { normalTwoSidedPValue } from './distributions';
import type { MannWhitneyTestInput, MannWhitneyTestResult } from './types';
import { fail, requireArray, requireCount, requireObject } from './validate';

function validateHistogramArray(value: unknown, field: string): number[] {
  const counts = requireArray(value, field);
  if (counts.length < 1) fail(`${field} must have at least one scale point`);
  const out = counts.map((c, i) => requireCount(c, `${field}[${i}]`));
  if (out.reduce((a, b) => a + b, 0) < 1) fail(`${field} must have at least one observation`);
  return out;
}

/**
 * Mann–Whitney U test on two histograms over the same ordered scale.
 * U_T = #{(t, c): t > c} + ½·#{(t, c): t = c}; μ = nC·nT/2;
 * σ² = nC·nT/12 · ((N + 1) − Σ(t³ − t)/(N(N − 1))) (tie correction);
 * z = sign(U_T − μ)·max(0, |U_T − μ| − ½)/σ (continuity correction), p = 2·Φ(−|z|).
 */
export function mannWhitneyTest(input: MannWhitneyTestInput): MannWhitneyTestResult {
  const args = requireObject(input, 'input');
  const control = validateHistogramArray(args.control, 'control');
  const treatment = validateHistogramArray(args.treatment, 'treatment');
  if (control.length !== treatment.length) fail('treatment must have the same number of scale points as control');

  const nC = control.reduce((a, b) => a + b, 0);
  const nT = treatment.reduce((a, b) => a + b, 0);
  const N = nC + nT;

  // U counted directly (no rank sums, so no cancellation for millions of customers).
  let u = 0;
  let controlBelow = 0;
  let tieTerm = 0; // Σ (t³ − t) / (N (N − 1))
  for (let k = 0; k < control.length; k++) {
    u += treatment[k] * (controlBelow + control[k] / 2);
    controlBelow += control[k];
    const t = control[k] + treatment[k];
    if (t > 1) tieTerm += (t / N) * ((t - 1) / (N - 1)) * (t + 1);
  }
  const mu = (nC * nT) / 2;
  const variance = ((nC * nT) / 12) * (N + 1 - tieTerm);
  if (!(variance > 0)) {
    // Every observation sits on the same scale point: no evidence either way.
    return { u, zScore: 0, pValue: 1 };
  }
  const deviation = u - mu;
  const zAbs = Math.max(0, Math.abs(deviation) - 0.5) / Math.sqrt(variance);
  const zScore = deviation < 0 ? -zAbs : zAbs;
  return { u, zScore, pValue: normalTwoSidedPValue(zAbs) };
}
