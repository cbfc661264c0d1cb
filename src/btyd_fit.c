/*-------------------------------------------------------------------------
 *
 * btyd_fit.c
 *	  Fit drivers: options, deterministic starting points, multi-start
 *	  BFGS with subsampling and polish, the public log-likelihoods and row
 *	  grouping.
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_fit.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/* ------------------------------------------------------------------------
 * Fit drivers
 * ------------------------------------------------------------------------
 */

/* fill options with defaults */
void
btyd_fit_options_init(btyd_fit_options *opt)
{
	if (opt == NULL)
		return;
	memset(opt, 0, sizeof(*opt));
	opt->penalizer = 0.0;
	opt->gtol = 1e-10;
	opt->max_iter = 500;
	opt->n_starts = 4;
	opt->subsample_rows = DEFAULT_SUB;
}

/* human-readable message for a BTYD_* code */
const char *
btyd_strerror(int code)
{
	switch (code)
	{
		case BTYD_OK:
			return "success";
		case BTYD_EINVAL:
			return "invalid argument or data value";
		case BTYD_ENOMEM:
			return "out of memory";
		case BTYD_EDATA:
			return "degenerate data: no finite maximum-likelihood estimate";
		case BTYD_ENOCONV:
			return "series did not converge";
		case BTYD_EDOMAIN:
			return "quantity undefined for these parameters";
		case BTYD_EINTR:
			return "interrupted";
	}
	return "unknown error";
}

/*
 * Deterministic starting points (natural scale) for (M)BG/NBD: r/alpha
 * matches the observed repeat rate sum(w x)/sum(w T); (r, a, b) spread
 * over typical regions.
 */
static void
bg_start(const bgdata *d, int idx, double *th)
{
	static const double tab[8][3] = {
		{1.0, 1.0, 3.0}, {0.25, 0.8, 2.5}, {3.0, 2.0, 8.0}, {0.5, 0.3, 1.0},
		{0.1, 5.0, 20.0}, {2.0, 0.5, 0.5}, {0.05, 1.5, 6.0}, {10.0, 3.0, 3.0}
	};
	double		rate = (d->Wx > 0.0 && d->WT > 0.0) ? d->Wx / d->WT : 1.0;

	if (rate <= 0.0 || !isfinite(rate))
		rate = 1.0;
	th[0] = tab[idx % 8][0];
	th[1] = th[0] / rate;
	th[2] = tab[idx % 8][1];
	th[3] = tab[idx % 8][2];
}

/*
 * Pareto/NBD starting points: (r, s) spread, alpha matching the observed
 * repeat rate as for BG/NBD, beta = s Tmax (mean lifetime of the order of
 * the observation window).
 */
static void
pnbd_start(const pnbddata *d, int idx, double *th)
{
	static const double tab[8][2] = {
		{0.5, 0.5}, {1.0, 1.0}, {0.25, 2.0}, {2.0, 0.25},
		{0.1, 0.1}, {5.0, 5.0}, {1.0, 0.05}, {0.05, 1.0}
	};
	double		rate = (d->Wx > 0.0 && d->WT > 0.0) ? d->Wx / d->WT : 1.0,
				tmax = (d->Tmax > 0.0) ? d->Tmax : 1.0;

	if (rate <= 0.0 || !isfinite(rate))
		rate = 1.0;
	th[0] = tab[idx % 8][0];
	th[1] = th[0] / rate;
	th[2] = tab[idx % 8][1];
	th[3] = th[2] * tmax;
}

/*
 * BG/BB starting points: (alpha, beta) with the observed transaction rate
 * x / n as mean, (gamma, delta) spread over dropout probabilities.
 */
