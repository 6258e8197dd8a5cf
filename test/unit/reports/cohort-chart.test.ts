import assert from 'node:assert/strict';
import { buildCohortChart } from '../../../src/modules/reports/cohort-chart';
import { buildReportView } from '../../../src/modules/reports/report-view';
import { renderReportPage } from '../../../src/modules/reports/report.template';
import type { ExperimentResults, Timeseries, TimeseriesPoint } from '../../../src/modules/results';

const EVIL = '<script>alert("x")</script>';

function point(date: string, lifts: Record<string, number | null>): TimeseriesPoint {
  return {
    date,
    variants: [{ variant: 'control', units: 100, value: 0.2, ci: [0.15, 0.25] }, ...Object.keys(lifts).map((variant) => ({ variant, units: 100, value: 0.25, ci: [0.2, 0.3] as [number, number] }))],
    comparisons: Object.entries(lifts).map(([variant, lift]) => ({
      variant,
      absoluteLift: lift === null ? null : lift * 0.2,
      relativeLift: lift,
      ci: lift === null ? null : [lift * 0.2 - 0.05, lift * 0.2 + 0.05],
      relativeCi: lift === null ? null : [lift - 0.2, lift + 0.2],
      pValue: lift === null ? null : 0.04,
    })),
  };
}

function day(offset: number): string {
  return new Date(Date.UTC(2025, 2, 1 + offset)).toISOString().slice(0, 10);
}

function series(points: TimeseriesPoint[], overrides: Partial<Timeseries> = {}): Timeseries {
  return { experiment: 'welcome-test', metric: 'email_open', role: 'primary', kind: 'binomial', direction: 'increase', test: 'two-proportion-z-test', method: 'frequentist', alpha: 0.05, controlVariant: 'control', omittedDays: 0, points, ...overrides };
}

function results(): ExperimentResults {
  return {
    experiment: 'welcome-test',
    name: 'Welcome test',
    status: 'running',
    generatedAt: '2025-03-10T00:00:00.000Z',
    method: 'frequentist',
    alpha: 0.05,
    correction: 'holm',
    controlVariant: 'control',
    health: { srm: { chiSquare: 0, pValue: 1, mismatch: false, applied: true }, unitsByVariant: { control: 100, b: 100 }, warnings: [] },
    metrics: [],
    decision: { verdict: 'inconclusive', reasons: [] },
  };
}

/** The cohort section of a rendered page. */
function section(html: string): string {
  const match = /<section id="cohort-lift"[\s\S]*?<\/section>/.exec(html);
  assert.ok(match, 'the page has the cohort section');
  return match[0];
}

function numbersIn(svg: string): number[] {
  return [...svg.matchAll(/\s(?:x|y|x1|x2|y1|y2|cx|cy)="([^"]*)"/g)].map((m) => Number(m[1]));
}

