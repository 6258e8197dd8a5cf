// The only code that touches the metric library's collection. Definitions are stored as JSON text (see
// the model) and come back as plain objects.
import { isDuplicateKeyError } from '../../lib/errors';
import type { LibraryMetricDefinition } from '../../lib/metric-definition';
import { MetricModel, type MetricRecord } from './metrics.model';

export interface StoredMetric {
  definition: LibraryMetricDefinition;
  /** The stored text, for a compare-and-set. */
  version: string;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string;
}

function encode(definition: LibraryMetricDefinition): string {
  const { key: _key, ...rest } = definition;
  return JSON.stringify(rest);
}

function decode(doc: MetricRecord): StoredMetric {
  const definition = { key: doc._id, ...(JSON.parse(doc.definition) as Omit<LibraryMetricDefinition, 'key'>) } as LibraryMetricDefinition;
  return { definition, version: doc.definition, createdAt: doc.createdAt, updatedAt: doc.updatedAt, createdBy: doc.createdBy };
}

export const metricsRepository = {
  /** false when a metric with this key exists already. */
  async insert(definition: LibraryMetricDefinition, createdBy: string, now: Date): Promise<boolean> {
    try {
      await MetricModel.create({ _id: definition.key, definition: encode(definition), createdAt: now, updatedAt: now, createdBy });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  },

  async findByKey(key: string): Promise<StoredMetric | null> {
    const doc = await MetricModel.findById(key).lean<MetricRecord>();
    return doc ? decode(doc) : null;
  },

  async list(): Promise<StoredMetric[]> {
    const docs = await MetricModel.find().sort({ _id: 1 }).lean<MetricRecord[]>();
    return docs.map(decode);
  },

  /** Replaces the definition only while it is still `version` (a compare-and-set); null when it moved. */
  async replace(key: string, version: string, definition: LibraryMetricDefinition, now: Date): Promise<StoredMetric | null> {
    const doc = await MetricModel.findOneAndUpdate({ _id: key, definition: version }, { $set: { definition: encode(definition), updatedAt: now } }, { new: true }).lean<MetricRecord>();
    return doc ? decode(doc) : null;
  },

  /** Deletes the metric only while its definition is still `version`; false when it moved or is gone. */
  async delete(key: string, version: string): Promise<boolean> {
    const result = await MetricModel.deleteOne({ _id: key, definition: version });
    return result.deletedCount === 1;
  },
};
