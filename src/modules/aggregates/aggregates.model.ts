import { Schema, model } from 'mongoose';

/** Running totals per experiment × variant × metric; results are computed from these alone. */
export interface AggregateRecord {
  _id: string; // `${experiment}|${variant}|${metric}`
  experiment: string;
  variant: string;
  metric: string; // a metric key, or ASSIGNED for the variant's assigned customers
  /** Customers with at least one event (binomial, mean) or who answered (survey). */
  units: number;
  /** Sum and sum of squares of per-customer values (mean metrics: summed event values; surveys: scores). */
  sum: number;
  sumSquares: number;
  /** Survey score → customers whose current answer it is. */
  histogram: Record<string, number>;
}

/** One customer's contribution to one metric of one experiment: what makes counting idempotent. */
export interface UnitRecord {
  _id: string; // `${experiment}|${metric}|${customerId}`
  experiment: string;
  variant: string;
  metric: string;
  customerId: string;
  /** Mean metrics: the customer's summed value. Surveys: the current score. Binomial: 1. */
  value: number;
  /** Surveys: the answer that is current, and its time (a later answer replaces it). */
  responseId?: string;
  at: Date;
}

const aggregateSchema = new Schema<AggregateRecord>(
  {
    _id: String,
    experiment: { type: String, required: true, index: true },
    variant: { type: String, required: true },
    metric: { type: String, required: true },
    units: { type: Number, default: 0 },
    sum: { type: Number, default: 0 },
    sumSquares: { type: Number, default: 0 },
    histogram: { type: Schema.Types.Mixed, default: {} },
  },
  { versionKey: false, collection: 'metric_aggregates', minimize: false },
);

const unitSchema = new Schema<UnitRecord>(
  {
    _id: String,
    experiment: { type: String, required: true, index: true },
    variant: { type: String, required: true },
    metric: { type: String, required: true },
    customerId: { type: String, required: true },
    value: { type: Number, required: true },
    responseId: String,
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'metric_units' },
);

export const AggregateModel = model<AggregateRecord>('Aggregate', aggregateSchema);
export const UnitModel = model<UnitRecord>('Unit', unitSchema);
