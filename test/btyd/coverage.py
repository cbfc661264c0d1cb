#!/usr/bin/python3
"""Coverage of the fits' confidence intervals, tested rather than assumed.

Simulates REPS data sets from known parameters, fits each with the C core
(test/btyd/btyd_cli.c, the same code as the extension's fits), and counts
how often the level (default 95%) interval of each parameter covers the
true value.  The interval is the one clm.parameter_summary prints: normal
in ln(parameter), estimate x exp(+-z se / estimate), with se from the
observed information (src/btyd_cov.c).  A correct interval covers in about
95% of the fits (with 200 fits the binomial standard error of that share is
1.5 points, so 92-98% is the expected range).

Models:
  bgnbd  BG/NBD and Gamma-Gamma on data from test/btyd/simulate.py (the
         project's simulator: Poisson purchases at Gamma(r, alpha) rates,
         Beta(a, b) dropout after each repeat purchase, Gamma-Gamma spend)
  bgbb   BG/BB (Fader, Hardie & Shang 2010) on data from simulate_bgbb
         below: p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta); before
         each of the n opportunities an alive customer dies with
         probability theta, else transacts with probability p.

Opt-in (not part of make test; about a minute on one core):
  /usr/bin/python3 test/btyd/coverage.py                 # 200 data sets each
  /usr/bin/python3 test/btyd/coverage.py --reps 400 --check

--check exits 1 when a parameter's coverage is outside 92-98%.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import simulate  # noqa: E402  (the project's BG/NBD + Gamma-Gamma simulator)

BGNBD_TRUE = dict(r=0.25, alpha=4.0, a=0.8, b=2.5)
GG_TRUE = dict(p=6.0, q=3.5, v=15.0)
BGBB_TRUE = dict(alpha=1.2, beta=0.75, gamma=0.66, delta=2.78)


def normal_quantile(p):
    """Phi^-1(p) by bisection on erfc (only needed once)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def simulate_bgbb(n, periods, seed, alpha, beta, gamma, delta):
    """BG/BB histories (frequency, recency, periods) of n customers."""
    rng = np.random.Generator(np.random.PCG64(seed))
    p = rng.beta(alpha, beta, size=n)
    theta = rng.beta(gamma, delta, size=n)
    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    for t in range(1, periods + 1):
        alive &= rng.uniform(size=n) >= theta
        buy = alive & (rng.uniform(size=n) < p)
        x[buy] += 1
        tx[buy] = t
    return x, tx, np.full(n, periods)


def build_cli(path):
    src = sorted(os.path.join(TOP, "src", f) for f in os.listdir(os.path.join(TOP, "src"))
                 if f.startswith("btyd_") and f.endswith(".c"))
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-I" + os.path.join(TOP, "src"),
                    os.path.join(HERE, "btyd_cli.c")] + src + ["-lm", "-o", path], check=True)


def fit(cli, which, path):
    out = subprocess.run([cli, "fit-" + which, path], capture_output=True, text=True)
    line = [l for l in out.stdout.splitlines() if l.startswith("{")]
    return json.loads(line[-1]) if line else None


def covered(res, truth, z):
    """{parameter: covered?} or None when the fit gives no interval."""
    if res is None or not res.get("converged") or "se" not in res:
        return None
    out = {}
    for k, true in truth.items():
        est, se = res["params"][k], res["se"][k]
        out[k] = abs(math.log(true / est)) <= z * se / est
    return out


def tally(name, results, truth, lo, hi):
    ok = [r for r in results if r is not None]
    bad = False
    print(f"{name}: {len(ok)} of {len(results)} fits with standard errors")
    for k, true in truth.items():
        share = 100.0 * sum(r[k] for r in ok) / max(len(ok), 1)
        flag = "" if lo <= share <= hi else "  <-- outside %g-%g%%" % (lo, hi)
        bad |= bool(flag)
        print(f"  {k:6s} true {true:<6g} covered in {share:5.1f}%{flag}")
    joint = 100.0 * sum(all(r.values()) for r in ok) / max(len(ok), 1)
    print(f"  all parameters at once: {joint:5.1f}%")
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=200, help="data sets per model (200)")
    ap.add_argument("--n", type=int, default=5000, help="customers per data set (5000)")
    ap.add_argument("--periods", type=int, default=6, help="BG/BB opportunities (6)")
    ap.add_argument("--seed", type=int, default=19000, help="first seed (19000)")
    ap.add_argument("--level", type=float, default=0.95)
    ap.add_argument("--models", default="bgnbd,bgbb", help="bgnbd (with Gamma-Gamma), bgbb")
    ap.add_argument("--cli", help="a built btyd_cli (default: build one in a temporary directory)")
    ap.add_argument("--check", action="store_true", help="exit 1 when outside 92-98%%")
    a = ap.parse_args(argv)

    z = normal_quantile(0.5 + a.level / 2)
    lo, hi = 100 * a.level - 3, 100 * a.level + 3
    models = a.models.split(",")
    bad = False
    with tempfile.TemporaryDirectory() as tmp:
        cli = a.cli or os.path.join(tmp, "btyd_cli")
        if not a.cli:
            build_cli(cli)
        csv = os.path.join(tmp, "data.csv")
        print(f"{a.reps} data sets of {a.n} customers, {100 * a.level:g}% intervals "
              f"of ln(parameter), seeds {a.seed}..{a.seed + a.reps - 1}")
        if "bgnbd" in models:
            bg, gg = [], []
            for i in range(a.reps):
                sim = simulate.simulate(a.n, a.seed + i, **BGNBD_TRUE, **GG_TRUE)
                simulate.write_summary(csv, sim)
                bg.append(covered(fit(cli, "bgnbd", csv), BGNBD_TRUE, z))
                gg.append(covered(fit(cli, "gg", csv), GG_TRUE, z))
            bad |= tally("BG/NBD", bg, BGNBD_TRUE, lo, hi)
            bad |= tally("Gamma-Gamma", gg, GG_TRUE, lo, hi)
        if "bgbb" in models:
            bb = []
            for i in range(a.reps):
                x, tx, n = simulate_bgbb(a.n, a.periods, a.seed + i, **BGBB_TRUE)
                with open(csv, "w") as f:
                    f.write("id,x,t_x,T\n")
                    for j in range(a.n):
                        f.write(f"{j},{x[j]},{tx[j]},{n[j]}\n")
                bb.append(covered(fit(cli, "bgbb", csv), BGBB_TRUE, z))
            bad |= tally(f"BG/BB ({a.periods} periods)", bb, BGBB_TRUE, lo, hi)
    return 1 if (a.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
