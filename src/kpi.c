/*-------------------------------------------------------------------------
 *
 * kpi.c
 *		clm.kpi_series(days, first_day_orders, period, active_days,
 *		window_days): the counts behind clm.kpi, from every customer's
 *		purchase days (clm.purchase_history), in one pass.
 *
 * Every KPI count of a period is a number of (customer, event) pairs whose
 * event falls in the period: a first purchase, a first purchase in the
 * period, a return after a lapse, the last active day before a lapse.  A
 * period ends at a boundary e (exclusive end), and the periods an event
 * counts in are those whose end lies in a range (lo, hi] of days: one
 * calendar period, or every rolling window of window_days days ending at a
 * calendar boundary after the event.  So each event adds +1 at lo + 1 and
 * -1 at hi + 1 of a per-series difference array over days, and the count of
 * the period ending at e is the prefix sum at e.  The customers active and
 * known at a day are prefix sums of daily changes in the same way.  The
 * final function gives the prefix sums; SQL reads them at the periods'
 * starts and ends (clm.kpi).  The definitions are those of clm.kpi in
 * src/sql/85_kpi.sql and the README:
 *	new				first purchase (no day before)
 *	buyers			first purchase day in the period
 *	reactivated		first day in the period, the day before more than
 *					active_days before the period's start
 *	repeat_buyers	last day in the period, 2 orders or more by then
 *	lost			active_days after a purchase day with none after, in
 *					the period
 *	active(t)		a purchase day in [t - active_days, t)
 *	known(t)		a first purchase before t
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"

#define KPI_STATE_VERSION 1
#define KPI_MAGIC 0xC1A9
/* the same limits as clm.kpi_window and clm.kpi_periods (src/sql/85_kpi.sql) */
#define KPI_MAX_DAYS_ARG 3660
#define KPI_MAX_DATA_SPAN 36600
/* days the difference arrays may cover: the data, then active_days and a window */
#define KPI_MAX_SPAN (KPI_MAX_DATA_SPAN + 2 * KPI_MAX_DAYS_ARG + 200)

/* the series, in the order of clm.kpi_series' array columns */
enum
{
	K_ACTIVE,
	K_KNOWN,
	K_NEW,
	K_BUYERS,
	K_REACTIVATED,
	K_REPEAT,
	K_LOST,
	K_NSERIES
};

typedef struct KpiState
{
	uint16		magic;			/* KPI_MAGIC: a state of this aggregate */
	int16		unit;			/* ClmPeriod */
	int32		active_days;
	int32		window_days;	/* 0: calendar periods */
	int64		first_day;		/* purchase days seen (DateADT); */
	int64		last_day;		/* first_day > last_day: none yet */
	int64		base;			/* the day of delta[0] */
	int32		len;			/* days delta covers */
	int64	   *delta;			/* [len][K_NSERIES] daily changes */
} KpiState;

/* the first day of the calendar period holding day d (date_trunc's) */
static inline int64
period_start(int64 d, ClmPeriod unit)
{
	return clm_period_first_day(clm_period_number((DateADT) d, unit), unit);
}

/* the end (exclusive) of the calendar period holding day d */
static inline int64
period_end(int64 d, ClmPeriod unit)
{
	return clm_period_first_day(clm_period_number((DateADT) d, unit) + 1, unit);
}

/* the last end of a period holding day d: its calendar period's, or d + window */
static int64
last_end(const KpiState *st, int64 d)
{
	return st->window_days > 0 ? d + st->window_days : period_end(d, (ClmPeriod) st->unit);
}

static void
check_params(int unit, int32 active_days, int32 window_days)
{
	if (unit < CLM_PERIOD_WEEK || unit > CLM_PERIOD_QUARTER)
		clm_corrupt("clm.kpi_series state", errdetail("Unknown period %d.", unit));
	if (active_days < 1 || active_days > KPI_MAX_DAYS_ARG)
		clm_invalid_arg(errmsg("active_days must be between 1 and %d", KPI_MAX_DAYS_ARG),
						errdetail("The value is %d.", active_days));
	if (window_days < 0 || window_days > KPI_MAX_DAYS_ARG)
		clm_invalid_arg(errmsg("window_days must be between 1 and %d", KPI_MAX_DAYS_ARG),
						errdetail("The value is %d.", window_days));
}

