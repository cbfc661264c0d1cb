/*-------------------------------------------------------------------------
 *
 * models.c
 *		SQL interface of the CLV models, common part: the glue to the btyd
 *		core (allocator, cancel polling, return codes to errors), model
 *		arguments, time units and the per-call-site cache of parsed models.
 *		The numerics live in src/btyd_*.c, plain C with no PostgreSQL
 *		dependency; these files convert arguments, check them (errors name the
 *		argument) and map the library's return codes to errors or to
 *		converged = false.  See models.h for the other files.
 *
 * src/models.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

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
int
clm_btyd_poll(void)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

/* installed once per process by _PG_init, so that every entry point,
 * including ones without POLL_ON(), can be cancelled */
void
clm_btyd_poll_install(void)
{
	POLL_ON();
}

void
clm_fit_options(btyd_fit_options *opt, float8 penalizer)
{
	btyd_fit_options_init(opt);
	opt->penalizer = penalizer;
	opt->alloc = btyd_palloc;
	opt->dealloc = btyd_pfree;
	opt->alloc_ctx = CurrentMemoryContext;
	opt->interrupt = btyd_interrupted;
}

/*
 * clm_check_rc: turn a library error into an ERROR.  BTYD_EDATA is not an
 * error: the caller reports converged = false.
 */
void
clm_check_rc(int rc, const char *what)
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

/*
 * clm_check_result: a per-customer result that is not a finite number (the
 * true value beyond the float8 range, or lost to rounding at parameters
 * near the ends of the double range) is an error, never NaN or Infinity
 * from finite arguments.
 */
double
clm_check_result(double v, const char *what)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range for these model parameters and arguments", what),
				 errdetail("The result would be %g.", v),
				 errhint("Check the model's parameters (a fit's result), and scale monetary values or time if they are extreme.")));
	return v;
}

/*
 * clm_nonnegative: an expected count or value that is >= 0 in exact
 * arithmetic (a sum of non-negative terms, a difference of increasing
 * quantities) but may round to a few ulps below 0
 */
double
clm_nonnegative(double v, const char *what)
{
	clm_check_result(v, what);
	return v < 0 ? 0 : v;
}

/*
 * clm_probability: a probability computed as a product of separately
 * rounded factors may stray above 1 (or below 0) by a few ulps, more for
 * histories far beyond any data (x = 1e9): clamp it into [0, hi].
 */
double
clm_probability(double p, double hi, const char *what)
{
	clm_check_result(p, what);
	return p < 0 ? 0 : (p > hi ? hi : p);
}


/* ---------- per-customer functions ---------- */

/*
 * clm_model_params: the first n fields of a model composite, which must be
 * finite and positive.
 */
void
clm_model_params(HeapTupleHeader model, int n, double *params, const char *argname)
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

double
clm_unit_days_text(text *unit, const char *argname)
{
	return clm_unit_days_of(VARDATA_ANY(unit), VARSIZE_ANY_EXHDR(unit), argname);
}

/* clm.unit_days(unit): days in 'day', 'week' or 'month' */
PG_FUNCTION_INFO_V1(clm_unit_days);
Datum
clm_unit_days(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(clm_unit_days_text(PG_GETARG_TEXT_PP(0), "unit"));
}

/*
 * clm_model_unit_days: the days in the unit a purchase model states it was
 * fitted in, or 0 when it states none (NULL unit).
 */
double
clm_model_unit_days(HeapTupleHeader model)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(model, MODEL_UNIT_ATTNO, &isnull);

	if (isnull)
		return 0;
	return clm_unit_days_text(DatumGetTextPP(d), "model unit");
}

/*
 * clm.check_purchase_model(model): true for a BG/NBD, MBG/NBD or Pareto/NBD
 * model composite whose parameters are finite and positive, whose unit is
 * NULL or a unit and whose n is NULL or not negative; else 22023 naming the
 * field.  clm.in_unit asks it first: it copies the fields it does not
 * rescale, so it would hand back a model no other function accepts (a
 * negative alpha rescaled, n = -1 kept).
 */
PG_FUNCTION_INFO_V1(clm_check_purchase_model);
Datum
clm_check_purchase_model(PG_FUNCTION_ARGS)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(0);
	double		params[4];
	bool		isnull;
	Datum		n;

	clm_model_params(th, 4, params, "model");
	(void) clm_model_unit_days(th);
	n = GetAttributeByNum(th, MODEL_N_ATTNO, &isnull);
	if (!isnull && DatumGetInt64(n) < 0)
		clm_invalid_arg(errmsg("model n must not be negative"),
						errdetail("The value is " INT64_FORMAT ".", DatumGetInt64(n)),
						errhint("It is the number of customers the model was fitted on."));
	PG_RETURN_BOOL(true);
}

ModelCache *
clm_model_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(ModelCache));
	return (ModelCache *) fcinfo->flinfo->fn_extra;
}

/*
 * clm_cached_entry: the n parameters (and, for n == 4, the unit) of model
 * argument argno (0 or 1).
 */
