/*-------------------------------------------------------------------------
 *
 * btyd.h
 *	  Numerical core for "buy till you die" customer-base models:
 *	  BG/NBD, MBG/NBD (purchase/dropout) and Gamma-Gamma (spend), plus the
 *	  per-customer quantities built on them (P(alive), conditional expected
 *	  purchases, expected average value, CLV).
 *
 * This header and src/btyd_*.c (with their private header btyd_int.h) are
 * plain C99 with only libc/libm: no PostgreSQL headers, no exit()/abort(),
 * no global mutable state except the optional poll hook (btyd_set_poll),
 * set once by the host.  Every function is reentrant; errors are reported
 * through BTYD_* return codes.
 *
 * Conventions
 *	  - BG/NBD and MBG/NBD parameters are double[4] = {r, alpha, a, b};
 *	    Gamma-Gamma parameters are double[3] = {p, q, v} (v is the paper's
 *	    gamma).  All must be finite and > 0.
 *	  - x is the number of repeat purchases (a non-negative integer), tx the
 *	    time of the last repeat purchase (0 when x == 0), T the customer's
 *	    age, all measured from the first purchase in one time unit (weeks,
 *	    days, ...).  0 <= tx <= T.
 *	  - Per-customer functions return BTYD_OK and write *out, or an error
 *	    code and leave *out untouched.
 *
 * References
 *	  [FHL05a] Fader, Hardie & Lee (2005), "Counting your customers the easy
 *	           way: an alternative to the Pareto/NBD model", Marketing
 *	           Science 24(2), 275-284.
 *	  [BDF07]  Batislam, Denizel & Filiztekin (2007), "Empirical validation
 *	           and comparison of models for customer base analysis", IJRM
 *	           24(3), 201-209; with Wagner & Hoppe (2008), "Erratum on the
 *	           MBG/NBD model", IJRM 25(3), 225-226.
 *	  [FHL05b] Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value
 *	           curves for customer base analysis", JMR 42(4), 415-430; and
 *	           Fader & Hardie (2013), "The Gamma-Gamma model of monetary
 *	           value" (note 025).
 *
 * src/btyd.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTYD_H
#define BTYD_H

#include <stddef.h>

/* return codes */
#define BTYD_OK			0
#define BTYD_EINVAL		1		/* invalid argument or data value */
#define BTYD_ENOMEM		2		/* allocation failed */
#define BTYD_EDATA		3		/* empty/degenerate data: no finite MLE */
#define BTYD_ENOCONV	4		/* a series did not converge */
#define BTYD_EDOMAIN	5		/* quantity undefined for these parameters */
#define BTYD_EINTR		6		/* aborted by the interrupt callback or poll hook */

/*
 * Per-customer functions have no options argument; the host may instead set
 * one process-wide poll hook, called every BTYD_POLL_TERMS series terms and
 * once per batch of CLV months: a nonzero return aborts the call with
 * BTYD_EINTR.  The hook may also leave by longjmp (PostgreSQL's
 * CHECK_FOR_INTERRUPTS): the per-customer functions allocate nothing.
 * NULL (the default) never interrupts.  Set it once, before any use.
 */
#define BTYD_POLL_TERMS 65536
typedef int (*btyd_poll_fn) (void);
extern void btyd_set_poll(btyd_poll_fn fn);

/* the longest CLV horizon btyd_clv and btyd_pnbd_clv accept, in months
 * (BTYD_EINVAL beyond) */
#define BTYD_MAX_HORIZON_MONTHS 12000

typedef enum btyd_model
{
	BTYD_BGNBD = 0,				/* BG/NBD  [FHL05a] */
	BTYD_MBGNBD = 1				/* MBG/NBD [BDF07] */
} btyd_model;

/*
 * One distinct (x, tx, T) pattern and its multiplicity w >= 0 (rows with
 * w == 0 are ignored).  The log-likelihood is sum_i w_i * LL(x_i, tx_i, T_i).
 * Rows need not be distinct; grouping them (btyd_group_rows) only saves time.
 */
typedef struct btyd_row
{
	double		x;
	double		tx;
	double		T;
	double		w;
} btyd_row;

/*
 * One distinct (x, m) pattern for the Gamma-Gamma model: x > 0 repeat
 * transactions with mean value m > 0, multiplicity w.  Rows with x == 0 are
 * ignored by the fitter (they carry no spend information).
 */
typedef struct gg_row
{
	double		x;
	double		m;
	double		w;
} gg_row;

