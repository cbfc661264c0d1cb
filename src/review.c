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
#include "pgtime.h"

static void
check_threshold(float8 thr)
{
	if (!(thr > 0 && thr < 1))
		clm_invalid_arg(errmsg("thr must be greater than 0 and less than 1"),
						errdetail("The value is %g.", thr));
}

/*
 * clm_crossing_tenure: the tenure (model units) at which 1 - P(alive)
 * reaches thr; false when it never does.
 */
bool
clm_crossing_tenure(float8 r, float8 alpha, float8 a, float8 b, bool mbgnbd,
						 float8 x, float8 t_x, float8 thr, float8 *tenure)
{
	float8		c,
				log_ratio,
				t;

	check_threshold(thr);
	/* each finite (a sum of finite parameters may overflow) */
	if (!(r > 0 && alpha > 0 && a > 0 && b > 0) ||
		!(isfinite(r) && isfinite(alpha) && isfinite(a) && isfinite(b)))
		clm_invalid_arg(errmsg("model parameters must be finite and greater than 0"));
	if (!(x >= 0 && t_x >= 0) || !(isfinite(x) && isfinite(t_x)))
		clm_invalid_arg(errmsg("frequency and recency must be finite and not negative"));
	c = mbgnbd ? b + x : b + x - 1;
	if (!mbgnbd && x == 0)
		return false;
	/* log of (alpha + T) / (alpha + t_x), in log space to avoid overflow */
	log_ratio = (log(thr) - log1p(-thr) + log(c) - log(a)) / (r + x);
	t = (alpha + t_x) * exp(log_ratio) - alpha;
	/* beyond the double range: no representable tenure, never */
	if (!isfinite(t))
		return false;

	/*
	 * The tenure never precedes the recency.  A root below it (log_ratio <
	 * 0: the risk is past thr as soon as the customer is observed, e.g.
	 * MBG/NBD with a much larger than b) or one rounded a few ulps under it
	 * means the risk has reached thr at tenure = recency; the formula gave
	 * -1 for r 1e-300, a 1e300, b 1e-300.
	 */
	*tenure = fmax(t, t_x);
	return true;
}

/* clm.risk_crossing_tenure(r, alpha, a, b, mbgnbd, frequency, recency, thr) */
PG_FUNCTION_INFO_V1(clm_risk_crossing_tenure);
Datum
clm_risk_crossing_tenure(PG_FUNCTION_ARGS)
{
	float8		t;

	if (!clm_crossing_tenure(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
								  PG_GETARG_FLOAT8(3), PG_GETARG_BOOL(4), PG_GETARG_FLOAT8(5),
								  PG_GETARG_FLOAT8(6), PG_GETARG_FLOAT8(7), &t))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(t);
}

/*
 * clm_crossing_days: the days of silence after which the signal form
 * of churn risk (clm.churn_risk's default prior) reaches thr; false when it
 * never does, 0 when it already has at the last purchase.
 */
bool
clm_crossing_days(int64 orders, bool gap_null, float8 gap, float8 thr, float8 *days)
{
	float8		A = CLM_SIGNAL_PRIOR_WEIGHT,
				B = CLM_SIGNAL_PRIOR_WEIGHT * CLM_SIGNAL_PRIOR_DAYS,
				p = CLM_SIGNAL_DROPOUT,
				log_k,
				d;

	check_threshold(thr);
	if (orders <= 0)
		return false;
	if (thr <= p)
	{
		*days = 0.0;
		return true;
	}
	if (!gap_null && orders > 1)
	{
		if (!(gap >= 0) || !isfinite(gap))
			clm_invalid_arg(errmsg("avg_days_between must be finite and not negative"));
		A += (float8) (orders - 1);
		B += (float8) (orders - 1) * gap;
	}
	log_k = log(p) + log1p(-thr) - log1p(-p) - log(thr);
	d = B * expm1(-log_k / A);
	if (!isfinite(d))
		return false;
	*days = d;
	return true;
}

