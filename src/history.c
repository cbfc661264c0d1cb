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
 * The state is the list of (day, amount) rows as they come, sorted and
 * merged per day by the final function (most customers have a few rows;
 * sorting once is cheaper than keeping them sorted).  A row's amount may be
 * NULL: a day's amount is the sum of its non-NULL amounts, NULL when all are.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/date.h"

#define HISTORY_STATE_VERSION 1
#define HISTORY_MAGIC 0xC1A7
/* one row of the state, serialized as day (4), isnull (1), amount (8) */
#define HISTORY_ROW_BYTES 13
/* rows of one customer: the state stays below MaxAllocSize */
#define HISTORY_MAX_ROWS ((int32) (MaxAllocSize / sizeof(HistoryRow)))

typedef struct HistoryRow
{
	int32		day;			/* DateADT: days since 2000-01-01 */
	bool		isnull;			/* the amount is NULL */
	float8		amount;
} HistoryRow;

/*
 * The first rows live inside the state, which then fills a 256-byte
 * allocation: most customers cost one allocation, and a row added touches
 * memory next to the state's header (the states of all groups are live at
 * once, so the fewer places a row touches, the fewer cache misses).
 */
#define HISTORY_INLINE_ROWS 14

typedef struct HistoryState
{
	uint16		magic;			/* HISTORY_MAGIC: a state of this aggregate */
	int32		n;
	int32		capacity;
	HistoryRow *rows;			/* inline_rows or palloc'd */
	HistoryRow	inline_rows[HISTORY_INLINE_ROWS];
} HistoryState;

static HistoryState *
new_state(MemoryContext aggctx, int32 capacity)
{
	HistoryState *st = MemoryContextAlloc(aggctx, sizeof(HistoryState));

	st->magic = HISTORY_MAGIC;
	st->n = 0;
	st->capacity = HISTORY_INLINE_ROWS;
	st->rows = st->inline_rows;
	if (capacity > HISTORY_INLINE_ROWS)
	{
		st->capacity = capacity;
		st->rows = MemoryContextAlloc(aggctx, capacity * sizeof(HistoryRow));
	}
	return st;
}

/*
 * room for extra more rows, doubling, in the current memory context (the
 * aggregate's); an error past HISTORY_MAX_ROWS
 */
static void
reserve_rows(HistoryState *st, int64 extra)
{
	int64		want = (int64) st->n + extra,
				cap = st->capacity;

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
	if (st->rows == st->inline_rows)
	{
		st->rows = palloc(cap * sizeof(HistoryRow));
		memcpy(st->rows, st->inline_rows, st->n * sizeof(HistoryRow));
	}
	else
		st->rows = repalloc(st->rows, cap * sizeof(HistoryRow));
	st->capacity = (int32) cap;
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
	HistoryRow *row;
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
	{
		MemoryContext old = MemoryContextSwitchTo(aggctx);

		reserve_rows(st, 1);
		MemoryContextSwitchTo(old);
	}
	row = &st->rows[st->n++];
	row->day = day;
	row->isnull = PG_ARGISNULL(2);
	row->amount = row->isnull ? 0.0 : PG_GETARG_FLOAT8(2);
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
	MemoryContext old;

	if (b == NULL || b->n == 0)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = new_state(aggctx, b->n);
	old = MemoryContextSwitchTo(aggctx);
	reserve_rows(a, b->n);
	MemoryContextSwitchTo(old);
	memcpy(a->rows + a->n, b->rows, b->n * sizeof(HistoryRow));
	a->n += b->n;
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(clm_history_serialize);
Datum
clm_history_serialize(PG_FUNCTION_ARGS)
{
	HistoryState *st;
	StringInfoData buf;
	int32		i;

	clm_agg_context(fcinfo, "clm.purchase_history_serialize");
	st = state_arg(fcinfo, 0);
	if (st == NULL)				/* not reached: serialize is strict */
		PG_RETURN_NULL();
	if ((int64) st->n * HISTORY_ROW_BYTES > (int64) MaxAllocSize - 64)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("clm.purchase_history: the state of one customer is too large to pass to a parallel worker"),
				 errhint("SET max_parallel_workers_per_gather = 0 for this query.")));
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, HISTORY_STATE_VERSION);
	pq_sendint32(&buf, st->n);
	for (i = 0; i < st->n; i++)
	{
		pq_sendint32(&buf, st->rows[i].day);
		pq_sendbyte(&buf, st->rows[i].isnull ? 1 : 0);
		pq_sendfloat8(&buf, st->rows[i].amount);
	}
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
	int			version;

	buf.data = VARDATA_ANY(raw);
	buf.len = VARSIZE_ANY_EXHDR(raw);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (buf.len < 5)
		clm_corrupt("clm.purchase_history state",
					errdetail("The state has %d bytes, at least 5 expected.", buf.len));
	version = pq_getmsgbyte(&buf);
	if (version != HISTORY_STATE_VERSION)
		clm_corrupt("clm.purchase_history state",
					errdetail("Format version %d, expected %d.", version, HISTORY_STATE_VERSION));
	n = pq_getmsgint(&buf, 4);
	if (n < 0 || n > HISTORY_MAX_ROWS || (int64) n * HISTORY_ROW_BYTES != buf.len - buf.cursor)
		clm_corrupt("clm.purchase_history state",
					errdetail("%d rows in %d bytes.", n, buf.len - buf.cursor));
	st = new_state(aggctx, n);
	for (i = 0; i < n; i++)
	{
		HistoryRow *row = &st->rows[i];
		int			isnull;

		row->day = pq_getmsgint(&buf, 4);
		isnull = pq_getmsgbyte(&buf);
		row->amount = pq_getmsgfloat8(&buf);
		if (DATE_NOT_FINITE(row->day) || (isnull != 0 && isnull != 1))
			clm_corrupt("clm.purchase_history state",
						errdetail("Row %d of %d is malformed.", i + 1, n));
		row->isnull = (isnull == 1);
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
	/*
	 * sorted in place: the state keeps the same rows, so another call of
	 * this function on it gives the same result (FINALFUNC_MODIFY =
	 * SHAREABLE), but no row may be added after
	 */
	qsort(st->rows, st->n, sizeof(HistoryRow), row_cmp);

	days = palloc(st->n * sizeof(Datum));
	orders = palloc(st->n * sizeof(Datum));
	amounts = palloc(st->n * sizeof(Datum));
	nulls = palloc(st->n * sizeof(bool));
	for (i = 0; i < st->n; k++)
	{
		int32		day = st->rows[i].day;
		int64		cnt = 0;
		float8		sum = 0.0;
		bool		day_null = true;

		for (; i < st->n && st->rows[i].day == day; i++)
		{
			cnt++;
			if (!st->rows[i].isnull)
			{
				sum += st->rows[i].amount;
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
