import { evalCondition } from '@growthbook/growthbook';
import { chooseVariation, gbHash, getBucketRanges } from '../../bucketing';
import { BadRequestError, ConflictError } from '../../lib/errors';
import { experimentsService, HOLDOUT_VARIANT, type ExperimentRecord } from '../experiments';
import type { AssignmentRecord } from './assignments.model';
import type { ASSIGNMENT_REASONS } from './assignments.schemas';
import { assignmentId, assignmentsRepository } from './assignments.repository';

export type AssignmentReason = (typeof ASSIGNMENT_REASONS)[number];

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

/** A dimension's value as kept: scalars as text (at most 100 characters); anything else is no value. */
const DIMENSION_VALUE_LENGTH = 100;

/**
 * The values of the experiment's dimensions among a customer's attributes (pure), stored with the
 * assignment: the aggregator slices the results by them (docs/metrics.md, segments).
 */
export function dimensionValues(experiment: Pick<ExperimentRecord, 'dimensions'>, attributes: Record<string, unknown> | undefined): { dims?: Record<string, string> } {
  if (!experiment.dimensions || experiment.dimensions.length === 0 || !attributes) return {};
  const dims: Record<string, string> = {};
  for (const name of experiment.dimensions) {
    const value = attributes[name];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') dims[name] = String(value).slice(0, DIMENSION_VALUE_LENGTH);
  }
  return Object.keys(dims).length > 0 ? { dims } : {};
}

/**
 * What a new customer gets, from targeting and the GrowthBook hash alone (pure: no I/O).
 * Returns the variant key, or the reason the customer is not in the experiment.
 */
export function bucketCustomer(experiment: ExperimentRecord, customer: CustomerInput): { variant: string } | { reason: 'not_targeted' | 'coverage' } {
  if (experiment.targeting && Object.keys(experiment.targeting).length > 0) {
    // The id is the customer id, as in a GrowthBook SDK whose hashAttribute is "id" (client-side assignment agrees).
    if (!evalCondition({ ...customer.attributes, id: customer.customerId }, experiment.targeting as Parameters<typeof evalCondition>[1])) return { reason: 'not_targeted' };
  }
  const n = gbHash(experiment.seed, customer.customerId, 2);
  const ranges = getBucketRanges(experiment.variants.length, experiment.coverage, experiment.variants.map((v) => v.weight));
  const index = chooseVariation(n, ranges);
  if (index < 0) return { reason: 'coverage' };
  return { variant: experiment.variants[index].key };
}

