// The one counting rule (pure, no I/O): how raw assignments, events and answers change the per-customer
// units and the per-cohort aggregates. The aggregator applies it to each batch as it arrives; a rebuild
// applies it to all of an experiment's raw records from an empty state. Rules (docs/decisions.md):
//  - an assignment adds one customer to `$assigned` of its variant and cohort (its UTC day);
//  - an event counts only for experiments the customer was assigned to at or before the event's time,
//    and only for the metrics that event feeds; a binomial metric counts the customer once, a mean
//    metric sums the customer's values (sum and sum of squares are of per-customer totals);
//  - an answer counts like an event; a later answer (by its timestamp) replaces an earlier one;
//  - the analysis ends when the experiment stops: events and answers timestamped after its stop do not count.
// Every change is recorded against the cohort of the customer's assignment.

import { evalCondition } from '@growthbook/growthbook';
import { sketchBucketOf } from '../../stats/quantile';
import { windowBounds } from '../../stats/windows';

export const ASSIGNED = '$assigned';

/** What an event contributes to a metric: 1, its `value`, or a numeric property ("properties.<name>"). */
export type MetricValue = 'count' | 'value' | `properties.${string}`;

/**
 * How one event name feeds one metric (docs/metrics.md). Binomial (proportion): the customer counts once;
 * mean: the per-customer total of the values; ratio: per-customer totals of a numerator and a
 * denominator (`side`), their sums, squares and cross products; quantile: every value is an observation
 * in a sketch (no per-customer state).
 */
export interface MetricRule {
  key: string;
  kind: 'binomial' | 'mean' | 'nps' | 'ordinal' | 'ratio' | 'quantile';
  /** Conditions on the event's properties (targeting operators, keys "properties.<name>"). */
  filter?: Record<string, unknown>;
  /** Relative to the customer's assignment: [assignedAt + delay, + duration), open-ended without one. */
  window?: { delayMs: number; durationMs: number | null };
  /** Default: 1 for binomial, the event's value for mean. */
  value?: MetricValue;
  /** Ratio: which side this event feeds. */
  side?: 'numerator' | 'denominator';
  /** Mean: per-customer totals above this count as this (an absolute cap). */
  cap?: number;
  /** Mean with a percentile cap: the pooled per-customer totals are sketched too (the cap is set at read time). */
  sketchTotals?: boolean;
}

// Extra statistics kept in an aggregate's `histogram` (a map the aggregates add up key by key, like the
// survey scores): a ratio's Σy, Σy² and Σxy, a quantile metric's sketch buckets, and a percentile-capped
// mean's sketch of per-customer totals with each bucket's sum and sum of squares.
export const RATIO_SUM_Y = 'y';
export const RATIO_SUM_YY = 'yy';
export const RATIO_SUM_XY = 'xy';
/** The histogram key of a sketch bucket ("p12", "n3", "z"), from src/stats' bucket path ("pos.12", ...). */
export function sketchKey(bucket: string): string {
  if (bucket === 'zero') return 'z';
  const [store, index] = bucket.split('.');
  return `${store === 'pos' ? 'p' : 'n'}${index}`;
}
/** A capped mean's per-bucket sum and sum of squares of per-customer totals: "s:<bucket>", "q:<bucket>". */
export const bucketSumKey = (key: string) => `s:${key}`;
export const bucketSquaresKey = (key: string) => `q:${key}`;

export interface ExperimentRules {
  key: string;
  /** Event name → the metrics it feeds. */
  metricsByEvent: Map<string, MetricRule[]>;
  /** The end of the analysis (the stop time of a stopped experiment): later events and answers do not count. */
  endsAt?: Date;
  /** Segments: every change is also counted in the slice of each of these dimensions (the customer's value). */
  dimensions?: string[];
  /**
   * CUPED: each proportion and mean metric's covariate is the customer's same metric over `lookbackMs`
   * before the assignment. `since`: the earliest event time a pre-period can hold (the start − lookback).
   */
  cuped?: { lookbackMs: number; since: number };
}

// --- Segments ---------------------------------------------------------------------------------------------

/** A dimension keeps its first MAX_SLICE_VALUES distinct values; later ones count as OTHER, no value as NONE. */
export const MAX_SLICE_VALUES = 20;
export const SLICE_NONE = '(none)';
export const SLICE_OTHER = '(other)';
export function sliceKey(dimension: string, value: string): string {
  return `${dimension}=${value}`;
}

