/*-------------------------------------------------------------------------
 *
 * clm.c
 *		Module entry point and small helpers shared by all of clm.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "common/int.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"

PG_MODULE_MAGIC;

/* seconds between the Unix epoch and PostgreSQL's 2000-01-01 epoch */
#define CLM_EPOCH_DIFF_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/*
 * clm_check_finite: reject NaN and infinities in a numeric argument.
 */
void
clm_check_finite(const char *argname, double value)
{
	if (isnan(value) || isinf(value))
		clm_invalid_arg(errmsg("%s must be a finite number", argname),
						errdetail("The value is %g.", value),
						errhint("Filter out or repair rows whose %s is NaN or infinite.",
								argname));
}

/*
 * clm_check_not_after: transactions after as_of are an error, with both
 * times in the detail.
 */
void
clm_check_not_after(TimestampTz ts, TimestampTz as_of)
{
	if (ts > as_of)
	{
		/* timestamptz_to_str returns a static buffer: copy the first */
		char	   *ts_str = pstrdup(timestamptz_to_str(ts));

		clm_invalid_arg(errmsg("ts must not be after as_of"),
						errdetail("Transaction at %s is after as_of %s.",
								  ts_str, timestamptz_to_str(as_of)),
						errhint("Filter the transactions with WHERE ts <= as_of, or pass a later as_of."));
	}
}

/*
 * clm_agg_context: support functions trust their state only inside their
 * aggregate; a direct call (with a NULL or forged argument) is refused.
 */
MemoryContext
clm_agg_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggctx;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called by its aggregate", fn),
				 errhint("It is a support function; call the aggregate instead.")));
	return aggctx;
}

/*
 * clm_jsonb_numbers: walk an options object whose values are numbers.
 */
void
clm_jsonb_numbers(Jsonb *jb, const char *argname, const char *hint,
				  ClmNumberField fn, void *arg)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		clm_invalid_arg(errmsg("%s must be a JSON object", argname),
						errhint("%s", hint));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		double		val;

		CHECK_FOR_INTERRUPTS();	/* an object can have millions of keys */
		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (v.type != jbvNumeric)
			clm_invalid_arg(errmsg("%s field \"%s\" must be a number", argname, key));
		val = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
												 NumericGetDatum(v.val.numeric)));
		if (isnan(val) || isinf(val))
			clm_invalid_arg(errmsg("%s field \"%s\" must be a finite number", argname, key));
		fn(arg, key, val);
	}
}

/*
 * floor division that is right for negative numerators too
 */
static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/*
 * day_cache_zone: point a day cache at the session time zone (again after
 * a SET timezone), noting whether the zone has one fixed offset
 */
static void
day_cache_zone(ClmDayCache *cache)
{
	long		off;

	if (cache->tz == (const void *) session_timezone)
		return;
	cache->tz = session_timezone;
	cache->fixed = pg_get_timezone_offset(session_timezone, &off);
	cache->gmtoff = cache->fixed ? off : 0;
	cache->lo = 1;
	cache->hi = 0;				/* empty interval: forces a lookup */
}

/* two days inside the timestamp range, where local dates are valid too */
#define FAR_INSIDE_RANGE(t) \
	((t) >= MIN_TIMESTAMP + 2 * USECS_PER_DAY && (t) < END_TIMESTAMP - 2 * USECS_PER_DAY)

/*
 * clm_ts_plus_fixed: ts + iv the way timestamptz_pl_interval computes it,
 * without its two calendar conversions, when the session time zone has one
 * fixed offset and iv has no months: a day is then always 24 hours, so
 * adding days is adding microseconds.  False when that does not hold or a
 * step would leave the timestamp range: the caller goes through
 * timestamptz_pl_interval, which reports the error as before.
 */
bool
clm_ts_plus_fixed(ClmDayCache *cache, TimestampTz ts, const Interval *iv, TimestampTz *result)
{
	int64		days_us,
				t;

	if (iv->month != 0 || TIMESTAMP_NOT_FINITE(ts))
		return false;
	day_cache_zone(cache);
	if (!cache->fixed)
		return false;
	if (!FAR_INSIDE_RANGE(ts) ||
		pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(ts, days_us, &t) || !FAR_INSIDE_RANGE(t) ||
		pg_add_s64_overflow(t, iv->time, &t) || !FAR_INSIDE_RANGE(t))
		return false;
	*result = t;
	return true;
}