export const assignmentsService = {
  async assign(experimentKey: string, customer: CustomerInput, forceVariant?: string): Promise<Assignment> {
    const experiment = await experimentsService.getCached(experimentKey);
    if (forceVariant !== undefined && !experiment.variants.some((v) => v.key === forceVariant)) {
      throw new BadRequestError(`forceVariant: "${forceVariant}" is not a variant of experiment "${experimentKey}"`);
    }
    if (experiment.status === 'rolled_out' && experiment.rollout) return result(experiment, customer.customerId, experiment.rollout.variant, 'rollout');
    if (experiment.status === 'draft' || experiment.status === 'archived') return result(experiment, customer.customerId, null, 'not_running');

    // Known here already (assignments never change once stored): sticky, no database work.
    const cached = assignmentsRepository.findCached(experimentKey, customer.customerId);
    if (cached) return result(experiment, customer.customerId, cached.variant, 'sticky', cached.assignedAt);
    if (experiment.status !== 'running') {
      const stored = await assignmentsRepository.find(experimentKey, customer.customerId);
      if (stored) return result(experiment, customer.customerId, stored.variant, 'sticky', stored.assignedAt);
      return result(experiment, customer.customerId, null, 'not_running');
    }

    // Running: the variant follows from the hash (weights are fixed once started), so a new customer's
    // assignment is written without reading first; the unique _id settles races and repeats.
    let variant: string;
    let reason: 'hash' | 'forced';
    if (forceVariant !== undefined) {
      variant = forceVariant;
      reason = 'forced';
    } else {
      const bucket = bucketCustomer(experiment, customer);
      if (!('variant' in bucket)) {
        // Not in the experiment now; one assigned before (coverage or targeting since changed) stays.
        const stored = await assignmentsRepository.find(experimentKey, customer.customerId);
        if (stored) return result(experiment, customer.customerId, stored.variant, 'sticky', stored.assignedAt);
        return result(experiment, customer.customerId, null, bucket.reason);
      }
      variant = bucket.variant;
      reason = 'hash';
    }
    const record: AssignmentRecord = { _id: assignmentId(experimentKey, customer.customerId), experiment: experimentKey, customerId: customer.customerId, variant, reason, assignedAt: new Date(), ...dimensionValues(experiment, customer.attributes) };
    if (!(await assignmentsRepository.insert(record))) {
      // Assigned before (or by a concurrent request): the stored assignment is the one that sticks.
      const winner = await assignmentsRepository.find(experimentKey, customer.customerId);
      return result(experiment, customer.customerId, winner!.variant, 'sticky', winner!.assignedAt);
    }
    return result(experiment, customer.customerId, variant, reason, record.assignedAt);
  },

  async assignBatch(experimentKey: string, customers: CustomerInput[]): Promise<Assignment[]> {
    const experiment = await experimentsService.getCached(experimentKey);
    if (experiment.status === 'rolled_out' && experiment.rollout) {
      return customers.map((c) => result(experiment, c.customerId, experiment.rollout!.variant, 'rollout'));
    }
    if (experiment.status === 'draft' || experiment.status === 'archived') return customers.map((c) => result(experiment, c.customerId, null, 'not_running'));

    const running = experiment.status === 'running';
    const fresh = new Map<string, AssignmentRecord>();
    // Customers the hash leaves out, and everyone when not running: only a stored assignment answers.
    const lookups = new Set<string>();
    const assignedAt = new Date();
    const plan = customers.map((customer) => {
      const id = assignmentId(experimentKey, customer.customerId);
      const cached = assignmentsRepository.findCached(experimentKey, customer.customerId);
      if (cached) return { id, cached };
      if (!running) {
        lookups.add(id);
        return { id, otherwise: 'not_running' as const };
      }
      const bucket = bucketCustomer(experiment, customer);
      if (!('variant' in bucket)) {
        lookups.add(id);
        return { id, otherwise: bucket.reason };
      }
      if (!fresh.has(id)) fresh.set(id, { _id: id, experiment: experimentKey, customerId: customer.customerId, variant: bucket.variant, reason: 'hash', assignedAt, ...dimensionValues(experiment, customer.attributes) });
      return { id };
    });
    // New customers are written without a read; those that existed already are read back (the rare path).
    const existed = await assignmentsRepository.insertMany([...fresh.values()]);
    const stored = await assignmentsRepository.findMany([...existed, ...lookups]);
    const firstSeen = new Set<string>();
    return plan.map((entry, i) => {
      const customerId = customers[i].customerId;
      if ('cached' in entry && entry.cached) return result(experiment, customerId, entry.cached.variant, 'sticky', entry.cached.assignedAt);
      const existing = stored.get(entry.id);
      if (existing) return result(experiment, customerId, existing.variant, 'sticky', existing.assignedAt);
      if ('otherwise' in entry && entry.otherwise) return result(experiment, customerId, null, entry.otherwise);
      const record = fresh.get(entry.id)!;
      const repeated = firstSeen.has(entry.id);
      firstSeen.add(entry.id);
      return result(experiment, customerId, record.variant, repeated ? 'sticky' : 'hash', record.assignedAt);
    });
  },

  /**
   * Puts customers in a campaign's holdout: the no-send arm, stored as the variant HOLDOUT_VARIANT so
   * their events and answers are counted like any arm's. Only those the experiment would take (running,
   * targeting and coverage), so the holdout is comparable with the arms it is compared with; a customer
   * assigned before keeps that assignment (sticky). Answers the stored variant per customer, or null.
   */
  async assignHoldout(experimentKey: string, customers: CustomerInput[]): Promise<(string | null)[]> {
    const experiment = await experimentsService.getCached(experimentKey);
    if (experiment.status !== 'running') return customers.map(() => null);
    const assignedAt = new Date();
    const fresh = new Map<string, AssignmentRecord>();
    const ids = customers.map((customer) => {
      const id = assignmentId(experimentKey, customer.customerId);
      if (!assignmentsRepository.findCached(experimentKey, customer.customerId) && 'variant' in bucketCustomer(experiment, customer) && !fresh.has(id)) {
        fresh.set(id, { _id: id, experiment: experimentKey, customerId: customer.customerId, variant: HOLDOUT_VARIANT, reason: 'holdout', assignedAt, ...dimensionValues(experiment, customer.attributes) });
      }
      return id;
    });
    await assignmentsRepository.insertMany([...fresh.values()]);
    const stored = await assignmentsRepository.findMany(ids);
    return ids.map((id) => stored.get(id)?.variant ?? null);
  },

  /** Which of these customers are in the experiment's holdout (a stored HOLDOUT_VARIANT assignment); reads only. */
  async heldOut(experimentKey: string, customerIds: string[]): Promise<Set<string>> {
    const stored = await assignmentsRepository.findMany(customerIds.map((id) => assignmentId(experimentKey, id)));
    return new Set([...stored.values()].filter((a) => a.variant === HOLDOUT_VARIANT).map((a) => a.customerId));
  },

  /**
   * Assignments made elsewhere (an email tool that split the audience itself, a page test run before),
   * stored with their own time and counted like any other: every row is checked first (variant, time
   * between the start and now), and nothing of a call with a bad row is stored. A customer assigned
   * before keeps that first assignment and is reported as a duplicate, so a retried call stores nothing twice.
   */
  async importAssignments(
    experimentKey: string,
    rows: { customerId: string; variant: string; assignedAt: Date; attributes?: Record<string, unknown> }[],
    now: Date = new Date(),
  ): Promise<{ imported: number; duplicates: string[] }> {
    const experiment = await experimentsService.getRecord(experimentKey);
    if (!experiment.startedAt || experiment.status === 'draft') {
      throw new ConflictError(`experiment "${experimentKey}" has not started: start it (with startedAt in the past, if it ran elsewhere) before importing assignments`);
    }
    const variants = new Set(experiment.variants.map((v) => v.key));
    const startedAt = new Date(experiment.startedAt).getTime();
    rows.forEach((row, i) => {
      if (!variants.has(row.variant)) throw new BadRequestError(`assignments.${i}.variant: "${row.variant}" is not a variant of experiment "${experimentKey}"`, [{ path: `assignments.${i}.variant`, message: 'not a variant key' }]);
      if (row.assignedAt.getTime() < startedAt) throw new BadRequestError(`assignments.${i}.assignedAt: before the experiment started (${new Date(startedAt).toISOString()})`, [{ path: `assignments.${i}.assignedAt`, message: 'before startedAt' }]);
      if (row.assignedAt.getTime() > now.getTime()) throw new BadRequestError(`assignments.${i}.assignedAt: in the future`, [{ path: `assignments.${i}.assignedAt`, message: 'in the future' }]);
    });
    const fresh = new Map<string, AssignmentRecord>();
    const repeated: string[] = [];
    for (const row of rows) {
      const id = assignmentId(experimentKey, row.customerId);
      if (fresh.has(id)) repeated.push(row.customerId);
      else fresh.set(id, { _id: id, experiment: experimentKey, customerId: row.customerId, variant: row.variant, reason: 'imported', assignedAt: row.assignedAt, ...dimensionValues(experiment, row.attributes) });
    }
    const existed = await assignmentsRepository.insertMany([...fresh.values()]);
    const duplicates = [...[...fresh.values()].filter((r) => existed.has(r._id)).map((r) => r.customerId), ...repeated];
    return { imported: fresh.size - existed.size, duplicates };
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
  async pageUrl(experimentKey: string, customerId: string, attributes: Record<string, string> = {}): Promise<string | null> {
    const experiment = await experimentsService.getCached(experimentKey);
    if (experiment.assetType !== 'page') return null;
    const assignment = await this.assign(experimentKey, { customerId, ...(Object.keys(attributes).length > 0 ? { attributes } : {}) });
    const variantKey = assignment.variant ?? experiment.controlVariant;
    const url = experiment.variants.find((v) => v.key === variantKey)?.content.url;
    return typeof url === 'string' ? url : null;
  },
};

function publicAssignment(record: AssignmentRecord) {
  return { experiment: record.experiment, customerId: record.customerId, variant: record.variant, reason: record.reason, assignedAt: record.assignedAt };
}
