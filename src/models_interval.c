/*-------------------------------------------------------------------------
 *
 * models_interval.c
 *		Intervals of per-customer quantities (P(alive), expected purchases,
 *		next-purchase probability, CLV, BG/BB DERT) from the parameter
 *		uncertainty of a fit, by the delta method, and the aggregates that
 *		give the interval of a total over customers.
 *
 * The delta method: for a quantity g(theta) of the parameters, with theta
 * approximately normal with covariance S (the fit's covariance field),
 * Var g ~= grad' S grad.  clm differentiates numerically in the
 * parameters' log space (the space the fits optimise in, where a relative
 * step suits parameters of any size): with u = ln theta,
 *		dg/du_j ~= (g(theta_j e^h) - g(theta_j e^-h)) / 2h,   h = 1e-5
 * and the covariance of u is S_ij / (theta_i theta_j).  Multiplying a
 * parameter by a constant (a change of time unit) leaves both unchanged.
 * A CLV uses the purchase model's and the Gamma-Gamma model's parameters,
 * taken as independent (two fits of different likelihoods): a block
 * diagonal covariance of seven parameters.
 *
 * A total over customers shares the parameters, so its variance is not
 * the sum of the customers' variances: the aggregates sum the estimates
 * and the log-space gradients over the rows, and the final function forms
 * G' S_u G once.  Their state is a float8[] of fixed size (sums, the
 * parameters and the log-space covariance of the model), so parallel
 * query combines it without serialization.
 *
 * The interval is formed on a scale where the quantity's range is the
 * whole line: logit for probabilities, log for the positive quantities,
 * then mapped back, so it stays in range; std_error is the delta-method
 * standard error of the quantity itself.
 *
 * src/models_interval.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "funcapi.h"

/* the quantities */
typedef enum ClmQuantityKind
{
	Q_P_ALIVE,
	Q_EXPECTED,
	Q_WITHIN,
	Q_CLV,
	Q_DERT						/* BG/BB discounted expected transactions */
} ClmQuantityKind;

/* model codes besides btyd_model's and CLM_PNBD */
#define CLM_BGBB ((btyd_model) 101)

#define DELTA_H 1e-5
#define MAXPAR 7

typedef struct ClmQuantity
{
	ClmQuantityKind kind;
	btyd_model	model;
	double		t,
				x,
				tx,
				T,
				m,
				d,
				ppm;			/* CLV: model units per month */
	int			horizon;
} ClmQuantity;

/* the number of parameters a quantity depends on */
static int
quantity_npar(const ClmQuantity *q)
{
	return q->kind == Q_CLV ? 7 : 4;
}

/* g(theta): the quantity at parameters theta (4, or 4 + 3 for a CLV) */
static int
quantity_eval(const ClmQuantity *q, const double *th, double *out)
{
	switch (q->kind)
	{
		case Q_P_ALIVE:
			if (q->model == CLM_PNBD)
				return btyd_pnbd_p_alive(th, q->x, q->tx, q->T, out);
			if (q->model == CLM_BGBB)
				return btyd_bgbb_p_alive(th, q->x, q->tx, q->T, out);
			return btyd_p_alive(q->model, th, q->x, q->tx, q->T, out);
		case Q_EXPECTED:
			if (q->model == CLM_PNBD)
				return btyd_pnbd_expected_purchases(th, q->t, q->x, q->tx, q->T, out);
			if (q->model == CLM_BGBB)
				return btyd_bgbb_expected_purchases(th, q->t, q->x, q->tx, q->T, out);
			return btyd_expected_purchases(q->model, th, q->t, q->x, q->tx, q->T, out);
		case Q_WITHIN:
			if (q->model == CLM_PNBD)
				return btyd_pnbd_prob_purchase_within(th, q->t, q->x, q->tx, q->T, out);
			return btyd_prob_purchase_within(q->model, th, q->t, q->x, q->tx, q->T, out);
		case Q_DERT:
			return btyd_bgbb_dert(th, q->d, q->x, q->tx, q->T, out);
		case Q_CLV:
			if (q->model == CLM_PNBD)
				return btyd_pnbd_clv(th, th + 4, q->x, q->tx, q->T, q->m, q->horizon,
									 q->d, q->ppm, out);
			return btyd_clv(q->model, th, th + 4, q->x, q->tx, q->T, q->m, q->horizon,
							q->d, q->ppm, out);
	}
	return BTYD_EINVAL;
}

