/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *		The per-database worker: starts the due jobs, each in a process of
 *		its own connected as the job's owner, up to clm.max_running_jobs at
 *		a time, and does the history's maintenance (see worker.c).
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


/* the last error met while reading the due jobs, to log each one once */
static char *last_error = NULL;

/* a job run in progress, started by this worker */
typedef struct RunningJob
{
	int64		job_id;
	BackgroundWorkerHandle *handle;
} RunningJob;

static RunningJob running_jobs[CLM_MAX_RUNNING_JOBS];
static int	n_running = 0;

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
		clmw_report_failure(job->job_id, job->name, sqlerrcode, why, GetCurrentTimestamp());
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

		clmw_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "clm: looking for due jobs");
		clmw_spi_check(SPI_execute("SELECT 1 FROM pg_catalog.pg_extension"
							  " WHERE extname OPERATOR(pg_catalog.=) 'clm'", true, 1),
				  SPI_OK_SELECT, "looking for the extension");
		*installed = (SPI_processed > 0);
		if (*installed && max > 0)
		{
			char	   *query = psprintf(DUE_JOBS_QUERY " LIMIT %d", max + n_running);

			clmw_spi_check(SPI_execute(query, true, 0), SPI_OK_SELECT, "reading the due jobs");
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
				clmw_read_due_job(&jobs[n++], SPI_tuptable->vals[i], SPI_tuptable->tupdesc, mcxt);
			}
			*njobs = n;
			clmw_spi_check(SPI_execute("SELECT pg_catalog.min(j.next_run_at) FROM clm.jobs j"
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
		clmw_spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
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
		ErrorData  *edata = clmw_abort_with_error(oldcxt);

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

		clmw_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, psprintf("clm: %s", what));
		clmw_spi_check(SPI_execute(query, false, 0), SPI_OK_SELECT, what);
		for (i = 0; i < nout; i++)
		{
			bool		isnull = true;
			Datum		d = SPI_processed == 1
				? SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull) : (Datum) 0;

			out[i] = isnull ? 0 : DatumGetInt64(d);
		}
		clmw_spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = clmw_abort_with_error(oldcxt);

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
	int64		counts[2] = {0, 0};

	if (!maintenance_sql("prune the job history",
						 psprintf("SELECT job_runs, alerts FROM clm.prune_history(%d)",
								  CLM_PRUNE_BATCH),
						 counts, 2))
		return false;
	if (counts[0] + counts[1] > 0)
		ereport(DEBUG1,
				(errmsg("clm: pruned " INT64_FORMAT " runs, " INT64_FORMAT " alerts",
						counts[0], counts[1])));
	return counts[0] >= CLM_PRUNE_BATCH || counts[1] >= CLM_PRUNE_BATCH;
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
	clmw_pin_search_path();
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
		clmw_reload_config();

		/*
		 * runs that ended leave their slots (a run analyzes what it bulk
		 * wrote itself: the job's owner owns its state table)
		 */
		(void) reap_jobs();
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
		clmw_wait_ms((long) Max((wake_at - GetCurrentTimestamp() + 999) / 1000, 1));
	}
}
