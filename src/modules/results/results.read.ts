// The one way results are computed: the experiment record and its aggregates, analysed and decided.
// Reading only: the sequential state the analysis would store comes back to the caller, and only a
// look (looks.service.ts) stores it.
import { LRUCache } from 'lru-cache';
import { BadRequestError } from '../../lib/errors';
import { aggregatesRepository, ASSIGNED } from '../aggregates';
import { countingRepository, MAX_SLICE_VALUES, readFreshness, SLICE_NONE, SLICE_OTHER, sliceKey } from '../counting';
import { experimentsService, HOLDOUT_VARIANT, metricsOf, type ExperimentRecord } from '../experiments';
import { analyse, applyCorrection, needsMaturity } from './results.analysis';
import { decide } from './results.decision';
import { analyseHoldout } from './results.holdout';
import type { ExperimentResults, SliceResult, SlicedResults } from './results.types';

/** The metrics whose cohorts maturity needs (the windowed ones, and the assigned customers), or none. */
function maturityReads(experiment: ExperimentRecord): string[] {
  const windowed = Object.values(metricsOf(experiment.metrics)).filter(needsMaturity).map((m) => m.key);
  return windowed.length > 0 ? [ASSIGNED, ...windowed] : [];
}

/** What names an experiment's aggregate documents: its variants and metrics. */
function scopeOf(scope: { variants: { key: string }[]; metrics: ExperimentRecord['metrics'] }): string[] {
  return [...scope.variants.map((v) => v.key), '|', ...Object.keys(metricsOf(scope.metrics))];
}

// Aggregates as last read, per experiment and what was read, with the experiment's aggregates version
// then: a read at the same version gives the same documents (every write raises it), so it is kept,
// and results, the report and the CSV of an experiment that is not counting anything right now cost no
// aggregate reads. Read only; never changed by the analysis.
const kept = new LRUCache<string, { version: string; value: unknown }>({ max: 500 });
async function keptRead<T>(experiment: string, version: string, what: unknown[], read: () => Promise<T>): Promise<T> {
  const id = JSON.stringify([experiment, ...what]);
  const hit = kept.get(id);
  if (hit && hit.version === version && version !== '') return hit.value as T;
  const value = await read();
  kept.set(id, { version, value });
  return value;
}

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
  const freshness = await readFreshness({ ...options, experiment: key });
  // After the wait: a version read now is at least that of every write counted before the read began.
  const version = await aggregatesRepository.readVersion(key);
  // The holdout arm's aggregates are read beside the variants'; only the holdout comparison uses them.
  const scope = { ...experiment, variants: [...experiment.variants, { key: HOLDOUT_VARIANT }] };
  // Windowed metrics are read by assignment day, so only the customers whose window has ended count.
  const matured = maturityReads(experiment);
  const [aggregates, cohorts] = await Promise.all([
    keptRead(key, version, ['totals', scopeOf(scope)], () => aggregatesRepository.forExperiment(scope)),
    matured.length > 0 ? keptRead(key, version, ['cohorts', scopeOf(scope), matured], () => aggregatesRepository.cohortsForExperiment(scope, matured)) : [],
  ]);
  const { results, sequentialUpdates } = analyse(experiment, aggregates, now, cohorts);
  const holdout = analyseHoldout(experiment, aggregates);
  const counting = { asOf: freshness.asOf.toISOString(), pending: freshness.pending, complete: freshness.complete };
  return { experiment, results: { ...results, ...counting, ...(holdout ? { holdout } : {}), decision: decide(results, experiment, now) }, sequentialUpdates };
}

/** Why slices are read with care: they are many comparisons, and the decision is the whole experiment's. */
export const SLICES_WARNING =
  'Slices are exploratory: the decision comes from the whole experiment. The correction covers every slice × metric × treatment, so a slice needs strong evidence to count as significant.';

/**
 * The results per value of one of the experiment's dimensions (segments): each slice analysed like the
 * whole experiment (its own sample ratio check), with one correction over slices × metrics × treatments.
 * Slices without assigned customers are left out. Reads only; the sequential method's stored running
 * minima belong to the whole experiment and do not apply to slices.
 */
export async function readSlices(key: string, dimension: string, now: Date = new Date(), options: { stale?: boolean; experiment?: ExperimentRecord } = {}): Promise<SlicedResults> {
  // The caller's record when it has just read it (the CSV and the report read the whole results first).
  const experiment = options.experiment ?? (await experimentsService.getRecord(key));
  if (!(experiment.dimensions ?? []).includes(dimension)) {
    const declared = experiment.dimensions?.length ? `its dimensions are ${experiment.dimensions.join(', ')}` : 'it declares no dimensions';
    throw new BadRequestError(`dimension: "${dimension}" is not a dimension of experiment "${key}" (${declared})`, [{ path: 'dimension', message: 'not a dimension of the experiment' }]);
  }
  const freshness = await readFreshness({ ...options, experiment: key });
  const kept = (await countingRepository.readSliceValues([key])).get(key)?.[dimension] ?? [];
  const values = [...kept, SLICE_OTHER, SLICE_NONE];
  const version = await aggregatesRepository.readVersion(key);
  const matured = maturityReads(experiment);
  const keys = values.map((value) => sliceKey(dimension, value));
  const read = await keptRead(key, version, ['slices', scopeOf(experiment), keys, matured], () => aggregatesRepository.forSlices(experiment, keys, matured));
  // A slice is exploratory: no stored sequential state, no holdout, no decision.
  const sliceExperiment: ExperimentRecord = { ...experiment, sequential: {} };
  const slices: SliceResult[] = [];
  for (const value of values) {
    const figures = read.get(sliceKey(dimension, value));
    if (!figures || !figures.totals.some((t) => t.metric === ASSIGNED && t.units > 0)) continue;
    const { results } = analyse(sliceExperiment, figures.totals, now, figures.cohorts);
    slices.push({
      value,
      variants: experiment.variants.map((v) => ({ variant: v.key, assigned: results.health.unitsByVariant[v.key] ?? 0 })),
      srm: results.health.srm,
      metrics: results.metrics,
    });
  }
  applyCorrection(slices.flatMap((slice) => slice.metrics), experiment.analysis.correction, experiment.analysis.alpha);
  return {
    experiment: key,
    dimension,
    generatedAt: now.toISOString(),
    asOf: freshness.asOf.toISOString(),
    pending: freshness.pending,
    complete: freshness.complete,
    method: experiment.analysis.method,
    alpha: experiment.analysis.alpha,
    correction: experiment.analysis.correction,
    controlVariant: experiment.controlVariant,
    warnings: [SLICES_WARNING, ...(kept.length >= MAX_SLICE_VALUES ? [`"${dimension}" has more than ${MAX_SLICE_VALUES} values: the values after the first ${MAX_SLICE_VALUES} counted are together in "${SLICE_OTHER}".`] : [])],
    slices,
  };
}
