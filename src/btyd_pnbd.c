/*-------------------------------------------------------------------------
 *
 * btyd_pnbd.c
 *	  Pareto/NBD ([SMC87]): likelihood by Gauss-Legendre quadrature,
 *	  per-customer P(alive), expected purchases and CLV.
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_pnbd.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/* ------------------------------------------------------------------------
 * Pareto/NBD [SMC87]: likelihood by quadrature, fit, per-customer formulas
 * ------------------------------------------------------------------------
 *
 * With purchase rate lambda ~ Gamma(r, alpha) and dropout rate mu ~
 * Gamma(s, beta), the individual likelihood is ([FH05], eq. 2 before the
 * integration over tau is carried out)
 *	 L = G(r+x) alpha^r beta^s / G(r) * B,
 *	 B = (alpha+T)^-(r+x) (beta+T)^-s + s I,
 *	 I = int_{tx}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau:
 * alive at T, or dropped out at some tau in (tx, T].  The closed form of I
 * is a difference of two Gauss hypergeometric terms ([FH05] eq. 3-4) that
 * cancels to no digits at all when tx is close to T or for long histories
 * (large x, T); the integral itself has a positive, log-concave integrand
 * and no cancellation.  It is computed by Gauss-Legendre quadrature in
 * w = ln(c + tau), c = min(alpha, beta), where the log-integrand
 *	 phi(w) = -(r+x) ln(alpha+tau) - (s+1) ln(beta+tau) + w
 * is concave with |phi'| <= K = r + x + s + 1, on panels of width 2/K (the
 * integrand changes by at most e^2 across a panel, where 8-point
 * Gauss-Legendre is exact to ~1e-17 relative).  Panels are summed outward
 * from the maximum of phi and stop once the rest of the tail, bounded by
 * f(w) / |phi'(w)| for a concave phi, is below 1e-17 of the sum; at most
 * PNBD_MAX_PANELS panels (else BTYD_ENOCONV).  The same nodes give the
 * gradient (differentiation under the integral sign).
 *
 *	 [SMC87] Schmittlein, Morrison & Colombo (1987), "Counting your
 *	         customers: who are they and what will they do next?",
 *	         Management Science 33(1), 1-24.
 *	 [FH05]  Fader & Hardie (2005), "A note on deriving the Pareto/NBD
 *	         model and related expressions" (note 008).
 */
/* phi and phi' at w (tau = e^w - c) */
static void
pnbd_phi(const double *p, double rx, double c, double w, double *phi, double *dphi,
		 double *la, double *lb, double *ia, double *ib)
{
	double		ew = exp(w),
				tau = ew - c,
				A = p[1] + tau,
				B = p[3] + tau;

	/* c is the smaller of alpha, beta: one of A, B is exactly e^w */
	*la = (p[1] == c) ? w : log(A);
	*lb = (p[3] == c) ? w : log(B);
	*ia = 1.0 / A;
	*ib = 1.0 / B;
	*phi = -rx * *la - (p[2] + 1.0) * *lb + w;
	*dphi = 1.0 - rx * ew * *ia - (p[2] + 1.0) * ew * *ib;
}

/*
 * Sum panels from w = start in direction dir (+1/-1) towards the limit,
 * accumulating exp(phi - ref) times 1 and the gradient factors.
 */
