/*-------------------------------------------------------------------------
 *
 * models.c
 *		SQL interface of the CLV models: fitting BG/NBD, MBG/NBD and
 *		Gamma-Gamma from a clm.fit_data (maximum likelihood, btyd.c), the
 *		per-customer functions (P(alive), expected purchases, expected
 *		average value, model CLV) and the business CLV formula.
 *
 * The numerics live in btyd.c, plain C with no PostgreSQL dependency; this
 * file converts arguments, checks them (errors name the argument) and maps
 * the library's return codes to errors or to converged = false.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "btyd.h"
#include "fitdata.h"

/* ---------- library glue ---------- */

/* allocations of the fitter come from the current context; NULL on failure */
static void *
btyd_palloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
btyd_pfree(void *ctx, void *ptr)
{
	pfree(ptr);
}

/*
 * Let a long fit be cancelled: the fitter polls this once per iteration.
 * InterruptPending is also set for harmless events (messages from parallel
 * workers), so let CHECK_FOR_INTERRUPTS decide: it returns for those and
 * throws for a real cancel.  Throwing through the fitter is safe: it has no
 * global state and allocates only from our memory context.
 */
static int
btyd_interrupted(void *ctx)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

/*
 * The per-customer functions poll this every BTYD_POLL_TERMS series terms
 * (a long series, a long CLV horizon).  They allocate nothing, so a cancel
 * may leave through them by longjmp.  Installed by each entry point (one
 * store; btyd.c is plain C and has no _PG_init of its own).
 */
static int
btyd_poll(void)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

#define POLL_ON() btyd_set_poll(btyd_poll)

/* installed once per process by _PG_init, so that every entry point,
 * including ones without POLL_ON(), can be cancelled */
void
clm_btyd_poll_install(void)
{
	POLL_ON();
}

static void
fit_options(btyd_fit_options *opt, float8 penalizer)
{
	btyd_fit_options_init(opt);
	opt->penalizer = penalizer;
	opt->alloc = btyd_palloc;
	opt->dealloc = btyd_pfree;
	opt->alloc_ctx = CurrentMemoryContext;
	opt->interrupt = btyd_interrupted;
}

/*
 * check_rc: turn a library error into an ERROR.  BTYD_EDATA is not an
 * error: the caller reports converged = false.
 */
static void
check_rc(int rc, const char *what)
{
	switch (rc)
	{
		case BTYD_OK:
		case BTYD_EDATA:
			return;
		case BTYD_EINTR:
			CHECK_FOR_INTERRUPTS();
			elog(ERROR, "%s was interrupted", what);
			break;
		case BTYD_ENOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory in %s", what)));
			break;
		case BTYD_ENOCONV:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s: a series did not converge for these arguments", what)));
			break;
		case BTYD_EDOMAIN:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s is undefined for these model parameters and arguments", what)));
			break;
		default:
			clm_invalid_arg(errmsg("%s: %s", what, btyd_strerror(rc)));
	}
}

static void model_params(HeapTupleHeader model, int n, double *params, const char *argname);

/* ---------- fitting ---------- */

static FitData *
get_fit_data(Datum d, uint8 need, const char *fn)
{
	FitData    *fd = (FitData *) PG_DETOAST_DATUM(d);

	fit_data_check(fd);
	if (fd->nrows > 0 && (fd->flags & need) != need)
		clm_invalid_arg(errmsg("%s needs %s", fn,
							   need == FIT_MONETARY ? "monetary values" : "recency and tenure"),
						errhint(need == FIT_MONETARY ?
								"Build the data with clm.fit_data(frequency, recency, tenure, monetary)." :
								"Build the data with clm.fit_data(frequency, recency, tenure)."));
	return fd;
}

/*
 * purchase_fit: fit BG/NBD or MBG/NBD to the rows of fd; returns the model
 * composite (r, alpha, a, b, loglik, n, iterations, converged), or NULL for
 * empty data.
 */
/* pseudo model code for Pareto/NBD in purchase_fit (not a btyd_model) */
#define CLM_PNBD ((btyd_model) 100)

