/*-------------------------------------------------------------------------
 *
 * cohort.c
 *		clm.cohort_series(days, orders, amounts, period, to_day): the cells of
 *		clm.cohorts, from every customer's purchase days (clm.purchase_history),
 *		in one pass.
 *
 * A customer's cohort is the calendar period of the first purchase; each
 * cell (cohort, period) counts the customers of the cohort buying in the
 * period (once each, at their first purchase day in it), their orders and
 * revenue, and the customers whose last purchase falls in it (rolling
 * retention is the number of those in this period or later).  The cells sit
 * in a square of periods x periods indexed by absolute period numbers from
 * lo, grown as customers come.  The final function gives, per cohort row,
 * the cells from its own period to the last period with a purchase, with
 * the rolling counts and running revenue already summed; clm.cohorts turns
 * them into rows.  Days after to_day are left out.
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

#define COHORT_STATE_VERSION 2
#define COHORT_MAGIC 0xC1AB
/* periods a square may span: 83 years of months, 19 of weeks (32 MB) */
#define COHORT_MAX_PERIODS 1000

typedef struct CohortCell
{
	int64		customers;		/* buying in the period */
	int64		orders;
	int64		lasts;			/* last purchase in the period */
	float8		revenue;		/* NULL amounts count as 0 */
} CohortCell;

typedef struct CohortState
{
	uint16		magic;			/* COHORT_MAGIC: a state of this aggregate */
	int16		unit;			/* ClmPeriod */
	bool		has_to_day;
	int32		to_day;
	int32		lo;				/* absolute period number of row and column 0 */
	int32		r;				/* the square's side (0: no customer yet) */
	int32		first;			/* the first cohort (PG_INT32_MAX: none yet) */
	int32		last;			/* the last period with a purchase */
	CohortCell *cells;			/* [r][r]: cohort lo + i, period lo + j */
} CohortState;

static CohortState *
state_arg(FunctionCallInfo fcinfo, int argno)
{
	CohortState *st;

	if (PG_ARGISNULL(argno))
		return NULL;
	st = (CohortState *) PG_GETARG_POINTER(argno);
	if (st->magic != COHORT_MAGIC)
		clm_corrupt("clm.cohort_series state",
					errdetail("The state was not made by clm.cohort_series."));
	return st;
}

static CohortState *
new_state(MemoryContext aggctx, int unit, bool has_to_day, int32 to_day)
{
	CohortState *st = MemoryContextAllocZero(aggctx, sizeof(CohortState));

	if (unit < CLM_PERIOD_WEEK || unit > CLM_PERIOD_QUARTER)
		clm_corrupt("clm.cohort_series state", errdetail("Unknown period %d.", unit));
	st->magic = COHORT_MAGIC;
	st->unit = (int16) unit;
	st->has_to_day = has_to_day;
	st->to_day = to_day;
	st->first = PG_INT32_MAX;
	st->last = PG_INT32_MIN;
	return st;
}

/*
 * cover: a customer of cohort a buying up to period b joins: grow the
 * square (in the aggregate's context) to hold periods [a, b].  The limit is
 * checked on the periods the purchases span (first cohort to last period),
 * not on the square, which grows with room ahead: the same data give the
 * same answer or error in any order and split.
 */
static void
cover(MemoryContext aggctx, CohortState *st, int32 a, int32 b)
{
	int64		lo = Min(a, st->first),
				hi = Max(b, st->last),
				r,
				i,
				keep_lo,
				keep_hi;
	CohortCell *cells;

	if (hi - lo + 1 > COHORT_MAX_PERIODS)
		clm_invalid_arg(errmsg("the purchases span more than %d periods", COHORT_MAX_PERIODS),
						errdetail("They span %lld periods.", (long long) (hi - lo + 1)),
						errhint("Use a longer period (month or quarter) or restrict the transactions."));
	st->first = (int32) lo;
	st->last = (int32) hi;
	if (st->r > 0 && a >= st->lo && b < (int64) st->lo + st->r)
		return;
	/* some room ahead: later customers come in later periods */
	if (st->r > 0)
		hi += Min((hi - lo + 1) / 4 + 4, COHORT_MAX_PERIODS - (hi - lo + 1));
	r = hi - lo + 1;
	cells = MemoryContextAllocZero(aggctx, (Size) (r * r) * sizeof(CohortCell));
	/* the cells so far lie in [first, last] x [first, last]: copy the overlap */
	keep_lo = Max(lo, st->lo);
	keep_hi = Min(hi, (int64) st->lo + st->r - 1);
	for (i = keep_lo; st->r > 0 && i <= keep_hi; i++)
		memcpy(cells + (i - lo) * r + (keep_lo - lo),
			   st->cells + (i - st->lo) * st->r + (keep_lo - st->lo),
			   (keep_hi - keep_lo + 1) * sizeof(CohortCell));
	if (st->cells)
		pfree(st->cells);
	st->cells = cells;
	st->lo = (int32) lo;
	st->r = (int32) r;
}

