/*-------------------------------------------------------------------------
 *
 * history.c
 *		clm.purchase_history(day, amount): one customer's purchase days in
 *		order, with the orders and the amount of each day.
 *
 * The KPI and cohort functions need each customer's purchase days in order
 * (the day before and after each one, the orders so far).  Grouping the
 * transactions by customer and day and then sorting them by customer for
 * window functions costs several times a GROUP BY customer; this aggregate
 * is that GROUP BY customer, and its result is already in day order, so the
 * SQL above it unnests arrays instead of sorting rows.
 *
 * The state is the rows' days as they come, and their amounts once a row
 * has one; the final function sorts and merges them per day (most
 * customers have a few rows: sorting once is cheaper than keeping them
 * sorted).  A row's amount may be NULL: a day's amount is the sum of its
 * non-NULL amounts, NULL when all are.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/date.h"

#define HISTORY_STATE_VERSION 2
#define HISTORY_MAGIC 0xC1A7
/* flags of the serialized state: which arrays follow the days */
#define HISTORY_HAS_AMOUNTS 1
#define HISTORY_HAS_NULLS 2
/* rows of one customer: the final function's sort array stays below MaxAllocSize */
#define HISTORY_MAX_ROWS ((int32) (MaxAllocSize / sizeof(HistoryRow)))

/* a row as the final function sorts them */
typedef struct HistoryRow
{
	int32		day;			/* DateADT: days since 2000-01-01 */
	bool		isnull;			/* the amount is NULL */
	float8		amount;
} HistoryRow;

/*
 * The state keeps the rows' days, and their amounts only once a row has
 * one (clm.kpi passes none): 4 bytes a row, not 12.  The first days live
 * inside the state, which then fills a 128-byte allocation: most customers
 * cost one allocation, and a row added touches memory next to the state's
 * header (the states of all groups are live at once, so the fewer places a
 * row touches, the fewer cache misses).
 */
#define HISTORY_INLINE_DAYS 22

typedef struct HistoryState
{
	uint16		magic;			/* HISTORY_MAGIC: a state of this aggregate */
	int32		n;
	int32		capacity;		/* of days, amounts and nulls */
	int32	   *days;			/* inline_days or palloc'd */
	float8	   *amounts;		/* NULL while every amount so far is NULL */
	bool	   *nulls;			/* NULL unless amounts and NULLs mix */
	int32		inline_days[HISTORY_INLINE_DAYS];
} HistoryState;

static HistoryState *
new_state(MemoryContext aggctx, int32 capacity)
{
	HistoryState *st = MemoryContextAllocZero(aggctx, sizeof(HistoryState));

	st->magic = HISTORY_MAGIC;
	st->capacity = HISTORY_INLINE_DAYS;
	st->days = st->inline_days;
	if (capacity > HISTORY_INLINE_DAYS)
	{
		st->capacity = capacity;
		st->days = MemoryContextAlloc(aggctx, capacity * sizeof(int32));
	}
	return st;
}

/* whether row i's amount is NULL */
static inline bool
row_isnull(const HistoryState *st, int32 i)
{
	return st->amounts == NULL || (st->nulls != NULL && st->nulls[i]);
}

/*
 * room for extra more rows, doubling, in the aggregate's context; an
 * error past HISTORY_MAX_ROWS
 */
static void
reserve_rows(MemoryContext aggctx, HistoryState *st, int64 extra)
{
	int64		want = (int64) st->n + extra,
				cap = st->capacity;
	MemoryContext old;

	if (want <= cap)
		return;
	if (want > HISTORY_MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("clm.purchase_history: too many transactions for one customer"),
				 errdetail("A customer may have at most %d rows.", HISTORY_MAX_ROWS),
				 errhint("Check the customer column: one value may stand for many customers.")));
	while (cap < want)
		cap *= 2;
	cap = Min(cap, (int64) HISTORY_MAX_ROWS);
	old = MemoryContextSwitchTo(aggctx);
	if (st->days == st->inline_days)
	{
		st->days = palloc(cap * sizeof(int32));
		memcpy(st->days, st->inline_days, st->n * sizeof(int32));
	}
	else
		st->days = repalloc(st->days, cap * sizeof(int32));
	if (st->amounts)
		st->amounts = repalloc(st->amounts, cap * sizeof(float8));
	if (st->nulls)
		st->nulls = repalloc(st->nulls, cap * sizeof(bool));
	MemoryContextSwitchTo(old);
	st->capacity = (int32) cap;
}

