/*-------------------------------------------------------------------------
 *
 * btyd_bgbb.c
 *	  BG/BB (Fader, Hardie & Shang 2010, [FHS10]) for discrete-time data:
 *	  one transaction opportunity per period (yearly donations, monthly
 *	  renewals, events).  While alive, a customer transacts in a period with
 *	  probability p ~ Beta(alpha, beta); at the start of each period after
 *	  the first an alive customer dies with probability theta ~ Beta(gamma,
 *	  delta).  A history is (x, tx, n): x transactions in n opportunities,
 *	  the last in opportunity tx (0 <= x <= tx <= n, tx = 0 iff x = 0).
 *
 *	 [FHS10] Fader, Hardie & Shang (2010), "Customer-base analysis in a
 *	         discrete-time noncontractual setting", Marketing Science
 *	         29(6), 1086-1108.
 *
 * Likelihood ([FHS10] eq. 5): alive through n, or died after tx + i
 * opportunities, i = 0 .. n - tx - 1,
 *	 L = B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
 *	   + sum_i B(alpha+x, beta+tx-x+i)/B(alpha,beta)
 *			   B(gamma+1, delta+tx+i)/B(gamma,delta),
 * summed as a log-sum-exp of the terms' logs; the gradient is the terms'
 * softmax-weighted gradients (d lnB(u, v)/du = psi(u) - psi(u+v)).
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_bgbb.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/* ln B(u, v) */
static double
lbeta(double u, double v)
{
	return lgam(u) + lgam(v) - lgam(u + v);
}

/* a valid BG/BB history: integers 0 <= x <= tx <= n, tx = 0 iff x = 0 */
int
btyd_bgbb_check_history(double x, double tx, double n)
{
	if (!isfinite(x) || !isfinite(tx) || !isfinite(n))
		return 0;
	if (x != floor(x) || tx != floor(tx) || n != floor(n))
		return 0;
	if (x < 0.0 || x > tx || tx > n || n > BTYD_BGBB_MAX_PERIODS)
		return 0;
	if ((x == 0.0) != (tx == 0.0))
		return 0;
	return 1;
}

/*
 * ln L of one history and (optionally) its gradient in (alpha, beta,
 * gamma, delta); BTYD_EINTR when the host interrupts a long history.
 */
static int
bgbb_row_ll(const double *p, double x, double tx, double n, double *ll, double *g)
{
	const double al = p[0],
				be = p[1],
				ga = p[2],
				de = p[3];
	const double lb0 = lbeta(al, be) + lbeta(ga, de);
	double		m,
				s = 0.0,
				A,
				dA[4],
				acc[4] = {0, 0, 0, 0},
				base[4];
	long		i,
				k = (long) (n - tx);

	/* derivatives of -lnB(alpha,beta) - lnB(gamma,delta) */
	if (g)
	{
		base[0] = -(btyd_digamma(al) - btyd_digamma(al + be));
		base[1] = -(btyd_digamma(be) - btyd_digamma(al + be));
		base[2] = -(btyd_digamma(ga) - btyd_digamma(ga + de));
		base[3] = -(btyd_digamma(de) - btyd_digamma(ga + de));
	}
	/* the alive term first: it is the largest for most histories */
	m = lbeta(al + x, be + n - x) + lbeta(ga, de + n) - lb0;
	s = 1.0;
	if (g)
	{
		double		ps = btyd_digamma(al + be + n),
					pg = btyd_digamma(ga + de + n);

		acc[0] = btyd_digamma(al + x) - ps;
		acc[1] = btyd_digamma(be + n - x) - ps;
		acc[2] = btyd_digamma(ga) - pg;
		acc[3] = btyd_digamma(de + n) - pg;
	}
	for (i = 0; i < k; i++)
	{
		double		c = tx + i,
					e;
		int			j;

		if (poll_now(i))
			return BTYD_EINTR;
		A = lbeta(al + x, be + c - x) + lbeta(ga + 1.0, de + c) - lb0;
		if (g)
		{
			double		ps = btyd_digamma(al + be + c),
						pg = btyd_digamma(ga + de + c + 1.0);

			dA[0] = btyd_digamma(al + x) - ps;
			dA[1] = btyd_digamma(be + c - x) - ps;
			dA[2] = btyd_digamma(ga + 1.0) - pg;
			dA[3] = btyd_digamma(de + c) - pg;
		}
		/* running log-sum-exp with m the largest log so far */
		if (A > m)
		{
			e = exp(m - A);
			s = s * e + 1.0;
			if (g)
				for (j = 0; j < 4; j++)
					acc[j] = acc[j] * e + dA[j];
			m = A;
		}
		else
		{
			e = exp(A - m);
			s += e;
			if (g)
				for (j = 0; j < 4; j++)
					acc[j] += e * dA[j];
		}
	}
	*ll = m + log(s);
	if (g)
	{
		int			j;

		for (j = 0; j < 4; j++)
			g[j] = acc[j] / s + base[j];
	}
	return BTYD_OK;
}

/* sum w LL over prepared rows and its gradient (dll may be NULL) */
int
btyd_bbdata_loglik(const bbdata *d, const double *th, double *ll_out, double *dll)
{
	double		ll = 0.0,
				g[4] = {0, 0, 0, 0},
				gi[4],
				li;
	size_t		r;
	int			j,
				rc;

	for (r = 0; r < d->n; r++)
	{
		const btyd_row *row = &d->rows[r];

		rc = bgbb_row_ll(th, row->x, row->tx, row->T, &li, dll ? gi : NULL);
		if (rc != BTYD_OK)
			return rc;
		ll += row->w * li;
		if (dll)
			for (j = 0; j < 4; j++)
				g[j] += row->w * gi[j];
	}
	*ll_out = ll;
	if (dll)
		memcpy(dll, g, sizeof(g));
	return BTYD_OK;
}

