/*-------------------------------------------------------------------------
 *
 * models_uncertainty.c
 *		What the parameter uncertainty of a fit means for its users: the
 *		normal quantile of a confidence level, rescaling a covariance with
 *		the parameters (a change of time unit).  The delta-method
 *		intervals of per-customer quantities are in models_interval.c.
 *
 * src/models_uncertainty.c
 *
 *-------------------------------------------------------------------------
 */
#include "models.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

/*
 * Standard normal quantile Phi^-1(p) for 0 < p < 1: Acklam's rational
 * approximation (relative error 1.2e-9) and one Halley step on
 * Phi(z) - p with erfc, which brings it to double precision.
 */
double
clm_normal_quantile(double p)
{
	static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
	2.506628277459239e+00};
	static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
	2.938163982698783e+00};
	static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
	2.445134137142996e+00, 3.754408661907416e+00};
	double		q,
				r,
				z,
				e,
				u;

	if (p < 0.02425)
	{
		q = sqrt(-2 * log(p));
		z = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	else if (p > 1 - 0.02425)
	{
		q = sqrt(-2 * log1p(-p));
		z = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	else
	{
		q = p - 0.5;
		r = q * q;
		z = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
			(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	}
	e = 0.5 * erfc(-z / M_SQRT2) - p;
	u = e * sqrt(2 * M_PI) * exp(z * z / 2);
	/* far in the tails (p near the smallest double) exp(z^2/2) overflows */
	if (!isfinite(u))
		return z;
	return z - u / (1 + z * u / 2);
}

/*
 * clm_level_z: the two-sided normal quantile of a confidence level, which
 * must be strictly between 0 and 1.
 */
double
clm_level_z(double level)
{
	clm_check_finite("level", level);
	if (!(level > 0 && level < 1))
		clm_invalid_arg(errmsg("level must be between 0 and 1"),
						errdetail("The value is %g.", level),
						errhint("It is the confidence level of the interval, e.g. 0.95."));
	return clm_normal_quantile(0.5 + level / 2);
}

/* clm.normal_quantile(p): Phi^-1(p) */
PG_FUNCTION_INFO_V1(clm_normal_quantile_sql);
Datum
clm_normal_quantile_sql(PG_FUNCTION_ARGS)
{
	float8		p = PG_GETARG_FLOAT8(0);

	clm_check_finite("p", p);
	if (!(p > 0 && p < 1))
		clm_invalid_arg(errmsg("p must be between 0 and 1"),
						errdetail("The value is %g.", p));
	PG_RETURN_FLOAT8(clm_normal_quantile(p));
}

/* clm.level_z(level): the z of a two-sided interval at level */
PG_FUNCTION_INFO_V1(clm_level_z_sql);
Datum
clm_level_z_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(clm_level_z(PG_GETARG_FLOAT8(0)));
}

/*
 * clm_covariance_get: the n x n covariance of a model composite's field
 * attno into cov; false when NULL.  Anything but an n x n array of finite
 * numbers is an error naming argname.
 */
bool
clm_covariance_get(HeapTupleHeader model, int attno, int n, double *cov,
				   const char *argname)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(model, attno, &isnull);
	Datum	   *v;
	bool	   *vnull;
	int			nv,
				j;

	if (isnull)
		return false;
	deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &v, &vnull, &nv);
	if (nv != n * n)
		clm_invalid_arg(errmsg("the covariance of %s must be a %d x %d array of numbers", argname, n, n),
						errhint("Pass the result of a fit."));
	for (j = 0; j < n * n; j++)
	{
		if (vnull[j] || !isfinite(DatumGetFloat8(v[j])))
			clm_invalid_arg(errmsg("the covariance of %s must be finite", argname));
		cov[j] = DatumGetFloat8(v[j]);
	}
	for (j = 0; j < n; j++)
		if (cov[j * n + j] < 0)
			clm_invalid_arg(errmsg("the covariance of %s has a negative variance", argname),
							errdetail("Element [%d][%d] is %g.", j + 1, j + 1, cov[j * n + j]));
	return true;
}

/*
 * clm.rescale_covariance(covariance, scale): cov[i][j] * scale[i] *
 * scale[j], the covariance of the parameters multiplied by scale (clm.in_unit
 * rescales alpha and beta with the time unit).
 */
PG_FUNCTION_INFO_V1(clm_rescale_covariance);
Datum
clm_rescale_covariance(PG_FUNCTION_ARGS)
{
	Datum	   *c,
			   *s,
			   *out;
	bool	   *cnull,
			   *snull;
	int			nc,
				n,
				i,
				j,
				dims[2],
				lbs[2] = {1, 1};

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &c, &cnull, &nc);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &s, &snull, &n);
	if (n < 1 || n > 4 || nc != n * n)
		clm_invalid_arg(errmsg("covariance must be an n x n array and scale an array of n numbers"),
						errhint("n is the number of model parameters."));
	for (j = 0; j < nc; j++)
		if (cnull[j] || (j < n && snull[j]))
			clm_invalid_arg(errmsg("covariance and scale must not contain NULL"));
	out = palloc(n * n * sizeof(Datum));
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
		{
			float8		v = DatumGetFloat8(c[i * n + j]) * DatumGetFloat8(s[i]) *
				DatumGetFloat8(s[j]);

			if (!isfinite(v))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("rescaled covariance is out of range"),
						 errdetail("Element [%d][%d] would be %g.", i + 1, j + 1, v)));
			out[i * n + j] = Float8GetDatum(v);
		}
	dims[0] = dims[1] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, NULL, 2, dims, lbs, FLOAT8OID,
											 sizeof(float8), FLOAT8PASSBYVAL,
											 TYPALIGN_DOUBLE));
}
