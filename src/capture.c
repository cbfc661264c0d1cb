/*-------------------------------------------------------------------------
 *
 * capture.c
 *		Change capture on a job's source table: what the next incremental
 *		run must rescan, at almost no cost to the writer.
 *
 * The idea is TimescaleDB's continuous-aggregate invalidation threshold.
 * Each captured job has a watermark W (clm.jobs.watermark, and a copy in
 * shared memory that every writer reads without a lock).  A row dated
 * after W has never been summarised: the next run finds it by itself,
 * reading ts > W from the source (through an index on ts), so inserting,
 * updating or deleting such a row logs nothing.  Only a change to a row
 * dated at or before W (a late row, an update or a refund of an old
 * purchase, a delete) logs its customer key in clm.job_changes, once per
 * customer (a unique index, ON CONFLICT DO NOTHING).  TRUNCATE logs a full
 * rescan (a NULL key).
 *
 * Why it loses nothing.  A run publishes its new watermark (its as_of) in
 * shared memory, then waits for every transaction that holds a write lock
 * on the source (as CREATE INDEX CONCURRENTLY does, but polling, for at
 * most two seconds: see CLM_CAPTURE_WAIT_MS), then reads.  A writer reads the watermark after taking its write
 * lock: either it took the lock before the publication, and the run waits
 * for it and then sees its rows; or it sees the new watermark and logs what
 * falls at or below it.  The shared watermark only goes up, and is never
 * below the committed one (a run that fails after publishing leaves it
 * ahead, which only makes writers log more); after a restart it is
 * reloaded from clm.jobs.  A run in a REPEATABLE READ transaction cannot
 * see what it waited for, so it does not move the watermark.
 *
 * The trigger is a BEFORE ROW trigger in C (no after-trigger queue, no
 * transition tables, no SQL on the common path), named to fire after the
 * user's own BEFORE triggers.  It finds its columns by name on every call,
 * so a renamed or dropped column, a dropped job, a disabled job or any
 * state it cannot follow never fails the user's statement: it logs a full
 * rescan instead (or nothing, for a job that is gone or disabled), and the
 * next run rescans and says why.  It logs only for the job whose source is
 * the table it fires on, and writes clm.job_changes as that table's owner:
 * no one but clm writes there.
 *
 * Dates and timestamps without time zone are compared as if in UTC, with a
 * margin of two days on both sides (the writer logs up to W + 2 days, the
 * run reads from W - 2 days), wider than any zone's offset.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/wait_event.h"

/* the margin for columns without time zone: more than any UTC offset */
#define NAIVE_MARGIN (2 * USECS_PER_DAY)

/* what the trigger does for a job */
typedef enum CaptureMode
{
	CAPTURE_NOTHING,			/* not this table's job, gone or disabled */
	CAPTURE_ALL,				/* no watermark: every change is logged */
	CAPTURE_WATERMARK			/* changes to rows at or before W are logged */
} CaptureMode;

/* per backend: the jobs whose trigger fired here, and what was verified */
typedef struct CaptureJob
{
	int64		job_id;
	Oid			relid;			/* the table it fired on */
	bool		valid;			/* the table is the job's source (or in it) */
	bool		enabled;
	ClmCaptureSlot *slot;		/* NULL: no shared memory, or no free slot */
	TimestampTz loaded_in;		/* the start of the transaction that loaded it */
} CaptureJob;

#define CAPTURE_CACHE 64
static CaptureJob capture_cache[CAPTURE_CACHE];
static int	capture_cached = 0;

/* the statement that logs a key, prepared once per backend */
static SPIPlanPtr log_plan = NULL;

/*
 * the last key logged in this transaction, to skip repeats (a statement
 * that changes many rows of one customer); forgotten at the end of the
 * transaction and when a subtransaction aborts (its insert went with it)
 */
static int64 last_job = 0;
static char *last_key = NULL;
static bool last_valid = false;
static bool memo_callbacks = false;

static void
forget_last_xact(XactEvent event, void *arg)
{
	last_valid = false;
}

static void
forget_last_subxact(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		last_valid = false;
}

