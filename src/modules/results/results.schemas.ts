import { z } from 'zod';
import { isoDate } from '../../lib/schemas';
import { experimentView } from '../experiments';

// Rollout and rollback may be called without a body; absent means "the decision's variant, not forced".
export const rolloutBody = z
  .strictObject({
    variant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a variant key').optional(),
    force: z.boolean().optional(),
  })
  .optional()
  .transform((body) => body ?? {});
export type RolloutInput = z.infer<typeof rolloutBody>;

export const rollbackBody = z.strictObject({}).optional();

// Answers (the API reference, src/lib/openapi.ts): the contract of results.types.ts.

export const interval = z.tuple([z.number(), z.number()]).meta({ description: '[low, high]' });
export const METRIC_KINDS = ['binomial', 'mean', 'nps', 'ordinal', 'ratio', 'quantile'] as const;
export const METRIC_ROLES = ['primary', 'secondary', 'guardrail'] as const;
export const DIRECTIONS = ['increase', 'decrease'] as const;
export const METHODS = ['frequentist', 'sequential', 'bayesian'] as const;

const variantEstimate = z.object({
  variant: z.string(),
  units: z.number().int().meta({ description: 'customers the estimate is over: assigned customers, or responders for survey metrics' }),
  value: z.number().nullable().meta({ description: 'rate (binomial), mean (mean, ordinal) or NPS points (nps)' }),
  ci: interval.nullable(),
  responders: z.number().int().optional(),
  distribution: z.record(z.string(), z.number()).optional().meta({ description: 'survey metrics: answers per score' }),
  topBox: z.object({ successes: z.number(), trials: z.number(), rate: z.number().nullable(), ci: interval.nullable() }).optional().meta({ description: 'CSAT: top-2-box share among responders' }),
  standardDeviation: z.number().nullable().optional(),
  analysedUnits: z.number().int().optional().meta({ description: 'event metrics: customers analysed; for a windowed metric only those whose window has ended by the analysis end (judged per assignment day)' }),
  numerator: z.number().optional().meta({ description: 'ratio metrics: Σ numerator over the analysed customers' }),
  denominator: z.number().optional().meta({ description: 'ratio metrics: Σ denominator over the analysed customers' }),
  observations: z.number().int().optional().meta({ description: 'quantile metrics: the matching events observed' }),
  adjustedValue: z.number().nullable().optional().meta({ description: 'CUPED: the mean of Y − θ(X − X̄), which the comparison uses (value stays unadjusted)' }),
});

const comparison = z.object({
  variant: z.string(),
  baseline: z.string(),
  absoluteLift: z.number().nullable(),
  relativeLift: z.number().nullable(),
  ci: interval.nullable(),
  relativeCi: interval.nullable(),
  pValue: z.number().nullable(),
  adjustedPValue: z.number().nullable(),
  significant: z.boolean(),
  chanceToBeatControl: z.number().optional().meta({ description: 'bayesian method, binomial metrics' }),
  fixedHorizonPValue: z.number().nullable().optional().meta({ description: 'sequential method: the classic p-value beside the always-valid one in pValue' }),
  better: z.boolean().nullable().meta({ description: "true: significantly better in the metric's direction; false: significantly worse; null: no evidence" }),
  robustness: z.record(z.string(), z.object({ pValue: z.number(), statistic: z.number().optional() })).optional(),
  unadjusted: z
    .object({ absoluteLift: z.number().nullable(), relativeLift: z.number().nullable(), ci: interval.nullable(), pValue: z.number().nullable() })
    .optional()
    .meta({ description: 'CUPED: the comparison without the adjustment (the fields above are adjusted)' }),
});

export const decision = z
  .object({
    verdict: z.enum(['ship', 'keep_control', 'inconclusive', 'invalid']),
    variant: z.string().optional(),
    reasons: z.array(z.string()),
    additionalUnitsNeeded: z.number().optional(),
    estimatedDaysToDecision: z.number().optional(),
  })
  .meta({ id: 'Decision' });

