-- clv: the CLV models fitted in the database.  Published CDNOW values, an
-- independent scipy fit of the same likelihoods (run by the test harness),
-- parameter recovery on simulated data, the two-level fit API, parallel
-- fits, hand-checked per-customer formulas, stored models and the business
-- formula.
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql

-- 1. CDNOW calibration summary (weeks), Fader, Hardie & Lee (2005):
-- BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
SELECT round(r::numeric, 3) AS r, round(alpha::numeric, 3) AS alpha,
	   round(a::numeric, 3) AS a, round(b::numeric, 3) AS b,
	   round(loglik::numeric, 1) AS loglik, n, converged
FROM (SELECT (clm.bgnbd_fit(x, t_x, "T")).* FROM cdnow_summary) f;
-- Gamma-Gamma on the 946 repeat customers: p = 6.25, q = 3.74, gamma =
-- 15.44 (the exact maximum is near 15.448): within 0.01
SELECT abs(p - 6.25) < 0.01 AS p_ok, abs(q - 3.74) < 0.01 AS q_ok,
	   abs(v - 15.448) < 0.01 AS v_ok, round(v::numeric, 3) AS v, n, skipped, converged
FROM (SELECT (clm.gamma_gamma_fit(x, zbar)).* FROM cdnow_summary) f;
-- MBG/NBD on the same data
SELECT round(r::numeric, 4) AS r, round(alpha::numeric, 4) AS alpha,
	   round(a::numeric, 4) AS a, round(b::numeric, 4) AS b,
	   round(loglik::numeric, 2) AS loglik, n, converged
FROM (SELECT (clm.mbgnbd_fit(x, t_x, "T")).* FROM cdnow_summary) f;

-- the same fits from the raw transactions, through clm.customer_summary
CREATE TABLE cdnow_cal AS
SELECT sample_id, (clm.customer_summary(purchase_date, amount, '1997-09-30', 'week')).*
FROM cdnow_tx WHERE purchase_date <= '1997-09-30' GROUP BY sample_id;
SELECT round(r::numeric, 3) AS r, round(alpha::numeric, 3) AS alpha,
	   round(a::numeric, 3) AS a, round(b::numeric, 3) AS b, round(loglik::numeric, 1) AS loglik
FROM (SELECT (clm.bgnbd_fit(frequency, recency, tenure)).* FROM cdnow_cal) f;

-- 2. The independent reference: scipy maximising the same likelihoods
-- (test/btyd/scipy_reference.py, run by scripts/test.sh).  Parameters agree
-- to 1e-4 relative (in practice ~1e-9).
CREATE TABLE ref_fit (j jsonb);
\copy ref_fit FROM 'test/data/ref_fit_cdnow.jsonl'
CREATE TABLE fits AS
SELECT 'bgnbd' AS model, ARRAY[r, alpha, a, b] AS params, loglik FROM (SELECT (clm.bgnbd_fit(x, t_x, "T")).* FROM cdnow_summary) f
UNION ALL
SELECT 'mbgnbd', ARRAY[r, alpha, a, b], loglik FROM (SELECT (clm.mbgnbd_fit(x, t_x, "T")).* FROM cdnow_summary) f
UNION ALL
SELECT 'gg', ARRAY[p, q, v], loglik FROM (SELECT (clm.gamma_gamma_fit(x, zbar)).* FROM cdnow_summary) f;
SELECT f.model,
	   max(abs(f.params[i] / rp.params[i] - 1)) < 1e-4 AS params_agree,
	   max(abs(f.loglik - rp.loglik)) < 1e-6 AS loglik_agrees
FROM fits f
JOIN (SELECT j ->> 'model' AS model, (j ->> 'loglik')::float8 AS loglik,
			 ARRAY(SELECT (j -> 'params' ->> k)::float8
				   FROM unnest(CASE WHEN j ->> 'model' = 'gg' THEN '{p,q,v}'::text[]
									ELSE '{r,alpha,a,b}' END) WITH ORDINALITY u(k, o) ORDER BY o) AS params
	  FROM ref_fit) rp USING (model),
	 generate_subscripts(f.params, 1) i
GROUP BY f.model ORDER BY f.model;

