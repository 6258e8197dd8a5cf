import { LRUCache } from 'lru-cache';
import { collectionOf } from '../../db/connection';
import { groupCommit } from '../../db/group-commit';
import { insertNew } from '../../db/insert-new';
import { AssignmentModel, type AssignmentRecord } from './assignments.model';

const assignments = () => collectionOf<AssignmentRecord>(AssignmentModel);

// Assignments never change once stored (sticky by design), so a process may keep the ones it has seen:
// sticky answers and event counting then skip the database. Only positive results are cached, since a
// customer without an assignment may get one from another instance at any moment.
const known = new LRUCache<string, AssignmentRecord>({ max: 200_000 });

/** Concurrent single assignments share one insertMany; a duplicate fails only its own record. */
const insertOneShared = groupCommit<AssignmentRecord, boolean>(async (records) => {
  const unique = new Map<string, AssignmentRecord>();
  for (const record of records) if (!unique.has(record._id)) unique.set(record._id, record);
  const existing = await insertNew(assignments(), [...unique.values()]);
  for (const record of unique.values()) if (!existing.has(record._id)) known.set(record._id, record);
  // Of two requests for the same new customer in one batch, the first wins; the other sees a duplicate.
  return records.map((record) => !existing.has(record._id) && unique.get(record._id) === record);
});

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

  /** Point lookups by _id: the one query every backend answers from its primary index. */
  async findMany(ids: string[], concurrency = 16): Promise<Map<string, AssignmentRecord>> {
    const found = new Map<string, AssignmentRecord>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = known.get(id);
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const id = missing[next++]!;
        const record = await assignments().findOne({ _id: id });
        if (record) {
          found.set(id, record);
          known.set(id, record);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, missing.length) }, worker));
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
