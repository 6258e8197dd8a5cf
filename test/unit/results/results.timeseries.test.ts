import assert from 'node:assert/strict';
import type { AggregateRecord } from '../../../src/modules/aggregates';
import type { ExperimentRecord } from '../../../src/modules/experiments';
import { BadRequestError } from '../../../src/lib/errors';
import { analyse } from '../../../src/modules/results/results.analysis';
import { computeTimeseries, MAX_TIMESERIES_POINTS, type CohortInput, type Timeseries } from '../../../src/modules/results/results.timeseries';

// A local stand-in for the aggregates module's CohortAggregate (experiment × variant × metric × UTC day).
type Cohort = CohortInput & { experiment: string };

const NOW = new Date('2025-03-10T12:00:00Z');

function experiment(overrides: Partial<ExperimentRecord> = {}): ExperimentRecord {
  return {
    _id: 'exp-series',
    name: 'Series',
    assetType: 'email',
    variants: [
      { key: 'control', weight: 0.5, content: {} },
      { key: 'b', weight: 0.5, content: {} },
    ],
    controlVariant: 'control',
    coverage: 1,
    seed: 'exp-series',
    metrics: { primary: 'email_open', secondary: ['email_click', 'csat', 'nps', 'revenue'], guardrails: ['unsubscribe'], custom: [{ key: 'revenue', kind: 'mean', event: 'order', direction: 'increase' }] },
    analysis: { alpha: 0.05, power: 0.8, minimumDetectableEffect: 0.1, method: 'frequentist', correction: 'holm', minSamplePerVariant: 100 },
    status: 'stopped',
    history: [],
    createdAt: new Date('2025-02-01T00:00:00Z'),
    updatedAt: new Date('2025-02-01T00:00:00Z'),
    startedAt: new Date('2025-03-01T08:00:00Z'),
    ...overrides,
  };
}

function cohort(cohortDay: string, variant: string, metric: string, fields: Partial<CohortInput>): Cohort {
  return { experiment: 'exp-series', variant, metric, cohort: cohortDay, units: 0, sum: 0, sumSquares: 0, histogram: {}, ...fields };
}
const assigned = (day: string, variant: string, units: number) => cohort(day, variant, '$assigned', { units });
const converted = (day: string, variant: string, metric: string, units: number) => cohort(day, variant, metric, { units, sum: units, sumSquares: units });
function answers(day: string, variant: string, metric: string, histogram: Record<string, number>): Cohort {
  let units = 0;
  let sum = 0;
  let sumSquares = 0;
  for (const [score, count] of Object.entries(histogram)) {
    units += count;
    sum += Number(score) * count;
    sumSquares += Number(score) ** 2 * count;
  }
  return cohort(day, variant, metric, { units, sum, sumSquares, histogram });
}

/** What the whole experiment's aggregates are: the cohorts summed per variant × metric. */
function summed(cohorts: Cohort[]): AggregateRecord[] {
  const out = new Map<string, AggregateRecord>();
  for (const c of cohorts) {
    const id = `${c.experiment}|${c.variant}|${c.metric}`;
    const a = out.get(id) ?? { _id: id, experiment: c.experiment, variant: c.variant, metric: c.metric, units: 0, sum: 0, sumSquares: 0, histogram: {} };
    a.units += c.units;
    a.sum += c.sum;
    a.sumSquares += c.sumSquares;
    for (const [score, n] of Object.entries(c.histogram)) a.histogram[score] = (a.histogram[score] ?? 0) + n;
    out.set(id, a);
  }
  return [...out.values()];
}

function day(offset: number): string {
  return new Date(Date.UTC(2025, 2, 1 + offset)).toISOString().slice(0, 10);
}

/** The whole-experiment metric result of GET results, in the fields a point carries. */
function wholeExperiment(record: ExperimentRecord, cohorts: Cohort[], metric: string) {
  const result = analyse(record, summed(cohorts), NOW).results.metrics.find((m) => m.metric === metric)!;
  return {
    variants: result.variants.map(({ variant, units, value, ci }) => ({ variant, units, value, ci })),
    comparisons: result.comparisons.map(({ variant, absoluteLift, relativeLift, ci, relativeCi, pValue, chanceToBeatControl, fixedHorizonPValue }) => ({
      variant,
      absoluteLift,
      relativeLift,
      ci,
      relativeCi,
      pValue,
      ...(chanceToBeatControl !== undefined ? { chanceToBeatControl } : {}),
      ...(fixedHorizonPValue !== undefined ? { fixedHorizonPValue } : {}),
    })),
  };
}

