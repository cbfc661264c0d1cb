------------------------------------------------------------------------------
-- Schedules: an interval or a 5-field cron expression, evaluated in a time
-- zone (src/cron.c); retries with backoff
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.check_schedule(schedule text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_check_schedule'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_schedule(text) IS
'true for a valid schedule (a positive interval, a 5-field cron expression or an @ macro); ERROR 22023 naming the field at fault otherwise';

CREATE FUNCTION @extschema@.schedule_is_cron(schedule text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_schedule_is_cron'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.schedule_is_cron(text) IS
'whether a schedule is a cron expression (true) or an interval (false)';

CREATE FUNCTION @extschema@.schedule_next(schedule text, after timestamptz, time_zone text)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'clm_schedule_next'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.schedule_next(text, timestamptz, text) IS
'the first time strictly after "after" at which the schedule fires in the time zone (cron: DST-safe, a slot in a spring-forward gap fires once at its end, a slot in a fall-back overlap once at its first occurrence; interval: after + interval, days and months on the local calendar); NULL when a cron schedule does not fire within 30 years';

-- next_attempt: when a job runs next after a run that started at
-- started_at and ended at ended_at (src/cron.c).  attempt is the number of
-- the run (1 at a scheduled slot); a failed attempt up to max_retries is
-- retried retry_period x attempt (plus jitter x 10 %, jitter in [0, 1])
-- after it ended, never later than the next slot; a success, or the last
-- failed retry, waits for the next slot after the start.  The result is
-- always strictly after started_at (NULL: a cron schedule that never fires
-- again).
CREATE FUNCTION @extschema@.next_attempt(schedule text, time_zone text, started_at timestamptz,
	ended_at timestamptz, failed boolean, attempt integer, max_retries integer, retry_period interval,
	jitter float8)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'clm_next_attempt'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next_attempt(text, text, timestamptz, timestamptz, boolean, integer, integer, interval, float8) IS
'the next run time of a job after a run, strictly after started_at: a failed attempt n <= max_retries is retried retry_period x n (+ up to 10 % jitter) after it ended, capped at the next scheduled slot; otherwise the next slot after the run started; ERROR 22023 for attempt < 1, a retry_period that is not positive, jitter outside [0, 1] or infinite times';
