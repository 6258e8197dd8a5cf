import { z } from 'zod';
import { commentsPageQuery } from '../surveys';
import { DEFAULT_SHARE_SECONDS, parseExpiresIn } from './share-token';

export const shareBody = z
  .strictObject({
    /** ISO-8601 duration (P7D, PT12H, P1W) or whole seconds; default 7 days, at most 90 days. */
    expiresIn: z.union([z.string().max(40), z.number()]).optional(),
  })
  .default({})
  .transform((body, ctx) => {
    if (body.expiresIn === undefined) return { expiresInSeconds: DEFAULT_SHARE_SECONDS };
    const parsed = parseExpiresIn(body.expiresIn);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', path: ['expiresIn'], message: parsed.error });
      return z.NEVER;
    }
    return { expiresInSeconds: parsed.seconds };
  });

/** Only the token is read; anything else in the query is ignored rather than refused (links get decorated). */
export const reportQuery = z.object({ token: z.string().max(200).optional() });

/** The full list of comments behind a share link: one survey metric and variant, a page at a time. */
export const reportCommentsQuery = commentsPageQuery.extend({ token: reportQuery.shape.token });

// Answers (the API reference, src/lib/openapi.ts).
export const shareLink = z.object({
  url: z.url().meta({ description: 'the report page, with its signed token' }),
  expiresAt: z.iso.datetime(),
});
