/*-------------------------------------------------------------------------
 *
 * clm.h
 *		Declarations shared by the C sources of the clm extension.
 *
 * clm computes customer lifecycle metrics (summary, RFM, ABC, CLV, churn,
 * stages) inside PostgreSQL.  Each concern lives in its own file; this header
 * holds only what more than one file needs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLM_H
#define CLM_H

#include "postgres.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/array.h"
#include "utils/timestamp.h"

/* Error helpers: every user-facing check names the argument it rejects. */
#define clm_invalid_arg(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), __VA_ARGS__))

/* check that a float8 argument is a finite number (not NaN, not +-Infinity) */
extern void clm_check_finite(const char *argname, double value);

/*
 * Amounts (and other money-like sums' terms): finite and at most
 * CLM_MAX_AMOUNT in magnitude, else ERROR (22023 NaN/Infinity, 22003 too
 * large), so that sums of fewer than 10^8 of them stay finite whatever
 * their order (src/summary.c).
 */
#define CLM_MAX_AMOUNT 1e300
extern void clm_check_amount(const char *argname, double value);
/* a sum that overflowed anyway: ERROR 22003 naming what */
extern void clm_check_sum(const char *what, double value);

/* a transaction time must not be after the as_of it is summarised at */
extern void clm_check_not_after(TimestampTz ts, TimestampTz as_of);

/*
 * Options objects ({"key": number, ...}): call fn for each field, after
 * checking the value is a finite number; errors name argname.
 */
typedef void (*ClmNumberField) (void *arg, const char *key, double value);
extern void clm_jsonb_numbers(Jsonb *jb, const char *argname, const char *hint,
							  ClmNumberField fn, void *arg);

/*
 * Local calendar day of a timestamptz in the session time zone, as days since
 * 2000-01-01.  The cache remembers the UTC offset and the interval over which
 * it holds, so most calls are one addition and one division.
 */
typedef struct ClmDayCache
{
	const void *tz;				/* session_timezone the cache was built for */
	bool		fixed;			/* zone has one constant offset */
	int64		lo;				/* offset valid for pg_time_t in [lo, hi) */
	int64		hi;
	long		gmtoff;			/* seconds east of UTC */
} ClmDayCache;

extern int32 clm_local_day(ClmDayCache *cache, TimestampTz ts);
extern bool clm_ts_plus_fixed(ClmDayCache *cache, TimestampTz ts, const Interval *iv,
							  TimestampTz *result);

/*
 * Support functions of aggregates: the aggregate's memory context, or an
 * error (feature_not_supported, naming fn) when called directly from SQL.
 */
extern MemoryContext clm_agg_context(FunctionCallInfo fcinfo, const char *fn);

/* A corrupt or forged serialized state or value: data_corrupted, naming what. */
#define clm_corrupt(what, ...) \
	ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), \
					errmsg("invalid %s", what), __VA_ARGS__))

/* The blessed tuple descriptor of the function's result, cached in fn_extra. */
extern TupleDesc clm_result_tupdesc(FunctionCallInfo fcinfo);

/*
 * clm_deform_row (score.c): the fields of a composite argument, with its
 * descriptor looked up once per call site
 */
extern void clm_deform_row(FunctionCallInfo fcinfo, HeapTupleHeader h, TupleDesc *desc,
						   Oid *type, int minatts, int maxatts, Datum *values, bool *nulls);
extern void clm_btyd_poll_install(void);

/* a value counted w times (clm_high_value_cut) */
typedef struct ClmWeighted
{
	float8		v;
	float8		w;
} ClmWeighted;

/* breakpoints.c: the high-value CLV cut, and the share it keeps */
extern bool clm_high_value_cut(ClmWeighted *cv, int64 m, float8 share, float8 *cut);
extern float8 clm_high_value_share(FunctionCallInfo fcinfo, Jsonb *rules_or_null);
extern void clm_check_high_value_share(float8 share);

