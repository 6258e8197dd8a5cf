import { normalQuantile } from './distributions';
import type { SampleSizeForMeansInput, SampleSizePerVariantInput, SampleSizeResult } from './types';
import { fail, requireFinite, requireObject, requireOpenUnit, requirePositive } from './validate';

/**
 * Customers per variant for a two-sided two-proportion z-test to detect a relative lift:
 * p₂ = p₁(1 + MDE), p̄ = (p₁ + p₂)/2,
 * n = ⌈(z₁₋α/₂·√(2p̄(1 − p̄)) + z_power·√(p₁(1 − p₁) + p₂(1 − p₂)))² / (p₂ − p₁)²⌉.
 */
export function sampleSizePerVariant(input: SampleSizePerVariantInput): SampleSizeResult {
  const args = requireObject(input, 'input');
  const p1 = requireOpenUnit(args.baselineRate, 'baselineRate');
  const mde = requireFinite(args.minimumDetectableEffect, 'minimumDetectableEffect');
  const alpha = args.alpha === undefined ? 0.05 : requireOpenUnit(args.alpha, 'alpha');
  const power = args.power === undefined ? 0.8 : requireOpenUnit(args.power, 'power');
  if (mde === 0) fail('minimumDetectableEffect must not be 0');
  const p2 = p1 * (1 + mde);
  if (!(p2 > 0 && p2 < 1)) fail('minimumDetectableEffect must keep baselineRate × (1 + minimumDetectableEffect) in (0, 1)');
  const pBar = (p1 + p2) / 2;
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zPower = normalQuantile(power);
  const numerator = zAlpha * Math.sqrt(2 * pBar * (1 - pBar)) + zPower * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return { n: Math.ceil((numerator * numerator) / ((p2 - p1) * (p2 - p1))) };
}

/** Customers per variant for comparing means: n = ⌈2(z₁₋α/₂ + z_power)²σ²/δ²⌉. */
export function sampleSizeForMeans(input: SampleSizeForMeansInput): SampleSizeResult {
  const args = requireObject(input, 'input');
  const sigma = requirePositive(args.standardDeviation, 'standardDeviation');
  const delta = requireFinite(args.minimumDetectableDifference, 'minimumDetectableDifference');
  if (delta === 0) fail('minimumDetectableDifference must not be 0');
  const alpha = args.alpha === undefined ? 0.05 : requireOpenUnit(args.alpha, 'alpha');
  const power = args.power === undefined ? 0.8 : requireOpenUnit(args.power, 'power');
  const z = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  return { n: Math.ceil((2 * z * z * sigma * sigma) / (delta * delta)) };
}
