// The composition root's wiring, shared by src/server.ts and the tests (test/helpers/wiring.ts): what each
// module is given, made from the configuration and the secrets in one place (serviceSettings), and handed
// to the modules once (configureModules). No module reads the configuration itself: services imported by
// routers and other modules get theirs through their configure… function; what the composition root
// builds (duties, workers, the database connection, the app) takes its settings as an argument.
import path from 'node:path';
import type { Config } from '../config';
import type { DatabaseSettings } from './db/connection';
import type { ResolvedSecrets } from './lib/dev-secrets';
import { configureLogger, type LoggerSettings } from './lib/logger';
import { registerMetricLibrary } from './modules/experiments';
import { metricsService } from './modules/metrics';
import { configureApiKeys, type ApiKeysSettings } from './modules/api-keys';
import { campaignMessageLookup, configureMail, type MailSettings } from './modules/campaigns';
import { configureClientKeys, type ClientKeysSettings } from './modules/client-keys';
import { observeEvents } from './modules/events';
import { COMPLAINT_EVENT, suppressComplainers } from './modules/feedback';
import { configureReports, type ReportsSettings } from './modules/reports';
import { configureSms, type SmsSettings } from './modules/sms';
import type { LooksSettings } from './modules/results';
import { configureSurveys, type SurveysSettings } from './modules/surveys';
import { configureTracking, registerMessageLookup, type TrackingSettings } from './modules/tracking';
import { configureWebhooks, targetPolicyOf, type WebhookDeliverySettings, type WebhooksSettings } from './modules/webhooks';

export interface ServiceSettings {
  logger: LoggerSettings;
  database: DatabaseSettings;
  apiKeys: ApiKeysSettings;
  clientKeys: ClientKeysSettings;
  tracking: TrackingSettings;
  reports: ReportsSettings;
  surveys: SurveysSettings;
  webhooks: WebhooksSettings;
  mail: MailSettings;
  sms: SmsSettings;
  /** The duties' settings (the composition root passes them when it makes the duties). */
  webhookDeliveries: WebhookDeliverySettings;
  looks: LooksSettings;
  /** SCHEDULER_INTERVAL_MS: the click classifier's and the campaign schedule's period. */
  schedulerIntervalMs: number;
}

/** The database connection's settings alone (scripts that only connect need no secrets). */
export function databaseSettings(config: Readonly<Config>): DatabaseSettings {
  return { ...(config.MONGODB_URI ? { uri: config.MONGODB_URI } : {}), dbName: config.MONGODB_DB, dataDir: config.dataDir, cacheDir: config.ferretDbCacheDir };
}

export function serviceSettings(config: Readonly<Config>, secrets: ResolvedSecrets): ServiceSettings {
  const targets = targetPolicyOf(config);
  return {
    logger: { level: config.LOG_LEVEL },
    database: databaseSettings(config),
    apiKeys: { adminApiKey: secrets.adminApiKey, cacheSeconds: config.API_KEY_CACHE_SECONDS },
    clientKeys: { cacheSeconds: config.API_KEY_CACHE_SECONDS },
    tracking: {
      trackingSecret: secrets.trackingSecret,
      publicBaseUrl: config.PUBLIC_BASE_URL ?? `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`,
    },
    reports: {
      trackingSecret: secrets.trackingSecret,
      ...(config.PUBLIC_BASE_URL ? { publicBaseUrl: config.PUBLIC_BASE_URL } : {}),
      linksFromRequestOrigin: config.NODE_ENV === 'development',
    },
    surveys: { invitationPeriodMs: config.surveyFrequencyPeriodMs },
    webhooks: { targets },
    mail: {
      ...(config.SMTP_URL ? { smtpUrl: config.SMTP_URL } : {}),
      maxConnections: config.SMTP_MAX_CONNECTIONS,
      rateLimit: config.SMTP_RATE_LIMIT,
      outboxDir: path.join(config.dataDir, 'outbox'),
    },
    sms: {
      ...(config.SMPP_URL ? { smppUrl: config.SMPP_URL } : {}),
      ratePerSecond: config.SMS_RATE_LIMIT,
      throttleBaseMs: config.SMS_THROTTLE_BACKOFF_MS,
      optOutKeywords: config.SMS_OPT_OUT_KEYWORDS,
      outboxDir: path.join(config.dataDir, 'outbox'),
    },
    webhookDeliveries: { intervalMs: config.SCHEDULER_INTERVAL_MS, retryBaseMs: config.WEBHOOK_RETRY_BASE_MS, timeoutMs: config.WEBHOOK_TIMEOUT_MS, targets },
    looks: { lookIntervalMs: config.lookIntervalMs },
    schedulerIntervalMs: config.SCHEDULER_INTERVAL_MS,
  };
}

/** Gives each module its settings and connects the modules that find each other through a registry. */
export function configureModules(settings: ServiceSettings): void {
  configureLogger(settings.logger);
  configureApiKeys(settings.apiKeys);
  configureClientKeys(settings.clientKeys);
  configureTracking(settings.tracking);
  configureReports(settings.reports);
  configureSurveys(settings.surveys);
  configureWebhooks(settings.webhooks);
  configureMail(settings.mail);
  configureSms(settings.sms);
  // Experiments look up the library metrics they name without importing the metrics module (which imports them).
  registerMetricLibrary((key) => metricsService.getDefinition(key));
  // Tracking asks campaigns for a message's facts (delivery time, locale) without importing campaigns.
  registerMessageLookup(campaignMessageLookup);
  // A stored "complaint" event suppresses the customer like an unsubscribe (feedback imports events).
  observeEvents(COMPLAINT_EVENT, suppressComplainers);
}
