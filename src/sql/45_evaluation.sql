------------------------------------------------------------------------------
-- Holdout evaluation: is the model any good on these customers?
--
-- Split the transactions at a calibration date, fit on the calibration
-- period, predict the holdout period, compare with what customers did.
------------------------------------------------------------------------------

-- holdout_data: per customer of the calibration cohort (first purchase on or
-- before calibration_end), the calibration summary (as clm.customer_summary
-- as of calibration_end) and what they did in (calibration_end,
-- holdout_end]: purchase days (the unit frequency counts) and amount.
-- source is a query returning (customer_id, ts, amount); it is the caller's
-- query, run as given (no search_path is set).
CREATE FUNCTION @extschema@.holdout_data(
	source text, calibration_end timestamptz, holdout_end timestamptz, unit text DEFAULT 'week')
RETURNS TABLE (customer_id text, frequency float8, recency float8, tenure float8, monetary float8,
			   first_purchase timestamptz, holdout_frequency float8, holdout_amount float8,
			   holdout_length float8)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
AS $fn$
BEGIN
	IF source IS NULL OR calibration_end IS NULL OR holdout_end IS NULL OR unit IS NULL THEN
		RAISE EXCEPTION 'source, calibration_end, holdout_end and unit must not be NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF holdout_end <= calibration_end THEN
		RAISE EXCEPTION 'holdout_end must be after calibration_end'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('calibration_end is %s, holdout_end is %s.', calibration_end, holdout_end);
	END IF;
	PERFORM @extschema@.unit_days(unit);
	IF unit = 'month' THEN
		RAISE EXCEPTION 'unit must be ''day'' or ''week'''
			USING ERRCODE = 'invalid_parameter_value', HINT = 'clm.customer_summary counts days or weeks.';
	END IF;
	-- purchase days are local calendar days (timestamptz::date), as in
	-- clm.customer_summary
	RETURN QUERY EXECUTE format($q$
		SELECT x.customer_id, (x.cs).frequency::float8, (x.cs).recency, (x.cs).tenure,
			   (x.cs).repeat_avg_amount, (x.cs).first_purchase, x.hn::float8, x.ha,
			   (($2)::date - ($1)::date)::float8 / @extschema@.unit_days($3)
		FROM (SELECT t.customer_id,
					 @extschema@.customer_summary(t.ts, t.amount, $1, $3) FILTER (WHERE t.ts <= $1) AS cs,
					 count(DISTINCT t.ts::date) FILTER (WHERE t.ts > $1) AS hn,
					 coalesce(sum(t.amount) FILTER (WHERE t.ts > $1), 0) AS ha
			  FROM (SELECT s.customer_id::text AS customer_id, s.ts::timestamptz AS ts, s.amount::float8 AS amount
					FROM (%s) AS s(customer_id, ts, amount)) t
			  WHERE t.ts <= $2 AND t.customer_id IS NOT NULL AND t.ts IS NOT NULL
			  GROUP BY t.customer_id) x
		WHERE (x.cs).first_purchase IS NOT NULL
		ORDER BY x.customer_id
	$q$, source) USING calibration_end, holdout_end, unit;
END
$fn$;
COMMENT ON FUNCTION @extschema@.holdout_data(text, timestamptz, timestamptz, text) IS
'calibration/holdout split of a query returning (customer_id, ts, amount): per customer whose first purchase is on or before calibration_end, the summary as of calibration_end (frequency, recency, tenure, monetary = repeat_avg_amount) and the purchase days and amount in (calibration_end, holdout_end]; holdout_length in unit';

-- prediction_error: compare predicted with actual over customers
CREATE TYPE @extschema@.prediction_error AS (
	customers bigint,
	mae float8,
	rmse float8,
	sum_predicted float8,
	sum_actual float8,
	aggregate_error float8,
	rmse_baseline float8
);
COMMENT ON TYPE @extschema@.prediction_error IS
'errors of predictions against actual values: mean absolute error, root mean squared error, totals, aggregate_error = sum_predicted / sum_actual - 1, and rmse_baseline = the RMSE of predicting everyone the mean actual value (the standard deviation of actual)';

