import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FixtureCase<I = Record<string, unknown>, E = Record<string, unknown>> {
  input: I;
  expected: E;
}

/** Loads a committed fixture written by scripts/stats-fixtures/generate.py. */
export function loadFixture<I = any, E = any>(name: string): FixtureCase<I, E>[] {
  const path = join(__dirname, '..', '..', 'fixtures', 'stats', `${name}.json`);
  return (JSON.parse(readFileSync(path, 'utf8')) as { cases: FixtureCase<I, E>[] }).cases;
}

/** Relative 1e-6, or absolute 1e-12 when the reference is below 1e-12 in magnitude. */
export function assertClose(actual: number, expected: number, label: string, relative = 1e-6): void {
  assert.equal(typeof actual, 'number', `${label}: not a number`);
  assert.ok(!Number.isNaN(actual), `${label}: NaN`);
  const tolerance = Math.abs(expected) < 1e-12 ? 1e-12 : relative * Math.abs(expected);
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${label}: expected ${expected}, got ${actual} (|diff| ${Math.abs(actual - expected)} > ${tolerance})`,
  );
}

/**
 * Tail p-values: besides assertClose, require relative agreement down to 1e-300, which proves
 * the p-value did not underflow to 0 or lose its digits.
 */
export function assertPValue(actual: number, expected: number, label: string): void {
  assertClose(actual, expected, label);
  assert.ok(actual >= 0 && actual <= 1, `${label}: ${actual} outside [0, 1]`);
  if (expected >= 1e-300 && expected < 1e-12) {
    assert.ok(
      Math.abs(actual - expected) <= 1e-6 * expected,
      `${label}: tail p-value ${actual} differs from ${expected} by more than 1e-6 relative`,
    );
  }
}

export function assertIntervalClose(actual: [number, number] | null, expected: [number, number] | null, label: string): void {
  if (expected === null) {
    assert.equal(actual, null, `${label}: expected null`);
    return;
  }
  assert.ok(Array.isArray(actual) && actual.length === 2, `${label}: not a [lower, upper] tuple`);
  assertClose(actual[0], expected[0], `${label}[0]`);
  assertClose(actual[1], expected[1], `${label}[1]`);
  assert.ok(actual[0] <= actual[1], `${label}: lower > upper`);
}

/** Recursively asserts that no field of a result is NaN (JSON would turn it into null silently). */
export function assertNoNaN(value: unknown, label = 'result'): void {
  if (typeof value === 'number') assert.ok(!Number.isNaN(value), `${label} is NaN`);
  else if (Array.isArray(value)) value.forEach((v, i) => assertNoNaN(v, `${label}[${i}]`));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertNoNaN(v, `${label}.${k}`);
  }
}

export { parkMiller } from '../../helpers/random';

/** A standard normal draw by Box–Muller from two uniforms of `u` (the Python references do the same). */
export function normalDraw(u: () => number): number {
  const u1 = u();
  const u2 = u();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
