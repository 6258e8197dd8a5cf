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

/**
 * A time in an answer (the API reference, src/lib/openapi.ts): an ISO-8601 string on the wire, a Date in
 * the service. Parsing an answer (a test) reads the string; a route's handler is checked to return a Date.
 */
export const isoDate = z.codec(z.iso.datetime(), z.date(), {
  decode: (value) => new Date(value),
  encode: (date) => date.toISOString(),
});

/**
 * An answer's field documented (and checked when an answer is parsed) by `schema`, which the service
 * types more loosely as T (content and targeting are stored as they were validated on the way in).
 */
export function documentedAs<T>(schema: z.ZodType): z.ZodType<T> {
  return schema as unknown as z.ZodType<T>;
}
