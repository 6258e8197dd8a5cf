export { aggregatesRepository, ASSIGNED, aggregateId, unitId } from './aggregates.repository';
export type { AggregateRecord, CohortAggregate, CohortTotals, UnitRecord } from './aggregates.model';
