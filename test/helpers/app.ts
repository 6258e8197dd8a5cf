// One service per test run: the real embedded database (or MONGODB_URI), the real app, over supertest.
import type { Express } from 'express';
import supertest from 'supertest';
import { buildApp, type AppExtensions } from '../../src/app';
import { connectDatabase, disconnectDatabase, ensureIndexes } from '../../src/db/connection';
import { getConfig } from '../../config';
import { JobRunner } from '../../src/jobs/runner';
import { aggregatorDuty, type Aggregator } from '../../src/modules/aggregator';
import { registerStopper } from './resources';
import { testSettings } from './wiring';

export const ADMIN_KEY = process.env.ADMIN_API_KEY!;

let ready: Promise<void> | undefined;
let aggregator: Aggregator | undefined;

/**
 * Connects the database once per run and runs the counting engine's aggregator beside the app, as the
 * service does; both are stopped by the root afterAll hook.
 */
export function connectTestDatabase(): Promise<void> {
  ready ??= (async () => {
    const settings = testSettings();
    await connectDatabase(settings.database);
    await ensureIndexes();
    const jobs = new JobRunner({ leaseMs: getConfig().JOB_LEASE_MS });
    const counting = aggregatorDuty(getConfig());
    aggregator = counting.aggregator;
    jobs.register(counting.duty);
    jobs.start();
    registerStopper(async () => {
      await jobs.stop();
      counting.aggregator.close();
      await disconnectDatabase();
    });
  })();
  return ready;
}

/** The test run's aggregator (after connectTestDatabase). */
export function testAggregator(): Aggregator | undefined {
  return aggregator;
}

let app: Express | undefined;

export async function testApp(extensions?: AppExtensions): Promise<Express> {
  await connectTestDatabase();
  if (extensions) return buildApp(getConfig(), extensions);
  app ??= buildApp(getConfig());
  return app;
}

/** supertest with the admin key (or another) already set. */
export async function api(key: string = ADMIN_KEY) {
  const instance = await testApp();
  const withKey = <T extends supertest.Test>(test: T) => test.set('Authorization', `Bearer ${key}`);
  return {
    app: instance,
    get: (url: string) => withKey(supertest(instance).get(url)),
    post: (url: string) => withKey(supertest(instance).post(url)),
    patch: (url: string) => withKey(supertest(instance).patch(url)),
    delete: (url: string) => withKey(supertest(instance).delete(url)),
    raw: () => supertest(instance),
  };
}
export type Api = Awaited<ReturnType<typeof api>>;
