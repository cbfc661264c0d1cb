/*-------------------------------------------------------------------------
 *
 * models_next.c
 *		Next purchase: P(n purchases in t), P(at least one), median wait.
 *
 * src/models_next.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

/* ---------- next purchase ---------- */

/* prob_purchases(model, n, t, frequency, recency, tenure) */
static Datum
prob_n(FunctionCallInfo fcinfo, btyd_model model)
{
	const double *params = clm_cached_params(fcinfo, 0, 4, "model");
	int32		n = PG_GETARG_INT32(1);
	float8		t = PG_GETARG_FLOAT8(2),
				x = PG_GETARG_FLOAT8(3),
				tx = PG_GETARG_FLOAT8(4),
				T = PG_GETARG_FLOAT8(5);
	double		out;

	if (n < 0 || n > 1000000)
		clm_invalid_arg(errmsg("n must be between 0 and 1000000"),
						errdetail("The value is %d.", n));
	clm_check_horizon(t);
	fit_check_row(x, tx, T, true);
	if (model == CLM_PNBD)
		clm_check_rc(btyd_pnbd_prob_n_purchases(params, n, t, x, tx, T, &out), "prob_purchases");
	else
		clm_check_rc(btyd_prob_n_purchases(model, params, n, t, x, tx, T, &out), "prob_purchases");
	PG_RETURN_FLOAT8(clm_probability(out, 1, "prob_purchases"));
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
	const double *params = clm_cached_params(fcinfo, 0, 4, "model");
	float8		t = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				T = PG_GETARG_FLOAT8(4);
	double		out;

	clm_check_horizon(t);
	fit_check_row(x, tx, T, true);
	if (model < 0)
		clm_check_rc(btyd_pnbd_prob_purchase_within(params, t, x, tx, T, &out), "prob_purchase_within");
	else
		clm_check_rc(btyd_prob_purchase_within((btyd_model) model, params, t, x, tx, T, &out),
				 "prob_purchase_within");
	PG_RETURN_FLOAT8(clm_probability(out, 1, "prob_purchase_within"));
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
	const double *params = clm_cached_params(fcinfo, 0, 4, "model");
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);
	double		out;

	fit_check_row(x, tx, T, true);
	clm_check_rc(btyd_next_purchase_median(model, params, x, tx, T, &out), "next_purchase_median");
	/* +Infinity is an answer (most alive customers never buy again); NaN is not */
	if (isnan(out))
		clm_check_result(out, "next_purchase_median");
	PG_RETURN_FLOAT8(out);
}

PG_FUNCTION_INFO_V1(clm_pnbd_next_purchase_median);
Datum
clm_pnbd_next_purchase_median(PG_FUNCTION_ARGS)
{
	const double *params = clm_cached_params(fcinfo, 0, 4, "model");
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);
	double		out;

	fit_check_row(x, tx, T, true);
	clm_check_rc(btyd_pnbd_next_purchase_median(params, x, tx, T, &out), "next_purchase_median");
	if (isnan(out))
		clm_check_result(out, "next_purchase_median");
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
