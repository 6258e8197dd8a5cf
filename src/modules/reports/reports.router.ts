import { Router, type Response } from 'express';
import { handle } from '../../lib/handler';
import { can } from '../../middleware/auth';
import { experimentKeyParams, KEY_PATTERN } from '../experiments';
import { reportQuery, shareBody } from './reports.schemas';
import { reportsService, type RenderedPage } from './reports.service';

export const reportsRouter = Router();

reportsRouter.post(
  '/experiments/:key/share',
  can.read,
  handle({ params: experimentKeyParams, body: shareBody }, ({ params, body }, req) =>
    reportsService.createShareLink(params.key, body.expiresInSeconds, `${req.protocol}://${req.get('host')}`),
  { status: 201 }),
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
reportPageRouter.get('/reports/:key', async (req, res) => {
  const key = String(req.params.key);
  const query = reportQuery.safeParse(req.query);
  if (!KEY_PATTERN.test(key) || !query.success) return send(res, reportsService.notFoundPage());
  send(res, await reportsService.renderReport(key, query.data.token));
});