-- per customer: P(alive), expected purchases in the next 10 weeks, expected
-- average value and 12-month CLV (1% monthly discount) agree with scipy to
-- 1e-6 for all 2,357 customers, evaluated at scipy's own parameters
CREATE TABLE ref_score (id int, x float8, t_x float8, "T" float8, m float8,
	p_alive_bgnbd float8, exp_bgnbd float8, p_alive_mbgnbd float8, exp_mbgnbd float8,
	gg_value float8, clv_bgnbd float8);
\copy ref_score FROM 'test/data/ref_score_cdnow.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE ref_models AS
SELECT (SELECT ROW((j->'params'->>'r')::float8, (j->'params'->>'alpha')::float8, (j->'params'->>'a')::float8,
				   (j->'params'->>'b')::float8, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model FROM ref_fit WHERE j->>'model' = 'bgnbd') AS bg,
	   (SELECT ROW((j->'params'->>'r')::float8, (j->'params'->>'alpha')::float8, (j->'params'->>'a')::float8,
				   (j->'params'->>'b')::float8, 0, 0, 0, true, NULL, NULL)::clm.mbgnbd_model FROM ref_fit WHERE j->>'model' = 'mbgnbd') AS mbg,
	   (SELECT ROW((j->'params'->>'p')::float8, (j->'params'->>'q')::float8, (j->'params'->>'v')::float8,
				   0, 0, 0, 0, true, NULL)::clm.gamma_gamma_model FROM ref_fit WHERE j->>'model' = 'gg') AS gg;
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE abs(clm.p_alive(bg, x, t_x, "T") - p_alive_bgnbd) > 1e-6) AS p_alive_bgnbd_off,
	   count(*) FILTER (WHERE abs(clm.expected_purchases(bg, 10, x, t_x, "T") - exp_bgnbd) > 1e-6) AS exp_bgnbd_off,
	   count(*) FILTER (WHERE abs(clm.p_alive(mbg, x, t_x, "T") - p_alive_mbgnbd) > 1e-6) AS p_alive_mbgnbd_off,
	   count(*) FILTER (WHERE abs(clm.expected_purchases(mbg, 10, x, t_x, "T") - exp_mbgnbd) > 1e-6) AS exp_mbgnbd_off,
	   count(*) FILTER (WHERE abs(clm.expected_avg_value(gg, x, m) - gg_value) > 1e-6) AS gg_value_off,
	   count(*) FILTER (WHERE abs(clm.clv_estimate(bg, gg, x, t_x, "T", m, 12, 0.01) - clv_bgnbd) > 1e-6) AS clv_off
FROM ref_score, ref_models;
-- and with the parameters clm fitted itself
SELECT count(*) FILTER (WHERE abs(clm.p_alive(f.bg, x, t_x, "T") - p_alive_bgnbd) > 1e-6) AS p_alive_off,
	   count(*) FILTER (WHERE abs(clm.expected_purchases(f.bg, 10, x, t_x, "T") - exp_bgnbd) > 1e-6) AS exp_off
FROM ref_score,
	 (SELECT clm.bgnbd_fit(x, t_x, "T") AS bg FROM cdnow_summary) f;

-- 3. Parameter recovery: 20,000 customers simulated from BG/NBD r = 0.25,
-- alpha = 4, a = 0.8, b = 2.5 and Gamma-Gamma p = 6, q = 3.5, v = 15
-- (test/btyd/simulate.py, seed 20240).  Tolerance: 5 standard deviations of
-- each estimate over ten simulated samples of this size (seeds 1..10: r
-- 0.0037, alpha 0.095, a 0.057, b 0.257, p 0.22, q 0.069, v 0.69).  This
-- sample's a and b land 3.5 and 3.2 SD high (a = 1.00, b = 3.33), the others
-- within 1.1 SD.
CREATE TABLE sim (id int, x float8, t_x float8, "T" float8, m float8);
\copy sim FROM 'test/data/sim_bgnbd_20k.csv' WITH (FORMAT csv, HEADER true)
SELECT abs(r - 0.25) < 5 * 0.0037 AS r_ok, abs(alpha - 4) < 5 * 0.095 AS alpha_ok,
	   abs(a - 0.8) < 5 * 0.057 AS a_ok, abs(b - 2.5) < 5 * 0.257 AS b_ok, converged
FROM (SELECT (clm.bgnbd_fit(x, t_x, "T")).* FROM sim) f;
SELECT abs(p - 6) < 5 * 0.22 AS p_ok, abs(q - 3.5) < 5 * 0.069 AS q_ok,
	   abs(v - 15) < 5 * 0.69 AS v_ok, converged
