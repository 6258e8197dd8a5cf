export { resultsRouter } from './results.router';
export { resultsService, type RolloutResult } from './results.service';
export { looksService, recordLook, runDueLooks, type Look, type LookReason } from './looks.service';
export type * from './results.types';