static int
pnbd_sweep(const double *p, double rx, double c, double start, double limit, int dir,
		   double H, double ref, double acc[5])
{
	long		k;
	double		a = start;

	for (k = 0; k < PNBD_MAX_PANELS; k++)
	{
		double		b = a + dir * H,
					mid,
					half,
					phi,
					dphi,
					la,
					lb,
					ia,
					ib;
		int			j,
					sg;

		/*
		 * a sweep may run to 1e6 panels (9 exp and log each): let the host
		 * cancel every PNBD_POLL_PANELS panels, about a millisecond
		 */
		if (k % PNBD_POLL_PANELS == PNBD_POLL_PANELS - 1 &&
			btyd_poll_hook != NULL && btyd_poll_hook())
			return BTYD_EINTR;
		if ((dir > 0 && b >= limit) || (dir < 0 && b <= limit))
			b = limit;
		mid = 0.5 * (a + b);
		half = 0.5 * fabs(b - a);
		for (j = 0; j < 4; j++)
			for (sg = -1; sg <= 1; sg += 2)
			{
				double		f;

				pnbd_phi(p, rx, c, mid + sg * half * gl8_x[j], &phi, &dphi, &la, &lb, &ia, &ib);
				f = gl8_w[j] * half * exp(phi - ref);
				acc[0] += f;
				acc[1] += f * la;
				acc[2] += f * ia;
				acc[3] += f * lb;
				acc[4] += f * ib;
			}
		if (b == limit)
			return BTYD_OK;
		/* tail bound beyond b: f(b) / |phi'(b)| once phi decreases away */
		pnbd_phi(p, rx, c, b, &phi, &dphi, &la, &lb, &ia, &ib);
		if (dphi * dir < 0.0 &&
			exp(phi - ref) / fabs(dphi) <= 1e-17 * acc[0])
			return BTYD_OK;
		a = b;
	}
	return BTYD_ENOCONV;
}

/* I = int_{tx}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau, tx < T */
int
btyd_pnbd_integral(const double *p, double x, double tx, double T, pnbd_int *out)
{
	double		rx = p[0] + x,
				c = fmin(p[1], p[3]),
				w0 = log(c + tx),
				w1 = log(c + T),
				K = rx + p[2] + 1.0,
				H = 2.0 / K,
				phi0,
				phi1,
				d0,
				d1,
				la,
				lb,
				ia,
				ib,
				mode,
				ref,
				acc[5] = {0, 0, 0, 0, 0};
	int			rc,
				it;

	pnbd_phi(p, rx, c, w0, &phi0, &d0, &la, &lb, &ia, &ib);
	pnbd_phi(p, rx, c, w1, &phi1, &d1, &la, &lb, &ia, &ib);
	if (d0 <= 0.0)
		mode = w0;
	else if (d1 >= 0.0)
		mode = w1;
	else
	{
		/* phi' decreases: bisect for its root (60 halvings: to rounding) */
		double		lo = w0,
					hi = w1,
					ph,
					dp;

		for (it = 0; it < 60 && hi - lo > 1e-15 * fmax(1.0, fabs(lo)); it++)
		{
			mode = 0.5 * (lo + hi);
			pnbd_phi(p, rx, c, mode, &ph, &dp, &la, &lb, &ia, &ib);
			if (dp > 0.0)
				lo = mode;
			else
				hi = mode;
		}
		mode = 0.5 * (lo + hi);
	}
	pnbd_phi(p, rx, c, mode, &ref, &d0, &la, &lb, &ia, &ib);
	if (mode < w1)
	{
		rc = pnbd_sweep(p, rx, c, mode, w1, 1, H, ref, acc);
		if (rc != BTYD_OK)
			return rc;
	}
	if (mode > w0)
	{
		rc = pnbd_sweep(p, rx, c, mode, w0, -1, H, ref, acc);
		if (rc != BTYD_OK)
			return rc;
	}
	if (!(acc[0] > 0.0))
		return BTYD_ENOCONV;
	out->lnI = ref + log(acc[0]);
	out->m_lna = acc[1] / acc[0];
	out->m_ia = acc[2] / acc[0];
	out->m_lnb = acc[3] / acc[0];
	out->m_ib = acc[4] / acc[0];
	return BTYD_OK;
}

/*
 * ln B - lnA and q = s I / B for one customer, lnA = ln of the alive term
 * -(r+x) ln(alpha+T) - s ln(beta+T); optionally the integral's means.
 */
