import assert from 'node:assert/strict';
import binomialRng = require('@stdlib/random-base-binomial');
import normalRng = require('@stdlib/random-base-normal');
import {
  DEFAULT_TAU2,
  alwaysValidPValue,
  mannWhitneyTest,
  meanStatsFromSums,
  npsTest,
  runningMinimum,
  sampleSizeForMeans,
  sampleSizePerVariant,
  twoProportionTest,
  welchTTest,
} from '../../../src/stats';

// Simulation checks with fixed seeds: deterministic, and together well under a few seconds.
const REPS = 2000;
/** STATS_VERBOSE=1 prints the simulated rates. */
const report = (label: string, value: number) => {
  if (process.env.STATS_VERBOSE) console.log(`      ${label}: ${(100 * value).toFixed(2)}%`);
};
const ALPHA = 0.05;

function rejectionRate(test: (rep: number) => number): number {
  let rejected = 0;
  for (let rep = 0; rep < REPS; rep++) if (test(rep) < ALPHA) rejected++;
  return rejected / REPS;
}

function normalSample(draw: () => number, n: number, sd: number, shift = 0): { count: number; sum: number; sumSquares: number } {
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const x = shift + sd * draw();
    sum += x;
    sumSquares += x * x;
  }
  return { count: n, sum, sumSquares };
}

describe('stats calibration (seeded simulations)', () => {
  it('when 2,000 A/A proportion tests run at alpha 0.05, then 3.5%–6.5% reject', () => {
    const binomial = binomialRng.factory({ seed: 1001 });
    const rate = rejectionRate(() => {
      const control = { successes: binomial(2000, 0.1), trials: 2000 };
      const treatment = { successes: binomial(2500, 0.1), trials: 2500 };
      return twoProportionTest({ control, treatment }).pValue;
    });
    report('rejection rate', rate);
    assert.ok(rate >= 0.035 && rate <= 0.065, `rejection rate ${rate}`);
  });

  it('when 2,000 A/A Welch tests run with unequal variances and sizes, then 3.5%–6.5% reject', () => {
    const draw = normalRng.factory(0, 1, { seed: 1002 });
    const rate = rejectionRate(() => {
      const control = meanStatsFromSums(normalSample(draw, 15, 1, 3));
      const treatment = meanStatsFromSums(normalSample(draw, 60, 3, 3));
      return welchTTest({ control, treatment }).pValue;
    });
    report('rejection rate', rate);
    assert.ok(rate >= 0.035 && rate <= 0.065, `rejection rate ${rate}`);
  });

  it('when 2,000 A/A NPS tests run, then 3.5%–6.5% reject', () => {
    const binomial = binomialRng.factory({ seed: 1003 });
    const arm = (n: number) => {
      const promoters = binomial(n, 0.45);
      const detractors = binomial(n - promoters, 0.25 / 0.55);
      return { promoters, passives: n - promoters - detractors, detractors };
    };
    const rate = rejectionRate(() => npsTest({ control: arm(400), treatment: arm(600) }).pValue);
    report('rejection rate', rate);
    assert.ok(rate >= 0.035 && rate <= 0.065, `rejection rate ${rate}`);
  });

  it('when 2,000 A/A Mann–Whitney tests run on 5-point CSAT histograms, then 3.5%–6.5% reject', () => {
    const binomial = binomialRng.factory({ seed: 1004 });
    const probs = [0.05, 0.1, 0.2, 0.35, 0.3];
    const arm = (n: number) => {
      let left = n;
      let mass = 1;
      return probs.map((p, k) => {
        const c = k === probs.length - 1 ? left : binomial(left, Math.min(1, p / mass));
        left -= c;
        mass -= p;
        return c;
      });
    };
    const rate = rejectionRate(() => mannWhitneyTest({ control: arm(300), treatment: arm(350) }).pValue);
    report('rejection rate', rate);
    assert.ok(rate >= 0.035 && rate <= 0.065, `rejection rate ${rate}`);
  });

  describe('sequential (20 looks)', () => {
    const LOOKS = 20;
    const BATCH = 500;
    const P = 0.1;

    function simulate(seed: number, treatmentRate: number): { alwaysValid: number; naive: number } {
      const binomial = binomialRng.factory({ seed });
      let alwaysValid = 0;
      let naive = 0;
      for (let rep = 0; rep < REPS; rep++) {
        let sC = 0;
        let sT = 0;
        const looks: number[] = [];
        let naiveRejected = false;
        for (let look = 1; look <= LOOKS; look++) {
          sC += binomial(BATCH, P);
          sT += binomial(BATCH, treatmentRate);
          const n = look * BATCH;
          const pC = sC / n;
          const pT = sT / n;
          const variance = (pC * (1 - pC) + pT * (1 - pT)) / n;
          looks.push(alwaysValidPValue({ difference: pT - pC, variance, tau2: DEFAULT_TAU2 }));
          if (twoProportionTest({ control: { successes: sC, trials: n }, treatment: { successes: sT, trials: n } }).pValue < ALPHA) {
            naiveRejected = true;
          }
        }
        const running = runningMinimum(looks);
        if (running[running.length - 1] < ALPHA) alwaysValid++;
        if (naiveRejected) naive++;
      }
      return { alwaysValid: alwaysValid / REPS, naive: naive / REPS };
    }

    it('when A/A data is peeked at 20 times, then the always-valid p-value rejects at most 5% while naive peeking inflates', () => {
      const { alwaysValid, naive } = simulate(1005, P);
      report('always-valid A/A', alwaysValid);
      report('naive peeking A/A', naive);
      assert.ok(alwaysValid <= 0.05, `always-valid A/A rejection rate ${alwaysValid}`);
      assert.ok(naive > 0.1, `naive peeking should inflate the error rate, got ${naive}`);
    });

    it('when a real 20% lift is peeked at 20 times, then the always-valid p-value still detects it', () => {
      const { alwaysValid } = simulate(1006, P * 1.2);
      report('always-valid detection', alwaysValid);
      assert.ok(alwaysValid >= 0.8, `always-valid detection rate ${alwaysValid}`);
    });
  });

  it('when A/B proportions differ by the MDE at the formula sample size, then power is 80% ± 4 points', () => {
    const baselineRate = 0.1;
    const { n } = sampleSizePerVariant({ baselineRate, minimumDetectableEffect: 0.2, alpha: ALPHA, power: 0.8 });
    const binomial = binomialRng.factory({ seed: 1007 });
    const power = rejectionRate(() =>
      twoProportionTest({
        control: { successes: binomial(n, baselineRate), trials: n },
        treatment: { successes: binomial(n, baselineRate * 1.2), trials: n },
      }).pValue,
    );
    report(`power at n = ${n}`, power);
    assert.ok(Math.abs(power - 0.8) <= 0.04, `power ${power} at n = ${n}`);
  });

  it('when A/B means differ by the MDE at the formula sample size, then Welch power is 90% ± 4 points', () => {
    const { n } = sampleSizeForMeans({ standardDeviation: 2, minimumDetectableDifference: 0.5, alpha: ALPHA, power: 0.9 });
    const draw = normalRng.factory(0, 1, { seed: 1008 });
    const power = rejectionRate(() =>
      welchTTest({
        control: meanStatsFromSums(normalSample(draw, n, 2, 10)),
        treatment: meanStatsFromSums(normalSample(draw, n, 2, 10.5)),
      }).pValue,
    );
    report(`power at n = ${n}`, power);
    assert.ok(Math.abs(power - 0.9) <= 0.04, `power ${power} at n = ${n}`);
  });
});
