import { z } from 'zod';

export const tokenParams = z.object({ token: z.string().min(1).max(8192) });
export const surveyQuery = z.object({ score: z.string().max(10).optional() });
/** The comment form; the score travels again so the answer stands on its own. */
export const surveyForm = z.object({
  score: z.string().max(10),
  comment: z.string().max(5000, 'at most 5000 characters').optional(),
  /** The one-click score the page was shown for: the comment goes on that answer. */
  answer: z.string().max(100).optional(),
});
/** The unsubscribe form: RFC 8058 one-click clients post List-Unsubscribe=One-Click; the page's button posts it empty. */
export const unsubscribeForm = z.object({ 'List-Unsubscribe': z.string().optional() });
