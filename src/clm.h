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
extern void clm_btyd_poll_install(void);

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

#endif							/* CLM_H */
