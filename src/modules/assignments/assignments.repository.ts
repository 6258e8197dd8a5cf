import { LRUCache } from 'lru-cache';
import type { Collection } from 'mongodb';
import { collectionOf } from '../../db/connection';
import { findByIds } from '../../db/find-by-ids';
import { insertEach, type InsertOutcome } from '../../db/insert-new';
import { sharedAppend, appendRecords, type Stamped } from '../counting';
import { AssignmentModel, type AssignmentRecord } from './assignments.model';

const assignments = () => collectionOf<AssignmentRecord>(AssignmentModel);

// Assignments never change once stored (sticky by design), so a process may keep the ones it has seen:
// sticky answers and event counting then skip the database. Only positive results are cached, since a
// customer without an assignment may get one from another instance at any moment. The aggregator counts
// events through it too, so it holds as many as the customers an ingestion burst touches.
const known = new LRUCache<string, AssignmentRecord>({ max: 1_000_000 });

async function insertRaw(records: Stamped<AssignmentRecord>[]): Promise<InsertOutcome> {
  const outcome = await insertEach(assignments(), records);
  for (const { b: _batch, ...record } of records) if (!outcome.existing.has(record._id) && !outcome.failed.has(record._id)) known.set(record._id, record);
  return outcome;
}

/** Concurrent single assignments share one append (group commit); a duplicate fails only its own record. */
const readStamps = (ids: string[]) => findByIds(assignments() as unknown as Collection<Stamped<AssignmentRecord>>, ids);
const appendOneShared = sharedAppend<AssignmentRecord>('assignments', insertRaw, readStamps);

export function assignmentId(experiment: string, customerId: string): string {
  return `${experiment}:${customerId}`;
}

export const assignmentsRepository = {
  /** The assignment if this process has seen it (no database read). */
  findCached(experiment: string, customerId: string): AssignmentRecord | undefined {
    return known.get(assignmentId(experiment, customerId));
  },

  async find(experiment: string, customerId: string): Promise<AssignmentRecord | null> {
    const id = assignmentId(experiment, customerId);
    const cached = known.get(id);
    if (cached) return cached;
    const record = await assignments().findOne({ _id: id });
    if (record) known.set(id, record);
    return record;
  },

  /** Cached, then one `_id $in` read for the rest. */
  async findMany(ids: string[]): Promise<Map<string, AssignmentRecord>> {
    const found = new Map<string, AssignmentRecord>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = known.get(id);
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    for (const [id, record] of await findByIds(assignments(), missing)) {
      found.set(id, record);
      known.set(id, record);
    }
    return found;
  },

  /** Stored assignments as stored (with the batch that stored them), for the aggregator. */
  async findStored(ids: string[]): Promise<Map<string, Stamped<AssignmentRecord>>> {
    return findByIds(assignments() as unknown as Collection<Stamped<AssignmentRecord>>, ids);
  },

  /** Stores a first assignment (counted later by the aggregator); false when one exists already. */
  async insert(record: AssignmentRecord): Promise<boolean> {
    return appendOneShared(record);
  },

  /** Stores many first assignments; returns the ids that existed already. */
  async insertMany(records: AssignmentRecord[]): Promise<Set<string>> {
    return appendRecords('assignments', records, insertRaw, readStamps);
  },

  async listForExperiment(experiment: string, filter: { customerId?: string; variant?: string }, limit: number, offset: number) {
    const query: Record<string, unknown> = { experiment };
    if (filter.customerId) query.customerId = filter.customerId;
    if (filter.variant) query.variant = filter.variant;
    return AssignmentModel.find(query).sort({ assignedAt: 1, _id: 1 }).skip(offset).limit(limit).lean<AssignmentRecord[]>();
  },

  async listForCustomer(customerId: string): Promise<AssignmentRecord[]> {
    return AssignmentModel.find({ customerId }).sort({ assignedAt: 1 }).lean<AssignmentRecord[]>();
  },

  /** Streams every assignment of an experiment (for recompute). */
  cursorForExperiment(experiment: string) {
    return assignments().find({ experiment }, { projection: { experiment: 1, customerId: 1, variant: 1, assignedAt: 1, dims: 1, b: 1 } });
  },
};
