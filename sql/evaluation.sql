-- evaluation: holdout evaluation of the CLV models.  CDNOW split at
-- 1997-09-30 (39-week calibration), holdout to 1998-06-30 (39 weeks),
-- compared with an independent computation in scipy
-- (test/btyd/scipy_reference.py holdout: its own date handling, fit,
-- hyp2f1 formulas), run by the test harness.
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql
CREATE TABLE ref_hold (j jsonb);
\copy ref_hold FROM 'test/data/ref_holdout_cdnow.json'

-- 1. the split: 2,357 customers (all first bought in the calibration
-- period), 2,457 calibration repeat purchase days (as published), holdout
-- purchase days and amount per customer, holdout length 39 weeks
CREATE TABLE hd AS
SELECT * FROM clm.holdout_data('SELECT customer_id, purchase_date, amount FROM cdnow_tx',
							   '1997-09-30', '1998-06-30', 'week');
SELECT count(*) AS customers, sum(frequency) AS calibration_repeats, sum(holdout_frequency) AS holdout_purchases,
	   round(sum(holdout_amount)::numeric, 2) AS holdout_amount, min(holdout_length) AS len_min, max(holdout_length) AS len_max
FROM hd;
-- the calibration summary is the published one (x, t_x, T per customer)
SELECT count(*) AS matched,
	   count(*) FILTER (WHERE hd.frequency <> s.x OR abs(hd.recency - s.t_x) > 0.005 OR abs(hd.tenure - s."T") > 0.005) AS differ
FROM hd JOIN (SELECT DISTINCT customer_id, sample_id FROM cdnow_tx) t ON t.customer_id::text = hd.customer_id
		JOIN cdnow_summary s ON s.id = t.sample_id;

-- 2. BG/NBD and Gamma-Gamma fitted on the calibration period: the published
-- BG/NBD estimates, and scipy's to 1e-6 relative
CREATE TABLE cal_models AS
SELECT clm.in_unit(clm.bgnbd_fit(frequency, recency, tenure), 'week') AS bg,
	   clm.gamma_gamma_fit(frequency, monetary) AS gg
FROM hd;
SELECT round((bg).r::numeric, 3) AS r, round((bg).alpha::numeric, 3) AS alpha, round((bg).a::numeric, 3) AS a,
	   round((bg).b::numeric, 3) AS b, round((bg).loglik::numeric, 2) AS loglik,
	   abs((bg).r / (j->'bgnbd'->'params'->>'r')::float8 - 1) < 1e-6
	   AND abs((bg).alpha / (j->'bgnbd'->'params'->>'alpha')::float8 - 1) < 1e-6
	   AND abs((bg).a / (j->'bgnbd'->'params'->>'a')::float8 - 1) < 1e-6
	   AND abs((bg).b / (j->'bgnbd'->'params'->>'b')::float8 - 1) < 1e-6 AS bg_agrees,
	   abs((gg).p / (j->'gg'->'params'->>'p')::float8 - 1) < 1e-6
	   AND abs((gg).q / (j->'gg'->'params'->>'q')::float8 - 1) < 1e-6
	   AND abs((gg).v / (j->'gg'->'params'->>'v')::float8 - 1) < 1e-6 AS gg_agrees
FROM cal_models, ref_hold;

-- 3. per customer, predicted vs actual holdout purchases and spend: every
-- customer agrees with scipy (predictions to 1e-6, actuals exactly)
CREATE TABLE hp AS
SELECT h.* FROM cal_models,
	 clm.holdout_predictions(bg, 'SELECT customer_id, purchase_date, amount FROM cdnow_tx',
							 '1997-09-30', '1998-06-30', 'week', gg) h;
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE abs(hp.predicted_purchases - (c->>'predicted')::float8) > 1e-6) AS predicted_off,
	   count(*) FILTER (WHERE hp.actual_purchases <> (c->>'actual')::float8) AS actual_off,
	   count(*) FILTER (WHERE abs(hp.predicted_spend - (c->>'predicted_spend')::float8) > 1e-6) AS spend_off,
	   count(*) FILTER (WHERE abs(hp.actual_spend - (c->>'actual_spend')::float8) > 1e-9) AS actual_spend_off
