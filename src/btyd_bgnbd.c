/*-------------------------------------------------------------------------
 *
 * btyd_bgnbd.c
 *	  BG/NBD and MBG/NBD ([FHL05a], [BDF07]): per-customer P(alive),
 *	  expected purchases, CLV, and the one-pass likelihood with its gradient
 *	  over prepared data.
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_bgnbd.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/* ------------------------------------------------------------------------
 * Per-customer functions
 * ------------------------------------------------------------------------
 */

/*
 * log of the odds "dropped out right after the last purchase" : "alive",
 * u = ln(a / (b + x - 1)) + (r + x) ln((alpha + T)/(alpha + tx)) for BG/NBD
 * ([FHL05a] eq. 6 / Hardie note 021) and ln(a / (b + x)) + ... for MBG/NBD
 * ([BDF07] app. A eq. 5).  P(alive) = 1 / (1 + e^u).
 */
static double
dead_logodds(btyd_model model, const double *p, double x, double tx, double T)
{
	double		bx = (model == BTYD_MBGNBD) ? p[3] + x : p[3] + x - 1.0;

	return log(p[2] / bx) + (p[0] + x) * log1p((T - tx) / (p[1] + tx));
}

/* P(alive | x, tx, T): 1 for BG/NBD at x == 0 */
int
btyd_p_alive(btyd_model model, const double params[4], double x, double tx,
			 double T, double *out)
{
	if (out == NULL || !check_bg_params(params) || !check_history(x, tx, T))
		return BTYD_EINVAL;
	if (model != BTYD_BGNBD && model != BTYD_MBGNBD)
		return BTYD_EINVAL;
	if (model == BTYD_BGNBD && x == 0.0)
		*out = 1.0;
	else
		*out = inv1pexp(dead_logodds(model, params, x, tx, T));
	return BTYD_OK;
}

/*
 * E[purchases in (T, T+t] | x, tx, T] = P(alive) * N, N from btyd_ep_core with
 * A = r + x and B = b + x (BG/NBD, [FHL05a] eq. 10) or B = b + x + 1
 * (MBG/NBD, Wagner & Hoppe 2008): given alive, p ~ Beta(a, B).
 */
