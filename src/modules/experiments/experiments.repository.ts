import type { ExperimentRecord, HistoryEntry } from './experiments.model';
import { ExperimentModel } from './experiments.model';
import type { ExperimentStatus } from './experiments.schemas';

export const experimentsRepository = {
  async insert(record: ExperimentRecord): Promise<void> {
    await ExperimentModel.create(record);
  },

  async findByKey(key: string): Promise<ExperimentRecord | null> {
    return ExperimentModel.findById(key).lean<ExperimentRecord>();
  },

  async list(filter: { status?: ExperimentStatus; assetType?: string }, limit: number, offset: number) {
    const query: Record<string, unknown> = {};
    if (filter.status) query.status = filter.status;
    if (filter.assetType) query.assetType = filter.assetType;
    const [items, total] = await Promise.all([
      ExperimentModel.find(query).sort({ createdAt: -1, _id: 1 }).skip(offset).limit(limit).lean<ExperimentRecord[]>(),
      ExperimentModel.countDocuments(query),
    ]);
    return { items, total };
  },

  async listByStatus(statuses: ExperimentStatus[]): Promise<ExperimentRecord[]> {
    return ExperimentModel.find({ status: { $in: statuses } }).lean<ExperimentRecord[]>();
  },

  /**
   * Updates an experiment only while it is in one of the expected states (a compare-and-set, since the
   * embedded database has no transactions), appending to its history. Returns null when the state moved.
   */
  async update(
    key: string,
    expectedStatuses: ExperimentStatus[],
    set: Partial<ExperimentRecord>,
    history?: HistoryEntry,
    unset: string[] = [],
  ): Promise<ExperimentRecord | null> {
    const update: Record<string, unknown> = { $set: { ...set, updatedAt: new Date() } };
    if (history) update.$push = { history };
    if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((field) => [field, '']));
    return ExperimentModel.findOneAndUpdate({ _id: key, status: { $in: expectedStatuses } }, update, { new: true }).lean<ExperimentRecord>();
  },

  async setSequentialMinimum(key: string, values: Record<string, number>): Promise<void> {
    const set = Object.fromEntries(Object.entries(values).map(([k, v]) => [`sequential.${k}`, v]));
    if (Object.keys(set).length > 0) await ExperimentModel.updateOne({ _id: key }, { $set: set });
  },

  async deleteDraft(key: string): Promise<boolean> {
    const result = await ExperimentModel.deleteOne({ _id: key, status: 'draft' });
    return result.deletedCount === 1;
  },
};