/*
 * load_job: read the job's source, watermark and state from clm.jobs as
 * the owner of clm.jobs (the writer may not see the job: row security),
 * and check that the table the trigger fired on is the source or one of
 * its partitions.
 */
static void
load_job(CaptureJob *cj, Relation rel)
{
	Oid			jobs_rel = get_relname_relid("jobs", get_namespace_oid("clm", false));
	Oid			save_userid;
	int			save_sec;
	HeapTuple	classtup;
	Oid			owner;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	Oid			source = InvalidOid;
	TimestampTz watermark = DT_NOBEGIN;
	bool		isnull;

	cj->valid = false;
	cj->enabled = false;
	cj->slot = NULL;
	cj->loaded_in = GetCurrentTransactionStartTimestamp();
	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(jobs_rel));
	if (!HeapTupleIsValid(classtup))
		return;
	owner = ((Form_pg_class) GETSTRUCT(classtup))->relowner;
	ReleaseSysCache(classtup);

	values[0] = Int64GetDatum(cj->job_id);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT pg_catalog.to_regclass(j.source), j.watermark, j.enabled AND j.capture"
							  " FROM clm.jobs j WHERE j.job_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		d;

		d = SPI_getbinval(tup, desc, 1, &isnull);
		source = isnull ? InvalidOid : DatumGetObjectId(d);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		watermark = isnull ? DT_NOBEGIN : DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		cj->enabled = !isnull && DatumGetBool(d);
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);

	if (!OidIsValid(source))
		return;
	cj->valid = (source == RelationGetRelid(rel)) ||
		(rel->rd_rel->relispartition &&
		 list_member_oid(get_partition_ancestors(RelationGetRelid(rel)), source));
	if (cj->valid)
		cj->slot = clm_capture_slot_find(cj->job_id, true, watermark, !cj->enabled);
}

/*
 * capture_job: the backend's entry for a job, loaded on first use and again
 * when its shared slot was given to another job (the job was dropped); an
 * entry without a slot (a job that is gone, a table that is not its
 * source, no shared memory) is loaded again once per transaction.
 */
static CaptureJob *
capture_job(int64 job_id, Relation rel)
{
	CaptureJob *cj = NULL;
	int			i;

	for (i = 0; i < capture_cached; i++)
		if (capture_cache[i].job_id == job_id && capture_cache[i].relid == RelationGetRelid(rel))
		{
			cj = &capture_cache[i];
			if (cj->slot != NULL
				? cj->slot->job_id == job_id && cj->slot->dboid == MyDatabaseId
				: cj->loaded_in == GetCurrentTransactionStartTimestamp())
				return cj;
			break;
		}
	if (cj == NULL)
	{
		/* a full cache starts over: it only saves reloads */
		if (capture_cached == CAPTURE_CACHE)
			capture_cached = 0;
		cj = &capture_cache[capture_cached++];
		cj->job_id = job_id;
		cj->relid = RelationGetRelid(rel);
	}
	load_job(cj, rel);
	return cj;
}

/*
 * capture_mode: what to do for this job now, and its watermark.
 */
static CaptureMode
capture_mode(CaptureJob *cj, TimestampTz *watermark)
{
	if (!cj->valid)
		return CAPTURE_NOTHING;
	if (cj->slot == NULL)
		return CAPTURE_ALL;		/* (enabled or not: this backend may not learn of a change) */
	if (pg_atomic_read_u32(&cj->slot->disabled))
		return CAPTURE_NOTHING;
	pg_read_barrier();
	*watermark = (TimestampTz) pg_atomic_read_u64(&cj->slot->watermark);
	return *watermark == DT_NOBEGIN ? CAPTURE_ALL : CAPTURE_WATERMARK;
}

/*
 * log_key: one customer key (NULL: rescan everything) into clm.job_changes,
 * as the owner of that table, unless it was the last one logged in this
 * subtransaction.
 */
