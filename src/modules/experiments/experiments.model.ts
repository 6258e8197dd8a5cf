import { Schema, model } from 'mongoose';
import type { ExperimentStatus } from './experiments.schemas';
import type { LibraryMetricDefinition } from '../../lib/metric-definition';
import type { CustomMetric } from './metric-catalogue';

export interface VariantRecord {
  key: string;
  name?: string;
  weight: number;
  content: Record<string, unknown>;
}

export interface HistoryEntry {
  at: Date;
  action: string;
  actor: string;
  details?: Record<string, unknown>;
}

export interface ExperimentRecord {
  _id: string; // the experiment key
  name: string;
  hypothesis?: string;
  assetType: 'email' | 'page' | 'sms';
  variants: VariantRecord[];
  controlVariant: string;
  coverage: number;
  seed: string;
  targeting?: Record<string, unknown>;
  /** `library`: the library metrics it names (not built in, not custom), as stored when it was created, edited or started. */
  metrics: { primary: string; secondary: string[]; guardrails: string[]; custom: CustomMetric[]; library?: LibraryMetricDefinition[] };
  analysis: {
    alpha: number;
    power: number;
    minimumDetectableEffect: number;
    method: 'frequentist' | 'sequential' | 'bayesian';
    correction: 'holm' | 'benjamini-hochberg' | 'none';
    minSamplePerVariant: number;
    /** CUPED: the covariate is each metric over this ISO-8601 duration before the customer's assignment. */
    cuped?: { lookback: string };
  };
  /** Attribute names that slice the results (segments), fixed once started. */
  dimensions?: string[];
  /** The survey's settings: the follow-up question after the score (true: the built-in one). */
  survey?: { followUp?: true | { en?: string; fa?: string; ar?: string } };
  status: ExperimentStatus;
  rollout?: { variant: string; at: Date; by: string };
  /** Running minimum of always-valid p-values per "metric|variant", for the sequential method. */
  sequential?: Record<string, number>;
  /** When the last look (src/modules/results/looks.service.ts) recorded this experiment's results. */
  lastLookAt?: Date;
  history: HistoryEntry[];
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  stoppedAt?: Date;
}

const experimentSchema = new Schema<ExperimentRecord>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    hypothesis: String,
    assetType: { type: String, required: true },
    variants: { type: Schema.Types.Mixed, required: true },
    controlVariant: { type: String, required: true },
    coverage: { type: Number, required: true },
    seed: { type: String, required: true },
    targeting: String, // JSON text: see experiments.repository
    metrics: { type: Schema.Types.Mixed, required: true },
    analysis: { type: Schema.Types.Mixed, required: true },
    dimensions: { type: [String], default: undefined },
    survey: Schema.Types.Mixed,
    status: { type: String, required: true, index: true },
    rollout: Schema.Types.Mixed,
    sequential: Schema.Types.Mixed,
    lastLookAt: Date,
    history: { type: Schema.Types.Mixed, default: () => [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    startedAt: Date,
    stoppedAt: Date,
  },
  { versionKey: false, collection: 'experiments', minimize: false },
);

export const ExperimentModel = model<ExperimentRecord>('Experiment', experimentSchema);