static inline CohortCell *
cell(CohortState *st, int32 cohort, int32 period)
{
	return &st->cells[(int64) (cohort - st->lo) * st->r + (period - st->lo)];
}

/*
 * transition: one customer, clm.cohort_series(days, orders, amounts, period,
 * to_day): days distinct and in order, orders and amounts one per day
 * (amounts may be NULL or hold NULLs: counted as 0)
 */
PG_FUNCTION_INFO_V1(clm_cohort_trans);
Datum
clm_cohort_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.cohort_series_trans");
	CohortState *st = state_arg(fcinfo, 0);
	ArrayType  *darr,
			   *oarr;
	Datum	   *dv,
			   *ov,
			   *av = NULL;
	bool	   *an = NULL;
	int			n,
				no,
				na = 0,
				i,
				unit;
	int32		cohort,
				prev_p = 0,
				p = 0;
	CohortCell *c = NULL;

	if (PG_ARGISNULL(3))
		clm_invalid_arg(errmsg("period must not be NULL"));
	unit = clm_parse_period(PG_GETARG_TEXT_PP(3));
	if (st == NULL)
		st = new_state(aggctx, unit, !PG_ARGISNULL(4), PG_ARGISNULL(4) ? 0 : PG_GETARG_DATEADT(4));
	else if (st->unit != unit || st->has_to_day != !PG_ARGISNULL(4) ||
			 (!PG_ARGISNULL(4) && st->to_day != PG_GETARG_DATEADT(4)))
		clm_invalid_arg(errmsg("period and to_day must be the same for every row"));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);

	darr = PG_GETARG_ARRAYTYPE_P(1);
	oarr = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(darr) > 1 || ARR_NDIM(oarr) > 1)
		clm_invalid_arg(errmsg("days, orders and amounts must be one-dimensional arrays"));
	deconstruct_array(darr, DATEOID, sizeof(DateADT), true, TYPALIGN_INT, &dv, NULL, &n);
	deconstruct_array(oarr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ov, NULL, &no);
	if (!PG_ARGISNULL(5))
	{
		ArrayType  *aarr = PG_GETARG_ARRAYTYPE_P(5);

		if (ARR_NDIM(aarr) > 1)
			clm_invalid_arg(errmsg("days, orders and amounts must be one-dimensional arrays"));
		deconstruct_array(aarr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &av, &an, &na);
	}
	if (ARR_HASNULL(darr) || ARR_HASNULL(oarr) || no != n || (av != NULL && na != n))
		clm_invalid_arg(errmsg("days, orders and amounts must have one element per day and no NULL day or orders"),
						errhint("Pass the arrays of clm.purchase_history."));
	if (n == 0 || (st->has_to_day && DatumGetDateADT(dv[0]) > st->to_day))
		PG_RETURN_POINTER(st);
	for (i = 0; i < n; i++)
	{
		DateADT		d = DatumGetDateADT(dv[i]);

		if ((i & 4095) == 4095)
			CHECK_FOR_INTERRUPTS();
		if (DATE_NOT_FINITE(d) || (i > 0 && d <= DatumGetDateADT(dv[i - 1])) ||
			DatumGetInt64(ov[i]) < 1)
			clm_invalid_arg(errmsg("days must be finite, distinct and in order, and orders positive"),
							errdetail("Element %d is not.", i + 1),
							errhint("Pass the arrays of clm.purchase_history."));
	}
	/* the days on or before to_day: a prefix */
	if (st->has_to_day)
		while (n > 0 && DatumGetDateADT(dv[n - 1]) > st->to_day)
			n--;

	cohort = clm_period_number(DatumGetDateADT(dv[0]), (ClmPeriod) st->unit);
	cover(aggctx, st, cohort, clm_period_number(DatumGetDateADT(dv[n - 1]), (ClmPeriod) st->unit));
	for (i = 0; i < n; i++)
	{
		if ((i & 4095) == 4095)
			CHECK_FOR_INTERRUPTS();
		p = clm_period_number(DatumGetDateADT(dv[i]), (ClmPeriod) st->unit);
		if (i == 0 || p != prev_p)
		{
			c = cell(st, cohort, p);
			c->customers++;		/* the customer's first day in p */
			prev_p = p;
		}
		c->orders += DatumGetInt64(ov[i]);
		if (av != NULL && !an[i])
		{
			/* a day's amount is a sum (it may pass CLM_MAX_AMOUNT) */
			clm_check_finite("amounts", DatumGetFloat8(av[i]));
			c->revenue += DatumGetFloat8(av[i]);
		}
	}
	c->lasts++;
	PG_RETURN_POINTER(st);
}

