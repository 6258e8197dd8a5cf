import type { ExperimentRecord, HistoryEntry } from './experiments.model';
import { ExperimentModel } from './experiments.model';
import type { ExperimentStatus } from './experiments.schemas';

// Targeting conditions are keyed by operators ({"$in": [...]}) and may name dotted attributes; neither
// FerretDB nor MongoDB's update operators accept such field names, so targeting is stored as JSON text.
// Metric definitions written like the library's (custom entries with a name, the library snapshot) may
// carry filters keyed the same way ({"properties.priority": {"$in": [...]}}): each is stored as JSON text too.
type StoredMetrics = Omit<ExperimentRecord['metrics'], 'custom' | 'library'> & { custom: (ExperimentRecord['metrics']['custom'][number] | string)[]; library?: string[] };
type StoredExperiment = Omit<ExperimentRecord, 'targeting' | 'metrics'> & { targeting?: string; metrics: StoredMetrics };

function toStoredMetrics(metrics: ExperimentRecord['metrics']): StoredMetrics {
  const { library, ...rest } = metrics;
  return {
    ...rest,
    custom: metrics.custom.map((metric) => ('name' in metric ? JSON.stringify(metric) : metric)),
    ...(library ? { library: library.map((metric) => JSON.stringify(metric)) } : {}),
  };
}

function fromStoredMetrics(metrics: StoredMetrics): ExperimentRecord['metrics'] {
  const { library, ...rest } = metrics;
  return {
    ...rest,
    custom: metrics.custom.map((metric) => (typeof metric === 'string' ? (JSON.parse(metric) as ExperimentRecord['metrics']['custom'][number]) : metric)),
    ...(library ? { library: library.map((metric) => JSON.parse(metric) as NonNullable<ExperimentRecord['metrics']['library']>[number]) } : {}),
  };
}

function toStored<T extends Partial<ExperimentRecord>>(record: T): Omit<T, 'targeting' | 'metrics'> & { targeting?: string; metrics?: StoredMetrics } {
  const { targeting, metrics, ...rest } = record;
  return { ...rest, ...(targeting === undefined ? {} : { targeting: JSON.stringify(targeting) }), ...(metrics === undefined ? {} : { metrics: toStoredMetrics(metrics) }) };
}

function fromStored(doc: StoredExperiment | null): ExperimentRecord | null {
  if (!doc) return null;
  const { targeting, metrics, ...rest } = doc;
  return { ...rest, metrics: fromStoredMetrics(metrics), ...(typeof targeting === 'string' ? { targeting: JSON.parse(targeting) as Record<string, unknown> } : {}) };
}

export const experimentsRepository = {
  async insert(record: ExperimentRecord): Promise<void> {
    await ExperimentModel.create(toStored(record));
  },

  async findByKey(key: string): Promise<ExperimentRecord | null> {
    return fromStored(await ExperimentModel.findById(key).lean<StoredExperiment>());
  },

  async list(filter: { status?: ExperimentStatus; assetType?: string }, limit: number, offset: number) {
    const query: Record<string, unknown> = {};
    if (filter.status) query.status = filter.status;
    if (filter.assetType) query.assetType = filter.assetType;
    const [items, total] = await Promise.all([
      ExperimentModel.find(query).sort({ createdAt: -1, _id: 1 }).skip(offset).limit(limit).lean<StoredExperiment[]>(),
      ExperimentModel.countDocuments(query),
    ]);
    return { items: items.map((doc) => fromStored(doc)!), total };
  },

  /** The latest updatedAt among the experiments of an asset type, in any status (null: none). */
  async lastUpdatedAt(assetType: 'email' | 'page'): Promise<Date | null> {
    const doc = await ExperimentModel.findOne({ assetType }, { updatedAt: 1 }).sort({ updatedAt: -1, _id: 1 }).lean<{ updatedAt: Date }>();
    return doc?.updatedAt ?? null;
  },

  async listByStatus(statuses: ExperimentStatus[]): Promise<ExperimentRecord[]> {
    const docs = await ExperimentModel.find({ status: { $in: statuses } }).lean<StoredExperiment[]>();
    return docs.map((doc) => fromStored(doc)!);
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
    const update: Record<string, unknown> = { $set: { ...toStored(set), updatedAt: new Date() } };
    if (history) update.$push = { history };
    if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((field) => [field, '']));
    return fromStored(await ExperimentModel.findOneAndUpdate({ _id: key, status: { $in: expectedStatuses } }, update, { new: true }).lean<StoredExperiment>());
  },

  /**
   * Lowers each stored running minimum to the given value, never raises it: one atomic `$min` per field,
   * so concurrent looks cannot undo each other's lower minimum.
   */
  async applySequentialMinima(key: string, values: Record<string, number>): Promise<void> {
    const min = Object.fromEntries(Object.entries(values).map(([k, v]) => [`sequential.${k}`, v]));
    if (Object.keys(min).length > 0) await ExperimentModel.updateOne({ _id: key }, { $min: min });
  },

  /** Stores a sequential setting only while it is absent (first writer wins); true when this call stored it. */
  async setSequentialIfAbsent(key: string, field: string, value: number): Promise<boolean> {
    const path = `sequential.${field}`;
    const result = await ExperimentModel.updateOne({ _id: key, [path]: { $exists: false } }, { $set: { [path]: value } });
    return result.modifiedCount === 1;
  },

  /**
   * Claims the scheduled look of an experiment: sets lastLookAt to `now` only when the previous look is
   * at least `intervalMs` old (or there was none) and the experiment is in one of `statuses`. A
   * compare-and-set, so of several instances claiming at once exactly one gets it.
   */
  async claimLook(key: string, statuses: ExperimentStatus[], now: Date, intervalMs: number): Promise<boolean> {
    const claimed = await ExperimentModel.findOneAndUpdate(
      { _id: key, status: { $in: statuses }, $or: [{ lastLookAt: { $exists: false } }, { lastLookAt: { $lte: new Date(now.getTime() - intervalMs) } }] },
      { $set: { lastLookAt: now } },
      { new: true },
    ).lean();
    return claimed !== null;
  },

  /** Moves lastLookAt forward to `at` (never back), for looks that are taken without a claim. */
  async advanceLastLook(key: string, at: Date): Promise<void> {
    await ExperimentModel.updateOne({ _id: key }, { $max: { lastLookAt: at } });
  },

  /** Key and status of every experiment naming a metric as its primary, a secondary or a guardrail metric. */
  async listNamingMetric(metricKey: string): Promise<{ key: string; status: ExperimentStatus }[]> {
    const docs = await ExperimentModel.find(
      { $or: [{ 'metrics.primary': metricKey }, { 'metrics.secondary': metricKey }, { 'metrics.guardrails': metricKey }] },
      { _id: 1, status: 1 },
    )
      .sort({ _id: 1 })
      .lean<{ _id: string; status: ExperimentStatus }[]>();
    return docs.map((doc) => ({ key: doc._id, status: doc.status }));
  },

  async deleteDraft(key: string): Promise<boolean> {
    const result = await ExperimentModel.deleteOne({ _id: key, status: 'draft' });
    return result.deletedCount === 1;
  },
};
