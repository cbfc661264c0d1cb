-- schedule: cron and interval schedules (parser, next firing in a time zone,
-- DST), retries with backoff, one failure format, bounded history (pruning),
-- job_status and job_problems.  The background worker is not involved: the
-- functions it calls are called here directly.
-- a server without clm preloaded (make installcheck) warns that no worker
-- will run these jobs; nothing checked here depends on it
SET client_min_messages = error;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- 1. next firing after Saturday 2026-03-07 10:03:27 UTC, hand-checked
SELECT s AS schedule, clm.schedule_is_cron(s) AS cron,
	   clm.schedule_next(s, '2026-03-07 10:03:27.5+00', 'UTC') AS next
FROM unnest(ARRAY[
	'*/10 * * * *',       -- every 10 minutes (not 10 seconds): 10:10
	'0 3 * * *',          -- 03:00 tomorrow
	'15 minutes',         -- 10:18:27.5
	'1 day',              -- same time tomorrow
	'@hourly', '@daily', '@weekly', '@monthly', '@yearly',
	'0 9 * * mon-fri',    -- Monday 9th 09:00
	'0 0 1 * mon',        -- both day fields restricted: 1st OR Monday -> Monday 9th
	'0 0 1 * *',          -- 1 April
	'0 0 */10 * mon',     -- day-of-month starts with *: 1st/11th/21st/31st AND Monday -> 11 May
	'0 0 29 2 *',         -- next 29 February: 2028
	'5,35 */6 * * sun',   -- Sunday 8th 00:05
	'0 12 * jan,JUL *',   -- names, any case: 1 July
	'0 0 * * 7',          -- 7 is Sunday too
	'30 8-10/2 * * *',    -- 08:30 and 10:30: 10:30 today
	'59 23 31 12 *',      -- New Year's Eve
	'  0  3  *  *  *  '   -- extra blanks
]) s;

-- 2. DST in America/New_York: clocks jump 02:00 -> 03:00 on 2026-03-08
-- and fall back 02:00 -> 01:00 on 2026-11-01
SET timezone = 'America/New_York';
SELECT x.label, clm.schedule_next(x.s, x.after, 'America/New_York') AS next
FROM (VALUES
	('02:30 daily, day before the gap', '30 2 * * *', '2026-03-07 12:00'::timestamptz),     -- 03:00 EDT, the end of the gap
	('02:30 daily, after that run', '30 2 * * *', '2026-03-08 03:00'),                      -- next day 02:30, once
	('every 10 min in hour 2 (fixed)', '*/10 2 * * *', '2026-03-08 01:59'),                 -- 03:00 EDT: all collapse once
	('... after that run', '*/10 2 * * *', '2026-03-08 03:00'),                             -- next day 02:00
	('every 30 min (real time)', '*/30 * * * *', '2026-03-08 01:45'),                       -- 03:00 EDT, 15 real minutes later
	('interval 1 day into the gap', '1 day', '2026-03-07 02:30'),                          -- 03:30 EDT (moved by the gap)
	('interval 1 day keeps the local time', '1 day', '2026-03-07 10:00'),                  -- 10:00 EDT (23 real hours)
	('interval 24 hours is real time', '24 hours', '2026-03-07 10:00'),                    -- 11:00 EDT
	('01:30 daily, day before the overlap', '30 1 * * *', '2026-10-31 12:00'),             -- 01:30 EDT, the first one
	('01:30 daily, after that run', '30 1 * * *', '2026-11-01 05:30+00'),                   -- next day, not 01:30 EST
	('hourly at :30, after 01:30 EDT', '30 * * * *', '2026-11-01 05:30+00'),               -- 01:30 EST: real time
	('hourly at :30, after 01:30 EST', '30 * * * *', '2026-11-01 06:30+00'),               -- 02:30 EST
	('every 10 min, after 01:55 EDT', '*/10 * * * *', '2026-11-01 05:55+00')               -- 01:00 EST, 5 real minutes later
) x(label, s, after);
SET timezone = 'UTC';
-- an hourly cron job fires 25 times on the fall-back day (local midnight
-- to midnight: 04:00 to 05:00 UTC the next day), a 01:30 job once a day
-- (at 05:30 UTC, the EDT one, on the day itself), a 02:30 job once on the
-- spring-forward day (at 03:00 EDT = 07:00 UTC)
WITH RECURSIVE f(n, t, s) AS (
	SELECT 0, '2026-11-01 03:59:59+00'::timestamptz, '0 * * * *'
	UNION ALL SELECT n + 1, clm.schedule_next(s, t, 'America/New_York'), s FROM f
	WHERE clm.schedule_next(s, t, 'America/New_York') < '2026-11-02 05:00+00')