/* btyd_fit, or the Pareto/NBD fitter for CLM_PNBD */
static int
fit_purchase_model(btyd_model model, const btyd_row *rows, size_t n,
				   const btyd_fit_options *opt, btyd_fit_result *res)
{
	if (model == CLM_PNBD)
		return btyd_fit_pnbd(rows, n, opt, res);
	return btyd_fit(model, rows, n, opt, res);
}

static Datum
purchase_fit(FunctionCallInfo fcinfo, FitData *fd, float8 penalizer, btyd_model model,
			 const double *init)
{
	const char *what = (model == BTYD_BGNBD) ? "bgnbd_fit" :
		(model == CLM_PNBD) ? "pareto_nbd_fit" : "mbgnbd_fit";
	btyd_row   *rows;
	size_t		n;
	int32		i;
	btyd_fit_options opt;
	btyd_fit_result res;
	int			rc;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {false};

	fit_check_penalizer(penalizer);
	if (fd->nrows == 0)
		PG_RETURN_NULL();

	rows = palloc(fd->nrows * sizeof(btyd_row));
	for (i = 0; i < fd->nrows; i++)
	{
		rows[i].x = fd->rows[i].x;
		rows[i].tx = fd->rows[i].tx;
		rows[i].T = fd->rows[i].T;
		rows[i].w = fd->rows[i].w;
	}
	/* monetary may have split rows that the purchase model sees as equal */
	n = btyd_group_rows(rows, fd->nrows);

	fit_options(&opt, penalizer);
	if (init != NULL)
	{
		/* warm start: one run from the given parameters, the full search if it fails */
		opt.use_init = 1;
		opt.n_starts = 1;
		memcpy(opt.init, init, 4 * sizeof(double));
		rc = fit_purchase_model(model, rows, n, &opt, &res);
		if (rc != BTYD_OK || !res.converged)
		{
			fit_options(&opt, penalizer);
			rc = fit_purchase_model(model, rows, n, &opt, &res);
		}
	}
	else
		rc = fit_purchase_model(model, rows, n, &opt, &res);
	check_rc(rc, what);
	if (rc == BTYD_EDATA)
		ereport(NOTICE,
				(errmsg("%s: no customer has a repeat purchase, so the likelihood has no finite maximum", what),
				 errdetail("The result has converged = false and its parameters are not estimates."),
				 errhint("Fit on a longer period, or pass a small penalizer such as 0.001.")));

	tupdesc = clm_result_tupdesc(fcinfo);
	values[0] = Float8GetDatum(res.params[0]);
	values[1] = Float8GetDatum(res.params[1]);
	values[2] = Float8GetDatum(res.params[2]);
	values[3] = Float8GetDatum(res.params[3]);
	values[4] = Float8GetDatum(res.loglik);
	values[5] = Int64GetDatum((int64) llround(res.total_weight));
	values[6] = Int32GetDatum(res.iterations);
	values[7] = BoolGetDatum(rc == BTYD_OK && res.converged);
	/* the data carry no unit: the caller states it with clm.in_unit */
	values[8] = (Datum) 0;
	nulls[8] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * spend_fit: fit Gamma-Gamma to the repeat customers (frequency > 0) with a
 * positive monetary value; the others are counted in "skipped".
 */
static Datum
spend_fit(FunctionCallInfo fcinfo, FitData *fd, float8 penalizer, const double *init)
{
	gg_row	   *rows;
	size_t		n = 0;
	int32		i;
	float8		skipped = 0;
	btyd_fit_options opt;
	btyd_fit_result res;
	int			rc;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};

	fit_check_penalizer(penalizer);
	if (fd->nrows == 0)
		PG_RETURN_NULL();

	rows = palloc(fd->nrows * sizeof(gg_row));
	for (i = 0; i < fd->nrows; i++)
	{
		const FitRow *r = &fd->rows[i];

		if (r->x > 0 && r->m > 0)
		{
			rows[n].x = r->x;
			rows[n].m = r->m;
			rows[n].w = r->w;
			n++;
		}
		else
			skipped += r->w;
	}
	n = btyd_gg_group_rows(rows, n);

	fit_options(&opt, penalizer);
	if (init != NULL)
	{
		opt.use_init = 1;
		opt.n_starts = 1;
		memcpy(opt.init, init, 3 * sizeof(double));
		rc = btyd_fit_gg(rows, n, &opt, &res);
		if (rc != BTYD_OK || !res.converged)
		{
			fit_options(&opt, penalizer);
			rc = btyd_fit_gg(rows, n, &opt, &res);
		}
	}
	else
		rc = btyd_fit_gg(rows, n, &opt, &res);
	check_rc(rc, "gamma_gamma_fit");
	if (rc == BTYD_EDATA)
		ereport(NOTICE,
				(errmsg("gamma_gamma_fit: no customer has a repeat purchase with a positive monetary value"),
				 errdetail("The result has converged = false and its parameters are not estimates.")));

	tupdesc = clm_result_tupdesc(fcinfo);
	values[0] = Float8GetDatum(res.params[0]);
	values[1] = Float8GetDatum(res.params[1]);
	values[2] = Float8GetDatum(res.params[2]);
	values[3] = Float8GetDatum(res.loglik);
	values[4] = Int64GetDatum((int64) llround(rc == BTYD_OK ? res.total_weight : 0));
	values[5] = Int64GetDatum((int64) llround(skipped));
	values[6] = Int32GetDatum(res.iterations);
	values[7] = BoolGetDatum(rc == BTYD_OK && res.converged);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * init_params: the parameters of an optional model argument to start from
 * (a warm start), or NULL.
 */
static const double *
init_params(FunctionCallInfo fcinfo, int argno, int n, double *buf)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	model_params(PG_GETARG_HEAPTUPLEHEADER(argno), n, buf, "init");
	return buf;
}

