------------------------------------------------------------------------------
-- Jobs: scheduled reclassification and alerting
------------------------------------------------------------------------------

CREATE TABLE @extschema@.jobs (
	job_id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE,
	owner name NOT NULL DEFAULT CURRENT_USER,
	source text NOT NULL,
	customer_column text NOT NULL,
	ts_column text NOT NULL,
	amount_column text NOT NULL,
	customers_source text,
	customers_id_column text,
	schedule interval NOT NULL CHECK (schedule > interval '0'),
	policy jsonb NOT NULL DEFAULT '{}',
	purchase_model text,
	spend_model text,
	alert_rules jsonb NOT NULL DEFAULT '{}',
	timeout interval CHECK (timeout > interval '0'),
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_run_at timestamptz,
	next_run_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_purchase_fit @extschema@.mbgnbd_model,
	last_spend_fit @extschema@.gamma_gamma_model
);
COMMENT ON TABLE @extschema@.jobs IS
'scheduled reclassification jobs: each belongs to and runs as its owner';
COMMENT ON COLUMN @extschema@.jobs.last_purchase_fit IS
'the models fitted by the last run (when the job fits its own); the next run starts from them';

CREATE TABLE @extschema@.job_runs (
	run_id bigserial PRIMARY KEY,
	job_id bigint NOT NULL REFERENCES @extschema@.jobs ON DELETE CASCADE,
	job_name text NOT NULL,
	trigger text NOT NULL CHECK (trigger IN ('worker', 'manual')),
	started_at timestamptz NOT NULL,
	finished_at timestamptz,
	status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	customers bigint,
	alerts integer,
	error text
);
CREATE INDEX ON @extschema@.job_runs (job_id, started_at);
COMMENT ON TABLE @extschema@.job_runs IS 'one row per job run: start, end, status, rows, alerts, error';

-- customer_state, stage_history and alerts have no foreign key to jobs: a
-- per-row RI check costs more than the rest of a run's insert; the trigger
-- below removes a dropped job's rows instead
CREATE TABLE @extschema@.customer_state (
	job_id bigint NOT NULL,
	customer_id text NOT NULL,
	first_purchase timestamptz,
	last_purchase timestamptz,
	orders bigint,
	frequency integer,
	recency_weeks float8,
	tenure_weeks float8,
	days_since_last integer,
	total_amount float8,
	avg_amount float8,
	r integer,
	f integer,
	m integer,
	rfm_cell text,
	segment text,
	abc text,
	p_alive float8,
	clv float8,
	churn_risk float8,
	health float8,
	stage @extschema@.stage NOT NULL,
	stage_since timestamptz NOT NULL,
	high_value_at_risk boolean NOT NULL DEFAULT false,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (job_id, customer_id)
);
COMMENT ON TABLE @extschema@.customer_state IS 'current state of every customer of every job';

CREATE TABLE @extschema@.stage_history (
	id bigserial PRIMARY KEY,
	job_id bigint NOT NULL,
	customer_id text NOT NULL,
	from_stage @extschema@.stage,
	to_stage @extschema@.stage NOT NULL,
	changed_at timestamptz NOT NULL,
	run_id bigint NOT NULL
);
CREATE INDEX ON @extschema@.stage_history (job_id, customer_id, changed_at);
COMMENT ON TABLE @extschema@.stage_history IS 'every stage change (from_stage NULL: first classification)';

CREATE TABLE @extschema@.alerts (
	alert_id bigserial PRIMARY KEY,
	job_id bigint NOT NULL,
	customer_id text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('entered_at_risk', 'churned', 'reactivated', 'high_value_at_risk')),
	episode_start timestamptz NOT NULL,
	raised_at timestamptz NOT NULL,
	run_id bigint NOT NULL,
	details jsonb NOT NULL,
	acknowledged_at timestamptz,
	UNIQUE (job_id, customer_id, kind, episode_start)
);
COMMENT ON TABLE @extschema@.alerts IS 'alerts, one per customer episode; also sent with NOTIFY clm_alerts';

