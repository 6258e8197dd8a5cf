// A look records what the results show at one moment: the sequential running minima and τ² (so later
// looks cannot undo them) and the webhook detection (decision.changed, srm.detected). Reads never do
// either. Looks are taken on a schedule (runDueLooks: at most one per experiment per LOOK_INTERVAL,
// claimed with a compare-and-set on the experiment's lastLookAt, so several instances take one between
// them) and on every decision taken from the results (rollout, campaign winner).
import type { Duty } from '../../jobs/runner';
import { logger } from '../../lib/logger';
import { experimentsService, type ExperimentStatus } from '../experiments';
import { notifyDecision } from '../webhooks';
import { tau2Key } from './results.analysis';
import { readResults } from './results.read';
import type { ExperimentResults } from './results.types';

export type LookReason = 'scheduled' | 'campaign_decision' | 'rollout';

/** From the composition root. */
export interface LooksSettings {
  /** LOOK_INTERVAL: at most one scheduled look per experiment this often. */
  lookIntervalMs: number;
}

export interface Look {
  experiment: string;
  reason: LookReason;
  at: Date;
  /** The results as this look saw them (the decision taken from them, for rollout and campaigns). */
  results: ExperimentResults;
}

/** Experiments whose results are looked at on the schedule: those still collecting customers. */
const SCHEDULED_STATUSES: ExperimentStatus[] = ['running', 'paused'];
const TAU2_SUFFIX = tau2Key('');

async function takeLook(key: string, reason: LookReason, now: Date, claimed: boolean): Promise<Look> {
  let reading = await readResults(key, now);
  // τ² is tuned once and then fixed: the first look to store it wins. A look that lost that race takes
  // its p-values again with the stored τ², so every stored minimum comes from the same τ².
  let lostTau2 = false;
  for (const [field, value] of Object.entries(reading.sequentialUpdates)) {
    if (field.endsWith(TAU2_SUFFIX) && !(await experimentsService.recordSequentialTau2(key, field, value))) lostTau2 = true;
  }
  if (lostTau2) reading = await readResults(key, now);
  const minima = Object.fromEntries(Object.entries(reading.sequentialUpdates).filter(([field]) => !field.endsWith(TAU2_SUFFIX)));
  await experimentsService.recordSequentialMinima(key, minima);
  if (!claimed) await experimentsService.recordLookTime(key, now);
  // Never throws: a webhook problem is logged and the next look tries again.
  await notifyDecision(reading.results);
  return { experiment: key, reason, at: now, results: reading.results };
}

export const looksService = {
  /** Takes a look now (not subject to the interval): for decisions acted on (rollout, campaign winner). */
  async recordLook(key: string, reason: LookReason, now: Date = new Date()): Promise<Look> {
    return takeLook(key, reason, now, false);
  },

  /**
   * The scheduled looks: one for every running or paused experiment whose last look is at least
   * LOOK_INTERVAL old. Returns how many this call took. Meant to run as a periodic duty of the job
   * runner (every minute or so, looksDuty); an experiment claimed by another instance is skipped.
   */
  async runDueLooks(now: Date, settings: LooksSettings): Promise<number> {
    const intervalMs = settings.lookIntervalMs;
    let taken = 0;
    for (const experiment of await experimentsService.listWithAssignments()) {
      if (!SCHEDULED_STATUSES.includes(experiment.status)) continue;
      // The list may be a second old: it only saves claims that would fail; the claim decides.
      if (experiment.lastLookAt && now.getTime() - new Date(experiment.lastLookAt).getTime() < intervalMs) continue;
      if (!(await experimentsService.claimLook(experiment._id, SCHEDULED_STATUSES, now, intervalMs))) continue;
      try {
        await takeLook(experiment._id, 'scheduled', now, true);
        taken++;
      } catch (error) {
        // The claim stands, so the next attempt is one interval later (at most one look per interval).
        logger.error({ err: error, experiment: experiment._id }, 'scheduled look failed');
      }
    }
    return taken;
  },
};

export const recordLook = looksService.recordLook.bind(looksService);
export const runDueLooks = looksService.runDueLooks.bind(looksService);

/** The scheduled looks as a periodic duty of the job runner: every minute, each experiment once per interval. */
export function looksDuty(settings: LooksSettings): Duty {
  return {
    name: 'looks',
    everyMs: 60_000,
    run: async () => {
      await runDueLooks(new Date(), settings);
    },
  };
}