FROM (SELECT (clm.gamma_gamma_fit(x, m)).* FROM sim) f;
-- and scipy agrees on the simulated data too
CREATE TABLE ref_fit_sim (j jsonb);
\copy ref_fit_sim FROM 'test/data/ref_fit_sim.jsonl'
SELECT abs(f.r / (j->'params'->>'r')::float8 - 1) < 1e-4 AND abs(f.alpha / (j->'params'->>'alpha')::float8 - 1) < 1e-4
   AND abs(f.a / (j->'params'->>'a')::float8 - 1) < 1e-4 AND abs(f.b / (j->'params'->>'b')::float8 - 1) < 1e-4 AS agrees
FROM (SELECT (clm.bgnbd_fit(x, t_x, "T")).* FROM sim) f, ref_fit_sim WHERE j->>'model' = 'bgnbd';

-- 4. The two-level API: partial fit_data built separately (as on shards or
-- partitions) and merged give exactly the one-step fit
CREATE TABLE parts AS
SELECT id % 3 AS shard, clm.fit_data(x, t_x, "T", zbar) AS d FROM cdnow_summary GROUP BY 1;
SELECT shard, clm.fit_data_rows(d) AS rows, clm.fit_data_customers(d) AS customers FROM parts ORDER BY shard;
SELECT (SELECT clm.bgnbd_fit(clm.fit_data_merge(d)) FROM parts)
	 = (SELECT clm.bgnbd_fit(x, t_x, "T") FROM cdnow_summary) AS bgnbd_same,
	   (SELECT clm.gamma_gamma_fit(clm.fit_data_merge(d)) FROM parts)
	 = (SELECT clm.gamma_gamma_fit(x, zbar) FROM cdnow_summary) AS gg_same;
-- identical rows are grouped: 2,357 customers in 1,016 distinct
-- (x, t_x, T) rows
SELECT clm.fit_data_rows(clm.fit_data(x, t_x, "T")) AS rows,
	   clm.fit_data_customers(clm.fit_data(x, t_x, "T")) AS customers
FROM cdnow_summary;
-- the final step groups the aggregate's state in place: as a running
-- window aggregate (the final step again after every row, on the growing
-- state) it equals a fresh aggregate over each prefix of the customers
WITH c AS (SELECT row_number() OVER (ORDER BY id) AS i, x, t_x, "T" FROM cdnow_summary WHERE id <= 600),
	 w AS (SELECT i, clm.fit_data(x, t_x, "T") OVER (ORDER BY i) AS d FROM c)
SELECT count(*) AS prefixes,
	   count(*) FILTER (WHERE w.d::text = (SELECT clm.fit_data(c.x, c.t_x, c."T")::text FROM c WHERE c.i <= w.i)) AS equal,
	   max(clm.fit_data_rows(w.d)) AS rows_at_most
FROM w;
-- text form and binary form round-trip exactly
SELECT clm.fit_data(x, t_x, "T", zbar)::text::clm.fit_data::text = clm.fit_data(x, t_x, "T", zbar)::text AS text_roundtrip
FROM cdnow_summary;
SELECT '{(0,0,5,2),(2,1.5,5,1),(2,1.5,5,3)}'::clm.fit_data AS grouped_and_sorted;
SELECT 'penalizer=0.1;{(1,2,3,4.5,1)}'::clm.fit_data AS with_penalizer_and_monetary;
SELECT '{(1,0.1,1)}'::clm.fit_data AS spend_only, '{}'::clm.fit_data AS empty;
-- unnested: the distinct rows with their weights; the weights add up to
-- the customers, and the rows give back the same data
SELECT * FROM clm.fit_data_unnest('{(0,0,5,2),(2,1.5,5,1),(2,1.5,5,3)}');
SELECT * FROM clm.fit_data_unnest('{(1,0.1,1)}');
WITH d AS (SELECT clm.fit_data(x, t_x, "T", zbar) AS d FROM cdnow_summary),
	 u AS (SELECT u.* FROM d, clm.fit_data_unnest(d.d) u)
SELECT (SELECT sum(weight) FROM u) = (SELECT clm.fit_data_customers(d) FROM d) AS weights_are_customers,
	   (SELECT count(*) FROM u) = (SELECT clm.fit_data_rows(d) FROM d) AS one_row_each,
	   (SELECT (sum(weight * frequency), round(sum(weight * recency)::numeric, 6), round(sum(weight * tenure)::numeric, 6),
				round(sum(weight * monetary)::numeric, 6)) FROM u)
	 = (SELECT (sum(x)::float8, round(sum(t_x)::numeric, 6), round(sum("T")::numeric, 6), round(sum(zbar)::numeric, 6))
		FROM cdnow_summary) AS same_sums;
