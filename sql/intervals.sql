-- intervals: per-customer intervals from the parameter uncertainty (delta
-- method on the fit's covariance, numerical gradient in log-parameter
-- space, src/models_interval.c) and the intervals of totals.  What is
-- checked by hand: the estimate is the point function's; the interval
-- contains it; the standard error equals g' S g with g a finite-difference
-- gradient computed here in SQL; four copies of the data give the same
-- estimates and half the standard error; a total's interval is that of one
-- customer when there is one, and is below the sum of the customers'
-- standard errors (shared parameters: the gradients add, not the variances).
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql
CREATE TABLE i_fits AS
SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.mbgnbd_fit(x, t_x, "T") AS mbg,
	   clm.gamma_gamma_fit(x, zbar) AS gg, clm.pareto_nbd_fit(x, t_x, "T") AS pn
FROM cdnow_summary;
-- four copies of every customer: same maximum, 4x the information
CREATE TABLE i_fits4 AS
SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.gamma_gamma_fit(x, zbar) AS gg
FROM cdnow_summary, generate_series(1, 4);

-- 1. the README's customer (2 repeat purchases, last at week 30.43 of
-- 38.86, $22.35): P(alive) 0.727, 0.357 purchases in 10 weeks, CLV $36.30
SELECT 'p_alive' AS q, round((i).estimate::numeric, 4) AS estimate, round((i).std_error::numeric, 4) AS se,
	   round((i).lower::numeric, 4) AS lower, round((i).upper::numeric, 4) AS upper
FROM i_fits, clm.p_alive_interval(bg, 2, 30.43, 38.86) i
UNION ALL
SELECT 'expected_10w', round((i).estimate::numeric, 4), round((i).std_error::numeric, 4),
	   round((i).lower::numeric, 4), round((i).upper::numeric, 4)
FROM i_fits, clm.expected_purchases_interval(bg, 10, 2, 30.43, 38.86) i
UNION ALL
SELECT 'within_10w', round((i).estimate::numeric, 4), round((i).std_error::numeric, 4),
	   round((i).lower::numeric, 4), round((i).upper::numeric, 4)
FROM i_fits, clm.prob_purchase_within_interval(bg, 10, 2, 30.43, 38.86) i
UNION ALL
SELECT 'clv_12m', round((i).estimate::numeric, 2), round((i).std_error::numeric, 2),
	   round((i).lower::numeric, 2), round((i).upper::numeric, 2)
FROM i_fits, clm.clv_interval(bg, gg, 2, 30.43, 38.86, 22.35, 12, 0.01) i;
-- by hand, the P(alive) interval is that of logit(p): l = ln(p / (1 - p)),
-- s = se / (p (1 - p)), lower = 1 / (1 + exp(-(l - 1.959964 s)))
SELECT round((1 / (1 + exp(-(ln(e / (1 - e)) - 1.959964 * s / (e * (1 - e))))))::numeric, 4) AS lower_by_hand,
	   round((1 / (1 + exp(-(ln(e / (1 - e)) + 1.959964 * s / (e * (1 - e))))))::numeric, 4) AS upper_by_hand
FROM i_fits, LATERAL (SELECT (i).estimate AS e, (i).std_error AS s FROM clm.p_alive_interval(bg, 2, 30.43, 38.86) i) v;
-- and a CLV's that of ln(CLV): 36.30 exp(+-1.959964 x 1.67 / 36.30)
SELECT round(((i).estimate * exp(-1.959964 * (i).std_error / (i).estimate))::numeric, 2) AS lower_by_hand,
	   round(((i).estimate * exp(1.959964 * (i).std_error / (i).estimate))::numeric, 2) AS upper_by_hand
FROM i_fits, clm.clv_interval(bg, gg, 2, 30.43, 38.86, 22.35, 12, 0.01) i;

