// GET /v1/experiments/:key/results/timeseries: two reads (the experiment and its cohort aggregates), no
// writes, never raw records. The numbers come from computeTimeseries (pure).
import { AppError } from '../../lib/errors';
import { aggregatesRepository } from '../aggregates';
import { experimentsService, type ExperimentRecord } from '../experiments';
import { computeTimeseries, timeseriesMetric, type CohortInput, type Timeseries } from './results.timeseries';

/** The aggregates module's cohort read (`cohortsForExperiment`), looked up when called. */
interface CohortReader {
  cohortsForExperiment?: (experiment: string) => Promise<CohortInput[]>;
}

async function cohortsOf(key: string): Promise<CohortInput[]> {
  // Guarded until the counting engine's cohort aggregates land in src/modules/aggregates: without them
  // there is nothing to build a series from, and saying so beats a series of zeros.
  const reader = aggregatesRepository as CohortReader;
  if (typeof reader.cohortsForExperiment !== 'function') throw new AppError(503, 'not_available', 'cohort aggregates are not available yet');
  return reader.cohortsForExperiment(key);
}

export const timeseriesService = {
  /** The series of `metric` (default: the primary metric) for an experiment key; unknown experiment → 404. */
  async compute(key: string, metric?: string): Promise<Timeseries> {
    return timeseriesService.forRecord(await experimentsService.getRecord(key), metric);
  },

  /** The series for an experiment record already read (the HTML report has one). */
  async forRecord(experiment: ExperimentRecord, metric: string = experiment.metrics.primary, now: Date = new Date()): Promise<Timeseries> {
    timeseriesMetric(experiment, metric); // a 400 for an unknown metric before anything is read
    return computeTimeseries(experiment, await cohortsOf(experiment._id), metric, now);
  },
};
