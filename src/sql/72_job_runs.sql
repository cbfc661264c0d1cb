------------------------------------------------------------------------------
-- Job runs: which customers to score, scoring them with the engine
-- (clm.score_value, clm.breakpoints, clm.score), and writing what changed
------------------------------------------------------------------------------

-- job_run_template: the columns of a customer scored by a run, in the
-- order job_compute writes them: its id as text, the summary, p_alive and
-- clv, the scores, and what the run knew of the customer before.  Always
-- empty; the row type of clm.job_scored and of the run's temporary table.
CREATE TABLE @extschema@.job_run_template AS
SELECT NULL::text AS customer_id, (NULL::@extschema@.summary).*, NULL::float8 AS p_alive,
	   NULL::float8 AS clv, sc.*, NULL::@extschema@.stage AS prev_stage, NULL::timestamptz AS prev_since,
	   NULL::boolean AS prev_hv, NULL::boolean AS known, NULL::boolean AS must_write,
	   NULL::boolean AS gone
FROM @extschema@.score(NULL, NULL, NULL, NULL, NULL, NULL, NULL) sc
WITH NO DATA;
COMMENT ON TABLE @extschema@.job_run_template IS
'internal: the columns of a customer scored by a job run (the row type of clm.job_scored); always empty';
-- (LIKE in run_scratch_tables, run as the job's owner, reads its columns)
GRANT SELECT ON @extschema@.job_run_template TO PUBLIC;
-- its columns say what clm.summary's and the state's columns of the same
-- name say; the run's own are described here
DO $do$
DECLARE
	a record;
	txt text;
BEGIN
	FOR a IN
		SELECT t.attname, own.txt
		FROM pg_attribute t
		LEFT JOIN (VALUES
			('customer_id', 'the customer, as text'),
			('prev_stage', 'the stage stored before this run (NULL: a new customer, or a preview before the last run)'),
			('prev_since', 'when the customer entered prev_stage'),
			('prev_hv', 'the high-value-at-risk flag stored before this run'),
			('known', 'the customer was in the state before this run'),
			('must_write', 'the row is to be written'),
			('gone', 'the customer is in the state but no longer in the source')) own(col, txt) ON own.col = t.attname
		WHERE t.attrelid = '@extschema@.job_run_template'::regclass AND t.attnum > 0
	LOOP
		txt := coalesce(a.txt,
			(SELECT col_description(ty.typrelid, x.attnum) FROM pg_type ty JOIN pg_attribute x ON x.attrelid = ty.typrelid
			 WHERE ty.oid = '@extschema@.summary'::regtype AND x.attname = a.attname),
			(SELECT col_description(x.attrelid, x.attnum) FROM pg_attribute x
			 WHERE x.attrelid = '@extschema@.job_state_template'::regclass AND x.attname = a.attname));
		IF txt IS NULL THEN
			RAISE EXCEPTION 'clm.job_run_template.% has no comment to copy', a.attname;
		END IF;
		EXECUTE format('COMMENT ON COLUMN @extschema@.job_run_template.%I IS %L', a.attname, txt);
	END LOOP;
END
$do$;

-- run_scratch_tables: the temporary tables a run or preview works in, made
-- empty.  Called by clm.run_job_by_id and clm.preview_job (src/jobrun.c) as
-- the job's owner before the lock-down of the run: a security-restricted
-- operation may not create temporary tables, and these definitions run
-- none of the owner's code.  job_compute fills them.
CREATE FUNCTION @extschema@.run_scratch_tables()
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF to_regclass('pg_temp.clm_run_new') IS NOT NULL THEN
		TRUNCATE clm_run_keys, clm_run_new;
		RETURN;
	END IF;
	CREATE TEMP TABLE clm_run_keys (customer_id text) ON COMMIT DROP;
	CREATE TEMP TABLE clm_run_new (LIKE @extschema@.job_run_template) ON COMMIT DROP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.run_scratch_tables() IS
'internal: create (or empty) the temporary tables of a job run, before the run is locked down (not executable by PUBLIC)';
REVOKE ALL ON FUNCTION @extschema@.run_scratch_tables() FROM PUBLIC;

-- job_scored: the customers job_compute scores (its pass 3), from the
-- query it built, with its parameters.  A function so that the query may
-- use a parallel plan: PostgreSQL runs no INSERT ... SELECT in parallel,
-- but the query of a RETURN QUERY may be, and the run inserts what the
-- function returns.  Over everyone, the query's arms (see job_compute)
-- then aggregate and score in parallel workers.
CREATE FUNCTION @extschema@.job_scored(query text, as_of timestamptz, keys text[], trend_window interval,
	alert_rules jsonb, ctx @extschema@.scoring, job_id bigint, bp @extschema@.breakpoints,
	use_previous boolean, refresh boolean, consume boolean, run_keys text[], review_before timestamptz,
	trend_from timestamptz)
RETURNS SETOF @extschema@.job_run_template
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	RETURN QUERY EXECUTE query
		USING as_of, keys, trend_window, alert_rules, ctx, job_id, bp, use_previous, refresh, consume, run_keys,
			  review_before, trend_from;
END
$fn$;
COMMENT ON FUNCTION @extschema@.job_scored(text, timestamptz, text[], interval, jsonb, @extschema@.scoring, bigint,
	@extschema@.breakpoints, boolean, boolean, boolean, text[], timestamptz, timestamptz) IS
'internal: run job_compute''s scoring query, so that it may use a parallel plan (as the caller, who could run the query itself)';

-- type_hash_function: the hash function of a type's default hash operator
-- class (as a name to call), when it is safe in parallel workers; NULL
-- otherwise.  job_compute splits a run over everyone by it.
CREATE FUNCTION @extschema@.type_hash_function(type_name text)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT pg_catalog.format('%I.%I', n.nspname, f.proname)
	FROM pg_catalog.pg_opclass c
	JOIN pg_catalog.pg_am am ON am.oid OPERATOR(pg_catalog.=) c.opcmethod
	JOIN pg_catalog.pg_amproc p ON p.amprocfamily OPERATOR(pg_catalog.=) c.opcfamily
		AND p.amproclefttype OPERATOR(pg_catalog.=) c.opcintype
		AND p.amprocrighttype OPERATOR(pg_catalog.=) c.opcintype
		AND p.amprocnum OPERATOR(pg_catalog.=) 1
	JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) p.amproc
	JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) f.pronamespace
	WHERE am.amname OPERATOR(pg_catalog.=) 'hash' AND c.opcdefault
	  AND c.opcintype OPERATOR(pg_catalog.=) type_name::regtype
	  AND f.proparallel OPERATOR(pg_catalog.=) 's'
$fn$;
COMMENT ON FUNCTION @extschema@.type_hash_function(text) IS
'internal: the hash function of a type''s default hash operator class, if parallel safe (used to split a job run over everyone into parallel arms)';

