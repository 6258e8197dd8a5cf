import { Schema, model } from 'mongoose';

export interface MetricRecord {
  _id: string; // the metric key
  /**
   * The definition but its key, as JSON text: filters are keyed by property paths ("properties.channel")
   * and operators ("$in"), which neither MongoDB nor FerretDB accept as field names.
   */
  definition: string;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string;
}

const metricSchema = new Schema<MetricRecord>(
  {
    _id: { type: String, required: true },
    definition: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
  },
  { versionKey: false, collection: 'metrics' },
);

export const MetricModel = model<MetricRecord>('Metric', metricSchema);
