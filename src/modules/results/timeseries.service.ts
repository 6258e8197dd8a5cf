// GET /v1/experiments/:key/results/timeseries: two reads (the experiment and its cohort aggregates), no
// writes, never raw records. The numbers come from computeTimeseries (pure).
import { aggregatesRepository } from '../aggregates';
import { readFreshness, type CountingFreshness } from '../counting';
import { experimentsService, type ExperimentRecord } from '../experiments';
import { computeTimeseries, timeseriesMetric, type Timeseries } from './results.timeseries';

export const timeseriesService = {
  /** The series of `metric` (default: the primary metric) for an experiment key; unknown experiment → 404. */
  async compute(key: string, metric?: string, options: { stale?: boolean } = {}): Promise<Timeseries & { asOf: Date; pending: number; complete: boolean }> {
    const experiment = await experimentsService.getRecord(key);
    timeseriesMetric(experiment, metric ?? experiment.metrics.primary);
    const freshness: CountingFreshness = await readFreshness({ ...options, experiment: key });
    return { ...(await timeseriesService.forRecord(experiment, metric)), ...freshness };
  },

  /** The series for an experiment record already read (the HTML report has one). */
  async forRecord(experiment: ExperimentRecord, metric: string = experiment.metrics.primary, now: Date = new Date()): Promise<Timeseries> {
    timeseriesMetric(experiment, metric); // a 400 for an unknown metric before anything is read
    return computeTimeseries(experiment, await aggregatesRepository.cohortsForExperiment(experiment), metric, now);
  },
};
