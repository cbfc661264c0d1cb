/*-------------------------------------------------------------------------
 *
 * jobrun.c
 *		Running a job, or previewing it, as the job's owner.
 *
 * A job's source is the owner's: its views, the functions they call, the
 * triggers and index expressions of its tables are code the owner wrote.
 * Whoever runs the job (the owner, another user who can see it, a
 * superuser, the background worker) must run that code with the owner's
 * rights and no more, and must get back exactly the session it had.  So
 * clm.run_job_by_id and clm.preview_job switch identity here, in C, the way
 * REFRESH MATERIALIZED VIEW does (matview.c): the owner's user id with
 * SECURITY_LOCAL_USERID_CHANGE and SECURITY_RESTRICTED_OPERATION, so the
 * owner's code cannot SET ROLE, RESET ROLE or SET SESSION AUTHORIZATION back
 * to the caller, nor LISTEN or create a temporary schema the caller would
 * keep; and a new GUC nest level holding the job's TimeZone and a fixed
 * search_path, undone when the call returns.  An error anywhere unwinds the
 * (sub)transaction, which restores both.
 *
 * The temporary tables a run works in are made before the lock-down
 * (clm.run_scratch_tables, fixed definitions that run no user code).
 *
 * The run's own logic is the plpgsql body (clm.run_job_body,
 * clm.preview_job_body), called here through fmgr: it is not executable by
 * PUBLIC, so nobody can call it without the switch.
 *
 * Also here: clm.check_time_zone, the one validator of a job's time zone,
 * which is exactly what the TimeZone setting accepts (a run sets it).
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

/* the identity and settings to restore after a call as the owner */
typedef struct OwnerSwitch
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} OwnerSwitch;

/* one body function, looked up and its FmgrInfo kept in fn_extra */
typedef struct BodyCache
{
	FmgrInfo	flinfo;
	Oid			scratch;		/* clm.run_scratch_tables() */
} BodyCache;

/*
 * check_tz: error 22023 naming time_zone unless TimeZone accepts the value
 * (names and POSIX specifications; not abbreviations such as PDT, nor zones
 * with leap seconds), with the setting's own reason as the detail.
 */
static void
check_tz(const char *tz)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		(void) set_config_option("TimeZone", tz, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SET, false, ERROR, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_zone \"%s\" is not recognized", tz),
				 edata->detail ? errdetail("%s", edata->detail) : 0,
				 errhint("Use a name from pg_timezone_names, e.g. 'Europe/Berlin'; abbreviations such as 'PDT' name no rules for daylight saving time.")));
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(clm_check_time_zone);

/*
 * check_time_zone(time_zone text) RETURNS boolean: true, or ERROR 22023.
 */
