import { z } from 'zod';

export const timeseriesQuery = z.strictObject({
  /** A metric of the experiment; absent means its primary metric. */
  metric: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric key').optional(),
});
export type TimeseriesQuery = z.infer<typeof timeseriesQuery>;