static KpiState *
new_state(MemoryContext aggctx, int unit, int32 active_days, int32 window_days)
{
	KpiState   *st = MemoryContextAllocZero(aggctx, sizeof(KpiState));

	check_params(unit, active_days, window_days);
	st->magic = KPI_MAGIC;
	st->unit = (int16) unit;
	st->active_days = active_days;
	st->window_days = window_days;
	st->first_day = PG_INT64_MAX;
	st->last_day = PG_INT64_MIN;
	return st;
}

static KpiState *
state_arg(FunctionCallInfo fcinfo, int argno)
{
	KpiState   *st;

	if (PG_ARGISNULL(argno))
		return NULL;
	st = (KpiState *) PG_GETARG_POINTER(argno);
	if (st->magic != KPI_MAGIC)
		clm_corrupt("clm.kpi_series state",
					errdetail("The state was not made by clm.kpi_series."));
	return st;
}

/* days after the last purchase day a change can land on (add_customer) */
static inline int64
tail_days(const KpiState *st)
{
	return (int64) st->active_days + Max(st->window_days, 92) + 2;
}

/*
 * cover: purchase days [first, last] join the state: grow delta (in the
 * aggregate's context) to cover the days their changes land on, [first +
 * 1, last + tail_days].  The limit is checked on the purchase days seen,
 * not on what delta happens to cover (it grows by a quarter at a time), so
 * the same data give the same answer or error in any order and split.
 */
static void
cover(MemoryContext aggctx, KpiState *st, int64 first, int64 last)
{
	int64		f = Min(first, st->first_day),
				l = Max(last, st->last_day),
				new_lo,
				new_hi,
				n,
				keep_lo,
				keep_hi;
	int64	   *d;

	if (l - f > KPI_MAX_DATA_SPAN)
		clm_invalid_arg(errmsg("the purchase days span more than %d days", KPI_MAX_DATA_SPAN),
						errdetail("The first is %s, the last %s.",
								  pstrdup(DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum((DateADT) f)))),
								  DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum((DateADT) l)))),
						errhint("KPI periods cover at most 100 years of data; restrict the transactions to a period."));
	st->first_day = f;
	st->last_day = l;
	if (st->len > 0 && first + 1 >= st->base && last + tail_days(st) < st->base + st->len)
		return;
	/* all the days the changes so far land on, and a quarter more */
	new_lo = f + 1;
	new_hi = l + tail_days(st);
	n = new_hi - new_lo + 1;
	if (st->len > 0 && new_lo < st->base)
		new_lo -= Min(n / 4, KPI_MAX_SPAN - n);
	else if (st->len > 0)
		new_hi += Min(n / 4, KPI_MAX_SPAN - n);
	n = new_hi - new_lo + 1;
	d = MemoryContextAllocZero(aggctx, n * K_NSERIES * sizeof(int64));
	/* the changes so far are all inside the new range: copy the overlap */
	keep_lo = Max(new_lo, st->base);
	keep_hi = Min(new_hi, st->base + st->len - 1);
	if (st->len > 0 && keep_lo <= keep_hi)
		memcpy(d + (keep_lo - new_lo) * K_NSERIES, st->delta + (keep_lo - st->base) * K_NSERIES,
			   (Size) (keep_hi - keep_lo + 1) * K_NSERIES * sizeof(int64));
	if (st->delta)
		pfree(st->delta);
	st->delta = d;
	st->base = new_lo;
	st->len = (int32) n;
}

/* one day's change of series s (active, known); cover() made room for it */
static inline void
change_at(KpiState *st, int s, int64 day, int64 by)
{
	if (unlikely(day < st->base || day >= st->base + st->len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("clm.kpi_series: day " INT64_FORMAT " outside its range", day)));
	st->delta[(day - st->base) * K_NSERIES + s] += by;
}

