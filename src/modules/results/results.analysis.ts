// Turns an experiment and its aggregates into per-metric estimates and comparisons. Pure: no I/O, so the
// results cost the same whatever the number of raw events, and every rule here is unit-testable.
import normal = require('@stdlib/stats-base-dists-normal');
import studentT = require('@stdlib/stats-base-dists-t');
import {
  adjustPValues,
  alwaysValidPValue,
  chanceToBeatControl,
  chiSquareIndependence,
  cupedAdjust,
  cupedMeanSample,
  DEFAULT_TAU2,
  histogramToArray,
  mannWhitneyTest,
  meanStatsFromHistogram,
  meanStatsFromSums,
  npsCountsFromHistogram,
  npsTest,
  responseRateTable,
  srmTest,
  capValueFromSketch,
  quantileEstimate,
  quantileTest,
  ratioStatsFromSums,
  ratioTest,
  SKETCH_RELATIVE_ACCURACY,
  tau2ForHorizon,
  twoProportionTest,
  welchTTest,
  type CupedSums,
  type MeanSample,
  type QuantileSketch,
  type RatioSums,
} from '../../stats';
import { ASSIGNED, type AggregateRecord, type CohortAggregate } from '../aggregates';
import { bucketSquaresKey, bucketSumKey, CUPED_SUM_X, CUPED_SUM_XX, CUPED_SUM_XY, RATIO_SUM_XY, RATIO_SUM_Y, RATIO_SUM_YY } from '../counting';
import { metricsOf, SURVEY_SCALES, type ExperimentRecord, type MetricDefinition, type SurveyMetric } from '../experiments';
import type { Comparison, ExperimentResults, Interval, MetricResult, VariantEstimate } from './results.types';

/** SRM needs this many expected customers per variant before its chi-square approximation is trusted. */
export const SRM_MIN_PER_VARIANT = 8;
/** Response rates differing with p below this get a warning: survey scores are then biased by who answered. */
export const RESPONSE_RATE_WARNING_P = 0.05;
/** Tuning horizon N* (customers per variant) for τ² of non-rate metrics under the sequential method. */
export const SEQUENTIAL_HORIZON = 5000;
/** CSAT top-2-box threshold on the 1–5 scale. */
const CSAT_TOP_BOX = 4;

export type Role = MetricResult['role'];

/** Raw numbers of one comparison before the sequential step and the correction. */
interface Look {
  difference: number;
  /** Variance of the difference estimate, for the always-valid p-value. */
  variance: number;
  /** Per-customer variance pooled over both arms, to tune τ² on the first look (non-rate metrics). */
  unitVariance: number;
}

interface Draft {
  comparison: Comparison;
  look: Look | null;
}

export interface AnalysisOutput {
  results: Omit<ExperimentResults, 'decision'>;
  /** Sequential state to store: new running minima ("metric|variant") and first-look τ² ("metric|~tau2"). */
  sequentialUpdates: Record<string, number>;
}

export function sequentialKey(metric: string, variant: string): string {
  return `${metric}|${variant}`;
}
export function tau2Key(metric: string): string {
  return `${metric}|~tau2`;
}

function zCritical(alpha: number): number {
  return normal.quantile(1 - alpha / 2, 0, 1);
}

/** Wilson score interval: well-behaved for small n and rates near 0 or 1, unlike the Wald interval. */
export function wilsonInterval(successes: number, trials: number, alpha: number): Interval | null {
  if (!(trials > 0) || successes < 0 || successes > trials) return null;
  const z = zCritical(alpha);
  const p = successes / trials;
  const z2 = z * z;
  const center = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / (1 + z2 / trials);
  // Exact ends when nobody or everybody converted (the formula leaves rounding residue there).
  return [successes === 0 ? 0 : Math.max(0, center - half), successes === trials ? 1 : Math.min(1, center + half)];
}

function meanInterval(sample: MeanSample, alpha: number): Interval {
  const half = studentT.quantile(1 - alpha / 2, sample.n - 1) * Math.sqrt(sample.variance / sample.n);
  return [sample.mean - half, sample.mean + half];
}

/** Runs a statistics call, turning its RangeError on impossible input (inconsistent aggregates) into null. */
function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}

function emptyComparison(variant: string, baseline: string): Comparison {
  return {
    variant,
    baseline,
    absoluteLift: null,
    relativeLift: null,
    ci: null,
    relativeCi: null,
    pValue: null,
    adjustedPValue: null,
    significant: false,
    better: null,
  };
}

export class AggregateIndex {
  private readonly byKey = new Map<string, AggregateRecord>();
  constructor(records: AggregateRecord[]) {
    for (const record of records) this.byKey.set(`${record.variant}|${record.metric}`, record);
  }
  get(variant: string, metric: string): AggregateRecord | undefined {
    return this.byKey.get(`${variant}|${metric}`);
  }
  assigned(variant: string): number {
    return this.get(variant, ASSIGNED)?.units ?? 0;
  }
  /** A metric's aggregate over its analysed customers (the mature cohorts of a windowed metric). */
  metric(variant: string, metric: MetricDefinition): AggregateRecord | undefined {
    return this.get(variant, metric.key);
  }
  /** The customers a metric is analysed over: the assigned ones, or for a windowed metric those whose window has ended. */
  trials(variant: string, metric: MetricDefinition): number {
    return needsMaturity(metric) ? (this.get(variant, analysedKey(metric.key))?.units ?? 0) : this.assigned(variant);
  }
}