/* penalizer argument: NULL is an error, not "no penalty" */
static float8
penalizer_arg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(1))
		clm_invalid_arg(errmsg("penalizer must not be NULL"));
	return PG_GETARG_FLOAT8(1);
}

/* clm.bgnbd_fit(fit_data [, penalizer [, init]]) and its siblings */
PG_FUNCTION_INFO_V1(clm_bgnbd_fit);
Datum
clm_bgnbd_fit(PG_FUNCTION_ARGS)
{
	double		buf[4];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	return purchase_fit(fcinfo, get_fit_data(PG_GETARG_DATUM(0), FIT_RECENCY, "bgnbd_fit"),
						penalizer_arg(fcinfo), BTYD_BGNBD, init_params(fcinfo, 2, 4, buf));
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_fit);
Datum
clm_mbgnbd_fit(PG_FUNCTION_ARGS)
{
	double		buf[4];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	return purchase_fit(fcinfo, get_fit_data(PG_GETARG_DATUM(0), FIT_RECENCY, "mbgnbd_fit"),
						penalizer_arg(fcinfo), BTYD_MBGNBD, init_params(fcinfo, 2, 4, buf));
}

PG_FUNCTION_INFO_V1(clm_pareto_nbd_fit);
Datum
clm_pareto_nbd_fit(PG_FUNCTION_ARGS)
{
	double		buf[4];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	return purchase_fit(fcinfo, get_fit_data(PG_GETARG_DATUM(0), FIT_RECENCY, "pareto_nbd_fit"),
						penalizer_arg(fcinfo), CLM_PNBD, init_params(fcinfo, 2, 4, buf));
}

PG_FUNCTION_INFO_V1(clm_pareto_nbd_fit_final);
Datum
clm_pareto_nbd_fit_final(PG_FUNCTION_ARGS)
{
	FitData    *fd;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fd = get_fit_data(PG_GETARG_DATUM(0), FIT_RECENCY, "pareto_nbd_fit");
	return purchase_fit(fcinfo, fd, fd->penalizer, CLM_PNBD, NULL);
}

PG_FUNCTION_INFO_V1(clm_gamma_gamma_fit);
Datum
clm_gamma_gamma_fit(PG_FUNCTION_ARGS)
{
	double		buf[3];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	return spend_fit(fcinfo, get_fit_data(PG_GETARG_DATUM(0), FIT_MONETARY, "gamma_gamma_fit"),
					 penalizer_arg(fcinfo), init_params(fcinfo, 2, 3, buf));
}

