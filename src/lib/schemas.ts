// zod building blocks shared by several modules.
import { z } from 'zod';

/** An absolute http(s) URL (never javascript:, data: or relative). */
export const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

/**
 * How deep a free-form value (event properties, assignment and recipient attributes) may nest: the
 * object itself is level 1, each object or array inside it one more. Documented in README.md.
 */
export const MAX_NESTING_DEPTH = 5;

/**
 * Why MongoDB cannot store `key` as a field name as sent, or undefined when it can: a leading "$" is an
 * operator, a "." reads as a path (FerretDB refuses both), a NUL ends a BSON name, and an empty name is
 * refused too. One rule for JSON keys and for CSV columns that become keys.
 */
export function unstorableKey(key: string): string | undefined {
  if (key === '') return 'a key may not be empty';
  if (key.startsWith('$') || key.includes('.') || key.includes('\0')) return 'a key may not start with "$" or contain "." or a NUL character';
  return undefined;
}

/**
 * A free-form object the database must store as sent: every key passes unstorableKey, no number beyond a
 * double (JSON.parse reads 1e309 as Infinity), at most MAX_NESTING_DEPTH levels. The issue names the path
 * of the first offending key or value. Every schema that accepts a free-form object uses this one.
 */
export function storableObject(maxKeyLength = 100) {
  return z.record(z.string().max(maxKeyLength), z.unknown()).superRefine((value, ctx) => {
    const visit = (node: unknown, path: (string | number)[], depth: number): boolean => {
      if (typeof node === 'number' && !Number.isFinite(node)) {
        ctx.addIssue({ code: 'custom', path, message: 'must be a finite number' });
        return false;
      }
      if (node === null || typeof node !== 'object') return true;
      if (depth > MAX_NESTING_DEPTH) {
        ctx.addIssue({ code: 'custom', path, message: `nests deeper than ${MAX_NESTING_DEPTH} levels` });
        return false;
      }
      const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
      for (const [key, child] of entries) {
        const problem = typeof key === 'string' ? unstorableKey(key) : undefined;
        if (problem) {
          ctx.addIssue({ code: 'custom', path: [...path, key], message: problem });
          return false;
        }
        if (!visit(child, [...path, key], depth + 1)) return false;
      }
      return true;
    };
    visit(value, [], 1);
  });
}
