/*-------------------------------------------------------------------------
 *
 * rfm.c
 *		RFM scoring: clm.rfm_score as a window function (quantile scores over
 *		the window partition) and with explicit cut points, the named-segment
 *		map and clm.rfm_segment.
 *
 * Quantile scores follow NTILE(k) over the values in ascending order of
 * "goodness" (recency: fewer days since the last purchase is better;
 * frequency and monetary: more is better), with one change that makes the
 * result deterministic: tied values all get the bucket of the first of them,
 * i.e. the lower score.  With distinct values the scores equal NTILE's.
 *
 * Segments are looked up on a 5 x 5 grid of R against FM, where FM is the
 * mean of the F and M scores rounded half up; scores on other scales are
 * first mapped to 1..5 with ceil(5 * score / buckets).
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "miscadmin.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "windowapi.h"

#define RFM_MIN_BUCKETS 2
#define RFM_MAX_BUCKETS 10

/* The default named-segment grid, indexed [R - 1][FM - 1]. */
static const char *const default_segments[5][5] = {
	/* R = 1 */ {"Lost", "Lost", "At Risk", "Cannot Lose Them", "Cannot Lose Them"},
	/* R = 2 */ {"Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"},
	/* R = 3 */ {"About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"},
	/* R = 4 */ {"Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Champions"},
	/* R = 5 */ {"New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"},
};

/* A segment map resolved to 25 names (NULL = no segment for that cell). */
typedef struct SegmentMap
{
	char	   *name[5][5];
} SegmentMap;

const char *
clm_rfm_default_segment(int r5, int fm5)
{
	return default_segments[r5 - 1][fm5 - 1];
}

/*
 * to_quintile: a score on a 1..k scale mapped to 1..5.
 */
static inline int
to_quintile(int score, int k)
{
	return (5 * score + k - 1) / k;
}

static void
check_buckets(int k, const char *argname)
{
	if (k < RFM_MIN_BUCKETS || k > RFM_MAX_BUCKETS)
		clm_invalid_arg(errmsg("%s must be between %d and %d", argname,
							   RFM_MIN_BUCKETS, RFM_MAX_BUCKETS),
						errdetail("The value is %d.", k));
}

/*
 * segment_map_from_jsonb: resolve a user map {"RF": "name", ...} with keys
 * "11".."55" (R score, FM score).  Every cell must be present, and nothing
 * else, so typos are caught instead of silently giving NULL segments.
 */
static void
segment_map_from_jsonb(Jsonb *jb, SegmentMap *map, MemoryContext mcxt)
{
	int			r,
				fm;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		clm_invalid_arg(errmsg("segment_map must be a JSON object"),
						errhint("Start from clm.rfm_segment_map() and change the cells you need."));
	if (JB_ROOT_COUNT(jb) != 25)
		clm_invalid_arg(errmsg("segment_map must have exactly 25 keys, \"11\" to \"55\""),
						errdetail("It has %d keys.", (int) JB_ROOT_COUNT(jb)),
						errhint("Start from clm.rfm_segment_map() and change the cells you need."));

	for (r = 1; r <= 5; r++)
		for (fm = 1; fm <= 5; fm++)
		{
			char		key[3] = {'0' + r, '0' + fm, '\0'};
			JsonbValue	vbuf;
			JsonbValue *v;

			v = getKeyJsonValueFromContainer(&jb->root, key, 2, &vbuf);
			if (v == NULL)
				clm_invalid_arg(errmsg("segment_map has no key \"%s\"", key),
								errhint("Keys are the R score then the FM score, \"11\" to \"55\"."));
			if (v->type == jbvNull)
				map->name[r - 1][fm - 1] = NULL;
			else if (v->type == jbvString)
				map->name[r - 1][fm - 1] =
					MemoryContextStrdup(mcxt, pnstrdup(v->val.string.val, v->val.string.len));
			else
				clm_invalid_arg(errmsg("segment_map value for key \"%s\" must be a string or null", key));
		}
}

static void
segment_map_default(SegmentMap *map)
{
	int			r,
				fm;

	for (r = 0; r < 5; r++)
		for (fm = 0; fm < 5; fm++)
			map->name[r][fm] = (char *) default_segments[r][fm];
}

