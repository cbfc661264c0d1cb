/*-------------------------------------------------------------------------
 *
 * clm.c
 *		Module entry point and small helpers shared by all of clm.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "pgtime.h"
#include "utils/datetime.h"

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
	if (cache->tz != (const void *) session_timezone)
	{
		long		off;

		cache->tz = session_timezone;
		cache->fixed = pg_get_timezone_offset(session_timezone, &off);
		cache->gmtoff = cache->fixed ? off : 0;
		cache->lo = 1;
		cache->hi = 0;			/* empty interval: forces a lookup */
	}

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
 * function returns, built once per call site and kept in fn_extra's context.
 */
TupleDesc
clm_result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	MemoryContext old;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	MemoryContextSwitchTo(old);
	return tupdesc;
}
