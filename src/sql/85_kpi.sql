------------------------------------------------------------------------------
-- KPIs, cohorts and model pictures: rows a BI tool or a chart reads
------------------------------------------------------------------------------
-- Only clm.purchase_histories builds SQL text (to name the user's relation
-- and columns); the KPI and cohort arithmetic is static SQL over its rows,
-- so the planner sees all of it and the definitions are written once.
--
-- Days are local calendar days in a time zone (the session's or the job's):
-- a period is [period_start, period_end) in local days, "active at t" means
-- a purchase in [t - active_days, t), and a change at a local time on day D
-- is part of the period holding D.

-- period_interval (the one list of period units), period_trunc,
-- period_index: the hot path, plain SQL the planner inlines (NULL for a
-- unit period_step rejects)
CREATE FUNCTION @extschema@.period_interval(unit text)
RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT CASE $1 WHEN 'week' THEN interval '7 days' WHEN 'month' THEN interval '1 month'
				   WHEN 'quarter' THEN interval '3 months' END
$fn$;
COMMENT ON FUNCTION @extschema@.period_interval(text) IS
'one calendar period (''week'', ''month'', ''quarter'') as an interval, NULL for other units (clm.period_step checks)';

-- period_step: period_interval, with an error for a unit it does not know
CREATE FUNCTION @extschema@.period_step(unit text)
RETURNS interval
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF @extschema@.period_interval(unit) IS NOT NULL THEN
		RETURN @extschema@.period_interval(unit);
	END IF;
	RAISE EXCEPTION 'period must be ''week'', ''month'' or ''quarter''' USING
		ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %L.', unit);
END
$fn$;
COMMENT ON FUNCTION @extschema@.period_step(text) IS
'one calendar period (''week'' from Monday, ''month'', ''quarter'') as an interval; an error for any other unit or NULL';

CREATE FUNCTION @extschema@.period_trunc(day date, unit text)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN @extschema@.period_interval($2) IS NOT NULL THEN pg_catalog.date_trunc($2, $1::timestamp)::date END
$fn$;
COMMENT ON FUNCTION @extschema@.period_trunc(date, text) IS
'the first day of the calendar period (''week'' from Monday, ''month'', ''quarter'') holding day; NULL for other units';

