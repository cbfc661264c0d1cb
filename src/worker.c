/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The background workers that run clm jobs on their schedule.
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
#include "clm.h"

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
static char *clm_database = NULL;
static char *clm_worker_role = NULL;
static int	clm_naptime = 10;
static bool clm_worker_enabled = true;
static int	clm_max_running_jobs = 4;
static int	clm_prune_interval = 3600;

/* whether this library was loaded by shared_preload_libraries (the workers run) */
static bool clm_preloaded = false;

#define CLM_MAX_RUNNING_JOBS 64
#define CLM_PRUNE_BATCH 10000

static ProcessUtility_hook_type prev_process_utility = NULL;

static void spi_check(int rc, int expected, const char *what);
static void clm_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
								ProcessUtilityContext context, ParamListInfo params,
								QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc);

PGDLLEXPORT void clm_launcher_main(Datum arg);
PGDLLEXPORT void clm_worker_main(Datum arg);
PGDLLEXPORT void clm_job_main(Datum arg);
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
 * database_allowed: whether the filter clm.database (empty: every database)
 * lets a worker run in this database.
 */
static bool
database_allowed(const char *dbname)
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
	if (dbname != NULL && !database_allowed(dbname))
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("database \"%s\" is not in clm.database (\"%s\")",
												  dbname, clm_database)));
	PG_RETURN_NULL();
}

/*
 * reload_config: apply a pending SIGHUP.
 */
static void
reload_config(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * wait_ms: sleep until the time (at most the naptime) passes or the latch
 * is set; reload the configuration on SIGHUP.  Exits with the postmaster.
 */
static void
wait_ms(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 Max(1, Min(ms, clm_naptime * 1000L)), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	reload_config();
}

/*
 * spi_check: an SPI call's result code, or ERROR naming what failed (the
 * callers catch it, log it and go on).
 */
static void
spi_check(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "clm: %s failed: %s", what, SPI_result_code_string(rc));
}

/*
 * abort_with_error: in a PG_CATCH block, take the error out of the error
 * state and abort the transaction, so the worker can go on.
 */
static ErrorData *
abort_with_error(MemoryContext oldcxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(oldcxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	return edata;
}

/* ---------- launcher ---------- */

typedef struct DbWorker
{
	Oid			dboid;
	char		name[NAMEDATALEN];
	BackgroundWorkerHandle *handle;
	TimestampTz started;		/* last start */
	bool		wanted;			/* in this scan: the database wants a worker */
	bool		failed_logged;	/* "could not start" logged once */
} DbWorker;

static DbWorker *db_workers = NULL;
static int	n_db_workers = 0;
static int	max_db_workers = 0;

static DbWorker *
find_db_worker(Oid dboid)
{
	int			i;

	for (i = 0; i < n_db_workers; i++)
		if (db_workers[i].dboid == dboid)
			return &db_workers[i];
	return NULL;
}

/*
 * scan_databases: mark the databases that want a worker (connectable, not a
 * template, passing the filter), adding new ones; read from the shared
 * catalog pg_database (the launcher has no database).
 */
static void
scan_databases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			i;

	for (i = 0; i < n_db_workers; i++)
		db_workers[i].wanted = false;
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		DbWorker   *w;

		if (!db->datallowconn || db->datistemplate || !database_allowed(NameStr(db->datname)))
			continue;
		w = find_db_worker(db->oid);
		if (w == NULL)
		{
			if (n_db_workers == max_db_workers)
			{
				max_db_workers = Max(16, 2 * max_db_workers);
				db_workers = db_workers == NULL
					? MemoryContextAllocZero(TopMemoryContext, max_db_workers * sizeof(DbWorker))
					: repalloc(db_workers, max_db_workers * sizeof(DbWorker));
			}
			w = &db_workers[n_db_workers++];
			memset(w, 0, sizeof(*w));
			w->dboid = db->oid;
		}
		strlcpy(w->name, NameStr(db->datname), NAMEDATALEN);
		w->wanted = true;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* the OID of clm.worker_role (InvalidOid: the bootstrap superuser) */
static Oid
worker_role_oid(void)
{
	Oid			roleoid = InvalidOid;

	if (clm_worker_role && clm_worker_role[0])
	{
		HeapTuple	tup;

		StartTransactionCommand();
		tup = SearchSysCache1(AUTHNAME, CStringGetDatum(clm_worker_role));
		if (HeapTupleIsValid(tup))
		{
			roleoid = ((Form_pg_authid) GETSTRUCT(tup))->oid;
			ReleaseSysCache(tup);
		}
		CommitTransactionCommand();
		if (!OidIsValid(roleoid))
			ereport(FATAL,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("clm.worker_role \"%s\" does not exist", clm_worker_role)));
	}
	return roleoid;
}