static void
bgbb_start(const bbdata *d, int idx, double *th)
{
	static const double tab[8][3] = {
		{1.0, 1.0, 3.0}, {2.0, 0.5, 2.0}, {0.5, 1.0, 5.0}, {1.0, 0.3, 1.0},
		{3.0, 2.0, 10.0}, {0.3, 0.3, 2.0}, {1.0, 3.0, 3.0}, {5.0, 1.0, 20.0}
	};
	double		rate = (d->Wx > 0.0 && d->Wn > 0.0) ? d->Wx / d->Wn : 0.5,
				s = tab[idx % 8][0];

	if (!(rate > 0.01 && rate < 0.99))
		rate = 0.5;
	th[0] = s * rate / (1.0 - rate);
	th[1] = s;
	th[2] = tab[idx % 8][1];
	th[3] = tab[idx % 8][2];
}

/*
 * Gamma-Gamma starting points: (p, q) spread, v chosen so that the
 * population mean p v / (q - 1) equals the weighted mean of m.
 */
static void
gg_start(const ggdata *d, int idx, double *th)
{
	static const double tab[8][2] = {
		{2.0, 3.0}, {1.0, 2.0}, {6.0, 4.0}, {15.0, 10.0},
		{0.5, 1.5}, {4.0, 20.0}, {30.0, 3.0}, {1.0, 50.0}
	};
	double		mbar = (d->W > 0.0) ? d->Wm / d->W : 1.0;

	if (!pos_finite(mbar))
		mbar = 1.0;
	th[0] = tab[idx % 8][0];
	th[1] = tab[idx % 8][1];
	th[2] = mbar * (th[1] - 1.0) / th[0];
}

/*
 * The second test of convergence, for a search that stopped short of the
 * gradient test: over many customers the objective (a mean) is flat to
 * rounding long before its gradient is 1e-10, most of all along a ridge
 * (Gamma-Gamma's q and v, at a million customers), and the line search
 * stalls at the optimum.  The returned point counts as converged when the
 * observed information there is positive definite and away from the
 * boundary (btyd_covariance says so) and the Newton step still to go,
 * -Hess^-1 g, is shorter than NEWTON_SE_TOL of a standard error in the
 * metric of the covariance: W sqrt(g' C g), C the covariance of ln theta.
 * The estimates are then as good as the data can tell; a singular or
 * boundary point stays unconverged however small its gradient looks.
 */
#define NEWTON_SE_TOL	1e-3

static int
converged_by_information(objctx *full, const double *lt, const double *g,
						 btyd_fit_result *res)
{
	int			n = full->np,
				i,
				j,
				rc;
	double		W = obj_weight(full),
				q = 0.0;

	res->converged = 1;			/* btyd_covariance needs a claimed optimum */
	rc = btyd_covariance(full, lt, g, W, res);
	if (rc != BTYD_OK)
		return rc;
	if (res->cov_status == BTYD_COV_OK)
	{
		/* res->cov is on the natural scale: Cov(ln theta) = cov / (th th') */
		for (i = 0; i < n; i++)
			for (j = 0; j < n; j++)
				q += g[i] * g[j] * res->cov[i * n + j] / (res->params[i] * res->params[j]);
		if (q >= 0.0 && W * sqrt(q) <= NEWTON_SE_TOL)
			return BTYD_OK;
	}
	res->converged = 0;
	res->cov_status = BTYD_COV_NOT_CONVERGED;
	memset(res->cov, 0, sizeof(res->cov));
	return BTYD_OK;
}

/*
 * Multi-start BFGS on the working set (the full data or a subsample),
 * then, if a subsample was used, a polish on the full data from the best
 * point with the carried-over inverse Hessian.  Fills res from a final
 * evaluation on the full data.
 */
