-- bgbb_models: BG/BB in the stored-model, unit and evaluation machinery of
-- the other models (issue 19, point 4).  clm.fit_model(kind => 'bgbb')
-- stores what the aggregate gives, clm.get_bgbb_model returns it;
-- a BG/BB model's unit is its calendar period (day, week, month, year), a
-- label that is never converted; clm.evaluate_model splits transactions
-- into calibration and holdout periods (clm.period_holdout_data).
SET extra_float_digits = 0;
CREATE TABLE bm_donations (frequency int, recency int, periods int, weights int);
\copy bm_donations FROM 'test/data/donations_bgbb.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE bm_direct AS SELECT clm.bgbb_fit(frequency, recency, periods, weights) AS m FROM bm_donations;

-- 1. stored = direct: the grouped source (four columns: weight) and one
-- row per donor (three columns) store the aggregate's model exactly
SELECT name, kind, unit, n, round(loglik::numeric, 1) AS loglik, converged,
	   round(aic::numeric, 1) AS aic, round(bic::numeric, 1) AS bic
FROM clm.fit_model('donations', 'bgbb', 'SELECT frequency, recency, periods, weights FROM bm_donations',
				   unit => 'year');
-- AIC = 2 * 4 - 2 LL, BIC = 4 ln(11104) - 2 LL, by hand from the direct fit
SELECT round((8 - 2 * (m).loglik)::numeric, 1) AS aic_by_hand,
	   round((4 * ln(11104) - 2 * (m).loglik)::numeric, 1) AS bic_by_hand FROM bm_direct;
SELECT clm.get_bgbb_model('donations') = m AS stored_equals_direct FROM bm_direct;
SELECT name FROM clm.fit_model('donations_rows', 'bgbb',
	'SELECT frequency, recency, periods FROM bm_donations, generate_series(1, weights)');
SELECT abs((s).alpha / (m).alpha - 1) < 1e-9 AS same_alpha, abs((s).delta / (m).delta - 1) < 1e-9 AS same_delta,
	   (s).n = (m).n AS same_n, unit IS NULL AS no_unit
FROM bm_direct, (SELECT clm.get_bgbb_model('donations_rows') AS s) x, clm.models WHERE name = 'donations_rows';
-- the summary by name is the summary of the model
SELECT a.parameter, a.estimate = b.estimate AND a.std_error = b.std_error AS same, round(a.std_error::numeric, 4) AS se
FROM clm.parameter_summary('donations') a
JOIN clm.parameter_summary((SELECT m FROM bm_direct)) b USING (parameter) ORDER BY a.parameter;
SELECT clm.p_alive(clm.get_bgbb_model('donations'), 6, 6, 6) = clm.p_alive(m, 6, 6, 6) AS same_p_alive FROM bm_direct;

-- 2. the period: a label, checked; a BG/BB fit takes a weight, not a penalizer
SELECT name FROM clm.fit_model('x', 'bgbb', 'SELECT 1, 1, 2', unit => 'fortnight');
SELECT name FROM clm.fit_model('x', 'bgbb', 'SELECT 1, 1, 2', penalizer => 0.1);
SELECT name FROM clm.fit_model('x', 'bgnbd', 'SELECT 1, 1, 2', unit => 'year');
SELECT name FROM clm.fit_model('x', 'bgbb', 'SELECT 1, 1, 2 WHERE false');
SELECT clm.get_bgbb_model('donations_nope');
SELECT clm.get_bgnbd_model('donations');
SELECT count(*) AS none_stored FROM clm.models WHERE name = 'x';

-- 3. calendar periods, by hand: consecutive numbers across year ends;
-- weeks start on Monday (1970-01-05 is a Monday, 1970-01-04 a Sunday)
SELECT clm.period_number('2002-01-01', 'year') - clm.period_number('2001-12-31', 'year') AS year_step,
	   clm.period_number('2002-01-01', 'month') - clm.period_number('2001-12-31', 'month') AS month_step,
	   clm.period_number('1970-01-05', 'week') AS monday, clm.period_number('1970-01-04', 'week') AS sunday,
	   clm.period_number('1970-01-11', 'week') AS next_sunday,
	   clm.period_number('2001-03-01', 'day') - clm.period_number('2001-02-28', 'day') AS day_step;
