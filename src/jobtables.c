/*-------------------------------------------------------------------------
 *
 * jobtables.c
 *		The tie between a job's own tables and the extension.
 *
 * A job's state and history tables (clm.job_state_<id>, clm.job_history_<id>)
 * are not members of the extension: pg_dump must dump them, with their
 * data, like any table of their owner.  But they use clm's types, so DROP
 * EXTENSION clm CASCADE would drop only those columns and leave the tables
 * behind, mangled, for a later installation to find under the ids its new
 * jobs get.  A normal dependency on the extension makes CASCADE drop them
 * whole (and plain DROP EXTENSION name them as what depends on it).  SQL
 * has no command for such a dependency; this records it.
 *
 *-------------------------------------------------------------------------
 */
#include "clm.h"

#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(clm_record_extension_dependency);

/*
 * record_extension_dependency(rel regclass) RETURNS void: rel, a table in
 * the extension's schema, depends on the extension from now on.  Not
 * executable by PUBLIC (it would let anyone's table be dropped with clm);
 * called by clm.create_job_tables, which checks first that the dependency
 * is missing.
 */
Datum
clm_record_extension_dependency(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			extoid = get_extension_oid("clm", false);
	ObjectAddress rel,
				ext;

	/* the extension's schema is clm (clm.control: not relocatable) */
	if (get_rel_relkind(relid) != RELKIND_RELATION ||
		get_rel_namespace(relid) != get_namespace_oid("clm", false))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rel must be a table in the schema of extension clm"),
				 errdetail("The relation has OID %u.", relid)));
	ObjectAddressSet(rel, RelationRelationId, relid);
	ObjectAddressSet(ext, ExtensionRelationId, extoid);
	recordDependencyOn(&rel, &ext, DEPENDENCY_NORMAL);
	PG_RETURN_VOID();
}
