#!/usr/bin/env python3
"""Reference fixtures for src/stats, computed with SciPy / NumPy.

Run through ./generate.sh (it creates the virtual environment). Every function of the
engine gets many random inputs (fixed seed), including samples in the millions and
p-values far below 1e-12. The TypeScript suite compares against these files to a relative
1e-6 (absolute 1e-12 below 1e-12).
"""
import argparse
import json
import math
import os

import numpy as np
import scipy
from scipy import special, stats

SEED = 20240601
rng = np.random.default_rng(SEED)


def f(x):
    """JSON-safe float (None for inf/nan, which the tests treat as 'not compared')."""
    x = float(x)
    return x if math.isfinite(x) else None


def two_sided_norm_p(z):
    return min(1.0, 2.0 * stats.norm.sf(abs(z)))


# ---------------------------------------------------------------- proportions
def two_proportion_case(sc, nc, st, nt, alpha):
    pc, pt = sc / nc, st / nt
    pooled = (sc + st) / (nc + nt)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
    z = (pt - pc) / se_pooled if se_pooled > 0 else 0.0
    p = two_sided_norm_p(z)
    zc = stats.norm.ppf(1 - alpha / 2)
    var_c, var_t = pc * (1 - pc) / nc, pt * (1 - pt) / nt
    se = math.sqrt(var_c + var_t)
    out = {
        "input": {"control": {"successes": sc, "trials": nc}, "treatment": {"successes": st, "trials": nt}, "alpha": alpha},
        "expected": {
            "controlRate": pc, "treatmentRate": pt, "absoluteLift": pt - pc,
            "zScore": z, "pValue": p,
            "ci": [pt - pc - zc * se, pt - pc + zc * se],
            "significant": bool(p < alpha),
        },
    }
    if sc > 0:
        rel = pt / pc - 1
        rse = math.sqrt(var_t / pc**2 + pt**2 * var_c / pc**4)
        out["expected"].update(relativeLift=rel, relativeCi=[rel - zc * rse, rel + zc * rse])
    else:
        out["expected"].update(relativeLift=None, relativeCi=None)
    return out


def proportions():
    cases = []
    for i in range(250):
        kind = i % 5
        if kind == 0:    # small samples
            nc, nt = rng.integers(1, 200, size=2)
        elif kind == 1:  # medium
            nc, nt = rng.integers(200, 20000, size=2)
        elif kind == 2:  # millions
            nc, nt = rng.integers(1_000_000, 5_000_000, size=2)
        elif kind == 3:  # extreme imbalance
            nc, nt = int(rng.integers(10, 100)), int(rng.integers(1_000_000, 3_000_000))
        else:            # big effect at scale -> tiny p-values
            nc, nt = rng.integers(100_000, 3_000_000, size=2)
        nc, nt = int(nc), int(nt)
        base = float(rng.uniform(0.001, 0.6))
        if kind == 4:  # aim z at 5..38 so p-values land between ~1e-7 and ~1e-300
            sc = int(rng.binomial(nc, base))
            pc = sc / nc
            target_z = float(rng.uniform(5, 38))
            se = math.sqrt(pc * (1 - pc) * (1 / nc + 1 / nt))
            st = int(round(nt * min(0.999, pc + target_z * se)))
        else:
            sc = int(rng.binomial(nc, base))
            spread = 0.005 if kind == 2 else 0.2
            st = int(rng.binomial(nt, min(0.999, base * rng.uniform(1 - spread, 1 + spread))))
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        cases.append(two_proportion_case(sc, nc, st, nt, alpha))
    # edges: zero successes, all successes, equal arms, single trial
    for sc, nc, st, nt in [(0, 100, 0, 100), (100, 100, 100, 100), (0, 100, 5, 100), (100, 100, 95, 100),
                           (50, 100, 50, 100), (1, 1, 0, 1), (0, 1, 1, 1), (0, 5_000_000, 40, 5_000_000),
                           (3, 10, 2_000_000, 3_000_000), (200_000, 1_000_000, 300_000, 1_000_000)]:
        cases.append(two_proportion_case(sc, nc, st, nt, 0.05))
    return cases


