/*-------------------------------------------------------------------------
 *
 * btyd.c
 *	  Likelihoods, analytic gradients, a BFGS optimiser and per-customer
 *	  formulas for the BG/NBD, MBG/NBD and Gamma-Gamma models.
 *
 * Plain C99 + libm; no PostgreSQL headers, no global mutable state, no
 * exit()/abort().  See btyd.h for the API and the references ([FHL05a],
 * [BDF07], [FHL05b]).
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
 * src/btyd.c
 *
 *-------------------------------------------------------------------------
 */
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

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------
 */

/* the host's poll hook (btyd_set_poll); NULL: never interrupted */
static btyd_poll_fn poll_hook = NULL;

void
btyd_set_poll(btyd_poll_fn fn)
{
	poll_hook = fn;
}

/* true when the host asks the current call to stop (every BTYD_POLL_TERMS terms) */
static int
poll_now(long n)
{
	return poll_hook != NULL && n % BTYD_POLL_TERMS == BTYD_POLL_TERMS - 1 && poll_hook();
}

/* ln Gamma(x) without touching libc's global signgam where possible */
static double
lgam(double x)
{
#ifdef BTYD_HAVE_LGAMMA_R
	int			s;

	return lgamma_r(x, &s);
#else
	return lgamma(x);
#endif
}

/*
 * ln|Gamma(x)| and the sign of Gamma(x); sign 0 (and +inf) at the poles
 * x = 0, -1, -2, ...
 */
static double
lgam_sign(double x, int *sgn)
{
	double		fl;

	if (x > 0.0)
	{
		*sgn = 1;
		return lgam(x);
	}
	fl = floor(x);
	if (x == fl)
	{
		*sgn = 0;
		return INFINITY;
	}
	/* Gamma(x) < 0 on (-1,0), (-3,-2), ...: exactly when floor(x) is odd */
	*sgn = (fmod(-fl, 2.0) == 1.0) ? -1 : 1;
	return lgam(x);
}

/* true if x is within tol of an integer */
static int
near_int(double x, double tol)
{
	return fabs(x - nearbyint(x)) < tol;
}

/*
 * Digamma for x > 0: upward recurrence to x >= 10, then the asymptotic
 * series (Abramowitz & Stegun 6.3.18) through x^-14 (truncation < 1e-17).
 * Negative non-integers use the reflection formula (A&S 6.3.7).
 */
double
btyd_digamma(double x)
{
	double		acc = 0.0,
				x2,
				s;

	if (isnan(x))
		return x;
	if (x <= 0.0)
	{
		if (x == floor(x))
			return NAN;
		/* psi(x) = psi(1 - x) - pi / tan(pi x) */
		return btyd_digamma(1.0 - x) - M_PI / tan(M_PI * x);
	}
	while (x < 10.0)
	{
		acc -= 1.0 / x;
		x += 1.0;
	}
	x2 = 1.0 / (x * x);
	s = x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240
			- x2 * (1.0 / 132 - x2 * (691.0 / 32760 - x2 * (1.0 / 12)))))));
	return acc + log(x) - 0.5 / x - s;
}

