/*-------------------------------------------------------------------------
 *
 * summary.c
 *		clm.customer_summary(ts, amount, as_of [, unit]): the per-customer
 *		summary every other clm feature starts from.
 *
 * The convention is the "buy till you die" one (lifetimes'
 * summary_data_from_transaction_data): purchases are collapsed per calendar
 * day in the session time zone; frequency is the number of distinct purchase
 * days minus one; recency is the time from the first to the last purchase
 * day; tenure the time from the first purchase day to as_of's day; both in
 * the requested unit ('day', or 'week' = days / 7, which is the convention of
 * the published CDNOW summaries).  repeat_avg_amount is the mean of the
 * per-day totals of the repeat days (the first day excluded), 0 when there
 * are none: the "monetary value" the Gamma-Gamma model expects.
 *
 * The transition state keeps one (day, amount) entry per distinct day.  Input
 * that arrives in time order (the common case) collapses as it comes; other
 * input is sorted and merged when the array fills up, so memory stays
 * proportional to the number of distinct days.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#define SUMMARY_STATE_VERSION 1
#define SUMMARY_INITIAL_DAYS 8

typedef struct DayAmount
{
	int32		day;			/* local calendar day, days since 2000-01-01 */
	float8		amount;			/* total amount of that day */
} DayAmount;

typedef struct SummaryState
{
	TimestampTz as_of;
	int32		as_of_day;
	int32		unit_days;		/* 1 = day, 7 = week */
	TimestampTz first_ts;
	TimestampTz last_ts;
	int64		orders;
	float8		total;
	int32		ndays;
	int32		capacity;
	bool		compact;		/* days sorted, one entry per day */
	DayAmount  *days;
} SummaryState;

/*
 * unit_days: the number of days in a unit name, or an error naming "unit".
 */
static int32
unit_days(text *unit)
{
	const char *s = VARDATA_ANY(unit);
	int			len = VARSIZE_ANY_EXHDR(unit);

	if (len == 3 && strncmp(s, "day", 3) == 0)
		return 1;
	if (len == 4 && strncmp(s, "week", 4) == 0)
		return 7;
	clm_invalid_arg(errmsg("unit must be 'day' or 'week'"),
					errdetail("The value is '%s'.", text_to_cstring(unit)),
					errhint("Use 'week' for recency and tenure in weeks (days / 7)."));
	return 0;					/* keep the compiler quiet */
}

static int
day_cmp(const void *a, const void *b)
{
	int32		x = ((const DayAmount *) a)->day;
	int32		y = ((const DayAmount *) b)->day;

	return (x > y) - (x < y);
}

/*
 * compact_days: sort days[0..n) and merge equal days; returns the new count.
 */
static int32
compact_days(DayAmount *days, int32 n)
{
	int32		i,
				out = 0;

	if (n == 0)
		return 0;
	qsort(days, n, sizeof(DayAmount), day_cmp);
	for (i = 1; i < n; i++)
	{
		if (days[i].day == days[out].day)
			days[out].amount += days[i].amount;
		else
			days[++out] = days[i];
	}
	return out + 1;
}

/*
 * reserve_days: make room for "extra" more entries, compacting first so the
 * array grows only when the distinct days need it.
 */
static void
reserve_days(SummaryState *st, int32 extra)
{
	if (st->ndays + extra <= st->capacity)
		return;
	if (!st->compact)
	{
		st->ndays = compact_days(st->days, st->ndays);
		st->compact = true;
	}
	if (st->ndays + extra > st->capacity / 2)
	{
		int64		newcap = Max((int64) st->capacity * 2, (int64) st->ndays + extra);

		if (newcap > (int64) (MaxAllocSize / sizeof(DayAmount)))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct purchase days for one customer")));
		st->days = repalloc(st->days, newcap * sizeof(DayAmount));
		st->capacity = (int32) newcap;
	}
}

/*
 * new_state: an empty state in the aggregate's memory context.
 */
static SummaryState *
new_state(MemoryContext aggctx, int32 capacity)
{
	SummaryState *st = MemoryContextAllocZero(aggctx, sizeof(SummaryState));

	st->capacity = Max(capacity, 1);
	st->days = MemoryContextAlloc(aggctx, st->capacity * sizeof(DayAmount));
	st->compact = true;
	return st;
}

/*
 * check_same_group_args: as_of and unit describe the whole summary, so every
 * row (and every partial state) must agree on them.
 */
