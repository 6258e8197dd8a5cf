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