/* inf-norm of a short vector */
static double
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
static int
pos_finite(double v)
{
	return isfinite(v) && v > 0.0;
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
static void *
xalloc(const allocator *al, size_t n)
{
	if (n == 0)
		n = 1;
	if (al->alloc)
		return al->alloc(al->ctx, n);
	return malloc(n);
}

/* free memory from xalloc (NULL is fine) */
static void
xfree(const allocator *al, void *p)
{
	if (p == NULL)
		return;
	if (al->dealloc)
		al->dealloc(al->ctx, p);
	else if (!al->alloc)
		free(p);
}

/* ------------------------------------------------------------------------
 * Gauss hypergeometric function
 * ------------------------------------------------------------------------
 */

/*
 * Sum a hypergeometric-type series sum_{n>=0} t_n with t_0 = first and
 * t_{n+1} / t_n = (p1 + n)(p2 + n) / ((q1 + n)(q2 + n)) * z, for |z| < 1
 * (q2 = 1 is the 2F1 series).
 * Stops when the remaining tail is provably negligible: once past the
 * parameters (n > max |p|, |q|), the term ratios are monotone towards z,
 * so |tail| <= |t_n| rho / (1 - rho) with rho = max(|ratio_n|, |z|).
 */
static int
hyp_series(double first, double p1, double p2, double q1, double q2,
		   double z, long cap, double *out)
{
	double		sum = first,
				comp = 0.0,
				term = first,
				ratio,
				rho,
				nmin,
				tsum;
	long		n;

	nmin = fmax(fmax(fabs(p1), fabs(p2)), fmax(fabs(q1), fabs(q2))) + 2.0;
	for (n = 0; n < cap; n++)
	{
		ratio = (p1 + n) * (p2 + n) / ((q1 + n) * (q2 + n)) * z;
		term *= ratio;
		/* Neumaier compensated summation: long series near z = 1 */
		tsum = sum + term;
		if (fabs(sum) >= fabs(term))
			comp += (sum - tsum) + term;
		else
			comp += (term - tsum) + sum;
		sum = tsum;
		if (term == 0.0)
		{
			*out = sum + comp;
			return BTYD_OK;
		}
		if (!isfinite(sum))
			return BTYD_ENOCONV;
		if (poll_now(n))
			return BTYD_EINTR;
		if ((double) n >= nmin)
		{
			rho = fmax(fabs(ratio), fabs(z));
			if (rho < 1.0 &&
				fabs(term) * rho <= 0.25 * DBL_EPSILON * (1.0 - rho) * fabs(sum))
			{
				*out = sum + comp;
				return BTYD_OK;
			}
		}
	}
	return BTYD_ENOCONV;
}

/*
 * 2F1(a, b; c; z) for 0 <= z < 1 by the defining series for z <= 0.9, and
 * for z > 0.9 by the 1 - z connection formula (A&S 15.3.6)
 *	 F = G(c)G(m)/(G(c-a)G(c-b)) F(a, b; 1-m; 1-z)
 *	   + (1-z)^m G(c)G(-m)/(G(a)G(b)) F(c-a, c-b; 1+m; 1-z),  m = c-a-b,
 * unless m is within 0.01 of an integer (the formula degenerates and
 * loses digits), where the convergent defining series is summed instead
 * (slowly: about 40/(1-z) terms).
 */
static int
hyp2f1_pos(double a, double b, double c, double z, double *out)
{
	double		m = c - a - b,
				w = 1.0 - z,
				l1,
				l2,
				f1,
				f2,
				t1 = 0.0,
				t2 = 0.0;
	int			s_c,
				s_m,
				s_mm,
				s_ca,
				s_cb,
				s_a,
				s_b,
				rc;

	if (z <= 0.9 || near_int(m, 0.01) ||
		(a <= 0 && a == floor(a)) || (b <= 0 && b == floor(b)))
		return hyp_series(1.0, a, b, c, 1.0, z, SERIES_CAP, out);

	l1 = lgam_sign(c, &s_c) + lgam_sign(m, &s_m);
	l2 = lgam_sign(c - a, &s_ca) + lgam_sign(c - b, &s_cb);
	if (s_ca != 0 && s_cb != 0)
	{
		rc = hyp_series(1.0, a, b, 1.0 - m, 1.0, w, SERIES_CAP, &f1);
		if (rc != BTYD_OK)
			return rc;
		t1 = s_c * s_m * s_ca * s_cb * exp(l1 - l2) * f1;
	}
	l1 = lgam_sign(c, &s_c) + lgam_sign(-m, &s_mm);
	l2 = lgam_sign(a, &s_a) + lgam_sign(b, &s_b);
	if (s_a != 0 && s_b != 0)
	{
		rc = hyp_series(1.0, c - a, c - b, 1.0 + m, 1.0, w, SERIES_CAP, &f2);
		if (rc != BTYD_OK)
			return rc;
		t2 = s_c * s_mm * s_a * s_b * exp(m * log(w) + l1 - l2) * f2;
	}
	*out = t1 + t2;
	return isfinite(*out) ? BTYD_OK : BTYD_ENOCONV;
}

/*
 * Public 2F1.  Negative z goes through the Pfaff transformation (A&S
 * 15.3.4) F(a,b;c;z) = (1-z)^-a F(a, c-b; c; z/(z-1)), which maps z < 0
 * into (0, 1); z == 1 uses Gauss's theorem when c - a - b > 0.
 */
int
btyd_hyp2f1(double a, double b, double c, double z, double *out)
{
	double		v;
	int			rc,
				s1,
				s2,
				s3,
				s4;

	if (!isfinite(a) || !isfinite(b) || !isfinite(c) || !isfinite(z) || out == NULL)
		return BTYD_EINVAL;
	if (c <= 0.0 && c == floor(c))
		return BTYD_EDOMAIN;
	if (z == 0.0 || a == 0.0 || b == 0.0)
	{
		*out = 1.0;
		return BTYD_OK;
	}
	if (z > 1.0)
		return BTYD_EDOMAIN;
	if (z == 1.0)
	{
		double		l;

		if (c - a - b <= 0.0)
			return BTYD_EDOMAIN;
		l = lgam_sign(c, &s1) + lgam_sign(c - a - b, &s2)
			- lgam_sign(c - a, &s3) - lgam_sign(c - b, &s4);
		*out = (s3 == 0 || s4 == 0) ? 0.0 : s1 * s2 * s3 * s4 * exp(l);
		return BTYD_OK;
	}
	if (z < 0.0)
	{
		/* polynomial cases are summed directly (finite number of terms) */
		if ((a <= 0 && a == floor(a)) || (b <= 0 && b == floor(b)))
			return hyp_series(1.0, a, b, c, 1.0, z, SERIES_CAP, out);
		rc = hyp2f1_pos(a, c - b, c, z / (z - 1.0), &v);
		if (rc != BTYD_OK)
			return rc;
		*out = exp(-a * log1p(-z)) * v;
		return isfinite(*out) ? BTYD_OK : BTYD_ENOCONV;
	}
	return hyp2f1_pos(a, b, c, z, out);
}

/* ------------------------------------------------------------------------
 * Conditional expected purchases: the stable core
 * ------------------------------------------------------------------------
 *
 * For an alive customer with posterior lambda ~ Gamma(A, alpha + T) and
 * dropout probability p ~ Beta(a, B), the expected number of purchases in
 * the next t time units is E[(1 - exp(-lambda p t)) / p] =
 *		N = E_p[(1 - (1 + p k)^-A) / p],	 k = t / (alpha + T),
 * which in closed form ([FHL05a] eq. 10, [BDF07]/Wagner-Hoppe) is
 *		N = c/(a-1) [1 - (1-z)^A 2F1(A, B; c; z)],	c = a + B - 1,
 *		z = t/(alpha+T+t) = k/(1+k).
 * That form has a removable singularity at a = 1 and a pole of 2F1 at
 * c = 0.  Euler's transformation (A&S 15.3.3) gives (1-z)^A 2F1(A,B;c;z) =
 * (1-z)^eps 2F1(d, eps; c; z) with eps = a - 1 and d = c - A; expanding the
 * series and cancelling eps and c yields
 *		N = -c expm1(eps L)/eps - exp(eps L) S,	   L = ln(1-z) = -log1p(k),
 *		S = sum_{n>=1} (d)_n (1+eps)_{n-1} / ((c+1)_{n-1} n!) z^n,
 * whose coefficients have no poles (c + 1 = a + B > 0) and which is exact
 * at a = 1 (expm1(eps L)/eps -> L).  This converges for every z < 1; for
 * z > 0.9 it gets slow, so there (if |eps| >= 0.01 and m = A - eps is not
 * within 0.01 of an integer) the 1-z connection formula is applied to
 * 2F1(d, eps; c; z), again with c and eps cancelled analytically:
 *		N = c/eps - (1-z)^eps G(c+1)G(m) / (eps G(A)G(B)) F(d, eps; 1-m; 1-z)
 *			- (1-z)^(eps+m) G(c+1)G(-m) / (G(d)G(1+eps)) F(A, B; 1+m; 1-z).
 */
static int
ep_core(double A, double B, double a, double k, double *out)
{
	double		eps = a - 1.0,
				c = a + B - 1.0,
				d = c - A,
				m = A - eps,
				z,
				w,
				L,
				em,
				S,
				f1,
				f2,
				lw,
				t1,
				t2,
				lg;
	int			rc,
				s1,
				s2,
				s3,
				s4,
				s5,
				s6;

	if (k == 0.0)
	{
		*out = 0.0;
		return BTYD_OK;
	}
	z = k / (1.0 + k);
	w = 1.0 / (1.0 + k);
	L = -log1p(k);

	if (z <= 0.9 || fabs(eps) < 0.01 || near_int(m, 0.01))
	{
		/*
		 * S = sum_{n>=1} t_n, t_1 = d z, t_{n+1}/t_n = (d+n)(eps+n)/((c+n)(n+1)) z,
		 * i.e. with m = n - 1 the ratio (d+1+m)(eps+1+m)/((c+1+m)(2+m)) z
		 */
		if (d == 0.0)
			S = 0.0;
		else
		{
			rc = hyp_series(d * z, d + 1.0, eps + 1.0, c + 1.0, 2.0, z, SERIES_CAP, &S);
			if (rc != BTYD_OK)
				return rc;
		}
		em = (eps == 0.0) ? L : expm1(eps * L) / eps;
		*out = -c * em - exp(eps * L) * S;
		return isfinite(*out) ? BTYD_OK : BTYD_ENOCONV;
	}

	lw = log(w);
	/* first part: c/eps - w^eps G(c+1)G(m)/(eps G(A)G(B)) F(d, eps; 1-m; w) */
	rc = hyp_series(1.0, d, eps, 1.0 - m, 1.0, w, SERIES_CAP, &f1);
	if (rc != BTYD_OK)
		return rc;
	lg = lgam_sign(c + 1.0, &s1) + lgam_sign(m, &s2) - lgam(A) - lgam(B);
	t1 = c / eps - s1 * s2 * exp(eps * lw + lg) * f1 / eps;
	/* second part, vanishes when d is a pole of Gamma (1/G(d) = 0) */
	lg = lgam_sign(c + 1.0, &s3) + lgam_sign(-m, &s4)
		- lgam_sign(d, &s5) - lgam_sign(1.0 + eps, &s6);
	t2 = 0.0;
	if (s5 != 0)
	{
		rc = hyp_series(1.0, A, B, 1.0 + m, 1.0, w, SERIES_CAP, &f2);
		if (rc != BTYD_OK)
			return rc;
		t2 = s3 * s4 * s5 * s6 * exp((eps + m) * lw + lg) * f2;
	}
	*out = t1 - t2;
	return isfinite(*out) ? BTYD_OK : BTYD_ENOCONV;
}

/*
 * ep_core_multi: ep_core at several k for one customer (CLV needs the
 * expectation at the end of every month of the horizon).  Where ep_core
 * would sum the series S, the coefficients of S depend only on the
 * customer, so they are computed once and the series is summed at every z
 * in the same pass: one division per term instead of one per term and z.
 * Other k (z > 0.9 with the connection formula) go through ep_core.
 */
#define EP_MULTI_MAX 32

/*
 * The series of ep_core_multi at every z: series[i] is 1 while z[i] is
 * being summed and becomes 2 once its tail is negligible; sum[i] (+
 * comp[i]) holds S.  Once past the parameters (n >= nmin) the term ratios
 * are monotone towards z, so the tail is below |term| rho / (1 - rho).
 */
static int
ep_sum_positive(double d, double eps, double c, double nmin, const double *z,
				double *pw, double *sum, int *series, int nk, int active)
{
	double		u = d,
				last[EP_MULTI_MAX],
				r = 1.0;
	int			idx[EP_MULTI_MAX],
				na = 0,
				i,
				j,
				b;
	long		n = 1;

	for (i = 0; i < nk; i++)
		if (series[i] == 1)
			idx[na++] = i;
	(void) active;
	/*
	 * Blocks of 8 terms over the still-active z, then the tail test on the
	 * last term of the block: the tight inner loop has no branch, and a
	 * series may run up to 7 terms past its stopping point (adding terms
	 * below its rounding).
	 */
	while (na > 0)
	{
		if (n > SERIES_CAP)
			return BTYD_ENOCONV;
		/* n moves by 8: poll once per BTYD_POLL_TERMS terms */
		if (n >= 8 && n % BTYD_POLL_TERMS < 8 && poll_hook != NULL && poll_hook())
			return BTYD_EINTR;
		for (b = 0; b < 8; b++, n++)
		{
			r = (d + n) * (eps + n) / ((c + n) * (n + 1.0));
			for (j = 0; j < na; j++)
			{
				double		term = u * pw[idx[j]];

				sum[idx[j]] += term;
				last[idx[j]] = term;
				pw[idx[j]] *= z[idx[j]];
			}
			u *= r;
		}
		/* r is the ratio from the block's last term to the next one */
		for (j = 0; j < na;)
		{
			double		zi = z[idx[j]],
						rho = (r > 1.0 ? r : 1.0) * zi,
						t = last[idx[j]];

			if (!isfinite(sum[idx[j]]))
				return BTYD_ENOCONV;
			if (t == 0.0 ||
				((double) n > nmin && rho < 1.0 &&
				 t * rho <= 0.25 * DBL_EPSILON * (1.0 - rho) * sum[idx[j]]))
			{
				series[idx[j]] = 2;
				idx[j] = idx[--na];
			}
			else
				j++;
		}
	}
	return BTYD_OK;
}

static int
ep_sum_compensated(double d, double eps, double c, double nmin, const double *z,
				   double *pw, double *sum, double *comp, int *series, int nk, int active)
{
	double		u = d;
	long		n;
	int			i;

	for (n = 1; active > 0; n++)
	{
		double		r = (d + n) * (eps + n) / ((c + n) * (n + 1.0));

		if (n > SERIES_CAP)
			return BTYD_ENOCONV;
		if (poll_now(n))
			return BTYD_EINTR;
		for (i = 0; i < nk; i++)
		{
			double		term,
						tsum,
						rho;

			if (series[i] != 1)
				continue;
			term = u * pw[i];
			/* Neumaier compensated summation, as in hyp_series */
			tsum = sum[i] + term;
			if (fabs(sum[i]) >= fabs(term))
				comp[i] += (sum[i] - tsum) + term;
			else
				comp[i] += (term - tsum) + sum[i];
			sum[i] = tsum;
			if (!isfinite(tsum))
				return BTYD_ENOCONV;
			rho = fmax(fabs(r * z[i]), z[i]);
			if (term == 0.0 ||
				((double) n >= nmin && rho < 1.0 &&
				 fabs(term) * rho <= 0.25 * DBL_EPSILON * (1.0 - rho) * fabs(tsum)))
			{
				series[i] = 2;
				active--;
			}
			pw[i] *= z[i];
		}
		u *= r;
	}
	return BTYD_OK;
}

static int
ep_core_multi(double A, double B, double a, const double *k, int nk, double *out)
{
	double		eps = a - 1.0,
				c = a + B - 1.0,
				d = c - A,
				m = A - eps,
				z[EP_MULTI_MAX],
				pw[EP_MULTI_MAX],
				sum[EP_MULTI_MAX],
				comp[EP_MULTI_MAX],
				nmin;
	int			series[EP_MULTI_MAX],
				active = 0,
				i,
				rc;

	if (nk > EP_MULTI_MAX)
		return BTYD_EINVAL;
	for (i = 0; i < nk; i++)
	{
		z[i] = k[i] / (1.0 + k[i]);
		series[i] = (k[i] > 0.0 && d != 0.0 &&
					 (z[i] <= 0.9 || fabs(eps) < 0.01 || near_int(m, 0.01)));
		if (!series[i] && k[i] > 0.0 && d != 0.0)
		{
			rc = ep_core(A, B, a, k[i], &out[i]);
			if (rc != BTYD_OK)
				return rc;
		}
		pw[i] = z[i];
		sum[i] = comp[i] = 0.0;
		active += series[i];
	}

	/* S = sum_{n>=1} u_n z^n, u_1 = d, u_{n+1} = u_n (d+n)(eps+n) / ((c+n)(n+1)) */
	nmin = fmax(fmax(fabs(d + 1.0), fabs(eps + 1.0)), fmax(fabs(c + 1.0), 2.0)) + 2.0;
	/*
	 * With d > 0 and a > 0 every u_n is positive (d+n, eps+n = a-1+n and
	 * c+n are all > 0 for n >= 1), so plain summation is accurate to a few
	 * ulps and the compensation, the costliest part of the loop, is
	 * skipped.  Otherwise terms may change sign: compensated summation as
	 * in hyp_series.
	 */
	if (d > 0.0)
		rc = ep_sum_positive(d, eps, c, nmin, z, pw, sum, series, nk, active);
	else
		rc = ep_sum_compensated(d, eps, c, nmin, z, pw, sum, comp, series, nk, active);
	if (rc != BTYD_OK)
		return rc;
	for (i = 0; i < nk; i++)
	{
		if (k[i] > 0.0 && d != 0.0 && series[i] == 2)
		{
			double		L = -log1p(k[i]),
						em = (eps == 0.0) ? L : expm1(eps * L) / eps,
						S = sum[i] + comp[i];

			/* exp(eps L) = 1 + eps em: one libm call fewer per month */
			out[i] = -c * em - (1.0 + eps * em) * S;
			if (!isfinite(out[i]))
				return BTYD_ENOCONV;
		}
	}
	/* k == 0 gives 0; d == 0 makes S vanish */
	for (i = 0; i < nk; i++)
	{
		if (k[i] == 0.0)
			out[i] = 0.0;
		else if (d == 0.0)
		{
			double		L = -log1p(k[i]);

			out[i] = -c * ((eps == 0.0) ? L : expm1(eps * L) / eps);
		}
	}
	return BTYD_OK;
}

/* ------------------------------------------------------------------------
 * Per-customer functions
 * ------------------------------------------------------------------------
 */

/* check {r, alpha, a, b} */
static int
check_bg_params(const double *p)
{
	if (p == NULL)
		return 0;
	return pos_finite(p[0]) && pos_finite(p[1]) && pos_finite(p[2]) && pos_finite(p[3]);
}

/* check one (x, tx, T) history */
static int
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

/* logistic 1/(1+e^u) without overflow */
static double
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
 * E[purchases in (T, T+t] | x, tx, T] = P(alive) * N, N from ep_core with
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
	rc = ep_core(params[0] + x, B, params[2], t / (params[1] + T), &n);
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
	*out = params[0] * (params[2] + (x > 0.0 ? x * m : 0.0)) / den;
	return BTYD_OK;
}