-- 2. on every CDNOW customer, every model: the estimate is the point
-- function's value (exactly), the interval contains it and lies in range
SELECT count(*) AS customers,
	   bool_and((p).estimate = clm.p_alive(bg, x, t_x, "T") AND (p).lower <= (p).estimate
				AND (p).estimate <= (p).upper AND (p).lower >= 0 AND (p).upper <= 1) AS bg_p_alive,
	   bool_and((e).estimate = clm.expected_purchases(bg, 52, x, t_x, "T") AND (e).lower <= (e).estimate
				AND (e).estimate <= (e).upper AND (e).lower > 0) AS bg_expected,
	   bool_and((w).estimate = clm.prob_purchase_within(bg, 10, x, t_x, "T") AND (w).lower <= (w).estimate
				AND (w).estimate <= (w).upper AND (w).upper <= 1) AS bg_within,
	   bool_and((c).estimate = clm.clv_estimate(bg, gg, x, t_x, "T", zbar, 12, 0.01) AND (c).lower <= (c).estimate
				AND (c).estimate <= (c).upper) AS bg_clv,
	   bool_and((mp).estimate = clm.p_alive(mbg, x, t_x, "T") AND (mp).lower <= (mp).estimate
				AND (mp).estimate <= (mp).upper) AS mbg_p_alive,
	   bool_and((pp).estimate = clm.p_alive(pn, x, t_x, "T") AND (pp).lower <= (pp).estimate
				AND (pp).estimate <= (pp).upper AND (pp).upper <= 1) AS pnbd_p_alive
FROM i_fits, cdnow_summary,
	 LATERAL clm.p_alive_interval(bg, x, t_x, "T") p,
	 LATERAL clm.expected_purchases_interval(bg, 52, x, t_x, "T") e,
	 LATERAL clm.prob_purchase_within_interval(bg, 10, x, t_x, "T") w,
	 LATERAL clm.clv_interval(bg, gg, x, t_x, "T", zbar, 12, 0.01) c,
	 LATERAL clm.p_alive_interval(mbg, x, t_x, "T") mp,
	 LATERAL clm.p_alive_interval(pn, x, t_x, "T") pp;
-- Pareto/NBD's other quantities on 50 customers (each is a quadrature)
SELECT count(*) AS customers,
	   bool_and((e).estimate = clm.expected_purchases(pn, 52, x, t_x, "T") AND (e).lower <= (e).estimate
				AND (e).estimate <= (e).upper) AS pnbd_expected,
	   bool_and((w).estimate = clm.prob_purchase_within(pn, 10, x, t_x, "T") AND (w).lower <= (w).estimate
				AND (w).estimate <= (w).upper AND (w).upper <= 1) AS pnbd_within,
	   bool_and((c).estimate = clm.clv_estimate(pn, gg, x, t_x, "T", zbar, 12, 0.01) AND (c).lower <= (c).estimate
				AND (c).estimate <= (c).upper) AS pnbd_clv
FROM i_fits, (SELECT * FROM cdnow_summary ORDER BY id LIMIT 50) s,
	 LATERAL clm.expected_purchases_interval(pn, 52, x, t_x, "T") e,
	 LATERAL clm.prob_purchase_within_interval(pn, 10, x, t_x, "T") w,
	 LATERAL clm.clv_interval(pn, gg, x, t_x, "T", zbar, 12, 0.01) c;

-- 3. the standard error is the delta method: g' S g with g the gradient in
-- the natural parameters by central differences (relative step 1e-4)
-- computed here from clm.p_alive and clm.clv_estimate at perturbed models
CREATE FUNCTION i_bg(m clm.bgnbd_model, j int, f float8) RETURNS clm.bgnbd_model
LANGUAGE sql AS $$
	SELECT ROW(CASE WHEN j = 1 THEN m.r * f ELSE m.r END, CASE WHEN j = 2 THEN m.alpha * f ELSE m.alpha END,
			   CASE WHEN j = 3 THEN m.a * f ELSE m.a END, CASE WHEN j = 4 THEN m.b * f ELSE m.b END,
			   m.loglik, m.n, m.iterations, m.converged, m.unit, m.covariance)::clm.bgnbd_model $$;