export interface Context {
  experiment: ExperimentRecord;
  index: AggregateIndex;
  control: string;
  treatments: string[];
  alpha: number;
  bayesian: boolean;
}

// --- Binomial: share of assigned customers with at least one event after assignment ---------------------

function binomialMetric(ctx: Context, metric: MetricDefinition): { variants: VariantEstimate[]; drafts: Draft[] } {
  // match "none" (churn): the analysed customers without a matching event in their window.
  const sample = (variant: string) => {
    const trials = ctx.index.trials(variant, metric);
    const withEvent = ctx.index.metric(variant, metric)?.units ?? 0;
    return { successes: metric.match === 'none' ? Math.max(0, trials - withEvent) : withEvent, trials };
  };
  const variants = ctx.experiment.variants.map(({ key }): VariantEstimate => {
    const { successes, trials } = sample(key);
    const consistent = trials > 0 && successes <= trials;
    return { variant: key, units: trials, analysedUnits: trials, value: consistent ? successes / trials : null, ci: consistent ? wilsonInterval(successes, trials, ctx.alpha) : null };
  });
  const control = sample(ctx.control);
  const drafts = ctx.treatments.map((variant): Draft => {
    const treatment = sample(variant);
    const empty = { comparison: emptyComparison(variant, ctx.control), look: null };
    // Fewer than 2 customers, more events than customers, or no variance at all (nobody or everybody converted).
    if (control.trials < 2 || treatment.trials < 2) return empty;
    if (control.successes > control.trials || treatment.successes > treatment.trials) return empty;
    const totalSuccesses = control.successes + treatment.successes;
    if (totalSuccesses === 0 || totalSuccesses === control.trials + treatment.trials) return empty;
    const test = attempt(() => twoProportionTest({ control, treatment, alpha: ctx.alpha }));
    if (!test) return empty;
    const comparison: Comparison = {
      ...emptyComparison(variant, ctx.control),
      absoluteLift: test.absoluteLift,
      relativeLift: test.relativeLift,
      ci: test.ci,
      relativeCi: test.relativeCi,
      pValue: test.pValue,
    };
    if (ctx.bayesian) {
      const chance = attempt(() => chanceToBeatControl({ control, treatment }));
      // Reported as the chance of being better in the metric's direction (fewer unsubscribes beat more).
      if (chance !== null) comparison.chanceToBeatControl = metric.direction === 'increase' ? chance : 1 - chance;
    }
    const pC = test.controlRate;
    const pT = test.treatmentRate;
    const variance = (pC * (1 - pC)) / control.trials + (pT * (1 - pT)) / treatment.trials;
    return { comparison, look: { difference: test.absoluteLift, variance, unitVariance: (pC * (1 - pC) + pT * (1 - pT)) / 2 } };
  });
  return { variants, drafts };
}

// --- Mean (custom event values): per-customer sums over every assigned customer (no event = 0) ----------

function meanMetric(ctx: Context, metric: MetricDefinition): { variants: VariantEstimate[]; drafts: Draft[]; cap?: number } {
  // A percentile cap is read off the pooled per-customer totals; an absolute one was applied while counting.
  const cap = percentileCap(ctx, metric);
  const sums = (variant: string) => {
    const aggregate = ctx.index.metric(variant, metric);
    if (cap !== null) return cappedSums(aggregate?.histogram ?? {}, cap);
    return { sum: aggregate?.sum ?? 0, sumSquares: aggregate?.sumSquares ?? 0 };
  };
  const stats = (variant: string): MeanSample | null => {
    const count = ctx.index.trials(variant, metric);
    if (count < 2) return null;
    return attempt(() => meanStatsFromSums({ count, ...sums(variant) }));
  };
  const variants = ctx.experiment.variants.map(({ key }): VariantEstimate => {
    const assigned = ctx.index.trials(key, metric);
    const sample = stats(key);
    const { sum } = sums(key);
    return {
      variant: key,
      units: assigned,
      analysedUnits: assigned,
      value: assigned > 0 ? sum / assigned : null,
      ci: sample ? meanInterval(sample, ctx.alpha) : null,
      standardDeviation: sample ? Math.sqrt(sample.variance) : null,
    };
  });
  const control = stats(ctx.control);
  const drafts = ctx.treatments.map((variant) => welchDraft(ctx, variant, control, stats(variant)));
  const capValue = cap ?? (metric.capping?.type === 'absolute' ? metric.capping.value : null);
  return { variants, drafts, ...(capValue !== null ? { cap: capValue } : {}) };
}

function welchDraft(ctx: Context, variant: string, control: MeanSample | null, treatment: MeanSample | null): Draft {
  const empty = { comparison: emptyComparison(variant, ctx.control), look: null };
  if (!control || !treatment) return empty;
  const variance = control.variance / control.n + treatment.variance / treatment.n;
  // Both arms constant: the t statistic is infinite or undefined, so there is nothing to infer.
  if (!(variance > 0)) return empty;
  const test = attempt(() => welchTTest({ control, treatment, alpha: ctx.alpha }));
  if (!test) return empty;
  return {
    comparison: {
      ...emptyComparison(variant, ctx.control),
      absoluteLift: test.difference,
      relativeLift: test.relativeLift,
      ci: test.ci,
      relativeCi: test.relativeCi,
      pValue: test.pValue,
    },
    look: { difference: test.difference, variance, unitVariance: (control.variance + treatment.variance) / 2 },
  };
}

