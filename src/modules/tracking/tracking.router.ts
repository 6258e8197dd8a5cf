import { Router, type Request, type Response } from 'express';
import { NotFoundError } from '../../lib/errors';
import { logger } from '../../lib/logger';
import { documented } from '../../lib/openapi';
import type { SurveyMetricInfo } from '../experiments';
import { localeFromAcceptLanguage, type Locale } from './locales.catalogue';
import { blankPage, invalidLinkPage, invalidScorePage, PAGE_HEADERS, thankYouPage, unsubscribeConfirmPage, unsubscribedPage } from './pages.view';
import { surveyForm, surveyQuery, tokenParams, unsubscribeForm } from './tracking.schemas';
import { trackingService, type RequestFacts } from './tracking.service';
import { verifyToken, type TokenPurpose, type TrackingPayload } from './tokens.service';

/** Public: the signed links in campaign messages. No API key and no cookies: the token is the proof. */
export const trackingRouter = Router();
const route = documented(trackingRouter, { tag: 'Signed links' });

// A 1×1 transparent GIF.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

function facts(req: Request): RequestFacts {
  return {
    ...(req.get('user-agent') !== undefined ? { userAgent: req.get('user-agent')! } : {}),
    ...(req.ip !== undefined ? { ip: req.ip } : {}),
    ...(req.get('accept-language') !== undefined ? { acceptLanguage: req.get('accept-language')! } : {}),
  };
}

function tokenFrom(req: Request, purposes: TokenPurpose[]): TrackingPayload | null {
  const parsed = tokenParams.safeParse(req.params);
  if (!parsed.success) return null;
  const token = verifyToken(parsed.data.token);
  return token && purposes.includes(token.purpose) ? token : null;
}

function sendPage(res: Response, status: number, html: string): void {
  res.status(status).set(PAGE_HEADERS).send(html);
}

function browserLocale(req: Request): Locale {
  return localeFromAcceptLanguage(req.get('accept-language')) ?? 'en';
}

const HTML = { 'text/html': { type: 'string' as const } };
const page = (description: string) => ({ description, content: HTML });
const invalidLink = page("the link is not valid (a page in the browser's language)");

route.raw(
  'get',
  '/t/o/:token',
  {
    access: 'signed-link',
    summary: 'The open pixel of a campaign message',
    description: 'Records an open (flagged when it comes from a privacy proxy); always answers the 1×1 GIF, whatever the token.',
    params: tokenParams,
    responses: { 200: { description: 'a 1×1 transparent GIF', content: { 'image/gif': { type: 'string', contentMediaType: 'image/gif' } } } },
  },
  async (req, res) => {
    const token = tokenFrom(req, ['open']);
    // HEAD requests and prefetch checks get the pixel too, but only a GET of a genuine token is an open.
    if (token && req.method === 'GET') {
      try {
        await trackingService.recordOpen(token, facts(req));
      } catch (error) {
        logger.error({ err: error, experiment: token.experiment }, 'could not record an email open');
      }
    }
    res.status(200).set({ 'Content-Type': 'image/gif', 'Cache-Control': 'no-store, no-cache, must-revalidate, private', Pragma: 'no-cache', Expires: '0' }).send(PIXEL);
  },
);

