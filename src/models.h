/*-------------------------------------------------------------------------
 *
 * models.h
 *		Private header of the SQL interface of the CLV models, split by seam
 *		like the btyd core it calls:
 *		  models.c			glue to btyd (allocator, cancel polling, errors),
 *							model arguments, time units, the per-call cache
 *		  models_fit.c		the fits of a clm.fit_data
 *		  models_predict.c	P(alive), expected purchases
 *		  models_next.c		next purchase
 *		  models_clv.c		expected average value, model and formula CLV
 *		  models_uncertainty.c	normal quantiles, covariances
 *		  models_interval.c	delta-method intervals of per-customer
 *							quantities and of totals over customers
 *		  models_bgbb.c		BG/BB: fit, P(alive), expected transactions, DERT
 *
 * src/models.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLM_MODELS_H
#define CLM_MODELS_H

#include "clm.h"

#include <math.h>

#include "access/htup_details.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "btyd.h"
#include "fitdata.h"

/* pseudo model code for Pareto/NBD where a btyd_model is passed around */
#define CLM_PNBD ((btyd_model) 100)

/*
 * Time units.  One month is 365.25 / 12 = 30.4375 days whatever the unit,
 * so a CLV horizon in months means the same span of time for a model
 * fitted in days, weeks or months.  (lifetimes counts a month as 30 days
 * for daily data and 4.345 weeks for weekly data, which disagree by 1.3%.)
 */
#define CLM_DAYS_PER_MONTH (365.25 / 12.0)


/* attribute numbers of "n" and "unit" in bgnbd_model, mbgnbd_model, pareto_nbd_model */
#define MODEL_N_ATTNO 6
#define MODEL_UNIT_ATTNO 9


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


/* the poll hook of the per-customer functions (cancels by longjmp) */
extern int	clm_btyd_poll(void);
#define POLL_ON() btyd_set_poll(clm_btyd_poll)


extern void clm_fit_options(btyd_fit_options *opt, float8 penalizer);
extern void clm_check_rc(int rc, const char *what);
extern void clm_model_params(HeapTupleHeader model, int n, double *params,
							 const char *argname);
extern double clm_unit_days_text(text *unit, const char *argname);
extern double clm_model_unit_days(HeapTupleHeader model);
extern ModelCache *clm_model_cache(FunctionCallInfo fcinfo);
extern const ModelCacheEntry *clm_cached_entry(FunctionCallInfo fcinfo, int argno, int n,
											   const char *argname);
extern const double *clm_cached_params(FunctionCallInfo fcinfo, int argno, int n,
									   const char *argname);
extern const double *clm_cached_params_unitless(FunctionCallInfo fcinfo, int argno, int n,
												const char *argname);
extern double clm_cached_unit_days(FunctionCallInfo fcinfo, text *unit);
extern void clm_check_horizon(float8 t);
extern double clm_check_result(double v, const char *what);
extern double clm_probability(double p, double hi, const char *what);
extern double clm_nonnegative(double v, const char *what);

/* the model CLV's checks and computation (models_clv.c), shared with value.c */
extern void clm_clv_check_args(float8 x, float8 tx, float8 T, float8 m, int32 horizon, float8 d);
extern double clm_clv_compute(btyd_model model, const double params[4], double model_udays,
							  const double *gg, float8 x, float8 tx, float8 T, float8 m,
							  int32 horizon, float8 d, double udays, const btyd_clv_memo *memo);

/* fits' results (models.c) */
extern int64 clm_fit_count(double w);
extern void clm_check_fit_finite(const btyd_fit_result *res, const char *what);
extern Datum clm_fit_covariance(const btyd_fit_result *res, int rc, const char *what,
								bool *isnull);

/* uncertainty (models_uncertainty.c) */
extern double clm_normal_quantile(double p);
extern double clm_level_z(double level);
extern bool clm_covariance_get(HeapTupleHeader model, int attno, int n, double *cov,
							   const char *argname);

#endif							/* CLM_MODELS_H */