/* combine: the sum of both squares (the second is left as it is) */
PG_FUNCTION_INFO_V1(clm_cohort_combine);
Datum
clm_cohort_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.cohort_series_combine");
	CohortState *a = state_arg(fcinfo, 0),
			   *b = state_arg(fcinfo, 1);
	int32		i,
				j;

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = new_state(aggctx, b->unit, b->has_to_day, b->to_day);
	else if (a->unit != b->unit || a->has_to_day != b->has_to_day || a->to_day != b->to_day)
		clm_invalid_arg(errmsg("period and to_day must be the same for every row"));
	if (b->r > 0 && b->first <= b->last)
	{
		/* b's cells lie in [first, last] x [first, last] */
		cover(aggctx, a, b->first, b->last);
		for (i = b->first; i <= b->last; i++)
			for (j = i; j <= b->last; j++)
			{
				CohortCell *s = cell(b, i, j),
						   *t = cell(a, i, j);

				t->customers += s->customers;
				t->orders += s->orders;
				t->lasts += s->lasts;
				t->revenue += s->revenue;
			}
	}
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(clm_cohort_serialize);
Datum
clm_cohort_serialize(PG_FUNCTION_ARGS)
{
	CohortState *st;
	StringInfoData buf;
	int64		i;

	clm_agg_context(fcinfo, "clm.cohort_series_serialize");
	st = state_arg(fcinfo, 0);
	if (st == NULL)				/* not reached: serialize is strict */
		PG_RETURN_NULL();
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, COHORT_STATE_VERSION);
	pq_sendint16(&buf, st->unit);
	pq_sendbyte(&buf, st->has_to_day ? 1 : 0);
	pq_sendint32(&buf, st->to_day);
	pq_sendint32(&buf, st->lo);
	pq_sendint32(&buf, st->r);
	pq_sendint32(&buf, st->first);
	pq_sendint32(&buf, st->last);
	for (i = 0; i < (int64) st->r * st->r; i++)
	{
		pq_sendint64(&buf, st->cells[i].customers);
		pq_sendint64(&buf, st->cells[i].orders);
		pq_sendint64(&buf, st->cells[i].lasts);
		pq_sendfloat8(&buf, st->cells[i].revenue);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

#define COHORT_FIXED_BYTES (1 + 2 + 1 + 5 * 4)

PG_FUNCTION_INFO_V1(clm_cohort_deserialize);
Datum
clm_cohort_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggctx = clm_agg_context(fcinfo, "clm.cohort_series_deserialize");
	StringInfoData buf;
	CohortState *st;
	int			version,
				unit,
				has_to_day;
	int32		to_day,
				r;
	int64		i;

	buf.data = VARDATA_ANY(raw);
	buf.len = VARSIZE_ANY_EXHDR(raw);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (buf.len < COHORT_FIXED_BYTES)
		clm_corrupt("clm.cohort_series state",
					errdetail("The state has %d bytes, at least %d expected.", buf.len, COHORT_FIXED_BYTES));
	version = pq_getmsgbyte(&buf);
	if (version != COHORT_STATE_VERSION)
		clm_corrupt("clm.cohort_series state",
					errdetail("Format version %d, expected %d.", version, COHORT_STATE_VERSION));
	unit = (int16) pq_getmsgint(&buf, 2);
	has_to_day = pq_getmsgbyte(&buf);
	to_day = pq_getmsgint(&buf, 4);
	st = new_state(aggctx, unit, has_to_day != 0, to_day);
	st->lo = pq_getmsgint(&buf, 4);
	r = pq_getmsgint(&buf, 4);
	st->first = pq_getmsgint(&buf, 4);
	st->last = pq_getmsgint(&buf, 4);
	if (has_to_day > 1 || r < 0 || r > COHORT_MAX_PERIODS ||
		(int64) r * r * 32 != buf.len - buf.cursor ||
		(r > 0 && (st->first < st->lo || st->first > st->last ||
				   st->last >= (int64) st->lo + r)))
		clm_corrupt("clm.cohort_series state",
					errdetail("A square of side %d in %d bytes.", r, buf.len - buf.cursor));
	if (r > 0)
	{
		st->cells = MemoryContextAlloc(aggctx, (Size) r * r * sizeof(CohortCell));
		for (i = 0; i < (int64) r * r; i++)
		{
			st->cells[i].customers = pq_getmsgint64(&buf);
			st->cells[i].orders = pq_getmsgint64(&buf);
			st->cells[i].lasts = pq_getmsgint64(&buf);
			st->cells[i].revenue = pq_getmsgfloat8(&buf);
		}
	}
	st->r = r;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/*
 * final: (first_period, periods, sizes[], customers[], orders[], revenue[],
 * rolling[], cumulative_revenue[]): periods = P, the periods from the first
 * cohort's to the last with a purchase; sizes[i + 1] is the size of cohort i
 * (the i-th period, 0 when no one started then); the other arrays are P x P,
 * element i * P + k + 1 the cell of cohort i, k periods later (k <= P - 1 -
 * i; zeros beyond).  rolling: the cohort's customers whose last purchase is
 * k periods later or after; cumulative_revenue: its revenue up to k.  NULL
 * without customers.
 */
PG_FUNCTION_INFO_V1(clm_cohort_final);
Datum
clm_cohort_final(PG_FUNCTION_ARGS)
{
	CohortState *st;
	TupleDesc	desc;
	Datum		values[8];
	bool		nulls[8];
	Datum	   *sz,
			   *cu,
			   *od,
			   *rv,
			   *ro,
			   *cr;
	int32		np,
				first = PG_INT32_MAX,
				i,
				k;
	int64		cells;

	clm_agg_context(fcinfo, "clm.cohort_series_final");
	st = state_arg(fcinfo, 0);
	if (st == NULL || st->r == 0)
		PG_RETURN_NULL();
	/* the first cohort: the first row with customers */
	for (i = 0; i < st->r && first == PG_INT32_MAX; i++)
		if (cell(st, st->lo + i, st->lo + i)->customers > 0)
			first = st->lo + i;
	if (first == PG_INT32_MAX)
		PG_RETURN_NULL();
	np = st->last - first + 1;
	cells = (int64) np * np;
	desc = clm_result_tupdesc(fcinfo);
	sz = palloc(np * sizeof(Datum));
	cu = palloc(cells * sizeof(Datum));
	od = palloc(cells * sizeof(Datum));
	rv = palloc(cells * sizeof(Datum));
	ro = palloc(cells * sizeof(Datum));
	cr = palloc(cells * sizeof(Datum));
	for (i = 0; i < np; i++)
	{
		int64		rolling = 0;
		float8		cum = 0.0;

		CHECK_FOR_INTERRUPTS();
		sz[i] = Int64GetDatum(cell(st, first + i, first + i)->customers);
		/* rolling: from the last period back */
		for (k = np - 1; k >= 0; k--)
		{
			int64		at = (int64) i * np + k;

			if (k <= np - 1 - i)
				rolling += cell(st, first + i, first + i + k)->lasts;
			ro[at] = Int64GetDatum(k <= np - 1 - i ? rolling : 0);
		}
		for (k = 0; k < np; k++)
		{
			int64		at = (int64) i * np + k;
			CohortCell *c = (k <= np - 1 - i) ? cell(st, first + i, first + i + k) : NULL;

			cum += c ? c->revenue : 0.0;
			clm_check_sum("revenue", cum);
			cu[at] = Int64GetDatum(c ? c->customers : 0);
			od[at] = Int64GetDatum(c ? c->orders : 0);
			rv[at] = Float8GetDatum(c ? c->revenue : 0.0);
			cr[at] = Float8GetDatum(c ? cum : 0.0);
		}
	}
	memset(nulls, 0, sizeof(nulls));
	values[0] = DateADTGetDatum(clm_period_first_day(first, (ClmPeriod) st->unit));
	values[1] = Int32GetDatum(np);
	values[2] = PointerGetDatum(construct_array(sz, np, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(cu, cells, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[4] = PointerGetDatum(construct_array(od, cells, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[5] = PointerGetDatum(construct_array(rv, cells, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[6] = PointerGetDatum(construct_array(ro, cells, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[7] = PointerGetDatum(construct_array(cr, cells, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