/*
 * segment_name: the segment of a score triple on a k-bucket scale.
 */
static const char *
segment_name(const SegmentMap *map, int r, int f, int m, int kr, int kf, int km)
{
	int			fm5 = (to_quintile(f, kf) + to_quintile(m, km) + 1) / 2;

	return map->name[to_quintile(r, kr) - 1][fm5 - 1];
}

/*
 * clm_rfm_cell: the cell text of a score triple ("545"; "5-4-10" when a
 * scale has 10 buckets)
 */
void
clm_rfm_cell(int r, int f, int m, int kr, int kf, int km, char *cell, size_t len)
{
	if (kr == 10 || kf == 10 || km == 10)
		snprintf(cell, len, "%d-%d-%d", r, f, m);
	else
		snprintf(cell, len, "%d%d%d", r, f, m);
}

/* clm_rfm_default_segment_of: the default map's segment of a score triple */
const char *
clm_rfm_default_segment_of(int r, int f, int m, int kr, int kf, int km)
{
	int			fm5 = (to_quintile(f, kf) + to_quintile(m, km) + 1) / 2;

	return default_segments[to_quintile(r, kr) - 1][fm5 - 1];
}

/*
 * rfm_tuple: build a clm.rfm row; a score of 0 means unknown (NULL).
 */
