import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import {
  ASSIGNED,
  aggregateId,
  cohortOf,
  countRecords,
  covariateUnitId,
  CUPED_SUM_X,
  CUPED_SUM_XX,
  CUPED_SUM_XY,
  MAX_SLICE_VALUES,
  SLICE_NONE,
  SLICE_OTHER,
  SliceValues,
  sliceKey,
  emptyChanges,
  unitId,
  unitsTouched,
  type AssignmentFact,
  type CountedRecord,
  type CountingLookups,
  type ExperimentRules,
  type UnitState,
} from '../../../src/modules/counting/counting.rules';

const experiment: ExperimentRules = {
  key: 'exp',
  metricsByEvent: new Map([
    ['email.open', [{ key: 'email_open', kind: 'binomial' }]],
    ['purchase', [{ key: 'spend', kind: 'mean' }]],
  ]),
};

const day1 = new Date('2026-11-01T10:00:00Z');
const day2 = new Date('2026-11-02T23:59:59Z');

function assignment(customerId: string, variant: string, assignedAt: Date): AssignmentFact {
  return { _id: `exp:${customerId}`, experiment: 'exp', customerId, variant, assignedAt };
}

function lookups(assignments: AssignmentFact[], stored: UnitState[] = []): CountingLookups {
  const byId = new Map(assignments.map((a) => [a._id, a]));
  const units = new Map(stored.map((u) => [u._id, u]));
  return { experiments: [experiment], assignment: (e, c) => byId.get(`${e}:${c}`), unit: (id) => units.get(id) ?? null };
}

const event = (id: string, customerId: string, name: string, at: Date, value?: number): CountedRecord => ({
  kind: 'events',
  record: { _id: id, customerId, name, timestamp: at, ...(value !== undefined ? { value } : {}) },
});
const answer = (id: string, customerId: string, score: number, at: Date): CountedRecord => ({ kind: 'responses', record: { _id: id, customerId, metric: 'csat', score, timestamp: at } });

function cohort(changes: ReturnType<typeof countRecords>, variant: string, metric: string, day: string) {
  return changes.aggregates.get(aggregateId('exp', variant, metric))?.cohorts[day];
}

