// Request ids and request logging. Every answer carries an X-Request-Id; the error middleware logs
// unexpected errors with it. A line per request (method, path, status, time) is written at debug level,
// through pino-http, which is mounted only when that level is enabled: it builds a child logger with the
// serialised request for every request, which cost about a tenth of a single assignment's CPU even
// with the line never written.
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import pinoHttp from 'pino-http';
import type { Logger } from '../lib/logger';

/**
 * The path as logged: no query string (it may carry customer ids or tokens), and the signed token of
 * tracking, survey, unsubscribe and report links replaced, since a token names a customer.
 */
export function loggablePath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.replace(/^\/(t\/[oc]|s|u|reports)\/[^/]+/, '/$1/:token').replace(/^\/v1\/customers\/[^/]+/, '/v1/customers/:customerId');
}

const assignRequestId: RequestHandler = (req, res, next) => {
  const id = randomUUID();
  (req as { id?: string }).id = id;
  res.setHeader('X-Request-Id', id);
  next();
};

export function requestLogging(logger: Logger): RequestHandler[] {
  if (!logger.isLevelEnabled('debug')) return [assignRequestId];
  const log = pinoHttp({
    logger,
    // Only method, path (no query string: it may carry customer ids or tokens) and status.
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: loggablePath(req.url) }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'debug'),
  });
  return [assignRequestId, log];
}