Datum
clm_check_time_zone(PG_FUNCTION_ARGS)
{
	check_tz(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_BOOL(true);
}

/*
 * A run groups, sorts and joins every customer at a full refresh: with the
 * default work_mem (4MB) each of them spills to disk at 100,000 customers.
 * Within the run's GUC level work_mem is at least CLM_RUN_WORK_MEM_KB (a
 * higher setting of the session or role stays); undone with the rest.
 */
#define CLM_RUN_WORK_MEM_KB (64 * 1024)

static void
raise_work_mem(void)
{
	if (work_mem < CLM_RUN_WORK_MEM_KB)
		(void) set_config_option("work_mem", psprintf("%d", CLM_RUN_WORK_MEM_KB), PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * switch_to_owner: become the job's owner, locked down, with the job's time
 * zone and a search_path that reaches no user schema.
 */
static void
switch_to_owner(OwnerSwitch *sw, Oid owner, const char *tz, Oid scratch)
{
	GetUserIdAndSecContext(&sw->save_userid, &sw->save_sec_context);
	SetUserIdAndSecContext(owner, sw->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	sw->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	check_tz(tz);
	(void) set_config_option("TimeZone", tz, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	raise_work_mem();
	/*
	 * No JIT: the row estimates of a run's statements (keys passed as an
	 * array, temporary tables) often pass jit_above_cost, and an
	 * incremental run over 10,000 customers then spent 46 ms compiling its
	 * scoring pass; over a million customers JIT saved nothing measurable
	 * (12.8 s with it, 12.7 s without).
	 */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * The run works in temporary tables, which a security-restricted
	 * operation may not create: they are made first, by clm's own fixed
	 * definitions, as REFRESH MATERIALIZED VIEW CONCURRENTLY makes its diff
	 * table before it runs the view's query.
	 */
	if (OidIsValid(scratch))
		(void) OidFunctionCall0(scratch);
	SetUserIdAndSecContext(owner, sw->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* restore_identity: the caller's identity and settings, as before the switch */
static void
restore_identity(OwnerSwitch *sw)
{
	AtEOXact_GUC(false, sw->save_nestlevel);
	SetUserIdAndSecContext(sw->save_userid, sw->save_sec_context);
}

/*
 * job_owner_and_zone: the owner and time zone of the job with this id (or,
 * id_is_name, this name) as the caller sees it (row security lets a user see
 * only their own jobs); false when there is none.
 */
static bool
job_owner_and_zone(Datum key, bool id_is_name, Oid *owner, char **tz, char **ownername)
{
	Oid			argtypes[1];
	Datum		values[1];
	bool		found = false;
	MemoryContext cxt = CurrentMemoryContext;
	const char *query = id_is_name
		? "SELECT j.owner, j.time_zone FROM clm.jobs j WHERE j.name OPERATOR(pg_catalog.=) $1"
		: "SELECT j.owner, j.time_zone FROM clm.jobs j WHERE j.job_id OPERATOR(pg_catalog.=) $1";

	argtypes[0] = id_is_name ? TEXTOID : INT8OID;
	values[0] = key;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(query, 1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading the job failed");
	if (SPI_processed == 1)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(cxt);

		*ownername = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		*tz = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		MemoryContextSwitchTo(spicxt);
		found = true;
	}
	SPI_finish();
	if (found)
	{
		*owner = get_role_oid(*ownername, true);
		if (!OidIsValid(*owner))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the owner \"%s\" of the job does not exist", *ownername),
					 errhint("A job runs as its owner: drop the job, or create the role again.")));
	}
	return found;
}

/*
 * body_info: the FmgrInfo of clm.<name>(argtypes), cached in fn_extra.
 */
static FmgrInfo *
body_info(FunctionCallInfo fcinfo, const char *name, int nargs, Oid *argtypes)
{
	BodyCache  *cache = (BodyCache *) fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		List	   *qname = list_make2(makeString("clm"), makeString(pstrdup(name)));
		Oid			fn = LookupFuncName(qname, nargs, argtypes, false);

		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(BodyCache));
		fmgr_info_cxt(fn, &cache->flinfo, fcinfo->flinfo->fn_mcxt);
		cache->scratch = LookupFuncName(list_make2(makeString("clm"), makeString("run_scratch_tables")),
										0, NULL, false);
		fcinfo->flinfo->fn_extra = cache;
	}
	return &cache->flinfo;
}

/*
 * call_body: call the body with this call's arguments (and its result
 * info, for a set-returning body), as the owner.
 */
static Datum
call_body(FunctionCallInfo fcinfo, FmgrInfo *body, Oid owner, const char *tz)
{
	Oid			scratch = ((BodyCache *) fcinfo->flinfo->fn_extra)->scratch;
	LOCAL_FCINFO(bfc, FUNC_MAX_ARGS);
	OwnerSwitch sw;
	Datum		result;
	int			i;

	InitFunctionCallInfoData(*bfc, body, fcinfo->nargs, fcinfo->fncollation,
							 NULL, fcinfo->resultinfo);
	for (i = 0; i < fcinfo->nargs; i++)
		bfc->args[i] = fcinfo->args[i];
	switch_to_owner(&sw, owner, tz, scratch);
	result = FunctionCallInvoke(bfc);
	restore_identity(&sw);
	fcinfo->isnull = bfc->isnull;
	return result;
}

PG_FUNCTION_INFO_V1(clm_run_job_by_id);

/*
 * run_job_by_id(job_id bigint, trigger text, as_of timestamptz,
 * full_refresh boolean) RETURNS clm.job_runs: clm.run_job_body as the job's
 * owner.  A job the caller cannot see is an error, or for the worker's
 * trigger NULL (it was dropped since it was found due).
 */
Datum
clm_run_job_by_id(PG_FUNCTION_ARGS)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, TIMESTAMPTZOID, BOOLOID};
	FmgrInfo   *body = body_info(fcinfo, "run_job_body", 4, argtypes);
	Oid			owner;
	char	   *tz,
			   *ownername;
	bool		worker;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	worker = !PG_ARGISNULL(1) &&
		strcmp(text_to_cstring(PG_GETARG_TEXT_PP(1)), "worker") == 0;
	if (!job_owner_and_zone(PG_GETARG_DATUM(0), false, &owner, &tz, &ownername))
	{
		if (worker)
			PG_RETURN_NULL();
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no job with id " INT64_FORMAT, PG_GETARG_INT64(0))));
	}
	return call_body(fcinfo, body, owner, tz);
}

PG_FUNCTION_INFO_V1(clm_preview_job);

/*
 * preview_job(name text, as_of timestamptz) RETURNS SETOF
 * clm.customer_state: clm.preview_job_body as the job's owner (the body
 * fills this call's tuplestore).
 */
Datum
clm_preview_job(PG_FUNCTION_ARGS)
{
	Oid			argtypes[2] = {TEXTOID, TIMESTAMPTZOID};
	FmgrInfo   *body = body_info(fcinfo, "preview_job_body", 2, argtypes);
	Oid			owner;
	char	   *tz,
			   *ownername;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name must not be NULL")));
	if (!job_owner_and_zone(PG_GETARG_DATUM(0), true, &owner, &tz, &ownername))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no job named %s", text_to_cstring(PG_GETARG_TEXT_PP(0)))));
	return call_body(fcinfo, body, owner, tz);
}