static void
check_same_group_args(SummaryState *st, TimestampTz as_of, int32 udays)
{
	if (st->as_of != as_of)
	{
		/* timestamptz_to_str returns a static buffer: copy one of the two */
		char	   *first = pstrdup(timestamptz_to_str(st->as_of));

		clm_invalid_arg(errmsg("as_of must be the same for every row of a customer"),
						errdetail("Found %s and %s.", first, timestamptz_to_str(as_of)),
						errhint("Pass one constant as_of, e.g. a literal or a parameter."));
	}
	if (st->unit_days != udays)
		clm_invalid_arg(errmsg("unit must be the same for every row of a customer"));
}

/*
 * summary_add: the transition step shared by the 3- and 4-argument forms.
 */
static Datum
summary_add(FunctionCallInfo fcinfo, int32 udays)
{
	MemoryContext aggctx;
	SummaryState *st;
	TimestampTz ts,
				as_of;
	float8		amount;
	int32		day;
	ClmDayCache *cache;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "customer_summary_trans called in non-aggregate context");

	st = PG_ARGISNULL(0) ? NULL : (SummaryState *) PG_GETARG_POINTER(0);

	/* rows with an unknown timestamp, amount or as_of are skipped */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}

	ts = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_GETARG_FLOAT8(2);
	as_of = PG_GETARG_TIMESTAMPTZ(3);

	if (TIMESTAMP_NOT_FINITE(ts))
		clm_invalid_arg(errmsg("ts must be a finite timestamp"),
						errdetail("The value is %s.", timestamptz_to_str(ts)),
						errhint("Filter out rows whose ts is infinity or -infinity."));
	if (TIMESTAMP_NOT_FINITE(as_of))
		clm_invalid_arg(errmsg("as_of must be a finite timestamp"),
						errdetail("The value is %s.", timestamptz_to_str(as_of)));
	clm_check_finite("amount", amount);
	if (ts > as_of)
	{
		char	   *ts_str = pstrdup(timestamptz_to_str(ts));

		clm_invalid_arg(errmsg("ts must not be after as_of"),
						errdetail("Transaction at %s is after as_of %s.",
								  ts_str, timestamptz_to_str(as_of)),
						errhint("Filter the transactions with WHERE ts <= as_of, or pass a later as_of."));
	}

	cache = (ClmDayCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ClmDayCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	day = clm_local_day(cache, ts);

	if (st == NULL)
	{
		st = new_state(aggctx, SUMMARY_INITIAL_DAYS);
		st->as_of = as_of;
		st->as_of_day = clm_local_day(cache, as_of);
		st->unit_days = udays;
		st->first_ts = st->last_ts = ts;
	}
	else
		check_same_group_args(st, as_of, udays);

	if (ts < st->first_ts)
		st->first_ts = ts;
	if (ts > st->last_ts)
		st->last_ts = ts;
	st->orders++;
	st->total += amount;

	/* in-order input collapses into the last entry without growing */
	if (st->ndays > 0 && st->days[st->ndays - 1].day == day)
		st->days[st->ndays - 1].amount += amount;
	else
	{
		/* reserve first: it may compact, which re-sorts the array */
		reserve_days(st, 1);
		if (st->ndays > 0 && st->days[st->ndays - 1].day > day)
			st->compact = false;
		st->days[st->ndays].day = day;
		st->days[st->ndays].amount = amount;
		st->ndays++;
	}
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(clm_summary_trans);
Datum
clm_summary_trans(PG_FUNCTION_ARGS)
{
	return summary_add(fcinfo, 1);
}

PG_FUNCTION_INFO_V1(clm_summary_trans_unit);
Datum
clm_summary_trans_unit(PG_FUNCTION_ARGS)
{
	int32		udays = 1;

	if (!PG_ARGISNULL(4))
		udays = unit_days(PG_GETARG_TEXT_PP(4));
	return summary_add(fcinfo, udays);
}

/*
 * copy_state: a copy of src in aggctx (combine needs one when its first
 * argument is NULL; the second input must not be modified).
 */
static SummaryState *
copy_state(MemoryContext aggctx, const SummaryState *src)
{
	SummaryState *st = new_state(aggctx, src->ndays);
	DayAmount  *days = st->days;
	int32		cap = st->capacity;

	*st = *src;
	st->days = days;
	st->capacity = cap;
	memcpy(st->days, src->days, src->ndays * sizeof(DayAmount));
	return st;
}

PG_FUNCTION_INFO_V1(clm_summary_combine);
Datum
clm_summary_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	SummaryState *a,
			   *b;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "customer_summary_combine called in non-aggregate context");

	a = PG_ARGISNULL(0) ? NULL : (SummaryState *) PG_GETARG_POINTER(0);
	b = PG_ARGISNULL(1) ? NULL : (SummaryState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		PG_RETURN_POINTER(copy_state(aggctx, b));

	check_same_group_args(a, b->as_of, b->unit_days);
	if (b->first_ts < a->first_ts)
		a->first_ts = b->first_ts;
	if (b->last_ts > a->last_ts)
		a->last_ts = b->last_ts;
	a->orders += b->orders;
	a->total += b->total;

	reserve_days(a, b->ndays);
	memcpy(a->days + a->ndays, b->days, b->ndays * sizeof(DayAmount));
	a->ndays += b->ndays;
	a->compact = false;
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(clm_summary_serialize);
Datum
clm_summary_serialize(PG_FUNCTION_ARGS)
{
	SummaryState *st = (SummaryState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		i;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "customer_summary_serialize called in non-aggregate context");

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SUMMARY_STATE_VERSION);
	pq_sendint64(&buf, st->as_of);
	pq_sendint32(&buf, st->as_of_day);
	pq_sendint32(&buf, st->unit_days);
	pq_sendint64(&buf, st->first_ts);
	pq_sendint64(&buf, st->last_ts);
	pq_sendint64(&buf, st->orders);
	pq_sendfloat8(&buf, st->total);
	pq_sendint32(&buf, st->ndays);
	for (i = 0; i < st->ndays; i++)
	{
		pq_sendint32(&buf, st->days[i].day);
		pq_sendfloat8(&buf, st->days[i].amount);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(clm_summary_deserialize);
Datum
clm_summary_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx;
	StringInfoData buf;
	SummaryState *st;
	int32		n,
				i;
	int			version;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "customer_summary_deserialize called in non-aggregate context");

	buf.data = VARDATA_ANY(raw);
	buf.len = VARSIZE_ANY_EXHDR(raw);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	version = pq_getmsgbyte(&buf);
	if (version != SUMMARY_STATE_VERSION)
		elog(ERROR, "unsupported customer_summary state version %d", version);

	st = new_state(aggctx, 1);
	st->as_of = pq_getmsgint64(&buf);
	st->as_of_day = pq_getmsgint(&buf, 4);
	st->unit_days = pq_getmsgint(&buf, 4);
	st->first_ts = pq_getmsgint64(&buf);
	st->last_ts = pq_getmsgint64(&buf);
	st->orders = pq_getmsgint64(&buf);
	st->total = pq_getmsgfloat8(&buf);
	n = pq_getmsgint(&buf, 4);
	if (n < 0 || (int64) n * 12 != buf.len - buf.cursor)
		elog(ERROR, "corrupt customer_summary state");
	reserve_days(st, n);
	for (i = 0; i < n; i++)
	{
		st->days[i].day = pq_getmsgint(&buf, 4);
		st->days[i].amount = pq_getmsgfloat8(&buf);
	}
	st->ndays = n;
	st->compact = false;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(clm_summary_final);
Datum
clm_summary_final(PG_FUNCTION_ARGS)
{
	SummaryState *st;
	DayAmount  *days;
	int32		n,
				freq,
				i;
	float8		span,
				unit,
				repeat;
	TupleDesc	tupdesc;
	Datum		values[11];
	bool		nulls[11] = {false};

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "customer_summary_final called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (SummaryState *) PG_GETARG_POINTER(0);
	if (st->orders == 0)
		PG_RETURN_NULL();

	/* final functions must not change the state: compact a copy if needed */
	days = st->days;
	n = st->ndays;
	if (!st->compact)
	{
		days = palloc(n * sizeof(DayAmount));
		memcpy(days, st->days, n * sizeof(DayAmount));
		n = compact_days(days, n);
	}

	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	if (tupdesc == NULL)
	{
		tupdesc = clm_result_tupdesc(fcinfo);
		fcinfo->flinfo->fn_extra = tupdesc;
	}

	freq = n - 1;
	unit = (float8) st->unit_days;
	span = (float8) (days[n - 1].day - days[0].day);

	values[0] = TimestampTzGetDatum(st->first_ts);
	values[1] = TimestampTzGetDatum(st->last_ts);
	values[2] = Int64GetDatum(st->orders);
	values[3] = Int32GetDatum(freq);
	values[4] = Float8GetDatum(span / unit);
	values[5] = Float8GetDatum((float8) (st->as_of_day - days[0].day) / unit);
	values[6] = Int32GetDatum(st->as_of_day - days[n - 1].day);
	values[7] = Float8GetDatum(st->total);
	values[8] = Float8GetDatum(st->total / (float8) st->orders);
	repeat = 0.0;
	for (i = 1; i < n; i++)
		repeat += days[i].amount;
	values[9] = Float8GetDatum(freq > 0 ? repeat / freq : 0.0);
	if (freq > 0)
		values[10] = Float8GetDatum(span / freq);
	else
		nulls[10] = true;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