/* an event counted in every period whose end lies in (lo, hi] */
static inline void
count_in_ends(KpiState *st, int s, int64 lo, int64 hi)
{
	if (hi <= lo)
		return;
	change_at(st, s, lo + 1, 1);
	change_at(st, s, hi + 1, -1);
}

/*
 * add_customer: the events of one customer's distinct purchase days in
 * order (n of them); repeat_from_first: 2 orders or more on the first day
 */
static void
add_customer(MemoryContext aggctx, KpiState *st, const DateADT *days, int n, bool repeat_from_first)
{
	int64		a = st->active_days,
				w = st->window_days;
	bool		calendar = (w == 0);
	ClmPeriod		unit = (ClmPeriod) st->unit;
	int			i;

	/* every change lands in [first + 1, last + a + one period or window + 1] */
	cover(aggctx, st, (int64) days[0], (int64) days[n - 1]);
	for (i = 0; i < n; i++)
	{
		int64		d = days[i],
					p = (i > 0) ? days[i - 1] : 0,
					nx = (i < n - 1) ? days[i + 1] : 0,
					end = last_end(st, d),
					l = d + a,
					l_end = last_end(st, l);
		bool		has_p = (i > 0),
					has_nx = (i < n - 1);

		if ((i & 4095) == 4095)
			CHECK_FOR_INTERRUPTS();
		if (!has_p)
		{
			count_in_ends(st, K_NEW, d, end);
			change_at(st, K_KNOWN, d + 1, 1);
		}
		if (calendar)
		{
			int64		start = period_start(d, unit);

			if (!has_p || p < start)
				count_in_ends(st, K_BUYERS, d, end);
			if (has_p && p < start - a)
				count_in_ends(st, K_REACTIVATED, d, end);
		}
		else
		{
			/* the window ending at e starts at e - w: p < e - w, e > p + w */
			count_in_ends(st, K_BUYERS, has_p ? Max(d, p + w) : d, end);
			if (has_p)
				count_in_ends(st, K_REACTIVATED, Max(d, p + w + a), end);
		}
		/* the last purchase day in the period ending at e: no next one before e */
		if (i > 0 || repeat_from_first)
			count_in_ends(st, K_REPEAT, d, has_nx ? Min(end, nx) : end);
		/* lost: l is the last active day unless a purchase follows by then */
		count_in_ends(st, K_LOST, l, has_nx ? Min(l_end, nx) : l_end);
		/* active from d + 1 to d + a: merged spans start after a gap */
		if (!has_p || p + a < d)
			change_at(st, K_ACTIVE, d + 1, 1);
		if (!has_nx || nx > l)
			change_at(st, K_ACTIVE, l + 1, -1);
	}
}

/*
 * transition: one customer, clm.kpi_series(days, first_day_orders, period,
 * active_days, window_days); a NULL or empty days array is skipped
 */
