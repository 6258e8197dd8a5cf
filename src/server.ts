// Starts Verdict: configuration, database (embedded FerretDB unless MONGODB_URI is set), HTTP server,
// and a graceful shutdown that finishes in-flight requests before the database goes away. The
// composition root: the configuration is read here, once, and each module is given what it needs
// (src/wiring.ts).
import type { Server } from 'node:http';
import { ConfigError, getConfig, type Config } from '../config';
import { buildApp } from './app';
import { connectDatabase, disconnectDatabase, ensureIndexes } from './db/connection';
import { resolveSecrets } from './lib/dev-secrets';
import { drainOnClose } from './lib/http-drain';
import { logger } from './lib/logger';
import { apiKeysService } from './modules/api-keys';
import { clientKeysService } from './modules/client-keys';
import { changesService, followChangesDuty } from './modules/changes';
import { experimentsService } from './modules/experiments';
import { campaignScheduleDuty, closeSharedMailTransport, SendWorker } from './modules/campaigns';
import { closeSharedSmsTransport } from './modules/sms';
import { JobRunner } from './jobs/runner';
import { aggregatorDuty } from './modules/aggregator';
import { looksDuty } from './modules/results';
import { clickClassifierDuty, closeRenderPool } from './modules/tracking';
import { webhookDeliveries } from './modules/webhooks';
import { configureModules, serviceSettings } from './wiring';

export interface RunningService {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export async function startService(config: Readonly<Config> = getConfig()): Promise<RunningService> {
  const secrets = resolveSecrets(config);
  const settings = serviceSettings(config, secrets);
  configureModules(settings);
  const database = await connectDatabase(settings.database);
  await ensureIndexes();
  // Background duties, each run by one instance at a time (leases in the database).
  const jobs = new JobRunner({ leaseMs: config.JOB_LEASE_MS });
  const counting = aggregatorDuty(config);
  jobs.register(counting.duty);
  // Scheduled looks: record the sequential minima and decision webhooks (at most one per experiment per LOOK_INTERVAL).
  jobs.register(looksDuty(settings.looks));
  // Classifies tracked clicks as they settle, including hits a restart left unclassified.
  jobs.register(clickClassifierDuty(settings.schedulerIntervalMs));
  // Instances agree: each follows the change counter into its caches of experiments and API keys.
  changesService.onChange('experiments', () => experimentsService.dropCached());
  changesService.onChange('apiKeys', () => apiKeysService.dropCached());
  changesService.onChange('apiKeys', () => clientKeysService.dropCached());
  jobs.register(followChangesDuty(config.CHANGES_POLL_MS));
  // Campaign sending: the lease's new holder re-queues what another sender left mid-send; the schedule
  // resumes enqueues and sends automatic winners.
  const sendWorker = new SendWorker();
  jobs.register(sendWorker.duty);
  jobs.register(campaignScheduleDuty(settings.schedulerIntervalMs));
  // Webhook deliveries: pending ones (left by a crash or a restart) resume on the first poll.
  jobs.register(webhookDeliveries(settings.webhookDeliveries).duty);
  jobs.start();

  const app = buildApp(config);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s)).on('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const http = drainOnClose(server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  logger.info({ url, database: database.embedded ? 'embedded FerretDB' : 'MONGODB_URI' }, 'verdict is listening');

  let stopping: Promise<void> | undefined;
  return {
    server,
    url,
    stop() {
      stopping ??= (async () => {
        // Stop accepting, close idle keep-alive sockets, let in-flight requests finish (each completes its
        // writes before it answers) with Connection: close, so their sockets end too (src/lib/http-drain.ts).
        await http.close();
        await jobs.stop();
        closeSharedMailTransport();
        await closeRenderPool();
        closeSharedSmsTransport();
        counting.aggregator.close();
        await disconnectDatabase();
      })();
      return stopping;
    },
  };
}

export async function main(): Promise<void> {
  let config;
  try {
    config = getConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`verdict: refusing to start, ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  let service: RunningService;
  try {
    service = await startService(config);
  } catch (error) {
    process.stderr.write(`verdict: failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const secrets = resolveSecrets(config);
  process.stdout.write(`\nVerdict is running at ${service.url}\n`);
  if (secrets.generatedAdminKey) {
    process.stdout.write(`Admin API key (generated for development, kept in ${config.DATA_DIR}/dev-secrets.json):\n  ${secrets.adminApiKey}\n`);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(1);
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) void main();
