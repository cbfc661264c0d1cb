/*-------------------------------------------------------------------------
 *
 * score.c
 *		clm.score: every per-customer score besides P(alive) and CLV (RFM,
 *		ABC, churn risk, health, stage, high value at risk, next review) in
 *		one C call per customer.
 *
 * A job's full refresh scores every customer against one scoring context
 * (models, stage policy, alert rules) and one set of breakpoints.  They are
 * decoded once per call site into typed C (the policy into the
 * ClmStagePolicy of stage.c, the cut arrays into C arrays, the day
 * thresholds into intervals) and kept in fn_extra; a row whose context or
 * breakpoints differ byte for byte from the cached ones decodes again.
 *
 * The rules are those of the SQL function this replaced
 * (test/data/score_reference.sql, which sql/score.sql compares with this
 * field by field), with the same helpers: clm_stage_classify (stage.c), the
 * signal form of churn risk and the health score (churn.c), the RFM cut
 * scores (rfm.c), the risk crossings and local midnights (review.c).
 *	churn_risk	1 - P(alive) when given, else the signal form; raised to at
 *				least at_risk_risk or churned_risk when the stage is at_risk
 *				or churned;
 *	health		clm.health_score of that risk and the activity ratios (a
 *				negative ratio counts as 0);
 *	high_value_at_risk	clv >= the high-value CLV and risk >=
 *				high_value_min_risk;
 *	next_review	for a customer with orders, the earliest of: first
 *				purchase + new_days, last purchase + at_risk_days and +
 *				churn_days, last purchase + at_risk_rhythm average gaps
 *				(those after as_of), the local day after days_since_last
 *				passes the next R cut, as_of + 1 microsecond when the stage
 *				rules would change the stage again, and the local midnights
 *				at which the risk crosses at_risk_risk, churned_risk and (for
 *				high CLV) high_value_min_risk.
 * Comparisons follow PostgreSQL's float8 order (NaN above everything) and
 * time arithmetic goes through PostgreSQL's own functions, so both follow
 * the session TimeZone as the SQL did.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

/* attributes of clm.summary, clm.scoring, the model types, clm.breakpoints */
enum
{
	SUM_FIRST, SUM_LAST, SUM_ORDERS, SUM_FREQUENCY, SUM_RECENCY, SUM_TENURE,
	SUM_DAYS, SUM_TOTAL, SUM_AVG, SUM_REPEAT_AVG, SUM_GAP, SUM_NATTS
};
#define ACT_ORDERS_RATIO 5
#define ACT_AMOUNT_RATIO 6
#define ACT_NATTS 7
#define CTX_BGNBD 1
#define CTX_MBGNBD 2
#define CTX_UNIT 6
#define CTX_POLICY 7
#define CTX_RULES 8
#define MODEL_CONVERGED 8
#define BP_R_CUTS 1
#define BP_F_CUTS 2
#define BP_M_CUTS 3
#define BP_ABC_A 4
#define BP_ABC_B 5
#define BP_HIGH_VALUE 6

#define SCORE_NATTS 11

/* a float8 that may be NULL */
typedef struct OptF8
{
	bool		has;
	float8		v;
} OptF8;

/* a purchase model of the context */
typedef struct ScoreModel
{
	bool		converged;		/* converged IS TRUE */
	bool		params_null;	/* r, alpha, a or b NULL */
	float8		r,
				alpha,
				a,
				b;
} ScoreModel;

/* the decoded scoring context */
typedef struct ScoreCtx
{
	ClmStagePolicy policy;		/* the stage rules' policy (defaults filled in) */
	OptF8		rhythm,			/* the policy's fields as (policy ->> key)::float8 */
				at_risk_risk,
				churned_risk,
				hv_risk;		/* the alert rules' high_value_min_risk */
	Interval   *new_iv,			/* NULL: the field is absent */
			   *at_risk_iv,
			   *churn_iv;
	ScoreModel	mbgnbd,
				bgnbd;
	bool		unit_null;
	char	   *unit;			/* the context's unit, checked when used */
	int			unit_len;
} ScoreCtx;

/* the decoded breakpoints */
typedef struct ScoreBp
{
	float8	   *cuts[3];		/* r, f, m */
	int			ncuts[3];
	OptF8		abc_a,
				abc_b,
				high_value;
	Datum	   *cell_text;		/* per (r, f, m), made when first needed */
	Datum	   *segment_text;
} ScoreBp;

