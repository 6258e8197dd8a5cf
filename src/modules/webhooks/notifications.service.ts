// Turns what the results and the experiment lifecycle show into webhook events, once per change.
// The last notified state per experiment is kept in a small collection; each occurrence gets a stable
// event id (experiment + sequence number), so two processes noticing the same change queue it once.
import { logger } from '../../lib/logger';
import { experimentsService } from '../experiments';
import type { NotificationStateRecord } from './webhooks.model';
import { webhooksRepository } from './webhooks.repository';
import { webhooksService } from './webhooks.service';

/**
 * What notifying needs from computed results: a structural subset of the results contract, so this
 * module does not depend on the results module (which calls it).
 */
export interface ResultsSnapshot {
  experiment: string;
  name: string;
  status: string;
  generatedAt: string;
  health: { srm: { chiSquare: number; pValue: number; mismatch: boolean }; unitsByVariant: Record<string, number> };
  metrics: {
    metric: string;
    role: string;
    variants: { variant: string; units: number; value: number | null; ci: [number, number] | null }[];
    comparisons: { variant: string; baseline: string; relativeLift: number | null; relativeCi: [number, number] | null; pValue: number | null; adjustedPValue: number | null }[];
  }[];
  decision: { verdict: string; variant?: string; reasons: string[] };
}

const INITIAL = { seq: 0, verdict: 'inconclusive', variant: null, srmMismatch: false, srmSeq: 0 } as const;

function primarySummary(results: ResultsSnapshot) {
  const primary = results.metrics.find((m) => m.role === 'primary');
  if (!primary) return null;
  const comparison = results.decision.variant ? primary.comparisons.find((c) => c.variant === results.decision.variant) : undefined;
  return {
    metric: primary.metric,
    variants: primary.variants.map((v) => ({ variant: v.variant, units: v.units, value: v.value, ci: v.ci })),
    ...(comparison ? { comparison: { variant: comparison.variant, baseline: comparison.baseline, relativeLift: comparison.relativeLift, relativeCi: comparison.relativeCi, pValue: comparison.pValue, adjustedPValue: comparison.adjustedPValue } } : {}),
  };
}

async function detectDecisionChange(results: ResultsSnapshot): Promise<void> {
  const key = results.experiment;
  const stored = await webhooksRepository.findState(key);
  const previous = stored ?? { _id: key, ...INITIAL, rolloutAt: null, updatedAt: new Date(0) };
  const variant = results.decision.verdict === 'ship' ? (results.decision.variant ?? null) : null;
  const decisionChanged = previous.verdict !== results.decision.verdict || previous.variant !== variant;
  const mismatch = results.health.srm.mismatch;
  const srmAppeared = mismatch && !previous.srmMismatch;
  if (!decisionChanged && mismatch === previous.srmMismatch) return;

  const next: NotificationStateRecord = {
    ...previous,
    seq: decisionChanged ? previous.seq + 1 : previous.seq,
    verdict: results.decision.verdict,
    variant,
    srmMismatch: mismatch,
    srmSeq: srmAppeared ? previous.srmSeq + 1 : previous.srmSeq,
    updatedAt: new Date(),
  };
  // Emit before saving the state: a crash in between repeats the emit with the same event id (a no-op)
  // instead of losing the event.
  if (decisionChanged) {
    await webhooksService.emit(
      'decision.changed',
      {
        experiment: key,
        name: results.name,
        status: results.status,
        previous: { verdict: previous.verdict, variant: previous.variant },
        decision: results.decision,
        primary: primarySummary(results),
        generatedAt: results.generatedAt,
      },
      { eventId: `${key}:decision:${next.seq}` },
    );
  }
  if (srmAppeared) {
    await webhooksService.emit(
      'srm.detected',
      { experiment: key, name: results.name, srm: results.health.srm, unitsByVariant: results.health.unitsByVariant, generatedAt: results.generatedAt },
      { eventId: `${key}:srm:${next.srmSeq}` },
    );
  }
  await webhooksRepository.saveState(stored, next);
}

/**
 * Called by every look (src/modules/results/looks.service.ts), never by a read; resolves to the results
 * unchanged. Never throws: a webhook problem must not fail the look (it is logged, and the next look tries
 * again since the state was not saved).
 */
export async function notifyDecision<T extends ResultsSnapshot>(results: T): Promise<T> {
  try {
    await detectDecisionChange(results);
  } catch (error) {
    logger.warn({ err: error, experiment: results.experiment }, 'could not queue decision webhooks');
  }
  return results;
}

// Rollouts this process has already seen queued, so the poll costs no database reads once they are.
const seenRollouts = new Set<string>();

/** Queues experiment.rolled_out for every rollout not notified yet (called by the webhook worker). */
export async function notifyRollouts(): Promise<number> {
  let queued = 0;
  for (const experiment of await experimentsService.listWithAssignments()) {
    if (experiment.status !== 'rolled_out' || !experiment.rollout) continue;
    const at = new Date(experiment.rollout.at);
    const marker = `${experiment._id}@${at.toISOString()}`;
    if (seenRollouts.has(marker)) continue;
    const state = await webhooksRepository.findState(experiment._id);
    if (state?.rolloutAt !== at.toISOString()) {
      await webhooksService.emit(
        'experiment.rolled_out',
        { experiment: experiment._id, name: experiment.name, variant: experiment.rollout.variant, by: experiment.rollout.by, at: at.toISOString() },
        { eventId: `${experiment._id}:rolled_out:${at.toISOString()}`, occurredAt: at },
      );
      await webhooksRepository.saveRollout(experiment._id, at.toISOString(), INITIAL);
      queued++;
    }
    seenRollouts.add(marker);
  }
  return queued;
}