# ---------------------------------------------------------------- Welch
def welch_case(nc, mc, vc, nt, mt, vt, alpha):
    res = stats.ttest_ind_from_stats(mt, math.sqrt(vt), nt, mc, math.sqrt(vc), nc, equal_var=False)
    a, b = vc / nc, vt / nt
    df = (a + b) ** 2 / (a**2 / (nc - 1) + b**2 / (nt - 1))
    se = math.sqrt(a + b)
    tc = stats.t.ppf(1 - alpha / 2, df)
    d = mt - mc
    # two-sided p from the survival function (scipy's own p is 2*t.sf(|t|) too; recompute for tails)
    p = min(1.0, 2.0 * stats.t.sf(abs(res.statistic), df))
    exp = {
        "difference": d, "tStatistic": float(res.statistic), "degreesOfFreedom": df, "pValue": p,
        "scipyPValue": float(res.pvalue),
        "ci": [d - tc * se, d + tc * se], "significant": bool(p < alpha),
    }
    if mc != 0:
        rel = mt / mc - 1
        rse = math.sqrt(vt / (nt * mc**2) + mt**2 * vc / (nc * mc**4))
        exp.update(relativeLift=rel, relativeCi=[rel - tc * rse, rel + tc * rse])
    else:
        exp.update(relativeLift=None, relativeCi=None)
    return {"input": {"control": {"n": nc, "mean": mc, "variance": vc},
                      "treatment": {"n": nt, "mean": mt, "variance": vt}, "alpha": alpha},
            "expected": exp}


def welch():
    cases = []
    for i in range(250):
        kind = i % 5
        if kind == 0:
            nc, nt = rng.integers(2, 30, size=2)
        elif kind == 1:
            nc, nt = rng.integers(30, 5000, size=2)
        elif kind == 2:
            nc, nt = rng.integers(1_000_000, 5_000_000, size=2)
        elif kind == 3:
            nc, nt = int(rng.integers(2, 20)), int(rng.integers(100_000, 2_000_000))
        else:
            nc, nt = rng.integers(10_000, 1_000_000, size=2)
        nc, nt = int(nc), int(nt)
        mc = float(rng.normal(50, 30))
        sc = float(rng.uniform(0.5, 40))
        st = sc * float(rng.uniform(0.3, 3))
        shift = float(rng.normal(0, 1)) * sc * (3 if kind == 4 else 1) / math.sqrt(min(nc, nt)) * (
            20 if kind == 4 else 2)
        cases.append(welch_case(nc, mc, sc**2, nt, mc + shift, st**2, float(rng.choice([0.01, 0.05, 0.1]))))
    for args in [(10, 4.0, 0.0, 12, 4.5, 2.0), (10, 4.0, 3.0, 12, 4.0, 0.0), (2, 1.0, 0.5, 2, 2.0, 0.5),
                 (50, 0.0, 1.0, 50, 0.3, 1.2), (1000, 3.0, 1.0, 1000, 3.0, 1.0),
                 (5, 10.0, 4.0, 3_000_000, 10.1, 4.0), (2_000_000, 3.9, 1.1, 2_000_000, 4.1, 1.0)]:
        cases.append(welch_case(*args, 0.05))
    return cases


# ---------------------------------------------------------------- NPS
def nps_case(c, t, alpha):
    def one(pr, pa, de):
        n = pr + pa + de
        p, d = pr / n, de / n
        # cross-check the variance formula against the +100/0/-100 recoding
        recoded_var = (100**2 * (p + d) - (100 * (p - d)) ** 2) / n
        return 100 * (p - d), max(0.0, recoded_var)
    nc_, vc = one(*c)
    nt_, vt = one(*t)
    d = nt_ - nc_
    se = math.sqrt(vc + vt)
    z = d / se if se > 0 else (0.0 if d == 0 else math.copysign(math.inf, d))
    p = two_sided_norm_p(z) if math.isfinite(z) else 0.0
    zc = stats.norm.ppf(1 - alpha / 2)
    keys = ("promoters", "passives", "detractors")
    return {"input": {"control": dict(zip(keys, c)), "treatment": dict(zip(keys, t)), "alpha": alpha},
            "expected": {"controlNps": nc_, "treatmentNps": nt_, "difference": d, "standardError": se,
                         "zScore": f(z), "pValue": p, "ci": [d - zc * se, d + zc * se],
                         "significant": bool(p < alpha)}}