CREATE TABLE fd_bin (d clm.fit_data);
INSERT INTO fd_bin SELECT clm.fit_data(x, t_x, "T", zbar) FROM cdnow_summary;
\copy fd_bin TO 'results/fd_bin.copy' WITH (FORMAT binary)
CREATE TABLE fd_bin2 (d clm.fit_data);
\copy fd_bin2 FROM 'results/fd_bin.copy' WITH (FORMAT binary)
SELECT (SELECT d::text FROM fd_bin) = (SELECT d::text FROM fd_bin2) AS binary_roundtrip;
-- a stored fit_data is a value like any other: fit it later
SELECT round((clm.bgnbd_fit(d)).r::numeric, 3) AS r FROM fd_bin;
-- an empty fit gives NULL; NULL rows are skipped
SELECT clm.bgnbd_fit(x, t_x, "T") IS NULL AS empty_is_null FROM cdnow_summary WHERE false;
SELECT clm.fit_data_customers(clm.fit_data(x, t_x, NULLIF("T", 38.86))) AS customers_without_t_38_86
FROM cdnow_summary;

-- 5. Parallel: the fit aggregate splits across workers (Partial Aggregate
-- under Gather, the concrete state combined without serialization) and
-- gives exactly the serial fit
CREATE TABLE big_sum AS SELECT s.* FROM cdnow_summary s, generate_series(1, 100);
ANALYZE big_sum;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE fit_serial AS SELECT clm.bgnbd_fit(x, t_x, "T") AS m FROM big_sum;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT clm.bgnbd_fit(x, t_x, "T") FROM big_sum;
CREATE TABLE fit_parallel AS SELECT clm.bgnbd_fit(x, t_x, "T") AS m FROM big_sum;
SELECT (SELECT m FROM fit_serial) = (SELECT m FROM fit_parallel) AS parallel_equals_serial,
	   (SELECT (m).n FROM fit_parallel) AS n,
	   (SELECT round((m).r::numeric, 3) FROM fit_parallel) AS r;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- 6. Per-customer formulas by hand, with the published CDNOW parameters.
-- BG/NBD P(alive) = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))
-- for x > 0, and 1 for x = 0.  Customer x = 2, t_x = 30.43, T = 38.86:
-- 1 / (1 + 0.793 / 3.426 * (43.274 / 34.844)^2.243) = 0.72587
WITH m AS (SELECT ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model AS bg)
SELECT round(clm.p_alive(bg, 2, 30.43, 38.86)::numeric, 5) AS p_alive,
	   round((1 / (1 + 0.793 / (2.426 + 2 - 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ^ (0.243 + 2)))::numeric, 5) AS by_hand,
	   clm.p_alive(bg, 0, 0, 38.86) AS p_alive_x0,
	   -- E[X(t)] for a new customer grows with t
	   clm.expected_purchases(bg, 39) > clm.expected_purchases(bg, 10) AS grows
FROM m;
-- the population mean spend p v / (q - 1) for x = 0, and the shrinkage
-- of a customer's mean toward it: (p v + p x m) / (p x + q - 1)
WITH m AS (SELECT ROW(6.25, 3.74, 15.44, 0, 0, 0, 0, true, NULL)::clm.gamma_gamma_model AS gg)
SELECT round(clm.expected_avg_value(gg, 0, 0)::numeric, 4) AS population_mean,
	   round((6.25 * 15.44 / (3.74 - 1))::numeric, 4) AS by_hand,
	   round(clm.expected_avg_value(gg, 2, 30)::numeric, 4) AS x2_m30,
	   round(((6.25 * 15.44 + 6.25 * 2 * 30) / (6.25 * 2 + 3.74 - 1))::numeric, 4) AS by_hand_x2
FROM m;
-- model CLV without discounting telescopes to expected purchases over the
-- whole horizon x expected average value (12 months = 365.25 days = 365.25/7 weeks)
WITH m AS (SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.gamma_gamma_fit(x, zbar) AS gg FROM cdnow_summary)
SELECT count(*) FILTER (WHERE abs(clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 12, 0)
		 - clm.expected_purchases(bg, 365.25 / 7, x, t_x, "T") * clm.expected_avg_value(gg, x, zbar)) > 1e-9) AS off,
	   -- discounting lowers it; a longer horizon raises it
	   bool_and(clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 12, 0.01) <= clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 12, 0)) AS discount_lowers,
	   bool_and(clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 24, 0.01) >= clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 12, 0.01)) AS horizon_raises,
	   -- the unit defaults to weeks
	   bool_and(clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 12, 0.01)
				= clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 12, 0.01, 'week')) AS week_default