describe('counting rule (countRecords)', () => {
  it('when a customer is assigned, then $assigned of its variant grows in the cohort of its UTC day', () => {
    const a = assignment('c1', 'control', day2);
    const changes = countRecords(lookups([]), [{ kind: 'assignments', record: a }]);
    assert.equal(cohortOf(day2), '2026-11-02');
    assert.deepEqual(cohort(changes, 'control', ASSIGNED, '2026-11-02'), { units: 1, sum: 0, sumSquares: 0, histogram: {} });
  });

  it('when a binomial event repeats for one customer, then the customer counts once', () => {
    const l = lookups([assignment('c1', 'control', day1)]);
    const changes = countRecords(l, [event('e1', 'c1', 'email.open', day2), event('e2', 'c1', 'email.open', day2)]);
    assert.equal(cohort(changes, 'control', 'email_open', '2026-11-01')!.units, 1);
    assert.equal(changes.created.size, 1);
  });

  it('when an event is older than the assignment, or the customer is not assigned, then it is not counted', () => {
    const l = lookups([assignment('c1', 'control', day2)]);
    const changes = countRecords(l, [event('e1', 'c1', 'email.open', day1), event('e2', 'nobody', 'email.open', day2)]);
    assert.equal(changes.aggregates.size, 0);
  });

  it('when the experiment has stopped, then events and answers timestamped after its stop do not count, those at or before it do', () => {
    const stopped: ExperimentRules = { ...experiment, endsAt: day2 };
    const l = { ...lookups([assignment('c1', 'control', day1), assignment('c2', 'control', day1)]), experiments: [stopped] };
    const after = new Date(day2.getTime() + 1);
    const changes = countRecords(l, [event('e1', 'c1', 'email.open', day2), event('e2', 'c2', 'email.open', after), event('e3', 'c1', 'purchase', after, 5), answer('r1', 'c2', 4, after)]);
    assert.equal(cohort(changes, 'control', 'email_open', '2026-11-01')!.units, 1);
    assert.equal(cohort(changes, 'control', 'spend', '2026-11-01'), undefined);
    assert.equal(cohort(changes, 'control', 'csat', '2026-11-01'), undefined);
  });

  it('when a mean metric gets several values, then sum and sum of squares are of the per-customer total, across batches too', () => {
    const l = lookups([assignment('c1', 'b', day1)]);
    const first = countRecords(l, [event('e1', 'c1', 'purchase', day2, 10), event('e2', 'c1', 'purchase', day2, 5)]);
    assert.deepEqual(cohort(first, 'b', 'spend', '2026-11-01'), { units: 1, sum: 15, sumSquares: 225, histogram: {} });
    // A later batch, with the unit as stored after the first.
    const stored = first.units.get(unitId('exp', 'spend', 'c1'))!;
    const second = countRecords(lookups([assignment('c1', 'b', day1)], [stored]), [event('e3', 'c1', 'purchase', day2, -3)]);
    // Total 12: sum moves by -3, sum of squares by 144 - 225.
    assert.deepEqual(cohort(second, 'b', 'spend', '2026-11-01'), { units: 0, sum: -3, sumSquares: 144 - 225, histogram: {} });
    assert.equal(second.units.get(stored._id)!.value, 12);
    assert.equal(second.created.size, 0);
  });

  it('when a later answer arrives, then it replaces the earlier one; an older one arriving late does not', () => {
    const l = lookups([assignment('c1', 'control', day1)]);
    const t = (h: number) => new Date(day2.getTime() - 10 * 3600_000 + h * 3600_000);
    const changes = countRecords(l, [answer('r1', 'c1', 2, t(1)), answer('r2', 'c1', 5, t(3)), answer('r0', 'c1', 1, t(0)), answer('r2', 'c1', 5, t(3))]);
    const c = cohort(changes, 'control', 'csat', '2026-11-01')!;
    assert.equal(c.units, 1);
    assert.equal(c.sum, 5);
    assert.equal(c.sumSquares, 25);
    assert.deepEqual(c.histogram, { '5': 1 });
  });

  it('when an event names another experiment, then it does not count in this one', () => {
    const l = lookups([assignment('c1', 'control', day1)]);
    const changes = countRecords(l, [{ kind: 'events', record: { _id: 'e1', customerId: 'c1', name: 'email.open', experiment: 'other', timestamp: day2 } }]);
    assert.equal(changes.aggregates.size, 0);
  });

  it('when records are counted in one call or split over calls, then the totals are the same (live counting equals a rebuild)', () => {
    const assignments = Array.from({ length: 30 }, (_, i) => assignment(`c${i}`, i % 2 ? 'b' : 'control', new Date(day1.getTime() + (i % 3) * 86_400_000)));
    const records: CountedRecord[] = [];
    for (let i = 0; i < 200; i++) {
      const c = `c${(i * 7) % 30}`;
      const at = new Date(day1.getTime() + 3 * 86_400_000 + i * 1000);
      records.push(i % 3 === 0 ? event(`e${i}`, c, 'purchase', at, i % 11) : i % 3 === 1 ? event(`e${i}`, c, 'email.open', at) : answer(`r${i}`, c, 1 + (i % 5), at));
    }
    const whole = countRecords(lookups(assignments), records);
    // Split into batches of 17, each applied to the units the earlier batches left.
    const stored = new Map<string, UnitState>();
    const totals = new Map<string, { units: number; sum: number; sumSquares: number; histogram: Record<string, number> }>();
    for (let i = 0; i < records.length; i += 17) {
      const part = countRecords(lookups(assignments, [...stored.values()]), records.slice(i, i + 17), emptyChanges());
      for (const [id, u] of part.units) stored.set(id, u);
      for (const change of part.aggregates.values()) {
        for (const [day, d] of Object.entries(change.cohorts)) {
          const key = `${change._id}#${day}`;
          const t = totals.get(key) ?? { units: 0, sum: 0, sumSquares: 0, histogram: {} };
          t.units += d.units;
          t.sum += d.sum;
          t.sumSquares += d.sumSquares;
          for (const [s, n] of Object.entries(d.histogram)) t.histogram[s] = (t.histogram[s] ?? 0) + n;
          totals.set(key, t);
        }
      }
    }
    for (const change of whole.aggregates.values()) {
      for (const [day, d] of Object.entries(change.cohorts)) {
        const t = totals.get(`${change._id}#${day}`)!;
        assert.equal(t.units, d.units, change._id);
        assert.ok(Math.abs(t.sum - d.sum) < 1e-9, change._id);
        assert.ok(Math.abs(t.sumSquares - d.sumSquares) < 1e-9, change._id);
        const nonZero = Object.fromEntries(Object.entries(t.histogram).filter(([, n]) => n !== 0));
        assert.deepEqual(nonZero, d.histogram, change._id);
      }
    }
  });

  it('when asked which units counting may read, then it names exactly the units of assigned customers for metrics their events feed', () => {
    const l = lookups([assignment('c1', 'control', day1)]);
    const touched = unitsTouched(l, [event('e1', 'c1', 'email.open', day2), event('e2', 'c2', 'email.open', day2), event('e3', 'c1', 'page.view', day2), answer('r1', 'c1', 3, day2)]);
    assert.deepEqual([...touched].sort(), [unitId('exp', 'csat', 'c1'), unitId('exp', 'email_open', 'c1')].sort());
  });
});