/* final functions of the one-step aggregates: the penalizer is in the state */
PG_FUNCTION_INFO_V1(clm_bgnbd_fit_final);
Datum
clm_bgnbd_fit_final(PG_FUNCTION_ARGS)
{
	FitData    *fd;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fd = get_fit_data(PG_GETARG_DATUM(0), FIT_RECENCY, "bgnbd_fit");
	return purchase_fit(fcinfo, fd, fd->penalizer, BTYD_BGNBD, NULL);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_fit_final);
Datum
clm_mbgnbd_fit_final(PG_FUNCTION_ARGS)
{
	FitData    *fd;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fd = get_fit_data(PG_GETARG_DATUM(0), FIT_RECENCY, "mbgnbd_fit");
	return purchase_fit(fcinfo, fd, fd->penalizer, BTYD_MBGNBD, NULL);
}

PG_FUNCTION_INFO_V1(clm_gamma_gamma_fit_final);
Datum
clm_gamma_gamma_fit_final(PG_FUNCTION_ARGS)
{
	FitData    *fd;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fd = get_fit_data(PG_GETARG_DATUM(0), FIT_MONETARY, "gamma_gamma_fit");
	return spend_fit(fcinfo, fd, fd->penalizer, NULL);
}

/* ---------- per-customer functions ---------- */

/*
 * model_params: the first n fields of a model composite, which must be
 * finite and positive.
 */
static void
model_params(HeapTupleHeader model, int n, double *params, const char *argname)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d = GetAttributeByNum(model, i + 1, &isnull);

		if (isnull)
			clm_invalid_arg(errmsg("%s has a NULL parameter", argname),
							errhint("Pass the result of a successful fit."));
		params[i] = DatumGetFloat8(d);
		if (!(params[i] > 0) || !isfinite(params[i]))
			clm_invalid_arg(errmsg("%s parameters must be finite and greater than 0", argname),
							errdetail("Parameter %d is %g.", i + 1, params[i]));
	}
}

/*
 * Time units.  One month is 365.25 / 12 = 30.4375 days whatever the unit,
 * so a CLV horizon in months means the same span of time for a model
 * fitted in days, weeks or months.  (lifetimes counts a month as 30 days
 * for daily data and 4.345 weeks for weekly data, which disagree by 1.3%.)
 */
#define CLM_DAYS_PER_MONTH (365.25 / 12.0)

/* days in a unit name; an error naming argname for anything else */
double
clm_unit_days_of(const char *s, int len, const char *argname)
{
	if (len == 3 && memcmp(s, "day", 3) == 0)
		return 1.0;
	if (len == 4 && memcmp(s, "week", 4) == 0)
		return 7.0;
	if (len == 5 && memcmp(s, "month", 5) == 0)
		return CLM_DAYS_PER_MONTH;
	clm_invalid_arg(errmsg("%s must be 'day', 'week' or 'month'", argname),
					errdetail("The value is '%.*s'.", len, s),
					errhint("It is the time unit of frequency, recency and tenure."));
	return 0;
}

static double
unit_days_text(text *unit, const char *argname)
{
	return clm_unit_days_of(VARDATA_ANY(unit), VARSIZE_ANY_EXHDR(unit), argname);
}

/* clm.unit_days(unit): days in 'day', 'week' or 'month' */
PG_FUNCTION_INFO_V1(clm_unit_days);
Datum
clm_unit_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(unit_days_text(PG_GETARG_TEXT_PP(0), "unit"));
}

/* attribute number of "unit" in bgnbd_model, mbgnbd_model, pareto_nbd_model */
#define MODEL_UNIT_ATTNO 9

/*
 * model_unit_days: the days in the unit a purchase model states it was
 * fitted in, or 0 when it states none (NULL unit).
 */
static double
model_unit_days(HeapTupleHeader model)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(model, MODEL_UNIT_ATTNO, &isnull);

	if (isnull)
		return 0;
	return unit_days_text(DatumGetTextPP(d), "model unit");
}

/*
 * Per-call-site cache of parsed model arguments.  Scoring calls these
 * functions once per customer with the same model; reading the composite's
 * fields each time costs more than the formulas, so the parameters are kept
 * with a copy of the composite's bytes and reused while the bytes match.
 */
