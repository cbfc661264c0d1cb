/*-------------------------------------------------------------------------
 *
 * registry.c
 *		Shared memory: which clm process runs in which database, and which
 *		job it runs.
 *
 * Every database worker and job process takes a slot here when it starts
 * and gives it back when it exits (a shmem-exit callback).  The workers ask
 * the registry, not pg_stat_activity, whether a job is running: an
 * application_name can be set by anyone.  DROP DATABASE signals the clm
 * processes of the database while it holds the registry's lock: a process
 * gives its slot back before it exits, so a PID read under the lock is
 * still that process when it is signalled (a PID read from
 * pg_stat_activity could belong to another process by then).
 *
 * The same shared memory holds each captured job's watermark (capture.c):
 * a slot per job with the time below which changes to its source are
 * logged, read without a lock by the capture trigger of every writer.
 *
 * Without shared_preload_libraries there is no registry and no worker:
 * every lookup answers "not running", and capture logs every change.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include <signal.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

typedef struct ClmProcSlot
{
	pid_t		pid;			/* 0: free */
	Oid			dboid;
	int64		job_id;			/* the job a job process runs; 0: none */
} ClmProcSlot;

typedef struct ClmRegistry
{
	LWLock	   *lock;
	int			nslots;
	ClmCaptureSlot captures[CLM_CAPTURE_SLOTS];
	ClmProcSlot slots[FLEXIBLE_ARRAY_MEMBER];
} ClmRegistry;

static ClmRegistry *registry = NULL;
static ClmProcSlot *my_slot = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* every background worker could be a clm process */
static int
registry_slots(void)
{
	return Max(max_worker_processes, 8);
}

static Size
registry_size(void)
{
	return add_size(offsetof(ClmRegistry, slots),
					mul_size(registry_slots(), sizeof(ClmProcSlot)));
}

static void
registry_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(registry_size());
	RequestNamedLWLockTranche("clm", 1);
}

