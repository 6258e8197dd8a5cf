import { LRUCache } from 'lru-cache';
import { collectionOf } from '../../db/connection';
import { findEach } from '../../db/find-each';
import { insertNew, sharedInsertOne } from '../../db/insert-new';
import { AssignmentModel, type AssignmentRecord } from './assignments.model';

const assignments = () => collectionOf<AssignmentRecord>(AssignmentModel);

// Assignments never change once stored (sticky by design), so a process may keep the ones it has seen:
// sticky answers and event counting then skip the database. Only positive results are cached, since a
// customer without an assignment may get one from another instance at any moment.
const known = new LRUCache<string, AssignmentRecord>({ max: 200_000 });

/** Concurrent single assignments share one insertMany; a duplicate fails only its own record. */
const insertOneShared = sharedInsertOne(assignments, (record) => known.set(record._id, record));

export function assignmentId(experiment: string, customerId: string): string {
  return `${experiment}:${customerId}`;
}

export const assignmentsRepository = {
  async find(experiment: string, customerId: string): Promise<AssignmentRecord | null> {
    const id = assignmentId(experiment, customerId);
    const cached = known.get(id);
    if (cached) return cached;
    const record = await assignments().findOne({ _id: id });
    if (record) known.set(id, record);
    return record;
  },

  /** Cached, then point lookups by _id for the rest. */
  async findMany(ids: string[], concurrency = 16): Promise<Map<string, AssignmentRecord>> {
    const found = new Map<string, AssignmentRecord>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = known.get(id);
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    const fetched = await findEach((id) => assignments().findOne({ _id: id }), missing, concurrency);
    for (const [id, record] of fetched) {
      found.set(id, record);
      known.set(id, record);
    }
    return found;
  },

  /** Inserts the first assignment; returns false when one exists already (another request won). */
  async insert(record: AssignmentRecord): Promise<boolean> {
    return insertOneShared(record);
  },

  /** Inserts many; returns the ids that already existed. */
  async insertMany(records: AssignmentRecord[]): Promise<Set<string>> {
    const existing = await insertNew(assignments(), records);
    for (const record of records) if (!existing.has(record._id)) known.set(record._id, record);
    return existing;
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
    return assignments().find({ experiment }, { projection: { customerId: 1, variant: 1, assignedAt: 1 } });
  },
};
