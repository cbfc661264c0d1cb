-- churn risk (model and signal forms), activity trend, health score
SET extra_float_digits = 0;
SET timezone = 'UTC';
\i test/data/regress_cdnow.sql

-- model form: 1 - P(alive)
WITH m AS (SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.mbgnbd_fit(x, t_x, "T") AS mbg FROM cdnow_summary)
SELECT count(*) FILTER (WHERE clm.churn_risk(bg, x, t_x, "T") <> 1 - clm.p_alive(bg, x, t_x, "T")) AS bg_off,
	   count(*) FILTER (WHERE clm.churn_risk(mbg, x, t_x, "T") <> 1 - clm.p_alive(mbg, x, t_x, "T")) AS mbg_off,
	   round(clm.churn_risk((SELECT bg FROM m), 2, 30.43, 38.86)::numeric, 4) AS customer_1
FROM cdnow_summary, m;

-- signal form, by hand: risk = p / (p + (1 - p) G) with G = (b / (b + d))^a,
-- a = prior_weight + orders - 1, b = prior_weight * prior_days + (orders - 1)
-- * avg_days_between, p = dropout = 0.05:
--   one order, prior 30 days x 1: a = 1, b = 30; d = 30: G = 30/60 = 0.5,
--     risk = 0.05 / (0.05 + 0.95 x 0.5) = 0.095238
--   five orders 10 days apart: a = 5, b = 30 + 40 = 70;
--     d = 10: G = (70/80)^5 = 0.512909, risk = 0.05 / (0.05 + 0.487264) = 0.093064
--     d = 70: G = 0.5^5 = 0.03125, risk = 0.05 / (0.05 + 0.0296875) = 0.627451
--   prior 60 days x 2, d = 30: G = (120/150)^2 = 0.64, risk = 0.05 / 0.658 = 0.075988
--   dropout 0.2, one order, d = 30: 0.2 / (0.2 + 0.8 x 0.5) = 0.333333
SELECT round(clm.churn_risk(30, NULL, 1)::numeric, 6) AS one_order_30d,
	   round(clm.churn_risk(10, 10, 5)::numeric, 6) AS five_orders_10d,
	   round(clm.churn_risk(70, 10, 5)::numeric, 6) AS five_orders_70d,
	   round(clm.churn_risk(30, NULL, 1, prior_days => 60, prior_weight => 2)::numeric, 6) AS custom_prior,
	   round(clm.churn_risk(30, NULL, 1, dropout => 0.2)::numeric, 6) AS dropout_02;

-- properties: near 0 right after a purchase (exactly the dropout
-- probability, 0.05); non-decreasing in the days since the last purchase;
-- toward 1 for very long gaps; within [0, 1]
CREATE TABLE risk_grid AS
SELECT o AS orders, g AS gap, d AS days, clm.churn_risk(d, g, o) AS risk
FROM generate_series(1, 30, 3) o, unnest('{0.5, 3, 14, 60, 365}'::float8[]) g, generate_series(0, 2000, 5) d;
SELECT bool_and(risk = 0.05) AS dropout_at_purchase FROM risk_grid WHERE days = 0;
SELECT count(*) AS decreasing_steps
FROM (SELECT risk - lag(risk) OVER (PARTITION BY orders, gap ORDER BY days) AS step FROM risk_grid) s
WHERE step < 0;
SELECT bool_and(risk BETWEEN 0 AND 1) AS bounded FROM risk_grid;
SELECT round(clm.churn_risk(1e6, 14, 10)::numeric, 6) AS very_long_gap;
-- a customer's own rhythm matters: 30 days is alarming for a weekly buyer,
-- ordinary for a quarterly one
SELECT round(clm.churn_risk(30, 7, 20)::numeric, 4) AS weekly_buyer,
	   round(clm.churn_risk(30, 90, 20)::numeric, 4) AS quarterly_buyer;
-- with many orders the prior fades: G approaches exp(-d / gap)
SELECT round(clm.churn_risk(14, 7, 100000)::numeric, 4) AS many_orders,
	   round((0.05 / (0.05 + 0.95 * exp(-14.0 / 7)))::numeric, 4) AS exponential_limit;
-- NULLs: unknown days -> NULL; no orders (a prospect) -> NULL; unknown
-- average gap -> the prior alone (as for a single order)
SELECT clm.churn_risk(NULL, 10, 5) IS NULL AS null_days,
	   clm.churn_risk(10, 10, 0) IS NULL AS no_orders,
	   clm.churn_risk(30, NULL, 4) = clm.churn_risk(30, NULL, 1) AS null_gap_uses_prior;

