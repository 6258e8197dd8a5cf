export { aggregatesRepository, ASSIGNED, aggregateId, unitId, type AggregateScope } from './aggregates.repository';
export type { AggregateRecord, CohortAggregate, CohortTotals, UnitRecord } from './aggregates.model';