/**
 * The values kept per experiment and dimension, in the order first counted. Once a value is kept it
 * stays, and once MAX_SLICE_VALUES are kept every new one is OTHER for good: a customer's slice never
 * changes between the records counted for it. `changed` names the experiments whose lists grew.
 */
export class SliceValues {
  readonly changed = new Set<string>();
  private readonly kept = new Map<string, Map<string, string[]>>();

  has(experiment: string): boolean {
    return this.kept.has(experiment);
  }

  load(experiment: string, values: Record<string, string[]>): void {
    this.kept.set(experiment, new Map(Object.entries(values).map(([dimension, list]) => [dimension, [...list]])));
  }

  snapshot(experiment: string): Record<string, string[]> {
    return Object.fromEntries([...(this.kept.get(experiment) ?? new Map<string, string[]>())].map(([dimension, list]) => [dimension, [...list]]));
  }

  valueOf(experiment: string, dimension: string, raw: string | undefined): string {
    if (raw === undefined) return SLICE_NONE;
    let dimensions = this.kept.get(experiment);
    if (!dimensions) this.kept.set(experiment, (dimensions = new Map<string, string[]>()));
    let list = dimensions.get(dimension);
    if (!list) dimensions.set(dimension, (list = []));
    if (list.includes(raw)) return raw;
    if (list.length >= MAX_SLICE_VALUES) return SLICE_OTHER;
    list.push(raw);
    this.changed.add(experiment);
    return raw;
  }
}

// --- CUPED ------------------------------------------------------------------------------------------------

/** A proportion or mean metric's covariate sums in its aggregate's histogram: ΣX, ΣX², ΣXY. */
export const CUPED_SUM_X = 'cx';
export const CUPED_SUM_XX = 'cxx';
export const CUPED_SUM_XY = 'cxy';
/** A pending covariate keeps at most this many events (the oldest go first). */
export const MAX_PRE_PERIOD_EVENTS = 10_000;

/** Whether CUPED applies to a metric: proportion and mean metrics (not a percentile-capped mean). */
export function cupedApplies(metric: MetricRule): boolean {
  return (metric.kind === 'binomial' || metric.kind === 'mean') && !metric.sketchTotals;
}

/** The unit holding a customer's covariate for a metric (its pre-period events until the assignment is counted). */
export function covariateUnitId(experiment: string, metric: string, customerId: string): string {
  return unitId(experiment, `${metric}${COVARIATE_SUFFIX}`, customerId);
}
export const COVARIATE_SUFFIX = '~pre';

export interface AssignmentFact {
  _id: string;
  experiment: string;
  customerId: string;
  variant: string;
  assignedAt: Date;
  /** The values of the experiment's dimensions given at assignment. */
  dims?: Record<string, string>;
}

export interface EventFact {
  _id: string;
  customerId: string;
  name: string;
  experiment?: string;
  value?: number;
  properties?: Record<string, unknown>;
  timestamp: Date;
}

export interface ResponseFact {
  _id: string;
  customerId: string;
  metric: string;
  score: number;
  experiment?: string;
  timestamp: Date;
}

export type CountedRecord = { kind: 'assignments'; record: AssignmentFact } | { kind: 'events'; record: EventFact } | { kind: 'responses'; record: ResponseFact };

/** One customer's contribution to one metric of one experiment. */
export interface UnitState {
  _id: string; // `${experiment}|${metric}|${customerId}`
  experiment: string;
  variant: string;
  metric: string;
  customerId: string;
  /** UTC day of the customer's assignment: the cohort every change of this unit is counted in. */
  cohort: string;
  /** Mean metrics: the customer's summed value (uncapped). Surveys: the current score. Binomial: 1. Ratio: the numerator's total. */
  value: number;
  /** Ratio metrics: the denominator's total. */
  value2?: number;
  /** Surveys: the current answer (a later one by `at` replaces it). */
  responseId?: string;
  /**
   * A covariate unit (CUPED) before its customer's assignment is counted: the pre-period events as
   * [time (ms), value]; `variant` and `cohort` are empty then. Once counted, `value` is the raw covariate.
   */
  pre?: [number, number][];
  at: Date;
}

export interface CohortDelta {
  units: number;
  sum: number;
  sumSquares: number;
  histogram: Record<string, number>;
}

/** Changes to one aggregate (experiment × variant × metric, or one slice of it), per cohort. */
export interface AggregateChange {
  _id: string; // `${experiment}|${variant}|${metric}`, a slice's with `|@${dimension}=${value}`
  experiment: string;
  variant: string;
  metric: string;
  /** A segment's slice: `${dimension}=${value}`. */
  slice?: string;
  cohorts: Record<string, CohortDelta>;
}