/* add_row: one row (room reserved); the amount arrays appear when needed */
static void
add_row(MemoryContext aggctx, HistoryState *st, int32 day, bool isnull, float8 amount)
{
	st->days[st->n] = day;
	if (!isnull)
	{
		if (st->amounts == NULL)
		{
			st->amounts = MemoryContextAllocZero(aggctx, st->capacity * sizeof(float8));
			if (st->n > 0)
			{
				/* the rows before had no amount */
				st->nulls = MemoryContextAlloc(aggctx, st->capacity * sizeof(bool));
				memset(st->nulls, true, st->n);
			}
		}
		st->amounts[st->n] = amount;
		if (st->nulls)
			st->nulls[st->n] = false;
	}
	else if (st->amounts != NULL)
	{
		if (st->nulls == NULL)
			st->nulls = MemoryContextAllocZero(aggctx, st->capacity * sizeof(bool));
		st->nulls[st->n] = true;
		st->amounts[st->n] = 0.0;
	}
	st->n++;
}

/* state_arg: argument argno as a state of this aggregate, NULL if NULL */
static HistoryState *
state_arg(FunctionCallInfo fcinfo, int argno)
{
	HistoryState *st;

	if (PG_ARGISNULL(argno))
		return NULL;
	st = (HistoryState *) PG_GETARG_POINTER(argno);
	if (st->magic != HISTORY_MAGIC)
		clm_corrupt("clm.purchase_history state",
					errdetail("The state was not made by clm.purchase_history."));
	return st;
}

/* transition: one transaction row; rows without a day are skipped */
PG_FUNCTION_INFO_V1(clm_history_trans);
Datum
clm_history_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.purchase_history_trans");
	HistoryState *st = state_arg(fcinfo, 0);
	DateADT		day;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	day = PG_GETARG_DATEADT(1);
	if (DATE_NOT_FINITE(day))
		clm_invalid_arg(errmsg("day must be a finite date"),
						errdetail("The value is %s.", DATE_IS_NOBEGIN(day) ? "-infinity" : "infinity"));
	if (st == NULL)
		st = new_state(aggctx, 0);
	else if (st->n == st->capacity)
		reserve_rows(aggctx, st, 1);
	if (!PG_ARGISNULL(2))
		clm_check_amount("amount", PG_GETARG_FLOAT8(2));
	add_row(aggctx, st, day, PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0.0 : PG_GETARG_FLOAT8(2));
	PG_RETURN_POINTER(st);
}

/* combine: the rows of both (the second state is left as it is) */
PG_FUNCTION_INFO_V1(clm_history_combine);
Datum
clm_history_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.purchase_history_combine");
	HistoryState *a = state_arg(fcinfo, 0),
			   *b = state_arg(fcinfo, 1);
	int32		i;

	if (b == NULL || b->n == 0)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = new_state(aggctx, b->n);
	reserve_rows(aggctx, a, b->n);
	for (i = 0; i < b->n; i++)
		add_row(aggctx, a, b->days[i], row_isnull(b, i), b->amounts ? b->amounts[i] : 0.0);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(clm_history_serialize);
