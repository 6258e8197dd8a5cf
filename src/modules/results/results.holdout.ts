// "Does sending help at all": each sent variant against a campaign's holdout (customers assigned to the
// no-send arm HOLDOUT_VARIANT, sent nothing), on the primary metric and the guardrails. Pure: no I/O.
// Kept apart from the comparison between variants: the holdout is not a variant of the experiment, so the
// variants' estimates, the sample ratio check, the correction family and the decision never include it
// (docs/decisions.md#holdout-does-sending-help-at-all).
import { adjustPValues } from '../../stats';
import { HOLDOUT_VARIANT, metricLabel, metricsOf, type ExperimentRecord } from '../experiments';
import type { AggregateRecord } from '../aggregates';
import { AggregateIndex, analyseMetric, formatPercent, pPhrase, reportedMetrics, type Context } from './results.analysis';
import type { HoldoutResult, MetricResult } from './results.types';

/**
 * Metrics of the message itself: nobody opens, clicks, unsubscribes from or complains about a message they
 * were not sent, so against the holdout they only measure the sending. They are reported, but the verdict
 * rests on the outcome metrics (conversion, surveys, custom metrics).
 */
export const MESSAGE_METRICS: readonly string[] = ['email_open', 'email_open_human', 'email_click', 'unsubscribe', 'complaint'];

function lift(metric: MetricResult, comparison: MetricResult['comparisons'][number]): string {
  if (comparison.absoluteLift === null) return '';
  const sign = comparison.absoluteLift > 0 ? '+' : '';
  const amount = metric.kind === 'binomial' ? `${sign}${(comparison.absoluteLift * 100).toFixed(1)} points` : `${sign}${Number(comparison.absoluteLift.toPrecision(3))}`;
  return ` (${amount}, ${pPhrase('p', comparison.adjustedPValue ?? comparison.pValue ?? 1)})`;
}

/**
 * The holdout comparison, or undefined when nobody is in the holdout. Fixed-horizon tests at the
 * experiment's alpha whatever its method (a read stores no sequential state); the primary's comparisons
 * are corrected together with the experiment's correction, guardrails are not (any harm counts).
 */
export function analyseHoldout(experiment: ExperimentRecord, aggregates: AggregateRecord[]): HoldoutResult | undefined {
  const index = new AggregateIndex(aggregates);
  const assigned = index.assigned(HOLDOUT_VARIANT);
  if (assigned === 0) return undefined;
  const arm = { key: HOLDOUT_VARIANT, name: 'holdout (sent nothing)', weight: 0, content: {} };
  const ctx: Context = {
    experiment: { ...experiment, variants: [arm, ...experiment.variants] },
    index,
    control: HOLDOUT_VARIANT,
    treatments: experiment.variants.map((v) => v.key),
    alpha: experiment.analysis.alpha,
    bayesian: experiment.analysis.method === 'bayesian',
  };
  const definitions = metricsOf(experiment.metrics);
  const metrics: MetricResult[] = reportedMetrics(experiment)
    .filter(({ role }) => role !== 'secondary')
    .flatMap(({ key, role }) => {
      const definition = definitions[key];
      if (!definition) return [];
      const { variants, drafts, test } = analyseMetric(ctx, definition);
      return [{ metric: key, role, kind: definition.kind, direction: definition.direction, test, variants, comparisons: drafts.map((d) => d.comparison) }];
    });

  for (const metric of metrics) {
    const tested = metric.comparisons.filter((c) => c.pValue !== null);
    const adjusted = metric.role === 'primary' ? adjustPValues(tested.map((c) => c.pValue!), experiment.analysis.correction) : tested.map((c) => c.pValue!);
    tested.forEach((c, i) => (c.adjustedPValue = adjusted[i]!));
    for (const c of metric.comparisons) {
      c.significant = c.adjustedPValue !== null && c.adjustedPValue < experiment.analysis.alpha;
      c.better = c.significant && c.absoluteLift !== null && c.absoluteLift !== 0 ? c.absoluteLift > 0 === (metric.direction === 'increase') : null;
    }
  }

  const primary = metrics.find((m) => m.role === 'primary' && !MESSAGE_METRICS.includes(m.metric));
  const guardrails = metrics.filter((m) => m.role === 'guardrail' && !MESSAGE_METRICS.includes(m.metric));
  const reasons: string[] = [];
  if (!primary) {
    reasons.push(
      `The primary metric ${metricLabel(experiment.metrics.primary, definitions[experiment.metrics.primary]?.kind ?? 'binomial')} is measured on the message itself, which the holdout never gets: whether sending helps needs an outcome metric (conversion, a survey, a custom metric) as the primary.`,
    );
  }
  const helping: string[] = [];
  const hurting: string[] = [];
  for (const variant of primary ? ctx.treatments : []) {
    const main = primary?.comparisons.find((c) => c.variant === variant);
    const harms = guardrails.filter((g) => g.comparisons.find((c) => c.variant === variant)?.better === false);
    const label = metricLabel(primary!.metric, primary!.kind);
    if (main?.better === true && harms.length === 0) {
      helping.push(variant);
      reasons.push(`Sending "${variant}" raises the ${label} over sending nothing${lift(primary!, main)}.`);
    } else if (main?.better === false || harms.length > 0) {
      hurting.push(variant);
      if (main?.better === false) reasons.push(`Sending "${variant}" lowers the ${label} against sending nothing${lift(primary!, main)}.`);
      for (const g of harms) reasons.push(`Sending "${variant}" worsens the guardrail ${metricLabel(g.metric, g.kind)} against sending nothing${lift(g, g.comparisons.find((c) => c.variant === variant)!)}.`);
      if (main?.better === true) reasons.push(`"${variant}" raises the ${label}, but at that cost.`);
    } else {
      reasons.push(`No evidence yet that sending "${variant}" changes the ${label} against sending nothing.`);
    }
  }
  const units = Object.fromEntries(ctx.experiment.variants.map((v) => [v.key, index.assigned(v.key)]));
  const sent = ctx.treatments.reduce((sum, v) => sum + units[v], 0);
  if (sent + assigned > 0) reasons.push(`The holdout is ${formatPercent(assigned / (sent + assigned))} of the measured customers (${assigned} held out, ${sent} sent a variant).`);

  return {
    variant: HOLDOUT_VARIANT,
    assigned,
    verdict: helping.length > 0 ? 'sending_helps' : hurting.length > 0 ? 'sending_hurts' : 'inconclusive',
    helping,
    hurting,
    reasons,
    metrics,
  };
}
