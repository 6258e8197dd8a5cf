import type { AlwaysValidPValueInput } from './types';
import { fail, requireFinite, requirePositive } from './validate';

/**
 * Default mixing variance τ² of the mSPRT, for differences of proportions (rates as fractions):
 * a prior standard deviation of one percentage point on the true difference. The normal-mixture
 * boundary is tightest when τ² ≈ 8.2·V (α = 0.05), i.e. with V = 2p(1 − p)/n at roughly 8,000
 * (5% rate) to 26,000 (20% rate) customers per variant — the size of a typical email or page CX test. For other
 * metrics (means, NPS points) pick τ² in the metric's squared units, e.g. with tau2ForHorizon.
 */
export const DEFAULT_TAU2 = 0.0001;

/**
 * The ratio τ²/V at which the mSPRT boundary on |z| is lowest for a given alpha:
 * minimises (1 + 1/ρ)·(2·ln(1/α) + ln(1 + ρ)) over ρ > 0 (golden-section search).
 */
function optimalTau2Ratio(alpha: number): number {
  const f = (rho: number) => (1 + 1 / rho) * (2 * Math.log(1 / alpha) + Math.log1p(rho));
  let lo = 1e-3;
  let hi = 1e6;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 200; i++) {
    const m1 = hi - g * (hi - lo);
    const m2 = lo + g * (hi - lo);
    if (f(m1) < f(m2)) hi = m2;
    else lo = m1;
  }
  return (lo + hi) / 2;
}

/**
 * τ² tuned so that the always-valid test is most sensitive when each variant has
 * `samplesPerVariant` customers: τ² = ρ*(α) · 2σ²/N*, with σ² the per-customer variance of the
 * metric (p(1 − p) for a rate, 100²·((p + d) − (p − d)²) for NPS) and ρ*(0.05) ≈ 8.2.
 */
export function tau2ForHorizon(input: { unitVariance: number; samplesPerVariant: number; alpha?: number }): number {
  const unitVariance = requirePositive(input?.unitVariance, 'unitVariance');
  const samples = requirePositive(input.samplesPerVariant, 'samplesPerVariant');
  const alpha = input.alpha === undefined ? 0.05 : input.alpha;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) fail('alpha must be in (0, 1)');
  return (optimalTau2Ratio(alpha) * 2 * unitVariance) / samples;
}

/**
 * Always-valid p-value of one look of the mixture sequential probability ratio test
 * (Johari, Koomen, Pekelis & Walsh 2017): with Λ = √(V/(V+τ²))·exp(τ²d²/(2V(V+τ²))),
 * p = min(1, 1/Λ), computed in log space. Combine looks with runningMinimum
 * (pₙ = min(pₙ₋₁, 1/Λₙ)).
 */
export function alwaysValidPValue(input: AlwaysValidPValueInput): number {
  const difference = requireFinite(input?.difference, 'difference');
  const variance = requirePositive(input.variance, 'variance');
  const tau2 = input.tau2 === undefined ? DEFAULT_TAU2 : requirePositive(input.tau2, 'tau2');
  const logLambda =
    0.5 * (Math.log(variance) - Math.log(variance + tau2)) +
    (tau2 * difference * difference) / (2 * variance * (variance + tau2));
  return Math.min(1, Math.exp(-logLambda));
}

/** Running minimum over successive looks: out[i] = min(p[0..i]). */
export function runningMinimum(pValues: readonly number[]): number[] {
  if (!Array.isArray(pValues)) fail('pValues must be an array');
  let current = 1;
  return pValues.map((p, i) => {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail(`pValues[${i}] must be in [0, 1]`);
    current = Math.min(current, p);
    return current;
  });
}

/**
 * One step of the always-valid p-value: min(previous, p of this look). `previous` is the value
 * stored after the last look (undefined or null before the first look).
 */
export function nextAlwaysValidPValue(previous: number | null | undefined, look: AlwaysValidPValueInput): number {
  const p = alwaysValidPValue(look);
  if (previous === null || previous === undefined) return p;
  if (typeof previous !== 'number' || !(previous >= 0 && previous <= 1)) fail('previous must be in [0, 1]');
  return Math.min(previous, p);
}

/** Always-valid p-values after each look of a sequence (running minimum of 1/Λ). */
export function alwaysValidPValueSequence(looks: readonly AlwaysValidPValueInput[]): number[] {
  const given: unknown = looks; // checked as given: JavaScript callers may pass anything
  if (!Array.isArray(given)) fail('looks must be an array');
  return runningMinimum(
    looks.map((look, i) => {
      try {
        return alwaysValidPValue(look);
      } catch (error) {
        if (error instanceof RangeError) fail(`looks[${i}].${error.message}`);
        throw error;
      }
    }),
  );
}