typedef struct ScoreCache
{
	TupleDesc	result;
	Oid			stage_oid[CLM_STAGE_COUNT];
	TupleDesc	summary_desc;
	Oid			summary_type;
	TupleDesc	activity_desc;
	Oid			activity_type;
	Datum		abc_text[3];
	/* the context and breakpoints, their bytes, and whether they decoded */
	MemoryContext ctx_cxt;
	bool		ctx_valid;
	bool		ctx_null;
	char	   *ctx_raw;
	Size		ctx_len;
	ScoreCtx	ctx;
	MemoryContext bp_cxt;
	bool		bp_valid;
	bool		bp_null;
	char	   *bp_raw;
	Size		bp_len;
	ScoreBp		bp;
	ClmMidnightMemo memo;
} ScoreCache;

/* ---------- decoding, once per call site ---------- */

static Datum
attr(HeapTupleHeader t, int attno, bool *isnull)
{
	return GetAttributeByNum(t, attno, isnull);
}

/*
 * json_number: (jb ->> key)::float8, as the SQL wrote it: absent, a JSON
 * null or a NULL object give NULL; anything else goes through float8in.
 */
static OptF8
json_number(Jsonb *jb, const char *key)
{
	OptF8		o = {false, 0};
	JsonbValue	vbuf;
	JsonbValue *v;
	char	   *str;

	if (jb == NULL || !JB_ROOT_IS_OBJECT(jb))
		return o;
	v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), &vbuf);
	if (v == NULL || v->type == jbvNull)
		return o;
	if (v->type == jbvString)
		str = pnstrdup(v->val.string.val, v->val.string.len);
	else if (v->type == jbvNumeric)
		str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	else if (v->type == jbvBool)
		str = v->val.boolean ? "true" : "false";
	else
		str = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	o.has = true;
	o.v = DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(str)));
	return o;
}

/* make_interval(secs => days * 86400), or NULL for a NULL field */
static Interval *
days_interval(OptF8 days)
{
	if (!days.has)
		return NULL;
	return DatumGetIntervalP(DirectFunctionCall7(make_interval,
												 Int32GetDatum(0), Int32GetDatum(0),
												 Int32GetDatum(0), Int32GetDatum(0),
												 Int32GetDatum(0), Int32GetDatum(0),
												 Float8GetDatum(float8_mul(days.v, 86400))));
}

static ScoreModel
decode_model(HeapTupleHeader ctx, int attno)
{
	ScoreModel	m = {0};
	bool		isnull;
	Datum		d = attr(ctx, attno, &isnull);
	HeapTupleHeader model;
	int			i;
	float8		p[4];

	if (isnull)
		return m;
	model = DatumGetHeapTupleHeader(d);
	d = attr(model, MODEL_CONVERGED, &isnull);
	m.converged = !isnull && DatumGetBool(d);
	for (i = 0; i < 4; i++)
	{
		d = attr(model, i + 1, &isnull);
		if (isnull)
			m.params_null = true;
		else
			p[i] = DatumGetFloat8(d);
	}
	if (!m.params_null)
	{
		m.r = p[0];
		m.alpha = p[1];
		m.a = p[2];
		m.b = p[3];
	}
	return m;
}

/* decode_ctx: the scoring context (NULL: everything NULL) into c->ctx */
static void
decode_ctx(ScoreCache *c, HeapTupleHeader h)
{
	ScoreCtx   *x = &c->ctx;
	Jsonb	   *policy = NULL,
			   *rules = NULL;
	bool		isnull;
	Datum		d;
	OptF8		days;

	memset(x, 0, sizeof(*x));
	x->unit_null = true;
	if (h != NULL)
	{
		d = attr(h, CTX_POLICY, &isnull);
		if (!isnull)
			policy = DatumGetJsonbP(d);
		d = attr(h, CTX_RULES, &isnull);
		if (!isnull)
			rules = DatumGetJsonbP(d);
		x->mbgnbd = decode_model(h, CTX_MBGNBD);
		x->bgnbd = decode_model(h, CTX_BGNBD);
		d = attr(h, CTX_UNIT, &isnull);
		if (!isnull)
		{
			text	   *t = DatumGetTextPP(d);

			x->unit_null = false;
			x->unit_len = VARSIZE_ANY_EXHDR(t);
			x->unit = pnstrdup(VARDATA_ANY(t), x->unit_len);
		}
	}
	/* lifecycle_stage's policy: checked, defaults for what is absent */
	clm_stage_policy_parse(policy, &x->policy);
	/* the SQL read the other thresholds as (policy ->> key)::float8 */
	x->rhythm = json_number(policy, "at_risk_rhythm");
	x->at_risk_risk = json_number(policy, "at_risk_risk");
	x->churned_risk = json_number(policy, "churned_risk");
	x->hv_risk = json_number(rules, "high_value_min_risk");
	days = json_number(policy, "new_days");
	x->new_iv = days_interval(days);
	days = json_number(policy, "at_risk_days");
	x->at_risk_iv = days_interval(days);
	days = json_number(policy, "churn_days");
	x->churn_iv = days_interval(days);
}

