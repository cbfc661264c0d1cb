/*-------------------------------------------------------------------------
 *
 * models_bgbb.c
 *		SQL interface of the BG/BB model (Fader, Hardie & Shang 2010) for
 *		discrete-time data: the fit of a clm.fit_data whose rows are
 *		(frequency, recency, periods) with weights, P(alive), expected
 *		transactions in the next periods and discounted expected residual
 *		transactions (btyd_bgbb.c).
 *
 * src/models_bgbb.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

/* a BG/BB history: whole numbers 0 <= frequency <= recency <= periods */
static void
bgbb_check_row(float8 x, float8 tx, float8 n)
{
	clm_check_finite("frequency", x);
	clm_check_finite("recency", tx);
	clm_check_finite("periods", n);
	if (!btyd_bgbb_check_history(x, tx, n))
		clm_invalid_arg(errmsg("frequency, recency and periods must be whole numbers with 0 <= frequency <= recency <= periods <= %d, recency = 0 exactly when frequency = 0",
							   BTYD_BGBB_MAX_PERIODS),
						errdetail("Frequency is %g, recency %g, periods %g.", x, tx, n),
						errhint("Frequency counts the periods with a transaction, recency is the last such period, periods the opportunities so far."));
}

/* clm.bgbb_fit(fit_data [, penalizer [, init]]) */
PG_FUNCTION_INFO_V1(clm_bgbb_fit);
Datum
clm_bgbb_fit(PG_FUNCTION_ARGS)
{
	FitData    *fd;
	float8		pen = 0;
	btyd_row   *rows;
	int32		i;
	size_t		n;
	btyd_fit_options opt;
	btyd_fit_result res;
	double		init[4];
	int			rc;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	fd = (FitData *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	fit_data_check(fd);
	if (PG_NARGS() > 1)
	{
		if (PG_ARGISNULL(1))
			clm_invalid_arg(errmsg("penalizer must not be NULL"));
		pen = PG_GETARG_FLOAT8(1);
	}
	else
		pen = fd->penalizer;
	fit_check_penalizer(pen);
	if (fd->nrows == 0)
		PG_RETURN_NULL();
	if (!(fd->flags & FIT_RECENCY))
		clm_invalid_arg(errmsg("bgbb_fit needs frequency, recency and periods"),
						errhint("Build the data with clm.fit_data(frequency, recency, periods[, weight])."));
	rows = palloc(fd->nrows * sizeof(btyd_row));
	for (i = 0; i < fd->nrows; i++)
	{
		bgbb_check_row(fd->rows[i].x, fd->rows[i].tx, fd->rows[i].T);
		rows[i].x = fd->rows[i].x;
		rows[i].tx = fd->rows[i].tx;
		rows[i].T = fd->rows[i].T;
		rows[i].w = fd->rows[i].w;
	}
	n = btyd_group_rows(rows, fd->nrows);
	clm_fit_options(&opt, pen);
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
	{
		clm_model_params(PG_GETARG_HEAPTUPLEHEADER(2), 4, init, "init");
		opt.use_init = 1;
		opt.n_starts = 1;
		memcpy(opt.init, init, sizeof(init));
		rc = btyd_fit_bgbb(rows, n, &opt, &res);
		if (rc != BTYD_OK || !res.converged)
		{
			clm_fit_options(&opt, pen);
			rc = btyd_fit_bgbb(rows, n, &opt, &res);
		}
	}
	else
		rc = btyd_fit_bgbb(rows, n, &opt, &res);
	clm_check_rc(rc, "bgbb_fit");
	clm_check_fit_finite(&res, "bgbb_fit");
	if (rc == BTYD_EDATA)
		ereport(NOTICE,
				(errmsg("bgbb_fit: no customer has a transaction, so the likelihood has no finite maximum"),
				 errdetail("The result has converged = false and its parameters are not estimates.")));
	tupdesc = clm_result_tupdesc(fcinfo);
	for (i = 0; i < 4; i++)
		values[i] = Float8GetDatum(res.params[i]);
	values[4] = Float8GetDatum(res.loglik);
	values[5] = Int64GetDatum(clm_fit_count(res.total_weight));
	values[6] = Int32GetDatum(res.iterations);
	values[7] = BoolGetDatum(rc == BTYD_OK && res.converged);
	values[8] = clm_fit_covariance(&res, rc, "bgbb_fit", &nulls[8]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* clm.p_alive(bgbb_model, frequency, recency, periods) */
PG_FUNCTION_INFO_V1(clm_bgbb_p_alive);
Datum
clm_bgbb_p_alive(PG_FUNCTION_ARGS)
{
	const double *p = clm_cached_params_unitless(fcinfo, 0, 4, "model");
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				n = PG_GETARG_FLOAT8(3);
	double		out;

	POLL_ON();
	bgbb_check_row(x, tx, n);
	clm_check_rc(btyd_bgbb_p_alive(p, x, tx, n, &out), "p_alive");
	PG_RETURN_FLOAT8(clm_probability(out, 1, "p_alive"));
}

/* clm.expected_purchases(bgbb_model, t, frequency, recency, periods) */
PG_FUNCTION_INFO_V1(clm_bgbb_expected_purchases);
Datum
clm_bgbb_expected_purchases(PG_FUNCTION_ARGS)
{
	const double *p = clm_cached_params_unitless(fcinfo, 0, 4, "model");
	float8		t = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				n = PG_GETARG_FLOAT8(4);
	double		out;

	POLL_ON();
	clm_check_horizon(t);
	if (t != floor(t) || t > BTYD_BGBB_MAX_PERIODS)
		clm_invalid_arg(errmsg("t must be a whole number of periods up to %d", BTYD_BGBB_MAX_PERIODS),
						errdetail("The value is %g.", t));
	bgbb_check_row(x, tx, n);
	clm_check_rc(btyd_bgbb_expected_purchases(p, t, x, tx, n, &out), "expected_purchases");
	PG_RETURN_FLOAT8(clm_nonnegative(out, "expected_purchases"));
}

/* clm.discounted_expected_transactions(bgbb_model, frequency, recency, periods, discount_rate) */
PG_FUNCTION_INFO_V1(clm_bgbb_dert);
Datum
clm_bgbb_dert(PG_FUNCTION_ARGS)
{
	const double *p = clm_cached_params_unitless(fcinfo, 0, 4, "model");
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				n = PG_GETARG_FLOAT8(3),
				d = PG_GETARG_FLOAT8(4);
	double		out;

	POLL_ON();
	bgbb_check_row(x, tx, n);
	clm_check_finite("discount_rate", d);
	if (!(d > 0))
		clm_invalid_arg(errmsg("discount_rate must be greater than 0"),
						errdetail("The value is %g.", d),
						errhint("It is the discount rate per period, e.g. 0.1 for yearly donations."));
	clm_check_rc(btyd_bgbb_dert(p, d, x, tx, n, &out), "discounted_expected_transactions");
	PG_RETURN_FLOAT8(clm_nonnegative(out, "discounted_expected_transactions"));
}