CREATE FUNCTION i_gg(m clm.gamma_gamma_model, j int, f float8) RETURNS clm.gamma_gamma_model
LANGUAGE sql AS $$
	SELECT ROW(CASE WHEN j = 1 THEN m.p * f ELSE m.p END, CASE WHEN j = 2 THEN m.q * f ELSE m.q END,
			   CASE WHEN j = 3 THEN m.v * f ELSE m.v END,
			   m.loglik, m.n, m.skipped, m.iterations, m.converged, m.covariance)::clm.gamma_gamma_model $$;
WITH c(x, t_x, "T", m) AS (VALUES (2, 30.43, 38.86, 22.35), (1, 5, 38.86, 30), (10, 38, 38.86, 40)),
g AS (
	SELECT c.x, j, (clm.p_alive(i_bg(bg, j, 1.0001), c.x, c.t_x, c."T") - clm.p_alive(i_bg(bg, j, 0.9999), c.x, c.t_x, c."T"))
			   / (0.0002 * (ARRAY[(bg).r, (bg).alpha, (bg).a, (bg).b])[j]) AS d
	FROM i_fits, c, generate_series(1, 4) j),
v AS (SELECT g1.x, sum(g1.d * g2.d * (bg).covariance[g1.j][g2.j]) AS var
	  FROM g g1 JOIN g g2 USING (x), i_fits GROUP BY g1.x)
SELECT v.x, round(sqrt(v.var)::numeric, 6) AS se_by_hand,
	   abs((i).std_error / sqrt(v.var) - 1) < 1e-6 AS delta_1e6
FROM v, c, i_fits, clm.p_alive_interval(bg, c.x, c.t_x, c."T") i WHERE c.x = v.x ORDER BY 1;
-- a CLV depends on both fits: seven parameters, covariance block diagonal
WITH g AS (
	SELECT 'bg' AS m, j, (clm.clv_estimate(i_bg(bg, j, 1.0001), gg, 2, 30.43, 38.86, 22.35, 12, 0.01)
			- clm.clv_estimate(i_bg(bg, j, 0.9999), gg, 2, 30.43, 38.86, 22.35, 12, 0.01))
			/ (0.0002 * (ARRAY[(bg).r, (bg).alpha, (bg).a, (bg).b])[j]) AS d
	FROM i_fits, generate_series(1, 4) j
	UNION ALL
	SELECT 'gg', j, (clm.clv_estimate(bg, i_gg(gg, j, 1.0001), 2, 30.43, 38.86, 22.35, 12, 0.01)
			- clm.clv_estimate(bg, i_gg(gg, j, 0.9999), 2, 30.43, 38.86, 22.35, 12, 0.01))
			/ (0.0002 * (ARRAY[(gg).p, (gg).q, (gg).v])[j])
	FROM i_fits, generate_series(1, 3) j),
v AS (SELECT sum(g1.d * g2.d * CASE g1.m WHEN 'bg' THEN (bg).covariance[g1.j][g2.j] ELSE (gg).covariance[g1.j][g2.j] END) AS var
	  FROM g g1 JOIN g g2 USING (m), i_fits)
SELECT round(sqrt(var)::numeric, 4) AS clv_se_by_hand,
	   abs((i).std_error / sqrt(var) - 1) < 1e-6 AS delta_1e6
FROM v, i_fits, clm.clv_interval(bg, gg, 2, 30.43, 38.86, 22.35, 12, 0.01) i;

-- 4. more data, narrower: four copies of the data give the same estimates
-- and a quarter of the covariance, so half the standard error
SELECT round(((b4).std_error / (b1).std_error)::numeric, 4) AS p_alive_se_ratio,
	   round(((c4).std_error / (c1).std_error)::numeric, 4) AS clv_se_ratio,
	   (b4).upper - (b4).lower < (b1).upper - (b1).lower AS narrower
FROM i_fits f1, i_fits4 f4,
	 LATERAL clm.p_alive_interval(f1.bg, 2, 30.43, 38.86) b1, LATERAL clm.p_alive_interval(f4.bg, 2, 30.43, 38.86) b4,
	 LATERAL clm.clv_interval(f1.bg, f1.gg, 2, 30.43, 38.86, 22.35, 12, 0.01) c1,
	 LATERAL clm.clv_interval(f4.bg, f4.gg, 2, 30.43, 38.86, 22.35, 12, 0.01) c4;