/*
 * quantity_grad: the estimate g(theta) and its gradient in log space,
 * central differences with step DELTA_H in each ln theta_j.
 */
static void
quantity_grad(const ClmQuantity *q, const double *theta, double *est, double *grad)
{
	int			np = quantity_npar(q),
				j;
	double		th[MAXPAR],
				fp,
				fm;
	const char *what = q->kind == Q_P_ALIVE ? "p_alive" :
		q->kind == Q_EXPECTED ? "expected_purchases" :
		q->kind == Q_WITHIN ? "prob_purchase_within" :
		q->kind == Q_DERT ? "discounted_expected_transactions" : "clv_estimate";

	clm_check_rc(quantity_eval(q, theta, est), what);
	clm_check_result(*est, what);
	memcpy(th, theta, np * sizeof(double));
	for (j = 0; j < np; j++)
	{
		th[j] = theta[j] * exp(DELTA_H);
		clm_check_rc(quantity_eval(q, th, &fp), what);
		th[j] = theta[j] * exp(-DELTA_H);
		clm_check_rc(quantity_eval(q, th, &fm), what);
		th[j] = theta[j];
		grad[j] = (fp - fm) / (2 * DELTA_H);
		if (!isfinite(grad[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s: the sensitivity to the parameters is out of range", what),
					 errdetail("The derivative in parameter %d is %g.", j + 1, grad[j])));
	}
}

/*
 * log_cov: the covariance of ln theta from a model's covariance field
 * (attno) into cov_u (n x n, at offset off of an np x np matrix); false
 * when the model has none.
 */
static bool
log_cov(HeapTupleHeader model, int attno, int n, const double *theta,
		double *cov_u, int np, int off, const char *argname)
{
	double		c[16];
	int			i,
				j;

	if (!clm_covariance_get(model, attno, n, c, argname))
		return false;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			cov_u[(off + i) * np + off + j] = c[i * n + j] / (theta[i] * theta[j]);
	return true;
}

/* the variance G' C G of an np x np covariance */
static double
quad_form(const double *g, const double *c, int np)
{
	double		v = 0;
	int			i,
				j;

	for (i = 0; i < np; i++)
		for (j = 0; j < np; j++)
			v += g[i] * c[i * np + j] * g[j];
	return v > 0 ? v : 0;
}

/*
 * interval_result: the clm.interval_estimate (estimate, std_error, lower,
 * upper) of an estimate with variance var (var < 0: none, NULL fields);
 * probability: the interval of logit(estimate), else of ln(estimate).
 */
static Datum
interval_result(FunctionCallInfo fcinfo, double est, double var, double z, bool probability)
{
	TupleDesc	tupdesc = clm_result_tupdesc(fcinfo);
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	double		se,
				lo,
				hi;

	/* the range the point functions clamp to (clm_probability, clm_nonnegative) */
	est = est < 0 ? 0 : (probability && est > 1 ? 1 : est);
	values[0] = Float8GetDatum(est);
	if (var < 0)
		nulls[1] = nulls[2] = nulls[3] = true;
	else
	{
		se = sqrt(var);
		if (probability && est > 0 && est < 1)
		{
			double		l = log(est / (1 - est)),
						s = se / (est * (1 - est));

			lo = 1 / (1 + exp(-(l - z * s)));
			hi = 1 / (1 + exp(-(l + z * s)));
		}
		else if (!probability && est > 0)
		{
			lo = est * exp(-z * se / est);
			hi = est * exp(z * se / est);
		}
		else
			lo = hi = est;		/* at the edge of the range: no spread */
		/* never exclude the estimate through rounding */
		lo = Min(lo, est);
		hi = Max(hi, est);
		values[1] = Float8GetDatum(se);
		values[2] = Float8GetDatum(lo);
		values[3] = Float8GetDatum(hi);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* covariance attribute numbers of the model composites */
static int
cov_attno(btyd_model model)
{
	return model == CLM_BGBB ? 9 : 10;
}
#define GG_COV_ATTNO 9

/* a BG/BB history: whole numbers 0 <= x <= tx <= n (as models_bgbb.c) */
static void
check_history(btyd_model model, float8 x, float8 tx, float8 T)
{
	if (model != CLM_BGBB)
	{
		fit_check_row(x, tx, T, true);
		return;
	}
	clm_check_finite("frequency", x);
	clm_check_finite("recency", tx);
	clm_check_finite("periods", T);
	if (!btyd_bgbb_check_history(x, tx, T))
		clm_invalid_arg(errmsg("frequency, recency and periods must be whole numbers with 0 <= frequency <= recency <= periods <= %d, recency = 0 exactly when frequency = 0",
							   BTYD_BGBB_MAX_PERIODS),
						errdetail("Frequency is %g, recency %g, periods %g.", x, tx, T));
}

static void
check_t(btyd_model model, float8 t)
{
	clm_check_horizon(t);
	if (model == CLM_BGBB && (t != floor(t) || t > BTYD_BGBB_MAX_PERIODS))
		clm_invalid_arg(errmsg("t must be a whole number of periods up to %d", BTYD_BGBB_MAX_PERIODS),
						errdetail("The value is %g.", t));
}

static void
check_clv_args(float8 x, float8 m, int32 horizon, float8 d)
{
	clm_check_finite("monetary", m);
	if (x > 0 && !(m > 0))
		clm_invalid_arg(errmsg("monetary must be greater than 0 for a customer with repeat purchases"),
						errdetail("Frequency is %g, monetary is %g.", x, m));
	if (horizon < 0 || horizon > BTYD_MAX_HORIZON_MONTHS)
		clm_invalid_arg(errmsg("horizon_months must be between 0 and %d",
							   BTYD_MAX_HORIZON_MONTHS),
						errdetail("The value is %d.", horizon));
	clm_check_finite("discount_rate", d);
	if (d < 0)
		clm_invalid_arg(errmsg("discount_rate must not be negative"),
						errdetail("The value is %g.", d),
						errhint("It is the monthly discount rate, e.g. 0.01."));
}

/*
 * quantity_setup: the quantity of a call (arguments after the model(s)
 * from argument first on, as in the point functions), its parameters theta
 * and the log-space covariance cov_u; returns false when a model has no
 * covariance.  For a CLV, the unit conversion of clv_estimate.
 */
static bool
quantity_setup(FunctionCallInfo fcinfo, ClmQuantityKind kind, btyd_model model,
			   int first, ClmQuantity *q, double *theta, double *cov_u)
{
	HeapTupleHeader mh = PG_GETARG_HEAPTUPLEHEADER(first);
	int			a = first + 1;
	bool		has_cov;

	memset(q, 0, sizeof(*q));
	q->kind = kind;
	q->model = model;
	clm_model_params(mh, 4, theta, "model");
	memset(cov_u, 0, MAXPAR * MAXPAR * sizeof(double));

	if (kind == Q_CLV)
	{
		HeapTupleHeader gh = PG_GETARG_HEAPTUPLEHEADER(first + 1);
		double		mdays,
					udays;

		clm_model_params(gh, 3, theta + 4, "gg_model");
		q->x = PG_GETARG_FLOAT8(first + 2);
		q->tx = PG_GETARG_FLOAT8(first + 3);
		q->T = PG_GETARG_FLOAT8(first + 4);
		q->m = PG_GETARG_FLOAT8(first + 5);
		q->horizon = PG_GETARG_INT32(first + 6);
		q->d = PG_GETARG_FLOAT8(first + 7);
		fit_check_row(q->x, q->tx, q->T, true);
		check_clv_args(q->x, q->m, q->horizon, q->d);
		has_cov = log_cov(mh, cov_attno(model), 4, theta, cov_u, 7, 0, "model");
		has_cov = log_cov(gh, GG_COV_ATTNO, 3, theta + 4, cov_u, 7, 4, "gg_model") && has_cov;
		/* time unit, as clv_estimate: alpha (and beta) scale with it */
		mdays = clm_model_unit_days(mh);
		if (first == 0 && PG_NARGS() > 8 && !PG_ARGISNULL(8))
			udays = clm_cached_unit_days(fcinfo, PG_GETARG_TEXT_PP(8));
		else
			udays = mdays > 0 ? mdays : 7.0;
		if (mdays > 0 && mdays != udays)
		{
			theta[1] *= mdays / udays;
			if (model == CLM_PNBD)
				theta[3] *= mdays / udays;
		}
		q->ppm = CLM_DAYS_PER_MONTH / udays;
		return has_cov;
	}
	if (kind == Q_EXPECTED || kind == Q_WITHIN)
	{
		q->t = PG_GETARG_FLOAT8(a);
		check_t(model, q->t);
		a++;
	}
	q->x = PG_GETARG_FLOAT8(a);
	q->tx = PG_GETARG_FLOAT8(a + 1);
	q->T = PG_GETARG_FLOAT8(a + 2);
	check_history(model, q->x, q->tx, q->T);
	if (kind == Q_DERT)
	{
		q->d = PG_GETARG_FLOAT8(a + 3);
		clm_check_finite("discount_rate", q->d);
		if (!(q->d > 0))
			clm_invalid_arg(errmsg("discount_rate must be greater than 0"),
							errdetail("The value is %g.", q->d),
							errhint("It is the discount rate per period, e.g. 0.1 for yearly donations."));
	}
	return log_cov(mh, cov_attno(model), 4, theta, cov_u, 4, 0, "model");
}

/* a per-customer interval: the arguments of the point function, then level */
static Datum
interval_of(FunctionCallInfo fcinfo, ClmQuantityKind kind, btyd_model model)
{
	ClmQuantity q;
	double		theta[MAXPAR],
				cov_u[MAXPAR * MAXPAR],
				grad[MAXPAR],
				est,
				z;
	int			levelarg = PG_NARGS() - 1,
				i;
	bool		has_cov;

	for (i = 0; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i) && !(kind == Q_CLV && i == 8))
			PG_RETURN_NULL();
	POLL_ON();
	z = clm_level_z(PG_GETARG_FLOAT8(levelarg));
	has_cov = quantity_setup(fcinfo, kind, model, 0, &q, theta, cov_u);
	if (!has_cov)
	{
		clm_check_rc(quantity_eval(&q, theta, &est), "interval");
		return interval_result(fcinfo, est, -1, z, kind == Q_P_ALIVE || kind == Q_WITHIN);
	}
	quantity_grad(&q, theta, &est, grad);
	return interval_result(fcinfo, est, quad_form(grad, cov_u, quantity_npar(&q)), z,
						   kind == Q_P_ALIVE || kind == Q_WITHIN);
}

#define INTERVAL_FN(name, kind, model) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	return interval_of(fcinfo, kind, model); \
}

INTERVAL_FN(clm_bgnbd_p_alive_interval, Q_P_ALIVE, BTYD_BGNBD)
INTERVAL_FN(clm_mbgnbd_p_alive_interval, Q_P_ALIVE, BTYD_MBGNBD)
INTERVAL_FN(clm_pnbd_p_alive_interval, Q_P_ALIVE, CLM_PNBD)
INTERVAL_FN(clm_bgbb_p_alive_interval, Q_P_ALIVE, CLM_BGBB)
INTERVAL_FN(clm_bgnbd_expected_purchases_interval, Q_EXPECTED, BTYD_BGNBD)
INTERVAL_FN(clm_mbgnbd_expected_purchases_interval, Q_EXPECTED, BTYD_MBGNBD)
INTERVAL_FN(clm_pnbd_expected_purchases_interval, Q_EXPECTED, CLM_PNBD)
INTERVAL_FN(clm_bgbb_expected_purchases_interval, Q_EXPECTED, CLM_BGBB)
INTERVAL_FN(clm_bgnbd_prob_purchase_within_interval, Q_WITHIN, BTYD_BGNBD)
INTERVAL_FN(clm_mbgnbd_prob_purchase_within_interval, Q_WITHIN, BTYD_MBGNBD)
INTERVAL_FN(clm_pnbd_prob_purchase_within_interval, Q_WITHIN, CLM_PNBD)
INTERVAL_FN(clm_bgnbd_clv_interval, Q_CLV, BTYD_BGNBD)
INTERVAL_FN(clm_mbgnbd_clv_interval, Q_CLV, BTYD_MBGNBD)
INTERVAL_FN(clm_pnbd_clv_interval, Q_CLV, CLM_PNBD)
INTERVAL_FN(clm_bgbb_dert_interval, Q_DERT, CLM_BGBB)


/* ---------- totals over customers ---------- */

/*
 * The state of the total aggregates, a float8[] of TOTAL_LEN:
 *	[0] TOTAL_TAG, [1] the number of parameters np (4 or 7), [2] the level,
 *	[3] 1 if the model(s) have a covariance, [4] the rows summed,
 *	[5] sum of the estimates, [6..12] sum of the log-space gradients,
 *	[13..19] the parameters (to check every row uses the same model),
 *	[20..68] the log-space covariance (np x np).
 */
#define TOTAL_TAG 1913.0
#define T_NP 1
#define T_LEVEL 2
#define T_HASCOV 3
#define T_ROWS 4
#define T_SUM 5
#define T_GRAD 6
#define T_THETA 13
#define T_COV 20
#define TOTAL_LEN (T_COV + MAXPAR * MAXPAR)

/* the values of a 1-D array without NULLs (ARR_DATA_PTR without its
 * signedness warning) */
static double *
state_data(ArrayType *a)
{
	return (double *) ((char *) a + ARR_OVERHEAD_NONULLS(1));
}

static double *
total_state_values(ArrayType *a, const char *fn)
{
	if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID ||
		ARR_DIMS(a)[0] != TOTAL_LEN || state_data(a)[0] != TOTAL_TAG)
		clm_corrupt("state of a total interval aggregate",
					errdetail("The state passed to %s is not one this aggregate built.", fn));
	return state_data(a);
}