typedef struct ModelCacheEntry
{
	HeapTupleHeader raw;		/* copy of the last composite seen, or NULL */
	double		params[4];
	double		unit_days;		/* purchase models: days per unit, 0 = none */
} ModelCacheEntry;

typedef struct ModelCache
{
	ModelCacheEntry arg[2];		/* arguments 0 and 1 (CLV takes two models) */
	double		unit_days;		/* days of the last unit argument */
	text	   *unit;			/* copy of the last unit argument */
} ModelCache;

static ModelCache *
model_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(ModelCache));
	return (ModelCache *) fcinfo->flinfo->fn_extra;
}

/*
 * cached_entry: the n parameters (and, for n == 4, the unit) of model
 * argument argno (0 or 1).
 */
static const ModelCacheEntry *
cached_entry(FunctionCallInfo fcinfo, int argno, int n, const char *argname)
{
	ModelCacheEntry *e = &model_cache(fcinfo)->arg[argno];
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(argno);
	uint32		len = HeapTupleHeaderGetDatumLength(th);

	if (e->raw == NULL || HeapTupleHeaderGetDatumLength(e->raw) != len ||
		memcmp(e->raw, th, len) != 0)
	{
		double		params[4];
		double		udays;

		model_params(th, n, params, argname);	/* errors before caching */
		udays = (n == 4) ? model_unit_days(th) : 0;
		if (e->raw)
			pfree(e->raw);
		e->raw = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len);
		memcpy(e->raw, th, len);
		memcpy(e->params, params, sizeof(params));
		e->unit_days = udays;
	}
	return e;
}

static const double *
cached_params(FunctionCallInfo fcinfo, int argno, int n, const char *argname)
{
	return cached_entry(fcinfo, argno, n, argname)->params;
}

static Datum
p_alive(FunctionCallInfo fcinfo, btyd_model model)
{
	const double *params;
	double		out;
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);

	POLL_ON();

	params = cached_params(fcinfo, 0, 4, "model");
	fit_check_row(x, tx, T, true);
	check_rc(btyd_p_alive(model, params, x, tx, T, &out), "p_alive");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_bgnbd_p_alive);
Datum
clm_bgnbd_p_alive(PG_FUNCTION_ARGS)
{
	return p_alive(fcinfo, BTYD_BGNBD);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_p_alive);
Datum
clm_mbgnbd_p_alive(PG_FUNCTION_ARGS)
{
	return p_alive(fcinfo, BTYD_MBGNBD);
}

static void
check_horizon(float8 t)
{
	clm_check_finite("t", t);
	if (t < 0)
		clm_invalid_arg(errmsg("t must not be negative"),
						errdetail("The value is %g.", t));
}

static Datum
expected_purchases(FunctionCallInfo fcinfo, btyd_model model)
{
	const double *params;
	double		out;
	float8		t = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				T = PG_GETARG_FLOAT8(4);

	POLL_ON();

	params = cached_params(fcinfo, 0, 4, "model");
	check_horizon(t);
	fit_check_row(x, tx, T, true);
	check_rc(btyd_expected_purchases(model, params, t, x, tx, T, &out),
			 "expected_purchases");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_bgnbd_expected_purchases);
Datum
clm_bgnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	return expected_purchases(fcinfo, BTYD_BGNBD);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_expected_purchases);
Datum
clm_mbgnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	return expected_purchases(fcinfo, BTYD_MBGNBD);
}

/* E[X(t)] for a new customer: expected_purchases(model, t) */
static Datum
expected_purchases_new(FunctionCallInfo fcinfo, btyd_model model)
{
	double		params[4],
				out;
	float8		t = PG_GETARG_FLOAT8(1);

	POLL_ON();

	model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, params, "model");
	check_horizon(t);
	check_rc(btyd_expected_purchases_new(model, params, t, &out), "expected_purchases");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_bgnbd_expected_purchases_new);
Datum
clm_bgnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	return expected_purchases_new(fcinfo, BTYD_BGNBD);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_expected_purchases_new);
Datum
clm_mbgnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	return expected_purchases_new(fcinfo, BTYD_MBGNBD);
}