route.raw(
  'get',
  '/t/c/:token',
  {
    access: 'signed-link',
    summary: 'A tracked click',
    description: 'Records the click (clicks by security scanners are not counted) and redirects to the URL signed into the token, never anywhere else.',
    params: tokenParams,
    responses: { 302: { description: 'to the signed URL', headers: { Location: 'the URL in the message' } }, 200: page('a blank page (a hidden link only scanners follow)') },
    errors: { 404: '`not_found`: the token is not valid.' },
  },
  async (req, res) => {
    const token = tokenFrom(req, ['click', 'honeypot']);
    // Never a redirect for a bad token: only a signed target is ever followed (no open redirect).
    if (!token) throw new NotFoundError('link');
    if (token.purpose === 'honeypot') {
      if (req.method === 'GET') await trackingService.recordClickHit(token, facts(req));
      sendPage(res, 200, blankPage());
      return;
    }
    const target = token.target ?? '';
    if (!/^https?:\/\//i.test(target)) throw new NotFoundError('link');
    if (req.method === 'GET') await trackingService.recordClickHit(token, facts(req));
    // Referrer-Policy: no-referrer (helmet) keeps the token from reaching the target as a referrer.
    res.set('Cache-Control', 'no-store').redirect(302, target);
  },
);

const surveyResponses = { 200: page('the thank-you page (with a comment box)'), 400: page('the score is not one of the scale'), 404: invalidLink };

/** The survey a link is for; answers the invalid-link page (404) and returns null when it is for none. */
async function surveyOf(req: Request, res: Response): Promise<{ token: TrackingPayload; metric: SurveyMetricInfo } | null> {
  const token = tokenFrom(req, ['survey']);
  const metric = token && (await trackingService.surveyMetric(token));
  if (!token || !metric) {
    sendPage(res, 404, invalidLinkPage(browserLocale(req)));
    return null;
  }
  return { token, metric };
}

route.raw(
  'get',
  '/s/:token',
  {
    access: 'signed-link',
    summary: 'A one-click survey answer',
    description:
      "Records the score of the link and shows the thank-you page in the recipient's language. The score becomes the answer once classified like a click: a link scanner's (its agent, a burst over the message's links, the hidden trap) is never an answer.",
    params: tokenParams,
    query: surveyQuery,
    responses: surveyResponses,
  },
  async (req, res) => {
    const survey = await surveyOf(req, res);
    if (!survey) return;
    const { token, metric } = survey;
    const request = facts(req);
    const locale = await trackingService.localeFor(token, request);
    const score = trackingService.parseScore(metric, surveyQuery.safeParse(req.query).data?.score);
    if (score === null) {
      sendPage(res, 400, invalidScorePage(locale, metric.scale));
      return;
    }
    // Link scanners follow every score link of a message: the score is a hit, classified like a click
    // (scanner agents, bursts over the links, the hidden trap) before it may become an answer.
    const hitId = req.method === 'GET' ? await trackingService.recordSurveyHit(token, metric.key, score, request) : undefined;
    sendPage(res, 200, thankYouPage(locale, req.params.token as string, metric, score, false, hitId, await trackingService.followUpQuestion(token, locale)));
  },
);

route.raw(
  'post',
  '/s/:token',
  {
    access: 'signed-link',
    summary: 'A survey answer with a comment',
    description: 'The form of the thank-you page: the score again, the comment (the answer to the follow-up question), and `answer`, the one-click score the page was shown for, which the comment is stored on.',
    params: tokenParams,
    requestContent: { 'application/x-www-form-urlencoded': surveyForm },
    responses: surveyResponses,
  },
  async (req, res) => {
    const survey = await surveyOf(req, res);
    if (!survey) return;
    const { token, metric } = survey;
    const locale = await trackingService.localeFor(token, facts(req));
    const form = surveyForm.safeParse(req.body ?? {});
    const score = form.success ? trackingService.parseScore(metric, form.data.score) : null;
    if (!form.success || score === null) {
      sendPage(res, 400, invalidScorePage(locale, metric.scale));
      return;
    }
    const comment = form.data.comment?.trim();
    await trackingService.recordAnswer(token, metric.key, score, comment || undefined, form.data.answer || undefined);
    sendPage(res, 200, thankYouPage(locale, req.params.token as string, metric, score, Boolean(comment)));
  },
);

route.raw(
  'get',
  '/u/:token',
  {
    access: 'signed-link',
    summary: 'The unsubscribe page',
    description: 'Shows a confirmation button and changes nothing (scanners and prefetchers follow links).',
    params: tokenParams,
    responses: { 200: page('the confirmation page'), 404: invalidLink },
  },
  async (req, res) => {
    const token = tokenFrom(req, ['unsubscribe']);
    if (!token) {
      sendPage(res, 404, invalidLinkPage(browserLocale(req)));
      return;
    }
    // Showing the page changes nothing: scanners and prefetchers GET links, only a POST unsubscribes.
    sendPage(res, 200, unsubscribeConfirmPage(await trackingService.localeFor(token, facts(req)), req.params.token as string));
  },
);

route.raw(
  'post',
  '/u/:token',
  {
    access: 'signed-link',
    summary: 'Unsubscribe',
    description: 'The confirmation button, and RFC 8058 one-click unsubscribes (the List-Unsubscribe-Post header of every message).',
    params: tokenParams,
    requestContent: { 'application/x-www-form-urlencoded': unsubscribeForm },
    responses: { 200: page('unsubscribed'), 404: invalidLink },
  },
  async (req, res) => {
    const token = tokenFrom(req, ['unsubscribe']);
    if (!token) {
      sendPage(res, 404, invalidLinkPage(browserLocale(req)));
      return;
    }
    // RFC 8058 clients POST "List-Unsubscribe=One-Click"; the page's button posts an empty form.
    const oneClick = unsubscribeForm.safeParse(req.body ?? {}).data?.['List-Unsubscribe'] === 'One-Click';
    await trackingService.unsubscribe(token, oneClick ? 'one_click' : 'link');
    sendPage(res, 200, unsubscribedPage(await trackingService.localeFor(token, facts(req))));
  },
);
