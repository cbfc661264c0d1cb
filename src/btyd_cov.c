/*-------------------------------------------------------------------------
 *
 * btyd_cov.c
 *	  Covariance of a fit's estimates from the observed information.
 *
 * At the maximum theta^ of the log-likelihood LL, the estimates are
 * asymptotically normal with covariance I^-1, I = -d2 LL / d theta2 at
 * theta^ (the observed information).  The fitter minimises
 *	 f(l) = -LL(e^l)/W + penalty,  l = ln theta,
 * and has its analytic gradient, so the Hessian of W f in l is taken by
 * central differences of that gradient (step H_STEP in l, a relative step
 * in theta: truncation error about H_STEP^2 / 6 relative, rounding about
 * 1e-16 / H_STEP), 2 n gradient evaluations once after convergence.  With
 * D = diag(theta) and g = df/dl, the chain rule gives
 *	 W d2f/dtheta_i dtheta_j = W (Hl_ij - [i == j] g_i) / (theta_i theta_j),
 * so Cov(theta) = D (W (Hl - diag g))^-1 D: the delta method, exact at a
 * stationary point (g = 0 up to the fitter's tolerance).
 *
 * No covariance is given when the fit did not converge, when the
 * information is not positive definite (Cholesky fails: a flat direction,
 * parameters not identified), or when the estimate sits at a boundary of
 * the parameter space (a parameter at the optimiser's log bound, or a
 * standard error of ln theta above COV_MAX_LOG_SE: the likelihood keeps
 * rising or stays flat as a parameter goes to 0 or infinity, and a normal
 * interval around the estimate means nothing).
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_cov.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

#define H_STEP			1e-4	/* finite-difference step in ln theta */
#define COV_MAX_LOG_SE	5.0		/* SE(ln theta) beyond this: at a boundary */
#define COV_LOG_EDGE	(LOG_BOUND - 2.0)	/* |ln theta| beyond this: boundary */

/* a sentence for each BTYD_COV_* status */
const char *
btyd_cov_strerror(int cov_status)
{
	switch (cov_status)
	{
		case BTYD_COV_OK:
			return "standard errors from the observed information";
		case BTYD_COV_NOT_CONVERGED:
			return "the fit did not converge, so there is no maximum whose curvature gives standard errors";
		case BTYD_COV_BOUNDARY:
			return "a parameter is at the boundary of the parameter space (the likelihood is flat as it goes to 0 or infinity), so normal intervals do not apply";
		case BTYD_COV_SINGULAR:
			return "the information matrix is singular (the parameters are not identified by these data)";
	}
	return "unknown covariance status";
}

/*
 * Inverse of the symmetric n x n matrix A by Cholesky (n <= NPMAX).
 * Returns 0 when A is not numerically positive definite (a pivot at or
 * below 1e-12 of the largest diagonal element).
 */