describe('counting rule: metric definitions (filter, window, value, ratio, quantile, capping)', () => {
  const at = (hours: number) => new Date(day1.getTime() + hours * 3_600_000);
  const withProps = (id: string, customerId: string, name: string, hours: number, properties: Record<string, unknown>, value?: number): CountedRecord => ({
    kind: 'events',
    record: { _id: id, customerId, name, timestamp: at(hours), properties, ...(value !== undefined ? { value } : {}) },
  });
  const rules = (byEvent: [string, ExperimentRules['metricsByEvent'] extends Map<string, infer R> ? R : never][]): CountingLookups => ({
    ...lookups([assignment('c1', 'control', day1), assignment('c2', 'control', day1)]),
    experiments: [{ key: 'exp', metricsByEvent: new Map(byEvent) }],
  });
  const totals = (changes: ReturnType<typeof countRecords>, metric: string) => cohort(changes, 'control', metric, '2026-11-01');

  it('when an event fails the filter or falls outside the window, then it does not count; inside both, it does', () => {
    const l = rules([['login', [{ key: 'day1_login', kind: 'binomial', filter: { 'properties.channel': { $in: ['app', 'web'] } }, window: { delayMs: 24 * 3_600_000, durationMs: 24 * 3_600_000 } }]]]);
    const changes = countRecords(l, [
      withProps('e1', 'c1', 'login', 30, { channel: 'sms' }), // filtered out
      withProps('e2', 'c1', 'login', 10, { channel: 'app' }), // before the window
      withProps('e3', 'c2', 'login', 48, { channel: 'web' }), // at the window's end: outside
    ]);
    assert.equal(totals(changes, 'day1_login'), undefined);
    const inside = countRecords(l, [withProps('e4', 'c1', 'login', 47, { channel: 'web' })]);
    assert.equal(totals(inside, 'day1_login')!.units, 1);
  });

  it('when a ratio metric gets numerator and denominator events, then it keeps the sums, squares and cross product of per-customer totals', () => {
    const l = rules([
      ['ticket.resolved', [{ key: 'reopen_rate', kind: 'ratio', side: 'denominator', value: 'count' }]],
      ['ticket.reopened', [{ key: 'reopen_rate', kind: 'ratio', side: 'numerator', value: 'count' }]],
    ]);
    // c1: 3 resolved, 1 reopened; c2: 2 resolved, 2 reopened. Split over two calls (live counting).
    const first = countRecords(l, [withProps('r1', 'c1', 'ticket.resolved', 1, {}), withProps('r2', 'c1', 'ticket.resolved', 2, {}), withProps('o1', 'c1', 'ticket.reopened', 3, {}), withProps('r3', 'c2', 'ticket.resolved', 1, {})]);
    const stored = [...first.units.values()];
    const second = countRecords({ ...l, unit: (id) => stored.find((u) => u._id === id) ?? null }, [withProps('r4', 'c1', 'ticket.resolved', 4, {}), withProps('r5', 'c2', 'ticket.resolved', 5, {}), withProps('o2', 'c2', 'ticket.reopened', 6, {}), withProps('o3', 'c2', 'ticket.reopened', 7, {})]);
    const a = totals(first, 'reopen_rate')!;
    const b = totals(second, 'reopen_rate')!;
    const sum = (key: string) => (a.histogram[key] ?? 0) + (b.histogram[key] ?? 0);
    assert.equal(a.units + b.units, 2);
    assert.equal(a.sum + b.sum, 1 + 2, 'Σx');
    assert.equal(a.sumSquares + b.sumSquares, 1 + 4, 'Σx²');
    assert.equal(sum('y'), 3 + 2, 'Σy');
    assert.equal(sum('yy'), 9 + 4, 'Σy²');
    assert.equal(sum('xy'), 3 + 4, 'Σxy');
  });

  it('when a quantile metric gets values, then each is an observation in the sketch, and a missing or non-numeric value is skipped', () => {
    const l = rules([['ticket.resolved', [{ key: 'resolution_hours', kind: 'quantile', value: 'properties.hours' }]]]);
    const changes = countRecords(l, [withProps('r1', 'c1', 'ticket.resolved', 1, { hours: 2 }), withProps('r2', 'c1', 'ticket.resolved', 2, { hours: 2 }), withProps('r3', 'c2', 'ticket.resolved', 3, { hours: 'n/a' }), withProps('r4', 'c2', 'ticket.resolved', 3, { hours: 40 })]);
    const t = totals(changes, 'resolution_hours')!;
    assert.equal(t.units, 3, 'observations, not customers');
    assert.equal(t.sum, 44);
    assert.equal(Object.values(t.histogram).reduce((x, y) => x + y, 0), 3);
    assert.equal(Object.keys(t.histogram).length, 2, 'two distinct buckets');
    assert.equal(changes.units.size, 0, 'no per-customer state');
  });

  it('when a mean metric has an absolute cap, then per-customer totals above it count as the cap, also as they grow across calls', () => {
    const l = rules([['purchase', [{ key: 'ltv', kind: 'mean', cap: 100 }]]]);
    const first = countRecords(l, [event('p1', 'c1', 'purchase', day2, 80), event('p2', 'c2', 'purchase', day2, 30)]);
    const stored = [...first.units.values()];
    const second = countRecords({ ...l, unit: (id) => stored.find((u) => u._id === id) ?? null }, [event('p3', 'c1', 'purchase', day2, 50)]);
    const a = totals(first, 'ltv')!;
    const b = totals(second, 'ltv')!;
    assert.equal(a.sum + b.sum, 100 + 30, 'c1 capped at 100');
    assert.equal(a.sumSquares + b.sumSquares, 100 * 100 + 30 * 30);
    assert.equal(second.units.get(unitId('exp', 'ltv', 'c1'))!.value, 130, 'the unit keeps the uncapped total');
  });

  it('when a mean metric sketches its totals (percentile cap), then a growing total moves between buckets and each bucket keeps its sum', () => {
    const l = rules([['purchase', [{ key: 'ltv', kind: 'mean', sketchTotals: true }]]]);
    const first = countRecords(l, [event('p1', 'c1', 'purchase', day2, 10)]);
    const stored = [...first.units.values()];
    const second = countRecords({ ...l, unit: (id) => stored.find((u) => u._id === id) ?? null }, [event('p2', 'c1', 'purchase', day2, 990)]);
    const merged: Record<string, number> = {};
    for (const h of [totals(first, 'ltv')!.histogram, totals(second, 'ltv')!.histogram]) for (const [k, v] of Object.entries(h)) merged[k] = (merged[k] ?? 0) + v;
    const live = Object.entries(merged).filter(([, v]) => Math.abs(v) > 1e-9);
    const counts = live.filter(([k]) => !k.includes(':'));
    assert.equal(counts.length, 1, 'one bucket holds the customer');
    assert.equal(counts[0][1], 1);
    assert.equal(merged[`s:${counts[0][0]}`], 1000);
  });
});

