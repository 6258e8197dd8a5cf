export { resultsRouter } from './results.router';
export { resultsService, type RolloutResult } from './results.service';
export type * from './results.types';
