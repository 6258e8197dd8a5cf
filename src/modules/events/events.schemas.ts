import { z } from 'zod';
import { storableObject } from '../../lib/schemas';
import { customerId } from '../assignments';
import { experimentKey, SURVEY_METRICS, SURVEY_SCALES } from '../experiments';

export const MAX_EVENTS = 5000;

const timestamp = z.union([z.iso.datetime({ offset: true }), z.number().int().min(0)]).transform((value) => new Date(value));

export const eventInput = z.strictObject({
  eventId: z.string().min(1).max(200),
  customerId,
  name: z.string().trim().min(1).max(100),
  experiment: experimentKey.optional(),
  value: z.number().finite().optional(),
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
    metric: z.enum(SURVEY_METRICS),
    score: z.number().int(),
    comment: z.string().max(5000).optional(),
    experiment: experimentKey.optional(),
    timestamp: timestamp.optional(),
  })
  .superRefine((body, ctx) => {
    const scale = SURVEY_SCALES[body.metric];
    if (body.score < scale.min || body.score > scale.max) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: `${body.metric} scores are whole numbers from ${scale.min} to ${scale.max}` });
    }
  });
export type ResponseInput = z.infer<typeof responseBody>;