const metricResult = z.object({
  metric: z.string(),
  role: z.enum(METRIC_ROLES),
  kind: z.enum(METRIC_KINDS),
  direction: z.enum(DIRECTIONS),
  test: z.string(),
  label: z.string().optional().meta({ description: "how people read the metric's name (a library metric's name)" }),
  match: z.literal('none').optional().meta({ description: 'proportion metrics read as the share of customers without a matching event (churn)' }),
  window: z.object({ delayMs: z.number(), durationMs: z.number().nullable() }).optional().meta({ description: 'windowed metrics, relative to each assignment' }),
  quantile: z.number().optional(),
  capping: z.object({ type: z.enum(['absolute', 'percentile']), value: z.number(), cap: z.number().optional() }).optional().meta({ description: 'capped means: the cap applied (a percentile cap is read off the pooled customers)' }),
  cuped: z
    .object({ lookback: z.string(), theta: z.number(), varianceReduction: z.number() })
    .optional()
    .meta({ description: 'CUPED-adjusted metrics: θ = cov(Y, X)/var(X) pooled over the variants, and the share of the variance removed' }),
  variants: z.array(variantEstimate),
  comparisons: z.array(comparison),
});

export const holdoutResult = z
  .object({
    variant: z.string().meta({ description: 'the no-send arm: "holdout"' }),
    assigned: z.number().int().meta({ description: 'customers held out (sent nothing)' }),
    verdict: z.enum(['sending_helps', 'sending_hurts', 'inconclusive']).meta({
      description:
        'sending_helps: a sent variant is significantly better than sending nothing on the primary metric and worse on no guardrail; sending_hurts: none is, and one is significantly worse on the primary or a guardrail; metrics of the message itself (opens, clicks, unsubscribes, complaints) are shown but never decide it',
    }),
    helping: z.array(z.string()).meta({ description: 'variants for which sending helps' }),
    hurting: z.array(z.string()).meta({ description: 'variants for which sending hurts' }),
    reasons: z.array(z.string()),
    metrics: z.array(metricResult).meta({ description: 'the primary metric and the guardrails: the holdout first among the estimates, each sent variant compared with it (baseline "holdout")' }),
  })
  .meta({ id: 'HoldoutResult' });

export const experimentResults = z
  .object({
    experiment: z.string(),
    name: z.string(),
    status: z.string(),
    generatedAt: z.iso.datetime(),
    asOf: z.iso.datetime().optional().meta({ description: 'everything acknowledged before this time is counted' }),
    pending: z.number().int().optional().meta({ description: 'records acknowledged but not counted yet' }),
    complete: z.boolean().optional().meta({ description: 'false when the read did not wait for everything acknowledged before it (?stale=ok, or 5 s passed)' }),
    method: z.enum(METHODS),
    alpha: z.number(),
    correction: z.enum(['holm', 'benjamini-hochberg', 'none']),
    controlVariant: z.string(),
    health: z.object({
      srm: z.object({ chiSquare: z.number(), pValue: z.number(), mismatch: z.boolean(), applied: z.boolean() }),
      unitsByVariant: z.record(z.string(), z.number()),
      warnings: z.array(z.string()),
    }),
    metrics: z.array(metricResult),
    holdout: holdoutResult.optional().meta({ description: 'with customers in a campaign holdout: does sending help at all (each sent variant against sending nothing); never part of the decision between variants' }),
    decision,
  })
  .meta({ id: 'ExperimentResults' });

export const resultsQuery = z.object({
  dimension: z.string().max(64).optional().meta({ description: 'one of the experiment\'s dimensions: the results per value of it (segments) instead of the whole' }),
});

export const sliceResult = z.object({
  value: z.string().meta({ description: 'the dimension\'s value; "(other)" past its first 20 values, "(none)" for customers without it' }),
  variants: z.array(z.object({ variant: z.string(), assigned: z.number().int() })),
  srm: z.object({ chiSquare: z.number(), pValue: z.number(), mismatch: z.boolean(), applied: z.boolean() }),
  metrics: z.array(metricResult),
});

export const slicedResults = z
  .object({
    experiment: z.string(),
    dimension: z.string(),
    generatedAt: z.iso.datetime(),
    asOf: z.iso.datetime().optional(),
    pending: z.number().int().optional(),
    complete: z.boolean().optional(),
    method: z.enum(METHODS),
    alpha: z.number(),
    correction: z.enum(['holm', 'benjamini-hochberg', 'none']).meta({ description: 'applied over slices × metrics × treatments' }),
    controlVariant: z.string(),
    warnings: z.array(z.string()),
    slices: z.array(sliceResult),
  })
  .meta({ id: 'SlicedResults' });

export const recomputeResult = z.object({
  recomputed: z.object({ assigned: z.number().int(), units: z.number().int(), aggregates: z.number().int() }).meta({ description: 'what the rebuild counted' }),
  results: experimentResults,
});

export const rolloutResult = z.object({
  experiment: experimentView,
  rollout: z.object({ variant: z.string(), at: isoDate, by: z.string() }),
  forced: z.boolean(),
  decision,
});
