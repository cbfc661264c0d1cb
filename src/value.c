/*-------------------------------------------------------------------------
 *
 * value.c
 *		clm.p_alive(summary, scoring) and clm.clv_estimate(summary, scoring):
 *		the two model values of clm.score_value, in C.
 *
 * clm.score_value runs once per customer in the one-query path and in every
 * pass of a job's full refresh.  Written as SQL, it read about fifteen
 * fields of the summary and of the scoring context per customer (each read
 * of a short composite copies it) and passed them to the model functions,
 * which compared their model arguments' bytes again.  Here the context is
 * decoded once per call site and kept in fn_extra while its bytes stay the
 * same (as clm.score does, src/score.c), and the summary is deformed once.
 *
 * The rules are those of the SQL definition (kept in
 * test/data/score_value_reference.sql, which sql/score.sql compares with
 * this): P(alive) of the context's converged purchase model (MBG/NBD before
 * BG/NBD) for a customer with tenure > 0; CLV as well when the Gamma-Gamma
 * model converged and the customer has no repeat purchases or a positive
 * repeat_avg_amount.  The models' parameters are checked when first used,
 * with the messages of clm.p_alive and clm.clv_estimate, which make the
 * same calls (models_predict.c, models_clv.c).
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"
#include "fitdata.h"

#include "utils/float.h"

/* attributes of clm.summary and clm.scoring */
#define SUM_NATTS 11
#define SUM_FREQUENCY 3			/* 0-based */
#define SUM_RECENCY 4
#define SUM_TENURE 5
#define SUM_REPEAT_AVG 9
#define CTX_BGNBD 1				/* attribute numbers */
#define CTX_MBGNBD 2
#define CTX_SPEND 3
#define CTX_HORIZON 4
#define CTX_DISCOUNT 5
#define CTX_UNIT 6
#define MODEL_CONVERGED 8

/* a model of the context, its parameters read when first used */
typedef struct ValueModel
{
	bool		converged;		/* converged IS TRUE */
	HeapTupleHeader raw;		/* the composite (in the cache's context) */
	bool		parsed;
	double		params[4];
	double		unit_days;		/* purchase models: days per unit, 0 = none */
} ValueModel;

typedef struct ValueCache
{
	MemoryContext cxt;			/* the decoded context */
	bool		valid;
	char	   *ctx_raw;		/* the context's bytes */
	Size		ctx_len;
	ValueModel	mbgnbd,
				bgnbd,
				spend;
	bool		horizon_null,
				discount_null;
	int32		horizon;
	float8		discount;
	text	   *unit;			/* NULL: no unit */
	bool		unit_parsed;
	double		unit_days;
	TupleDesc	summary_desc;
	Oid			summary_type;
	HTAB	   *clv_memo;		/* CLV's purchase part per (x, T), in cxt */
	btyd_clv_memo memo;
} ValueCache;

/*
 * The CLV memo: customers with the same frequency and tenure share the
 * costly part of their CLV (btyd_clv_memo in btyd.h), and in a shop's
 * data they mostly do (1M simulated customers over two years: 69,523
 * distinct (x, T) pairs).  At most CLV_MEMO_MAX entries (a few MB); past
 * that the rest are computed each time.  Reset with the decoded context.
 */
#define CLV_MEMO_MAX 262144

typedef struct ClvMemoKey
{
	double		x;
	double		T;
} ClvMemoKey;

typedef struct ClvMemoEntry
{
	ClvMemoKey	key;
	double		S;
} ClvMemoEntry;

/* clv_memo_key: the key of (x, T), padding zeroed (HASH_BLOBS hashes bytes) */
static ClvMemoKey
clv_memo_key(double x, double T)
{
	ClvMemoKey	key;

	memset(&key, 0, sizeof(key));
	key.x = x;
	key.T = T;
	return key;
}

static int
clv_memo_lookup(void *arg, double x, double T, double *S)
{
	ValueCache *c = (ValueCache *) arg;
	ClvMemoKey	key = clv_memo_key(x, T);
	ClvMemoEntry *e;

	if (c->clv_memo == NULL)
		return 0;
	e = hash_search(c->clv_memo, &key, HASH_FIND, NULL);
	if (e == NULL)
		return 0;
	*S = e->S;
	return 1;
}

static void
clv_memo_store(void *arg, double x, double T, double S)
{
	ValueCache *c = (ValueCache *) arg;
	ClvMemoKey	key = clv_memo_key(x, T);
	ClvMemoEntry *e;

	if (c->clv_memo == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ClvMemoKey);
		ctl.entrysize = sizeof(ClvMemoEntry);
		ctl.hcxt = c->cxt;
		c->clv_memo = hash_create("clm CLV memo", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	if (hash_get_num_entries(c->clv_memo) >= CLV_MEMO_MAX)
		return;
	e = hash_search(c->clv_memo, &key, HASH_ENTER, NULL);
	e->S = S;
}

/* decode_model: a model attribute of the context (nothing for NULL) */
static void
decode_model(HeapTupleHeader ctx, int attno, ValueModel *m)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(ctx, attno, &isnull);
	HeapTupleHeader h;

	memset(m, 0, sizeof(*m));
	if (isnull)
		return;
	h = DatumGetHeapTupleHeaderCopy(d);
	d = GetAttributeByNum(h, MODEL_CONVERGED, &isnull);
	m->converged = !isnull && DatumGetBool(d);
	m->raw = h;
}

