export { aggregatesRepository, ASSIGNED, aggregateId, packUnits, unitId, unpackUnits, type AggregateScope, type PackedUnit } from './aggregates.repository';
export type { AggregateRecord, CohortAggregate, CohortTotals, UnitRecord } from './aggregates.model';
