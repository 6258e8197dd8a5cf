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
}

export interface AssignmentFact {
  _id: string;
  experiment: string;
  customerId: string;
  variant: string;
  assignedAt: Date;
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
  at: Date;
}

export interface CohortDelta {
  units: number;
  sum: number;
  sumSquares: number;
  histogram: Record<string, number>;
}

/** Changes to one aggregate (experiment × variant × metric), per cohort. */
export interface AggregateChange {
  _id: string; // `${experiment}|${variant}|${metric}`
  experiment: string;
  variant: string;
  metric: string;
  cohorts: Record<string, CohortDelta>;
}

export interface CountingLookups {
  experiments: ExperimentRules[];
  assignment(experiment: string, customerId: string): AssignmentFact | undefined;
  /** The unit as stored (null: none). Only asked for units the caller prefetched. */
  unit(id: string): UnitState | null;
}

export interface CountingChanges {
  /** Units created or changed, in their new state; `created` says which did not exist. */
  units: Map<string, UnitState>;
  created: Set<string>;
  aggregates: Map<string, AggregateChange>;
}

export function aggregateId(experiment: string, variant: string, metric: string): string {
  return `${experiment}|${variant}|${metric}`;
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

function add(changes: CountingChanges, experiment: string, variant: string, metric: string, cohort: string, delta: Partial<CohortDelta>): void {
  const id = aggregateId(experiment, variant, metric);
  let change = changes.aggregates.get(id);
  if (!change) {
    change = { _id: id, experiment, variant, metric, cohorts: {} };
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

/** Which unit ids counting these records may read (so the caller can prefetch them). */
export function unitsTouched(lookups: Pick<CountingLookups, 'experiments' | 'assignment'>, records: CountedRecord[]): Set<string> {
  const ids = new Set<string>();
  for (const item of records) {
    if (item.kind === 'assignments') continue;
    for (const experiment of lookups.experiments) {
      const r = item.record;
      if (r.experiment !== undefined && r.experiment !== experiment.key) continue;
      if (!lookups.assignment(experiment.key, r.customerId)) continue;
      if (item.kind === 'events') {
        for (const metric of experiment.metricsByEvent.get(item.record.name) ?? []) ids.add(unitId(experiment.key, metric.key, r.customerId));
      } else {
        ids.add(unitId(experiment.key, item.record.metric, r.customerId));
      }
    }
  }
  return ids;
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
  for (const item of records) {
    if (item.kind === 'assignments') {
      const a = item.record;
      add(changes, a.experiment, a.variant, ASSIGNED, cohortOf(a.assignedAt), { units: 1 });
      continue;
    }
    for (const experiment of lookups.experiments) {
      const r = item.record;
      if (r.experiment !== undefined && r.experiment !== experiment.key) continue;
      if (experiment.endsAt && r.timestamp.getTime() > experiment.endsAt.getTime()) continue;
      const assignment = lookups.assignment(experiment.key, r.customerId);
      if (!assignment || assignment.assignedAt.getTime() > r.timestamp.getTime()) continue;
      const cohort = cohortOf(assignment.assignedAt);
      if (item.kind === 'events') {
        const event = item.record;
        for (const metric of experiment.metricsByEvent.get(event.name) ?? []) {
          if (!feeds(metric, event, assignment.assignedAt)) continue;
          const value = contribution(metric, event);
          if (value === null) continue;
          if (metric.kind === 'quantile') {
            // Every value is an observation of its own: no per-customer state.
            add(changes, experiment.key, assignment.variant, metric.key, cohort, { units: 1, sum: value, sumSquares: value * value, histogram: { [sketchKey(sketchBucketOf(value))]: 1 } });
            continue;
          }
          const id = unitId(experiment.key, metric.key, event.customerId);
          const unit = current(id);
          const fresh: UnitState = { _id: id, experiment: experiment.key, variant: assignment.variant, metric: metric.key, customerId: event.customerId, cohort, value: 0, at: event.timestamp };
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
            add(changes, experiment.key, before.variant, metric.key, before.cohort, {
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
            add(changes, experiment.key, before.variant, metric.key, before.cohort, { units: unit ? 0 : 1, sum: c1 - c0, sumSquares: c1 * c1 - c0 * c0, histogram });
            continue;
          }
          // Binomial: the customer counts once.
          if (!unit) {
            put({ ...fresh, value: 1 }, false);
            add(changes, experiment.key, assignment.variant, metric.key, cohort, { units: 1, sum: 1, sumSquares: 1 });
          } else if (earlier !== unit.at) put({ ...unit, at: earlier }, true);
        }
      } else {
        const answer = item.record;
        const id = unitId(experiment.key, answer.metric, answer.customerId);
        const score = answer.score;
        const unit = current(id);
        if (!unit) {
          put({ _id: id, experiment: experiment.key, variant: assignment.variant, metric: answer.metric, customerId: answer.customerId, cohort, value: score, responseId: answer._id, at: answer.timestamp }, false);
          add(changes, experiment.key, assignment.variant, answer.metric, cohort, { units: 1, sum: score, sumSquares: score * score, histogram: { [score]: 1 } });
          continue;
        }
        // A later answer replaces the current one; an older one arriving late, or the same one again, does not.
        if (unit.responseId === answer._id || unit.at.getTime() > answer.timestamp.getTime()) continue;
        const old = unit.value;
        put({ ...unit, value: score, responseId: answer._id, at: answer.timestamp }, true);
        add(changes, unit.experiment, unit.variant, answer.metric, unit.cohort, {
          sum: score - old,
          sumSquares: score * score - old * old,
          histogram: old === score ? {} : { [old]: -1, [score]: 1 },
        });
      }
    }
  }
  return changes;
}
