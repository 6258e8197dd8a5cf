export { resultsRouter } from './results.router';
export { resultsService, type RolloutResult } from './results.service';
export { looksDuty, looksService, recordLook, runDueLooks, type Look, type LookReason, type LooksSettings } from './looks.service';
export { computeTimeseries, MAX_TIMESERIES_POINTS, type CohortInput, type Timeseries, type TimeseriesPoint } from './results.timeseries';
export { timeseriesService } from './timeseries.service';
export type * from './results.types';