static ArrayType *
total_state_new(MemoryContext ctx)
{
	Datum		zeros[TOTAL_LEN];
	MemoryContext old = MemoryContextSwitchTo(ctx);
	ArrayType  *a;
	int			i;

	for (i = 0; i < TOTAL_LEN; i++)
		zeros[i] = Float8GetDatum(0);
	zeros[0] = Float8GetDatum(TOTAL_TAG);
	a = construct_array(zeros, TOTAL_LEN, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
						TYPALIGN_DOUBLE);
	MemoryContextSwitchTo(old);
	return a;
}

/*
 * total_trans: add one customer (arguments after the state as in the
 * per-customer function, then an optional level).  Rows with a NULL are
 * skipped.  The state is updated in place (it lives in the aggregate's
 * context).
 */
static Datum
total_trans(FunctionCallInfo fcinfo, ClmQuantityKind kind, btyd_model model, int nargs)
{
	MemoryContext ctx = clm_agg_context(fcinfo, "a total interval aggregate");
	ArrayType  *st;
	double	   *s;
	ClmQuantity q;
	double		theta[MAXPAR],
				cov_u[MAXPAR * MAXPAR],
				grad[MAXPAR],
				est,
				level = 0.95;
	bool		has_cov;
	int			np,
				i;

	for (i = 1; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
		{
			if (PG_ARGISNULL(0))
				PG_RETURN_NULL();
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		}
	POLL_ON();
	if (PG_NARGS() > nargs + 1)
		level = PG_GETARG_FLOAT8(nargs + 1);
	(void) clm_level_z(level);
	has_cov = quantity_setup(fcinfo, kind, model, 1, &q, theta, cov_u);
	np = quantity_npar(&q);

	if (PG_ARGISNULL(0))
	{
		st = total_state_new(ctx);
		s = state_data(st);
		s[T_NP] = np;
		s[T_LEVEL] = level;
		s[T_HASCOV] = has_cov;
		memcpy(s + T_THETA, theta, np * sizeof(double));
		memcpy(s + T_COV, cov_u, np * np * sizeof(double));
	}
	else
	{
		st = PG_GETARG_ARRAYTYPE_P(0);
		s = total_state_values(st, "the transition function");
		if (memcmp(s + T_THETA, theta, np * sizeof(double)) != 0 ||
			(has_cov && memcmp(s + T_COV, cov_u, np * np * sizeof(double)) != 0) ||
			s[T_LEVEL] != level)
			clm_invalid_arg(errmsg("model must be the same for every row of a total"),
							errhint("The total's interval accounts for the parameters the customers share; aggregate per model (and level)."));
	}
	if (has_cov)
		quantity_grad(&q, theta, &est, grad);
	else
		clm_check_rc(quantity_eval(&q, theta, &est), "interval");
	s[T_ROWS] += 1;
	s[T_SUM] += est;
	if (has_cov)
		for (i = 0; i < np; i++)
			s[T_GRAD + i] += grad[i];
	PG_RETURN_ARRAYTYPE_P(st);
}

/* combine two states of the same model: sums add */
PG_FUNCTION_INFO_V1(clm_interval_total_combine);
Datum
clm_interval_total_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = clm_agg_context(fcinfo, "clm_interval_total_combine");
	ArrayType  *a,
			   *b;
	double	   *sa,
			   *sb;
	int			np,
				i;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = PG_GETARG_ARRAYTYPE_P(1);
	sb = total_state_values(b, "the combine function");
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(ctx);
		ArrayType  *c = DatumGetArrayTypePCopy(PG_GETARG_DATUM(1));

		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(c);
	}
	a = PG_GETARG_ARRAYTYPE_P(0);
	sa = total_state_values(a, "the combine function");
	np = (int) sa[T_NP];
	if (sa[T_NP] != sb[T_NP] || sa[T_LEVEL] != sb[T_LEVEL] || sa[T_HASCOV] != sb[T_HASCOV] ||
		memcmp(sa + T_THETA, sb + T_THETA, MAXPAR * sizeof(double)) != 0 ||
		memcmp(sa + T_COV, sb + T_COV, MAXPAR * MAXPAR * sizeof(double)) != 0)
		clm_invalid_arg(errmsg("model must be the same for every row of a total"),
						errhint("The total's interval accounts for the parameters the customers share; aggregate per model (and level)."));
	sa[T_ROWS] += sb[T_ROWS];
	sa[T_SUM] += sb[T_SUM];
	for (i = 0; i < np; i++)
		sa[T_GRAD + i] += sb[T_GRAD + i];
	PG_RETURN_ARRAYTYPE_P(a);
}