static int
run_fit(objctx *full, objctx *work, const double starts[][NPMAX], int nstarts,
		const btyd_fit_options *opt, btyd_fit_result *res)
{
	bfgs_state	best,
				st;
	int			s,
				rc,
				have_best = 0,
				path_iters = 0;
	double		coarse = fmax(opt->gtol, 1e-5),
				f,
				g[NPMAX];

	memset(&best, 0, sizeof(best));
	for (s = 0; s < nstarts; s++)
	{
		int			j;

		memset(&st, 0, sizeof(st));
		st.n = full->np;
		for (j = 0; j < st.n; j++)
			st.x[j] = log(starts[s][j]);
		rc = btyd_bfgs(work, &st, nstarts > 1 ? coarse : opt->gtol, opt->max_iter,
				  opt->interrupt, opt->interrupt_ctx);
		if (rc != BTYD_OK)
			return rc;
		if (!st.ok)
			continue;
		if (!have_best || st.f < best.f)
		{
			best = st;
			have_best = 1;
		}
	}
	if (!have_best)
		return BTYD_EDATA;

	/* tighten the winner on the working set */
	if (nstarts > 1)
	{
		rc = btyd_bfgs(work, &best, opt->gtol, opt->max_iter, opt->interrupt, opt->interrupt_ctx);
		if (rc != BTYD_OK)
			return rc;
	}
	path_iters = best.iters;
	/*
	 * Polish on all rows.  If the subsample run did not converge (typically
	 * a likelihood that keeps improving towards a boundary), a long run on
	 * all rows would be expensive and equally inconclusive: cap it.
	 */
	if (work != full)
	{
		best.iters = 0;
		rc = btyd_bfgs(full, &best, opt->gtol,
				  best.converged ? opt->max_iter : (opt->max_iter < 50 ? opt->max_iter : 50),
				  opt->interrupt, opt->interrupt_ctx);
		if (rc != BTYD_OK)
			return rc;
		path_iters += best.iters;
		if (!best.ok)
			return BTYD_EDATA;
	}

	/* final evaluation on all rows at the returned point */
	if (btyd_obj_eval(full, best.x, &f, g) != 0)
		return BTYD_EDATA;
	res->nparams = full->np;
	for (s = 0; s < full->np; s++)
		res->params[s] = exp(best.x[s]);
	res->loglik = full->ll;
	res->objective = f;
	res->grad_norm = norm_inf(g, full->np);
	res->iterations = path_iters;
	res->evaluations = full->evals + (work != full ? work->evals : 0);
	res->converged = (res->grad_norm <= opt->gtol * fmax(1.0, fabs(f)));
	/* once, at the returned point: the covariance of the estimates */
	if (res->converged)
		return btyd_covariance(full, best.x, g, obj_weight(full), res);
	return converged_by_information(full, best.x, g, res);
}

/* effective options: user's or defaults, sanitised */
static void
effective_options(const btyd_fit_options *in, btyd_fit_options *o)
{
	btyd_fit_options_init(o);
	if (in)
		*o = *in;
	if (!(o->gtol > 0.0) || !isfinite(o->gtol))
		o->gtol = 1e-10;
	if (o->max_iter <= 0)
		o->max_iter = 500;
	if (o->n_starts < 1)
		o->n_starts = 1;
	if (o->n_starts > 8)
		o->n_starts = 8;
	if (o->subsample_rows == 0)
		o->subsample_rows = DEFAULT_SUB;
}

static int	collect_starts_kind(const btyd_fit_options *o, int np, const void *data,
								int kind, double starts[][NPMAX]);

/* collect starting points: user init first (if any), then the defaults */
static int
collect_starts(const btyd_fit_options *o, int np, const void *data, int is_bg,
			   double starts[][NPMAX])
{
	return collect_starts_kind(o, np, data, is_bg ? 1 : 0, starts);
}

/* kind: 0 Gamma-Gamma, 1 (M)BG/NBD, 2 Pareto/NBD, 3 BG/BB */
static int
collect_starts_kind(const btyd_fit_options *o, int np, const void *data, int kind,
					double starts[][NPMAX])
{
	int			ns = 0,
				i,
				j;

	if (o->use_init)
	{
		int			okp = 1;

		for (j = 0; j < np; j++)
			if (!pos_finite(o->init[j]))
				okp = 0;
		if (okp)
		{
			for (j = 0; j < np; j++)
				starts[ns][j] = o->init[j];
			ns++;
		}
	}
	for (i = 0; ns < o->n_starts; i++)
	{
		if (kind == 1)
			bg_start((const bgdata *) data, i, starts[ns]);
		else if (kind == 2)
			pnbd_start((const pnbddata *) data, i, starts[ns]);
		else if (kind == 3)
			bgbb_start((const bbdata *) data, i, starts[ns]);
		else
			gg_start((const ggdata *) data, i, starts[ns]);
		ns++;
	}
	return ns;
}