/*
 * CLV mirroring lifetimes' _customer_lifetime_value (utils.py): for
 * i = 1..H, with s = i * f, add value * (E(s) - E(s - f)) / (1+d)^(s/f).
 */
int
btyd_clv(btyd_model model, const double bg[4], const double gg[3],
		 double x, double tx, double T, double m, int horizon_months,
		 double monthly_discount_rate, double periods_per_month, double *out)
{
	double		value,
				prev = 0.0,
				cur,
				pa,
				B,
				k[EP_MULTI_MAX],
				n[EP_MULTI_MAX],
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
	if (!check_bg_params(bg) || !check_history(x, tx, T) ||
		(model != BTYD_BGNBD && model != BTYD_MBGNBD))
		return BTYD_EINVAL;
	/* E(s) = P(alive) N(s): P(alive) once, N at every month end */
	rc = btyd_p_alive(model, bg, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	B = (model == BTYD_MBGNBD) ? bg[3] + x + 1.0 : bg[3] + x;
	for (i = 1; i <= horizon_months; i += EP_MULTI_MAX)
	{
		int			nk = (horizon_months - i + 1 < EP_MULTI_MAX) ? horizon_months - i + 1 : EP_MULTI_MAX,
					j;

		if (poll_hook != NULL && poll_hook())
			return BTYD_EINTR;
		for (j = 0; j < nk; j++)
			k[j] = (i + j) * periods_per_month / (bg[1] + T);
		rc = ep_core_multi(bg[0] + x, B, bg[2], k, nk, n);
		if (rc != BTYD_OK)
			return rc;
		for (j = 0; j < nk; j++)
		{
			cur = pa * n[j];
			disc /= 1.0 + monthly_discount_rate;	/* (1 + d)^-(i+j) */
			clv += value * (cur - prev) * disc;
			prev = cur;
		}
	}
	*out = clv;
	return BTYD_OK;
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

/* free a bgdata */
static void
bg_free(const allocator *al, bgdata *d)
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
static size_t
find_sorted(const double *xv, size_t n, double v)
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
static int
build_xindex(const allocator *al, const double *xs, size_t n,
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
			k[i] = (int32_t) find_sorted(xv, nd, xs[i]);
	}
	*xv_out = xv;
	*nx_out = nd;
	return BTYD_OK;
}

/*
 * Validate rows and build the evaluation layout (rows with w == 0 are
 * dropped).  Returns BTYD_EINVAL on a bad row.
 */
static int
bg_prepare(const allocator *al, btyd_model model, const btyd_row *rows,
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
		bg_free(al, d);
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
	rc = build_xindex(al, tmp, n1, &d->xv, &d->nx, d->k1);
	xfree(al, tmp);
	if (rc != BTYD_OK)
	{
		bg_free(al, d);
		return rc;
	}
	d->xw = xalloc(al, d->nx * sizeof(double));
	d->tab = xalloc(al, d->nx * sizeof(xtab));
	if (!d->xw || !d->tab)
	{
		bg_free(al, d);
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
static int
bg_subsample(const allocator *al, const bgdata *s, size_t stride, bgdata *d)
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
		bg_free(al, d);
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
static void
bg_loglik(bgdata *d, const double *th, double *ll_out, double *dll)
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

/* free a ggdata */
static void
gg_free(const allocator *al, ggdata *d)
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
static int
gg_prepare(const allocator *al, const gg_row *rows, size_t n, ggdata *d)
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
		gg_free(al, d);
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
	rc = build_xindex(al, d->xr, d->n, &d->xv, &d->nx, k);
	if (rc == BTYD_OK)
	{
		d->xw = xalloc(al, d->nx * sizeof(double));
		if (d->xw == NULL)
			rc = BTYD_ENOMEM;
	}
	if (rc != BTYD_OK)
	{
		xfree(al, k);
		gg_free(al, d);
		return rc;
	}
	memset(d->xw, 0, d->nx * sizeof(double));
	for (i = 0; i < d->n; i++)
		d->xw[k[i]] += d->w[i];
	xfree(al, k);
	return BTYD_OK;
}

/* systematic subsample of Gamma-Gamma data (every stride-th row) */
static int
gg_subsample(const allocator *al, const ggdata *s, size_t stride, ggdata *d)
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
		gg_free(al, d);
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
		d->xw[find_sorted(d->xv, d->nx, s->xr[i])] += s->w[i];
	}
	return BTYD_OK;
}

