import assert from 'node:assert/strict';
import { ratioStatsFromSums, ratioTest, type RatioSums } from '../../../src/stats';
import { assertClose, assertIntervalClose, assertNoNaN, assertPValue, parkMiller } from './helpers';

/** Per-customer resolved tickets y (1 to 4) and reopened tickets x (each reopened with probability p), summed. */
function ticketSums(seed: number, n: number, p: number): RatioSums {
  const u = parkMiller(seed);
  const sums = { n, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
  for (let i = 0; i < n; i++) {
    const y = 1 + Math.floor(u() * 4);
    let x = 0;
    for (let t = 0; t < y; t++) if (u() < p) x++;
    sums.sumX += x;
    sums.sumY += y;
    sums.sumX2 += x * x;
    sums.sumY2 += y * y;
    sums.sumXY += x * y;
  }
  return sums;
}

// Reference values from NumPy/SciPy on the same draws (/tmp venv, numpy 2, scipy 1.x):
//   x, y = the arrays ticketSums draws (park_miller ported as in helpers.ts)
//   R = x.mean() / y.mean(); c = np.cov(x, y, ddof=1)
//   var = (c[0,0] - 2*R*c[0,1] + R*R*c[1,1]) / (n * y.mean()**2)
//   z = (Rt - Rc) / sqrt(Vc + Vt); p = 2 * scipy.stats.norm.sf(abs(z)); zc = scipy.stats.norm.ppf(0.975)
//   rel = Rt/Rc - 1; relse = sqrt(Vt/Rc**2 + Rt**2*Vc/Rc**4); relativeCi = rel ± zc*relse
const REFERENCE = {
  controlRatio: 0.22888283378746596,
  controlVariance: 0.00023884871371263083,
  treatmentRatio: 0.149616368286445,
  treatmentVariance: 0.0001582190018060194,
  z: -3.977930625159854,
  p: 6.951764669351344e-5,
  ci: [-0.11832180160496436, -0.04021112939707756] as [number, number],
  relativeLift: -0.34631896236755577,
  relativeCi: [-0.48447003533092053, -0.208167889404191] as [number, number],
};

describe('ratio metrics (delta method)', () => {
  const control = ticketSums(11, 300, 0.25);
  const treatment = ticketSums(29, 320, 0.15);

  it('when per-customer sums are given, then the ratio and its delta-method variance match NumPy', () => {
    const c = ratioStatsFromSums(control);
    const t = ratioStatsFromSums(treatment);
    assert.equal(c.n, 300);
    assertClose(c.ratio, REFERENCE.controlRatio, 'control ratio');
    assertClose(c.variance, REFERENCE.controlVariance, 'control variance');
    assertClose(t.ratio, REFERENCE.treatmentRatio, 'treatment ratio');
    assertClose(t.variance, REFERENCE.treatmentVariance, 'treatment variance');
  });

  it('when two ratios are compared, then z, p, the interval and the relative lift interval match SciPy', () => {
    const r = ratioTest({ control, treatment });
    assertClose(r.controlRatio, REFERENCE.controlRatio, 'controlRatio');
    assertClose(r.treatmentRatio, REFERENCE.treatmentRatio, 'treatmentRatio');
    assertClose(r.difference, REFERENCE.treatmentRatio - REFERENCE.controlRatio, 'difference');
    assertClose(r.zScore, REFERENCE.z, 'z');
    assertPValue(r.pValue, REFERENCE.p, 'p');
    assertIntervalClose(r.ci, REFERENCE.ci, 'ci');
    assertClose(r.relativeLift!, REFERENCE.relativeLift, 'relativeLift');
    assertIntervalClose(r.relativeCi, REFERENCE.relativeCi, 'relativeCi');
    assert.equal(r.significant, true);
    assertNoNaN(r);
  });

  it('when every customer has the same numerator and denominator, then the variance is 0 and equal ratios give z = 0, p = 1', () => {
    const constant = { n: 10, sumX: 10, sumY: 20, sumX2: 10, sumY2: 40, sumXY: 20 };
    assert.equal(ratioStatsFromSums(constant).variance, 0);
    const r = ratioTest({ control: constant, treatment: constant });
    assert.equal(r.zScore, 0);
    assert.equal(r.pValue, 1);
    assert.equal(r.significant, false);
  });

  it('when the control ratio is 0, then the relative lift and its interval are null', () => {
    const r = ratioTest({ control: { n: 5, sumX: 0, sumY: 5, sumX2: 0, sumY2: 5, sumXY: 0 }, treatment: { n: 5, sumX: 2, sumY: 5, sumX2: 2, sumY2: 5, sumXY: 2 } });
    assert.equal(r.relativeLift, null);
    assert.equal(r.relativeCi, null);
    assert.ok(r.zScore > 0);
  });

  it('when the denominator sum is 0 or n is below 2, then a RangeError names the field', () => {
    assert.throws(() => ratioStatsFromSums({ n: 3, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 }), /sums\.sumY must not be 0/);
    assert.throws(() => ratioTest({ control: { ...control, n: 1 }, treatment }), /control\.n must be at least 2/);
    assert.throws(() => ratioTest({ control, treatment: { ...treatment, sumXY: Number.NaN } }), /treatment\.sumXY must be a finite number/);
  });
});