// --- Surveys: among responders ---------------------------------------------------------------------------

interface SurveyArm {
  counts: number[] | null; // per scale point, min..max; null when the histogram is not valid for the scale
  responders: number;
  histogram: Record<string, number>;
}

/** A survey metric's scale: the built-in's, or the library definition's. */
function scaleOf(metric: MetricDefinition): { min: number; max: number } {
  return metric.scale ?? SURVEY_SCALES[metric.key as SurveyMetric];
}

/** The scores that count as satisfied: CSAT's 4 and 5, or a library survey metric's topBox (none: no top box). */
function topScoresOf(metric: MetricDefinition): number[] | null {
  if (metric.key === 'csat') return [CSAT_TOP_BOX, CSAT_TOP_BOX + 1];
  return metric.topBox ?? null;
}

function topBoxOf(histogram: Record<string, number>, scores: number[]): { successes: number; trials: number } {
  let successes = 0;
  let trials = 0;
  for (const [score, count] of Object.entries(histogram)) {
    trials += count;
    if (scores.includes(Number(score))) successes += count;
  }
  return { successes, trials };
}

function surveyArm(ctx: Context, variant: string, metric: MetricDefinition): SurveyArm {
  const scale = scaleOf(metric);
  const aggregate = ctx.index.get(variant, metric.key);
  // Replaced answers leave zero (never negative) entries behind; drop them before validating.
  const histogram = Object.fromEntries(Object.entries(aggregate?.histogram ?? {}).filter(([, count]) => count !== 0));
  const counts = attempt(() => histogramToArray(histogram, scale.min, scale.max));
  return { counts, histogram, responders: counts ? counts.reduce((a, b) => a + b, 0) : 0 };
}

function distributionOf(counts: number[] | null, min: number): Record<string, number> | undefined {
  if (!counts) return undefined;
  return Object.fromEntries(counts.map((count, i) => [String(min + i), count]));
}

/**
 * CSAT (mean + top-2-box), CES (ordinal) and the library's survey metrics on their own scales: Welch on
 * the mean among responders, Mann–Whitney beside it, and the top box where there is one.
 */
function scoreMetric(ctx: Context, metric: MetricDefinition): { variants: VariantEstimate[]; drafts: Draft[] } {
  const scale = scaleOf(metric);
  const topScores = topScoresOf(metric);
  const arms = new Map(ctx.experiment.variants.map(({ key: variant }) => [variant, surveyArm(ctx, variant, metric)]));
  const meanOf = (arm: SurveyArm) => (arm.counts && arm.responders >= 2 ? attempt(() => meanStatsFromHistogram(arm.histogram)) : null);
  const variants = ctx.experiment.variants.map(({ key: variant }): VariantEstimate => {
    const arm = arms.get(variant)!;
    const sample = meanOf(arm);
    const value = arm.counts && arm.responders > 0 ? arm.counts.reduce((sum, count, i) => sum + count * (scale.min + i), 0) / arm.responders : null;
    const estimate: VariantEstimate = {
      variant,
      units: arm.responders,
      value,
      ci: sample ? meanInterval(sample, ctx.alpha) : null,
      responders: arm.responders,
      standardDeviation: sample ? Math.sqrt(sample.variance) : null,
    };
    const distribution = distributionOf(arm.counts, scale.min);
    if (distribution) estimate.distribution = distribution;
    if (topScores) {
      const top = arm.counts ? topBoxOf(arm.histogram, topScores) : { successes: 0, trials: 0 };
      estimate.topBox = { ...top, rate: top.trials > 0 ? top.successes / top.trials : null, ci: wilsonInterval(top.successes, top.trials, ctx.alpha) };
    }
    return estimate;
  });
  const control = arms.get(ctx.control)!;
  const drafts = ctx.treatments.map((variant) => {
    const treatment = arms.get(variant)!;
    const draft = welchDraft(ctx, variant, meanOf(control), meanOf(treatment));
    const robustness: NonNullable<Comparison['robustness']> = {};
    if (control.counts && treatment.counts && control.responders >= 2 && treatment.responders >= 2) {
      const mw = attempt(() => mannWhitneyTest({ control: control.counts!, treatment: treatment.counts! }));
      if (mw) robustness.mannWhitney = { pValue: mw.pValue, statistic: mw.zScore };
      if (topScores) {
        const top = attempt(() => twoProportionTest({ control: topBoxOf(control.histogram, topScores), treatment: topBoxOf(treatment.histogram, topScores), alpha: ctx.alpha }));
        if (top) robustness.topBox = { pValue: top.pValue, statistic: top.zScore };
      }
    }
    if (Object.keys(robustness).length > 0) draft.comparison.robustness = robustness;
    return draft;
  });
  return { variants, drafts };
}

/** Per-customer variance of answers recoded +100 / 0 / −100 (promoter / passive / detractor). */
function npsUnitVariance(counts: { promoters: number; passives: number; detractors: number }): { nps: number; variance: number; n: number } {
  const n = counts.promoters + counts.passives + counts.detractors;
  const p = counts.promoters / n;
  const d = counts.detractors / n;
  return { nps: 100 * (p - d), variance: Math.max(0, 10000 * (p + d - (p - d) * (p - d))), n };
}

