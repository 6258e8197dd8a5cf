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

/** How deep a stored free-form value (event properties, answer details) may nest. */
export const MAX_NESTING_DEPTH = 5;

/**
 * A free-form object the database must store as sent: no key that MongoDB reserves or reads as a path
 * (a leading "$", a "."; FerretDB refuses both), no number beyond a double, at most MAX_NESTING_DEPTH
 * levels. The issue names the path of the first offending key or value.
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
        if (typeof key === 'string' && (key.startsWith('$') || key.includes('.') || key.includes('\0'))) {
          ctx.addIssue({ code: 'custom', path: [...path, key], message: 'a key may not start with "$" or contain "." or a NUL character' });
          return false;
        }
        if (!visit(child, [...path, key], depth + 1)) return false;
      }
      return true;
    };
    visit(value, [], 1);
  });
}