SELECT clm.period_number('2001-01-01', 'quarter');
SELECT clm.period_number('infinity', 'year');

-- 4. the split, by hand (yearly, calibration to mid-2021, holdout to 2023):
--  a: first 2019; 2020 twice (one period), 2022 holdout -> 1, 1, 2; holdout 1 of 2
--  b: first on 2021-12-31, after calibration_end but in its year -> 0, 0, 0
--  c: first in 2022 -> not in the calibration cohort
--  d: first 2019; 2021-07-15 is after calibration_end but in its year -> 1, 2, 2
--  e: first 2019; 2024 is after the holdout year -> 0, 0, 2; holdout 0
CREATE TABLE tiny (customer_id text, ts timestamptz, amount float8);
INSERT INTO tiny VALUES
	('a', '2019-03-01', 10), ('a', '2020-05-01', 20), ('a', '2020-11-01', 40), ('a', '2022-02-01', 5),
	('b', '2021-12-31', 7), ('c', '2022-03-01', 9),
	('d', '2019-08-01', 1), ('d', '2021-07-15', 3),
	('e', '2019-01-01', 2), ('e', '2024-01-01', 2);
SELECT * FROM clm.period_holdout_data('SELECT * FROM tiny', '2021-06-30', '2023-12-31', 'year');
SELECT * FROM clm.period_holdout_data('SELECT * FROM tiny', '2021-06-30', '2021-12-31', 'year');
SELECT * FROM clm.period_holdout_data('SELECT * FROM tiny', '2021-06-30', '2023-12-31', NULL);
-- predictions: a model fitted on these periods, per customer as the point functions give
SELECT name FROM clm.fit_model('tiny_bgbb', 'bgbb', 'SELECT 1, 1, 2, 3 UNION ALL SELECT 0, 0, 2, 2 UNION ALL SELECT 2, 2, 2, 1',
							   unit => 'year');
SELECT h.customer_id, h.periods, h.actual_purchases,
	   h.predicted_purchases = clm.expected_purchases(m, 2, h.frequency, h.recency, h.periods) AS same_prediction,
	   h.p_alive = clm.p_alive(m, h.frequency, h.recency, h.periods) AS same_p_alive
FROM (SELECT clm.get_bgbb_model('tiny_bgbb') AS m) x,
	 clm.holdout_predictions(m, 'SELECT * FROM tiny', '2021-06-30', '2023-12-31', 'year') h ORDER BY 1;
SELECT count(*) FROM clm.holdout_predictions(clm.get_bgbb_model('tiny_bgbb'), 'SELECT * FROM tiny', '2021-06-30', '2023-12-31');

-- 5. evaluation on 2,000 simulated donors of one cohort (BG/BB at the
-- donations' parameters, test/btyd/simulate_bgbb_tx.py: first gift in
-- 1995, then 1996..2006; some years with two gifts): fitted on 1996-2001
-- (6 opportunities, as the donations data), evaluated on 2002-2006
CREATE TABLE donors (customer_id int, ts date, amount float8);
\copy donors FROM 'test/data/sim_bgbb_donors.csv' WITH (FORMAT csv, HEADER true)
SELECT name, unit, n, converged FROM clm.fit_model('donors', 'bgbb', $$SELECT frequency, recency, periods FROM
	clm.period_holdout_data('SELECT customer_id, ts, amount FROM donors', '2001-12-31', '2006-12-31', 'year')$$,
	unit => 'year');
SELECT name FROM clm.fit_model('donors_spend', 'gamma_gamma', $$SELECT frequency, monetary FROM
	clm.period_holdout_data('SELECT customer_id, ts, amount FROM donors', '2001-12-31', '2006-12-31', 'year')$$);
