import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ServiceUnavailableError } from '../../lib/errors';
import { aggregatesRepository, ASSIGNED } from '../aggregates';
import { assignmentId, assignmentsRepository } from '../assignments';
import { countingRepository, readFreshness, wakeAggregator } from '../counting';
import { experimentsService, findSurveyMetric, isBuiltInSurveyMetric, type ExperimentRecord } from '../experiments';
import type { EventRecord, ResponseRecord } from './events.model';
import { notifyObservers } from './event-observers';
import { eventsRepository } from './events.repository';
import type { EventInput, ResponseInput } from './events.schemas';

/** How long POST .../recompute waits for the aggregator to finish the rebuild. */
const REBUILD_WAIT_MS = 120_000;

/**
 * The scales a survey metric that is not built in is answered on: the named experiment's own (a library
 * metric it names, or a custom one), else the library's; without an experiment and outside the library,
 * those of the counted experiments with a custom survey metric of that key (the score must fit each).
 */
async function surveyScalesOf(key: string, experiment: ExperimentRecord | undefined): Promise<{ min: number; max: number }[]> {
  const own = experiment && findSurveyMetric(experiment, key);
  if (own) return [own.scale];
  const library = await experimentsService.surveyScaleOf(key);
  if (library || experiment) return library ? [library] : [];
  return (await experimentsService.listWithAssignments()).flatMap((e) => findSurveyMetric(e, key)?.scale ?? []);
}

export const eventsService = {
  /** Stores events (answering once they are durable); the aggregator counts them. */
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
    const stored = await eventsRepository.insertEvents(records);
    await notifyObservers(inputs);
    const fresh = records.length - stored.size;
    return { accepted: fresh, duplicates: inputs.length - fresh };
  },

  /**
   * Stores an answer; the aggregator counts it. `countedIn` says in how many experiments it counts: those
   * the customer is assigned to at or before the answer's time.
   */
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
    const named = input.experiment !== undefined ? await experimentsService.getCached(input.experiment) : undefined;
    if (!isBuiltInSurveyMetric(input.metric)) {
      // A survey metric of the library or a custom one of an experiment: its own scale.
      const scales = await surveyScalesOf(input.metric, named);
      if (scales.length === 0) throw new z.ZodError([{ code: 'custom', path: ['metric'], input: input.metric, message: `"${input.metric}" is not a survey metric (csat, nps, ces, a survey metric of the library, or a custom survey metric of the experiment)` }]);
      const outside = scales.find((scale) => input.score < scale.min || input.score > scale.max);
      if (outside) throw new z.ZodError([{ code: 'custom', path: ['score'], input: input.score, message: `${input.metric} scores are whole numbers from ${outside.min} to ${outside.max}` }]);
    }
    const experiments = (await experimentsService.listWithAssignments()).filter((e) => input.experiment === undefined || e._id === input.experiment);
    const assignments = await assignmentsRepository.findMany(experiments.map((e) => assignmentId(e._id, record.customerId)));
    const assignedBefore = [...assignments.values()].filter((a) => a.assignedAt.getTime() <= record.timestamp.getTime());
    // Stamped with the experiments it belongs to, so an experiment's answers are listed without the others'.
    record.experiments = assignedBefore.map((a) => a.experiment);
    if (!(await eventsRepository.insertResponse(record))) return { responseId: record._id, duplicate: true, countedIn: 0 };
    return { responseId: record._id, duplicate: false, countedIn: assignedBefore.length };
  },

  /** Per variant: assigned customers and, per metric, the aggregates the results are computed from. */
  async summary(experimentKey: string, options: { stale?: boolean } = {}) {
    const experiment = await experimentsService.getRecord(experimentKey);
    const freshness = await readFreshness({ ...options, experiment: experimentKey });
    const aggregates = await aggregatesRepository.forExperiment(experiment);
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
    return { experiment: experimentKey, status: experiment.status, generatedAt: new Date(), asOf: freshness.asOf, pending: freshness.pending, complete: freshness.complete, variants };
  },

  /**
   * Asks the aggregator to rebuild the experiment's aggregates from its raw records and waits for it.
   * The rebuild runs between the aggregator's plans, so ingestion can go on meanwhile.
   */
  async recompute(experimentKey: string) {
    await experimentsService.getRecord(experimentKey);
    const requestedAt = await countingRepository.requestRebuild(experimentKey, randomUUID());
    wakeAggregator();
    const deadline = Date.now() + REBUILD_WAIT_MS;
    while (Date.now() < deadline) {
      const request = await countingRepository.readRebuild(experimentKey);
      // Done by this request's rebuild, or by one asked later (which replaced this request).
      if (request && request.requestedAt.getTime() >= requestedAt.getTime() && request.status !== 'pending') {
        if (request.status === 'failed') throw new Error(`recompute failed: ${request.error}`);
        return { experiment: experimentKey, ...(request.result as { assigned: number; units: number; aggregates: number }) };
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new ServiceUnavailableError('the aggregator did not finish the recompute in time; it goes on, read the results again later');
  },
};