/* Pareto/NBD per-customer functions */
PG_FUNCTION_INFO_V1(clm_pnbd_p_alive);
Datum
clm_pnbd_p_alive(PG_FUNCTION_ARGS)
{
	const double *params;
	double		out;
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);

	params = cached_params(fcinfo, 0, 4, "model");
	fit_check_row(x, tx, T, true);
	check_rc(btyd_pnbd_p_alive(params, x, tx, T, &out), "p_alive");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_pnbd_expected_purchases);
Datum
clm_pnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	const double *params;
	double		out;
	float8		t = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				T = PG_GETARG_FLOAT8(4);

	params = cached_params(fcinfo, 0, 4, "model");
	check_horizon(t);
	fit_check_row(x, tx, T, true);
	check_rc(btyd_pnbd_expected_purchases(params, t, x, tx, T, &out), "expected_purchases");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_pnbd_expected_purchases_new);
Datum
clm_pnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	double		params[4],
				out;
	float8		t = PG_GETARG_FLOAT8(1);

	model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, params, "model");
	check_horizon(t);
	check_rc(btyd_pnbd_expected_purchases_new(params, t, &out), "expected_purchases");
	PG_RETURN_FLOAT8(out);
}

/* ---------- next purchase ---------- */

/* prob_purchases(model, n, t, frequency, recency, tenure) */
static Datum
prob_n(FunctionCallInfo fcinfo, btyd_model model)
{
	const double *params = cached_params(fcinfo, 0, 4, "model");
	int32		n = PG_GETARG_INT32(1);
	float8		t = PG_GETARG_FLOAT8(2),
				x = PG_GETARG_FLOAT8(3),
				tx = PG_GETARG_FLOAT8(4),
				T = PG_GETARG_FLOAT8(5);
	double		out;

	if (n < 0 || n > 1000000)
		clm_invalid_arg(errmsg("n must be between 0 and 1000000"),
						errdetail("The value is %d.", n));
	check_horizon(t);
	fit_check_row(x, tx, T, true);
	if (model == CLM_PNBD)
		check_rc(btyd_pnbd_prob_n_purchases(params, n, t, x, tx, T, &out), "prob_purchases");
	else
		check_rc(btyd_prob_n_purchases(model, params, n, t, x, tx, T, &out), "prob_purchases");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_bgnbd_prob_purchases);
Datum
clm_bgnbd_prob_purchases(PG_FUNCTION_ARGS)
{
	return prob_n(fcinfo, BTYD_BGNBD);
}

PG_FUNCTION_INFO_V1(clm_pnbd_prob_purchases);
Datum
clm_pnbd_prob_purchases(PG_FUNCTION_ARGS)
{
	return prob_n(fcinfo, CLM_PNBD);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_prob_purchases);
Datum
clm_mbgnbd_prob_purchases(PG_FUNCTION_ARGS)
{
	return prob_n(fcinfo, BTYD_MBGNBD);
}

/* prob_purchase_within(model, t, frequency, recency, tenure); model < 0: Pareto/NBD */
static Datum
prob_within(FunctionCallInfo fcinfo, int model)
{
	const double *params = cached_params(fcinfo, 0, 4, "model");
	float8		t = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				T = PG_GETARG_FLOAT8(4);
	double		out;

	check_horizon(t);
	fit_check_row(x, tx, T, true);
	if (model < 0)
		check_rc(btyd_pnbd_prob_purchase_within(params, t, x, tx, T, &out), "prob_purchase_within");
	else
		check_rc(btyd_prob_purchase_within((btyd_model) model, params, t, x, tx, T, &out),
				 "prob_purchase_within");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_bgnbd_prob_purchase_within);
Datum
clm_bgnbd_prob_purchase_within(PG_FUNCTION_ARGS)
{
	return prob_within(fcinfo, BTYD_BGNBD);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_prob_purchase_within);
Datum
clm_mbgnbd_prob_purchase_within(PG_FUNCTION_ARGS)
{
	return prob_within(fcinfo, BTYD_MBGNBD);
}

PG_FUNCTION_INFO_V1(clm_pnbd_prob_purchase_within);
Datum
clm_pnbd_prob_purchase_within(PG_FUNCTION_ARGS)
{
	return prob_within(fcinfo, -1);
}

