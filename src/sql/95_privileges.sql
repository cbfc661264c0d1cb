------------------------------------------------------------------------------
-- Privileges: what nobody calls directly is not executable by PUBLIC
------------------------------------------------------------------------------

-- The support functions of clm's aggregates (transition, combine,
-- serialize, deserialize, final): an aggregate checks them against its own
-- owner, not against the caller, so the aggregates work for everyone while
-- the functions themselves (some take forged internal states) cannot be
-- called.  Every aggregate of the schema, so a new one is covered too.
DO $do$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT DISTINCT s.fn::pg_catalog.regprocedure
		FROM pg_catalog.pg_aggregate a
		JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) a.aggfnoid
		CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
												   a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn,
												   a.aggmfinalfn]::pg_catalog.oid[]) AS s(fn)
		WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
		  AND s.fn OPERATOR(pg_catalog.<>) 0
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$do$;

-- the worker's pruning (it runs as the worker's superuser) and the trigger
-- that removes a dropped job's rows (a trigger's function is not checked
-- when it fires)
REVOKE ALL ON FUNCTION @extschema@.prune_history(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.jobs_cleanup() FROM PUBLIC;
