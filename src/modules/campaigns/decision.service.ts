// Chooses the variant the rest of the audience gets: named by hand, or from the experiment's results
// (verdict "ship" on the policy's metric picks its variant), otherwise as winnerPolicy.onInconclusive says.
import { aggregatesRepository, ASSIGNED, type AggregateRecord } from '../aggregates';
import { metricsOf, type ExperimentRecord } from '../experiments';
import { looksService, type ExperimentResults, type MetricResult } from '../results';
import type { CampaignDecision, CampaignRecord } from './campaigns.model';


/** Observed value per variant from the aggregates, for send_best when no results are available. */
function observedFromAggregates(experiment: ExperimentRecord, metric: string, aggregates: AggregateRecord[]): Map<string, number | null> {
  const definition = metricsOf(experiment.metrics)[metric];
  const values = new Map<string, number | null>();
  for (const variant of experiment.variants) {
    const find = (m: string) => aggregates.find((a) => a.variant === variant.key && a.metric === m);
    const a = find(metric);
    const assigned = find(ASSIGNED)?.units ?? 0;
    let value: number | null = null;
    if (definition?.kind === 'binomial') value = assigned > 0 ? (a?.units ?? 0) / assigned : null;
    else if (definition?.kind === 'nps') {
      const h = a?.histogram ?? {};
      const n = a?.units ?? 0;
      const promoters = (h['9'] ?? 0) + (h['10'] ?? 0);
      const detractors = [0, 1, 2, 3, 4, 5, 6].reduce((sum, s) => sum + (h[String(s)] ?? 0), 0);
      value = n > 0 ? (100 * (promoters - detractors)) / n : null;
    } else if (a && a.units > 0) value = a.sum / a.units;
    values.set(variant.key, value);
  }
  return values;
}

function best(experiment: ExperimentRecord, metric: string, values: Map<string, number | null>): string {
  const direction = metricsOf(experiment.metrics)[metric]?.direction ?? 'increase';
  let chosen = experiment.controlVariant;
  let chosenValue = values.get(chosen) ?? null;
  for (const variant of experiment.variants) {
    const value = values.get(variant.key) ?? null;
    if (value === null) continue;
    // Strictly better only: on a tie the control stays.
    if (chosenValue === null || (direction === 'increase' ? value > chosenValue : value < chosenValue)) {
      chosen = variant.key;
      chosenValue = value;
    }
  }
  return chosen;
}

/** A significant winner on a metric other than the primary: the best variant significantly better than control. */
function winnerOn(metric: MetricResult): string | undefined {
  const winners = metric.comparisons.filter((c) => c.better === true && c.significant);
  if (winners.length === 0) return undefined;
  const value = (variant: string) => metric.variants.find((v) => v.variant === variant)?.value ?? 0;
  winners.sort((a, b) => (metric.direction === 'increase' ? value(b.variant) - value(a.variant) : value(a.variant) - value(b.variant)));
  return winners[0].variant;
}

export const decisionService = {
  async decide(campaign: CampaignRecord, experiment: ExperimentRecord, by: 'manual' | 'auto', actor: string, variant?: string): Promise<CampaignDecision> {
    const metric = campaign.winnerPolicy.metric ?? experiment.metrics.primary;
    const base = { at: new Date(), by, actor, metric };
    if (variant !== undefined) return { ...base, rule: 'manual', variant, reasons: [`variant "${variant}" named by ${actor}`] };

    const reasons: string[] = [];
    let results: ExperimentResults | null = null;
    try {
      // Deciding from the results is a look: its sequential minima are recorded and webhooks hear of it.
      results = (await looksService.recordLook(experiment._id, 'campaign_decision')).results;
    } catch (error) {
      reasons.push(`results could not be computed: ${(error as Error).message}`);
    }
    let resultsVerdict: string | undefined;
    if (results) {
      if (metric === experiment.metrics.primary) {
        resultsVerdict = results.decision.verdict;
        if (results.decision.verdict === 'ship' && results.decision.variant) {
          return { ...base, rule: 'ship', variant: results.decision.variant, resultsVerdict, reasons: results.decision.reasons };
        }
        reasons.push(`results verdict is "${results.decision.verdict}"`, ...results.decision.reasons);
      } else {
        const metricResult = results.metrics.find((m) => m.metric === metric);
        const winner = metricResult ? winnerOn(metricResult) : undefined;
        resultsVerdict = winner ? 'ship' : 'inconclusive';
        if (winner) return { ...base, rule: 'ship', variant: winner, resultsVerdict, reasons: [`"${winner}" is significantly better than the control on ${metric}`] };
        reasons.push(metricResult ? `no variant is significantly better than the control on ${metric}` : `the results do not report metric "${metric}"`);
      }
    }

    const rule = campaign.winnerPolicy.onInconclusive;
    const extra = resultsVerdict !== undefined ? { resultsVerdict } : {};
    if (rule === 'hold') return { ...base, rule, ...extra, reasons: [...reasons, 'policy is to hold: name the variant with POST send-winner {variant}'] };
    if (rule === 'send_control') return { ...base, rule, variant: experiment.controlVariant, ...extra, reasons: [...reasons, 'policy sends the control when the test is inconclusive'] };
    const results_ = results?.metrics.find((m) => m.metric === metric);
    const values = results_
      ? new Map(results_.variants.map((v) => [v.variant, v.value]))
      : observedFromAggregates(experiment, metric, await aggregatesRepository.forExperiment(experiment));
    const chosen = best(experiment, metric, values);
    return { ...base, rule, variant: chosen, ...extra, reasons: [...reasons, `policy sends the best observed variant on ${metric}: "${chosen}"`] };
  },
};