/* next_purchase_median(model, frequency, recency, tenure) */
static Datum
next_median(FunctionCallInfo fcinfo, btyd_model model)
{
	const double *params = cached_params(fcinfo, 0, 4, "model");
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);
	double		out;

	fit_check_row(x, tx, T, true);
	check_rc(btyd_next_purchase_median(model, params, x, tx, T, &out), "next_purchase_median");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_pnbd_next_purchase_median);
Datum
clm_pnbd_next_purchase_median(PG_FUNCTION_ARGS)
{
	const double *params = cached_params(fcinfo, 0, 4, "model");
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);
	double		out;

	fit_check_row(x, tx, T, true);
	check_rc(btyd_pnbd_next_purchase_median(params, x, tx, T, &out), "next_purchase_median");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_bgnbd_next_purchase_median);
Datum
clm_bgnbd_next_purchase_median(PG_FUNCTION_ARGS)
{
	return next_median(fcinfo, BTYD_BGNBD);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_next_purchase_median);
Datum
clm_mbgnbd_next_purchase_median(PG_FUNCTION_ARGS)
{
	return next_median(fcinfo, BTYD_MBGNBD);
}

/*
 * check_monetary: Gamma-Gamma needs a positive mean spend for repeat
 * customers; for customers without repeat purchases the value is ignored.
 */
static void
check_monetary(float8 x, float8 m)
{
	clm_check_finite("monetary", m);
	if (x > 0 && !(m > 0))
		clm_invalid_arg(errmsg("monetary must be greater than 0 for a customer with repeat purchases"),
						errdetail("Frequency is %g, monetary is %g.", x, m));
}

PG_FUNCTION_INFO_V1(clm_expected_avg_value);
Datum
clm_expected_avg_value(PG_FUNCTION_ARGS)
{
	const double *params;
	double		out;
	float8		x = PG_GETARG_FLOAT8(1),
				m = PG_GETARG_FLOAT8(2);

	params = cached_params(fcinfo, 0, 3, "gg_model");
	fit_check_row(x, 0, 0, false);
	check_monetary(x, m);
	check_rc(btyd_gg_expected_avg_value(params, x, m, &out), "expected_avg_value");
	PG_RETURN_FLOAT8(out);
}

/* days of the unit argument, parsed once per distinct value */
static double
cached_unit_days(FunctionCallInfo fcinfo, text *unit)
{
	ModelCache *c = model_cache(fcinfo);

	if (c->unit == NULL || VARSIZE_ANY(c->unit) != VARSIZE_ANY(unit) ||
		memcmp(c->unit, unit, VARSIZE_ANY(unit)) != 0)
	{
		double		udays = unit_days_text(unit, "unit");

		if (c->unit)
			pfree(c->unit);
		c->unit = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE_ANY(unit));
		memcpy(c->unit, unit, VARSIZE_ANY(unit));
		c->unit_days = udays;
	}
	return c->unit_days;
}

/*
 * model CLV: clv_estimate(model, gg_model, x, tx, T, m, horizon_months,
 * discount_rate [, unit]).  unit is the unit of x's history (recency,
 * tenure); NULL means the model's own unit (weeks for a model that states
 * none).  A model that states a different unit is converted to the data's
 * unit (alpha scales with the length of the unit), never used as it is.
 * NULL in any other argument gives NULL (the function is not STRICT only
 * because of unit).
 */