Datum
clm_history_serialize(PG_FUNCTION_ARGS)
{
	HistoryState *st;
	StringInfoData buf;
	int32		i;
	int			flags;

	clm_agg_context(fcinfo, "clm.purchase_history_serialize");
	st = state_arg(fcinfo, 0);
	if (st == NULL)				/* not reached: serialize is strict */
		PG_RETURN_NULL();
	if ((int64) st->n * 13 > (int64) MaxAllocSize - 64)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("clm.purchase_history: the state of one customer is too large to pass to a parallel worker"),
				 errhint("SET max_parallel_workers_per_gather = 0 for this query.")));
	flags = (st->amounts ? HISTORY_HAS_AMOUNTS : 0) | (st->nulls ? HISTORY_HAS_NULLS : 0);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, HISTORY_STATE_VERSION);
	pq_sendbyte(&buf, flags);
	pq_sendint32(&buf, st->n);
	for (i = 0; i < st->n; i++)
		pq_sendint32(&buf, st->days[i]);
	for (i = 0; st->amounts && i < st->n; i++)
		pq_sendfloat8(&buf, st->amounts[i]);
	for (i = 0; st->nulls && i < st->n; i++)
		pq_sendbyte(&buf, st->nulls[i] ? 1 : 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(clm_history_deserialize);
Datum
clm_history_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.purchase_history_deserialize");
	StringInfoData buf;
	HistoryState *st;
	int32		n,
				i;
	int			version,
				flags;
	int64		row_bytes;

	buf.data = VARDATA_ANY(raw);
	buf.len = VARSIZE_ANY_EXHDR(raw);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (buf.len < 6)
		clm_corrupt("clm.purchase_history state",
					errdetail("The state has %d bytes, at least 6 expected.", buf.len));
	version = pq_getmsgbyte(&buf);
	if (version != HISTORY_STATE_VERSION)
		clm_corrupt("clm.purchase_history state",
					errdetail("Format version %d, expected %d.", version, HISTORY_STATE_VERSION));
	flags = pq_getmsgbyte(&buf);
	n = pq_getmsgint(&buf, 4);
	row_bytes = 4 + ((flags & HISTORY_HAS_AMOUNTS) ? 8 : 0) + ((flags & HISTORY_HAS_NULLS) ? 1 : 0);
	if (flags > 3 || flags == HISTORY_HAS_NULLS || n < 0 || n > HISTORY_MAX_ROWS ||
		(int64) n * row_bytes != buf.len - buf.cursor)
		clm_corrupt("clm.purchase_history state",
					errdetail("%d rows in %d bytes (flags %d).", n, buf.len - buf.cursor, flags));
	st = new_state(aggctx, n);
	for (i = 0; i < n; i++)
	{
		st->days[i] = pq_getmsgint(&buf, 4);
		if (DATE_NOT_FINITE(st->days[i]))
			clm_corrupt("clm.purchase_history state",
						errdetail("Day %d of %d is not finite.", i + 1, n));
	}
	if (flags & HISTORY_HAS_AMOUNTS)
	{
		st->amounts = MemoryContextAlloc(aggctx, st->capacity * sizeof(float8));
		for (i = 0; i < n; i++)
			st->amounts[i] = pq_getmsgfloat8(&buf);
	}
	if (flags & HISTORY_HAS_NULLS)
	{
		st->nulls = MemoryContextAlloc(aggctx, st->capacity * sizeof(bool));
		for (i = 0; i < n; i++)
		{
			int			b = pq_getmsgbyte(&buf);

			if (b != 0 && b != 1)
				clm_corrupt("clm.purchase_history state",
							errdetail("Row %d of %d is malformed.", i + 1, n));
			st->nulls[i] = (b == 1);
		}
	}
	st->n = n;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

static int
row_cmp(const void *a, const void *b)
{
	int32		x = ((const HistoryRow *) a)->day,
				y = ((const HistoryRow *) b)->day;

	return (x > y) - (x < y);
}

/*
 * final: (days, orders, amounts), one element per distinct day in order;
 * NULL for a customer without rows.
 */
PG_FUNCTION_INFO_V1(clm_history_final);
Datum
clm_history_final(PG_FUNCTION_ARGS)
{
	HistoryState *st;
	HistoryRow *rows;
	TupleDesc	desc;
	Datum	   *days,
			   *orders,
			   *amounts;
	bool	   *nulls;
	int			dims[1],
				lbs[1] = {1};
	int32		i,
				k = 0;
	Datum		values[3];
	bool		isnull[3] = {false, false, false};

	clm_agg_context(fcinfo, "clm.purchase_history_final");
	st = state_arg(fcinfo, 0);
	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	desc = clm_result_tupdesc(fcinfo);
	/* the rows sorted by day, in a copy (the state stays as it is) */
	rows = palloc(st->n * sizeof(HistoryRow));
	for (i = 0; i < st->n; i++)
	{
		rows[i].day = st->days[i];
		rows[i].isnull = row_isnull(st, i);
		rows[i].amount = rows[i].isnull ? 0.0 : st->amounts[i];
	}
	qsort(rows, st->n, sizeof(HistoryRow), row_cmp);

	days = palloc(st->n * sizeof(Datum));
	orders = palloc(st->n * sizeof(Datum));
	amounts = palloc(st->n * sizeof(Datum));
	nulls = palloc(st->n * sizeof(bool));
	for (i = 0; i < st->n; k++)
	{
		int32		day = rows[i].day;
		int64		cnt = 0;
		float8		sum = 0.0;
		bool		day_null = true;

		if ((k & 4095) == 4095)
			CHECK_FOR_INTERRUPTS();

		for (; i < st->n && rows[i].day == day; i++)
		{
			cnt++;
			if (!rows[i].isnull)
			{
				sum += rows[i].amount;
				day_null = false;
			}
		}
		days[k] = DateADTGetDatum(day);
		orders[k] = Int64GetDatum(cnt);
		amounts[k] = Float8GetDatum(sum);
		nulls[k] = day_null;
	}
	dims[0] = k;
	values[0] = PointerGetDatum(construct_md_array(days, NULL, 1, dims, lbs,
												   DATEOID, sizeof(DateADT), true, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_md_array(orders, NULL, 1, dims, lbs,
												   INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_md_array(amounts, nulls, 1, dims, lbs,
												   FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, isnull)));
}
