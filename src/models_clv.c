/*-------------------------------------------------------------------------
 *
 * models_clv.c
 *		Gamma-Gamma expected average value, the model CLV and the business
 *		CLV formula.
 *
 * src/models_clv.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

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

	params = clm_cached_params(fcinfo, 0, 3, "gg_model");
	fit_check_row(x, 0, 0, false);
	check_monetary(x, m);
	clm_check_rc(btyd_gg_expected_avg_value(params, x, m, &out), "expected_avg_value");
	PG_RETURN_FLOAT8(clm_check_result(out, "expected_avg_value"));
}

/*
 * clm_clv_check_args: the checks of the model CLV's customer and horizon
 * arguments, in the order clv_estimate makes them (shared with
 * clm.clv_estimate(summary, scoring), src/value.c, so both fail alike)
 */
void
clm_clv_check_args(float8 x, float8 tx, float8 T, float8 m, int32 horizon, float8 d)
{
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
}

/*
 * clm_clv_compute: the model CLV once the arguments are checked.
 * model_udays is the unit the model states (0: none), udays the unit of the
 * data; a model that states another unit is converted to the data's (lambda,
 * and Pareto/NBD's mu, is a rate per unit: its Gamma scale alpha, beta, is
 * a length of time).  memo (or NULL) keeps the purchase part per (x, T) for
 * a caller scoring many customers with one context (value.c).
 */
double
clm_clv_compute(btyd_model model, const double params[4], double model_udays, const double *gg,
				float8 x, float8 tx, float8 T, float8 m, int32 horizon, float8 d, double udays,
				const btyd_clv_memo *memo)
{
	double		bg[4],
				out;

	memcpy(bg, params, sizeof(bg));
	if (model_udays > 0 && model_udays != udays)
	{
		bg[1] *= model_udays / udays;
		if (model == CLM_PNBD)
			bg[3] *= model_udays / udays;
	}
	if (model == CLM_PNBD)
		clm_check_rc(btyd_pnbd_clv(bg, gg, x, tx, T, m, horizon, d,
								   CLM_DAYS_PER_MONTH / udays, &out),
					 "clv_estimate");
	else
		clm_check_rc(btyd_clv_memo_eval(model, bg, gg, x, tx, T, m, horizon, d,
										CLM_DAYS_PER_MONTH / udays, memo, &out),
					 "clv_estimate");
	return clm_nonnegative(out, "clv_estimate");
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
	const double *gg;
	double		udays;
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

	e = clm_cached_entry(fcinfo, 0, 4, "model");
	gg = clm_cached_params(fcinfo, 1, 3, "gg_model");
	clm_clv_check_args(x, tx, T, m, horizon, d);
	if (PG_NARGS() > 8 && !PG_ARGISNULL(8))
		udays = clm_cached_unit_days(fcinfo, PG_GETARG_TEXT_PP(8));
	else
		udays = (e->unit_days > 0) ? e->unit_days : 7.0;
	PG_RETURN_FLOAT8(clm_clv_compute(model, e->params, e->unit_days, gg,
									 x, tx, T, m, horizon, d, udays, NULL));
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
				d = PG_GETARG_FLOAT8(4),
				ratio,
				clv;

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
	/*
	 * (1 + d) / (d + churn) first: it is at most 1 / churn, and written as
	 * one ratio it does not overflow for a huge d (1e308 gave Infinity, 1e300
	 * the right 300)
	 */
	ratio = (1.0 + d) / (d + churn);
	if (!isfinite(ratio))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("churn_rate is too small: the expected lifetime is out of range"),
				 errdetail("The value is %g; the lifetime is 1 / churn_rate years.", churn),
				 errhint("A yearly churn rate below 1e-300 means customers never leave; pass a realistic rate.")));
	clv = value * margin * ratio - cac;
	if (!isfinite(clv))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("clv_estimate is out of range for annual_value %g, margin %g, churn_rate %g and acquisition_cost %g",
						value, margin, churn, cac),
				 errhint("Pass amounts in a larger currency unit.")));
	PG_RETURN_FLOAT8(clv);
}
