import { z } from 'zod';

/** `?stale=ok`: answer at once with what is counted, without waiting for the aggregator. */
export const freshnessQuery = z.object({ stale: z.enum(['ok']).optional() });

/** The freshness of an answer as HTTP headers, for answers that are not JSON (CSV, HTML). */
export function freshnessHeaders(answer: { asOf?: string | Date; pending?: number; complete?: boolean }): Record<string, string> {
  if (answer.asOf === undefined) return {};
  const asOf = answer.asOf instanceof Date ? answer.asOf.toISOString() : answer.asOf;
  return { 'X-Counted-As-Of': asOf, 'X-Counted-Pending': String(answer.pending ?? 0), 'X-Counted-Complete': String(answer.complete ?? true) };
}
