import { z } from 'zod';
import { isoDate, storableObject } from '../../lib/schemas';
import { customerId } from '../assignments';
import { EXPERIMENT_STATUSES, experimentKey, SURVEY_SCALES } from '../experiments';

export const MAX_EVENTS = 5000;

const timestamp = z.union([z.iso.datetime({ offset: true }), z.number().int().min(0)]).transform((value) => new Date(value));

export const eventInput = z.strictObject({
  eventId: z.string().min(1).max(200),
  customerId,
  name: z.string().trim().min(1).max(100),
  experiment: experimentKey.optional(),
  value: z.number().optional(),
  timestamp: timestamp.optional(),
  properties: storableObject().optional(),
});

export const ingestEventsBody = z.strictObject({
  events: z.array(eventInput).min(1).max(MAX_EVENTS, `at most ${MAX_EVENTS} events per call`),
});
export type EventInput = z.infer<typeof eventInput>;

export const responseBody = z
  .strictObject({
    responseId: z.string().min(1).max(200).optional(),
    customerId,
    metric: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a survey metric key')
      .meta({ description: 'csat (1-5), nps (0-10), ces (1-7), or a survey metric of the library (its own scale)' }),
    score: z.number().int(),
    comment: z.string().max(5000).optional(),
    experiment: experimentKey.optional(),
    timestamp: timestamp.optional(),
  })
  .superRefine((body, ctx) => {
    // A library survey metric's scale is checked by the service (it is looked up).
    const scale = (SURVEY_SCALES as Record<string, { min: number; max: number } | undefined>)[body.metric];
    if (scale && (body.score < scale.min || body.score > scale.max)) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: `${body.metric} scores are whole numbers from ${scale.min} to ${scale.max}` });
    }
  });
export type ResponseInput = z.infer<typeof responseBody>;

// Answers (the API reference, src/lib/openapi.ts).

export const ingestResult = z.object({
  accepted: z.number().int().meta({ description: 'events stored now' }),
  duplicates: z.number().int().meta({ description: 'events whose eventId was stored before (or repeated in this call): ignored' }),
});

export const responseResult = z.object({
  responseId: z.string().meta({ description: 'the responseId sent, or the one generated' }),
  duplicate: z.boolean().meta({ description: 'true: this responseId was stored before, nothing changed' }),
  countedIn: z.number().int().meta({ description: 'in how many experiments the answer counts: those the customer was assigned to at or before it' }),
});

const metricAggregate = z.object({
  units: z.number().meta({ description: 'customers with the metric (binomial: who had the event; survey: who answered)' }),
  sum: z.number(),
  sumSquares: z.number(),
  histogram: z.record(z.string(), z.number()).optional().meta({ description: 'survey metrics: answers per score' }),
});

export const experimentSummary = z
  .object({
    experiment: z.string(),
    status: z.enum(EXPERIMENT_STATUSES),
    generatedAt: isoDate,
    asOf: isoDate.meta({ description: 'everything acknowledged before this time is counted' }),
    pending: z.number().int().meta({ description: 'records acknowledged but not counted yet' }),
    complete: z.boolean().meta({ description: 'false when the read did not wait for everything acknowledged before it (?stale=ok, or 5 s passed)' }),
    variants: z.array(z.object({ variant: z.string(), assigned: z.number().int(), metrics: z.record(z.string(), metricAggregate) })),
  })
  .meta({ id: 'ExperimentSummary' });