describe('counting rule: segments (slices by dimension)', () => {
  const sliced: ExperimentRules = { ...experiment, dimensions: ['plan'] };
  const withPlan = (customerId: string, plan?: string): AssignmentFact => ({ ...assignment(customerId, 'control', day1), ...(plan ? { dims: { plan } } : {}) });
  const sliceCohort = (changes: ReturnType<typeof countRecords>, metric: string, value: string) => changes.aggregates.get(aggregateId('exp', 'control', metric, sliceKey('plan', value)))?.cohorts['2026-11-01'];

  it('when customers with and without a value are assigned and convert, then each change is counted in the whole and in the slice of the value', () => {
    const assignments = [withPlan('c1', 'pro'), withPlan('c2', 'pro'), withPlan('c3')];
    const l: CountingLookups = { ...lookups(assignments), experiments: [sliced], slices: new SliceValues() };
    const changes = countRecords(l, [...assignments.map((a) => ({ kind: 'assignments' as const, record: a })), event('e1', 'c1', 'email.open', day2), event('e2', 'c3', 'purchase', day2, 7)]);
    assert.equal(cohort(changes, 'control', ASSIGNED, '2026-11-01')!.units, 3);
    assert.equal(sliceCohort(changes, ASSIGNED, 'pro')!.units, 2);
    assert.equal(sliceCohort(changes, ASSIGNED, SLICE_NONE)!.units, 1);
    assert.equal(sliceCohort(changes, 'email_open', 'pro')!.units, 1);
    assert.equal(sliceCohort(changes, 'spend', SLICE_NONE)!.sum, 7);
    assert.equal(sliceCohort(changes, 'spend', 'pro'), undefined);
  });

  it('when a dimension has more values than are kept, then later values are "(other)" for good and earlier ones stay', () => {
    const slices = new SliceValues();
    for (let i = 0; i < MAX_SLICE_VALUES; i++) assert.equal(slices.valueOf('exp', 'plan', `v${i}`), `v${i}`);
    assert.equal(slices.valueOf('exp', 'plan', 'late'), SLICE_OTHER);
    assert.equal(slices.valueOf('exp', 'plan', 'v3'), 'v3');
    assert.equal(slices.valueOf('exp', 'plan', 'late'), SLICE_OTHER);
    assert.deepEqual(slices.snapshot('exp').plan.length, MAX_SLICE_VALUES);
    assert.ok(slices.changed.has('exp'));
  });
});