CREATE FUNCTION @extschema@.period_index(first_day date, day date, unit text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT CASE $3
		WHEN 'week' THEN (@extschema@.period_trunc($2, 'week') OPERATOR(pg_catalog.-)
						  @extschema@.period_trunc($1, 'week')) OPERATOR(pg_catalog./) 7
		WHEN 'month' THEN ((pg_catalog.date_part('year', $2) OPERATOR(pg_catalog.-) pg_catalog.date_part('year', $1))
						   OPERATOR(pg_catalog.*) 12
						   OPERATOR(pg_catalog.+) pg_catalog.date_part('month', $2)
						   OPERATOR(pg_catalog.-) pg_catalog.date_part('month', $1))::integer
		WHEN 'quarter' THEN ((pg_catalog.date_part('year', $2) OPERATOR(pg_catalog.-) pg_catalog.date_part('year', $1))
							 OPERATOR(pg_catalog.*) 4
							 OPERATOR(pg_catalog.+) pg_catalog.date_part('quarter', $2)
							 OPERATOR(pg_catalog.-) pg_catalog.date_part('quarter', $1))::integer
	END
$fn$;
COMMENT ON FUNCTION @extschema@.period_index(date, date, text) IS
'how many calendar periods (''week'', ''month'', ''quarter'') day lies after the period of first_day (0: the same period); NULL for other units';

-- kpi_window: the longest period in days; a customer who buys in a period
-- must still count as active at its end, so active_days must cover it
CREATE FUNCTION @extschema@.kpi_window(unit text, active_days integer, window_days integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	longest integer;
BEGIN
	PERFORM @extschema@.period_step(unit);
	IF active_days IS NULL THEN
		RAISE EXCEPTION 'active_days must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF window_days IS NOT NULL AND (window_days < 1 OR window_days > 3660) THEN
		RAISE EXCEPTION 'window_days must be between 1 and 3660' USING
			ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %s.', window_days);
	END IF;
	IF active_days < 1 OR active_days > 3660 THEN
		RAISE EXCEPTION 'active_days must be between 1 and 3660' USING
			ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %s.', active_days);
	END IF;
	longest := coalesce(window_days, CASE unit WHEN 'week' THEN 7 WHEN 'month' THEN 31 ELSE 92 END);
	IF active_days < longest THEN
		RAISE EXCEPTION 'active_days must cover the longest period' USING
			ERRCODE = 'invalid_parameter_value',
			DETAIL = format('active_days is %s, a period can last %s days.', active_days, longest),
			HINT = 'A customer who buys in a period must be active at its end: raise active_days or shorten the period.';
	END IF;
	RETURN longest;
END
$fn$;
COMMENT ON FUNCTION @extschema@.kpi_window(text, integer, integer) IS
'the longest period in days (window_days for rolling windows); an error unless active_days covers it';

-- check_kpi_days: the days KPI periods run between (from_day and to_day,
-- by default the first and last purchase days) are in order and at most
-- 36600 days (100 years) apart, the limit clm.kpi_series has on the data;
-- an error otherwise, never an empty result.  true for NULL (no data).
CREATE FUNCTION @extschema@.check_kpi_days(first_day date, last_day date)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF first_day > last_day THEN
		RAISE EXCEPTION 'from_day must not be after to_day' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('The periods would run from %s to %s.', first_day, last_day),
			HINT = 'from_day defaults to the first purchase day (or stage change), to_day to the last.';
	END IF;
	IF last_day - first_day > 36600 THEN
		RAISE EXCEPTION 'the KPI periods span more than 36600 days' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('They would run from %s to %s.', first_day, last_day),
			HINT = 'KPI periods cover at most 100 years; pass a later from_day or an earlier to_day.';
	END IF;
	RETURN true;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_kpi_days(date, date) IS
'true when KPI periods may run from first_day to last_day (in order, at most 36600 days apart) or either is NULL; ERROR 22023 otherwise';

-- kpi_periods: the periods [period_start, period_end) whose ends step by
-- one calendar unit from the period of first_day to the period of
-- last_day; calendar periods (window_days NULL) or rolling windows of
-- window_days days ending at each calendar boundary
CREATE FUNCTION @extschema@.kpi_periods(first_day date, last_day date, unit text, window_days integer DEFAULT NULL)
RETURNS TABLE (period_start date, period_end date)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT @extschema@.period_start_of(e.e::date, $3, $4), e.e::date
	FROM pg_catalog.generate_series(@extschema@.period_end_of($1, $3), @extschema@.period_end_of($2, $3),
									@extschema@.period_interval($3)) e(e)
	WHERE @extschema@.check_kpi_days($1, $2)
$fn$;
COMMENT ON FUNCTION @extschema@.kpi_periods(date, date, text, integer) IS
'the KPI periods between two days: calendar periods, or rolling windows of window_days days ending at each calendar boundary; ERROR 22023 when first_day is after last_day or they are more than 100 years (36600 days) apart';

-- period_end_of, period_last_end, period_start_of: the periods holding a
-- day are those ending at period_end_of(day), period_end_of(day) + one
-- period, ... up to period_last_end(day): one calendar period, or every
-- rolling window ending at a boundary in (day, day + window_days].  Scalar
-- SQL the planner inlines, for generate_series() in a select list (a
-- set-returning function in FROM costs a tuplestore per purchase day);
-- calendar periods need no series at all (one period per day).
CREATE FUNCTION @extschema@.period_end_of(day date, unit text)
RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT @extschema@.period_trunc($1, $2)::timestamp OPERATOR(pg_catalog.+) @extschema@.period_interval($2)
$fn$;
COMMENT ON FUNCTION @extschema@.period_end_of(date, text) IS
'the end (exclusive) of the calendar period holding day, as a local timestamp';

CREATE FUNCTION @extschema@.period_last_end(day date, unit text, window_days integer)
RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN $3 IS NULL THEN @extschema@.period_end_of($1, $2)
				ELSE ($1 OPERATOR(pg_catalog.+) $3)::timestamp END
$fn$;
COMMENT ON FUNCTION @extschema@.period_last_end(date, text, integer) IS
'the last end of a KPI period holding day: the end of its calendar period, or day + window_days for rolling windows';

CREATE FUNCTION @extschema@.period_start_of(period_end date, unit text, window_days integer)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN $3 IS NULL THEN ($1 OPERATOR(pg_catalog.-) @extschema@.period_interval($2))::date
				ELSE $1 OPERATOR(pg_catalog.-) $3 END
$fn$;
COMMENT ON FUNCTION @extschema@.period_start_of(date, text, integer) IS
'the first day of the KPI period ending at period_end: one calendar period, or window_days days before';

-- purchase_history: one customer's purchase days in order, with the
-- orders and amount of each (src/history.c)
CREATE TYPE @extschema@.purchase_history AS (
	days date[],
	orders bigint[],
	amounts float8[]
);
COMMENT ON TYPE @extschema@.purchase_history IS
'a customer''s distinct purchase days in order, with the orders (rows) and the amount (sum of the non-NULL amounts, NULL when none) of each';
COMMENT ON COLUMN @extschema@.purchase_history.days IS 'the distinct purchase days, in order';
COMMENT ON COLUMN @extschema@.purchase_history.orders IS 'the orders (rows) of each day';
COMMENT ON COLUMN @extschema@.purchase_history.amounts IS 'the amount of each day: the sum of its non-NULL amounts, NULL when all are NULL';

CREATE FUNCTION @extschema@.purchase_history_trans(internal, date, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_history_trans'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_history_trans(internal, date, float8) IS
'transition function of clm.purchase_history (not for direct use)';
CREATE FUNCTION @extschema@.purchase_history_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_history_combine'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_history_combine(internal, internal) IS
'combine function of clm.purchase_history (not for direct use)';
CREATE FUNCTION @extschema@.purchase_history_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'clm_history_serialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_history_serialize(internal) IS
'serialize function of clm.purchase_history (not for direct use)';
CREATE FUNCTION @extschema@.purchase_history_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_history_deserialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_history_deserialize(bytea, internal) IS
'deserialize function of clm.purchase_history (not for direct use)';
CREATE FUNCTION @extschema@.purchase_history_final(internal)
RETURNS @extschema@.purchase_history
AS 'MODULE_PATHNAME', 'clm_history_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_history_final(internal) IS
'final function of clm.purchase_history (not for direct use)';

CREATE AGGREGATE @extschema@.purchase_history(day date, amount float8) (
	SFUNC = @extschema@.purchase_history_trans,
	STYPE = internal,
	SSPACE = 128,
	FINALFUNC = @extschema@.purchase_history_final,
	COMBINEFUNC = @extschema@.purchase_history_combine,
	SERIALFUNC = @extschema@.purchase_history_serialize,
	DESERIALFUNC = @extschema@.purchase_history_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.purchase_history(date, float8) IS
'the purchase days of a group of transactions (a customer) in order, with orders and amount per day; rows with a NULL day are skipped, NULL amounts count as orders';

-- purchase_histories: the one place that reads the user's relation, one
-- row per customer.  A timestamptz column is taken in the time zone; date
-- and timestamp columns are local already.
CREATE FUNCTION @extschema@.purchase_histories(
	source regclass, customer_column text DEFAULT 'customer_id', ts_column text DEFAULT 'ts',
	amount_column text DEFAULT NULL, time_zone text DEFAULT NULL)
RETURNS TABLE (customer_id text, days date[], orders bigint[], amounts float8[])
LANGUAGE plpgsql STABLE PARALLEL UNSAFE	-- check_time_zone catches an error: a subtransaction
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	tz text := coalesce(time_zone, current_setting('TimeZone'));
	ts_type regtype;
	day_expr text;
BEGIN
	IF source IS NULL OR customer_column IS NULL OR ts_column IS NULL THEN
		RAISE EXCEPTION 'source, customer_column and ts_column must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM @extschema@.check_time_zone(tz);
	PERFORM @extschema@.check_job_source(source, VARIADIC array_remove(ARRAY[customer_column, ts_column, amount_column], NULL));
	SELECT a.atttypid INTO ts_type FROM pg_attribute a
	WHERE a.attrelid = source AND a.attname = ts_column AND NOT a.attisdropped;
	IF ts_type = 'timestamptz'::regtype THEN
		day_expr := format('(t.%I AT TIME ZONE $1)::date', ts_column);
	ELSIF ts_type IN ('date'::regtype, 'timestamp'::regtype) THEN
		day_expr := format('(t.%I)::date', ts_column);
	ELSE
		RAISE EXCEPTION 'column "%" of % must be timestamptz, timestamp or date', ts_column, source
			USING ERRCODE = 'datatype_mismatch', DETAIL = format('It is %s.', ts_type);
	END IF;
	-- grouped by the column itself (hashing its type is cheaper than text)
	RETURN QUERY EXECUTE format(
		'SELECT g.c::text, (g.h).days, (g.h).orders, (g.h).amounts '
		'FROM (SELECT t.%1$I AS c, @extschema@.purchase_history(%2$s, %3$s) AS h FROM %4$s t '
		'WHERE t.%1$I IS NOT NULL AND t.%5$I IS NOT NULL GROUP BY t.%1$I) g',
		customer_column, day_expr,
		CASE WHEN amount_column IS NULL THEN 'NULL::float8' ELSE format('(t.%I)::float8', amount_column) END,
		source, ts_column)
		USING tz;
END
$fn$;
COMMENT ON FUNCTION @extschema@.purchase_histories(regclass, text, text, text, text) IS
'one row per customer of a transactions relation: the local purchase days in order, with the orders (rows) and amount of each; days in time_zone (default: the session''s)';

CREATE FUNCTION @extschema@.purchase_days(
	source regclass, customer_column text DEFAULT 'customer_id', ts_column text DEFAULT 'ts',
	amount_column text DEFAULT NULL, time_zone text DEFAULT NULL)
RETURNS TABLE (customer_id text, day date, orders bigint, amount float8)
LANGUAGE sql STABLE PARALLEL UNSAFE	-- (purchase_histories)
AS $fn$
	SELECT h.customer_id, u.day, u.orders, u.amount
	FROM @extschema@.purchase_histories($1, $2, $3, $4, $5) h
	CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(h.days), pg_catalog.unnest(h.orders), pg_catalog.unnest(h.amounts))
		u(day, orders, amount)
$fn$;
COMMENT ON FUNCTION @extschema@.purchase_days(regclass, text, text, text, text) IS
'one row per customer and local purchase day of a transactions relation: orders (rows) and amount that day, days in time_zone (default: the session''s)';

-- kpi_series: the counts behind clm.kpi from every customer's purchase
-- days, in one pass (src/kpi.c): per series, its value on each day from
-- base on (past the arrays' end, the last value holds)
CREATE TYPE @extschema@.kpi_series AS (
	base date,
	active bigint[],
	known bigint[],
	new bigint[],
	buyers bigint[],
	reactivated bigint[],
	repeat_buyers bigint[],
	lost bigint[],
	first_day date,
	last_day date
);
COMMENT ON TYPE @extschema@.kpi_series IS
'the day-by-day counts behind clm.kpi: element i of each array is the value on day base + i - 1';
COMMENT ON COLUMN @extschema@.kpi_series.base IS 'the day of the arrays'' first element';
COMMENT ON COLUMN @extschema@.kpi_series.active IS 'customers with a purchase day in [t - active_days, t)';
COMMENT ON COLUMN @extschema@.kpi_series.known IS 'customers with a first purchase before t';
COMMENT ON COLUMN @extschema@.kpi_series.new IS 'first purchases in the periods ending on t';
COMMENT ON COLUMN @extschema@.kpi_series.buyers IS 'customers buying in the periods ending on t';
COMMENT ON COLUMN @extschema@.kpi_series.reactivated IS 'customers back after a lapse in the periods ending on t';
COMMENT ON COLUMN @extschema@.kpi_series.repeat_buyers IS 'buyers with 2 orders or more by their last purchase in the periods ending on t';
COMMENT ON COLUMN @extschema@.kpi_series.lost IS 'customers lapsing in the periods ending on t';
COMMENT ON COLUMN @extschema@.kpi_series.first_day IS 'the first purchase day seen';
COMMENT ON COLUMN @extschema@.kpi_series.last_day IS 'the last purchase day seen';

CREATE FUNCTION @extschema@.kpi_series_trans(internal, date[], bigint, text, integer, integer)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_kpi_trans'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kpi_series_trans(internal, date[], bigint, text, integer, integer) IS
'transition function of clm.kpi_series (not for direct use)';
CREATE FUNCTION @extschema@.kpi_series_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_kpi_combine'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kpi_series_combine(internal, internal) IS
'combine function of clm.kpi_series (not for direct use)';
CREATE FUNCTION @extschema@.kpi_series_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'clm_kpi_serialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kpi_series_serialize(internal) IS
'serialize function of clm.kpi_series (not for direct use)';
CREATE FUNCTION @extschema@.kpi_series_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_kpi_deserialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kpi_series_deserialize(bytea, internal) IS
'deserialize function of clm.kpi_series (not for direct use)';
CREATE FUNCTION @extschema@.kpi_series_final(internal)
RETURNS @extschema@.kpi_series
AS 'MODULE_PATHNAME', 'clm_kpi_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kpi_series_final(internal) IS
'final function of clm.kpi_series (not for direct use)';

CREATE AGGREGATE @extschema@.kpi_series(days date[], first_day_orders bigint, period text,
										 active_days integer, window_days integer) (
	SFUNC = @extschema@.kpi_series_trans,
	STYPE = internal,
	SSPACE = 65536,
	FINALFUNC = @extschema@.kpi_series_final,
	COMBINEFUNC = @extschema@.kpi_series_combine,
	SERIALFUNC = @extschema@.kpi_series_serialize,
	DESERIALFUNC = @extschema@.kpi_series_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.kpi_series(date[], bigint, text, integer, integer) IS
'the counts of clm.kpi from customers'' purchase days in order (clm.purchase_history''s days and first day''s orders): period week, month or quarter, customers active for active_days after a purchase, rolling windows of window_days (NULL: calendar periods)';

-- kpi_at: a kpi_series array's value on a day (0 before base and for NULL)
CREATE FUNCTION @extschema@.kpi_at(series bigint[], base date, day date)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT coalesce(CASE WHEN $3 OPERATOR(pg_catalog.<) $2 THEN 0
						 WHEN ($3 OPERATOR(pg_catalog.-) $2) OPERATOR(pg_catalog.>=) pg_catalog.cardinality($1)
						 THEN $1[pg_catalog.cardinality($1)]
						 ELSE $1[($3 OPERATOR(pg_catalog.-) $2) OPERATOR(pg_catalog.+) 1] END, 0)
$fn$;
COMMENT ON FUNCTION @extschema@.kpi_at(bigint[], date, date) IS
'the value on day of a clm.kpi_series array starting on base: 0 before base (or without a series), the last value after its end';

-- kpi: the period KPIs from raw transactions (see README, "KPIs"), read
-- off clm.kpi_series at each period's start and end:
--  new			first purchase ever in the period
--  buyers		customers buying in the period; repeat_buyers: those with 2+
--				orders by their last purchase day in it
--  reactivated	first purchase in the period more than active_days after
--				the one before
--  lost		active at the start, no purchase from the last one before
--				the start + active_days to the period's end
--  customers_start, active_end, lapsed_start: counts at the boundaries
CREATE FUNCTION @extschema@.kpi(
	source regclass, customer_column text DEFAULT 'customer_id', ts_column text DEFAULT 'ts',
	period text DEFAULT 'month', active_days integer DEFAULT 90, window_days integer DEFAULT NULL,
	time_zone text DEFAULT NULL, from_day date DEFAULT NULL, to_day date DEFAULT NULL)
RETURNS TABLE (
	period_start date, period_end date,
	customers_start bigint, new bigint, active_end bigint, lost bigint, reactivated bigint,
	lapsed_start bigint, buyers bigint, repeat_buyers bigint,
	retention_rate float8, churn_rate float8, repeat_purchase_rate float8, winback_rate float8)
LANGUAGE sql STABLE PARALLEL UNSAFE	-- (purchase_histories)
AS $fn$
WITH k AS (
	-- (the CASE makes the argument check run even on an empty source)
	SELECT @extschema@.kpi_series(h.days, h.orders[1], $4, $5, $6) AS k
	FROM @extschema@.purchase_histories($1, $2, $3, NULL,
			CASE WHEN @extschema@.kpi_window($4, $5, $6) OPERATOR(pg_catalog.>) 0 THEN $7 END) h
), v AS (
	SELECT p.period_start, p.period_end,
		   @extschema@.kpi_at((k.k).active, (k.k).base, p.period_start) AS customers_start,
		   @extschema@.kpi_at((k.k).known, (k.k).base, p.period_start) AS known_start,
		   @extschema@.kpi_at((k.k).active, (k.k).base, p.period_end) AS active_end,
		   @extschema@.kpi_at((k.k).new, (k.k).base, p.period_end) AS new,
		   @extschema@.kpi_at((k.k).buyers, (k.k).base, p.period_end) AS buyers,
		   @extschema@.kpi_at((k.k).reactivated, (k.k).base, p.period_end) AS reactivated,
		   @extschema@.kpi_at((k.k).repeat_buyers, (k.k).base, p.period_end) AS repeat_buyers,
		   @extschema@.kpi_at((k.k).lost, (k.k).base, p.period_end) AS lost
	FROM k, @extschema@.kpi_periods(coalesce($8, (k.k).first_day), coalesce($9, (k.k).last_day), $4, $6) p
)
SELECT v.period_start, v.period_end,
	   v.customers_start, v.new, v.active_end, v.lost, v.reactivated,
	   v.known_start OPERATOR(pg_catalog.-) v.customers_start, v.buyers, v.repeat_buyers,
	   (v.active_end OPERATOR(pg_catalog.-) v.new)::float8 OPERATOR(pg_catalog./) nullif(v.customers_start, 0),
	   v.lost::float8 OPERATOR(pg_catalog./) nullif(v.customers_start, 0),
	   v.repeat_buyers::float8 OPERATOR(pg_catalog./) nullif(v.buyers, 0),
	   v.reactivated::float8 OPERATOR(pg_catalog./) nullif(v.known_start OPERATOR(pg_catalog.-) v.customers_start, 0)
FROM v
ORDER BY v.period_end
$fn$;
COMMENT ON FUNCTION @extschema@.kpi(regclass, text, text, text, integer, integer, text, date, date) IS
'KPIs per period from raw transactions: customers active at the start (a purchase in the active_days before), new, active at the end, lost, reactivated, lapsed at the start, buyers, repeat buyers, and retention = (active_end - new) / customers_start, churn = lost / customers_start, repeat purchase = repeat_buyers / buyers, win-back = reactivated / lapsed_start; calendar periods (week, month, quarter) or rolling windows of window_days days, in local days of time_zone';

-- stage_is_active: the stages that count as an active customer in the job
-- KPIs (at_risk still is; churned and prospect are not)
CREATE FUNCTION @extschema@.stage_is_active(stage @extschema@.stage)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT coalesce($1 OPERATOR(pg_catalog.<>) ALL (ARRAY['prospect', 'churned']::@extschema@.stage[]), false)
$fn$;
COMMENT ON FUNCTION @extschema@.stage_is_active(@extschema@.stage) IS
'whether a stage counts as active in clm.job_kpi: new, active, loyal, at_risk, reactivated (false for prospect, churned and NULL)';

-- job_named: the caller's job of that name (row-level security applies)
CREATE FUNCTION @extschema@.job_named(name text)
RETURNS @extschema@.jobs
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.name = job_named.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN j;
END
$fn$;
COMMENT ON FUNCTION @extschema@.job_named(text) IS
'the job of that name (one the caller may see); an error if there is none';

-- job_kpi: the same KPIs from a job's stage history, in the job's time
-- zone; the job's stages decide who is active (clm.stage_is_active) and who
-- is lost (churned).  A stage change on local day D belongs to the period
-- holding D.  Per customer and period, the stage before its first change in
-- the period and after its last one give:
--  new			first classification in an active stage
--  lost		active before, churned after
--  reactivated	churned before, active after
-- and running sums of the changes give the counts at the boundaries.
-- buyers and repeat_buyers come from the job's source (clm.kpi).
CREATE FUNCTION @extschema@.job_kpi(
	job text, period text DEFAULT 'month', window_days integer DEFAULT NULL,
	from_day date DEFAULT NULL, to_day date DEFAULT NULL)
RETURNS TABLE (
	period_start date, period_end date,
	customers_start bigint, new bigint, active_end bigint, lost bigint, reactivated bigint,
	lapsed_start bigint, buyers bigint, repeat_buyers bigint,
	retention_rate float8, churn_rate float8, repeat_purchase_rate float8, winback_rate float8)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
WITH j AS (
	SELECT j.job_id, j.source, j.customer_column, j.ts_column, j.time_zone
	FROM @extschema@.job_named($1) j
	WHERE @extschema@.kpi_window($2, coalesce($3, 92), $3) OPERATOR(pg_catalog.>) 0
), h AS (
	SELECT h.customer_id, h.id, h.from_stage, h.to_stage,
		   (h.changed_at AT TIME ZONE j.time_zone)::date AS day
	FROM j CROSS JOIN LATERAL @extschema@.job_table_rows(j.job_id, 'history', NULL::@extschema@.job_history_template) h
), bounds AS (
	SELECT coalesce($4, pg_catalog.min(h.day)) AS lo, coalesce($5, pg_catalog.max(h.day)) AS hi FROM h
), periods AS (
	SELECT p.period_start, p.period_end
	FROM bounds b, @extschema@.kpi_periods(b.lo, b.hi, $2, $3) p
), moves AS (
	-- per customer and period: the stage before the first change and after the last
	SELECT x.e AS period_end,
		   (pg_catalog.array_agg(x.from_stage ORDER BY x.day, x.id))[1] AS before,
		   (pg_catalog.array_agg(x.to_stage ORDER BY x.day DESC, x.id DESC))[1] AS after
	FROM (SELECT h.*, pg_catalog.generate_series(@extschema@.period_end_of(h.day, $2),
												 @extschema@.period_last_end(h.day, $2, $3),
												 @extschema@.period_interval($2))::date AS e
		  FROM h) x
	GROUP BY x.customer_id, x.e
), counts AS (
	SELECT m.period_end,
		   pg_catalog.count(*) FILTER (WHERE coalesce(m.before, 'prospect') OPERATOR(pg_catalog.=) 'prospect'
										 AND @extschema@.stage_is_active(m.after)) AS new,
		   pg_catalog.count(*) FILTER (WHERE @extschema@.stage_is_active(m.before)
										 AND m.after OPERATOR(pg_catalog.=) 'churned') AS lost,
		   pg_catalog.count(*) FILTER (WHERE m.before OPERATOR(pg_catalog.=) 'churned'
										 AND @extschema@.stage_is_active(m.after)) AS reactivated
	FROM moves m GROUP BY m.period_end
), deltas AS (
	SELECT x.day, pg_catalog.sum(x.da) AS da, pg_catalog.sum(x.dc) AS dc
	FROM (SELECT h.day OPERATOR(pg_catalog.+) 1 AS day,
				 @extschema@.stage_is_active(h.to_stage)::integer
					 OPERATOR(pg_catalog.-) @extschema@.stage_is_active(h.from_stage)::integer AS da,
				 (h.to_stage IS NOT DISTINCT FROM 'churned')::integer
					 OPERATOR(pg_catalog.-) (h.from_stage IS NOT DISTINCT FROM 'churned')::integer AS dc
		  FROM h
		  UNION ALL
		  SELECT p.period_start, 0, 0 FROM periods p
		  UNION ALL
		  SELECT p.period_end, 0, 0 FROM periods p) x
	GROUP BY x.day
), running AS (
	SELECT r.day, pg_catalog.sum(r.da) OVER o AS active, pg_catalog.sum(r.dc) OVER o AS churned
	FROM deltas r WINDOW o AS (ORDER BY r.day)
), tx AS (
	SELECT k.period_end, k.buyers, k.repeat_buyers
	FROM j, bounds b,
		 LATERAL @extschema@.kpi(j.source::regclass, j.customer_column, j.ts_column, $2,
								 coalesce($3, 92), $3, j.time_zone, b.lo, b.hi) k
)
SELECT p.period_start, p.period_end,
	   s.active::bigint, coalesce(c.new, 0), e.active::bigint, coalesce(c.lost, 0), coalesce(c.reactivated, 0),
	   s.churned::bigint, t.buyers, t.repeat_buyers,
	   (e.active OPERATOR(pg_catalog.-) coalesce(c.new, 0))::float8 OPERATOR(pg_catalog./) nullif(s.active, 0),
	   coalesce(c.lost, 0)::float8 OPERATOR(pg_catalog./) nullif(s.active, 0),
	   t.repeat_buyers::float8 OPERATOR(pg_catalog./) nullif(t.buyers, 0),
	   coalesce(c.reactivated, 0)::float8 OPERATOR(pg_catalog./) nullif(s.churned, 0)
FROM periods p
JOIN running s ON s.day OPERATOR(pg_catalog.=) p.period_start
JOIN running e ON e.day OPERATOR(pg_catalog.=) p.period_end
LEFT JOIN counts c ON c.period_end OPERATOR(pg_catalog.=) p.period_end
LEFT JOIN tx t ON t.period_end OPERATOR(pg_catalog.=) p.period_end
ORDER BY p.period_end
$fn$;
COMMENT ON FUNCTION @extschema@.job_kpi(text, text, integer, date, date) IS
'KPIs per period from a job''s stage history, in the job''s time zone: active = new, active, loyal, at_risk or reactivated, lost = moved from those to churned, reactivated = churned to active, lapsed_start = churned at the start; buyers and repeat buyers from the job''s source; same columns and rates as clm.kpi';

-- cohort_series: the cells of clm.cohorts from every customer's purchase
-- days, in one pass (src/cohort.c)
CREATE TYPE @extschema@.cohort_series AS (
	first_period date,
	periods integer,
	sizes bigint[],
	customers bigint[],
	orders bigint[],
	revenue float8[],
	rolling bigint[],
	cumulative_revenue float8[]
);
COMMENT ON TYPE @extschema@.cohort_series IS
'the cells of clm.cohorts: periods P from first_period, sizes[i + 1] the size of the cohort of period i, the other arrays P x P with element i * P + k + 1 the cohort of period i, k periods later';
COMMENT ON COLUMN @extschema@.cohort_series.first_period IS 'the first day of the first cohort''s period';
COMMENT ON COLUMN @extschema@.cohort_series.periods IS 'periods from the first cohort''s to the last with a purchase';
COMMENT ON COLUMN @extschema@.cohort_series.sizes IS 'customers per cohort (0: no first purchase in that period)';
COMMENT ON COLUMN @extschema@.cohort_series.customers IS 'customers of the cohort buying k periods later';
COMMENT ON COLUMN @extschema@.cohort_series.orders IS 'their orders';
COMMENT ON COLUMN @extschema@.cohort_series.revenue IS 'their revenue (NULL amounts count as 0)';
COMMENT ON COLUMN @extschema@.cohort_series.rolling IS 'customers of the cohort buying k periods later or after';
COMMENT ON COLUMN @extschema@.cohort_series.cumulative_revenue IS 'the cohort''s revenue up to k periods later';

CREATE FUNCTION @extschema@.cohort_series_trans(internal, date[], bigint[], text, date, float8[])
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_cohort_trans'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cohort_series_trans(internal, date[], bigint[], text, date, float8[]) IS
'transition function of clm.cohort_series (not for direct use)';
CREATE FUNCTION @extschema@.cohort_series_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_cohort_combine'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cohort_series_combine(internal, internal) IS
'combine function of clm.cohort_series (not for direct use)';
CREATE FUNCTION @extschema@.cohort_series_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'clm_cohort_serialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cohort_series_serialize(internal) IS
'serialize function of clm.cohort_series (not for direct use)';
CREATE FUNCTION @extschema@.cohort_series_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_cohort_deserialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cohort_series_deserialize(bytea, internal) IS
'deserialize function of clm.cohort_series (not for direct use)';
CREATE FUNCTION @extschema@.cohort_series_final(internal)
RETURNS @extschema@.cohort_series
AS 'MODULE_PATHNAME', 'clm_cohort_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.cohort_series_final(internal) IS
'final function of clm.cohort_series (not for direct use)';

CREATE AGGREGATE @extschema@.cohort_series(days date[], orders bigint[], period text, to_day date,
											amounts float8[]) (
	SFUNC = @extschema@.cohort_series_trans,
	STYPE = internal,
	SSPACE = 65536,
	FINALFUNC = @extschema@.cohort_series_final,
	COMBINEFUNC = @extschema@.cohort_series_combine,
	SERIALFUNC = @extschema@.cohort_series_serialize,
	DESERIALFUNC = @extschema@.cohort_series_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.cohort_series(date[], bigint[], text, date, float8[]) IS
'the cohort cells of clm.cohorts from customers'' purchase days in order with orders and amounts (clm.purchase_history''s arrays): cohorts by the period (week, month, quarter) of the first purchase, days after to_day (if not NULL) left out';

-- cohorts: customers grouped by the period of their first purchase; per
-- cohort and period index k (0 = the first period): customers buying in
-- period k ("bracket" retention) and customers buying in period k or
-- later ("rolling", unbounded retention), orders and revenue.  Every
-- period from 0 to the period of the last purchase in the data (or
-- to_day) has a row, empty ones too.
CREATE FUNCTION @extschema@.cohorts(
	source regclass, customer_column text DEFAULT 'customer_id', ts_column text DEFAULT 'ts',
	amount_column text DEFAULT 'amount', period text DEFAULT 'month', time_zone text DEFAULT NULL,
	to_day date DEFAULT NULL)
RETURNS TABLE (
	cohort date, period integer, period_start date, cohort_size bigint,
	customers bigint, retention float8, rolling_customers bigint, rolling_retention float8,
	orders bigint, revenue float8, revenue_per_customer float8, cumulative_revenue_per_customer float8)
LANGUAGE sql STABLE PARALLEL UNSAFE	-- (purchase_histories)
AS $fn$
WITH c AS (
	SELECT (@extschema@.cohort_series(h.days, h.orders, $5, $7, h.amounts)).*
	FROM @extschema@.purchase_histories($1, $2, $3, $4,
			CASE WHEN @extschema@.period_step($5) IS NOT NULL THEN $6 END) h
), cells AS (
	-- cohort i, k periods later: element i * periods + k + 1
	SELECT c.first_period, i.i, k.k, c.sizes[i.i OPERATOR(pg_catalog.+) 1] AS size,
		   (i.i OPERATOR(pg_catalog.*) c.periods) OPERATOR(pg_catalog.+) k.k OPERATOR(pg_catalog.+) 1 AS at,
		   c.customers, c.orders, c.revenue, c.rolling, c.cumulative_revenue
	FROM c, pg_catalog.generate_series(0, c.periods OPERATOR(pg_catalog.-) 1) i(i),
		 pg_catalog.generate_series(0, c.periods OPERATOR(pg_catalog.-) 1 OPERATOR(pg_catalog.-) i.i) k(k)
	WHERE c.sizes[i.i OPERATOR(pg_catalog.+) 1] OPERATOR(pg_catalog.>) 0
)
-- revenue 0 in a period without purchases, NULL without amount_column
SELECT (x.first_period::timestamp OPERATOR(pg_catalog.+) (x.i OPERATOR(pg_catalog.*) @extschema@.period_interval($5)))::date,
	   x.k,
	   (x.first_period::timestamp OPERATOR(pg_catalog.+) ((x.i OPERATOR(pg_catalog.+) x.k) OPERATOR(pg_catalog.*) @extschema@.period_interval($5)))::date,
	   x.size, x.customers[x.at], x.customers[x.at]::float8 OPERATOR(pg_catalog./) x.size,
	   x.rolling[x.at], x.rolling[x.at]::float8 OPERATOR(pg_catalog./) x.size,
	   x.orders[x.at],
	   CASE WHEN $4 IS NOT NULL THEN x.revenue[x.at] END,
	   CASE WHEN $4 IS NOT NULL THEN x.revenue[x.at] OPERATOR(pg_catalog./) x.size END,
	   CASE WHEN $4 IS NOT NULL THEN x.cumulative_revenue[x.at] OPERATOR(pg_catalog./) x.size END
FROM cells x
ORDER BY x.i, x.k
$fn$;
COMMENT ON FUNCTION @extschema@.cohorts(regclass, text, text, text, text, text, date) IS
'acquisition cohorts by the period (week, month, quarter) of the first purchase, in long form: per cohort and period index (0 = the first period) the customers buying in that period (retention = customers / cohort_size), buying in it or later (rolling_retention), orders, revenue, revenue per cohort member and its running total';

-- frequency_recency_matrix: the two signature pictures of a fitted BG/NBD
-- or MBG/NBD model (as in the lifetimes package): for a customer observed
-- for tenure time units, every frequency 0..max_frequency and recency 0,
-- recency_step, ... up to tenure, the expected purchases in the next t
-- units and P(alive), from clm.expected_purchases and clm.p_alive.  Cells
-- with frequency 0 and recency > 0 cannot occur (no repeat purchase means
-- recency 0) and are left out.
CREATE FUNCTION @extschema@.check_matrix(tenure float8, max_frequency integer, t float8, recency_step float8)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF NOT (tenure > 0 AND tenure < 1e6) THEN
		RAISE EXCEPTION 'tenure must be positive and below 1e6' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('The value is %s.', tenure);
	END IF;
	IF NOT (max_frequency BETWEEN 0 AND 1000) THEN
		RAISE EXCEPTION 'max_frequency must be between 0 and 1000' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('The value is %s.', max_frequency);
	END IF;
	IF NOT (t >= 0 AND t < 1e6) THEN
		RAISE EXCEPTION 't must be between 0 and 1e6' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('The value is %s.', t);
	END IF;
	IF NOT (recency_step > 0) OR tenure / recency_step > 1000 THEN
		RAISE EXCEPTION 'recency_step must be positive and at least tenure / 1000' USING ERRCODE = 'invalid_parameter_value',
			DETAIL = format('tenure is %s, recency_step is %s.', tenure, recency_step);
	END IF;
	RETURN true;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_matrix(float8, integer, float8, float8) IS
'true for valid clm.frequency_recency_matrix arguments (at most 1001 x 1001 cells); an error naming the argument otherwise';

CREATE FUNCTION @extschema@.frequency_recency_matrix(
	model @extschema@.bgnbd_model, tenure float8, max_frequency integer, t float8 DEFAULT 1,
	recency_step float8 DEFAULT 1)
RETURNS TABLE (frequency integer, recency float8, expected_purchases float8, p_alive float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT f.f, r.r, @extschema@.expected_purchases($1, $4, f.f, r.r, $2), @extschema@.p_alive($1, f.f, r.r, $2)
	FROM pg_catalog.generate_series(0, $3) f(f),
		 -- k * step may round a few ulps above tenure (26.13 / 0.39 gives 67,
		 -- 67 * 0.39 = 26.130000000000003): the last recency is tenure
		 LATERAL (SELECT LEAST(k.k OPERATOR(pg_catalog.*) $5, $2) AS r
				  FROM pg_catalog.generate_series(0, pg_catalog.floor($2 OPERATOR(pg_catalog./) $5)::integer) k(k)) r
	WHERE @extschema@.check_matrix($2, $3, $4, $5)
	  AND (f.f OPERATOR(pg_catalog.>) 0 OR r.r OPERATOR(pg_catalog.=) 0)
	ORDER BY 1, 2
$fn$;
COMMENT ON FUNCTION @extschema@.frequency_recency_matrix(@extschema@.bgnbd_model, float8, integer, float8, float8) IS
'BG/NBD frequency/recency matrix for a customer observed for tenure: expected purchases in the next t and P(alive) for every frequency 0..max_frequency and recency 0, recency_step, .. <= tenure (same time unit as the fit)';

CREATE FUNCTION @extschema@.frequency_recency_matrix(
	model @extschema@.mbgnbd_model, tenure float8, max_frequency integer, t float8 DEFAULT 1,
	recency_step float8 DEFAULT 1)
RETURNS TABLE (frequency integer, recency float8, expected_purchases float8, p_alive float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT f.f, r.r, @extschema@.expected_purchases($1, $4, f.f, r.r, $2), @extschema@.p_alive($1, f.f, r.r, $2)
	FROM pg_catalog.generate_series(0, $3) f(f),
		 -- k * step may round a few ulps above tenure (26.13 / 0.39 gives 67,
		 -- 67 * 0.39 = 26.130000000000003): the last recency is tenure
		 LATERAL (SELECT LEAST(k.k OPERATOR(pg_catalog.*) $5, $2) AS r
				  FROM pg_catalog.generate_series(0, pg_catalog.floor($2 OPERATOR(pg_catalog./) $5)::integer) k(k)) r
	WHERE @extschema@.check_matrix($2, $3, $4, $5)
	  AND (f.f OPERATOR(pg_catalog.>) 0 OR r.r OPERATOR(pg_catalog.=) 0)
	ORDER BY 1, 2
$fn$;
COMMENT ON FUNCTION @extschema@.frequency_recency_matrix(@extschema@.mbgnbd_model, float8, integer, float8, float8) IS
'MBG/NBD frequency/recency matrix for a customer observed for tenure: expected purchases in the next t and P(alive) for every frequency 0..max_frequency and recency 0, recency_step, .. <= tenure (same time unit as the fit)';