static OptF8
bp_number(HeapTupleHeader h, int attno)
{
	OptF8		o = {false, 0};
	bool		isnull;
	Datum		d = attr(h, attno, &isnull);

	if (!isnull)
	{
		o.has = true;
		o.v = DatumGetFloat8(d);
	}
	return o;
}

/* decode_bp: the breakpoints into c->bp; clm.rfm_score's checks of the cuts */
static void
decode_bp(ScoreCache *c, HeapTupleHeader h)
{
	ScoreBp    *x = &c->bp;
	static const char *const names[3] = {"r_cuts", "f_cuts", "m_cuts"};
	Datum		d[3];
	bool		isnull[3] = {true, true, true};
	int			i;

	memset(x, 0, sizeof(*x));
	if (h != NULL)
		for (i = 0; i < 3; i++)
			d[i] = attr(h, BP_R_CUTS + i, &isnull[i]);
	if (isnull[0] || isnull[1] || isnull[2])
		clm_invalid_arg(errmsg("r_cuts, f_cuts and m_cuts must not be NULL"));
	for (i = 0; i < 3; i++)
		x->ncuts[i] = clm_rfm_get_cuts(DatumGetArrayTypeP(d[i]), names[i], &x->cuts[i]);
	x->abc_a = bp_number(h, BP_ABC_A);
	x->abc_b = bp_number(h, BP_ABC_B);
	x->high_value = bp_number(h, BP_HIGH_VALUE);
	/* scores run 1..ncuts + 1 <= 10 */
	x->cell_text = palloc0(11 * 11 * 11 * sizeof(Datum));
	x->segment_text = palloc0(11 * 11 * 11 * sizeof(Datum));
}

/*
 * same_bytes: is datum h (NULL: a NULL argument) the one whose bytes are
 * kept in *raw?  If not, keep its bytes instead and return false.
 */
static bool
same_bytes(MemoryContext cxt, HeapTupleHeader h, char **raw, Size *len, bool *was_null)
{
	Size		n = (h == NULL) ? 0 : HeapTupleHeaderGetDatumLength(h);

	if (*raw != NULL && *was_null == (h == NULL) && *len == n &&
		(n == 0 || memcmp(*raw, h, n) == 0))
		return true;
	MemoryContextReset(cxt);
	*raw = MemoryContextAlloc(cxt, Max(n, 1));
	if (n > 0)
		memcpy(*raw, h, n);
	*len = n;
	*was_null = (h == NULL);
	return false;
}

static ScoreCache *
score_cache(FunctionCallInfo fcinfo)
{
	ScoreCache *c = (ScoreCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (c != NULL)
		return c;
	c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ScoreCache));
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (get_call_result_type(fcinfo, NULL, &c->result) != TYPEFUNC_COMPOSITE ||
		c->result->natts != SCORE_NATTS)
		elog(ERROR, "clm.score: the return type must be a row type of %d columns", SCORE_NATTS);
	c->result = BlessTupleDesc(c->result);
	clm_stage_label_oids(TupleDescAttr(c->result, 8)->atttypid, c->stage_oid);
	c->abc_text[0] = CStringGetTextDatum("A");
	c->abc_text[1] = CStringGetTextDatum("B");
	c->abc_text[2] = CStringGetTextDatum("C");
	c->ctx_cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "clm.score context",
									   ALLOCSET_SMALL_SIZES);
	c->bp_cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "clm.score breakpoints",
									  ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = c;
	return c;
}

/*
 * clm_deform_row: the fields of a composite argument (at most maxatts), by
 * a descriptor kept per call site (in fn_mcxt; also used by value.c)
 */
