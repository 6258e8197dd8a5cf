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

export const ASSIGNED = '$assigned';

export interface MetricRule {
  key: string;
  kind: 'binomial' | 'mean' | 'nps' | 'ordinal';
}

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
  /** Mean metrics: the customer's summed value. Surveys: the current score. Binomial: 1. */
  value: number;
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
          const id = unitId(experiment.key, metric.key, event.customerId);
          const value = metric.kind === 'mean' ? (event.value ?? 0) : 1;
          const unit = current(id);
          if (!unit) {
            put({ _id: id, experiment: experiment.key, variant: assignment.variant, metric: metric.key, customerId: event.customerId, cohort, value, at: event.timestamp }, false);
            add(changes, experiment.key, assignment.variant, metric.key, cohort, { units: 1, sum: value, sumSquares: value * value });
            continue;
          }
          const earlier = unit.at.getTime() > event.timestamp.getTime() ? event.timestamp : unit.at;
          if (metric.kind !== 'mean' || value === 0) {
            if (earlier !== unit.at) put({ ...unit, at: earlier }, true);
            continue;
          }
          const total = unit.value + value;
          put({ ...unit, value: total, at: earlier }, true);
          add(changes, unit.experiment, unit.variant, metric.key, unit.cohort, { sum: value, sumSquares: total * total - unit.value * unit.value });
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