CREATE FUNCTION @extschema@.prediction_error_trans(float8[], float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_prediction_error_trans' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prediction_error_trans(float8[], float8, float8) IS
'transition function of clm.prediction_error (not for direct use)';
CREATE FUNCTION @extschema@.prediction_error_combine(float8[], float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_prediction_error_combine' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prediction_error_combine(float8[], float8[]) IS
'combine function of clm.prediction_error (not for direct use)';
CREATE FUNCTION @extschema@.prediction_error_final(float8[]) RETURNS @extschema@.prediction_error
AS 'MODULE_PATHNAME', 'clm_prediction_error_final' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prediction_error_final(float8[]) IS
'final function of clm.prediction_error (not for direct use)';

CREATE AGGREGATE @extschema@.prediction_error(predicted float8, actual float8) (
	SFUNC = @extschema@.prediction_error_trans,
	STYPE = float8[],
	INITCOND = '{0,0,0,0,0,0}',
	FINALFUNC = @extschema@.prediction_error_final,
	COMBINEFUNC = @extschema@.prediction_error_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.prediction_error(float8, float8) IS
'MAE, RMSE, totals and aggregate error of predicted against actual values (pairs with a NULL are skipped)';

-- holdout_predictions: per customer, the model's prediction for the holdout
-- period against what happened.  The purchase model is put in the data's
-- unit first (clm.in_unit).  predicted_spend = predicted_purchases x the
-- Gamma-Gamma expected average value (NULL without a spend model).
CREATE FUNCTION @extschema@.holdout_predictions(
	purchase_model anyelement, source text, calibration_end timestamptz, holdout_end timestamptz,
	unit text DEFAULT 'week', spend_model @extschema@.gamma_gamma_model DEFAULT NULL)
RETURNS TABLE (customer_id text, frequency float8, recency float8, tenure float8, monetary float8,
			   p_alive float8, predicted_purchases float8, actual_purchases float8,
			   predicted_spend float8, actual_spend float8)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
AS $fn$
DECLARE
	m ALIAS FOR purchase_model;
BEGIN
	IF purchase_model IS NULL THEN
		RAISE EXCEPTION 'purchase_model must not be NULL' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := @extschema@.in_unit(m, unit);
	RETURN QUERY
	SELECT h.customer_id, h.frequency, h.recency, h.tenure, h.monetary,
		   @extschema@.p_alive(m, h.frequency, h.recency, h.tenure),
		   e.predicted, h.holdout_frequency,
		   e.predicted * CASE WHEN h.frequency = 0 OR h.monetary > 0
							  THEN @extschema@.expected_avg_value(spend_model, h.frequency, h.monetary) END,
		   h.holdout_amount
	FROM @extschema@.holdout_data(source, calibration_end, holdout_end, unit) h,
		 LATERAL (SELECT @extschema@.expected_purchases(m, h.holdout_length, h.frequency, h.recency, h.tenure)
				  AS predicted) e
	WHERE h.tenure > 0;
END
$fn$;
COMMENT ON FUNCTION @extschema@.holdout_predictions(anyelement, text, timestamptz, timestamptz, text, @extschema@.gamma_gamma_model) IS
'per customer of the calibration cohort (tenure > 0 at calibration_end): P(alive) at calibration_end, predicted and actual holdout purchases (purchase days) and, with a Gamma-Gamma spend_model, predicted and actual holdout spend; purchase_model is a clm.bgnbd_model, mbgnbd_model or pareto_nbd_model fitted on the calibration period';

-- tracking_series: the calibration cohort's cumulative repeat purchases per
-- period from the first first purchase (origin) to holdout_end, actual
-- against expected.  Period k ends on local day origin + k * unit_days - 1;
-- by then a customer whose first purchase was on day d_i has had
-- (origin + k * unit_days - 1 - d_i) / unit_days units in which to buy, and
-- is expected to have made expected_purchases(model, that) repeat purchases
-- (the same time convention as tenure in clm.customer_summary).
CREATE FUNCTION @extschema@.tracking_series(
	purchase_model anyelement, source text, calibration_end timestamptz, holdout_end timestamptz,
	unit text DEFAULT 'week')
RETURNS TABLE (period integer, period_end date, holdout boolean,
			   actual float8, expected float8, actual_cumulative float8, expected_cumulative float8)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
AS $fn$
DECLARE
	m ALIAS FOR purchase_model;
BEGIN
	IF purchase_model IS NULL OR source IS NULL OR calibration_end IS NULL OR holdout_end IS NULL
	   OR unit IS NULL THEN
		RAISE EXCEPTION 'purchase_model, source, calibration_end, holdout_end and unit must not be NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := @extschema@.in_unit(m, unit);
	-- days: the calibration cohort's distinct purchase days up to
	-- holdout_end; p: the periods (e = the last day of period k, counted
	-- from origin); firsts: customers per first-purchase day
	RETURN QUERY EXECUTE format($q$
		WITH d AS (
			SELECT DISTINCT s.customer_id::text AS customer_id, s.ts::timestamptz::date AS day
			FROM (%s) AS s(customer_id, ts, amount)
			WHERE s.customer_id IS NOT NULL AND s.ts IS NOT NULL AND s.ts::timestamptz <= $2),
		f AS (SELECT d.customer_id, d.day, min(d.day) OVER (PARTITION BY d.customer_id) AS first_day FROM d),
		days AS (SELECT f.* FROM f WHERE f.first_day <= ($1)::date),
		o AS (SELECT min(days.first_day) AS origin, @extschema@.unit_days($3) AS ud FROM days),
		p AS (SELECT k, k * o.ud - 1 AS e, o.origin, o.ud
			  FROM o, generate_series(1, ceil((($2)::date - o.origin + 1) / o.ud)::integer) k
			  WHERE o.origin IS NOT NULL),
		firsts AS (SELECT (days.first_day - o.origin)::float8 AS d, count(*)::float8 AS n
				   FROM days, o WHERE days.day = days.first_day GROUP BY 1),
		rep AS (SELECT floor((days.day - o.origin) / o.ud)::integer + 1 AS k, count(*)::float8 AS n
				FROM days, o WHERE days.day > days.first_day GROUP BY 1),
		c AS (
			SELECT p.k, p.origin, p.ud, coalesce(rep.n, 0) AS act,
				   (SELECT coalesce(sum(firsts.n * @extschema@.expected_purchases($4, (p.e - firsts.d) / p.ud)), 0)
					FROM firsts WHERE firsts.d <= p.e) AS exp
			FROM p LEFT JOIN rep ON rep.k = p.k)
		SELECT c.k, c.origin + (c.k * c.ud)::integer - 1,
			   c.origin + (c.k * c.ud)::integer - 1 > ($1)::date,
			   c.act, c.exp - coalesce(lag(c.exp) OVER w, 0),
			   sum(c.act) OVER w, c.exp
		FROM c WINDOW w AS (ORDER BY c.k) ORDER BY c.k
	$q$, source) USING calibration_end, holdout_end, unit, m;
END
$fn$;
COMMENT ON FUNCTION @extschema@.tracking_series(anyelement, text, timestamptz, timestamptz, text) IS
'per period (unit) from the cohort''s first purchase to holdout_end: actual and expected repeat purchases of the calibration cohort, per period and cumulative; holdout marks periods ending after calibration_end';

------------------------------------------------------------------------------
-- Holdout evaluation of BG/BB: calendar periods, one opportunity each
--
-- BG/BB counts periods, not time: a customer has at most one transaction
-- opportunity per period.  Its "unit" is therefore the length of a period,
-- a calendar day, week (ISO, from Monday), month or year, and transactions
-- are binned by the local calendar period they fall in.  Unlike the time
-- unit of the continuous models it cannot be converted: the per-period
-- probabilities of a yearly model say nothing exact about months.
------------------------------------------------------------------------------

-- check_period_unit: the BG/BB period names, anything else 22023 naming unit
CREATE FUNCTION @extschema@.check_period_unit(unit text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	IF unit IS NULL OR unit NOT IN ('day', 'week', 'month', 'year') THEN
		RAISE EXCEPTION 'unit must be ''day'', ''week'', ''month'' or ''year'''
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %L.', unit),
				  HINT = 'A BG/BB period is a calendar day, week, month or year: one transaction opportunity each.';
	END IF;
	RETURN unit;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_period_unit(text) IS
'unit if it names a BG/BB period (day, week, month, year), else 22023';
-- period_number: consecutive numbers for the calendar periods of unit, so
-- that the difference of two is the number of periods between them
CREATE FUNCTION @extschema@.period_number(day date, unit text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	PERFORM @extschema@.check_period_unit(unit);
	IF NOT pg_catalog.isfinite(day) THEN
		RAISE EXCEPTION 'day must be finite'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %s.', day);
	END IF;
	-- the year and month numbers come from extract(), a plain multiple of
	-- the year; days and ISO weeks count from a Monday (1970-01-05)
	RETURN CASE unit
		WHEN 'day' THEN day OPERATOR(pg_catalog.-) DATE '1970-01-05'
		WHEN 'week' THEN pg_catalog.floor((day OPERATOR(pg_catalog.-) DATE '1970-01-05')::float8
										   OPERATOR(pg_catalog./) 7)::integer
		WHEN 'month' THEN (pg_catalog.date_part('year', day)::integer OPERATOR(pg_catalog.*) 12
						   OPERATOR(pg_catalog.+) pg_catalog.date_part('month', day)::integer)
		WHEN 'year' THEN pg_catalog.date_part('year', day)::integer
	END;
END
$fn$;
COMMENT ON FUNCTION @extschema@.period_number(date, text) IS
'the number of the calendar period (day, week from Monday, month, year) that day falls in; consecutive periods have consecutive numbers (for BG/BB histories: recency = period_number(last) - period_number(first))';

-- period_holdout_data: the BG/BB counterpart of clm.holdout_data.  Per
-- customer whose first transaction falls in the period of calibration_end
-- or before (the birth period b, the first transaction not counted, as the
-- 1995 gift of the donations cohort), with c and h the periods of
-- calibration_end and holdout_end: frequency = periods in (b, c] with a
-- transaction, recency = the last of them - b (0 without any), periods =
-- c - b, monetary = their mean amount per period (0 without any), and in
-- (c, h] the periods with a transaction and their amount.  Whole periods
-- throughout: a transaction after calibration_end in its period is a
-- calibration transaction.
CREATE FUNCTION @extschema@.period_holdout_data(
	source text, calibration_end timestamptz, holdout_end timestamptz, unit text)
RETURNS TABLE (customer_id text, frequency float8, recency float8, periods float8, monetary float8,
			   first_purchase timestamptz, holdout_frequency float8, holdout_amount float8,
			   holdout_periods float8)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
AS $fn$
DECLARE
	c integer;
	h integer;
BEGIN
	IF source IS NULL OR calibration_end IS NULL OR holdout_end IS NULL THEN
		RAISE EXCEPTION 'source, calibration_end and holdout_end must not be NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_period_unit(unit);
	c := @extschema@.period_number(calibration_end::date, unit);
	h := @extschema@.period_number(holdout_end::date, unit);
	IF h OPERATOR(pg_catalog.<=) c THEN
		RAISE EXCEPTION 'holdout_end must fall in a later % than calibration_end', unit
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('calibration_end is %s, holdout_end is %s.', calibration_end, holdout_end);
	END IF;
	RETURN QUERY EXECUTE format($q$
		SELECT x.customer_id, x.f::float8, x.r::float8, ($1 - x.b)::float8,
			   CASE WHEN x.f > 0 THEN x.ca / x.f ELSE 0 END, x.first_ts, x.hf::float8, x.ha, ($2 - $1)::float8
		FROM (SELECT t.customer_id, min(t.b) AS b, min(t.ts) AS first_ts,
					 count(DISTINCT t.k) FILTER (WHERE t.k > t.b AND t.k <= $1) AS f,
					 coalesce(max(t.k) FILTER (WHERE t.k > t.b AND t.k <= $1) - min(t.b), 0) AS r,
					 coalesce(sum(t.amount) FILTER (WHERE t.k > t.b AND t.k <= $1), 0) AS ca,
					 count(DISTINCT t.k) FILTER (WHERE t.k > $1) AS hf,
					 coalesce(sum(t.amount) FILTER (WHERE t.k > $1), 0) AS ha
			  FROM (SELECT p.*, min(p.k) OVER (PARTITION BY p.customer_id) AS b
					FROM (SELECT s.customer_id::text AS customer_id, s.ts::timestamptz AS ts,
								 s.amount::float8 AS amount,
								 @extschema@.period_number(s.ts::timestamptz::date, $3) AS k
						  FROM (%s) AS s(customer_id, ts, amount)
						  WHERE s.customer_id IS NOT NULL AND s.ts IS NOT NULL) p
					WHERE p.k <= $2) t
			  GROUP BY t.customer_id) x
		WHERE x.b <= $1
		ORDER BY x.customer_id
	$q$, source) USING c, h, unit;
END
$fn$;
COMMENT ON FUNCTION @extschema@.period_holdout_data(text, timestamptz, timestamptz, text) IS
'calibration/holdout split of a query returning (customer_id, ts, amount) in calendar periods of unit (day, week, month, year) for BG/BB: per customer whose first transaction falls in the period of calibration_end or before, frequency, recency and periods counted after that first period up to the period of calibration_end, monetary = mean amount per calibration period with a transaction, and the periods with a transaction and their amount up to the period of holdout_end; holdout_periods = the number of holdout periods';

-- holdout_predictions for BG/BB: the same columns as for the other models,
-- periods in place of tenure; unit is the period length (required: a
-- BG/BB model cannot be put into another one)
CREATE FUNCTION @extschema@.holdout_predictions(
	purchase_model @extschema@.bgbb_model, source text, calibration_end timestamptz, holdout_end timestamptz,
	unit text DEFAULT NULL, spend_model @extschema@.gamma_gamma_model DEFAULT NULL)
RETURNS TABLE (customer_id text, frequency float8, recency float8, periods float8, monetary float8,
			   p_alive float8, predicted_purchases float8, actual_purchases float8,
			   predicted_spend float8, actual_spend float8)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
AS $fn$
BEGIN
	IF purchase_model IS NULL THEN
		RAISE EXCEPTION 'purchase_model must not be NULL' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF unit IS NULL THEN
		RAISE EXCEPTION 'unit must not be NULL for a BG/BB model'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the period the model was fitted on: day, week, month or year.';
	END IF;
	RETURN QUERY
	SELECT h.customer_id, h.frequency, h.recency, h.periods, h.monetary,
		   @extschema@.p_alive(purchase_model, h.frequency, h.recency, h.periods),
		   e.predicted, h.holdout_frequency,
		   e.predicted * CASE WHEN h.frequency = 0 OR h.monetary > 0
							  THEN @extschema@.expected_avg_value(spend_model, h.frequency, h.monetary) END,
		   h.holdout_amount
	FROM @extschema@.period_holdout_data(source, calibration_end, holdout_end, unit) h,
		 LATERAL (SELECT @extschema@.expected_purchases(purchase_model, h.holdout_periods, h.frequency,
														h.recency, h.periods) AS predicted) e;
END
$fn$;
COMMENT ON FUNCTION @extschema@.holdout_predictions(@extschema@.bgbb_model, text, timestamptz, timestamptz, text, @extschema@.gamma_gamma_model) IS
'per customer of the BG/BB calibration cohort (clm.period_holdout_data in periods of unit): P(alive) at the first holdout period, expected and actual holdout transactions (periods with one) and, with a Gamma-Gamma spend_model, expected and actual holdout spend';
