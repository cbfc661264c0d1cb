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
 * The transition state keeps the distinct purchase days as a sorted array of
 * day numbers (inside the state for up to 14 days, which makes the state
 * fill a 128-byte allocation exactly, so most customers cost one allocation)
 * and the running total of the earliest day.  Time-ordered input, the
 * common case, costs one comparison per row.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#define SUMMARY_STATE_VERSION 2
/* serialized: version byte, 6 x 8-byte fields, 3 x 4-byte fields */
#define SUMMARY_FIXED_BYTES (1 + 6 * 8 + 3 * 4)
#define SUMMARY_INLINE_DAYS 14
#define SUMMARY_MAGIC 0xC1A5

/*
 * The state.  Only the first purchase day's amount is needed per day
 * (repeat_avg_amount = (total - first day's total) / frequency), so the days
 * themselves are kept as a sorted array of distinct int32 day numbers: the
 * first ones inside the state (one allocation for most customers), more in
 * a separate array that doubles as needed.
 */
typedef struct SummaryState
{
	uint16		magic;			/* SUMMARY_MAGIC: a state of this aggregate */
	int8		unit_days;		/* 1 = day, 7 = week */
	bool		deserialized;	/* made by deserialize, referenced by nothing else */
	int32		as_of_day;
	TimestampTz as_of;
	TimestampTz first_ts;
	TimestampTz last_ts;
	int64		orders;
	float8		total;
	float8		first_day_amount;	/* total of the purchases on days[0] */
	int32		ndays;
	int32		capacity;
	int32	   *days;			/* sorted, distinct; inline_days or palloc'd */
	int32		inline_days[SUMMARY_INLINE_DAYS];
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

/*
 * reserve_days: make room for n distinct days in total.
 */
static void
reserve_days(MemoryContext aggctx, SummaryState *st, int64 n)
{
	int64		newcap;
	int32	   *newdays;

	if (n <= st->capacity)
		return;
	newcap = Max((int64) st->capacity * 2, n);
	if (newcap > (int64) (MaxAllocSize / sizeof(int32)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct purchase days for one customer")));
	newdays = MemoryContextAlloc(aggctx, newcap * sizeof(int32));
	memcpy(newdays, st->days, st->ndays * sizeof(int32));
	if (st->days != st->inline_days)
		pfree(st->days);
	st->days = newdays;
	st->capacity = (int32) newcap;
}

/*
 * add_day: insert a day into the sorted set unless it is there already.
 * The last-day check first makes time-ordered input O(1) per row.
 */
static void
add_day(MemoryContext aggctx, SummaryState *st, int32 day)
{
	int32		lo = 0,
				hi = st->ndays;

	if (hi > 0 && st->days[hi - 1] <= day)
	{
		if (st->days[hi - 1] == day)
			return;
		lo = hi;
	}
	else
	{
		while (lo < hi)
		{
			int32		mid = lo + (hi - lo) / 2;

			if (st->days[mid] < day)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < st->ndays && st->days[lo] == day)
			return;
	}
	reserve_days(aggctx, st, (int64) st->ndays + 1);
	memmove(st->days + lo + 1, st->days + lo, (st->ndays - lo) * sizeof(int32));
	st->days[lo] = day;
	st->ndays++;
}

/*
 * new_state: an empty state in the aggregate's memory context.
 */
static SummaryState *
new_state(MemoryContext aggctx)
{
	SummaryState *st = MemoryContextAllocZero(aggctx, sizeof(SummaryState));

	st->magic = SUMMARY_MAGIC;
	st->days = st->inline_days;
	st->capacity = SUMMARY_INLINE_DAYS;
	return st;
}

/*
 * clm_check_amount: an amount must be finite (22023) and at most
 * CLM_MAX_AMOUNT in magnitude (22003).  With that, a sum of fewer than 10^8
 * amounts cannot overflow, so whether a sum is finite does not depend on
 * the order of its terms (1e308 + 1e308 - 1e308 overflows in one order and
 * not in another).
 */
void
clm_check_amount(const char *argname, double value)
{
	clm_check_finite(argname, value);
	if (fabs(value) > CLM_MAX_AMOUNT)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", argname),
				 errdetail("The value is %g; at most %g in magnitude is allowed.", value, CLM_MAX_AMOUNT),
				 errhint("Sums of such values overflow float8: express them in a larger unit.")));
}

/*
 * clm_check_sum: a result computed from sums must be finite; past 10^8
 * rows of amounts near CLM_MAX_AMOUNT it may not be: ERROR 22003, never
 * Infinity or NaN
 */
void
clm_check_sum(const char *what, double value)
{
	if (isnan(value) || isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what),
				 errdetail("The sum of the amounts overflows float8."),
				 errhint("Express the amounts in a larger unit.")));
}

