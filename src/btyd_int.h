/*-------------------------------------------------------------------------
 *
 * btyd_int.h
 *	  Private header of the btyd numerical core: the pieces the files
 *	  btyd_*.c share (helpers, prepared data sets, the objective and the
 *	  optimiser's state).  Plain C99 + libm, no PostgreSQL headers, like
 *	  btyd.h; nothing here is part of the API.
 *
 * The core is split by seam:
 *	  btyd_special.c	2F1, digamma, the stable core of expected purchases
 *	  btyd_bgnbd.c		(M)BG/NBD likelihood and per-customer formulas, CLV
 *	  btyd_gg.c			Gamma-Gamma likelihood and expected average value
 *	  btyd_pnbd.c		Pareto/NBD likelihood (quadrature), per-customer, CLV
 *	  btyd_next.c		next purchase: P(n purchases), P(within t), median
 *	  btyd_bgbb.c		BG/BB for discrete-time data: likelihood, per-customer
 *	  btyd_optim.c		objective on log-parameters, BFGS, line search
 *	  btyd_cov.c		covariance from the observed information
 *	  btyd_fit.c		fit drivers, starting points, public log-likelihoods,
 *						row grouping
 *
 * Numerical design notes
 *	  - Likelihoods are evaluated in log space (lgamma, log-sum-exp written
 *	    as a softplus) and the gradient is accumulated in the same pass.
 *	  - Everything that depends only on x (lgamma/digamma of r+x, b+x,
 *	    a+b+x, ...) is computed once per distinct x per evaluation, weighted
 *	    by the total weight of the rows with that x; the per-row loop only
 *	    does the (alpha + T), (alpha + tx) dependent work: two logs, one exp,
 *	    one log1p and two divisions (one log and one division for BG/NBD rows
 *	    with x == 0).
 *	  - The optimiser is BFGS on log-parameters with a strong-Wolfe line
 *	    search (Nocedal & Wright, "Numerical Optimization", 2nd ed., alg.
 *	    3.5/3.6) whose sufficient-decrease test is relaxed to "f did not grow
 *	    beyond rounding" (approximate Wolfe, Hager & Zhang 2005), so that the
 *	    gradient can be driven far below the point where f stops changing
 *	    in double precision.
 *	  - Several deterministic starting points; on large inputs the starts
 *	    run on a systematic subsample and only the winner is polished on all
 *	    rows (the BFGS inverse-Hessian of the mean objective carries over).
 *
 * src/btyd_int.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTYD_INT_H
#define BTYD_INT_H

#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1		/* for lgamma_r */
#endif

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btyd.h"

#if defined(__GLIBC__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
#define BTYD_HAVE_LGAMMA_R 1
#endif

#define NPMAX			4		/* max number of model parameters */
#define LOG_BOUND		30.0	/* |log theta| beyond this: out of domain */
#define MAX_STEP		2.0		/* max BFGS step, in log units, per iteration */
#define DEFAULT_SUB		20000
#define BLOCK			512		/* rows per partial sum (blocked summation) */
#define SERIES_CAP		20000000L	/* hard cap on hypergeometric series terms */
#define PNBD_MAX_PANELS 1000000L	/* Pareto/NBD quadrature panel cap */
#define PNBD_POLL_PANELS 4096L	/* panels between polls of the host's hook */
#define EP_MULTI_MAX	32		/* most horizons btyd_ep_core_multi takes at once */

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------
 */

/* the host's poll hook (btyd_set_poll, btyd_special.c); NULL: never interrupted */
extern btyd_poll_fn btyd_poll_hook;

/* true when the host asks the current call to stop (every BTYD_POLL_TERMS terms) */
static inline int
poll_now(long n)
{
	return btyd_poll_hook != NULL && n % BTYD_POLL_TERMS == BTYD_POLL_TERMS - 1 && btyd_poll_hook();
}

/* ln Gamma(x) without touching libc's global signgam where possible */
static inline double
lgam(double x)
{
#ifdef BTYD_HAVE_LGAMMA_R
	int			s;

	return lgamma_r(x, &s);
#else
	return lgamma(x);
#endif
}

/* inf-norm of a short vector */
static inline double
norm_inf(const double *v, int n)
{
	double		m = 0.0;
	int			i;

	for (i = 0; i < n; i++)
		if (fabs(v[i]) > m)
			m = fabs(v[i]);
	return m;
}

