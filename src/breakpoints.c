/*-------------------------------------------------------------------------
 *
 * breakpoints.c
 *		clm.breakpoints: the cut points of the relative scores (RFM quintiles,
 *		ABC classes, the high-value CLV share) over all customers at once.
 *
 * A job's full refresh computes them once and then scores each customer
 * against them, so that an incremental run scores a few customers exactly
 * as the full refresh would.  They must therefore reproduce what the window
 * functions assign:
 *	RFM (rfm.c): NTILE(5)-style buckets over the values in order of
 *	goodness, a tie group taking the bucket of its first member; the cut of
 *	bucket b >= 2 is the first value of the bucket in that order (for
 *	recency the largest days_since_last in it, for frequency and monetary
 *	the smallest value), which is what clm.rfm_score's cut-point form needs;
 *	ABC (abc.c): descending order, a tie group classified by the share of the
 *	total before it; the thresholds are the smallest amounts of A and of B;
 *	high value: the smallest CLV whose cume_dist (share of CLVs <= it)
 *	exceeds 1 - share.
 * Sorting three or four arrays is a small fraction of a full refresh; the
 * window-function form in SQL took about a second per 100k customers.
 * sql/job_incremental.sql checks both forms agree.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#define BP_BUCKETS 5
/* the ABC shares of clm.breakpoints' defaults, which the aggregate uses */
#define BP_DEFAULT_A_SHARE 0.8
#define BP_DEFAULT_B_SHARE 0.95

static inline int
cmp_asc(const float8 *a, const float8 *b)
{
	float8		x = *a;
	float8		y = *b;

	return (x > y) - (x < y);
}

/*
 * sort_float8s: qsort's algorithm (both come from lib/sort_template.h, so
 * equal values, 0 and -0, end in the same order) with the comparison
 * inlined: five sorts of a million values are most of clm.breakpoints.
 * Interruptible.
 */
#define ST_SORT sort_float8s
#define ST_ELEMENT_TYPE float8
#define ST_COMPARE(a, b) cmp_asc(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* a CLV and the number of customers who have it (clm.high_value_cut) */
static inline int
cmp_weighted(const ClmWeighted *a, const ClmWeighted *b)
{
	return (a->v > b->v) - (a->v < b->v);
}

#define ST_SORT sort_weighted
#define ST_ELEMENT_TYPE ClmWeighted
#define ST_COMPARE(a, b) cmp_weighted(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * clm_high_value_cut: the high-value cut of m CLVs, each counted w times
 * (w = 1: one customer each): the first value, ascending, whose share of
 * the customers at or below it (counting its whole tie group) exceeds
 * 1 - share.  Sorts the values in place.  False when there is none (no
 * values).
 */
bool
clm_high_value_cut(ClmWeighted *cv, int64 m, float8 share, float8 *cut)
{
	float8		total = 0,
				below = 0;
	int64		i;

	sort_weighted(cv, m);
	for (i = 0; i < m; i++)
		total += cv[i].w;
	for (i = 0; i < m; i++)
	{
		int64		last = i;

		below += cv[i].w;
		while (last + 1 < m && cv[last + 1].v == cv[i].v)
			below += cv[++last].w;
		if (below / total > 1.0 - share)
		{
			*cut = cv[i].v;
			return true;
		}
		i = last;
	}
	return false;
}

/*
 * array_values: the elements of a float8 array (NULLs kept as NaN, which the
 * caller filters); errors on a multi-dimensional array and on NaN or
 * +-Infinity elements.
 */
static float8 *
array_values(ArrayType *arr, const char *argname, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	float8	   *v;
	int			i;

	if (ARR_NDIM(arr) > 1)
		clm_invalid_arg(errmsg("%s must be a one-dimensional array", argname));
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, n);
	v = palloc(Max(*n, 1) * sizeof(float8));
	for (i = 0; i < *n; i++)
	{
		v[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
		/* an infinite amount would make every share NaN (inf / inf) */
		if (!nulls[i] && !isfinite(v[i]))
			clm_invalid_arg(errmsg("%s must contain finite numbers only", argname),
							errdetail("Element %d is %g.", i + 1, v[i]));
	}
	return v;
}