describe('counting rule: CUPED covariates', () => {
  const LOOKBACK = 7 * 86_400_000;
  const cuped: ExperimentRules = { ...experiment, cuped: { lookbackMs: LOOKBACK, since: day1.getTime() - LOOKBACK } };
  const before = (hours: number) => new Date(day1.getTime() - hours * 3_600_000);
  const sums = (changes: ReturnType<typeof countRecords>, metric: string) => cohort(changes, 'control', metric, '2026-11-01')?.histogram ?? {};

  it('when pre-period events arrive before the assignment, then the assignment turns them into X (inside the lookback only) with ΣX, ΣX² and ΣXY', () => {
    const a = assignment('c1', 'control', day1);
    // Stored before the customer is assigned: kept as pending pre-period events.
    const early = countRecords({ ...lookups([]), experiments: [cuped] }, [event('p1', 'c1', 'purchase', before(2), 5), event('p2', 'c1', 'purchase', before(24 * 8), 100), event('p3', 'c1', 'email.open', before(1))]);
    const pending = early.units.get(covariateUnitId('exp', 'spend', 'c1'))!;
    assert.equal(pending.variant, '');
    assert.equal(pending.pre!.length, 1, 'the event older than since is not kept');
    // Then the assignment, and an outcome after it.
    const stored = [...early.units.values()];
    const changes = countRecords({ ...lookups([a], stored), experiments: [cuped] }, [{ kind: 'assignments', record: a }, event('y1', 'c1', 'purchase', day2, 3)]);
    assert.deepEqual(
      { x: sums(changes, 'spend')[CUPED_SUM_X], xx: sums(changes, 'spend')[CUPED_SUM_XX], xy: sums(changes, 'spend')[CUPED_SUM_XY] },
      { x: 5, xx: 25, xy: 15 },
    );
    assert.deepEqual({ x: sums(changes, 'email_open')[CUPED_SUM_X], xy: sums(changes, 'email_open')[CUPED_SUM_XY] }, { x: 1, xy: undefined });
    const counted = changes.units.get(covariateUnitId('exp', 'spend', 'c1'))!;
    assert.equal(counted.variant, 'control');
    assert.equal(counted.pre, undefined);
  });

  it('when a pre-period event arrives after the assignment was counted, then X grows and ΣXY uses the current outcome', () => {
    const a = assignment('c1', 'control', day1);
    const first = countRecords({ ...lookups([a]), experiments: [cuped] }, [{ kind: 'assignments', record: a }, event('y1', 'c1', 'purchase', day2, 4)]);
    const later = countRecords({ ...lookups([a], [...first.units.values()]), experiments: [cuped] }, [event('p1', 'c1', 'purchase', before(3), 2), event('p2', 'c1', 'purchase', before(24 * 8), 50)]);
    assert.deepEqual(sums(later, 'spend'), { [CUPED_SUM_X]: 2, [CUPED_SUM_XX]: 4, [CUPED_SUM_XY]: 8 });
  });

  it('when a customer without pre-period events is assigned, then no covariate unit is written (the write path of most customers)', () => {
    const a = assignment('c1', 'control', day1);
    const changes = countRecords({ ...lookups([a]), experiments: [cuped] }, [{ kind: 'assignments', record: a }, event('y1', 'c1', 'purchase', day2, 3)]);
    assert.equal(changes.units.has(covariateUnitId('exp', 'spend', 'c1')), false);
    assert.equal(changes.units.has(covariateUnitId('exp', 'email_open', 'c1')), false);
    assert.equal(sums(changes, 'spend')[CUPED_SUM_X], undefined);
  });

  it('when records are counted in any order, then ΣX, ΣX² and ΣXY are those of one rebuild', () => {
    const a = assignment('c1', 'control', day1);
    const records: CountedRecord[] = [event('p1', 'c1', 'purchase', before(2), 5), { kind: 'assignments', record: a }, event('y1', 'c1', 'purchase', day2, 3), event('p2', 'c1', 'purchase', before(5), 1), event('y2', 'c1', 'purchase', day2, 2)];
    const total = (changes: ReturnType<typeof countRecords>[]) => {
      const out: Record<string, number> = {};
      for (const c of changes) for (const [k, v] of Object.entries(sums(c, 'spend'))) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    // One by one, each call seeing the units the earlier calls left.
    let units: UnitState[] = [];
    const steps: ReturnType<typeof countRecords>[] = [];
    for (const r of records) {
      const step = countRecords({ ...lookups([a], units), experiments: [cuped] }, [r]);
      units = [...new Map([...units.map((u) => [u._id, u] as const), ...[...step.units.values()].map((u) => [u._id, u] as const)]).values()];
      steps.push(step);
    }
    const rebuild = countRecords({ ...lookups([a]), experiments: [cuped] }, [records[1], records[0], records[2], records[3], records[4]]);
    assert.deepEqual(total(steps), sums(rebuild, 'spend'));
    assert.deepEqual(sums(rebuild, 'spend'), { [CUPED_SUM_X]: 6, [CUPED_SUM_XX]: 36, [CUPED_SUM_XY]: 30 });
  });
});