function npsMetric(ctx: Context, metric: MetricDefinition): { variants: VariantEstimate[]; drafts: Draft[] } {
  const arms = new Map(ctx.experiment.variants.map(({ key }) => [key, surveyArm(ctx, key, metric)]));
  const countsOf = (arm: SurveyArm) => (arm.counts && arm.responders > 0 ? attempt(() => npsCountsFromHistogram(arm.histogram)) : null);
  const z = zCritical(ctx.alpha);
  const variants = ctx.experiment.variants.map(({ key }): VariantEstimate => {
    const arm = arms.get(key)!;
    const counts = countsOf(arm);
    const unit = counts ? npsUnitVariance(counts) : null;
    const half = unit ? z * Math.sqrt(unit.variance / unit.n) : 0;
    const estimate: VariantEstimate = {
      variant: key,
      units: arm.responders,
      value: unit ? unit.nps : null,
      ci: unit && arm.responders >= 2 ? [unit.nps - half, unit.nps + half] : null,
      responders: arm.responders,
      standardDeviation: unit ? Math.sqrt(unit.variance) : null,
    };
    const distribution = distributionOf(arm.counts, SURVEY_SCALES.nps.min);
    if (distribution) estimate.distribution = distribution;
    return estimate;
  });
  const control = arms.get(ctx.control)!;
  const drafts = ctx.treatments.map((variant): Draft => {
    const empty = { comparison: emptyComparison(variant, ctx.control), look: null };
    const treatment = arms.get(variant)!;
    if (control.responders < 2 || treatment.responders < 2) return empty;
    const c = countsOf(control);
    const t = countsOf(treatment);
    if (!c || !t) return empty;
    const test = attempt(() => npsTest({ control: c, treatment: t, alpha: ctx.alpha }));
    if (!test || !(test.standardError > 0)) return empty;
    const relative = test.controlNps !== 0 ? test.difference / Math.abs(test.controlNps) : null;
    return {
      comparison: {
        ...emptyComparison(variant, ctx.control),
        absoluteLift: test.difference,
        // NPS can be zero or negative, so the relative change is taken against its magnitude.
        relativeLift: relative,
        ci: test.ci,
        relativeCi: relative !== null ? [test.ci[0] / Math.abs(test.controlNps), test.ci[1] / Math.abs(test.controlNps)] : null,
        pValue: test.pValue,
      },
      look: {
        difference: test.difference,
        variance: test.standardError * test.standardError,
        unitVariance: (npsUnitVariance(c).variance + npsUnitVariance(t).variance) / 2,
      },
    };
  });
  return { variants, drafts };
}

export function analyseMetric(ctx: Context, metric: MetricDefinition): { variants: VariantEstimate[]; drafts: Draft[]; test: string; cap?: number } {
  if (metric.kind === 'ratio') return { ...ratioMetric(ctx, metric), test: 'delta-method-z-test' };
  if (metric.kind === 'quantile') return { ...quantileMetric(ctx, metric), test: 'quantile-z-test' };
  if (metric.source === 'survey') {
    if (metric.kind === 'nps') return { ...npsMetric(ctx, metric), test: 'nps-z-test' };
    return { ...scoreMetric(ctx, metric), test: 'welch-t-test' };
  }
  if (metric.kind === 'mean') return { ...meanMetric(ctx, metric), test: 'welch-t-test' };
  return { ...binomialMetric(ctx, metric), test: 'two-proportion-z-test' };
}

// --- CUPED (Deng et al. 2013): the comparison on Y − θ(X − X̄), X the same metric before assignment ------

/** Whether CUPED adjusts a metric of this experiment: proportion and mean event metrics, not a percentile cap. */
export function cupedAppliesTo(experiment: ExperimentRecord, metric: MetricDefinition): boolean {
  return experiment.analysis.cuped !== undefined && metric.source === 'event' && (metric.kind === 'binomial' || metric.kind === 'mean') && metric.capping?.type !== 'percentile';
}

/** One arm's sums of Y (as analysed: a churn metric's Y is 1 − "had the event") and of its covariate X. */
function cupedSums(ctx: Context, variant: string, metric: MetricDefinition): CupedSums {
  const aggregate = ctx.index.metric(variant, metric);
  const n = ctx.index.trials(variant, metric);
  const h = aggregate?.histogram ?? {};
  const sumX = h[CUPED_SUM_X] ?? 0;
  const sumX2 = h[CUPED_SUM_XX] ?? 0;
  const xy = h[CUPED_SUM_XY] ?? 0;
  if (metric.kind === 'binomial') {
    const converted = aggregate?.units ?? 0;
    if (metric.match === 'none') return { n, sumY: n - converted, sumY2: n - converted, sumX, sumX2, sumXY: sumX - xy };
    return { n, sumY: converted, sumY2: converted, sumX, sumX2, sumXY: xy };
  }
  return { n, sumY: aggregate?.sum ?? 0, sumY2: aggregate?.sumSquares ?? 0, sumX, sumX2, sumXY: xy };
}

/**
 * Replaces each comparison by the one on CUPED-adjusted values (θ pooled over every variant), keeping the
 * unadjusted figures beside it; the variants' estimates stay unadjusted, with the adjusted mean added.
 */
