export { experimentsRouter } from './experiments.router';
export { experimentsService, toExperiment, type Experiment } from './experiments.service';
export type { ExperimentRecord, VariantRecord, HistoryEntry } from './experiments.model';
export { experimentKey, experimentKeyParams, KEY_PATTERN, type ExperimentStatus } from './experiments.schemas';
export * from './metric-catalogue';
