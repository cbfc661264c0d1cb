-- upgrade: installing any older version of clm and running ALTER EXTENSION
-- clm UPDATE gives the same catalog as a fresh install of the current
-- version.  Every version with an install script (pg_available_extension_
-- versions: the released clm--X.sql kept in the repository, see
-- DEVELOPER.md) is installed in a scratch database, updated, described and
-- compared with the fresh install, object by object: definitions of
-- functions and aggregates, types and their fields, tables with columns,
-- defaults, constraints, indexes, triggers, policies, views, sequences,
-- privileges, comments, configuration tables.  While 1.0 is the only
-- version this is the identity check (install 1.0, update: nothing to do),
-- and the description is shown to catch a changed object.
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS clm_upgrade_check;
CREATE DATABASE clm_upgrade_check TEMPLATE template0;
\c clm_upgrade_check
SET client_min_messages = warning;

-- one row per object: its identity (no OIDs) and a normalized definition
CREATE FUNCTION clm_catalog() RETURNS TABLE (object text, definition text)
LANGUAGE sql STABLE AS $$
WITH ext AS (SELECT oid, extname FROM pg_extension WHERE extname = 'clm'),
members AS (           -- the objects of the extension
	SELECT d.classid, d.objid, d.objsubid
	FROM pg_depend d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT m.objid AS oid FROM members m WHERE m.classid = 'pg_class'::regclass)
-- the extension itself: version, configuration tables and their filters
SELECT 'extension clm',
	   format('version %s relocatable %s schema %s config %s condition %s',
			  e.extversion, e.extrelocatable, e.extnamespace::regnamespace,
			  (SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM unnest(e.extconfig) c),
			  e.extcondition)
FROM pg_extension e WHERE e.extname = 'clm'
UNION ALL
SELECT 'schema clm', format('owner-acl %s comment %s', n.nspacl, obj_description(n.oid, 'pg_namespace'))
FROM pg_namespace n WHERE n.nspname = 'clm'
UNION ALL
-- every member by its identity; the detail below, by kind
SELECT 'member ' || (pg_identify_object(m.classid, m.objid, m.objsubid)).type || ' ' ||
	   (pg_identify_object(m.classid, m.objid, m.objsubid)).identity,
	   'comment ' || coalesce(obj_description(m.objid, m.classid::regclass::name), '(none)')
FROM members m
UNION ALL
SELECT 'function ' || p.oid::regprocedure,
	   CASE WHEN p.prokind = 'a' THEN
			format('aggregate returns %s trans %s/%s final %s extra %s modify %s combine %s serial %s deserial %s init %s moving %s/%s/%s sortop %s kind %s direct %s parallel %s strict %s',
				   p.prorettype::regtype, a.aggtransfn, a.aggtranstype::regtype, a.aggfinalfn,
				   a.aggfinalextra, a.aggfinalmodify, a.aggcombinefn, a.aggserialfn,
				   a.aggdeserialfn, a.agginitval, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn,
				   a.aggsortop::regoperator, a.aggkind, a.aggnumdirectargs, p.proparallel, p.proisstrict)
		ELSE pg_get_functiondef(p.oid) END
	   || format(' acl %s args %s', p.proacl, pg_get_function_arguments(p.oid))
FROM pg_proc p LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'clm')
UNION ALL
SELECT 'type ' || t.oid::regtype,
	   format('type %s len %s byval %s align %s storage %s category %s in %s out %s recv %s send %s mod %s/%s analyze %s element %s collatable %s default %s acl %s enum %s domain %s %s',
			  t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory,
			  t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
			  t.typanalyze, t.typelem::regtype, t.typcollation <> 0, t.typdefault, t.typacl,
			  (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
			  nullif(t.typbasetype, 0)::regtype,
			  (SELECT array_agg(pg_get_constraintdef(c.oid) ORDER BY c.conname)
			   FROM pg_constraint c WHERE c.contypid = t.oid))
FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'clm')
UNION ALL
SELECT 'relation ' || c.oid::regclass,
	   format('kind %s persistence %s options %s rls %s/%s acl %s view %s',
			  c.relkind, c.relpersistence, c.reloptions, c.relrowsecurity,
			  c.relforcerowsecurity, c.relacl,
			  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'clm') AND c.relkind <> 'i'