/* what a database worker needs, passed in bgw_extra */
typedef struct DbArgs
{
	Oid			dboid;
	Oid			roleoid;
} DbArgs;

/*
 * start_db_worker: register a dynamic worker for one database.
 */
static void
start_db_worker(DbWorker *w, Oid roleoid)
{
	BackgroundWorker worker;
	DbArgs		args;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "clm");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "clm_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "clm worker for database %s", w->name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "clm worker");
	args.dboid = w->dboid;
	args.roleoid = roleoid;
	memcpy(worker.bgw_extra, &args, sizeof(args));
	/* no bgw_notify_pid: the launcher looks at its workers every naptime */

	w->started = GetCurrentTimestamp();
	if (!RegisterDynamicBackgroundWorker(&worker, &w->handle))
	{
		w->handle = NULL;
		if (!w->failed_logged)
			ereport(WARNING,
					(errmsg("clm: could not start a worker for database \"%s\"", w->name),
					 errhint("Raise max_worker_processes.")));
		w->failed_logged = true;
		return;
	}
	w->failed_logged = false;
}

void
clm_launcher_main(Datum arg)
{
	Oid			roleoid;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	roleoid = worker_role_oid();
	ereport(LOG, (errmsg("clm launcher started")));

	for (;;)
	{
		int			i,
					kept = 0;
		TimestampTz now = GetCurrentTimestamp();

		scan_databases();
		for (i = 0; i < n_db_workers; i++)
		{
			DbWorker   *w = &db_workers[i];
			pid_t		pid;
			bool		running = w->handle != NULL &&
				GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED;

			if (!running && w->handle != NULL)
			{
				pfree(w->handle);
				w->handle = NULL;
			}
			if (!w->wanted)
			{
				/* dropped, or filtered out by clm.database */
				if (running)
				{
					ereport(LOG, (errmsg("clm: stopping the worker for database \"%s\" (not in clm.database)",
										 w->name)));
					TerminateBackgroundWorker(w->handle);
					db_workers[kept++] = *w;	/* forgotten once stopped */
				}
				continue;
			}
			/* at most one start per naptime: a database without clm exits at once */
			if (!running &&
				TimestampDifferenceExceeds(w->started, now, clm_naptime * 1000))
				start_db_worker(w, roleoid);
			db_workers[kept++] = *w;
		}
		n_db_workers = kept;
		wait_ms(clm_naptime * 1000L);
	}
}

/* ---------- per-database worker ---------- */

/* the last error met while reading the due jobs, to log each one once */
static char *last_error = NULL;

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

/* a job run in progress, started by this worker */
typedef struct RunningJob
{
	int64		job_id;
	BackgroundWorkerHandle *handle;
} RunningJob;

static RunningJob running_jobs[CLM_MAX_RUNNING_JOBS];
static int	n_running = 0;

