export { Aggregator, type AggregatorOptions } from './aggregator.service';
export { aggregatorDuty, AGGREGATOR_DUTY } from './counting.duty';
