import assert from 'node:assert/strict';
import {
  adjustPValues,
  alwaysValidPValueSequence,
  chanceToBeatControl,
  chiSquareIndependence,
  mannWhitneyTest,
  nextAlwaysValidPValue,
  npsTest,
  runningMinimum,
  srmTest,
  tau2ForHorizon,
  twoProportionTest,
  welchTTest,
} from '../../../src/stats';
import betaDist from '@stdlib/stats-base-dists-beta';
import normal from '@stdlib/stats-base-dists-normal';
import { assertNoNaN } from './helpers';

const json = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('stats edge cases', () => {
  describe('twoProportionTest', () => {
    it('when both arms have zero successes, then z is 0, p is 1 and the relative lift is null', () => {
      const r = twoProportionTest({ control: { successes: 0, trials: 500 }, treatment: { successes: 0, trials: 400 } });
      assert.equal(r.zScore, 0);
      assert.equal(r.pValue, 1);
      assert.equal(r.relativeLift, null);
      assert.equal(r.relativeCi, null);
      assert.deepEqual(r.ci, [0, 0]);
      assert.equal(r.significant, false);
      assertNoNaN(json(r));
    });

    it('when the control has zero successes and the treatment some, then the relative lift is null but the test runs', () => {
      const r = twoProportionTest({ control: { successes: 0, trials: 1000 }, treatment: { successes: 30, trials: 1000 } });
      assert.equal(r.relativeLift, null);
      assert.ok(r.pValue < 1e-6);
      assert.ok(r.significant);
      assertNoNaN(r);
    });

    it('when both arms convert everyone, then p is 1 and the relative lift is 0', () => {
      const r = twoProportionTest({ control: { successes: 80, trials: 80 }, treatment: { successes: 90, trials: 90 } });
      assert.equal(r.pValue, 1);
      assert.equal(r.relativeLift, 0);
      assert.deepEqual(r.relativeCi, [0, 0]);
      assertNoNaN(r);
    });

    it('when the arms are equal, then z is 0 and p is 1', () => {
      const r = twoProportionTest({ control: { successes: 123, trials: 1000 }, treatment: { successes: 123, trials: 1000 } });
      assert.equal(r.zScore, 0);
      assert.equal(r.pValue, 1);
      assert.ok(r.ci[0] < 0 && r.ci[1] > 0);
    });

    it('when the arms are extremely imbalanced, then the result is finite and the CI is dominated by the small arm', () => {
      const r = twoProportionTest({ control: { successes: 1, trials: 12 }, treatment: { successes: 400_000, trials: 5_000_000 } });
      assertNoNaN(r);
      assert.ok(r.pValue > 0.05 && r.pValue <= 1);
      assert.ok(r.ci[1] - r.ci[0] > 0.2);
    });

    it('when millions of customers show a large lift, then the p-value is tiny but not a wrong 0', () => {
      const r = twoProportionTest({
        control: { successes: 100_000, trials: 2_000_000 },
        treatment: { successes: 106_000, trials: 2_000_000 },
      });
      assert.ok(r.pValue > 1e-300 && r.pValue < 1e-40, `${r.pValue}`);
    });
  });

  describe('welchTTest', () => {
    it('when one arm has zero variance, then the degrees of freedom come from the other arm', () => {
      const r = welchTTest({ control: { n: 20, mean: 4, variance: 0 }, treatment: { n: 25, mean: 4.4, variance: 1 } });
      assert.ok(Math.abs(r.degreesOfFreedom - 24) < 1e-9);
      assertNoNaN(r);
    });

    it('when both arms have zero variance and equal means, then t is 0 and p is 1', () => {
      const r = welchTTest({ control: { n: 5, mean: 3, variance: 0 }, treatment: { n: 7, mean: 3, variance: 0 } });
      assert.equal(r.tStatistic, 0);
      assert.equal(r.pValue, 1);
      assert.equal(r.degreesOfFreedom, 10);
      assert.deepEqual(r.ci, [0, 0]);
      assertNoNaN(r);
    });

    it('when both arms have zero variance and different means, then p is 0 and t is infinite', () => {
      const r = welchTTest({ control: { n: 5, mean: 3, variance: 0 }, treatment: { n: 7, mean: 4, variance: 0 } });
      assert.equal(r.tStatistic, Infinity);
      assert.equal(r.pValue, 0);
      assert.ok(r.significant);
      assertNoNaN(r);
    });

    it('when the control mean is 0, then the relative lift and interval are null', () => {
      const r = welchTTest({ control: { n: 30, mean: 0, variance: 1 }, treatment: { n: 30, mean: 0.5, variance: 1 } });
      assert.equal(r.relativeLift, null);
      assert.equal(r.relativeCi, null);
    });
  });

  describe('npsTest', () => {
    it('when each arm has a single responder, then the variance is 0 and nothing is NaN', () => {
      const r = npsTest({ control: { promoters: 1, passives: 0, detractors: 0 }, treatment: { promoters: 1, passives: 0, detractors: 0 } });
      assert.equal(r.controlNps, 100);
      assert.equal(r.standardError, 0);
      assert.equal(r.zScore, 0);
      assert.equal(r.pValue, 1);
      assertNoNaN(r);
    });

    it('when a single promoter meets a single detractor, then the difference is −200 and p is 0', () => {
      const r = npsTest({ control: { promoters: 1, passives: 0, detractors: 0 }, treatment: { promoters: 0, passives: 0, detractors: 1 } });
      assert.equal(r.difference, -200);
      assert.equal(r.zScore, -Infinity);
      assert.equal(r.pValue, 0);
    });

    it('when the arms are equal, then NPS is the same and p is 1', () => {
      const arm = { promoters: 40, passives: 30, detractors: 30 };
      const r = npsTest({ control: arm, treatment: arm });
      assert.equal(r.controlNps, 10);
      assert.equal(r.difference, 0);
      assert.equal(r.pValue, 1);
    });
  });

  describe('mannWhitneyTest', () => {
    it('when every answer is the same score, then p is 1 and z is 0', () => {
      const r = mannWhitneyTest({ control: [0, 0, 9, 0, 0], treatment: [0, 0, 4, 0, 0] });
      assert.deepEqual(r, { u: 18, zScore: 0, pValue: 1 });
    });

    it('when treatment scores higher everywhere, then z is positive and U is nC·nT', () => {
      const r = mannWhitneyTest({ control: [30, 10, 0, 0, 0], treatment: [0, 0, 0, 10, 30] });
      assert.equal(r.u, 1600);
      assert.ok(r.zScore > 0 && r.pValue < 1e-10);
    });

    it('when a single responder is in each arm, then the result is defined', () => {
      const r = mannWhitneyTest({ control: [1, 0, 0], treatment: [0, 0, 1] });
      assert.equal(r.u, 1);
      assertNoNaN(r);
      assert.ok(r.pValue <= 1 && r.pValue > 0);
    });
  });

  describe('srmTest and chiSquareIndependence', () => {
    it('when assignment matches the weights, then there is no mismatch', () => {
      const r = srmTest({ observed: [5000, 5000], weights: [1, 1] });
      assert.equal(r.chiSquare, 0);
      assert.equal(r.pValue, 1);
      assert.equal(r.mismatch, false);
    });

    it('when assignment is badly skewed, then a mismatch is flagged', () => {
      const r = srmTest({ observed: [10_300, 9_700], weights: [0.5, 0.5] });
      assert.ok(r.pValue < 0.001 && r.mismatch);
    });

    it('when nobody is assigned yet, then the SRM check returns p = 1', () => {
      assert.deepEqual(srmTest({ observed: [0, 0, 0], weights: [1, 1, 2] }), {
        chiSquare: 0,
        degreesOfFreedom: 2,
        pValue: 1,
        mismatch: false,
      });
    });

    it('when a response-rate table has a zero column total, then p is 1 and nothing is NaN', () => {
      assert.deepEqual(chiSquareIndependence([[0, 100], [0, 120]]), { chiSquare: 0, degreesOfFreedom: 1, pValue: 1 });
      assert.deepEqual(chiSquareIndependence([[0, 0], [10, 120]]), { chiSquare: 0, degreesOfFreedom: 1, pValue: 1 });
    });
  });

  describe('adjustPValues', () => {
    it('when given an empty list, then it returns an empty list', () => {
      assert.deepEqual(adjustPValues([], 'holm'), []);
    });

    it('when adjusting, then the result is in input order, monotone in p and capped at 1', () => {
      const ps = [0.04, 0.01, 0.03, 0.5];
      assert.deepEqual(adjustPValues(ps, 'holm'), [0.09, 0.04, 0.09, 0.5]);
      const bh = adjustPValues(ps, 'benjamini-hochberg');
      assert.deepEqual(bh.map((p) => Math.round(p * 1e12) / 1e12), [0.053333333333, 0.04, 0.053333333333, 0.5]);
      assert.deepEqual(adjustPValues([0.9, 0.8], 'holm'), [1, 1]);
      assert.deepEqual(adjustPValues(ps, 'none'), ps);
    });
  });

  describe('chanceToBeatControl', () => {
    it('when the arms are identical, then the chance is one half', () => {
      const p = chanceToBeatControl({ control: { successes: 40, trials: 400 }, treatment: { successes: 40, trials: 400 } });
      assert.ok(Math.abs(p - 0.5) < 1e-9);
    });

    it('when there is no data at all beyond one trial each, then it matches the uniform-prior value', () => {
      // Beta(1, 2) vs Beta(2, 1): P = 5/6.
      const p = chanceToBeatControl({ control: { successes: 0, trials: 1 }, treatment: { successes: 1, trials: 1 } });
      assert.ok(Math.abs(p - 5 / 6) < 1e-9);
    });

    it('when trials are in the millions, then it still matches values known in closed form', () => {
      // Its cost does not grow with the trials (a fixed number of quadrature points); the time a call
      // takes is a benchmark's business, not a test's. What millions of trials can break is accuracy.
      // Large equal samples: both posteriors are normal to within far less than the tolerance.
      const large = chanceToBeatControl({ control: { successes: 150_000, trials: 3_000_000 }, treatment: { successes: 151_000, trials: 3_000_000 } });
      const [pC, pT] = [150_001 / 3_000_002, 151_001 / 3_000_002];
      const sd = Math.sqrt((pC * (1 - pC)) / 3_000_003 + (pT * (1 - pT)) / 3_000_003);
      assert.ok(Math.abs(large - normal.cdf((pT - pC) / sd, 0, 1)) < 1e-3, `large samples: ${large}`);
      // A treatment this precise is nearly a point t: P(C < t) with C ~ Beta(6, 36).
      const point = chanceToBeatControl({ control: { successes: 5, trials: 40 }, treatment: { successes: 900_000, trials: 5_000_000 } });
      assert.ok(Math.abs(point - betaDist.cdf(900_001 / 5_000_002, 6, 36)) < 1e-4, `a nearly exact treatment: ${point}`);
      // Beta(1, n) vs Beta(4, n) with n in the millions are Gamma(1) vs Gamma(4) of one rate, so
      // P(T > C) = P(Beta(1, 4) < 1/2) = 1 − 2⁻⁴.
      const rare = chanceToBeatControl({ control: { successes: 0, trials: 5_000_000 }, treatment: { successes: 3, trials: 5_000_000 } });
      assert.ok(Math.abs(rare - 0.9375) < 1e-4, `rare events: ${rare}`);
    });

    it('when called twice with the same input, then the result is identical (deterministic)', () => {
      const input = { control: { successes: 31, trials: 700 }, treatment: { successes: 45, trials: 720 } };
      assert.equal(chanceToBeatControl(input), chanceToBeatControl(input));
    });
  });

  describe('sequential helpers', () => {
    it('when p-values go up and down over looks, then the running minimum never increases', () => {
      assert.deepEqual(runningMinimum([0.8, 0.3, 0.5, 0.2, 0.9]), [0.8, 0.3, 0.3, 0.2, 0.2]);
      assert.deepEqual(runningMinimum([]), []);
    });

    it('when looks are combined one at a time or as a sequence, then the results agree', () => {
      const looks = [
        { difference: 0.01, variance: 1e-4, tau2: 1e-4 },
        { difference: 0.02, variance: 2e-5, tau2: 1e-4 },
        { difference: 0.001, variance: 1e-5, tau2: 1e-4 },
      ];
      let previous: number | undefined;
      const stepwise = looks.map((look) => (previous = nextAlwaysValidPValue(previous, look)));
      assert.deepEqual(alwaysValidPValueSequence(looks), stepwise);
      assert.ok(stepwise[2] === stepwise[1]);
    });

    it('when tau² is tuned for a horizon at alpha 0.05, then it is about 8 × the variance of the difference there', () => {
      const tau2 = tau2ForHorizon({ unitVariance: 0.09, samplesPerVariant: 10_000 });
      const v = (2 * 0.09) / 10_000;
      assert.ok(tau2 / v > 7 && tau2 / v < 9, `${tau2 / v}`);
    });
  });
});
