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
	schedule text NOT NULL CHECK (@extschema@.check_schedule(schedule)),
	policy jsonb NOT NULL DEFAULT '{}',
	purchase_model text,
	spend_model text,
	alert_rules jsonb NOT NULL DEFAULT '{}',
	timeout interval NOT NULL DEFAULT '1 hour' CHECK (timeout > interval '0'),
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_run_at timestamptz,
	next_run_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_purchase_fit @extschema@.mbgnbd_model,
	last_spend_fit @extschema@.gamma_gamma_model,
	time_zone text NOT NULL DEFAULT pg_catalog.current_setting('TimeZone'),
	incremental boolean NOT NULL DEFAULT true,
	full_refresh_every interval NOT NULL DEFAULT '1 day' CHECK (full_refresh_every > interval '0'),
	capture boolean NOT NULL DEFAULT false,
	last_as_of timestamptz,
	watermark timestamptz,
	last_full_refresh_at timestamptz,
	scoring @extschema@.scoring,
	breakpoints @extschema@.breakpoints,
	max_retries integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 100),
	retry_period interval NOT NULL DEFAULT '1 minute' CHECK (retry_period > interval '0'),
	attempt integer NOT NULL DEFAULT 1,
	consecutive_failures integer NOT NULL DEFAULT 0,
	runs_retention interval NOT NULL DEFAULT '30 days' CHECK (runs_retention > interval '0'),
	history_retention interval NOT NULL DEFAULT '1 year' CHECK (history_retention > interval '0'),
	alerts_retention interval NOT NULL DEFAULT '90 days' CHECK (alerts_retention > interval '0')
);
COMMENT ON TABLE @extschema@.jobs IS
'scheduled reclassification jobs: each belongs to and runs as its owner';
COMMENT ON COLUMN @extschema@.jobs.job_id IS 'job id';
COMMENT ON COLUMN @extschema@.jobs.name IS 'unique job name, as clm.run_job(name) takes it';
COMMENT ON COLUMN @extschema@.jobs.owner IS 'role the job belongs to and runs as';
COMMENT ON COLUMN @extschema@.jobs.source IS 'table or view of transactions';
COMMENT ON COLUMN @extschema@.jobs.customer_column IS 'customer column of source (any type, stored as text)';
COMMENT ON COLUMN @extschema@.jobs.ts_column IS 'timestamp column of source';
COMMENT ON COLUMN @extschema@.jobs.amount_column IS 'amount column of source';
COMMENT ON COLUMN @extschema@.jobs.customers_source IS 'optional table or view of known customers, so that prospects exist';
COMMENT ON COLUMN @extschema@.jobs.customers_id_column IS 'customer column of customers_source';
COMMENT ON COLUMN @extschema@.jobs.policy IS 'stage policy: fields over clm.stage_policy_defaults()';
COMMENT ON COLUMN @extschema@.jobs.purchase_model IS 'stored model (clm.models) used for P(alive) and CLV; NULL: fit MBG/NBD at each full refresh';
COMMENT ON COLUMN @extschema@.jobs.spend_model IS 'stored Gamma-Gamma model (clm.models); NULL: fit at each full refresh';
COMMENT ON COLUMN @extschema@.jobs.alert_rules IS 'alert rules: fields over clm.alert_rules_defaults()';
COMMENT ON COLUMN @extschema@.jobs.enabled IS 'false: the worker does not run the job';
COMMENT ON COLUMN @extschema@.jobs.created_at IS 'when the job was created';
COMMENT ON COLUMN @extschema@.jobs.last_run_at IS 'when the job last ran';
COMMENT ON COLUMN @extschema@.jobs.next_run_at IS 'when the worker runs the job next';
COMMENT ON COLUMN @extschema@.jobs.last_spend_fit IS 'the Gamma-Gamma model fitted by the last run (when the job fits its own); the next run starts from it';
COMMENT ON COLUMN @extschema@.jobs.last_as_of IS 'as_of of the last successful run';
COMMENT ON COLUMN @extschema@.jobs.last_full_refresh_at IS 'as_of of the last full refresh';
COMMENT ON COLUMN @extschema@.jobs.last_purchase_fit IS
'the models fitted by the last run (when the job fits its own); the next run starts from them';
COMMENT ON COLUMN @extschema@.jobs.time_zone IS
'the time zone every run of the job uses (purchases collapse per local day; day and review times are local); set from the creating session''s TimeZone';
COMMENT ON COLUMN @extschema@.jobs.incremental IS
'true: a run rescans only customers whose transactions changed (change capture) or whose review time is due; false: every run rescans every customer (still writing only changed rows)';
COMMENT ON COLUMN @extschema@.jobs.full_refresh_every IS
'how often a run is a full refresh: refit the models, recompute the breakpoints, rescore everyone';
COMMENT ON COLUMN @extschema@.jobs.capture IS
'whether change-capture triggers are installed on the source (a table); false for views: runs then scan the whole source';
COMMENT ON COLUMN @extschema@.jobs.watermark IS
'change capture: source rows dated after it have not been summarised and are read by the next run from the source (by ts); changes to rows at or before it are logged in clm.job_changes; NULL: every change is logged';
COMMENT ON COLUMN @extschema@.jobs.scoring IS
'the models, policy and alert rules of the last full refresh, used by the incremental runs until the next one';
COMMENT ON COLUMN @extschema@.jobs.schedule IS
'an interval (''15 minutes'') or a 5-field cron expression (''*/10 * * * *'', ''0 3 * * 1-5''), in the job''s time zone';
COMMENT ON COLUMN @extschema@.jobs.timeout IS
'the longest a run may take (max runtime, default 1 hour): the worker cancels it then and records it as failed (SQLSTATE 57014)';
COMMENT ON COLUMN @extschema@.jobs.max_retries IS
'how many times a failed run is retried before the job waits for its next scheduled slot';
COMMENT ON COLUMN @extschema@.jobs.retry_period IS
'retry n of a failed run starts retry_period x n (+ up to 10 % jitter) after the failure, never later than the next slot';
COMMENT ON COLUMN @extschema@.jobs.attempt IS
'the attempt number of the next run: 1 at a scheduled slot, 2 and up for retries';
COMMENT ON COLUMN @extschema@.jobs.consecutive_failures IS
'failed runs since the last success';
COMMENT ON COLUMN @extschema@.jobs.runs_retention IS
'the worker deletes the job''s runs older than this (keeping the last run, the last success and runs of open alerts)';
COMMENT ON COLUMN @extschema@.jobs.history_retention IS
'the worker deletes stage changes older than this (keeping each customer''s latest change and the history of customers with an open alert)';
COMMENT ON COLUMN @extschema@.jobs.alerts_retention IS
'the worker deletes alerts acknowledged longer ago than this (open alerts are kept)';
COMMENT ON COLUMN @extschema@.jobs.breakpoints IS
'the RFM, ABC and high-value breakpoints of the last full refresh, used by the incremental runs until the next one';