/* a finite, strictly positive number? */
static inline int
pos_finite(double v)
{
	return isfinite(v) && v > 0.0;
}

/* check {r, alpha, a, b} */
static inline int
check_bg_params(const double *p)
{
	if (p == NULL)
		return 0;
	return pos_finite(p[0]) && pos_finite(p[1]) && pos_finite(p[2]) && pos_finite(p[3]);
}

/* check one (x, tx, T) history */
static inline int
check_history(double x, double tx, double T)
{
	if (!isfinite(x) || !isfinite(tx) || !isfinite(T))
		return 0;
	if (x < 0.0 || x != floor(x) || tx < 0.0 || tx > T)
		return 0;
	if (x == 0.0 && tx != 0.0)
		return 0;
	return 1;
}

/* logistic 1/(1+e^u) without overflow */
static inline double
inv1pexp(double u)
{
	double		e;

	if (u > 0.0)
	{
		e = exp(-u);
		return e / (1.0 + e);
	}
	return 1.0 / (1.0 + exp(u));
}

/* ------------------------------------------------------------------------
 * Allocation through the optional user hooks
 * ------------------------------------------------------------------------
 */
typedef struct allocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*dealloc) (void *ctx, void *ptr);
	void	   *ctx;
} allocator;

/* allocate n bytes (never 0) with the user's allocator or malloc */
static inline void *
xalloc(const allocator *al, size_t n)
{
	if (n == 0)
		n = 1;
	if (al->alloc)
		return al->alloc(al->ctx, n);
	return malloc(n);
}

/* free memory from xalloc (NULL is fine) */
static inline void
xfree(const allocator *al, void *p)
{
	if (p == NULL)
		return;
	if (al->dealloc)
		al->dealloc(al->ctx, p);
	else if (!al->alloc)
		free(p);
}

/* trigamma psi'(x) for x > 0 (btyd_special.c) */
extern double btyd_trigamma(double x);

/* ------------------------------------------------------------------------
 * Conditional expected purchases, the stable core (btyd_special.c)
 * ------------------------------------------------------------------------
 */
extern int	btyd_ep_core(double A, double B, double a, double k, double *out);
extern int	btyd_ep_core_multi(double A, double B, double a, const double *k, int nk,
							   double *out);

/* ------------------------------------------------------------------------
 * Prepared data sets of each likelihood
 * ------------------------------------------------------------------------
 */

/* (M)BG/NBD (btyd_bgnbd.c): per distinct x, and the rows split by kind */
typedef struct xtab
{
	double		rx;				/* r + x */
	double		lnk;			/* ln(a / (b + xb - 1)) */
	double		invb;			/* 1 / (b + xb - 1) */
} xtab;


typedef struct bgdata
{
	btyd_model	model;
	/* rows without a softplus term (BG/NBD, x == 0) */
	size_t		n0;
	double	   *T0;
	double	   *w0;
	/* rows with a softplus term */
	size_t		n1;
	double	   *T1;
	double	   *tx1;
	double	   *w1;
	int32_t    *k1;				/* index into xv */
	/* distinct x of the softplus rows and their total weights */
	size_t		nx;
	double	   *xv;				/* shared with the parent for subsamples */
	double	   *xw;
	xtab	   *tab;			/* scratch, nx entries */
	double		W;				/* total weight */
	double		Wx;				/* sum w x */
	double		WT;				/* sum w T */
	double		Tmax;
	int			owns_xv;
} bgdata;

extern void btyd_bg_free(const allocator *al, bgdata *d);
extern int	btyd_bg_prepare(const allocator *al, btyd_model model, const btyd_row *rows,
							size_t n, bgdata *d);
extern int	btyd_bg_subsample(const allocator *al, const bgdata *s, size_t stride,
							  bgdata *d);
extern void btyd_bgdata_loglik(bgdata *d, const double *th, double *ll_out, double *dll);
extern void btyd_bgdata_hessian(bgdata *d, const double *th, double *H);
extern size_t btyd_find_sorted(const double *xv, size_t n, double v);
extern int	btyd_build_xindex(const allocator *al, const double *xs, size_t n,
							  double **xv_out, size_t *nx_out, int32_t *idx);

