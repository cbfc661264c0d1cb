/*-------------------------------------------------------------------------
 *
 * btyd_special.c
 *	  Special functions of the btyd core: the poll hook, ln|Gamma| with its
 *	  sign, digamma, the Gauss hypergeometric function 2F1 and the stable core
 *	  of the conditional expected purchases shared by (M)BG/NBD.
 *
 * Plain C99 + libm, no PostgreSQL headers (btyd_int.h).
 *
 * src/btyd_special.c
 *
 *-------------------------------------------------------------------------
 */
#include "btyd_int.h"

/* the host's poll hook (btyd_set_poll); NULL: never interrupted */
btyd_poll_fn btyd_poll_hook = NULL;

void
btyd_set_poll(btyd_poll_fn fn)
{
	btyd_poll_hook = fn;
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

/*
 * Trigamma psi'(x) = d2/dx2 ln Gamma(x) for x > 0: upward recurrence
 * psi'(x) = psi'(x+1) + 1/x^2 to x >= 10, then the asymptotic series
 * (A&S 6.4.12) 1/x + 1/(2x^2) + sum B_2k / x^(2k+1) through x^-15
 * (truncation < 1e-17 relative).  NaN for x <= 0 (not needed there).
 */
double
btyd_trigamma(double x)
{
	double		acc = 0.0,
				x2,
				s;

	if (!(x > 0.0))
		return NAN;
	while (x < 10.0)
	{
		acc += 1.0 / (x * x);
		x += 1.0;
	}
	x2 = 1.0 / (x * x);
	s = x2 * (1.0 / 6 - x2 * (1.0 / 30 - x2 * (1.0 / 42 - x2 * (1.0 / 30
			- x2 * (5.0 / 66 - x2 * (691.0 / 2730 - x2 * (7.0 / 6)))))));
	return acc + 1.0 / x + 0.5 * x2 + s / x;
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
int
btyd_ep_core(double A, double B, double a, double k, double *out)
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
 * btyd_ep_core_multi: btyd_ep_core at several k for one customer (CLV needs the
 * expectation at the end of every month of the horizon).  Where btyd_ep_core
 * would sum the series S, the coefficients of S depend only on the
 * customer, so they are computed once and the series is summed at every z
 * in the same pass: one division per term instead of one per term and z.
 * Other k (z > 0.9 with the connection formula) go through btyd_ep_core.
 */

/*
 * The series of btyd_ep_core_multi at every z: series[i] is 1 while z[i] is
 * being summed and becomes 2 once its tail is negligible; sum[i] (+
 * comp[i]) holds S.  Once past the parameters (n >= nmin) the term ratios
 * are monotone towards z, so the tail is below |term| rho / (1 - rho).
 */
/*
 * The active z of ep_sum_positive, packed: lane j holds series idx[j].
 * Lanes are handled in pairs, as two-double vectors (GCC and Clang vector
 * extensions: SSE2 on x86-64, NEON on ARM, plain code elsewhere); lanes past
 * the active ones have z = pw = 0 and add nothing.  Each lane does exactly
 * the arithmetic of the scalar loop (term = u pw, sum += term, pw *= z),
 * so the sums are the same to the bit.
 */
#define EP_LANES 2
typedef double ep_vec __attribute__((vector_size(EP_LANES * sizeof(double))));
#define EP_VECS ((EP_MULTI_MAX + EP_LANES - 1) / EP_LANES)
typedef union EpLane
{
	ep_vec		v[EP_VECS];
	double		d[EP_VECS * EP_LANES];
} EpLane;
typedef struct EpLanes
{
	EpLane		z,
				pw,
				sum,
				last;
	int			idx[EP_MULTI_MAX];
	int			na;				/* active lanes */
} EpLanes;

/* ep_lanes_step: add u z^n to every lane's sum (and keep it in last) */
static inline void
ep_lanes_step(EpLanes *L, int nvec, double u, int keep_last)
{
	ep_vec		uu = {u, u};
	int			j;

	for (j = 0; j < nvec; j++)
	{
		ep_vec		term = uu * L->pw.v[j];

		L->sum.v[j] += term;
		if (keep_last)
			L->last.v[j] = term;
		L->pw.v[j] *= L->z.v[j];
	}
}

/* ep_lanes_drop: lane j's series is done: its sum out, the last lane in */
static void
ep_lanes_drop(EpLanes *L, int j, double *sum, int *series)
{
	int			k = --L->na;

	sum[L->idx[j]] = L->sum.d[j];
	series[L->idx[j]] = 2;
	L->idx[j] = L->idx[k];
	L->z.d[j] = L->z.d[k];
	L->pw.d[j] = L->pw.d[k];
	L->sum.d[j] = L->sum.d[k];
	L->last.d[j] = L->last.d[k];
	L->z.d[k] = L->pw.d[k] = L->sum.d[k] = L->last.d[k] = 0.0;
}

static int
ep_sum_positive(double d, double eps, double c, double nmin, const double *z,
				double *pw, double *sum, int *series, int nk, int active)
{
	EpLanes		L;
	double		u = d,
				r = 1.0;
	int			i,
				j,
				b;
	long		n = 1;

	memset(&L, 0, sizeof(L));
	for (i = 0; i < nk; i++)
		if (series[i] == 1)
		{
			L.idx[L.na] = i;
			L.z.d[L.na] = z[i];
			L.pw.d[L.na] = pw[i];
			L.sum.d[L.na] = sum[i];
			L.na++;
		}
	(void) active;
	/*
	 * Blocks of 8 terms over the still-active z, then the tail test on the
	 * last term of the block: the tight inner loop has no branch, and a
	 * series may run up to 7 terms past its stopping point (adding terms
	 * below its rounding).
	 */
	while (L.na > 0)
	{
		int			nvec = (L.na + EP_LANES - 1) / EP_LANES;

		if (n > SERIES_CAP)
			return BTYD_ENOCONV;
		/* n moves by 8: poll once per BTYD_POLL_TERMS terms */
		if (n >= 8 && n % BTYD_POLL_TERMS < 8 && btyd_poll_hook != NULL && btyd_poll_hook())
			return BTYD_EINTR;
		for (b = 0; b < 8; b++, n++)
		{
			r = (d + n) * (eps + n) / ((c + n) * (n + 1.0));
			ep_lanes_step(&L, nvec, u, b == 7);
			u *= r;
		}
		/* r is the ratio from the block's last term to the next one */
		for (j = 0; j < L.na;)
		{
			double		zi = L.z.d[j],
						rho = (r > 1.0 ? r : 1.0) * zi,
						t = L.last.d[j];

			if (!isfinite(L.sum.d[j]))
				return BTYD_ENOCONV;
			if (t == 0.0 ||
				((double) n > nmin && rho < 1.0 &&
				 t * rho <= 0.25 * DBL_EPSILON * (1.0 - rho) * L.sum.d[j]))
				ep_lanes_drop(&L, j, sum, series);
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

int
btyd_ep_core_multi(double A, double B, double a, const double *k, int nk, double *out)
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
			rc = btyd_ep_core(A, B, a, k[i], &out[i]);
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