/*
 * Fit options.  Call btyd_fit_options_init() first, then override fields.
 * Passing NULL options to a fitter means "all defaults".
 *
 * The objective minimised over log-parameters is (as in lifetimes)
 *		-LL/W + penalizer * sum_j theta_j^2
 * with W the total weight.  For (M)BG/NBD the alpha entering the penalty is
 * alpha / max(T), because lifetimes fits on time rescaled to max(T) = 1;
 * this keeps the penalty independent of the time unit.  penalizer == 0 is
 * pure maximum likelihood.
 */
typedef struct btyd_fit_options
{
	double		penalizer;		/* lambda >= 0; default 0 */
	double		gtol;			/* stop when max|grad| <= gtol*max(1,|f|) on
								 * the mean objective in log-parameter space;
								 * default 1e-10 */
	int			max_iter;		/* BFGS iterations per run; default 500 */
	int			n_starts;		/* deterministic starting points, 1..8;
								 * default 4 */
	int			use_init;		/* nonzero: init[] is the first start */
	double		init[4];		/* natural-scale initial parameters */
	size_t		subsample_rows; /* more rows than this: run the multi-start
								 * stage on a systematic subsample of about
								 * this many rows, then polish on all rows;
								 * 0 = default (20000) */
	/*
	 * Optional allocator (default malloc/free); ctx is passed through.  With
	 * alloc set and dealloc NULL nothing is freed by btyd, which suits arena
	 * allocators (e.g. palloc in a short-lived memory context).  All memory
	 * is released before a fitter returns.
	 */
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*dealloc) (void *ctx, void *ptr);
	void	   *alloc_ctx;
	/* optional: polled once per iteration; nonzero aborts with BTYD_EINTR */
	int			(*interrupt) (void *ctx);
	void	   *interrupt_ctx;
} btyd_fit_options;

typedef struct btyd_fit_result
{
	int			nparams;		/* 4 for (M)BG/NBD, 3 for Gamma-Gamma */
	double		params[4];		/* {r, alpha, a, b} or {p, q, v, 0} */
	double		loglik;			/* sum_i w_i LL_i at params (no penalty) */
	double		objective;		/* -loglik/W + penalty */
	double		grad_norm;		/* max |d objective / d log theta| */
	double		total_weight;	/* W */
	size_t		rows_used;		/* rows with w > 0 that entered the fit */
	int			iterations;		/* BFGS iterations along the winning path */
	int			evaluations;	/* objective+gradient evaluations, all runs */
	int			converged;		/* 1 if the gradient test was met, or the
								 * Newton step left is under 1e-3 of a
								 * standard error (btyd_fit.c) */
	/*
	 * Covariance of params (natural scale, nparams x nparams, row-major in
	 * cov[i * nparams + j]) from the observed information, the Hessian of
	 * the objective times W at the returned point (btyd_cov.c); valid only
	 * when cov_status == BTYD_COV_OK, zeros otherwise.  With a penalizer it
	 * is the curvature of the penalised objective.
	 */
	int			cov_status;		/* BTYD_COV_* */
	double		cov[16];
} btyd_fit_result;

/* cov_status of a fit (btyd_cov_strerror gives a sentence for each) */
#define BTYD_COV_OK				0
#define BTYD_COV_NOT_CONVERGED	1	/* no maximum found: no curvature to use */
#define BTYD_COV_BOUNDARY		2	/* a parameter runs to 0 or infinity: the
									 * likelihood is flat, the normal
									 * approximation meaningless */
#define BTYD_COV_SINGULAR		3	/* the information matrix is not positive
									 * definite (parameters not identified) */
extern const char *btyd_cov_strerror(int cov_status);

extern void btyd_fit_options_init(btyd_fit_options *opt);
extern const char *btyd_strerror(int code);

/*
 * Fitters.  Return BTYD_OK with res filled (check res->converged), or
 * BTYD_EDATA for degenerate data when penalizer == 0 (no rows, zero total
 * weight, or nobody with a repeat purchase): then res holds the first
 * starting point, its log-likelihood and converged = 0.  BTYD_EINVAL for
 * invalid rows (negative/non-finite values, non-integer x, tx > T, tx != 0
 * with x == 0, m <= 0 with x > 0), BTYD_ENOMEM, BTYD_EINTR.
 */
extern int	btyd_fit_bgnbd(const btyd_row *rows, size_t n,
						   const btyd_fit_options *opt, btyd_fit_result *res);
extern int	btyd_fit_mbgnbd(const btyd_row *rows, size_t n,
							const btyd_fit_options *opt, btyd_fit_result *res);
extern int	btyd_fit(btyd_model model, const btyd_row *rows, size_t n,
					 const btyd_fit_options *opt, btyd_fit_result *res);
