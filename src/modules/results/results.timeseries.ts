// Results as a series over assignment cohorts: the point of day D is the analysis of the customers
// assigned up to the end of D, with everything counted for them so far. Pure: no I/O. Every number comes
// from `analyse`, so each metric kind and method reads exactly as in GET results.
import { BadRequestError } from '../../lib/errors';
import { ASSIGNED, type AggregateRecord } from '../aggregates';
import { metricsOf, type Direction, type ExperimentRecord, type MetricKind } from '../experiments';
import { analyse, reportedMetrics, tau2Key, type Role } from './results.analysis';
import type { Comparison, ExperimentResults, Interval, VariantEstimate } from './results.types';

/** At most this many daily points (the latest days); earlier cohorts still count in the first point shown. */
export const MAX_TIMESERIES_POINTS = 400;

const DAY_MS = 86_400_000;
const COHORT_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/**
 * What the series needs of one cohort aggregate: the aggregates module's `CohortAggregate`
 * (experiment × variant × metric × UTC assignment day) fits it as it is.
 */
export interface CohortInput {
  variant: string;
  metric: string;
  /** 'YYYY-MM-DD': the UTC day the customers were assigned. */
  cohort: string;
  units: number;
  sum: number;
  sumSquares: number;
  histogram: Record<string, number>;
}

export interface TimeseriesVariant {
  variant: string;
  /** As in results: assigned customers, or responders for survey metrics. */
  units: number;
  value: number | null;
  ci: Interval | null;
}

export type TimeseriesComparison = Pick<Comparison, 'variant' | 'absoluteLift' | 'relativeLift' | 'ci' | 'relativeCi' | 'pValue' | 'fixedHorizonPValue'>;

export interface TimeseriesPoint {
  /** 'YYYY-MM-DD': the point is over customers assigned up to the end of this UTC day. */
  date: string;
  variants: TimeseriesVariant[];
  comparisons: TimeseriesComparison[];
}

export interface Timeseries {
  experiment: string;
  metric: string;
  role: Role;
  kind: MetricKind;
  direction: Direction;
  test: string;
  method: ExperimentResults['method'];
  alpha: number;
  controlVariant: string;
  /** Days before the first point that are folded into it, when the series is longer than MAX_TIMESERIES_POINTS. */
  omittedDays: number;
  points: TimeseriesPoint[];
}

function dayOf(date: Date): number {
  return Math.floor(date.getTime() / DAY_MS);
}
function parseDay(cohort: string): number | null {
  if (!COHORT_PATTERN.test(cohort)) return null;
  const time = Date.parse(`${cohort}T00:00:00Z`);
  return Number.isNaN(time) ? null : time / DAY_MS;
}
function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The experiment's reported metric `key`, or a 400 naming `metric` that lists the ones it has. */
export function timeseriesMetric(experiment: ExperimentRecord, key: string): { role: Role } {
  const reported = reportedMetrics(experiment);
  const found = reported.find((m) => m.key === key);
  if (!found || !metricsOf(experiment.metrics)[key]) {
    throw new BadRequestError(`metric: "${key}" is not a metric of experiment "${experiment._id}" (it has ${reported.map((m) => m.key).join(', ')})`, [
      { path: 'metric', message: 'is not a metric of this experiment' },
    ]);
  }
  return found;
}

function pickVariant(v: VariantEstimate): TimeseriesVariant {
  return { variant: v.variant, units: v.units, value: v.value, ci: v.ci };
}

function pickComparison(c: Comparison): TimeseriesComparison {
  const out: TimeseriesComparison = { variant: c.variant, absoluteLift: c.absoluteLift, relativeLift: c.relativeLift, ci: c.ci, relativeCi: c.relativeCi, pValue: c.pValue };
  if (c.fixedHorizonPValue !== undefined) out.fixedHorizonPValue = c.fixedHorizonPValue;
  return out;
}

/**
 * One point per UTC day from the first cohort to the last one (to today while the experiment runs),
 * each the analysis of the cohorts up to that day summed. Only the asked metric is analysed, as the
 * experiment's only metric: lifts, intervals and p-values are those of GET results (the multiple-testing
 * correction, which depends on the other metrics, is not part of a point). Under the sequential method
 * each point's p-value is the always-valid p-value of that point alone (with the experiment's stored τ²,
 * or the one tuned at the series' first look with variation): no running minimum, so an effect that fades
 * shows as a rising p-value. Under the bayesian method the points carry no chance to beat control (about a
 * millisecond each, the whole cost of a series otherwise); lifts, intervals and p-values are the same.
 */
