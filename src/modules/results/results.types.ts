// The results contract (GET /v1/experiments/:key/results): what the JSON, the CSV and the HTML report show.
import type { Direction, MetricKind } from '../experiments';

export type Interval = [number, number];
export type Verdict = 'ship' | 'keep_control' | 'inconclusive' | 'invalid';

export interface VariantEstimate {
  variant: string;
  /** Customers the estimate is over: assigned customers, or responders for survey metrics. */
  units: number;
  /** Rate (binomial), mean (mean, ordinal), or NPS points (nps). */
  value: number | null;
  ci: Interval | null;
  /** Survey metrics: customers who answered, and the score histogram. */
  responders?: number;
  distribution?: Record<string, number>;
  /** CSAT: top-2-box share among responders. */
  topBox?: { successes: number; trials: number; rate: number | null; ci: Interval | null };
  /** Mean, ordinal and NPS metrics: standard deviation of the per-customer values (NPS: answers recoded ±100). */
  standardDeviation?: number | null;
  /** Event metrics: the customers analysed (for a windowed metric, those whose window has ended by the analysis end). */
  analysedUnits?: number;
  /** Ratio metrics: Σ numerator and Σ denominator over the analysed customers. */
  numerator?: number;
  denominator?: number;
  /** Quantile metrics: the events observed. */
  observations?: number;
  /** CUPED: the mean of Y − θ(X − X̄), what the comparison uses. */
  adjustedValue?: number | null;
}

export interface Comparison {
  variant: string;
  baseline: string;
  absoluteLift: number | null;
  relativeLift: number | null;
  ci: Interval | null;
  relativeCi: Interval | null;
  pValue: number | null;
  adjustedPValue: number | null;
  significant: boolean;
  /** Bayesian method, binomial metrics: posterior probability that the variant is better in the metric's direction. */
  chanceToBeatControl?: number;
  /** Sequential method: the classic fixed-horizon p-value, shown beside the always-valid one in pValue. */
  fixedHorizonPValue?: number | null;
  /** true: better in the metric's direction and significant; false: significantly worse; null: no evidence. */
  better: boolean | null;
  /** Robustness checks shown beside the main test (Mann–Whitney for CSAT/CES, top-2-box for CSAT). */
  robustness?: Record<string, { pValue: number; statistic?: number }>;
  /** CUPED: the comparison without the adjustment (the fields above are adjusted). */
  unadjusted?: { absoluteLift: number | null; relativeLift: number | null; ci: Interval | null; pValue: number | null };
}

export interface MetricResult {
  metric: string;
  role: 'primary' | 'secondary' | 'guardrail';
  kind: MetricKind;
  direction: Direction;
  test: string;
  /** How people read its name: the library definition's name, or the built-in's label. */
  label?: string;
  /** Proportion metrics read as the share without a matching event (churn). */
  match?: 'none';
  /** Windowed metrics: [assignedAt + delay, + duration) in ms; only customers whose window has ended are analysed. */
  window?: { delayMs: number; durationMs: number | null };
  /** Quantile metrics: which quantile. */
  quantile?: number;
  /** Capped mean metrics: the cap applied (for a percentile cap, read off the pooled customers). */
  capping?: { type: 'absolute' | 'percentile'; value: number; cap?: number };
  /** CUPED: θ pooled over the variants, and the share of the variance the adjustment removed. */
  cuped?: { lookback: string; theta: number; varianceReduction: number };
  variants: VariantEstimate[];
  comparisons: Comparison[];
}

export interface Decision {
  verdict: Verdict;
  variant?: string;
  reasons: string[];
  additionalUnitsNeeded?: number;
  estimatedDaysToDecision?: number;
}

/** Each sent variant against a campaign's holdout (sent nothing): does sending help at all (results.holdout.ts). */
export interface HoldoutResult {
  variant: string;
  /** Customers in the no-send arm. */
  assigned: number;
  /** sending_helps: a variant beats sending nothing on the primary, harming no guardrail; sending_hurts: none does and one is worse. */
  verdict: 'sending_helps' | 'sending_hurts' | 'inconclusive';
  helping: string[];
  hurting: string[];
  reasons: string[];
  /** Primary and guardrails: the holdout first among the estimates; comparisons have the holdout as baseline. */
  metrics: MetricResult[];
}

export interface ExperimentResults {
  experiment: string;
  name: string;
  status: string;
  generatedAt: string;
  /** Everything acknowledged before this time is counted (read your writes; docs/counting.md). */
  asOf?: string;
  /** Records acknowledged but not yet counted when the answer was made. */
  pending?: number;
  /** False when the answer did not wait for everything acknowledged before the read (`?stale=ok`, or 5 s passed). */
  complete?: boolean;
  method: 'frequentist' | 'sequential' | 'bayesian';
  alpha: number;
  correction: 'holm' | 'benjamini-hochberg' | 'none';
  controlVariant: string;
  health: {
    /** applied: false while too few customers are expected per variant for the test to mean anything. */
    srm: { chiSquare: number; pValue: number; mismatch: boolean; applied: boolean };
    unitsByVariant: Record<string, number>;
    warnings: string[];
  };
  metrics: MetricResult[];
  /** Present when customers are in a campaign's holdout: sending against sending nothing. */
  holdout?: HoldoutResult;
  decision: Decision;
}

/** One value of a dimension (GET .../results?dimension=): its variants, its SRM check and its metrics. */
export interface SliceResult {
  value: string;
  variants: { variant: string; assigned: number }[];
  srm: ExperimentResults['health']['srm'];
  metrics: MetricResult[];
}

export interface SlicedResults {
  experiment: string;
  dimension: string;
  generatedAt: string;
  asOf?: string;
  pending?: number;
  complete?: boolean;
  method: ExperimentResults['method'];
  alpha: number;
  /** Applied over slices × metrics × treatments together. */
  correction: ExperimentResults['correction'];
  controlVariant: string;
  warnings: string[];
  slices: SliceResult[];
}