function applyCuped(ctx: Context, metric: MetricDefinition, variants: VariantEstimate[], drafts: Draft[]): MetricResult['cuped'] | undefined {
  const lookback = ctx.experiment.analysis.cuped?.lookback ?? '';
  const sums = ctx.experiment.variants.map((v) => cupedSums(ctx, v.key, metric));
  if (sums.some((arm) => arm.n < 2)) return undefined;
  const adjusted = attempt(() => cupedAdjust(sums));
  if (!adjusted) return undefined;
  const arms = new Map(ctx.experiment.variants.map((v, i) => [v.key, adjusted.arms[i]]));
  for (const estimate of variants) estimate.adjustedValue = arms.get(estimate.variant)?.adjustedMean ?? null;
  const control = arms.get(ctx.control)!;
  for (const draft of drafts) {
    const treatment = arms.get(draft.comparison.variant)!;
    const before = draft.comparison;
    const unadjusted = { absoluteLift: before.absoluteLift, relativeLift: before.relativeLift, ci: before.ci, pValue: before.pValue };
    const welch = welchDraft(ctx, before.variant, cupedMeanSample(control), cupedMeanSample(treatment));
    draft.comparison = { ...welch.comparison, ...(before.chanceToBeatControl !== undefined ? { chanceToBeatControl: before.chanceToBeatControl } : {}), unadjusted };
    draft.look = welch.look;
  }
  return { lookback, theta: adjusted.theta, varianceReduction: adjusted.varianceReduction };
}

// --- Maturity: windowed metrics count the customers whose window has ended by the analysis end --------

const DAY_MS = 86_400_000;

/** Whether a metric's window can leave customers out until it has ended (a delay or a duration). */
export function needsMaturity(metric: MetricDefinition): boolean {
  return metric.source === 'event' && metric.window !== undefined && (metric.window.delayMs > 0 || metric.window.durationMs !== null);
}

/**
 * Whether everyone assigned on a cohort day has had their whole window by `end`: the day's last moment
 * plus the delay and the duration (or the delay alone, open-ended). Maturity is judged per assignment
 * day, so a customer enters the analysis once the window of the last customer assigned that day has ended.
 */
export function cohortMature(cohort: string, window: { delayMs: number; durationMs: number | null }, end: number): boolean {
  return Date.parse(`${cohort}T00:00:00Z`) + DAY_MS + window.delayMs + (window.durationMs ?? 0) <= end;
}

/** The analysis end: the stop of a stopped (or rolled-out) experiment, else now. */
export function analysisEndOf(experiment: ExperimentRecord, now: Date): number {
  return experiment.stoppedAt ? Math.min(new Date(experiment.stoppedAt).getTime(), now.getTime()) : now.getTime();
}

/** The analysed customers' totals of windowed metrics, per variant: their mature cohorts only. */
export type CohortFigures = Pick<CohortAggregate, 'variant' | 'metric' | 'cohort' | 'units' | 'sum' | 'sumSquares'> & { histogram?: Record<string, number> };

export function maturedAggregates(experiment: ExperimentRecord, cohorts: readonly CohortFigures[], now: Date): AggregateRecord[] {
  const end = analysisEndOf(experiment, now);
  const out = new Map<string, AggregateRecord>();
  const definitions = metricsOf(experiment.metrics);
  const windowed = Object.values(definitions).filter(needsMaturity);
  const byVariantMetric = new Map<string, CohortFigures[]>();
  for (const c of cohorts) {
    const key = `${c.variant}|${c.metric}`;
    byVariantMetric.set(key, [...(byVariantMetric.get(key) ?? []), c]);
  }
  for (const metric of windowed) {
    for (const variant of experiment.variants) {
      for (const [source, target] of [
        [metric.key, metric.key],
        [ASSIGNED, analysedKey(metric.key)],
      ] as const) {
        const record: AggregateRecord = { _id: `${experiment._id}|${variant.key}|${target}`, experiment: experiment._id, variant: variant.key, metric: target, units: 0, sum: 0, sumSquares: 0, histogram: {} };
        for (const c of byVariantMetric.get(`${variant.key}|${source}`) ?? []) {
          if (!cohortMature(c.cohort, metric.window!, end)) continue;
          record.units += c.units;
          record.sum += c.sum;
          record.sumSquares += c.sumSquares;
          for (const [k, v] of Object.entries(c.histogram ?? {})) record.histogram[k] = (record.histogram[k] ?? 0) + v;
        }
        out.set(record._id, record);
      }
    }
  }
  return [...out.values()];
}

/** The pseudo-metric holding a windowed metric's analysed (mature) assigned customers. */
export function analysedKey(metric: string): string {
  return `${ASSIGNED}@${metric}`;
}

// --- Sketches kept in an aggregate's histogram (quantile metrics, percentile caps) -----------------------

const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);

/** The bucket's representative value, within the sketch's accuracy of every value in it. */
function bucketValue(key: string): number {
  if (key === 'z') return 0;
  const magnitude = (2 * GAMMA ** Number(key.slice(1))) / (GAMMA + 1);
  return key.startsWith('p') ? magnitude : -magnitude;
}

