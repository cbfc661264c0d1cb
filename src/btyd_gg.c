/*-------------------------------------------------------------------------
 *
 * btyd_gg.c
 *	  Gamma-Gamma spend model ([FHL05b]): expected average value and the
 *	  one-pass likelihood with its gradient over prepared data.
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_gg.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/*
 * Gamma-Gamma E[Z | x, m] = p (v + x m) / (p x + q - 1) ([FHL05b] eq. 5 of
 * note 025), i.e. lifetimes' conditional_expected_average_profit written
 * as one fraction (the weighted average of m and the population mean
 * p v / (q - 1) with weight p x / (p x + q - 1)).
 */
int
btyd_gg_expected_avg_value(const double params[3], double x, double m, double *out)
{
	double		den;

	if (out == NULL || params == NULL || !pos_finite(params[0]) ||
		!pos_finite(params[1]) || !pos_finite(params[2]) ||
		!isfinite(x) || x < 0.0 || !isfinite(m))
		return BTYD_EINVAL;
	if (x > 0.0 && m < 0.0)
		return BTYD_EINVAL;
	den = params[0] * x + params[1] - 1.0;
	if (!(den > 0.0))
		return BTYD_EDOMAIN;
	/*
	 * p (v + x m) / den as a sum of two terms, so that a finite answer is
	 * not lost to an overflow of v + x m (m near the largest double)
	 */
	*out = params[0] / den * params[2] + (x > 0.0 ? params[0] * x / den * m : 0.0);
	return BTYD_OK;
}


/* ------------------------------------------------------------------------
 * Gamma-Gamma likelihood
 * ------------------------------------------------------------------------
 *
 * [FHL05b] / note 025 eq. 1a, the density of the mean m of x transactions
 * (including the Jacobian x^(px), exactly as lifetimes' GammaGammaFitter):
 *	 LL = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln m + px ln x
 *		  - (px+q) ln(x m + v).
 * Per row only L = ln(x m + v) and 1/(x m + v) depend on the parameters
 * and the row; sums of w ln m and w x ln m are precomputed.
 */
/* free a ggdata */
void
btyd_gg_free(const allocator *al, ggdata *d)
{
	xfree(al, d->xm);
	xfree(al, d->xr);
	xfree(al, d->w);
	if (d->owns_xv)
		xfree(al, d->xv);
	xfree(al, d->xw);
	memset(d, 0, sizeof(*d));
}

/* validate and lay out Gamma-Gamma rows (x == 0 and w == 0 rows dropped) */
int
btyd_gg_prepare(const allocator *al, const gg_row *rows, size_t n, ggdata *d)
{
	size_t		i,
				m = 0;
	int32_t    *k;
	int			rc;

	memset(d, 0, sizeof(*d));
	d->owns_xv = 1;
	for (i = 0; i < n; i++)
	{
		const gg_row *r = &rows[i];

		if (!isfinite(r->x) || !isfinite(r->m) || !isfinite(r->w) ||
			r->x < 0.0 || r->w < 0.0)
			return BTYD_EINVAL;
		if (r->x > 0.0 && !(r->m > 0.0))
			return BTYD_EINVAL;
		if (r->x > 0.0 && r->w > 0.0)
			m++;
	}
	d->xm = xalloc(al, m * sizeof(double));
	d->xr = xalloc(al, m * sizeof(double));
	d->w = xalloc(al, m * sizeof(double));
	k = xalloc(al, m * sizeof(int32_t));
	if (!d->xm || !d->xr || !d->w || !k)
	{
		xfree(al, k);
		btyd_gg_free(al, d);
		return BTYD_ENOMEM;
	}
	for (i = 0; i < n; i++)
	{
		const gg_row *r = &rows[i];

		if (!(r->x > 0.0 && r->w > 0.0))
			continue;
		d->xm[d->n] = r->x * r->m;
		d->xr[d->n] = r->x;
		d->w[d->n] = r->w;
		d->W += r->w;
		d->C0 += r->w * log(r->m);
		d->C1 += r->w * r->x * log(r->m);
		d->Wm += r->w * r->m;
		d->n++;
	}
	rc = btyd_build_xindex(al, d->xr, d->n, &d->xv, &d->nx, k);
	if (rc == BTYD_OK)
	{
		d->xw = xalloc(al, d->nx * sizeof(double));
		if (d->xw == NULL)
			rc = BTYD_ENOMEM;
	}
	if (rc != BTYD_OK)
	{
		xfree(al, k);
		btyd_gg_free(al, d);
		return rc;
	}
	memset(d->xw, 0, d->nx * sizeof(double));
	for (i = 0; i < d->n; i++)
		d->xw[k[i]] += d->w[i];
	xfree(al, k);
	return BTYD_OK;
}

