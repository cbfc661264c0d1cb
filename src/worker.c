/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The background workers that run clm jobs on their schedule.
 *
 * With shared_preload_libraries = 'clm', the postmaster starts one
 * "clm launcher".  It connects to no database: every clm.naptime seconds it
 * looks up each database named in clm.database (a comma-separated list) in
 * the shared catalog pg_database and keeps one "clm worker" running for each
 * that exists, starting it again if it exited.  A database that is dropped
 * simply gets no worker any more, so dropping it (WITH (FORCE), which ends
 * its worker) ends that worker for good, cleanly.
 *
 * A worker connects to its database and, every clm.naptime seconds, starts
 * the due jobs (clm.jobs.next_run_at <= now()) one by one.  Each job runs in
 * a "clm job" background worker of its own, connected as the job's owner:
 * the owner's code (the views and functions of the job's source) never runs
 * in a session authenticated as a superuser, where it could change the
 * session authorization back to the superuser.  The job worker runs the
 * job through the same SQL function as clm.run_job(), in one transaction; a
 * run that fails is recorded as failed and rescheduled, and the worker
 * carries on with the next job.  Without the extension in its database the
 * worker idles.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
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

#define CLM_MAX_DATABASES 16

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

/*
 * _PG_init: define the GUCs; when preloaded, register the launcher.
 */
void
_PG_init(void)
{
	BackgroundWorker worker;

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

	DefineCustomStringVariable("clm.database",
							   "Databases in which clm runs jobs (comma-separated).",
							   "A worker runs in each of these databases that exists.",
							   &clm_database, "postgres",
							   PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("clm.worker_role",
							   "Role the clm workers connect as (a superuser; empty: the bootstrap superuser).",
							   "Jobs still run as their owners.",
							   &clm_worker_role, "",
							   PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	reserve_guc_prefix();

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

/*
 * wait_naptime: sleep until the naptime passes or the latch is set; reload
 * the configuration on SIGHUP.  Exits with the postmaster.
 */
static void
wait_naptime(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 clm_naptime * 1000L, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* ---------- launcher ---------- */

/*
 * database_exists: whether a connectable database of this name exists,
 * read from the shared catalog pg_database (the launcher has no database).
 */
static bool
database_exists(const char *name)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), name) == 0 && db->datallowconn)
		{
			found = true;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	return found;
}

/*
 * start_db_worker: register a dynamic worker for one database.
 */
static BackgroundWorkerHandle *
start_db_worker(const char *dbname)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "clm");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "clm_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "clm worker for database %s", dbname);
	snprintf(worker.bgw_type, BGW_MAXLEN, "clm worker");
	strlcpy(worker.bgw_extra, dbname, BGW_EXTRALEN);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(WARNING,
				(errmsg("clm: could not start a worker for database \"%s\"", dbname),
				 errhint("Raise max_worker_processes.")));
		return NULL;
	}
	return handle;
}