/*
 * clm_local_day: the calendar day (days since 2000-01-01) on which ts falls
 * in the session time zone.  Purchases are grouped by the day a user sees on
 * their calendar, so a purchase at 23:30 local time is not moved to the next
 * day by the UTC offset.
 */
int32
clm_local_day(ClmDayCache *cache, TimestampTz ts)
{
	int64		secs,
				t;

	/* fast path: a zone with one fixed offset (UTC, most servers) */
	if (likely(cache->tz == (const void *) session_timezone && cache->fixed))
		return (int32) floor_div(ts + (int64) cache->gmtoff * USECS_PER_SEC, USECS_PER_DAY);

	secs = floor_div(ts, USECS_PER_SEC);
	t = secs + CLM_EPOCH_DIFF_SECS;
	day_cache_zone(cache);

	if (!cache->fixed && !(t >= cache->lo && t < cache->hi))
	{
		pg_time_t	pt = (pg_time_t) t;
		long		before_off,
					after_off;
		int			before_dst,
					after_dst;
		pg_time_t	boundary;
		int			res;

		res = pg_next_dst_boundary(&pt, &before_off, &before_dst,
								   &boundary, &after_off, &after_dst,
								   session_timezone);
		if (res < 0)
		{
			/* zone data unusable for this instant: fall back to full conversion */
			struct pg_tm tm;
			fsec_t		fsec;
			int			tz;

			if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, NULL) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("timestamp out of range")));
			return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
		}
		cache->gmtoff = before_off;
		cache->lo = t;
		cache->hi = (res == 0) ? PG_INT64_MAX : (int64) boundary;
	}

	return (int32) floor_div(secs + cache->gmtoff, SECS_PER_DAY);
}

/*
 * clm_result_tupdesc: the blessed descriptor of the composite the calling
 * function returns, built on the first call and kept in fn_extra (so a
 * caller must not use fn_extra for anything else).
 */
TupleDesc
clm_result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (tupdesc != NULL)
		return tupdesc;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = tupdesc;
	return tupdesc;
}

/* clm_parse_period: the period argument of the KPI and cohort aggregates */
ClmPeriod
clm_parse_period(text *t)
{
	char	   *s = text_to_cstring(t);

	if (strcmp(s, "week") == 0)
		return CLM_PERIOD_WEEK;
	if (strcmp(s, "month") == 0)
		return CLM_PERIOD_MONTH;
	if (strcmp(s, "quarter") == 0)
		return CLM_PERIOD_QUARTER;
	clm_invalid_arg(errmsg("period must be 'week', 'month' or 'quarter'"),
					errdetail("The value is '%s'.", s));
	return CLM_PERIOD_MONTH;	/* not reached */
}

/*
 * Calendar periods as absolute numbers: weeks from Monday 2000-01-03
 * (DateADT 2), months and quarters from year 0.  clm_period_number(d) is
 * the period holding day d (date_trunc's), clm_period_first_day(p) its
 * first day; p + 1 is the next period.
 */
#define CLM_FIRST_MONDAY 2

int32
clm_period_number(DateADT d, ClmPeriod unit)
{
	int			y,
				m,
				dd;

	if (unit == CLM_PERIOD_WEEK)
		return (int32) floor_div((int64) d - CLM_FIRST_MONDAY, 7);
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	if (unit == CLM_PERIOD_MONTH)
		return y * 12 + (m - 1);
	return y * 4 + (m - 1) / 3;
}

DateADT
clm_period_first_day(int32 p, ClmPeriod unit)
{
	int64		y;
	int			m;

	if (unit == CLM_PERIOD_WEEK)
		return (DateADT) ((int64) p * 7 + CLM_FIRST_MONDAY);
	if (unit == CLM_PERIOD_MONTH)
	{
		y = floor_div(p, 12);
		m = (int) (p - y * 12) + 1;
	}
	else
	{
		y = floor_div(p, 4);
		m = (int) (p - y * 4) * 3 + 1;
	}
	return (DateADT) (date2j((int) y, m, 1) - POSTGRES_EPOCH_JDATE);
}