export function computeTimeseries(experiment: ExperimentRecord, cohorts: CohortInput[], metricKey: string, now: Date): Timeseries {
  const { role } = timeseriesMetric(experiment, metricKey);
  const single: ExperimentRecord = {
    ...experiment,
    metrics: { primary: metricKey, secondary: [], guardrails: [], custom: experiment.metrics.custom, ...(experiment.metrics.library ? { library: experiment.metrics.library } : {}) },
    analysis: experiment.analysis.method === 'bayesian' ? { ...experiment.analysis, method: 'frequentist' } : experiment.analysis,
  };
  const tau2 = tau2Key(metricKey);
  let sequential: Record<string, number> = experiment.sequential?.[tau2] !== undefined ? { [tau2]: experiment.sequential[tau2] } : {};

  // Cohorts by day, only the two metrics a point needs.
  const byDay = new Map<number, CohortInput[]>();
  for (const cohort of cohorts) {
    if (cohort.metric !== metricKey && cohort.metric !== ASSIGNED) continue;
    const day = parseDay(cohort.cohort);
    if (day === null) continue;
    const list = byDay.get(day);
    if (list) list.push(cohort);
    else byDay.set(day, [cohort]);
  }
  const days = [...byDay.keys()].sort((a, b) => a - b);

  const definition = metricsOf(experiment.metrics)[metricKey];
  const header = { experiment: experiment._id, metric: metricKey, role, kind: definition.kind, direction: definition.direction };
  const empty = analyse(single, [], now).results.metrics[0];
  const base = { ...header, test: empty.test, method: experiment.analysis.method, alpha: experiment.analysis.alpha, controlVariant: experiment.controlVariant };
  if (days.length === 0) return { ...base, omittedDays: 0, points: [] };

  const first = days[0];
  const last = Math.max(days[days.length - 1], experiment.status === 'running' ? dayOf(now) : -Infinity);
  const shownFrom = Math.max(first, last - MAX_TIMESERIES_POINTS + 1);

  const totals = new Map<string, AggregateRecord>();
  const add = (cohort: CohortInput) => {
    const id = `${cohort.variant}|${cohort.metric}`;
    let total = totals.get(id);
    if (!total) {
      total = { _id: `${experiment._id}|${id}`, experiment: experiment._id, variant: cohort.variant, metric: cohort.metric, units: 0, sum: 0, sumSquares: 0, histogram: {} };
      totals.set(id, total);
    }
    total.units += cohort.units;
    total.sum += cohort.sum;
    total.sumSquares += cohort.sumSquares;
    for (const [score, count] of Object.entries(cohort.histogram ?? {})) total.histogram[score] = (total.histogram[score] ?? 0) + count;
  };

  const points: TimeseriesPoint[] = [];
  let previous: Omit<TimeseriesPoint, 'date'> | undefined;
  // A windowed metric's point counts the customers of its cohorts whose window has ended by now.
  const seen: CohortInput[] = [];
  for (let day = first; day <= last; day++) {
    const arrived = byDay.get(day);
    for (const cohort of arrived ?? []) {
      add(cohort);
      seen.push(cohort);
    }
    if (day < shownFrom) continue;
    // A day without new customers has the same customers, so the same numbers, as the day before.
    if (!arrived && previous) {
      points.push({ date: formatDay(day), ...structuredClone(previous) });
      continue;
    }
    // Copies: the running totals keep changing after this point is analysed.
    const snapshot = [...totals.values()].map((t) => ({ ...t, histogram: { ...t.histogram } }));
    const { results, sequentialUpdates } = analyse({ ...single, sequential }, snapshot, now, seen);
    if (sequentialUpdates[tau2] !== undefined) sequential = { [tau2]: sequentialUpdates[tau2] };
    const metric = results.metrics[0];
    previous = { variants: metric.variants.map(pickVariant), comparisons: metric.comparisons.map(pickComparison) };
    points.push({ date: formatDay(day), ...previous });
  }
  return { ...base, omittedDays: shownFrom - first, points };
}