static int
pnbd_bracket(const double *p, double x, double tx, double T, double *lnA,
			 double *lnB, double *q, pnbd_int *in)
{
	pnbd_int	tmp;
	double		u;
	int			rc;

	if (in == NULL)
		in = &tmp;
	*lnA = -(p[0] + x) * log(p[1] + T) - p[2] * log(p[3] + T);
	if (!(tx < T))
	{
		memset(in, 0, sizeof(*in));
		*lnB = *lnA;
		*q = 0.0;
		return BTYD_OK;
	}
	rc = btyd_pnbd_integral(p, x, tx, T, in);
	if (rc != BTYD_OK)
		return rc;
	/* ln B = lnA + softplus(u), u = ln(s I) - lnA; q = sigmoid(u) */
	u = log(p[2]) + in->lnI - *lnA;
	*lnB = *lnA + (u > 0.0 ? u + log1p(exp(-u)) : log1p(exp(u)));
	*q = inv1pexp(-u);
	return BTYD_OK;
}

/*
 * Pareto/NBD log-likelihood sum w LL over rows and its gradient wrt
 * (r, alpha, s, beta).  Returns BTYD_ENOCONV if a quadrature hit its cap.
 */
int
btyd_pnbd_loglik_rows(const btyd_row *rows, size_t n, const double *p, double *ll_out,
				 double *dll)
{
	double		ll = 0.0,
				g[4] = {0, 0, 0, 0},
				lnal = log(p[1]),
				lnbe = log(p[3]),
				lgr = lgam(p[0]),
				psr = btyd_digamma(p[0]);
	size_t		i;

	for (i = 0; i < n; i++)
	{
		const btyd_row *row = &rows[i];
		double		x = row->x,
					w = row->w,
					rx = p[0] + x,
					lnA,
					lnB,
					q,
					la_T,
					lb_T;
		pnbd_int	in;
		int			rc;

		if (w == 0.0)
			continue;
		if (poll_now((long) i))
			return BTYD_EINTR;
		rc = pnbd_bracket(p, x, row->tx, row->T, &lnA, &lnB, &q, &in);
		if (rc != BTYD_OK)
			return rc;
		ll += w * (lgam(rx) - lgr + p[0] * lnal + p[2] * lnbe + lnB);
		if (dll)
		{
			la_T = log(p[1] + row->T);
			lb_T = log(p[3] + row->T);
			/* d ln B = (1-q) dlnA + q E[d phi] (+ q/s for s) */
			g[0] += w * (btyd_digamma(rx) - psr + lnal
						 - (1.0 - q) * la_T - q * in.m_lna);
			g[1] += w * (p[0] / p[1] - (1.0 - q) * rx / (p[1] + row->T)
						 - q * rx * in.m_ia);
			g[2] += w * (lnbe - (1.0 - q) * lb_T - q * in.m_lnb + q / p[2]);
			g[3] += w * (p[2] / p[3] - (1.0 - q) * p[2] / (p[3] + row->T)
						 - q * (p[2] + 1.0) * in.m_ib);
		}
	}
	*ll_out = ll;
	if (dll)
		memcpy(dll, g, sizeof(g));
	return BTYD_OK;
}


/* sum w LL and its gradient wrt (r, alpha, s, beta), Pareto/NBD */
int
btyd_pnbd_loglik(const double params[4], const btyd_row *rows, size_t n,
				 double *ll, double grad[4])
{
	size_t		i;
	int			rc;

	if (ll == NULL || !check_bg_params(params) || (rows == NULL && n > 0))
		return BTYD_EINVAL;
	for (i = 0; i < n; i++)
		if (!check_history(rows[i].x, rows[i].tx, rows[i].T) || !isfinite(rows[i].w))
			return BTYD_EINVAL;
	rc = btyd_pnbd_loglik_rows(rows, n, params, ll, grad);
	if (rc != BTYD_OK)
		return rc;
	return isfinite(*ll) ? BTYD_OK : BTYD_EDOMAIN;
}

/*
 * P(alive at T | x, tx, T) = alive term / B = 1 - q ([FH05] eq. 11, the
 * same quantity without the hypergeometric difference).
 */