/*
 * The relative scores' bucket rules, shared by the window functions
 * (rfm.c, abc.c) and clm.breakpoints (breakpoints.c), which must reproduce
 * them exactly.
 */
/* NTILE(k)-style bucket (0-based) of position p among n sorted values */
static inline int64
clm_ntile_bucket(int64 p, int64 n, int k)
{
	int64		q = n / k,
				rem = n % k;

	return (p < rem * (q + 1)) ? p / (q + 1) : rem + (p - rem * (q + 1)) / q;
}

/* ABC class of a tie group from the share of the total ranked before it */
static inline char
clm_abc_class_of(float8 before, float8 a_share, float8 b_share)
{
	return (before < a_share) ? 'A' : (before < b_share) ? 'B' : 'C';
}
extern void clm_check_abc_shares(float8 a_share, float8 b_share);

/* KPI and cohort periods (kpi.c, cohort.c): 'week' (from Monday), 'month', 'quarter' */
typedef enum ClmPeriod
{
	CLM_PERIOD_WEEK = 1,
	CLM_PERIOD_MONTH,
	CLM_PERIOD_QUARTER
} ClmPeriod;
extern ClmPeriod clm_parse_period(text *t);
extern int32 clm_period_number(DateADT d, ClmPeriod unit);
extern DateADT clm_period_first_day(int32 p, ClmPeriod unit);

/*
 * A captured job's slot in shared memory (registry.c, capture.c): changes to
 * source rows dated at or before the watermark are logged; later rows are
 * read by the next run from the source itself.  DT_NOBEGIN: no watermark
 * yet, every change is logged.  disabled: the job is disabled (its changes
 * are not logged; it rescans when enabled).
 */
#include "port/atomics.h"
#define CLM_CAPTURE_SLOTS 1024
typedef struct ClmCaptureSlot
{
	Oid			dboid;
	int64		job_id;			/* 0: free */
	pg_atomic_uint64 watermark; /* a TimestampTz */
	pg_atomic_uint32 disabled;
} ClmCaptureSlot;
extern bool clm_capture_available(void);
extern ClmCaptureSlot *clm_capture_slot_find(int64 job_id, bool create, TimestampTz watermark, bool disabled);
extern void clm_capture_slot_free(int64 job_id);
extern void clm_capture_slot_raise(ClmCaptureSlot *slot, TimestampTz watermark);

/* the registry of clm processes in shared memory (registry.c) */
extern void clm_registry_install(void);
extern void clm_registry_join(Oid dboid, int64 job_id);
extern void clm_registry_set_job(int64 job_id);
extern bool clm_registry_job_running(Oid dboid, int64 job_id);
extern int	clm_registry_signal_database(Oid dboid);

/* RFM segment names (rfm.c) */
extern const char *clm_rfm_default_segment(int r5, int fm5);

/*
 * Lifecycle stages (stage.c): the labels of enum clm.stage in order, the
 * typed stage policy and the rules.  clm.lifecycle_stage and clm.score
 * (score.c) share them.
 */
typedef enum ClmStage
{
	CLM_STAGE_PROSPECT,
	CLM_STAGE_NEW,
	CLM_STAGE_ACTIVE,
	CLM_STAGE_LOYAL,
	CLM_STAGE_AT_RISK,
	CLM_STAGE_CHURNED,
	CLM_STAGE_REACTIVATED,
	CLM_STAGE_COUNT				/* also: no stage (a NULL previous stage) */
} ClmStage;

typedef struct ClmStagePolicy
{
	float8		new_days;
	float8		loyal_min_orders;
	float8		at_risk_days;
	float8		churn_days;
	float8		at_risk_rhythm;	/* 0 = off */
	float8		at_risk_risk;
	float8		churned_risk;
} ClmStagePolicy;

/* defaults overridden by the fields of a policy object (NULL: defaults), checked */
extern void clm_stage_policy_parse(Jsonb *jb, ClmStagePolicy *p);
/* the OIDs of enum type enumtype's labels, in ClmStage order */
extern void clm_stage_label_oids(Oid enumtype, Oid *oids);

