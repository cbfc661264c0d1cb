/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The background workers that run clm jobs on their schedule: settings,
 *		registration, the DROP DATABASE hook and what the workers share.
 *		The launcher is in launcher.c, the per-database worker in
 *		scheduler.c, a job's own process in jobproc.c (worker.h).
 *
 * With shared_preload_libraries = 'clm', the postmaster starts one
 * "clm launcher".  It connects to no database: every clm.naptime seconds it
 * reads the shared catalog pg_database and keeps one "clm worker" for each
 * database that accepts connections (templates excepted) and passes the
 * optional filter clm.database.  A worker whose database has no clm
 * extension exits at once; the launcher tries again a naptime later, so a
 * database created, or an extension created in one, gets its worker within
 * a naptime, without a restart.  A worker whose database leaves the filter
 * (clm.database changed and reloaded) is stopped.  DROP DATABASE (a
 * ProcessUtility hook) first ends the clm processes connected to the
 * database, so it does not fail because of them; a dropped database is no
 * longer in pg_database and gets no worker.
 *
 * A worker connects to its database and, every clm.naptime seconds or when
 * one of its runs ends, starts the due jobs (clm.jobs.next_run_at <= now()),
 * oldest due first, up to clm.max_running_jobs at a time.  Each run is a
 * "clm job" background worker of its own, connected as the job's owner: the
 * owner's code (the views and functions of the job's source) never runs in
 * a session authenticated as a superuser, where it could change the session
 * authorization back to the superuser.  A job is never run twice at once:
 * the worker does not start a job it is running, and the run itself takes
 * the job's row lock (a manual clm.run_job() in progress makes the worker's
 * run a no-op).  The job worker runs the job through the same SQL function
 * as clm.run_job(), in one transaction, cancelled after the job's timeout; a
 * run that fails is recorded as failed (SQLSTATE and message) and retried or
 * rescheduled by clm.reschedule_job().  Now and then the worker also prunes
 * the history (clm.prune_history) in bounded batches.
 *
 *-------------------------------------------------------------------------
 */
#include "worker.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include <signal.h>
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/varlena.h"

#if PG_VERSION_NUM < 130000
#error "clm needs PostgreSQL 13 or later"
#endif

/* GUCs */
char *clm_database = NULL;
char *clm_worker_role = NULL;
int	clm_naptime = 10;
bool clm_worker_enabled = true;
int	clm_max_running_jobs = 4;
int	clm_prune_interval = 3600;

/* whether this library was loaded by shared_preload_libraries (the workers run) */
static bool clm_preloaded = false;


static ProcessUtility_hook_type prev_process_utility = NULL;

static void clm_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
								ProcessUtilityContext context, ParamListInfo params,
								QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc);

void		_PG_init(void);

/*
 * reserve_guc_prefix: after our GUCs are defined (never before: it drops
 * placeholders, and with them values set in postgresql.conf), make unknown
 * clm.* settings an error.
 */
static void
reserve_guc_prefix(void)
{
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("clm");
#else
	EmitWarningsOnPlaceholders("clm");
#endif
}

/* check hook of clm.database: a comma-separated list of names (or empty) */
static bool
check_database_list(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval ? *newval : "");
	List	   *list;
	bool		ok = SplitIdentifierString(raw, ',', &list);

	list_free(list);
	pfree(raw);
	if (!ok)
		GUC_check_errdetail("clm.database must be a comma-separated list of database names.");
	return ok;
}

/*
 * clmw_database_allowed: whether the filter clm.database (empty: every database)
 * lets a worker run in this database.
 */
bool
clmw_database_allowed(const char *dbname)
{
	char	   *raw;
	List	   *list;
	ListCell   *lc;
	bool		found = false;

	if (clm_database == NULL || clm_database[0] == '\0')
		return true;
	raw = pstrdup(clm_database);
	if (!SplitIdentifierString(raw, ',', &list))
		found = false;			/* cannot happen: the check hook refuses it */
	else
		foreach(lc, list)
		{
			if (strcmp((char *) lfirst(lc), dbname) == 0)
			{
				found = true;
				break;
			}
		}
	list_free(list);
	pfree(raw);
	return found;
}

/*
 * end_workers_of: before DROP DATABASE, end the clm workers and job runs
 * connected to the database (SIGTERM, as pg_terminate_backend sends), so a
 * plain DROP DATABASE does not fail with "being accessed by other users";
 * the drop waits for them to exit, and holds a lock that keeps a new worker
 * from connecting.  Only for the database's owner (or a superuser): anyone
 * else's DROP DATABASE fails anyway and must not stop the workers.  The
 * PIDs come from the registry, under its lock (registry.c).
 */
static void
end_workers_of(const char *dbname)
{
	Oid			dboid = get_database_oid(dbname, true);

	if (!OidIsValid(dboid))
		return;
#if PG_VERSION_NUM >= 160000
	if (!object_ownercheck(DatabaseRelationId, dboid, GetUserId()))
		return;
#else
	if (!pg_database_ownercheck(dboid, GetUserId()))
		return;
#endif
	(void) clm_registry_signal_database(dboid);
}

/*
 * clm_process_utility: DROP DATABASE ends the clm workers of the database
 * first.
 */
