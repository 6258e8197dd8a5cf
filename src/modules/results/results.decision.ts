// The decision rules of docs/decisions.md, applied to computed metrics. Pure: no I/O.
import { sampleSizeForMeans, sampleSizePerVariant } from '../../stats';
import { metricLabel, type ExperimentRecord } from '../experiments';
import { formatPercent, pPhrase } from './results.analysis';
import type { Comparison, Decision, ExperimentResults, MetricResult, VariantEstimate } from './results.types';

const DAY_MS = 86_400_000;

function formatValue(metric: MetricResult, value: number | null): string {
  if (value === null) return 'n/a';
  if (metric.kind === 'binomial') return formatPercent(value);
  if (metric.kind === 'nps') return `${value.toFixed(1)} points`;
  return String(Number(value.toFixed(3)));
}

function label(metric: MetricResult): string {
  return metricLabel(metric.metric, metric.kind);
}

function estimate(metric: MetricResult, variant: string): VariantEstimate | undefined {
  return metric.variants.find((v) => v.variant === variant);
}

/** '"friendly": email open rate 31.0% against 20.0% for "control" (+55.0%, adjusted p = 0.0003)' */
function describe(metric: MetricResult, comparison: Comparison): string {
  const treatment = estimate(metric, comparison.variant);
  const control = estimate(metric, comparison.baseline);
  const relative = comparison.relativeLift !== null ? `${comparison.relativeLift >= 0 ? '+' : ''}${(comparison.relativeLift * 100).toFixed(1)}%` : null;
  const p = comparison.adjustedPValue ?? comparison.pValue;
  const pText = p === null ? null : pPhrase(comparison.adjustedPValue !== null && comparison.adjustedPValue !== comparison.pValue ? 'adjusted p' : 'p', p);
  const details = [relative, pText].filter((part) => part !== null).join(', ');
  return `"${comparison.variant}": ${label(metric)} ${formatValue(metric, treatment?.value ?? null)} against ${formatValue(metric, control?.value ?? null)} for "${comparison.baseline}"${details ? ` (${details})` : ''}`;
}

function direction(metric: MetricResult): string {
  return metric.direction === 'increase' ? 'higher is better' : 'lower is better';
}

/**
 * Customers per variant the primary metric needs to detect the configured relative MDE at the observed
 * control baseline, in the unit the metric counts (assigned customers, or responders for surveys).
 */
export function requiredPerVariant(metric: MetricResult, control: VariantEstimate | undefined, analysis: ExperimentRecord['analysis']): number | null {
  if (!control || control.value === null) return null;
  const { alpha, power, minimumDetectableEffect: mde } = analysis;
  const attempt = (fn: () => number): number | null => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof RangeError) return null;
      throw error;
    }
  };
  if (metric.kind === 'binomial') {
    const baselineRate = control.value;
    if (!(baselineRate > 0 && baselineRate < 1)) return null;
    // A lift that would push the rate past 100% is looked for downwards instead.
    const signed = baselineRate * (1 + mde) < 1 ? mde : -mde;
    return attempt(() => sampleSizePerVariant({ baselineRate, minimumDetectableEffect: signed, alpha, power }).n);
  }
  const sd = control.standardDeviation;
  if (sd === null || sd === undefined || !(sd > 0)) return null;
  // NPS has no meaningful zero, so its MDE is read as a share of 100 points; other means are relative.
  const difference = metric.kind === 'nps' ? mde * 100 : mde * Math.abs(control.value);
  if (!(difference > 0)) return null;
  return attempt(() => sampleSizeForMeans({ standardDeviation: sd, minimumDetectableDifference: difference, alpha, power }).n);
}

/**
 * Total customers still to assign (all variants together) until every variant holds `perVariant` units,
 * given each variant's traffic share and, for survey metrics, its response rate.
 */
function additionalAssignments(
  results: Omit<ExperimentResults, 'decision'>,
  experiment: ExperimentRecord,
  primary: MetricResult,
  perVariant: number,
): number | null {
  const weighted = experiment.variants.filter((v) => v.weight > 0);
  const weightSum = weighted.reduce((sum, v) => sum + v.weight, 0);
  const survey = primary.variants.some((v) => v.responders !== undefined);
  let total = 0;
  for (const variant of weighted) {
    const assigned = results.health.unitsByVariant[variant.key] ?? 0;
    const units = estimate(primary, variant.key)?.units ?? 0;
    let neededAssigned = perVariant;
    if (survey) {
      const rate = assigned > 0 ? units / assigned : 0;
      if (!(rate > 0)) return null;
      neededAssigned = Math.ceil(perVariant / rate);
    }
    const missing = Math.max(0, neededAssigned - assigned);
    total = Math.max(total, Math.ceil(missing / (variant.weight / weightSum)));
  }
  return total;
}