void
clm_deform_row(FunctionCallInfo fcinfo, HeapTupleHeader h, TupleDesc *desc, Oid *type,
			   int minatts, int maxatts, Datum *values, bool *nulls)
{
	HeapTupleData tuple;

	if (*desc == NULL || *type != HeapTupleHeaderGetTypeId(h))
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	d = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(h),
											   HeapTupleHeaderGetTypMod(h));

		*desc = CreateTupleDescCopy(d);
		ReleaseTupleDesc(d);
		MemoryContextSwitchTo(old);
		*type = HeapTupleHeaderGetTypeId(h);
		if ((*desc)->natts < minatts || (*desc)->natts > maxatts)
			elog(ERROR, "unexpected row type of %d columns", (*desc)->natts);
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(h);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = h;
	heap_deform_tuple(&tuple, *desc, values, nulls);
}

/* ---------- per customer ---------- */

/* one customer's inputs, NULLs as flags */
typedef struct Customer
{
	Datum		s[SUM_NATTS];
	bool		sn[SUM_NATTS];
	bool		p_alive_null;
	float8		p_alive;
	TimestampTz as_of;
} Customer;

#define SNULL(cu, i) ((cu)->sn[i])
#define STS(cu, i) DatumGetTimestampTz((cu)->s[i])
#define SF8(cu, i) DatumGetFloat8((cu)->s[i])

/*
 * ts + iv (NULL iv: NULL), as timestamptz_pl_interval computes it (by
 * arithmetic in a zone of one fixed offset, clm_ts_plus_fixed)
 */
static bool
ts_plus(ScoreCache *c, TimestampTz ts, const Interval *iv, TimestampTz *r)
{
	if (iv == NULL)
		return false;
	if (!clm_ts_plus_fixed(&c->memo.days, ts, iv, r))
		*r = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													 TimestampTzGetDatum(ts), PointerGetDatum(iv)));
	return true;
}

/* least(): keep the earliest candidate */
static void
earliest(bool *have, TimestampTz *best, TimestampTz t)
{
	if (!*have || t < *best)
		*best = t;
	*have = true;
}

/*
 * the unit's days (coalesce(clm.unit_days(unit), 1)); an unknown unit is an
 * error where it is used, as it was
 */
static float8
unit_factor(const ScoreCtx *x)
{
	if (x->unit_null)
		return 1;
	return clm_unit_days_of(x->unit, x->unit_len, "unit");
}

/*
 * next_risk_crossing: the first local midnight after as_of at which churn
 * risk reaches thr if the customer buys nothing more; false for never.
 * Risk only moves at local midnight (tenure and days_since_last count local
 * days); a customer on the day of their first purchase is scored by the
 * signals today and by the model from tomorrow.
 */
static bool
next_risk_crossing(ScoreCache *c, const Customer *cu, float8 thr, TimestampTz *result)
{
	const ScoreCtx *x = &c->ctx;
	const ScoreModel *m = NULL;
	bool		days_null = true;
	float8		days = 0;
	bool		base_null;
	TimestampTz base;

	/*
	 * Both forms of risk stay below 1 in finite time, so a threshold of 1
	 * (churned_risk and high_value_min_risk may be 1) is never reached.  (The
	 * SQL definition passed it to the crossing functions, which reject it:
	 * such a policy made every scoring fail.)
	 */
	if (!(thr < 1))
		return false;
	if (!cu->p_alive_null && x->mbgnbd.converged)
		m = &x->mbgnbd;
	else if (!cu->p_alive_null && x->bgnbd.converged)
		m = &x->bgnbd;
	if (m != NULL)
	{
		float8		t = 0;
		bool		found = false;
		float8		factor;

		if (!m->params_null && !SNULL(cu, SUM_FREQUENCY) && !SNULL(cu, SUM_RECENCY))
			found = clm_crossing_tenure(m->r, m->alpha, m->a, m->b, m == &x->mbgnbd,
										(float8) DatumGetInt32(cu->s[SUM_FREQUENCY]),
										SF8(cu, SUM_RECENCY), thr, &t);
		factor = unit_factor(x);
		if (found)
		{
			days = float8_mul(t, factor);
			days_null = false;
		}
	}
	else if (!SNULL(cu, SUM_TENURE) && float8_eq(SF8(cu, SUM_TENURE), 0) &&
			 (x->mbgnbd.converged || x->bgnbd.converged))
	{
		days = 1;
		days_null = false;
	}
	else if (!SNULL(cu, SUM_ORDERS))
		days_null = !clm_crossing_days(DatumGetInt64(cu->s[SUM_ORDERS]), SNULL(cu, SUM_GAP),
									   SNULL(cu, SUM_GAP) ? 0 : SF8(cu, SUM_GAP), thr, &days);

	base_null = cu->p_alive_null ? SNULL(cu, SUM_LAST) : SNULL(cu, SUM_FIRST);
	base = cu->p_alive_null ? STS(cu, SUM_LAST) : STS(cu, SUM_FIRST);
	if (days_null || base_null)
		return false;
	return clm_crossing_midnight(&c->memo, base, days, cu->as_of, result);
}