/* systematic subsample of Gamma-Gamma data (every stride-th row) */
int
btyd_gg_subsample(const allocator *al, const ggdata *s, size_t stride, ggdata *d)
{
	size_t		i,
				j;

	memset(d, 0, sizeof(*d));
	d->owns_xv = 0;
	d->xv = s->xv;
	d->nx = s->nx;
	d->n = (s->n + stride - 1) / stride;
	d->xm = xalloc(al, d->n * sizeof(double));
	d->xr = xalloc(al, d->n * sizeof(double));
	d->w = xalloc(al, d->n * sizeof(double));
	d->xw = xalloc(al, d->nx * sizeof(double));
	if (!d->xm || !d->xr || !d->w || !d->xw)
	{
		btyd_gg_free(al, d);
		return BTYD_ENOMEM;
	}
	memset(d->xw, 0, d->nx * sizeof(double));
	for (i = 0, j = 0; i < s->n; i += stride, j++)
	{
		double		m = s->xm[i] / s->xr[i];

		d->xm[j] = s->xm[i];
		d->xr[j] = s->xr[i];
		d->w[j] = s->w[i];
		d->W += s->w[i];
		d->C0 += s->w[i] * log(m);
		d->C1 += s->w[i] * s->xr[i] * log(m);
		d->Wm += s->w[i] * m;
		d->xw[btyd_find_sorted(d->xv, d->nx, s->xr[i])] += s->w[i];
	}
	return BTYD_OK;
}

/* Gamma-Gamma sum_i w_i LL_i and gradient wrt (p, q, v), one pass */
void
btyd_ggdata_loglik(const ggdata *d, const double *th, double *ll_out, double *dll)
{
	const double p = th[0],
				q = th[1],
				v = th[2];
	double		S_c = 0.0,
				S_p = 0.0,
				S_q = 0.0,
				R_xL = 0.0,
				R_L = 0.0,
				R_xi = 0.0,
				R_i = 0.0;
	size_t		k,
				i,
				lo;

	for (k = 0; k < d->nx; k++)
	{
		double		x = d->xv[k],
					px = p * x,
					wk = d->xw[k],
					ps = btyd_digamma(px + q);

		if (wk == 0.0)
			continue;
		S_c += wk * (lgam(px + q) - lgam(px) + px * log(x));
		S_p += wk * x * (ps - btyd_digamma(px) + log(x));
		S_q += wk * ps;
	}
	for (lo = 0; lo < d->n; lo += BLOCK)
	{
		size_t		hi = (lo + BLOCK < d->n) ? lo + BLOCK : d->n;
		double		p_xL = 0.0,
					p_L = 0.0,
					p_xi = 0.0,
					p_i = 0.0;

		for (i = lo; i < hi; i++)
		{
			double		den = d->xm[i] + v,
						L = log(den),
						wi = d->w[i] / den;

			p_xL += d->w[i] * d->xr[i] * L;
			p_L += d->w[i] * L;
			p_xi += wi * d->xr[i];
			p_i += wi;
		}
		R_xL += p_xL;
		R_L += p_L;
		R_xi += p_xi;
		R_i += p_i;
	}
	*ll_out = S_c - d->W * lgam(q) + d->W * q * log(v) + p * d->C1 - d->C0
		- p * R_xL - q * R_L;
	if (dll)
	{
		dll[0] = S_p + d->C1 - R_xL;
		dll[1] = S_q - d->W * btyd_digamma(q) + d->W * log(v) - R_L;
		dll[2] = d->W * q / v - p * R_xi - q * R_i;
	}
}

/*
 * The Hessian of sum_i w_i LL_i with respect to (p, q, v), analytic, in one
 * pass (H row-major 3 x 3).  With I = 1 / (x m + v):
 *	 d2/dp2 = x^2 (psi'(px+q) - psi'(px)),	d2/dp dq = x psi'(px+q),
 *	 d2/dq2 = psi'(px+q) - psi'(q),  d2/dp dv = -x I,
 *	 d2/dq dv = 1/v - I,  d2/dv2 = -q/v^2 + (px+q) I^2.
 */
void
btyd_ggdata_hessian(const ggdata *d, const double *th, double *H)
{
	const double p = th[0],
				q = th[1],
				v = th[2];
	double		X_pp = 0.0,
				X_pq = 0.0,
				X_qq = 0.0,
				R_xi = 0.0,
				R_i = 0.0,
				R_ii = 0.0;
	size_t		k,
				i;

	for (k = 0; k < d->nx; k++)
	{
		double		x = d->xv[k],
					wk = d->xw[k],
					tg = btyd_trigamma(p * x + q);

		if (wk == 0.0)
			continue;
		X_pp += wk * x * x * (tg - btyd_trigamma(p * x));
		X_pq += wk * x * tg;
		X_qq += wk * tg;
	}
	for (i = 0; i < d->n; i++)
	{
		double		I = 1.0 / (d->xm[i] + v),
					wi = d->w[i] * I;

		R_xi += wi * d->xr[i];
		R_i += wi;
		R_ii += wi * I * (p * d->xr[i] + q);
	}
	H[0] = X_pp;
	H[1] = H[3] = X_pq;
	H[2] = H[6] = -R_xi;
	H[4] = X_qq - d->W * btyd_trigamma(q);
	H[5] = H[7] = d->W / v - R_i;
	H[8] = -d->W * q / (v * v) + R_ii;
}