-- job_share_sql: the condition that keeps arm i of n (counted from 0) to
-- its share of the customers, appended to a WHERE clause: the hash of the
-- key, modulo n, is i.  Empty for one arm.
CREATE FUNCTION @extschema@.job_share_sql(hash_fn text, key_expr text, n integer, i integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN n OPERATOR(pg_catalog.>) 1 THEN
		pg_catalog.format(' AND pg_catalog.abs(%s(%s) OPERATOR(pg_catalog.%%) %s) OPERATOR(pg_catalog.=) %s',
						  hash_fn, key_expr, n, i)
	ELSE '' END
$fn$;
COMMENT ON FUNCTION @extschema@.job_share_sql(text, text, integer, integer) IS
'internal: the WHERE condition of one arm of a job run split over parallel workers (the hash of the customer key modulo the arms)';

-- job_arms: how many arms a run over everyone splits its source into
-- (job_compute): one per parallel worker a query may take
-- (max_parallel_workers_per_gather and max_parallel_workers, at most 8).
-- Not one more for the leader: the planner gives each arm a worker, and
-- with an extra arm it chose a serial Append of arms each aggregated in
-- parallel.  One (no split) without two workers (the leader alone would
-- run every arm, each a whole scan, one after the other), for a source
-- smaller than min_parallel_table_scan_size (over all its partitions; a
-- view counts as empty), or for a key type without a parallel-safe
-- default hash function.
CREATE FUNCTION @extschema@.job_arms(src regclass, key_type text)
RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT CASE WHEN least(pg_catalog.current_setting('max_parallel_workers_per_gather')::integer,
						   pg_catalog.current_setting('max_parallel_workers')::integer) OPERATOR(pg_catalog.>) 1
				 AND @extschema@.type_hash_function(key_type) IS NOT NULL
				 AND (SELECT coalesce(pg_catalog.sum(pg_catalog.pg_relation_size(c.oid)), 0)
					  FROM pg_catalog.pg_class c
					  WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,m}'::"char"[])
						AND (c.oid OPERATOR(pg_catalog.=) src
							 OR c.oid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT p.relid FROM pg_catalog.pg_partition_tree(src) p))))
					 OPERATOR(pg_catalog.>=) greatest(pg_catalog.pg_size_bytes(pg_catalog.current_setting('min_parallel_table_scan_size')), 1)
			THEN least(pg_catalog.current_setting('max_parallel_workers_per_gather')::integer,
					   pg_catalog.current_setting('max_parallel_workers')::integer, 8)
			ELSE 1 END
$fn$;
COMMENT ON FUNCTION @extschema@.job_arms(regclass, text) IS
'internal: how many parallel arms a job run over everyone splits its source into (1: none)';

