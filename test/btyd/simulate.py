#!/usr/bin/python3
"""Deterministic simulator for the BG/NBD (or MBG/NBD) purchase process with
Gamma-Gamma spend, used to test parameter recovery of the btyd C core.

Process (Fader, Hardie & Lee 2005, "Counting your customers the easy way";
Batislam et al. 2007 for MBG/NBD; Fader, Hardie & Lee 2005, "RFM and CLV"):
  - customer i is acquired (first purchase) at time 0 of their own clock and
    observed for T_i ~ Uniform(t_lo, t_hi) weeks;
  - purchase rate lambda_i ~ Gamma(shape r, rate alpha), purchases follow a
    Poisson process (exponential inter-purchase times);
  - dropout probability p_i ~ Beta(a, b): after every repeat purchase the
    customer drops out with probability p_i (MBG/NBD: also right after the
    first purchase);
  - spend per transaction z ~ Gamma(shape p, rate nu_i), nu_i ~ Gamma(shape q,
    rate v); m_i is the mean over the repeat purchases (0 when x_i == 0),
    like CDNOW's zbar.

Output CSV columns: id,x,t_x,T,m (times in weeks, 6 decimals).  With
--transactions FILE also writes the raw purchases (id,time,amount,repeat),
including the first purchase at time 0 (whose amount is not part of m).

Example:
  /usr/bin/python3 test/btyd/simulate.py --n 20000 --seed 20240 \
      --out test/data/sim_bgnbd_20k.csv
"""
import argparse
import sys

import numpy as np

DEFAULTS = dict(r=0.25, alpha=4.0, a=0.8, b=2.5, p=6.0, q=3.5, v=15.0,
                t_lo=4.0, t_hi=52.0)


def simulate(n, seed, model="bgnbd", r=0.25, alpha=4.0, a=0.8, b=2.5,
             p=6.0, q=3.5, v=15.0, t_lo=4.0, t_hi=52.0, transactions=False):
    """Return dict of arrays x, t_x, T, m (and a transaction list if asked).

    Vectorised over customers: each round every still-active customer draws
    the next inter-purchase time; those still inside their window purchase,
    spend, and then drop out with probability p_i.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    T = rng.uniform(t_lo, t_hi, size=n)
    lam = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
    pdrop = rng.beta(a, b, size=n)
    nu = rng.gamma(shape=q, scale=1.0 / v, size=n)
    first_amount = rng.gamma(shape=p, scale=1.0 / nu)

    x = np.zeros(n, dtype=np.int64)
    tx = np.zeros(n)
    spend = np.zeros(n)
    t = np.zeros(n)
    active = np.ones(n, dtype=bool)
    if model == "mbgnbd":
        active &= rng.uniform(size=n) >= pdrop
    tr_id, tr_time, tr_amt = [], [], []
    if transactions:
        tr_id.append(np.arange(n))
        tr_time.append(np.zeros(n))
        tr_amt.append(first_amount)

    idx = np.nonzero(active)[0]
    while idx.size:
        t[idx] += rng.exponential(size=idx.size) / lam[idx]
        buy = t[idx] <= T[idx]
        idx = idx[buy]
        if not idx.size:
            break
        amt = rng.gamma(shape=p, scale=1.0 / nu[idx])
        x[idx] += 1
        tx[idx] = t[idx]
        spend[idx] += amt
        if transactions:
            tr_id.append(idx.copy())
            tr_time.append(t[idx].copy())
            tr_amt.append(amt)
        idx = idx[rng.uniform(size=idx.size) >= pdrop[idx]]

    m = np.where(x > 0, spend / np.maximum(x, 1), 0.0)
    out = dict(x=x, t_x=tx, T=T, m=m)
    if transactions:
        out["transactions"] = (np.concatenate(tr_id), np.concatenate(tr_time),
                               np.concatenate(tr_amt))
    return out


def write_summary(path, sim):
    """Write id,x,t_x,T,m with 6 decimals (rounding keeps t_x <= T)."""
    n = sim["x"].size
    with open(path, "w") as f:
        f.write("id,x,t_x,T,m\n")
        for i in range(n):
            f.write("%d,%d,%.6f,%.6f,%.6f\n" % (i + 1, sim["x"][i], sim["t_x"][i],
                                              sim["T"][i], sim["m"][i]))


def write_transactions(path, sim):
    """Write id,time,amount,repeat sorted by customer then time."""
    cid, tim, amt = sim["transactions"]
    order = np.lexsort((tim, cid))
    with open(path, "w") as f:
        f.write("id,time,amount,repeat\n")
        for k in order:
            f.write("%d,%.6f,%.6f,%d\n" % (cid[k] + 1, tim[k], amt[k], tim[k] > 0))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=20240)
    ap.add_argument("--model", choices=["bgnbd", "mbgnbd"], default="bgnbd")
    ap.add_argument("--out", default="-")
    ap.add_argument("--transactions", default=None,
                    help="also write raw transactions to this CSV")
    for k, val in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=float, default=val)
    a = ap.parse_args(argv)
    sim = simulate(a.n, a.seed, a.model, a.r, a.alpha, a.a, a.b, a.p, a.q, a.v,
                   a.t_lo, a.t_hi, transactions=a.transactions is not None)
    if a.out == "-":
        write_summary("/dev/stdout", sim)
    else:
        write_summary(a.out, sim)
    if a.transactions:
        write_transactions(a.transactions, sim)
    rep = sim["x"] > 0
    print("simulated %d customers (seed %d): %d with repeat purchases, mean x %.3f"
          % (a.n, a.seed, rep.sum(), sim["x"].mean()), file=sys.stderr)


if __name__ == "__main__":
    main()