extern int	btyd_fit_gg(const gg_row *rows, size_t n,
						const btyd_fit_options *opt, btyd_fit_result *res);

/*
 * Log-likelihood sum_i w_i LL_i at natural parameters, and optionally its
 * gradient with respect to the natural parameters (grad may be NULL).
 */
extern int	btyd_loglik(btyd_model model, const double params[4],
						const btyd_row *rows, size_t n,
						double *ll, double grad[4]);
extern int	btyd_gg_loglik(const double params[3], const gg_row *rows,
						   size_t n, double *ll, double grad[3]);

/*
 * Sort rows and merge identical (x, tx, T) / (x, m) patterns, summing w.
 * Returns the new number of rows (rows[0..ret-1]).
 */
extern size_t btyd_group_rows(btyd_row *rows, size_t n);
extern size_t btyd_gg_group_rows(gg_row *rows, size_t n);

/* Per-customer quantities ------------------------------------------------ */

/* P(customer still alive at T | x, tx, T) */
extern int	btyd_p_alive(btyd_model model, const double params[4],
						 double x, double tx, double T, double *out);
/*
 * E[number of purchases in (T, T+t] | x, tx, T].  Cost grows with
 * t/(alpha+T) only when |a - 1| < 0.01 or r + x - a is within 0.01 of an
 * integer (then a convergent series of about 40 t/(alpha+T) terms is
 * summed); beyond t/(alpha+T) of about 5e5 in that case BTYD_ENOCONV is
 * returned rather than an inaccurate value.
 */
extern int	btyd_expected_purchases(btyd_model model, const double params[4],
									double t, double x, double tx, double T,
									double *out);
/* E[X(t)]: expected repeat purchases in (0, t] for a newly acquired customer */
extern int	btyd_expected_purchases_new(btyd_model model,
										const double params[4], double t,
										double *out);

/* model-specific spellings of the above */
extern int	btyd_bgnbd_p_alive(const double params[4], double x, double tx,
							   double T, double *out);
extern int	btyd_mbgnbd_p_alive(const double params[4], double x, double tx,
								double T, double *out);
extern int	btyd_bgnbd_expected_purchases(const double params[4], double t,
										  double x, double tx, double T,
										  double *out);
extern int	btyd_mbgnbd_expected_purchases(const double params[4], double t,
										   double x, double tx, double T,
										   double *out);
extern int	btyd_bgnbd_expected_purchases_new(const double params[4],
											  double t, double *out);
extern int	btyd_mbgnbd_expected_purchases_new(const double params[4],
											   double t, double *out);

/*
 * Gamma-Gamma conditional expected average transaction value
 *		E[Z | x, m] = p (v + x m) / (p x + q - 1)
 * (for x == 0 this is the population mean p v / (q - 1); m is then ignored).
 * BTYD_EDOMAIN if p x + q - 1 <= 0.
 */
extern int	btyd_gg_expected_avg_value(const double params[3], double x,
									   double m, double *out);

/*
 * Customer lifetime value, computed the way lifetimes'
 * GammaGammaFitter.customer_lifetime_value does it:
 *		value = btyd_gg_expected_avg_value(gg, x, m)
 *		CLV = sum_{i=1..H} value * (E(i f) - E((i-1) f)) / (1 + d)^i
 * with E(s) = btyd_expected_purchases(model, bg, s, x, tx, T), H =
 * horizon_months (0..BTYD_MAX_HORIZON_MONTHS), d = monthly_discount_rate (> -1) and f =
 * periods_per_month, the number of model time units in a month.  clm
 * passes f = (365.25 / 12) / days_per_unit (30.4375 for days, 4.3482 for
 * weeks); lifetimes uses f = 30 for days, 4.345 for weeks, 1 for months,
 * 720 for hours.
 */
extern int	btyd_clv(btyd_model model, const double bg[4], const double gg[3],
					 double x, double tx, double T, double m,
					 int horizon_months, double monthly_discount_rate,
					 double periods_per_month, double *out);

/*
 * The sum over the months is value * P(alive) * S, where S = sum_i (N(i f)
 * - N((i-1) f)) / (1 + d)^i, N(s) the expected purchases of a customer
 * alive, depends on x and T alone (not on tx or m).  A caller that scores
 * many customers with the same models, horizon, discount and unit can keep
 * S per (x, T): lookup returns 1 and sets *S when it has it; store is
 * called with every S computed.  btyd_clv is btyd_clv_memo_eval without a
 * memo; the two give the same bits.
 */
typedef struct btyd_clv_memo
{
	int			(*lookup) (void *arg, double x, double T, double *S);
	void		(*store) (void *arg, double x, double T, double S);
	void	   *arg;
} btyd_clv_memo;

