// Results as CSV (RFC 4180): one row per metric × variant, the control's row carrying no comparison.
import type { Comparison, ExperimentResults, Interval } from './results.types';

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

export function resultsToCsv(results: ExperimentResults): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const metric of results.metrics) {
    for (const estimate of metric.variants) {
      const comparison: Comparison | undefined = metric.comparisons.find((c) => c.variant === estimate.variant);
      const row: Record<(typeof CSV_COLUMNS)[number], Cell> = {
        experiment: results.experiment,
        metric: metric.metric,
        role: metric.role,
        kind: metric.kind,
        direction: metric.direction,
        test: metric.test,
        variant: estimate.variant,
        is_control: estimate.variant === results.controlVariant,
        assigned: results.health.unitsByVariant[estimate.variant],
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
        method: results.method,
        alpha: results.alpha,
        correction: results.correction,
        srm_chi_square: results.health.srm.chiSquare,
        srm_p_value: results.health.srm.pValue,
        srm_mismatch: results.health.srm.mismatch,
        verdict: results.decision.verdict,
        decision_variant: results.decision.variant,
        label: metric.label,
        analysed_units: estimate.analysedUnits,
        numerator: estimate.numerator,
        denominator: estimate.denominator,
        observations: estimate.observations,
        quantile: metric.quantile,
        cap: metric.capping?.cap,
      };
      lines.push(CSV_COLUMNS.map((column) => csvField(row[column])).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