static Datum
rfm_tuple(TupleDesc tupdesc, const SegmentMap *map, int r, int f, int m,
		  int kr, int kf, int km)
{
	Datum		values[5];
	bool		nulls[5] = {false};

	values[0] = Int32GetDatum(r);
	values[1] = Int32GetDatum(f);
	values[2] = Int32GetDatum(m);
	nulls[0] = (r == 0);
	nulls[1] = (f == 0);
	nulls[2] = (m == 0);
	if (r == 0 || f == 0 || m == 0)
	{
		nulls[3] = nulls[4] = true;
	}
	else
	{
		char		cell[16];
		const char *seg;

		clm_rfm_cell(r, f, m, kr, kf, km, cell, sizeof(cell));
		values[3] = CStringGetTextDatum(cell);
		seg = segment_name(map, r, f, m, kr, kf, km);
		if (seg == NULL)
			nulls[4] = true;
		else
			values[4] = CStringGetTextDatum(seg);
	}
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* ---------- window form ---------- */

typedef struct ValuePos
{
	float8		value;
	int64		pos;
} ValuePos;

static int
valuepos_cmp(const void *a, const void *b)
{
	const ValuePos *x = a;
	const ValuePos *y = b;

	if (x->value != y->value)
		return (x->value > y->value) ? 1 : -1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * ntile_scores: NTILE(k)-style scores of the non-NULL values of argument
 * argno in the partition, ties getting the lower bucket.  "negate" scores in
 * descending order of the value (recency: fewer days = higher score).
 * Unknown values keep score 0.
 */
static void
ntile_scores(WindowObject winobj, int argno, int64 nrows, int k, bool negate,
			 uint8 *scores, const char *argname)
{
	ValuePos   *vals = palloc(Max(nrows, 1) * sizeof(ValuePos));
	int64		m = 0,
				p,
				run_bucket = 0;

	for (p = 0; p < nrows; p++)
	{
		bool		isnull,
					isout;
		Datum		d = WinGetFuncArgInPartition(winobj, argno, p, WINDOW_SEEK_HEAD,
												 false, &isnull, &isout);
		float8		v;

		CHECK_FOR_INTERRUPTS();	/* partitions can be huge */
		if (isnull || isout)
			continue;
		v = DatumGetFloat8(d);
		if (isnan(v))
			clm_invalid_arg(errmsg("%s must not be NaN", argname),
							errhint("Filter out or repair rows whose %s is NaN.", argname));
		vals[m].value = negate ? -v : v;
		vals[m].pos = p;
		m++;
	}
	qsort(vals, m, sizeof(ValuePos), valuepos_cmp);

	for (p = 0; p < m; p++)
	{
		if (p == 0 || vals[p].value != vals[p - 1].value)
			run_bucket = clm_ntile_bucket(p, m, k);
		scores[vals[p].pos] = (uint8) (run_bucket + 1);
	}
	pfree(vals);
}

typedef struct RfmPartition
{
	bool		ready;
	int			k;
	SegmentMap	map;
	uint8		scores[FLEXIBLE_ARRAY_MEMBER];	/* 3 per row: r, f, m; 0 = NULL */
} RfmPartition;

/*
 * rfm_prepare: score the whole partition on its first row.  The bucket count
 * and segment map are read from the partition's first row.
 */
static void
rfm_prepare(WindowObject winobj, RfmPartition *part, int64 nrows, MemoryContext mcxt)
{
	int64		p;
	bool		isnull,
				isout;
	Datum		d;
	uint8	   *tmp;

	d = WinGetFuncArgInPartition(winobj, 3, 0, WINDOW_SEEK_HEAD, false, &isnull, &isout);
	if (isnull)
		clm_invalid_arg(errmsg("buckets must not be NULL"));
	part->k = DatumGetInt32(d);
	check_buckets(part->k, "buckets");

	d = WinGetFuncArgInPartition(winobj, 4, 0, WINDOW_SEEK_HEAD, false, &isnull, &isout);
	if (isnull)
		segment_map_default(&part->map);
	else
		segment_map_from_jsonb(DatumGetJsonbP(d), &part->map, mcxt);

	tmp = palloc0(Max(nrows, 1));
	ntile_scores(winobj, 0, nrows, part->k, true, tmp, "recency_days");
	for (p = 0; p < nrows; p++)
		part->scores[3 * p] = tmp[p];
	memset(tmp, 0, Max(nrows, 1));
	ntile_scores(winobj, 1, nrows, part->k, false, tmp, "frequency");
	for (p = 0; p < nrows; p++)
		part->scores[3 * p + 1] = tmp[p];
	memset(tmp, 0, Max(nrows, 1));
	ntile_scores(winobj, 2, nrows, part->k, false, tmp, "monetary");
	for (p = 0; p < nrows; p++)
		part->scores[3 * p + 2] = tmp[p];
	pfree(tmp);
	part->ready = true;
}

PG_FUNCTION_INFO_V1(clm_rfm_score_window);
Datum
clm_rfm_score_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	RfmPartition *part;
	int64		nrows = WinGetPartitionRowCount(winobj);
	int64		pos;
	TupleDesc	tupdesc;
	int			k;

	/* partition-local memory is zeroed and freed with the partition */
	part = (RfmPartition *) WinGetPartitionLocalMemory(winobj,
													   offsetof(RfmPartition, scores) + 3 * nrows);
	if (!part->ready)
		rfm_prepare(winobj, part, nrows, fcinfo->flinfo->fn_mcxt);

	tupdesc = clm_result_tupdesc(fcinfo);

	pos = WinGetCurrentPosition(winobj);
	k = part->k;
	return rfm_tuple(tupdesc, &part->map, part->scores[3 * pos],
					 part->scores[3 * pos + 1], part->scores[3 * pos + 2], k, k, k);
}

/* ---------- explicit cut points ---------- */

/*
 * clm_rfm_get_cuts: the cut points of one dimension, checked to be finite and
 * strictly ascending; returns their number.
 */
int
clm_rfm_get_cuts(ArrayType *arr, const char *argname, float8 **cuts)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	if (ARR_NDIM(arr) > 1)
		clm_invalid_arg(errmsg("%s must be a one-dimensional array", argname));
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	check_buckets(n + 1, psprintf("number of %s plus one", argname));
	*cuts = palloc(n * sizeof(float8));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			clm_invalid_arg(errmsg("%s must not contain NULL", argname));
		(*cuts)[i] = DatumGetFloat8(elems[i]);
		if (isnan((*cuts)[i]))
			clm_invalid_arg(errmsg("%s must not contain NaN", argname));
		if (i > 0 && !((*cuts)[i] > (*cuts)[i - 1]))
			clm_invalid_arg(errmsg("%s must be in strictly ascending order", argname),
							errdetail("Element %d (%g) is not greater than element %d (%g).",
									  i + 1, (*cuts)[i], i, (*cuts)[i - 1]));
	}
	return n;
}

