/*-------------------------------------------------------------------------
 *
 * models_predict.c
 *		Per-customer P(alive) and expected purchases of the purchase models.
 *
 * src/models_predict.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

static Datum
p_alive(FunctionCallInfo fcinfo, btyd_model model)
{
	const double *params;
	double		out;
	float8		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);

	POLL_ON();

	params = clm_cached_params(fcinfo, 0, 4, "model");
	fit_check_row(x, tx, T, true);
	clm_check_rc(btyd_p_alive(model, params, x, tx, T, &out), "p_alive");
	PG_RETURN_FLOAT8(clm_probability(out, 1, "p_alive"));
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

	params = clm_cached_params(fcinfo, 0, 4, "model");
	clm_check_horizon(t);
	fit_check_row(x, tx, T, true);
	clm_check_rc(btyd_expected_purchases(model, params, t, x, tx, T, &out),
			 "expected_purchases");
	PG_RETURN_FLOAT8(clm_nonnegative(out, "expected_purchases"));
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

	clm_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, params, "model");
	clm_check_horizon(t);
	clm_check_rc(btyd_expected_purchases_new(model, params, t, &out), "expected_purchases");
	PG_RETURN_FLOAT8(clm_nonnegative(out, "expected_purchases"));
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

	params = clm_cached_params(fcinfo, 0, 4, "model");
	fit_check_row(x, tx, T, true);
	clm_check_rc(btyd_pnbd_p_alive(params, x, tx, T, &out), "p_alive");
	PG_RETURN_FLOAT8(clm_probability(out, 1, "p_alive"));
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

	params = clm_cached_params(fcinfo, 0, 4, "model");
	clm_check_horizon(t);
	fit_check_row(x, tx, T, true);
	clm_check_rc(btyd_pnbd_expected_purchases(params, t, x, tx, T, &out), "expected_purchases");
	PG_RETURN_FLOAT8(clm_nonnegative(out, "expected_purchases"));
}

PG_FUNCTION_INFO_V1(clm_pnbd_expected_purchases_new);
Datum
clm_pnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	double		params[4],
				out;
	float8		t = PG_GETARG_FLOAT8(1);

	clm_model_params(PG_GETARG_HEAPTUPLEHEADER(0), 4, params, "model");
	clm_check_horizon(t);
	clm_check_rc(btyd_pnbd_expected_purchases_new(params, t, &out), "expected_purchases");
	PG_RETURN_FLOAT8(clm_nonnegative(out, "expected_purchases"));
}