/*
 * The stage of a customer (clm.lifecycle_stage's rules and checks): prev
 * CLM_STAGE_COUNT is none; a NULL first purchase or orders, or
 * no orders, is a prospect; a NULL last purchase is the first.
 */
extern ClmStage clm_stage_classify(const ClmStagePolicy *p,
								   bool first_null, TimestampTz first,
								   bool last_null, TimestampTz last,
								   bool orders_null, int64 orders,
								   TimestampTz as_of, bool risk_null, float8 risk,
								   ClmStage prev);

/* Signal form of churn risk (churn.c); false for NULL (a prospect) */
#define CLM_SIGNAL_PRIOR_DAYS	30.0
#define CLM_SIGNAL_PRIOR_WEIGHT	1.0
#define CLM_SIGNAL_DROPOUT		0.05
extern bool clm_signal_churn_risk(float8 days_since_last, bool gap_null, float8 gap,
								  int64 orders, float8 prior_days, float8 prior_weight,
								  float8 dropout, float8 *risk);

/*
 * Health score (churn.c) of the five components churn_risk, orders_ratio,
 * amount_ratio, tickets, nps (known[i] false: NULL) under weights (NULL:
 * the defaults); false for NULL (nothing known)
 */
#define CLM_HEALTH_N 5
extern bool clm_health(const bool *known, const float8 *v, Jsonb *weights, float8 *result);

/* RFM with explicit cut points (rfm.c) */
extern int	clm_rfm_get_cuts(ArrayType *arr, const char *argname, float8 **cuts);
/* the score of v against ncuts cuts: recency (days, fewer is better) or not */
extern int	clm_rfm_cut_score(const float8 *cuts, int ncuts, float8 v, bool recency,
							  const char *argname);
/* the cell text ("545", or "5-4-10" on a 10-bucket scale) and default segment */
extern void clm_rfm_cell(int r, int f, int m, int kr, int kf, int km, char *cell, size_t len);
extern const char *clm_rfm_default_segment_of(int r, int f, int m, int kr, int kf, int km);

/* days in a model time unit (models.c): 'day', 'week', 'month'; else ERROR */
extern double clm_unit_days_of(const char *unit, int len, const char *argname);

/*
 * Review times (review.c).  Risk crossings in closed form: false when the
 * threshold is never reached; the threshold must be in (0, 1).
 */
extern bool clm_crossing_tenure(float8 r, float8 alpha, float8 a, float8 b, bool mbgnbd,
									 float8 x, float8 t_x, float8 thr, float8 *tenure);
extern bool clm_crossing_days(int64 orders, bool gap_null, float8 gap, float8 thr,
								   float8 *days);

/* the smallest of cuts[0..n-1] that is >= x; false when none */
extern bool clm_next_cut_of(const float8 *cuts, int n, float8 x, float8 *cut);

/*
 * date_trunc('day', ts) + n days in the session time zone, remembered per
 * (local day, n) in a memo (NULL: none), which is exact because the result
 * depends on ts only through its local day.
 */
#define CLM_MIDNIGHT_MEMO 1024
typedef struct ClmMidnightMemo
{
	const void *tz;				/* session_timezone the entries were made in */
	ClmDayCache days;
	struct
	{
		int32		day;
		int32		n;
		bool		valid;
		TimestampTz result;
	}			e[CLM_MIDNIGHT_MEMO];
} ClmMidnightMemo;
extern TimestampTz clm_day_start_plus(ClmMidnightMemo *memo, TimestampTz ts, int32 n);

/*
 * clm_crossing_midnight (clm.crossing_time): the local midnight ceil(days) days after base's local
 * day, no earlier than the next local midnight after as_of; false for NULL
 * (days NaN or beyond a million, or a non-finite time)
 */
extern bool clm_crossing_midnight(ClmMidnightMemo *memo, TimestampTz base, float8 days,
							  TimestampTz as_of, TimestampTz *result);

#endif							/* CLM_H */