FROM cdnow_summary, m;
-- Units.  The same customers measured in days (x 7) and fitted in days give
-- the same CLV as in weeks: a month is 365.25/12 days in every unit, and
-- the day fit's alpha is 7 x the week fit's (time scale), to fit tolerance.
CREATE TABLE unit_fits AS
SELECT (SELECT clm.in_unit(clm.bgnbd_fit(x, t_x, "T"), 'week') FROM cdnow_summary) AS bg_w,
	   (SELECT clm.in_unit(clm.bgnbd_fit(x, t_x * 7, "T" * 7), 'day') FROM cdnow_summary) AS bg_d,
	   (SELECT clm.in_unit(clm.mbgnbd_fit(x, t_x * 7, "T" * 7), 'day') FROM cdnow_summary) AS mbg_d,
	   (SELECT clm.in_unit(clm.mbgnbd_fit(x, t_x, "T"), 'week') FROM cdnow_summary) AS mbg_w,
	   (SELECT clm.gamma_gamma_fit(x, zbar) FROM cdnow_summary) AS gg;
SELECT (bg_w).unit AS week_unit, (bg_d).unit AS day_unit,
	   round(((bg_d).alpha / (bg_w).alpha)::numeric, 6) AS alpha_ratio,
	   round(((bg_d).r / (bg_w).r)::numeric, 6) AS r_ratio
FROM unit_fits;
SELECT count(*) AS customers,
	   -- fitted in days, scored in days vs fitted in weeks, scored in weeks
	   max(abs(clm.clv_estimate(bg_d, gg, x, t_x * 7, "T" * 7, zbar, 12, 0.01, 'day')
			   / clm.clv_estimate(bg_w, gg, x, t_x, "T", zbar, 12, 0.01, 'week') - 1)) < 1e-6 AS bg_days_eq_weeks,
	   max(abs(clm.clv_estimate(mbg_d, gg, x, t_x * 7, "T" * 7, zbar, 12, 0.01, 'day')
			   / clm.clv_estimate(mbg_w, gg, x, t_x, "T", zbar, 12, 0.01, 'week') - 1)) < 1e-6 AS mbg_days_eq_weeks,
	   -- a day model scoring weekly data is converted, not off by 7: equal to
	   -- the week model on the same data (to fit tolerance)
	   max(abs(clm.clv_estimate(bg_d, gg, x, t_x, "T", zbar, 12, 0.01, 'week')
			   / clm.clv_estimate(bg_w, gg, x, t_x, "T", zbar, 12, 0.01, 'week') - 1)) < 1e-6 AS day_model_week_data,
	   -- unit NULL (the default): the model's own unit
	   bool_and(clm.clv_estimate(bg_d, gg, x, t_x * 7, "T" * 7, zbar, 12, 0.01)
				= clm.clv_estimate(bg_d, gg, x, t_x * 7, "T" * 7, zbar, 12, 0.01, 'day')) AS default_is_model_unit,
	   -- in_unit converts exactly: P(alive) of the converted model on day data
	   -- equals that of the week model on week data
	   max(abs(clm.p_alive(clm.in_unit(bg_w, 'day'), x, t_x * 7, "T" * 7) - clm.p_alive(bg_w, x, t_x, "T"))) < 1e-12 AS in_unit_exact,
	   round(sum(clm.clv_estimate(bg_w, gg, x, t_x, "T", zbar, 12, 0.01))::numeric, 2) AS total_clv_12m