def nps():
    cases = []
    for i in range(250):
        kind = i % 4
        n_c = int([rng.integers(1, 50), rng.integers(50, 5000), rng.integers(1_000_000, 4_000_000),
                   rng.integers(100_000, 1_000_000)][kind])
        n_t = int([rng.integers(1, 50), rng.integers(50, 5000), rng.integers(1_000_000, 4_000_000),
                   rng.integers(100_000, 1_000_000)][kind])
        pc = rng.dirichlet([3, 2, 2])
        if kind == 3:  # a real shift: z of a few to ~35 (tiny p-values)
            mix = float(rng.uniform(0.003, 0.03))
            pt = (1 - mix) * pc + mix * rng.dirichlet([1, 1, 1])
        else:
            mix = 0.002 if kind == 2 else 0.1
            pt = (1 - mix) * pc + mix * rng.dirichlet([1, 1, 1])
        c = tuple(int(x) for x in rng.multinomial(n_c, pc))
        t = tuple(int(x) for x in rng.multinomial(n_t, pt))
        cases.append(nps_case(c, t, float(rng.choice([0.01, 0.05, 0.1]))))
    for c, t in [((1, 0, 0), (0, 0, 1)), ((0, 1, 0), (1, 2, 3)), ((10, 0, 0), (10, 0, 0)),
                 ((5, 5, 5), (5, 5, 5)), ((0, 0, 7), (3, 2, 1)), ((12, 3, 1), (2_000_000, 500_000, 700_000))]:
        cases.append(nps_case(c, t, 0.05))
    return cases


# ---------------------------------------------------------------- Mann-Whitney
def mann_whitney_case(c, t):
    c, t = [int(x) for x in c], [int(x) for x in t]
    scale = np.arange(len(c))
    x = np.repeat(scale, t)  # treatment first: statistic is U of treatment
    y = np.repeat(scale, c)
    res = stats.mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method="asymptotic")
    u = float(res.statistic)
    p = float(res.pvalue)
    mu = len(x) * len(y) / 2
    z_abs = float(stats.norm.isf(p / 2)) if p < 1 else 0.0
    z = z_abs if u > mu else -z_abs
    return {"input": {"control": c, "treatment": t}, "expected": {"u": u, "zScore": f(z), "pValue": p}}


def mann_whitney():
    cases = []
    for i in range(150):
        k = int(rng.choice([5, 7, 10, 11]))
        kind = i % 3
        n_c = int([rng.integers(2, 60), rng.integers(60, 3000), rng.integers(100_000, 400_000)][kind])
        n_t = int([rng.integers(2, 60), rng.integers(60, 3000), rng.integers(100_000, 400_000)][kind])
        base = rng.dirichlet(np.ones(k) * 2)
        mix = 0.15 if kind < 2 else float(rng.choice([0.002, 0.01, 0.03]))
        other = (1 - mix) * base + mix * rng.dirichlet(np.ones(k))
        cases.append(mann_whitney_case(rng.multinomial(n_c, base), rng.multinomial(n_t, other)))
    for c, t in [([0, 0, 5, 0, 0], [0, 0, 3, 0, 0]), ([1, 0, 0, 0, 0], [0, 0, 0, 0, 1]),
                 ([3, 1, 4, 1, 5], [3, 1, 4, 1, 5]), ([0, 0, 0, 0, 1], [1, 2, 3, 4, 5]),
                 ([500, 0, 0, 0, 0], [0, 0, 0, 0, 500])]:
        cases.append(mann_whitney_case(c, t))
    return cases


# ---------------------------------------------------------------- SRM and independence
def srm():
    cases = []
    for i in range(150):
        k = int(rng.integers(2, 6))
        weights = rng.uniform(0.5, 3, size=k)
        if i % 3 == 0:
            weights = np.ones(k)
        total = int([rng.integers(10, 1000), rng.integers(1000, 100_000), rng.integers(1_000_000, 20_000_000)][i % 3])
        probs = weights / weights.sum()
        if i % 4 == 0:  # broken assignment
            probs = 0.98 * probs + 0.02 * rng.dirichlet(np.ones(k))
        observed = rng.multinomial(total, probs)
        expected = total * weights / weights.sum()
        res = stats.chisquare(observed, expected)
        p = float(stats.chi2.sf(res.statistic, k - 1))
        cases.append({"input": {"observed": [int(o) for o in observed], "weights": [float(w) for w in weights]},
                      "expected": {"chiSquare": float(res.statistic), "degreesOfFreedom": k - 1, "pValue": p,
                                   "scipyPValue": float(res.pvalue), "mismatch": bool(p < 0.001)}})
    return cases


