/*-------------------------------------------------------------------------
 *
 * churn.c
 *		Churn risk from warning signals (when no model is fitted), the
 *		activity-trend aggregate and the health score.  (The model form of
 *		churn risk, 1 - P(alive), is plain SQL over clm.p_alive.)
 *
 * Signal form of churn risk.  The model is BG/NBD's, applied to one
 * customer with what we know of them.  While active, the customer buys as a
 * Poisson process with their own rate lambda (exponential gaps between
 * purchase days); after any purchase they may drop out for good with
 * probability p (dropout).  Our belief about lambda is Gamma(a, b): a prior
 * worth prior_weight gaps of prior_days days (a0 = prior_weight, b0 =
 * prior_weight * prior_days), updated with the customer's n = orders - 1
 * observed gaps that sum to S = n * avg_days_between days: a = a0 + n,
 * b = b0 + S.  An active customer's next purchase takes longer than the
 * d = days_since_last days already waited with probability
 *		G(d) = (b / (b + d))^a				(a Lomax / Pareto II tail)
 * so, by Bayes, the probability that the customer has dropped out is
 *		risk = p / (p + (1 - p) G(d))
 * It is p right after a purchase (d = 0: "near 0" for the default 0.05),
 * rises with d, and tends to 1 for gaps that are long for this customer's
 * rhythm.  Few orders lean on the prior; many on the customer's own rhythm.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

/* ---------- churn risk, signal form ---------- */

static void
check_nonneg(const char *argname, float8 v)
{
	clm_check_finite(argname, v);
	if (v < 0)
		clm_invalid_arg(errmsg("%s must not be negative", argname),
						errdetail("The value is %g.", v));
}

/*
 * clm_signal_churn_risk: the signal form for one customer, after checking
 * the inputs; false (NULL) for a customer without orders (a prospect).
 * gap_null: no average gap (a single purchase day) uses the prior alone.
 */
bool
clm_signal_churn_risk(float8 d, bool gap_null, float8 gap, int64 orders,
					  float8 prior_days, float8 prior_weight, float8 p, float8 *risk)
{
	float8		a,
				b,
				log_b,
				tail;

	check_nonneg("days_since_last", d);
	if (orders < 0)
		clm_invalid_arg(errmsg("orders must not be negative"),
						errdetail("The value is " INT64_FORMAT ".", orders));
	clm_check_finite("prior_days", prior_days);
	clm_check_finite("prior_weight", prior_weight);
	if (!(prior_days > 0))
		clm_invalid_arg(errmsg("prior_days must be greater than 0"),
						errdetail("The value is %g.", prior_days),
						errhint("Use the typical number of days between purchases of your customers, e.g. their median avg_days_between."));
	if (!(prior_weight > 0))
		clm_invalid_arg(errmsg("prior_weight must be greater than 0"),
						errdetail("The value is %g.", prior_weight),
						errhint("It is the number of gaps the prior is worth; 1 is a weak prior."));
	clm_check_finite("dropout", p);
	if (!(p > 0 && p < 1))
		clm_invalid_arg(errmsg("dropout must be greater than 0 and less than 1"),
						errdetail("The value is %g.", p),
						errhint("It is the chance that a customer stops after any purchase; a BG/NBD fit estimates it as a / (a + b)."));
	if (orders == 0)
		return false;

	a = prior_weight;
	b = prior_weight * prior_days;
	log_b = log(prior_weight) + log(prior_days);
	if (!gap_null && orders > 1)
	{
		check_nonneg("avg_days_between", gap);
		a += (float8) (orders - 1);
		b += (float8) (orders - 1) * gap;
		if (gap > 0)
		{
			/* ln(b1 + b2) = ln b1 + log1p(b2 / b1), larger term first */
			double		log_g = log((float8) (orders - 1)) + log(gap),
						hi = fmax(log_b, log_g),
						lo = fmin(log_b, log_g);

			log_b = hi + log1p(exp(lo - hi));
		}
	}

	/*
	 * G(d) = (b / (b + d))^a, in log space.  b overflows at a long prior or
	 * gap times a large weight (1e308 x 1e308), and b + d when both are
	 * near the top of the range: b / (b + d) would then be Inf / Inf, or 1
	 * instead of 1/2, and the risk p whatever the silence.  There the tail
	 * is exp(-a log1p(d / b)) with d / b formed from ln b (Infinity beyond
	 * the range: a tail of 0, risk 1, the limit).
	 */
	if (isfinite(b + d))
		tail = exp(a * log1p(-d / (b + d)));
	else
		tail = exp(-a * log1p(exp(log(d) - log_b)));
	*risk = p / (p + (1 - p) * tail);
	return true;
}