describe('reports: lift by assignment cohort chart', () => {
  const fading = series(Array.from({ length: 30 }, (_, i) => point(day(i), { b: 0.5 - i / 60, c: 0.1 })));

  it('when a series of two treatments is drawn, then each treatment gets one band and one line, with a zero line, a few date labels and percent labels', () => {
    const html = section(renderReportPage(buildReportView(results(), [], undefined, fading)));
    assert.match(html, /<h2>Lift by assignment cohort<\/h2>/);
    const groups = [...html.matchAll(/<g class="series series-\d" data-variant="([^"]+)">([\s\S]*?)<\/g>/g)];
    assert.deepEqual(groups.map((g) => g[1]), ['b', 'c']);
    for (const [, , body] of groups) {
      assert.equal(body.match(/class="band"/g)?.length, 1);
      assert.equal(body.match(/class="line"/g)?.length, 1);
    }
    assert.equal(html.match(/<line class="zero"/g)?.length, 1);
    const dates = [...html.matchAll(/<text class="tick" x="[^"]+" y="[^"]+" dy="18" text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1]);
    assert.ok(dates.length >= 2 && dates.length <= 6, dates.join(', '));
    assert.equal(dates[0], 'Mar 1');
    assert.equal(dates.at(-1), 'Mar 30');
    const yLabels = [...html.matchAll(/text-anchor="end">([^<]+)<\/text>/g)].map((m) => m[1]);
    assert.ok(yLabels.length >= 3 && yLabels.every((label) => /^[+-]?\d+(\.\d+)?%$/.test(label)), yLabels.join(', '));
    assert.ok(yLabels.includes('0%'));
    assert.match(html, /aria-labelledby="cohort-lift-title cohort-lift-desc"/);
    assert.match(html, /<title id="cohort-lift-title">Relative lift over &#x27;control&#x27; on the email open rate by assignment cohort<\/title>/);
    assert.match(html, /<desc id="cohort-lift-desc">[^<]*from 2025-03-01 to 2025-03-30 \(30 days\)[^<]*b: \+1\.7%/);
    assert.ok(numbersIn(html).every(Number.isFinite), 'every coordinate is a number');
  });

  it('when the lift fades, then the line falls towards the zero line', () => {
    const chart = buildCohortChart(fading);
    const ys = [...chart.series[0].line.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));
    assert.equal(ys.length, 30);
    assert.ok(ys[0] < ys[29] && ys[29] < chart.zeroY, `${ys[0]} → ${ys[29]}, zero at ${chart.zeroY}`);
  });

  it('when there is only one day, then each treatment is a dot with a whisker over a band, centred, with one date label', () => {
    const chart = buildCohortChart(series([point(day(0), { b: 0.1 })]));
    const only = chart.series[0];
    assert.equal(only.line, '');
    assert.equal(only.dots.length, 1);
    assert.match(only.band, /^M[\d.]+ [\d.]+H[\d.]+V[\d.]+H[\d.]+Z$/);
    assert.equal(only.dots[0].x, (chart.plotLeft + chart.plotRight) / 2);
    assert.ok(only.dots[0].y2 < only.dots[0].y && only.dots[0].y < only.dots[0].y1, 'the whisker spans the interval');
    assert.deepEqual(chart.xTicks.map((t) => t.label), ['Mar 1']);
    assert.match(chart.desc, /on 2025-03-01 \(1 day\)/);
    const html = section(renderReportPage(buildReportView(results(), [], undefined, series([point(day(0), { b: 0.1 })]))));
    assert.equal(html.match(/<circle class="point"/g)?.length, 1);
  });

  it('when some days have no lift (too few customers), then the line and band break there and an isolated day is a dot', () => {
    const points = [point(day(0), { b: null }), point(day(1), { b: 0.2 }), point(day(2), { b: null }), point(day(3), { b: 0.3 }), point(day(4), { b: 0.25 })];
    const chart = buildCohortChart(series(points));
    const s = chart.series[0];
    assert.equal(s.line.match(/M/g)?.length, 1, 'one joined run: days 3–4');
    assert.equal(s.dots.length, 1, 'day 1 stands alone');
    assert.equal(s.band.match(/Z/g)?.length, 2, 'one band path, two runs');
  });

  it('when there are no points yet, then the section says so instead of drawing', () => {
    const html = section(renderReportPage(buildReportView(results(), [], undefined, series([]))));
    assert.match(html, /No customers assigned yet\./);
    assert.doesNotMatch(html, /<svg/);
  });

  it('when text comes from the data, then it is escaped and the page has no script', () => {
    const evil = series([point(day(0), { [EVIL]: 0.1 }), point(day(1), { [EVIL]: 0.2 })], { controlVariant: EVIL });
    const page = renderReportPage(buildReportView(results(), [], undefined, evil));
    assert.doesNotMatch(page, /<script/i);
    assert.match(section(page), /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  });

  it('when no series is given, then the report has no cohort section', () => {
    assert.doesNotMatch(renderReportPage(buildReportView(results(), [])), /cohort-lift/);
  });
});
