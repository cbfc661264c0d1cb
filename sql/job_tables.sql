-- job_tables: each job keeps its state and history in tables of its own,
-- keyed like its source's customer column (issue 18), so that a BI query
-- joins them to the user's customers table without a cast, by index
SET client_min_messages = error;
SET timezone = 'UTC';
CREATE ROLE regress_jt_nobody;
CREATE TABLE jt_customers (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO jt_customers SELECT g, 'customer ' || g FROM generate_series(1, 2000) g;
CREATE TABLE jt_orders (customer_id bigint NOT NULL, ts timestamptz NOT NULL, amount float8 NOT NULL);
INSERT INTO jt_orders
SELECT 1 + g % 2000, '2024-01-01'::timestamptz + (g * 7919 % 365) * interval '1 day', 5 + g % 40
FROM generate_series(1, 12000) g;
CREATE INDEX ON jt_orders (customer_id);
CREATE INDEX ON jt_orders (ts);
SELECT clm.create_job('jt', 'jt_orders') > 0 AS created;
SELECT status, customers FROM clm.run_job('jt', as_of => '2025-01-01');
SELECT (clm.job_tables('jt')).state AS jt_state, (clm.job_tables('jt')).history AS jt_history \gset

-- the key has the source's type, in the state and in the history, with
-- the primary key on it; the table belongs to the job's owner
SELECT c.relname ~ '^job_state_[0-9]+$' AS state_named, format_type(a.atttypid, a.atttypmod) AS state_key,
	   (SELECT format_type(h.atttypid, h.atttypmod) FROM pg_attribute h
		WHERE h.attrelid = :'jt_history'::regclass AND h.attname = 'customer_id') AS history_key,
	   pg_get_userbyid(c.relowner) = current_user AS owned_by_job_owner,
	   (SELECT array_agg(pg_get_indexdef(i.indexrelid) ~ '\(customer_id\)') FROM pg_index i
		WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_on_key
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'customer_id'
WHERE c.oid = :'jt_state'::regclass;
-- the state, updated in place, leaves room on its pages (the template's
-- fillfactor); the history, only appended to, does not
SELECT (SELECT reloptions FROM pg_class WHERE oid = :'jt_state'::regclass) AS state_options,
	   (SELECT reloptions FROM pg_class WHERE oid = :'jt_history'::regclass) AS history_options;
SELECT count(*) AS customers, count(*) FILTER (WHERE stage IS NOT NULL) AS staged FROM :jt_state;
SELECT count(*) > 0 AS first_classifications FROM :jt_history WHERE from_stage IS NULL;

-- a first run of more than 10,000 customers fills the empty tables and
-- builds their indexes after: the same indexes as the small job's, the
-- same rows as a preview computes
CREATE TABLE jt_big AS
SELECT 1 + g % 12001 AS customer_id, '2024-01-01'::timestamptz + (g * 7919 % 365) * interval '1 day' AS ts,
	   (5 + g % 40)::float8 AS amount
FROM generate_series(1, 30000) g;
SELECT clm.create_job('jt_big', 'jt_big', enabled => false) > 0 AS created;
SELECT i.indexrelid AS pk_before FROM pg_index i WHERE i.indrelid = (clm.job_tables('jt_big')).state AND i.indisprimary \gset
SELECT status, customers, written FROM clm.run_job('jt_big', as_of => '2025-01-01');
SELECT i.indexrelid <> :pk_before AS pk_built_after_fill FROM pg_index i
WHERE i.indrelid = (clm.job_tables('jt_big')).state AND i.indisprimary;
CREATE FUNCTION jt_indexes(job text) RETURNS text[] LANGUAGE sql AS $$
	SELECT array_agg(d ORDER BY d)
	FROM (SELECT regexp_replace(pg_get_indexdef(i.indexrelid), '_[0-9]+', '_N', 'g') AS d
		  FROM pg_index i, clm.job_tables(job) t WHERE i.indrelid IN (t.state, t.history)) x $$;
SELECT jt_indexes('jt_big') = jt_indexes('jt') AS same_indexes, cardinality(jt_indexes('jt_big')) AS indexes;
SELECT count(*) AS rows,
	   count(*) FILTER (WHERE (p.orders, p.total_amount, p.rfm_cell, p.abc, p.stage, p.stage_since, p.p_alive, p.clv,
							  p.next_review)
						IS DISTINCT FROM (s.orders, s.total_amount, s.rfm_cell, s.abc, s.stage, s.stage_since,
										  s.p_alive, s.clv, s.next_review)) AS differ
FROM clm.preview_job('jt_big', '2025-01-01') p
FULL JOIN clm.customer_state s ON s.customer_id = p.customer_id AND s.job_id = p.job_id
WHERE coalesce(s.job_id, p.job_id) = (SELECT job_id FROM clm.jobs WHERE name = 'jt_big');
SELECT clm.drop_job('jt_big');
DROP TABLE jt_big;
DROP FUNCTION jt_indexes(text);

-- joined to the customers table without a cast, through both keys'
-- indexes (the plan's table names without the job's id)
SET enable_seqscan = off;
SET enable_bitmapscan = off;
CREATE FUNCTION jt_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		RETURN NEXT regexp_replace(line, 'job_state_[0-9]+', 'job_state_N', 'g');
	END LOOP;
END $$;
SELECT jt_plan(format('SELECT c.name, s.segment, s.clv FROM jt_customers c JOIN %s s ON s.customer_id = c.id '
					  'WHERE c.id BETWEEN 10 AND 12', :'jt_state'));
SELECT jt_plan(format('SELECT c.name, s.stage FROM %s s JOIN jt_customers c ON c.id = s.customer_id '
					  'WHERE s.customer_id = 42', :'jt_state'));
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT c.name, s.customer_id, s.orders FROM jt_customers c JOIN :jt_state s ON s.customer_id = c.id
WHERE c.id BETWEEN 10 AND 12 ORDER BY c.id;

-- the view over all jobs gives the same rows, the key as text
SELECT count(*) AS view_rows,
	   count(*) FILTER (WHERE (v.customer_id, v.orders, v.stage, v.clv) IS DISTINCT FROM
							   (s.customer_id::text, s.orders, s.stage, s.clv)) AS differ
FROM clm.customer_state v JOIN :jt_state s ON s.customer_id::text = v.customer_id
WHERE v.job_id = (SELECT job_id FROM clm.jobs WHERE name = 'jt');
SELECT (SELECT count(*) FROM clm.stage_history WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'jt'))
	 = (SELECT count(*) FROM :jt_history) AS history_view_complete;

-- other key types: text, uuid, a domain (its base type), numeric with a
-- scale; a type of no built-in order keys the state by text
CREATE DOMAIN jt_id AS integer CHECK (VALUE > 0);
CREATE TYPE jt_mood AS ENUM ('calm', 'angry');
CREATE TABLE jt_keys (k_text text, k_uuid uuid, k_dom jt_id, k_num numeric(10, 2), k_enum jt_mood, k_json json,
					  ts timestamptz, amount float8);
INSERT INTO jt_keys VALUES ('a', '6f1c6d8e-3c1a-4a8e-9d6e-0d2f3b7c1a11', 7, 12.50, 'calm', '{"a": 1}', '2024-03-01', 10);
SELECT k AS customer_column, clm.state_key_type('jt_keys', k) AS state_key
FROM unnest(ARRAY['k_text', 'k_uuid', 'k_dom', 'k_num', 'k_enum', 'k_json']) k;
SELECT clm.create_job('jt_uuid', 'jt_keys', customer_column => 'k_uuid', enabled => false) > 0 AS created;
SELECT status, customers FROM clm.run_job('jt_uuid', as_of => '2025-01-01');
SELECT (clm.job_tables('jt_uuid')).state AS jt_uuid_state \gset
SELECT customer_id, pg_typeof(customer_id) AS key_type, orders FROM :jt_uuid_state;

-- a new source must key its customers the same way
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE jt_keys_text (k_uuid text, ts timestamptz, amount float8);
SELECT clm.alter_job('jt_uuid', source => 'jt_keys_text');
\set VERBOSITY terse

-- state dropped by hand: the next run makes the tables again and rescans
-- everyone (a full refresh)
DROP TABLE :jt_uuid_state;
SELECT status, customers, scored FROM clm.run_job('jt_uuid', as_of => '2025-01-02');
SELECT count(*) AS rows_again FROM :jt_uuid_state;

-- the tables depend on the extension: DROP EXTENSION clm names them, and
-- with CASCADE drops them whole (not just their columns of clm's types)
SELECT count(*) AS tied FROM pg_depend d
WHERE d.objid IN (:'jt_state'::regclass, :'jt_history'::regclass)
  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'n';
CREATE TEMP TABLE jt_drop (refused boolean, names_state boolean, names_history boolean);
DO $$
BEGIN
	DROP EXTENSION clm;
	INSERT INTO jt_drop VALUES (false, NULL, NULL);
EXCEPTION WHEN dependent_objects_still_exist THEN
	DECLARE
		d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		INSERT INTO jt_drop VALUES (true, d ~ 'table clm\.job_state_[0-9]+ depends on extension clm',
									d ~ 'table clm\.job_history_[0-9]+ depends on extension clm');
	END;
END $$;
SELECT * FROM jt_drop;
-- a restore brings the tables back without the tie (pg_dump does not
-- dump it): the next run ties them again
DELETE FROM pg_depend d
WHERE d.objid IN (:'jt_state'::regclass, :'jt_history'::regclass) AND d.refclassid = 'pg_extension'::regclass;
SELECT status FROM clm.run_job('jt', as_of => '2025-01-03');
SELECT count(*) AS tied_again FROM pg_depend d
WHERE d.objid IN (:'jt_state'::regclass, :'jt_history'::regclass)
  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'n';
-- only clm's own code may tie a table to the extension
SET ROLE regress_jt_nobody;
SELECT clm.record_extension_dependency('jt_customers');
RESET ROLE;

-- dropping a job drops its tables
SELECT clm.drop_job('jt');
SELECT to_regclass(:'jt_state') AS state_after_drop, to_regclass(:'jt_history') AS history_after_drop;
SELECT clm.drop_job('jt_uuid');
SELECT count(*) AS job_tables_left FROM pg_class c
WHERE c.relnamespace = 'clm'::regnamespace AND c.relname ~ '^job_(state|history)_[0-9]+$';
DROP TABLE jt_customers, jt_orders, jt_keys, jt_keys_text;
DROP FUNCTION jt_plan(text);
DROP TYPE jt_mood;
DROP DOMAIN jt_id;
DROP ROLE regress_jt_nobody;