PG_FUNCTION_INFO_V1(clm_kpi_trans);
Datum
clm_kpi_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.kpi_series_trans");
	KpiState   *st = state_arg(fcinfo, 0);
	ArrayType  *arr;
	const DateADT *days;
	int			n,
				i,
				unit;
	int32		active_days,
				window_days;

	if (PG_ARGISNULL(3) || PG_ARGISNULL(4))
		clm_invalid_arg(errmsg("period and active_days must not be NULL"));
	unit = clm_parse_period(PG_GETARG_TEXT_PP(3));
	active_days = PG_GETARG_INT32(4);
	window_days = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);
	if (!PG_ARGISNULL(5) && window_days < 1)
		clm_invalid_arg(errmsg("window_days must be between 1 and %d", KPI_MAX_DAYS_ARG),
						errdetail("The value is %d.", window_days));
	if (st == NULL)
		st = new_state(aggctx, unit, active_days, window_days);
	else if (st->unit != unit || st->active_days != active_days || st->window_days != window_days)
		clm_invalid_arg(errmsg("period, active_days and window_days must be the same for every row"));
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);

	arr = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != DATEOID)
		clm_invalid_arg(errmsg("days must be a one-dimensional array of dates without NULLs"));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n == 0)
		PG_RETURN_POINTER(st);
	/* no NULLs (checked): the data follow the fixed header (ARR_DATA_PTR's
	 * conditional trips -Wsign-compare in PostgreSQL 15's array.h) */
	days = (const DateADT *) ((const char *) arr + ARR_OVERHEAD_NONULLS(ARR_NDIM(arr)));
	for (i = 0; i < n; i++)
	{
		if (DATE_NOT_FINITE(days[i]) || (i > 0 && days[i] <= days[i - 1]))
			clm_invalid_arg(errmsg("days must be finite, distinct and in order"),
							errdetail("Element %d is out of order or infinite.", i + 1),
							errhint("Pass the days of clm.purchase_history."));
		/* the periods after the last day must be dates too */
		if ((int64) days[i] + POSTGRES_EPOCH_JDATE + KPI_MAX_SPAN > PG_INT32_MAX)
			clm_invalid_arg(errmsg("days must be at least %d days before the last date PostgreSQL has", KPI_MAX_SPAN),
							errdetail("Element %d is too late.", i + 1));
	}
	add_customer(aggctx, st, days, n, !PG_ARGISNULL(2) && PG_GETARG_INT64(2) >= 2);
	PG_RETURN_POINTER(st);
}