static Datum
clv_model(FunctionCallInfo fcinfo, btyd_model model)
{
	const ModelCacheEntry *e;
	double		bg[4];
	const double *gg;
	double		out,
				udays;
	float8		x,
				tx,
				T,
				m,
				d;
	int32		horizon;
	int			i;

	for (i = 0; i < 8; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	x = PG_GETARG_FLOAT8(2);
	tx = PG_GETARG_FLOAT8(3);
	T = PG_GETARG_FLOAT8(4);
	m = PG_GETARG_FLOAT8(5);
	horizon = PG_GETARG_INT32(6);
	d = PG_GETARG_FLOAT8(7);

	POLL_ON();

	e = cached_entry(fcinfo, 0, 4, "model");
	memcpy(bg, e->params, sizeof(bg));
	gg = cached_params(fcinfo, 1, 3, "gg_model");
	fit_check_row(x, tx, T, true);
	check_monetary(x, m);
	if (horizon < 0 || horizon > BTYD_MAX_HORIZON_MONTHS)
		clm_invalid_arg(errmsg("horizon_months must be between 0 and %d",
							   BTYD_MAX_HORIZON_MONTHS),
						errdetail("The value is %d.", horizon),
						errhint("The limit is %d months (1000 years); discounting makes later months negligible.",
								BTYD_MAX_HORIZON_MONTHS));
	clm_check_finite("discount_rate", d);
	if (d < 0)
		clm_invalid_arg(errmsg("discount_rate must not be negative"),
						errdetail("The value is %g.", d),
						errhint("It is the monthly discount rate, e.g. 0.01."));
	if (PG_NARGS() > 8 && !PG_ARGISNULL(8))
		udays = cached_unit_days(fcinfo, PG_GETARG_TEXT_PP(8));
	else
		udays = (e->unit_days > 0) ? e->unit_days : 7.0;
	/*
	 * lambda (and Pareto/NBD's mu) is a rate per unit: its Gamma scale
	 * alpha (beta) is a length of time
	 */
	if (e->unit_days > 0 && e->unit_days != udays)
	{
		bg[1] *= e->unit_days / udays;
		if (model == CLM_PNBD)
			bg[3] *= e->unit_days / udays;
	}
	if (model == CLM_PNBD)
		check_rc(btyd_pnbd_clv(bg, gg, x, tx, T, m, horizon, d,
							   CLM_DAYS_PER_MONTH / udays, &out),
				 "clv_estimate");
	else
		check_rc(btyd_clv(model, bg, gg, x, tx, T, m, horizon, d,
						  CLM_DAYS_PER_MONTH / udays, &out),
				 "clv_estimate");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_bgnbd_clv);
Datum
clm_bgnbd_clv(PG_FUNCTION_ARGS)
{
	return clv_model(fcinfo, BTYD_BGNBD);
}

PG_FUNCTION_INFO_V1(clm_pnbd_clv);
Datum
clm_pnbd_clv(PG_FUNCTION_ARGS)
{
	return clv_model(fcinfo, CLM_PNBD);
}

PG_FUNCTION_INFO_V1(clm_mbgnbd_clv);
Datum
clm_mbgnbd_clv(PG_FUNCTION_ARGS)
{
	return clv_model(fcinfo, BTYD_MBGNBD);
}

/*
 * The business formula:
 *		CLV = annual_value * margin * (1 + d) / (d + churn_rate) - acquisition_cost
 * the sum over years k = 0, 1, ... of the yearly margin, received at the
 * start of each year the customer is still there (probability
 * (1 - churn_rate)^k), discounted by (1 + d)^k.  With d = 0 it is
 * annual_value * margin / churn_rate: the yearly margin times the expected
 * lifetime 1 / churn_rate.
 */
PG_FUNCTION_INFO_V1(clm_clv_formula);
Datum
clm_clv_formula(PG_FUNCTION_ARGS)
{
	float8		value = PG_GETARG_FLOAT8(0),
				margin = PG_GETARG_FLOAT8(1),
				churn = PG_GETARG_FLOAT8(2),
				cac = PG_GETARG_FLOAT8(3),
				d = PG_GETARG_FLOAT8(4);

	clm_check_finite("annual_value", value);
	clm_check_finite("margin", margin);
	clm_check_finite("churn_rate", churn);
	clm_check_finite("acquisition_cost", cac);
	clm_check_finite("discount_rate", d);
	if (margin < 0 || margin > 1)
		clm_invalid_arg(errmsg("margin must be between 0 and 1"),
						errdetail("The value is %g.", margin),
						errhint("Pass the margin as a fraction: 0.3 for 30%%."));
	if (!(churn > 0) || churn > 1)
		clm_invalid_arg(errmsg("churn_rate must be greater than 0 and at most 1"),
						errdetail("The value is %g.", churn),
						errhint("It is the yearly share of customers lost: 0.2 for 20%%."));
	if (d < 0)
		clm_invalid_arg(errmsg("discount_rate must not be negative"),
						errdetail("The value is %g.", d));
	PG_RETURN_FLOAT8(value * margin * (1.0 + d) / (d + churn) - cac);
}