/* result for degenerate data: first start, its LL, not converged */
static void
degenerate_result(objctx *c, const double *th, btyd_fit_result *res)
{
	double		lt[NPMAX],
				f,
				g[NPMAX];
	int			j;

	res->nparams = c->np;
	for (j = 0; j < c->np; j++)
	{
		res->params[j] = th[j];
		lt[j] = log(th[j]);
	}
	res->loglik = 0.0;
	res->objective = 0.0;
	if (obj_weight(c) > 0.0 && btyd_obj_eval(c, lt, &f, g) == 0)
	{
		res->loglik = c->ll;
		res->objective = f;
		res->grad_norm = norm_inf(g, c->np);
	}
	res->converged = 0;
	res->cov_status = BTYD_COV_NOT_CONVERGED;
}

/* (M)BG/NBD maximum likelihood */
int
btyd_fit(btyd_model model, const btyd_row *rows, size_t n,
		 const btyd_fit_options *opt_in, btyd_fit_result *res)
{
	btyd_fit_options o;
	allocator	al;
	bgdata		full,
				sub;
	objctx		cf,
				cs;
	double		starts[8][NPMAX];
	int			ns,
				rc,
				use_sub = 0,
				j;

	if (res == NULL || (rows == NULL && n > 0) ||
		(model != BTYD_BGNBD && model != BTYD_MBGNBD))
		return BTYD_EINVAL;
	effective_options(opt_in, &o);
	if (!isfinite(o.penalizer) || o.penalizer < 0.0)
		return BTYD_EINVAL;
	memset(res, 0, sizeof(*res));
	al.alloc = o.alloc;
	al.dealloc = o.dealloc;
	al.ctx = o.alloc_ctx;

	rc = btyd_bg_prepare(&al, model, rows, n, &full);
	if (rc != BTYD_OK)
		return rc;
	memset(&cf, 0, sizeof(cf));
	cf.np = 4;
	cf.bg = &full;
	cf.pen = o.penalizer;
	for (j = 0; j < 4; j++)
		cf.pscale[j] = 1.0;
	cf.pscale[1] = (full.Tmax > 0.0) ? full.Tmax : 1.0;
	res->total_weight = full.W;
	res->rows_used = full.n0 + full.n1;
	ns = collect_starts(&o, 4, &full, 1, starts);

	if (full.W <= 0.0 || (o.penalizer == 0.0 && !(full.Wx > 0.0)))
	{
		degenerate_result(&cf, starts[0], res);
		btyd_bg_free(&al, &full);
		return BTYD_EDATA;
	}

	if (full.n0 + full.n1 > o.subsample_rows)
	{
		size_t		stride = (full.n0 + full.n1) / o.subsample_rows + 1;

		rc = btyd_bg_subsample(&al, &full, stride, &sub);
		if (rc != BTYD_OK)
		{
			btyd_bg_free(&al, &full);
			return rc;
		}
		use_sub = (sub.W > 0.0 && sub.Wx > 0.0);
		if (!use_sub)
			btyd_bg_free(&al, &sub);
	}
	cs = cf;
	if (use_sub)
		cs.bg = &sub;

	rc = run_fit(&cf, &cs, (const double (*)[NPMAX]) starts, ns, &o, res);
	if (rc == BTYD_EDATA)
		degenerate_result(&cf, starts[0], res);
	if (use_sub)
		btyd_bg_free(&al, &sub);
	btyd_bg_free(&al, &full);
	return rc;
}