/** The sketch held in a histogram (keys p<i>, n<i>, z), plus `zeros` more values of 0. */
export function sketchFromHistogram(histogram: Record<string, number>, zeros = 0): QuantileSketch {
  const sketch: QuantileSketch = { n: 0, zero: 0, pos: {}, neg: {}, min: null, max: null };
  const add = (key: string, count: number) => {
    if (count <= 0) return;
    sketch.n += count;
    if (key === 'z') sketch.zero += count;
    else (key.startsWith('p') ? sketch.pos : sketch.neg)[key.slice(1)] = count;
    const value = bucketValue(key);
    sketch.min = sketch.min === null ? value : Math.min(sketch.min, value);
    sketch.max = sketch.max === null ? value : Math.max(sketch.max, value);
  };
  for (const [key, count] of Object.entries(histogram)) if (/^(z|[pn]-?\d+)$/.test(key)) add(key, Math.round(count));
  if (zeros > 0) add('z', zeros);
  return sketch;
}

// --- Ratio: Σ numerator / Σ denominator over analysed customers, delta-method variance ------------------

function ratioSums(ctx: Context, variant: string, metric: MetricDefinition): RatioSums {
  const a = ctx.index.metric(variant, metric);
  return { n: ctx.index.trials(variant, metric), sumX: a?.sum ?? 0, sumX2: a?.sumSquares ?? 0, sumY: a?.histogram[RATIO_SUM_Y] ?? 0, sumY2: a?.histogram[RATIO_SUM_YY] ?? 0, sumXY: a?.histogram[RATIO_SUM_XY] ?? 0 };
}

function ratioMetric(ctx: Context, metric: MetricDefinition): { variants: VariantEstimate[]; drafts: Draft[] } {
  const variants = ctx.experiment.variants.map(({ key }): VariantEstimate => {
    const sums = ratioSums(ctx, key, metric);
    const sample = sums.n >= 2 && sums.sumY !== 0 ? attempt(() => ratioStatsFromSums(sums)) : null;
    const z = zCritical(ctx.alpha);
    return {
      variant: key,
      units: sums.n,
      analysedUnits: sums.n,
      value: sums.sumY !== 0 ? sums.sumX / sums.sumY : null,
      ci: sample ? [sample.ratio - z * Math.sqrt(sample.variance), sample.ratio + z * Math.sqrt(sample.variance)] : null,
      numerator: sums.sumX,
      denominator: sums.sumY,
    };
  });
  const control = ratioSums(ctx, ctx.control, metric);
  const drafts = ctx.treatments.map((variant): Draft => {
    const treatment = ratioSums(ctx, variant, metric);
    const empty = { comparison: emptyComparison(variant, ctx.control), look: null };
    if (control.n < 2 || treatment.n < 2 || control.sumY === 0 || treatment.sumY === 0) return empty;
    const test = attempt(() => ratioTest({ control, treatment, alpha: ctx.alpha }));
    if (!test || !(test.standardError > 0)) return empty;
    return {
      comparison: { ...emptyComparison(variant, ctx.control), absoluteLift: test.difference, relativeLift: test.relativeLift, ci: test.ci, relativeCi: test.relativeCi, pValue: test.pValue },
      look: { difference: test.difference, variance: test.standardError ** 2, unitVariance: (test.standardError ** 2 * Math.min(control.n, treatment.n)) / 2 },
    };
  });
  return { variants, drafts };
}

// --- Quantile: the q-quantile of every matching event's value, from the sketch ---------------------------

function quantileMetric(ctx: Context, metric: MetricDefinition): { variants: VariantEstimate[]; drafts: Draft[] } {
  const q = metric.quantile ?? 0.5;
  const sketchOf = (variant: string) => sketchFromHistogram(ctx.index.metric(variant, metric)?.histogram ?? {});
  const variants = ctx.experiment.variants.map(({ key }): VariantEstimate => {
    const sketch = sketchOf(key);
    const estimate = sketch.n > 0 ? attempt(() => quantileEstimate(sketch, q, ctx.alpha)) : null;
    return { variant: key, units: sketch.n, analysedUnits: ctx.index.trials(key, metric), value: estimate?.estimate ?? null, ci: estimate?.ci ?? null, observations: sketch.n };
  });
  const control = sketchOf(ctx.control);
  const drafts = ctx.treatments.map((variant): Draft => {
    const treatment = sketchOf(variant);
    const empty = { comparison: emptyComparison(variant, ctx.control), look: null };
    if (control.n < 2 || treatment.n < 2) return empty;
    const test = attempt(() => quantileTest({ control, treatment, quantile: q, alpha: ctx.alpha }));
    if (!test || !(test.standardError > 0)) return empty;
    return {
      comparison: { ...emptyComparison(variant, ctx.control), absoluteLift: test.difference, relativeLift: test.relativeLift, ci: test.ci, relativeCi: test.relativeCi, pValue: test.pValue },
      look: { difference: test.difference, variance: test.standardError ** 2, unitVariance: ((test.control.variance * control.n + test.treatment.variance * treatment.n) / 2) },
    };
  });
  return { variants, drafts };
}

// --- Capping: the percentile cap over the pooled customers, from the sketch of per-customer totals ------

/** The cap of a percentile-capped mean metric, over every variant's analysed customers (no event: 0). */
function percentileCap(ctx: Context, metric: MetricDefinition): number | null {
  if (metric.capping?.type !== 'percentile') return null;
  const pooled: Record<string, number> = {};
  let zeros = 0;
  for (const { key } of ctx.experiment.variants) {
    const a = ctx.index.metric(key, metric);
    for (const [k, v] of Object.entries(a?.histogram ?? {})) if (!k.includes(':')) pooled[k] = (pooled[k] ?? 0) + v;
    zeros += Math.max(0, ctx.index.trials(key, metric) - (a?.units ?? 0));
  }
  const sketch = sketchFromHistogram(pooled, zeros);
  return sketch.n > 0 ? attempt(() => capValueFromSketch(metric.capping!, sketch)) : null;
}

