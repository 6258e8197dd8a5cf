import { z } from 'zod';
import { isoDate } from '../../lib/schemas';

export const MAX_RESPONSES_PAGE = 200;

/** The opaque position after which a page starts: base64url of [timestamp in ms, responseId]. */
export interface ResponsesCursor {
  at: Date;
  id: string;
}

export function encodeCursor(cursor: ResponsesCursor): string {
  return Buffer.from(JSON.stringify([cursor.at.getTime(), cursor.id]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): ResponsesCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [at, id] = value as unknown[];
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || typeof id !== 'string' || id === '' || id.length > 200) return null;
    return { at: new Date(at), id };
  } catch {
    return null;
  }
}

const cursor = z
  .string()
  .max(400)
  .transform((text, ctx) => {
    const decoded = decodeCursor(text);
    if (!decoded) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this service gave (use nextCursor of the previous page)' });
      return z.NEVER;
    }
    return decoded;
  })
  .meta({ description: 'nextCursor of the previous page' });

const booleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');
const scoreQuery = z.coerce.number().int().min(-100).max(100);
/** A survey metric key; the service checks that it is one of the experiment's (csat, nps, ces, or its library or custom survey metrics). */
const metricKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a survey metric key')
  .meta({ description: 'csat, nps, ces, or a library or custom survey metric of the experiment' });

/** The filters of the responses list and its CSV. */
export const responsesFilterQuery = z.strictObject({
  metric: metricKey.optional(),
  variant: z.string().min(1).max(64).optional(),
  minScore: scoreQuery.optional().meta({ description: 'answers scoring at least this' }),
  maxScore: scoreQuery.optional().meta({ description: 'answers scoring at most this' }),
  hasComment: booleanQuery.optional().meta({ description: 'true: only answers with a comment; false: only those without' }),
  since: z.iso.datetime({ offset: true }).transform((value) => new Date(value)).optional().meta({ description: 'answers given at or after this time' }),
});
export type ResponsesFilter = z.output<typeof responsesFilterQuery>;

function checkRange(query: { minScore?: number; maxScore?: number }, ctx: z.RefinementCtx): void {
  if (query.minScore !== undefined && query.maxScore !== undefined && query.minScore > query.maxScore) {
    ctx.addIssue({ code: 'custom', path: ['minScore'], message: 'must not be above maxScore' });
  }
}

export const responsesCsvQuery = responsesFilterQuery.superRefine(checkRange);

export const responsesListQuery = responsesFilterQuery
  .extend({
    limit: z.coerce.number().int().min(1).max(MAX_RESPONSES_PAGE).default(50),
    cursor: cursor.optional(),
  })
  .superRefine(checkRange);
export type ResponsesListQuery = z.output<typeof responsesListQuery>;

/** One survey metric and variant's comments, a page at a time (the report's full list); other fields are ignored. */
export const commentsPageQuery = z.object({
  metric: responsesFilterQuery.shape.metric,
  variant: responsesFilterQuery.shape.variant,
  cursor: cursor.optional(),
});

export const themesQuery = z.strictObject({
  metric: metricKey.optional(),
  top: z.coerce.number().int().min(1).max(50).default(10).meta({ description: 'terms per variant' }),
});

// Answers (the API reference, src/lib/openapi.ts).

export const surveyResponse = z.object({
  responseId: z.string(),
  customerId: z.string(),
  variant: z.string(),
  metric: z.string().meta({ description: 'csat, nps, ces, or a library or custom survey metric of the experiment' }),
  score: z.number().int(),
  comment: z.string().optional(),
  at: isoDate.meta({ description: 'when the answer was given' }),
});
export type SurveyResponse = z.output<typeof surveyResponse>;

export const responsesPage = z
  .object({
    experiment: z.string(),
    responses: z.array(surveyResponse).meta({ description: 'newest first' }),
    nextCursor: z.string().optional().meta({ description: 'present while there may be more: pass it as ?cursor= (a page may hold fewer than limit answers when many did not match)' }),
  })
  .meta({ id: 'SurveyResponsesPage' });

const themeTerm = z.object({
  term: z.string().meta({ description: 'a word or a two-word phrase, normalized (lower case; one spelling of Arabic and Persian letter variants)' }),
  z: z.number().meta({ description: 'z-score of the weighted log-odds ratio against the other variants (above 1.96: over-represented at the 5% level)' }),
  logOddsRatio: z.number(),
  count: z.number().int().meta({ description: "uses in this variant's comments" }),
  otherCount: z.number().int().meta({ description: "uses in the other variants' comments" }),
});

export const surveyThemes = z
  .object({
    experiment: z.string(),
    method: z.string(),
    metrics: z.array(
      z.object({
        metric: z.string(),
        comments: z.number().int().meta({ description: 'comments compared: the latest comment of each customer' }),
        variants: z.array(z.object({ variant: z.string(), comments: z.number().int(), terms: z.array(themeTerm).meta({ description: 'most over-represented first' }) })),
      }),
    ),
  })
  .meta({ id: 'SurveyThemes' });
