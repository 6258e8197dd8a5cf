// The one way results are computed: the experiment record and its aggregates, analysed and decided.
// Reading only: the sequential state the analysis would store comes back to the caller, and only a
// look (looks.service.ts) stores it.
import { aggregatesRepository } from '../aggregates';
import { readFreshness } from '../counting';
import { experimentsService, HOLDOUT_VARIANT, metricsOf, type ExperimentRecord } from '../experiments';
import { analyse, needsMaturity } from './results.analysis';
import { decide } from './results.decision';
import { analyseHoldout } from './results.holdout';
import type { ExperimentResults } from './results.types';

export interface ResultsReading {
  experiment: ExperimentRecord;
  results: ExperimentResults;
  /** What a look would store: running minima that went down ("metric|variant") and first τ² ("metric|~tau2"). */
  sequentialUpdates: Record<string, number>;
}

/**
 * Two reads whatever the number of events (three with windowed metrics); the stored running minima apply (min of stored and current).
 * First waits (at most 5 s) until everything acknowledged before the call is counted, unless `stale`.
 */
export async function readResults(key: string, now: Date = new Date(), options: { stale?: boolean } = {}): Promise<ResultsReading> {
  const experiment = await experimentsService.getRecord(key);
  const freshness = await readFreshness(options);
  // The holdout arm's aggregates are read beside the variants'; only the holdout comparison uses them.
  const scope = { ...experiment, variants: [...experiment.variants, { key: HOLDOUT_VARIANT }] };
  const aggregates = await aggregatesRepository.forExperiment(scope);
  // Windowed metrics are read by assignment day, so only the customers whose window has ended count.
  const windowed = Object.values(metricsOf(experiment.metrics)).some(needsMaturity);
  const cohorts = windowed ? await aggregatesRepository.cohortsForExperiment(scope) : [];
  const { results, sequentialUpdates } = analyse(experiment, aggregates, now, cohorts);
  const holdout = analyseHoldout(experiment, aggregates);
  const counting = { asOf: freshness.asOf.toISOString(), pending: freshness.pending, complete: freshness.complete };
  return { experiment, results: { ...results, ...counting, ...(holdout ? { holdout } : {}), decision: decide(results, experiment, now) }, sequentialUpdates };
}