/*
 * quantile_cuts: the cuts of NTILE(BP_BUCKETS)-style buckets of v[0..n-1]
 * (sorted in place, ascending; "negate": the values are negated days, so
 * the cut is given back as days).  Ascending cuts into *cuts; without a
 * second bucket (every value tied), the one value "fallback".
 */
static int
quantile_cuts(float8 *v, int64 n, bool negate, float8 fallback, float8 *cuts)
{
	int64		p,
				bucket = -1,
				run_bucket = 0;
	int			ncuts = 0;

	sort_float8s(v, n);
	for (p = 0; p < n; p++)
	{
		if (p == 0 || v[p] != v[p - 1])
		{
			run_bucket = clm_ntile_bucket(p, n, BP_BUCKETS);
			if (run_bucket != bucket)
			{
				bucket = run_bucket;
				if (bucket >= 1)
					cuts[ncuts++] = negate ? -v[p] : v[p];
			}
		}
	}
	if (ncuts == 0)
	{
		cuts[0] = fallback;
		return 1;
	}
	if (negate)
		sort_float8s(cuts, ncuts);
	return ncuts;
}

static Datum
float8_array(const float8 *v, int n)
{
	Datum	   *d = palloc(n * sizeof(Datum));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* descending: whether v[0..n-1] never increases */
static bool
descending(const float8 *v, int64 n)
{
	int64		p;

	for (p = 1; p < n; p++)
	{
		if (v[p] > v[p - 1])
			return false;
		if ((p & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return true;
}

static void
reverse_float8s(float8 *v, int64 n)
{
	int64		i;

	for (i = 0; i < n / 2; i++)
	{
		float8		t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * abc_thresholds: the smallest amount of class A and of class B (amounts
 * clamped at 0, sorted in place descending); false for a class with no one.
 */
static void
abc_thresholds(float8 *a, int64 n, float8 a_share, float8 b_share,
			   float8 *abc_a, bool *has_a, float8 *abc_b, bool *has_b)
{
	float8		total = 0,
				cum = 0;
	int64		p;
	char		cls = 'A';

	for (p = 0; p < n; p++)
		a[p] = -Max(a[p], 0.0);		/* negated: ascending sort = descending */
	/*
	 * The amounts come sorted ascending (quantile_cuts sorted them), so
	 * negated they are in descending order: reversed, they are sorted
	 * without a second sort of every customer.
	 */
	if (descending(a, n))
		reverse_float8s(a, n);
	else
		sort_float8s(a, n);
	/* summed in sorted order: the same total whatever order the rows came in */
	for (p = 0; p < n; p++)
		total -= a[p];
	*has_a = *has_b = false;
	for (p = 0; p < n; p++)
	{
		if (p == 0 || a[p] != a[p - 1])
			cls = clm_abc_class_of((total > 0.0) ? cum / total : 1.0, a_share, b_share);
		cum -= a[p];
		if (cls == 'A')
		{
			*abc_a = -a[p];
			*has_a = true;
		}
		else if (cls == 'B')
		{
			*abc_b = -a[p];
			*has_b = true;
		}
	}
}

/*
 * The customers with all three RFM inputs, packed: days negated (so that
 * ascending is best first), their CLVs where known, and the worst value of
 * each input (a dimension's one cut when every customer ties).  Sorted in
 * place by breakpoints_tuple.
 */
typedef struct BpValues
{
	float8	   *d,
			   *o,
			   *a,
			   *v;
	int64		n,
				m;
	float8		dmax,
				omin,
				amin;
} BpValues;

/* clm_check_high_value_share: 0 < share <= 1, or ERROR 22023 */
void
clm_check_high_value_share(float8 share)
{
	if (!(share > 0.0 && share <= 1.0))
		clm_invalid_arg(errmsg("high_value_share must be greater than 0 and at most 1"),
						errdetail("The value is %g.", share));
}

static void
check_shares(float8 hv_share, float8 a_share, float8 b_share)
{
	clm_check_abc_shares(a_share, b_share);
	clm_check_high_value_share(hv_share);
}

/*
 * breakpoints_tuple: the clm.breakpoints row of the packed values (the one
 * computation behind clm.breakpoints_of and clm.breakpoints_agg)
 */
static Datum
breakpoints_tuple(FunctionCallInfo fcinfo, BpValues *bv, float8 hv_share,
				  float8 a_share, float8 b_share)
{
	float8		cuts[3][BP_BUCKETS],
				abc_a = 0,
				abc_b = 0,
				hv = 0;
	int			ncuts[3];
	int64		i,
				m = bv->m;
	float8	   *cv = bv->v;
	bool		has_a,
				has_b,
				has_hv = false;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};

	ncuts[0] = quantile_cuts(bv->d, bv->n, true, bv->dmax, cuts[0]);
	ncuts[1] = quantile_cuts(bv->o, bv->n, false, bv->omin, cuts[1]);
	ncuts[2] = quantile_cuts(bv->a, bv->n, false, bv->amin, cuts[2]);
	CHECK_FOR_INTERRUPTS();

	/* ABC over the amounts (sorted by now, which does not matter here) */
	abc_thresholds(bv->a, bv->n, a_share, b_share, &abc_a, &has_a, &abc_b, &has_b);

	/* high value: over the CLVs, each customer counted once */
	if (m > 0)
	{
		ClmWeighted *w = palloc_extended(m * sizeof(ClmWeighted), MCXT_ALLOC_HUGE);

		for (i = 0; i < m; i++)
		{
			w[i].v = cv[i];
			w[i].w = 1;
		}
		has_hv = clm_high_value_cut(w, m, hv_share, &hv);
		pfree(w);
	}

	values[0] = float8_array(cuts[0], ncuts[0]);
	values[1] = float8_array(cuts[1], ncuts[1]);
	values[2] = float8_array(cuts[2], ncuts[2]);
	values[3] = Float8GetDatum(abc_a);
	nulls[3] = !has_a;
	values[4] = Float8GetDatum(abc_b);
	nulls[4] = !has_b;
	values[5] = Float8GetDatum(hv);
	nulls[5] = !has_hv;
	values[6] = Int64GetDatum(bv->n);
	tupdesc = clm_result_tupdesc(fcinfo);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* bp_add: one customer into the packed values (allocated for enough) */
static inline void
bp_add(BpValues *bv, float8 d, float8 o, float8 a, bool v_null, float8 v)
{
	if (bv->n == 0 || d > bv->dmax)
		bv->dmax = d;
	if (bv->n == 0 || o < bv->omin)
		bv->omin = o;
	if (bv->n == 0 || a < bv->amin)
		bv->amin = a;
	bv->d[bv->n] = -d;
	bv->o[bv->n] = o;
	bv->a[bv->n] = a;
	if (!v_null)
		bv->v[bv->m++] = v;
	bv->n++;
}

/*
 * clm.breakpoints_of(days_since_last[], orders[], total_amount[], clv[],
 *					  high_value_share, a_share, b_share) -> clm.breakpoints
 * Customers with a NULL days, orders or amount are left out; CLV may be NULL.
 */
PG_FUNCTION_INFO_V1(clm_breakpoints_of);
Datum
clm_breakpoints_of(PG_FUNCTION_ARGS)
{
	int			nd,
				no,
				na,
				nv,
				i;
	float8	   *d,
			   *o,
			   *a,
			   *v;
	float8		hv_share,
				a_share,
				b_share;
	BpValues	bv = {0};

	for (i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			clm_invalid_arg(errmsg("the arguments of clm.breakpoints must not be NULL"));
	hv_share = PG_GETARG_FLOAT8(4);
	a_share = PG_GETARG_FLOAT8(5);
	b_share = PG_GETARG_FLOAT8(6);
	check_shares(hv_share, a_share, b_share);

	d = array_values(PG_GETARG_ARRAYTYPE_P(0), "days_since_last", &nd);
	o = array_values(PG_GETARG_ARRAYTYPE_P(1), "orders", &no);
	a = array_values(PG_GETARG_ARRAYTYPE_P(2), "total_amount", &na);
	v = array_values(PG_GETARG_ARRAYTYPE_P(3), "clv", &nv);
	if (no != nd || na != nd || nv != nd)
		clm_invalid_arg(errmsg("the arrays of clm.breakpoints must have the same length"),
						errdetail("Their lengths are %d, %d, %d and %d.", nd, no, na, nv));

	bv.d = palloc(Max(nd, 1) * sizeof(float8));
	bv.o = palloc(Max(nd, 1) * sizeof(float8));
	bv.a = palloc(Max(nd, 1) * sizeof(float8));
	bv.v = palloc(Max(nd, 1) * sizeof(float8));
	for (i = 0; i < nd; i++)
	{
		if (isnan(d[i]) || isnan(o[i]) || isnan(a[i]))
			continue;
		bp_add(&bv, d[i], o[i], a[i], isnan(v[i]), v[i]);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_DATUM(breakpoints_tuple(fcinfo, &bv, hv_share, a_share, b_share));
}

/* ---------- clm.breakpoints_agg: the same in one pass over the rows ---------- */

/*
 * State: every customer's days, orders and amount (those with all three),
 * their CLVs where known, and the alert rules of the first row (every row
 * must give the same).  Variable size, so internal with serialize and
 * deserialize; the final function copies before sorting.
 */
typedef struct BpAggState
{
	BpValues	bv;				/* d holds the negated days */
	int64		cap;			/* allocated for d, o, a, v */
	bool		sorted;			/* d, o, a and v each ascending */
	bool		rules_null;
	Jsonb	   *rules;			/* NULL until the first row */
} BpAggState;

#define BP_AGG_VERSION 2
#define BP_AGG_INITIAL 1024

static BpAggState *
bp_agg_new(MemoryContext cxt, int64 cap)
{
	BpAggState *st = MemoryContextAllocZero(cxt, sizeof(BpAggState));

	st->cap = Max(cap, BP_AGG_INITIAL);
	st->bv.d = MemoryContextAllocHuge(cxt, st->cap * sizeof(float8));
	st->bv.o = MemoryContextAllocHuge(cxt, st->cap * sizeof(float8));
	st->bv.a = MemoryContextAllocHuge(cxt, st->cap * sizeof(float8));
	st->bv.v = MemoryContextAllocHuge(cxt, st->cap * sizeof(float8));
	return st;
}

static void
bp_agg_reserve(BpAggState *st, int64 more)
{
	int64		cap = st->cap;

	if (st->bv.n + more <= cap)
		return;
	while (cap < st->bv.n + more)
		cap *= 2;
	st->bv.d = repalloc_huge(st->bv.d, cap * sizeof(float8));
	st->bv.o = repalloc_huge(st->bv.o, cap * sizeof(float8));
	st->bv.a = repalloc_huge(st->bv.a, cap * sizeof(float8));
	st->bv.v = repalloc_huge(st->bv.v, cap * sizeof(float8));
	st->cap = cap;
}

/* the rules of a row: the first row's are kept, every other must be equal */
static void
bp_agg_rules(BpAggState *st, MemoryContext cxt, bool isnull, Jsonb *jb)
{
	if (st->rules == NULL)
	{
		st->rules_null = isnull;
		st->rules = isnull ? MemoryContextAllocZero(cxt, VARHDRSZ)
			: MemoryContextAlloc(cxt, VARSIZE(jb));
		if (isnull)
			SET_VARSIZE(st->rules, VARHDRSZ);
		else
			memcpy(st->rules, jb, VARSIZE(jb));
		return;
	}
	if (st->rules_null != isnull ||
		(!isnull && (VARSIZE(st->rules) != VARSIZE(jb) ||
					 memcmp(st->rules, jb, VARSIZE(jb)) != 0)))
		clm_invalid_arg(errmsg("alert_rules must be the same for every row of clm.breakpoints_agg"),
						errhint("Pass the job's alert rules (or NULL) as a constant."));
}

static float8
bp_agg_value(FunctionCallInfo fcinfo, int argno, const char *argname, bool *isnull)
{
	float8		x;

	*isnull = PG_ARGISNULL(argno);
	if (*isnull)
		return 0;
	x = PG_GETARG_FLOAT8(argno);
	/* an infinite amount would make every share NaN (inf / inf) */
	if (!isfinite(x))
		clm_invalid_arg(errmsg("%s must be a finite number", argname),
						errdetail("The value is %g.", x));
	return x;
}

/* clm.breakpoints_agg_trans(state, days_since_last, orders, total_amount, clv, alert_rules) */
PG_FUNCTION_INFO_V1(clm_breakpoints_agg_trans);
Datum
clm_breakpoints_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = clm_agg_context(fcinfo, "clm.breakpoints_agg_trans");
	BpAggState *st = PG_ARGISNULL(0) ? bp_agg_new(cxt, 0) : (BpAggState *) PG_GETARG_POINTER(0);
	bool		dn,
				on,
				an,
				vn;
	float8		d = bp_agg_value(fcinfo, 1, "days_since_last", &dn),
				o = bp_agg_value(fcinfo, 2, "orders", &on),
				a = bp_agg_value(fcinfo, 3, "total_amount", &an),
				v = bp_agg_value(fcinfo, 4, "clv", &vn);

	bp_agg_rules(st, cxt, PG_ARGISNULL(5), PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5));
	/* a customer without days, orders or amount (a prospect) is left out */
	if (!dn && !on && !an)
	{
		bp_agg_reserve(st, 1);
		bp_add(&st->bv, d, o, a, vn, v);
		st->sorted = false;
	}
	PG_RETURN_POINTER(st);
}

/* append src's customers to dst (dst's arrays are in cxt) */
static void
bp_agg_append(BpAggState *dst, const BpAggState *src)
{
	int64		i;

	bp_agg_reserve(dst, src->bv.n);
	for (i = 0; i < src->bv.n; i++)
		bp_add(&dst->bv, -src->bv.d[i], src->bv.o[i], src->bv.a[i], true, 0);
	memcpy(dst->bv.v + dst->bv.m, src->bv.v, src->bv.m * sizeof(float8));
	dst->bv.m += src->bv.m;
}

/* merge_float8s: the sorted x[0..nx-1] and y[0..ny-1] into out, sorted */
static void
merge_float8s(const float8 *x, int64 nx, const float8 *y, int64 ny, float8 *out)
{
	int64		i = 0,
				j = 0,
				k = 0;

	while (i < nx && j < ny)
	{
		out[k++] = (y[j] < x[i]) ? y[j++] : x[i++];
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	while (i < nx)
		out[k++] = x[i++];
	while (j < ny)
		out[k++] = y[j++];
}

/*
 * bp_agg_merge: a's and b's customers, each array merged in order (both
 * sorted: the serialized partial states of a parallel aggregate, which the
 * workers sorted), so the final step's sorts find them in order.  The
 * arrays hold independent values, not one record per customer: each is
 * cut on its own.
 */
static BpAggState *
bp_agg_merge(MemoryContext cxt, BpAggState *a, const BpAggState *b)
{
	BpAggState *out = bp_agg_new(cxt, a->bv.n + b->bv.n);

	out->rules_null = a->rules_null;
	out->rules = a->rules;
	merge_float8s(a->bv.d, a->bv.n, b->bv.d, b->bv.n, out->bv.d);
	merge_float8s(a->bv.o, a->bv.n, b->bv.o, b->bv.n, out->bv.o);
	merge_float8s(a->bv.a, a->bv.n, b->bv.a, b->bv.n, out->bv.a);
	merge_float8s(a->bv.v, a->bv.m, b->bv.v, b->bv.m, out->bv.v);
	out->bv.n = a->bv.n + b->bv.n;
	out->bv.m = a->bv.m + b->bv.m;
	out->bv.dmax = (a->bv.n == 0 || (b->bv.n > 0 && b->bv.dmax > a->bv.dmax)) ? b->bv.dmax : a->bv.dmax;
	out->bv.omin = (a->bv.n == 0 || (b->bv.n > 0 && b->bv.omin < a->bv.omin)) ? b->bv.omin : a->bv.omin;
	out->bv.amin = (a->bv.n == 0 || (b->bv.n > 0 && b->bv.amin < a->bv.amin)) ? b->bv.amin : a->bv.amin;
	out->sorted = true;
	pfree(a->bv.d);
	pfree(a->bv.o);
	pfree(a->bv.a);
	pfree(a->bv.v);
	pfree(a);
	return out;
}

PG_FUNCTION_INFO_V1(clm_breakpoints_agg_combine);
Datum
clm_breakpoints_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = clm_agg_context(fcinfo, "clm.breakpoints_agg_combine");
	BpAggState *a = PG_ARGISNULL(0) ? NULL : (BpAggState *) PG_GETARG_POINTER(0);
	BpAggState *b = PG_ARGISNULL(1) ? NULL : (BpAggState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
	{
		/* a copy in the aggregate's context */
		a = bp_agg_new(cxt, b->bv.n);
		bp_agg_rules(a, cxt, b->rules_null, b->rules);
		bp_agg_append(a, b);
		a->sorted = b->sorted;
		PG_RETURN_POINTER(a);
	}
	bp_agg_rules(a, cxt, b->rules_null, b->rules);
	if (a->sorted && b->sorted)
		PG_RETURN_POINTER(bp_agg_merge(cxt, a, b));
	bp_agg_append(a, b);
	a->sorted = false;
	PG_RETURN_POINTER(a);
}

/*
 * Serialized: version byte, flags byte (1: rules NULL, 2: the arrays
 * sorted), int64 n, int64 m, the rules'
 * varlena (header included), then n negated days, n orders, n amounts and
 * m CLVs.
 */
PG_FUNCTION_INFO_V1(clm_breakpoints_agg_serialize);
Datum
clm_breakpoints_agg_serialize(PG_FUNCTION_ARGS)
{
	BpAggState *st;
	Size		rlen,
				len;
	bytea	   *out;
	char	   *p;

	clm_agg_context(fcinfo, "clm.breakpoints_agg_serialize");
	st = (BpAggState *) PG_GETARG_POINTER(0);
	/*
	 * Sorted here, in the parallel worker that serializes its partial
	 * state, so that the leader merges instead of sorting everyone (the
	 * order of an array's values does not change what they stand for)
	 */
	if (!st->sorted)
	{
		sort_float8s(st->bv.d, st->bv.n);
		sort_float8s(st->bv.o, st->bv.n);
		sort_float8s(st->bv.a, st->bv.n);
		sort_float8s(st->bv.v, st->bv.m);
		st->sorted = true;
	}
	rlen = VARSIZE(st->rules);
	len = VARHDRSZ + 2 + 2 * sizeof(int64) + rlen + (3 * st->bv.n + st->bv.m) * sizeof(float8);
	if (len > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many customers for a parallel clm.breakpoints_agg"),
				 errhint("Run it without parallel workers (max_parallel_workers_per_gather = 0).")));
	out = palloc(len);
	SET_VARSIZE(out, len);
	p = VARDATA(out);
	*p++ = BP_AGG_VERSION;
	*p++ = (st->rules_null ? 1 : 0) | 2;	/* 2: sorted */
	memcpy(p, &st->bv.n, sizeof(int64));
	p += sizeof(int64);
	memcpy(p, &st->bv.m, sizeof(int64));
	p += sizeof(int64);
	memcpy(p, st->rules, rlen);
	p += rlen;
	memcpy(p, st->bv.d, st->bv.n * sizeof(float8));
	p += st->bv.n * sizeof(float8);
	memcpy(p, st->bv.o, st->bv.n * sizeof(float8));
	p += st->bv.n * sizeof(float8);
	memcpy(p, st->bv.a, st->bv.n * sizeof(float8));
	p += st->bv.n * sizeof(float8);
	memcpy(p, st->bv.v, st->bv.m * sizeof(float8));
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(clm_breakpoints_agg_deserialize);
Datum
clm_breakpoints_agg_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = clm_agg_context(fcinfo, "clm.breakpoints_agg_deserialize");
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	Size		len = VARSIZE_ANY_EXHDR(in);
	int64		n,
				m;
	Size		rlen;
	varattrib_4b rhdr;
	BpAggState *st;
	int64		i;

	if (len < 2 + 2 * sizeof(int64) + VARHDRSZ || p[0] != BP_AGG_VERSION || (p[1] & ~3) != 0)
		clm_corrupt("clm.breakpoints_agg state", errdetail("The header is damaged."));
	memcpy(&n, p + 2, sizeof(int64));
	memcpy(&m, p + 2 + sizeof(int64), sizeof(int64));
	memcpy(&rhdr, p + 2 + 2 * sizeof(int64), VARHDRSZ);
	rlen = VARSIZE(&rhdr);
	if (n < 0 || m < 0 || m > n || n > (int64) (MaxAllocHugeSize / sizeof(float8)) ||
		rlen < VARHDRSZ || len != 2 + 2 * sizeof(int64) + rlen + (3 * n + m) * sizeof(float8))
		clm_corrupt("clm.breakpoints_agg state",
					errdetail("Its length %zu does not match " INT64_FORMAT " customers.", len, n));
	p += 2 + 2 * sizeof(int64);
	st = bp_agg_new(cxt, n);
	st->rules_null = (VARDATA_ANY(in)[1] & 1) != 0;
	/* (a false claim only costs the final step a sort: it sorts anyway) */
	st->sorted = (VARDATA_ANY(in)[1] & 2) != 0;
	st->rules = MemoryContextAlloc(cxt, rlen);
	memcpy(st->rules, p, rlen);
	p += rlen;
	for (i = 0; i < n; i++)
	{
		float8		d,
					o,
					a;

		memcpy(&d, p + i * sizeof(float8), sizeof(float8));
		memcpy(&o, p + (n + i) * sizeof(float8), sizeof(float8));
		memcpy(&a, p + (2 * n + i) * sizeof(float8), sizeof(float8));
		if (!isfinite(d) || !isfinite(o) || !isfinite(a))
			clm_corrupt("clm.breakpoints_agg state", errdetail("A value is not finite."));
		bp_add(&st->bv, -d, o, a, true, 0);
	}
	memcpy(st->bv.v, p + 3 * n * sizeof(float8), m * sizeof(float8));
	for (i = 0; i < m; i++)
		if (!isfinite(st->bv.v[i]))
			clm_corrupt("clm.breakpoints_agg state", errdetail("A value is not finite."));
	st->bv.m = m;
	PG_RETURN_POINTER(st);
}

/*
 * high_value_share of the alert rules, as clm.breakpoints reads it:
 * (clm.check_alert_rules(coalesce(rules, '{}')) ->> 'high_value_share')::float8,
 * calling the one validator of alert rules (in the schema of this
 * aggregate's final function)
 */
float8
clm_high_value_share(FunctionCallInfo fcinfo, Jsonb *rules_or_null)
{
	Oid			argtype = JSONBOID;
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			check;
	Datum		rules;
	JsonbValue	vbuf;
	JsonbValue *v;
	Jsonb	   *jb;

	check = LookupFuncName(list_make2(makeString(get_namespace_name(nsp)),
									  makeString("check_alert_rules")),
						   1, &argtype, false);
	rules = rules_or_null == NULL ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"))
		: JsonbPGetDatum(rules_or_null);
	jb = DatumGetJsonbP(OidFunctionCall1(check, rules));
	v = JB_ROOT_IS_OBJECT(jb) ? getKeyJsonValueFromContainer(&jb->root, "high_value_share", 16, &vbuf) : NULL;
	if (v == NULL || v->type != jbvNumeric)
		clm_invalid_arg(errmsg("alert rule high_value_share must be a number between 0 and 1"));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/* clm.breakpoints_agg_final: copies the values (the state is not changed) */
PG_FUNCTION_INFO_V1(clm_breakpoints_agg_final);
Datum
clm_breakpoints_agg_final(PG_FUNCTION_ARGS)
{
	BpAggState *st;
	BpValues	bv;
	float8		hv_share;
	Size		sz;

	clm_agg_context(fcinfo, "clm.breakpoints_agg_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BpAggState *) PG_GETARG_POINTER(0);
	hv_share = clm_high_value_share(fcinfo, st->rules_null ? NULL : st->rules);
	check_shares(hv_share, BP_DEFAULT_A_SHARE, BP_DEFAULT_B_SHARE);
	bv = st->bv;
	sz = Max(bv.n, 1) * sizeof(float8);
	bv.d = palloc_extended(sz, MCXT_ALLOC_HUGE);
	bv.o = palloc_extended(sz, MCXT_ALLOC_HUGE);
	bv.a = palloc_extended(sz, MCXT_ALLOC_HUGE);
	bv.v = palloc_extended(sz, MCXT_ALLOC_HUGE);
	memcpy(bv.d, st->bv.d, bv.n * sizeof(float8));
	memcpy(bv.o, st->bv.o, bv.n * sizeof(float8));
	memcpy(bv.a, st->bv.a, bv.n * sizeof(float8));
	memcpy(bv.v, st->bv.v, bv.m * sizeof(float8));
	PG_RETURN_DATUM(breakpoints_tuple(fcinfo, &bv, hv_share, BP_DEFAULT_A_SHARE, BP_DEFAULT_B_SHARE));
}
