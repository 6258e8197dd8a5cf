import type { PValueAdjustmentMethod } from './types';
import { fail, requireArray } from './validate';

/**
 * Adjusts p-values for multiple comparisons; returns them in input order.
 * - "holm" (Holm 1979, family-wise error): sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎,
 *   p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1)·p₍ⱼ₎).
 * - "benjamini-hochberg" (Benjamini & Hochberg 1995, false discovery rate):
 *   p̃₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎/j).
 * - "none": the p-values unchanged.
 */
export function adjustPValues(pValues: readonly number[], method: PValueAdjustmentMethod): number[] {
  const ps = requireArray(pValues, 'pValues').map((p, i) => {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail(`pValues[${i}] must be in [0, 1]`);
    return p;
  });
  if (method !== 'holm' && method !== 'benjamini-hochberg' && method !== 'none') {
    fail('method must be "holm", "benjamini-hochberg" or "none"');
  }
  const m = ps.length;
  if (method === 'none' || m === 0) return ps.slice();
  const order = ps.map((_, i) => i).sort((a, b) => ps[a] - ps[b] || a - b);
  const adjusted = new Array<number>(m);
  if (method === 'holm') {
    let running = 0;
    for (let rank = 0; rank < m; rank++) {
      const i = order[rank];
      running = Math.max(running, Math.min(1, (m - rank) * ps[i]));
      adjusted[i] = running;
    }
  } else {
    let running = 1;
    for (let rank = m - 1; rank >= 0; rank--) {
      const i = order[rank];
      running = Math.min(running, Math.min(1, (m * ps[i]) / (rank + 1)));
      adjusted[i] = running;
    }
  }
  return adjusted;
}
