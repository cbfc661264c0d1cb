/*-------------------------------------------------------------------------
 *
 * launcher.c
 *		The clm launcher: one per server, connected to no database; keeps a
 *		worker for each database that wants one (see worker.c).
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

		if (!db->datallowconn || db->datistemplate || !clmw_database_allowed(NameStr(db->datname)))
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
		clmw_wait_ms(clm_naptime * 1000L);
	}
}
