-- pareto_nbd: the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).
-- Published CDNOW estimates (Fader, Hardie & Lee 2005, 39-week
-- calibration): r = 0.553, alpha = 10.58, s = 0.606, beta = 11.67,
-- LL = -9594.98; an independent scipy maximisation of the textbook
-- hypergeometric likelihood (test/btyd/scipy_reference.py pnbd, run by the
-- harness); hand-derived cases.  The likelihood's stability where the
-- hypergeometric difference loses every digit is checked against mpmath at
-- 60 digits, and parameter recovery on simulated data, in the core suite
-- (scipy_reference.py pnbd-check, pnbd-recovery).
SET extra_float_digits = 0;

-- 1. CDNOW
\i test/data/regress_cdnow.sql
CREATE TABLE pn AS SELECT clm.pareto_nbd_fit(x, t_x, "T") AS m FROM cdnow_summary;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 2) AS alpha, round((m).s::numeric, 3) AS s,
	   round((m).beta::numeric, 2) AS beta, round((m).loglik::numeric, 2) AS loglik, (m).n, (m).converged, (m).unit
FROM pn;
CREATE TABLE ref_pn (j jsonb);
\copy ref_pn FROM 'test/data/ref_pnbd_cdnow.json'
SELECT abs((m).r / (j->'params'->>'r')::float8 - 1) < 1e-5 AS r_agrees,
	   abs((m).alpha / (j->'params'->>'alpha')::float8 - 1) < 1e-5 AS alpha_agrees,
	   abs((m).s / (j->'params'->>'s')::float8 - 1) < 1e-5 AS s_agrees,
	   abs((m).beta / (j->'params'->>'beta')::float8 - 1) < 1e-5 AS beta_agrees,
	   abs((m).loglik - (j->>'loglik')::float8) < 1e-6 AS loglik_agrees
FROM pn, ref_pn;
-- the fit_data path, a warm start and the parallel-safe aggregate agree
SELECT (SELECT clm.pareto_nbd_fit(clm.fit_data(x, t_x, "T")) FROM cdnow_summary) = m AS fit_data_same,
	   abs((clm.pareto_nbd_fit((SELECT clm.fit_data(x, t_x, "T") FROM cdnow_summary), 0, m)).r / (m).r - 1) < 1e-8 AS warm_same
FROM pn;
-- a penalizer lowers the log-likelihood; no repeat purchases: no estimate
SELECT (clm.pareto_nbd_fit(x, t_x, "T", 0.1)).loglik < (SELECT (m).loglik FROM pn) AS penalized_lower FROM cdnow_summary;
SELECT (f).n, (f).converged FROM (SELECT clm.pareto_nbd_fit(0, 0, "T") AS f FROM cdnow_summary) x;