void
clm_launcher_main(Datum arg)
{
	char	   *names[CLM_MAX_DATABASES];
	BackgroundWorkerHandle *handles[CLM_MAX_DATABASES] = {NULL};
	bool		missing_logged[CLM_MAX_DATABASES] = {false};
	int			ndb = 0;
	List	   *list;
	ListCell   *lc;
	char	   *raw;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	/* clm.database is fixed at server start: parse it once */
	raw = pstrdup(clm_database ? clm_database : "");
	if (!SplitIdentifierString(raw, ',', &list))
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clm.database must be a comma-separated list of database names")));
	foreach(lc, list)
	{
		if (ndb == CLM_MAX_DATABASES)
		{
			ereport(WARNING,
					(errmsg("clm: only the first %d databases of clm.database get a worker",
							CLM_MAX_DATABASES)));
			break;
		}
		names[ndb++] = pstrdup((char *) lfirst(lc));
	}
	ereport(LOG, (errmsg("clm launcher started for %d database(s)", ndb)));

	for (;;)
	{
		int			i;

		for (i = 0; i < ndb; i++)
		{
			pid_t		pid;

			if (handles[i] != NULL &&
				GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
				continue;		/* running or starting */
			if (handles[i] != NULL)
			{
				pfree(handles[i]);
				handles[i] = NULL;
			}
			if (!database_exists(names[i]))
			{
				if (!missing_logged[i])
					ereport(LOG,
							(errmsg("clm: database \"%s\" does not exist or does not accept connections; no worker for it",
									names[i])));
				missing_logged[i] = true;
				continue;
			}
			missing_logged[i] = false;
			handles[i] = start_db_worker(names[i]);
		}
		wait_naptime();
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

/*
 * report_failure: log an error caught while running a job and record it as
 * a failed run, in a transaction of its own.
 */
static void
report_failure(int64 job_id, const char *name, const char *message)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	ereport(LOG,
			(errmsg("clm: job \"%s\" failed: %s", name, message)));
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		Oid			argtypes[2] = {INT8OID, TEXTOID};
		Datum		values[2];

		values[0] = Int64GetDatum(job_id);
		values[1] = CStringGetTextDatum(message);
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		SPI_execute_with_args("SELECT clm.record_job_failure($1, 'worker', $2)",
							  2, argtypes, values, NULL, false, 0);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_with_error(oldcxt);

		ereport(LOG,
				(errmsg("clm: could not record the failure of job \"%s\": %s",
						name, edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * run_job_here: one job run in one transaction, in the job worker.  Errors
 * the SQL function does not catch itself (the job's timeout, or the owner's
 * statement_timeout; a cancel) abort the transaction, which leaves no
 * partial state, and are recorded in a new one.
 */
static void
run_job_here(const DueJob *job)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	int			timeout_ms = job->timeout_ms > 0 ? job->timeout_ms : StatementTimeout;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		values[1];
		char		activity[200];

		values[0] = Int64GetDatum(job->job_id);
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		snprintf(activity, sizeof(activity), "clm: running job %s", job->name);
		pgstat_report_activity(STATE_RUNNING, activity);
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
		SPI_execute_with_args("SELECT clm.run_job_by_id($1, 'worker')",
							  1, argtypes, values, NULL, false, 0);
		disable_timeout(STATEMENT_TIMEOUT, false);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(STATEMENT_TIMEOUT, false);
		edata = abort_with_error(oldcxt);
		report_failure(job->job_id, job->name, edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * owner_login_role: the OID of a job's owner if it is a role that can log
 * in (a background worker can only connect as such a role), else InvalidOid
 * with *why set.
 */
static Oid
owner_login_role(const char *owner, const char **why)
{
	HeapTuple	tup;
	Oid			roleoid = InvalidOid;

	StartTransactionCommand();
	tup = SearchSysCache1(AUTHNAME, CStringGetDatum(owner));
	if (!HeapTupleIsValid(tup))
		*why = "the job's owner role does not exist";
	else
	{
		Form_pg_authid role = (Form_pg_authid) GETSTRUCT(tup);

		if (!role->rolcanlogin)
			*why = "the job's owner role cannot log in (LOGIN is needed to run jobs in the background)";
		else
			roleoid = role->oid;
		ReleaseSysCache(tup);
	}
	CommitTransactionCommand();
	return roleoid;
}

/*
 * run_job_as_owner: start a "clm job" worker connected as the job's owner
 * and wait for it to finish.  Returns false when no worker slot is free
 * (the job stays due and is tried again next time).
 */
static bool
run_job_as_owner(const DueJob *job)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	JobArgs		args;
	const char *why = NULL;
	pid_t		pid;

	memset(&args, 0, sizeof(args));
	args.roleoid = owner_login_role(job->owner, &why);
	if (!OidIsValid(args.roleoid))
	{
		report_failure(job->job_id, job->name, why);
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
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(WARNING,
				(errmsg("clm: no background worker slot free for job \"%s\"; it stays due", job->name),
				 errhint("Raise max_worker_processes.")));
		return false;
	}
	if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_STARTED)
		(void) WaitForBackgroundWorkerShutdown(handle);
	pfree(handle);
	return true;
}

/*
 * due_jobs: the jobs to run now, oldest due first, read in a short
 * transaction; NULL (and *njobs = 0) when the extension is not installed.
 */
static DueJob *
due_jobs(MemoryContext mcxt, int *njobs, bool *installed)
{
	DueJob	   *volatile jobs = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;

	*njobs = 0;
	*installed = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		uint64		i;

		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "clm: looking for due jobs");
		SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'clm'", true, 1);
		*installed = (SPI_processed > 0);
		if (*installed)
		{
			SPI_execute("SELECT job_id, coalesce(extract(epoch FROM timeout) * 1000, 0)::int4, name, owner"
						" FROM clm.jobs WHERE enabled AND next_run_at <= pg_catalog.now()"
						" ORDER BY next_run_at, job_id", true, 0);
			jobs = MemoryContextAllocZero(mcxt, Max(SPI_processed, 1) * sizeof(DueJob));
			for (i = 0; i < SPI_processed; i++)
			{
				HeapTuple	tup = SPI_tuptable->vals[i];
				TupleDesc	desc = SPI_tuptable->tupdesc;
				bool		isnull;

				jobs[i].job_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
				jobs[i].timeout_ms = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
				jobs[i].name = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 3));
				jobs[i].owner = MemoryContextStrdup(mcxt, SPI_getvalue(tup, desc, 4));
			}
			*njobs = (int) SPI_processed;
		}
		SPI_finish();
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

void
clm_worker_main(Datum arg)
{
	char		dbname[BGW_EXTRALEN];
	MemoryContext cycle_cxt;
	bool		missing_logged = false;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname,
										 (clm_worker_role && clm_worker_role[0]) ? clm_worker_role : NULL,
										 0);
	pgstat_report_appname("clm worker");
	ereport(LOG, (errmsg("clm worker started in database \"%s\"", dbname)));

	cycle_cxt = AllocSetContextCreate(TopMemoryContext, "clm worker cycle",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		if (clm_worker_enabled)
		{
			int			njobs,
						i;
			bool		installed;
			DueJob	   *jobs;

			MemoryContextReset(cycle_cxt);
			jobs = due_jobs(cycle_cxt, &njobs, &installed);
			if (!installed && !missing_logged)
				ereport(LOG,
						(errmsg("clm: extension clm is not installed in database \"%s\"; the worker waits",
								dbname)));
			missing_logged = !installed;
			for (i = 0; i < njobs; i++)
			{
				CHECK_FOR_INTERRUPTS();
				if (ConfigReloadPending)
				{
					ConfigReloadPending = false;
					ProcessConfigFile(PGC_SIGHUP);
					if (!clm_worker_enabled)
						break;
				}
				if (!run_job_as_owner(&jobs[i]))
					break;
			}
		}
		pgstat_report_stat(true);
		wait_naptime();
	}
}

/* ---------- one job, as its owner ---------- */

void
clm_job_main(Datum arg)
{
	JobArgs		args;
	DueJob		job;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.roleoid, 0);
	pgstat_report_appname("clm job");

	job.job_id = args.job_id;
	job.timeout_ms = args.timeout_ms;
	job.name = args.name;
	job.owner = NULL;
	run_job_here(&job);
	proc_exit(0);
}
