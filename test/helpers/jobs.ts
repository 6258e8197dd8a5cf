// Background duties in tests run as in the service: on a job runner, with leases in the database.
import { getConfig } from '../../config';
import { JobRunner, type Duty } from '../../src/jobs/runner';
import type { SendWorker } from '../../src/modules/campaigns';
import { webhookDeliveries, type WebhookWorkerOptions } from '../../src/modules/webhooks';
import { testSettings } from './wiring';

/** Starts a runner with these duties; stop it (it releases its leases) before the test ends. */
export function startDuties(...duties: Duty[]): JobRunner {
  const runner = new JobRunner({ leaseMs: getConfig().JOB_LEASE_MS });
  for (const duty of duties) runner.register(duty);
  runner.start();
  return runner;
}

export interface WebhookWorker {
  /** One poll now (or the one running), instead of waiting for the next. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** Webhook deliveries as one instance runs them: the duty on a runner of its own, with the service's settings and these changes. */
export function startWebhookWorker(options: WebhookWorkerOptions = {}): WebhookWorker {
  const deliveries = webhookDeliveries(testSettings().webhookDeliveries, options);
  const runner = startDuties(deliveries.duty);
  return { tick: deliveries.tick, stop: () => runner.stop() };
}

/**
 * The send workers and runners a describe's tests start, stopped after each test (runners first, so they
 * release their leases, then the workers' transports).
 */
export function stoppedAfterEachTest(): { workers: SendWorker[]; runners: JobRunner[] } {
  const workers: SendWorker[] = [];
  const runners: JobRunner[] = [];
  afterEach(async () => {
    while (runners.length > 0) await runners.pop()!.stop();
    while (workers.length > 0) workers.pop()!.close();
  });
  return { workers, runners };
}