/*
 * clm.churn_risk(days_since_last, avg_days_between, orders
 *				  [, prior_days, prior_weight, dropout])
 * NULL days_since_last gives NULL; no orders (a prospect) gives NULL; a
 * NULL avg_days_between (a single purchase day) uses the prior alone.
 */
PG_FUNCTION_INFO_V1(clm_churn_risk_signals);
Datum
clm_churn_risk_signals(PG_FUNCTION_ARGS)
{
	float8		risk;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		clm_invalid_arg(errmsg("prior_days, prior_weight and dropout must not be NULL"));
	if (!clm_signal_churn_risk(PG_GETARG_FLOAT8(0), PG_ARGISNULL(1),
							   PG_ARGISNULL(1) ? 0 : PG_GETARG_FLOAT8(1), PG_GETARG_INT64(2),
							   PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5),
							   &risk))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(risk);
}

/* ---------- activity trend ---------- */

/*
 * State: float8[7] = {recent orders, recent amount, previous orders,
 * previous amount, as_of, start of the recent window, start of the previous
 * window} (times as float8 microseconds since 2000-01-01, exact to the
 * microsecond for +-285 years).  A fixed-size array keeps the aggregate
 * splittable by parallel query and Citus without serialization.
 */
#define TREND_NSTATE 7

static float8 *
trend_state_values(ArrayType *arr)
{
	if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != TREND_NSTATE ||
		ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != FLOAT8OID)
		clm_corrupt("clm.activity_trend state",
					errdetail("The state must be a float8[%d] without NULLs.", TREND_NSTATE));
	/* one dimension and no NULLs (checked): the data follows the fixed header */
	return (float8 *) ((char *) arr + ARR_OVERHEAD_NONULLS(1));
}

/*
 * The windows of one (as_of, window) in the session time zone, kept per
 * call site: stepping back by an interval of days converts to local time
 * and back, about as costly as the rest of a customer's rows together, and
 * every customer's first row needs it.  first_state is a new customer's
 * state, copied rather than built.
 */
typedef struct TrendCache
{
	bool		valid;
	const void *tz;				/* session_timezone the windows were computed in */
	TimestampTz as_of;
	Interval	window;
	ArrayType  *first_state;	/* zero counts, as_of and the two window starts */
} TrendCache;

/* trend_first_state: a new customer's state (in the current context) */
static ArrayType *
trend_first_state(FunctionCallInfo fcinfo, TimestampTz as_of, Interval *window)
{
	TrendCache *c = (TrendCache *) fcinfo->flinfo->fn_extra;
	ArrayType  *arr;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TrendCache));
		fcinfo->flinfo->fn_extra = c;
	}
	if (!c->valid || c->tz != (const void *) session_timezone || c->as_of != as_of ||
		memcmp(&c->window, window, sizeof(Interval)) != 0)
	{
		/* the two windows, (as_of - 2w, as_of - w] and (as_of - w, as_of] */
		TimestampTz b1,
					b2;
		Datum		zeros[TREND_NSTATE];
		float8	   *st;
		int			i;
		MemoryContext old;

		c->valid = false;
		b1 = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(as_of),
													 PointerGetDatum(window)));
		b2 = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(b1),
													 PointerGetDatum(window)));
		if (!(b1 < as_of && b2 < b1))
			clm_invalid_arg(errmsg("window must be a positive interval"),
							errdetail("The value is %s.",
									  DatumGetCString(DirectFunctionCall1(interval_out,
																		  PointerGetDatum(window)))));
		for (i = 0; i < TREND_NSTATE; i++)
			zeros[i] = Float8GetDatum(0.0);
		if (c->first_state != NULL)
			pfree(c->first_state);
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		c->first_state = construct_array(zeros, TREND_NSTATE, FLOAT8OID, sizeof(float8),
										 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		MemoryContextSwitchTo(old);
		st = trend_state_values(c->first_state);
		st[4] = (float8) as_of;
		st[5] = (float8) b1;
		st[6] = (float8) b2;
		c->tz = session_timezone;
		c->as_of = as_of;
		c->window = *window;
		c->valid = true;
	}
	arr = palloc(VARSIZE(c->first_state));
	memcpy(arr, c->first_state, VARSIZE(c->first_state));
	return arr;
}