-- a lower level, a narrower interval with the same standard error
SELECT (a).std_error = (b).std_error AS same_se, (b).lower > (a).lower AND (b).upper < (a).upper AS narrower_at_80
FROM i_fits, clm.p_alive_interval(bg, 2, 30.43, 38.86) a, clm.p_alive_interval(bg, 2, 30.43, 38.86, 0.8) b;

-- 5. time units: the same customers in days with the model in days give
-- the same CLV interval (alpha and its covariance scale together)
SELECT abs((d).estimate / (w).estimate - 1) < 1e-9 AS same_estimate,
	   abs((d).std_error / (w).std_error - 1) < 1e-6 AS same_se
FROM i_fits,
	 clm.clv_interval(clm.in_unit(bg, 'week'), gg, 2, 30.43, 38.86, 22.35, 12, 0.01) w,
	 clm.clv_interval(clm.in_unit(clm.in_unit(bg, 'week'), 'day'), gg, 2, 30.43 * 7, 38.86 * 7, 22.35, 12, 0.01) d;

-- 6. no covariance: the estimate, and NULL for the rest
SELECT (i).estimate = clm.p_alive(bg, 2, 30.43, 38.86) AS estimate_kept, (i).std_error IS NULL AS no_se,
	   (i).lower IS NULL AND (i).upper IS NULL AS no_interval
FROM i_fits, clm.p_alive_interval(ROW((bg).r, (bg).alpha, (bg).a, (bg).b, (bg).loglik, (bg).n,
									  (bg).iterations, (bg).converged, 'week', NULL)::clm.bgnbd_model,
								  2, 30.43, 38.86) i;

-- 7. totals: expected purchases of all customers in the next 52 weeks and
-- the revenue of the next 12 months (discount 0)
SELECT round((t).estimate::numeric, 1) AS purchases_52w, round((t).std_error::numeric, 1) AS se,
	   round((t).lower::numeric, 1) AS lower, round((t).upper::numeric, 1) AS upper,
	   abs((t).estimate / s.sum_est - 1) < 1e-12 AS sum_of_estimates,
	   (t).std_error < s.sum_se AS shared_below_sum_of_se,
	   (t).std_error > sqrt(s.sum_var) AS above_independent
FROM (SELECT clm.expected_purchases_total(bg, 52, x, t_x, "T") AS t FROM i_fits, cdnow_summary) a,
	 (SELECT sum((i).estimate) AS sum_est, sum((i).std_error) AS sum_se, sum((i).std_error ^ 2) AS sum_var
	  FROM i_fits, cdnow_summary, clm.expected_purchases_interval(bg, 52, x, t_x, "T") i) s;
SELECT round((t).estimate::numeric, 0) AS revenue_12m, round((t).std_error::numeric, 0) AS se,
	   round((t).lower::numeric, 0) AS lower, round((t).upper::numeric, 0) AS upper
FROM (SELECT clm.clv_total(bg, gg, x, t_x, "T", zbar, 12, 0) AS t FROM i_fits, cdnow_summary) a;
-- one customer: the total is that customer's interval
SELECT (t).estimate = (i).estimate AS same_estimate, abs((t).std_error / (i).std_error - 1) < 1e-12 AS same_se
FROM (SELECT clm.clv_total(bg, gg, 2, 30.43, 38.86, 22.35, 12, 0.01, 0.9) AS t FROM i_fits) a,
	 i_fits, clm.clv_interval(bg, gg, 2, 30.43, 38.86, 22.35, 12, 0.01, level => 0.9) i;
