/**
 * Verdict statistics engine: pure functions, no I/O. See docs/statistics.md for every formula.
 */
export * from './types';
export { twoProportionTest } from './proportions';
export { welchTTest } from './means';
export { npsTest } from './nps';
export { mannWhitneyTest } from './mann-whitney';
export { srmTest, chiSquareIndependence, SRM_P_VALUE_THRESHOLD } from './chi-square';
export { adjustPValues } from './multiple-testing';
export { chanceToBeatControl } from './bayesian';
export {
  alwaysValidPValue,
  alwaysValidPValueSequence,
  nextAlwaysValidPValue,
  runningMinimum,
  tau2ForHorizon,
  DEFAULT_TAU2,
} from './sequential';
export { sampleSizePerVariant, sampleSizeForMeans } from './sample-size';
export {
  meanStatsFromSums,
  meanStatsFromHistogram,
  histogramToArray,
  npsCountsFromHistogram,
  topBoxCounts,
  proportionFromCounts,
  responseRateTable,
} from './sufficient';
export { ratioStatsFromSums, ratioTest } from './ratio';
export {
  emptyQuantileSketch,
  sketchBucketOf,
  addToQuantileSketch,
  quantileSketchOf,
  mergeQuantileSketches,
  validateQuantileSketch,
  sketchQuantile,
  quantileEstimate,
  quantileTest,
  SKETCH_RELATIVE_ACCURACY,
} from './quantile';
export { sampleQuantile, capValue, capValueFromSketch, cappedSumStatistics, applyCapping, validateCapping } from './capping';
export { cupedAdjust, cupedMeanSample, cupedTest } from './cuped';
export { windowDurationMs, parseMetricWindow, windowBounds, inMetricWindow, isMature } from './windows';