/* Gamma-Gamma (btyd_gg.c) */
typedef struct ggdata
{
	size_t		n;
	double	   *xm;				/* x * m */
	double	   *xr;				/* x */
	double	   *w;
	size_t		nx;
	double	   *xv;				/* distinct x */
	double	   *xw;				/* total weight per distinct x */
	double		W;
	double		C0;				/* sum w ln m */
	double		C1;				/* sum w x ln m */
	double		Wm;				/* sum w m */
	int			owns_xv;
} ggdata;

extern void btyd_gg_free(const allocator *al, ggdata *d);
extern int	btyd_gg_prepare(const allocator *al, const gg_row *rows, size_t n, ggdata *d);
extern int	btyd_gg_subsample(const allocator *al, const ggdata *s, size_t stride,
							  ggdata *d);
extern void btyd_ggdata_loglik(const ggdata *d, const double *th, double *ll_out, double *dll);
extern void btyd_ggdata_hessian(const ggdata *d, const double *th, double *H);

/* Pareto/NBD (btyd_pnbd.c) */
/* grouped Pareto/NBD rows and their totals */
typedef struct pnbddata
{
	btyd_row   *rows;
	size_t		n;
	double		W;
	double		Wx;
	double		WT;
	double		Tmax;
} pnbddata;

/* the integral I and its weighted means of d phi / d theta */
typedef struct pnbd_int
{
	double		lnI;			/* ln I */
	double		m_lna;			/* E[ln(alpha+tau)] under the integrand */
	double		m_ia;			/* E[1/(alpha+tau)] */
	double		m_lnb;			/* E[ln(beta+tau)] */
	double		m_ib;			/* E[1/(beta+tau)] */
} pnbd_int;

/* 8-point Gauss-Legendre nodes and weights on [-1, 1] (the positive half) */
static const double gl8_x[4] = {0.1834346424956498, 0.5255324099163290,
	0.7966664774136267, 0.9602898564975363};
static const double gl8_w[4] = {0.3626837833783620, 0.3137066458778873,
	0.2223810344533745, 0.1012285362903763};

extern int	btyd_pnbd_integral(const double *p, double x, double tx, double T,
							   pnbd_int *out);
extern int	btyd_pnbd_loglik_rows(const btyd_row *rows, size_t n, const double *p,
								  double *ll_out, double *dll);

/* BG/BB (btyd_bgbb.c): grouped (x, tx, n = T) rows */
typedef struct bbdata
{
	btyd_row   *rows;
	size_t		n;
	double		W;
	double		Wx;				/* sum w x */
	double		Wn;				/* sum w n */
} bbdata;

extern int	btyd_bbdata_loglik(const bbdata *d, const double *th, double *ll_out,
							   double *dll);

/* ------------------------------------------------------------------------
 * Objective on log-parameters and BFGS (btyd_optim.c)
 * ------------------------------------------------------------------------
 */
typedef struct objctx
{
	int			np;				/* 4 or 3 */
	bgdata	   *bg;				/* one of bg/gg/pn */
	const ggdata *gg;
	const pnbddata *pn;
	const bbdata *bb;
	double		pen;			/* penalizer lambda */
	double		pscale[NPMAX];	/* theta_j is penalised as theta_j/pscale_j */
	double		ll;				/* log-likelihood at the last evaluation */
	int			evals;
} objctx;

typedef struct bfgs_state
{
	int			n;
	double		x[NPMAX];
	double		f;
	double		g[NPMAX];
	double		H[NPMAX * NPMAX];	/* inverse Hessian approximation */
	int			have_H;
	int			iters;
	int			converged;
	int			ok;				/* x, f, g valid */
} bfgs_state;

/* the total weight W of the objective's data */
static inline double
obj_weight(const objctx *c)
{
	return c->bg ? c->bg->W : c->pn ? c->pn->W : c->bb ? c->bb->W : c->gg->W;
}

extern int	btyd_obj_eval(objctx *c, const double *lt, double *f, double *g);
extern int	btyd_bfgs(objctx *c, bfgs_state *st, double gtol, int max_iter,
					  int (*interrupt) (void *), void *interrupt_ctx);

/* covariance from the observed information after a fit (btyd_cov.c) */
extern int	btyd_covariance(objctx *c, const double *lt, const double *g, double W,
							btyd_fit_result *res);

#endif							/* BTYD_INT_H */