int
btyd_expected_purchases(btyd_model model, const double params[4], double t,
						double x, double tx, double T, double *out)
{
	double		pa,
				n,
				B;
	int			rc;

	if (out == NULL || !check_bg_params(params) || !check_history(x, tx, T) ||
		!isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	rc = btyd_p_alive(model, params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	B = (model == BTYD_MBGNBD) ? params[3] + x + 1.0 : params[3] + x;
	rc = btyd_ep_core(params[0] + x, B, params[2], t / (params[1] + T), &n);
	if (rc != BTYD_OK)
		return rc;
	*out = pa * n;
	return BTYD_OK;
}

/*
 * E[X(t)] for a customer acquired at time 0 ([FHL05a] eq. 9; [BDF07]):
 * the conditional expectation at x = tx = T = 0.
 */
int
btyd_expected_purchases_new(btyd_model model, const double params[4], double t,
							double *out)
{
	return btyd_expected_purchases(model, params, t, 0.0, 0.0, 0.0, out);
}

/* model-specific spellings */
int
btyd_bgnbd_p_alive(const double params[4], double x, double tx, double T, double *out)
{
	return btyd_p_alive(BTYD_BGNBD, params, x, tx, T, out);
}

/* MBG/NBD P(alive) */
int
btyd_mbgnbd_p_alive(const double params[4], double x, double tx, double T, double *out)
{
	return btyd_p_alive(BTYD_MBGNBD, params, x, tx, T, out);
}

/* BG/NBD conditional expected purchases */
int
btyd_bgnbd_expected_purchases(const double params[4], double t, double x,
							  double tx, double T, double *out)
{
	return btyd_expected_purchases(BTYD_BGNBD, params, t, x, tx, T, out);
}

/* MBG/NBD conditional expected purchases */
int
btyd_mbgnbd_expected_purchases(const double params[4], double t, double x,
							   double tx, double T, double *out)
{
	return btyd_expected_purchases(BTYD_MBGNBD, params, t, x, tx, T, out);
}

/* BG/NBD E[X(t)] */
int
btyd_bgnbd_expected_purchases_new(const double params[4], double t, double *out)
{
	return btyd_expected_purchases_new(BTYD_BGNBD, params, t, out);
}

/* MBG/NBD E[X(t)] */
int
btyd_mbgnbd_expected_purchases_new(const double params[4], double t, double *out)
{
	return btyd_expected_purchases_new(BTYD_MBGNBD, params, t, out);
}


/*
 * CLV mirroring lifetimes' _customer_lifetime_value (utils.py): for
 * i = 1..H, with s = i * f, add value * (E(s) - E(s - f)) / (1+d)^(s/f),
 * computed as value * P(alive) * S with clv_purchases' S, which depends
 * on x and T alone (btyd_clv_memo in btyd.h).
 *
 * clv_purchases: S = sum_i (N(i f) - N((i-1) f)) / (1 + d)^i over the
 * horizon, N at every month end
 */
static int
clv_purchases(btyd_model model, const double bg[4], double x, double T, int horizon_months,
			  double monthly_discount_rate, double periods_per_month, double *S)
{
	double		prev = 0.0,
				k[EP_MULTI_MAX],
				n[EP_MULTI_MAX],
				disc = 1.0,
				sum = 0.0,
				B = (model == BTYD_MBGNBD) ? bg[3] + x + 1.0 : bg[3] + x;
	int			i,
				rc;

	for (i = 1; i <= horizon_months; i += EP_MULTI_MAX)
	{
		int			nk = (horizon_months - i + 1 < EP_MULTI_MAX) ? horizon_months - i + 1 : EP_MULTI_MAX,
					j;

		if (btyd_poll_hook != NULL && btyd_poll_hook())
			return BTYD_EINTR;
		for (j = 0; j < nk; j++)
			k[j] = (i + j) * periods_per_month / (bg[1] + T);
		rc = btyd_ep_core_multi(bg[0] + x, B, bg[2], k, nk, n);
		if (rc != BTYD_OK)
			return rc;
		for (j = 0; j < nk; j++)
		{
			disc /= 1.0 + monthly_discount_rate;	/* (1 + d)^-(i+j) */
			sum += (n[j] - prev) * disc;
			prev = n[j];
		}
	}
	*S = sum;
	return BTYD_OK;
}

int
btyd_clv_memo_eval(btyd_model model, const double bg[4], const double gg[3],
				   double x, double tx, double T, double m, int horizon_months,
				   double monthly_discount_rate, double periods_per_month,
				   const btyd_clv_memo *memo, double *out)
{
	double		value,
				pa,
				S;
	int			rc;

	if (out == NULL || horizon_months < 0 || horizon_months > BTYD_MAX_HORIZON_MONTHS ||
		!isfinite(monthly_discount_rate) ||
		monthly_discount_rate <= -1.0 || !pos_finite(periods_per_month))
		return BTYD_EINVAL;
	rc = btyd_gg_expected_avg_value(gg, x, m, &value);
	if (rc != BTYD_OK)
		return rc;
	if (!check_bg_params(bg) || !check_history(x, tx, T) ||
		(model != BTYD_BGNBD && model != BTYD_MBGNBD))
		return BTYD_EINVAL;
	/* E(s) = P(alive) N(s): P(alive) once, N at every month end */
	rc = btyd_p_alive(model, bg, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	if (memo == NULL || !memo->lookup(memo->arg, x, T, &S))
	{
		rc = clv_purchases(model, bg, x, T, horizon_months, monthly_discount_rate,
						   periods_per_month, &S);
		if (rc != BTYD_OK)
			return rc;
		if (memo != NULL)
			memo->store(memo->arg, x, T, S);
	}
	*out = value * (pa * S);
	return BTYD_OK;
}

int
btyd_clv(btyd_model model, const double bg[4], const double gg[3],
		 double x, double tx, double T, double m, int horizon_months,
		 double monthly_discount_rate, double periods_per_month, double *out)
{
	return btyd_clv_memo_eval(model, bg, gg, x, tx, T, m, horizon_months, monthly_discount_rate,
							  periods_per_month, NULL, out);
}


/* ------------------------------------------------------------------------
 * (M)BG/NBD likelihood: prepared data and one-pass LL + gradient
 * ------------------------------------------------------------------------
 *
 * Individual log-likelihood ([FHL05a] section 7 / Hardie note 004 eq. 3):
 *	 LL = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
 *		  - (r+x) ln(alpha+T) + ln(1 + [x>0] e^u),
 *	 u	= ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+tx)).
 * MBG/NBD ([BDF07]; likelihood of lifetimes' ModifiedBetaGeoFitter): the
 * customer may also drop out right after the first purchase, so with
 * probability (1-p)^(x+1) the customer is alive at T and with p (1-p)^x
 * dropped out at tx:
 *	 L = B(a, b+x+1)/B(a,b) G(r+x)/G(r) alpha^r (alpha+T)^-(r+x)
 *	   + B(a+1, b+x)/B(a,b) G(r+x)/G(r) alpha^r (alpha+tx)^-(r+x),
 * and since B(a+1, b+x) = B(a, b+x+1) a/(b+x),
 *	 LL = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x+1) - lnB(a, b)
 *		  - (r+x) ln(alpha+T) + ln(1 + e^u),  u = ln(a/(b+x)) + (r+x) ln(...)
 * for every x >= 0 (tx = 0 when x = 0).  Writing xb = x (BG) or x + 1
 * (MBG), both are
 *	 LL = C(x) + r ln(alpha) - (r+x) ln(alpha+T) + [row has u] softplus(u),
 *	 C(x) = lnG(r+x) - lnG(r) + lnG(b+xb) - lnG(b) + lnG(a+b) - lnG(a+b+xb),
 *	 u = ln(a/(b+xb-1)) + (r+x) ln((alpha+T)/(alpha+tx)).
 */

/* free a bgdata */
void
btyd_bg_free(const allocator *al, bgdata *d)
{
	xfree(al, d->T0);
	xfree(al, d->w0);
	xfree(al, d->T1);
	xfree(al, d->tx1);
	xfree(al, d->w1);
	xfree(al, d->k1);
	if (d->owns_xv)
		xfree(al, d->xv);
	xfree(al, d->xw);
	xfree(al, d->tab);
	memset(d, 0, sizeof(*d));
}

/* qsort comparator for doubles */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* index of v in the sorted array xv[0..n-1] (v is known to be present) */
size_t
btyd_find_sorted(const double *xv, size_t n, double v)
{
	size_t		lo = 0,
				hi = n;

	while (hi - lo > 1)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (xv[mid] <= v)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Map values xs[0..n-1] to indexes into their sorted distinct values.
 * Integer values up to a modest maximum use a dense lookup table (O(n));
 * anything else is sorted.  On success *xv_out (allocated, nx entries)
 * holds the distinct values and k[i] the index of xs[i].
 */
int
btyd_build_xindex(const allocator *al, const double *xs, size_t n,
			 double **xv_out, size_t *nx_out, int32_t *k)
{
	size_t		i,
				nd = 0;
	double		xmax = 0.0;
	int			dense = 1;
	double	   *xv;

	for (i = 0; i < n; i++)
	{
		if (xs[i] != floor(xs[i]) || xs[i] < 0.0)
			dense = 0;
		if (xs[i] > xmax)
			xmax = xs[i];
	}
	if (dense && xmax <= 4.0 * (double) n + 1024.0 && xmax < 1e8)
	{
		size_t		len = (size_t) xmax + 1,
					v;
		int32_t    *map = xalloc(al, len * sizeof(int32_t));

		if (map == NULL)
			return BTYD_ENOMEM;
		for (v = 0; v < len; v++)
			map[v] = -1;
		for (i = 0; i < n; i++)
			map[(size_t) xs[i]] = 0;
		for (v = 0; v < len; v++)
			if (map[v] == 0)
				map[v] = (int32_t) nd++;
		xv = xalloc(al, nd * sizeof(double));
		if (xv == NULL)
		{
			xfree(al, map);
			return BTYD_ENOMEM;
		}
		for (v = 0; v < len; v++)
			if (map[v] >= 0)
				xv[map[v]] = (double) v;
		for (i = 0; i < n; i++)
			k[i] = map[(size_t) xs[i]];
		xfree(al, map);
	}
	else
	{
		xv = xalloc(al, n * sizeof(double));
		if (xv == NULL)
			return BTYD_ENOMEM;
		memcpy(xv, xs, n * sizeof(double));
		qsort(xv, n, sizeof(double), cmp_double);
		for (i = 0; i < n; i++)
			if (nd == 0 || xv[i] != xv[nd - 1])
				xv[nd++] = xv[i];
		for (i = 0; i < n; i++)
			k[i] = (int32_t) btyd_find_sorted(xv, nd, xs[i]);
	}
	*xv_out = xv;
	*nx_out = nd;
	return BTYD_OK;
}

/*
 * Validate rows and build the evaluation layout (rows with w == 0 are
 * dropped).  Returns BTYD_EINVAL on a bad row.
 */
int
btyd_bg_prepare(const allocator *al, btyd_model model, const btyd_row *rows,
		   size_t n, bgdata *d)
{
	size_t		i,
				n0 = 0,
				n1 = 0;
	double	   *tmp;
	int			rc;

	memset(d, 0, sizeof(*d));
	d->model = model;
	d->owns_xv = 1;
	for (i = 0; i < n; i++)
	{
		const btyd_row *r = &rows[i];

		if (!check_history(r->x, r->tx, r->T) || !isfinite(r->w) || r->w < 0.0)
			return BTYD_EINVAL;
		if (r->x > 2147483647.0)
			return BTYD_EINVAL;
		if (r->w == 0.0)
			continue;
		if (model == BTYD_BGNBD && r->x == 0.0)
			n0++;
		else
			n1++;
	}
	d->T0 = xalloc(al, n0 * sizeof(double));
	d->w0 = xalloc(al, n0 * sizeof(double));
	d->T1 = xalloc(al, n1 * sizeof(double));
	d->tx1 = xalloc(al, n1 * sizeof(double));
	d->w1 = xalloc(al, n1 * sizeof(double));
	d->k1 = xalloc(al, n1 * sizeof(int32_t));
	tmp = xalloc(al, n1 * sizeof(double));
	if (!d->T0 || !d->w0 || !d->T1 || !d->tx1 || !d->w1 || !d->k1 || !tmp)
	{
		xfree(al, tmp);
		btyd_bg_free(al, d);
		return BTYD_ENOMEM;
	}
	for (i = 0; i < n; i++)
	{
		const btyd_row *r = &rows[i];

		if (r->w == 0.0)
			continue;
		d->W += r->w;
		d->Wx += r->w * r->x;
		d->WT += r->w * r->T;
		if (r->T > d->Tmax)
			d->Tmax = r->T;
		if (model == BTYD_BGNBD && r->x == 0.0)
		{
			d->T0[d->n0] = r->T;
			d->w0[d->n0] = r->w;
			d->n0++;
		}
		else
		{
			d->T1[d->n1] = r->T;
			d->tx1[d->n1] = r->tx;
			d->w1[d->n1] = r->w;
			tmp[d->n1] = r->x;
			d->n1++;
		}
	}
	/* distinct x values and each row's index into them */
	rc = btyd_build_xindex(al, tmp, n1, &d->xv, &d->nx, d->k1);
	xfree(al, tmp);
	if (rc != BTYD_OK)
	{
		btyd_bg_free(al, d);
		return rc;
	}
	d->xw = xalloc(al, d->nx * sizeof(double));
	d->tab = xalloc(al, d->nx * sizeof(xtab));
	if (!d->xw || !d->tab)
	{
		btyd_bg_free(al, d);
		return BTYD_ENOMEM;
	}
	memset(d->xw, 0, d->nx * sizeof(double));
	for (i = 0; i < n1; i++)
		d->xw[d->k1[i]] += d->w1[i];
	return BTYD_OK;
}

/*
 * Systematic subsample of a prepared data set: every stride-th row of the
 * x == 0 part and of the x > 0 part (stratified by that split; rows are in
 * input order, typically sorted by the caller's grouping).  The distinct-x
 * table is shared with the parent.
 */
int
btyd_bg_subsample(const allocator *al, const bgdata *s, size_t stride, bgdata *d)
{
	size_t		i,
				j;

	memset(d, 0, sizeof(*d));
	d->model = s->model;
	d->owns_xv = 0;
	d->xv = s->xv;
	d->nx = s->nx;
	d->n0 = (s->n0 + stride - 1) / stride;
	d->n1 = (s->n1 + stride - 1) / stride;
	d->T0 = xalloc(al, d->n0 * sizeof(double));
	d->w0 = xalloc(al, d->n0 * sizeof(double));
	d->T1 = xalloc(al, d->n1 * sizeof(double));
	d->tx1 = xalloc(al, d->n1 * sizeof(double));
	d->w1 = xalloc(al, d->n1 * sizeof(double));
	d->k1 = xalloc(al, d->n1 * sizeof(int32_t));
	d->xw = xalloc(al, d->nx * sizeof(double));
	d->tab = xalloc(al, d->nx * sizeof(xtab));
	if (!d->T0 || !d->w0 || !d->T1 || !d->tx1 || !d->w1 || !d->k1 || !d->xw || !d->tab)
	{
		btyd_bg_free(al, d);
		return BTYD_ENOMEM;
	}
	memset(d->xw, 0, d->nx * sizeof(double));
	for (i = 0, j = 0; i < s->n0; i += stride, j++)
	{
		d->T0[j] = s->T0[i];
		d->w0[j] = s->w0[i];
		d->W += s->w0[i];
		d->WT += s->w0[i] * s->T0[i];
	}
	for (i = 0, j = 0; i < s->n1; i += stride, j++)
	{
		d->T1[j] = s->T1[i];
		d->tx1[j] = s->tx1[i];
		d->w1[j] = s->w1[i];
		d->k1[j] = s->k1[i];
		d->xw[s->k1[i]] += s->w1[i];
		d->W += s->w1[i];
		d->Wx += s->w1[i] * s->xv[s->k1[i]];
		d->WT += s->w1[i] * s->T1[i];
	}
	/* the penalty's time scale must be the same as on the full data */
	d->Tmax = s->Tmax;
	return BTYD_OK;
}

/*
 * Sum_i w_i LL_i and its gradient with respect to the natural parameters
 * (r, alpha, a, b), in one pass.  th = natural parameters.
 */
void
btyd_bgdata_loglik(bgdata *d, const double *th, double *ll_out, double *dll)
{
	const double r = th[0],
				alpha = th[1],
				a = th[2],
				b = th[3];
	const double mb = (d->model == BTYD_MBGNBD) ? 1.0 : 0.0;
	double		lg_r = lgam(r),
				lg_b = lgam(b),
				lg_ab = lgam(a + b),
				ps_r = btyd_digamma(r),
				ps_b = btyd_digamma(b),
				ps_ab = btyd_digamma(a + b),
				la = log(a),
				lalpha = log(alpha);
	double		S_c = 0.0,
				S_r = 0.0,
				S_a = 0.0,
				S_b = 0.0;
	double		R_ll = 0.0,
				R_r = 0.0,
				R_al = 0.0,
				R_s = 0.0,
				R_sb = 0.0;
	size_t		k,
				i,
				lo;

	/* per distinct x: x-only terms, weighted by their total weight */
	for (k = 0; k < d->nx; k++)
	{
		double		x = d->xv[k],
					xb = x + mb,
					bx = b + xb - 1.0,
					wk = d->xw[k];
		xtab	   *t = &d->tab[k];

		t->rx = r + x;
		t->lnk = la - log(bx);
		t->invb = 1.0 / bx;
		if (wk == 0.0)
			continue;
		if (x != 0.0)
		{
			S_c += wk * (lgam(r + x) - lg_r);
			S_r += wk * (btyd_digamma(r + x) - ps_r);
		}
		if (xb != 0.0)
		{
			double		ps_abx = btyd_digamma(a + b + xb);

			S_c += wk * (lgam(b + xb) - lg_b + lg_ab - lgam(a + b + xb));
			S_a += wk * (ps_ab - ps_abx);
			S_b += wk * (btyd_digamma(b + xb) - ps_b + ps_ab - ps_abx);
		}
	}

	/* rows with the softplus term */
	for (lo = 0; lo < d->n1; lo += BLOCK)
	{
		size_t		hi = (lo + BLOCK < d->n1) ? lo + BLOCK : d->n1;
		double		p_ll = 0.0,
					p_r = 0.0,
					p_al = 0.0,
					p_s = 0.0,
					p_sb = 0.0;

		for (i = lo; i < hi; i++)
		{
			const xtab *t = &d->tab[d->k1[i]];
			const double w = d->w1[i];
			double		aT = alpha + d->T1[i],
						atx = alpha + d->tx1[i],
						lT = log(aT),
						ldiff = lT - log(atx),
						u = t->lnk + t->rx * ldiff,
						e,
						sp,
						s,
						q;

			if (u > 0.0)
			{
				e = exp(-u);
				q = 1.0 / (1.0 + e);
				sp = u + log1p(e);
				s = q;
			}
			else
			{
				e = exp(u);
				q = 1.0 / (1.0 + e);
				sp = log1p(e);
				s = e * q;
			}
			/* s = e^u/(1+e^u): posterior weight of "dropped out at tx" */
			p_ll += w * (sp - t->rx * lT);
			p_r += w * (s * ldiff - lT);
			p_al += w * t->rx * (((1.0 - s) * atx + s * aT) / (aT * atx));
			p_s += w * s;
			p_sb += w * s * t->invb;
		}
		R_ll += p_ll;
		R_r += p_r;
		R_al += p_al;
		R_s += p_s;
		R_sb += p_sb;
	}

	/* BG/NBD rows with x == 0: only -r ln(alpha + T) */
	for (lo = 0; lo < d->n0; lo += BLOCK)
	{
		size_t		hi = (lo + BLOCK < d->n0) ? lo + BLOCK : d->n0;
		double		p_l = 0.0,
					p_i = 0.0;

		for (i = lo; i < hi; i++)
		{
			const double w = d->w0[i],
						aT = alpha + d->T0[i];

			p_l += w * log(aT);
			p_i += w / aT;
		}
		R_ll -= r * p_l;
		R_r -= p_l;
		R_al += r * p_i;
	}

	*ll_out = S_c + d->W * r * lalpha + R_ll;
	if (dll)
	{
		dll[0] = S_r + d->W * lalpha + R_r;
		dll[1] = d->W * r / alpha - R_al;
		dll[2] = S_a + R_s / a;
		dll[3] = S_b - R_sb;
	}
}

/*
 * The Hessian of sum_i w_i LL_i with respect to the natural parameters
 * (r, alpha, a, b), analytic, in one pass over the rows (the observed
 * information is its negative).  Differentiating the likelihood above
 * twice: with s = e^u / (1 + e^u) and s' = s (1 - s), the softplus term of
 * a row contributes s' u_i u_j + s u_ij, where
 *	 u_r = D = ln(alpha+T) - ln(alpha+tx),	u_alpha = (r+x) E,
 *	 E = 1/(alpha+T) - 1/(alpha+tx),  u_a = 1/a,  u_b = -1/(b+xb-1),
 *	 u_r,alpha = E,  u_alpha,alpha = (r+x) (1/(alpha+tx)^2 - 1/(alpha+T)^2),
 *	 u_aa = -1/a^2,  u_bb = 1/(b+xb-1)^2;
 * -(r+x) ln(alpha+T) adds -1/(alpha+T) to (r, alpha) and (r+x)/(alpha+T)^2
 * to (alpha, alpha), and C(x) the trigamma terms.  H is row-major 4 x 4.
 */
void
btyd_bgdata_hessian(bgdata *d, const double *th, double *H)
{
	const double r = th[0],
				alpha = th[1],
				a = th[2],
				b = th[3];
	const double mb = (d->model == BTYD_MBGNBD) ? 1.0 : 0.0;
	const double tg_r = btyd_trigamma(r),
				tg_b = btyd_trigamma(b),
				tg_ab = btyd_trigamma(a + b),
				la = log(a);
	double		X_rr = 0.0,
				X_aa = 0.0,
				X_bb = 0.0;
	double		A_rr = 0.0,
				A_ral = 0.0,
				A_rD = 0.0,
				A_rDb = 0.0,
				A_alal = 0.0,
				A_E = 0.0,
				A_Eb = 0.0,
				A_s1 = 0.0,
				A_s = 0.0,
				A_s1b = 0.0,
				A_bb = 0.0,
				Z_i = 0.0,
				Z_i2 = 0.0;
	size_t		k,
				i;

	for (k = 0; k < d->nx; k++)
	{
		double		x = d->xv[k],
					xb = x + mb,
					bx = b + xb - 1.0,
					wk = d->xw[k];
		xtab	   *t = &d->tab[k];

		t->rx = r + x;
		t->lnk = la - log(bx);
		t->invb = 1.0 / bx;
		if (wk == 0.0)
			continue;
		if (x != 0.0)
			X_rr += wk * (btyd_trigamma(r + x) - tg_r);
		if (xb != 0.0)
		{
			double		tg_abx = btyd_trigamma(a + b + xb);

			X_aa += wk * (tg_ab - tg_abx);
			X_bb += wk * (btyd_trigamma(b + xb) - tg_b);
		}
	}
	for (i = 0; i < d->n1; i++)
	{
		const xtab *t = &d->tab[d->k1[i]];
		const double w = d->w1[i];
		double		aT = alpha + d->T1[i],
					atx = alpha + d->tx1[i],
					iT = 1.0 / aT,
					itx = 1.0 / atx,
					D = log(aT) - log(atx),
					E = iT - itx,
					u = t->lnk + t->rx * D,
					s = inv1pexp(-u),
					s1 = s * (1.0 - s),
					rxE = t->rx * E;

		A_rr += w * s1 * D * D;
		A_ral += w * (s1 * D * rxE + s * E - iT);
		A_rD += w * s1 * D;
		A_rDb += w * s1 * D * t->invb;
		A_alal += w * (s1 * rxE * rxE + s * t->rx * (itx * itx - iT * iT) + t->rx * iT * iT);
		A_E += w * s1 * rxE;
		A_Eb += w * s1 * rxE * t->invb;
		A_s1 += w * s1;
		A_s += w * s;
		A_s1b += w * s1 * t->invb;
		A_bb += w * (s1 + s) * t->invb * t->invb;
	}
	for (i = 0; i < d->n0; i++)
	{
		double		iT = 1.0 / (alpha + d->T0[i]);

		Z_i += d->w0[i] * iT;
		Z_i2 += d->w0[i] * iT * iT;
	}
	H[0] = X_rr + A_rr;
	H[1] = d->W / alpha + A_ral - Z_i;
	H[2] = A_rD / a;
	H[3] = -A_rDb;
	H[5] = -d->W * r / (alpha * alpha) + A_alal + r * Z_i2;
	H[6] = A_E / a;
	H[7] = -A_Eb;
	H[10] = X_aa + (A_s1 - A_s) / (a * a);
	H[11] = X_aa - A_s1b / a;
	H[15] = X_aa + X_bb + A_bb;
	H[4] = H[1];
	H[8] = H[2];
	H[9] = H[6];
	H[12] = H[3];
	H[13] = H[7];
	H[14] = H[11];
}
