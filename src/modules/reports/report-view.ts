// Turns results and history into what the HTML report shows: the verdict sentence, formatted numbers and
// chart geometry. Pure: no I/O, no HTML (the template escapes every string it is given).
import type { Comparison, ExperimentResults, MetricResult, SlicedResults, Timeseries, VariantEstimate } from '../results';
import { metricLabel as labelOf } from '../experiments';
import { niceStep, round } from './chart-scale';
import { buildCohortChart, type CohortChartView } from './cohort-chart';

export interface HistoryItem {
  at: Date | string;
  action: string;
  actor: string;
  details?: Record<string, unknown>;
}

export function metricLabel(metric: MetricResult | { metric: string; kind: string; label?: string }): string {
  return 'label' in metric && metric.label ? metric.label : labelOf(metric.metric, metric.kind);
}

function trim(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** Rates as percentages, NPS in points, ratios per one of the denominator (three decimals), means and quantiles with two. */
export function formatValue(kind: string, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (kind === 'binomial') return `${(value * 100).toFixed(Math.abs(value) < 0.01 ? 2 : 1)}%`;
  if (kind === 'nps') return value.toFixed(1);
  if (kind === 'ratio') return value.toFixed(3);
  return value.toFixed(2);
}

/** What a variant's figure is made of, in the reader's terms (windows, ratios, quantiles, caps). */
function basisOf(metric: MetricResult, v: MetricResult['variants'][number]): string | undefined {
  const parts: string[] = [];
  if (metric.kind === 'ratio' && v.numerator !== undefined && v.denominator !== undefined) parts.push(`${trim(v.numerator.toFixed(2))} per ${trim(v.denominator.toFixed(2))}`);
  if (metric.kind === 'quantile' && v.observations !== undefined) parts.push(`${metric.quantile === 0.5 ? 'median' : `P${trim(((metric.quantile ?? 0.5) * 100).toFixed(1))}`} of ${count(v.observations)} events`);
  if (metric.window && v.analysedUnits !== undefined) parts.push(`${count(v.analysedUnits)} customers whose window has ended`);
  if (metric.match === 'none') parts.push('share without the event');
  if (metric.capping?.cap !== undefined) parts.push(`totals capped at ${trim(metric.capping.cap.toFixed(2))}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

export function formatInterval(kind: string, ci: [number, number] | null | undefined): string {
  if (!ci) return '—';
  return `${formatValue(kind, ci[0])} to ${formatValue(kind, ci[1])}`;
}

export function formatPercent(value: number | null | undefined, signed = true): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const text = `${(value * 100).toFixed(1)}%`;
  return signed && value > 0 ? `+${text}` : text;
}

export function formatP(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value < 0.0001) return '< 0.0001';
  return value < 0.01 ? value.toFixed(4) : value.toFixed(3);
}

function confidence(alpha: number): string {
  return `${trim(((1 - alpha) * 100).toFixed(1))}%`;
}

function primaryOf(results: ExperimentResults): MetricResult | undefined {
  return results.metrics.find((m) => m.role === 'primary');
}

/** The lift of a comparison in words: relative when the baseline allows it, else absolute. */
function liftPhrase(metric: MetricResult, comparison: Comparison, alpha: number): string {
  const label = metricLabel(metric);
  const relative = comparison.relativeLift !== null && comparison.relativeCi !== null;
  const lift = relative ? comparison.relativeLift! : comparison.absoluteLift;
  const ci = relative ? comparison.relativeCi : comparison.ci;
  if (lift === null) return `it changed the ${label}`;
  const verb = lift >= 0 ? 'raised' : 'lowered';
  const size = relative ? `${(Math.abs(lift) * 100).toFixed(1)}%` : metric.kind === 'binomial' ? `${(Math.abs(lift) * 100).toFixed(1)} percentage points` : Math.abs(lift).toFixed(2);
  const interval = ci ? ` (${confidence(alpha)} CI ${relative || metric.kind === 'binomial' ? `${formatPercent(ci[0], false)} to ${formatPercent(ci[1], false)}` : `${ci[0].toFixed(2)} to ${ci[1].toFixed(2)}`})` : '';
  return `it ${verb} the ${label} by ${size}${interval}`;
}

/** The verdict in one sentence, for the top of the report. */
export function verdictSentence(results: ExperimentResults): string {
  const { decision } = results;
  const primary = primaryOf(results);
  const label = primary ? metricLabel(primary) : 'primary metric';
  const firstReason = decision.reasons[0];
  switch (decision.verdict) {
    case 'ship': {
      const variant = decision.variant ?? '?';
      const comparison = primary?.comparisons.find((c) => c.variant === variant);
      const hasGuardrails = results.metrics.some((m) => m.role === 'guardrail');
      const lift = primary && comparison ? liftPhrase(primary, comparison, results.alpha) : `it is better on the ${label}`;
      return `Ship '${variant}': ${lift}${hasGuardrails ? ' with no guardrail harmed' : ''}.`;
    }
    case 'keep_control':
      return `Keep '${results.controlVariant}': ${firstReason ?? `no variant improved the ${label} without harm`}.`.replace(/\.\.$/, '.');
    case 'invalid':
      return `No verdict: the results cannot be trusted yet${firstReason ? ` (${firstReason})` : ''}; check how customers are assigned before reading them.`;
    case 'inconclusive':
    default: {
      const more = decision.additionalUnitsNeeded !== undefined ? `; about ${Math.ceil(decision.additionalUnitsNeeded).toLocaleString('en-US')} more customers per variant are needed` : '';
      const days = decision.estimatedDaysToDecision !== undefined ? ` (roughly ${Math.ceil(decision.estimatedDaysToDecision)} more days at the current pace)` : '';
      return `No verdict yet: no variant differs clearly from '${results.controlVariant}' on the ${label}${more}${days}.`;
    }
  }
}

// ---- chart geometry ------------------------------------------------------------------------------

export interface ChartMark {
  variant: string;
  y: number;
  labelY: number;
  x: number;
  x1: number;
  x2: number;
  isControl: boolean;
  valueText: string;
  intervalText: string;
}

export interface ChartView {
  width: number;
  height: number;
  plotLeft: number;
  plotRight: number;
  plotTop: number;
  plotBottom: number;
  axisLabel: string;
  axisLabelX: number;
  axisLabelY: number;
  ticks: { x: number; label: string }[];
  marks: ChartMark[];
  empty: { variant: string; labelY: number }[];
  reference: { x: number; label: string } | null;
  title: string;
}

/**
 * A horizontal interval plot: one row per variant with a dot at the estimate and a whisker over its
 * confidence interval, an x axis with ticks, and a dashed reference line at the control's estimate.
 */
export function buildChart(metric: MetricResult, controlVariant: string, alpha: number): ChartView {
  const width = 640;
  const plotLeft = 130;
  const plotRight = width - 30;
  const rowHeight = 34;
  const plotTop = 16;
  const plotBottom = plotTop + rowHeight * Math.max(metric.variants.length, 1);
  const height = plotBottom + 52;

  const scale = metric.kind === 'binomial' ? 100 : 1;
  const points: number[] = [];
  for (const v of metric.variants) {
    if (v.value !== null && Number.isFinite(v.value)) points.push(v.value * scale);
    if (v.ci) points.push(v.ci[0] * scale, v.ci[1] * scale);
  }
  let low = points.length ? Math.min(...points) : 0;
  let high = points.length ? Math.max(...points) : 1;
  if (metric.kind === 'binomial') low = Math.max(0, low);
  if (high - low < 1e-9) {
    const pad = Math.abs(high) * 0.1 || 1;
    low -= pad;
    high += pad;
  }
  const step = niceStep(high - low, 5);
  const domainLow = Math.floor(low / step) * step;
  const domainHigh = Math.ceil(high / step) * step;
  const x = (value: number) => round(plotLeft + ((value * scale - domainLow) / (domainHigh - domainLow)) * (plotRight - plotLeft));
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const ticks: ChartView['ticks'] = [];
  for (let t = domainLow; t <= domainHigh + step / 2; t += step) {
    ticks.push({ x: round(plotLeft + ((t - domainLow) / (domainHigh - domainLow)) * (plotRight - plotLeft)), label: `${t.toFixed(decimals)}${metric.kind === 'binomial' ? '%' : ''}` });
  }

  const marks: ChartMark[] = [];
  const empty: ChartView['empty'] = [];
  metric.variants.forEach((v: VariantEstimate, i) => {
    const y = plotTop + rowHeight * i + rowHeight / 2;
    if (v.value === null || !Number.isFinite(v.value)) {
      empty.push({ variant: v.variant, labelY: y + 4 });
      return;
    }
    const ci = v.ci ?? [v.value, v.value];
    marks.push({
      variant: v.variant,
      y,
      labelY: y + 4,
      x: x(v.value),
      x1: x(ci[0]),
      x2: x(ci[1]),
      isControl: v.variant === controlVariant,
      valueText: formatValue(metric.kind, v.value),
      intervalText: formatInterval(metric.kind, v.ci),
    });
  });
  const control = metric.variants.find((v) => v.variant === controlVariant);
  const reference = control && control.value !== null && Number.isFinite(control.value) ? { x: x(control.value), label: `${controlVariant} ${formatValue(metric.kind, control.value)}` } : null;
  const unit = metric.kind === 'binomial' ? ' (%)' : metric.kind === 'nps' ? ' (points)' : '';
  const label = metricLabel(metric);
  return {
    width,
    height,
    plotLeft,
    plotRight,
    plotTop,
    plotBottom,
    axisLabel: `${label}${unit}, dot = estimate, bar = ${confidence(alpha)} confidence interval`,
    axisLabelX: round((plotLeft + plotRight) / 2),
    axisLabelY: plotBottom + 42,
    ticks,
    marks,
    empty,
    reference,
    title: `${label} by variant with ${confidence(alpha)} confidence intervals`,
  };
}

// ---- comments and themes ---------------------------------------------------------------------------

/** What the report is given per survey metric (surveys module): the latest comments and the themes per variant. */
export interface MetricComments {
  metric: string;
  variants: { variant: string; comments: number; latest: { at: Date; score: number; comment?: string }[]; themes: { term: string; z: number; count: number }[] }[];
}

export interface CommentsView {
  variant: string;
  count: string;
  latest: { at: string; score: string; text: string }[];
  themes: { term: string; z: string; count: string; strong: boolean }[];
  /** The full list behind the share link (newest first). */
  fullListUrl: string;
}

/** One variant's comments for the page; `listUrl` makes the link to the full list of a metric and variant. */
export function buildCommentsView(comments: MetricComments | undefined, listUrl: (metric: string, variant: string) => string): CommentsView[] | undefined {
  if (!comments || comments.variants.every((v) => v.latest.length === 0)) return undefined;
  return comments.variants.map((v) => ({
    variant: v.variant,
    count: count(v.comments),
    latest: v.latest.map((item) => ({ at: isoDate(item.at), score: String(item.score), text: item.comment ?? '' })),
    themes: v.themes.map((t) => ({ term: t.term, z: t.z.toFixed(2), count: count(t.count), strong: t.z >= 1.96 })),
    fullListUrl: listUrl(comments.metric, v.variant),
  }));
}

// ---- the whole page --------------------------------------------------------------------------------

export interface ReportView {
  experiment: string;
  name: string;
  hypothesis?: string;
  status: string;
  method: string;
  alpha: string;
  confidence: string;
  correction: string;
  generatedAt: string;
  /** What the numbers count: everything acknowledged before asOf, and how many records were still waiting. */
  counted: string;
  verdict: { sentence: string; tone: string; label: string; reasons: string[] };
  health: { srmOk: boolean; srmText: string; units: { variant: string; units: string }[]; warnings: string[] };
  /** A campaign holdout: each sent variant against sending nothing. */
  holdout?: { sentence: string; assigned: string; reasons: string[]; rows: { metric: string; variant: string; value: string; holdoutValue: string; lift: string; pValue: string }[] };
  metrics: {
    metric: string;
    label: string;
    role: string;
    test: string;
    direction: string;
    chart: ChartView;
    hasChance: boolean;
    hasRobustness: boolean;
    rows: {
      variant: string;
      isControl: boolean;
      units: string;
      value: string;
      ci: string;
      extra?: string;
      lift: string;
      liftCi: string;
      pValue: string;
      adjustedPValue: string;
      chance: string;
      robustness: string;
      outcome: string;
      outcomeClass: string;
    }[];
    survey?: { variant: string; assigned: string; responders: string; rate: string; distribution: string }[];
    /** Survey metrics: each variant's latest comments and themes. */
    comments?: CommentsView[];
    /** CUPED-adjusted metrics: what the adjustment did, in words. */
    cuped?: string;
  }[];
  /** Segments: per declared dimension, a row per slice × metric × variant (exploratory). */
  segments?: { dimension: string; warning: string; rows: { slice: string; metric: string; variant: string; units: string; value: string; lift: string; pValue: string; adjustedPValue: string; outcome: string; outcomeClass: string }[] }[];
  history: { at: string; action: string; actor: string; details: string }[];
  /** The primary metric's lift by assignment cohort; absent when no series was given. */
  cohortChart?: CohortChartView;
}

const VERDICT_LABELS: Record<string, string> = { ship: 'Ship', keep_control: 'Keep control', inconclusive: 'Inconclusive', invalid: 'Invalid' };

function outcome(comparison: Comparison | undefined): { text: string; cls: string } {
  if (!comparison) return { text: 'baseline', cls: 'neutral' };
  if (comparison.better === true) return { text: 'better', cls: 'good' };
  if (comparison.better === false) return { text: 'worse', cls: 'bad' };
  return { text: 'no clear difference', cls: 'neutral' };
}

function count(value: number | undefined): string {
  return value === undefined ? '—' : value.toLocaleString('en-US');
}

export function isoDate(value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

const HOLDOUT_SENTENCES: Record<string, string> = {
  sending_helps: 'Sending helps: customers who got the message did better than those held out.',
  sending_hurts: 'Sending hurts: customers who got the message did worse than those held out.',
  inconclusive: 'Not yet known whether sending helps at all.',
};

function holdoutView(holdout: NonNullable<ExperimentResults['holdout']>): NonNullable<ReportView['holdout']> {
  const rows = holdout.metrics.flatMap((metric) => {
    const base = metric.variants.find((v) => v.variant === holdout.variant);
    return metric.comparisons.map((c) => ({
      metric: metricLabel(metric),
      variant: c.variant,
      value: formatValue(metric.kind, metric.variants.find((v) => v.variant === c.variant)?.value),
      holdoutValue: formatValue(metric.kind, base?.value),
      lift: c.relativeLift !== null ? formatPercent(c.relativeLift) : formatValue(metric.kind === 'binomial' ? 'binomial' : 'mean', c.absoluteLift),
      pValue: formatP(c.pValue),
    }));
  });
  return { sentence: HOLDOUT_SENTENCES[holdout.verdict] ?? holdout.verdict, assigned: count(holdout.assigned), reasons: holdout.reasons, rows };
}

export function buildReportView(
  results: ExperimentResults,
  history: HistoryItem[],
  hypothesis?: string,
  cohorts?: Timeseries,
  comments: { metrics: MetricComments[]; listUrl: (metric: string, variant: string) => string } = { metrics: [], listUrl: () => '' },
  sliced: readonly SlicedResults[] = [],
): ReportView {
  const { srm } = results.health;
  return {
    experiment: results.experiment,
    name: results.name,
    ...(hypothesis ? { hypothesis } : {}),
    status: results.status,
    method: results.method,
    alpha: String(results.alpha),
    confidence: confidence(results.alpha),
    correction: results.correction,
    generatedAt: isoDate(results.generatedAt),
    counted: countedSentence(results),
    verdict: { sentence: verdictSentence(results), tone: results.decision.verdict, label: VERDICT_LABELS[results.decision.verdict] ?? results.decision.verdict, reasons: results.decision.reasons },
    health: {
      srmOk: !srm.mismatch,
      srmText: !srm.applied
        ? 'Sample ratio check not applied yet: it needs more customers per variant.'
        : srm.mismatch
        ? `Sample ratio mismatch: the split of customers between variants is not what the weights say (chi-square ${srm.chiSquare.toFixed(2)}, p = ${formatP(srm.pValue)}).`
        : `Sample ratio OK: the split of customers matches the weights (chi-square ${srm.chiSquare.toFixed(2)}, p = ${formatP(srm.pValue)}).`,
      units: Object.entries(results.health.unitsByVariant).map(([variant, units]) => ({ variant, units: count(units) })),
      warnings: results.health.warnings,
    },
    ...(results.holdout ? { holdout: holdoutView(results.holdout) } : {}),
    metrics: results.metrics.map((metric) => {
      const rows = metric.variants.map((v) => {
        const comparison = metric.comparisons.find((c) => c.variant === v.variant);
        const result = outcome(comparison);
        const robustness = comparison?.robustness ? Object.entries(comparison.robustness).map(([name, r]) => `${name.replace(/_/g, ' ')} p = ${formatP(r.pValue)}`).join('; ') : '';
        const relative = comparison && comparison.relativeLift !== null;
        return {
          variant: v.variant,
          isControl: v.variant === results.controlVariant,
          units: count(v.units),
          value: formatValue(metric.kind, v.value),
          ci: formatInterval(metric.kind, v.ci),
          ...(v.topBox ? { extra: `${metric.metric === 'csat' ? 'top-2-box' : 'top box'} ${formatValue('binomial', v.topBox.rate)} of ${count(v.topBox.trials)}` } : basisOf(metric, v) ? { extra: basisOf(metric, v) } : {}),
          lift: comparison ? (relative ? formatPercent(comparison.relativeLift) : formatValue(metric.kind === 'binomial' ? 'binomial' : 'mean', comparison.absoluteLift)) : '—',
          liftCi: comparison ? (relative && comparison.relativeCi ? `${formatPercent(comparison.relativeCi[0], false)} to ${formatPercent(comparison.relativeCi[1], false)}` : formatInterval(metric.kind === 'nps' ? 'nps' : metric.kind === 'binomial' ? 'binomial' : 'mean', comparison.ci)) : '—',
          pValue: comparison ? formatP(comparison.pValue) : '—',
          adjustedPValue: comparison ? formatP(comparison.adjustedPValue) : '—',
          chance: comparison?.chanceToBeatControl !== undefined ? formatPercent(comparison.chanceToBeatControl, false) : '—',
          robustness: robustness || '—',
          outcome: result.text,
          outcomeClass: result.cls,
        };
      });
      const isSurvey = metric.variants.some((v) => v.responders !== undefined);
      const commentsView = buildCommentsView(comments.metrics.find((c) => c.metric === metric.metric), comments.listUrl);
      return {
        metric: metric.metric,
        label: metricLabel(metric),
        role: metric.role,
        test: metric.test,
        direction: metric.direction === 'increase' ? 'higher is better' : 'lower is better',
        chart: buildChart(metric, results.controlVariant, results.alpha),
        hasChance: metric.comparisons.some((c) => c.chanceToBeatControl !== undefined),
        hasRobustness: metric.comparisons.some((c) => c.robustness && Object.keys(c.robustness).length > 0),
        rows,
        ...(isSurvey
          ? {
              survey: metric.variants.map((v) => {
                const assigned = results.health.unitsByVariant[v.variant];
                const responders = v.responders ?? v.units;
                return {
                  variant: v.variant,
                  assigned: count(assigned),
                  responders: count(responders),
                  rate: assigned ? formatPercent(responders / assigned, false) : '—',
                  distribution: Object.entries(v.distribution ?? {})
                    .sort(([a], [b]) => Number(a) - Number(b))
                    .map(([score, n]) => `${score}: ${n}`)
                    .join(', ') || '—',
                };
              }),
            }
          : {}),
        ...(commentsView ? { comments: commentsView } : {}),
        ...(metric.cuped ? { cuped: cupedSentence(metric.cuped) } : {}),
      };
    }),
    ...(sliced.length > 0 ? { segments: sliced.map(segmentView) } : {}),
    history: history.map((h) => ({
      at: isoDate(h.at),
      action: h.action,
      actor: h.actor,
      details: h.details && Object.keys(h.details).length > 0 ? JSON.stringify(h.details) : '',
    })),
    ...(cohorts ? { cohortChart: buildCohortChart(cohorts) } : {}),
  };
}

/** A CUPED-adjusted metric's note: the comparison is on adjusted values, the values shown are not. */
function cupedSentence(cuped: NonNullable<MetricResult['cuped']>): string {
  return `CUPED-adjusted with each customer's ${cuped.lookback} before assignment (θ = ${cuped.theta.toPrecision(3)}): the variance is ${formatPercent(cuped.varianceReduction, false)} lower. Lifts and p-values compare adjusted values; the values shown are unadjusted.`;
}

function segmentView(answer: SlicedResults): NonNullable<ReportView['segments']>[number] {
  const rows = answer.slices.flatMap((slice) =>
    slice.metrics.flatMap((metric) =>
      metric.variants.map((v) => {
        const comparison = metric.comparisons.find((c) => c.variant === v.variant);
        const result = outcome(comparison);
        return {
          slice: slice.value,
          metric: metricLabel(metric),
          variant: v.variant,
          units: count(v.units),
          value: formatValue(metric.kind, v.value),
          lift: comparison ? (comparison.relativeLift !== null ? formatPercent(comparison.relativeLift) : formatValue(metric.kind === 'binomial' ? 'binomial' : 'mean', comparison.absoluteLift)) : '—',
          pValue: comparison ? formatP(comparison.pValue) : '—',
          adjustedPValue: comparison ? formatP(comparison.adjustedPValue) : '—',
          outcome: result.text,
          outcomeClass: result.cls,
        };
      }),
    ),
  );
  return { dimension: answer.dimension, warning: answer.warnings.join(' '), rows };
}

/** The report's line on freshness (docs/counting.md, read your writes). */
function countedSentence(results: Pick<ExperimentResults, 'asOf' | 'pending' | 'complete'>): string {
  if (results.asOf === undefined) return '';
  const asOf = isoDate(results.asOf);
  if (results.complete !== false) return `Counts everything received before ${asOf}.`;
  return `Counts everything received before ${asOf}; ${(results.pending ?? 0).toLocaleString('en-US')} more records were received and are still being counted.`;
}
