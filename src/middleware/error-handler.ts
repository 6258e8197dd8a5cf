// The one error middleware: every error body is {error: {code, message, details?}}.
import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { AppError, isDuplicateKeyError } from '../lib/errors';
import { logger } from '../lib/logger';
import { loggablePath } from './request-log';

function zodDetails(error: ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (error instanceof AppError) {
    res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details } });
    return;
  }
  if (error instanceof ZodError) {
    const details = zodDetails(error);
    const first = details[0];
    const message = first ? `${first.path || 'request'}: ${first.message}` : 'invalid request';
    res.status(400).json({ error: { code: 'validation_failed', message, details } });
    return;
  }
  if (isDuplicateKeyError(error)) {
    res.status(409).json({ error: { code: 'conflict', message: 'a record with the same key already exists' } });
    return;
  }
  // Body parser errors (malformed JSON, too large) carry an HTTP status and a type.
  const status = (error as { status?: number; statusCode?: number })?.status ?? (error as { statusCode?: number })?.statusCode;
  const type = (error as { type?: string })?.type;
  if (status === 413 || type === 'entity.too.large') {
    res.status(413).json({ error: { code: 'payload_too_large', message: 'request body is larger than the limit' } });
    return;
  }
  if (status && status >= 400 && status < 500) {
    const message = type === 'entity.parse.failed' ? 'body: malformed JSON' : (error as Error).message;
    res.status(status).json({ error: { code: type === 'entity.parse.failed' ? 'invalid_json' : 'bad_request', message } });
    return;
  }
  const requestId = (req as { id?: string | number }).id ?? randomUUID();
  logger.error({ err: error, requestId, method: req.method, path: loggablePath(req.originalUrl) }, 'unexpected error');
  res.status(500).json({ error: { code: 'internal', message: 'internal error', details: { requestId: String(requestId) } } });
};

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path}` } });
};
