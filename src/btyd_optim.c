/*-------------------------------------------------------------------------
 *
 * btyd_optim.c
 *	  The objective on log-parameters (-LL/W plus the L2 penalty) and the
 *	  BFGS optimiser with its strong-Wolfe line search.
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_optim.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/* ------------------------------------------------------------------------
 * Objective on log-parameters
 * ------------------------------------------------------------------------
 */
/*
 * f = -LL/W + pen * sum (theta/pscale)^2 and its gradient wrt log theta.
 * Returns 0 if the point is inside the domain and f, g are finite.
 */
int
btyd_obj_eval(objctx *c, const double *lt, double *f, double *g)
{
	double		th[NPMAX],
				dll[NPMAX],
				ll,
				W,
				pen = 0.0;
	int			j;

	c->evals++;
	for (j = 0; j < c->np; j++)
	{
		if (!(fabs(lt[j]) <= LOG_BOUND))
			return 1;
		th[j] = exp(lt[j]);
	}
	if (c->bg)
	{
		btyd_bgdata_loglik(c->bg, th, &ll, dll);
		W = c->bg->W;
	}
	else if (c->bb)
	{
		if (btyd_bbdata_loglik(c->bb, th, &ll, dll) != BTYD_OK)
			return 1;
		W = c->bb->W;
	}
	else if (c->pn)
	{
		/* a quadrature at its panel cap: treat the point as out of domain */
		if (btyd_pnbd_loglik_rows(c->pn->rows, c->pn->n, th, &ll, dll) != BTYD_OK)
			return 1;
		W = c->pn->W;
	}
	else
	{
		btyd_ggdata_loglik(c->gg, th, &ll, dll);
		W = c->gg->W;
	}
	*f = -ll / W;
	for (j = 0; j < c->np; j++)
	{
		double		s = th[j] / c->pscale[j];

		pen += s * s;
		g[j] = -th[j] * dll[j] / W + 2.0 * c->pen * s * s;
	}
	*f += c->pen * pen;
	c->ll = ll;
	if (!isfinite(*f))
		return 1;
	for (j = 0; j < c->np; j++)
		if (!isfinite(g[j]))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * BFGS with a strong-Wolfe line search
 * ------------------------------------------------------------------------
 */
typedef struct lspoint
{
	double		a;
	double		f;
	double		d;				/* directional derivative */
	double		x[NPMAX];
	double		g[NPMAX];
	int			finite;
} lspoint;

/* evaluate phi(a) = f(x + a p) and its derivative */
static void
ls_eval(objctx *c, int n, const double *x, const double *p, double a, lspoint *pt)
{
	int			j;

	pt->a = a;
	for (j = 0; j < n; j++)
		pt->x[j] = x[j] + a * p[j];
	pt->finite = (btyd_obj_eval(c, pt->x, &pt->f, pt->g) == 0);
	pt->d = 0.0;
	if (pt->finite)
		for (j = 0; j < n; j++)
			pt->d += pt->g[j] * p[j];
}

/*
 * Minimiser of the cubic interpolating phi and phi' at lo and hi (N&W eq.
 * 3.59), safeguarded into the middle 80% of the bracket; bisection when
 * the cubic is unusable or hi is not finite.
 */
static double
ls_trial(const lspoint *lo, const lspoint *hi)
{
	double		a0 = lo->a,
				a1 = hi->a,
				left = fmin(a0, a1),
				right = fmax(a0, a1),
				wid = right - left,
				t = 0.5 * (a0 + a1);

	if (hi->finite)
	{
		double		d1 = lo->d + hi->d - 3.0 * (lo->f - hi->f) / (a0 - a1),
					disc = d1 * d1 - lo->d * hi->d;

		if (disc >= 0.0)
		{
			double		d2 = copysign(sqrt(disc), a1 - a0),
						den = hi->d - lo->d + 2.0 * d2;

			if (den != 0.0)
			{
				double		c = a1 - (a1 - a0) * (hi->d + d2 - d1) / den;

				if (isfinite(c))
					t = c;
			}
		}
	}
	if (t < left + 0.1 * wid)
		t = left + 0.1 * wid;
	if (t > right - 0.1 * wid)
		t = right - 0.1 * wid;
	return t;
}

/*
 * Line search along p from (x, f0, g0).  Accepts a point with
 *	 f(a) <= f0 + c1 a phi'(0)	or	f(a) <= f0 + epsf	(sufficient decrease,
 *										relaxed by the rounding level epsf)
 *	 |phi'(a)| <= c2 |phi'(0)|									(curvature)
 * Non-finite trial points are treated as "too far".  Returns 1 and the
 * accepted point in *out, or 0 if no acceptable point was found.
 */
static int
line_search(objctx *c, int n, const double *x, double f0, double dphi0,
			const double *p, double a0, double amax, lspoint *out)
{
	const double c1 = 1e-4,
				c2 = 0.9,
				epsf = 1e-13 * fmax(1.0, fabs(f0));
	lspoint		prev,
				cur,
				lo,
				hi,
				tr;
	int			i,
				in_zoom = 0;

#define SUFF(pt) ((pt).finite && ((pt).f <= f0 + c1 * (pt).a * dphi0 || (pt).f <= f0 + epsf))

	memset(&prev, 0, sizeof(prev));
	prev.a = 0.0;
	prev.f = f0;
	prev.d = dphi0;
	prev.finite = 1;
	memcpy(prev.x, x, n * sizeof(double));

	for (i = 0; i < 30 && !in_zoom; i++)
	{
		ls_eval(c, n, x, p, a0, &cur);
		if (!SUFF(cur) || (i > 0 && cur.f >= prev.f))
		{
			lo = prev;
			hi = cur;
			in_zoom = 1;
			break;
		}
		if (fabs(cur.d) <= -c2 * dphi0)
		{
			*out = cur;
			return 1;
		}
		if (cur.d >= 0.0)
		{
			lo = cur;
			hi = prev;
			in_zoom = 1;
			break;
		}
		if (a0 >= amax)
		{
			/* cannot extrapolate further: accept the decrease we have */
			*out = cur;
			return 1;
		}
		prev = cur;
		a0 = fmin(4.0 * a0, amax);
	}
	if (!in_zoom)
		return 0;

	for (i = 0; i < 40; i++)
	{
		double		t = ls_trial(&lo, &hi);

		if (fabs(hi.a - lo.a) <= 1e-14 * fmax(fabs(lo.a), fabs(hi.a)))
			break;
		ls_eval(c, n, x, p, t, &tr);
		if (!SUFF(tr) || tr.f >= lo.f)
			hi = tr;
		else
		{
			if (fabs(tr.d) <= -c2 * dphi0)
			{
				*out = tr;
				return 1;
			}
			if (tr.d * (hi.a - lo.a) >= 0.0)
				hi = lo;
			lo = tr;
		}
	}
	/* zoom ran out: fall back to the best sufficient-decrease point */
	if (lo.a > 0.0 && lo.f < f0)
	{
		*out = lo;
		return 1;
	}
	return 0;
#undef SUFF
}

/* set H to s * identity */
static void
set_identity(double *H, int n, double s)
{
	int			i;

	memset(H, 0, (size_t) n * n * sizeof(double));
	for (i = 0; i < n; i++)
		H[i * n + i] = s;
}

/*
 * Run BFGS from st->x (evaluating it first) for at most max_iter
 * iterations or until max|g| <= gtol * max(1, |f|).  The inverse Hessian
 * approximation in st->H is used if st->have_H and left in place for a
 * later continuation.
 */
int
btyd_bfgs(objctx *c, bfgs_state *st, double gtol, int max_iter,
	 int (*interrupt) (void *), void *ictx)
{
	const int	n = st->n;
	double		p[NPMAX],
				s[NPMAX],
				y[NPMAX],
				Hy[NPMAX];
	int			it,
				i,
				j,
				fresh,
				stall = 0;

	st->converged = 0;
	st->ok = (btyd_obj_eval(c, st->x, &st->f, st->g) == 0);
	if (!st->ok)
		return BTYD_OK;
	fresh = !st->have_H;
	if (!st->have_H)
		set_identity(st->H, n, 1.0);
	st->have_H = 1;

	for (it = 0;; it++)
	{
		double		gn = norm_inf(st->g, n),
					dphi0 = 0.0,
					pn,
					a0,
					sy = 0.0,
					yy = 0.0,
					yHy = 0.0,
					rho,
					fold = st->f;
		lspoint		np;

		if (gn <= gtol * fmax(1.0, fabs(st->f)))
		{
			st->converged = 1;
			break;
		}
		if (it >= max_iter)
			break;
		if (interrupt && interrupt(ictx))
			return BTYD_EINTR;

		for (i = 0; i < n; i++)
		{
			p[i] = 0.0;
			for (j = 0; j < n; j++)
				p[i] -= st->H[i * n + j] * st->g[j];
			dphi0 += p[i] * st->g[i];
		}
		if (!(dphi0 < 0.0))
		{
			/* not a descent direction: restart from steepest descent */
			set_identity(st->H, n, 1.0);
			fresh = 1;
			for (i = 0; i < n; i++)
				p[i] = -st->g[i];
			dphi0 = 0.0;
			for (i = 0; i < n; i++)
				dphi0 -= st->g[i] * st->g[i];
		}
		pn = norm_inf(p, n);
		a0 = (pn > MAX_STEP) ? MAX_STEP / pn : 1.0;
		if (!line_search(c, n, st->x, st->f, dphi0, p, a0, 10.0 * MAX_STEP / pn, &np))
		{
			if (!fresh)
			{
				/* retry once along steepest descent with a fresh H */
				set_identity(st->H, n, 1.0);
				fresh = 1;
				continue;
			}
			break;
		}
		for (i = 0; i < n; i++)
		{
			s[i] = np.x[i] - st->x[i];
			y[i] = np.g[i] - st->g[i];
			sy += s[i] * y[i];
			yy += y[i] * y[i];
		}
		memcpy(st->x, np.x, n * sizeof(double));
		memcpy(st->g, np.g, n * sizeof(double));
		st->f = np.f;
		st->iters++;

		if (sy > 0.0 && yy > 0.0)
		{
			if (fresh)
				set_identity(st->H, n, sy / yy);
			rho = 1.0 / sy;
			for (i = 0; i < n; i++)
			{
				Hy[i] = 0.0;
				for (j = 0; j < n; j++)
					Hy[i] += st->H[i * n + j] * y[j];
				yHy += y[i] * Hy[i];
			}
			for (i = 0; i < n; i++)
				for (j = 0; j < n; j++)
					st->H[i * n + j] += -rho * (s[i] * Hy[j] + Hy[i] * s[j])
						+ (rho * rho * yHy + rho) * s[i] * s[j];
			fresh = 0;
		}
		/* guard against endless crawling at rounding level */
		if (fabs(fold - st->f) <= 1e-16 * fmax(1.0, fabs(st->f)))
		{
			if (++stall >= 20)
				break;
		}
		else
			stall = 0;
	}
	return BTYD_OK;
}