PG_FUNCTION_INFO_V1(clm_activity_trend_trans);
Datum
clm_activity_trend_trans(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	float8	   *st;
	TimestampTz ts,
				as_of;
	float8		amount;
	Interval   *window;

	clm_agg_context(fcinfo, "clm.activity_trend_trans");

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	ts = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_GETARG_FLOAT8(2);
	as_of = PG_GETARG_TIMESTAMPTZ(3);
	window = PG_GETARG_INTERVAL_P(4);

	if (TIMESTAMP_NOT_FINITE(ts) || TIMESTAMP_NOT_FINITE(as_of))
		clm_invalid_arg(errmsg("ts and as_of must be finite timestamps"));
	clm_check_finite("amount", amount);
	clm_check_not_after(ts, as_of);

	if (PG_ARGISNULL(0))
	{
		/* first row: the two windows fixed; a new array, which the executor copies into its context */
		arr = trend_first_state(fcinfo, as_of, window);
		st = trend_state_values(arr);
	}
	else
	{
		/* in an aggregate the state is ours to change in place */
		arr = PG_GETARG_ARRAYTYPE_P(0);
		st = trend_state_values(arr);
		if (st[4] != (float8) as_of)
			clm_invalid_arg(errmsg("as_of must be the same for every row of a customer"));
	}

	if ((float8) ts > st[5])
	{
		st[0] += 1;
		st[1] += amount;
	}
	else if ((float8) ts > st[6])
	{
		st[2] += 1;
		st[3] += amount;
	}
	PG_RETURN_ARRAYTYPE_P(arr);
}

PG_FUNCTION_INFO_V1(clm_activity_trend_combine);
Datum
clm_activity_trend_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a,
			   *b;
	float8	   *sa,
			   *sb;
	int			i;

	clm_agg_context(fcinfo, "clm.activity_trend_combine");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));	/* copied by the executor */
	a = PG_GETARG_ARRAYTYPE_P(0);
	b = PG_GETARG_ARRAYTYPE_P(1);
	sa = trend_state_values(a);
	sb = trend_state_values(b);
	if (sa[4] != sb[4] || sa[5] != sb[5] || sa[6] != sb[6])
		clm_invalid_arg(errmsg("as_of and window must be the same for every row of a customer"));
	for (i = 0; i < 4; i++)
		sa[i] += sb[i];
	PG_RETURN_ARRAYTYPE_P(a);
}

static void
set_ratio(Datum *values, bool *nulls, int i, float8 num, float8 den)
{
	if (den > 0)
		values[i] = Float8GetDatum(num / den);
	else
		nulls[i] = true;
}