static void
log_key(int64 job_id, const char *key)
{
	Oid			save_userid;
	int			save_sec;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', key ? ' ' : 'n'};
	HeapTuple	classtup;
	Oid			owner;

	if (last_valid && last_job == job_id &&
		((key == NULL && last_key == NULL) || (key && last_key && strcmp(key, last_key) == 0)))
		return;
	if (!memo_callbacks)
	{
		RegisterXactCallback(forget_last_xact, NULL);
		RegisterSubXactCallback(forget_last_subxact, NULL);
		memo_callbacks = true;
	}

	classtup = SearchSysCache1(RELOID,
							   ObjectIdGetDatum(get_relname_relid("job_changes",
																  get_namespace_oid("clm", false))));
	if (!HeapTupleIsValid(classtup))
		return;
	owner = ((Form_pg_class) GETSTRUCT(classtup))->relowner;
	ReleaseSysCache(classtup);

	values[0] = Int64GetDatum(job_id);
	values[1] = key ? CStringGetTextDatum(key) : (Datum) 0;
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (log_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare("INSERT INTO clm.job_changes (job_id, customer_id) VALUES ($1, $2)"
									   " ON CONFLICT DO NOTHING", 2, argtypes);

		if (plan == NULL)
			elog(ERROR, "clm: could not prepare the change log statement");
		SPI_keepplan(plan);
		log_plan = plan;
	}
	if (SPI_execute_plan(log_plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "clm: could not log a changed customer");
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);

	if (last_key)
		pfree(last_key);
	last_key = key ? MemoryContextStrdup(TopMemoryContext, key) : NULL;
	last_job = job_id;
	last_valid = true;
}

/*
 * ts_at_or_before: whether a ts value of this type falls at or before the
 * watermark (a naive date or timestamp with the margin); other types
 * always do (their rows are logged).
 */
static bool
ts_at_or_before(Datum value, Oid type, TimestampTz watermark)
{
	switch (type)
	{
		case TIMESTAMPTZOID:
			return DatumGetTimestampTz(value) <= watermark;
		case TIMESTAMPOID:
			return DatumGetTimestamp(value) <= watermark + NAIVE_MARGIN;
		case DATEOID:
			{
				DateADT		d = DatumGetDateADT(value);

				if (DATE_NOT_FINITE(d))
					return DATE_IS_NOBEGIN(d);
				return (int64) d * USECS_PER_DAY <= watermark + NAIVE_MARGIN;
			}
		default:
			return true;
	}
}

/*
 * row_key: the customer key of a row that must be logged (the text of the
 * customer column), or NULL with *skip when the row needs no log: its
 * customer is NULL, its ts is NULL (never summarised) or after the
 * watermark.  *lost: a column is gone (renamed, dropped): log a rescan.
 */
static char *
row_key(HeapTuple tup, TupleDesc desc, int keycol, int tscol, CaptureMode mode,
		TimestampTz watermark, bool *skip)
{
	bool		isnull;
	Datum		v;
	Oid			typoutput;
	bool		varlena;

	*skip = true;
	v = heap_getattr(tup, tscol, desc, &isnull);
	if (isnull)
		return NULL;
	if (mode == CAPTURE_WATERMARK &&
		!ts_at_or_before(v, TupleDescAttr(desc, tscol - 1)->atttypid, watermark))
		return NULL;
	v = heap_getattr(tup, keycol, desc, &isnull);
	if (isnull)
		return NULL;
	*skip = false;
	getTypeOutputInfo(TupleDescAttr(desc, keycol - 1)->atttypid, &typoutput, &varlena);
	return OidOutputFunctionCall(typoutput, v);
}

/* same_value: whether a column holds the same value in both rows */
static bool
same_value(HeapTuple a, HeapTuple b, TupleDesc desc, int col)
{
	bool		na,
				nb;
	Datum		va = heap_getattr(a, col, desc, &na);
	Datum		vb = heap_getattr(b, col, desc, &nb);
	Form_pg_attribute att = TupleDescAttr(desc, col - 1);

	if (na || nb)
		return na == nb;
	return datumIsEqual(va, vb, att->attbyval, att->attlen);
}

PG_FUNCTION_INFO_V1(clm_capture);

