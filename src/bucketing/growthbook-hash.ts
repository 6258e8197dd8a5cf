// Deterministic bucketing compatible with GrowthBook's SDKs (hash version 2), so a page that runs a
// GrowthBook SDK with the same seed, weights and coverage shows the same variant this service assigns.

/** 32-bit FNV-1a over UTF-16 code units, as GrowthBook's JavaScript SDK computes it. */
export function fnv1a32(value: string): number {
  let hval = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hval ^= value.charCodeAt(i);
    hval += (hval << 1) + (hval << 4) + (hval << 7) + (hval << 8) + (hval << 24);
  }
  return hval >>> 0;
}

/** GrowthBook's hash: version 2 is the default for new experiments; version 1 is kept for old ones. */
export function gbHash(seed: string, value: string, version: 1 | 2 = 2): number {
  if (version === 2) return (fnv1a32(String(fnv1a32(seed + value))) % 10000) / 10000;
  return (fnv1a32(value + seed) % 1000) / 1000;
}

export type BucketRange = [number, number];

/** Bucket ranges as GrowthBook's getBucketRanges builds them. */
export function getBucketRanges(numVariations: number, coverage = 1, weights?: number[]): BucketRange[] {
  const clampedCoverage = Math.min(1, Math.max(0, coverage));
  const equal = Array<number>(numVariations).fill(1 / numVariations);
  let effective = weights ?? equal;
  if (effective.length !== numVariations) effective = equal;
  const total = effective.reduce((sum, w) => sum + w, 0);
  if (total < 0.99 || total > 1.01) effective = equal;
  let cumulative = 0;
  return effective.map((weight) => {
    const start = cumulative;
    cumulative += weight;
    return [start, start + clampedCoverage * weight];
  });
}

/** Index of the range holding n, or -1 when n falls outside every range (not in the experiment). */
export function chooseVariation(n: number, ranges: BucketRange[]): number {
  for (let i = 0; i < ranges.length; i++) {
    const [start, end] = ranges[i];
    if (n >= start && n < end) return i;
  }
  return -1;
}
