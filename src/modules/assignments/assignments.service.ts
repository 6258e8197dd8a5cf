import { evalCondition } from '@growthbook/growthbook';
import { chooseVariation, gbHash, getBucketRanges } from '../../bucketing';
import { BadRequestError } from '../../lib/errors';
import { aggregatesRepository, ASSIGNED, DeltaAccumulator } from '../aggregates';
import { experimentsService, type ExperimentRecord } from '../experiments';
import type { AssignmentRecord } from './assignments.model';
import { assignmentId, assignmentsRepository } from './assignments.repository';

export type AssignmentReason = 'hash' | 'sticky' | 'not_targeted' | 'coverage' | 'not_running' | 'rollout' | 'forced';

export interface Assignment {
  experiment: string;
  customerId: string;
  variant: string | null;
  inExperiment: boolean;
  reason: AssignmentReason;
  content: Record<string, unknown> | null;
  assignedAt?: Date;
}

interface CustomerInput {
  customerId: string;
  attributes?: Record<string, unknown>;
}

function result(experiment: ExperimentRecord, customerId: string, variant: string | null, reason: AssignmentReason, assignedAt?: Date): Assignment {
  const content = variant ? (experiment.variants.find((v) => v.key === variant)?.content ?? null) : null;
  return { experiment: experiment._id, customerId, variant, inExperiment: variant !== null, reason, content, ...(assignedAt ? { assignedAt } : {}) };
}

/**
 * What a new customer gets, from targeting and the GrowthBook hash alone (pure: no I/O).
 * Returns the variant key, or the reason the customer is not in the experiment.
 */
export function bucketCustomer(experiment: ExperimentRecord, customer: CustomerInput): { variant: string } | { reason: 'not_targeted' | 'coverage' } {
  if (experiment.targeting && Object.keys(experiment.targeting).length > 0) {
    if (!evalCondition(customer.attributes ?? {}, experiment.targeting as Parameters<typeof evalCondition>[1])) return { reason: 'not_targeted' };
  }
  const n = gbHash(experiment.seed, customer.customerId, 2);
  const ranges = getBucketRanges(experiment.variants.length, experiment.coverage, experiment.variants.map((v) => v.weight));
  const index = chooseVariation(n, ranges);
  if (index < 0) return { reason: 'coverage' };
  return { variant: experiment.variants[index]!.key };
}

function countAssigned(records: AssignmentRecord[]): DeltaAccumulator {
  const deltas = new DeltaAccumulator();
  for (const record of records) deltas.add({ experiment: record.experiment, variant: record.variant, metric: ASSIGNED, units: 1 });
  return deltas;
}

