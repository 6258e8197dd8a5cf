// The aggregator as a duty of the job runner, with the settings from the configuration.
import type { Config } from '../../../config';
import type { Duty } from '../../jobs/runner';
import { Aggregator } from './aggregator.service';

export const AGGREGATOR_DUTY = 'aggregator';

export function aggregatorDuty(config: Pick<Config, 'COUNTING_GRACE_MS' | 'AGGREGATOR_IDLE_MS'>): { duty: Duty; aggregator: Aggregator } {
  const aggregator = new Aggregator({ graceMs: config.COUNTING_GRACE_MS, idleMs: config.AGGREGATOR_IDLE_MS, maxRecords: 30_000 });
  return {
    aggregator,
    duty: { name: AGGREGATOR_DUTY, everyMs: 1_000, continuous: true, run: (ctx) => aggregator.run(ctx) },
  };
}