SELECT parameter, round(estimate::numeric, 2) AS estimate, round(lower::numeric, 2) AS lower,
	   round(upper::numeric, 2) AS upper FROM clm.parameter_summary('donors');
CREATE TABLE donors_eval AS
SELECT clm.evaluate_model('donors', 'SELECT customer_id, ts, amount FROM donors', '2001-12-31', '2006-12-31',
						  spend_model => 'donors_spend') AS e;
SELECT e->>'unit' AS unit, (e->'purchases'->>'customers')::int AS customers,
	   round((e->'purchases'->>'sum_predicted')::numeric, 1) AS sum_predicted,
	   (e->'purchases'->>'sum_actual')::float8 AS sum_actual,
	   round((e->'purchases'->>'aggregate_error')::numeric, 3) AS aggregate_error,
	   round((e->'purchases'->>'rmse')::numeric, 3) AS rmse,
	   round((e->'purchases'->>'rmse_baseline')::numeric, 3) AS rmse_baseline,
	   round((e->'spend'->>'aggregate_error')::numeric, 3) AS spend_aggregate_error
FROM donors_eval;
SELECT (SELECT evaluation FROM clm.models WHERE name = 'donors') = e AS stored FROM donors_eval;
-- the same figures by an independent path: the yearly histories by
-- extract(year) and GROUP BY, the expected gifts of each over 5 years
CREATE TABLE donors_plain AS
WITH t AS (SELECT customer_id, extract(year FROM ts)::int AS y, amount FROM donors),
	 b AS (SELECT customer_id, min(y) AS b FROM t GROUP BY 1)
SELECT t.customer_id, count(DISTINCT t.y) FILTER (WHERE t.y > b.b AND t.y <= 2001) AS x,
	   coalesce(max(t.y) FILTER (WHERE t.y > b.b AND t.y <= 2001) - b.b, 0) AS tx,
	   2001 - b.b AS n, count(DISTINCT t.y) FILTER (WHERE t.y > 2001) AS holdout_x
FROM t JOIN b USING (customer_id) GROUP BY t.customer_id, b.b;
SELECT count(*) AS customers, sum(x) AS gifts_1996_2001, sum(holdout_x) AS gifts_2002_2006,
	   count(*) FILTER (WHERE (x, tx, n) = (6, 6, 6)) AS six_for_six FROM donors_plain;
SELECT abs(sum(p) / ((e->'purchases'->>'sum_predicted')::float8) - 1) < 1e-12 AS same_sum_predicted,
	   abs(sqrt(avg((p - holdout_x)^2)) / ((e->'purchases'->>'rmse')::float8) - 1) < 1e-12 AS same_rmse,
	   sum(holdout_x) = (e->'purchases'->>'sum_actual')::float8 AS same_actual
FROM donors_eval, (SELECT d.holdout_x, clm.expected_purchases(clm.get_bgbb_model('donors'), 5, d.x, d.tx, d.n) AS p
				   FROM donors_plain d) q GROUP BY e;
-- the period is the model's: another one is refused, none at all too
SELECT clm.evaluate_model('donors', 'SELECT customer_id, ts, amount FROM donors', '2001-12-31', '2006-12-31', 'month');
SELECT clm.evaluate_model('donations_rows', 'SELECT customer_id, ts, amount FROM donors', '2001-12-31', '2006-12-31');
SELECT (e->'purchases'->>'customers')::int AS customers_with_unit_given
FROM clm.evaluate_model('donations_rows', 'SELECT customer_id, ts, amount FROM donors', '2001-12-31', '2006-12-31', 'year') e;

DELETE FROM clm.models WHERE name IN ('donations', 'donations_rows', 'tiny_bgbb', 'donors', 'donors_spend');
DROP TABLE bm_donations, bm_direct, tiny, donors, donors_eval, donors_plain;
