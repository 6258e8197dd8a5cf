/** Input validation: every violation throws a RangeError whose message names the field. */

export function fail(message: string): never {
  throw new RangeError(message);
}

export function requireFinite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${field} must be a finite number`);
  return value;
}

export function requireCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(`${field} must be an integer`);
  if (value < 0) fail(`${field} must not be negative`);
  if (!Number.isSafeInteger(value)) fail(`${field} must be a safe integer`);
  return value;
}

export function requirePositiveCount(value: unknown, field: string): number {
  requireCount(value, field);
  if ((value as number) < 1) fail(`${field} must be at least 1`);
  return value as number;
}

export function requireNonNegative(value: unknown, field: string): number {
  requireFinite(value, field);
  if ((value as number) < 0) fail(`${field} must not be negative`);
  return value as number;
}

export function requirePositive(value: unknown, field: string): number {
  requireFinite(value, field);
  if ((value as number) <= 0) fail(`${field} must be positive`);
  return value as number;
}

/** A probability strictly inside (0, 1), e.g. alpha or power. */
export function requireOpenUnit(value: unknown, field: string): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) fail(`${field} must be in (0, 1)`);
  return value;
}

export function requireObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${field} must be an object`);
  return value as Record<string, unknown>;
}

export function requireArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(`${field} must be an array`);
  return value;
}
