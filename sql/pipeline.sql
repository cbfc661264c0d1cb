-- pipeline: the README's one query from raw transactions to summary, RFM
-- segment, ABC class, P(alive), CLV, churn risk, health score and stage per
-- customer (CDNOW, as of the end of the data, weeks).  It is the scoring
-- engine the jobs use (clm.fit_data, clm.scoring, clm.score_value,
-- clm.breakpoints_agg, clm.score), so the two cannot drift apart;
-- sql/job_incremental.sql checks a job's full refresh against it field by
-- field.
SET extra_float_digits = 0;
SET timezone = 'UTC';
-- the README's sample tables; customer_id is the sample's id (1..2357)
\i test/data/load_cdnow.sql
-- a customer whose first purchase is on the as_of day (tenure 0): scored
-- by the signals and the day rules, no model value (the engine used to fail
-- here with 22023 "tenure must be greater than 0")
INSERT INTO cdnow_tx VALUES (99999, '1998-07-01 00:00+00', 25, 1);

CREATE TABLE customer_view AS
WITH s AS (                                   -- 1. summary and trend per customer
    SELECT customer_id,
           clm.customer_summary(ts, amount, '1998-07-01', 'week') AS s,
           clm.activity_trend(ts, amount, '1998-07-01', '90 days') AS act
    FROM cdnow_tx WHERE ts <= '1998-07-01' GROUP BY customer_id),
ctx AS (                                      -- 2. fit the models once: the scoring context
    SELECT clm.scoring(clm.mbgnbd_fit(d), clm.gamma_gamma_fit(d)) AS ctx
    FROM (SELECT clm.fit_data((s).frequency, (s).recency, (s).tenure, (s).repeat_avg_amount) AS d
          FROM s WHERE (s).tenure > 0) f),
v AS (                                        -- 3. P(alive) and 12-month CLV per customer
    SELECT s.*, v.* FROM s, ctx, LATERAL clm.score_value(s.s, ctx.ctx) v),
b AS (                                        -- 4. RFM quintile cuts, ABC and high-value thresholds
    SELECT clm.breakpoints_agg((s).days_since_last, (s).orders, (s).total_amount, clv, NULL) AS b FROM v)
SELECT v.customer_id, (v.s).orders, (v.s).total_amount, (v.s).days_since_last,
       v.p_alive, v.clv AS clv_12m, sc.*      -- 5. every other score
FROM v, ctx, b, LATERAL clm.score(v.s, v.act, v.p_alive, v.clv, ctx.ctx, b.b, '1998-07-01') sc;

-- the high-value cut a job's full refresh takes from its fit data (one CLV
-- per distinct row, counted by its weight: CDNOW has many shared rows) is
-- the cut of clm.breakpoints_agg over every customer's CLV
CREATE TEMP TABLE hv_check AS
WITH s AS (
    SELECT customer_id, clm.customer_summary(ts, amount, '1998-07-01', 'week') AS s
    FROM cdnow_tx WHERE ts <= '1998-07-01' GROUP BY customer_id),
f AS (SELECT clm.fit_data((s).frequency, (s).recency, (s).tenure, (s).repeat_avg_amount) AS d
      FROM s WHERE (s).tenure > 0)
SELECT f.d, clm.scoring(clm.mbgnbd_fit(f.d), clm.gamma_gamma_fit(f.d)) AS ctx FROM f;
SELECT clm.fit_data_rows(h.d) < clm.fit_data_customers(h.d) AS rows_shared,
	   clm.high_value_cut(h.d, h.ctx, NULL) = (b.b).high_value_clv AS same_cut,
	   clm.high_value_cut(h.d, h.ctx, '{"high_value_share": 0.5}')
		 = (SELECT (clm.breakpoints_agg(c.days_since_last, c.orders, c.total_amount, c.clv_12m,
										'{"high_value_share": 0.5}')).high_value_clv
			FROM customer_view c) AS same_cut_half,
	   clm.high_value_cut(NULL, h.ctx, NULL) IS NULL AS null_data,
	   clm.high_value_cut(h.d, clm.scoring(NULL::clm.mbgnbd_model, NULL), NULL) IS NULL AS no_models
FROM hv_check h,
	 (SELECT clm.breakpoints_agg(days_since_last, orders, total_amount, clv_12m, NULL) AS b FROM customer_view) b;
SELECT clm.high_value_cut(d, ctx, '{"high_value_share": 0}') FROM hv_check;

SELECT stage, count(*) AS customers, round(avg(churn_risk)::numeric, 3) AS avg_risk,
	   round(avg(health)::numeric, 1) AS avg_health, round(sum(clv_12m)::numeric, 0) AS clv_12m
FROM customer_view GROUP BY stage ORDER BY stage;
SELECT customer_id, orders, round(total_amount::numeric, 2) AS total, segment, abc,
	   round(clv_12m::numeric, 2) AS clv_12m, round(churn_risk::numeric, 3) AS churn_risk,
	   round(health::numeric, 1) AS health, stage
FROM customer_view ORDER BY clv_12m DESC NULLS LAST, customer_id LIMIT 5;
-- the customer of the as_of day
SELECT customer_id, orders, p_alive, clv_12m, round(churn_risk::numeric, 3) AS churn_risk, stage, segment
FROM customer_view WHERE customer_id = 99999;
-- invariants: every customer has every field (model values all but the
-- new one); risk in [0, 1]; health in [0, 100]; CLV >= 0; churn risk,
-- stage and health agree: at_risk or churned exactly when churn_risk >=
-- at_risk_risk (0.7), churned ones at least churned_risk (0.9), health
-- falling from active stages to at_risk to churned
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE segment IS NULL OR abc IS NULL OR churn_risk IS NULL OR health IS NULL OR stage IS NULL) AS incomplete,
	   count(*) FILTER (WHERE clv_12m IS NULL OR p_alive IS NULL) AS without_model_value,
	   bool_and(churn_risk BETWEEN 0 AND 1) AS risk_ok,
	   bool_and(health BETWEEN 0 AND 100) AS health_ok,
	   bool_and(clv_12m >= 0) AS clv_ok,
	   count(*) FILTER (WHERE (stage IN ('at_risk', 'churned')) <> (churn_risk >= 0.7)) AS risk_stage_mismatch,
	   count(*) FILTER (WHERE stage = 'churned' AND churn_risk < 0.9) AS churned_below_threshold
FROM customer_view;
SELECT avg(health) FILTER (WHERE stage = 'churned') < avg(health) FILTER (WHERE stage = 'at_risk') AS churned_below_at_risk,
	   avg(health) FILTER (WHERE stage = 'at_risk')
	 < avg(health) FILTER (WHERE stage IN ('new', 'active', 'loyal', 'reactivated')) AS at_risk_below_active
FROM customer_view;