SELECT count(*) AS hourly_runs_on_fall_back_day FROM f WHERE n > 0;
WITH RECURSIVE f(n, t, s) AS (
	SELECT 0, '2026-10-30 00:00+00'::timestamptz, '30 1 * * *'
	UNION ALL SELECT n + 1, clm.schedule_next(s, t, 'America/New_York'), s FROM f WHERE n < 4)
SELECT n, t, t AT TIME ZONE 'America/New_York' AS local_time FROM f WHERE n > 0;
WITH RECURSIVE f(n, t, s) AS (
	SELECT 0, '2026-03-06 00:00+00'::timestamptz, '30 2 * * *'
	UNION ALL SELECT n + 1, clm.schedule_next(s, t, 'America/New_York'), s FROM f WHERE n < 4)
SELECT n, t, t AT TIME ZONE 'America/New_York' AS local_time FROM f WHERE n > 0;

-- the same local slot in another zone; half-hour offset zone
SELECT clm.schedule_next('0 3 * * *', '2026-03-07 10:03:27+00', 'Europe/Berlin') AS berlin,
	   clm.schedule_next('0 3 * * *', '2026-03-07 10:03:27+00', 'Asia/Kolkata') AS kolkata,
	   clm.schedule_next('*/15 * * * *', '2026-03-07 10:03:27+00', 'Asia/Kathmandu') AS kathmandu;

-- 3. malformed schedules: ERROR 22023 naming the field
\set VERBOSITY default
SELECT clm.check_schedule('*/0 * * * *');
SELECT clm.check_schedule('60 * * * *');
SELECT clm.check_schedule('* 24 * * *');
SELECT clm.check_schedule('* * 0 * *');
SELECT clm.check_schedule('* * * 13 *');
SELECT clm.check_schedule('* * * * 8');
SELECT clm.check_schedule('5-1 * * * *');
SELECT clm.check_schedule('* * * foo *');
SELECT clm.check_schedule('* * * * monday');
SELECT clm.check_schedule('1,,2 * * * *');
SELECT clm.check_schedule('*/ * * * *');
SELECT clm.check_schedule('1x * * * *');
SELECT clm.check_schedule('0 0 30 2 *');
SELECT clm.check_schedule('0 0 31 4,6,9,11 *');
SELECT clm.check_schedule('*/10 * * *');
SELECT clm.check_schedule('* * * * * *');
SELECT clm.check_schedule('@reboot');
SELECT clm.check_schedule('');
SELECT clm.check_schedule('0 seconds');
SELECT clm.check_schedule('1 day -2 hours');
SELECT clm.check_schedule('soon');
SELECT clm.schedule_next('1 hour', now(), 'Mars/Olympus');
SET client_min_messages = notice;
\set VERBOSITY terse
DO $$
DECLARE
	st text;
BEGIN
	PERFORM clm.check_schedule('61 * * * *');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
	RAISE NOTICE 'sqlstate %', st;
END $$;
SET client_min_messages = error;
-- valid: ISO 8601 intervals, mixed, 0 and 7 both Sunday, 31st in some months
SELECT clm.check_schedule('P1D') AND clm.check_schedule('1 day 02:00') AND clm.check_schedule('0 0 * * 0,7')
	   AND clm.check_schedule('0 0 31 * *') AND clm.check_schedule('0 0 30 1,2 *') AS all_valid;

-- 4. retries with backoff: next_attempt(schedule, zone, started, ended,
-- failed, attempt, max_retries, retry_period, jitter)
SELECT a AS attempt,
	   clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, a, 3, '1 minute', 0) AS retry_no_jitter,
	   clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, a, 3, '1 minute', 0.5) AS retry_half_jitter,
	   clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, a, 3, '25 minutes', 0) AS capped_at_slot