/** Sum and sum of squares of per-customer totals, each at most `cap`, from the sketch's buckets (their exact sums). */
function cappedSums(histogram: Record<string, number>, cap: number): { sum: number; sumSquares: number } {
  let sum = 0;
  let sumSquares = 0;
  for (const [key, count] of Object.entries(histogram)) {
    if (key.includes(':') || !(count > 0)) continue;
    if (bucketValue(key) <= cap) {
      sum += histogram[bucketSumKey(key)] ?? 0;
      sumSquares += histogram[bucketSquaresKey(key)] ?? 0;
    } else {
      sum += cap * count;
      sumSquares += cap * cap * count;
    }
  }
  return { sum, sumSquares };
}

/** The metrics an experiment reports, each once, in role order: primary, secondary, guardrails. */
export function reportedMetrics(experiment: ExperimentRecord): { key: string; role: Role }[] {
  const seen = new Set<string>();
  const out: { key: string; role: Role }[] = [];
  const add = (key: string, role: Role) => {
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ key, role });
  };
  add(experiment.metrics.primary, 'primary');
  for (const key of experiment.metrics.secondary) add(key, 'secondary');
  for (const key of experiment.metrics.guardrails) add(key, 'guardrail');
  return out;
}

function health(ctx: Context, metrics: MetricResult[]): ExperimentResults['health'] {
  const { experiment, index } = ctx;
  const unitsByVariant = Object.fromEntries(experiment.variants.map((v) => [v.key, index.assigned(v.key)]));
  const warnings: string[] = [];
  // Zero-weight variants expect nobody; anyone there (forced QA assignments) is reported, not tested.
  const weighted = experiment.variants.filter((v) => v.weight > 0);
  for (const variant of experiment.variants) {
    if (variant.weight === 0 && unitsByVariant[variant.key] > 0) {
      warnings.push(`Variant "${variant.key}" has weight 0 but ${unitsByVariant[variant.key]} assigned customers (forced assignments?); they are left out of the sample ratio check.`);
    }
  }
  let srm = { chiSquare: 0, pValue: 1, mismatch: false, applied: false };
  if (weighted.length >= 2) {
    const test = attempt(() => srmTest({ observed: weighted.map((v) => unitsByVariant[v.key]), weights: weighted.map((v) => v.weight) }));
    if (test) {
      const total = weighted.reduce((sum, v) => sum + unitsByVariant[v.key], 0);
      const weightSum = weighted.reduce((sum, v) => sum + v.weight, 0);
      const enough = weighted.every((v) => (total * v.weight) / weightSum >= SRM_MIN_PER_VARIANT);
      srm = { chiSquare: test.chiSquare, pValue: test.pValue, mismatch: enough && test.mismatch, applied: enough };
      if (!enough) warnings.push(`The sample ratio check needs at least ${SRM_MIN_PER_VARIANT} expected customers per variant; it is not applied yet.`);
      else if (srm.mismatch) {
        const observed = weighted.map((v) => `${v.key} ${unitsByVariant[v.key]} (expected ${Math.round((total * v.weight) / weightSum)})`).join(', ');
        warnings.push(`Sample ratio mismatch: assigned customers ${observed} do not match the configured weights (chi-square ${test.chiSquare.toFixed(1)}, ${pPhrase('p', test.pValue)}).`);
      }
    }
  }
  const min = experiment.analysis.minSamplePerVariant;
  const short = experiment.variants.filter((v) => unitsByVariant[v.key] < min).map((v) => `${v.key} (${unitsByVariant[v.key]})`);
  if (short.length > 0) warnings.push(`Too few customers for a decision: ${short.join(', ')} below the minimum of ${min} per variant.`);

  for (const metric of metrics) {
    // Survey metrics (built in or on their own scale): their estimates are over responders.
    if (!metric.variants.some((v) => v.responders !== undefined)) continue;
    const rows = metric.variants.map((v) => ({ units: v.responders ?? 0, assigned: unitsByVariant[v.variant] ?? 0 }));
    if (rows.some((row) => row.assigned === 0)) continue;
    const table = attempt(() => responseRateTable(rows));
    const test = table ? attempt(() => chiSquareIndependence(table)) : null;
    if (test && test.pValue < RESPONSE_RATE_WARNING_P) {
      const rates = metric.variants.map((v, i) => `${v.variant} ${formatPercent(rows[i].units / rows[i].assigned)}`).join(', ');
      warnings.push(
        `${SURVEY_SCALES[metric.metric as SurveyMetric] ? metric.metric.toUpperCase() : (metric.label ?? metric.metric)} response rates differ between variants more than chance explains (${rates}; chi-square ${pPhrase('p', test.pValue)}): the scores compare different kinds of customers and may be biased.`,
      );
    }
  }
  return { srm, unitsByVariant, warnings };
}

export function formatP(p: number): string {
  return p < 0.0001 ? '< 0.0001' : String(Number(p.toPrecision(2)));
}
/** "p = 0.003" or "p < 0.0001". */
export function pPhrase(name: string, p: number): string {
  const text = formatP(p);
  return text.startsWith('<') ? `${name} ${text}` : `${name} = ${text}`;
}
export function formatPercent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