-- job_compute: score the customers a run needs into the temporary table
-- clm_run_new, as of as_of; nothing persistent is written except that the
-- consumed change-capture rows are deleted (consume).
--  * full: refit the models (unless stored ones are named), recompute the
--    breakpoints and score every customer;
--  * otherwise, with change capture: the customers whose transactions
--    changed and those whose review time is due, against the stored models
--    and breakpoints; without capture (a view, or incremental off): every
--    customer, against the stored models and breakpoints.
-- Rows that would not be written (nothing in them changed, not due, not
-- changed) are left out of clm_run_new.  use_previous: take previous stages
-- from the stored state (false for a preview as of a time before the last
-- run).  Returns the scoring context and breakpoints used.
CREATE FUNCTION @extschema@.job_compute(
	j @extschema@.jobs, as_of timestamptz, refresh boolean, consume boolean, use_previous boolean,
	OUT ctx @extschema@.scoring, OUT bp @extschema@.breakpoints, OUT scanned bigint, OUT published boolean,
	OUT note text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
-- the state and its indexes are hot (every run reads and writes them): an
-- incremental run reads a few thousand customers by key rather than
-- scanning everyone, which the default cost of a random page hides
SET random_page_cost = 1.1
AS $fn$
#variable_conflict use_column
DECLARE
	src regclass;
	csrc regclass;
	key_type text;
	ts_type text;
	tx_sql text;
	scan_all boolean;
	keys text[];
	policy jsonb := @extschema@.stage_policy_defaults() || j.policy;
	purchase_kind text;
	bgnbd @extschema@.bgnbd_model;
	mbgnbd @extschema@.mbgnbd_model;
	gg @extschema@.gamma_gamma_model;
	fit_rows @extschema@.fit_data;
	stream text;
	trend_window interval;
	pass1 record;
	hv_cut float8;
	st text;			-- the job's state table (the empty template for a preview without one)
	st_key text;		-- the type of its key
	streams text[];		-- the stream's arms (one share of the customers each)
	arms integer;
	arm integer;
	hash_fn text;		-- the hash function of the key's type (arms > 1)
	tuned text[] := ARRAY['enable_indexscan', 'enable_bitmapscan', 'enable_indexonlyscan',
						  'min_parallel_table_scan_size', 'max_parallel_workers_per_gather',
						  'enable_mergejoin'];	-- the planner settings the passes change
	saved text[];		-- their values before, put back at the end
	from_state boolean;	-- a full refresh fitting on the state and what changed (below)
	changed text[];		-- then: the customers whose transactions changed since the last run
	kstream text;		-- and the stream of those customers
	keyed boolean;
	txs text[];			-- each arm's rows of the source (over everyone)
	zos text[];			-- each arm's customers to score beside their state (pass 3)
	ocols text;			-- the state's columns pass 3 compares, as zo's o_ columns
	scored_sql text;	-- pass 3's query over one arm's zo
	zfull text;			-- an arm's zo from a stream of summaries joined to the state
	trend_from timestamptz;	-- the start of the trend's earlier window (a fit from the state)
BEGIN
	src := to_regclass(j.source);
	IF src IS NULL THEN
		RAISE EXCEPTION 'source relation % does not exist', j.source
			USING ERRCODE = 'undefined_table',
				  HINT = 'After ALTER TABLE ... RENAME, point the job at the new name: clm.alter_job(name, source => ...).';
	END IF;
	SELECT format_type(a.atttypid, a.atttypmod) INTO key_type
	FROM pg_attribute a WHERE a.attrelid = src AND a.attname = j.customer_column AND NOT a.attisdropped;
	IF key_type IS NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in %', j.customer_column, src USING ERRCODE = 'undefined_column';
	END IF;

	SELECT t.state::text, t.key_type INTO st, st_key FROM @extschema@.job_tables_of(j.job_id) t;
	IF st IS NULL OR st_key IS NULL THEN
		st := '@extschema@.job_state_template';
		st_key := 'text';
	END IF;

	-- 1. which customers (the scratch tables are empty: run_scratch_tables)
	scan_all := refresh OR NOT j.incremental OR NOT j.capture;
	published := false;
	IF consume AND j.capture THEN
		-- publish the new watermark to the capture triggers and wait for
		-- the writers that may have read the old one (src/capture.c); only
		-- then read what changed
		published := @extschema@.capture_advance(j.job_id, src, as_of);
	END IF;
	IF consume THEN
		WITH d AS (DELETE FROM @extschema@.job_changes c WHERE c.job_id = j.job_id RETURNING c.customer_id)
		INSERT INTO clm_run_keys SELECT DISTINCT d.customer_id FROM d;
		scan_all := scan_all OR EXISTS (SELECT 1 FROM clm_run_keys k WHERE k.customer_id IS NULL);
	END IF;
	-- A full refresh fits its models on every customer's summary.  Where
	-- the state holds them exactly, it reads them there instead of
	-- aggregating the whole source once more for the fit (4.8 s of a 13 s
	-- refresh at 1M customers): from the state for the customers whose
	-- transactions did not change since the last run (tenure and days
	-- since the last purchase recomputed as of now, in local days as
	-- clm.customer_summary counts them), from the source for those that
	-- did.  Exactly where an incremental run trusts the state: a capturing,
	-- enabled job, no rescan asked for, a watermark not after as_of, no
	-- prospects (their table is not captured), and a full refresh since
	-- the time zone, source or scoring last changed (alter_job clears
	-- last_full_refresh_at).  The scoring pass (5.) then reads the state
	-- too.
	from_state := refresh AND consume AND j.incremental AND j.capture AND j.enabled
		AND NOT EXISTS (SELECT 1 FROM clm_run_keys k WHERE k.customer_id IS NULL)
		AND j.watermark IS NOT NULL AND as_of >= j.watermark AND j.customers_source IS NULL
		AND j.last_full_refresh_at IS NOT NULL AND NOT (j.scoring IS NULL)	-- (IS NULL: the whole value)
		AND st <> '@extschema@.job_state_template';
	IF (NOT scan_all OR from_state) AND j.watermark IS NOT NULL THEN
		-- the rows dated after the watermark were never logged: read them
		-- here, by time (an index on ts); a date or timestamp without time
		-- zone is read from two days earlier (the trigger's margin)
		SELECT format_type(a.atttypid, a.atttypmod) INTO ts_type
		FROM pg_attribute a WHERE a.attrelid = src AND a.attname = j.ts_column AND NOT a.attisdropped;
		IF ts_type IS NULL THEN
			RAISE EXCEPTION 'column "%" does not exist in %', j.ts_column, src USING ERRCODE = 'undefined_column',
				HINT = 'After ALTER TABLE ... RENAME COLUMN, drop the job and create it again with the new name.';
		END IF;
		EXECUTE format('INSERT INTO clm_run_keys SELECT DISTINCT (t.%1$I)::text FROM %2$s t '
					   'WHERE t.%3$I > $1 AND t.%1$I IS NOT NULL', j.customer_column, src, j.ts_column)
			USING j.watermark - CASE WHEN ts_type = 'timestamp with time zone' THEN interval '0' ELSE interval '2 days' END;
	END IF;
	IF from_state THEN
		changed := ARRAY(SELECT DISTINCT k.customer_id FROM clm_run_keys k);
	END IF;
	IF NOT scan_all THEN
		EXECUTE format('INSERT INTO clm_run_keys SELECT (s.customer_id)::text FROM %s s '
					   'WHERE s.next_review <= $1 '
					   'AND NOT EXISTS (SELECT 1 FROM clm_run_keys k WHERE k.customer_id = (s.customer_id)::text)', st)
			USING as_of;
		keys := ARRAY(SELECT DISTINCT k.customer_id FROM clm_run_keys k);
	END IF;
	ANALYZE clm_run_keys;
	-- everyone: whole scans and hashes.  The cheap random page cost set
	-- above is for reading a few customers by key; over everyone it makes
	-- the planner read the source in key order through its index, which
	-- on a table not stored in customer order is a random read per row
	-- (13.5M at 1M customers: several times a sequential scan).  Only
	-- for the passes below: the writes that follow read the state by key
	-- (restored at the end; a full refresh's insert of new customers
	-- otherwise hashed the whole state, 0.34 s at 1M customers).
	saved := ARRAY(SELECT current_setting(g) FROM unnest(tuned) WITH ORDINALITY u(g, i) ORDER BY u.i);
	IF scan_all AND NOT from_state THEN	-- (else before pass 3's arms: the passes before read by key)
		PERFORM set_config(g, 'off', true) FROM unnest(tuned[1:3]) g;
	END IF;

	-- 2. the stream of the customers to score: their summaries, from all of
	-- their transactions up to as_of (rows dated after it are counted, not
	-- summarised), and the known customers without a purchase (prospects).
	-- Nothing is materialized: each pass below reads the source again.
	-- Parameters: $1 as_of, $2 keys (NULL: everyone), $3 the trend window.
	--
	-- Over everyone, the stream is split into arms that each read the
	-- whole source but keep one share of the customers (by the hash of
	-- their key), joined by UNION ALL: PostgreSQL runs such arms in
	-- parallel workers (a Parallel Append), each aggregating and scoring
	-- its own customers to the end.  A parallel aggregate of one stream
	-- finishes every customer in the leader, so the scoring, most of a
	-- pass, stayed serial (a full refresh at 1M customers: 12.6 s for that
	-- pass, of 20.5 s; 8.2 s in two arms).  How many: clm.job_arms.
	streams := ARRAY[]::text[];
	arms := CASE WHEN scan_all THEN @extschema@.job_arms(src, st_key) ELSE 1 END;
	IF arms > 1 THEN
		hash_fn := @extschema@.type_hash_function(st_key);
		-- no parallel scan inside an arm: the planner, which takes the
		-- share's filter for 0.5 % of the rows, otherwise splits each
		-- arm's scan over the workers and runs the arms one by one
		PERFORM set_config('min_parallel_table_scan_size', '715827882', true);
	END IF;
	trend_window := (policy ->> 'at_risk_days')::float8 * interval '1 day';	-- local days, as the rest
	IF j.customers_source IS NOT NULL THEN
		csrc := to_regclass(j.customers_source);
		IF csrc IS NULL THEN
			RAISE EXCEPTION 'customers source relation % does not exist', j.customers_source
				USING ERRCODE = 'undefined_table';
		END IF;
	END IF;
	-- (arm -1: the customers that changed, for a fit from the state)
	FOR arm IN CASE WHEN from_state THEN -1 ELSE 0 END .. arms - 1 LOOP
		keyed := NOT scan_all OR arm < 0;
		tx_sql := format('SELECT t.%I AS k, (t.%I)::timestamptz AS ts, (t.%I)::float8 AS amount FROM %s t '
						 'WHERE t.%I IS NOT NULL',
						 j.customer_column, j.ts_column, j.amount_column, src, j.customer_column)
				  || @extschema@.job_share_sql(hash_fn, format('(t.%I)::%s', j.customer_column, st_key),
											   CASE WHEN arm < 0 THEN 1 ELSE arms END, arm);
		IF keyed THEN
			tx_sql := tx_sql || format(' AND t.%I = ANY ($2::%s[])', j.customer_column, key_type);
		END IF;
		-- key: the customer as the state keys it (the source's type: the
		-- join to the state below needs no cast, and a merge join needs no
		-- sort when the source is read in key order)
		stream := format('SELECT (x.k)::text AS customer_id, (x.k)::%s AS key, '
						 '@extschema@.customer_summary(x.ts, x.amount, $1, ''week'') FILTER (WHERE x.ts <= $1) AS s, '
						 '@extschema@.activity_trend(x.ts, x.amount, $1, $3) FILTER (WHERE x.ts <= $1) AS act, '
						 'false AS prospect '
						 'FROM (%s) x GROUP BY x.k', st_key, tx_sql);
		IF csrc IS NOT NULL THEN
			stream := stream || format(' UNION ALL SELECT DISTINCT (c.%1$I)::text, ((c.%1$I)::text)::%6$s, NULL::@extschema@.summary, NULL::@extschema@.activity, true FROM %2$s c '
									   'WHERE c.%1$I IS NOT NULL AND ($2 IS NULL OR (c.%1$I)::text = ANY ($2)) '
									   'AND NOT EXISTS (SELECT 1 FROM %3$s t WHERE (t.%4$I)::text = (c.%1$I)::text '
									   'AND (t.%5$I)::timestamptz <= $1)',
									   j.customers_id_column, csrc, src, j.customer_column, j.ts_column, st_key)
					  || @extschema@.job_share_sql(hash_fn, format('((c.%I)::text)::%s', j.customers_id_column, st_key),
												   arms, arm);
		END IF;
		-- (a customer whose only purchases are after as_of is not scored)
		stream := format('SELECT * FROM (%s) z0 WHERE NOT (z0.s IS NULL) OR z0.prospect', stream);	-- (IS NULL: the whole value)
		IF arm < 0 THEN
			kstream := stream;
		ELSE
			streams := streams || stream;
			txs := txs || tx_sql;
		END IF;
	END LOOP;
	stream := array_to_string(streams, ' UNION ALL ');
	-- without a published watermark, customers with rows dated after as_of
	-- (ahead, or committed while this run was under way) go back into the
	-- log for the next run, so they are never consumed unseen
	IF consume AND NOT published THEN
		EXECUTE format('INSERT INTO @extschema@.job_changes (job_id, customer_id) '
					   'SELECT DISTINCT $3, (t.%I)::text FROM %s t WHERE (t.%I)::timestamptz > $1 AND t.%I IS NOT NULL '
					   'AND ($2 IS NULL OR (t.%I)::text = ANY ($2)) ON CONFLICT DO NOTHING',
					   j.customer_column, src, j.ts_column, j.customer_column, j.customer_column)
			USING as_of, keys, j.job_id;
	END IF;

	-- 3. the models: stored ones by name, or fitted on every customer at a
	-- full refresh (warm-started from the last fit); else the stored context
	IF refresh THEN
		IF j.purchase_model IS NOT NULL THEN
			SELECT m.kind INTO purchase_kind FROM @extschema@.models m WHERE m.name = j.purchase_model;
			IF purchase_kind = 'bgnbd' THEN
				bgnbd := @extschema@.get_bgnbd_model(j.purchase_model);
			ELSIF purchase_kind = 'mbgnbd' THEN
				mbgnbd := @extschema@.get_mbgnbd_model(j.purchase_model);
			ELSE
				RAISE EXCEPTION 'purchase_model % is not a stored bgnbd or mbgnbd model', j.purchase_model
					USING ERRCODE = 'undefined_object';
			END IF;
		END IF;
		-- pass 1, the one read of everyone before scoring: the fit data
		-- (the customers' model inputs, identical rows grouped), the
		-- breakpoints that do not depend on the models (RFM, ABC; the
		-- high-value cut follows the fits, below) and the count
		IF from_state THEN
			-- (the days are local: as_of's and the purchases' dates in the
			-- run's time zone, as clm.customer_summary counts them).  In
			-- one process: the fit data and breakpoints of a million
			-- customers took 2.7 s through a Gather (the partial states
			-- copied and merged in the leader), about 1.5 s without.  And
			-- the state read whole, not in key order through its index for
			-- a merge join with the changed keys (1.3 s instead of 0.2 s).
			PERFORM set_config('max_parallel_workers_per_gather', '0', true),
					set_config('enable_mergejoin', 'off', true);
			EXECUTE format($q$SELECT @extschema@.fit_data(z.f, z.r, z.t, z.m) FILTER (WHERE z.t > 0) AS f,
				@extschema@.breakpoints_agg(z.d, z.o, z.a, NULL::float8, $4) AS b, count(*) AS n
				FROM (SELECT (cs.frequency)::float8 AS f, cs.recency_weeks AS r,
							 ((($1)::date OPERATOR(pg_catalog.-) (cs.first_purchase)::date)::float8) / 7 AS t,
							 cs.repeat_avg_amount AS m,
							 (($1)::date OPERATOR(pg_catalog.-) (cs.last_purchase)::date)::float8 AS d,
							 (cs.orders)::float8 AS o, cs.total_amount AS a
					  FROM %1$s cs LEFT JOIN unnest(($2)::%2$s[]) c(k) ON c.k = cs.customer_id
					  WHERE c.k IS NULL
					  UNION ALL
					  SELECT ((z.s).frequency)::float8, (z.s).recency, (z.s).tenure, (z.s).repeat_avg_amount,
							 ((z.s).days_since_last)::float8, ((z.s).orders)::float8, (z.s).total_amount
					  FROM (%3$s) z) z$q$, st, st_key, kstream)
				INTO pass1 USING as_of, changed, trend_window, j.alert_rules;
			PERFORM set_config(tuned[5], saved[5], true), set_config(tuned[6], saved[6], true);
		ELSE
			EXECUTE format('SELECT @extschema@.fit_data((z.s).frequency, (z.s).recency, (z.s).tenure, (z.s).repeat_avg_amount) '
						   'FILTER (WHERE (z.s).tenure > 0) AS f, '
						   '@extschema@.breakpoints_agg((z.s).days_since_last::float8, (z.s).orders::float8, '
						   '(z.s).total_amount, NULL::float8, $4) AS b, '
						   'count(*) AS n FROM (%s) z', stream)
				INTO pass1 USING as_of, keys, trend_window, j.alert_rules;	-- prospects' NULLs are skipped
		END IF;
		fit_rows := pass1.f;
		-- a fit that does not converge is not used: the last converged
		-- one scores instead (or none: p_alive and clv stay NULL), and the
		-- run says so in its note (clm.job_problems() shows it)
		IF j.purchase_model IS NULL THEN
			mbgnbd := @extschema@.mbgnbd_fit(fit_rows, 0,
				CASE WHEN (j.last_purchase_fit).converged THEN j.last_purchase_fit END);
			IF (mbgnbd).converged IS NOT TRUE THEN
				note := concat_ws('; ', note, format('the MBG/NBD fit did not converge (%s iterations over %s customers): %s',
					(mbgnbd).iterations, (mbgnbd).n,
					CASE WHEN (j.last_purchase_fit).converged THEN 'the last converged fit scores instead'
						 ELSE 'no converged fit yet, so p_alive and clv are NULL' END));
				mbgnbd := CASE WHEN (j.last_purchase_fit).converged THEN j.last_purchase_fit END;
			END IF;
		END IF;
		IF j.spend_model IS NOT NULL THEN
			gg := @extschema@.get_gamma_gamma_model(j.spend_model);
		ELSE
			gg := @extschema@.gamma_gamma_fit(fit_rows, 0,
				CASE WHEN (j.last_spend_fit).converged THEN j.last_spend_fit END);
			IF (gg).converged IS NOT TRUE THEN
				note := concat_ws('; ', note, format('the Gamma-Gamma fit did not converge (%s iterations over %s customers): %s',
					(gg).iterations, (gg).n,
					CASE WHEN (j.last_spend_fit).converged THEN 'the last converged fit scores instead'
						 ELSE 'no converged fit yet, so clv is NULL' END));
				gg := CASE WHEN (j.last_spend_fit).converged THEN j.last_spend_fit END;
			END IF;
		END IF;
		IF note IS NOT NULL THEN
			note := note || ' (see "Failed fits" in the clm README)';
		END IF;
		-- (not "bgnbd IS NOT NULL": a row with one NULL field counts as NULL)
		IF purchase_kind = 'bgnbd' THEN
			ctx := @extschema@.scoring(bgnbd, gg, j.policy, j.alert_rules);
		ELSE
			ctx := @extschema@.scoring(mbgnbd, gg, j.policy, j.alert_rules);
		END IF;
	ELSE
		ctx := j.scoring;
	END IF;

	-- 4. breakpoints over everyone at a full refresh, else the stored
	-- ones.  The high-value cut needs every customer's CLV under the new
	-- models: the fit data holds what CLV depends on (frequency, recency,
	-- tenure, repeat average) for every customer who can have one (tenure
	-- > 0), so one CLV per distinct row, counted as many times as
	-- customers share it, gives the cut the breakpoints over everyone
	-- would, without reading the source again (clm.high_value_cut)
	IF refresh THEN
		bp := pass1.b;
		scanned := pass1.n;
		hv_cut := @extschema@.high_value_cut(fit_rows, ctx, j.alert_rules);
		IF hv_cut IS NOT NULL THEN
			bp.high_value_clv := hv_cut;
		END IF;
	ELSE
		bp := j.breakpoints;
	END IF;

	-- 5. score everyone in the stream against the previous state (pass 3),
	-- keeping only the rows to write: new customers, changed and due ones,
	-- any whose class, stage or summary changed, and customers gone from
	-- the source (gone); at a full refresh (new models and breakpoints)
	-- also those whose high-value flag changed, whose next review comes
	-- more than a day sooner and before the next full refresh (which
	-- rescores everyone: a later review it recomputes in time; rewriting
	-- every review the refitted models move by a day rewrote 37% of the
	-- customers a day), or whose as-of values moved past the stated
	-- tolerance (p_alive and churn_risk 0.05, clv 5 % or, for small values,
	-- 0.5 % of the high-value cut, health 5 points).  No one else is
	-- rewritten: values that only move with time are as of scored_at.  (A
	-- preview, consume = false, keeps everyone.)  Each arm's zo pairs a
	-- customer's summary and activity (z) with the stored row (o).
	ocols := 'o.customer_id AS o_customer_id, o.stage AS o_stage, o.stage_since AS o_stage_since, '
			 'o.high_value_at_risk AS o_hv, o.first_purchase AS o_first_purchase, o.last_purchase AS o_last_purchase, '
			 'o.orders AS o_orders, o.frequency AS o_frequency, o.recency_weeks AS o_recency_weeks, '
			 'o.total_amount AS o_total_amount, o.avg_amount AS o_avg_amount, '
			 'o.repeat_avg_amount AS o_repeat_avg_amount, o.r AS o_r, o.f AS o_f, o.m AS o_m, '
			 'o.rfm_cell AS o_rfm_cell, o.segment AS o_segment, o.abc AS o_abc, o.p_alive AS o_p_alive, '
			 'o.clv AS o_clv, o.churn_risk AS o_churn_risk, o.health AS o_health, o.next_review AS o_next_review';
	scored_sql := $q$
	SELECT zo.customer_id, (zo.s).*, v.p_alive, v.clv, sc.*,
		   CASE WHEN $8 THEN zo.o_stage END, CASE WHEN $8 THEN zo.o_stage_since END,
		   CASE WHEN $8 THEN zo.o_hv END, zo.o_customer_id IS NOT NULL AND $8, true, zo.z_customer_id IS NULL
	FROM (%s) zo
	LEFT JOIN LATERAL @extschema@.score_value(zo.s, $5) v ON true
	CROSS JOIN LATERAL @extschema@.score(zo.s, zo.act, v.p_alive, v.clv, $5, $7, $1,
										 CASE WHEN $8 THEN zo.o_stage END) sc
	WHERE NOT $10 OR zo.z_customer_id IS NULL OR zo.o_customer_id IS NULL OR zo.o_next_review <= $1
	   OR zo.customer_id = ANY ($11)
	   OR (zo.o_first_purchase, zo.o_last_purchase, zo.o_orders, zo.o_frequency, zo.o_recency_weeks,
		   zo.o_total_amount, zo.o_avg_amount, zo.o_repeat_avg_amount, zo.o_r, zo.o_f, zo.o_m, zo.o_rfm_cell,
		   zo.o_segment, zo.o_abc, zo.o_stage)
		  IS DISTINCT FROM
		  ((zo.s).first_purchase, (zo.s).last_purchase, (zo.s).orders, (zo.s).frequency, (zo.s).recency,
		   (zo.s).total_amount, (zo.s).avg_amount, (zo.s).repeat_avg_amount, sc.r, sc.f, sc.m, sc.rfm_cell,
		   sc.segment, sc.abc, sc.stage)
	   OR ($9 AND ((zo.o_hv, zo.o_p_alive IS NULL, zo.o_clv IS NULL, zo.o_churn_risk IS NULL, zo.o_health IS NULL)
				   IS DISTINCT FROM
				   (sc.high_value_at_risk, v.p_alive IS NULL, v.clv IS NULL, sc.churn_risk IS NULL, sc.health IS NULL)
				   OR (sc.next_review < $12
					   AND (zo.o_next_review IS NULL OR sc.next_review < zo.o_next_review - interval '1 day'))
				   OR abs(v.p_alive - zo.o_p_alive) > 0.05 OR abs(sc.churn_risk - zo.o_churn_risk) > 0.05
				   OR abs(v.clv - zo.o_clv) > 0.05 * greatest(abs(zo.o_clv), 0.1 * ($7).high_value_clv)
				   OR abs(sc.health - zo.o_health) > 5))
	$q$;
	-- zo from a stream of summaries (z) and the stored rows (o) of the
	-- same customers: $2 keys them (NULL: everyone), and an arm keeps its
	-- share of the state
	zfull := 'SELECT coalesce(z.customer_id, (o.customer_id)::text) AS customer_id, z.customer_id AS z_customer_id, '
			 'z.s, z.act, %s FROM (%s) z '
			 'FULL JOIN (SELECT * FROM %s cs WHERE ($2 IS NULL OR cs.customer_id = ANY ($2::%s[]))%s) o '
			 'ON o.customer_id = z.key';
	IF from_state THEN
		-- A full refresh scores the customers that did not change from
		-- their stored summary too, as pass 1 fitted on it: what moves
		-- with time (tenure, days since the last purchase, the average
		-- days between purchases) recomputed as of now in local days, as
		-- clm.customer_summary counts them, and the activity trend from
		-- the source's rows inside its two windows only (read by time; a
		-- customer without one has zero counts in both).  At a million
		-- customers this pass read and aggregated every transaction
		-- again, about as long as the rest of the refresh.  The state is
		-- read whole (no prospects: from_state excludes them).
		trend_from := (as_of - trend_window) - trend_window;	-- (as clm.activity_trend steps back, locally)
		zos := ARRAY(SELECT format(
			'SELECT (o.customer_id)::text AS customer_id, (o.customer_id)::text AS z_customer_id, '
			'ROW(o.first_purchase, o.last_purchase, o.orders, o.frequency, o.recency_weeks, '
			'((($1)::date OPERATOR(pg_catalog.-) (o.first_purchase)::date)::float8) / 7, '
			'($1)::date OPERATOR(pg_catalog.-) (o.last_purchase)::date, o.total_amount, o.avg_amount, '
			'o.repeat_avg_amount, CASE WHEN o.frequency > 0 THEN '
			'(((o.last_purchase)::date OPERATOR(pg_catalog.-) (o.first_purchase)::date)::float8) / o.frequency END'
			')::@extschema@.summary AS s, '
			'coalesce(a.act, ROW(0, 0, 0, 0, NULL, NULL, NULL)::@extschema@.activity) AS act, %s '
			'FROM %s o LEFT JOIN unnest(($2)::%s[]) c(k) ON c.k = o.customer_id '
			'LEFT JOIN (SELECT (x.k)::%3$s AS k, @extschema@.activity_trend(x.ts, x.amount, $1, $3) AS act '
			'FROM (%s) x WHERE x.ts > $13 AND x.ts <= $1 GROUP BY x.k) a ON a.k = o.customer_id '
			'WHERE c.k IS NULL AND o.first_purchase IS NOT NULL%s',
			ocols, st, st_key, u.tx, @extschema@.job_share_sql(hash_fn, 'o.customer_id', arms, u.i::integer - 1))
			FROM unnest(txs) WITH ORDINALITY u(tx, i));
		-- and those that changed from the source, by key, in a statement
		-- of their own: index scans are still on here, and go off for the
		-- arms over everyone
		IF cardinality(changed) > 0 THEN
			INSERT INTO clm_run_new
			SELECT * FROM @extschema@.job_scored(format(scored_sql, format(zfull, ocols, kstream, st, st_key, '')),
				as_of, changed, trend_window, j.alert_rules, ctx, j.job_id, bp, use_previous, refresh, consume,
				ARRAY(SELECT k.customer_id FROM clm_run_keys k WHERE k.customer_id IS NOT NULL),
				as_of + j.full_refresh_every, trend_from);
		END IF;
		PERFORM set_config(g, 'off', true) FROM unnest(tuned[1:3]) g;
		keys := changed;
	ELSE
		zos := ARRAY(SELECT format(zfull, ocols, u.stream, st, st_key,
										  @extschema@.job_share_sql(hash_fn, 'cs.customer_id', arms, u.i::integer - 1))
					 FROM unnest(streams) WITH ORDINALITY u(stream, i));
	END IF;
	INSERT INTO clm_run_new
	SELECT * FROM @extschema@.job_scored(
		array_to_string(ARRAY(SELECT format(scored_sql, zo) FROM unnest(zos) zo), ' UNION ALL '),
		as_of, keys, trend_window, j.alert_rules, ctx, j.job_id, bp, use_previous, refresh, consume,
		ARRAY(SELECT k.customer_id FROM clm_run_keys k WHERE k.customer_id IS NOT NULL),
		as_of + j.full_refresh_every, trend_from);
	IF scanned IS NULL THEN
		scanned := CASE WHEN scan_all THEN NULL ELSE cardinality(keys) END;
	END IF;
	ANALYZE clm_run_new;
	PERFORM set_config(u.g, u.v, true) FROM unnest(tuned, saved) u(g, v);
END
$fn$;
COMMENT ON FUNCTION @extschema@.job_compute(@extschema@.jobs, timestamptz, boolean, boolean, boolean) IS
'score the customers a job run needs into the temporary table clm_run_new (used by clm.run_job_by_id and clm.preview_job)';

-- run_job_body: one run of a job, in the caller's transaction, as the
-- job's owner in the job's time zone (clm.run_job_by_id switches to them in
-- C before calling this), inside a subtransaction: an error rolls the state
-- back and is recorded as a failed run.
CREATE FUNCTION @extschema@.run_job_body(job_id bigint, trigger text,
	as_of timestamptz, full_refresh boolean)
RETURNS @extschema@.job_runs
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET random_page_cost = 1.1	-- as job_compute
AS $fn$
#variable_conflict use_column
DECLARE
	j @extschema@.jobs;
	run @extschema@.job_runs;
	t timestamptz := @extschema@.check_as_of(coalesce(as_of, now()));
	is_full boolean;
	c record;
	n_alerts integer := 0;
	n_rows bigint;
	n_written bigint := 0;
	n_net bigint := 0;			-- inserted minus deleted
	err_msg text;
	err_state text;
	src regclass;
	st regclass;		-- the job's state and history tables
	ht regclass;
	st_key text;		-- the type of their key
	n_state bigint;		-- customers in the state (counted when needed)
	bulk boolean;		-- filling empty tables: indexes built after
	rescan boolean := false;	-- capture or the state lost: read everything again
BEGIN
	-- Lock order: the source before the job's row.  clm.drop_job holds the
	-- row, then drops the capture triggers (an exclusive lock on the
	-- source); a run that held the row of a second job of the same source
	-- and then waited for the source deadlocked with a transaction dropping
	-- both jobs.  Without the right to lock it, the run goes on as before
	-- (and its read of the source fails and is recorded).
	src := to_regclass((SELECT jobs.source FROM @extschema@.jobs WHERE jobs.job_id = run_job_body.job_id));
	IF src IS NOT NULL THEN
		BEGIN
			EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', src);
		EXCEPTION WHEN insufficient_privilege OR wrong_object_type OR feature_not_supported THEN
			NULL;
		END;
	END IF;
	IF trigger = 'worker' THEN
		-- the worker's run: skipped when another run holds the job, or ran
		-- it (manually) since the worker found it due
		SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = run_job_body.job_id FOR UPDATE SKIP LOCKED;
		IF NOT FOUND OR j.next_run_at > now() OR NOT j.enabled THEN
			RETURN NULL;
		END IF;
	ELSE
		SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = run_job_body.job_id FOR UPDATE;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'no job with id %', job_id USING ERRCODE = 'undefined_object';
		END IF;
	END IF;
	IF t < j.last_as_of THEN
		RAISE EXCEPTION 'as_of must not be before the job''s last run'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('The last run was as of %s; as_of is %s.', j.last_as_of, t),
				  HINT = 'Use clm.preview_job() to see the state as of an earlier time.';
	END IF;
	INSERT INTO @extschema@.job_runs (job_id, job_name, trigger, started_at, status, attempt)
	VALUES (j.job_id, j.name, trigger, clock_timestamp(), 'running', j.attempt)
	RETURNING * INTO run;

	BEGIN
		-- the settings pass the validators create_job and alter_job use
		-- (a job stored by an older version, or restored, may not)
		PERFORM @extschema@.check_schedule(j.schedule);
		PERFORM @extschema@.check_job_settings(j.timeout, j.max_retries, j.retry_period, j.runs_retention,
											   j.history_retention, j.alerts_retention, j.full_refresh_every);
		PERFORM @extschema@.check_stage_policy(j.policy);
		PERFORM @extschema@.check_alert_rules(j.alert_rules);
		-- capture triggers gone (the table dropped and created again, or
		-- the triggers dropped): the changes since are unknown, so this run
		-- rescans everyone and puts the triggers back if it may
		IF j.capture AND NOT EXISTS (SELECT 1 FROM pg_trigger tg
									 WHERE tg.tgrelid = to_regclass(j.source)
									   AND tg.tgname = 'zz_clm_capture_' || j.job_id) THEN
			IF to_regclass(j.source) IS NOT NULL THEN
				j.capture := @extschema@.install_capture(j.job_id, to_regclass(j.source), j.customer_column,
														 j.ts_column, j.amount_column);
				UPDATE @extschema@.jobs SET capture = j.capture WHERE jobs.job_id = j.job_id;
			END IF;
			rescan := true;
		END IF;
		-- the job's tables, made again if dropped: the stored state is gone,
		-- so this run is a full refresh (and a first run)
		IF @extschema@.create_job_tables(j.job_id) THEN
			rescan := true;
		END IF;
		-- either way the state cannot stand in for the source: a full
		-- refresh that also asks for a rescan (job_compute then fits on
		-- the source, not on the state)
		IF rescan THEN
			full_refresh := true;
			INSERT INTO @extschema@.job_changes (job_id, customer_id) VALUES (j.job_id, NULL) ON CONFLICT DO NOTHING;
		END IF;
		SELECT t.state, t.history, t.key_type INTO st, ht, st_key FROM @extschema@.job_tables_of(j.job_id) t;
		-- a disabled job's changes are not captured: its runs rescan
		is_full := full_refresh OR NOT j.enabled OR j.scoring IS NULL OR j.breakpoints IS NULL OR j.last_full_refresh_at IS NULL
			OR t >= j.last_full_refresh_at + j.full_refresh_every;
		c := @extschema@.job_compute(j, t, is_full, true, true);

		-- the state: customers gone from the source go; changed rows are
		-- updated in place, new ones inserted; unchanged rows are not
		-- touched
		EXECUTE format('DELETE FROM %s cs WHERE cs.customer_id IN '
					   '(SELECT (n.customer_id)::%s FROM clm_run_new n WHERE n.gone)', st, st_key);
		GET DIAGNOSTICS n_rows = ROW_COUNT;
		n_written := n_written + n_rows;
		n_net := n_net - n_rows;
		IF n_rows > 0 THEN
			DELETE FROM clm_run_new n WHERE n.gone;
		END IF;

		-- a run that fills empty tables with many rows (a first run)
		-- builds their indexes after the fill instead of inserting into them
		-- (more than 10,000 rows: counted no further)
		bulk := EXISTS (SELECT 1 FROM clm_run_new OFFSET 10000);
		IF bulk THEN
			EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %s) AND NOT EXISTS (SELECT 1 FROM %s)', st, ht) INTO bulk;
		END IF;
		bulk := bulk AND @extschema@.unindex_job_tables(j.job_id);

		-- history and alerts (once per episode, with NOTIFY)
		EXECUTE format('INSERT INTO %s (customer_id, from_stage, to_stage, changed_at, run_id) '
					   'SELECT n.key, n.prev_stage, n.stage, $1, $2 '
					   'FROM (SELECT (n.customer_id)::%s AS key, n.* FROM clm_run_new n) n '
					   'WHERE n.prev_stage IS DISTINCT FROM n.stage', ht, st_key)
			USING t, run.run_id;

		-- one NOTIFY per alert raised, from the one statement
		WITH raised AS (
			INSERT INTO @extschema@.alerts (job_id, customer_id, kind, episode_start, raised_at, run_id, details)
			SELECT j.job_id, n.customer_id, k.kind, t, clock_timestamp(), run.run_id,
				   jsonb_build_object('from_stage', n.prev_stage, 'stage', n.stage,
									  'churn_risk', n.churn_risk, 'clv', n.clv, 'health', n.health,
									  'segment', n.segment)
			FROM (SELECT * FROM clm_run_new n
				  WHERE n.known AND (n.prev_stage IS DISTINCT FROM n.stage
									 OR (n.high_value_at_risk AND NOT coalesce(n.prev_hv, false)))) n,
				 LATERAL (VALUES
					('entered_at_risk', n.stage = 'at_risk' AND n.prev_stage <> 'at_risk'),
					('churned', n.stage = 'churned' AND n.prev_stage <> 'churned'),
					('reactivated', n.stage = 'reactivated' AND n.prev_stage <> 'reactivated'),
					('high_value_at_risk', n.high_value_at_risk AND NOT coalesce(n.prev_hv, false))
				 ) AS k(kind, fires)
			WHERE k.fires AND ((c.ctx).rules ->> k.kind)::boolean
			ON CONFLICT (job_id, customer_id, kind, episode_start) DO NOTHING
			RETURNING alerts.alert_id, alerts.customer_id, alerts.kind, alerts.details)
		SELECT count(*) INTO n_alerts
		FROM raised a
		CROSS JOIN LATERAL pg_notify('clm_alerts', (jsonb_build_object(
			'alert_id', a.alert_id, 'job', j.name, 'customer_id', a.customer_id,
			'kind', a.kind, 'raised_at', t) || a.details)::text) AS sent;

		EXECUTE format($q$
		UPDATE %1$s cs SET
			first_purchase = n.first_purchase, last_purchase = n.last_purchase, orders = n.orders,
			frequency = n.frequency, recency_weeks = n.recency, tenure_weeks = n.tenure,
			days_since_last = n.days_since_last, total_amount = n.total_amount, avg_amount = n.avg_amount,
			repeat_avg_amount = n.repeat_avg_amount,
			r = n.r, f = n.f, m = n.m, rfm_cell = n.rfm_cell, segment = n.segment, abc = n.abc,
			p_alive = n.p_alive, clv = n.clv, churn_risk = n.churn_risk, health = n.health, stage = n.stage,
			stage_since = CASE WHEN n.prev_stage IS NOT DISTINCT FROM n.stage THEN cs.stage_since ELSE $1 END,
			high_value_at_risk = n.high_value_at_risk, scored_at = $1, next_review = n.next_review
		FROM clm_run_new n
		WHERE cs.customer_id = (n.customer_id)::%2$s
		$q$, st, st_key) USING t;
		GET DIAGNOSTICS n_rows = ROW_COUNT;
		n_written := n_written + n_rows;
		EXECUTE format($q$
		INSERT INTO %1$s (
			customer_id, first_purchase, last_purchase, orders, frequency, recency_weeks,
			tenure_weeks, days_since_last, total_amount, avg_amount, r, f, m, rfm_cell, segment, abc,
			p_alive, clv, churn_risk, health, stage, stage_since, high_value_at_risk, scored_at, next_review,
			repeat_avg_amount)
		SELECT n.key, n.first_purchase, n.last_purchase, n.orders, n.frequency,
			   n.recency, n.tenure, n.days_since_last, n.total_amount, n.avg_amount,
			   n.r, n.f, n.m, n.rfm_cell, n.segment, n.abc, n.p_alive, n.clv, n.churn_risk, n.health,
			   n.stage, $1, n.high_value_at_risk, $1, n.next_review, n.repeat_avg_amount
		FROM (SELECT (n.customer_id)::%2$s AS key, n.* FROM clm_run_new n) n
		WHERE NOT n.known	-- (not in the state when the run read it: only those are looked up)
		  AND NOT EXISTS (SELECT 1 FROM %1$s cs WHERE cs.customer_id = n.key)
		-- (no ORDER BY: clm_run_new is in key order when the stream was
		-- merged with the state, as at a full refresh, and sorting a
		-- first run's million wide rows again cost more than the random
		-- index inserts it would save otherwise)
		$q$, st, st_key) USING t;
		GET DIAGNOSTICS n_rows = ROW_COUNT;
		n_written := n_written + n_rows;
		n_net := n_net + n_rows;
		IF bulk THEN
			PERFORM @extschema@.index_job_tables(j.job_id);
		END IF;
		-- a bulk write (a first run, a refresh that moved many) leaves
		-- the planner's statistics behind; autovacuum may be late, and the
		-- next incremental run's plan depends on them (the owner owns the
		-- table, unless it was given away)
		IF n_written > 10000
		   AND (SELECT n_written > c.reltuples / 10 AND pg_has_role(c.relowner, 'USAGE') FROM pg_class c
				WHERE c.oid = st) THEN
			EXECUTE format('ANALYZE %s', st);
		END IF;
		-- customers in the state: everyone scanned, or the last run's count
		-- plus what this one added; counted only when neither is known
		IF is_full OR NOT j.incremental OR NOT j.capture THEN
			n_state := c.scanned;
		ELSE
			n_state := (SELECT r.customers FROM @extschema@.job_runs r
						WHERE r.job_id = j.job_id AND r.status = 'succeeded'
						ORDER BY r.started_at DESC LIMIT 1) + n_net;
		END IF;
		IF n_state IS NULL THEN
			EXECUTE format('SELECT count(*) FROM %s', st) INTO n_state;
		END IF;
		-- the history past its retention, on the job's clock (changed_at
		-- is a run's as_of), once a full refresh: it reads the whole table
		IF is_full THEN
			PERFORM @extschema@.prune_job_history(j.job_id, ht, t - j.history_retention);
		END IF;

		UPDATE @extschema@.jobs SET
			scoring = c.ctx, breakpoints = c.bp, last_as_of = t,
			watermark = CASE WHEN c.published THEN t ELSE jobs.watermark END,
			last_full_refresh_at = CASE WHEN is_full THEN t ELSE jobs.last_full_refresh_at END,
			-- only converged fits are kept (job_compute put the last one
			-- back when a fit did not converge)
			last_purchase_fit = CASE WHEN is_full AND jobs.purchase_model IS NULL AND ((c.ctx).purchase_mbgnbd).converged
									 THEN (c.ctx).purchase_mbgnbd ELSE jobs.last_purchase_fit END,
			last_spend_fit = CASE WHEN is_full AND jobs.spend_model IS NULL AND ((c.ctx).spend).converged
								  THEN (c.ctx).spend ELSE jobs.last_spend_fit END
		WHERE jobs.job_id = j.job_id;
		UPDATE @extschema@.job_runs SET status = 'succeeded', finished_at = clock_timestamp(),
			-- the last run's count plus what this one added: no count(*) of
			-- the state on an incremental run
			customers = n_state,
			scored = coalesce(c.scanned, n_state),
			written = n_written, alerts = n_alerts, note = c.note
		WHERE job_runs.run_id = run.run_id
		RETURNING * INTO run;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS err_msg = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE;
		UPDATE @extschema@.job_runs SET status = 'failed', finished_at = clock_timestamp(),
			sqlstate = err_state, message = err_msg
		WHERE job_runs.run_id = run.run_id
		RETURNING * INTO run;
	END;
	PERFORM @extschema@.reschedule_job(j.job_id, run.status = 'failed', now());
	RETURN run;
END
$fn$;
COMMENT ON FUNCTION @extschema@.run_job_body(bigint, text, timestamptz, boolean) IS
'internal: the body of clm.run_job_by_id, which calls it as the job''s owner (not executable by PUBLIC)';
REVOKE ALL ON FUNCTION @extschema@.run_job_body(bigint, text, timestamptz, boolean) FROM PUBLIC;

-- run_job_by_id: the one entry to a run, for clm.run_job() and the
-- background worker: switches to the job's owner in C (src/jobrun.c), so
-- that the owner's code cannot take the caller's rights, and back
CREATE FUNCTION @extschema@.run_job_by_id(job_id bigint, trigger text DEFAULT 'manual',
	as_of timestamptz DEFAULT NULL, full_refresh boolean DEFAULT false)
RETURNS @extschema@.job_runs
AS 'MODULE_PATHNAME', 'clm_run_job_by_id'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.run_job_by_id(bigint, text, timestamptz, boolean) IS
'run a job now (the worker''s code path), as of as_of (default now(); never before the last run), a full refresh when asked or due; returns its clm.job_runs row (trigger ''worker'': NULL, without running, when the job is not due or another run holds it)';

CREATE FUNCTION @extschema@.run_job(name text, as_of timestamptz DEFAULT NULL, full_refresh boolean DEFAULT false)
RETURNS @extschema@.job_runs
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	id bigint;
BEGIN
	SELECT j.job_id INTO id FROM @extschema@.jobs j WHERE j.name = run_job.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN @extschema@.run_job_by_id(id, 'manual', as_of, full_refresh);
END
$fn$;
COMMENT ON FUNCTION @extschema@.run_job(text, timestamptz, boolean) IS
'run a job now, through the same code as the background worker, as of as_of (default now()); full_refresh: refit, recompute breakpoints and rescore everyone; returns its clm.job_runs row';

-- preview_job_body: what a full refresh as of a chosen time would store,
-- without writing anything (previous stages from the stored state when
-- as_of is not before the last run); called by clm.preview_job as the
-- job's owner in the job's time zone
CREATE FUNCTION @extschema@.preview_job_body(name text, as_of timestamptz)
RETURNS SETOF @extschema@.customer_state
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
	j @extschema@.jobs;
	t timestamptz := @extschema@.check_as_of(coalesce(as_of, now()));
	c record;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.name = preview_job_body.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	c := @extschema@.job_compute(j, t, true, false, j.last_as_of IS NOT NULL AND t >= j.last_as_of);
	RETURN QUERY
	SELECT j.job_id, n.customer_id, n.first_purchase, n.last_purchase, n.orders, n.frequency,
		   n.recency, n.tenure, n.days_since_last, n.total_amount, n.avg_amount,
		   n.r, n.f, n.m, n.rfm_cell, n.segment, n.abc, n.p_alive, n.clv, n.churn_risk, n.health, n.stage,
		   CASE WHEN n.prev_stage IS NOT DISTINCT FROM n.stage THEN n.prev_since ELSE t END,
		   n.high_value_at_risk, t, n.next_review, n.repeat_avg_amount
	FROM clm_run_new n WHERE NOT n.gone ORDER BY n.customer_id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.preview_job_body(text, timestamptz) IS
'internal: the body of clm.preview_job, which calls it as the job''s owner (not executable by PUBLIC)';
REVOKE ALL ON FUNCTION @extschema@.preview_job_body(text, timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@.preview_job(name text, as_of timestamptz DEFAULT NULL)
RETURNS SETOF @extschema@.customer_state
AS 'MODULE_PATHNAME', 'clm_preview_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION @extschema@.preview_job(text, timestamptz) IS
'the rows a full refresh of the job as of as_of would store in clm.customer_state, without writing anything';
