/*-------------------------------------------------------------------------
 *
 * jobproc.c
 *		A job's own process, connected as the job's owner: runs the job in one
 *		transaction, records a failure its run could not, and goes on with the
 *		owner's other due jobs (see worker.c).
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
		clmw_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		clmw_spi_check(SPI_execute_with_args("SELECT clm.defer_failed_job($1, $2, $3)",
										3, argtypes, values, NULL, false, 0),
				  SPI_OK_SELECT, "deferring a failed job");
		disabled = SPI_processed == 1 &&
			DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
			!isnull;
		clmw_spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
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
		ErrorData  *edata = clmw_abort_with_error(oldcxt);

		ereport(LOG,
				(errmsg("clm: could not defer job \"%s\" either: %s", name, edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * clmw_report_failure: log an error caught while running a job and record it as
 * a failed run (then retried or rescheduled), in a transaction of its own.
 */
void
clmw_report_failure(int64 job_id, const char *name, int sqlerrcode, const char *message,
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
		clmw_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		clmw_spi_check(SPI_execute_with_args("SELECT clm.record_job_failure($1, 'worker', $2, $3, $4)",
										4, argtypes, values, NULL, false, 0),
				  SPI_OK_SELECT, "recording a failed run");
		clmw_spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = clmw_abort_with_error(oldcxt);

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
		clmw_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		snprintf(activity, sizeof(activity), "clm: running job %s", job->name);
		pgstat_report_activity(STATE_RUNNING, activity);
		if (job->timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, job->timeout_ms);
		clmw_spi_check(SPI_execute_with_args("SELECT clm.run_job_by_id($1, 'worker')",
										1, argtypes, values, NULL, false, 0),
				  SPI_OK_SELECT, "running the job");
		disable_timeout(STATEMENT_TIMEOUT, false);
		clmw_spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(STATEMENT_TIMEOUT, false);
		edata = clmw_abort_with_error(oldcxt);
		clmw_report_failure(job->job_id, job->name, edata->sqlerrcode, edata->message, started_at);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}


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

		clmw_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
		PushActiveSnapshot(GetTransactionSnapshot());
		/*
		 * Only the owner's jobs, whatever row security lets this role see
		 * (a superuser sees every job): a job must run in a session of its
		 * own owner, so that its code cannot take this session's rights.
		 */
		clmw_spi_check(SPI_execute(DUE_JOBS_QUERY_OWNER " LIMIT " CppAsString2(CLM_MAX_RUNNING_JOBS),
							  true, 0),
				  SPI_OK_SELECT, "reading the next due job");
		for (i = 0; i < SPI_processed && !found; i++)
		{
			bool		isnull;
			int64		job_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull));

			if (clm_registry_job_running(MyDatabaseId, job_id))
				continue;
			clmw_read_due_job(job, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, mcxt);
			found = true;
		}
		clmw_spi_check(SPI_finish(), SPI_OK_FINISH, "SPI_finish");
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = clmw_abort_with_error(oldcxt);

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
	clmw_pin_search_path();
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
