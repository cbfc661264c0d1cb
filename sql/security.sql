-- security: a job's owner cannot take the rights of whoever runs the job
-- (issue 17): the identity switch in C, nothing a run sets outlives it,
-- settings validated once, internal functions not executable by PUBLIC,
-- dashboards that follow row security
-- (a server without clm preloaded warns that no worker will run the jobs)
SET client_min_messages = error;
SET timezone = 'UTC';

CREATE ROLE regress_sec_alice;
CREATE ROLE regress_sec_bob;
CREATE ROLE regress_sec_auditor BYPASSRLS;
CREATE SCHEMA sec_a AUTHORIZATION regress_sec_alice;
SET ROLE regress_sec_alice;
CREATE TABLE sec_a.tx (customer_id bigint, ts timestamptz, amount float8);
INSERT INTO sec_a.tx SELECT g % 5, '2024-01-01'::timestamptz + g * interval '3 days', 10
FROM generate_series(1, 50) g;
-- evil(where): tries every way back to the caller's rights, and reports
-- who it runs as; escalation = ALTER ROLE ... SUPERUSER
CREATE TABLE sec_a.log (at text, who text, tried text, outcome text);
CREATE FUNCTION sec_a.evil(at text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	cmd text;
BEGIN
	FOREACH cmd IN ARRAY ARRAY['RESET ROLE', 'SET ROLE NONE', 'SET SESSION AUTHORIZATION DEFAULT',
							   'ALTER ROLE regress_sec_alice SUPERUSER', 'CREATE TEMP TABLE sec_tmp (x int)',
							   'LISTEN sec_channel'] LOOP
		BEGIN
			EXECUTE cmd;
			INSERT INTO sec_a.log VALUES (at, current_user, cmd, 'done');
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO sec_a.log VALUES (at, current_user, cmd, SQLSTATE);
		END;
	END LOOP;
	PERFORM set_config('work_mem', '77MB', false);		-- a session setting
	RETURN true;
END $$;
-- through a view, a function in a WHERE, and an index expression
CREATE VIEW sec_a.v AS SELECT * FROM sec_a.tx WHERE sec_a.evil('view');
CREATE FUNCTION sec_a.evil_imm(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM sec_a.evil('index'); RETURN $1; END $$;
CREATE INDEX ON sec_a.tx (sec_a.evil_imm(customer_id));
SELECT clm.create_job('sec_evil', 'sec_a.v', schedule => '1 day', enabled => false) > 0 AS created;
CREATE INDEX ON sec_a.tx (customer_id);
CREATE INDEX ON sec_a.tx (ts);
SELECT clm.create_job('sec_evil_table', 'sec_a.tx', schedule => '1 day') > 0 AS created;
-- the owner cannot add a trigger to clm's tables; a trigger on the job's
-- own state and history tables (the owner owns them) runs as the owner
CREATE FUNCTION sec_a.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM sec_a.evil('trigger'); RETURN NEW; END $$;
CREATE TRIGGER sec_evil BEFORE INSERT ON clm.alerts FOR EACH ROW EXECUTE FUNCTION sec_a.trg();
CREATE TRIGGER sec_evil BEFORE INSERT ON clm.jobs FOR EACH ROW EXECUTE FUNCTION sec_a.trg();
SELECT (clm.job_tables('sec_evil_table')).state AS sec_state, (clm.job_tables('sec_evil_table')).history AS sec_history \gset
CREATE TRIGGER sec_evil BEFORE INSERT OR UPDATE ON :sec_state FOR EACH ROW EXECUTE FUNCTION sec_a.trg();
CREATE TRIGGER sec_evil BEFORE INSERT ON :sec_history FOR EACH ROW EXECUTE FUNCTION sec_a.trg();
DELETE FROM sec_a.log;
RESET ROLE;

-- run by a superuser: the owner's code runs as the owner and cannot go back
SELECT status, customers FROM clm.run_job('sec_evil');
SELECT status, customers FROM clm.run_job('sec_evil_table', full_refresh => true);
SELECT count(*) AS preview_rows FROM clm.preview_job('sec_evil');
SELECT rolsuper AS alice_is_superuser FROM pg_roles WHERE rolname = 'regress_sec_alice';
SELECT DISTINCT at, who, tried, outcome FROM sec_a.log ORDER BY 1, 2, 3, 4;
-- nothing the run set outlives it, in the caller's transaction either
BEGIN;
SET LOCAL TimeZone = 'Asia/Tokyo';
SELECT status FROM clm.run_job('sec_evil');
SELECT current_user = session_user AS same_user, current_setting('TimeZone') AS tz,
	   current_setting('work_mem') AS work_mem, current_setting('search_path') AS search_path;
COMMIT;
-- the job's time zone holds inside the run only
UPDATE clm.jobs SET time_zone = 'America/New_York' WHERE name = 'sec_evil';
SELECT count(*) FROM clm.preview_job('sec_evil');
SELECT current_setting('TimeZone') AS tz_after_preview;

-- run by another user: a job they cannot see is no job
SET ROLE regress_sec_bob;
SELECT clm.run_job('sec_evil');
SELECT * FROM clm.preview_job('sec_evil');
SELECT clm.run_job_by_id((SELECT 1::bigint));
-- the bodies are not executable without the switch
SELECT clm.run_job_body(1, 'manual', NULL, false);
SELECT clm.preview_job_body('sec_evil', NULL);
SELECT clm.run_scratch_tables();
RESET ROLE;

-- internal functions: no PUBLIC execute on the aggregates' support
-- functions, the bodies, pruning and the cleanup trigger; the aggregates
-- still work for everyone
SELECT p.proname, has_function_privilege('regress_sec_bob', p.oid, 'EXECUTE') AS bob_may
FROM pg_proc p
WHERE p.pronamespace = 'clm'::regnamespace
  AND p.proname IN ('customer_summary_trans', 'customer_summary_final', 'kpi_series_combine',
					'run_job_body', 'preview_job_body', 'run_scratch_tables', 'prune_history',
					'jobs_cleanup', 'run_job_by_id', 'run_job', 'preview_job')
GROUP BY p.proname, p.oid ORDER BY p.proname;
SET ROLE regress_sec_bob;
SELECT (clm.customer_summary(ts, amount, '2025-01-01')).orders
FROM (VALUES ('2024-01-01'::timestamptz, 5.0::float8), ('2024-02-01', 7)) t(ts, amount);
RESET ROLE;

-- dashboards follow row security and the job tables' privileges: the
-- owner sees their jobs, another user none; a BYPASSRLS role sees every
-- job, and the state of those whose owner granted it the state table
SET ROLE regress_sec_alice;
SELECT count(DISTINCT job) AS alice_jobs FROM clm.stage_summary;
GRANT SELECT ON :sec_state TO regress_sec_auditor;
SET ROLE regress_sec_bob;
SELECT count(DISTINCT job) AS bob_jobs FROM clm.stage_summary;
SET ROLE regress_sec_auditor;
SELECT array_agg(DISTINCT job) AS auditor_sees FROM clm.stage_summary;
SELECT count(*) >= 2 AS auditor_status FROM clm.job_status;
RESET ROLE;

-- one validator per setting, so what is accepted runs: time zones are what
-- TimeZone accepts (an abbreviation names no DST rules, right/UTC counts
-- leap seconds)
SELECT clm.check_time_zone('Europe/Berlin'), clm.check_time_zone('UTC+3');
SELECT clm.create_job('sec_tz', 'sec_a.tx', time_zone => 'PDT');
\set VERBOSITY terse
-- (terse: the reason is the server's, leap seconds where the zone database has right/)
SELECT clm.create_job('sec_tz', 'sec_a.tx', time_zone => 'right/UTC');
\set VERBOSITY default
SELECT clm.alter_job('sec_evil', time_zone => 'CEST');
-- schedules between a second and 100 years; other intervals at most 100 years
SELECT clm.create_job('sec_sch', 'sec_a.tx', schedule => '178000000 years');
SELECT clm.create_job('sec_sch', 'sec_a.tx', schedule => '1 microsecond');
SELECT clm.create_job('sec_sch', 'sec_a.tx', retry_period => '178000000 years');
SELECT clm.create_job('sec_sch', 'sec_a.tx', full_refresh_every => '1000 years');
-- policy values that would overflow a run
SELECT clm.create_job('sec_pol', 'sec_a.tx', policy => '{"churn_days": 1e308}');
SELECT clm.create_job('sec_pol', 'sec_a.tx', policy => '{"at_risk_rhythm": 1e300}');
-- a setting stored around the validators fails the run, recorded, and the
-- job still moves on to a later slot (at least a second after the run)
UPDATE clm.jobs SET policy = '{"churn_days": 1e308}', next_run_at = '-infinity' WHERE name = 'sec_evil_table';
SELECT status, sqlstate, message FROM clm.run_job('sec_evil_table');
SELECT next_run_at > now() AS moved_on FROM clm.jobs WHERE name = 'sec_evil_table';
-- the worker's last resort when a failure cannot be recorded: backs off,
-- then disables the job after 10 in a row (counting the failures before:
-- where the suite has a background worker, its runs of the job may have
-- changed the count)
SELECT j.consecutive_failures AS failures_before FROM clm.jobs j WHERE j.name = 'sec_evil_table' \gset
CREATE TEMP TABLE sec_defer AS
SELECT g, clm.defer_failed_job(j.job_id, '22008', 'test') AS disabled FROM clm.jobs j, generate_series(1, 10) g
WHERE j.name = 'sec_evil_table' ORDER BY g;
SELECT count(*) FILTER (WHERE disabled) AS disabling_calls,
	   min(g) FILTER (WHERE disabled) + :failures_before = 10 AS at_the_tenth_failure
FROM sec_defer;
SELECT enabled, consecutive_failures >= 10 AS counted FROM clm.jobs WHERE name = 'sec_evil_table';

SELECT clm.drop_job('sec_evil'), clm.drop_job('sec_evil_table');
DROP SCHEMA sec_a CASCADE;
DROP ROLE regress_sec_alice, regress_sec_bob, regress_sec_auditor;