/*
 * The due jobs, oldest due first.  This process may be connected as a
 * superuser, in a database whose owner can put operators and functions on
 * its search_path: every operator and function here is schema-qualified
 * (and the search_path is pinned at connection, see pin_search_path).
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

/* milliseconds of an interval (months of 30 days), within [0, INT_MAX] */
static int
interval_ms(const Interval *iv)
{
	double		ms = iv->time / 1000.0 + iv->day * 86400000.0 + iv->month * 30.0 * 86400000.0;

	return (int) Max(0.0, Min(ms, (double) PG_INT32_MAX));
}

/* read_due_job: one row of DUE_JOBS_QUERY into *job */
static void
read_due_job(DueJob *job, HeapTuple tup, TupleDesc desc, MemoryContext mcxt)
{
	bool		isnull;
	Datum		timeout;

	job->job_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	timeout = SPI_getbinval(tup, desc, 2, &isnull);
	job->timeout_ms = isnull ? 0 : interval_ms(DatumGetIntervalP(timeout));
	job->name = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 3));
	job->owner = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 4));
}

/*
 * The starts of the last runs, to start no job twice within
 * CLM_MIN_RUN_INTERVAL_MS whatever its schedule says (as pg_cron runs a job
 * at most once a second): a job whose run fails in a way that cannot be
 * recorded, or a schedule of a microsecond, must not keep a worker busy.
 */
#define CLM_MIN_RUN_INTERVAL_MS 1000
#define CLM_RECENT_STARTS 256

typedef struct RecentStart
{
	int64		job_id;
	TimestampTz at;
} RecentStart;

static RecentStart recent_starts[CLM_RECENT_STARTS];
static int	next_recent = 0;

static bool
started_recently(int64 job_id)
{
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	for (i = 0; i < CLM_RECENT_STARTS; i++)
		if (recent_starts[i].job_id == job_id &&
			!TimestampDifferenceExceeds(recent_starts[i].at, now, CLM_MIN_RUN_INTERVAL_MS))
			return true;
	return false;
}

static void
note_start(int64 job_id)
{
	recent_starts[next_recent].job_id = job_id;
	recent_starts[next_recent].at = GetCurrentTimestamp();
	next_recent = (next_recent + 1) % CLM_RECENT_STARTS;
}

/*
 * pin_search_path: this session resolves nothing through a search_path the
 * database's owner chose (ALTER DATABASE ... SET search_path): only
 * pg_catalog, then temporary tables.
 */
