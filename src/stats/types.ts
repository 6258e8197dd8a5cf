/**
 * Public input and output types of the statistics engine.
 *
 * Every JSON-facing number is finite or, where documented, `null`; never NaN.
 * Intervals are `[lower, upper]` tuples.
 */

/** A closed interval `[lower, upper]`. */
export type Interval = [number, number];

/** Successes out of trials (e.g. customers who clicked out of customers assigned). */
export interface ProportionSample {
  successes: number;
  trials: number;
}

export interface TwoProportionTestInput {
  control: ProportionSample;
  treatment: ProportionSample;
  /** Two-sided significance level in (0, 1); default 0.05. */
  alpha?: number;
}

export interface TwoProportionTestResult {
  controlRate: number;
  treatmentRate: number;
  /** treatmentRate − controlRate. */
  absoluteLift: number;
  /** treatmentRate / controlRate − 1, or `null` when the control rate is 0. */
  relativeLift: number | null;
  /** (pT − pC) / pooled standard error; 0 when the pooled standard error is 0. */
  zScore: number;
  pValue: number;
  /** Unpooled Wald interval of treatmentRate − controlRate. */
  ci: Interval;
  /** Delta-method interval of the relative lift, or `null` when the control rate is 0. */
  relativeCi: Interval | null;
  significant: boolean;
}

/** Summary of a numeric metric in one arm: sample size, mean and sample variance (n − 1). */
export interface MeanSample {
  n: number;
  mean: number;
  variance: number;
}

export interface WelchTTestInput {
  control: MeanSample;
  treatment: MeanSample;
  alpha?: number;
}

export interface WelchTTestResult {
  /** treatment.mean − control.mean. */
  difference: number;
  /** difference / control.mean, or `null` when the control mean is 0. */
  relativeLift: number | null;
  /** difference / standard error; ±Infinity when both variances are 0 and the means differ, 0 when they are equal. */
  tStatistic: number;
  /** Welch–Satterthwaite degrees of freedom (nC + nT − 2 when both variances are 0). */
  degreesOfFreedom: number;
  pValue: number;
  ci: Interval;
  /** Delta-method interval of the relative lift, or `null` when the control mean is 0. */
  relativeCi: Interval | null;
  significant: boolean;
}

/** Net Promoter Score answer counts (promoters 9–10, passives 7–8, detractors 0–6). */
export interface NpsCounts {
  promoters: number;
  passives: number;
  detractors: number;
}

export interface NpsTestInput {
  control: NpsCounts;
  treatment: NpsCounts;
  alpha?: number;
}

export interface NpsTestResult {
  /** NPS in points, −100 to 100. */
  controlNps: number;
  treatmentNps: number;
  /** treatmentNps − controlNps, in points. */
  difference: number;
  standardError: number;
  /** difference / standardError; ±Infinity when the standard error is 0 and the scores differ, 0 when equal. */
  zScore: number;
  pValue: number;
  ci: Interval;
  significant: boolean;
}

export interface MannWhitneyTestInput {
  /** Counts per ordered scale point (e.g. index 0 = score 1 … index 4 = score 5). */
  control: number[];
  /** Counts per scale point, same scale (same length) as `control`. */
  treatment: number[];
}

export interface MannWhitneyTestResult {
  /** U statistic of the treatment sample: pairs where treatment > control, plus half the ties. */
  u: number;
  /** Tie- and continuity-corrected z; positive when treatment tends to score higher. */
  zScore: number;
  pValue: number;
}

export interface SrmTestInput {
  /** Customers assigned to each variant. */
  observed: number[];
  /** Configured traffic weights (positive; normalised to sum 1). */
  weights: number[];
}

export interface ChiSquareResult {
  chiSquare: number;
  degreesOfFreedom: number;
  pValue: number;
}

export interface SrmTestResult extends ChiSquareResult {
  /** true when pValue < 0.001 (sample ratio mismatch: assignment is broken). */
  mismatch: boolean;
}

export type PValueAdjustmentMethod = 'holm' | 'benjamini-hochberg' | 'none';

export interface ChanceToBeatControlInput {
  control: ProportionSample;
  treatment: ProportionSample;
}

export interface AlwaysValidPValueInput {
  /** Observed difference of the two arms (treatment − control), in the metric's units. */
  difference: number;
  /** Variance of the difference estimate, V = Var(treatment) / nT + Var(control) / nC. */
  variance: number;
  /** Mixing variance τ² of the mSPRT normal mixture, in squared metric units; default DEFAULT_TAU2. */
  tau2?: number;
}

export interface SampleSizePerVariantInput {
  /** Control conversion rate p₁ in (0, 1). */
  baselineRate: number;
  /** Relative lift to detect: p₂ = p₁ · (1 + MDE). */
  minimumDetectableEffect: number;
  alpha?: number;
  power?: number;
}

export interface SampleSizeForMeansInput {
  standardDeviation: number;
  /** Absolute difference of means to detect. */
  minimumDetectableDifference: number;
  alpha?: number;
  power?: number;
}

export interface SampleSizeResult {
  /** Customers needed in each variant (rounded up). */
  n: number;
}

/** Aggregates the service keeps per experiment × variant × metric. */
export interface SumStatistics {
  /** Number of per-customer values summed. */
  count: number;
  sum: number;
  sumSquares: number;
}

