import { collectionOf } from '../../db/connection';
import { insertNew } from '../../db/insert-new';
import { AssignmentModel, type AssignmentRecord } from './assignments.model';

const assignments = () => collectionOf<AssignmentRecord>(AssignmentModel);

export function assignmentId(experiment: string, customerId: string): string {
  return `${experiment}:${customerId}`;
}

export const assignmentsRepository = {
  async find(experiment: string, customerId: string): Promise<AssignmentRecord | null> {
    return assignments().findOne({ _id: assignmentId(experiment, customerId) });
  },

  /** Point lookups by _id: the one query every backend answers from its primary index. */
  async findMany(ids: string[], concurrency = 16): Promise<Map<string, AssignmentRecord>> {
    const found = new Map<string, AssignmentRecord>();
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const record = (await assignments().findOne({ _id: id }));
        if (record) found.set(id, record);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    return found;
  },

  /** Inserts the first assignment; returns false when one exists already (another request won). */
  async insert(record: AssignmentRecord): Promise<boolean> {
    try {
      await assignments().insertOne(record);
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 11000) return false;
      throw error;
    }
  },

  /** Inserts many; returns the ids that already existed. */
  async insertMany(records: AssignmentRecord[]): Promise<Set<string>> {
    return insertNew(assignments(), records);
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