FROM hp JOIN (SELECT jsonb_array_elements(j->'customers') AS c FROM ref_hold) r ON (c->>'id') = hp.customer_id;
SELECT customer_id, frequency, round(recency::numeric, 2) AS recency, round(tenure::numeric, 2) AS tenure,
	   round(p_alive::numeric, 4) AS p_alive, round(predicted_purchases::numeric, 4) AS predicted, actual_purchases AS actual,
	   round(predicted_spend::numeric, 2) AS predicted_spend, actual_spend
FROM hp ORDER BY customer_id::int LIMIT 4;

-- 4. the error figures: MAE, RMSE, totals, aggregate error, agree with
-- scipy to 1e-9 relative.  Purchases: 1,653 predicted, 1,882 actual.
CREATE TABLE errs AS
SELECT clm.prediction_error(predicted_purchases, actual_purchases) AS pe,
	   clm.prediction_error(predicted_spend, actual_spend) AS se
FROM hp;
SELECT (pe).customers, round((pe).mae::numeric, 4) AS mae, round((pe).rmse::numeric, 4) AS rmse,
	   round((pe).sum_predicted::numeric, 1) AS sum_predicted, (pe).sum_actual,
	   round((pe).aggregate_error::numeric, 4) AS aggregate_error, round((pe).rmse_baseline::numeric, 4) AS rmse_baseline,
	   abs((pe).mae / (j->'purchases'->>'mae')::float8 - 1) < 1e-9
	   AND abs((pe).rmse / (j->'purchases'->>'rmse')::float8 - 1) < 1e-9
	   AND abs((pe).sum_predicted / (j->'purchases'->>'sum_predicted')::float8 - 1) < 1e-9
	   AND (pe).sum_actual = (j->'purchases'->>'sum_actual')::float8 AS purchases_agree
FROM errs, ref_hold;
SELECT (se).customers, round((se).mae::numeric, 2) AS mae, round((se).rmse::numeric, 2) AS rmse,
	   round((se).sum_predicted::numeric, 0) AS sum_predicted, round((se).sum_actual::numeric, 2) AS sum_actual,
	   round((se).aggregate_error::numeric, 4) AS aggregate_error,
	   abs((se).mae / (j->'spend'->>'mae')::float8 - 1) < 1e-9
	   AND abs((se).rmse / (j->'spend'->>'rmse')::float8 - 1) < 1e-9
	   AND abs((se).sum_predicted / (j->'spend'->>'sum_predicted')::float8 - 1) < 1e-9
	   AND abs((se).sum_actual / (j->'spend'->>'sum_actual')::float8 - 1) < 1e-12 AS spend_agrees
FROM errs, ref_hold;

-- 5. tracking: 78 weekly periods from 1997-01-01; the cumulative actual
-- repeat purchases equal scipy's exactly and the expected ones to 1e-9
-- relative; week 39 ends the calibration period (2,457 repeat purchases)
CREATE TABLE tr AS
SELECT t.* FROM cal_models,
	 clm.tracking_series(bg, 'SELECT customer_id, purchase_date, amount FROM cdnow_tx',
						 '1997-09-30', '1998-06-30', 'week') t;
SELECT count(*) AS periods,
	   count(*) FILTER (WHERE tr.actual_cumulative <> (e->>'actual_cumulative')::float8) AS actual_off,
	   count(*) FILTER (WHERE abs(tr.expected_cumulative / (e->>'expected_cumulative')::float8 - 1) > 1e-9) AS expected_off,
	   bool_and(abs(tr.expected_cumulative - (SELECT sum(t2.expected) FROM tr t2 WHERE t2.period <= tr.period)) < 1e-6) AS increments_sum_up
FROM tr JOIN (SELECT jsonb_array_elements(j->'tracking') AS e FROM ref_hold) r ON (e->>'period')::int = tr.period;
SELECT period, period_end, holdout, actual, round(expected::numeric, 2) AS expected,
	   actual_cumulative, round(expected_cumulative::numeric, 1) AS expected_cumulative
FROM tr WHERE period IN (1, 2, 12, 39, 40, 78) ORDER BY period;

-- 6. prediction_error by hand: pairs (1, 0), (2, 4) and one with a NULL
-- (skipped): MAE (1 + 2)/2 = 1.5, RMSE sqrt((1 + 4)/2) = 1.5811, sums 3 and
-- 4, aggregate error 3/4 - 1 = -0.25, baseline RMSE = sd of (0, 4) = 2
SELECT (e).customers, (e).mae, round((e).rmse::numeric, 4) AS rmse, (e).sum_predicted, (e).sum_actual,
	   (e).aggregate_error, (e).rmse_baseline