PG_FUNCTION_INFO_V1(clm_activity_trend_final);
Datum
clm_activity_trend_final(PG_FUNCTION_ARGS)
{
	float8	   *st;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = trend_state_values(PG_GETARG_ARRAYTYPE_P(0));
	/* the final function is callable directly: counts must be counts */
	if (!(st[0] >= 0 && st[0] <= 9e15 && st[2] >= 0 && st[2] <= 9e15 &&
		  isfinite(st[1]) && isfinite(st[3])))
		clm_corrupt("clm.activity_trend state",
					errdetail("The order counts are %g and %g.", st[0], st[2]));
	tupdesc = clm_result_tupdesc(fcinfo);
	values[0] = Int64GetDatum((int64) st[0]);
	values[1] = Int64GetDatum((int64) st[2]);
	values[2] = Float8GetDatum(st[1]);
	values[3] = Float8GetDatum(st[3]);
	set_ratio(values, nulls, 4, st[0], st[2]);
	set_ratio(values, nulls, 5, st[1], st[3]);
	/* average order value, recent over previous: "order values are shrinking" */
	if (st[0] > 0 && st[2] > 0 && st[3] / st[2] > 0)
		values[6] = Float8GetDatum((st[1] / st[0]) / (st[3] / st[2]));
	else
		nulls[6] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------- health score ---------- */

/*
 * The components, each in [0, 1] (1 = healthy), and their default weights:
 *	recency   1 - churn_risk                               0.35
 *	activity  min(orders_ratio, 1)                         0.20
 *	spend     min(amount_ratio, 1)                         0.15
 *	tickets   1 / (1 + tickets)                            0.15
 *	nps       nps / 10 (an NPS answer 0..10)               0.15
 * score = 100 * sum(w_i c_i) / sum(w_i) over the known (non-NULL) components.
 */
#define HEALTH_N CLM_HEALTH_N
static const char *const health_names[HEALTH_N] = {"recency", "activity", "spend", "tickets", "nps"};
static const float8 health_default_weights[HEALTH_N] = {0.35, 0.20, 0.15, 0.15, 0.15};

/* one field of the weights object */
static void
health_weight(void *arg, const char *key, double value)
{
	float8	   *w = (float8 *) arg;
	int			i;

	for (i = 0; i < HEALTH_N; i++)
		if (strcmp(key, health_names[i]) == 0)
			break;
	if (i == HEALTH_N)
		clm_invalid_arg(errmsg("weights has an unknown key \"%s\"", key),
						errhint("Keys: recency, activity, spend, tickets, nps."));
	if (value < 0)
		clm_invalid_arg(errmsg("weights field \"%s\" must not be negative", key),
						errdetail("The value is %g.", value));
	w[i] = value;
}

/* the default weights, overridden by the fields of a jsonb object */
static void
health_weights(Jsonb *jb, float8 *w)
{
	memcpy(w, health_default_weights, sizeof(health_default_weights));
	if (jb != NULL)
		clm_jsonb_numbers(jb, "weights",
						  "For example '{\"recency\": 0.5, \"nps\": 0}'; keys: recency, activity, spend, tickets, nps.",
						  health_weight, w);
}

/*
 * clm_health: the score of the known components (known[i] false: NULL) under
 * weights (NULL: the defaults); false (NULL) when none is known or every
 * known one weighs 0.
 */
bool
clm_health(const bool *known, const float8 *vals, Jsonb *weights, float8 *result)
{
	float8		w[HEALTH_N],
				c[HEALTH_N];
	float8		num = 0,
				den = 0,
				wmax = 0;
	int			i;

	health_weights(weights, w);

	/*
	 * only the weights' ratios matter: divide by the largest, so that their
	 * sum stays finite whatever their size (weights of 1e308 gave NaN)
	 */
	for (i = 0; i < HEALTH_N; i++)
		wmax = Max(wmax, w[i]);
	for (i = 0; wmax > 0 && i < HEALTH_N; i++)
		w[i] /= wmax;
	for (i = 0; i < HEALTH_N; i++)
	{
		float8		v;

		if (!known[i])
			continue;
		v = vals[i];
		clm_check_finite(i == 0 ? "churn_risk" : i == 1 ? "orders_ratio" :
						 i == 2 ? "amount_ratio" : i == 3 ? "tickets" : "nps", v);
		switch (i)
		{
			case 0:
				if (v < 0 || v > 1)
					clm_invalid_arg(errmsg("churn_risk must be between 0 and 1"),
									errdetail("The value is %g.", v));
				c[i] = 1 - v;
				break;
			case 1:
			case 2:
				if (v < 0)
					clm_invalid_arg(errmsg("%s must not be negative", i == 1 ? "orders_ratio" : "amount_ratio"),
									errdetail("The value is %g.", v));
				c[i] = Min(v, 1.0);
				break;
			case 3:
				if (v < 0)
					clm_invalid_arg(errmsg("tickets must not be negative"),
									errdetail("The value is %g.", v));
				c[i] = 1 / (1 + v);
				break;
			case 4:
				if (v < 0 || v > 10)
					clm_invalid_arg(errmsg("nps must be between 0 and 10"),
									errdetail("The value is %g.", v),
									errhint("Pass the customer's answer to \"how likely are you to recommend us\", 0 to 10."));
				c[i] = v / 10;
				break;
		}
		num += w[i] * c[i];
		den += w[i];
	}
	if (den <= 0)
		return false;
	*result = 100 * num / den;
	return true;
}

/*
 * clm.health_score(churn_risk, orders_ratio, amount_ratio [, tickets, nps,
 * weights]): NULL signals are unknown and their weight is shared out among
 * the others; all unknown gives NULL.
 */
PG_FUNCTION_INFO_V1(clm_health_score);
Datum
clm_health_score(PG_FUNCTION_ARGS)
{
	bool		known[HEALTH_N];
	float8		v[HEALTH_N];
	float8		result;
	int			i;

	for (i = 0; i < HEALTH_N; i++)
	{
		known[i] = !PG_ARGISNULL(i);
		v[i] = known[i] ? PG_GETARG_FLOAT8(i) : 0;
	}
	if (!clm_health(known, v, PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5), &result))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(result);
}
