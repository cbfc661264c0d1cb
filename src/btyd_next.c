/*-------------------------------------------------------------------------
 *
 * btyd_next.c
 *	  Next purchase for (M)BG/NBD and Pareto/NBD: P(n purchases in a
 *	  window), P(at least one), median time to the next purchase.
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_next.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/* ------------------------------------------------------------------------
 * Next purchase: P(n purchases in (T, T+t]), P(at least one), median wait
 * ------------------------------------------------------------------------
 *
 * Given the history, an alive customer's purchase rate is Gamma(r+x,
 * alpha+T) and, for (M)BG/NBD, the dropout probability Beta(a, b+x) (BG:
 * x survived coin flips) or Beta(a, b+x+1) (MBG: also the one after the
 * first purchase); future dropouts happen only right after a purchase in
 * both.  So from T on the alive customer is a new BG/NBD customer with
 * these parameters, and [FHL05a] eq. 8 (with r' = r+x, alpha' = alpha+T,
 * b' as above) gives
 *	 P(N = n | alive) = B(a, b'+n)/B(a, b') NB(n)
 *		+ [n > 0] B(a+1, b'+n-1)/B(a, b') (1 - sum_{j<n} NB(j)),
 *	 NB(j) = G(r'+j)/(G(r') j!) (alpha'/(alpha'+t))^r' (t/(alpha'+t))^j;
 * unconditionally P(N = n) = P(alive) P(N = n | alive) + [n = 0] (1 -
 * P(alive)).  lifetimes' probability_of_n_purchases_up_to_time is the
 * x = 0, T = 0 case.
 */
#define NEXT_MAX_N 1000000.0

/* posterior (r', alpha', b') of an alive (M)BG/NBD customer */
static void
bg_posterior(btyd_model model, const double *p, double x, double T, double *rp,
			 double *ap, double *bp)
{
	*rp = p[0] + x;
	*ap = p[1] + T;
	*bp = p[3] + x + (model == BTYD_MBGNBD ? 1.0 : 0.0);
}

