// Reading what customers answered: the answers of an experiment with their variant (the one the customer
// was assigned to at or before answering, as counting has it), filtered and paged newest first, as CSV,
// and the themes of their comments (themes.ts). Reads only.
import { z } from 'zod';
import { assignmentId, assignmentsRepository } from '../assignments';
import { eventsRepository, type ResponseRecord } from '../events';
import { experimentsService, findSurveyMetric, surveyMetricsOf, type ExperimentRecord } from '../experiments';
import { encodeCursor, type ResponsesCursor, type ResponsesFilter, type ResponsesListQuery, type SurveyResponse } from './surveys.schemas';
import { computeThemes, type VariantThemes } from './themes';

/** Answers read from the database at once (each read is a scan on the embedded database: few, large reads). */
const BATCH = 250;
const COMMENTS_BATCH = 2500;
/** Answers a page may read: past it, the page ends early with a cursor (at most 8 reads per page). */
const PAGE_SCAN_BUDGET = 2000;
/** The newest commented answers the themes and the report read per metric, at most. */
const COMMENTS_READ = 20_000;

export const THEMES_METHOD = "weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, \"Fightin' Words\"), each variant against all the others";

interface Scanned {
  items: SurveyResponse[];
  /** Where to go on from; undefined when everything was read. */
  next?: ResponsesCursor;
}

/** A metric filter must name a survey metric of the experiment: a built-in, or one of its library or custom survey metrics (else 400). */
function checkMetric(experiment: ExperimentRecord, metric: string | undefined): void {
  if (metric === undefined || findSurveyMetric(experiment, metric)) return;
  throw new z.ZodError([{ code: 'custom', path: ['metric'], input: metric, message: `"${metric}" is not a survey metric of experiment "${experiment._id}" (csat, nps, ces, or a library or custom survey metric it has)` }]);
}

function hasText(comment: string | undefined): comment is string {
  return comment !== undefined && comment.trim() !== '';
}

/**
 * Reads answers newest first after `after` until `limit` match, `budget` answers were read, or none are
 * left. An answer is the experiment's when the customer was assigned to it at or before answering.
 */
async function scan(experiment: ExperimentRecord, filter: ResponsesFilter, after: ResponsesCursor | undefined, limit: number, budget: number, batchSize = BATCH): Promise<Scanned> {
  const key = experiment._id;
  const items: SurveyResponse[] = [];
  let position = after;
  let read = 0;
  // Answers to keys that are not survey metrics of the experiment (another experiment's custom ones) are not its.
  const surveyKeys = new Map<string, boolean>();
  const isSurvey = (metric: string) => {
    let known = surveyKeys.get(metric);
    if (known === undefined) surveyKeys.set(metric, (known = findSurveyMetric(experiment, metric) !== undefined));
    return known;
  };
  for (;;) {
    const batch: ResponseRecord[] = await eventsRepository.responsesBatch(key, filter, position, batchSize);
    const assignments = await assignmentsRepository.findMany([...new Set(batch.map((r) => assignmentId(key, r.customerId)))]);
    for (const record of batch) {
      read++;
      position = { at: record.timestamp, id: record._id };
      const assignment = assignments.get(assignmentId(key, record.customerId));
      if (!assignment || assignment.assignedAt.getTime() > record.timestamp.getTime()) continue;
      if (filter.variant !== undefined && assignment.variant !== filter.variant) continue;
      if (filter.hasComment === true && !hasText(record.comment)) continue;
      if (!isSurvey(record.metric)) continue;
      items.push({
        responseId: record._id,
        customerId: record.customerId,
        variant: assignment.variant,
        metric: record.metric,
        score: record.score,
        ...(hasText(record.comment) ? { comment: record.comment } : {}),
        at: record.timestamp,
      });
      if (items.length >= limit) return { items, next: position };
    }
    if (batch.length < batchSize) return { items };
    if (read >= budget) return { items, next: position };
  }
}

export interface SurveyComments {
  metric: string;
  /** Comments compared (the latest of each customer). */
  comments: number;
  variants: { variant: string; comments: number; latest: SurveyResponse[]; themes: VariantThemes['terms'] }[];
}

/** Per survey metric: each variant's latest comments (newest first) and its themes. */
async function readComments(experiment: ExperimentRecord, options: { metric?: string; latest: number; top: number }): Promise<SurveyComments[]> {
  const metrics = options.metric ? [options.metric] : surveyMetricsOf(experiment).map((m) => m.key);
  const result: SurveyComments[] = [];
  for (const metric of metrics) {
    const { items } = await scan(experiment, { metric, hasComment: true }, undefined, COMMENTS_READ, COMMENTS_READ, COMMENTS_BATCH);
    const latestOfCustomer = new Map<string, SurveyResponse>();
    for (const item of items) if (!latestOfCustomer.has(item.customerId)) latestOfCustomer.set(item.customerId, item);
    const byVariant = new Map<string, string[]>(experiment.variants.map((v) => [v.key, []]));
    for (const item of latestOfCustomer.values()) {
      if (!byVariant.has(item.variant)) byVariant.set(item.variant, []);
      byVariant.get(item.variant)!.push(item.comment ?? '');
    }
    const themes = computeThemes(byVariant, { top: options.top });
    result.push({
      metric,
      comments: latestOfCustomer.size,
      variants: themes.map((t) => ({ variant: t.variant, comments: t.comments, latest: items.filter((item) => item.variant === t.variant).slice(0, options.latest), themes: t.terms })),
    });
  }
  return result;
}

export const surveysService = {
  /** A page of an experiment's answers, newest first. */
  async listResponses(key: string, query: ResponsesListQuery) {
    const experiment = await experimentsService.getRecord(key);
    checkMetric(experiment, query.metric);
    const { items, next } = await scan(experiment, query, query.cursor, query.limit, PAGE_SCAN_BUDGET);
    return { experiment: key, responses: items, ...(next ? { nextCursor: encodeCursor(next) } : {}) };
  },

  /** Every matching answer, newest first, a batch at a time (for the CSV); throws not_found before the first. */
  async readAllResponses(key: string, filter: ResponsesFilter): Promise<AsyncGenerator<SurveyResponse>> {
    const experiment = await experimentsService.getRecord(key);
    checkMetric(experiment, filter.metric);
    return (async function* () {
      let after: ResponsesCursor | undefined;
      for (;;) {
        const { items, next } = await scan(experiment, filter, after, COMMENTS_BATCH, COMMENTS_BATCH, COMMENTS_BATCH);
        yield* items;
        if (!next) return;
        after = next;
      }
    })();
  },

  /** Per survey metric with comments: the terms each variant's comments use more than the others'. */
  async computeThemes(key: string, options: { metric?: string; top: number }) {
    const experiment = await experimentsService.getRecord(key);
    checkMetric(experiment, options.metric);
    const metrics = await readComments(experiment, { ...options, latest: 0 });
    return {
      experiment: key,
      method: THEMES_METHOD,
      metrics: metrics.filter((m) => m.comments > 0).map((m) => ({ metric: m.metric, comments: m.comments, variants: m.variants.map((v) => ({ variant: v.variant, comments: v.comments, terms: v.themes })) })),
    };
  },

  /** For the HTML report: per survey metric, each variant's latest comments and top themes. */
  async readCommentsForReport(experiment: ExperimentRecord, options: { latest: number; top: number }): Promise<SurveyComments[]> {
    return readComments(experiment, options);
  },
};
