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