static int
spd_inverse(int n, const double *A, double *Ainv)
{
	double		Lm[NPMAX * NPMAX],
				Li[NPMAX * NPMAX],
				dmax = 0.0;
	int			i,
				j,
				k;

	for (i = 0; i < n; i++)
		if (A[i * n + i] > dmax)
			dmax = A[i * n + i];
	if (!(dmax > 0.0) || !isfinite(dmax))
		return 0;
	memset(Lm, 0, sizeof(Lm));
	for (j = 0; j < n; j++)
	{
		double		s = A[j * n + j];

		for (k = 0; k < j; k++)
			s -= Lm[j * n + k] * Lm[j * n + k];
		if (!(s > 1e-12 * dmax) || !isfinite(s))
			return 0;
		Lm[j * n + j] = sqrt(s);
		for (i = j + 1; i < n; i++)
		{
			double		t = A[i * n + j];

			for (k = 0; k < j; k++)
				t -= Lm[i * n + k] * Lm[j * n + k];
			Lm[i * n + j] = t / Lm[j * n + j];
		}
	}
	/* Li = L^-1 (lower triangular), then A^-1 = Li^T Li */
	memset(Li, 0, sizeof(Li));
	for (j = 0; j < n; j++)
	{
		Li[j * n + j] = 1.0 / Lm[j * n + j];
		for (i = j + 1; i < n; i++)
		{
			double		t = 0.0;

			for (k = j; k < i; k++)
				t -= Lm[i * n + k] * Li[k * n + j];
			Li[i * n + j] = t / Lm[i * n + i];
		}
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
		{
			double		t = 0.0;

			for (k = (i > j ? i : j); k < n; k++)
				t += Li[k * n + i] * Li[k * n + j];
			Ainv[i * n + j] = t;
		}
	return 1;
}

/*
 * Fill res->cov and res->cov_status for the converged point lt (ln theta)
 * with gradient g (of the mean objective, in ln theta) of objective c.
 * Always BTYD_OK: not getting a covariance is a status, not an error.
 */
int
btyd_covariance(objctx *c, const double *lt, const double *g, double W,
				btyd_fit_result *res)
{
	int			n = c->np,
				i,
				j;
	double		H[NPMAX * NPMAX],
				C[NPMAX * NPMAX],
				gp[NPMAX],
				gm[NPMAX],
				x[NPMAX],
				f;
	int			evals = c->evals;
	double		ll = c->ll;

	memset(res->cov, 0, sizeof(res->cov));
	if (!res->converged || !(W > 0.0))
	{
		res->cov_status = BTYD_COV_NOT_CONVERGED;
		return BTYD_OK;
	}
	for (j = 0; j < n; j++)
		if (fabs(lt[j]) > COV_LOG_EDGE)
		{
			res->cov_status = BTYD_COV_BOUNDARY;
			return BTYD_OK;
		}
	if (c->bg || c->gg)
	{
		/* (M)BG/NBD, Gamma-Gamma: the analytic Hessian, one pass */
		const double *th = res->params; /* exp(lt) */
		double		Hn[NPMAX * NPMAX];

		if (c->bg)
			btyd_bgdata_hessian(c->bg, th, Hn);
		else
			btyd_ggdata_hessian(c->gg, th, Hn);
		for (i = 0; i < n; i++)
			for (j = 0; j < n; j++)
			{
				double		h = -Hn[i * n + j];

				if (i == j)
					h += 2.0 * W * c->pen / (c->pscale[j] * c->pscale[j]);
				H[i * n + j] = h * th[i] * th[j];
			}
		for (j = 0; j < n * n; j++)
			if (!isfinite(H[j]))
				goto boundary;
	}
	else
	{
		for (j = 0; j < n; j++)
		{
			memcpy(x, lt, n * sizeof(double));
			x[j] = lt[j] + H_STEP;
			if (btyd_obj_eval(c, x, &f, gp) != 0)
				goto boundary;
			x[j] = lt[j] - H_STEP;
			if (btyd_obj_eval(c, x, &f, gm) != 0)
				goto boundary;
			for (i = 0; i < n; i++)
				H[i * n + j] = W * (gp[i] - gm[i]) / (2.0 * H_STEP);
		}
		c->evals = evals;		/* report the search's evaluations only */
		c->ll = ll;
		for (i = 0; i < n; i++)
		{
			for (j = 0; j < i; j++)
			{
				double		s = 0.5 * (H[i * n + j] + H[j * n + i]);

				H[i * n + j] = H[j * n + i] = s;
			}
			H[i * n + i] -= W * g[i];
		}
	}
	if (!spd_inverse(n, H, C))
	{
		res->cov_status = BTYD_COV_SINGULAR;
		return BTYD_OK;
	}
	for (j = 0; j < n; j++)
		if (!(C[j * n + j] >= 0.0) || sqrt(C[j * n + j]) > COV_MAX_LOG_SE)
			goto boundary;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			res->cov[i * n + j] = C[i * n + j] * res->params[i] * res->params[j];
	res->cov_status = BTYD_COV_OK;
	return BTYD_OK;

boundary:
	c->evals = evals;
	c->ll = ll;
	memset(res->cov, 0, sizeof(res->cov));
	res->cov_status = BTYD_COV_BOUNDARY;
	return BTYD_OK;
}