FROM cdnow_summary, unit_fits;
-- the month: 365.25/12 days; lifetimes' 30-day (daily data) and 4.345-week
-- months are 1.4% and 0.07% shorter
SELECT clm.unit_days('day') AS day, clm.unit_days('week') AS week, clm.unit_days('month') AS month;
-- a model without a unit scores data in the given unit (it is taken to be
-- fitted in it); NULL unit and no model unit: weeks
SELECT clm.clv_estimate(m, gg, 2, 30.43, 38.86, 22.35, 12, 0.01) = clm.clv_estimate(m, gg, 2, 30.43, 38.86, 22.35, 12, 0.01, 'week') AS null_is_week,
	   clm.clv_estimate(m, gg, 2, 30.43, 38.86, 22.35, 12, 0.01, NULL) IS NOT NULL AS explicit_null,
	   clm.clv_estimate(m, gg, NULL, 30.43, 38.86, 22.35, 12, 0.01) IS NULL AS null_arg_null
FROM (SELECT clm.bgnbd_fit(x, t_x, "T") AS m, clm.gamma_gamma_fit(x, zbar) AS gg FROM cdnow_summary) f;
-- reproducing lifetimes' weekly CLV (a month of 4.345 weeks): stretch time
-- by k = (365.25/84)/4.345 to fit and to score.  lifetimes' figure is
-- computed here from its definition, sum_i value (E(4.345 i) - E(4.345 (i-1)))
-- / 1.01^i with the unscaled fit
WITH k AS (SELECT (365.25 / 84) / 4.345 AS k),
	 f AS (SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.bgnbd_fit(x, t_x * k, "T" * k) AS bg_k,
				  clm.gamma_gamma_fit(x, zbar) AS gg FROM cdnow_summary, k GROUP BY k),
	 lt AS (SELECT s.id, sum(clm.expected_avg_value(gg, s.x, s.zbar)
					* (clm.expected_purchases(bg, 4.345 * i, s.x, s.t_x, s."T")
					   - clm.expected_purchases(bg, 4.345 * (i - 1), s.x, s.t_x, s."T")) / 1.01 ^ i) AS clv
			FROM cdnow_summary s, f, generate_series(1, 12) i GROUP BY s.id)
SELECT count(*) AS customers,
	   max(abs(clm.clv_estimate(bg_k, gg, s.x, s.t_x * k, s."T" * k, s.zbar, 12, 0.01, 'week') / lt.clv - 1)) < 1e-6 AS reproduces_lifetimes,
	   max(abs(clm.clv_estimate(bg, gg, s.x, s.t_x, s."T", s.zbar, 12, 0.01, 'week') / lt.clv - 1)) > 1e-4 AS differs_unscaled
FROM cdnow_summary s JOIN lt USING (id), f, k;
SELECT clm.unit_days('fortnight');
SELECT clm.in_unit(ROW(0.2, 4, 0.8, 2.4, 0, 0, 0, true, 'year', NULL)::clm.bgnbd_model, 'day');
-- P(alive) invariants: in [0, 1]; MBG/NBD < 1 even without repeat purchases
WITH m AS (SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.mbgnbd_fit(x, t_x, "T") AS mbg FROM cdnow_summary)
SELECT bool_and(clm.p_alive(bg, x, t_x, "T") BETWEEN 0 AND 1) AS bg_in_range,
	   bool_and(clm.p_alive(mbg, x, t_x, "T") BETWEEN 0 AND 1) AS mbg_in_range,
	   bool_and(clm.p_alive(mbg, 0, 0, "T") < 1) AS mbg_x0_below_1,
	   bool_and(clm.expected_purchases(bg, 10, x, t_x, "T") >= 0) AS expected_nonnegative
FROM cdnow_summary, m;

-- 7. Degenerate data: nobody bought twice.  No finite maximum: a NOTICE and
-- converged = false, never a silent estimate.  A penalizer (it pulls the
-- parameters toward 0, where this likelihood also goes) does not help: still
-- converged = false.
SELECT n, converged FROM (SELECT (clm.bgnbd_fit(0, 0, "T")).* FROM cdnow_summary) f;
SELECT n, converged FROM (SELECT (clm.gamma_gamma_fit(0, 0)).* FROM cdnow_summary) f;
SELECT n, converged FROM (SELECT (clm.bgnbd_fit(0, 0, "T", 0.01)).* FROM cdnow_summary) f;
-- a penalizer shrinks the parameters and lowers the log-likelihood
SELECT (SELECT loglik FROM (SELECT (clm.bgnbd_fit(x, t_x, "T", 0.1)).* FROM cdnow_summary) f)
	 < (SELECT loglik FROM (SELECT (clm.bgnbd_fit(x, t_x, "T")).* FROM cdnow_summary) f) AS penalized_lower;