CREATE TABLE @extschema@.job_runs (
	run_id bigserial PRIMARY KEY,
	job_id bigint NOT NULL REFERENCES @extschema@.jobs ON DELETE CASCADE,
	job_name text NOT NULL,
	trigger text NOT NULL CHECK (trigger IN ('worker', 'manual')),
	started_at timestamptz NOT NULL,
	finished_at timestamptz,
	status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	customers bigint,
	scored bigint,
	written bigint,
	alerts integer,
	attempt integer NOT NULL DEFAULT 1,
	sqlstate text,
	message text,
	note text
);
CREATE INDEX ON @extschema@.job_runs (job_id, started_at);
COMMENT ON TABLE @extschema@.job_runs IS 'one row per job run: start, end, status, customers, work done, alerts, error';
COMMENT ON COLUMN @extschema@.job_runs.run_id IS 'run id';
COMMENT ON COLUMN @extschema@.job_runs.job_id IS 'the job (clm.jobs)';
COMMENT ON COLUMN @extschema@.job_runs.job_name IS 'the job''s name at the time of the run';
COMMENT ON COLUMN @extschema@.job_runs.trigger IS 'worker or manual (clm.run_job)';
COMMENT ON COLUMN @extschema@.job_runs.started_at IS 'start of the run';
COMMENT ON COLUMN @extschema@.job_runs.finished_at IS 'end of the run';
COMMENT ON COLUMN @extschema@.job_runs.status IS 'running, succeeded or failed';
COMMENT ON COLUMN @extschema@.job_runs.alerts IS 'alerts the run raised';
COMMENT ON COLUMN @extschema@.job_runs.attempt IS 'attempt number: 1 at a scheduled slot, 2 and up for the retries after failures';
COMMENT ON COLUMN @extschema@.job_runs.sqlstate IS 'of a failed run: the SQLSTATE of the error (57014: timed out or cancelled)';
COMMENT ON COLUMN @extschema@.job_runs.message IS 'of a failed run: the error message';
COMMENT ON COLUMN @extschema@.job_runs.note IS 'of a successful run: what it could not do as asked, e.g. a model fit that did not converge (the last converged fit scored instead)';
COMMENT ON COLUMN @extschema@.job_runs.customers IS 'customers in the job''s state after the run';
COMMENT ON COLUMN @extschema@.job_runs.scored IS 'customers the run scored: everyone at a full refresh or without change capture, else those whose transactions changed or whose review time had come';
COMMENT ON COLUMN @extschema@.job_runs.written IS 'rows of the job''s state table the run inserted, updated or deleted (unchanged rows are not written)';

-- Each job keeps its customers' state and stage history in two tables of
-- its own, @extschema@.job_state_<job_id> and @extschema@.job_history_<job_id>
-- (clm.job_tables(name) names them), created by clm.create_job_tables from
-- the two templates below and owned by the job's owner.  Their
-- customer_id has the type of the source's customer column (a built-in
-- type with a btree order, or a domain over one; else text), so a BI
-- query joins them to the user's customers table without a cast, and on
-- Citus they can be distributed by it, co-located with the source.
-- Dropping a job drops its tables: no other job's rows are scanned.  The
-- views clm.customer_state and clm.stage_history (80_views.sql) read every
-- job's, with the key as text.
CREATE TABLE @extschema@.job_state_template (
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
	scored_at timestamptz NOT NULL,
	next_review timestamptz,
	repeat_avg_amount float8
)
-- Rows are updated in place, a few percent a day.  A full page gives an
-- updated row's new version another page, which costs a second page in
-- the WAL (the old page is logged to lock the row, the new one to hold
-- it) and an entry in every index; with room left on the page the new
-- version stays there (HOT, without index entries, when next_review did
-- not change).  A job's state table takes its storage parameters from
-- here (clm.create_job_tables).
WITH (fillfactor = 90);
COMMENT ON TABLE @extschema@.job_state_template IS
'the columns of every job''s state table (clm.job_state_<job_id>, see clm.job_tables); always empty';
COMMENT ON COLUMN @extschema@.job_state_template.customer_id IS 'the customer, of the source''s customer column type';
COMMENT ON COLUMN @extschema@.job_state_template.first_purchase IS 'earliest transaction (NULL for a prospect)';
COMMENT ON COLUMN @extschema@.job_state_template.last_purchase IS 'latest transaction (NULL for a prospect)';
COMMENT ON COLUMN @extschema@.job_state_template.orders IS 'number of transactions';
COMMENT ON COLUMN @extschema@.job_state_template.frequency IS 'repeat purchase days (clm.summary.frequency)';
COMMENT ON COLUMN @extschema@.job_state_template.recency_weeks IS 'first to last purchase day, in weeks';
COMMENT ON COLUMN @extschema@.job_state_template.tenure_weeks IS 'first purchase day to the day of scored_at, in weeks';
COMMENT ON COLUMN @extschema@.job_state_template.days_since_last IS 'last purchase day to the day of scored_at';
COMMENT ON COLUMN @extschema@.job_state_template.total_amount IS 'sum of the amounts';
COMMENT ON COLUMN @extschema@.job_state_template.avg_amount IS 'total_amount / orders';
COMMENT ON COLUMN @extschema@.job_state_template.r IS 'RFM recency score (1 to 5)';
COMMENT ON COLUMN @extschema@.job_state_template.f IS 'RFM frequency score (1 to 5)';
COMMENT ON COLUMN @extschema@.job_state_template.m IS 'RFM monetary score (1 to 5)';
COMMENT ON COLUMN @extschema@.job_state_template.rfm_cell IS 'the three RFM scores as digits';
COMMENT ON COLUMN @extschema@.job_state_template.segment IS 'RFM segment';
COMMENT ON COLUMN @extschema@.job_state_template.abc IS 'ABC class by total_amount';
COMMENT ON COLUMN @extschema@.job_state_template.p_alive IS 'probability that the customer is still active, as of scored_at (NULL without a converged purchase model)';
COMMENT ON COLUMN @extschema@.job_state_template.clv IS 'CLV over 12 months at 1% a month, as of scored_at (NULL without converged models)';
COMMENT ON COLUMN @extschema@.job_state_template.churn_risk IS '1 - p_alive, or the signal form of clm.churn_risk without a model, as of scored_at';
COMMENT ON COLUMN @extschema@.job_state_template.health IS 'health score, 0 to 100, as of scored_at';
COMMENT ON COLUMN @extschema@.job_state_template.stage IS 'lifecycle stage';
COMMENT ON COLUMN @extschema@.job_state_template.stage_since IS 'when the customer entered stage';
COMMENT ON COLUMN @extschema@.job_state_template.high_value_at_risk IS 'CLV in the top high_value_share and churn risk at least high_value_min_risk';
COMMENT ON COLUMN @extschema@.job_state_template.scored_at IS
'the as_of of the run that last scored this customer: the time the as-of values (p_alive, clv, churn_risk, health, tenure_weeks, days_since_last) hold for';
COMMENT ON COLUMN @extschema@.job_state_template.repeat_avg_amount IS
'mean amount of the repeat purchase days (clm.summary.repeat_avg_amount): with frequency, recency and first_purchase, what a full refresh fits its models on for the customers that did not change';
COMMENT ON COLUMN @extschema@.job_state_template.next_review IS
'when the stage, R score or high-value flag can next change if the customer buys nothing (NULL: never); an incremental run rescores customers whose review is due';