export interface CountingLookups {
  experiments: ExperimentRules[];
  assignment(experiment: string, customerId: string): AssignmentFact | undefined;
  /** The unit as stored (null: none). Only asked for units the caller prefetched. */
  unit(id: string): UnitState | null;
  /** The slice values kept so far (experiments with dimensions); values first counted here are added. */
  slices?: SliceValues;
}

export interface CountingChanges {
  /** Units created or changed, in their new state; `created` says which did not exist. */
  units: Map<string, UnitState>;
  created: Set<string>;
  aggregates: Map<string, AggregateChange>;
}

export function aggregateId(experiment: string, variant: string, metric: string, slice?: string): string {
  return slice === undefined ? `${experiment}|${variant}|${metric}` : `${experiment}|${variant}|${metric}|@${slice}`;
}
export function unitId(experiment: string, metric: string, customerId: string): string {
  return `${experiment}|${metric}|${customerId}`;
}
export function cohortOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function emptyChanges(): CountingChanges {
  return { units: new Map(), created: new Set(), aggregates: new Map() };
}

function add(changes: CountingChanges, experiment: string, variant: string, metric: string, cohort: string, delta: Partial<CohortDelta>, slice?: string): void {
  const id = aggregateId(experiment, variant, metric, slice);
  let change = changes.aggregates.get(id);
  if (!change) {
    change = { _id: id, experiment, variant, metric, ...(slice !== undefined ? { slice } : {}), cohorts: {} };
    changes.aggregates.set(id, change);
  }
  const c = (change.cohorts[cohort] ??= { units: 0, sum: 0, sumSquares: 0, histogram: {} });
  c.units += delta.units ?? 0;
  c.sum += delta.sum ?? 0;
  c.sumSquares += delta.sumSquares ?? 0;
  for (const [score, count] of Object.entries(delta.histogram ?? {})) {
    const next = (c.histogram[score] ?? 0) + count;
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a histogram is a record keyed by score: an empty bucket is dropped
    if (next === 0) delete c.histogram[score];
    else c.histogram[score] = next;
  }
}

/** Whether an event feeds a metric for a customer assigned at `assignedAt`: its filter and its window. */
function feeds(metric: MetricRule, event: EventFact, assignedAt: Date): boolean {
  if (metric.filter && !evalCondition({ properties: event.properties ?? {} }, metric.filter as Parameters<typeof evalCondition>[1])) return false;
  if (!metric.window) return true;
  const { start, end } = windowBounds(assignedAt, metric.window);
  const at = event.timestamp.getTime();
  return at >= start && (end === null || at < end);
}