/* public: sum w LL and its gradient wrt (alpha, beta, gamma, delta) */
int
btyd_bgbb_loglik(const double params[4], const btyd_row *rows, size_t n,
				 double *ll, double grad[4])
{
	bbdata		d;
	size_t		i;
	int			rc;

	if (ll == NULL || params == NULL || (rows == NULL && n > 0))
		return BTYD_EINVAL;
	for (i = 0; i < 4; i++)
		if (!pos_finite(params[i]))
			return BTYD_EINVAL;
	for (i = 0; i < n; i++)
		if (!btyd_bgbb_check_history(rows[i].x, rows[i].tx, rows[i].T) ||
			!isfinite(rows[i].w) || rows[i].w < 0.0)
			return BTYD_EINVAL;
	memset(&d, 0, sizeof(d));
	d.rows = (btyd_row *) rows;
	d.n = n;
	rc = btyd_bbdata_loglik(&d, params, ll, grad);
	if (rc != BTYD_OK)
		return rc;
	return isfinite(*ll) ? BTYD_OK : BTYD_EDOMAIN;
}

/* the likelihood of one history, as a log, for the per-customer formulas */
static int
bgbb_check(const double *p, double x, double tx, double n)
{
	int			j;

	if (p == NULL)
		return 0;
	for (j = 0; j < 4; j++)
		if (!pos_finite(p[j]))
			return 0;
	return btyd_bgbb_check_history(x, tx, n);
}

/*
 * P(alive at the start of opportunity n + 1 | x, tx, n) ([FHS10] eq. 11):
 * B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n+1)/B(gamma,delta) / L.
 */
int
btyd_bgbb_p_alive(const double params[4], double x, double tx, double n, double *out)
{
	double		ll,
				v;
	int			rc;

	if (out == NULL || !bgbb_check(params, x, tx, n))
		return BTYD_EINVAL;
	rc = bgbb_row_ll(params, x, tx, n, &ll, NULL);
	if (rc != BTYD_OK)
		return rc;
	v = exp(lbeta(params[0] + x, params[1] + n - x) + lbeta(params[2], params[3] + n + 1.0)
			- lbeta(params[0], params[1]) - lbeta(params[2], params[3]) - ll);
	if (!isfinite(v))
		return BTYD_EDOMAIN;
	*out = v > 1.0 ? 1.0 : v;
	return BTYD_OK;
}

/*
 * E[transactions in opportunities n+1 .. n+t | x, tx, n] ([FHS10] eq. 13),
 * summed as (1/L) B(alpha+x+1, beta+n-x)/B(alpha,beta)
 *	 sum_{k=1..t} B(gamma, delta+n+k)/B(gamma,delta):
 * alive at n + k and transacting then.  t is a whole number of periods
 * (at most BTYD_BGBB_MAX_PERIODS).
 */
int
btyd_bgbb_expected_purchases(const double params[4], double t, double x, double tx,
							 double n, double *out)
{
	double		ll,
				lead,
				sum = 0.0,
				v;
	long		k;
	int			rc;

	if (out == NULL || !bgbb_check(params, x, tx, n) || !isfinite(t) || t < 0.0 ||
		t != floor(t) || t > BTYD_BGBB_MAX_PERIODS)
		return BTYD_EINVAL;
	rc = bgbb_row_ll(params, x, tx, n, &ll, NULL);
	if (rc != BTYD_OK)
		return rc;
	lead = lbeta(params[0] + x + 1.0, params[1] + n - x) - lbeta(params[0], params[1])
		- lbeta(params[2], params[3]) - ll;
	for (k = 1; k <= (long) t; k++)
	{
		if (poll_now(k))
			return BTYD_EINTR;
		sum += exp(lead + lbeta(params[2], params[3] + n + (double) k));
	}
	v = sum;
	if (!isfinite(v))
		return BTYD_EDOMAIN;
	*out = v;
	return BTYD_OK;
}

/*
 * Discounted expected residual transactions ([FHS10] eq. 14), discount
 * rate d > 0 per period:
 *	 DERT = B(alpha+x+1, beta+n-x)/B(alpha,beta) B(gamma, delta+n+1)
 *			/ (B(gamma,delta) (1+d) L) 2F1(1, delta+n+1; gamma+delta+n+1; 1/(1+d)).
 */
int
btyd_bgbb_dert(const double params[4], double d, double x, double tx, double n,
			   double *out)
{
	double		ll,
				h,
				v;
	int			rc;

	if (out == NULL || !bgbb_check(params, x, tx, n) || !isfinite(d) || !(d > 0.0))
		return BTYD_EINVAL;
	rc = bgbb_row_ll(params, x, tx, n, &ll, NULL);
	if (rc != BTYD_OK)
		return rc;
	rc = btyd_hyp2f1(1.0, params[3] + n + 1.0, params[2] + params[3] + n + 1.0,
					 1.0 / (1.0 + d), &h);
	if (rc != BTYD_OK)
		return rc;
	v = exp(lbeta(params[0] + x + 1.0, params[1] + n - x) - lbeta(params[0], params[1])
			+ lbeta(params[2], params[3] + n + 1.0) - lbeta(params[2], params[3]) - ll)
		/ (1.0 + d) * h;
	if (!isfinite(v))
		return BTYD_EDOMAIN;
	*out = v;
	return BTYD_OK;
}