FROM (SELECT clm.prediction_error(p, a) AS e FROM (VALUES (1.0, 0.0), (2.0, 4.0), (NULL, 3.0)) v(p, a)) x;
SELECT clm.prediction_error(p, a) IS NULL AS empty_is_null FROM (VALUES (1.0, 0.0)) v(p, a) WHERE false;
SELECT clm.prediction_error(p, a) FROM (VALUES ('NaN'::float8, 0.0)) v(p, a);
-- parallel: partial aggregates combined give the serial figures
CREATE TABLE hp_big AS SELECT hp.predicted_purchases, hp.actual_purchases FROM hp, generate_series(1, 40);
ANALYZE hp_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT clm.prediction_error(predicted_purchases, actual_purchases) FROM hp_big;
SELECT (e).customers, abs((e).rmse / (pe).rmse - 1) < 1e-12 AS same_rmse, abs((e).mae / (pe).mae - 1) < 1e-12 AS same_mae
FROM (SELECT clm.prediction_error(predicted_purchases, actual_purchases) AS e FROM hp_big) x, errs;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- 7. stored models: fitted on the calibration period, evaluated on the
-- holdout, the figures stored with the model (with AIC and BIC)
SELECT name, unit, round(aic::numeric, 2) AS aic, round(bic::numeric, 2) AS bic
FROM clm.fit_model('cdnow_cal', 'bgnbd', $$SELECT frequency, recency, tenure FROM clm.holdout_data(
	'SELECT customer_id, purchase_date, amount FROM cdnow_tx', '1997-09-30', '1998-06-30', 'week')$$, 0, 'week');
SELECT name FROM clm.fit_model('cdnow_cal_spend', 'gamma_gamma', $$SELECT frequency, monetary FROM clm.holdout_data(
	'SELECT customer_id, purchase_date, amount FROM cdnow_tx', '1997-09-30', '1998-06-30', 'week')$$);
SELECT e->>'unit' AS unit, (e->'purchases'->>'customers')::int AS customers,
	   round((e->'purchases'->>'rmse')::numeric, 4) AS rmse,
	   (e->'purchases'->>'rmse')::float8 = (SELECT (pe).rmse FROM errs) AS same_as_above,
	   (e->'spend'->>'mae')::float8 = (SELECT (se).mae FROM errs) AS spend_same
FROM clm.evaluate_model('cdnow_cal', 'SELECT customer_id, purchase_date, amount FROM cdnow_tx',
						'1997-09-30', '1998-06-30', spend_model => 'cdnow_cal_spend') e;
SELECT name, evaluation->'purchases'->>'customers' AS stored_customers, evaluation->>'spend_model' AS spend_model
FROM clm.models WHERE name = 'cdnow_cal';
SELECT clm.evaluate_model('cdnow_cal_spend', 'SELECT 1, now(), 1', '1997-09-30', '1998-06-30');
SELECT clm.evaluate_model('nope', 'SELECT 1, now(), 1', '1997-09-30', '1998-06-30');
DELETE FROM clm.models WHERE name IN ('cdnow_cal', 'cdnow_cal_spend');

-- 8. bad input
SELECT * FROM clm.holdout_data('SELECT customer_id, purchase_date, amount FROM cdnow_tx', '1998-06-30', '1997-09-30');
SELECT * FROM clm.holdout_data('SELECT customer_id, purchase_date, amount FROM cdnow_tx', '1997-09-30', '1998-06-30', 'month');
SELECT * FROM clm.holdout_data(NULL, '1997-09-30', '1998-06-30');

-- 9. issue 20: finite inputs give finite figures or 22003.  (1e308, -1e308)
-- gave mae = Infinity and aggregate_error = NaN; values above 1e300 are
-- refused, errors whose squares overflow raise 22003
\set VERBOSITY terse
SELECT (clm.prediction_error(p, a)).* FROM (VALUES (1e308::float8, -1e308::float8)) v(p, a);
SELECT (clm.prediction_error(p, a)).* FROM (VALUES (1e200::float8, -1e200::float8)) v(p, a);
SELECT (clm.prediction_error(p, a)).* FROM (VALUES ('NaN'::float8, 1::float8)) v(p, a);
SELECT (clm.prediction_error(p, a)).* FROM (VALUES (1e150::float8, -1e150::float8), (0, 1e150)) v(p, a);
\set VERBOSITY default
