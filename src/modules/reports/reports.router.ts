import { Router, type Response } from 'express';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { experimentKeyParams } from '../experiments';
import { reportCommentsQuery, reportQuery, shareBody, shareLink } from './reports.schemas';
import { reportsService, type RenderedPage } from './reports.service';

export const reportsRouter = Router();

documented(reportsRouter, { prefix: '/v1', tag: 'Reports' }).post(
  '/experiments/:key/share',
  {
    access: can.read,
    summary: 'A signed link to the HTML report',
    description: 'For product teams without a key: the link works until it expires (default 7 days, at most 90). Nothing is stored.',
    params: experimentKeyParams,
    body: shareBody,
    responses: { 201: { description: 'the link', json: shareLink } },
    errors: { 404: '`not_found`: no such experiment.' },
  },
  ({ params, body }, req) => reportsService.createShareLink(params.key, body.expiresInSeconds, `${req.protocol}://${req.get('host')}`),
);

// The token in the URL is not cached (the Content-Security-Policy, Referrer-Policy and the other security
// headers come from helmet, in src/app.ts: no script runs, nothing is fetched, no framing, no referrer).
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Robots-Tag': 'noindex, nofollow',
};

function send(res: Response, page: RenderedPage): void {
  res.status(page.status).set({ ...PAGE_HEADERS, ...page.headers }).send(page.html);
}

/** Public: the report behind a signed share link. Every failure is the same 404 page, so nothing leaks. */
export const reportPageRouter = Router();
documented(reportPageRouter, { tag: 'Reports' }).raw(
  'get',
  '/reports/:key',
  {
    access: 'signed-link',
    summary: 'The HTML report behind a share link',
    params: experimentKeyParams,
    query: reportQuery,
    responses: {
      200: {
        description: 'the report page',
        content: { 'text/html': { type: 'string' } },
        headers: { 'X-Counted-As-Of': 'everything acknowledged before this time is counted', 'X-Counted-Pending': 'records not counted yet', 'X-Counted-Complete': 'whether the read waited for everything' },
      },
      404: { description: 'the same page for a bad, expired or unknown link (nothing leaks)', content: { 'text/html': { type: 'string' } } },
    },
  },
  async (req, res) => {
    const params = experimentKeyParams.safeParse(req.params);
    const query = reportQuery.safeParse(req.query);
    if (!params.success || !query.success) {
      send(res, reportsService.notFoundPage());
      return;
    }
    send(res, await reportsService.renderReport(params.data.key, query.data.token));
  },
);
documented(reportPageRouter, { tag: 'Reports' }).raw(
  'get',
  '/reports/:key/comments',
  {
    access: 'signed-link',
    summary: "All comments, behind the report's share link",
    description: 'Of one survey metric and variant when `metric` and `variant` are given (the report links them): newest first, 50 a page, with a link to the older ones (the report shows the latest 20 per variant).',
    params: experimentKeyParams,
    query: reportCommentsQuery,
    responses: {
      200: { description: 'a page of comments', content: { 'text/html': { type: 'string' } } },
      404: { description: 'the same page for a bad, expired or unknown link (nothing leaks)', content: { 'text/html': { type: 'string' } } },
    },
  },
  async (req, res) => {
    const params = experimentKeyParams.safeParse(req.params);
    const query = reportCommentsQuery.safeParse(req.query);
    if (!params.success || !query.success) {
      send(res, reportsService.notFoundPage());
      return;
    }
    const { token, ...filter } = query.data;
    send(res, await reportsService.renderComments(params.data.key, token, filter));
  },
);