/** Score → count, e.g. `{"1": 3, "5": 10}`. */
export type Histogram = Readonly<Record<string, number>>;

export interface TopBoxCounts {
  successes: number;
  trials: number;
}

/**
 * Per-customer sums of a ratio metric in one arm: n customers, each with a numerator x and a
 * denominator y (e.g. reopened tickets and resolved tickets), as Σx, Σy, Σx², Σy², Σxy.
 */
export interface RatioSums {
  n: number;
  sumX: number;
  sumY: number;
  sumX2: number;
  sumY2: number;
  sumXY: number;
}

/** A ratio R = x̄/ȳ with its delta-method variance Var(R). */
export interface RatioSample {
  n: number;
  ratio: number;
  /** Var(R) = (s²x − 2R·sxy + R²·s²y) / (n·ȳ²), sample (co)variances with n − 1. */
  variance: number;
}

export interface RatioTestInput {
  control: RatioSums;
  treatment: RatioSums;
  alpha?: number;
}

/**
 * The z-test of two independent estimates, each with its variance (src/stats/independent-difference.ts):
 * the difference treatment − control, its interval and two-sided p-value, and the relative lift
 * treatment / control − 1 with its delta-method interval (`null` when the control estimate is 0).
 */
export interface IndependentDifference {
  difference: number;
  relativeLift: number | null;
  standardError: number;
  /** difference / standardError; ±Infinity when the standard error is 0 and the estimates differ, 0 when equal. */
  zScore: number;
  pValue: number;
  ci: Interval;
  relativeCi: Interval | null;
}

/** Ratios: the difference of treatmentRatio and controlRatio. */
export interface RatioTestResult extends IndependentDifference {
  controlRatio: number;
  treatmentRatio: number;
  significant: boolean;
}

/**
 * A mergeable quantile sketch (DDSketch, Masson, Rim & Lee 2019) with relative accuracy 0.5%, as a
 * plain object a document can hold: bucket i of `pos` counts the positive values in (γ^(i−1), γ^i],
 * `neg` the same for −value, `zero` the values with |value| below the smallest bucket. Bucket keys are
 * integers as strings (no "." and no leading "$", so `$inc: {"pos.412": 1}` updates one).
 */
export interface QuantileSketch {
  /** Number of values. */
  n: number;
  zero: number;
  pos: Record<string, number>;
  neg: Record<string, number>;
  /** Smallest and largest value seen (`null` while empty): estimates never leave [min, max]. */
  min: number | null;
  max: number | null;
}

export interface QuantileEstimate {
  /** Number of observations. */
  n: number;
  /** The q-quantile (linear interpolation between order statistics, as numpy's default), within 0.5% relative. */
  estimate: number;
  /** Normal approximation to the order-statistic interval: ranks n·q ± z·√(n·q·(1 − q)). */
  ci: Interval;
  /** Variance of the estimate implied by the interval: ((upper − lower) / (2z))². */
  variance: number;
}

export interface QuantileTestInput {
  control: QuantileSketch;
  treatment: QuantileSketch;
  /** The quantile q in (0, 1), e.g. 0.5 for the median. */
  quantile: number;
  alpha?: number;
}

/** Quantiles: the difference of the treatment's and the control's q-quantile. */
export interface QuantileTestResult extends IndependentDifference {
  control: QuantileEstimate;
  treatment: QuantileEstimate;
  significant: boolean;
}

/** Per-customer totals above the cap count as the cap. */
export type Capping = { type: 'absolute'; value: number } | { type: 'percentile'; value: number };

/** Sufficient statistics of CUPED for one arm: n customers, metric Y in the experiment, covariate X before it. */
export interface CupedSums {
  n: number;
  sumY: number;
  sumX: number;
  sumY2: number;
  sumX2: number;
  sumXY: number;
}

export interface CupedArm {
  n: number;
  /** Unadjusted mean and sample variance of Y. */
  mean: number;
  variance: number;
  /** Ȳ − θ(X̄ᵥ − X̄), X̄ the pooled covariate mean. */
  adjustedMean: number;
  /** Sample variance of Y − θX: s²Y − 2θ·sXY + θ²·s²X. */
  adjustedVariance: number;
  /** 1 − adjustedVariance / variance (0 when Y is constant). */
  varianceReduction: number;
}

export interface CupedResult {
  /** θ = cov(Y, X) / var(X) over all arms pooled; 0 when X is constant. */
  theta: number;
  /** Pooled covariate mean X̄. */
  covariateMean: number;
  arms: CupedArm[];
  /** 1 − Σ adjustedVariance/n / Σ variance/n over the arms: how much the variance of a comparison shrinks. */
  varianceReduction: number;
}

export interface MetricWindow {
  /** ISO-8601 duration after assignment before the window opens; default PT0S. */
  delay?: string;
  /** ISO-8601 duration the window stays open; absent: until the analysis ends. */
  duration?: string;
}

/** A window in milliseconds: [assignedAt + delayMs, assignedAt + delayMs + durationMs). */
export interface WindowSpan {
  delayMs: number;
  /** `null`: open until the analysis ends. */
  durationMs: number | null;
}