export const assignmentsService = {
  async assign(experimentKey: string, customer: CustomerInput, forceVariant?: string): Promise<Assignment> {
    const experiment = await experimentsService.getCached(experimentKey);
    if (forceVariant !== undefined && !experiment.variants.some((v) => v.key === forceVariant)) {
      throw new BadRequestError(`forceVariant: "${forceVariant}" is not a variant of experiment "${experimentKey}"`);
    }
    if (experiment.status === 'rolled_out' && experiment.rollout) return result(experiment, customer.customerId, experiment.rollout.variant, 'rollout');
    if (experiment.status === 'draft' || experiment.status === 'archived') return result(experiment, customer.customerId, null, 'not_running');

    const stored = await assignmentsRepository.find(experimentKey, customer.customerId);
    if (stored) return result(experiment, customer.customerId, stored.variant, 'sticky', stored.assignedAt);
    if (experiment.status !== 'running') return result(experiment, customer.customerId, null, 'not_running');

    let variant: string;
    let reason: 'hash' | 'forced';
    if (forceVariant !== undefined) {
      variant = forceVariant;
      reason = 'forced';
    } else {
      const bucket = bucketCustomer(experiment, customer);
      if (!('variant' in bucket)) return result(experiment, customer.customerId, null, bucket.reason);
      variant = bucket.variant;
      reason = 'hash';
    }
    const record: AssignmentRecord = { _id: assignmentId(experimentKey, customer.customerId), experiment: experimentKey, customerId: customer.customerId, variant, reason, assignedAt: new Date() };
    if (!(await assignmentsRepository.insert(record))) {
      // A concurrent request assigned this customer first: its assignment is the one that sticks.
      const winner = await assignmentsRepository.find(experimentKey, customer.customerId);
      return result(experiment, customer.customerId, winner!.variant, 'sticky', winner!.assignedAt);
    }
    await aggregatesRepository.applyDeltas(countAssigned([record]));
    return result(experiment, customer.customerId, variant, reason, record.assignedAt);
  },

  async assignBatch(experimentKey: string, customers: CustomerInput[]): Promise<Assignment[]> {
    const experiment = await experimentsService.getCached(experimentKey);
    if (experiment.status === 'rolled_out' && experiment.rollout) {
      return customers.map((c) => result(experiment, c.customerId, experiment.rollout!.variant, 'rollout'));
    }
    if (experiment.status === 'draft' || experiment.status === 'archived') return customers.map((c) => result(experiment, c.customerId, null, 'not_running'));

    const ids = [...new Set(customers.map((c) => assignmentId(experimentKey, c.customerId)))];
    const stored = await assignmentsRepository.findMany(ids);
    const running = experiment.status === 'running';
    const fresh = new Map<string, AssignmentRecord>();
    const answers: (Assignment | { pending: string })[] = customers.map((customer) => {
      const id = assignmentId(experimentKey, customer.customerId);
      const existing = stored.get(id);
      if (existing) return result(experiment, customer.customerId, existing.variant, 'sticky', existing.assignedAt);
      if (fresh.has(id)) return { pending: id };
      if (!running) return result(experiment, customer.customerId, null, 'not_running');
      const bucket = bucketCustomer(experiment, customer);
      if (!('variant' in bucket)) return result(experiment, customer.customerId, null, bucket.reason);
      fresh.set(id, { _id: id, experiment: experimentKey, customerId: customer.customerId, variant: bucket.variant, reason: 'hash', assignedAt: new Date() });
      return { pending: id };
    });
    const records = [...fresh.values()];
    const lostRaces = await assignmentsRepository.insertMany(records);
    const winners = lostRaces.size > 0 ? await assignmentsRepository.findMany([...lostRaces]) : new Map<string, AssignmentRecord>();
    await aggregatesRepository.applyDeltas(countAssigned(records.filter((r) => !lostRaces.has(r._id))));
    const firstSeen = new Set<string>();
    return answers.map((answer) => {
      if (!('pending' in answer)) return answer;
      const record = winners.get(answer.pending) ?? fresh.get(answer.pending)!;
      const repeated = firstSeen.has(answer.pending) || winners.has(answer.pending);
      firstSeen.add(answer.pending);
      return result(experiment, record.customerId, record.variant, repeated ? 'sticky' : 'hash', record.assignedAt);
    });
  },

  async listForExperiment(experimentKey: string, filter: { customerId?: string; variant?: string }, limit: number, offset: number) {
    await experimentsService.getRecord(experimentKey);
    const records = await assignmentsRepository.listForExperiment(experimentKey, filter, limit, offset);
    return { assignments: records.map(publicAssignment), limit, offset };
  },

  async listForCustomer(customerId: string) {
    return { customerId, assignments: (await assignmentsRepository.listForCustomer(customerId)).map(publicAssignment) };
  },

  /** Page experiments: the URL to send this customer to (only URLs stored on the experiment). */
  async pageUrl(experimentKey: string, customerId: string): Promise<string | null> {
    const experiment = await experimentsService.getCached(experimentKey);
    if (experiment.assetType !== 'page') return null;
    const assignment = await this.assign(experimentKey, { customerId });
    const variantKey = assignment.variant ?? experiment.controlVariant;
    const url = experiment.variants.find((v) => v.key === variantKey)?.content.url;
    return typeof url === 'string' ? url : null;
  },
};

function publicAssignment(record: AssignmentRecord) {
  return { experiment: record.experiment, customerId: record.customerId, variant: record.variant, reason: record.reason, assignedAt: record.assignedAt };
}
