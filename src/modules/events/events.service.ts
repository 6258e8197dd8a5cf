import { randomUUID } from 'node:crypto';
import { logger } from '../../lib/logger';
import { aggregatesRepository, ASSIGNED } from '../aggregates';
import { experimentsService } from '../experiments';
import { countingService } from './counting.service';
import type { EventRecord, ResponseRecord } from './events.model';
import { eventsRepository } from './events.repository';
import type { EventInput, ResponseInput } from './events.schemas';

/**
 * Runs a counting step under a journal entry: if the process dies before the step ends, the entry
 * stays and recoverPendingBatches() rebuilds the experiments it may have touched.
 */
async function journaled<T>(kind: 'events' | 'response', experiments: string[] | null, work: () => Promise<T>): Promise<T> {
  const id = randomUUID();
  await eventsRepository.beginBatch({ _id: id, kind, experiments, createdAt: new Date() });
  const value = await work();
  await eventsRepository.endBatch(id);
  return value;
}

export const eventsService = {
  async ingest(inputs: EventInput[]): Promise<{ accepted: number; duplicates: number }> {
    const receivedAt = new Date();
    // Repeats of one eventId inside the same call are duplicates too.
    const unique = new Map<string, EventRecord>();
    for (const input of inputs) {
      if (unique.has(input.eventId)) continue;
      unique.set(input.eventId, {
        _id: input.eventId,
        customerId: input.customerId,
        name: input.name,
        ...(input.experiment !== undefined ? { experiment: input.experiment } : {}),
        ...(input.value !== undefined ? { value: input.value } : {}),
        timestamp: input.timestamp ?? receivedAt,
        ...(input.properties !== undefined ? { properties: input.properties } : {}),
        receivedAt,
      });
    }
    const records = [...unique.values()];
    const named = [...new Set(records.map((r) => r.experiment))];
    const scope = named.every((n) => n !== undefined) ? (named as string[]) : null;
    return journaled('events', scope, async () => {
      const stored = await eventsRepository.insertEvents(records);
      const fresh = records.filter((r) => !stored.has(r._id));
      await countingService.countEvents(fresh);
      return { accepted: fresh.length, duplicates: inputs.length - fresh.length };
    });
  },

  async respond(input: ResponseInput): Promise<{ responseId: string; duplicate: boolean; countedIn: number }> {
    const record: ResponseRecord = {
      _id: input.responseId ?? randomUUID(),
      customerId: input.customerId,
      metric: input.metric,
      score: input.score,
      ...(input.comment !== undefined ? { comment: input.comment } : {}),
      ...(input.experiment !== undefined ? { experiment: input.experiment } : {}),
      timestamp: input.timestamp ?? new Date(),
      receivedAt: new Date(),
    };
    if (input.experiment !== undefined) await experimentsService.getCached(input.experiment);
    return journaled('response', input.experiment ? [input.experiment] : null, async () => {
      if (!(await eventsRepository.insertResponse(record))) return { responseId: record._id, duplicate: true, countedIn: 0 };
      const countedIn = await countingService.countResponse(record);
      return { responseId: record._id, duplicate: false, countedIn };
    });
  },

  /** Per variant: assigned customers and, per metric, the aggregates the results are computed from. */
  async summary(experimentKey: string) {
    const experiment = await experimentsService.getRecord(experimentKey);
    const aggregates = await aggregatesRepository.forExperiment(experimentKey);
    const declared = [experiment.metrics.primary, ...experiment.metrics.secondary, ...experiment.metrics.guardrails, ...experiment.metrics.custom.map((m) => m.key)];
    const metricKeys = [...new Set([...declared, ...aggregates.map((a) => a.metric).filter((m) => m !== ASSIGNED)])];
    const variants = experiment.variants.map((variant) => {
      const find = (metric: string) => aggregates.find((a) => a.variant === variant.key && a.metric === metric);
      const metrics: Record<string, { units: number; sum: number; sumSquares: number; histogram?: Record<string, number> }> = {};
      for (const metric of metricKeys) {
        const a = find(metric);
        const histogram = Object.fromEntries(Object.entries(a?.histogram ?? {}).filter(([, count]) => count !== 0));
        metrics[metric] = { units: a?.units ?? 0, sum: a?.sum ?? 0, sumSquares: a?.sumSquares ?? 0, ...(Object.keys(histogram).length > 0 ? { histogram } : {}) };
      }
      return { variant: variant.key, assigned: find(ASSIGNED)?.units ?? 0, metrics };
    });
    return { experiment: experimentKey, status: experiment.status, generatedAt: new Date(), variants };
  },

  async recompute(experimentKey: string) {
    const rebuilt = await countingService.rebuild(experimentKey);
    return { experiment: experimentKey, ...rebuilt };
  },

  /** At start: rebuild what unfinished batches (a crash mid-count) may have left half-counted. */
  async recoverPendingBatches(): Promise<number> {
    const pending = await eventsRepository.pendingBatches();
    if (pending.length === 0) return 0;
    const everything = pending.some((p) => p.experiments === null);
    const keys = everything
      ? (await experimentsService.listWithAssignments()).map((e) => e._id)
      : [...new Set(pending.flatMap((p) => p.experiments ?? []))];
    for (const key of keys) {
      try {
        await countingService.rebuild(key);
      } catch (error) {
        logger.warn({ err: error, experiment: key }, 'could not rebuild aggregates after an unfinished batch');
      }
    }
    for (const p of pending) await eventsRepository.endBatch(p._id);
    logger.info({ batches: pending.length, experiments: keys.length }, 'rebuilt aggregates after unfinished batches');
    return pending.length;
  },
};