static void
pin_search_path(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * defer_job: a failed run could not be recorded (why): back the job off
 * with clm.defer_failed_job, in a transaction of its own, so that it does
 * not run again at once; log when it disables the job.
 */
static void
defer_job(int64 job_id, const char *name, int sqlerrcode, const char *message, const char *why)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
		Datum		values[3];
		bool		isnull;
		bool		disabled;

		values[0] = Int64GetDatum(job_id);
		values[1] = CStringGetTextDatum(unpack_sql_state(sqlerrcode));
		values[2] = CStringGetTextDatum(psprintf("%s (the failure could not be recorded: %s)", message, why));
		spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		spi_check(SPI_execute_with_args("SELECT clm.defer_failed_job($1, $2, $3)",
										3, argtypes, values, NULL, false, 0),
				  SPI_OK_SELECT, "deferring a failed job");
		disabled = SPI_processed == 1 &&
			DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
			!isnull;
		spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (disabled)
			ereport(LOG,
					(errmsg("clm: job \"%s\" disabled: 10 failed runs in a row could not be recorded; the last: %s",
							name, why),
					 errhint("Fix the job's settings with clm.alter_job(), then enable it.")));
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_with_error(oldcxt);

		ereport(LOG,
				(errmsg("clm: could not defer job \"%s\" either: %s", name, edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * report_failure: log an error caught while running a job and record it as
 * a failed run (then retried or rescheduled), in a transaction of its own.
 */
static void
report_failure(int64 job_id, const char *name, int sqlerrcode, const char *message,
			   TimestampTz started_at)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	ereport(LOG,
			(errmsg("clm: job \"%s\" failed: %s: %s", name, unpack_sql_state(sqlerrcode), message)));
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		Oid			argtypes[4] = {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
		Datum		values[4];

		values[0] = Int64GetDatum(job_id);
		values[1] = CStringGetTextDatum(unpack_sql_state(sqlerrcode));
		values[2] = CStringGetTextDatum(message);
		values[3] = TimestampTzGetDatum(started_at);
		spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		spi_check(SPI_execute_with_args("SELECT clm.record_job_failure($1, 'worker', $2, $3, $4)",
										4, argtypes, values, NULL, false, 0),
				  SPI_OK_SELECT, "recording a failed run");
		spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_with_error(oldcxt);

		ereport(LOG,
				(errmsg("clm: could not record the failure of job \"%s\": %s",
						name, edata->message)));
		defer_job(job_id, name, sqlerrcode, message, edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * run_job_here: one job run in one transaction, in the job worker, cancelled
 * after the job's timeout (the owner's statement_timeout does not apply).
 * Errors the SQL function does not catch itself (the timeout, a cancel)
 * abort the transaction, which leaves no partial state, and are recorded in
 * a new one.
 */
static bool
run_job_here(const DueJob *job)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	TimestampTz started_at = GetCurrentTimestamp();
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		values[1];
		char		activity[200];

		values[0] = Int64GetDatum(job->job_id);
		spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		snprintf(activity, sizeof(activity), "clm: running job %s", job->name);
		pgstat_report_activity(STATE_RUNNING, activity);
		if (job->timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, job->timeout_ms);
		spi_check(SPI_execute_with_args("SELECT clm.run_job_by_id($1, 'worker')",
										1, argtypes, values, NULL, false, 0),
				  SPI_OK_SELECT, "running the job");
		disable_timeout(STATEMENT_TIMEOUT, false);
		spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(STATEMENT_TIMEOUT, false);
		edata = abort_with_error(oldcxt);
		report_failure(job->job_id, job->name, edata->sqlerrcode, edata->message, started_at);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/*
 * owner_login_role: the OID of a job's owner if it is a role that can log
 * in (a background worker can only connect as such a role), else InvalidOid
 * with *why and *sqlerrcode set.
 */
static Oid
owner_login_role(const char *owner, const char **why, int *sqlerrcode)
{
	HeapTuple	tup;
	Oid			roleoid = InvalidOid;

	StartTransactionCommand();
	tup = SearchSysCache1(AUTHNAME, CStringGetDatum(owner));
	if (!HeapTupleIsValid(tup))
	{
		*why = "the job's owner role does not exist (dropped or renamed)";
		*sqlerrcode = ERRCODE_UNDEFINED_OBJECT;
	}
	else
	{
		Form_pg_authid role = (Form_pg_authid) GETSTRUCT(tup);

		if (!role->rolcanlogin)
		{
			*why = "the job's owner role cannot log in (LOGIN is needed to run jobs in the background)";
			*sqlerrcode = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		}
		else
			roleoid = role->oid;
		ReleaseSysCache(tup);
	}
	CommitTransactionCommand();
	return roleoid;
}

/*
 * start_job: start a "clm job" worker connected as the job's owner, without
 * waiting for it.  Returns false when no worker slot is free (the job stays
 * due and is tried again later).
 */
static bool
start_job(const DueJob *job)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	JobArgs		args;
	const char *why = NULL;
	int			sqlerrcode = 0;

	memset(&args, 0, sizeof(args));
	args.roleoid = owner_login_role(job->owner, &why, &sqlerrcode);
	if (!OidIsValid(args.roleoid))
	{
		report_failure(job->job_id, job->name, sqlerrcode, why, GetCurrentTimestamp());
		return true;
	}
	args.dboid = MyDatabaseId;
	args.job_id = job->job_id;
	args.timeout_ms = job->timeout_ms;
	strlcpy(args.name, job->name, NAMEDATALEN);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "clm");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "clm_job_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "clm job %s", job->name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "clm job");
	memcpy(worker.bgw_extra, &args, sizeof(args));
	worker.bgw_notify_pid = MyProcPid;	/* its end sets our latch */

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(WARNING,
				(errmsg("clm: no background worker slot free for job \"%s\"; it stays due", job->name),
				 errhint("Raise max_worker_processes.")));
		return false;
	}
	note_start(job->job_id);
	running_jobs[n_running].job_id = job->job_id;
	running_jobs[n_running].handle = handle;
	n_running++;
	return true;
}

/* reap_jobs: forget the runs that ended; returns how many */
static int
reap_jobs(void)
{
	int			i,
				kept = 0;

	for (i = 0; i < n_running; i++)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(running_jobs[i].handle, &pid) == BGWH_STOPPED)
			pfree(running_jobs[i].handle);
		else
			running_jobs[kept++] = running_jobs[i];
	}
	i = n_running - kept;
	n_running = kept;
	return i;
}