/**
 * The correction over primary and secondary metrics × treatments (of every list given: the slices of a
 * dimension are corrected together); guardrails stay uncorrected (any harm counts). Sets each
 * comparison's adjusted p-value, significance and whether it is better.
 */
export function applyCorrection(metrics: Pick<MetricResult, 'role' | 'direction' | 'comparisons'>[], correction: ExperimentRecord['analysis']['correction'], alpha: number): void {
  const family = metrics.filter((m) => m.role !== 'guardrail').flatMap((m) => m.comparisons.filter((c) => c.pValue !== null));
  const adjusted = adjustPValues(family.map((c) => c.pValue!), correction);
  family.forEach((comparison, i) => {
    comparison.adjustedPValue = adjusted[i]!;
  });
  for (const m of metrics) {
    for (const comparison of m.comparisons) {
      if (m.role === 'guardrail' || comparison.pValue === null) comparison.adjustedPValue = comparison.pValue;
      comparison.significant = comparison.adjustedPValue !== null && comparison.adjustedPValue < alpha;
      const lift = comparison.absoluteLift;
      comparison.better = comparison.significant && lift !== null && lift !== 0 ? lift > 0 === (m.direction === 'increase') : null;
    }
  }
}

/**
 * Computes every metric of an experiment from its aggregates. `sequential` is the state stored on the
 * experiment (running minima and τ²); the returned updates hold what changed, for the caller to store.
 */
export function analyse(experiment: ExperimentRecord, aggregates: AggregateRecord[], now: Date, cohorts: readonly CohortFigures[] = []): AnalysisOutput {
  const { analysis } = experiment;
  const ctx: Context = {
    experiment,
    // Windowed metrics: their totals over the mature cohorts replace the whole-experiment ones.
    index: new AggregateIndex([...aggregates, ...maturedAggregates(experiment, cohorts, now)]),
    control: experiment.controlVariant,
    treatments: experiment.variants.map((v) => v.key).filter((key) => key !== experiment.controlVariant),
    alpha: analysis.alpha,
    bayesian: analysis.method === 'bayesian',
  };
  const definitions = metricsOf(experiment.metrics);
  const analysed = reportedMetrics(experiment).flatMap(({ key, role }) => {
    const definition = definitions[key];
    if (!definition) return [];
    const { variants, drafts, test, cap } = analyseMetric(ctx, definition);
    const cuped = cupedAppliesTo(experiment, definition) ? applyCuped(ctx, definition, variants, drafts) : undefined;
    return [{ definition, role, variants, drafts, test: cuped ? `cuped-${test === 'two-proportion-z-test' ? 'welch-t-test' : test}` : test, cap, cuped }];
  });

  // Sequential: each look's always-valid p-value joins the stored running minimum; τ² stays fixed per metric.
  const state = experiment.sequential ?? {};
  const sequentialUpdates: Record<string, number> = {};
  if (analysis.method === 'sequential') {
    for (const { definition, drafts } of analysed) {
      let tau2: number | undefined = definition.kind === 'binomial' && definition.source === 'event' ? DEFAULT_TAU2 : state[tau2Key(definition.key)];
      for (const draft of drafts) {
        const { comparison, look } = draft;
        if (!look || !(look.variance > 0)) continue;
        if (tau2 === undefined && look.unitVariance > 0) {
          const tuned = attempt(() => tau2ForHorizon({ unitVariance: look.unitVariance, samplesPerVariant: SEQUENTIAL_HORIZON, alpha: analysis.alpha }));
          if (tuned !== null) {
            tau2 = tuned;
            sequentialUpdates[tau2Key(definition.key)] = tuned;
          }
        }
        if (tau2 === undefined) continue;
        const tau = tau2;
        const p = attempt(() => alwaysValidPValue({ difference: look.difference, variance: look.variance, tau2: tau }));
        if (p === null) continue;
        const key = sequentialKey(definition.key, comparison.variant);
        const previous = state[key];
        const minimum = previous === undefined ? p : Math.min(previous, p);
        if (previous === undefined || minimum < previous) sequentialUpdates[key] = minimum;
        comparison.fixedHorizonPValue = comparison.pValue;
        comparison.pValue = minimum;
      }
    }
  }

  const metrics: MetricResult[] = analysed.map((m) => ({
    metric: m.definition.key,
    role: m.role,
    kind: m.definition.kind,
    direction: m.definition.direction,
    test: m.test,
    label: m.definition.label,
    ...(m.definition.match === 'none' ? { match: 'none' as const } : {}),
    ...(m.definition.window ? { window: m.definition.window } : {}),
    ...(m.definition.quantile !== undefined ? { quantile: m.definition.quantile } : {}),
    ...(m.definition.capping ? { capping: { ...m.definition.capping, ...(m.cap !== undefined ? { cap: m.cap } : {}) } } : {}),
    ...(m.cuped ? { cuped: m.cuped } : {}),
    variants: m.variants,
    comparisons: m.drafts.map((d) => d.comparison),
  }));
  applyCorrection(metrics, analysis.correction, analysis.alpha);

  return {
    results: {
      experiment: experiment._id,
      name: experiment.name,
      status: experiment.status,
      generatedAt: now.toISOString(),
      method: analysis.method,
      alpha: analysis.alpha,
      correction: analysis.correction,
      controlVariant: experiment.controlVariant,
      health: health(ctx, metrics),
      metrics,
    },
    sequentialUpdates,
  };
}
