#!/usr/bin/python3
"""BG/BB donors as transactions, for the holdout evaluation test.

Writes (customer_id, ts, amount) rows of N donors of one cohort: each gives
once in the first year (the acquisition, 1995), then, in each of the
following years 1996..2006, dies before the year with probability theta,
else gives with probability p (p ~ Beta(alpha, beta), theta ~
Beta(gamma, delta), the BG/BB of Fader, Hardie & Shang 2010, at the
parameters of their donations data).  A gift falls on a random day of the
year; one in ten gift years has a second gift in the same year (one
opportunity per period: the period is counted once).  Amounts are
Gamma-Gamma (shape 6, individual scale ~ Gamma(3.5, 15)) rounded to cents.

  /usr/bin/python3 test/btyd/simulate_bgbb_tx.py > test/data/sim_bgbb_donors.csv

The committed file is regenerated exactly from seed 19 (numpy PCG64).
"""
import datetime
import sys

import numpy as np

N = 2000
FIRST_YEAR, LAST_YEAR = 1995, 2006
ALPHA, BETA, GAMMA, DELTA = 1.204, 0.750, 0.657, 2.783


def main():
    rng = np.random.Generator(np.random.PCG64(19))
    out = sys.stdout
    out.write("customer_id,ts,amount\n")
    for i in range(1, N + 1):
        p = rng.beta(ALPHA, BETA)
        theta = rng.beta(GAMMA, DELTA)
        scale = 1.0 / rng.gamma(3.5, 1.0 / 15.0)

        def gift(year):
            day = datetime.date(year, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 365)))
            out.write("%d,%s,%.2f\n" % (i, day.isoformat(), rng.gamma(6.0, scale)))

        gift(FIRST_YEAR)
        for year in range(FIRST_YEAR + 1, LAST_YEAR + 1):
            if rng.uniform() < theta:
                break
            if rng.uniform() < p:
                gift(year)
                if rng.uniform() < 0.1:
                    gift(year)


if __name__ == "__main__":
    main()
