// Starts Verdict: configuration, database (embedded FerretDB unless MONGODB_URI is set), HTTP server,
// and a graceful shutdown that finishes in-flight requests before the database goes away.
import type { Server } from 'node:http';
import { ConfigError, getConfig } from '../config';
import { buildApp } from './app';
import { connectDatabase, disconnectDatabase, ensureIndexes } from './db/connection';
import { resolveSecrets } from './lib/dev-secrets';
import { logger } from './lib/logger';
import { setAdminKey } from './modules/api-keys';
import { CampaignScheduler, closeSharedMailTransport, SendWorker } from './modules/campaigns';
import { JobRunner } from './jobs/runner';
import { aggregatorDuty } from './modules/aggregator';
import { runDueLooks } from './modules/results';
import { trackingService } from './modules/tracking';
import { startWebhookWorker } from './modules/webhooks';

export interface RunningService {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export async function startService(): Promise<RunningService> {
  const config = getConfig();
  const secrets = resolveSecrets(config);
  setAdminKey(secrets.adminApiKey);
  const database = await connectDatabase();
  await ensureIndexes();
  // Background duties, each run by one instance at a time (leases in the database).
  const jobs = new JobRunner({ leaseMs: config.JOB_LEASE_MS });
  const counting = aggregatorDuty(config);
  jobs.register(counting.duty);
  // Scheduled looks: record the sequential minima and decision webhooks (at most one per experiment per LOOK_INTERVAL).
  jobs.register({ name: 'looks', everyMs: 60_000, run: async () => void (await runDueLooks(new Date())) });
  jobs.start();
  // Classifies tracked clicks as they settle, including hits a restart left unclassified.
  trackingService.startWorker();
  // Webhook deliveries: pending ones (left by a crash or a restart) resume on the first poll.
  const webhookWorker = startWebhookWorker();

  // Campaign sending: the worker re-queues what a crash left mid-send; the scheduler resumes enqueues.
  const sendWorker = new SendWorker();
  await sendWorker.start();
  const campaignScheduler = new CampaignScheduler();
  campaignScheduler.start();

  const app = buildApp();
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s)).on('error', reject);
  });
  server.keepAliveTimeout = 65_000;
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
        // Stop accepting, let in-flight requests finish (each request completes its writes before it answers).
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await campaignScheduler.stop();
        await sendWorker.stop();
        closeSharedMailTransport();
        await webhookWorker.stop();
        await trackingService.stopWorker();
        await jobs.stop();
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
    service = await startService();
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
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) void main();
