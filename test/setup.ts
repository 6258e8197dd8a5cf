// Mocha root hooks. The test environment is fixed here, before any module reads the configuration:
// a temporary DATA_DIR per run (the embedded database lives there), fixed keys, no log noise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopTestResources } from './helpers/resources';
// No module reads the configuration when it is imported: the wiring gives it to them (beforeAll below).
import { testSettings } from './helpers/wiring';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verdict-test-'));
process.env.NODE_ENV = 'test';
process.env.LOG_LEVEL ??= 'silent';
process.env.DATA_DIR = dataDir;
process.env.ADMIN_API_KEY = 'test-admin-key-0123456789abcdef';
process.env.TRACKING_SECRET = 'test-tracking-secret-0123456789abcdef0123456789';
process.env.PUBLIC_BASE_URL ??= 'https://verdict.test';
process.env.MONGODB_DB = `verdict_test_${process.pid}_${Date.now()}`;
process.env.SCHEDULER_INTERVAL_MS ??= '200';
// Short enough that tests of a dead request's batch being taken over need not wait long.
process.env.COUNTING_GRACE_MS ??= '2000';
process.env.AGGREGATOR_IDLE_MS ??= '20';
process.env.JOB_LEASE_MS ??= '3000';

export const mochaHooks = {
  /** The modules are given their settings as the service gives them, from the environment fixed above. */
  beforeAll(): void {
    testSettings();
  },
  async afterAll(): Promise<void> {
    await stopTestResources();
    fs.rmSync(dataDir, { recursive: true, force: true });
  },
};
