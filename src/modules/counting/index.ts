export { appendRecords, sharedAppend, onAppended, newBatchId, RecordsRefusedError, type InsertRaw, type Stamped, type StoredBatch } from './append';
export { readFreshness, onReadWaiting, wakeAggregator, READ_WAIT_MS, type CountingFreshness } from './fence';
export { countingRepository, type RebuildRequestRecord, type ProgressRecord } from './counting.repository';
export type { RecordKind, IngestBatchRecord, IngestSealRecord } from './counting.model';
export * from './counting.rules';
export { freshnessHeaders, freshnessQuery } from './counting.schemas';
