import { Schema, model } from 'mongoose';
import { keepInCountingDb } from '../../db/connection';
import type { CohortDelta, UnitState } from '../counting';

/** Running totals of one cohort (the customers assigned on one UTC day): the shape the counting rule adds to. */
export type CohortTotals = CohortDelta;

/** One experiment × variant × metric, per assignment cohort; results are computed from these alone. */
export interface CohortAggregateDocument {
  _id: string; // `${experiment}|${variant}|${metric}`
  experiment: string;
  variant: string;
  metric: string; // a metric key, or ASSIGNED for the variant's assigned customers
  /** The last aggregator plan applied to this document: re-applying a plan is a no-op. */
  n: number;
  /** Cohort day ('YYYY-MM-DD') → totals. */
  cohorts: Record<string, CohortTotals>;
}

/** The whole-experiment totals of one variant × metric (all cohorts together). */
export interface AggregateRecord extends CohortTotals {
  _id: string;
  experiment: string;
  variant: string;
  metric: string;
}

/**
 * The same totals kept beside the cohorts, in a document of their own: whole-experiment results read
 * these (a few small documents), the time series reads the cohorts. Both change in the same plan.
 */
export interface TotalsDocument extends AggregateRecord {
  /** The last aggregator plan applied to this document. */
  n: number;
}

/** The totals of one variant × metric × cohort. */
export interface CohortAggregate extends CohortTotals {
  experiment: string;
  variant: string;
  metric: string;
  cohort: string;
}

export type UnitRecord = UnitState;

const aggregateSchema = new Schema<CohortAggregateDocument>(
  {
    _id: String,
    experiment: { type: String, required: true, index: true },
    variant: { type: String, required: true },
    metric: { type: String, required: true },
    n: { type: Number, default: 0 },
    cohorts: { type: Schema.Types.Mixed, default: {} },
  },
  { versionKey: false, collection: 'cohort_aggregates', minimize: false },
);

const unitSchema = new Schema<UnitRecord>(
  {
    _id: String,
    experiment: { type: String, required: true, index: true },
    variant: { type: String, required: true },
    metric: { type: String, required: true },
    customerId: { type: String, required: true },
    cohort: { type: String, required: true },
    value: { type: Number, required: true },
    responseId: String,
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'counting_units' },
);

const totalsSchema = new Schema<TotalsDocument>(
  {
    _id: String,
    experiment: { type: String, required: true, index: true },
    variant: { type: String, required: true },
    metric: { type: String, required: true },
    n: { type: Number, default: 0 },
    units: { type: Number, default: 0 },
    sum: { type: Number, default: 0 },
    sumSquares: { type: Number, default: 0 },
    histogram: { type: Schema.Types.Mixed, default: {} },
  },
  { versionKey: false, collection: 'metric_totals', minimize: false },
);

// In the counting engine's own database (src/db/connection.ts countingDb).
export const AggregateModel = keepInCountingDb(model<CohortAggregateDocument>('Aggregate', aggregateSchema));
export const TotalsModel = keepInCountingDb(model<TotalsDocument>('AggregateTotals', totalsSchema));
export const UnitModel = keepInCountingDb(model<UnitRecord>('Unit', unitSchema));