def independence():
    cases = []
    for i in range(150):
        r = int(rng.integers(2, 5))
        c = 2 if i % 2 == 0 else int(rng.integers(2, 5))
        n = int([rng.integers(5, 100), rng.integers(100, 10_000), rng.integers(1_000_000, 5_000_000)][i % 3])
        probs = rng.dirichlet(np.ones(c) * 2)
        table = []
        for _ in range(r):
            pr = probs if i % 4 else 0.95 * probs + 0.05 * rng.dirichlet(np.ones(c))
            table.append([int(x) for x in rng.multinomial(n, pr)])
        arr = np.array(table)
        if (arr.sum(axis=0) == 0).any() or (arr.sum(axis=1) == 0).any():
            continue
        chi2, _p, dof, _e = stats.chi2_contingency(arr, correction=False)
        cases.append({"input": {"table": table},
                      "expected": {"chiSquare": float(chi2), "degreesOfFreedom": int(dof),
                                   "pValue": float(stats.chi2.sf(chi2, dof))}})
    return cases


# ---------------------------------------------------------------- multiple testing
def holm(p):
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def adjust():
    cases = []
    for i in range(120):
        m = int(rng.integers(1, 30))
        kind = i % 4
        if kind == 0:
            p = rng.uniform(0, 1, m)
        elif kind == 1:
            p = 10 ** rng.uniform(-12, 0, m)
        elif kind == 2:
            p = np.round(rng.uniform(0, 0.2, m), 2)  # ties
        else:
            p = np.concatenate([10 ** rng.uniform(-300, -5, m // 2 + 1), rng.uniform(0.5, 1, m // 2)])
            rng.shuffle(p)
        p = [float(x) for x in p]
        cases.append({"input": {"pValues": p},
                      "expected": {"holm": [float(x) for x in holm(p)],
                                   "benjamini-hochberg": [float(x) for x in stats.false_discovery_control(p, method="bh")],
                                   "none": p}})
    return cases


# ---------------------------------------------------------------- Bayesian
def prob_b_beats_a(a_a, b_a, a_b, b_b):
    """Exact P(p_B > p_A) for integer Beta parameters (Evan Miller's closed form), log-space sum."""
    i = np.arange(0, a_b, dtype=float)
    terms = (special.betaln(a_a + i, b_a + b_b) - np.log(b_b + i)
             - special.betaln(1 + i, b_b) - special.betaln(a_a, b_a))
    return float(min(1.0, np.exp(special.logsumexp(terms))))


def bayes():
    cases = []
    for i in range(150):
        kind = i % 5
        nc, nt = [(rng.integers(1, 100, size=2)), (rng.integers(100, 20_000, size=2)),
                  (rng.integers(1_000_000, 3_000_000, size=2)),
                  (np.array([rng.integers(5, 200), rng.integers(500_000, 2_000_000)])),
                  (np.array([rng.integers(500_000, 2_000_000), rng.integers(5, 200)]))][kind]
        nc, nt = int(nc), int(nt)
        base = float(rng.uniform(0.0005, 0.3)) if kind != 0 else float(rng.uniform(0, 1))
        sc = int(rng.binomial(nc, base))
        scale = 1 + rng.normal(0, 1) * (2 / math.sqrt(max(1.0, base * min(nc, nt))))
        st = int(rng.binomial(nt, min(0.999, max(0.0, base * scale))))
        cases.append({"input": {"control": {"successes": sc, "trials": nc}, "treatment": {"successes": st, "trials": nt}},
                      "expected": {"chanceToBeatControl": prob_b_beats_a(1 + sc, 1 + nc - sc, 1 + st, 1 + nt - st)}})
    for sc, nc, st, nt in [(0, 10, 0, 10), (10, 10, 10, 10), (0, 1, 1, 1), (5, 50, 5, 50),
                           (0, 3_000_000, 2, 3_000_000), (3_000_000, 3_000_000, 2_999_990, 3_000_000),
                           (1, 20, 150_000, 1_000_000), (0, 0 + 1, 0, 2_000_000)]:
        cases.append({"input": {"control": {"successes": sc, "trials": nc}, "treatment": {"successes": st, "trials": nt}},
                      "expected": {"chanceToBeatControl": prob_b_beats_a(1 + sc, 1 + nc - sc, 1 + st, 1 + nt - st)}})
    return cases


# ---------------------------------------------------------------- sequential
def always_valid():
    cases = []
    for i in range(150):
        v = float(10 ** rng.uniform(-8, 2))
        tau2 = float(10 ** rng.uniform(-6, 2))
        d = float(rng.normal(0, 1) * math.sqrt(v) * [1, 3, 10, 60][i % 4])
        log_lambda = 0.5 * math.log(v / (v + tau2)) + tau2 * d * d / (2 * v * (v + tau2))
        p = min(1.0, math.exp(-log_lambda)) if -log_lambda < 700 else 1.0
        cases.append({"input": {"difference": d, "variance": v, "tau2": tau2}, "expected": {"pValue": p}})
    return cases


# ---------------------------------------------------------------- sample size
def sample_sizes():
    props, means = [], []
    for _ in range(150):
        p1 = float(rng.uniform(0.005, 0.7))
        mde = float(rng.choice([-1, 1]) * rng.uniform(0.02, 0.5))
        if not 0 < p1 * (1 + mde) < 1:
            continue
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        power = float(rng.choice([0.8, 0.9, 0.95]))
        p2 = p1 * (1 + mde)
        pbar = (p1 + p2) / 2
        raw = (stats.norm.ppf(1 - alpha / 2) * math.sqrt(2 * pbar * (1 - pbar))
               + stats.norm.ppf(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
        props.append({"input": {"baselineRate": p1, "minimumDetectableEffect": mde, "alpha": alpha, "power": power},
                      "expected": {"n": math.ceil(raw), "raw": raw}})
    for _ in range(100):
        sd = float(10 ** rng.uniform(-1, 3))
        delta = float(sd * rng.uniform(0.01, 1))
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        power = float(rng.choice([0.8, 0.9]))
        raw = 2 * (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) ** 2 * sd**2 / delta**2
        means.append({"input": {"standardDeviation": sd, "minimumDetectableDifference": delta, "alpha": alpha,
                                "power": power}, "expected": {"n": math.ceil(raw), "raw": raw}})
    return props, means


# ---------------------------------------------------------------- sufficient statistics
def sufficient():
    cases = []
    for i in range(100):
        n = int(rng.integers(2, 5000))
        kind = i % 3
        if kind == 0:
            x = rng.integers(1, 6, n).astype(float)          # CSAT 1-5
        elif kind == 1:
            x = np.round(rng.lognormal(3, 1, n), 2)          # revenue-like
        else:
            x = np.full(n, 7.0) if i % 2 else rng.integers(0, 11, n).astype(float)
        cases.append({"input": {"count": n, "sum": float(x.sum()), "sumSquares": float((x * x).sum())},
                      "expected": {"n": n, "mean": float(x.mean()), "variance": float(x.var(ddof=1))}})
    return cases


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    props, means = sample_sizes()
    files = {
        "twoProportionTest": proportions(),
        "welchTTest": welch(),
        "npsTest": nps(),
        "mannWhitneyTest": mann_whitney(),
        "srmTest": srm(),
        "chiSquareIndependence": independence(),
        "adjustPValues": adjust(),
        "chanceToBeatControl": bayes(),
        "alwaysValidPValue": always_valid(),
        "sampleSizePerVariant": props,
        "sampleSizeForMeans": means,
        "meanStatsFromSums": sufficient(),
    }
    meta = {"generator": "scripts/stats-fixtures/generate.py", "seed": SEED,
            "scipy": scipy.__version__, "numpy": np.__version__}
    for name, cases in files.items():
        with open(os.path.join(out, f"{name}.json"), "w") as fh:
            json.dump({"meta": meta, "cases": cases}, fh, indent=None, separators=(",", ":"), allow_nan=False)
            fh.write("\n")
        print(f"{name}: {len(cases)} cases")


if __name__ == "__main__":
    main()