/* Gamma-Gamma sum_i w_i LL_i and gradient wrt (p, q, v), one pass */
static void
gg_loglik(const ggdata *d, const double *th, double *ll_out, double *dll)
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
#define PNBD_MAX_PANELS 1000000L

static const double gl8_x[4] = {0.1834346424956498, 0.5255324099163290,
	0.7966664774136267, 0.9602898564975363};
static const double gl8_w[4] = {0.3626837833783620, 0.3137066458778873,
	0.2223810344533745, 0.1012285362903763};

/* the integral I and its weighted means of d phi / d theta */
typedef struct pnbd_int
{
	double		lnI;			/* ln I */
	double		m_lna;			/* E[ln(alpha+tau)] under the integrand */
	double		m_ia;			/* E[1/(alpha+tau)] */
	double		m_lnb;			/* E[ln(beta+tau)] */
	double		m_ib;			/* E[1/(beta+tau)] */
} pnbd_int;

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
static int
pnbd_integral(const double *p, double x, double tx, double T, pnbd_int *out)
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
	rc = pnbd_integral(p, x, tx, T, in);
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
static int
pnbd_loglik_rows(const btyd_row *rows, size_t n, const double *p, double *ll_out,
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

/* ------------------------------------------------------------------------
 * Objective on log-parameters
 * ------------------------------------------------------------------------
 */
typedef struct objctx
{
	int			np;				/* 4 or 3 */
	bgdata	   *bg;				/* one of bg/gg/pn */
	const ggdata *gg;
	const pnbddata *pn;
	double		pen;			/* penalizer lambda */
	double		pscale[NPMAX];	/* theta_j is penalised as theta_j/pscale_j */
	double		ll;				/* log-likelihood at the last evaluation */
	int			evals;
} objctx;

/*
 * f = -LL/W + pen * sum (theta/pscale)^2 and its gradient wrt log theta.
 * Returns 0 if the point is inside the domain and f, g are finite.
 */
static int
obj_eval(objctx *c, const double *lt, double *f, double *g)
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
		bg_loglik(c->bg, th, &ll, dll);
		W = c->bg->W;
	}
	else if (c->pn)
	{
		/* a quadrature at its panel cap: treat the point as out of domain */
		if (pnbd_loglik_rows(c->pn->rows, c->pn->n, th, &ll, dll) != BTYD_OK)
			return 1;
		W = c->pn->W;
	}
	else
	{
		gg_loglik(c->gg, th, &ll, dll);
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
	pt->finite = (obj_eval(c, pt->x, &pt->f, pt->g) == 0);
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
static int
bfgs(objctx *c, bfgs_state *st, double gtol, int max_iter,
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
	st->ok = (obj_eval(c, st->x, &st->f, st->g) == 0);
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
		rc = bfgs(work, &st, nstarts > 1 ? coarse : opt->gtol, opt->max_iter,
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
		rc = bfgs(work, &best, opt->gtol, opt->max_iter, opt->interrupt, opt->interrupt_ctx);
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
		rc = bfgs(full, &best, opt->gtol,
				  best.converged ? opt->max_iter : (opt->max_iter < 50 ? opt->max_iter : 50),
				  opt->interrupt, opt->interrupt_ctx);
		if (rc != BTYD_OK)
			return rc;
		path_iters += best.iters;
		if (!best.ok)
			return BTYD_EDATA;
	}

	/* final evaluation on all rows at the returned point */
	if (obj_eval(full, best.x, &f, g) != 0)
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
	return BTYD_OK;
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

/* kind: 0 Gamma-Gamma, 1 (M)BG/NBD, 2 Pareto/NBD */
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
	if ((c->bg ? c->bg->W : c->pn ? c->pn->W : c->gg->W) > 0.0 && obj_eval(c, lt, &f, g) == 0)
	{
		res->loglik = c->ll;
		res->objective = f;
		res->grad_norm = norm_inf(g, c->np);
	}
	res->converged = 0;
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

	rc = bg_prepare(&al, model, rows, n, &full);
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
		bg_free(&al, &full);
		return BTYD_EDATA;
	}

	if (full.n0 + full.n1 > o.subsample_rows)
	{
		size_t		stride = (full.n0 + full.n1) / o.subsample_rows + 1;

		rc = bg_subsample(&al, &full, stride, &sub);
		if (rc != BTYD_OK)
		{
			bg_free(&al, &full);
			return rc;
		}
		use_sub = (sub.W > 0.0 && sub.Wx > 0.0);
		if (!use_sub)
			bg_free(&al, &sub);
	}
	cs = cf;
	if (use_sub)
		cs.bg = &sub;

	rc = run_fit(&cf, &cs, (const double (*)[NPMAX]) starts, ns, &o, res);
	if (rc == BTYD_EDATA)
		degenerate_result(&cf, starts[0], res);
	if (use_sub)
		bg_free(&al, &sub);
	bg_free(&al, &full);
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

	rc = gg_prepare(&al, rows, n, &full);
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
		gg_free(&al, &full);
		return BTYD_EDATA;
	}
	if (full.n > o.subsample_rows)
	{
		size_t		stride = full.n / o.subsample_rows + 1;

		rc = gg_subsample(&al, &full, stride, &sub);
		if (rc != BTYD_OK)
		{
			gg_free(&al, &full);
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
		gg_free(&al, &sub);
	gg_free(&al, &full);
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
	rc = bg_prepare(&al, model, rows, n, &d);
	if (rc != BTYD_OK)
		return rc;
	bg_loglik(&d, params, ll, grad);
	bg_free(&al, &d);
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
	rc = gg_prepare(&al, rows, n, &d);
	if (rc != BTYD_OK)
		return rc;
	gg_loglik(&d, params, ll, grad);
	gg_free(&al, &d);
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

/* ------------------------------------------------------------------------
 * Pareto/NBD: public fit, likelihood and per-customer functions
 * ------------------------------------------------------------------------
 */

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
	rc = pnbd_loglik_rows(rows, n, params, ll, grad);
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
	double		pa,
				L;
	int			rc;

	if (out == NULL || !isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	rc = btyd_pnbd_p_alive(params, x, tx, T, &pa);
	if (rc != BTYD_OK)
		return rc;
	L = log1p(t / (params[3] + T));
	*out = pa * (params[0] + x) / (params[1] + T) * (params[3] + T) * L
		* expm1_over((1.0 - params[2]) * L);
	return BTYD_OK;
}

/* E[X(t)] for a new customer: r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] */
int
btyd_pnbd_expected_purchases_new(const double params[4], double t, double *out)
{
	double		L;

	if (out == NULL || !check_bg_params(params) || !isfinite(t) || t < 0.0)
		return BTYD_EINVAL;
	L = log1p(t / params[3]);
	*out = params[0] / params[1] * params[3] * L * expm1_over((1.0 - params[2]) * L);
	return BTYD_OK;
}

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
	rc = pnbd_integral(q, 0.0, 0.0, t, &in);
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
	rc = pnbd_integral(q, 0.0, 0.0, t, &in);
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
	scale = pa * (params[0] + x) / (params[1] + T) * (params[3] + T);
	for (i = 1; i <= horizon_months; i++)
	{
		double		L,
					cur;

		if (poll_now(i))
			return BTYD_EINTR;
		L = log1p(i * periods_per_month / (params[3] + T));
		cur = scale * L * expm1_over((1.0 - params[2]) * L);

		disc /= 1.0 + monthly_discount_rate;
		clv += value * (cur - prev) * disc;
		prev = cur;
	}
	*out = clv;
	return BTYD_OK;
}