static bool
is_running(int64 job_id)
{
	int			i;

	for (i = 0; i < n_running; i++)
		if (running_jobs[i].job_id == job_id)
			return true;
	return false;
}

/*
 * due_jobs: up to max jobs to run now that are not running, oldest due
 * first, read in a short transaction; *installed says whether the extension
 * is installed; *next_ms: milliseconds until the next job not yet due is
 * (the worker sleeps no longer than that, so jobs start on time).
 */
static DueJob *
due_jobs(MemoryContext mcxt, int max, int *njobs, bool *installed, long *next_ms)
{
	DueJob	   *volatile jobs = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;

	*njobs = 0;
	*installed = true;			/* unless we learn otherwise */
	*next_ms = clm_naptime * 1000L;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		uint64		i;
		int			n = 0;
		bool		isnull;

		spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "clm: looking for due jobs");
		spi_check(SPI_execute("SELECT 1 FROM pg_catalog.pg_extension"
							  " WHERE extname OPERATOR(pg_catalog.=) 'clm'", true, 1),
				  SPI_OK_SELECT, "looking for the extension");
		*installed = (SPI_processed > 0);
		if (*installed && max > 0)
		{
			char	   *query = psprintf(DUE_JOBS_QUERY " LIMIT %d", max + n_running);

			spi_check(SPI_execute(query, true, 0), SPI_OK_SELECT, "reading the due jobs");
			jobs = MemoryContextAllocZero(mcxt, Max(SPI_processed, 1) * sizeof(DueJob));
			for (i = 0; i < SPI_processed && n < max; i++)
			{
				int64		job_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
																 SPI_tuptable->tupdesc, 1, &isnull));

				/*
				 * not the jobs a process runs now (its own, or one a job
				 * process took up after its first run: see next_own_job),
				 * nor one started less than CLM_MIN_RUN_INTERVAL_MS ago
				 */
				if (is_running(job_id) || clm_registry_job_running(MyDatabaseId, job_id) ||
					started_recently(job_id))
					continue;
				read_due_job(&jobs[n++], SPI_tuptable->vals[i], SPI_tuptable->tupdesc, mcxt);
			}
			*njobs = n;
			spi_check(SPI_execute("SELECT pg_catalog.min(j.next_run_at) FROM clm.jobs j"
								  " WHERE j.enabled AND j.next_run_at OPERATOR(pg_catalog.>) pg_catalog.now()",
								  true, 1),
					  SPI_OK_SELECT, "reading the next due time");
			if (SPI_processed == 1)
			{
				Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

				if (!isnull && !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(d)))
				{
					TimestampTz next = DatumGetTimestampTz(d);
					TimestampTz now = GetCurrentTimestamp();

					if (next - now < (TimestampTz) clm_naptime * USECS_PER_SEC)
						*next_ms = (long) Max((next - now + 999) / 1000, 1);
				}
			}
		}
		spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (last_error)
		{
			pfree(last_error);
			last_error = NULL;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_with_error(oldcxt);

		/* the same failure every naptime (e.g. an old clm version) is logged once */
		if (last_error == NULL || strcmp(last_error, edata->message) != 0)
		{
			ereport(LOG, (errmsg("clm: could not read the due jobs: %s", edata->message)));
			if (last_error)
				pfree(last_error);
			last_error = MemoryContextStrdup(TopMemoryContext, edata->message);
		}
		FreeErrorData(edata);
		*njobs = 0;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return jobs;
}