-- activity trend: as of Mar 1, 30-day windows: recent (Jan 31, Mar 1],
-- previous (Jan 1, Jan 31].  Feb 15 (10) and Feb 20 (20) are recent, Jan 10
-- (50) and Jan 31 00:00 exactly (5: the boundary belongs to the previous
-- window) are previous, Dec 15 (100) is older and ignored:
-- orders 2 vs 2 (ratio 1), amount 30 vs 55 (0.5455), avg value 15 vs 27.5
-- (0.5455)
CREATE TABLE trend_tx (c int, ts timestamptz, amount float8);
INSERT INTO trend_tx VALUES
	(1, '2024-02-15', 10), (1, '2024-02-20', 20), (1, '2024-01-10', 50),
	(1, '2024-01-31 00:00', 5), (1, '2023-12-15', 100),
	-- customer 2: nothing in the previous window: ratios NULL
	(2, '2024-02-25', 40),
	-- customer 3: only old activity: recent 0, ratio 0
	(3, '2024-01-05', 12), (3, '2024-01-06', 8);
SELECT c, (clm.activity_trend(ts, amount, '2024-03-01', '30 days')).*
FROM trend_tx GROUP BY c ORDER BY c;
-- calendar windows: 1 month back from Mar 1 is Feb 1
SELECT (clm.activity_trend(ts, amount, '2024-03-01', '1 month')).*
FROM trend_tx WHERE c = 1;
-- NULL rows are skipped; no rows -> NULL
SELECT (clm.activity_trend(ts, amount, '2024-03-01', '30 days')).recent_orders
FROM (VALUES ('2024-02-15'::timestamptz, 1::float8), (NULL, 1), ('2024-02-16', NULL)) v(ts, amount);
SELECT clm.activity_trend(ts, amount, '2024-03-01', '30 days') IS NULL AS empty FROM trend_tx WHERE false;
-- parallel: the float8[] state combines across workers
CREATE TABLE trend_big AS
SELECT i % 1000 AS c, '2024-01-01'::timestamptz + (i % 60) * interval '1 day' AS ts, (i % 7)::float8 AS amount
FROM generate_series(1, 200000) i;
ANALYZE trend_big;
CREATE TABLE trend_serial AS
SELECT c, clm.activity_trend(ts, amount, '2024-03-01', '30 days') AS t FROM trend_big GROUP BY c;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT clm.activity_trend(ts, amount, '2024-03-01', '30 days') FROM trend_big;
SELECT (SELECT clm.activity_trend(ts, amount, '2024-03-01', '30 days') FROM trend_big)::text AS parallel_whole,
	   ((SELECT sum((t).recent_orders) FROM trend_serial), (SELECT sum((t).previous_orders) FROM trend_serial)) AS serial_sums;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- health score.  All signals: risk 0.2, orders ratio 0.5, amount ratio 2,
-- 1 ticket, NPS 8 -> components 0.8, 0.5, 1 (capped), 0.5, 0.8 ->
-- 100 x (0.35 x 0.8 + 0.2 x 0.5 + 0.15 x 1 + 0.15 x 0.5 + 0.15 x 0.8) = 72.5
SELECT round(clm.health_score(0.2, 0.5, 2, 1, 8)::numeric, 4) AS all_signals;
-- tickets and NPS unknown: their weight is shared out:
-- 100 x (0.28 + 0.10 + 0.15) / 0.70 = 75.7143
SELECT round(clm.health_score(0.2, 0.5, 2)::numeric, 4) AS three_signals;
-- only recency known: 100 x (1 - 0.2) = 80
SELECT round(clm.health_score(0.2, NULL, NULL)::numeric, 4) AS recency_only;
-- overridden weights: recency only, by weight
SELECT round(clm.health_score(0.2, 0.5, 2, 1, 8, '{"activity": 0, "spend": 0, "tickets": 0, "nps": 0}')::numeric, 4) AS reweighted;
-- NPS counts double: 100 x (0.28 + 0.1 + 0.15 + 0.075 + 0.3 x 0.8) / 1.15 = 73.4783
SELECT round(clm.health_score(0.2, 0.5, 2, 1, 8, '{"nps": 0.3}')::numeric, 4) AS nps_double;
-- bounds: perfect and worst customers; nothing known -> NULL
SELECT clm.health_score(0, 1, 1, 0, 10) AS perfect, clm.health_score(1, 0, 0, NULL, 0) AS worst,
	   clm.health_score(NULL, NULL, NULL) IS NULL AS unknown;
-- more tickets, lower score
SELECT bool_and(clm.health_score(0.2, 1, 1, t + 1, 7) < clm.health_score(0.2, 1, 1, t, 7)) AS tickets_hurt
FROM generate_series(0, 20) t;
