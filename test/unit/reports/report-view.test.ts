import assert from 'node:assert/strict';
import { buildChart, buildReportView, verdictSentence } from '../../../src/modules/reports/report-view';
import { renderReportPage } from '../../../src/modules/reports/report.template';
import type { ExperimentResults, MetricResult } from '../../../src/modules/results/results.types';

function openMetric(): MetricResult {
  return {
    metric: 'email_open',
    role: 'primary',
    kind: 'binomial',
    direction: 'increase',
    test: 'two-proportion z-test',
    variants: [
      { variant: 'control', units: 1000, value: 0.2, ci: [0.175, 0.225] },
      { variant: 'friendly', units: 1000, value: 0.3, ci: [0.272, 0.328] },
    ],
    comparisons: [
      { variant: 'friendly', baseline: 'control', absoluteLift: 0.1, relativeLift: 0.5, ci: [0.062, 0.138], relativeCi: [0.29, 0.71], pValue: 0.00001, adjustedPValue: 0.00002, significant: true, better: true },
    ],
  };
}

function results(overrides: Partial<ExperimentResults> = {}): ExperimentResults {
  return {
    experiment: 'welcome-test',
    name: 'Welcome <b>subject</b>',
    status: 'running',
    generatedAt: '2026-01-01T00:00:00.000Z',
    method: 'frequentist',
    alpha: 0.05,
    correction: 'holm',
    controlVariant: 'control',
    health: { srm: { chiSquare: 0.1, pValue: 0.75, mismatch: false, applied: true }, unitsByVariant: { control: 1000, friendly: 1000 }, warnings: [] },
    metrics: [openMetric(), { ...openMetric(), metric: 'unsubscribe', role: 'guardrail', direction: 'decrease', comparisons: [{ ...openMetric().comparisons[0], significant: false, better: null }] }],
    decision: { verdict: 'ship', variant: 'friendly', reasons: ['email_open is significantly better for friendly'] },
    ...overrides,
  };
}

describe('reports: report view', () => {
  it('when the verdict is ship, then the sentence names the variant, the relative lift with its interval and the guardrails', () => {
    assert.equal(verdictSentence(results()), "Ship 'friendly': it raised the email open rate by 50.0% (95% CI 29.0% to 71.0%) with no guardrail harmed.");
  });

  it('when the verdict is inconclusive, then the sentence says how many more customers are needed', () => {
    const sentence = verdictSentence(results({ decision: { verdict: 'inconclusive', reasons: [], additionalUnitsNeeded: 1234.2, estimatedDaysToDecision: 3.2 } }));
    assert.match(sentence, /^No verdict yet/);
    assert.match(sentence, /1,235 more customers per variant/);
    assert.match(sentence, /4 more days/);
  });

  it('when the verdict is invalid, then the sentence warns that the results cannot be trusted', () => {
    assert.match(verdictSentence(results({ decision: { verdict: 'invalid', reasons: ['sample ratio mismatch (p < 0.001)'] } })), /cannot be trusted.*sample ratio mismatch/);
  });

  it('when a chart is built, then each variant with data gets one mark with its whisker inside the plot and the reference line sits on the control estimate', () => {
    const chart = buildChart(openMetric(), 'control', 0.05);
    assert.equal(chart.marks.length, 2);
    for (const mark of chart.marks) {
      assert.ok(mark.x1 <= mark.x && mark.x <= mark.x2, JSON.stringify(mark));
      assert.ok(mark.x1 >= chart.plotLeft && mark.x2 <= chart.plotRight, JSON.stringify(mark));
    }
    assert.equal(chart.reference?.x, chart.marks.find((m) => m.variant === 'control')!.x);
    assert.ok(chart.marks[1].x > chart.marks[0].x);
    assert.ok(chart.ticks.length >= 3);
    assert.ok(chart.ticks.every((t) => t.label.endsWith('%')));
  });

  it('when a variant has no estimate yet, then it gets no mark but is listed as empty', () => {
    const metric = openMetric();
    metric.variants[1] = { variant: 'friendly', units: 0, value: null, ci: null };
    const chart = buildChart(metric, 'control', 0.05);
    assert.deepEqual(chart.marks.map((m) => m.variant), ['control']);
    assert.deepEqual(chart.empty.map((e) => e.variant), ['friendly']);
  });

  it('when text from the experiment contains markup, then the rendered page escapes it', () => {
    const html = renderReportPage(buildReportView(results({ health: { srm: { chiSquare: 0, pValue: 1, mismatch: false, applied: false }, unitsByVariant: {}, warnings: ['<script>alert(1)</script>'] } }), [{ at: new Date(0), action: 'created', actor: '<img src=x>' }]));
    assert.ok(!html.includes('<script>'));
    assert.ok(!html.includes('<img src=x>'));
    assert.ok(html.includes('Welcome &lt;b&gt;subject&lt;/b&gt;'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  });
});