/*
 * state_arg: argument argno as a state of this aggregate, NULL if NULL.  An
 * aggregate built by a superuser from our functions and someone else's
 * internal-state functions would hand us a foreign state: refuse it.
 */
static SummaryState *
state_arg(FunctionCallInfo fcinfo, int argno)
{
	SummaryState *st;

	if (PG_ARGISNULL(argno))
		return NULL;
	st = (SummaryState *) PG_GETARG_POINTER(argno);
	if (st->magic != SUMMARY_MAGIC)
		clm_corrupt("clm.customer_summary state",
					errdetail("The state was not made by clm.customer_summary."));
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

	aggctx = clm_agg_context(fcinfo, "clm.customer_summary_trans");
	st = state_arg(fcinfo, 0);

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
	clm_check_amount("amount", amount);
	clm_check_not_after(ts, as_of);

	cache = (ClmDayCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ClmDayCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	day = clm_local_day(cache, ts);

	if (st == NULL)
	{
		st = new_state(aggctx);
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

	/* keep the first day's total: a new earliest day restarts it */
	if (st->ndays == 0 || day < st->days[0])
		st->first_day_amount = amount;
	else if (day == st->days[0])
		st->first_day_amount += amount;
	add_day(aggctx, st, day);
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
	SummaryState *st = new_state(aggctx);
	int32	   *days = st->days;
	int32		cap = st->capacity;

	*st = *src;
	st->deserialized = false;
	st->days = days;
	st->capacity = cap;
	st->ndays = 0;
	reserve_days(aggctx, st, src->ndays);
	memcpy(st->days, src->days, src->ndays * sizeof(int32));
	st->ndays = src->ndays;
	return st;
}

/*
 * merge_days: a |= b for sorted distinct day sets.
 */
static void
merge_days(MemoryContext aggctx, SummaryState *a, const SummaryState *b)
{
	int32	   *out = palloc((a->ndays + b->ndays) * sizeof(int32));
	int32		i = 0,
				j = 0,
				n = 0;

	while (i < a->ndays || j < b->ndays)
	{
		int32		d;

		if (j >= b->ndays || (i < a->ndays && a->days[i] <= b->days[j]))
			d = a->days[i++];
		else
			d = b->days[j++];
		if (n == 0 || out[n - 1] != d)
			out[n++] = d;
	}
	reserve_days(aggctx, a, n);
	memcpy(a->days, out, n * sizeof(int32));
	a->ndays = n;
	pfree(out);
}

PG_FUNCTION_INFO_V1(clm_summary_combine);
Datum
clm_summary_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	SummaryState *a,
			   *b;

	aggctx = clm_agg_context(fcinfo, "clm.customer_summary_combine");
	a = state_arg(fcinfo, 0);
	b = state_arg(fcinfo, 1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
	{
		/*
		 * A state deserialize just made (in the aggregate's context, and
		 * handed to nobody else) becomes the group's state as it is: a copy
		 * would leave the original behind in the aggregate's memory for the
		 * rest of the query, 144 bytes per customer of the final phase.
		 */
		if (b->deserialized)
		{
			b->deserialized = false;
			PG_RETURN_POINTER(b);
		}
		PG_RETURN_POINTER(copy_state(aggctx, b));
	}

	check_same_group_args(a, b->as_of, b->unit_days);
	if (b->first_ts < a->first_ts)
		a->first_ts = b->first_ts;
	if (b->last_ts > a->last_ts)
		a->last_ts = b->last_ts;
	a->orders += b->orders;
	a->total += b->total;
	if (b->days[0] < a->days[0])
		a->first_day_amount = b->first_day_amount;
	else if (b->days[0] == a->days[0])
		a->first_day_amount += b->first_day_amount;
	merge_days(aggctx, a, b);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(clm_summary_serialize);
Datum
clm_summary_serialize(PG_FUNCTION_ARGS)
{
	SummaryState *st;
	StringInfoData buf;
	int32		i;

	clm_agg_context(fcinfo, "clm.customer_summary_serialize");
	st = state_arg(fcinfo, 0);
	if (st == NULL)				/* not reached: serialize is strict */
		PG_RETURN_NULL();

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SUMMARY_STATE_VERSION);
	pq_sendint64(&buf, st->as_of);
	pq_sendint64(&buf, st->first_ts);
	pq_sendint64(&buf, st->last_ts);
	pq_sendint64(&buf, st->orders);
	pq_sendfloat8(&buf, st->total);
	pq_sendfloat8(&buf, st->first_day_amount);
	pq_sendint32(&buf, st->as_of_day);
	pq_sendint32(&buf, st->unit_days);
	pq_sendint32(&buf, st->ndays);
	for (i = 0; i < st->ndays; i++)
		pq_sendint32(&buf, st->days[i]);
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
				i,
				udays;
	int			version;

	aggctx = clm_agg_context(fcinfo, "clm.customer_summary_deserialize");

	buf.data = VARDATA_ANY(raw);
	buf.len = VARSIZE_ANY_EXHDR(raw);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	/* version byte and fixed fields first: pq_getmsg* checks each read */
	if (buf.len < SUMMARY_FIXED_BYTES)
		clm_corrupt("clm.customer_summary state",
					errdetail("The state has %d bytes, at least %d expected.",
							  buf.len, SUMMARY_FIXED_BYTES));
	version = pq_getmsgbyte(&buf);
	if (version != SUMMARY_STATE_VERSION)
		clm_corrupt("clm.customer_summary state",
					errdetail("Format version %d, expected %d.", version, SUMMARY_STATE_VERSION));

	st = new_state(aggctx);
	st->deserialized = true;
	st->as_of = pq_getmsgint64(&buf);
	st->first_ts = pq_getmsgint64(&buf);
	st->last_ts = pq_getmsgint64(&buf);
	st->orders = pq_getmsgint64(&buf);
	st->total = pq_getmsgfloat8(&buf);
	st->first_day_amount = pq_getmsgfloat8(&buf);
	st->as_of_day = pq_getmsgint(&buf, 4);
	udays = pq_getmsgint(&buf, 4);
	st->unit_days = (udays == 1 || udays == 7) ? udays : 0;
	n = pq_getmsgint(&buf, 4);
	if (n <= 0 || (int64) n * 4 != buf.len - buf.cursor)
		clm_corrupt("clm.customer_summary state",
					errdetail("%d days in %d bytes.", n, buf.len - buf.cursor));
	if ((st->unit_days != 1 && st->unit_days != 7) || st->orders < n ||
		st->first_ts > st->last_ts || st->last_ts > st->as_of ||
		isnan(st->total) || isnan(st->first_day_amount))	/* overflow (inf) is final's error */
		clm_corrupt("clm.customer_summary state",
					errdetail("The fields are inconsistent."));
	reserve_days(aggctx, st, n);
	for (i = 0; i < n; i++)
	{
		st->days[i] = pq_getmsgint(&buf, 4);
		/* sorted, distinct and not after as_of: final's differences fit */
		if ((i > 0 && st->days[i] <= st->days[i - 1]) ||
			st->days[i] > st->as_of_day || st->as_of_day - (int64) st->days[i] > PG_INT32_MAX)
			clm_corrupt("clm.customer_summary state",
						errdetail("Day %d of %d is out of order or range.", i + 1, n));
	}
	st->ndays = n;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(clm_summary_final);
Datum
clm_summary_final(PG_FUNCTION_ARGS)
{
	SummaryState *st;
	int32		n,
				freq;
	float8		span,
				unit;
	TupleDesc	tupdesc;
	Datum		values[11];
	bool		nulls[11] = {false};

	clm_agg_context(fcinfo, "clm.customer_summary_final");
	st = state_arg(fcinfo, 0);
	if (st == NULL || st->orders == 0)
		PG_RETURN_NULL();

	tupdesc = clm_result_tupdesc(fcinfo);

	n = st->ndays;
	freq = n - 1;
	unit = (float8) st->unit_days;
	span = (float8) (st->days[n - 1] - st->days[0]);

	values[0] = TimestampTzGetDatum(st->first_ts);
	values[1] = TimestampTzGetDatum(st->last_ts);
	values[2] = Int64GetDatum(st->orders);
	values[3] = Int32GetDatum(freq);
	values[4] = Float8GetDatum(span / unit);
	values[5] = Float8GetDatum((float8) (st->as_of_day - st->days[0]) / unit);
	values[6] = Int32GetDatum(st->as_of_day - st->days[n - 1]);
	clm_check_sum("total_amount", st->total);
	clm_check_sum("repeat_avg_amount", st->total - st->first_day_amount);
	values[7] = Float8GetDatum(st->total);
	values[8] = Float8GetDatum(st->total / (float8) st->orders);
	values[9] = Float8GetDatum(freq > 0 ? (st->total - st->first_day_amount) / freq : 0.0);
	if (freq > 0)
		values[10] = Float8GetDatum(span / freq);
	else
		nulls[10] = true;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * check_as_of(as_of timestamptz) RETURNS timestamptz: as_of, or ERROR 22023
 * when it is infinite (the message customer_summary gives)
 */
PG_FUNCTION_INFO_V1(clm_check_as_of);
Datum
clm_check_as_of(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(0);

	if (TIMESTAMP_NOT_FINITE(as_of))
		clm_invalid_arg(errmsg("as_of must be a finite timestamp"),
						errdetail("The value is %s.", timestamptz_to_str(as_of)),
						errhint("Pass a time at which to take the customers' state, or NULL for now()."));
	PG_RETURN_TIMESTAMPTZ(as_of);
}