CREATE SEQUENCE @extschema@.stage_history_id_seq;
COMMENT ON SEQUENCE @extschema@.stage_history_id_seq IS 'ids of the rows of every job''s history table';
CREATE TABLE @extschema@.job_history_template (
	id bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.stage_history_id_seq'::pg_catalog.regclass),
	customer_id text NOT NULL,
	from_stage @extschema@.stage,
	to_stage @extschema@.stage NOT NULL,
	changed_at timestamptz NOT NULL,
	run_id bigint NOT NULL
);
COMMENT ON TABLE @extschema@.job_history_template IS
'the columns of every job''s stage history table (clm.job_history_<job_id>, see clm.job_tables); always empty';
COMMENT ON COLUMN @extschema@.job_history_template.id IS 'row id (one sequence for every job)';
COMMENT ON COLUMN @extschema@.job_history_template.customer_id IS 'the customer, of the source''s customer column type';
COMMENT ON COLUMN @extschema@.job_history_template.from_stage IS 'stage before (NULL: first classification)';
COMMENT ON COLUMN @extschema@.job_history_template.to_stage IS 'stage after';
COMMENT ON COLUMN @extschema@.job_history_template.changed_at IS 'as_of of the run that saw the change';
COMMENT ON COLUMN @extschema@.job_history_template.run_id IS 'the run (clm.job_runs)';

-- template_columns: the select list of a job table's rows in the template's
-- column order, the key cast to text (one list for the views below)
CREATE FUNCTION @extschema@.template_columns(template regclass)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT pg_catalog.string_agg(CASE WHEN a.attname OPERATOR(pg_catalog.=) 'customer_id' THEN '(s.customer_id)::pg_catalog.text'
									  ELSE 's.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname) END,
								 ', ' ORDER BY a.attnum)
	FROM pg_catalog.pg_attribute a
	WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
$fn$;
COMMENT ON FUNCTION @extschema@.template_columns(regclass) IS
'internal: the select list of a job table (alias s) in its template''s column order, the customer key as text';

-- alerts have no foreign key to jobs (a per-row RI check costs more than
-- the insert); the jobs_cleanup trigger removes a dropped job's rows
-- job_changes: the customer keys whose transactions at or before a job's
-- watermark changed since the last run, written by the capture trigger on
-- the job's source (src/capture.c) as this table's owner (customer_id
-- NULL: rescan everything, after TRUNCATE or a change capture could not
-- follow).  One row per customer: the unique index (NULLs equal) makes a
-- repeat a no-op.  Owners read and consume their jobs' rows.
CREATE TABLE @extschema@.job_changes (
	job_id bigint NOT NULL,
	customer_id text
);
CREATE UNIQUE INDEX job_changes_key ON @extschema@.job_changes (job_id, customer_id) NULLS NOT DISTINCT;
COMMENT ON TABLE @extschema@.job_changes IS
'customers whose transactions changed since the last run of a job (capture triggers append, runs consume); customer_id NULL asks for a full rescan';
COMMENT ON COLUMN @extschema@.job_changes.job_id IS 'the job (clm.jobs)';
COMMENT ON COLUMN @extschema@.job_changes.customer_id IS 'customer whose transactions at or before the job''s watermark changed (once per customer); NULL: rescan everyone';

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
COMMENT ON COLUMN @extschema@.alerts.alert_id IS 'alert id, as clm.acknowledge_alert(id) takes it';
COMMENT ON COLUMN @extschema@.alerts.job_id IS 'the job (clm.jobs)';
COMMENT ON COLUMN @extschema@.alerts.customer_id IS 'the customer, as text';
COMMENT ON COLUMN @extschema@.alerts.kind IS 'entered_at_risk, churned, reactivated or high_value_at_risk';
COMMENT ON COLUMN @extschema@.alerts.episode_start IS 'start of the episode the alert belongs to (one alert per customer, kind and episode)';
COMMENT ON COLUMN @extschema@.alerts.raised_at IS 'when the run raised it';
COMMENT ON COLUMN @extschema@.alerts.run_id IS 'the run that raised it (clm.job_runs)';
COMMENT ON COLUMN @extschema@.alerts.details IS 'the NOTIFY clm_alerts payload: stages, churn risk, CLV, health, segment';
COMMENT ON COLUMN @extschema@.alerts.acknowledged_at IS 'when clm.acknowledge_alert was called (NULL: open)';

CREATE FUNCTION @extschema@.jobs_cleanup()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	EXECUTE format('DROP TABLE IF EXISTS %s, %s', @extschema@.job_table_name(OLD.job_id, 'state'),
				   @extschema@.job_table_name(OLD.job_id, 'history'));
	DELETE FROM @extschema@.alerts a WHERE a.job_id = OLD.job_id;
	DELETE FROM @extschema@.job_changes c WHERE c.job_id = OLD.job_id;
	RETURN OLD;
END
$fn$;
COMMENT ON FUNCTION @extschema@.jobs_cleanup() IS
'trigger: a deleted job takes its state and history tables and its alerts with it';
CREATE TRIGGER jobs_cleanup AFTER DELETE ON @extschema@.jobs
	FOR EACH ROW EXECUTE FUNCTION @extschema@.jobs_cleanup();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.jobs_job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alerts_alert_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_changes', '');

-- Row-level security: users see and change only their own jobs and what
-- belongs to them; superusers (and the extension owner) see everything.
ALTER TABLE @extschema@.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_owner ON @extschema@.jobs
	USING (owner OPERATOR(pg_catalog.=) CURRENT_USER)
	WITH CHECK (owner OPERATOR(pg_catalog.=) CURRENT_USER);