/** What an event contributes: a number, or null when the value it names is missing or not a finite number. */
function contribution(metric: MetricRule, event: EventFact): number | null {
  const what = metric.value ?? (metric.kind === 'binomial' ? 'count' : 'value');
  if (what === 'count') return 1;
  if (what === 'value') {
    if (event.value === undefined) return metric.kind === 'mean' ? 0 : null;
    return Number.isFinite(event.value) ? event.value : null;
  }
  let node: unknown = event.properties;
  for (const part of what.slice('properties.'.length).split('.')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return typeof node === 'number' && Number.isFinite(node) ? node : null;
}

/** The metrics of an experiment that CUPED adjusts (one rule per metric key). */
function cupedMetrics(experiment: ExperimentRules): MetricRule[] {
  if (!experiment.cuped) return [];
  const byKey = new Map<string, MetricRule>();
  for (const rules of experiment.metricsByEvent.values()) for (const rule of rules) if (cupedApplies(rule) && !byKey.has(rule.key)) byKey.set(rule.key, rule);
  return [...byKey.values()];
}

/** Which unit ids counting these records may read (so the caller can prefetch them). */
export function unitsTouched(lookups: Pick<CountingLookups, 'experiments' | 'assignment'>, records: CountedRecord[]): Set<string> {
  const ids = new Set<string>();
  for (const item of records) {
    if (item.kind === 'assignments') {
      const a = item.record;
      const experiment = lookups.experiments.find((e) => e.key === a.experiment);
      // CUPED: the customer's covariate (pending pre-period events) and current value, per metric.
      if (experiment) {
        for (const metric of cupedMetrics(experiment)) {
          ids.add(covariateUnitId(a.experiment, metric.key, a.customerId));
          ids.add(unitId(a.experiment, metric.key, a.customerId));
        }
      }
      continue;
    }
    for (const experiment of lookups.experiments) {
      const r = item.record;
      if (r.experiment !== undefined && r.experiment !== experiment.key) continue;
      const assigned = lookups.assignment(experiment.key, r.customerId) !== undefined;
      if (item.kind === 'events') {
        for (const metric of experiment.metricsByEvent.get(item.record.name) ?? []) {
          const cuped = experiment.cuped !== undefined && cupedApplies(metric);
          if (assigned || cuped) ids.add(unitId(experiment.key, metric.key, r.customerId));
          if (cuped) ids.add(covariateUnitId(experiment.key, metric.key, r.customerId));
        }
      } else if (assigned) {
        ids.add(unitId(experiment.key, item.record.metric, r.customerId));
      }
    }
  }
  return ids;
}

/** A covariate as it enters the sums: 0/1 for a proportion, the (absolutely capped) total for a mean. */
function covariateValue(metric: MetricRule, raw: number): number {
  if (metric.kind === 'binomial') return raw > 0 ? 1 : 0;
  return metric.cap === undefined ? raw : Math.min(raw, metric.cap);
}

/** A customer's metric value as it enters the sums (Y): 0/1 for a proportion, the (capped) total for a mean. */
function outcomeValue(metric: MetricRule, unit: UnitState | null): number {
  if (!unit) return 0;
  if (metric.kind === 'binomial') return unit.value > 0 ? 1 : 0;
  return metric.cap === undefined ? unit.value : Math.min(unit.value, metric.cap);
}

/**
 * Counts records into `changes` (which may already hold changes of earlier records of the same plan:
 * the current state of a unit is the one in `changes`, else the stored one).
 */
export function countRecords(lookups: CountingLookups, records: CountedRecord[], changes: CountingChanges = emptyChanges()): CountingChanges {
  const current = (id: string): UnitState | null => changes.units.get(id) ?? lookups.unit(id);
  const put = (unit: UnitState, existed: boolean) => {
    if (!existed && !changes.units.has(unit._id)) changes.created.add(unit._id);
    changes.units.set(unit._id, unit);
  };
  const slices = lookups.slices ?? new SliceValues();
  // A change of the customer's aggregate: the whole experiment's, and each of the customer's slices.
  const record = (experiment: ExperimentRules | undefined, assignment: AssignmentFact, metric: string, delta: Partial<CohortDelta>) => {
    const cohort = cohortOf(assignment.assignedAt);
    add(changes, assignment.experiment, assignment.variant, metric, cohort, delta);
    for (const dimension of experiment?.dimensions ?? []) {
      add(changes, assignment.experiment, assignment.variant, metric, cohort, delta, sliceKey(dimension, slices.valueOf(assignment.experiment, dimension, assignment.dims?.[dimension])));
    }
  };
  // CUPED: the covariate X of a customer whose assignment is counted (0 until then), and Y's change.
  const covariateOf = (experiment: ExperimentRules, metric: MetricRule, customerId: string): number => {
    const unit = current(covariateUnitId(experiment.key, metric.key, customerId));
    return unit && unit.variant !== '' ? covariateValue(metric, unit.value) : 0;
  };
  const outcomeMoved = (experiment: ExperimentRules, assignment: AssignmentFact, metric: MetricRule, dy: number, delta: Partial<CohortDelta>) => {
    if (!experiment.cuped || !cupedApplies(metric) || dy === 0) return delta;
    const x = covariateOf(experiment, metric, assignment.customerId);
    return x === 0 ? delta : { ...delta, histogram: { ...delta.histogram, [CUPED_SUM_XY]: x * dy } };
  };
  for (const item of records) {
    if (item.kind === 'assignments') {
      const a = item.record;
      const experiment = lookups.experiments.find((e) => e.key === a.experiment);
      record(experiment, a, ASSIGNED, { units: 1 });
      if (!experiment) continue;
      // CUPED: the pre-period events that arrived before the assignment existed make the covariate, from
      // now on kept as a number. Without such events there is nothing to write: a pre-period event that
      // arrives once the assignment exists counts into the covariate at once (countPrePeriod).
      for (const metric of cupedMetrics(experiment)) {
        const id = covariateUnitId(a.experiment, metric.key, a.customerId);
        const pending = current(id);
        if (!pending || pending.variant !== '') continue;
        const from = a.assignedAt.getTime() - experiment.cuped!.lookbackMs;
        const to = a.assignedAt.getTime();
        let raw = 0;
        for (const [at, value] of pending?.pre ?? []) if (at >= from && at < to) raw += value;
        const { pre: _pre, ...rest } = pending;
        put({ ...rest, variant: a.variant, cohort: cohortOf(a.assignedAt), value: raw }, true);
        const x = covariateValue(metric, raw);
        if (x === 0) continue;
        const y = outcomeValue(metric, current(unitId(a.experiment, metric.key, a.customerId)));
        record(experiment, a, metric.key, { histogram: { [CUPED_SUM_X]: x, [CUPED_SUM_XX]: x * x, [CUPED_SUM_XY]: x * y } });
      }
      continue;
    }
    for (const experiment of lookups.experiments) {
      const r = item.record;
      if (r.experiment !== undefined && r.experiment !== experiment.key) continue;
      if (experiment.endsAt && r.timestamp.getTime() > experiment.endsAt.getTime()) continue;
      const assignment = lookups.assignment(experiment.key, r.customerId);
      if (!assignment || assignment.assignedAt.getTime() > r.timestamp.getTime()) {
        // Before the customer's assignment (or without one yet): only a CUPED covariate can use it.
        if (item.kind === 'events' && experiment.cuped) countPrePeriod(experiment, item.record, assignment);
        continue;
      }
      if (item.kind === 'events') {
        const event = item.record;
        for (const metric of experiment.metricsByEvent.get(event.name) ?? []) {
          if (!feeds(metric, event, assignment.assignedAt)) continue;
          const value = contribution(metric, event);
          if (value === null) continue;
          if (metric.kind === 'quantile') {
            // Every value is an observation of its own: no per-customer state.
            record(experiment, assignment, metric.key, { units: 1, sum: value, sumSquares: value * value, histogram: { [sketchKey(sketchBucketOf(value))]: 1 } });
            continue;
          }
          const id = unitId(experiment.key, metric.key, event.customerId);
          const unit = current(id);
          const fresh: UnitState = { _id: id, experiment: experiment.key, variant: assignment.variant, metric: metric.key, customerId: event.customerId, cohort: cohortOf(assignment.assignedAt), value: 0, at: event.timestamp };
          const before = unit ?? fresh;
          const earlier = before.at.getTime() > event.timestamp.getTime() ? event.timestamp : before.at;
          if (metric.kind === 'ratio') {
            const x0 = before.value;
            const y0 = before.value2 ?? 0;
            const x1 = metric.side === 'numerator' ? x0 + value : x0;
            const y1 = metric.side === 'denominator' ? y0 + value : y0;
            if (unit && x1 === x0 && y1 === y0) {
              if (earlier !== unit.at) put({ ...unit, at: earlier }, true);
              continue;
            }
            put({ ...before, value: x1, value2: y1, at: earlier }, unit !== null);
            record(experiment, assignment, metric.key, {
              units: unit ? 0 : 1,
              sum: x1 - x0,
              sumSquares: x1 * x1 - x0 * x0,
              histogram: { [RATIO_SUM_Y]: y1 - y0, [RATIO_SUM_YY]: y1 * y1 - y0 * y0, [RATIO_SUM_XY]: x1 * y1 - x0 * y0 },
            });
            continue;
          }
          if (metric.kind === 'mean') {
            if (unit && value === 0) {
              if (earlier !== unit.at) put({ ...unit, at: earlier }, true);
              continue;
            }
            const t0 = before.value;
            const t1 = t0 + value;
            put({ ...before, value: t1, at: earlier }, unit !== null);
            const c0 = metric.cap === undefined ? t0 : Math.min(t0, metric.cap);
            const c1 = metric.cap === undefined ? t1 : Math.min(t1, metric.cap);
            const histogram: Record<string, number> = {};
            if (metric.sketchTotals) {
              // The pooled per-customer totals, for a percentile cap read off at analysis time.
              const move = (total: number, sign: 1 | -1) => {
                const key = sketchKey(sketchBucketOf(total));
                histogram[key] = (histogram[key] ?? 0) + sign;
                histogram[bucketSumKey(key)] = (histogram[bucketSumKey(key)] ?? 0) + sign * total;
                histogram[bucketSquaresKey(key)] = (histogram[bucketSquaresKey(key)] ?? 0) + sign * total * total;
              };
              if (unit) move(t0, -1);
              move(t1, 1);
            }
            record(experiment, assignment, metric.key, outcomeMoved(experiment, assignment, metric, c1 - c0, { units: unit ? 0 : 1, sum: c1 - c0, sumSquares: c1 * c1 - c0 * c0, histogram }));
            continue;
          }
          // Binomial: the customer counts once.
          if (!unit) {
            put({ ...fresh, value: 1 }, false);
            record(experiment, assignment, metric.key, outcomeMoved(experiment, assignment, metric, 1, { units: 1, sum: 1, sumSquares: 1 }));
          } else if (earlier !== unit.at) put({ ...unit, at: earlier }, true);
        }
      } else {
        const answer = item.record;
        const id = unitId(experiment.key, answer.metric, answer.customerId);
        const score = answer.score;
        const unit = current(id);
        if (!unit) {
          put({ _id: id, experiment: experiment.key, variant: assignment.variant, metric: answer.metric, customerId: answer.customerId, cohort: cohortOf(assignment.assignedAt), value: score, responseId: answer._id, at: answer.timestamp }, false);
          record(experiment, assignment, answer.metric, { units: 1, sum: score, sumSquares: score * score, histogram: { [score]: 1 } });
          continue;
        }
        // A later answer replaces the current one; an older one arriving late, or the same one again, does not.
        if (unit.responseId === answer._id || unit.at.getTime() > answer.timestamp.getTime()) continue;
        const old = unit.value;
        put({ ...unit, value: score, responseId: answer._id, at: answer.timestamp }, true);
        record(experiment, assignment, answer.metric, {
          sum: score - old,
          sumSquares: score * score - old * old,
          histogram: old === score ? {} : { [old]: -1, [score]: 1 },
        });
      }
    }
  }
  return changes;

  /**
   * An event before the customer's assignment (or before any): for each CUPED metric it feeds, kept as a
   * pending pre-period event until the assignment is counted, or added to the covariate of an assignment
   * counted already (an event that arrives late) when it falls in the lookback.
   */
  function countPrePeriod(experiment: ExperimentRules, event: EventFact, assignment: AssignmentFact | undefined): void {
    const at = event.timestamp.getTime();
    const lookback = experiment.cuped!;
    if (at < (assignment ? assignment.assignedAt.getTime() - lookback.lookbackMs : lookback.since)) return;
    for (const metric of experiment.metricsByEvent.get(event.name) ?? []) {
      if (!cupedApplies(metric)) continue;
      if (metric.filter && !evalCondition({ properties: event.properties ?? {} }, metric.filter as Parameters<typeof evalCondition>[1])) continue;
      const value = contribution(metric, event);
      if (value === null || value === 0) continue;
      const id = covariateUnitId(experiment.key, metric.key, event.customerId);
      const unit = current(id);
      // The customer's assignment exists: the event counts into the covariate now, whether or not the
      // assignment itself is counted yet (counting it later finds the covariate counted and leaves it).
      // Only events of customers without an assignment yet wait as pending pre-period events.
      if (assignment && (!unit || unit.variant !== '')) {
        const before = unit ?? { _id: id, experiment: experiment.key, variant: assignment.variant, metric: `${metric.key}${COVARIATE_SUFFIX}`, customerId: event.customerId, cohort: cohortOf(assignment.assignedAt), value: 0, at: event.timestamp };
        const x0 = covariateValue(metric, before.value);
        const x1 = covariateValue(metric, before.value + value);
        put({ ...before, value: before.value + value }, unit !== null);
        if (x1 === x0) continue;
        const y = outcomeValue(metric, current(unitId(experiment.key, metric.key, event.customerId)));
        record(experiment, assignment, metric.key, { histogram: { [CUPED_SUM_X]: x1 - x0, [CUPED_SUM_XX]: x1 * x1 - x0 * x0, [CUPED_SUM_XY]: (x1 - x0) * y } });
        continue;
      }
      const pre = [...(unit?.pre ?? []), [at, value] as [number, number]];
      if (pre.length > MAX_PRE_PERIOD_EVENTS) pre.splice(0, pre.length - MAX_PRE_PERIOD_EVENTS);
      const base: UnitState = unit ?? { _id: id, experiment: experiment.key, variant: '', metric: `${metric.key}${COVARIATE_SUFFIX}`, customerId: event.customerId, cohort: '', value: 0, at: event.timestamp };
      put({ ...base, pre, at: base.at.getTime() > at ? event.timestamp : base.at }, unit !== null);
    }
  }
}
