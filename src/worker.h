/*-------------------------------------------------------------------------
 *
 * worker.h
 *		Declarations shared by the files of the background workers: the
 *		settings and helpers (worker.c), the launcher (launcher.c), the
 *		per-database worker (scheduler.c) and a job's process (jobproc.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLM_WORKER_H
#define CLM_WORKER_H

#include "clm.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "postmaster/bgworker.h"
#include "utils/elog.h"

/* settings (worker.c) */
extern char *clm_database;
extern char *clm_worker_role;
extern int	clm_naptime;
extern bool clm_worker_enabled;
extern int	clm_max_running_jobs;
extern int	clm_prune_interval;

#define CLM_MAX_RUNNING_JOBS 64
#define CLM_PRUNE_BATCH 10000

/* what a database worker needs, passed in bgw_extra */
typedef struct DbArgs
{
	Oid			dboid;
	Oid			roleoid;
} DbArgs;

/* a due job, as read by DUE_JOBS_QUERY */
typedef struct DueJob
{
	int64		job_id;
	int			timeout_ms;
	char	   *name;
	char	   *owner;
} DueJob;

/* what a job worker needs, passed in bgw_extra */
typedef struct JobArgs
{
	Oid			dboid;
	Oid			roleoid;
	int64		job_id;
	int32		timeout_ms;
	char		name[NAMEDATALEN];
} JobArgs;

StaticAssertDecl(sizeof(JobArgs) <= BGW_EXTRALEN, "JobArgs must fit in bgw_extra");
StaticAssertDecl(sizeof(DbArgs) <= BGW_EXTRALEN, "DbArgs must fit in bgw_extra");

/*
 * The due jobs, oldest due first.  This process may be connected as a
 * superuser, in a database whose owner can put operators and functions on
 * its search_path: every operator and function here is schema-qualified
 * (and the search_path is pinned at connection, see clmw_pin_search_path).
 */
#define DUE_JOBS_QUERY \
	"SELECT j.job_id, j.timeout, j.name, j.owner FROM clm.jobs j" \
	" WHERE j.enabled AND j.next_run_at OPERATOR(pg_catalog.<=) pg_catalog.now()" \
	" ORDER BY j.next_run_at, j.job_id"
/* the same, for a job process: only its own owner's jobs (see next_own_job) */
#define DUE_JOBS_QUERY_OWNER \
	"SELECT j.job_id, j.timeout, j.name, j.owner FROM clm.jobs j" \
	" WHERE j.enabled AND j.next_run_at OPERATOR(pg_catalog.<=) pg_catalog.now()" \
	" AND j.owner OPERATOR(pg_catalog.=) SESSION_USER" \
	" ORDER BY j.next_run_at, j.job_id"

/* helpers (worker.c) */
extern void clmw_reload_config(void);
extern void clmw_wait_ms(long ms);
extern void clmw_spi_check(int rc, int expected, const char *what);
extern ErrorData *clmw_abort_with_error(MemoryContext oldcxt);
extern bool clmw_database_allowed(const char *dbname);
extern void clmw_pin_search_path(void);
extern int	clmw_interval_ms(const Interval *iv);
extern void clmw_read_due_job(DueJob *job, HeapTuple tup, TupleDesc desc, MemoryContext mcxt);

/* a failed run, logged and recorded (jobproc.c) */
extern void clmw_report_failure(int64 job_id, const char *name, int sqlerrcode, const char *message,
								TimestampTz started_at);

/* the entry points of the three kinds of worker */
PGDLLEXPORT void clm_launcher_main(Datum arg);
PGDLLEXPORT void clm_worker_main(Datum arg);
PGDLLEXPORT void clm_job_main(Datum arg);

#endif							/* CLM_WORKER_H */