/* the interval of the total: est = sum, var = G' S_u G */
static Datum
total_final(FunctionCallInfo fcinfo)
{
	double	   *s;
	double		sum;
	int			np;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = total_state_values(PG_GETARG_ARRAYTYPE_P(0), "the final function");
	np = (int) s[T_NP];
	if (np != 4 && np != 7)
		clm_corrupt("state of a total interval aggregate",
					errdetail("It has %d parameters.", np));
	sum = s[T_SUM];
	if (!isfinite(sum))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the total is out of range")));
	return interval_result(fcinfo, sum,
						   s[T_HASCOV] != 0 ? quad_form(s + T_GRAD, s + T_COV, np) : -1,
						   clm_level_z(s[T_LEVEL]), false);
}

PG_FUNCTION_INFO_V1(clm_interval_total_final);
Datum
clm_interval_total_final(PG_FUNCTION_ARGS)
{
	return total_final(fcinfo);
}

#define TOTAL_FN(name, kind, model, nargs) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	return total_trans(fcinfo, kind, model, nargs); \
}

/* nargs: the arguments of the per-customer function without level */
TOTAL_FN(clm_bgnbd_expected_purchases_total_trans, Q_EXPECTED, BTYD_BGNBD, 5)
TOTAL_FN(clm_mbgnbd_expected_purchases_total_trans, Q_EXPECTED, BTYD_MBGNBD, 5)
TOTAL_FN(clm_pnbd_expected_purchases_total_trans, Q_EXPECTED, CLM_PNBD, 5)
TOTAL_FN(clm_bgbb_expected_purchases_total_trans, Q_EXPECTED, CLM_BGBB, 5)
TOTAL_FN(clm_bgnbd_clv_total_trans, Q_CLV, BTYD_BGNBD, 8)
TOTAL_FN(clm_mbgnbd_clv_total_trans, Q_CLV, BTYD_MBGNBD, 8)
TOTAL_FN(clm_pnbd_clv_total_trans, Q_CLV, CLM_PNBD, 8)
