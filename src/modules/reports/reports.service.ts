// Share links and the HTML report. Links are stateless: the signed token carries the experiment key and
// expiry, so nothing is stored and a link cannot be widened to another experiment or a later date.
import { AppError } from '../../lib/errors';
import { logger } from '../../lib/logger';
import { experimentsService, type ExperimentRecord } from '../experiments';
import { freshnessHeaders } from '../counting';
import { resultsService, timeseriesService, type Timeseries } from '../results';
import { surveysService, type ResponsesListQuery } from '../surveys';
import { buildReportView, isoDate } from './report-view';
import { renderCommentsPage, renderNotFoundPage, renderReportPage } from './report.template';
import { signShareToken, verifyShareToken } from './share-token';

export interface ReportsSettings {
  /** TRACKING_SECRET, or the development secret kept under DATA_DIR: the same one the service signs with. */
  trackingSecret: string;
  /** PUBLIC_BASE_URL, when set. */
  publicBaseUrl?: string;
  /** Without publicBaseUrl, links point to the origin the request came to (NODE_ENV=development only). */
  linksFromRequestOrigin: boolean;
}

let settings: ReportsSettings | undefined;

/** Given by the composition root (src/wiring.ts) before the first request. */
export function configureReports(given: ReportsSettings): void {
  settings = { ...given };
}

function configured(): ReportsSettings {
  if (!settings) throw new Error('reports are not configured (configureReports, called by the composition root)');
  return settings;
}

function secret(): string {
  return configured().trackingSecret;
}

/** Where links point: PUBLIC_BASE_URL, or (development only) the origin the request came to. */
function linkBase(requestOrigin: string | undefined): string {
  const { publicBaseUrl, linksFromRequestOrigin } = configured();
  const base = publicBaseUrl ?? (linksFromRequestOrigin ? requestOrigin : undefined);
  if (!base) throw new AppError(500, 'not_configured', 'PUBLIC_BASE_URL is not set, so share links cannot be made');
  return base.endsWith('/') ? base : `${base}/`;
}

export interface RenderedPage { status: 200 | 404; html: string; headers?: Record<string, string> }

/** The primary metric by assignment cohort, or nothing (no section) while cohort aggregates are not available. */
async function primaryByCohort(record: ExperimentRecord): Promise<Timeseries | undefined> {
  try {
    return await timeseriesService.forRecord(record);
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_available') return undefined;
    throw error;
  }
}

/** Latest comments shown per variant in the report; the rest are behind the link to the full list. */
const LATEST_COMMENTS = 20;
const REPORT_THEMES = 5;
const COMMENTS_PAGE = 50;

/** The report's own paths (relative to the service, so they work behind any host name). */
function reportPath(key: string, token: string): string {
  return `/reports/${encodeURIComponent(key)}?token=${encodeURIComponent(token)}`;
}
function commentsPath(key: string, token: string, metric?: string, variant?: string, cursor?: string): string {
  const query = new URLSearchParams({ token, ...(metric ? { metric } : {}), ...(variant ? { variant } : {}), ...(cursor ? { cursor } : {}) });
  return `/reports/${encodeURIComponent(key)}/comments?${query.toString()}`;
}

export const reportsService = {
  async createShareLink(key: string, expiresInSeconds: number, requestOrigin?: string): Promise<{ url: string; expiresAt: string }> {
    await experimentsService.get(key);
    const expiresAt = Math.floor(Date.now() / 1000) + expiresInSeconds;
    const token = signShareToken(secret(), key, expiresAt);
    const url = new URL(`reports/${encodeURIComponent(key)}`, linkBase(requestOrigin));
    url.searchParams.set('token', token);
    return { url: url.toString(), expiresAt: new Date(expiresAt * 1000).toISOString() };
  },

  /** The report for a valid link; the same not-found page for a bad, expired or unknown one. */
  async renderReport(key: string, token: string | undefined): Promise<RenderedPage> {
    if (!verifyShareToken(secret(), key, token)) return { status: 404, html: renderNotFoundPage() };
    let record;
    try {
      record = await experimentsService.getRecord(key);
    } catch (error) {
      if (error instanceof AppError && error.status === 404) return { status: 404, html: renderNotFoundPage() };
      throw error;
    }
    const results = await resultsService.compute(key);
    const sliced = [];
    for (const dimension of record.dimensions ?? []) sliced.push(await resultsService.slices(key, dimension, { stale: true, experiment: record }));
    const cohorts = await primaryByCohort(record);
    const comments = await surveysService.readCommentsForReport(record, { latest: LATEST_COMMENTS, top: REPORT_THEMES });
    const listUrl = (metric: string, variant: string) => commentsPath(key, token!, metric, variant);
    logger.debug({ experiment: key }, 'report rendered');
    return { status: 200, html: renderReportPage(buildReportView(results, record.history, record.hypothesis, cohorts, { metrics: comments, listUrl }, sliced)), headers: freshnessHeaders(results) };
  },

  /** Every comment (of one survey metric and variant, when named), newest first, a page at a time, behind the same link. */
  async renderComments(key: string, token: string | undefined, query: Pick<ResponsesListQuery, 'metric' | 'variant' | 'cursor'>): Promise<RenderedPage> {
    if (!verifyShareToken(secret(), key, token)) return { status: 404, html: renderNotFoundPage() };
    let record;
    try {
      record = await experimentsService.getRecord(key);
    } catch (error) {
      if (error instanceof AppError && error.status === 404) return { status: 404, html: renderNotFoundPage() };
      throw error;
    }
    const page = await surveysService.listResponses(key, { ...query, hasComment: true, limit: COMMENTS_PAGE });
    return {
      status: 200,
      html: renderCommentsPage({
        name: record.name,
        scope: `${query.metric ?? 'Survey'} comments${query.variant ? ` of variant ${query.variant}` : ''}`,
        reportUrl: reportPath(key, token!),
        items: page.responses.map((r) => ({ at: isoDate(r.at), score: `${r.metric} ${r.score}${query.variant ? '' : `, variant ${r.variant}`}`, text: r.comment ?? '' })),
        ...(page.nextCursor ? { nextUrl: commentsPath(key, token!, query.metric, query.variant, page.nextCursor) } : {}),
      }),
    };
  },

  notFoundPage(): RenderedPage {
    return { status: 404, html: renderNotFoundPage() };
  },
};