static void
clm_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					ProcessUtilityContext context, ParamListInfo params,
					QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, DropdbStmt))
		end_workers_of(((DropdbStmt *) pstmt->utilityStmt)->dbname);
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/*
 * _PG_init: define the GUCs; when preloaded, register the launcher.
 */
void
_PG_init(void)
{
	BackgroundWorker worker;

	clm_btyd_poll_install();
	if (IsBinaryUpgrade)
		return;

	DefineCustomIntVariable("clm.naptime",
							"Seconds between two checks for due jobs.",
							NULL,
							&clm_naptime, 10, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("clm.worker_enabled",
							 "Whether the clm workers run due jobs.",
							 "When off, the workers stay up but run nothing.",
							 &clm_worker_enabled, true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("clm.database",
							   "Databases in which clm runs jobs (comma-separated; empty: every database with clm installed).",
							   "An optional filter; changes take effect at a reload.",
							   &clm_database, "",
							   PGC_SIGHUP, 0,
							   check_database_list, NULL, NULL);
	DefineCustomIntVariable("clm.max_running_jobs",
							"Most jobs run at the same time in one database.",
							"Each running job takes a background worker slot (max_worker_processes).",
							&clm_max_running_jobs, 4, 1, CLM_MAX_RUNNING_JOBS,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("clm.prune_interval",
							"Seconds between two prunings of the job history by the workers (0: never).",
							"Each pruning deletes at most 10000 rows per table; a full batch is followed by another at the next check.",
							&clm_prune_interval, 3600, 0, 7 * 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * The functions work without preloading; the workers, and the
	 * PGC_POSTMASTER settings that only they read, need it (such settings
	 * cannot be defined after server start).
	 */
	if (!process_shared_preload_libraries_in_progress)
	{
		reserve_guc_prefix();
		return;
	}
	clm_preloaded = true;

	DefineCustomStringVariable("clm.worker_role",
							   "Role the clm workers connect as (a superuser; empty: the bootstrap superuser).",
							   "Jobs still run as their owners.",
							   &clm_worker_role, "",
							   PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	reserve_guc_prefix();

	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = clm_process_utility;
	clm_registry_install();

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "clm");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "clm_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "clm launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "clm launcher");
	RegisterBackgroundWorker(&worker);
}

PG_FUNCTION_INFO_V1(clm_scheduler_coverage);

/*
 * scheduler_coverage() RETURNS text: NULL when a worker runs the jobs of
 * the current database, else the reason none does.
 */
Datum
clm_scheduler_coverage(PG_FUNCTION_ARGS)
{
	char	   *dbname;

	if (!clm_preloaded)
		PG_RETURN_TEXT_P(cstring_to_text("clm is not in shared_preload_libraries (add it and restart the server)"));
	if (!clm_worker_enabled)
		PG_RETURN_TEXT_P(cstring_to_text("clm.worker_enabled is off"));
	dbname = get_database_name(MyDatabaseId);
	if (dbname != NULL && !clmw_database_allowed(dbname))
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("database \"%s\" is not in clm.database (\"%s\")",
												  dbname, clm_database)));
	PG_RETURN_NULL();
}

/*
 * clmw_reload_config: apply a pending SIGHUP.
 */
void
clmw_reload_config(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * clmw_wait_ms: sleep until the time (at most the naptime) passes or the latch
 * is set; reload the configuration on SIGHUP.  Exits with the postmaster.
 */
void
clmw_wait_ms(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 Max(1, Min(ms, clm_naptime * 1000L)), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	clmw_reload_config();
}

/*
 * clmw_spi_check: an SPI call's result code, or ERROR naming what failed (the
 * callers catch it, log it and go on).
 */
void
clmw_spi_check(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "clm: %s failed: %s", what, SPI_result_code_string(rc));
}

/*
 * clmw_abort_with_error: in a PG_CATCH block, take the error out of the error
 * state and abort the transaction, so the worker can go on.
 */
ErrorData *
clmw_abort_with_error(MemoryContext oldcxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(oldcxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	return edata;
}

/* ---------- shared by the workers ---------- */

/* milliseconds of an interval (months of 30 days), within [0, INT_MAX] */
int
clmw_interval_ms(const Interval *iv)
{
	double		ms = iv->time / 1000.0 + iv->day * 86400000.0 + iv->month * 30.0 * 86400000.0;

	return (int) Max(0.0, Min(ms, (double) PG_INT32_MAX));
}

/* clmw_read_due_job: one row of DUE_JOBS_QUERY into *job */
void
clmw_read_due_job(DueJob *job, HeapTuple tup, TupleDesc desc, MemoryContext mcxt)
{
	bool		isnull;
	Datum		timeout;

	job->job_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	timeout = SPI_getbinval(tup, desc, 2, &isnull);
	job->timeout_ms = isnull ? 0 : clmw_interval_ms(DatumGetIntervalP(timeout));
	job->name = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 3));
	job->owner = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 4));
}

/*
 * clmw_pin_search_path: this session resolves nothing through a search_path the
 * database's owner chose (ALTER DATABASE ... SET search_path): only
 * pg_catalog, then temporary tables.
 */
void
clmw_pin_search_path(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
}