function lastPoint(series: Timeseries) {
  const point = series.points.at(-1)!;
  return { variants: point.variants, comparisons: point.comparisons };
}

/** 10 daily cohorts of 1,000 customers per arm: b opens 30% vs 20% in the first 3 cohorts, then both 20%. */
function fadingOpens(): Cohort[] {
  const cohorts: Cohort[] = [];
  for (let d = 0; d < 10; d++) {
    cohorts.push(assigned(day(d), 'control', 1000), assigned(day(d), 'b', 1000));
    cohorts.push(converted(day(d), 'control', 'email_open', 200), converted(day(d), 'b', 'email_open', d < 3 ? 300 : 200));
  }
  return cohorts;
}

describe('results time series by assignment cohort (pure)', () => {
  it('when cohorts arrive on several days, then each point sums the cohorts up to its day', () => {
    const cohorts = [
      assigned(day(0), 'control', 10),
      assigned(day(0), 'b', 12),
      converted(day(0), 'control', 'email_open', 2),
      converted(day(0), 'b', 'email_open', 6),
      assigned(day(1), 'control', 5),
      assigned(day(1), 'b', 4),
      converted(day(1), 'control', 'email_open', 3),
      converted(day(1), 'b', 'email_open', 1),
      converted(day(1), 'b', 'email_click', 4), // another metric: not part of this series
    ];
    const series = computeTimeseries(experiment(), cohorts, 'email_open', NOW);
    assert.deepEqual(
      series.points.map((p) => ({ date: p.date, units: p.variants.map((v) => v.units), value: p.variants.map((v) => v.value) })),
      [
        { date: '2025-03-01', units: [10, 12], value: [2 / 10, 6 / 12] },
        { date: '2025-03-02', units: [15, 16], value: [5 / 15, 7 / 16] },
      ],
    );
    assert.equal(series.metric, 'email_open');
    assert.equal(series.kind, 'binomial');
    assert.equal(series.direction, 'increase');
    assert.equal(series.role, 'primary');
    assert.equal(series.omittedDays, 0);
  });

  it('when a treatment is better only in the early cohorts, then its lift shrinks as later cohorts join', () => {
    const series = computeTimeseries(experiment(), fadingOpens(), 'email_open', NOW);
    assert.equal(series.points.length, 10);
    const lifts = series.points.map((p) => p.comparisons[0].relativeLift!);
    assert.ok(Math.abs(lifts[0] - 0.5) < 1e-9, `first lift ${lifts[0]}`);
    assert.ok(Math.abs(lifts[9] - 0.15) < 1e-9, `last lift ${lifts[9]}`);
    for (let i = 3; i < 10; i++) assert.ok(lifts[i] < lifts[i - 1], `lift on day ${i} (${lifts[i]}) not below day ${i - 1} (${lifts[i - 1]})`);
    const intervals = series.points.map((p) => p.comparisons[0].relativeCi!);
    assert.ok(intervals[9][1] - intervals[9][0] < intervals[0][1] - intervals[0][0], 'the interval narrows as customers accumulate');
  });

  it('when a day has no new customers, then it still gets a point, equal to the day before', () => {
    const cohorts = [assigned(day(0), 'control', 50), assigned(day(0), 'b', 50), converted(day(0), 'control', 'email_open', 10), converted(day(0), 'b', 'email_open', 20)];
    cohorts.push(assigned(day(2), 'control', 50), assigned(day(2), 'b', 50), converted(day(2), 'control', 'email_open', 10), converted(day(2), 'b', 'email_open', 10));
    const series = computeTimeseries(experiment(), cohorts, 'email_open', NOW);
    assert.deepEqual(series.points.map((p) => p.date), ['2025-03-01', '2025-03-02', '2025-03-03']);
    assert.deepEqual({ ...series.points[1], date: '' }, { ...series.points[0], date: '' });
    assert.equal(series.points[2].variants[0].units, 100);
  });

  it('when the experiment is running, then the series runs to today; when stopped, to the last cohort day', () => {
    const cohorts = [assigned(day(0), 'control', 5), assigned(day(0), 'b', 5)];
    const running = computeTimeseries(experiment({ status: 'running' }), cohorts, 'email_open', NOW);
    assert.deepEqual([running.points[0].date, running.points.at(-1)!.date, running.points.length], ['2025-03-01', '2025-03-10', 10]);
    const stopped = computeTimeseries(experiment({ status: 'stopped' }), cohorts, 'email_open', NOW);
    assert.deepEqual(stopped.points.map((p) => p.date), ['2025-03-01']);
  });

  it('when there are no cohorts, then there are no points', () => {
    const series = computeTimeseries(experiment({ status: 'running' }), [], 'email_open', NOW);
    assert.deepEqual(series.points, []);
    assert.equal(series.test, 'two-proportion-z-test');
  });

  it('when the cohorts span more days than the cap, then the latest days are shown and the first shown point still counts every earlier cohort', () => {
    const first = new Date(Date.UTC(2023, 0, 1)).toISOString().slice(0, 10);
    const cohorts = [assigned(first, 'control', 7), assigned(first, 'b', 7), assigned('2025-03-01', 'control', 3), assigned('2025-03-01', 'b', 3)];
    const series = computeTimeseries(experiment(), cohorts, 'email_open', NOW);
    assert.equal(series.points.length, MAX_TIMESERIES_POINTS);
    assert.equal(series.points.at(-1)!.date, '2025-03-01');
    assert.equal(series.points[0].variants[0].units, 7);
    assert.equal(series.omittedDays, (Date.UTC(2025, 2, 1) - Date.UTC(2023, 0, 1)) / 86_400_000 + 1 - MAX_TIMESERIES_POINTS);
  });

  it('when the metric is a survey, then units are responders, values are cumulative means and the histograms add up', () => {
    const cohorts = [
      assigned(day(0), 'control', 40),
      assigned(day(0), 'b', 40),
      answers(day(0), 'control', 'csat', { 3: 4, 4: 4 }),
      answers(day(0), 'b', 'csat', { 4: 2, 5: 6 }),
      assigned(day(1), 'control', 40),
      assigned(day(1), 'b', 40),
      answers(day(1), 'control', 'csat', { 2: 2, 5: 2 }),
      answers(day(1), 'b', 'csat', { 3: 4 }),
    ];
    const series = computeTimeseries(experiment(), cohorts, 'csat', NOW);
    assert.equal(series.kind, 'mean');
    assert.equal(series.role, 'secondary');
    assert.deepEqual(series.points.map((p) => p.variants.map((v) => v.units)), [[8, 8], [12, 12]]);
    assert.equal(series.points[0].variants[1].value, (4 * 2 + 5 * 6) / 8);
    assert.equal(series.points[1].variants[0].value, (3 * 4 + 4 * 4 + 2 * 2 + 5 * 2) / 12);
    assert.deepEqual(lastPoint(series), wholeExperiment(experiment(), cohorts, 'csat'));
  });

  it('when the series ends, then its last point equals the whole-experiment result for binomial, mean, CSAT and NPS metrics', () => {
    const cohorts = fadingOpens();
    for (let d = 0; d < 10; d += 3) {
      cohorts.push(cohort(day(d), 'control', 'revenue', { units: 80, sum: 4000, sumSquares: 260000 }), cohort(day(d), 'b', 'revenue', { units: 90, sum: 4700, sumSquares: 300000 }));
      cohorts.push(answers(day(d), 'control', 'csat', { 2: 3, 4: 10, 5: 7 }), answers(day(d), 'b', 'csat', { 3: 2, 4: 8, 5: 12 }));
      cohorts.push(answers(day(d), 'control', 'nps', { 3: 4, 8: 9, 10: 9 }), answers(day(d), 'b', 'nps', { 6: 2, 7: 5, 9: 14 }));
    }
    const record = experiment();
    for (const metric of ['email_open', 'revenue', 'csat', 'nps', 'email_click']) {
      assert.deepEqual(lastPoint(computeTimeseries(record, cohorts, metric, NOW)), wholeExperiment(record, cohorts, metric), metric);
    }
  });

  it('when the method is bayesian, then the last point equals the results without the chance to beat control', () => {
    const record = experiment({ analysis: { ...experiment().analysis, method: 'bayesian' } });
    const series = computeTimeseries(record, fadingOpens(), 'email_open', NOW);
    assert.equal(series.method, 'bayesian');
    const whole = wholeExperiment(record, fadingOpens(), 'email_open');
    assert.equal(typeof whole.comparisons[0].chanceToBeatControl, 'number');
    assert.deepEqual(lastPoint(series), { ...whole, comparisons: whole.comparisons.map(({ chanceToBeatControl: _chance, ...rest }) => rest) });
  });

  it('when the method is sequential, then each point has its own always-valid p-value (no running minimum), so a fading effect shows as a rising p-value', () => {
    // A stored minimum from an earlier look must not leak into the points; the stored τ² is used.
    const record = experiment({ analysis: { ...experiment().analysis, method: 'sequential' }, sequential: { 'email_open|b': 1e-12 } });
    const series = computeTimeseries(record, fadingOpens(), 'email_open', NOW);
    const p = series.points.map((point) => point.comparisons[0].pValue!);
    assert.ok(p[0] > 1e-12);
    assert.ok(p[9] > p[2], `p-values ${p.join(', ')}`);
    const frequentist = wholeExperiment(experiment(), fadingOpens(), 'email_open');
    assert.equal(series.points[9].comparisons[0].fixedHorizonPValue, frequentist.comparisons[0].pValue);
  });

  it('when the metric is not one of the experiment, then a 400 names the metric', () => {
    assert.throws(
      () => computeTimeseries(experiment(), [], 'page_view', NOW),
      (error: unknown) => error instanceof BadRequestError && error.status === 400 && error.message.includes('metric: "page_view"') && JSON.stringify(error.details).includes('"path":"metric"'),
    );
  });

  it('when there are 90 daily cohorts of 3 variants and 6 metrics, then every series of every method has 90 points (STATS_VERBOSE=1 prints the CPU a series costs; no timing is asserted)', () => {
    const record = experiment({
      variants: [
        { key: 'control', weight: 1 / 3, content: {} },
        { key: 'b', weight: 1 / 3, content: {} },
        { key: 'c', weight: 1 / 3, content: {} },
      ],
    });
    const cohorts: Cohort[] = [];
    for (let d = 0; d < 90; d++) {
      for (const variant of ['control', 'b', 'c']) {
        cohorts.push(assigned(day(d), variant, 11000));
        cohorts.push(converted(day(d), variant, 'email_open', 2300), converted(day(d), variant, 'email_click', 400), converted(day(d), variant, 'unsubscribe', 20));
        cohorts.push(cohort(day(d), variant, 'revenue', { units: 300, sum: 15000, sumSquares: 900000 }));
        cohorts.push(answers(day(d), variant, 'csat', { 1: 5, 2: 10, 3: 30, 4: 60, 5: 45 }), answers(day(d), variant, 'nps', { 2: 10, 6: 20, 8: 40, 9: 50, 10: 30 }));
      }
    }
    for (const method of ['frequentist', 'sequential', 'bayesian'] as const) {
      const r = experiment({ ...record, analysis: { ...record.analysis, method } });
      for (const metric of ['email_open', 'csat']) computeTimeseries(r, cohorts, metric, NOW); // warm up
      // CPU time, printed with STATS_VERBOSE only: a timing is a benchmark figure, not a test.
      const started = process.cpuUsage();
      for (const metric of ['email_open', 'email_click', 'unsubscribe', 'revenue', 'csat', 'nps']) {
        const series = computeTimeseries(r, cohorts, metric, NOW);
        assert.equal(series.points.length, 90);
      }
      const used = process.cpuUsage(started);
      const perSeries = (used.user + used.system) / 1000 / 6;
      if (process.env.STATS_VERBOSE) console.log(`${method}: ${perSeries.toFixed(2)} ms of CPU per series`);
    }
  });
});
