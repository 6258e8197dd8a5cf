// Builds the Express application without listening (server.ts listens).
import express, { Router } from 'express';
import helmet, { crossOriginResourcePolicy } from 'helmet';
import type { Config } from '../config';
import { logger } from './lib/logger';
import { publicRateLimit } from './middleware/rate-limit';
import { requestLogging } from './middleware/request-log';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { apiKeysRouter, authenticate } from './modules/api-keys';
import { assignmentsRouter, pageRedirectRouter } from './modules/assignments';
import { campaignAudienceRouter, campaignsRouter } from './modules/campaigns';
import { docsRouter } from './modules/docs';
import { eventsRouter } from './modules/events';
import { feedbackRouter } from './modules/feedback';
import { experimentsRouter } from './modules/experiments';
import { healthRouter } from './modules/health';
import { metricsRouter } from './modules/metrics';
import { trackingRouter } from './modules/tracking';
import { smsRouter } from './modules/sms';
import { resultsRouter } from './modules/results';
import { surveysRouter } from './modules/surveys';
import { reportPageRouter, reportsRouter } from './modules/reports';
import { webhooksRouter } from './modules/webhooks';
import { clientApiRouter, clientKeysRouter, sdkScriptRouter } from './modules/client-keys';

export interface AppExtensions {
  /** Routers mounted under /v1, behind authentication (later features add theirs here). */
  v1?: Router[];
  /** Public routers (signed links, reports), mounted at the root. */
  public?: Router[];
}

/**
 * The security headers of every answer, from helmet (nothing else sets them). The HTML pages (reports,
 * survey thank-you and unsubscribe pages) are self-contained: an inline <style> element, inline SVG, no
 * script, no image, nothing fetched; their forms post back to the same origin. The policy allows that
 * and nothing more, and nobody may frame them. The interactive reference (/docs) has a policy of its
 * own, for Swagger UI's scripts and styles: src/modules/docs/docs.page.ts.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      styleSrc: ["'unsafe-inline'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
});

/**
 * `config`: the request-time settings of the app itself (trust proxy, body limit, public rate limit), from
 * the composition root (tests pass another to build a differently configured app). The modules' own
 * settings are given to them by src/wiring.ts.
 */
export function buildApp(config: Readonly<Config>, extensions: AppExtensions = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('query parser', 'simple');

  app.use(requestLogging(logger));
  app.use(securityHeaders);
  // The open pixel is an image that mail clients load from other origins.
  app.use('/t/o', crossOriginResourcePolicy({ policy: 'cross-origin' }));

  // The health probes (/healthz, /readyz), before the rate limit.
  app.use(healthRouter);

  // Everything below that is not /v1 answers without an API key: limited per client, before any body is read.
  app.use(publicRateLimit(config));

  // Streamed audience uploads (up to 1,000,000 rows) read the raw body: mounted before the JSON parser.
  app.use('/v1', campaignAudienceRouter);
  // Pages and SDKs with a client key (SDK payload, beacons): their own CORS and a small body limit of their own.
  app.use('/api', clientApiRouter);
  app.use(express.json({ limit: config.BODY_LIMIT }));
  app.use(express.urlencoded({ extended: false, limit: config.BODY_LIMIT }));

  // The API first, its hottest routes (ingestion) first: express tries every route of every router in
  // order until one matches, so this order is what a request pays for routing. No public path starts
  // with /v1, and no two routers below share a route.
  const v1 = Router();
  v1.use(authenticate);
  v1.use(assignmentsRouter, eventsRouter, experimentsRouter, resultsRouter, surveysRouter, campaignsRouter, apiKeysRouter, reportsRouter, webhooksRouter, clientKeysRouter, feedbackRouter, metricsRouter);
  for (const router of extensions.v1 ?? []) v1.use(router);
  app.use('/v1', v1);

  app.use(pageRedirectRouter, reportPageRouter, trackingRouter, smsRouter, sdkScriptRouter, docsRouter);
  for (const router of extensions.public ?? []) app.use(router);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