/* decode_ctx: the scoring context's model fields, in the cache's context */
static void
decode_ctx(ValueCache *c, HeapTupleHeader h)
{
	bool		isnull;
	Datum		d;

	decode_model(h, CTX_MBGNBD, &c->mbgnbd);
	decode_model(h, CTX_BGNBD, &c->bgnbd);
	decode_model(h, CTX_SPEND, &c->spend);
	d = GetAttributeByNum(h, CTX_HORIZON, &isnull);
	c->horizon_null = isnull;
	c->horizon = isnull ? 0 : DatumGetInt32(d);
	d = GetAttributeByNum(h, CTX_DISCOUNT, &isnull);
	c->discount_null = isnull;
	c->discount = isnull ? 0 : DatumGetFloat8(d);
	d = GetAttributeByNum(h, CTX_UNIT, &isnull);
	c->unit = isnull ? NULL : DatumGetTextPCopy(d);
	c->unit_parsed = false;
}

/*
 * value_cache: the call site's cache with the context of argument 1
 * decoded (again only when its bytes change)
 */
static ValueCache *
value_cache(FunctionCallInfo fcinfo)
{
	ValueCache *c = (ValueCache *) fcinfo->flinfo->fn_extra;
	HeapTupleHeader h = PG_GETARG_HEAPTUPLEHEADER(1);
	Size		n = HeapTupleHeaderGetDatumLength(h);
	MemoryContext old;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ValueCache));
		c->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "clm.score_value context",
									   ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->valid && c->ctx_len == n && memcmp(c->ctx_raw, h, n) == 0)
		return c;
	c->valid = false;
	MemoryContextReset(c->cxt);
	c->clv_memo = NULL;
	c->memo.lookup = clv_memo_lookup;
	c->memo.store = clv_memo_store;
	c->memo.arg = c;
	old = MemoryContextSwitchTo(c->cxt);
	c->ctx_raw = palloc(n);
	memcpy(c->ctx_raw, h, n);
	c->ctx_len = n;
	decode_ctx(c, (HeapTupleHeader) c->ctx_raw);
	MemoryContextSwitchTo(old);
	c->valid = true;
	return c;
}

/*
 * model_params: the first n parameters of a model, checked as clm.p_alive
 * and clm.clv_estimate check them (and, for a purchase model, its unit),
 * the first time they are used
 */
static const ValueModel *
model_params(ValueModel *m, int n, const char *argname)
{
	if (!m->parsed)
	{
		clm_model_params(m->raw, n, m->params, argname);
		m->unit_days = (n == 4) ? clm_model_unit_days(m->raw) : 0;
		m->parsed = true;
	}
	return m;
}

/* the purchase model that scores: MBG/NBD if it converged, else BG/NBD */
static ValueModel *
purchase_model(ValueCache *c, btyd_model *kind)
{
	if (c->mbgnbd.converged)
	{
		*kind = BTYD_MBGNBD;
		return &c->mbgnbd;
	}
	if (c->bgnbd.converged)
	{
		*kind = BTYD_BGNBD;
		return &c->bgnbd;
	}
	return NULL;
}

/* the summary's fields; false when tenure > 0 is not true (no model value) */
static bool
summary_fields(FunctionCallInfo fcinfo, ValueCache *c, Datum *v, bool *isnull)
{
	clm_deform_row(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), &c->summary_desc, &c->summary_type,
				   SUM_NATTS, SUM_NATTS, v, isnull);
	return !isnull[SUM_TENURE] && float8_gt(DatumGetFloat8(v[SUM_TENURE]), 0);
}

/*
 * clm.p_alive(s summary, ctx scoring): P(alive) under the context's
 * purchase model; NULL without tenure or a converged model.  STRICT.
 */
PG_FUNCTION_INFO_V1(clm_value_p_alive);
Datum
clm_value_p_alive(PG_FUNCTION_ARGS)
{
	ValueCache *c = value_cache(fcinfo);
	Datum		v[SUM_NATTS];
	bool		isnull[SUM_NATTS];
	ValueModel *m;
	btyd_model	kind;
	float8		x,
				tx,
				T;
	double		out;

	if (!summary_fields(fcinfo, c, v, isnull))
		PG_RETURN_NULL();
	m = purchase_model(c, &kind);
	if (m == NULL || isnull[SUM_FREQUENCY] || isnull[SUM_RECENCY])
		PG_RETURN_NULL();
	x = (float8) DatumGetInt32(v[SUM_FREQUENCY]);
	tx = DatumGetFloat8(v[SUM_RECENCY]);
	T = DatumGetFloat8(v[SUM_TENURE]);

	POLL_ON();
	model_params(m, 4, "model");
	fit_check_row(x, tx, T, true);
	clm_check_rc(btyd_p_alive(kind, m->params, x, tx, T, &out), "p_alive");
	PG_RETURN_FLOAT8(clm_probability(out, 1, "p_alive"));
}