int
btyd_prob_n_purchases(btyd_model model, const double params[4], double n, double t,
					  double x, double tx, double T, double *out)
{
	double		pa,
				rp,
				ap,
				bp,
				a,
				lq,
				z,
				lbab,
				nb,
				cum = 0.0,
				pn;
	long		j;
	int			rc;

	if (out == NULL || !isfinite(n) || n < 0.0 || n != floor(n) || n > NEXT_MAX_N ||
		!isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	rc = btyd_p_alive(model, params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	bg_posterior(model, params, x, T, &rp, &ap, &bp);
	a = params[2];
	if (t == 0.0)
	{
		*out = (n == 0.0) ? 1.0 : 0.0;
		return BTYD_OK;
	}
	lq = -log1p(t / ap);		/* ln(alpha'/(alpha'+t)) */
	z = t / (ap + t);
	lbab = lgam(a) + lgam(bp) - lgam(a + bp);	/* ln B(a, b') */
	nb = exp(rp * lq);			/* NB(0) */
	for (j = 0; j < (long) n; j++)
	{
		if (poll_now(j))
			return BTYD_EINTR;
		cum += nb;
		nb *= (rp + j) / (j + 1.0) * z;
	}
	/* B(a, b'+n)/B(a, b') NB(n) */
	pn = exp(lgam(a) + lgam(bp + n) - lgam(a + bp + n) - lbab) * nb;
	if (n > 0.0)
		pn += exp(lgam(a + 1.0) + lgam(bp + n - 1.0) - lgam(a + bp + n) - lbab)
			* fmax(0.0, 1.0 - cum);
	*out = pa * pn + (n == 0.0 ? 1.0 - pa : 0.0);
	return BTYD_OK;
}

/* P(at least one purchase in (T, T+t]) = P(alive) (1 - (alpha'/(alpha'+t))^r') */
int
btyd_prob_purchase_within(btyd_model model, const double params[4], double t,
						  double x, double tx, double T, double *out)
{
	double		pa,
				rp,
				ap,
				bp;
	int			rc;

	if (out == NULL || !isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	rc = btyd_p_alive(model, params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	bg_posterior(model, params, x, T, &rp, &ap, &bp);
	*out = -pa * expm1(-rp * log1p(t / ap));
	return BTYD_OK;
}

/*
 * Median time from T to the next purchase of an alive customer: the time
 * by which P(no purchase | alive) = (alpha'/(alpha'+t))^r' falls to 1/2,
 * alpha' (2^(1/r') - 1).  (A dead customer never buys; combine with
 * P(alive).)
 */
int
btyd_next_purchase_median(btyd_model model, const double params[4], double x,
						  double tx, double T, double *out)
{
	double		pa,
				rp,
				ap,
				bp;
	int			rc;

	if (out == NULL)
		return BTYD_EINVAL;
	rc = btyd_p_alive(model, params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	bg_posterior(model, params, x, T, &rp, &ap, &bp);
	*out = ap * expm1(M_LN2 / rp);
	return isfinite(*out) ? BTYD_OK : BTYD_EDOMAIN;
}

/*
 * Pareto/NBD: P(at least one purchase in (T, T+t]).  Alive at T, lambda ~
 * Gamma(r', alpha') and mu ~ Gamma(s, beta') with r' = r+x, alpha' =
 * alpha+T, beta' = beta+T; a purchase comes first at u < t before dropout
 * with density E[lambda e^-(lambda+mu) u], so
 *	 P(N >= 1 | alive) = r' alpha'^r' beta'^s
 *						 int_0^t (alpha'+u)^-(r'+1) (beta'+u)^-s du,
 * the likelihood's integral with (r'+1, alpha', s-1, beta'): no 1 - P(0)
 * cancellation for small t.
 */
int
btyd_pnbd_prob_purchase_within(const double params[4], double t, double x,
							   double tx, double T, double *out)
{
	double		pa,
				q[4];
	pnbd_int	in;
	int			rc;

	if (out == NULL || !isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	rc = btyd_pnbd_p_alive(params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	if (t == 0.0)
	{
		*out = 0.0;
		return BTYD_OK;
	}
	q[0] = params[0] + x + 1.0;
	q[1] = params[1] + T;
	q[2] = params[2] - 1.0;
	q[3] = params[3] + T;
	rc = btyd_pnbd_integral(q, 0.0, 0.0, t, &in);
	if (rc != BTYD_OK)
		return rc;
	*out = pa * (params[0] + x) * exp((params[0] + x) * log(q[1]) + params[2] * log(q[3]) + in.lnI);
	return BTYD_OK;
}

/*
 * Pareto/NBD median time from T to the next purchase of an alive customer:
 * the t where G(t) = P(N >= 1 in (T, T+t] | alive) reaches 1/2.  G grows
 * to G(inf) = E[lambda / (lambda + mu)] (a purchase before dropping out),
 * which with rho = alpha'/beta' is
 *	 G(inf) = r'/(rho (r'+s)) 2F1(1, r'+1; r'+s+1; 1 - 1/rho)
 * (Euler's integral over Z = X/(X+Y) ~ Beta(r', s)).  If G(inf) < 1/2 the
 * median is +infinity: most alive customers with this history never buy
 * again.  Otherwise a safeguarded Newton iteration on G(t) = 1/2, with
 * G'(t) = r' alpha'^r' beta'^s (alpha'+t)^-(r'+1) (beta'+t)^-s, inside a
 * bracket found by doubling (at most 200 steps of each).
 */
static int
pnbd_within_alive(const double *q, double rp, double s, double t, double *out)
{
	pnbd_int	in;
	int			rc;

	if (t <= 0.0)
	{
		*out = 0.0;
		return BTYD_OK;
	}
	rc = btyd_pnbd_integral(q, 0.0, 0.0, t, &in);
	if (rc != BTYD_OK)
		return rc;
	*out = rp * exp(rp * log(q[1]) + s * log(q[3]) + in.lnI);
	return BTYD_OK;
}

int
btyd_pnbd_next_purchase_median(const double params[4], double x, double tx, double T,
							   double *out)
{
	double		q[4],
				rp = params[0] + x,
				s = params[2],
				rho,
				ginf,
				lo = 0.0,
				hi,
				t,
				g;
	int			rc,
				it;

	if (out == NULL || !check_bg_params(params) || !check_history(x, tx, T))
		return BTYD_EINVAL;
	q[0] = rp + 1.0;
	q[1] = params[1] + T;
	q[2] = s - 1.0;
	q[3] = params[3] + T;
	rho = q[1] / q[3];
	rc = btyd_hyp2f1(1.0, rp + 1.0, rp + s + 1.0, 1.0 - 1.0 / rho, &ginf);
	if (rc != BTYD_OK)
		return rc;
	ginf *= rp / (rho * (rp + s));
	if (!(ginf > 0.5 + 1e-12))
	{
		*out = INFINITY;
		return BTYD_OK;
	}
	/* bracket: G(hi) >= 1/2 */
	hi = q[1];
	for (it = 0;; it++)
	{
		rc = pnbd_within_alive(q, rp, s, hi, &g);
		if (rc != BTYD_OK)
			return rc;
		if (g >= 0.5)
			break;
		lo = hi;
		hi *= 2.0;
		if (it >= 200 || !isfinite(hi))
		{
			*out = INFINITY;
			return BTYD_OK;
		}
	}
	/* safeguarded Newton: G is increasing and concave in t */
	t = 0.5 * (lo + hi);
	for (it = 0; it < 200; it++)
	{
		double		dg,
					tn;

		rc = pnbd_within_alive(q, rp, s, t, &g);
		if (rc != BTYD_OK)
			return rc;
		if (g < 0.5)
			lo = t;
		else
			hi = t;
		dg = rp * exp(rp * log(q[1]) + s * log(q[3]) - (rp + 1.0) * log(q[1] + t) - s * log(q[3] + t));
		tn = t - (g - 0.5) / dg;
		if (!(tn > lo && tn < hi))
			tn = 0.5 * (lo + hi);
		if (fabs(tn - t) <= 1e-14 * t || hi - lo <= 1e-14 * hi)
		{
			*out = tn;
			return BTYD_OK;
		}
		t = tn;
	}
	return BTYD_ENOCONV;
}

/*
 * Pareto/NBD P(exactly n purchases in (T, T+t]).  Alive at T, lambda ~
 * Gamma(r', alpha') and mu ~ Gamma(s, beta') independently (r' = r+x,
 * alpha' = alpha+T, beta' = beta+T); the customer buys as a Poisson process
 * until dropping out at an Exp(mu) time, so
 *	 P(N = n | alive) = NB(n; t) (beta'/(beta'+t))^s
 *		+ s beta'^s int_0^t NB(n; u) (beta'+u)^-(s+1) du,
 *	 NB(n; u) = G(r'+n)/(G(r') n!) alpha'^r' u^n (alpha'+u)^-(r'+n).
 * The integral is summed like the likelihood's: in v = ln u the
 * log-integrand (n+1) v - (r'+n) ln(alpha'+e^v) - (s+1) ln(beta'+e^v) is
 * concave with slope at most K = 2n + r' + s + 2 in size; panels of width
 * 2/K outward from its maximum until the tail bound f/|phi'| is below
 * 1e-17 of the sum (towards v = -inf the slope tends to n+1 > 0).
 */
static void
nb_phi(const double *q, double n, double v, double *phi, double *dphi)
{
	double		u = exp(v),
				A = q[1] + u,
				B = q[3] + u;

	*phi = (n + 1.0) * v - (q[0] + n) * log(A) - (q[2] + 1.0) * log(B);
	*dphi = (n + 1.0) - (q[0] + n) * u / A - (q[2] + 1.0) * u / B;
}

static int
nb_sweep(const double *q, double n, double start, double limit, int dir, double H,
		 double ref, double *acc)
{
	long		k;
	double		a = start,
				phi,
				dphi;

	for (k = 0; k < PNBD_MAX_PANELS; k++)
	{
		double		b = a + dir * H,
					mid,
					half;
		int			j,
					sg;

		/* up to 1e6 panels: let the host cancel now and then */
		if (k % PNBD_POLL_PANELS == PNBD_POLL_PANELS - 1 &&
			btyd_poll_hook != NULL && btyd_poll_hook())
			return BTYD_EINTR;
		if (dir > 0 && b >= limit)
			b = limit;
		mid = 0.5 * (a + b);
		half = 0.5 * fabs(b - a);
		for (j = 0; j < 4; j++)
			for (sg = -1; sg <= 1; sg += 2)
			{
				nb_phi(q, n, mid + sg * half * gl8_x[j], &phi, &dphi);
				*acc += gl8_w[j] * half * exp(phi - ref);
			}
		if (b == limit)
			return BTYD_OK;
		nb_phi(q, n, b, &phi, &dphi);
		if (dphi * dir < 0.0 && exp(phi - ref) / fabs(dphi) <= 1e-17 * *acc)
			return BTYD_OK;
		a = b;
	}
	return BTYD_ENOCONV;
}

int
btyd_pnbd_prob_n_purchases(const double params[4], double n, double t, double x,
						   double tx, double T, double *out)
{
	double		q[4],
				pa,
				v1,
				lo,
				hi,
				mode,
				ref,
				d,
				K,
				acc = 0.0,
				lnb,
				pn;
	int			rc,
				it;

	if (out == NULL || !isfinite(n) || n < 0.0 || n != floor(n) || n > NEXT_MAX_N ||
		!isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	rc = btyd_pnbd_p_alive(params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	if (t == 0.0)
	{
		*out = (n == 0.0) ? 1.0 : 0.0;
		return BTYD_OK;
	}
	q[0] = params[0] + x;
	q[1] = params[1] + T;
	q[2] = params[2];
	q[3] = params[3] + T;
	/* ln of G(r'+n)/(G(r') n!) alpha'^r' */
	lnb = lgam(q[0] + n) - lgam(q[0]) - lgam(n + 1.0) + q[0] * log(q[1]);
	/* the alive-throughout term */
	pn = exp(lnb - q[0] * log(q[1] + t) + n * log(t / (q[1] + t))
			 + q[2] * log(q[3] / (q[3] + t)));
	/* the mode of the concave log-integrand on (-inf, ln t] */
	v1 = log(t);
	nb_phi(q, n, v1, &ref, &d);
	if (d >= 0.0)
		mode = v1;
	else
	{
		hi = v1;
		lo = v1 - 1.0;
		for (it = 0; it < 200; it++)
		{
			nb_phi(q, n, lo, &ref, &d);
			if (d > 0.0)
				break;
			hi = lo;
			lo -= (double) (2 << (it < 20 ? it : 20));
		}
		for (it = 0; it < 100 && hi - lo > 1e-13 * fmax(1.0, fabs(lo)); it++)
		{
			mode = 0.5 * (lo + hi);
			nb_phi(q, n, mode, &ref, &d);
			if (d > 0.0)
				lo = mode;
			else
				hi = mode;
		}
		mode = 0.5 * (lo + hi);
	}
	nb_phi(q, n, mode, &ref, &d);
	K = 2.0 * n + q[0] + q[2] + 2.0;
	if (mode < v1)
	{
		rc = nb_sweep(q, n, mode, v1, 1, 2.0 / K, ref, &acc);
		if (rc != BTYD_OK)
			return rc;
	}
	rc = nb_sweep(q, n, mode, -INFINITY, -1, 2.0 / K, ref, &acc);
	if (rc != BTYD_OK)
		return rc;
	pn += q[2] * exp(q[2] * log(q[3]) + lnb + ref + log(acc));
	*out = pa * pn + (n == 0.0 ? 1.0 - pa : 0.0);
	return BTYD_OK;
}
