#!/usr/bin/python3
"""Independent scipy reference for the btyd C core (src/btyd_*.c).

The likelihoods are written here from the papers in the form lifetimes uses
(log-sum-exp of the two likelihood branches, scipy.special.betaln/gammaln),
not in the hoisted/softplus form of the C code, with their own analytic
gradients; per-customer quantities use scipy.special.hyp2f1 in the textbook
formulas, and the conditional expectation is also checked against direct
numerical integration (scipy.integrate.quad) of its definition.

Subcommands (FILE: CSV with columns ID/id, x, t_x, T, zbar/m):
  fit FILE [--penalizer L] [--starts K] [--models bgnbd,mbgnbd,gg]
                             maximise the likelihoods, print JSON (with seconds)
  score FILE [--t 10]        per-customer values at the scipy MLE, CSV
  compare FILE --cli PATH    run the C CLI and compare fits and per-customer
                             values; ends with "N passed, M failed"
  check-ep --cli PATH        C conditional expectations vs hyp2f1 and quad
  recovery --cli PATH        simulate several seeds, fit with C, report spread
  bench N --cli PATH         simulate N customers, time scipy and C fits
  pnbd FILE                  Pareto/NBD fit (Fader-Hardie hyp2f1 form), JSON
  pnbd-check --cli PATH      C Pareto/NBD likelihood and P(alive) against
                             mpmath at 60 digits in regions where the
                             double-precision hyp2f1 difference fails
  pnbd-recovery --cli PATH   simulate Pareto/NBD customers, fit with C,
                             check the estimates within 5 standard errors
  next-check --cli PATH      next-purchase probabilities against dblquad
  score-bench FILE           time vectorised P(alive) and 12-month CLV
  holdout TX_FILE            calibration/holdout split of a transaction CSV
                             (customer_id, sample_id, purchase_date, cds,
                             amount), BG/NBD + Gamma-Gamma fitted on the
                             calibration period, holdout predictions, errors
                             and the weekly tracking series, as JSON

Always run with /usr/bin/python3 (needs python3-numpy, python3-scipy).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from scipy import integrate, optimize, special

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simulate  # noqa: E402

NAMES = {"bgnbd": ["r", "alpha", "a", "b"], "mbgnbd": ["r", "alpha", "a", "b"],
         "gg": ["p", "q", "v"]}


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def load(path):
    """Read the customer CSV into float arrays id, x, tx, T, m."""
    with open(path) as f:
        header = [h.strip().strip('"') for h in f.readline().strip().split(",")]
    raw = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    col = {}
    for j, h in enumerate(header):
        for key, alias in (("id", ("id", "ID", "customer_id")), ("x", ("x", "frequency")),
                           ("tx", ("t_x", "tx", "recency")), ("T", ("T", "age")),
                           ("m", ("zbar", "m", "monetary_value"))):
            if h in alias:
                col[key] = raw[:, j]
    n = raw.shape[0]
    col.setdefault("id", np.arange(1, n + 1, dtype=float))
    col.setdefault("m", np.zeros(n))
    return col


# --------------------------------------------------------------------------
# likelihoods and gradients (natural parameters)
# --------------------------------------------------------------------------
def bg_ll(theta, x, tx, T, mbg):
    """Per-customer LL of BG/NBD (FHL 2005 sec. 7) or MBG/NBD and dLL/dtheta.

    BG/NBD:  LL = A1 + A2 + logaddexp(A3, A4 if x > 0)
             A1 = lnG(r+x) - lnG(r) + r ln alpha,  A2 = lnB(a, b+x) - lnB(a, b)
             A3 = -(r+x) ln(alpha+T),  A4 = ln a - ln(b+x-1) - (r+x) ln(alpha+tx)
    MBG/NBD: A2 = lnB(a, b+x+1) - lnB(a, b), A4 = ln a - ln(b+x) - (r+x) ln(alpha+tx)
             and the A4 branch is present for every x (tx = 0 when x = 0).
    """
    r, al, a, b = theta
    xb = x + 1.0 if mbg else x
    A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)
    A2 = special.betaln(a, b + xb) - special.betaln(a, b)
    A3 = -(r + x) * np.log(al + T)
    bden = b + xb - 1.0
    has4 = np.ones_like(x, dtype=bool) if mbg else (x > 0)
    A4 = np.where(has4, np.log(a) - np.log(np.where(has4, bden, 1.0))
                  - (r + x) * np.log(al + tx), -np.inf)
    lse = np.logaddexp(A3, A4)
    ll = A1 + A2 + lse
    s3 = np.exp(A3 - lse)
    s4 = np.exp(A4 - lse)
    psi = special.digamma
    g = np.empty((4, x.size))
    g[0] = psi(r + x) - psi(r) + np.log(al) - s3 * np.log(al + T) - s4 * np.log(al + tx)
    g[1] = r / al - s3 * (r + x) / (al + T) - s4 * (r + x) / (al + tx)
    g[2] = psi(a + b) - psi(a + b + xb) + s4 / a
    g[3] = psi(b + xb) - psi(b) + psi(a + b) - psi(a + b + xb) \
        - s4 / np.where(has4, bden, 1.0)
    return ll, g


def gg_ll(theta, x, m):
    """Gamma-Gamma LL of the mean spend m over x transactions (note 025 eq. 1a,
    lifetimes GammaGammaFitter) and its gradient."""
    p, q, v = theta
    px = p * x
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
          + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
          - (px + q) * np.log(x * m + v))
    psi = special.digamma
    g = np.empty((3, x.size))
    g[0] = x * (psi(px + q) - psi(px) + np.log(m) + np.log(x) - np.log(x * m + v))
    g[1] = psi(px + q) - psi(q) + np.log(v) - np.log(x * m + v)
    g[2] = q / v - (px + q) / (x * m + v)
    return ll, g


class Problem:
    """Mean negative log-likelihood (+ lifetimes-style L2 penalty) on log-params."""

    def __init__(self, kind, d, penalizer=0.0):
        self.kind = kind
        self.pen = penalizer
        if kind == "gg":
            keep = (d["x"] > 0) & (d["m"] > 0)
            self.args = (d["x"][keep], d["m"][keep])
            self.pscale = np.ones(3)
        else:
            self.args = (d["x"], d["tx"], d["T"], kind == "mbgnbd")
            # lifetimes rescales time to max(T) = 1 before penalising alpha
            self.pscale = np.array([1.0, d["T"].max(), 1.0, 1.0])
        self.W = float(self.args[0].size)

    def ll(self, theta):
        if self.kind == "gg":
            return gg_ll(theta, *self.args)
        return bg_ll(theta, *self.args)

    def fg(self, lt):
        th = np.exp(lt)
        ll, g = self.ll(th)
        s = th / self.pscale
        f = -ll.sum() / self.W + self.pen * np.sum(s ** 2)
        grad = -th * g.sum(axis=1) / self.W + 2 * self.pen * s ** 2
        if not np.isfinite(f):
            return np.inf, np.zeros_like(lt)
        return f, grad

    def hess(self, lt, h=1e-5):
        """Hessian of the mean objective by central differences of the gradient."""
        n = lt.size
        H = np.empty((n, n))
        for j in range(n):
            e = np.zeros(n)
            e[j] = h
            H[:, j] = (self.fg(lt + e)[1] - self.fg(lt - e)[1]) / (2 * h)
        return 0.5 * (H + H.T)

    def starts(self):
        if self.kind == "gg":
            x, m = self.args
            mbar = m.mean()
            pq = [(2.0, 3.0), (1.0, 2.0), (6.0, 4.0), (15.0, 10.0)]
            return [np.log([p, q, mbar * (q - 1) / p]) for p, q in pq]
        x, tx, T, _ = self.args
        rate = x.sum() / T.sum()
        rab = [(1.0, 1.0, 3.0), (0.25, 0.8, 2.5), (3.0, 2.0, 8.0), (0.5, 0.3, 1.0)]
        return [np.log([r, r / rate, a, b]) for r, a, b in rab]


def fit(prob, nstarts=4):
    """Multi-start L-BFGS-B -> BFGS -> Newton polish; returns a result dict."""
    t0 = time.time()
    best = None
    for lt0 in prob.starts()[:nstarts]:
        r1 = optimize.minimize(prob.fg, lt0, jac=True, method="L-BFGS-B",
                               options=dict(ftol=1e-15, gtol=1e-12, maxiter=5000, maxcor=20))
        r2 = optimize.minimize(prob.fg, r1.x, jac=True, method="BFGS",
                               options=dict(gtol=1e-11, maxiter=5000))
        lt = r2.x if r2.fun <= r1.fun else r1.x
        f, g = prob.fg(lt)
        for _ in range(20):  # Newton polish on the analytic gradient
            if np.max(np.abs(g)) < 1e-14:
                break
            step = np.linalg.solve(prob.hess(lt), g)
            f2, g2 = prob.fg(lt - step)
            if not (np.isfinite(f2) and np.max(np.abs(g2)) < np.max(np.abs(g))):
                break
            lt, f, g = lt - step, f2, g2
        if best is None or f < best[1]:
            best = (lt, f, g)
    lt, f, g = best
    th = np.exp(lt)
    ll = prob.ll(th)[0].sum()
    # standard errors: inverse Hessian of -LL_total in log space, delta method
    try:
        cov = np.linalg.inv(prob.W * prob.hess(lt))
        se = th * np.sqrt(np.diag(cov))
    except np.linalg.LinAlgError:
        se = np.full(th.size, np.nan)
    return dict(model=prob.kind, params=dict(zip(NAMES[prob.kind], th.tolist())),
                loglik=float(ll), objective=float(f), grad_norm=float(np.max(np.abs(g))),
                se=dict(zip(NAMES[prob.kind], se.tolist())), customers=int(prob.W),
                seconds=time.time() - t0)


# --------------------------------------------------------------------------
# per-customer formulas (textbook / lifetimes form)
# --------------------------------------------------------------------------
def p_alive(th, x, tx, T, mbg):
    r, al, a, b = th
    if mbg:
        return 1.0 / (1 + a / (b + x) * ((al + T) / (al + tx)) ** (r + x))
    return np.where(x == 0, 1.0,
                    1.0 / (1 + a / (b + np.maximum(x, 1) - 1) * ((al + T) / (al + tx)) ** (r + x)))


def expected_purchases(th, t, x, tx, T, mbg):
    """FHL 2005 eq. 10 (BG/NBD) / Wagner & Hoppe 2008 (MBG/NBD) via hyp2f1."""
    r, al, a, b = th
    z = t / (al + T + t)
    if mbg:
        hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
        first = (a + b + x) / (a - 1)
    else:
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1)
    return first * (1 - hyp * ((al + T) / (al + T + t)) ** (r + x)) * p_alive(th, x, tx, T, mbg)


def gg_value(th, x, m):
    """lifetimes conditional_expected_average_profit."""
    p, q, v = th
    w = p * x / (p * x + q - 1)
    return (1 - w) * v * p / (q - 1) + w * m


def clv(bg, gg, x, tx, T, m, months=12, discount=0.01, factor=365.25 / 12 / 7):
    """lifetimes' _customer_lifetime_value loop, with clm's month of 365.25/12 days (weeks per month 365.25/84; lifetimes uses 4.345)."""
    val = gg_value(gg, x, m)
    out = np.zeros_like(x)
    for i in np.arange(1, months + 1) * factor:
        e = (expected_purchases(bg, i, x, tx, T, False)
             - expected_purchases(bg, i - factor, x, tx, T, False))
        out += val * e / (1 + discount) ** (i / factor)
    return out


def ep_quad(th, t, x, tx, T, mbg):
    """Conditional expectation from its definition: P(alive) *
    E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p], p ~ Beta(a, b+x(+1))."""
    r, al, a, b = th
    B = b + x + (1 if mbg else 0)
    k = t / (al + T)
    lb = special.betaln(a, B)

    def g(p):
        return -np.expm1(-(r + x) * np.log1p(p * k)) / p if p > 0 else (r + x) * k

    # QUADPACK QAWS: the Beta kernel p^(a-1) (1-p)^(B-1) is the weight function,
    # so its endpoint singularities are integrated exactly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(g, 0, 1, weight="alg", wvar=(a - 1, B - 1),
                                epsabs=0, epsrel=1e-13, limit=1000)
    val = val * np.exp(-lb)
    return float(p_alive(th, x, tx, T, mbg)) * val


def score(fits, d, t):
    bg = np.array(list(fits["bgnbd"]["params"].values()))
    mb = np.array(list(fits["mbgnbd"]["params"].values()))
    gg = np.array(list(fits["gg"]["params"].values()))
    x, tx, T, m = d["x"], d["tx"], d["T"], d["m"]
    return dict(p_alive_bgnbd=p_alive(bg, x, tx, T, False),
                exp_bgnbd=expected_purchases(bg, t, x, tx, T, False),
                p_alive_mbgnbd=p_alive(mb, x, tx, T, True),
                exp_mbgnbd=expected_purchases(mb, t, x, tx, T, True),
                gg_value=gg_value(gg, x, m),
                clv_bgnbd=clv(bg, gg, x, tx, T, m))


def fit_all(d, penalizer=0.0, nstarts=4):
    return {k: fit(Problem(k, d, penalizer), nstarts) for k in ("bgnbd", "mbgnbd", "gg")}


# --------------------------------------------------------------------------
# C side
# --------------------------------------------------------------------------
def run_cli(cli, *args, stdin=None):
    res = subprocess.run([cli] + [str(a) for a in args], input=stdin, capture_output=True,
                         text=True, check=False)
    if res.returncode not in (0, 1):
        raise RuntimeError("%s %s failed: %s" % (cli, args, res.stderr))
    return res.stdout


def cli_fit(cli, kind, path, penalizer=0.0):
    return json.loads(run_cli(cli, "fit-" + kind, path, penalizer).strip().splitlines()[-1])


def cli_score(cli, path, t):
    lines = run_cli(cli, "score", path, -1, t).splitlines()
    params = json.loads(lines[0][2:])
    header = lines[1].split(",")
    arr = np.array([[float(v) for v in ln.split(",")] for ln in lines[2:]])
    return params, {h: arr[:, j] for j, h in enumerate(header)}


# --------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------
class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, msg):
        print(("ok - " if ok else "not ok - ") + msg)
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(b), 1e-300)))


def cmd_compare(args):
    d = load(args.file)
    tally = Tally()
    ref = fit_all(d)
    for kind in ("bgnbd", "mbgnbd", "gg"):
        c = cli_fit(args.cli, kind, args.file)
        s = ref[kind]
        worst = max(rel(c["params"][k], s["params"][k]) for k in NAMES[kind])
        tally.check(worst < 1e-4 and c["converged"],
                    "%s params C vs scipy: max rel diff %.2e (C %s; scipy %s)" % (
                        kind, worst,
                        ", ".join("%s=%.9g" % (k, c["params"][k]) for k in NAMES[kind]),
                        ", ".join("%s=%.9g" % (k, s["params"][k]) for k in NAMES[kind])))
        tally.check(abs(c["loglik"] - s["loglik"]) < 1e-6 * abs(s["loglik"]),
                    "%s loglik C %.10f vs scipy %.10f (scipy |grad| %.1e, C |grad| %.1e)" % (
                        kind, c["loglik"], s["loglik"], s["grad_norm"], c["grad_norm"]))
        # standard errors: C's analytic Hessian vs scipy's central differences
        se = max(rel(c["se"][k], s["se"][k]) for k in NAMES[kind]) if "se" in c else float("inf")
        tally.check(se < 1e-5,
                    "%s standard errors C vs scipy: max rel diff %.2e (C %s; scipy %s)" % (
                        kind, se,
                        ", ".join("%s=%.6g" % (k, c["se"][k]) for k in NAMES[kind]) if "se" in c else "none",
                        ", ".join("%s=%.6g" % (k, s["se"][k]) for k in NAMES[kind])))
    # penalised fit (lifetimes convention, alpha penalised on the max(T) scale)
    for kind, lam in (("bgnbd", 0.05), ("gg", 0.001)):
        c = cli_fit(args.cli, kind, args.file, lam)
        s = fit(Problem(kind, d, lam))
        worst = max(rel(c["params"][k], s["params"][k]) for k in NAMES[kind])
        tally.check(worst < 1e-4, "%s penalizer %g params C vs scipy: max rel diff %.2e" % (
            kind, lam, worst))
    # per-customer values at each side's own MLE, and at identical params
    cparams, cvals = cli_score(args.cli, args.file, args.t)
    sv = score(ref, d, args.t)
    same = {"bgnbd": {"params": dict(zip(NAMES["bgnbd"], cparams["bgnbd"]))},
            "mbgnbd": {"params": dict(zip(NAMES["mbgnbd"], cparams["mbgnbd"]))},
            "gg": {"params": dict(zip(NAMES["gg"], cparams["gg"]))}}
    sv_same = score(same, d, args.t)
    for col in ("p_alive_bgnbd", "exp_bgnbd", "p_alive_mbgnbd", "exp_mbgnbd",
                "gg_value", "clv_bgnbd"):
        r_own = rel(cvals[col], sv[col])
        r_same = rel(cvals[col], sv_same[col])
        tally.check(r_own < 1e-6 and r_same < 1e-10,
                    "%-15s %d customers: max rel diff %.2e at own MLEs, %.2e at identical params"
                    % (col, len(cvals[col]), r_own, r_same))
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


def cmd_check_ep(args):
    """Random (params, history, t) cases including a < 1, a ~ 1 and z near 1."""
    rng = np.random.Generator(np.random.PCG64(7))
    cases = []
    for _ in range(args.n):
        th = np.exp(rng.uniform(np.log([0.05, 0.5, 0.1, 0.2]), np.log([5, 50, 6, 20])))
        if rng.uniform() < 0.15:
            th[2] = 1.0 + rng.choice([0.0, 1e-9, -1e-6, 3e-3])
        x = float(rng.integers(0, 30))
        T = float(rng.uniform(0, 100))
        tx = 0.0 if x == 0 else float(rng.uniform(0, T))
        t = float(np.exp(rng.uniform(np.log(0.1), np.log(5000))))
        cases.append((str(rng.choice(["bgnbd", "mbgnbd"])), th, t, x, tx, T))
    inp = "".join("%s %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n" %
                  (m, *th, t, x, tx, T) for m, th, t, x, tx, T in cases)
    out = run_cli(args.cli, "eval-batch", stdin=inp).splitlines()
    worst_q = worst_h = worst_pa = 0.0
    nh = 0
    errors = 0
    for (m, th, t, x, tx, T), line in zip(cases, out):
        if line.startswith("ERR"):
            errors += 1
            continue
        pa_c, ep_c = map(float, line.split())
        mbg = m == "mbgnbd"
        worst_pa = max(worst_pa, rel(pa_c, float(p_alive(th, x, tx, T, mbg))))
        worst_q = max(worst_q, rel(ep_c, ep_quad(th, t, x, tx, T, mbg)))
        z = t / (th[1] + T + t)
        if abs(th[2] - 1) > 1e-2 and z < 0.9:   # where scipy's hyp2f1 is reliable
            worst_h = max(worst_h, rel(ep_c, float(expected_purchases(th, t, x, tx, T, mbg))))
            nh += 1
    tally = Tally()
    tally.check(errors == 0, "%d random cases evaluated without error (%d errors)" % (len(cases), errors))
    tally.check(worst_pa < 1e-12, "P(alive) C vs numpy: max rel diff %.2e" % worst_pa)
    tally.check(worst_q < 1e-10, "E[purchases] C vs quad of the definition: max rel diff %.2e" % worst_q)
    tally.check(worst_h < 1e-9, "E[purchases] C vs scipy hyp2f1 formula (%d cases, a!=1, z<0.9): "
                "max rel diff %.2e" % (nh, worst_h))
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


def cmd_recovery(args):
    """Fit simulated data of several seeds with the C fitter; report spread."""
    truth = dict(bgnbd=[0.25, 4.0, 0.8, 2.5], gg=[6.0, 3.5, 15.0])
    rows = {"bgnbd": [], "gg": []}
    ses = {"bgnbd": [], "gg": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seed0, args.seed0 + args.seeds):
            sim = simulate.simulate(args.n, seed)
            path = os.path.join(tmp, "sim_%d.csv" % seed)
            simulate.write_summary(path, sim)
            d = load(path)
            for kind in ("bgnbd", "gg"):
                c = cli_fit(args.cli, kind, path)
                rows[kind].append([c["params"][k] for k in NAMES[kind]])
                if args.se:
                    ses[kind].append(list(fit(Problem(kind, d), 1)["se"].values()))
    out = {}
    for kind in ("bgnbd", "gg"):
        arr = np.array(rows[kind])
        z = (arr.mean(axis=0) - truth[kind]) / (arr.std(axis=0, ddof=1) / np.sqrt(len(arr)))
        out[kind] = dict(truth=dict(zip(NAMES[kind], truth[kind])),
                         mean=dict(zip(NAMES[kind], arr.mean(axis=0).round(4).tolist())),
                         sd=dict(zip(NAMES[kind], arr.std(axis=0, ddof=1).round(4).tolist())),
                         z_of_mean=dict(zip(NAMES[kind], z.round(2).tolist())),
                         per_seed=arr.round(4).tolist())
        if args.se:
            out[kind]["mean_asymptotic_se"] = dict(zip(NAMES[kind],
                                                       np.mean(ses[kind], axis=0).round(4).tolist()))
    print(json.dumps(dict(n=args.n, seeds=args.seeds, **out), indent=1))
    return 0


def cmd_bench(args):
    sim = simulate.simulate(args.n, args.seed)
    d = dict(id=np.arange(1, args.n + 1, dtype=float), x=sim["x"].astype(float),
             tx=sim["t_x"], T=sim["T"], m=sim["m"])
    res = {}
    for kind in ("bgnbd", "mbgnbd", "gg"):
        r = fit(Problem(kind, d), args.starts)
        res[kind] = dict(seconds=round(r["seconds"], 3), params=r["params"])
        print(json.dumps({"scipy": kind, "customers": args.n, "starts": args.starts, **res[kind]}))
        sys.stdout.flush()
    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench.csv")
            np.savetxt(path, np.column_stack([d["id"], d["x"], d["tx"], d["T"], d["m"]]),
                       fmt=["%d", "%d", "%.9f", "%.9f", "%.9f"], delimiter=",",
                       header="id,x,t_x,T,m", comments="")
            print(run_cli(args.cli, "bench-file", path), end="")
    return 0


# --------------------------------------------------------------------------
# holdout evaluation (independent of clm's SQL: dates handled here)
# --------------------------------------------------------------------------
def expected_new(th, t):
    """BG/NBD E[X(t)] for a new customer, FHL 2005 eq. 9."""
    r, al, a, b = th
    t = np.asarray(t, dtype=float)
    z = t / (al + t)
    return (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))


def cmd_holdout(args):
    import csv
    import datetime as dt
    cal_end = dt.date.fromisoformat(args.calibration_end)
    hold_end = dt.date.fromisoformat(args.holdout_end)
    ud = args.unit_days
    days = {}
    for row in csv.DictReader(open(args.file)):
        d = dt.date.fromisoformat(row["purchase_date"])
        if d > hold_end:
            continue
        c = int(row["customer_id"])
        days.setdefault(c, {}).setdefault(d, 0.0)
        days[c][d] += float(row["amount"])
    ids, x, tx, T, m, hx, ha, first = [], [], [], [], [], [], [], []
    for c in sorted(days):
        cal = sorted(d for d in days[c] if d <= cal_end)
        if not cal:
            continue            # first purchase in the holdout: not in the cohort
        hol = [d for d in days[c] if d > cal_end]
        ids.append(c)
        x.append(len(cal) - 1)
        tx.append((cal[-1] - cal[0]).days / ud)
        T.append((cal_end - cal[0]).days / ud)
        m.append(sum(days[c][d] for d in cal[1:]) / (len(cal) - 1) if len(cal) > 1 else 0.0)
        hx.append(len(hol))
        ha.append(sum(days[c][d] for d in hol))
        first.append(cal[0])
    d = dict(id=np.array(ids, float), x=np.array(x, float), tx=np.array(tx), T=np.array(T),
             m=np.array(m))
    bg = fit(Problem("bgnbd", d), 4)
    gg = fit(Problem("gg", d), 4)
    th = np.array(list(bg["params"].values()))
    gth = np.array(list(gg["params"].values()))
    L = (hold_end - cal_end).days / ud
    pred = expected_purchases(th, L, d["x"], d["tx"], d["T"], False)
    value = gg_value(gth, d["x"], d["m"])
    pred_spend = pred * value
    hx = np.array(hx, float)
    ha = np.array(ha)

    def errors(p, a):
        e = p - a
        return dict(customers=int(p.size), mae=float(np.mean(np.abs(e))),
                    rmse=float(np.sqrt(np.mean(e * e))), sum_predicted=float(p.sum()),
                    sum_actual=float(a.sum()))
    # tracking: period k ends on day origin + k*ud - 1; cumulative repeat
    # purchase days up to then, and sum_i E[X((k ud - 1 - d_i) / ud)]
    origin = min(first)
    dfirst = np.array([(f - origin).days for f in first], float)
    nper = int(np.ceil(((hold_end - origin).days + 1) / ud))
    track = []
    for k in range(1, nper + 1):
        e_day = k * ud - 1
        age = np.maximum(e_day - dfirst, 0) / ud
        exp_c = float(np.sum(np.where(e_day >= dfirst, expected_new(th, age), 0.0)))
        act_c = 0
        for c, f in zip(ids, first):
            act_c += sum(1 for dd in days[c] if dd != f and (dd - origin).days <= e_day)
        track.append(dict(period=k, actual_cumulative=act_c, expected_cumulative=exp_c))
    out = dict(bgnbd=bg, gg=gg, holdout_length=L,
               purchases=errors(pred, hx), spend=errors(pred_spend, ha),
               customers=[dict(id=int(i), x=float(a), predicted=float(p), actual=float(h),
                               predicted_spend=float(ps), actual_spend=float(s2))
                          for i, a, p, h, ps, s2 in zip(ids, d["x"], pred, hx, pred_spend, ha)],
               tracking=track)
    print(json.dumps(out))
    return 0


# --------------------------------------------------------------------------
# Pareto/NBD: the textbook closed form (Fader & Hardie 2005 note, eq. 3-4)
# --------------------------------------------------------------------------
def pnbd_ll(th, x, tx, T, hyp=special.hyp2f1, log=np.log, lgam=special.gammaln):
    """Individual Pareto/NBD log-likelihood with the hypergeometric A0."""
    r, al, s, be = th
    rsx = r + s + x
    if al >= be:
        F = lambda t: hyp(rsx, s + 1, rsx + 1, (al - be) / (al + t)) / (al + t) ** rsx
    else:
        F = lambda t: hyp(rsx, r + x, rsx + 1, (be - al) / (be + t)) / (be + t) ** rsx
    A0 = F(tx) - F(T)
    return (lgam(r + x) - lgam(r) + r * log(al) + s * log(be)
            + log(1 / ((al + T) ** (r + x) * (be + T) ** s) + s / rsx * A0))


def cmd_pnbd(args):
    d = load(args.file)
    keys = np.stack([d["x"], d["tx"], d["T"]], axis=1)
    u, w = np.unique(keys, axis=0, return_counts=True)
    x, tx, T = u[:, 0], u[:, 1], u[:, 2]

    def f(lt):
        with np.errstate(all="ignore"):
            v = -np.sum(w * pnbd_ll(np.exp(lt), x, tx, T)) / w.sum()
        return v if np.isfinite(v) else np.inf
    t0 = time.time()
    best = None
    for st in ([0.5, 10.0, 0.5, 10.0], [1.0, 5.0, 1.0, 20.0], [0.25, 4.0, 2.0, 40.0]):
        r1 = optimize.minimize(f, np.log(st), method="Nelder-Mead",
                               options=dict(xatol=1e-11, fatol=1e-15, maxiter=20000, maxfev=40000))
        r2 = optimize.minimize(f, r1.x, method="BFGS", options=dict(gtol=1e-10))
        lt = r2.x if r2.fun <= r1.fun else r1.x
        if best is None or f(lt) < f(best):
            best = lt
    th = np.exp(best)
    print(json.dumps(dict(model="pnbd", params=dict(zip(["r", "alpha", "s", "beta"], th.tolist())),
                          loglik=float(-f(best) * w.sum()), seconds=time.time() - t0)))
    return 0


def cmd_pnbd_check(args):
    import mpmath as mp
    mp.mp.dps = 60
    t = Tally()
    mpf = lambda v: mp.mpf(repr(float(v)))
    # (r, alpha, s, beta, x, tx, T): CDNOW-like, tx close to T, long
    # histories, many purchases, alpha < beta and alpha > beta
    cases = [(0.553, 10.58, 0.606, 11.67, 2, 30.43, 38.86),
             (0.553, 10.58, 0.606, 11.67, 0, 0, 38.86),
             (0.553, 10.58, 0.606, 11.67, 5, 38.85999, 38.86),
             (0.553, 10.58, 0.606, 11.67, 50, 300, 300.0000001),
             (0.553, 10.58, 0.606, 11.67, 200, 1000, 1040),
             (2.5, 1.0, 3.0, 50.0, 150, 500, 2000),
             (0.2, 50.0, 1.5, 0.5, 20, 10, 400),
             (1.0, 20.0, 0.3, 20.0, 3, 5, 10),
             (0.8, 3.0, 8.0, 2.0, 400, 3600, 3650),
             (0.553, 10.58, 0.606, 11.67, 1000, 3650, 3650.5)]
    worst = 0.0
    naive_worst = 0.0
    for c in cases:
        th, (x, tx, T) = c[:4], c[4:]
        exact = pnbd_ll([mpf(v) for v in th], mpf(x), mpf(tx), mpf(T),
                        hyp=mp.hyp2f1, log=mp.log, lgam=mp.loggamma)
        r, al, s, be = [mpf(v) for v in th]
        alive = -(r + x) * mp.log(al + T) - s * mp.log(be + T)
        pa_exact = mp.exp(alive + mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(al)
                          + s * mp.log(be) - exact)
        out = run_cli(args.cli, "pnbd-ll", *c).split()
        ll_c, pa_c = float(out[0]), float(out[1])
        err = abs(ll_c - float(exact)) / max(1.0, abs(float(exact)))
        worst = max(worst, err, abs(pa_c - float(pa_exact)))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                naive = float(pnbd_ll(th, x, tx, T))
            except (OverflowError, ValueError, ZeroDivisionError):
                naive = np.inf
        naive_err = abs(naive - float(exact)) / max(1.0, abs(float(exact))) if np.isfinite(naive) else np.inf
        naive_worst = max(naive_worst, naive_err)
        t.check(err < 1e-12 and abs(pa_c - float(pa_exact)) < 1e-12,
                "Pareto/NBD LL %s: C %.15g, mpmath %.15g (rel %.1e), P(alive) diff %.1e; "
                "double hyp2f1 form rel err %.1e" % (c, ll_c, float(exact), err,
                                                    abs(pa_c - float(pa_exact)), naive_err))
    print("# worst C error %.2e; worst double-precision hyp2f1-form error %.2e" % (worst, naive_worst))
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.failed == 0 else 1


def cmd_pnbd_recovery(args):
    """Simulate Pareto/NBD customers, fit with the C CLI, check |est - true| < 5 SE."""
    rng = np.random.default_rng(args.seed)
    true = np.array([0.55, 10.6, 0.6, 11.7])
    n = args.n
    lam = rng.gamma(true[0], 1 / true[1], n)
    mu = rng.gamma(true[2], 1 / true[3], n)
    T = 39.0 - rng.uniform(0, 12, n)
    life = rng.exponential(1 / mu)
    end = np.minimum(life, T)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > end[i]:
                break
            x[i] += 1
            tx[i] = t
    fd, path = tempfile.mkstemp(suffix=".csv")
    with os.fdopen(fd, "w") as f:
        f.write("id,x,t_x,T\n")
        for i in range(n):
            f.write("%d,%d,%.17g,%.17g\n" % (i + 1, x[i], tx[i], T[i]))
    try:
        res = cli_fit(args.cli, "pnbd", path)
    finally:
        os.unlink(path)
    est = np.array([res["params"][k] for k in ("r", "alpha", "s", "beta")])
    keys = np.stack([x, tx, T], axis=1)

    def nll(lt):
        return -np.sum(pnbd_ll(np.exp(lt), keys[:, 0], keys[:, 1], keys[:, 2]))
    lt = np.log(est)
    h = 1e-4
    H = np.empty((4, 4))
    for j in range(4):
        for k in range(4):
            e1 = np.zeros(4)
            e2 = np.zeros(4)
            e1[j] = h
            e2[k] = h
            H[j, k] = (nll(lt + e1 + e2) - nll(lt + e1 - e2) - nll(lt - e1 + e2)
                       + nll(lt - e1 - e2)) / (4 * h * h)
    se = est * np.sqrt(np.diag(np.linalg.inv(H)))
    t = Tally()
    for name, e, tr, sd in zip(("r", "alpha", "s", "beta"), est, true, se):
        t.check(abs(e - tr) < 5 * sd, "Pareto/NBD recovery (n = %d, seed %d): %s = %.4f, true %.4f, "
                "SE %.4f (%.1f SE)" % (n, args.seed, name, e, tr, sd, (e - tr) / sd))
    t.check(res["converged"], "Pareto/NBD fit of the simulated data converged")
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.failed == 0 else 1


def cmd_next_check(args):
    """Next-purchase probabilities of the C core against direct numerical
    integration over the rate and dropout distributions (scipy dblquad),
    and the median wait against its defining property."""
    t = Tally()
    # (model, params, x, tx, T, t, n)
    cases = [("bgnbd", (0.243, 4.414, 0.793, 2.426), 2, 30.43, 38.86, 10, 0),
             ("bgnbd", (0.243, 4.414, 0.793, 2.426), 2, 30.43, 38.86, 10, 1),
             ("bgnbd", (0.243, 4.414, 0.793, 2.426), 2, 30.43, 38.86, 10, 3),
             ("bgnbd", (0.243, 4.414, 0.793, 2.426), 7, 35, 39, 20, 5),
             ("mbgnbd", (0.525, 6.183, 0.891, 1.614), 0, 0, 20, 10, 0),
             ("mbgnbd", (0.525, 6.183, 0.891, 1.614), 4, 15, 30, 26, 2),
             ("pnbd", (0.553, 10.58, 0.606, 11.67), 2, 30.43, 38.86, 10, 0),
             ("pnbd", (0.553, 10.58, 0.606, 11.67), 0, 0, 38.86, 0.5, 0),
             ("pnbd", (1.5, 8.0, 2.5, 3.0), 10, 20, 25, 52, 0)]
    for kind, th, x, tx, T, tt, n in cases:
        out = run_cli(args.cli, "next", kind, *th, x, tx, T, tt, n).split()
        pn_c, pw_c, med_c = (float(v) for v in out)
        r, al = th[0] + x, th[1] + T
        lam_pdf = lambda lam: np.exp(r * np.log(al) - special.gammaln(r) + (r - 1) * np.log(lam) - al * lam)
        if kind == "pnbd":
            s_, be = th[2], th[3] + T
            pa = float(np.exp(pnbd_ll_alive(th, x, T) - pnbd_ll(th, x, tx, T)))
            mu_pdf = lambda mu: np.exp(s_ * np.log(be) - special.gammaln(s_) + (s_ - 1) * np.log(mu) - be * mu)
            f = lambda mu, lam: lam_pdf(lam) * mu_pdf(mu) * lam / (lam + mu) * -np.expm1(-(lam + mu) * tt)
            val, _ = integrate.dblquad(f, 0, np.inf, 0, np.inf, epsabs=1e-13, epsrel=1e-11)
            ref = pa * val
            t.check(abs(pw_c - ref) < 1e-8, "Pareto/NBD P(purchase within %g) %s x=%g: C %.12g, dblquad %.12g"
                    % (tt, th, x, pw_c, ref))
            continue
        mbg = kind == "mbgnbd"
        a, b = th[2], th[3] + x + (1 if mbg else 0)
        pa = float(p_alive(np.array(th), np.array(float(x)), np.array(float(tx)), np.array(float(T)), mbg))
        p_pdf = lambda p: np.exp((a - 1) * np.log(p) + (b - 1) * np.log1p(-p) - special.betaln(a, b))

        def cond(p, lam):
            lt = lam * tt
            pois = np.exp(n * np.log(lt) - lt - special.gammaln(n + 1)) if n > 0 else np.exp(-lt)
            v = (1 - p) ** n * pois
            if n > 0:
                v += p * (1 - p) ** (n - 1) * special.gammainc(n, lt)   # P(Poisson >= n)
            return v * lam_pdf(lam) * p_pdf(p)
        val, _ = integrate.dblquad(cond, 0, np.inf, 0, 1, epsabs=1e-13, epsrel=1e-11)
        ref = pa * val + (1 - pa if n == 0 else 0)
        t.check(abs(pn_c - ref) < 1e-8, "%s P(N=%d in %g) x=%g: C %.12g, dblquad %.12g" % (kind, n, tt, x, pn_c, ref))
        # P(at least one) and the median: P(no purchase by median | alive) = 1/2
        ref_w = pa * (1 - (al / (al + tt)) ** r)
        t.check(abs(pw_c - ref_w) < 1e-12 and abs((al / (al + med_c)) ** r - 0.5) < 1e-12,
                "%s P(purchase within %g) %.12g and median %.6g (survival there 0.5)" % (kind, tt, pw_c, med_c))
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.failed == 0 else 1


def pnbd_ll_alive(th, x, T):
    """ln of the alive term of the Pareto/NBD likelihood."""
    r, al, s, be = th
    return (special.gammaln(r + x) - special.gammaln(r) + r * np.log(al) + s * np.log(be)
            - (r + x) * np.log(al + T) - s * np.log(be + T))


def cmd_score_bench(args):
    """Time vectorised numpy/scipy P(alive) and 12-month CLV (lifetimes-style
    formulas of this file) over every customer of FILE, at the scipy MLE."""
    d = load(args.file)
    bg = fit(Problem("bgnbd", d), 1)
    gg = fit(Problem("gg", d), 1)
    th = np.array(list(bg["params"].values()))
    gth = np.array(list(gg["params"].values()))
    x, tx, T, m = d["x"], d["tx"], d["T"], np.where(d["x"] > 0, d["m"], 0.0)
    t0 = time.time()
    pa = p_alive(th, x, tx, T, False)
    t1 = time.time()
    with np.errstate(all="ignore"):
        cv = clv(th, gth, x, tx, T, m)
    t2 = time.time()
    print(json.dumps(dict(customers=int(x.size), p_alive_seconds=t1 - t0, clv12_seconds=t2 - t1,
                          sum_p_alive=float(np.nansum(pa)), sum_clv=float(np.nansum(cv)))))
    return 0


# --------------------------------------------------------------------------
# BG/BB (Fader, Hardie & Shang 2010) for discrete-time data
# --------------------------------------------------------------------------
def bgbb_ll(th, x, tx, n):
    """Per-history BG/BB log-likelihood (FHS 2010 eq. 5), written directly as
    the sum of the alive term and the n - tx "died after tx + i" terms."""
    al, be, ga, de = th
    lb0 = special.betaln(al, be) + special.betaln(ga, de)
    out = np.empty(x.size)
    for k in range(x.size):
        terms = [special.betaln(al + x[k], be + n[k] - x[k]) + special.betaln(ga, de + n[k]) - lb0]
        for i in range(int(n[k] - tx[k])):
            terms.append(special.betaln(al + x[k], be + tx[k] - x[k] + i)
                         + special.betaln(ga + 1, de + tx[k] + i) - lb0)
        out[k] = special.logsumexp(terms)
    return out


def cmd_bgbb(args):
    """BG/BB fit of a (frequency, recency, periods, weights) CSV: Nelder-Mead,
    BFGS, then Newton steps on central differences; standard errors from the
    central-difference Hessian of -LL in log-parameters (delta method)."""
    rows = np.loadtxt(args.file, delimiter=",", skiprows=1, ndmin=2)
    x, tx, n, w = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]

    def nll(lt):
        with np.errstate(all="ignore"):
            v = -np.sum(w * bgbb_ll(np.exp(lt), x, tx, n))
        return v if np.isfinite(v) else np.inf

    def grad(lt, h=1e-6):
        g = np.empty(4)
        for j in range(4):
            e = np.zeros(4)
            e[j] = h
            g[j] = (nll(lt + e) - nll(lt - e)) / (2 * h)
        return g

    def hess(lt, h=1e-4):
        H = np.empty((4, 4))
        for j in range(4):
            for k in range(4):
                e1 = np.zeros(4)
                e2 = np.zeros(4)
                e1[j] = h
                e2[k] = h
                H[j, k] = (nll(lt + e1 + e2) - nll(lt + e1 - e2) - nll(lt - e1 + e2)
                           + nll(lt - e1 - e2)) / (4 * h * h)
        return H
    best = None
    for st in ([1.0, 1.0, 1.0, 1.0], [2.0, 1.0, 0.5, 3.0], [0.5, 0.5, 2.0, 5.0]):
        r1 = optimize.minimize(nll, np.log(st), method="Nelder-Mead",
                               options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000, maxfev=40000))
        r2 = optimize.minimize(nll, r1.x, jac=grad, method="BFGS", options=dict(gtol=1e-8))
        lt = r2.x if r2.fun <= r1.fun else r1.x
        if best is None or nll(lt) < nll(best):
            best = lt
    for _ in range(5):  # Newton polish
        step = np.linalg.solve(hess(best), grad(best))
        if not nll(best - step) <= nll(best):
            break
        best = best - step
    th = np.exp(best)
    cov = np.linalg.inv(hess(best))
    se = th * np.sqrt(np.diag(cov))
    names = ["alpha", "beta", "gamma", "delta"]
    print(json.dumps(dict(model="bgbb", params=dict(zip(names, th.tolist())),
                          loglik=float(-nll(best)), se=dict(zip(names, se.tolist())),
                          customers=int(w.sum()))))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("fit")
    p.add_argument("file")
    p.add_argument("--penalizer", type=float, default=0.0)
    p.add_argument("--starts", type=int, default=4)
    p.add_argument("--models", default="bgnbd,mbgnbd,gg")
    p = sub.add_parser("score")
    p.add_argument("file")
    p.add_argument("--t", type=float, default=10.0)
    p = sub.add_parser("compare")
    p.add_argument("file")
    p.add_argument("--cli", required=True)
    p.add_argument("--t", type=float, default=10.0)
    p = sub.add_parser("check-ep")
    p.add_argument("--cli", required=True)
    p.add_argument("--n", type=int, default=400)
    p = sub.add_parser("recovery")
    p.add_argument("--cli", required=True)
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--seed0", type=int, default=1)
    p.add_argument("--se", action="store_true", help="also asymptotic SEs (scipy)")
    p = sub.add_parser("bench")
    p.add_argument("n", type=int)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--starts", type=int, default=1)
    p.add_argument("--cli", default=None)
    p = sub.add_parser("pnbd")
    p.add_argument("file")
    p = sub.add_parser("pnbd-check")
    p.add_argument("--cli", required=True)
    p = sub.add_parser("pnbd-recovery")
    p.add_argument("--cli", required=True)
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("next-check")
    p.add_argument("--cli", required=True)
    p = sub.add_parser("bgbb")
    p.add_argument("file")
    p = sub.add_parser("score-bench")
    p.add_argument("file")
    p = sub.add_parser("holdout")
    p.add_argument("file")
    p.add_argument("--calibration-end", default="1997-09-30")
    p.add_argument("--holdout-end", default="1998-06-30")
    p.add_argument("--unit-days", type=float, default=7.0)
    a = ap.parse_args(argv)

    if a.cmd == "fit":
        d = load(a.file)
        for kind in a.models.split(","):
            print(json.dumps(fit(Problem(kind, d, a.penalizer), a.starts)))
        return 0
    if a.cmd == "score":
        d = load(a.file)
        fits = fit_all(d)
        sv = score(fits, d, a.t)
        print("# " + json.dumps({k: list(v["params"].values()) for k, v in fits.items()}))
        cols = list(sv)
        print("id,x,t_x,T,m," + ",".join(cols))
        for i in range(d["x"].size):
            print("%d,%.17g,%.17g,%.17g,%.17g," % (d["id"][i], d["x"][i], d["tx"][i], d["T"][i],
                                                  d["m"][i])
                  + ",".join("%.17g" % sv[c][i] for c in cols))
        return 0
    return {"compare": cmd_compare, "check-ep": cmd_check_ep, "recovery": cmd_recovery,
            "bench": cmd_bench, "holdout": cmd_holdout, "pnbd": cmd_pnbd,
            "pnbd-check": cmd_pnbd_check, "pnbd-recovery": cmd_pnbd_recovery,
            "next-check": cmd_next_check, "bgbb": cmd_bgbb, "score-bench": cmd_score_bench}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
