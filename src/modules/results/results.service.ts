import { BadRequestError, ConflictError } from '../../lib/errors';
import { eventsService } from '../events';
import { experimentsService, type Experiment, type ExperimentRecord, type ExperimentStatus } from '../experiments';
import { looksService } from './looks.service';
import { resultsToCsv } from './results.csv';
import { readResults, readSlices } from './results.read';
import type { RolloutInput } from './results.schemas';
import type { Decision, ExperimentResults, SlicedResults } from './results.types';

const ROLLOUT_FROM: ExperimentStatus[] = ['running', 'paused', 'stopped'];

export interface RolloutResult {
  experiment: Experiment;
  rollout: { variant: string; at: Date; by: string };
  forced: boolean;
  decision: Decision;
}

export const resultsService = {
  /**
   * Results from the experiment record and its aggregates only: two reads whatever the number of events.
   * Writes nothing: the stored sequential minima apply, but only a look (looks.service.ts) records new
   * ones and notifies webhooks.
   */
  async compute(key: string, options: { stale?: boolean } = {}): Promise<ExperimentResults> {
    return (await readResults(key, new Date(), options)).results;
  },

  /** The results per value of one of the experiment's dimensions (segments). Reads only. */
  async slices(key: string, dimension: string, options: { stale?: boolean; experiment?: ExperimentRecord } = {}): Promise<SlicedResults> {
    return readSlices(key, dimension, new Date(), options);
  },

  async csv(key: string, options: { stale?: boolean } = {}): Promise<{ csv: string; results: ExperimentResults }> {
    const { experiment, results } = await readResults(key, new Date(), options);
    // The slices of every declared dimension follow the whole experiment's rows (counted as of the same wait).
    const sliced = [];
    for (const dimension of experiment.dimensions ?? []) sliced.push(await readSlices(key, dimension, new Date(), { stale: true, experiment }));
    return { csv: resultsToCsv(results, sliced), results };
  },

  /** Rebuilds the aggregates from raw assignments, events and answers, then computes from the rebuilt ones. */
  async recompute(key: string) {
    const { experiment: _key, ...recomputed } = await eventsService.recompute(key);
    return { recomputed, results: await this.compute(key) };
  },

  async rollout(key: string, input: RolloutInput, actor: string): Promise<RolloutResult> {
    const current = await experimentsService.getRecord(key);
    if (!ROLLOUT_FROM.includes(current.status)) {
      throw new ConflictError(`cannot roll out experiment "${key}": it is ${current.status} (rollout needs ${ROLLOUT_FROM.join(', ')})`);
    }
    if (input.variant !== undefined && !current.variants.some((v) => v.key === input.variant)) {
      throw new BadRequestError(`variant: "${input.variant}" is not a variant of experiment "${key}"`, [{ path: 'variant', message: 'is not a variant of this experiment' }]);
    }
    // The decision acted on is a look: its minima are recorded and webhooks hear of it.
    const { decision } = (await looksService.recordLook(key, 'rollout')).results;
    const forced = input.force === true;
    const variant = input.variant ?? decision.variant;
    if (!forced && decision.verdict !== 'ship') {
      throw new ConflictError(`cannot roll out experiment "${key}": the verdict is ${decision.verdict}, not ship. ${decision.reasons.join(' ')} Send "force": true to roll out anyway.`, { decision });
    }
    if (!forced && variant !== decision.variant) {
      throw new ConflictError(`the decision ships "${decision.variant}", not "${variant}"; send "force": true to roll out another variant`, { decision });
    }
    if (variant === undefined) throw new BadRequestError('variant: required, because the decision names no variant', [{ path: 'variant', message: 'required' }]);

    const rollout = { variant, at: new Date(), by: actor };
    const experiment = await experimentsService.setStatus(key, ROLLOUT_FROM, 'rolled_out', actor, 'rolled_out', {
      set: { rollout, stoppedAt: current.stoppedAt ?? rollout.at },
      details: { variant, forced, decision: { verdict: decision.verdict, ...(decision.variant ? { variant: decision.variant } : {}), reasons: decision.reasons } },
    });
    return { experiment, rollout, forced, decision };
  },

  /** Back to stopped: assignments return to what is stored (sticky); nothing stored was ever changed. */
  async rollback(key: string, actor: string): Promise<Experiment> {
    const current = await experimentsService.getRecord(key);
    if (current.status !== 'rolled_out') {
      throw new ConflictError(`cannot roll back experiment "${key}": it is ${current.status} (only a rolled_out experiment can be rolled back)`);
    }
    return experimentsService.setStatus(key, ['rolled_out'], 'stopped', actor, 'rolled_back', {
      unset: ['rollout'],
      details: { variant: current.rollout?.variant ?? null },
    });
  },
};