extern int	btyd_clv_memo_eval(btyd_model model, const double bg[4], const double gg[3],
							   double x, double tx, double T, double m,
							   int horizon_months, double monthly_discount_rate,
							   double periods_per_month, const btyd_clv_memo *memo,
							   double *out);

/*
 * Pareto/NBD (Schmittlein, Morrison & Colombo 1987), parameters double[4]
 * = {r, alpha, s, beta}: purchase rate ~ Gamma(r, alpha), dropout rate ~
 * Gamma(s, beta).  The likelihood's integral over the dropout time is
 * computed by bounded Gauss-Legendre quadrature (no hypergeometric
 * difference, see btyd_pnbd.c); BTYD_ENOCONV if it hits its panel cap.
 */
extern int	btyd_fit_pnbd(const btyd_row *rows, size_t n,
						  const btyd_fit_options *opt, btyd_fit_result *res);
extern int	btyd_pnbd_loglik(const double params[4], const btyd_row *rows,
							 size_t n, double *ll, double grad[4]);
extern int	btyd_pnbd_p_alive(const double params[4], double x, double tx,
							  double T, double *out);
extern int	btyd_pnbd_expected_purchases(const double params[4], double t,
										 double x, double tx, double T,
										 double *out);
extern int	btyd_pnbd_expected_purchases_new(const double params[4], double t,
											 double *out);

/*
 * Next purchase ((M)BG/NBD; Pareto/NBD for the "within" probability):
 * P(exactly n purchases in (T, T+t]) (n <= 1e6), P(at least one), and the
 * median time from T to the next purchase of an alive customer.  See
 * btyd_next.c for the formulas.
 */
extern int	btyd_prob_n_purchases(btyd_model model, const double params[4],
								  double n, double t, double x, double tx,
								  double T, double *out);
extern int	btyd_prob_purchase_within(btyd_model model, const double params[4],
									  double t, double x, double tx, double T,
									  double *out);
extern int	btyd_next_purchase_median(btyd_model model, const double params[4],
									  double x, double tx, double T, double *out);
extern int	btyd_pnbd_prob_purchase_within(const double params[4], double t,
										   double x, double tx, double T,
										   double *out);
extern int	btyd_pnbd_prob_n_purchases(const double params[4], double n,
									   double t, double x, double tx, double T,
									   double *out);
extern int	btyd_pnbd_clv(const double params[4], const double gg[3], double x,
						  double tx, double T, double m, int horizon_months,
						  double monthly_discount_rate, double periods_per_month,
						  double *out);
/* +infinity when fewer than half of such alive customers ever buy again */
extern int	btyd_pnbd_next_purchase_median(const double params[4], double x,
										   double tx, double T, double *out);

/*
 * BG/BB (Fader, Hardie & Shang 2010) for discrete-time data, parameters
 * double[4] = {alpha, beta, gamma, delta}: transaction probability p ~
 * Beta(alpha, beta), dropout probability theta ~ Beta(gamma, delta).  A
 * btyd_row holds x transactions in T = n opportunities, the last at tx
 * (integers 0 <= x <= tx <= n <= BTYD_BGBB_MAX_PERIODS, tx = 0 iff x = 0).
 * btyd_bgbb_expected_purchases counts the next t opportunities (a whole
 * number); btyd_bgbb_dert is the discounted expected residual transactions
 * at discount rate d > 0 per period.
 */
#define BTYD_BGBB_MAX_PERIODS 100000
extern int	btyd_bgbb_check_history(double x, double tx, double n);
extern int	btyd_fit_bgbb(const btyd_row *rows, size_t n,
						  const btyd_fit_options *opt, btyd_fit_result *res);
extern int	btyd_bgbb_loglik(const double params[4], const btyd_row *rows,
							 size_t n, double *ll, double grad[4]);
extern int	btyd_bgbb_p_alive(const double params[4], double x, double tx,
							  double n, double *out);
extern int	btyd_bgbb_expected_purchases(const double params[4], double t,
										 double x, double tx, double n,
										 double *out);
extern int	btyd_bgbb_dert(const double params[4], double d, double x,
						   double tx, double n, double *out);

/* Special functions ------------------------------------------------------ */

/*
 * Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and
 * z < 1 (z == 1 when c - a - b > 0).  BTYD_EDOMAIN when undefined (c a
 * non-positive integer, z > 1), BTYD_ENOCONV if the series did not converge.
 */
extern int	btyd_hyp2f1(double a, double b, double c, double z, double *out);
/* digamma psi(x) = d/dx ln Gamma(x); NaN at poles */
extern double btyd_digamma(double x);

#endif							/* BTYD_H */