/* clm.risk_crossing_days(orders, avg_days_between, thr) */
PG_FUNCTION_INFO_V1(clm_risk_crossing_days);
Datum
clm_risk_crossing_days(PG_FUNCTION_ARGS)
{
	float8		d;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	if (!clm_crossing_days(PG_GETARG_INT64(0), PG_ARGISNULL(1),
								PG_ARGISNULL(1) ? 0 : PG_GETARG_FLOAT8(1),
								PG_GETARG_FLOAT8(2), &d))
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
 * clm_day_start_plus: date_trunc('day', ts) + n days, both in the session
 * TimeZone (a job run sets the job's zone), as the SQL expression computes
 * it (so DST and midnights a zone skips come out the same).  In a zone of
 * one fixed offset that is plain arithmetic on the local day number.
 * Otherwise the result depends on ts only through its local day, so a memo
 * keyed by (local day, n) gives it without the two conversions for the many
 * customers who share a purchase day.  A non-finite ts is returned as it
 * is.
 */
TimestampTz
clm_day_start_plus(ClmMidnightMemo *memo, TimestampTz ts, int32 n)
{
	Datum		t;
	int32		day = 0;
	uint32		h = 0;

	if (TIMESTAMP_NOT_FINITE(ts))
		return ts;
	if (memo != NULL)
	{
		if (memo->tz != (const void *) session_timezone)
		{
			int			i;

			for (i = 0; i < CLM_MIDNIGHT_MEMO; i++)
				memo->e[i].valid = false;
			memo->tz = session_timezone;
		}
		day = clm_local_day(&memo->days, ts);
		if (memo->days.fixed)
		{
			/*
			 * one fixed offset (UTC, most servers): the local midnight is
			 * the day's start in UTC less the offset, and n days are n * 24
			 * hours
			 */
			Interval	iv = {0};
			TimestampTz r;

			iv.day = n;
			if (clm_ts_plus_fixed(&memo->days,
								  (int64) day * USECS_PER_DAY - (int64) memo->days.gmtoff * USECS_PER_SEC,
								  &iv, &r))
				return r;
		}
		h = ((uint32) day * 2654435761u + (uint32) n * 40503u) % CLM_MIDNIGHT_MEMO;
		if (memo->e[h].valid && memo->e[h].day == day && memo->e[h].n == n)
			return memo->e[h].result;
	}
	t = DirectFunctionCall2(timestamptz_trunc, CStringGetTextDatum("day"), TimestampTzGetDatum(ts));
	t = DirectFunctionCall2(timestamptz_pl_interval, t, PointerGetDatum(day_interval(n)));
	if (memo != NULL)
	{
		memo->e[h].day = day;
		memo->e[h].n = n;
		memo->e[h].result = DatumGetTimestampTz(t);
		memo->e[h].valid = true;
	}
	return DatumGetTimestampTz(t);
}

/*
 * clm_crossing_midnight: the local midnight at which a crossing `days` after
 * `base` takes effect: the start of base's local day plus ceil(days) days,
 * and no earlier than the next local midnight after as_of (risk moves only
 * when a new local day starts).  False (NULL) for NaN days, more than a
 * million days ahead (never, in practice) or non-finite times.
 */
bool
clm_crossing_midnight(ClmMidnightMemo *memo, TimestampTz base, float8 days, TimestampTz as_of,
				  TimestampTz *result)
{
	TimestampTz t,
				next_day;

	if (isnan(days) || days > 1e6)
		return false;
	if (days < 0)
		days = 0;
	if (TIMESTAMP_NOT_FINITE(base) || TIMESTAMP_NOT_FINITE(as_of))
		return false;
	t = clm_day_start_plus(memo, base, (int32) ceil(days));
	next_day = clm_day_start_plus(memo, as_of, 1);
	*result = t > next_day ? t : next_day;
	return true;
}

/* clm.crossing_time(base, days, as_of) */
PG_FUNCTION_INFO_V1(clm_crossing_time);
Datum
clm_crossing_time(PG_FUNCTION_ARGS)
{
	TimestampTz t;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	if (!clm_crossing_midnight(NULL, PG_GETARG_TIMESTAMPTZ(0), PG_GETARG_FLOAT8(1),
						   PG_GETARG_TIMESTAMPTZ(2), &t))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(t);
}

/*
 * clm_next_cut_of: the smallest of cuts[0..n-1] that is >= x; false when
 * none (used for the day an R score drops: cuts are few, a linear scan).
 */
bool
clm_next_cut_of(const float8 *cuts, int n, float8 x, float8 *cut)
{
	bool		found = false;
	int			i;

	for (i = 0; i < n; i++)
		if (cuts[i] >= x && (!found || cuts[i] < *cut))
		{
			*cut = cuts[i];
			found = true;
		}
	return found;
}

/* clm.next_cut(cuts float8[], x float8): NULL elements are skipped */
PG_FUNCTION_INFO_V1(clm_next_cut);
Datum
clm_next_cut(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *nulls;
	float8	   *cuts;
	float8		cut = 0;		/* (set when clm_next_cut_of returns true) */
	int			n,
				m = 0,
				i;

	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	cuts = palloc(Max(n, 1) * sizeof(float8));
	for (i = 0; i < n; i++)
		if (!nulls[i])
			cuts[m++] = DatumGetFloat8(elems[i]);
	if (!clm_next_cut_of(cuts, m, PG_GETARG_FLOAT8(1), &cut))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cut);
}
