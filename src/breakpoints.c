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
#include "utils/builtins.h"

#define BP_BUCKETS 5

static int
cmp_asc(const void *a, const void *b)
{
	float8		x = *(const float8 *) a;
	float8		y = *(const float8 *) b;

	return (x > y) - (x < y);
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

	qsort(v, n, sizeof(float8), cmp_asc);
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
		qsort(cuts, ncuts, sizeof(float8), cmp_asc);
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
	{
		a[p] = -Max(a[p], 0.0);		/* negated: ascending sort = descending */
		total -= a[p];
	}
	qsort(a, n, sizeof(float8), cmp_asc);
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
			   *v,
			   *cd,
			   *co,
			   *ca,
			   *cv;
	float8		hv_share,
				a_share,
				b_share,
				cuts[3][BP_BUCKETS],
				dmax = 0,
				omin = 0,
				amin = 0,
				abc_a = 0,
				abc_b = 0,
				hv = 0;
	int			ncuts[3];
	int64		n = 0,
				m = 0;
	bool		has_a,
				has_b,
				has_hv = false;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};

	for (i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			clm_invalid_arg(errmsg("the arguments of clm.breakpoints must not be NULL"));
	hv_share = PG_GETARG_FLOAT8(4);
	a_share = PG_GETARG_FLOAT8(5);
	b_share = PG_GETARG_FLOAT8(6);
	clm_check_abc_shares(a_share, b_share);
	if (!(hv_share > 0.0 && hv_share <= 1.0))
		clm_invalid_arg(errmsg("high_value_share must be greater than 0 and at most 1"),
						errdetail("The value is %g.", hv_share));

	d = array_values(PG_GETARG_ARRAYTYPE_P(0), "days_since_last", &nd);
	o = array_values(PG_GETARG_ARRAYTYPE_P(1), "orders", &no);
	a = array_values(PG_GETARG_ARRAYTYPE_P(2), "total_amount", &na);
	v = array_values(PG_GETARG_ARRAYTYPE_P(3), "clv", &nv);
	if (no != nd || na != nd || nv != nd)
		clm_invalid_arg(errmsg("the arrays of clm.breakpoints must have the same length"),
						errdetail("Their lengths are %d, %d, %d and %d.", nd, no, na, nv));

	/* the customers with all three RFM inputs, packed */
	cd = palloc(Max(nd, 1) * sizeof(float8));
	co = palloc(Max(nd, 1) * sizeof(float8));
	ca = palloc(Max(nd, 1) * sizeof(float8));
	cv = palloc(Max(nd, 1) * sizeof(float8));
	for (i = 0; i < nd; i++)
	{
		if (isnan(d[i]) || isnan(o[i]) || isnan(a[i]))
			continue;
		if (n == 0 || d[i] > dmax)
			dmax = d[i];
		if (n == 0 || o[i] < omin)
			omin = o[i];
		if (n == 0 || a[i] < amin)
			amin = a[i];
		cd[n] = -d[i];
		co[n] = o[i];
		ca[n] = a[i];
		if (!isnan(v[i]))
			cv[m++] = v[i];
		n++;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	ncuts[0] = quantile_cuts(cd, n, true, dmax, cuts[0]);
	ncuts[1] = quantile_cuts(co, n, false, omin, cuts[1]);
	ncuts[2] = quantile_cuts(ca, n, false, amin, cuts[2]);
	CHECK_FOR_INTERRUPTS();

	/* ABC over the amounts (ca was sorted, which does not matter here) */
	abc_thresholds(ca, n, a_share, b_share, &abc_a, &has_a, &abc_b, &has_b);

	/* high value: the first CLV, ascending, whose share of CLVs <= it
	 * (counting its whole tie group) exceeds 1 - share */
	qsort(cv, m, sizeof(float8), cmp_asc);
	for (i = 0; i < m; i++)
	{
		int64		last = i;

		while (last + 1 < m && cv[last + 1] == cv[i])
			last++;
		if ((float8) (last + 1) / (float8) m > 1.0 - hv_share)
		{
			hv = cv[i];
			has_hv = true;
			break;
		}
		i = last;
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
	values[6] = Int64GetDatum(n);
	tupdesc = clm_result_tupdesc(fcinfo);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
