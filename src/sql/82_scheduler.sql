------------------------------------------------------------------------------
-- Scheduler: rescheduling after a run, bounded history, health at a glance
------------------------------------------------------------------------------

-- reschedule_job: after a run of a job (locked by the caller) that started
-- at started_at: the failure count, the next attempt number and the next
-- run time (a retry, or the next slot).  The one place that decides when a
-- job runs again.
CREATE FUNCTION @extschema@.reschedule_job(job_id bigint, failed boolean, started_at timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
	next_at timestamptz;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = reschedule_job.job_id;
	next_at := @extschema@.next_attempt(j.schedule, j.time_zone, started_at, clock_timestamp(), failed,
										j.attempt, j.max_retries, j.retry_period, random());
	UPDATE @extschema@.jobs SET
		last_run_at = now(),
		-- a cron schedule that never fires again: infinity; and never
		-- sooner than a second after this run started (as pg_cron)
		next_run_at = greatest(coalesce(next_at, 'infinity'), started_at + interval '1 second'),
		consecutive_failures = CASE WHEN failed THEN jobs.consecutive_failures + 1 ELSE 0 END,
		attempt = CASE WHEN failed AND j.attempt <= j.max_retries THEN j.attempt + 1 ELSE 1 END
	WHERE jobs.job_id = j.job_id;
	RETURN next_at;
END
$fn$;
COMMENT ON FUNCTION @extschema@.reschedule_job(bigint, boolean, timestamptz) IS
'after a run: count consecutive failures and set the next run (a retry with backoff after a failure, else the next scheduled slot); used by clm.run_job_by_id and clm.record_job_failure';

-- defer_failed_job: the worker's last resort when a failed run cannot be
-- recorded (clm.record_job_failure itself fails, e.g. a setting stored by an
-- older version makes the next slot overflow): without computing the
-- schedule, the job waits 10 s x 2^(failures - 1), at most an hour, and is
-- disabled after 10 such failures in a row; true when it was disabled.
-- The run is recorded if that much works.
CREATE FUNCTION @extschema@.defer_failed_job(job_id bigint, sqlstate text, message text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
	was_enabled boolean;
BEGIN
	SELECT jobs.enabled INTO was_enabled FROM @extschema@.jobs WHERE jobs.job_id = defer_failed_job.job_id FOR UPDATE;
	UPDATE @extschema@.jobs SET
		consecutive_failures = jobs.consecutive_failures + 1,
		next_run_at = clock_timestamp()
			+ least(interval '1 hour', interval '10 seconds' * power(2, least(jobs.consecutive_failures, 12))),
		enabled = jobs.enabled AND jobs.consecutive_failures + 1 < 10
	WHERE jobs.job_id = defer_failed_job.job_id
	RETURNING * INTO j;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	BEGIN
		INSERT INTO @extschema@.job_runs (job_id, job_name, trigger, started_at, finished_at, status, attempt,
										  sqlstate, message)
		VALUES (j.job_id, j.name, 'worker', clock_timestamp(), clock_timestamp(), 'failed', j.attempt,
				defer_failed_job.sqlstate, defer_failed_job.message);
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
	RETURN was_enabled AND NOT j.enabled;
END
$fn$;
COMMENT ON FUNCTION @extschema@.defer_failed_job(bigint, text, text) IS
'used by the background worker when a failed run cannot be recorded: back the job off (10 s doubling, at most 1 hour) and disable it after 10 such failures; true when this call disabled it';

-- open alerts are few: these let pruning skip what they need cheaply
CREATE INDEX alerts_open_customer ON @extschema@.alerts (job_id, customer_id) WHERE acknowledged_at IS NULL;
CREATE INDEX alerts_open_run ON @extschema@.alerts (run_id) WHERE acknowledged_at IS NULL;

-- prune_history: delete, per job, runs older than runs_retention and
-- alerts acknowledged longer ago than alerts_retention; at most batch rows
-- of each table per call (the worker calls again while a batch comes back
-- full).  Never deleted: a job's last run and last successful run (the
-- next incremental run counts from it), runs that raised an open alert,
-- and open alerts.  Stage history lives in each job's own table, owned by
-- the job's owner: its full refreshes prune it, as the owner
-- (clm.prune_job_history), so that no other role's process writes it.
CREATE FUNCTION @extschema@.prune_job_history(job_id bigint, history regclass, cutoff timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	n bigint;
BEGIN
	-- never a customer's latest change (the current stage's entry), nor
	-- the history of a customer with an open alert
	EXECUTE format($q$
	DELETE FROM %1$s h
	WHERE h.changed_at < $1
	  AND EXISTS (SELECT 1 FROM %1$s n
				  WHERE n.customer_id = h.customer_id AND (n.changed_at, n.id) > (h.changed_at, h.id))
	  AND NOT EXISTS (SELECT 1 FROM @extschema@.alerts a
					  WHERE a.job_id = $2 AND a.customer_id = (h.customer_id)::text AND a.acknowledged_at IS NULL)
	$q$, history) USING cutoff, job_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$fn$;
COMMENT ON FUNCTION @extschema@.prune_job_history(bigint, regclass, timestamptz) IS
'delete a job''s stage changes older than cutoff (as the caller: the owner of the history table), keeping each customer''s latest change and the history of customers with an open alert; returns the rows deleted (a full refresh calls it with its as_of minus history_retention)';

CREATE FUNCTION @extschema@.prune_history(batch integer DEFAULT 10000,
	OUT job_runs bigint, OUT alerts bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF batch IS NULL OR batch < 1 THEN
		RAISE EXCEPTION 'batch must be a positive number of rows' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM @extschema@.job_runs r
	WHERE r.run_id IN (
		SELECT x.run_id
		FROM @extschema@.jobs j
		JOIN @extschema@.job_runs x ON x.job_id = j.job_id AND x.started_at < now() - j.runs_retention
		WHERE x.status <> 'running'
		  AND x.run_id <> (SELECT l.run_id FROM @extschema@.job_runs l WHERE l.job_id = j.job_id
						   ORDER BY l.started_at DESC, l.run_id DESC LIMIT 1)
		  AND x.run_id IS DISTINCT FROM (SELECT l.run_id FROM @extschema@.job_runs l
										 WHERE l.job_id = j.job_id AND l.status = 'succeeded'
										 ORDER BY l.started_at DESC, l.run_id DESC LIMIT 1)
		  AND NOT EXISTS (SELECT 1 FROM @extschema@.alerts a
						  WHERE a.run_id = x.run_id AND a.acknowledged_at IS NULL)
		LIMIT batch);
	GET DIAGNOSTICS job_runs = ROW_COUNT;

	DELETE FROM @extschema@.alerts a
	WHERE a.alert_id IN (
		SELECT x.alert_id
		FROM @extschema@.jobs j
		JOIN @extschema@.alerts x ON x.job_id = j.job_id AND x.acknowledged_at < now() - j.alerts_retention
		LIMIT batch);
	GET DIAGNOSTICS alerts = ROW_COUNT;
END
$fn$;
COMMENT ON FUNCTION @extschema@.prune_history(integer) IS
'delete runs and acknowledged alerts past their job''s retention, at most batch rows of each; keeps what the current state and open alerts need; returns the rows deleted (the worker calls it; each job''s stage history is pruned by its full refreshes, clm.prune_job_history)';

CREATE FUNCTION @extschema@.scheduler_coverage()
RETURNS text
AS 'MODULE_PATHNAME', 'clm_scheduler_coverage'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.scheduler_coverage() IS
'NULL when a clm background worker runs the jobs of the current database; else why not (library not preloaded, clm.worker_enabled off, database not in clm.database)';

-- job_running: from the workers' registry in shared memory (registry.c)
CREATE FUNCTION @extschema@.job_running(job_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_job_running'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.job_running(bigint) IS
'whether a clm background worker of this database is running the job now (false without shared_preload_libraries)';

CREATE VIEW @extschema@.job_status WITH (security_invoker = true) AS
SELECT j.job_id, j.name AS job, j.owner, j.enabled, j.schedule, j.time_zone,
	   @extschema@.scheduler_coverage() IS NULL AS covered,
	   @extschema@.job_running(j.job_id) AS running,
	   j.next_run_at, j.attempt AS next_attempt,
	   lr.started_at AS last_run_at, lr.status AS last_status, lr.trigger AS last_trigger,
	   lr.sqlstate AS last_sqlstate, lr.message AS last_message, lr.note AS last_note,
	   lr.finished_at - lr.started_at AS last_duration,
	   lr.written AS last_rows_written, lr.alerts AS last_alerts,
	   ls.finished_at AS last_success_at, j.consecutive_failures,
	   (SELECT avg(x.finished_at - x.started_at)
		FROM (SELECT r.finished_at, r.started_at FROM @extschema@.job_runs r
			  WHERE r.job_id = j.job_id AND r.status = 'succeeded'
			  ORDER BY r.started_at DESC LIMIT 10) x) AS avg_duration
FROM @extschema@.jobs j
LEFT JOIN LATERAL (SELECT r.* FROM @extschema@.job_runs r WHERE r.job_id = j.job_id
				   ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1) lr ON true
LEFT JOIN LATERAL (SELECT r.finished_at FROM @extschema@.job_runs r
				   WHERE r.job_id = j.job_id AND r.status = 'succeeded'
				   ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1) ls ON true;
COMMENT ON VIEW @extschema@.job_status IS
'per job: schedule, whether a worker covers it and runs it now, next run, last run (status, error, duration, rows written, alerts), last success, consecutive failures, average duration of the last 10 successes';
COMMENT ON COLUMN @extschema@.job_status.job_id IS 'the job''s id';
COMMENT ON COLUMN @extschema@.job_status.job IS 'the job''s name';
COMMENT ON COLUMN @extschema@.job_status.owner IS 'the role the job runs as';
COMMENT ON COLUMN @extschema@.job_status.enabled IS 'whether the worker runs the job on its schedule';
COMMENT ON COLUMN @extschema@.job_status.schedule IS 'an interval or a 5-field cron expression';
COMMENT ON COLUMN @extschema@.job_status.time_zone IS 'the zone of the job''s days and cron slots';
COMMENT ON COLUMN @extschema@.job_status.covered IS 'whether a clm worker will run the job by itself (clm.scheduler_coverage() says why not)';
COMMENT ON COLUMN @extschema@.job_status.running IS 'whether a run of the job is under way in a worker now';
COMMENT ON COLUMN @extschema@.job_status.next_run_at IS 'when the worker runs the job next';
COMMENT ON COLUMN @extschema@.job_status.next_attempt IS 'the attempt number of the next run (above 1: a retry)';
COMMENT ON COLUMN @extschema@.job_status.last_run_at IS 'start of the last run';
COMMENT ON COLUMN @extschema@.job_status.last_status IS 'status of the last run';
COMMENT ON COLUMN @extschema@.job_status.last_trigger IS 'worker or manual';
COMMENT ON COLUMN @extschema@.job_status.last_sqlstate IS 'SQLSTATE of the last run if it failed';
COMMENT ON COLUMN @extschema@.job_status.last_message IS 'error message of the last run if it failed';
COMMENT ON COLUMN @extschema@.job_status.last_note IS 'what the last run could not do as asked (a model fit that did not converge)';
COMMENT ON COLUMN @extschema@.job_status.last_duration IS 'how long the last run took';
COMMENT ON COLUMN @extschema@.job_status.last_rows_written IS 'rows of clm.customer_state the last run wrote';
COMMENT ON COLUMN @extschema@.job_status.last_alerts IS 'alerts the last run raised';
COMMENT ON COLUMN @extschema@.job_status.last_success_at IS 'end of the last successful run';
COMMENT ON COLUMN @extschema@.job_status.consecutive_failures IS 'failed runs since the last success';
COMMENT ON COLUMN @extschema@.job_status.avg_duration IS 'average duration of the last 10 successful runs';

-- job_problems: one row per problem, for monitoring systems to poll
CREATE FUNCTION @extschema@.job_problems()
RETURNS TABLE (job text, problem text, detail text, since timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT s.job, p.problem, p.detail, p.since
	FROM @extschema@.job_status s
	LEFT JOIN pg_roles r ON r.rolname = s.owner
	CROSS JOIN LATERAL (VALUES
		('not_covered', s.enabled AND NOT s.covered, @extschema@.scheduler_coverage(), NULL::timestamptz),
		('owner_missing', s.enabled AND r.rolname IS NULL,
		 format('the owner role %s does not exist (dropped or renamed)', s.owner), NULL),
		('owner_cannot_login', s.enabled AND NOT r.rolcanlogin,
		 format('the owner role %s cannot log in', s.owner), NULL),
		('failing', s.consecutive_failures > 0,
		 format('%s consecutive failures; last: %s: %s', s.consecutive_failures, s.last_sqlstate, s.last_message),
		 s.last_success_at),
		('fit_not_converged', s.last_status = 'succeeded' AND s.last_note IS NOT NULL, s.last_note, s.last_run_at),
		('overdue', s.enabled AND s.covered AND NOT s.running
			AND s.next_run_at < now() - greatest(interval '1 minute',
				3 * coalesce(current_setting('clm.naptime', true), '10s')::interval),
		 format('due since %s', s.next_run_at), s.next_run_at)
	) AS p(problem, present, detail, since)
	WHERE p.present
	ORDER BY s.job, p.problem
$fn$;
COMMENT ON FUNCTION @extschema@.job_problems() IS
'one row per problem of a visible job (not_covered, owner_missing, owner_cannot_login, failing, fit_not_converged, overdue), for monitoring systems; no rows when all is well';

GRANT SELECT ON @extschema@.job_status TO PUBLIC;