function inconclusive(
  results: Omit<ExperimentResults, 'decision'>,
  experiment: ExperimentRecord,
  primary: MetricResult | undefined,
  reasons: string[],
  now: Date,
): Decision {
  const decision: Decision = { verdict: 'inconclusive', reasons };
  if (!primary) return decision;
  const { analysis } = experiment;
  const required = requiredPerVariant(primary, estimate(primary, results.controlVariant), analysis);
  if (required === null) {
    reasons.push(`The sample size needed cannot be estimated yet: the control's ${label(primary)} has no usable baseline.`);
    return decision;
  }
  const perVariant = Math.max(required, analysis.minSamplePerVariant);
  const additional = additionalAssignments(results, experiment, primary, perVariant);
  if (additional === null) {
    reasons.push(`The sample size needed cannot be estimated yet: a variant has no survey responses.`);
    return decision;
  }
  decision.additionalUnitsNeeded = additional;
  const unit = primary.variants.some((v) => v.responders !== undefined) ? 'responders' : 'customers';
  if (additional === 0) {
    decision.estimatedDaysToDecision = 0;
    reasons.push(
      `The planned sample of ${perVariant} ${unit} per variant is reached: any real difference on the ${label(primary)} is likely smaller than the minimum detectable effect of ${formatPercent(analysis.minimumDetectableEffect)}.`,
    );
    return decision;
  }
  const assigned = Object.values(results.health.unitsByVariant).reduce((a, b) => a + b, 0);
  const started = experiment.startedAt ? new Date(experiment.startedAt).getTime() : NaN;
  const elapsedDays = (now.getTime() - started) / DAY_MS;
  if (assigned > 0 && elapsedDays > 0) {
    // Rounded up to a tenth of a day: an estimate, not a promise.
    decision.estimatedDaysToDecision = Math.ceil((additional / (assigned / elapsedDays)) * 10) / 10;
  }
  const days = decision.estimatedDaysToDecision !== undefined ? `, about ${decision.estimatedDaysToDecision} more days at the current assignment rate` : '';
  reasons.push(
    `Detecting a ${formatPercent(analysis.minimumDetectableEffect)} change in the ${label(primary)} needs ${perVariant} ${unit} per variant: about ${additional} more customers in total${days}.`,
  );
  return decision;
}

/** Applies the decision rules: invalid, then too little data, then ship, keep_control or inconclusive. */
export function decide(results: Omit<ExperimentResults, 'decision'>, experiment: ExperimentRecord, now: Date): Decision {
  const { srm } = results.health;
  if (srm.mismatch) {
    const observed = Object.entries(results.health.unitsByVariant)
      .map(([variant, units]) => `${variant} ${units}`)
      .join(', ');
    return {
      verdict: 'invalid',
      reasons: [
        `Sample ratio mismatch: the assigned customers (${observed}) do not match the configured weights (chi-square ${srm.chiSquare.toFixed(1)}, ${pPhrase('p', srm.pValue)}), so assignment is broken or biased and no metric can be trusted until that is explained.`,
      ],
    };
  }

  const primary = results.metrics.find((m) => m.role === 'primary');
  if (!primary) return { verdict: 'inconclusive', reasons: ['The experiment has no primary metric to decide on.'] };
  const guardrails = results.metrics.filter((m) => m.role === 'guardrail');
  const { minSamplePerVariant } = experiment.analysis;

  const short = primary.variants.filter((v) => v.units < minSamplePerVariant);
  if (short.length > 0) {
    const unit = primary.variants.some((v) => v.responders !== undefined) ? 'responders' : 'customers';
    return inconclusive(
      results,
      experiment,
      primary,
      [`Too little data: ${short.map((v) => `"${v.variant}" has ${v.units} ${unit}`).join(', ')}, below the minimum of ${minSamplePerVariant} per variant.`],
      now,
    );
  }

  const harms = (variant: string) =>
    guardrails.flatMap((metric) => metric.comparisons.filter((c) => c.variant === variant && c.better === false).map((c) => ({ metric, comparison: c })));

  const winners = primary.comparisons.filter((c) => c.better === true && harms(c.variant).length === 0);
  if (winners.length > 0) {
    const value = (c: Comparison) => estimate(primary, c.variant)?.value ?? 0;
    const best = winners.reduce((a, b) => (primary.direction === 'increase' ? (value(b) > value(a) ? b : a) : value(b) < value(a) ? b : a));
    const reasons = [`${describe(primary, best)}: significantly better on the primary metric (${direction(primary)}).`];
    if (winners.length > 1) {
      reasons.push(`Other winners (${winners.filter((c) => c !== best).map((c) => `"${c.variant}"`).join(', ')}) have a weaker primary estimate.`);
    }
    reasons.push(
      guardrails.length > 0
        ? `No guardrail (${guardrails.map(label).join(', ')}) is significantly worse for "${best.variant}".`
        : 'The experiment has no guardrail metrics.',
    );
    return { verdict: 'ship', variant: best.variant, reasons };
  }

  const allHarms = primary.comparisons.flatMap((c) => harms(c.variant));
  const worse = primary.comparisons.filter((c) => c.better === false);
  const everyTreatmentWorse = primary.comparisons.length > 0 && worse.length === primary.comparisons.length;
  if (allHarms.length > 0 || everyTreatmentWorse) {
    const reasons = allHarms.map(({ metric, comparison }) => `Guardrail harmed: ${describe(metric, comparison)}; ${direction(metric)}.`);
    if (everyTreatmentWorse) reasons.push(...worse.map((c) => `${describe(primary, c)}: significantly worse on the primary metric (${direction(primary)}).`));
    else {
      const otherwise = primary.comparisons.filter((c) => c.better === true);
      if (otherwise.length > 0) reasons.push(`${otherwise.map((c) => `"${c.variant}"`).join(', ')} improved the ${label(primary)} but harmed a guardrail, which rules it out.`);
    }
    return { verdict: 'keep_control', variant: results.controlVariant, reasons };
  }

  const reasons = primary.comparisons.map((c) =>
    c.pValue === null ? `"${c.variant}" cannot be compared with "${c.baseline}" on the ${label(primary)} yet: too little variation in the data.` : `No significant difference: ${describe(primary, c)}.`,
  );
  return inconclusive(results, experiment, primary, reasons, now);
}