ALTER TABLE @extschema@.job_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_runs_owner ON @extschema@.job_runs
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY alerts_owner ON @extschema@.alerts
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.job_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_changes_append ON @extschema@.job_changes FOR INSERT
	WITH CHECK (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
CREATE POLICY job_changes_owner ON @extschema@.job_changes FOR SELECT
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
CREATE POLICY job_changes_consume ON @extschema@.job_changes FOR DELETE
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
GRANT SELECT, INSERT, DELETE ON @extschema@.job_changes TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.jobs, @extschema@.job_runs,
	@extschema@.alerts TO PUBLIC;
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

-- Change capture (src/capture.c): a BEFORE ROW trigger in C on the job's
-- source that logs only changes to rows at or before the job's watermark,
-- and a TRUNCATE trigger that asks for a full rescan
CREATE FUNCTION @extschema@.capture()
RETURNS trigger
AS 'MODULE_PATHNAME', 'clm_capture'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.capture() IS
'trigger (arguments: job id, customer, ts and amount columns): log the customers whose rows at or before the job''s watermark an INSERT, UPDATE or DELETE changed, or a full rescan after TRUNCATE or when a column is gone; never fails the statement';

CREATE FUNCTION @extschema@.capture_advance(job_id bigint, source regclass, watermark timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_capture_advance'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.capture_advance(bigint, regclass, timestamptz) IS
'a run publishes its new watermark to the capture triggers and waits for the transactions writing the source; true when published (used by clm.job_compute)';

CREATE FUNCTION @extschema@.capture_sync(job_id bigint, dropped boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'clm_capture_sync'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.capture_sync(bigint, boolean) IS
'at commit, tell the capture triggers that the caller''s job is dropped, or enabled or disabled as its row says (used by clm.alter_job and clm.drop_job)';

-- install_capture: the capture triggers on a table source; false (and a
-- NOTICE) when the source is not a table or the caller may not add
-- triggers to it, in which case every run scans the whole source.  Named
-- to fire after the table's own BEFORE triggers (they fire in name order),
-- so the row is seen as it will be stored.
CREATE FUNCTION @extschema@.install_capture(job_id bigint, source regclass, customer_column text,
	ts_column text, amount_column text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = source) NOT IN ('r', 'p') THEN
		RAISE NOTICE '% is not a table: its job will scan it whole on every run', source;
		RETURN false;
	END IF;
	IF NOT has_table_privilege(source, 'TRIGGER') THEN
		RAISE NOTICE 'no TRIGGER privilege on %: its job will scan it whole on every run', source
			USING HINT = 'The table owner can GRANT TRIGGER on it, then run clm.alter_job(name, incremental => true).';
		RETURN false;
	END IF;
	EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				   'EXECUTE FUNCTION @extschema@.capture(%L, %L, %L, %L)',
				   'zz_clm_capture_' || job_id, source, job_id, customer_column, ts_column, amount_column);
	EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT '
				   'EXECUTE FUNCTION @extschema@.capture(%L, %L, %L, %L)',
				   'zz_clm_capture_' || job_id || '_truncate', source, job_id, customer_column, ts_column,
				   amount_column);
	RETURN true;
END
$fn$;
COMMENT ON FUNCTION @extschema@.install_capture(bigint, regclass, text, text, text) IS
'add the change-capture triggers of a job to its source table; false when the source is a view or the caller lacks the TRIGGER privilege';

-- drop_capture: remove a job's capture triggers (dropping a trigger needs
-- the table's ownership: otherwise a WARNING says who must do it)
CREATE FUNCTION @extschema@.drop_capture(job_id bigint, source text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	rel regclass := to_regclass(source);
	tg text;
BEGIN
	IF rel IS NULL THEN
		RETURN;
	END IF;
	FOR tg IN SELECT t.tgname FROM pg_trigger t
			  WHERE t.tgrelid = rel AND t.tgname IN ('zz_clm_capture_' || job_id, 'zz_clm_capture_' || job_id || '_truncate')
	LOOP
		BEGIN
			EXECUTE format('DROP TRIGGER %I ON %s', tg, rel);
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE WARNING 'could not drop trigger % on %', tg, rel
				USING HINT = 'The table owner must drop it (it does nothing for a dropped job).';
		END;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.drop_capture(bigint, text) IS
'remove the change-capture triggers of a job from its source';

-- has_key_index: whether some index of the source starts with the customer
-- column (an incremental run reads a changed customer's transactions by key)
CREATE FUNCTION @extschema@.has_key_index(source regclass, customer_column text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT EXISTS (
		SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a
			ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
		   AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
		WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2)
$fn$;
COMMENT ON FUNCTION @extschema@.has_key_index(regclass, text) IS
'whether an index of the relation has the customer column first';

-- state_key_type: the type of a job's state key: the source's customer
-- column type when it is built in (pg_catalog) and btree-ordered, or a
-- domain over such a type (its base type); else text.  Only built-in types
-- reach the table clm.create_job_tables makes as its owner: no user code
-- (a type's functions, a domain's checks) is part of that DDL.
CREATE FUNCTION @extschema@.state_key_type(source regclass, customer_column text)
RETURNS regtype
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT coalesce((
		SELECT b.oid::pg_catalog.regtype
		FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
		JOIN pg_catalog.pg_type b ON b.oid OPERATOR(pg_catalog.=)
			CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN t.typbasetype ELSE t.oid END
		WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2
		  AND NOT a.attisdropped
		  AND b.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
		  AND b.typtype OPERATOR(pg_catalog.=) 'b' AND b.typelem OPERATOR(pg_catalog.=) 0
		  AND EXISTS (SELECT 1 FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_am m ON m.oid OPERATOR(pg_catalog.=) o.opcmethod
					  WHERE m.amname OPERATOR(pg_catalog.=) 'btree' AND o.opcdefault
						AND o.opcintype OPERATOR(pg_catalog.=) b.oid)),
		'pg_catalog.text'::pg_catalog.regtype)
$fn$;
COMMENT ON FUNCTION @extschema@.state_key_type(regclass, text) IS
'the type of a job''s state key for a source''s customer column: that type when built in and btree-ordered (a domain: its base type), else text';

-- job_table_name: the one definition of a job's table names
-- (kind 'state' or 'history'), qualified and quoted
CREATE FUNCTION @extschema@.job_table_name(job_id bigint, kind text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT '@extschema@.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(
		'job_' OPERATOR(pg_catalog.||) $2 OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) $1)
$fn$;
COMMENT ON FUNCTION @extschema@.job_table_name(bigint, text) IS
'the qualified name of a job''s state or history table (kind ''state'' or ''history''), whether or not it exists';

-- job_tables_of: a job's tables as they are, and the type of their key
-- (NULL for what is missing)
CREATE FUNCTION @extschema@.job_tables_of(job_id bigint, OUT state regclass, OUT history regclass,
	OUT key_type text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT t.s, t.h,
		   (SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
			WHERE a.attrelid OPERATOR(pg_catalog.=) t.s AND a.attname OPERATOR(pg_catalog.=) 'customer_id'
			  AND NOT a.attisdropped)
	FROM (SELECT pg_catalog.to_regclass(@extschema@.job_table_name($1, 'state')) AS s,
				 pg_catalog.to_regclass(@extschema@.job_table_name($1, 'history')) AS h) t
$fn$;
COMMENT ON FUNCTION @extschema@.job_tables_of(bigint) IS
'a job''s state and history tables (NULL when missing) and the type of their customer key';

-- record_extension_dependency: a job table depends on the extension, so
-- that DROP EXTENSION clm CASCADE drops it whole (src/jobtables.c)
CREATE FUNCTION @extschema@.record_extension_dependency(rel regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'clm_record_extension_dependency'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.record_extension_dependency(regclass) IS
'internal: record that a table in schema clm (a job''s state or history table) depends on the extension, so that DROP EXTENSION clm CASCADE drops it (not executable by PUBLIC)';
REVOKE ALL ON FUNCTION @extschema@.record_extension_dependency(regclass) FROM PUBLIC;

-- create_job_tables: a job's state and history tables, from the templates,
-- keyed like its source, owned by the job's owner.  SECURITY DEFINER (as
-- the extension's owner): job owners may not create objects in the
-- extension's schema.  Anyone may call it, for any job: it only creates
-- the tables a job lacks, owned by that job's owner, so nobody gains a
-- right by it.  Returns false when they existed.  Also ties them to the
-- extension when they are not (they come back from a dump without it).
-- The indexes of a job's tables, defined once: the state's primary key on
-- the customer (incremental runs and BI joins read by it) and its index on
-- next_review (the customers due), the history's primary key (id) and its
-- index on (customer_id, changed_at).  index_job_tables makes those missing; unindex_job_tables
-- drops them, for a run that fills empty tables (a first run): building an
-- index over a million rows once costs a fifth of a million random
-- insertions into it.  Both run as the tables' owner (the run) or from
-- create_job_tables; in one transaction with the fill, a failed run puts
-- the indexes back by rolling back.
CREATE FUNCTION @extschema@.job_index_name(job_id bigint, kind text)
RETURNS name
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT (CASE $2 WHEN 'review' THEN 'job_state_' OPERATOR(pg_catalog.||) $1 OPERATOR(pg_catalog.||) '_review'
					WHEN 'customer' THEN 'job_history_' OPERATOR(pg_catalog.||) $1 OPERATOR(pg_catalog.||) '_customer' END)::name
$fn$;
COMMENT ON FUNCTION @extschema@.job_index_name(bigint, text) IS
'internal: the name of a job table''s index (kind ''review'': the state''s on next_review; ''customer'': the history''s on the customer), as index_job_tables builds it and unindex_job_tables drops it';

CREATE FUNCTION @extschema@.index_job_tables(job_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	st regclass := to_regclass(@extschema@.job_table_name(job_id, 'state'));
	ht regclass := to_regclass(@extschema@.job_table_name(job_id, 'history'));
BEGIN
	IF st IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = st AND c.contype = 'p') THEN
		EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (customer_id)', st);
	END IF;
	IF st IS NOT NULL THEN
		EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (next_review)', @extschema@.job_index_name(job_id, 'review'), st);
	END IF;
	IF ht IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = ht AND c.contype = 'p') THEN
		EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (id)', ht);
	END IF;
	IF ht IS NOT NULL THEN
		EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (customer_id, changed_at)',
					   @extschema@.job_index_name(job_id, 'customer'), ht);
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.index_job_tables(bigint) IS
'internal: create the indexes a job''s state and history tables lack (the state''s primary key and next_review index, the history''s primary key and customer index)';

CREATE FUNCTION @extschema@.unindex_job_tables(job_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	st regclass := to_regclass(@extschema@.job_table_name(job_id, 'state'));
	ht regclass := to_regclass(@extschema@.job_table_name(job_id, 'history'));
	pk name;
BEGIN
	IF st IS NULL OR ht IS NULL THEN
		RETURN false;
	END IF;
	SELECT c.conname INTO pk FROM pg_constraint c WHERE c.conrelid = st AND c.contype = 'p';
	BEGIN
		IF pk IS NOT NULL THEN
			EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', st, pk);
		END IF;
	EXCEPTION WHEN dependent_objects_still_exist THEN
		RETURN false;		-- (a foreign key of the owner's refers to it: keep the indexes)
	END;
	EXECUTE format('DROP INDEX IF EXISTS @extschema@.%I, @extschema@.%I',
				   @extschema@.job_index_name(job_id, 'review'), @extschema@.job_index_name(job_id, 'customer'));
	RETURN true;
END
$fn$;
COMMENT ON FUNCTION @extschema@.unindex_job_tables(bigint) IS
'internal: drop the indexes of a job''s tables before a run fills them empty (clm.index_job_tables builds them after); false when they must stay';

CREATE FUNCTION @extschema@.create_job_tables(job_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
	st text := @extschema@.job_table_name(job_id, 'state');
	ht text := @extschema@.job_table_name(job_id, 'history');
	key_type regtype;
	k record;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = create_job_tables.job_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job with id %', job_id USING ERRCODE = 'undefined_object';
	END IF;
	IF to_regclass(st) IS NOT NULL AND to_regclass(ht) IS NOT NULL THEN
		PERFORM @extschema@.record_extension_dependency(r.rel)
		FROM (VALUES (to_regclass(st)), (to_regclass(ht))) r(rel)
		WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
						  WHERE d.classid = 'pg_class'::regclass AND d.objid = r.rel
							AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'n'
							AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'clm'));
		RETURN false;
	END IF;
	key_type := coalesce(@extschema@.state_key_type(to_regclass(j.source), j.customer_column), 'text');
	-- each table missing, from its template, keyed like the source
	FOR k IN
		SELECT * FROM (VALUES
			(st, 'job_state_template', 'state of every customer of job %s (clm.jobs): stage, segment, ABC class and summary change with purchases or at the review time; p_alive, clv, churn_risk, health, tenure_weeks and days_since_last are as of scored_at'),
			(ht, 'job_history_template', 'every stage change of the customers of job %s (from_stage NULL: first classification)')
		) v(tbl, template, about)
		WHERE to_regclass(v.tbl) IS NULL
	LOOP
		-- (LIKE copies no storage parameters: the template's are given)
		EXECUTE format('CREATE TABLE %s (LIKE @extschema@.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS)%s',
					   k.tbl, k.template,
					   (SELECT ' WITH (' || array_to_string(c.reloptions, ', ') || ')' FROM pg_class c
						WHERE c.oid = ('@extschema@.' || k.template)::regclass AND c.reloptions IS NOT NULL));
		EXECUTE format('ALTER TABLE %1$s ALTER COLUMN customer_id TYPE %2$s USING (customer_id::%2$s)', k.tbl, key_type);
		EXECUTE format('COMMENT ON TABLE %s IS %L', k.tbl, format(k.about, job_id));
		EXECUTE format('ALTER TABLE %s OWNER TO %I', k.tbl, j.owner);
		PERFORM @extschema@.record_extension_dependency(k.tbl::regclass);
	END LOOP;
	PERFORM @extschema@.index_job_tables(job_id);
	RETURN true;
END
$fn$;
COMMENT ON FUNCTION @extschema@.create_job_tables(bigint) IS
'create the state and history tables a job lacks (clm.job_state_<id>, clm.job_history_<id>), keyed like its source and owned by its owner; used by clm.create_job and by a run that finds them gone';

-- job_tables: where a job keeps its state and history
CREATE FUNCTION @extschema@.job_tables(name text, OUT state regclass, OUT history regclass)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT t.state, t.history
	FROM @extschema@.jobs j, @extschema@.job_tables_of(j.job_id) t WHERE j.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.job_tables(text) IS
'the state and history tables of a job (NULL: no job of that name visible to the caller)';

CREATE FUNCTION @extschema@.create_job(
	name text,
	source regclass,
	customer_column text DEFAULT 'customer_id',
	ts_column text DEFAULT 'ts',
	amount_column text DEFAULT 'amount',
	schedule text DEFAULT '1 day',
	customers_source regclass DEFAULT NULL,
	customers_id_column text DEFAULT 'customer_id',
	policy jsonb DEFAULT '{}',
	purchase_model text DEFAULT NULL,
	spend_model text DEFAULT NULL,
	alert_rules jsonb DEFAULT '{}',
	timeout interval DEFAULT NULL,
	enabled boolean DEFAULT true,
	time_zone text DEFAULT NULL,
	incremental boolean DEFAULT true,
	full_refresh_every interval DEFAULT '1 day',
	max_retries integer DEFAULT 3,
	retry_period interval DEFAULT '1 minute',
	runs_retention interval DEFAULT '30 days',
	history_retention interval DEFAULT '1 year',
	alerts_retention interval DEFAULT '90 days')
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	id bigint;
	tz text := coalesce(time_zone, current_setting('TimeZone'));
	uncovered text;
BEGIN
	IF name IS NULL OR source IS NULL OR schedule IS NULL THEN
		RAISE EXCEPTION 'name, source and schedule must not be NULL' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_schedule(schedule);
	PERFORM @extschema@.check_time_zone(tz);
	PERFORM @extschema@.check_job_settings(timeout, max_retries, retry_period, runs_retention,
										   history_retention, alerts_retention, full_refresh_every);
	PERFORM @extschema@.check_job_source(source, customer_column, ts_column, amount_column);
	IF customers_source IS NOT NULL THEN
		PERFORM @extschema@.check_job_source(customers_source, customers_id_column);
	END IF;
	PERFORM @extschema@.check_stage_policy(coalesce(policy, '{}'));
	PERFORM @extschema@.check_alert_rules(coalesce(alert_rules, '{}'));
	INSERT INTO @extschema@.jobs AS j (name, source, customer_column, ts_column, amount_column,
		customers_source, customers_id_column, schedule, policy, purchase_model, spend_model,
		alert_rules, timeout, enabled, time_zone, incremental, full_refresh_every, next_run_at,
		max_retries, retry_period, runs_retention, history_retention, alerts_retention)
	VALUES (create_job.name, source::text, customer_column, ts_column, amount_column,
		customers_source::text, CASE WHEN customers_source IS NOT NULL THEN customers_id_column END,
		btrim(schedule), coalesce(policy, '{}'), purchase_model, spend_model,
		coalesce(alert_rules, '{}'), coalesce(timeout, '1 hour'), coalesce(enabled, true), tz,
		coalesce(incremental, true), coalesce(full_refresh_every, '1 day'),
		-- an interval job runs at once, a cron job at its first slot
		CASE WHEN @extschema@.schedule_is_cron(schedule) THEN @extschema@.schedule_next(schedule, now(), tz)
			 ELSE now() END,
		coalesce(max_retries, 3), coalesce(retry_period, '1 minute'), coalesce(runs_retention, '30 days'),
		coalesce(history_retention, '1 year'), coalesce(alerts_retention, '90 days'))
	RETURNING j.job_id INTO id;
	PERFORM @extschema@.create_job_tables(id);
	IF coalesce(incremental, true) THEN
		UPDATE @extschema@.jobs j SET capture = @extschema@.install_capture(id, create_job.source, create_job.customer_column,
																			create_job.ts_column, create_job.amount_column)
		WHERE j.job_id = id;
		IF (SELECT j.capture FROM @extschema@.jobs j WHERE j.job_id = id)
		   AND NOT @extschema@.has_key_index(create_job.source, create_job.customer_column) THEN
			RAISE WARNING 'no index on %(%): incremental runs read changed customers by key', source, customer_column
				USING HINT = format('CREATE INDEX ON %s (%I);', source, customer_column);
		END IF;
		IF (SELECT j.capture FROM @extschema@.jobs j WHERE j.job_id = id)
		   AND NOT @extschema@.has_key_index(create_job.source, create_job.ts_column) THEN
			RAISE WARNING 'no index on %(%): incremental runs read the rows added since the last run by time', source, ts_column
				USING HINT = format('CREATE INDEX ON %s (%I);', source, ts_column);
		END IF;
	END IF;
	uncovered := @extschema@.scheduler_coverage();
	IF uncovered IS NOT NULL AND coalesce(enabled, true) THEN
		RAISE WARNING 'no clm worker will run job "%" by itself: %', name, uncovered
			USING HINT = 'Run it with clm.run_job(), or see "Scheduling" in the clm README.';
	END IF;
	RETURN id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.create_job(text, regclass, text, text, text, text, regclass, text, jsonb, text, text, jsonb, interval, boolean, text, boolean, interval, integer, interval, interval, interval, interval) IS
'create a reclassification job owned by the current user, with change capture on a table source; returns its id; warns when no background worker will run it';

-- check_job_settings: the scheduling settings of create_job and alter_job
-- (NULL: not given)
CREATE FUNCTION @extschema@.check_job_settings(timeout interval, max_retries integer, retry_period interval,
	runs_retention interval, history_retention interval, alerts_retention interval,
	full_refresh_every interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	k text;
	v interval;
BEGIN
	IF max_retries < 0 OR max_retries > 100 THEN
		RAISE EXCEPTION 'max_retries must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('The value is %s.', max_retries);
	END IF;
	FOR k, v IN VALUES ('timeout', timeout), ('retry_period', retry_period), ('runs_retention', runs_retention),
					   ('history_retention', history_retention), ('alerts_retention', alerts_retention),
					   ('full_refresh_every', full_refresh_every)
	LOOP
		-- at most 100 years: a run adds them to timestamps (and retry n waits n x retry_period)
		IF v <= interval '0' OR v > interval '100 years' THEN
			RAISE EXCEPTION '% must be a positive interval of at most 100 years', k
				USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %s.', v);
		END IF;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_job_settings(interval, integer, interval, interval, interval, interval, interval) IS
'error unless the scheduling settings given (timeout, max_retries, retry_period, retention, full_refresh_every) are in range';

-- check_time_zone: the one validator of a job's time zone, used by
-- create_job, alter_job and every run: what the TimeZone setting accepts,
-- since a run sets it (an abbreviation such as 'PDT' passes AT TIME ZONE but
-- not TimeZone; 'right/UTC' is refused for its leap seconds)
CREATE FUNCTION @extschema@.check_time_zone(time_zone text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_check_time_zone'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_time_zone(text) IS 'true for a time zone the TimeZone setting accepts (a zone name or a POSIX specification); error 22023 otherwise';

CREATE FUNCTION @extschema@.alter_job(
	name text,
	schedule text DEFAULT NULL,
	enabled boolean DEFAULT NULL,
	policy jsonb DEFAULT NULL,
	alert_rules jsonb DEFAULT NULL,
	purchase_model text DEFAULT NULL,
	spend_model text DEFAULT NULL,
	timeout interval DEFAULT NULL,
	source regclass DEFAULT NULL,
	time_zone text DEFAULT NULL,
	full_refresh_every interval DEFAULT NULL,
	incremental boolean DEFAULT NULL,
	max_retries integer DEFAULT NULL,
	retry_period interval DEFAULT NULL,
	runs_retention interval DEFAULT NULL,
	history_retention interval DEFAULT NULL,
	alerts_retention interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
	scoring_changed boolean;
	key_type regtype;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.name = alter_job.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	IF policy IS NOT NULL THEN PERFORM @extschema@.check_stage_policy(policy); END IF;
	IF alert_rules IS NOT NULL THEN PERFORM @extschema@.check_alert_rules(alert_rules); END IF;
	IF time_zone IS NOT NULL THEN PERFORM @extschema@.check_time_zone(time_zone); END IF;
	IF schedule IS NOT NULL THEN PERFORM @extschema@.check_schedule(schedule); END IF;
	PERFORM @extschema@.check_job_settings(timeout, max_retries, retry_period, runs_retention,
										   history_retention, alerts_retention, full_refresh_every);
	IF source IS NOT NULL THEN
		PERFORM @extschema@.check_job_source(source, j.customer_column, j.ts_column, j.amount_column);
		-- the state tables are keyed like the source: a new source must
		-- key its customers the same way
		key_type := to_regtype((@extschema@.job_tables_of(j.job_id)).key_type);
		IF key_type IS DISTINCT FROM @extschema@.state_key_type(source, j.customer_column) THEN
			RAISE EXCEPTION 'the customer column of % does not have the type of the job''s state key', source
				USING ERRCODE = 'datatype_mismatch',
					  DETAIL = format('The state is keyed by %s; %s(%s) would key it by %s.', key_type,
									  source, j.customer_column, @extschema@.state_key_type(source, j.customer_column)),
					  HINT = 'Create a new job for the new source (and drop this one).';
		END IF;
	END IF;
	-- what the stored breakpoints and scores depend on: the next run is a
	-- full refresh
	scoring_changed := policy IS NOT NULL OR alert_rules IS NOT NULL OR purchase_model IS NOT NULL
		OR spend_model IS NOT NULL OR source IS NOT NULL OR time_zone IS NOT NULL OR incremental IS NOT NULL;
	UPDATE @extschema@.jobs SET
		schedule = coalesce(btrim(alter_job.schedule), jobs.schedule),
		-- a new schedule or time zone counts from the last run (a slot
		-- missed since then runs at once)
		next_run_at = CASE WHEN alter_job.schedule IS NOT NULL OR alter_job.time_zone IS NOT NULL
						   THEN @extschema@.schedule_next(coalesce(alter_job.schedule, jobs.schedule),
														  coalesce(jobs.last_run_at, now()),
														  coalesce(alter_job.time_zone, jobs.time_zone))
						   ELSE jobs.next_run_at END,
		attempt = CASE WHEN alter_job.schedule IS NOT NULL THEN 1 ELSE jobs.attempt END,
		max_retries = coalesce(alter_job.max_retries, jobs.max_retries),
		retry_period = coalesce(alter_job.retry_period, jobs.retry_period),
		runs_retention = coalesce(alter_job.runs_retention, jobs.runs_retention),
		history_retention = coalesce(alter_job.history_retention, jobs.history_retention),
		alerts_retention = coalesce(alter_job.alerts_retention, jobs.alerts_retention),
		enabled = coalesce(alter_job.enabled, jobs.enabled),
		policy = coalesce(alter_job.policy, jobs.policy),
		alert_rules = coalesce(alter_job.alert_rules, jobs.alert_rules),
		purchase_model = coalesce(alter_job.purchase_model, jobs.purchase_model),
		spend_model = coalesce(alter_job.spend_model, jobs.spend_model),
		timeout = coalesce(alter_job.timeout, jobs.timeout),
		source = coalesce(alter_job.source::text, jobs.source),
		time_zone = coalesce(alter_job.time_zone, jobs.time_zone),
		full_refresh_every = coalesce(alter_job.full_refresh_every, jobs.full_refresh_every),
		incremental = coalesce(alter_job.incremental, jobs.incremental),
		last_full_refresh_at = CASE WHEN scoring_changed THEN NULL ELSE jobs.last_full_refresh_at END
	WHERE jobs.job_id = j.job_id;
	-- disabled: its changes are no longer logged (the capture trigger does
	-- nothing for it), so what was logged goes and a rescan is asked for;
	-- the triggers learn the new state at commit
	IF enabled IS NOT NULL AND enabled IS DISTINCT FROM j.enabled THEN
		IF NOT enabled THEN
			DELETE FROM @extschema@.job_changes c WHERE c.job_id = j.job_id;
			INSERT INTO @extschema@.job_changes (job_id, customer_id) VALUES (j.job_id, NULL);
		END IF;
		PERFORM @extschema@.capture_sync(j.job_id, false);
	END IF;
	-- a new source (or the old one renamed: its triggers came along) or
	-- incremental switched: capture triggers off both names, then on again
	-- if wanted (incremental => true also retries a capture that could not
	-- be installed before, e.g. once the TRIGGER privilege is granted)
	IF source IS NOT NULL OR incremental IS NOT NULL THEN
		PERFORM @extschema@.drop_capture(j.job_id, j.source);
		IF source IS NOT NULL THEN
			PERFORM @extschema@.drop_capture(j.job_id, source::text);
		END IF;
		UPDATE @extschema@.jobs SET capture =
			CASE WHEN coalesce(alter_job.incremental, j.incremental)
				 THEN @extschema@.install_capture(j.job_id, coalesce(alter_job.source, j.source::regclass), j.customer_column,
												  j.ts_column, j.amount_column)
				 ELSE false END
		WHERE jobs.job_id = j.job_id;
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.alter_job(text, text, boolean, jsonb, jsonb, text, text, interval, regclass, text, interval, boolean, integer, interval, interval, interval, interval) IS
'change a job; NULL arguments leave a setting as it is; a change to what scores depend on makes the next run a full refresh';

CREATE FUNCTION @extschema@.drop_job(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.name = drop_job.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM @extschema@.capture_sync(j.job_id, true);
	DELETE FROM @extschema@.jobs WHERE jobs.job_id = j.job_id;
	IF j.capture THEN
		PERFORM @extschema@.drop_capture(j.job_id, j.source);
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.drop_job(text) IS
'drop a job with its state, history, alerts, runs and capture triggers';

-- record_job_failure: called by the worker in a fresh transaction when a run
-- failed with an error its own handler could not catch (timeout, cancel, a
-- missing owner role); started_at: when the worker started the run
CREATE FUNCTION @extschema@.record_job_failure(job_id bigint, trigger text, sqlstate text, message text,
	started_at timestamptz DEFAULT NULL)
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
	INSERT INTO @extschema@.job_runs (job_id, job_name, trigger, started_at, finished_at, status, attempt,
									  sqlstate, message)
	VALUES (j.job_id, j.name, trigger, coalesce(started_at, statement_timestamp()), clock_timestamp(), 'failed',
			j.attempt, sqlstate, message);
	PERFORM @extschema@.reschedule_job(j.job_id, true, coalesce(started_at, now()));
END
$fn$;
COMMENT ON FUNCTION @extschema@.record_job_failure(bigint, text, text, text, timestamptz) IS
'record a failed run (SQLSTATE and message) and schedule the retry or the next slot (used by the background worker, as the job''s owner: row-level security limits it to the caller''s jobs)';

CREATE FUNCTION @extschema@.acknowledge_alert(alert_id bigint)
RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $fn$
	UPDATE @extschema@.alerts a SET acknowledged_at = pg_catalog.now()
	WHERE a.alert_id OPERATOR(pg_catalog.=) $1 AND a.acknowledged_at IS NULL
	RETURNING true
$fn$;
COMMENT ON FUNCTION @extschema@.acknowledge_alert(bigint) IS 'mark an alert as handled';

-- Every job's state and history in one place, the key as text: the rows of
-- one job's table (none when the caller may not read it, or it is gone),
-- and the views over all the jobs the caller sees.  A BI query on one job
-- reads its table (clm.job_tables) instead, keyed like the source.
CREATE FUNCTION @extschema@.job_table_rows(job_id bigint, kind text, template anyelement)
RETURNS SETOF anyelement
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	t regclass := to_regclass(@extschema@.job_table_name(job_id, kind));
BEGIN
	IF t IS NOT NULL AND has_table_privilege(t, 'SELECT') THEN
		RETURN QUERY EXECUTE format('SELECT %s FROM %s s',
			@extschema@.template_columns(pg_typeof(template)::text::regclass), t);
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.job_table_rows(bigint, text, anyelement) IS
'the rows of a job''s state or history table (kind ''state'' or ''history''), as the row type of its template (a NULL of clm.job_state_template or clm.job_history_template), the key as text; none when the caller may not read it';

CREATE VIEW @extschema@.customer_state WITH (security_invoker = true) AS
SELECT j.job_id, s.*
FROM @extschema@.jobs j
CROSS JOIN LATERAL @extschema@.job_table_rows(j.job_id, 'state', NULL::@extschema@.job_state_template) s;
COMMENT ON VIEW @extschema@.customer_state IS
'the state of every customer of every job the caller sees, the key as text (each job''s own table, clm.job_tables(name), is keyed like its source); p_alive, clv, churn_risk, health, tenure_weeks and days_since_last are as of scored_at (clm.preview_job(name) gives every value as of now without writing)';

CREATE VIEW @extschema@.stage_history WITH (security_invoker = true) AS
SELECT h.id, j.job_id, h.customer_id, h.from_stage, h.to_stage, h.changed_at, h.run_id
FROM @extschema@.jobs j
CROSS JOIN LATERAL @extschema@.job_table_rows(j.job_id, 'history', NULL::@extschema@.job_history_template) h;
COMMENT ON VIEW @extschema@.stage_history IS
'every stage change of every job the caller sees, the key as text (each job''s own table: clm.job_tables(name))';
COMMENT ON COLUMN @extschema@.customer_state.job_id IS 'the job (clm.jobs)';
COMMENT ON COLUMN @extschema@.stage_history.job_id IS 'the job (clm.jobs)';
-- the other columns say what their template's say (the key: as text)
DO $do$
DECLARE
	c record;
BEGIN
	FOR c IN
		SELECT v.view, a.attname, CASE WHEN a.attname = 'customer_id' THEN 'the customer, as text'
									   ELSE pg_catalog.col_description(v.template, a.attnum) END AS text
		FROM (VALUES ('@extschema@.customer_state'::pg_catalog.regclass, '@extschema@.job_state_template'::pg_catalog.regclass),
					 ('@extschema@.stage_history', '@extschema@.job_history_template')) v(view, template)
		JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) v.template
		WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
	LOOP
		EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', c.view, c.attname, c.text);
	END LOOP;
END
$do$;
GRANT SELECT ON @extschema@.customer_state, @extschema@.stage_history TO PUBLIC;