/* BG/NBD maximum likelihood */
int
btyd_fit_bgnbd(const btyd_row *rows, size_t n, const btyd_fit_options *opt,
			   btyd_fit_result *res)
{
	return btyd_fit(BTYD_BGNBD, rows, n, opt, res);
}

/* MBG/NBD maximum likelihood */
int
btyd_fit_mbgnbd(const btyd_row *rows, size_t n, const btyd_fit_options *opt,
				btyd_fit_result *res)
{
	return btyd_fit(BTYD_MBGNBD, rows, n, opt, res);
}

/* Gamma-Gamma maximum likelihood */
int
btyd_fit_gg(const gg_row *rows, size_t n, const btyd_fit_options *opt_in,
			btyd_fit_result *res)
{
	btyd_fit_options o;
	allocator	al;
	ggdata		full,
				sub;
	objctx		cf,
				cs;
	double		starts[8][NPMAX];
	int			ns,
				rc,
				use_sub = 0,
				j;

	if (res == NULL || (rows == NULL && n > 0))
		return BTYD_EINVAL;
	effective_options(opt_in, &o);
	if (!isfinite(o.penalizer) || o.penalizer < 0.0)
		return BTYD_EINVAL;
	memset(res, 0, sizeof(*res));
	al.alloc = o.alloc;
	al.dealloc = o.dealloc;
	al.ctx = o.alloc_ctx;

	rc = btyd_gg_prepare(&al, rows, n, &full);
	if (rc != BTYD_OK)
		return rc;
	memset(&cf, 0, sizeof(cf));
	cf.np = 3;
	cf.gg = &full;
	cf.pen = o.penalizer;
	for (j = 0; j < 3; j++)
		cf.pscale[j] = 1.0;
	res->total_weight = full.W;
	res->rows_used = full.n;
	ns = collect_starts(&o, 3, &full, 0, starts);

	if (full.W <= 0.0)
	{
		degenerate_result(&cf, starts[0], res);
		btyd_gg_free(&al, &full);
		return BTYD_EDATA;
	}
	if (full.n > o.subsample_rows)
	{
		size_t		stride = full.n / o.subsample_rows + 1;

		rc = btyd_gg_subsample(&al, &full, stride, &sub);
		if (rc != BTYD_OK)
		{
			btyd_gg_free(&al, &full);
			return rc;
		}
		use_sub = 1;
	}
	cs = cf;
	if (use_sub)
		cs.gg = &sub;
	rc = run_fit(&cf, &cs, (const double (*)[NPMAX]) starts, ns, &o, res);
	if (rc == BTYD_EDATA)
		degenerate_result(&cf, starts[0], res);
	if (use_sub)
		btyd_gg_free(&al, &sub);
	btyd_gg_free(&al, &full);
	return rc;
}

/* ------------------------------------------------------------------------
 * Public log-likelihood and row grouping
 * ------------------------------------------------------------------------
 */

/* sum w LL and its gradient wrt natural parameters, (M)BG/NBD */
int
btyd_loglik(btyd_model model, const double params[4], const btyd_row *rows,
			size_t n, double *ll, double grad[4])
{
	allocator	al = {NULL, NULL, NULL};
	bgdata		d;
	int			rc;

	if (ll == NULL || !check_bg_params(params) || (rows == NULL && n > 0) ||
		(model != BTYD_BGNBD && model != BTYD_MBGNBD))
		return BTYD_EINVAL;
	rc = btyd_bg_prepare(&al, model, rows, n, &d);
	if (rc != BTYD_OK)
		return rc;
	btyd_bgdata_loglik(&d, params, ll, grad);
	btyd_bg_free(&al, &d);
	return isfinite(*ll) ? BTYD_OK : BTYD_EDOMAIN;
}

