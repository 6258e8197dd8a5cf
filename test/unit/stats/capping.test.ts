import assert from 'node:assert/strict';
import { applyCapping, capValue, capValueFromSketch, cappedSumStatistics, meanStatsFromSums, quantileSketchOf, sampleQuantile, welchTTest } from '../../../src/stats';
import { assertClose, assertPValue, normalDraw, parkMiller } from './helpers';

/** Lifetime value per customer: 30% buy (lognormal spend), the rest 0, and customer 0 a 25,000 whale. */
function lifetimeValues(seed: number, n: number, mu: number): number[] {
  const u = parkMiller(seed);
  const values = Array.from({ length: n }, () => {
    const buys = u() < 0.3;
    const g = normalDraw(u);
    return buys ? Math.exp(mu + 1.2 * g) : 0;
  });
  values[0] = 25_000;
  return values;
}

// Reference values from NumPy/SciPy on the same draws:
//   lc = ltv(303, 400, 3.0); lt = ltv(404, 400, 3.2)
//   cap = np.quantile(np.concatenate([lc, lt]), 0.99)
//   cc = np.minimum(lc, cap); ct = np.minimum(lt, cap)
//   sums: cc.sum(), (cc**2).sum(); capped: (lc > cap).sum()
//   t = scipy.stats.ttest_ind(ct, cc, equal_var=False)
//   absolute cap 500: np.minimum(lc, 500).mean()
const REFERENCE = {
  cap: 269.7804346678032,
  control: { count: 400, sum: 4979.277470022811, sumSquares: 556690.3264370337, capped: 3 },
  treatment: { count: 400, sum: 7299.044207227593, sumSquares: 974291.7525852406, capped: 5 },
  t: 2.004604006856055,
  p: 0.04536550054536939,
  absoluteCappedControlMean: 13.640159113877267,
};

describe('capping of per-customer totals', () => {
  const control = lifetimeValues(303, 400, 3.0);
  const treatment = lifetimeValues(404, 400, 3.2);

  it('when a percentile cap is applied, then the cap is the percentile of both arms pooled and the capped sums match NumPy', () => {
    const { cap, arms } = applyCapping({ type: 'percentile', value: 0.99 }, [control, treatment]);
    assertClose(cap, REFERENCE.cap, 'cap');
    for (const [i, name] of (['control', 'treatment'] as const).entries()) {
      assert.equal(arms[i].count, REFERENCE[name].count);
      assert.equal(arms[i].capped, REFERENCE[name].capped, `${name} capped`);
      assertClose(arms[i].sum, REFERENCE[name].sum, `${name} sum`);
      assertClose(arms[i].sumSquares, REFERENCE[name].sumSquares, `${name} sumSquares`);
    }
  });

  it('when the capped arms are compared, then Welch t and p match scipy.stats.ttest_ind on the capped values, and capping turned the whale noise into a significant lift', () => {
    const { arms } = applyCapping({ type: 'percentile', value: 0.99 }, [control, treatment]);
    const r = welchTTest({ control: meanStatsFromSums(arms[0]), treatment: meanStatsFromSums(arms[1]) });
    assertClose(r.tStatistic, REFERENCE.t, 't');
    assertPValue(r.pValue, REFERENCE.p, 'p');
    const uncapped = welchTTest({ control: meanStatsFromSums(cappedSumStatistics(control, Number.MAX_VALUE)), treatment: meanStatsFromSums(cappedSumStatistics(treatment, Number.MAX_VALUE)) });
    assert.ok(uncapped.pValue > 0.5, `uncapped p ${uncapped.pValue}`);
  });

  it('when an absolute cap is applied, then totals above it count as the cap', () => {
    assert.equal(capValue({ type: 'absolute', value: 500 }, control), 500);
    const stats = cappedSumStatistics(control, 500);
    assertClose(stats.sum / stats.count, REFERENCE.absoluteCappedControlMean, 'mean');
    assert.deepEqual(cappedSumStatistics([1, 600, 700], 500), { count: 3, sum: 1001, sumSquares: 500_001, capped: 2 });
  });

  it('when the percentile is read from a sketch of the pooled totals, then the cap is within 0.5% of the exact one', () => {
    const cap = capValueFromSketch({ type: 'percentile', value: 0.99 }, quantileSketchOf([...control, ...treatment]));
    assert.ok(Math.abs(cap - REFERENCE.cap) <= 0.005 * REFERENCE.cap, `${cap} vs ${REFERENCE.cap}`);
  });

  it('when sampleQuantile interpolates, then it agrees with numpy.quantile on a hand-checked case', () => {
    // np.quantile([1, 2, 3, 4], 0.5) = 2.5; np.quantile([1, 2, 3, 4], 0.9) = 3.7
    assert.equal(sampleQuantile([4, 1, 3, 2], 0.5), 2.5);
    assertClose(sampleQuantile([1, 2, 3, 4], 0.9), 3.7, 'q 0.9');
    assert.equal(sampleQuantile([1, 2, 3, 4], 1), 4);
  });

  it('when a capping is malformed, then a RangeError names the field', () => {
    assert.throws(() => capValue({ type: 'percentile', value: 99 }, control), /capping\.value must be in \(0, 1\)/);
    assert.throws(() => capValue({ type: 'absolute', value: Number.NaN }, control), /capping\.value must be a finite number/);
    assert.throws(() => capValue({ type: 'top' } as never, control), /capping\.type must be/);
  });
});
