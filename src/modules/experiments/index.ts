export { experimentsRouter } from './experiments.router';
export { experimentsService, listExperimentsUsingMetric, registerMetricLibrary, toExperiment, type Experiment } from './experiments.service';
export type { ExperimentRecord, VariantRecord, HistoryEntry } from './experiments.model';
export { EXPERIMENT_STATUSES, experimentKey, experimentKeyParams, experimentView, KEY_PATTERN, variantContent, type ExperimentStatus } from './experiments.schemas';
export * from './metric-catalogue';
export { HOLDOUT_VARIANT } from './experiments.schemas';