UNION ALL
SELECT format('column %s.%I', a.attrelid::regclass, a.attname),
	   format('position %s type %s notnull %s default %s identity %s generated %s collation %s acl %s comment %s',
			  a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
			  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
			  a.attcollation, a.attacl, col_description(a.attrelid, a.attnum))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'clm') AND c.relkind <> 'i' AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('constraint %s on %s', c.conname, c.conrelid::regclass),
	   pg_get_constraintdef(c.oid) || ' deferrable ' || c.condeferrable
FROM pg_constraint c WHERE c.conrelid IN (SELECT oid FROM rels)
UNION ALL
SELECT 'index ' || i.indexrelid::regclass, pg_get_indexdef(i.indexrelid)
FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM rels)
UNION ALL
SELECT format('trigger %s on %s', t.tgname, t.tgrelid::regclass),
	   pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
FROM pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rels) AND NOT t.tgisinternal
UNION ALL
SELECT format('policy %s on %s', p.polname, p.polrelid::regclass),
	   format('cmd %s permissive %s roles %s using %s check %s', p.polcmd, p.polpermissive,
			  (SELECT array_agg(r::regrole::text ORDER BY r::regrole::text) FROM unnest(p.polroles) r),
			  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
FROM pg_policy p WHERE p.polrelid IN (SELECT oid FROM rels)
UNION ALL
SELECT 'sequence ' || s.seqrelid::regclass,
	   format('type %s start %s increment %s min %s max %s cache %s cycle %s owned by %s',
			  s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
			  s.seqcache, s.seqcycle,
			  (SELECT format('%s.%s', d.refobjid::regclass, d.refobjsubid) FROM pg_depend d
			   WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
				 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
FROM pg_sequence s WHERE s.seqrelid IN (SELECT oid FROM rels)
$$;

-- the fresh install
CREATE EXTENSION clm;
CREATE TABLE fresh AS SELECT * FROM clm_catalog();
SELECT extversion = default_version AS default_version_installed
FROM pg_extension, pg_available_extensions WHERE extname = 'clm' AND name = 'clm';
-- the description covers the extension (a lower bound: objects get added)
SELECT count(*) > 300 AS described,
	   count(*) FILTER (WHERE object LIKE 'function %') > 80 AS functions,
	   count(*) FILTER (WHERE object LIKE 'column %') > 150 AS columns,
	   count(*) FILTER (WHERE object LIKE 'policy %') >= 5 AS policies,
	   count(DISTINCT object) = count(*) AS one_row_per_object
FROM fresh;

-- compare: objects missing, added or defined differently after the update
CREATE FUNCTION catalog_diff() RETURNS TABLE (object text, fresh text, updated text)
LANGUAGE sql AS $$
	SELECT object, f.definition, u.definition
	FROM fresh f FULL JOIN clm_catalog() u USING (object)
	WHERE f.definition IS DISTINCT FROM u.definition
	ORDER BY 1
$$;

-- every installable version, installed, updated, compared
CREATE TABLE upgrade_diff (from_version text, object text, fresh text, updated text);
CREATE TABLE checked (version text);
DO $$
DECLARE
	v text;
BEGIN
	FOR v IN SELECT version FROM pg_available_extension_versions
			 WHERE name = 'clm' ORDER BY string_to_array(version, '.')::int[] LOOP
		DROP EXTENSION clm;
		EXECUTE format('CREATE EXTENSION clm VERSION %L', v);
		ALTER EXTENSION clm UPDATE;
		INSERT INTO upgrade_diff SELECT v, d.* FROM catalog_diff() d;
		INSERT INTO checked VALUES (v);
	END LOOP;
END
$$;
SELECT count(*) > 0 AS checked,
	   count(*) = (SELECT count(*) FROM pg_available_extension_versions WHERE name = 'clm') AS all_versions
FROM checked;
SELECT * FROM upgrade_diff;

-- the comparison sees a change of attributes, of a comment and of a column
-- default (not a NOT NULL: PostgreSQL 18 adds a constraint for it)
BEGIN;
ALTER FUNCTION clm.rfm_segment_map() VOLATILE;
COMMENT ON TABLE clm.models IS 'changed';
ALTER TABLE clm.models ALTER COLUMN source SET DEFAULT 'changed';
SELECT object FROM catalog_diff();
ROLLBACK;

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE clm_upgrade_check;