/*
 * capture() RETURNS trigger, arguments (job id, customer column, ts
 * column, amount column): BEFORE INSERT OR UPDATE OR DELETE FOR EACH ROW,
 * and AFTER TRUNCATE FOR EACH STATEMENT.
 */
Datum
clm_capture(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TriggerEvent ev;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	result;
	CaptureJob *cj;
	CaptureMode mode;
	TimestampTz watermark = DT_NOBEGIN;
	int64		job_id;
	int			keycol,
				tscol,
				amountcol;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("clm.capture() must be called as a trigger")));
	ev = td->tg_event;
	rel = td->tg_relation;
	result = TRIGGER_FIRED_BY_UPDATE(ev) ? td->tg_newtuple : td->tg_trigtuple;
	if (td->tg_trigger->tgnargs != 4)
		return PointerGetDatum(result);
	job_id = strtoi64(td->tg_trigger->tgargs[0], NULL, 10);
	cj = capture_job(job_id, rel);
	mode = capture_mode(cj, &watermark);
	if (mode == CAPTURE_NOTHING)
		return PointerGetDatum(result);
	if (TRIGGER_FIRED_BY_TRUNCATE(ev))
	{
		log_key(job_id, NULL);
		return PointerGetDatum(NULL);
	}

	desc = RelationGetDescr(rel);
	keycol = SPI_fnumber(desc, td->tg_trigger->tgargs[1]);
	tscol = SPI_fnumber(desc, td->tg_trigger->tgargs[2]);
	amountcol = SPI_fnumber(desc, td->tg_trigger->tgargs[3]);
	if (keycol <= 0 || tscol <= 0 || amountcol <= 0)
	{
		/* a column was renamed or dropped: the next run rescans and says why */
		log_key(job_id, NULL);
		return PointerGetDatum(result);
	}
	if (TRIGGER_FIRED_BY_UPDATE(ev) &&
		same_value(td->tg_trigtuple, td->tg_newtuple, desc, keycol) &&
		same_value(td->tg_trigtuple, td->tg_newtuple, desc, tscol) &&
		same_value(td->tg_trigtuple, td->tg_newtuple, desc, amountcol))
		return PointerGetDatum(result); /* no column the job reads changed */

	/* the old row (update, delete), then the new one (insert, update) */
	if (!TRIGGER_FIRED_BY_INSERT(ev))
	{
		bool		skip;
		char	   *key = row_key(td->tg_trigtuple, desc, keycol, tscol, mode, watermark, &skip);

		if (!skip)
			log_key(job_id, key);
	}
	if (!TRIGGER_FIRED_BY_DELETE(ev))
	{
		bool		skip;
		char	   *key = row_key(result, desc, keycol, tscol, mode, watermark, &skip);

		if (!skip)
			log_key(job_id, key);
	}
	return PointerGetDatum(result);
}

/*
 * How long a run waits for the source's writers before it gives up
 * publishing.  Not forever: a writer may itself be waiting for the run (a
 * session that wrote the source and then calls clm.run_job on the job the
 * worker is running waits for the job's row, which the run holds), and a
 * wait on a lock the deadlock detector sees would then fail one of them.
 * Polling is invisible to it; after the deadline the run goes on
 * unpublished, which is only slower (it logs the customers with rows
 * after its as_of for the next run and keeps the old watermark).
 */
#define CLM_CAPTURE_WAIT_MS 2000

/*
 * writers_done: whether the transactions that held a write lock on one of
 * the relations when called have ended, polling them until deadline_ms.
 */
