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

// No script may run, nothing is fetched from elsewhere, the page cannot be framed, and the token in the
// URL is neither cached nor sent on as a referrer.
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
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