FROM generate_series(1, 4) a;
SELECT clm.next_attempt('*/10 * * * *', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', false, 1, 3, '1 minute', 0) AS after_success,
	   clm.next_attempt('*/10 * * * *', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 2, 3, '3 minutes', 0) AS cron_retry,
	   clm.next_attempt('*/10 * * * *', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 3, 3, '5 minutes', 0) AS cron_retry_capped,
	   clm.next_attempt('*/10 * * * *', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 1, 0, '1 minute', 0) AS no_retries;

-- 5. jobs with cron schedules; a failing job is retried, each attempt a
-- run row, errors as SQLSTATE + message
CREATE TABLE sch_tx (customer_id bigint, ts timestamptz, amount numeric);
INSERT INTO sch_tx SELECT c, now() - c * interval '3 days', 10 * c FROM generate_series(1, 6) c;
-- (in one transaction: where the suite has a background worker, a job
-- created just before a ten-minute mark would otherwise have run and
-- moved to its next slot before the check)
BEGIN;
SELECT clm.create_job('cron_job', 'sch_tx', schedule => '*/10 * * * *', time_zone => 'Europe/Berlin') > 0 AS created;
SELECT schedule, time_zone, timeout, max_retries, retry_period, runs_retention, history_retention, alerts_retention,
	   next_run_at = clm.schedule_next('*/10 * * * *', now(), 'Europe/Berlin') AS first_slot,
	   next_run_at > now() AND next_run_at <= now() + interval '10 minutes' AS within_10_min
FROM clm.jobs WHERE name = 'cron_job';
COMMIT;
SELECT clm.create_job('bad', 'sch_tx', schedule => '*/10 * * *');
SELECT clm.create_job('bad', 'sch_tx', max_retries => -1);
SELECT clm.create_job('bad', 'sch_tx', retry_period => '0 s');
SELECT clm.create_job('bad', 'sch_tx', runs_retention => '-1 day');
SELECT clm.alter_job('cron_job', schedule => '0 25 * * *');
UPDATE clm.jobs SET schedule = '* * *' WHERE name = 'cron_job';
SELECT clm.alter_job('cron_job', schedule => '0 3 * * *', time_zone => 'Asia/Tokyo');
SELECT schedule, next_run_at = clm.schedule_next('0 3 * * *', now(), 'Asia/Tokyo') AS next_slot_in_tokyo
FROM clm.jobs WHERE name = 'cron_job';

CREATE TABLE flaky_tx AS SELECT * FROM sch_tx;
-- (not due until the test runs it: where the suite has a background
-- worker, it would otherwise run the job first, an attempt too many)
BEGIN;
SELECT clm.create_job('flaky', 'flaky_tx', schedule => '1 hour', max_retries => 2, retry_period => '10 minutes') > 0 AS created;
UPDATE clm.jobs SET next_run_at = now() + interval '1 day' WHERE name = 'flaky';
COMMIT;
DROP TABLE flaky_tx;
-- attempts 1, 2, 3 fail and are retried after 10, 20 (capped: 1 hour) min;
-- after the third (max_retries = 2) the job waits for its slot, attempt 1
CREATE TEMP TABLE attempts AS
SELECT 0 AS i, NULL::text AS status, NULL::int AS attempt, NULL::text AS sqlstate, NULL::text AS message,
	   NULL::interval AS delay, NULL::int AS failures, NULL::int AS next_attempt WHERE false;
DO $$
DECLARE
	r clm.job_runs;
	j clm.jobs;
BEGIN
	FOR i IN 1..4 LOOP
		r := clm.run_job('flaky');
		SELECT * INTO j FROM clm.jobs WHERE name = 'flaky';
		INSERT INTO attempts VALUES (i, r.status, r.attempt, r.sqlstate, r.message,
									 j.next_run_at - clock_timestamp(), j.consecutive_failures, j.attempt);
	END LOOP;
END $$;
SELECT i, status, attempt, sqlstate, message,
	   CASE WHEN delay BETWEEN interval '9 min 50 s' AND interval '11 min' THEN '10 min (+ jitter)'
			WHEN delay BETWEEN interval '19 min 50 s' AND interval '22 min' THEN '20 min (+ jitter)'
			WHEN delay BETWEEN interval '59 min 50 s' AND interval '1 hour' THEN 'the next slot (1 hour)'
			ELSE delay::text END AS next_run_in,
	   failures, next_attempt
FROM attempts ORDER BY i;
SELECT attempt, status, sqlstate FROM clm.job_runs WHERE job_name = 'flaky' ORDER BY run_id;
-- the worker's record of an error its run could not catch (a timeout)
SELECT clm.record_job_failure(job_id, 'worker', '57014', 'canceling statement due to statement timeout',
							  now() - interval '1 hour')
FROM clm.jobs WHERE name = 'flaky';
SELECT trigger, status, attempt, sqlstate, message, finished_at - started_at >= interval '1 hour' AS took_an_hour
FROM clm.job_runs WHERE job_name = 'flaky' ORDER BY run_id DESC LIMIT 1;
-- a success resets the failure count
CREATE TABLE flaky_tx AS SELECT * FROM sch_tx;
SELECT status, attempt FROM clm.run_job('flaky');
SELECT consecutive_failures, attempt, next_run_at > now() + interval '59 minutes' AS next_slot FROM clm.jobs WHERE name = 'flaky';

-- the worker's run is a no-op when the job is not due (a manual run came first)
SELECT clm.run_job_by_id(job_id, 'worker') IS NULL AS skipped FROM clm.jobs WHERE name = 'flaky';

-- 6. job_status and job_problems
-- (covered and the not_covered problem depend on the server: whether clm is
-- preloaded, as in make test, or not, as in an installcheck elsewhere;
-- covered = (scheduler_coverage() IS NULL) is checked instead)
SELECT job, enabled, schedule, covered = (clm.scheduler_coverage() IS NULL) AS covered_ok, running, last_status, last_sqlstate, consecutive_failures,
	   last_success_at IS NOT NULL AS succeeded_once, last_duration >= interval '0' AS has_duration,
	   avg_duration IS NOT NULL AS has_avg, last_rows_written, last_alerts
FROM clm.job_status ORDER BY job;
SELECT * FROM clm.job_problems() WHERE problem NOT IN ('not_covered', 'fit_not_converged');  -- (its six customers bought once: sql/job_fits.sql)
CREATE TABLE gone_tx AS SELECT * FROM sch_tx;
BEGIN;	-- (not due until the test runs it, as 'flaky' below)
SELECT clm.create_job('gone', 'gone_tx', max_retries => 0) > 0 AS created;
UPDATE clm.jobs SET next_run_at = now() + interval '1 day' WHERE name = 'gone';
COMMIT;
DROP TABLE gone_tx;
SELECT status FROM clm.run_job('gone');
UPDATE clm.jobs SET owner = 'regress_clm_no_such_role' WHERE name = 'gone';
SELECT job, problem, detail FROM clm.job_problems() WHERE problem NOT IN ('not_covered', 'fit_not_converged');
SELECT clm.drop_job('gone');

-- 7. bounded history: runs older than 30 days, stage changes older than a
-- year, alerts acknowledged more than 90 days ago go, in batches; the last
-- run, the last success, runs with an open alert, each customer's latest
-- stage change and the history of customers with an open alert stay
SELECT status FROM clm.run_job('cron_job');
SELECT job_id AS jid FROM clm.jobs WHERE name = 'cron_job' \gset
INSERT INTO clm.job_runs (job_id, job_name, trigger, started_at, finished_at, status, attempt)
SELECT :jid, 'cron_job', 'worker', now() - d * interval '1 day', now() - d * interval '1 day', 'succeeded', 1
FROM generate_series(31, 60) d;
-- runs old enough to go, one of them with an open alert
INSERT INTO clm.alerts (job_id, customer_id, kind, episode_start, raised_at, run_id, details)
SELECT :jid, '1', 'churned', now() - interval '40 days', now() - interval '40 days', r.run_id, '{}'
FROM clm.job_runs r WHERE r.job_id = :jid AND r.started_at < now() - interval '39 days' ORDER BY r.started_at DESC LIMIT 1;
-- old history: customer 2 has three changes (two old), customer 1 has an
-- open alert, customer 3 only an old one (its current stage's entry)
SELECT (clm.job_tables('cron_job')).history AS hist \gset
INSERT INTO :hist (customer_id, from_stage, to_stage, changed_at, run_id) VALUES
	(2, NULL, 'new', now() - interval '800 days', 0),
	(2, 'new', 'active', now() - interval '700 days', 0),
	(1, NULL, 'new', now() - interval '800 days', 0),
	(3, NULL, 'new', now() - interval '800 days', 0);
DELETE FROM :hist WHERE customer_id = 3 AND changed_at > now() - interval '1 day';
-- alerts: acknowledged long ago (goes), recently (stays), open (stays)
INSERT INTO clm.alerts (job_id, customer_id, kind, episode_start, raised_at, run_id, details, acknowledged_at) VALUES
	(:jid, '4', 'churned', now() - interval '200 days', now() - interval '200 days', 0, '{}', now() - interval '100 days'),
	(:jid, '5', 'churned', now() - interval '200 days', now() - interval '200 days', 0, '{}', now() - interval '10 days'),
	(:jid, '6', 'churned', now() - interval '200 days', now() - interval '200 days', 0, '{}', NULL);
SELECT count(*) AS runs, count(*) FILTER (WHERE started_at < now() - interval '30 days') AS old_runs
FROM clm.job_runs WHERE job_id = :jid;
SELECT count(*) AS history FROM clm.stage_history WHERE job_id = :jid;
-- batches of 10: three calls delete the 29 old runs that can go
SELECT * FROM clm.prune_history(10);
SELECT * FROM clm.prune_history(10);
SELECT * FROM clm.prune_history(10);
SELECT * FROM clm.prune_history(10);
-- the stage history is pruned by the job's full refreshes, as its owner
SELECT status FROM clm.run_job('cron_job', full_refresh => true);
SELECT count(*) AS runs, count(*) FILTER (WHERE started_at < now() - interval '30 days') AS old_runs_kept,
	   bool_and(EXISTS (SELECT 1 FROM clm.alerts a WHERE a.run_id = r.run_id AND a.acknowledged_at IS NULL))
		   FILTER (WHERE started_at < now() - interval '30 days') AS kept_for_open_alert
FROM clm.job_runs r WHERE job_id = :jid;
SELECT customer_id, from_stage, to_stage, changed_at < now() - interval '1 year' AS old
FROM clm.stage_history WHERE job_id = :jid ORDER BY customer_id::int, changed_at;
SELECT customer_id, acknowledged_at IS NULL AS open FROM clm.alerts WHERE job_id = :jid ORDER BY customer_id;
-- the current state is untouched and the next run still counts customers
SELECT status, customers FROM clm.run_job('cron_job');
-- the last run and last success stay even when older than the retention
UPDATE clm.job_runs SET started_at = started_at - interval '90 days', finished_at = finished_at - interval '90 days'
WHERE job_id = :jid;
SELECT * FROM clm.prune_history();
SELECT count(*) AS runs_left FROM clm.job_runs WHERE job_id = :jid;
-- the age of a stage change is counted on the job's clock (changed_at is
-- a run's as_of): for a job last run as of 3 years ago, a change 3 years
-- and 10 days old stays, one 5 years old goes
UPDATE clm.jobs SET last_as_of = now() - interval '3 years' WHERE job_id = :jid;
INSERT INTO :hist (customer_id, from_stage, to_stage, changed_at, run_id) VALUES
	(7, NULL, 'new', now() - interval '5 years', 0),
	(7, 'new', 'active', now() - interval '3 years 10 days', 0),
	(7, 'active', 'at_risk', now() - interval '3 years 5 days', 0);
SELECT clm.prune_job_history(:jid, :'hist', (SELECT last_as_of - history_retention FROM clm.jobs WHERE job_id = :jid)) AS pruned;
SELECT to_stage FROM clm.stage_history WHERE job_id = :jid AND customer_id = '7' ORDER BY changed_at;
SELECT clm.prune_history(0);

SELECT clm.drop_job(name) FROM clm.jobs WHERE name IN ('cron_job', 'flaky');
DROP TABLE sch_tx, flaky_tx;

-- BC timestamps (issue 20): the month arithmetic floors negative month
-- counts, so the next time is after + interval as PostgreSQL computes it,
-- in every zone (New York's local mean time, -04:56:02, included)
SET timezone = 'UTC';
SELECT clm.schedule_next('1 day', '4713-11-24 00:00:00+00 BC', 'UTC') AS day_after_first_day,
	   clm.schedule_next('1 month', '4713-11-24 00:00:00+00 BC', 'UTC') AS month_after,
	   clm.schedule_next('0 0 * * *', '4713-11-24 00:00:00+00 BC', 'UTC') AS cron_midnight;
SET timezone = 'America/New_York';
SELECT count(*) AS calls,
	   count(*) FILTER (WHERE clm.schedule_next(i, t, 'America/New_York') IS DISTINCT FROM t + i::interval) AS differ_from_pg,
	   count(*) FILTER (WHERE clm.schedule_next(i, t, 'America/New_York') <= t) AS not_after
FROM generate_series('4713-11-24 00:00:00+00 BC'::timestamptz, '3990-01-01 BC', '97 days 5 hours 7 minutes') t,
	 (VALUES ('1 day'), ('1 month'), ('13 months 2 days 3 hours')) v(i);
SET timezone = 'UTC';
SELECT clm.schedule_next('1 day', '4000-01-01 00:00:00+00 BC', 'America/New_York') AS ny_4000_bc;
SELECT clm.next_attempt('1 day', 'UTC', '4713-11-24 00:00:00+00 BC', '4713-11-24 00:00:30+00 BC',
						 false, 1, 3, '1 minute', 0) AS next_slot_bc,
	   clm.next_attempt('1 day', 'UTC', '4713-11-24 00:00:00+00 BC', '4713-11-24 00:00:30+00 BC',
						 true, 1, 3, '1 minute', 0) AS retry_bc;
-- next_attempt refuses what cannot be a run (a time before the start, as
-- attempt -2147483648 gave: 2466 BC), and counts a retry from the start
-- when the end is earlier (a clock stepped back)
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, -2147483648, 3, '1 minute', 0);
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 0, 3, '1 minute', 0);
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 1, 3, '-1 minute', 0);
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 1, 3, '1 mon -30 days', 0);
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 1, 3, '1 minute', 'NaN');
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 1, 3, '1 minute', 2);
SELECT clm.next_attempt('1 hour', 'UTC', '-infinity', '2026-03-07 10:00:30+00', true, 1, 3, '1 minute', 0);
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 09:00+00', true, 1, 3, '1 minute', 0) AS from_start;
SELECT clm.next_attempt('1 hour', 'UTC', '2026-03-07 10:00+00', '2026-03-07 10:00:30+00', true, 2147483647, 2147483647, '1 minute', 1) AS huge_attempt_capped_at_slot;
-- an error about a multibyte character carries the whole character: a
-- client in LATIN1 gets the message (22023), not 22021 for a lone 0xC3 byte
\set VERBOSITY sqlstate
SET client_encoding = 'LATIN1';
SELECT clm.check_schedule(U&'\00e9 * * * *');
SELECT clm.check_schedule(U&'1 \00e9 * * *');
SELECT clm.check_schedule(U&'1-\00e9 * * * *');
RESET client_encoding;
\set VERBOSITY terse
SELECT clm.check_schedule(U&'\00e9 * * * *');
\set VERBOSITY default
RESET timezone;

-- a preview or run as of an infinite time is refused up front: as of
-- '-infinity' the preview had no rows (no transaction is that early) where
-- 'infinity' raised 22023
CREATE TABLE inf_tx (customer_id bigint, ts timestamptz, amount numeric);
INSERT INTO inf_tx VALUES (1, '2024-01-01', 10), (1, '2024-02-01', 20), (2, '2024-01-15', 5);
SELECT clm.create_job('inf_job', 'inf_tx', schedule => '1 day') > 0 AS created;
\set VERBOSITY terse
SELECT count(*) FROM clm.preview_job('inf_job', '-infinity');
SELECT count(*) FROM clm.preview_job('inf_job', 'infinity');
SELECT status FROM clm.run_job('inf_job', '-infinity');
SELECT clm.check_as_of('infinity');
\set VERBOSITY default
SELECT count(*) AS previewed FROM clm.preview_job('inf_job', '2024-03-01');
SELECT clm.check_as_of('2024-03-01 00:00+00') AS as_of;
SELECT clm.drop_job('inf_job');
DROP TABLE inf_tx;