static void
registry_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	registry = ShmemInitStruct("clm registry", registry_size(), &found);
	if (!found)
	{
		int			i;

		memset(registry, 0, registry_size());
		registry->lock = &(GetNamedLWLockTranche("clm"))->lock;
		registry->nslots = registry_slots();
		for (i = 0; i < CLM_CAPTURE_SLOTS; i++)
		{
			pg_atomic_init_u64(&registry->captures[i].watermark, (uint64) DT_NOBEGIN);
			pg_atomic_init_u32(&registry->captures[i].disabled, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * clm_registry_install: from _PG_init while preloading.
 */
void
clm_registry_install(void)
{
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = registry_request;
#else
	registry_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = registry_startup;
}

static void
registry_leave(int code, Datum arg)
{
	if (registry == NULL || my_slot == NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	my_slot->pid = 0;
	my_slot->job_id = 0;
	LWLockRelease(registry->lock);
	my_slot = NULL;
}

/*
 * clm_registry_join: this process (a database worker or a job process)
 * takes a slot; given back when it exits.
 */
void
clm_registry_join(Oid dboid, int64 job_id)
{
	int			i;

	if (registry == NULL || my_slot != NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (i = 0; i < registry->nslots; i++)
		if (registry->slots[i].pid == 0)
		{
			my_slot = &registry->slots[i];
			my_slot->pid = MyProcPid;
			my_slot->dboid = dboid;
			my_slot->job_id = job_id;
			break;
		}
	LWLockRelease(registry->lock);
	if (my_slot == NULL)
		elog(ERROR, "clm: no free slot in the process registry");
	before_shmem_exit(registry_leave, (Datum) 0);
}

/* clm_registry_set_job: the job this process runs now */
void
clm_registry_set_job(int64 job_id)
{
	if (registry == NULL || my_slot == NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	my_slot->job_id = job_id;
	LWLockRelease(registry->lock);
}

/* clm_registry_job_running: whether a process of the database runs the job */
bool
clm_registry_job_running(Oid dboid, int64 job_id)
{
	bool		running = false;
	int			i;

	if (registry == NULL)
		return false;
	LWLockAcquire(registry->lock, LW_SHARED);
	for (i = 0; i < registry->nslots && !running; i++)
		running = registry->slots[i].pid != 0 && registry->slots[i].dboid == dboid &&
			registry->slots[i].job_id == job_id;
	LWLockRelease(registry->lock);
	return running;
}

/*
 * clm_registry_signal_database: SIGTERM to every clm process of the
 * database, under the lock (see the file header); returns how many.
 */
int
clm_registry_signal_database(Oid dboid)
{
	int			i,
				n = 0;

	if (registry == NULL)
		return 0;
	LWLockAcquire(registry->lock, LW_SHARED);
	for (i = 0; i < registry->nslots; i++)
		if (registry->slots[i].pid != 0 && registry->slots[i].dboid == dboid &&
			registry->slots[i].pid != MyProcPid)
		{
			ereport(LOG,
					(errmsg("clm: ending the clm process %d of a database being dropped",
							(int) registry->slots[i].pid)));
			if (kill(registry->slots[i].pid, SIGTERM) == 0)
				n++;
		}
	LWLockRelease(registry->lock);
	return n;
}

PG_FUNCTION_INFO_V1(clm_job_running);

/*
 * job_running(job_id bigint) RETURNS boolean: whether a clm worker process
 * of this database is running the job now.
 */
Datum
clm_job_running(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(clm_registry_job_running(MyDatabaseId, PG_GETARG_INT64(0)));
}

/* ---------- capture watermarks ---------- */

/* clm_capture_available: whether there is shared memory for watermarks */
bool
clm_capture_available(void)
{
	return registry != NULL;
}

/*
 * clm_capture_slot_find: the slot of a job of this database, or NULL; with
 * create, a free slot is taken and set to (watermark, disabled) if there is
 * none (NULL when all are taken: capture then logs every change).
 */
ClmCaptureSlot *
clm_capture_slot_find(int64 job_id, bool create, TimestampTz watermark, bool disabled)
{
	ClmCaptureSlot *found = NULL;
	int			i;

	if (registry == NULL)
		return NULL;
	LWLockAcquire(registry->lock, create ? LW_EXCLUSIVE : LW_SHARED);
	for (i = 0; i < CLM_CAPTURE_SLOTS && found == NULL; i++)
		if (registry->captures[i].job_id == job_id && registry->captures[i].dboid == MyDatabaseId)
			found = &registry->captures[i];
	for (i = 0; create && found == NULL && i < CLM_CAPTURE_SLOTS; i++)
		if (registry->captures[i].job_id == 0)
		{
			found = &registry->captures[i];
			pg_atomic_write_u64(&found->watermark, (uint64) watermark);
			pg_atomic_write_u32(&found->disabled, disabled ? 1 : 0);
			found->dboid = MyDatabaseId;
			pg_write_barrier();
			found->job_id = job_id;
		}
	LWLockRelease(registry->lock);
	return found;
}

/* clm_capture_slot_free: forget a dropped job's slot */
void
clm_capture_slot_free(int64 job_id)
{
	int			i;

	if (registry == NULL)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (i = 0; i < CLM_CAPTURE_SLOTS; i++)
		if (registry->captures[i].job_id == job_id && registry->captures[i].dboid == MyDatabaseId)
		{
			registry->captures[i].job_id = 0;
			registry->captures[i].dboid = InvalidOid;
		}
	LWLockRelease(registry->lock);
}

/*
 * clm_capture_slot_raise: the watermark never goes down (capture.c: a
 * watermark at or above the committed one is always safe)
 */
void
clm_capture_slot_raise(ClmCaptureSlot *slot, TimestampTz watermark)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	if ((int64) pg_atomic_read_u64(&slot->watermark) < watermark)
		pg_atomic_write_u64(&slot->watermark, (uint64) watermark);
	LWLockRelease(registry->lock);
}
