// Axis helpers shared by the report's charts. Pure.

/** A round tick step (1, 2 or 5 × a power of ten) giving about `count` ticks over `range`. */
export function niceStep(range: number, count: number): number {
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** SVG coordinates to a tenth of a pixel: short attributes, no visible difference. */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}