static const ModelCacheEntry *
cached_entry_ext(FunctionCallInfo fcinfo, int argno, int n, const char *argname, bool has_unit)
{
	ModelCacheEntry *e = &clm_model_cache(fcinfo)->arg[argno];
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(argno);
	uint32		len = HeapTupleHeaderGetDatumLength(th);

	if (e->raw == NULL || HeapTupleHeaderGetDatumLength(e->raw) != len ||
		memcmp(e->raw, th, len) != 0)
	{
		double		params[4];
		double		udays;

		clm_model_params(th, n, params, argname);	/* errors before caching */
		udays = has_unit ? clm_model_unit_days(th) : 0;
		if (e->raw)
			pfree(e->raw);
		e->raw = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len);
		memcpy(e->raw, th, len);
		memcpy(e->params, params, sizeof(params));
		e->unit_days = udays;
	}
	return e;
}

const ModelCacheEntry *
clm_cached_entry(FunctionCallInfo fcinfo, int argno, int n, const char *argname)
{
	return cached_entry_ext(fcinfo, argno, n, argname, n == 4);
}

/* the n parameters of a model composite without a unit field (BG/BB) */
const double *
clm_cached_params_unitless(FunctionCallInfo fcinfo, int argno, int n, const char *argname)
{
	return cached_entry_ext(fcinfo, argno, n, argname, false)->params;
}

const double *
clm_cached_params(FunctionCallInfo fcinfo, int argno, int n, const char *argname)
{
	return clm_cached_entry(fcinfo, argno, n, argname)->params;
}


/* t, a horizon in the model's unit: finite and not negative */
void
clm_check_horizon(float8 t)
{
	clm_check_finite("t", t);
	if (t < 0)
		clm_invalid_arg(errmsg("t must not be negative"),
						errdetail("The value is %g.", t));
}

/* days of the unit argument, parsed once per distinct value */
double
clm_cached_unit_days(FunctionCallInfo fcinfo, text *unit)
{
	ModelCache *c = clm_model_cache(fcinfo);

	if (c->unit == NULL || VARSIZE_ANY(c->unit) != VARSIZE_ANY(unit) ||
		memcmp(c->unit, unit, VARSIZE_ANY(unit)) != 0)
	{
		double		udays = clm_unit_days_text(unit, "unit");

		if (c->unit)
			pfree(c->unit);
		c->unit = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE_ANY(unit));
		memcpy(c->unit, unit, VARSIZE_ANY(unit));
		c->unit_days = udays;
	}
	return c->unit_days;
}

/*
 * clm_fit_count: a total weight (a number of customers) as the bigint n of
 * a model; 22003 beyond bigint rather than a wrapped negative count.
 */
int64
clm_fit_count(double w)
{
	if (!(w < 9.2e18))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the data's total weight is out of range for the model's n"),
				 errdetail("The total weight is %g; n is a bigint.", w),
				 errhint("Weights count customers; pass counts below 9.2e18.")));
	return (int64) llround(w);
}

/*
 * clm_check_fit_finite: a fit whose estimates or log-likelihood are not
 * finite (data so extreme that no start is inside the optimiser's domain,
 * e.g. monetary values near the largest double) is an error naming the
 * data, never a model with Infinity in it.
 */
void
clm_check_fit_finite(const btyd_fit_result *res, const char *what)
{
	int			j;

	for (j = 0; j < res->nparams; j++)
		if (!isfinite(res->params[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s: data out of range for the model: no finite estimate", what),
					 errdetail("Parameter %d would be %g.", j + 1, res->params[j]),
					 errhint("Scale the data (monetary values in a larger currency unit, time in a longer unit).")));
	if (!isfinite(res->loglik))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s: data out of range for the model: the log-likelihood is not finite", what),
				 errhint("Scale the data (monetary values in a larger currency unit, time in a longer unit).")));
}

/*
 * clm_fit_covariance: the covariance of a fit's estimates as a
 * nparams x nparams float8 array, or NULL (*isnull) when there is none;
 * a converged fit without one says why in a NOTICE.
 */
Datum
clm_fit_covariance(const btyd_fit_result *res, int rc, const char *what, bool *isnull)
{
	Datum		elems[16];
	int			dims[2],
				lbs[2] = {1, 1},
				n = res->nparams,
				j;

	if (rc != BTYD_OK || res->cov_status != BTYD_COV_OK)
	{
		if (rc == BTYD_OK && res->converged && res->cov_status != BTYD_COV_OK)
			ereport(NOTICE,
					(errmsg("%s: no standard errors", what),
					 errdetail("Without them: %s.", btyd_cov_strerror(res->cov_status)),
					 errhint("The covariance of the result is NULL.")));
		*isnull = true;
		return (Datum) 0;
	}
	for (j = 0; j < n * n; j++)
		elems[j] = Float8GetDatum(res->cov[j]);
	dims[0] = dims[1] = n;
	*isnull = false;
	return PointerGetDatum(construct_md_array(elems, NULL, 2, dims, lbs, FLOAT8OID,
											  sizeof(float8), FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
}
