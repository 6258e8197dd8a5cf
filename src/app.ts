// Builds the Express application without listening (server.ts listens).
import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import pinoHttp from 'pino-http';
import { getConfig } from '../config';
import { isDatabaseReachable } from './db/connection';
import { logger } from './lib/logger';
import { authenticate } from './middleware/auth';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { apiKeysRouter } from './modules/api-keys';
import { assignmentsRouter, pageRedirectRouter } from './modules/assignments';
import { campaignAudienceRouter, campaignsRouter } from './modules/campaigns';
import { eventsRouter } from './modules/events';
import { experimentsRouter } from './modules/experiments';
import { trackingRouter } from './modules/tracking';
import { resultsRouter } from './modules/results';
import { reportPageRouter, reportsRouter } from './modules/reports';
import { webhooksRouter } from './modules/webhooks';

/**
 * The path as logged: no query string (it may carry customer ids or tokens), and the signed token of
 * tracking, survey, unsubscribe and report links replaced, since a token names a customer.
 */
export function loggablePath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.replace(/^\/(t\/[oc]|s|u|reports)\/[^/]+/, '/$1/:token').replace(/^\/v1\/customers\/[^/]+/, '/v1/customers/:customerId');
}

export interface AppExtensions {
  /** Routers mounted under /v1, behind authentication (later features add theirs here). */
  v1?: Router[];
  /** Public routers (signed links, reports), mounted at the root. */
  public?: Router[];
}

export function buildApp(extensions: AppExtensions = {}): express.Express {
  const config = getConfig();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('query parser', 'simple');

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Only method, path (no query string: it may carry customer ids or tokens) and status.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: loggablePath(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'debug'),
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const database = await isDatabaseReachable();
    res.status(database ? 200 : 503).json({ status: database ? 'ready' : 'unavailable', database });
  });

  // Streamed audience uploads (up to 1,000,000 rows) read the raw body: mounted before the JSON parser.
  app.use('/v1', campaignAudienceRouter);
  app.use(express.json({ limit: config.BODY_LIMIT }));
  app.use(express.urlencoded({ extended: false, limit: config.BODY_LIMIT }));

  // The API first, its hottest routes (ingestion) first: express tries every route of every router in
  // order until one matches, so this order is what a request pays for routing. No public path starts
  // with /v1, and no two routers below share a route.
  const v1 = Router();
  v1.use(authenticate);
  v1.use(assignmentsRouter, eventsRouter, experimentsRouter, resultsRouter, campaignsRouter, apiKeysRouter, reportsRouter, webhooksRouter);
  for (const router of extensions.v1 ?? []) v1.use(router);
  app.use('/v1', v1);

  app.use(pageRedirectRouter, reportPageRouter, trackingRouter);
  for (const router of extensions.public ?? []) app.use(router);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
