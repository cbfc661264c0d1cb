/*-------------------------------------------------------------------------
 *
 * abc.c
 *		clm.abc_class(value [, a_share, b_share]): ABC / Pareto classes as a
 *		window function.
 *
 * Values are ranked in descending order within the window partition.  A row
 * is class A when the share of the total taken by the rows ranked before it
 * is below a_share, B when it is below b_share, C otherwise.  So A is the
 * smallest set of top customers that reaches a_share of the value (the
 * customer who crosses the line belongs to A), and tied values always share
 * a class (a tie group is placed by the share before the group).
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "windowapi.h"

typedef struct AbcPartition
{
	bool		ready;
	char		cls[FLEXIBLE_ARRAY_MEMBER];	/* 'A', 'B', 'C', or 0 = NULL */
} AbcPartition;

typedef struct AbcValue
{
	float8		value;
	int64		pos;
} AbcValue;

/* descending by value */
static int
abc_cmp(const void *a, const void *b)
{
	float8		x = ((const AbcValue *) a)->value;
	float8		y = ((const AbcValue *) b)->value;

	return (x < y) - (x > y);
}

/*
 * get_share: read a share argument from the partition's first row.
 */
static float8
get_share(WindowObject winobj, int argno, const char *argname)
{
	bool		isnull,
				isout;
	Datum		d = WinGetFuncArgInPartition(winobj, argno, 0, WINDOW_SEEK_HEAD,
											 false, &isnull, &isout);

	if (isnull)
		clm_invalid_arg(errmsg("%s must not be NULL", argname));
	return DatumGetFloat8(d);
}

/* clm_check_abc_shares: 0 < a_share < b_share <= 1, or ERROR naming the share */
void
clm_check_abc_shares(float8 a_share, float8 b_share)
{
	if (!(a_share > 0.0 && a_share < 1.0))
		clm_invalid_arg(errmsg("a_share must be greater than 0 and less than 1"),
						errdetail("The value is %g.", a_share),
						errhint("The default is 0.8: class A makes the first 80%% of the value."));
	if (!(b_share > a_share && b_share <= 1.0))
		clm_invalid_arg(errmsg("b_share must be greater than a_share and at most 1"),
						errdetail("a_share is %g, b_share is %g.", a_share, b_share),
						errhint("The default is 0.95: class B makes the next 15%% of the value."));
}

/*
 * abc_prepare: classify every row of the partition.
 */
static void
abc_prepare(WindowObject winobj, AbcPartition *part, int64 nrows)
{
	float8		a_share = get_share(winobj, 1, "a_share");
	float8		b_share = get_share(winobj, 2, "b_share");
	AbcValue   *vals = palloc(Max(nrows, 1) * sizeof(AbcValue));
	int64		n = 0,
				p;
	float8		total = 0.0,
				cum = 0.0;
	char		cls = 'A';

	clm_check_abc_shares(a_share, b_share);
	for (p = 0; p < nrows; p++)
	{
		bool		isnull,
					isout;
		Datum		d = WinGetFuncArgInPartition(winobj, 0, p, WINDOW_SEEK_HEAD,
												 false, &isnull, &isout);
		float8		v;

		CHECK_FOR_INTERRUPTS();	/* partitions can be huge */
		if (isnull)
			continue;
		v = DatumGetFloat8(d);
		clm_check_finite("value", v);
		if (v < 0.0)
			clm_invalid_arg(errmsg("value must not be negative"),
							errdetail("The value is %g.", v),
							errhint("ABC classes share out a non-negative total; clamp net refunds to 0 with greatest(value, 0)."));
		vals[n].value = v;
		vals[n].pos = p;
		total += v;
		n++;
	}
	qsort(vals, n, sizeof(AbcValue), abc_cmp);

	for (p = 0; p < n; p++)
	{
		/* a new tie group is classified by the share before it */
		if (p == 0 || vals[p].value != vals[p - 1].value)
		{
			cls = clm_abc_class_of((total > 0.0) ? cum / total : 1.0, a_share, b_share);
		}
		part->cls[vals[p].pos] = cls;
		cum += vals[p].value;
	}
	pfree(vals);
	part->ready = true;
}

PG_FUNCTION_INFO_V1(clm_abc_class);
Datum
clm_abc_class(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	int64		nrows = WinGetPartitionRowCount(winobj);
	AbcPartition *part;
	char		cls;

	part = (AbcPartition *) WinGetPartitionLocalMemory(winobj,
													   offsetof(AbcPartition, cls) + nrows);
	if (!part->ready)
		abc_prepare(winobj, part, nrows);

	cls = part->cls[WinGetCurrentPosition(winobj)];
	if (cls == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(&cls, 1));
}