int
btyd_pnbd_p_alive(const double params[4], double x, double tx, double T, double *out)
{
	double		lnA,
				lnB,
				q;
	int			rc;

	if (out == NULL || !check_bg_params(params) || !check_history(x, tx, T))
		return BTYD_EINVAL;
	rc = pnbd_bracket(params, x, tx, T, &lnA, &lnB, &q, NULL);
	if (rc != BTYD_OK)
		return rc;
	*out = exp(lnA - lnB);
	return BTYD_OK;
}

/* expm1(y)/y, 1 at y = 0 */
static double
expm1_over(double y)
{
	return (fabs(y) < 1e-300) ? 1.0 : expm1(y) / y;
}

/*
 * growth(b, t, s) = b ((1 + t/b)^(1-s) - 1) / (1 - s) = b L expm1((1-s) L) /
 * ((1-s) L), L = ln(1 + t/b): the expected purchases' time factor, exact at
 * s = 1.  When t/b overflows (b near the smallest double) L is ln(b + t) -
 * ln b; when (1-s) L is not small there is no cancellation and the power
 * is formed in logs, so b L times an infinite ratio cannot give NaN.
 */
static double
growth(double b, double t, double s)
{
	double		L = log1p(t / b),
				y;

	if (!isfinite(L))
		L = log(b + t) - log(b);
	y = (1.0 - s) * L;
	if (fabs(y) < 0.5)
		return b * L * expm1_over(y);
	return (exp(log(b) + y) - b) / (1.0 - s);
}

/*
 * E[purchases in (T, T+t] | x, tx, T] ([SMC87]; [FH05] eq. 12):
 *	 P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
 * written as P(alive) (r+x)/(alpha+T) (beta+T) L expm1((1-s) L)/((1-s) L)
 * with L = ln(1 + t/(beta+T)), which is exact at s = 1 (the limit
 * (r+x)(beta+T)/(alpha+T) L).
 */
int
btyd_pnbd_expected_purchases(const double params[4], double t, double x, double tx,
							 double T, double *out)
{
	double		pa;
	int			rc;

	if (out == NULL || !isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	rc = btyd_pnbd_p_alive(params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	*out = pa * ((params[0] + x) / (params[1] + T)) * growth(params[3] + T, t, params[2]);
	return BTYD_OK;
}

/* E[X(t)] for a new customer: r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] */
int
btyd_pnbd_expected_purchases_new(const double params[4], double t, double *out)
{
	if (out == NULL || !check_bg_params(params) || !isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	*out = (params[0] / params[1]) * growth(params[3], t, params[2]);
	return BTYD_OK;
}


/*
 * Pareto/NBD CLV, as btyd_clv: value x sum_i (E(i f) - E((i-1) f)) / (1+d)^i
 * with E the conditional expected purchases (P(alive) computed once).
 */
int
btyd_pnbd_clv(const double params[4], const double gg[3], double x, double tx,
			  double T, double m, int horizon_months, double monthly_discount_rate,
			  double periods_per_month, double *out)
{
	double		value,
				pa,
				scale,
				prev = 0.0,
				disc = 1.0,
				clv = 0.0;
	int			i,
				rc;

	if (out == NULL || horizon_months < 0 || horizon_months > BTYD_MAX_HORIZON_MONTHS ||
		!isfinite(monthly_discount_rate) ||
		monthly_discount_rate <= -1.0 || !pos_finite(periods_per_month))
		return BTYD_EINVAL;
	rc = btyd_gg_expected_avg_value(gg, x, m, &value);
	if (rc != BTYD_OK)
		return rc;
	rc = btyd_pnbd_p_alive(params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	scale = pa * ((params[0] + x) / (params[1] + T));
	for (i = 1; i <= horizon_months; i++)
	{
		double		cur;

		if (poll_now(i))
			return BTYD_EINTR;
		cur = scale * growth(params[3] + T, i * periods_per_month, params[2]);

		disc /= 1.0 + monthly_discount_rate;
		clv += value * (cur - prev) * disc;
		prev = cur;
	}
	*out = clv;
	return BTYD_OK;
}