/* combine: the sum of both states' changes (the second is left as it is) */
PG_FUNCTION_INFO_V1(clm_kpi_combine);
Datum
clm_kpi_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.kpi_series_combine");
	KpiState   *a = state_arg(fcinfo, 0),
			   *b = state_arg(fcinfo, 1);
	int64		i;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = new_state(aggctx, b->unit, b->active_days, b->window_days);
	else if (a->unit != b->unit || a->active_days != b->active_days || a->window_days != b->window_days)
		clm_invalid_arg(errmsg("period, active_days and window_days must be the same for every row"));
	if (b->len > 0 && b->first_day <= b->last_day)
	{
		/* b's changes lie in [b->first_day + 1, b->last_day + tail_days] */
		int64		lo = b->first_day + 1,
					hi = b->last_day + tail_days(b);

		cover(aggctx, a, b->first_day, b->last_day);
		lo = Max(lo, b->base);
		hi = Min(hi, b->base + b->len - 1);
		for (i = lo * K_NSERIES; i < (hi + 1) * K_NSERIES; i++)
			a->delta[i - a->base * K_NSERIES] += b->delta[i - b->base * K_NSERIES];
	}
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(clm_kpi_serialize);
Datum
clm_kpi_serialize(PG_FUNCTION_ARGS)
{
	KpiState   *st;
	StringInfoData buf;
	int64		i;

	clm_agg_context(fcinfo, "clm.kpi_series_serialize");
	st = state_arg(fcinfo, 0);
	if (st == NULL)				/* not reached: serialize is strict */
		PG_RETURN_NULL();
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, KPI_STATE_VERSION);
	pq_sendint16(&buf, st->unit);
	pq_sendint32(&buf, st->active_days);
	pq_sendint32(&buf, st->window_days);
	pq_sendint64(&buf, st->first_day);
	pq_sendint64(&buf, st->last_day);
	pq_sendint64(&buf, st->base);
	pq_sendint32(&buf, st->len);
	for (i = 0; i < (int64) st->len * K_NSERIES; i++)
		pq_sendint64(&buf, st->delta[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

#define KPI_FIXED_BYTES (1 + 2 + 4 + 4 + 8 + 8 + 8 + 4)

PG_FUNCTION_INFO_V1(clm_kpi_deserialize);
Datum
clm_kpi_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.kpi_series_deserialize");
	StringInfoData buf;
	KpiState   *st;
	int			version,
				unit;
	int32		active_days,
				window_days,
				len;
	int64		i;

	buf.data = VARDATA_ANY(raw);
	buf.len = VARSIZE_ANY_EXHDR(raw);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (buf.len < KPI_FIXED_BYTES)
		clm_corrupt("clm.kpi_series state",
					errdetail("The state has %d bytes, at least %d expected.", buf.len, KPI_FIXED_BYTES));
	version = pq_getmsgbyte(&buf);
	if (version != KPI_STATE_VERSION)
		clm_corrupt("clm.kpi_series state",
					errdetail("Format version %d, expected %d.", version, KPI_STATE_VERSION));
	unit = (int16) pq_getmsgint(&buf, 2);
	active_days = pq_getmsgint(&buf, 4);
	window_days = pq_getmsgint(&buf, 4);
	st = new_state(aggctx, unit, active_days, window_days);
	st->first_day = pq_getmsgint64(&buf);
	st->last_day = pq_getmsgint64(&buf);
	st->base = pq_getmsgint64(&buf);
	len = pq_getmsgint(&buf, 4);
	/* days are DateADT values: the range and the days seen fit in int32 */
	if (len < 0 || len > KPI_MAX_SPAN ||
		(int64) len * K_NSERIES * 8 != buf.len - buf.cursor ||
		st->base < PG_INT32_MIN || st->base > (int64) PG_INT32_MAX - KPI_MAX_SPAN ||
		(st->first_day <= st->last_day &&
		 (st->first_day < PG_INT32_MIN || st->last_day > PG_INT32_MAX)))
		clm_corrupt("clm.kpi_series state",
					errdetail("%d days in %d bytes.", len, buf.len - buf.cursor));
	if (len > 0)
	{
		st->delta = MemoryContextAlloc(aggctx, (Size) len * K_NSERIES * sizeof(int64));
		for (i = 0; i < (int64) len * K_NSERIES; i++)
			st->delta[i] = pq_getmsgint64(&buf);
	}
	st->len = len;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/*
 * final: (base, active[], known[], new[], buyers[], reactivated[],
 * repeat_buyers[], lost[], first_day, last_day): element i of each array
 * is the series' value at day base + i - 1; past the last element the
 * value stays that of the last.  The arrays cover exactly the days the
 * changes can land on, [first_day + 1, last_day + tail_days] (not the
 * slack of the state), so the result is the same in any row order and
 * under any parallel split.  NULL without purchase days.
 */
PG_FUNCTION_INFO_V1(clm_kpi_final);
Datum
clm_kpi_final(PG_FUNCTION_ARGS)
{
	KpiState   *st;
	TupleDesc	desc;
	Datum		values[K_NSERIES + 3];
	bool		nulls[K_NSERIES + 3];
	Datum	   *elems;
	int64		lo,
				hi;
	int			s;

	clm_agg_context(fcinfo, "clm.kpi_series_final");
	st = state_arg(fcinfo, 0);
	if (st == NULL || st->len == 0 || st->first_day > st->last_day)
		PG_RETURN_NULL();
	lo = st->first_day + 1;
	hi = st->last_day + tail_days(st);
	if (lo < st->base || hi >= st->base + st->len)
		clm_corrupt("clm.kpi_series state",
					errdetail("The days seen do not fit the days covered."));
	desc = clm_result_tupdesc(fcinfo);
	memset(nulls, 0, sizeof(nulls));
	elems = palloc((hi - lo + 1) * sizeof(Datum));
	values[0] = DateADTGetDatum((DateADT) lo);
	for (s = 0; s < K_NSERIES; s++)
	{
		int64		sum = 0;
		int64		i;

		/* the changes before lo are none: the sums start at 0 there */
		for (i = st->base; i <= hi; i++)
		{
			sum += st->delta[(i - st->base) * K_NSERIES + s];
			if (i >= lo)
				elems[i - lo] = Int64GetDatum(sum);
		}
		values[1 + s] = PointerGetDatum(construct_array(elems, (int) (hi - lo + 1), INT8OID, sizeof(int64),
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
	values[K_NSERIES + 1] = DateADTGetDatum((DateADT) st->first_day);
	values[K_NSERIES + 2] = DateADTGetDatum((DateADT) st->last_day);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