CREATE FUNCTION @extschema@.jobs_cleanup()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	DELETE FROM @extschema@.customer_state s WHERE s.job_id = OLD.job_id;
	DELETE FROM @extschema@.stage_history h WHERE h.job_id = OLD.job_id;
	DELETE FROM @extschema@.alerts a WHERE a.job_id = OLD.job_id;
	RETURN OLD;
END
$fn$;
COMMENT ON FUNCTION @extschema@.jobs_cleanup() IS
'trigger: a deleted job takes its state, history and alerts with it';
CREATE TRIGGER jobs_cleanup AFTER DELETE ON @extschema@.jobs
	FOR EACH ROW EXECUTE FUNCTION @extschema@.jobs_cleanup();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.jobs_job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_state', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alerts_alert_id_seq', '');

-- Row-level security: users see and change only their own jobs and what
-- belongs to them; superusers (and the extension owner) see everything.
ALTER TABLE @extschema@.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_owner ON @extschema@.jobs
	USING (owner OPERATOR(pg_catalog.=) CURRENT_USER)
	WITH CHECK (owner OPERATOR(pg_catalog.=) CURRENT_USER);
ALTER TABLE @extschema@.job_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_runs_owner ON @extschema@.job_runs
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.customer_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY customer_state_owner ON @extschema@.customer_state
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.stage_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY stage_history_owner ON @extschema@.stage_history
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY alerts_owner ON @extschema@.alerts
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.jobs, @extschema@.job_runs,
	@extschema@.customer_state, @extschema@.stage_history, @extschema@.alerts TO PUBLIC;
GRANT USAGE ON SEQUENCE @extschema@.jobs_job_id_seq, @extschema@.job_runs_run_id_seq,
	@extschema@.stage_history_id_seq, @extschema@.alerts_alert_id_seq TO PUBLIC;

-- the default alert rules, merged under a job's own
CREATE FUNCTION @extschema@.alert_rules_defaults()
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$ SELECT '{"entered_at_risk": true, "churned": true, "reactivated": true, "high_value_at_risk": true, "high_value_share": 0.2, "high_value_min_risk": 0.5}'::jsonb $fn$;
COMMENT ON FUNCTION @extschema@.alert_rules_defaults() IS
'default alert rules: which transitions raise alerts, and high value at risk = CLV in the top high_value_share with churn risk >= high_value_min_risk';

