/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *		clm.prediction_error(predicted, actual): how far a model's holdout
 *		predictions are from what customers then did.
 *
 * The state is a float8[6] (count, sum |e|, sum e^2, sum predicted, sum
 * actual, sum actual^2) with e = predicted - actual, so that it needs no
 * serialisation and parallel workers combine it by adding.  Sums are plain
 * doubles: at a million customers with errors of order 1 the rounding is
 * around 1e-10 relative, far below what these figures are read for.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/array.h"

#define ERR_NSTATE 6

/* the float8[6] state, checked (it may come from a user's call) */
static float8 *
err_state(ArrayType *arr)
{
	if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != ERR_NSTATE ||
		ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != FLOAT8OID)
		clm_invalid_arg(errmsg("prediction_error state must be a float8[6] without NULLs"));
	/* no NULL bitmap (checked): the data follow the fixed header */
	return (float8 *) ((char *) arr + ARR_OVERHEAD_NONULLS(1));
}

/* the state argument, modified in place inside the aggregate, else copied */
static ArrayType *
err_arg(FunctionCallInfo fcinfo, int argno)
{
	if (AggCheckCallContext(fcinfo, NULL))
		return PG_GETARG_ARRAYTYPE_P(argno);
	return PG_GETARG_ARRAYTYPE_P_COPY(argno);
}

/*
 * transition: skip pairs with a NULL (a customer without a prediction is
 * not an error of the model); predicted and actual must be finite and at
 * most CLM_MAX_AMOUNT in magnitude.
 */
PG_FUNCTION_INFO_V1(clm_prediction_error_trans);
Datum
clm_prediction_error_trans(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = err_arg(fcinfo, 0);
	float8	   *s = err_state(arr);
	float8		p,
				a,
				e;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_ARRAYTYPE_P(arr);
	p = PG_GETARG_FLOAT8(1);
	a = PG_GETARG_FLOAT8(2);
	clm_check_amount("predicted", p);
	clm_check_amount("actual", a);
	e = p - a;
	s[0] += 1;
	s[1] += fabs(e);
	s[2] += e * e;
	s[3] += p;
	s[4] += a;
	s[5] += a * a;
	PG_RETURN_ARRAYTYPE_P(arr);
}

PG_FUNCTION_INFO_V1(clm_prediction_error_combine);
Datum
clm_prediction_error_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = err_arg(fcinfo, 0);
	float8	   *s = err_state(arr);
	float8	   *t = err_state(PG_GETARG_ARRAYTYPE_P(1));
	int			i;

	for (i = 0; i < ERR_NSTATE; i++)
		s[i] += t[i];
	PG_RETURN_ARRAYTYPE_P(arr);
}

/*
 * final: (customers, mae, rmse, sum_predicted, sum_actual, aggregate_error,
 * rmse_baseline).  aggregate_error = sum_predicted / sum_actual - 1 (NULL
 * when nothing was bought); rmse_baseline is the RMSE of predicting every
 * customer the mean actual value (the standard deviation of actual): a
 * model whose rmse is not clearly below it ranks customers no better than
 * a constant.  NULL without any pair.
 */
PG_FUNCTION_INFO_V1(clm_prediction_error_final);
Datum
clm_prediction_error_final(PG_FUNCTION_ARGS)
{
	float8	   *s = err_state(PG_GETARG_ARRAYTYPE_P(0));
	float8		n = s[0],
				mean_a;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false};

	if (n <= 0)
		PG_RETURN_NULL();
	/* sums of squares overflow past errors of about 1e154: 22003, not Infinity */
	for (int i = 1; i < ERR_NSTATE; i++)
		clm_check_sum("prediction_error", s[i]);
	mean_a = s[4] / n;
	values[0] = Int64GetDatum((int64) llround(n));
	values[1] = Float8GetDatum(s[1] / n);
	values[2] = Float8GetDatum(sqrt(s[2] / n));
	values[3] = Float8GetDatum(s[3]);
	values[4] = Float8GetDatum(s[4]);
	if (s[4] != 0)
		values[5] = Float8GetDatum(s[3] / s[4] - 1);
	else
		nulls[5] = true;
	values[6] = Float8GetDatum(sqrt(fmax(s[5] / n - mean_a * mean_a, 0)));
	tupdesc = clm_result_tupdesc(fcinfo);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
