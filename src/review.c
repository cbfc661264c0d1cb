/*-------------------------------------------------------------------------
 *
 * review.c
 *		When will a silent customer's churn risk reach a threshold?  The
 *		incremental jobs store each customer's next review time; these
 *		functions give the risk part of it in closed form.
 *
 * Both forms of churn risk only grow while the customer buys nothing, so
 * each threshold is crossed at most once:
 *	model form (1 - P(alive), Fader, Hardie & Lee 2005 eq. (11); Batislam
 *	et al. 2007 for MBG/NBD): with c = b + x (MBG/NBD) or b + x - 1 (BG/NBD,
 *	x > 0), 1 - P(alive) = thr at the tenure T solving
 *		((alpha + T) / (alpha + t_x))^(r + x) = thr / (1 - thr) * c / a;
 *	BG/NBD customers without repeat purchases are never at risk (P(alive) = 1);
 *	signal form (clm.churn_risk with its default prior): with dropout p,
 *	A = 1 + (orders - 1), B = 30 + (orders - 1) * avg_days_between (A = 1,
 *	B = 30 without a usable rhythm), risk = thr after d days of silence,
 *		d = B * (K^(-1/A) - 1),  K = p (1 - thr) / ((1 - p) thr).
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

/* signal-form defaults of clm.churn_risk (prior_days, prior_weight, dropout) */
#define SIGNAL_PRIOR_DAYS	30.0
#define SIGNAL_PRIOR_WEIGHT	1.0
#define SIGNAL_DROPOUT		0.05

static void
check_threshold(float8 thr)
{
	if (!(thr > 0 && thr < 1))
		clm_invalid_arg(errmsg("thr must be greater than 0 and less than 1"),
						errdetail("The value is %g.", thr));
}

/*
 * clm.risk_crossing_tenure(r, alpha, a, b, mbgnbd, frequency, recency, thr):
 * the tenure (model units) at which 1 - P(alive) reaches thr; NULL when it
 * never does.
 */
PG_FUNCTION_INFO_V1(clm_risk_crossing_tenure);
Datum
clm_risk_crossing_tenure(PG_FUNCTION_ARGS)
{
	float8		r = PG_GETARG_FLOAT8(0),
				alpha = PG_GETARG_FLOAT8(1),
				a = PG_GETARG_FLOAT8(2),
				b = PG_GETARG_FLOAT8(3);
	bool		mbgnbd = PG_GETARG_BOOL(4);
	float8		x = PG_GETARG_FLOAT8(5),
				t_x = PG_GETARG_FLOAT8(6),
				thr = PG_GETARG_FLOAT8(7);
	float8		c,
				log_ratio,
				t;

	check_threshold(thr);
	if (!(r > 0 && alpha > 0 && a > 0 && b > 0) || !isfinite(r + alpha + a + b))
		clm_invalid_arg(errmsg("model parameters must be finite and greater than 0"));
	if (!(x >= 0 && t_x >= 0) || !isfinite(x + t_x))
		clm_invalid_arg(errmsg("frequency and recency must be finite and not negative"));
	c = mbgnbd ? b + x : b + x - 1;
	if (!mbgnbd && x == 0)
		PG_RETURN_NULL();
	/* log of (alpha + T) / (alpha + t_x), in log space to avoid overflow */
	log_ratio = (log(thr) - log1p(-thr) + log(c) - log(a)) / (r + x);
	t = (alpha + t_x) * exp(log_ratio) - alpha;
	if (!isfinite(t))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(t);
}

/*
 * clm.risk_crossing_days(orders, avg_days_between, thr): the days of
 * silence after which the signal form of churn risk reaches thr; NULL when
 * it never does, 0 when it already has at the last purchase.
 */
PG_FUNCTION_INFO_V1(clm_risk_crossing_days);
Datum
clm_risk_crossing_days(PG_FUNCTION_ARGS)
{
	int64		orders;
	float8		thr,
				A = SIGNAL_PRIOR_WEIGHT,
				B = SIGNAL_PRIOR_WEIGHT * SIGNAL_PRIOR_DAYS,
				p = SIGNAL_DROPOUT,
				log_k,
				d;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	orders = PG_GETARG_INT64(0);
	thr = PG_GETARG_FLOAT8(2);
	check_threshold(thr);
	if (orders <= 0)
		PG_RETURN_NULL();
	if (thr <= p)
		PG_RETURN_FLOAT8(0.0);
	if (!PG_ARGISNULL(1) && orders > 1)
	{
		float8		gap = PG_GETARG_FLOAT8(1);

		if (!(gap >= 0) || !isfinite(gap))
			clm_invalid_arg(errmsg("avg_days_between must be finite and not negative"));
		A += (float8) (orders - 1);
		B += (float8) (orders - 1) * gap;
	}
	log_k = log(p) + log1p(-thr) - log1p(-p) - log(thr);
	d = B * expm1(-log_k / A);
	if (!isfinite(d))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(d);
}

/* an interval of n days (calendar days: DST-aware when added to a timestamptz) */
static Interval *
day_interval(int32 n)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->day = n;
	return iv;
}

/*
 * clm.crossing_time(base, days, as_of): the local midnight at which a
 * crossing `days` after `base` takes effect: the start of base's local day
 * plus ceil(days) days, and no earlier than the next local midnight after
 * as_of (risk moves only when a new local day starts).  NULL for NULL or
 * non-finite days, or more than a million days ahead (never, in practice).
 * In C rather than SQL so that the scoring engine stays one inlined
 * expression per customer, without a subquery.
 */
PG_FUNCTION_INFO_V1(clm_crossing_time);
Datum
clm_crossing_time(PG_FUNCTION_ARGS)
{
	float8		days;
	Datum		day = CStringGetTextDatum("day");
	Datum		base_day,
				next_day,
				t;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	days = PG_GETARG_FLOAT8(1);
	if (isnan(days) || days > 1e6)
		PG_RETURN_NULL();
	if (days < 0)
		days = 0;
	if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(0)) || TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(2)))
		PG_RETURN_NULL();
	/* date_trunc('day', ...) and + interval follow the session TimeZone, which
	 * a job run sets to the job's zone */
	base_day = DirectFunctionCall2(timestamptz_trunc, day, PG_GETARG_DATUM(0));
	t = DirectFunctionCall2(timestamptz_pl_interval, base_day,
							PointerGetDatum(day_interval((int32) ceil(days))));
	next_day = DirectFunctionCall2(timestamptz_pl_interval,
								   DirectFunctionCall2(timestamptz_trunc, day, PG_GETARG_DATUM(2)),
								   PointerGetDatum(day_interval(1)));
	PG_RETURN_DATUM(DatumGetTimestampTz(t) > DatumGetTimestampTz(next_day) ? t : next_day);
}

/*
 * clm.next_cut(cuts float8[], x float8): the smallest cut >= x, NULL when
 * none (used for the day an R score drops: cuts are few, a linear scan).
 */
PG_FUNCTION_INFO_V1(clm_next_cut);
Datum
clm_next_cut(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	float8		x = PG_GETARG_FLOAT8(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	bool		found = false;
	float8		best = 0;

	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		float8		c;

		if (nulls[i])
			continue;
		c = DatumGetFloat8(elems[i]);
		if (c >= x && (!found || c < best))
		{
			best = c;
			found = true;
		}
	}
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(best);
}
