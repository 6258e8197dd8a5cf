// Results as CSV (RFC 4180): one row per metric × variant, the control's row carrying no comparison; then
// the same rows for each slice of each declared dimension (segments), marked in `dimension` and `slice`.
import type { Comparison, ExperimentResults, Interval, MetricResult, SlicedResults } from './results.types';

export const CSV_COLUMNS = [
  'experiment',
  'metric',
  'role',
  'kind',
  'direction',
  'test',
  'variant',
  'is_control',
  'assigned',
  'units',
  'responders',
  'value',
  'ci_lower',
  'ci_upper',
  'standard_deviation',
  'top_box_successes',
  'top_box_trials',
  'top_box_rate',
  'top_box_ci_lower',
  'top_box_ci_upper',
  'distribution',
  'baseline',
  'absolute_lift',
  'absolute_lift_ci_lower',
  'absolute_lift_ci_upper',
  'relative_lift',
  'relative_lift_ci_lower',
  'relative_lift_ci_upper',
  'p_value',
  'fixed_horizon_p_value',
  'adjusted_p_value',
  'significant',
  'better',
  'chance_to_beat_control',
  'mann_whitney_p_value',
  'top_box_p_value',
  'method',
  'alpha',
  'correction',
  'srm_chi_square',
  'srm_p_value',
  'srm_mismatch',
  'verdict',
  'decision_variant',
  // Library metrics: the metric's name, the customers analysed (windowed metrics), a ratio's sums, a
  // quantile's events and which quantile, a capped mean's cap.
  'label',
  'analysed_units',
  'numerator',
  'denominator',
  'observations',
  'quantile',
  'cap',
  // CUPED: θ, the variance removed, the adjusted mean, and the comparison without the adjustment.
  'cuped_theta',
  'cuped_variance_reduction',
  'adjusted_value',
  'unadjusted_absolute_lift',
  'unadjusted_p_value',
  // Segments: the dimension and its value (empty for the whole experiment).
  'dimension',
  'slice',
] as const;

type Cell = string | number | boolean | null | undefined;

/** Quotes a field when it holds a delimiter, quote or line break; doubles inner quotes. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const lower = (interval: Interval | null | undefined) => interval?.[0];
const upper = (interval: Interval | null | undefined) => interval?.[1];

/** What the rows of one analysis share: the whole experiment's, or one slice's. */
interface RowContext {
  experiment: string;
  controlVariant: string;
  method: string;
  alpha: number;
  correction: string;
  unitsByVariant: Record<string, number>;
  srm: { chiSquare: number; pValue: number; mismatch: boolean };
  verdict?: string;
  decisionVariant?: string;
  dimension?: string;
  slice?: string;
}

function rowsOf(context: RowContext, metrics: MetricResult[]): string[] {
  const lines: string[] = [];
  for (const metric of metrics) {
    for (const estimate of metric.variants) {
      const comparison: Comparison | undefined = metric.comparisons.find((c) => c.variant === estimate.variant);
      const row: Record<(typeof CSV_COLUMNS)[number], Cell> = {
        experiment: context.experiment,
        metric: metric.metric,
        role: metric.role,
        kind: metric.kind,
        direction: metric.direction,
        test: metric.test,
        variant: estimate.variant,
        is_control: estimate.variant === context.controlVariant,
        assigned: context.unitsByVariant[estimate.variant],
        units: estimate.units,
        responders: estimate.responders,
        value: estimate.value,
        ci_lower: lower(estimate.ci),
        ci_upper: upper(estimate.ci),
        standard_deviation: estimate.standardDeviation,
        top_box_successes: estimate.topBox?.successes,
        top_box_trials: estimate.topBox?.trials,
        top_box_rate: estimate.topBox?.rate,
        top_box_ci_lower: lower(estimate.topBox?.ci),
        top_box_ci_upper: upper(estimate.topBox?.ci),
        distribution: estimate.distribution
          ? Object.entries(estimate.distribution)
              .map(([score, count]) => `${score}:${count}`)
              .join(' ')
          : undefined,
        baseline: comparison?.baseline,
        absolute_lift: comparison?.absoluteLift,
        absolute_lift_ci_lower: lower(comparison?.ci),
        absolute_lift_ci_upper: upper(comparison?.ci),
        relative_lift: comparison?.relativeLift,
        relative_lift_ci_lower: lower(comparison?.relativeCi),
        relative_lift_ci_upper: upper(comparison?.relativeCi),
        p_value: comparison?.pValue,
        fixed_horizon_p_value: comparison?.fixedHorizonPValue,
        adjusted_p_value: comparison?.adjustedPValue,
        significant: comparison?.significant,
        better: comparison?.better,
        chance_to_beat_control: comparison?.chanceToBeatControl,
        mann_whitney_p_value: comparison?.robustness?.mannWhitney?.pValue,
        top_box_p_value: comparison?.robustness?.topBox?.pValue,
        method: context.method,
        alpha: context.alpha,
        correction: context.correction,
        srm_chi_square: context.srm.chiSquare,
        srm_p_value: context.srm.pValue,
        srm_mismatch: context.srm.mismatch,
        verdict: context.verdict,
        decision_variant: context.decisionVariant,
        label: metric.label,
        analysed_units: estimate.analysedUnits,
        numerator: estimate.numerator,
        denominator: estimate.denominator,
        observations: estimate.observations,
        quantile: metric.quantile,
        cap: metric.capping?.cap,
        cuped_theta: metric.cuped?.theta,
        cuped_variance_reduction: metric.cuped?.varianceReduction,
        adjusted_value: estimate.adjustedValue,
        unadjusted_absolute_lift: comparison?.unadjusted?.absoluteLift,
        unadjusted_p_value: comparison?.unadjusted?.pValue,
        dimension: context.dimension,
        slice: context.slice,
      };
      lines.push(CSV_COLUMNS.map((column) => csvField(row[column])).join(','));
    }
  }
  return lines;
}

/** The whole experiment's rows, then each slice's (`sliced`: one answer per declared dimension). */
export function resultsToCsv(results: ExperimentResults, sliced: readonly SlicedResults[] = []): string {
  const base = { experiment: results.experiment, controlVariant: results.controlVariant, method: results.method, alpha: results.alpha, correction: results.correction };
  const lines = [CSV_COLUMNS.join(','), ...rowsOf({ ...base, unitsByVariant: results.health.unitsByVariant, srm: results.health.srm, verdict: results.decision.verdict, ...(results.decision.variant ? { decisionVariant: results.decision.variant } : {}) }, results.metrics)];
  for (const answer of sliced) {
    for (const slice of answer.slices) {
      const unitsByVariant = Object.fromEntries(slice.variants.map((v) => [v.variant, v.assigned]));
      lines.push(...rowsOf({ ...base, unitsByVariant, srm: slice.srm, dimension: answer.dimension, slice: slice.value }, slice.metrics));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