/*
 * value_clv: the CLV of a customer with these summary fields (those
 * clv_estimate reads; *_null for a NULL field) under the cached context;
 * false for NULL.  The rules of clm.clv_estimate(summary, scoring), below.
 */
static bool
value_clv(ValueCache *c, bool x_null, float8 x, bool tx_null, float8 tx, float8 T,
		  bool amount_null, float8 amount, float8 *clv)
{
	ValueModel *m;
	btyd_model	kind;
	bool		no_repeat,
				positive;
	double		udays;

	if (!c->spend.converged)
		return false;
	/* frequency = 0 OR repeat_avg_amount > 0, in SQL's three values */
	no_repeat = !x_null && x == 0;
	positive = !amount_null && float8_gt(amount, 0);
	if (!no_repeat && !positive)
		return false;
	m = purchase_model(c, &kind);
	if (m == NULL || x_null || tx_null || amount_null || c->horizon_null || c->discount_null)
		return false;

	/* clv_estimate's order: model, spend model, arguments, unit */
	POLL_ON();
	model_params(m, 4, "model");
	model_params(&c->spend, 3, "gg_model");
	clm_clv_check_args(x, tx, T, amount, c->horizon, c->discount);
	if (c->unit != NULL)
	{
		if (!c->unit_parsed)
		{
			c->unit_days = clm_unit_days_text(c->unit, "unit");
			c->unit_parsed = true;
		}
		udays = c->unit_days;
	}
	else
		udays = (m->unit_days > 0) ? m->unit_days : 7.0;
	*clv = clm_clv_compute(kind, m->params, m->unit_days, c->spend.params,
						   x, tx, T, amount, c->horizon, c->discount, udays, &c->memo);
	return true;
}

/*
 * clm.clv_estimate(s summary, ctx scoring): the discounted CLV over the
 * context's horizon; NULL without tenure, a converged purchase and spend
 * model, or (for a repeat customer) a positive repeat_avg_amount.  STRICT.
 */
PG_FUNCTION_INFO_V1(clm_value_clv);
Datum
clm_value_clv(PG_FUNCTION_ARGS)
{
	ValueCache *c = value_cache(fcinfo);
	Datum		v[SUM_NATTS];
	bool		isnull[SUM_NATTS];
	float8		clv;

	if (!summary_fields(fcinfo, c, v, isnull))
		PG_RETURN_NULL();
	if (!value_clv(c, isnull[SUM_FREQUENCY],
				   isnull[SUM_FREQUENCY] ? 0 : (float8) DatumGetInt32(v[SUM_FREQUENCY]),
				   isnull[SUM_RECENCY], isnull[SUM_RECENCY] ? 0 : DatumGetFloat8(v[SUM_RECENCY]),
				   DatumGetFloat8(v[SUM_TENURE]),
				   isnull[SUM_REPEAT_AVG], isnull[SUM_REPEAT_AVG] ? 0 : DatumGetFloat8(v[SUM_REPEAT_AVG]),
				   &clv))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(clv);
}

/*
 * clm.high_value_cut(d fit_data, ctx scoring, rules jsonb) RETURNS float8:
 * the high-value CLV cut clm.breakpoints_agg gives over every customer the
 * fit data holds (those with tenure > 0: the others have no CLV), from one
 * CLV per distinct row counted as many times as customers share it.  A
 * job's full refresh takes its cut from the fit data of its first pass
 * instead of reading the source again; in C, as clm.clv_estimate computes
 * each value, because one SQL call per row cost more than the CLVs.  NULL
 * when no customer has a CLV.  Not STRICT: NULL rules are the defaults.
 */
PG_FUNCTION_INFO_V1(clm_high_value_cut_of);
Datum
clm_high_value_cut_of(PG_FUNCTION_ARGS)
{
	FitData    *fd;
	ValueCache *c;
	ClmWeighted *cv;
	int64		m = 0;
	int32		i;
	float8		share,
				cut;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	fit_data_check(fd);
	c = value_cache(fcinfo);
	share = clm_high_value_share(fcinfo, PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));
	clm_check_high_value_share(share);
	if ((fd->flags & (FIT_RECENCY | FIT_MONETARY)) != (FIT_RECENCY | FIT_MONETARY))
		PG_RETURN_NULL();
	cv = palloc_extended(Max(fd->nrows, 1) * sizeof(ClmWeighted), MCXT_ALLOC_HUGE);
	for (i = 0; i < fd->nrows; i++)
	{
		const FitRow *r = &fd->rows[i];

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!(r->T > 0) || !(r->w > 0))
			continue;
		if (value_clv(c, false, r->x, false, r->tx, r->T, false, r->m, &cv[m].v))
			cv[m++].w = r->w;
	}
	if (m == 0 || !clm_high_value_cut(cv, m, share, &cut))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cut);
}