-- per segment (here: by frequency band), with GROUP BY
SELECT x > 0 AS repeat_buyer, count(*), round((clm.expected_purchases_total(pn, 52, x, t_x, "T")).estimate::numeric, 1) AS pnbd_52w
FROM i_fits, cdnow_summary GROUP BY 1 ORDER BY 1;
-- rows with a NULL are skipped; no rows: NULL
SELECT (clm.expected_purchases_total(bg, 52, x, t_x, "T")).estimate IS NULL AS empty_is_null
FROM i_fits, cdnow_summary WHERE false;
SELECT abs((a).estimate - skipped - (b).estimate) < 1e-9 AS null_rows_skipped
FROM (SELECT clm.expected_purchases_total(bg, 52, x, t_x, "T") AS a FROM i_fits, cdnow_summary) s1,
	 (SELECT clm.expected_purchases_total(bg, 52, x, CASE WHEN id % 7 = 0 THEN NULL ELSE t_x END, "T") AS b,
			 sum(clm.expected_purchases(bg, 52, x, t_x, "T")) FILTER (WHERE id % 7 = 0) AS skipped
	  FROM i_fits, cdnow_summary) s2;

-- 8. in parallel (Partial Aggregate, the combine function) as serially
CREATE TABLE i_par AS SELECT s.*, f.bg, f.gg FROM cdnow_summary s, i_fits f;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT clm.clv_total(bg, gg, x, t_x, "T", zbar, 12, 0) FROM i_par;
CREATE TEMP TABLE i_par_result AS SELECT clm.clv_total(bg, gg, x, t_x, "T", zbar, 12, 0) AS t FROM i_par;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
SELECT abs((p.t).estimate / (s.t).estimate - 1) < 1e-12 AS same_estimate,
	   abs((p.t).std_error / (s.t).std_error - 1) < 1e-9 AS same_se
FROM i_par_result p, (SELECT clm.clv_total(bg, gg, x, t_x, "T", zbar, 12, 0) AS t FROM i_par) s;
RESET ALL;
SET extra_float_digits = 0;

-- 9. BG/BB on the donations: the 6-for-6 donor and the cohort's next five years
CREATE TABLE i_don (frequency int, recency int, periods int, weights int);
\copy i_don FROM 'test/data/donations_bgbb.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE i_bgbb AS SELECT clm.bgbb_fit(frequency, recency, periods, weights) AS m FROM i_don;
SELECT round((p).estimate::numeric, 4) AS p_alive, round((p).std_error::numeric, 4) AS se,
	   round((p).lower::numeric, 4) AS lower, round((p).upper::numeric, 4) AS upper,
	   round((e).estimate::numeric, 4) AS next5, round((e).lower::numeric, 4) AS lower5, round((e).upper::numeric, 4) AS upper5
FROM i_bgbb, clm.p_alive_interval(m, 6, 6, 6) p, clm.expected_purchases_interval(m, 5, 6, 6, 6) e;
-- DERT at 10% (a donor's residual value in transactions): the interval of ln DERT
SELECT round((d).estimate::numeric, 4) AS dert, (d).estimate = clm.discounted_expected_transactions(m, 6, 6, 6, 0.1) AS same,
	   round((d).lower::numeric, 4) AS lower, round((d).upper::numeric, 4) AS upper,
	   round(((d).estimate * exp(1.959964 * (d).std_error / (d).estimate))::numeric, 4) AS upper_by_hand
FROM i_bgbb, clm.discounted_expected_transactions_interval(m, 6, 6, 6, 0.1) d;
-- the total weights a history by its donors: the same as one row per donor
SELECT round((t).estimate::numeric, 0) AS donations_5y, round((t).std_error::numeric, 0) AS se,
	   round((t).lower::numeric, 0) AS lower, round((t).upper::numeric, 0) AS upper
FROM (SELECT clm.expected_purchases_total(m, 5, frequency, recency, periods) AS t
	  FROM i_bgbb, i_don, generate_series(1, weights)) s;

-- 10. errors
SELECT clm.p_alive_interval(bg, 2, 30.43, 38.86, 1) FROM i_fits;
SELECT clm.p_alive_interval(bg, 2, 40, 38.86) FROM i_fits;
SELECT clm.expected_purchases_interval(m, 1.5, 1, 1, 6) FROM i_bgbb;
SELECT clm.clv_interval(bg, gg, 2, 30.43, 38.86, 22.35, -1, 0.01) FROM i_fits;
SELECT clm.expected_purchases_total(CASE WHEN x > 3 THEN f.bg ELSE f4.bg END, 52, x, t_x, "T")
FROM i_fits f, i_fits4 f4, cdnow_summary;