/* greatest(a, b) of two nullable float8s (NULLs skipped) */
static OptF8
greatest(OptF8 a, OptF8 b)
{
	if (!a.has)
		return b;
	if (!b.has)
		return a;
	return float8_gt(b.v, a.v) ? b : a;
}

static const Interval one_usec = {1, 0, 0};

/*
 * clm.score(s, activity, p_alive, clv, ctx, b, as_of [, previous_stage])
 */
PG_FUNCTION_INFO_V1(clm_score);
Datum
clm_score(PG_FUNCTION_ARGS)
{
	ScoreCache *c = score_cache(fcinfo);
	ScoreCtx   *x;
	ScoreBp    *bp;
	Customer	cu;
	Datum		values[SCORE_NATTS];
	bool		nulls[SCORE_NATTS] = {false};
	HeapTupleHeader h;
	OptF8		base_risk = {false, 0},
				risk,
				clv = {false, 0};
	int			score[3] = {0, 0, 0};
	bool		orders_null;
	int64		orders;
	ClmStage	prev = CLM_STAGE_COUNT,
				stage;
	int			i;

	/* the context and breakpoints, decoded again only when they change */
	h = PG_ARGISNULL(4) ? NULL : PG_GETARG_HEAPTUPLEHEADER(4);
	if (!c->ctx_valid)
		c->ctx_raw = NULL;		/* a decoding that failed: start again */
	if (!same_bytes(c->ctx_cxt, h, &c->ctx_raw, &c->ctx_len, &c->ctx_null))
	{
		MemoryContext old = MemoryContextSwitchTo(c->ctx_cxt);

		c->ctx_valid = false;
		/* same_bytes kept the new bytes: decode from that copy */
		decode_ctx(c, h == NULL ? NULL : (HeapTupleHeader) c->ctx_raw);
		c->ctx_valid = true;
		MemoryContextSwitchTo(old);
	}
	h = PG_ARGISNULL(5) ? NULL : PG_GETARG_HEAPTUPLEHEADER(5);
	if (!c->bp_valid)
		c->bp_raw = NULL;
	if (!same_bytes(c->bp_cxt, h, &c->bp_raw, &c->bp_len, &c->bp_null))
	{
		MemoryContext old = MemoryContextSwitchTo(c->bp_cxt);

		c->bp_valid = false;
		decode_bp(c, h == NULL ? NULL : (HeapTupleHeader) c->bp_raw);
		c->bp_valid = true;
		MemoryContextSwitchTo(old);
	}
	x = &c->ctx;
	bp = &c->bp;

	/* the customer */
	if (PG_ARGISNULL(0))
		memset(cu.sn, true, sizeof(cu.sn));
	else
		clm_deform_row(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), &c->summary_desc, &c->summary_type,
			   SUM_NATTS, SUM_NATTS, cu.s, cu.sn);
	cu.p_alive_null = PG_ARGISNULL(2);
	cu.p_alive = cu.p_alive_null ? 0 : PG_GETARG_FLOAT8(2);
	if (!PG_ARGISNULL(3))
	{
		clv.has = true;
		clv.v = PG_GETARG_FLOAT8(3);
	}
	if (PG_ARGISNULL(6))
		clm_invalid_arg(errmsg("as_of must not be NULL"));
	cu.as_of = PG_GETARG_TIMESTAMPTZ(6);
	if (!PG_ARGISNULL(7))
		for (i = 0; i < CLM_STAGE_COUNT; i++)
			if (c->stage_oid[i] == PG_GETARG_OID(7))
				prev = (ClmStage) i;
	orders_null = SNULL(&cu, SUM_ORDERS);
	orders = orders_null ? 0 : DatumGetInt64(cu.s[SUM_ORDERS]);

	/* base risk: the model's, else the signals' */
	if (!cu.p_alive_null)
	{
		base_risk.has = true;
		base_risk.v = float8_mi(1.0, cu.p_alive);
	}
	else if (!SNULL(&cu, SUM_DAYS) && !orders_null)
		base_risk.has = clm_signal_churn_risk((float8) DatumGetInt32(cu.s[SUM_DAYS]),
											  SNULL(&cu, SUM_GAP),
											  SNULL(&cu, SUM_GAP) ? 0 : SF8(&cu, SUM_GAP),
											  orders, CLM_SIGNAL_PRIOR_DAYS,
											  CLM_SIGNAL_PRIOR_WEIGHT, CLM_SIGNAL_DROPOUT,
											  &base_risk.v);

	/* RFM against the cuts */
	if (!SNULL(&cu, SUM_DAYS))
		score[0] = clm_rfm_cut_score(bp->cuts[0], bp->ncuts[0],
									 (float8) DatumGetInt32(cu.s[SUM_DAYS]), true, "recency_days");
	if (!orders_null)
		score[1] = clm_rfm_cut_score(bp->cuts[1], bp->ncuts[1], (float8) orders, false, "frequency");
	if (!SNULL(&cu, SUM_TOTAL))
		score[2] = clm_rfm_cut_score(bp->cuts[2], bp->ncuts[2], SF8(&cu, SUM_TOTAL), false, "monetary");
	for (i = 0; i < 3; i++)
	{
		values[i] = Int32GetDatum(score[i]);
		nulls[i] = (score[i] == 0);
	}
	if (score[0] == 0 || score[1] == 0 || score[2] == 0)
		nulls[3] = nulls[4] = true;
	else
	{
		int			k = (score[0] * 11 + score[1]) * 11 + score[2];

		if (bp->cell_text[k] == (Datum) 0)
		{
			MemoryContext old = MemoryContextSwitchTo(c->bp_cxt);
			char		cell[16];
			const char *seg;

			clm_rfm_cell(score[0], score[1], score[2], bp->ncuts[0] + 1, bp->ncuts[1] + 1,
						 bp->ncuts[2] + 1, cell, sizeof(cell));
			seg = clm_rfm_default_segment_of(score[0], score[1], score[2], bp->ncuts[0] + 1,
											 bp->ncuts[1] + 1, bp->ncuts[2] + 1);
			bp->segment_text[k] = CStringGetTextDatum(seg);
			bp->cell_text[k] = CStringGetTextDatum(cell);
			MemoryContextSwitchTo(old);
		}
		values[3] = bp->cell_text[k];
		values[4] = bp->segment_text[k];
	}

	/* ABC */
	if (SNULL(&cu, SUM_TOTAL))
		nulls[5] = true;
	else
	{
		float8		total = SF8(&cu, SUM_TOTAL);

		values[5] = c->abc_text[(bp->abc_a.has && float8_ge(total, bp->abc_a.v)) ? 0 :
								(bp->abc_b.has && float8_ge(total, bp->abc_b.v)) ? 1 : 2];
	}

	/* the stage, then the risk it implies */
	stage = clm_stage_classify(&x->policy, SNULL(&cu, SUM_FIRST), STS(&cu, SUM_FIRST),
							   SNULL(&cu, SUM_LAST), STS(&cu, SUM_LAST), orders_null, orders,
							   cu.as_of, !base_risk.has, base_risk.v, prev);
	risk = base_risk;
	if (stage == CLM_STAGE_CHURNED)
		risk = greatest(base_risk, x->churned_risk);
	else if (stage == CLM_STAGE_AT_RISK)
		risk = greatest(base_risk, x->at_risk_risk);
	values[6] = Float8GetDatum(risk.v);
	nulls[6] = !risk.has;
	values[8] = ObjectIdGetDatum(c->stage_oid[stage]);

	/* health: a window whose refunds outweigh its purchases counts as no activity */
	{
		bool		known[CLM_HEALTH_N] = {risk.has, false, false, false, false};
		float8		v[CLM_HEALTH_N] = {risk.v, 0, 0, 0, 0};
		float8		health;

		if (!PG_ARGISNULL(1))
		{
			Datum		a[ACT_NATTS];
			bool		an[ACT_NATTS];

			clm_deform_row(fcinfo, PG_GETARG_HEAPTUPLEHEADER(1), &c->activity_desc, &c->activity_type,
				   ACT_NATTS, ACT_NATTS, a, an);
			for (i = 1; i <= 2; i++)
			{
				int			att = (i == 1 ? ACT_ORDERS_RATIO : ACT_AMOUNT_RATIO) - 1;

				known[i] = !an[att];
				if (known[i])
				{
					v[i] = DatumGetFloat8(a[att]);
					if (float8_lt(v[i], 0))
						v[i] = 0;
				}
			}
		}
		nulls[7] = !clm_health(known, v, NULL, &health);
		values[7] = Float8GetDatum(health);
	}

	/* high value at risk */
	values[9] = BoolGetDatum(clv.has && bp->high_value.has && float8_ge(clv.v, bp->high_value.v) &&
							 risk.has && x->hv_risk.has && float8_ge(risk.v, x->hv_risk.v));

	/* next review: the earliest time at which a score can change */
	nulls[10] = true;
	if (!orders_null && orders > 0)
	{
		bool		have = false;
		TimestampTz best = 0,
					t;
		bool		first_null = SNULL(&cu, SUM_FIRST),
					last_null = SNULL(&cu, SUM_LAST);
		TimestampTz first = STS(&cu, SUM_FIRST),
					last = STS(&cu, SUM_LAST);

		/* the day rules: new, at_risk, churned */
		if (!first_null && ts_plus(c, first, x->new_iv, &t) && t > cu.as_of)
			earliest(&have, &best, t);
		if (!last_null && ts_plus(c, last, x->at_risk_iv, &t) && t > cu.as_of)
			earliest(&have, &best, t);
		if (!last_null && ts_plus(c, last, x->churn_iv, &t) && t > cu.as_of)
			earliest(&have, &best, t);
		/* the rhythm rule: at_risk_rhythm average gaps after the last purchase */
		if (x->rhythm.has && float8_gt(x->rhythm.v, 0) && orders >= 2 && !first_null && !last_null)
		{
			Datum		span = DirectFunctionCall2(timestamp_mi, TimestampTzGetDatum(last),
												   TimestampTzGetDatum(first));
			Datum		gap = DirectFunctionCall2(interval_mul, span,
												  Float8GetDatum(float8_div(x->rhythm.v, (float8) (orders - 1))));

			if (ts_plus(c, last, DatumGetIntervalP(gap), &t) && t > cu.as_of)
				earliest(&have, &best, t);
		}
		/* the R score drops the day after days_since_last passes the next cut */
		if (!SNULL(&cu, SUM_DAYS) && !last_null)
		{
			float8		cut;

			if (clm_next_cut_of(bp->cuts[0], bp->ncuts[0], (float8) DatumGetInt32(cu.s[SUM_DAYS]), &cut))
			{
				float8		fl = floor(cut);
				int32		n;

				if (unlikely(isnan(fl) || !FLOAT8_FITS_IN_INT32(fl)) ||
					pg_add_s32_overflow((int32) fl, 1, &n))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("integer out of range")));
				earliest(&have, &best, clm_day_start_plus(&c->memo, last, n));
			}
		}
		/* a stage the rules would change on the next scoring without new data */
		if (clm_stage_classify(&x->policy, first_null, first, last_null, last, orders_null, orders,
							   cu.as_of, !base_risk.has, base_risk.v, stage) != stage)
		{
			ts_plus(c, cu.as_of, &one_usec, &t);
			earliest(&have, &best, t);
		}
		/* the risk thresholds */
		if (base_risk.has && x->at_risk_risk.has && float8_lt(base_risk.v, x->at_risk_risk.v) &&
			next_risk_crossing(c, &cu, x->at_risk_risk.v, &t))
			earliest(&have, &best, t);
		if (base_risk.has && x->churned_risk.has && float8_lt(base_risk.v, x->churned_risk.v) &&
			next_risk_crossing(c, &cu, x->churned_risk.v, &t))
			earliest(&have, &best, t);
		if (risk.has && x->hv_risk.has && float8_lt(risk.v, x->hv_risk.v) &&
			clv.has && bp->high_value.has && float8_ge(clv.v, bp->high_value.v) &&
			next_risk_crossing(c, &cu, x->hv_risk.v, &t))
			earliest(&have, &best, t);
		if (have)
		{
			values[10] = TimestampTzGetDatum(best);
			nulls[10] = false;
		}
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(c->result, values, nulls)));
}