/* sum w LL and its gradient wrt (p, q, v), Gamma-Gamma */
int
btyd_gg_loglik(const double params[3], const gg_row *rows, size_t n,
			   double *ll, double grad[3])
{
	allocator	al = {NULL, NULL, NULL};
	ggdata		d;
	int			rc;

	if (ll == NULL || params == NULL || !pos_finite(params[0]) ||
		!pos_finite(params[1]) || !pos_finite(params[2]) || (rows == NULL && n > 0))
		return BTYD_EINVAL;
	rc = btyd_gg_prepare(&al, rows, n, &d);
	if (rc != BTYD_OK)
		return rc;
	btyd_ggdata_loglik(&d, params, ll, grad);
	btyd_gg_free(&al, &d);
	return isfinite(*ll) ? BTYD_OK : BTYD_EDOMAIN;
}

/* total order on doubles with NaN last (keeps qsort well-defined) */
static int
cmp_total(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	return (a > b) - (a < b);
}

/* order btyd_row by (x, tx, T) */
static int
cmp_bgrow(const void *pa, const void *pb)
{
	const btyd_row *a = pa,
			   *b = pb;
	int			c;

	if ((c = cmp_total(a->x, b->x)) != 0)
		return c;
	if ((c = cmp_total(a->tx, b->tx)) != 0)
		return c;
	return cmp_total(a->T, b->T);
}

/* order gg_row by (x, m) */
static int
cmp_ggrow(const void *pa, const void *pb)
{
	const gg_row *a = pa,
			   *b = pb;
	int			c;

	if ((c = cmp_total(a->x, b->x)) != 0)
		return c;
	return cmp_total(a->m, b->m);
}

/* sort and merge identical (x, tx, T) rows, summing weights */
size_t
btyd_group_rows(btyd_row *rows, size_t n)
{
	size_t		i,
				k = 0;

	if (rows == NULL || n == 0)
		return 0;
	qsort(rows, n, sizeof(btyd_row), cmp_bgrow);
	for (i = 1; i < n; i++)
	{
		if (cmp_bgrow(&rows[i], &rows[k]) == 0 && !isnan(rows[i].x) &&
			!isnan(rows[i].tx) && !isnan(rows[i].T))
			rows[k].w += rows[i].w;
		else
			rows[++k] = rows[i];
	}
	return k + 1;
}

/* sort and merge identical (x, m) rows, summing weights */
size_t
btyd_gg_group_rows(gg_row *rows, size_t n)
{
	size_t		i,
				k = 0;

	if (rows == NULL || n == 0)
		return 0;
	qsort(rows, n, sizeof(gg_row), cmp_ggrow);
	for (i = 1; i < n; i++)
	{
		if (cmp_ggrow(&rows[i], &rows[k]) == 0 && !isnan(rows[i].x) && !isnan(rows[i].m))
			rows[k].w += rows[i].w;
		else
			rows[++k] = rows[i];
	}
	return k + 1;
}