/*
 * maintenance_sql: one maintenance statement of the database worker (the
 * extension's own functions, schema-qualified), in a transaction of its
 * own; the int8 columns of its one row go to out[0..nout-1] (0 when NULL).
 * An error is logged with what, and the worker goes on; false then.
 */
static bool
maintenance_sql(const char *what, const char *query, int64 *out, int nout)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		int			i;

		spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, psprintf("clm: %s", what));
		spi_check(SPI_execute(query, false, 0), SPI_OK_SELECT, what);
		for (i = 0; i < nout; i++)
		{
			bool		isnull = true;
			Datum		d = SPI_processed == 1
				? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull) : (Datum) 0;

			out[i] = isnull ? 0 : DatumGetInt64(d);
		}
		spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_with_error(oldcxt);

		ereport(LOG, (errmsg("clm: could not %s: %s", what, edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/*
 * prune: one bounded pruning of the history (clm.prune_history); returns
 * whether a batch came back full (more to delete).
 */
static bool
prune(void)
{
	int64		counts[3] = {0, 0, 0};

	if (!maintenance_sql("prune the job history",
						 psprintf("SELECT job_runs, stage_history, alerts FROM clm.prune_history(%d)",
								  CLM_PRUNE_BATCH),
						 counts, 3))
		return false;
	if (counts[0] + counts[1] + counts[2] > 0)
		ereport(DEBUG1,
				(errmsg("clm: pruned " INT64_FORMAT " runs, " INT64_FORMAT " stage changes, " INT64_FORMAT " alerts",
						counts[0], counts[1], counts[2])));
	return counts[0] >= CLM_PRUNE_BATCH || counts[1] >= CLM_PRUNE_BATCH || counts[2] >= CLM_PRUNE_BATCH;
}

void
clm_worker_main(Datum arg)
{
	DbArgs		args;
	MemoryContext cycle_cxt;
	char	   *dbname;
	TimestampTz last_prune = 0;
	bool		prune_more = false;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.roleoid, 0);
	pin_search_path();
	clm_registry_join(MyDatabaseId, 0);
	pgstat_report_appname("clm worker");
	StartTransactionCommand();
	dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));
	CommitTransactionCommand();

	cycle_cxt = AllocSetContextCreate(TopMemoryContext, "clm worker cycle",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		int			njobs = 0,
					i;
		bool		installed;
		long		next_ms;
		TimestampTz wake_at;
		DueJob	   *jobs;

		CHECK_FOR_INTERRUPTS();
		reload_config();

		/*
		 * after runs ended: a bulk write (a first run, a refresh that moved
		 * many customers) is analyzed now rather than when autovacuum gets
		 * to it, since the next incremental run's plan depends on it (the
		 * job's owner, who wrote it, may not analyze clm's table)
		 */
		if (reap_jobs() > 0)
		{
			int64		analyzed = 0;

			(void) maintenance_sql("analyze the customer state",
								   "SELECT clm.analyze_state()::pg_catalog.int8", &analyzed, 1);
		}
		MemoryContextReset(cycle_cxt);
		jobs = due_jobs(cycle_cxt,
						clm_worker_enabled ? Max(0, clm_max_running_jobs - n_running) : 0,
						&njobs, &installed, &next_ms);
		/*
		 * next_ms counts from now: the starts and the pruning below take
		 * time (seconds on a slow machine), which the wait must not add to
		 * the next job's lateness
		 */
		wake_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), next_ms);
		if (!installed && n_running == 0)
		{
			/* the launcher looks again a naptime later */
			ereport(DEBUG1, (errmsg("clm: extension clm is not installed in database \"%s\"", dbname)));
			proc_exit(0);
		}
		for (i = 0; i < njobs; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (!start_job(&jobs[i]))
				break;
		}
		if (installed && clm_prune_interval > 0 &&
			(prune_more || TimestampDifferenceExceeds(last_prune, GetCurrentTimestamp(),
													  clm_prune_interval * 1000)))
		{
			last_prune = GetCurrentTimestamp();
			prune_more = prune();
		}
		pgstat_report_stat(true);
		wait_ms((long) Max((wake_at - GetCurrentTimestamp() + 999) / 1000, 1));
	}
}