CREATE FUNCTION @extschema@.check_alert_rules(rules jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	k text;
	v jsonb;
BEGIN
	IF jsonb_typeof(rules) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'alert_rules must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k, v IN SELECT * FROM jsonb_each(rules) LOOP
		IF k IN ('entered_at_risk', 'churned', 'reactivated', 'high_value_at_risk') THEN
			IF jsonb_typeof(v) <> 'boolean' THEN
				RAISE EXCEPTION 'alert rule % must be true or false', k USING ERRCODE = 'invalid_parameter_value';
			END IF;
		ELSIF k IN ('high_value_share', 'high_value_min_risk') THEN
			IF jsonb_typeof(v) <> 'number' OR v::text::float8 < 0 OR v::text::float8 > 1 THEN
				RAISE EXCEPTION 'alert rule % must be a number between 0 and 1', k
					USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %s.', v);
			END IF;
		ELSE
			RAISE EXCEPTION 'alert_rules has an unknown key "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Keys: entered_at_risk, churned, reactivated, high_value_at_risk, high_value_share, high_value_min_risk.';
		END IF;
	END LOOP;
	RETURN @extschema@.alert_rules_defaults() || rules;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_alert_rules(jsonb) IS
'validate alert rules and return them merged over the defaults';

-- check_job_source: the table or view exists and has the named columns
CREATE FUNCTION @extschema@.check_job_source(source regclass, VARIADIC columns text[])
RETURNS void LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	c text;
BEGIN
	FOREACH c IN ARRAY columns LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_attribute a
					   WHERE a.attrelid = source AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'column "%" does not exist in %', c, source
				USING ERRCODE = 'undefined_column';
		END IF;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_job_source(regclass, text[]) IS
'error unless the relation has all the named columns';

CREATE FUNCTION @extschema@.create_job(
	name text,
	source regclass,
	customer_column text DEFAULT 'customer_id',
	ts_column text DEFAULT 'ts',
	amount_column text DEFAULT 'amount',
	schedule interval DEFAULT '1 day',
	customers_source regclass DEFAULT NULL,
	customers_id_column text DEFAULT 'customer_id',
	policy jsonb DEFAULT '{}',
	purchase_model text DEFAULT NULL,
	spend_model text DEFAULT NULL,
	alert_rules jsonb DEFAULT '{}',
	timeout interval DEFAULT NULL,
	enabled boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	id bigint;
BEGIN
	IF name IS NULL OR source IS NULL OR schedule IS NULL THEN
		RAISE EXCEPTION 'name, source and schedule must not be NULL' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF schedule <= interval '0' THEN
		RAISE EXCEPTION 'schedule must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_job_source(source, customer_column, ts_column, amount_column);
	IF customers_source IS NOT NULL THEN
		PERFORM @extschema@.check_job_source(customers_source, customers_id_column);
	END IF;
	PERFORM @extschema@.check_stage_policy(coalesce(policy, '{}'));
	PERFORM @extschema@.check_alert_rules(coalesce(alert_rules, '{}'));
	INSERT INTO @extschema@.jobs AS j (name, source, customer_column, ts_column, amount_column,
		customers_source, customers_id_column, schedule, policy, purchase_model, spend_model,
		alert_rules, timeout, enabled)
	VALUES (create_job.name, source::text, customer_column, ts_column, amount_column,
		customers_source::text, CASE WHEN customers_source IS NOT NULL THEN customers_id_column END,
		schedule, coalesce(policy, '{}'), purchase_model, spend_model,
		coalesce(alert_rules, '{}'), timeout, coalesce(enabled, true))
	RETURNING j.job_id INTO id;
	RETURN id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.create_job(text, regclass, text, text, text, interval, regclass, text, jsonb, text, text, jsonb, interval, boolean) IS
'create a reclassification job owned by the current user; returns its id';

CREATE FUNCTION @extschema@.alter_job(
	name text,
	schedule interval DEFAULT NULL,
	enabled boolean DEFAULT NULL,
	policy jsonb DEFAULT NULL,
	alert_rules jsonb DEFAULT NULL,
	purchase_model text DEFAULT NULL,
	spend_model text DEFAULT NULL,
	timeout interval DEFAULT NULL,
	source regclass DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.name = alter_job.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	IF policy IS NOT NULL THEN PERFORM @extschema@.check_stage_policy(policy); END IF;
	IF alert_rules IS NOT NULL THEN PERFORM @extschema@.check_alert_rules(alert_rules); END IF;
	IF schedule IS NOT NULL AND schedule <= interval '0' THEN
		RAISE EXCEPTION 'schedule must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF source IS NOT NULL THEN
		PERFORM @extschema@.check_job_source(source, j.customer_column, j.ts_column, j.amount_column);
	END IF;
	UPDATE @extschema@.jobs SET
		schedule = coalesce(alter_job.schedule, jobs.schedule),
		next_run_at = CASE WHEN alter_job.schedule IS NOT NULL
						   THEN coalesce(jobs.last_run_at, now()) + alter_job.schedule
						   ELSE jobs.next_run_at END,
		enabled = coalesce(alter_job.enabled, jobs.enabled),
		policy = coalesce(alter_job.policy, jobs.policy),
		alert_rules = coalesce(alter_job.alert_rules, jobs.alert_rules),
		purchase_model = coalesce(alter_job.purchase_model, jobs.purchase_model),
		spend_model = coalesce(alter_job.spend_model, jobs.spend_model),
		timeout = coalesce(alter_job.timeout, jobs.timeout),
		source = coalesce(alter_job.source::text, jobs.source)
	WHERE jobs.job_id = j.job_id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.alter_job(text, interval, boolean, jsonb, jsonb, text, text, interval, regclass) IS
'change a job; NULL arguments leave a setting as it is';

CREATE FUNCTION @extschema@.drop_job(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	DELETE FROM @extschema@.jobs WHERE jobs.name = drop_job.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.drop_job(text) IS
'drop a job with its state, history, alerts and runs';

-- record_job_failure: called by the worker in a fresh transaction when a run
-- failed with an error its own handler could not catch (statement timeout,
-- a missing owner role)
CREATE FUNCTION @extschema@.record_job_failure(job_id bigint, trigger text, error text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = record_job_failure.job_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	INSERT INTO @extschema@.job_runs (job_id, job_name, trigger, started_at, finished_at, status, error)
	VALUES (j.job_id, j.name, trigger, statement_timestamp(), clock_timestamp(), 'failed', error);
	UPDATE @extschema@.jobs SET last_run_at = now(), next_run_at = now() + j.schedule
	WHERE jobs.job_id = j.job_id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.record_job_failure(bigint, text, text) IS
'record a failed run and schedule the next one (used by the background worker, as the job''s owner: row-level security limits it to the caller''s jobs)';

-- run_job_by_id: one run of a job, in the caller's transaction.  The same
-- code serves clm.run_job() and the background worker.  The work runs as
-- the job's owner (SET LOCAL ROLE) inside a subtransaction: an error rolls
-- the state back and is recorded as a failed run.
CREATE FUNCTION @extschema@.run_job_by_id(job_id bigint, trigger text DEFAULT 'manual')
RETURNS @extschema@.job_runs
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 3
AS $fn$
#variable_conflict use_column
DECLARE
	j @extschema@.jobs;
	run @extschema@.job_runs;
	as_of timestamptz := now();
	caller name := current_user;
	rules jsonb;
	policy jsonb;
	src regclass;
	csrc regclass;
	tx_sql text;
	purchase_text text;
	purchase_type text;
	fit_rows @extschema@.fit_data;
	spend_text text;
	model_ok boolean := false;
	p_alive_sql text := 'NULL::float8';
	clv_sql text := 'NULL::float8';
	window_days float8;
	n_customers bigint;
	n_alerts integer := 0;
	a record;
	err_msg text;
	err_state text;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = run_job_by_id.job_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job with id %', job_id USING ERRCODE = 'undefined_object';
	END IF;
	INSERT INTO @extschema@.job_runs (job_id, job_name, trigger, started_at, status)
	VALUES (j.job_id, j.name, trigger, clock_timestamp(), 'running')
	RETURNING * INTO run;

	BEGIN
		IF j.owner <> caller THEN
			EXECUTE format('SET LOCAL ROLE %I', j.owner);
		END IF;
		rules := @extschema@.check_alert_rules(j.alert_rules);
		policy := @extschema@.stage_policy_defaults() || j.policy;
		PERFORM @extschema@.check_stage_policy(policy);
		window_days := (policy ->> 'at_risk_days')::float8;

		src := to_regclass(j.source);
		IF src IS NULL THEN
			RAISE EXCEPTION 'source relation % does not exist', j.source USING ERRCODE = 'undefined_table';
		END IF;
		-- group on the key as it is (cheaper to hash than text), cast per customer
		tx_sql := format('SELECT %I AS customer_key, (%I)::timestamptz AS ts, (%I)::float8 AS amount '
						 'FROM %s WHERE %I IS NOT NULL AND %I <= %L',
						 j.customer_column, j.ts_column, j.amount_column, src,
						 j.customer_column, j.ts_column, as_of);

		-- 1. summary and activity trend per customer
		IF to_regclass('pg_temp.clm_run_summary') IS NOT NULL THEN
			DROP TABLE pg_temp.clm_run_summary;
		END IF;
		EXECUTE format('CREATE TEMP TABLE clm_run_summary ON COMMIT DROP AS '
					   'SELECT (t.customer_key)::text AS customer_id, (@extschema@.customer_summary(t.ts, t.amount, %L, ''week'')).*, '
					   '(@extschema@.activity_trend(t.ts, t.amount, %L, %L)).* '
					   'FROM (%s) t GROUP BY t.customer_key',
					   as_of, as_of, make_interval(secs => window_days * 86400), tx_sql);
		-- prospects: known customers without a purchase
		IF j.customers_source IS NOT NULL THEN
			csrc := to_regclass(j.customers_source);
			IF csrc IS NULL THEN
				RAISE EXCEPTION 'customers source relation % does not exist', j.customers_source
					USING ERRCODE = 'undefined_table';
			END IF;
			EXECUTE format('INSERT INTO clm_run_summary (customer_id) SELECT DISTINCT (c.%I)::text FROM %s c '
						   'WHERE c.%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clm_run_summary s '
						   'WHERE s.customer_id = (c.%I)::text)',
						   j.customers_id_column, csrc, j.customers_id_column, j.customers_id_column);
		END IF;

		-- 2. the CLV models: stored ones, or fitted on this run's customers
		IF j.purchase_model IS NOT NULL THEN
			SELECT m.kind INTO purchase_type FROM @extschema@.models m WHERE m.name = j.purchase_model;
			IF purchase_type = 'bgnbd' THEN
				purchase_text := @extschema@.get_bgnbd_model(j.purchase_model)::text;
			ELSIF purchase_type = 'mbgnbd' THEN
				purchase_text := @extschema@.get_mbgnbd_model(j.purchase_model)::text;
			ELSE
				RAISE EXCEPTION 'purchase_model % is not a stored bgnbd or mbgnbd model', j.purchase_model
					USING ERRCODE = 'undefined_object';
			END IF;
		END IF;
		IF j.purchase_model IS NULL OR j.spend_model IS NULL THEN
			-- one pass over the customers serves both fits
			SELECT @extschema@.fit_data(s.frequency, s.recency, s.tenure, s.repeat_avg_amount) INTO fit_rows
			FROM clm_run_summary s WHERE s.tenure > 0;
		END IF;
		-- fits start from the last run's models (a warm start; the full
		-- search is the fallback), so a steady job refits quickly
		IF j.purchase_model IS NULL THEN
			purchase_type := 'mbgnbd';
			purchase_text := @extschema@.mbgnbd_fit(fit_rows, 0,
				CASE WHEN (j.last_purchase_fit).converged THEN j.last_purchase_fit END)::text;
			UPDATE @extschema@.jobs SET last_purchase_fit = purchase_text::@extschema@.mbgnbd_model
			WHERE jobs.job_id = j.job_id;
		END IF;
		IF j.spend_model IS NOT NULL THEN
			spend_text := @extschema@.get_gamma_gamma_model(j.spend_model)::text;
		ELSE
			spend_text := @extschema@.gamma_gamma_fit(fit_rows, 0,
				CASE WHEN (j.last_spend_fit).converged THEN j.last_spend_fit END)::text;
			UPDATE @extschema@.jobs SET last_spend_fit = spend_text::@extschema@.gamma_gamma_model
			WHERE jobs.job_id = j.job_id;
		END IF;
		IF purchase_text IS NOT NULL THEN
			EXECUTE format('SELECT (%L::@extschema@.%s_model).converged', purchase_text, purchase_type) INTO model_ok;
		END IF;
		IF model_ok THEN
			p_alive_sql := format('CASE WHEN s.tenure > 0 THEN @extschema@.p_alive(%L::@extschema@.%s_model, s.frequency, s.recency, s.tenure) END',
								  purchase_text, purchase_type);
			IF spend_text IS NOT NULL AND (spend_text::@extschema@.gamma_gamma_model).converged THEN
				clv_sql := format('CASE WHEN s.tenure > 0 AND (s.frequency = 0 OR s.repeat_avg_amount > 0) THEN '
								  '@extschema@.clv_estimate(%L::@extschema@.%s_model, %L::@extschema@.gamma_gamma_model, '
								  's.frequency, s.recency, s.tenure, s.repeat_avg_amount, 12, 0.01) END',
								  purchase_text, purchase_type, spend_text);
			END IF;
		END IF;

		-- 3. scores, previous state, stage
		IF to_regclass('pg_temp.clm_run_new') IS NOT NULL THEN
			DROP TABLE pg_temp.clm_run_new;
		END IF;
		EXECUTE format($q$
			CREATE TEMP TABLE clm_run_new ON COMMIT DROP AS
			WITH s AS (
				SELECT s.*, old.stage AS prev_stage, old.high_value_at_risk AS prev_hv,
					   old.stage_since AS prev_since
				FROM clm_run_summary s
				LEFT JOIN @extschema@.customer_state old
					   ON old.job_id = %s AND old.customer_id = s.customer_id),
			scored AS (
				SELECT s.*,
					   @extschema@.rfm_score(s.days_since_last, s.orders, s.total_amount) OVER () AS rfm,
					   @extschema@.abc_class(greatest(s.total_amount, 0)) OVER () AS abc,
					   %s AS p_alive,
					   %s AS clv,
					   @extschema@.churn_risk(s.days_since_last, s.avg_days_between, s.orders) AS signal_risk
				FROM s),
			risk AS (
				SELECT scored.*, coalesce(1 - scored.p_alive, scored.signal_risk) AS churn_risk,
					   CASE WHEN scored.clv IS NOT NULL
							THEN cume_dist() OVER (PARTITION BY scored.clv IS NULL ORDER BY scored.clv) END AS clv_rank
				FROM scored)
			SELECT risk.*,
				   @extschema@.health_score(risk.signal_risk, risk.orders_ratio, risk.amount_ratio) AS health,
				   coalesce(risk.clv_rank > 1 - %s AND risk.churn_risk >= %s, false) AS hv_at_risk,
				   @extschema@.lifecycle_stage(risk.first_purchase, risk.last_purchase, risk.orders, %L,
											   risk.churn_risk, risk.prev_stage, %L) AS stage
			FROM risk
		$q$, j.job_id, p_alive_sql, clv_sql,
			 (rules ->> 'high_value_share')::float8, (rules ->> 'high_value_min_risk')::float8,
			 as_of, policy);

		-- 4. history, alerts (once per episode, with NOTIFY), state
		INSERT INTO @extschema@.stage_history (job_id, customer_id, from_stage, to_stage, changed_at, run_id)
		SELECT j.job_id, n.customer_id, n.prev_stage, n.stage, as_of, run.run_id
		FROM clm_run_new n WHERE n.prev_stage IS DISTINCT FROM n.stage;

		FOR a IN
			INSERT INTO @extschema@.alerts (job_id, customer_id, kind, episode_start, raised_at, run_id, details)
			SELECT j.job_id, n.customer_id, k.kind, as_of, clock_timestamp(), run.run_id,
				   jsonb_build_object('from_stage', n.prev_stage, 'stage', n.stage,
									  'churn_risk', n.churn_risk, 'clv', n.clv, 'health', n.health,
									  'segment', (n.rfm).segment)
			FROM (SELECT * FROM clm_run_new n
				  WHERE n.prev_stage IS DISTINCT FROM n.stage
					 OR (n.hv_at_risk AND NOT coalesce(n.prev_hv, false))) n,
				 LATERAL (VALUES
					('entered_at_risk', n.stage = 'at_risk' AND n.prev_stage <> 'at_risk'),
					('churned', n.stage = 'churned' AND n.prev_stage <> 'churned'),
					('reactivated', n.stage = 'reactivated' AND n.prev_stage <> 'reactivated'),
					('high_value_at_risk', n.hv_at_risk AND n.prev_stage IS NOT NULL AND NOT coalesce(n.prev_hv, false))
				 ) AS k(kind, fires)
			WHERE k.fires AND (rules ->> k.kind)::boolean
			ON CONFLICT (job_id, customer_id, kind, episode_start) DO NOTHING
			RETURNING alerts.alert_id, alerts.customer_id, alerts.kind, alerts.details
		LOOP
			PERFORM pg_notify('clm_alerts', (jsonb_build_object(
				'alert_id', a.alert_id, 'job', j.name, 'customer_id', a.customer_id,
				'kind', a.kind, 'raised_at', as_of) || a.details)::text);
			n_alerts := n_alerts + 1;
		END LOOP;

		-- the state is rewritten as a whole: one DELETE and one INSERT are far
		-- cheaper than a per-row upsert, and customers gone from the source go
		DELETE FROM @extschema@.customer_state cs WHERE cs.job_id = j.job_id;
		INSERT INTO @extschema@.customer_state (
			job_id, customer_id, first_purchase, last_purchase, orders, frequency, recency_weeks,
			tenure_weeks, days_since_last, total_amount, avg_amount, r, f, m, rfm_cell, segment, abc,
			p_alive, clv, churn_risk, health, stage, stage_since, high_value_at_risk, updated_at)
		SELECT j.job_id, n.customer_id, n.first_purchase, n.last_purchase, n.orders, n.frequency,
			   n.recency, n.tenure, n.days_since_last, n.total_amount, n.avg_amount,
			   (n.rfm).r, (n.rfm).f, (n.rfm).m, (n.rfm).cell, (n.rfm).segment, n.abc,
			   n.p_alive, n.clv, n.churn_risk, n.health, n.stage,
			   CASE WHEN n.prev_stage IS NOT DISTINCT FROM n.stage THEN n.prev_since ELSE as_of END,
			   n.hv_at_risk, as_of
		FROM clm_run_new n
		ORDER BY n.customer_id;		-- key order: the primary key index fills page by page
		SELECT count(*) INTO n_customers FROM clm_run_new;

		UPDATE @extschema@.job_runs SET status = 'succeeded', finished_at = clock_timestamp(),
			customers = n_customers, alerts = n_alerts
		WHERE job_runs.run_id = run.run_id
		RETURNING * INTO run;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS err_msg = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE;
		UPDATE @extschema@.job_runs SET status = 'failed', finished_at = clock_timestamp(),
			error = err_state || ': ' || err_msg
		WHERE job_runs.run_id = run.run_id
		RETURNING * INTO run;
	END;
	UPDATE @extschema@.jobs SET last_run_at = as_of, next_run_at = as_of + j.schedule
	WHERE jobs.job_id = j.job_id;
	RETURN run;
END
$fn$;
COMMENT ON FUNCTION @extschema@.run_job_by_id(bigint, text) IS
'run a job now (the worker''s code path); returns its clm.job_runs row';

CREATE FUNCTION @extschema@.run_job(name text)
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
	RETURN @extschema@.run_job_by_id(id, 'manual');
END
$fn$;
COMMENT ON FUNCTION @extschema@.run_job(text) IS
'run a job now, through the same code as the background worker; returns its clm.job_runs row';

CREATE FUNCTION @extschema@.acknowledge_alert(alert_id bigint)
RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $fn$
	UPDATE @extschema@.alerts a SET acknowledged_at = pg_catalog.now()
	WHERE a.alert_id OPERATOR(pg_catalog.=) $1 AND a.acknowledged_at IS NULL
	RETURNING true
$fn$;
COMMENT ON FUNCTION @extschema@.acknowledge_alert(bigint) IS 'mark an alert as handled';
