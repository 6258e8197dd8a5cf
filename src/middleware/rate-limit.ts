// The per-client rate limit of the public, login-less routes (signed tracking, survey and unsubscribe
// links, page redirects, report pages, and whatever else answers without an API key). The authenticated
// /v1 API and the health probes are not limited here. The client is req.ip, so behind a reverse proxy
// TRUST_PROXY must say which X-Forwarded-For hop to believe (config/index.ts).
//
// The counts are kept in memory, per process: with several instances behind a load balancer each one
// allows RATE_LIMIT_PUBLIC_PER_MINUTE on its own.
import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Config } from '../../config';
import { logger } from '../lib/logger';

const WINDOW_MS = 60_000;

/** The API, which the limiter leaves alone (its callers hold keys; the health probes are answered before it). */
function isApi(req: Request): boolean {
  return req.path === '/v1' || req.path.startsWith('/v1/');
}

const TOO_MANY_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
  '<meta name="robots" content="noindex, nofollow"><title>Too many requests</title></head>' +
  '<body><h1>Too many requests</h1><p>Please try again in a minute.</p></body></html>';

export function publicRateLimit(config: Pick<Config, 'RATE_LIMIT_PUBLIC_PER_MINUTE'>): RequestHandler {
  const limit = config.RATE_LIMIT_PUBLIC_PER_MINUTE;
  if (limit === 0) return (_req, _res, next) => next();
  const limiter = rateLimit({
    windowMs: WINDOW_MS,
    limit,
    // RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and RateLimit-Policy; Retry-After on a 429.
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    handler: (req, res) => {
      const message = `too many requests: at most ${limit} a minute from one client, try again in ${String(res.getHeader('Retry-After') ?? 60)} s`;
      res.status(429).set('Cache-Control', 'no-store');
      // A person who followed a link in a browser gets a page; everything else the API's error shape.
      if (req.accepts(['json', 'html']) === 'html') res.type('html').send(TOO_MANY_PAGE);
      else res.json({ error: { code: 'rate_limited', message } });
    },
    // express-rate-limit reports misconfigurations it detects (such as a permissive trust proxy) here.
    logger: {
      error: (error, message) => logger.error({ err: error }, message ?? 'rate limiter'),
      warn: (error, message) => logger.warn({ err: error }, message ?? 'rate limiter'),
    },
  });
  // The API is passed on before the limiter's (asynchronous) work: its requests pay nothing for it.
  return (req, res, next) => (isApi(req) ? next() : limiter(req, res, next));
}
