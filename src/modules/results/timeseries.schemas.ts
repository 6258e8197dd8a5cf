import { z } from 'zod';
import { isoDate } from '../../lib/schemas';
import { DIRECTIONS, interval, METHODS, METRIC_KINDS, METRIC_ROLES } from './results.schemas';

export const timeseriesQuery = z.strictObject({
  /** A metric of the experiment; absent means its primary metric. */
  metric: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric key').optional(),
});
export type TimeseriesQuery = z.infer<typeof timeseriesQuery>;

// The answer (the API reference, src/lib/openapi.ts): the contract of results.timeseries.ts.
export const timeseriesResult = z
  .object({
    experiment: z.string(),
    metric: z.string(),
    role: z.enum(METRIC_ROLES),
    kind: z.enum(METRIC_KINDS),
    direction: z.enum(DIRECTIONS),
    test: z.string(),
    method: z.enum(METHODS),
    alpha: z.number(),
    controlVariant: z.string(),
    omittedDays: z.number().int().meta({ description: 'days before the first point folded into it (the series shows at most 400 days)' }),
    points: z.array(
      z.object({
        date: z.iso.date().meta({ description: 'the point is over the customers assigned up to the end of this UTC day' }),
        variants: z.array(z.object({ variant: z.string(), units: z.number().int(), value: z.number().nullable(), ci: interval.nullable() })),
        comparisons: z.array(
          z.object({
            variant: z.string(),
            absoluteLift: z.number().nullable(),
            relativeLift: z.number().nullable(),
            ci: interval.nullable(),
            relativeCi: interval.nullable(),
            pValue: z.number().nullable(),
            fixedHorizonPValue: z.number().nullable().optional(),
          }),
        ),
      }),
    ),
    asOf: isoDate,
    pending: z.number().int(),
    complete: z.boolean(),
  })
  .meta({ id: 'Timeseries' });