/* ---------- one job, as its owner ---------- */

/*
 * A job process runs up to this many due jobs of its owner back to back.
 * Starting a process and warming its caches costs several times an
 * incremental run that has little to do, so a burst of due jobs (many
 * jobs on one schedule) drains this much faster; the cap bounds how long
 * one owner's jobs can keep a slot from other owners' jobs due later.
 */
#define CLM_RUNS_PER_PROCESS 10

/*
 * next_own_job: the job of this process's owner that has been due longest
 * and that no process runs (its application_name says which job a process
 * runs), read in a short transaction; false when there is none.  Two
 * processes may still pick the same job: clm.run_job_by_id locks it and
 * the second one skips it.
 */
static bool
next_own_job(DueJob *job, MemoryContext mcxt)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool found = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		uint64		i;

		spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		/*
		 * Only the owner's jobs, whatever row security lets this role see
		 * (a superuser sees every job): a job must run in a session of its
		 * own owner, so that its code cannot take this session's rights.
		 */
		spi_check(SPI_execute(DUE_JOBS_QUERY_OWNER " LIMIT " CppAsString2(CLM_MAX_RUNNING_JOBS),
							  true, 0),
				  SPI_OK_SELECT, "reading the next due job");
		for (i = 0; i < SPI_processed && !found; i++)
		{
			bool		isnull;
			int64		job_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull));

			if (clm_registry_job_running(MyDatabaseId, job_id))
				continue;
			read_due_job(job, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, mcxt);
			found = true;
		}
		spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_with_error(oldcxt);

		ereport(LOG, (errmsg("clm: could not read the next due job: %s", edata->message)));
		FreeErrorData(edata);
		found = false;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return found;
}

/* the job a process runs, for clm.job_status and next_own_job */
static void
report_job_appname(int64 job_id)
{
	char		appname[64];

	snprintf(appname, sizeof(appname), "clm job " INT64_FORMAT, job_id);
	pgstat_report_appname(appname);
}

void
clm_job_main(Datum arg)
{
	JobArgs		args;
	DueJob		job;
	MemoryContext job_cxt;
	int			runs = 1;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.roleoid, 0);
	pin_search_path();
	clm_registry_join(MyDatabaseId, args.job_id);
	report_job_appname(args.job_id);

	job.job_id = args.job_id;
	job.timeout_ms = args.timeout_ms;
	job.name = args.name;
	job.owner = NULL;
	job_cxt = AllocSetContextCreate(TopMemoryContext, "clm job", ALLOCSET_SMALL_SIZES);
	/* after a run that ended in an error (a timeout, a cancel), stop here */
	while (run_job_here(&job) && runs++ < CLM_RUNS_PER_PROCESS)
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(job_cxt);
		if (!next_own_job(&job, job_cxt))
			break;
		clm_registry_set_job(job.job_id);
		report_job_appname(job.job_id);
	}
	proc_exit(0);
}
