/*-------------------------------------------------------------------------
 *
 * models_fit.c
 *		Fitting BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma from a
 *		clm.fit_data (maximum likelihood, src/btyd_fit.c).
 *
 * src/models_fit.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

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
	Datum		values[10];
	bool		nulls[10] = {false};

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

	clm_fit_options(&opt, penalizer);
	if (init != NULL)
	{
		/* warm start: one run from the given parameters, the full search if it fails */
		opt.use_init = 1;
		opt.n_starts = 1;
		memcpy(opt.init, init, 4 * sizeof(double));
		rc = fit_purchase_model(model, rows, n, &opt, &res);
		if (rc != BTYD_OK || !res.converged)
		{
			clm_fit_options(&opt, penalizer);
			rc = fit_purchase_model(model, rows, n, &opt, &res);
		}
	}
	else
		rc = fit_purchase_model(model, rows, n, &opt, &res);
	clm_check_rc(rc, what);
	clm_check_fit_finite(&res, what);
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
	values[5] = Int64GetDatum(clm_fit_count(res.total_weight));
	values[6] = Int32GetDatum(res.iterations);
	values[7] = BoolGetDatum(rc == BTYD_OK && res.converged);
	/* the data carry no unit: the caller states it with clm.in_unit */
	values[8] = (Datum) 0;
	nulls[8] = true;
	values[9] = clm_fit_covariance(&res, rc, what, &nulls[9]);
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
	Datum		values[9];
	bool		nulls[9] = {false};

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

	clm_fit_options(&opt, penalizer);
	if (init != NULL)
	{
		opt.use_init = 1;
		opt.n_starts = 1;
		memcpy(opt.init, init, 3 * sizeof(double));
		rc = btyd_fit_gg(rows, n, &opt, &res);
		if (rc != BTYD_OK || !res.converged)
		{
			clm_fit_options(&opt, penalizer);
			rc = btyd_fit_gg(rows, n, &opt, &res);
		}
	}
	else
		rc = btyd_fit_gg(rows, n, &opt, &res);
	clm_check_rc(rc, "gamma_gamma_fit");
	/* also when degenerate: the reported start must be finite too */
	clm_check_fit_finite(&res, "gamma_gamma_fit");
	if (rc == BTYD_EDATA)
		ereport(NOTICE,
				(errmsg("gamma_gamma_fit: no customer has a repeat purchase with a positive monetary value"),
				 errdetail("The result has converged = false and its parameters are not estimates.")));

	tupdesc = clm_result_tupdesc(fcinfo);
	values[0] = Float8GetDatum(res.params[0]);
	values[1] = Float8GetDatum(res.params[1]);
	values[2] = Float8GetDatum(res.params[2]);
	values[3] = Float8GetDatum(res.loglik);
	values[4] = Int64GetDatum(clm_fit_count(rc == BTYD_OK ? res.total_weight : 0));
	values[5] = Int64GetDatum(clm_fit_count(skipped));
	values[6] = Int32GetDatum(res.iterations);
	values[7] = BoolGetDatum(rc == BTYD_OK && res.converged);
	values[8] = clm_fit_covariance(&res, rc, "gamma_gamma_fit", &nulls[8]);
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
	clm_model_params(PG_GETARG_HEAPTUPLEHEADER(argno), n, buf, "init");
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