-- 2. By hand.  With alpha = beta the dropout integral has a closed form:
-- P(alive) = 1 / (1 + s/(r+s+x) [((alpha+T)/(alpha+t_x))^(r+s+x) - 1]).
WITH m AS (SELECT ROW(0.5, 10, 0.7, 10, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model AS m)
SELECT round(clm.p_alive(m, 2, 30.43, 38.86)::numeric, 12) AS p_alive,
	   round((1 / (1 + 0.7 / 3.2 * (((10 + 38.86) / (10 + 30.43)) ^ 3.2 - 1)))::numeric, 12) AS by_hand,
	   round(clm.p_alive(m, 0, 0, 38.86)::numeric, 12) AS p_alive_x0,
	   round((1 / (1 + 0.7 / 1.2 * (((10 + 38.86) / 10) ^ 1.2 - 1)))::numeric, 12) AS by_hand_x0,
	   clm.p_alive(m, 3, 38.86, 38.86) AS bought_today
FROM m;
-- expected purchases (Schmittlein et al. 1987): P(alive) (r+x)(beta+T) /
-- ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]; a new customer:
-- r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]
WITH m AS (SELECT ROW(0.553, 10.58, 0.606, 11.67, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model AS m)
SELECT round(clm.expected_purchases(m, 10, 2, 30.43, 38.86)::numeric, 10) AS e10,
	   round((clm.p_alive(m, 2, 30.43, 38.86) * 2.553 * (11.67 + 38.86) / ((10.58 + 38.86) * (0.606 - 1))
			  * (1 - ((11.67 + 38.86) / (11.67 + 38.86 + 10)) ^ (0.606 - 1)))::numeric, 10) AS by_hand,
	   round(clm.expected_purchases(m, 39)::numeric, 10) AS new_39,
	   round((0.553 * 11.67 / (10.58 * (0.606 - 1)) * (1 - (11.67 / (11.67 + 39)) ^ (0.606 - 1)))::numeric, 10) AS by_hand_new
FROM m;
-- s = 1 is the limit (r+x)(beta+T)/(alpha+T) ln((beta+T+t)/(beta+T)) P(alive), no 0/0
SELECT round(clm.expected_purchases(ROW(0.5, 10, 1, 12, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model, 10, 0, 0, 20)::numeric, 10) AS s1,
	   round((clm.p_alive(ROW(0.5, 10, 1, 12, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model, 0, 0, 20) * 0.5 * 32 / 30 * ln(42.0 / 32))::numeric, 10) AS by_hand,
	   abs(clm.expected_purchases(ROW(0.5, 10, 1 + 1e-9, 12, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model, 10, 0, 0, 20)
		   - clm.expected_purchases(ROW(0.5, 10, 1, 12, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model, 10, 0, 0, 20)) < 1e-9 AS continuous;
-- invariants over CDNOW: P(alive) in [0, 1], falling with silence;
-- expected purchases >= 0
SELECT bool_and(clm.p_alive(m, x, t_x, "T") BETWEEN 0 AND 1) AS in_range,
	   bool_and(x = 0 OR clm.p_alive(m, x, t_x, "T" + 10) <= clm.p_alive(m, x, t_x, "T")) AS silence_lowers,
	   bool_and(clm.expected_purchases(m, 10, x, t_x, "T") >= 0) AS nonnegative,
	   round(sum(clm.expected_purchases(m, 39, x, t_x, "T"))::numeric, 1) AS next_39_weeks
FROM cdnow_summary, pn;
-- long histories: no overflow, no lost digits (the double-precision
-- hypergeometric form overflows here; mpmath agreement is in the core suite)
WITH m AS (SELECT ROW(0.553, 10.58, 0.606, 11.67, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model AS m)
SELECT round(clm.p_alive(m, 200, 1000, 1040)::numeric, 10) AS p_alive_long,
	   round(clm.p_alive(m, 1000, 3650, 3650.5)::numeric, 10) AS p_alive_very_long
FROM m;

-- 3. Units: the same customers in days give the same P(alive) through
-- clm.in_unit (alpha and beta scale by 7)
SELECT max(abs(clm.p_alive(clm.in_unit(clm.in_unit(m, 'week'), 'day'), x, t_x * 7, "T" * 7)
			   - clm.p_alive(m, x, t_x, "T"))) < 1e-12 AS in_unit_exact
FROM cdnow_summary, pn;
SELECT round(((clm.in_unit(clm.in_unit(m, 'week'), 'day')).beta / (m).beta)::numeric, 6) AS beta_ratio,
	   round(((clm.in_unit(clm.in_unit(m, 'week'), 'day')).alpha / (m).alpha)::numeric, 6) AS alpha_ratio,
	   (clm.in_unit(clm.in_unit(m, 'week'), 'day')).s = (m).s AS s_unchanged
FROM pn;

-- 4. Holdout evaluation (CDNOW 1997-09-30 / 1998-06-30): Pareto/NBD against
-- BG/NBD on the same customers
CREATE TABLE pn_hd AS SELECT * FROM clm.holdout_data('SELECT customer_id, purchase_date, amount FROM cdnow_tx',
													 '1997-09-30', '1998-06-30');
CREATE TABLE pn_models AS
SELECT clm.in_unit(clm.pareto_nbd_fit(frequency, recency, tenure), 'week') AS pn,
	   clm.in_unit(clm.bgnbd_fit(frequency, recency, tenure), 'week') AS bg FROM pn_hd;
SELECT 'pareto_nbd' AS model, round((e).mae::numeric, 4) AS mae, round((e).rmse::numeric, 4) AS rmse,
	   round((e).sum_predicted::numeric, 1) AS predicted, (e).sum_actual AS actual
FROM (SELECT clm.prediction_error(h.predicted_purchases, h.actual_purchases) AS e
	  FROM pn_models, clm.holdout_predictions(pn, 'SELECT customer_id, purchase_date, amount FROM cdnow_tx',
											   '1997-09-30', '1998-06-30') h) x
UNION ALL
SELECT 'bgnbd', round((e).mae::numeric, 4), round((e).rmse::numeric, 4), round((e).sum_predicted::numeric, 1), (e).sum_actual
FROM (SELECT clm.prediction_error(h.predicted_purchases, h.actual_purchases) AS e
	  FROM pn_models, clm.holdout_predictions(bg, 'SELECT customer_id, purchase_date, amount FROM cdnow_tx',
											   '1997-09-30', '1998-06-30') h) x;
SELECT period, actual_cumulative, round(expected_cumulative::numeric, 1) AS expected_cumulative
FROM pn_models, clm.tracking_series(pn, 'SELECT customer_id, purchase_date, amount FROM cdnow_tx',
									'1997-09-30', '1998-06-30') WHERE period IN (39, 78);

-- 5. Stored: fit_model, get_pareto_nbd_model, evaluate_model
SELECT name, kind, unit, round((parameters->>'r')::numeric, 3) AS r, round(aic::numeric, 2) AS aic
FROM clm.fit_model('cdnow_pn', 'pareto_nbd', 'SELECT x, t_x, "T" FROM cdnow_summary', 0, 'week');
SELECT clm.get_pareto_nbd_model('cdnow_pn') = clm.in_unit((SELECT m FROM pn), 'week') AS same_model;
SELECT round((e->'purchases'->>'rmse')::numeric, 4) AS rmse
FROM clm.evaluate_model('cdnow_pn', 'SELECT customer_id, purchase_date, amount FROM cdnow_tx',
						'1997-09-30', '1998-06-30') e;
SELECT clm.get_bgnbd_model('cdnow_pn');
DELETE FROM clm.models WHERE name = 'cdnow_pn';

-- 6. Bad input
SELECT clm.p_alive(ROW(-0.5, 10, 0.7, 10, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model, 2, 1, 5);
SELECT clm.p_alive(ROW(0.5, 10, 0.7, 10, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model, 2, 6, 5);
SELECT clm.expected_purchases(ROW(0.5, 10, 0.7, 10, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model, -1, 2, 1, 5);

-- 7. CLV: without discounting it telescopes to the expected purchases over
-- 12 months (365.25 days) x the expected average value; a day-unit model
-- scores weekly data the same as the week model (converted, alpha and beta)
WITH m AS (SELECT clm.in_unit(clm.pareto_nbd_fit(x, t_x, "T"), 'week') AS pn, clm.gamma_gamma_fit(x, zbar) AS gg FROM cdnow_summary)
SELECT count(*) FILTER (WHERE abs(clm.clv_estimate(pn, gg, x, t_x, "T", zbar, 12, 0)
		 - clm.expected_purchases(pn, 365.25 / 7, x, t_x, "T") * clm.expected_avg_value(gg, x, zbar)) > 1e-9) AS off,
	   bool_and(clm.clv_estimate(pn, gg, x, t_x, "T", zbar, 12, 0.01) <= clm.clv_estimate(pn, gg, x, t_x, "T", zbar, 12, 0)) AS discount_lowers,
	   max(abs(clm.clv_estimate(clm.in_unit(pn, 'day'), gg, x, t_x, "T", zbar, 12, 0.01, 'week')
			   / clm.clv_estimate(pn, gg, x, t_x, "T", zbar, 12, 0.01, 'week') - 1)) < 1e-12 AS day_model_converted,
	   round(sum(clm.clv_estimate(pn, gg, x, t_x, "T", zbar, 12, 0.01))::numeric, 2) AS total_clv_12m
FROM cdnow_summary, m;
