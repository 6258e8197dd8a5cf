// The one way results are computed: the experiment record and its aggregates, analysed and decided.
// Reading only: the sequential state the analysis would store comes back to the caller, and only a
// look (looks.service.ts) stores it.
import { aggregatesRepository } from '../aggregates';
import { experimentsService, type ExperimentRecord } from '../experiments';
import { analyse } from './results.analysis';
import { decide } from './results.decision';
import type { ExperimentResults } from './results.types';

export interface ResultsReading {
  experiment: ExperimentRecord;
  results: ExperimentResults;
  /** What a look would store: running minima that went down ("metric|variant") and first τ² ("metric|~tau2"). */
  sequentialUpdates: Record<string, number>;
}

/** Two reads whatever the number of events; the stored running minima apply (min of stored and current). */
export async function readResults(key: string, now: Date = new Date()): Promise<ResultsReading> {
  const experiment = await experimentsService.getRecord(key);
  const aggregates = await aggregatesRepository.forExperiment(key);
  const { results, sequentialUpdates } = analyse(experiment, aggregates, now);
  return { experiment, results: { ...results, decision: decide(results, experiment, now) }, sequentialUpdates };
}
