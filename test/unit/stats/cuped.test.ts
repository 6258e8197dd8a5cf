import assert from 'node:assert/strict';
import { cupedAdjust, cupedMeanSample, cupedTest, welchTTest, type CupedSums } from '../../../src/stats';
import { assertClose, assertNoNaN, assertPValue, normalDraw, parkMiller } from './helpers';

/** Pre-period value X and in-experiment value Y of each customer share a base level; Y adds the effect. */
function arm(seed: number, n: number, effect: number): CupedSums {
  const u = parkMiller(seed);
  const sums = { n, sumY: 0, sumX: 0, sumY2: 0, sumX2: 0, sumXY: 0 };
  for (let i = 0; i < n; i++) {
    const base = 20 + 6 * normalDraw(u);
    const x = Math.max(0, base + 3 * normalDraw(u));
    const y = Math.max(0, base + effect + 3 * normalDraw(u));
    sums.sumX += x;
    sums.sumY += y;
    sums.sumX2 += x * x;
    sums.sumY2 += y * y;
    sums.sumXY += x * y;
  }
  return sums;
}

// Reference values from NumPy/SciPy on the same draws (three arms: seeds 505, 606, 707; n 500, 520, 480;
// effects 0, 0.8, 0.3):
//   Xall, Yall = all arms concatenated
//   theta = np.cov(Yall, Xall, ddof=1)[0,1] / np.var(Xall, ddof=1); xbar = Xall.mean()
//   adj = [Y - theta*(X - xbar) for each arm]; adjusted means a.mean(), variances np.var(a, ddof=1)
//   varianceReduction = 1 - sum(np.var(a, ddof=1)/len(a)) / sum(np.var(Y, ddof=1)/len(Y))
//   t = scipy.stats.ttest_ind(adj[1], adj[0], equal_var=False); unadjusted: ttest_ind(Y1, Y0, equal_var=False)
const REFERENCE = {
  theta: 0.7785195230981982,
  covariateMean: 19.964713935486042,
  means: [20.40654663220876, 20.423726458726904, 20.440012774595434],
  adjustedMeans: [20.16622646170349, 20.6592232590746, 20.435224751828407],
  adjustedVariances: [15.43682509849382, 14.749429318295705, 18.357683934786692],
  varianceReduction: 0.6398161686571147,
  t: 2.0255554377954836,
  p: 0.04307185499373851,
  unadjustedP: 0.9679142771568185,
};

describe('CUPED (Deng et al. 2013)', () => {
  const arms = [arm(505, 500, 0), arm(606, 520, 0.8), arm(707, 480, 0.3)];

  it('when three arms are adjusted, then θ is pooled over all of them and the adjusted means and variances match NumPy', () => {
    const r = cupedAdjust(arms);
    assertClose(r.theta, REFERENCE.theta, 'theta');
    assertClose(r.covariateMean, REFERENCE.covariateMean, 'covariateMean');
    r.arms.forEach((a, i) => {
      assertClose(a.mean, REFERENCE.means[i], `arm ${i} mean`);
      assertClose(a.adjustedMean, REFERENCE.adjustedMeans[i], `arm ${i} adjustedMean`);
      assertClose(a.adjustedVariance, REFERENCE.adjustedVariances[i], `arm ${i} adjustedVariance`);
      assert.ok(a.varianceReduction > 0.5 && a.varianceReduction < 1);
    });
    assertClose(r.varianceReduction, REFERENCE.varianceReduction, 'varianceReduction');
    assertNoNaN(r);
  });

  it('when the adjusted arms are compared, then Welch t and p match scipy.stats.ttest_ind on the adjusted values, where the unadjusted test sees nothing', () => {
    const r = cupedAdjust(arms);
    const adjusted = welchTTest({ control: cupedMeanSample(r.arms[0]), treatment: cupedMeanSample(r.arms[1]) });
    assertClose(adjusted.tStatistic, REFERENCE.t, 't');
    assertPValue(adjusted.pValue, REFERENCE.p, 'p');
    const raw = welchTTest({ control: { n: r.arms[0].n, mean: r.arms[0].mean, variance: r.arms[0].variance }, treatment: { n: r.arms[1].n, mean: r.arms[1].mean, variance: r.arms[1].variance } });
    assertPValue(raw.pValue, REFERENCE.unadjustedP, 'unadjusted p');
  });

  it('when cupedTest compares two arms, then θ is pooled over those two and the result carries θ and the variance reduction', () => {
    const r = cupedTest({ control: arms[0], treatment: arms[1] });
    const pair = cupedAdjust([arms[0], arms[1]]);
    assert.equal(r.theta, pair.theta);
    assert.equal(r.varianceReduction, pair.varianceReduction);
    assert.ok(r.significant);
  });

  it('when the covariate is constant (no pre-period data), then θ is 0 and nothing is adjusted', () => {
    const flat = [
      { n: 3, sumY: 6, sumX: 0, sumY2: 14, sumX2: 0, sumXY: 0 },
      { n: 3, sumY: 9, sumX: 0, sumY2: 29, sumX2: 0, sumXY: 0 },
    ];
    const r = cupedAdjust(flat);
    assert.equal(r.theta, 0);
    assert.equal(r.arms[0].adjustedMean, 2);
    assert.equal(r.arms[1].adjustedVariance, r.arms[1].variance);
    assert.equal(r.varianceReduction, 0);
  });

  it('when an arm has fewer than 2 customers or a sum is not finite, then a RangeError names the field', () => {
    assert.throws(() => cupedAdjust([{ ...arms[0], n: 1 }]), /arms\[0\]\.n must be at least 2/);
    assert.throws(() => cupedAdjust([arms[0], { ...arms[1], sumXY: Infinity }]), /arms\[1\]\.sumXY must be a finite number/);
    assert.throws(() => cupedAdjust([]), /arms must not be empty/);
  });
});
