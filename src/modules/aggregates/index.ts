export {
  aggregatesRepository,
  DeltaAccumulator,
  ASSIGNED,
  aggregateId,
  unitId,
  type AggregateDelta,
} from './aggregates.repository';
export type { AggregateRecord, UnitRecord } from './aggregates.model';