-- 8. Stored models: fit once by name, score many rows
SELECT name, kind, n, converged, round((parameters ->> 'r')::numeric, 3) AS r
FROM clm.fit_model('cdnow', 'bgnbd', 'SELECT x, t_x, "T" FROM cdnow_summary');
SELECT name, kind, n, round((parameters ->> 'p')::numeric, 2) AS p
FROM clm.fit_model('cdnow_spend', 'gamma_gamma', 'SELECT x, zbar FROM cdnow_summary');
SELECT name, kind, n FROM clm.fit_model('cdnow_m', 'mbgnbd', 'SELECT x, t_x, "T" FROM cdnow_summary');
-- refitting replaces the row
SELECT count(*) FROM (SELECT clm.fit_model('cdnow', 'bgnbd', 'SELECT x, t_x, "T" FROM cdnow_summary')) f;
SELECT name, kind, owner = current_user AS mine FROM clm.models ORDER BY name;
-- AIC = 2k - 2 LL, BIC = k ln(n) - 2 LL (k = 4 and n = 2357 for BG/NBD)
SELECT name, round(aic::numeric, 2) AS aic, round((8 - 2 * loglik)::numeric, 2) AS by_hand_aic,
	   round(bic::numeric, 2) AS bic, round((4 * ln(2357) - 2 * loglik)::numeric, 2) AS by_hand_bic, unit
FROM clm.models WHERE name = 'cdnow';
-- a stored model states its unit; scored on weekly data it is converted
SELECT name, unit FROM clm.fit_model('cdnow_days', 'bgnbd', 'SELECT x, t_x * 7, "T" * 7 FROM cdnow_summary', 0, 'day');
SELECT (clm.get_bgnbd_model('cdnow_days')).unit,
	   abs(clm.clv_estimate(clm.get_bgnbd_model('cdnow_days'), clm.get_gamma_gamma_model('cdnow_spend'), 2, 30.43, 38.86, 22.35, 12, 0.01, 'week')
		   / clm.clv_estimate(clm.get_bgnbd_model('cdnow'), clm.get_gamma_gamma_model('cdnow_spend'), 2, 30.43, 38.86, 22.35, 12, 0.01, 'week') - 1) < 1e-6 AS converted;
SELECT clm.fit_model('x', 'bgnbd', 'SELECT x, t_x, "T" FROM cdnow_summary', 0, 'year');
SELECT clm.fit_model('x', 'gamma_gamma', 'SELECT x, zbar FROM cdnow_summary', 0, 'week');
DELETE FROM clm.models WHERE name = 'cdnow_days';
-- the stored model scores exactly like the fresh fit
SELECT clm.get_bgnbd_model('cdnow') = (SELECT clm.bgnbd_fit(x, t_x, "T") FROM cdnow_summary) AS same_model;
SELECT id, round(clm.p_alive(clm.get_bgnbd_model('cdnow'), x, t_x, "T")::numeric, 6) AS p_alive,
	   round(clm.clv_estimate(clm.get_bgnbd_model('cdnow'), clm.get_gamma_gamma_model('cdnow_spend'),
							  x, t_x, "T", zbar, 12, 0.01)::numeric, 4) AS clv
FROM cdnow_summary ORDER BY id LIMIT 3;
SELECT round((clm.get_mbgnbd_model('cdnow_m')).r::numeric, 4) AS r;
SELECT clm.get_bgnbd_model('nope');
SELECT clm.get_gamma_gamma_model('cdnow');
SELECT clm.fit_model('x', 'pareto', 'SELECT 1, 2, 3');
SELECT clm.fit_model('x', 'bgnbd', 'SELECT x, t_x, "T" FROM cdnow_summary WHERE false');

-- 9. The business formula: value x margin / churn - cost; with discount d,
-- value x margin x (1 + d) / (d + churn) - cost
SELECT clm.clv_estimate(1000, 0.3, 0.2) AS plain,                 -- 300 / 0.2 = 1500
	   clm.clv_estimate(1000, 0.3, 0.2, 100) AS minus_cac,         -- 1400
	   round(clm.clv_estimate(1000, 0.3, 0.2, 0, 0.1)::numeric, 6) AS discounted, -- 300 * 1.1 / 0.3 = 1100
	   clm.clv_estimate(1000, 0.3, 1) AS one_year,                 -- churn 1: one year of margin = 300
	   clm.clv_estimate(annual_value => 500, margin => 1, churn_rate => 0.5, discount_rate => 0) AS named;