/* number of cut points c with c <= v (or c < v when strict) */
static int
count_below(const float8 *cuts, int n, float8 v, bool strict)
{
	int			i,
				c = 0;

	for (i = 0; i < n; i++)
		if (strict ? cuts[i] < v : cuts[i] <= v)
			c++;
	return c;
}

/*
 * clm_rfm_cut_score: the score of v against ascending cuts.  Recency: the
 * cuts are upper bounds of days, best bucket first; frequency and monetary:
 * lower bounds of the higher scores.
 */
int
clm_rfm_cut_score(const float8 *cuts, int ncuts, float8 v, bool recency, const char *argname)
{
	if (isnan(v))
		clm_invalid_arg(errmsg("%s must not be NaN", argname));
	if (recency)
		return ncuts + 1 - count_below(cuts, ncuts, v, true);
	return 1 + count_below(cuts, ncuts, v, false);
}

PG_FUNCTION_INFO_V1(clm_rfm_score_cuts);
Datum
clm_rfm_score_cuts(PG_FUNCTION_ARGS)
{
	float8	   *rc,
			   *fc,
			   *mc;
	int			nr,
				nf,
				nm,
				r = 0,
				f = 0,
				m = 0;
	SegmentMap	map;
	TupleDesc	tupdesc;

	if (PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		clm_invalid_arg(errmsg("r_cuts, f_cuts and m_cuts must not be NULL"));
	nr = clm_rfm_get_cuts(PG_GETARG_ARRAYTYPE_P(3), "r_cuts", &rc);
	nf = clm_rfm_get_cuts(PG_GETARG_ARRAYTYPE_P(4), "f_cuts", &fc);
	nm = clm_rfm_get_cuts(PG_GETARG_ARRAYTYPE_P(5), "m_cuts", &mc);

	if (PG_ARGISNULL(6))
		segment_map_default(&map);
	else
		segment_map_from_jsonb(PG_GETARG_JSONB_P(6), &map, CurrentMemoryContext);

	if (!PG_ARGISNULL(0))
		r = clm_rfm_cut_score(rc, nr, PG_GETARG_FLOAT8(0), true, "recency_days");
	if (!PG_ARGISNULL(1))
		f = clm_rfm_cut_score(fc, nf, PG_GETARG_FLOAT8(1), false, "frequency");
	if (!PG_ARGISNULL(2))
		m = clm_rfm_cut_score(mc, nm, PG_GETARG_FLOAT8(2), false, "monetary");

	tupdesc = clm_result_tupdesc(fcinfo);
	PG_RETURN_DATUM(rfm_tuple(tupdesc, &map, r, f, m, nr + 1, nf + 1, nm + 1));
}

/* ---------- segment lookup and the default map ---------- */

PG_FUNCTION_INFO_V1(clm_rfm_segment);
Datum
clm_rfm_segment(PG_FUNCTION_ARGS)
{
	int			r,
				f,
				m,
				k;
	SegmentMap	map;
	const char *seg;

	/* not STRICT because of the optional map: unknown scores give NULL */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	r = PG_GETARG_INT32(0);
	f = PG_GETARG_INT32(1);
	m = PG_GETARG_INT32(2);
	k = PG_GETARG_INT32(3);
	check_buckets(k, "buckets");
	if (r < 1 || r > k || f < 1 || f > k || m < 1 || m > k)
		clm_invalid_arg(errmsg("scores must be between 1 and buckets (%d)", k),
						errdetail("r = %d, f = %d, m = %d.", r, f, m));
	if (PG_ARGISNULL(4))
		segment_map_default(&map);
	else
		segment_map_from_jsonb(PG_GETARG_JSONB_P(4), &map, CurrentMemoryContext);
	seg = segment_name(&map, r, f, m, k, k, k);
	if (seg == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(seg));
}

PG_FUNCTION_INFO_V1(clm_rfm_segment_map);
Datum
clm_rfm_segment_map(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	int			r,
				fm;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (r = 1; r <= 5; r++)
		for (fm = 1; fm <= 5; fm++)
			appendStringInfo(&buf, "%s\"%d%d\": \"%s\"", (r + fm > 2) ? ", " : "",
							 r, fm, default_segments[r - 1][fm - 1]);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