static bool
writers_done(List *rels, int deadline_ms)
{
	List	   *vxids = NIL;
	ListCell   *lc;
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), deadline_ms);

	foreach(lc, rels)
	{
		LOCKTAG		tag;
		VirtualTransactionId *v;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, lfirst_oid(lc));
		for (v = GetLockConflicts(&tag, ShareLock, NULL); VirtualTransactionIdIsValid(*v); v++)
		{
			VirtualTransactionId *copy = palloc(sizeof(VirtualTransactionId));

			*copy = *v;
			vxids = lappend(vxids, copy);
		}
	}
	foreach(lc, vxids)
	{
		VirtualTransactionId *v = lfirst(lc);

		while (!VirtualXactLock(*v, false))
		{
			if (GetCurrentTimestamp() >= deadline)
				return false;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	return true;
}

PG_FUNCTION_INFO_V1(clm_capture_advance);

/*
 * capture_advance(job_id bigint, source regclass, watermark timestamptz)
 * RETURNS boolean: publish a run's new watermark and wait for the
 * transactions writing the source (and its partitions) that may have read
 * the old one; true when published (the run then stores it), false when it
 * cannot be (no shared memory, no free slot, a transaction snapshot that
 * would not see what it waited for, or writers that did not end within
 * CLM_CAPTURE_WAIT_MS).  A watermark raised but not published only makes
 * writers log more.
 */
Datum
clm_capture_advance(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	Oid			source = PG_GETARG_OID(1);
	TimestampTz watermark = PG_GETARG_TIMESTAMPTZ(2);
	ClmCaptureSlot *slot;

	if (!clm_capture_available() || IsolationUsesXactSnapshot() || TIMESTAMP_NOT_FINITE(watermark))
		PG_RETURN_BOOL(false);
	if (pg_class_aclcheck(source, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		PG_RETURN_BOOL(false);
	slot = clm_capture_slot_find(job_id, true, DT_NOBEGIN, false);
	if (slot == NULL)
		PG_RETURN_BOOL(false);
	clm_capture_slot_raise(slot, watermark);
	PG_RETURN_BOOL(writers_done(find_all_inheritors(source, NoLock, NULL), CLM_CAPTURE_WAIT_MS));
}

/* ---------- enabling, disabling and dropping, at commit ---------- */

typedef struct PendingSync
{
	int64		job_id;
	int			state;			/* 0: enabled, 1: disabled, 2: dropped */
	struct PendingSync *next;
} PendingSync;

static PendingSync *pending = NULL;
static bool callback_registered = false;

/*
 * The shared state of a job follows clm.jobs only once the change is
 * committed: applied at commit, while the job's row lock is still held
 * (a run, which takes that lock, cannot start in between); dropped at
 * abort.
 */
static void
capture_xact_callback(XactEvent event, void *arg)
{
	PendingSync *p;

	if (event == XACT_EVENT_COMMIT)
		for (p = pending; p != NULL; p = p->next)
		{
			if (p->state == 2)
				clm_capture_slot_free(p->job_id);
			else
			{
				ClmCaptureSlot *slot = clm_capture_slot_find(p->job_id, false, DT_NOBEGIN, false);

				if (slot)
					pg_atomic_write_u32(&slot->disabled, p->state == 1 ? 1 : 0);
			}
		}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		pending = NULL;			/* (its memory went with the transaction) */
}

PG_FUNCTION_INFO_V1(clm_capture_sync);

/*
 * capture_sync(job_id bigint, dropped boolean) RETURNS void: at commit,
 * tell every writer that the job is dropped, or enabled or disabled as its
 * row (as the caller sees it, with this transaction's changes) says.  A job
 * the caller cannot see is an error: one cannot switch off the capture of
 * another user's job.
 */
Datum
clm_capture_sync(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	PendingSync *p;
	int			state = -1;
	bool		isnull;

	values[0] = PG_GETARG_DATUM(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT j.enabled AND j.capture FROM clm.jobs j WHERE j.job_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		state = (!isnull && DatumGetBool(d)) ? 0 : 1;
	}
	SPI_finish();
	if (state < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no job with id " INT64_FORMAT, PG_GETARG_INT64(0))));
	if (!clm_capture_available())
		PG_RETURN_VOID();
	if (!callback_registered)
	{
		RegisterXactCallback(capture_xact_callback, NULL);
		callback_registered = true;
	}
	p = MemoryContextAlloc(TopTransactionContext, sizeof(PendingSync));
	p->job_id = PG_GETARG_INT64(0);
	p->state = PG_GETARG_BOOL(1) ? 2 : state;
	p->next = pending;
	pending = p;
	PG_RETURN_VOID();
}