/* Pareto/NBD maximum likelihood (no subsampling: all rows every step) */
int
btyd_fit_pnbd(const btyd_row *rows, size_t n, const btyd_fit_options *opt_in,
			  btyd_fit_result *res)
{
	btyd_fit_options o;
	allocator	al;
	pnbddata	d;
	objctx		cf;
	double		starts[8][NPMAX];
	int			ns,
				rc;
	size_t		i;

	if (res == NULL || (rows == NULL && n > 0))
		return BTYD_EINVAL;
	effective_options(opt_in, &o);
	if (!isfinite(o.penalizer) || o.penalizer < 0.0)
		return BTYD_EINVAL;
	memset(res, 0, sizeof(*res));
	al.alloc = o.alloc;
	al.dealloc = o.dealloc;
	al.ctx = o.alloc_ctx;

	memset(&d, 0, sizeof(d));
	d.rows = xalloc(&al, (n ? n : 1) * sizeof(btyd_row));
	if (d.rows == NULL)
		return BTYD_ENOMEM;
	for (i = 0; i < n; i++)
	{
		if (!check_history(rows[i].x, rows[i].tx, rows[i].T) || !(rows[i].T > 0.0) ||
			!isfinite(rows[i].w) || rows[i].w < 0.0)
		{
			xfree(&al, d.rows);
			return BTYD_EINVAL;
		}
		if (rows[i].w == 0.0)
			continue;
		d.rows[d.n++] = rows[i];
		d.W += rows[i].w;
		d.Wx += rows[i].w * rows[i].x;
		d.WT += rows[i].w * rows[i].T;
		if (rows[i].T > d.Tmax)
			d.Tmax = rows[i].T;
	}
	d.n = btyd_group_rows(d.rows, d.n);

	memset(&cf, 0, sizeof(cf));
	cf.np = 4;
	cf.pn = &d;
	cf.pen = o.penalizer;
	cf.pscale[0] = cf.pscale[2] = 1.0;
	cf.pscale[1] = cf.pscale[3] = (d.Tmax > 0.0) ? d.Tmax : 1.0;
	res->total_weight = d.W;
	res->rows_used = d.n;
	ns = collect_starts_kind(&o, 4, &d, 2, starts);
	if (d.W <= 0.0 || (o.penalizer == 0.0 && !(d.Wx > 0.0)))
	{
		degenerate_result(&cf, starts[0], res);
		xfree(&al, d.rows);
		return BTYD_EDATA;
	}
	rc = run_fit(&cf, &cf, (const double (*)[NPMAX]) starts, ns, &o, res);
	if (rc == BTYD_EDATA)
		degenerate_result(&cf, starts[0], res);
	xfree(&al, d.rows);
	return rc;
}

/* BG/BB maximum likelihood (grouped rows, all rows every step) */
int
btyd_fit_bgbb(const btyd_row *rows, size_t n, const btyd_fit_options *opt_in,
			  btyd_fit_result *res)
{
	btyd_fit_options o;
	allocator	al;
	bbdata		d;
	objctx		cf;
	double		starts[8][NPMAX];
	int			ns,
				rc,
				j;
	size_t		i;

	if (res == NULL || (rows == NULL && n > 0))
		return BTYD_EINVAL;
	effective_options(opt_in, &o);
	if (!isfinite(o.penalizer) || o.penalizer < 0.0)
		return BTYD_EINVAL;
	memset(res, 0, sizeof(*res));
	al.alloc = o.alloc;
	al.dealloc = o.dealloc;
	al.ctx = o.alloc_ctx;

	memset(&d, 0, sizeof(d));
	d.rows = xalloc(&al, (n ? n : 1) * sizeof(btyd_row));
	if (d.rows == NULL)
		return BTYD_ENOMEM;
	for (i = 0; i < n; i++)
	{
		if (!btyd_bgbb_check_history(rows[i].x, rows[i].tx, rows[i].T) ||
			!isfinite(rows[i].w) || rows[i].w < 0.0)
		{
			xfree(&al, d.rows);
			return BTYD_EINVAL;
		}
		if (rows[i].w == 0.0)
			continue;
		d.rows[d.n++] = rows[i];
		d.W += rows[i].w;
		d.Wx += rows[i].w * rows[i].x;
		d.Wn += rows[i].w * rows[i].T;
	}
	d.n = btyd_group_rows(d.rows, d.n);

	memset(&cf, 0, sizeof(cf));
	cf.np = 4;
	cf.bb = &d;
	cf.pen = o.penalizer;
	for (j = 0; j < 4; j++)
		cf.pscale[j] = 1.0;
	res->total_weight = d.W;
	res->rows_used = d.n;
	ns = collect_starts_kind(&o, 4, &d, 3, starts);
	if (d.W <= 0.0 || (o.penalizer == 0.0 && !(d.Wx > 0.0)))
	{
		degenerate_result(&cf, starts[0], res);
		xfree(&al, d.rows);
		return BTYD_EDATA;
	}
	rc = run_fit(&cf, &cf, (const double (*)[NPMAX]) starts, ns, &o, res);
	if (rc == BTYD_EDATA)
		degenerate_result(&cf, starts[0], res);
	xfree(&al, d.rows);
	return rc;
}
