-- pipeline: the README's one query from raw transactions to summary, RFM
-- segment, CLV, churn risk, health score and stage per customer (CDNOW,
-- as of the end of the data, weeks).  MBG/NBD rather than BG/NBD for churn
-- risk: BG/NBD gives P(alive) = 1 to every customer who bought once.  The
-- health score takes the signal form of churn risk (days since the last
-- purchase against the customer's own rhythm).
SET extra_float_digits = 0;
SET timezone = 'UTC';
-- the README's sample tables; customer_id is the sample's id (1..2357)
\i test/data/load_cdnow.sql

CREATE TABLE customer_view AS
WITH s AS (                                   -- 1. summary per customer
	SELECT customer_id,
		   (clm.customer_summary(ts, amount, '1998-07-01', 'week')).*,
		   (clm.activity_trend(ts, amount, '1998-07-01', '90 days')).*
	FROM cdnow_tx GROUP BY customer_id),
m AS (                                        -- 2. fit the models once
	SELECT clm.mbgnbd_fit(frequency, recency, tenure) AS bg,
		   clm.gamma_gamma_fit(frequency, repeat_avg_amount) AS gg
	FROM s)
SELECT s.customer_id, s.orders, s.total_amount, s.days_since_last,
	   (clm.rfm_score(s.days_since_last, s.orders, s.total_amount) OVER ()).segment,
	   clm.clv_estimate(m.bg, m.gg, s.frequency, s.recency, s.tenure, s.repeat_avg_amount, 12, 0.01) AS clv_12m,
	   clm.churn_risk(m.bg, s.frequency, s.recency, s.tenure) AS churn_risk,
	   clm.health_score(clm.churn_risk(s.days_since_last, s.avg_days_between, s.orders),
						s.orders_ratio, s.amount_ratio) AS health,
	   clm.lifecycle_stage(s.first_purchase, s.last_purchase, s.orders, '1998-07-01',
						   clm.churn_risk(m.bg, s.frequency, s.recency, s.tenure)) AS stage
FROM s, m;

SELECT stage, count(*) AS customers, round(avg(churn_risk)::numeric, 3) AS avg_risk,
	   round(avg(health)::numeric, 1) AS avg_health, round(sum(clv_12m)::numeric, 0) AS clv_12m
FROM customer_view GROUP BY stage ORDER BY stage;
SELECT customer_id, orders, round(total_amount::numeric, 2) AS total, segment,
	   round(clv_12m::numeric, 2) AS clv_12m, round(churn_risk::numeric, 3) AS churn_risk,
	   round(health::numeric, 1) AS health, stage
FROM customer_view ORDER BY clv_12m DESC, customer_id LIMIT 5;
-- invariants: every customer has every field; risk in [0, 1]; health in
-- [0, 100]; CLV >= 0
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE segment IS NULL OR clv_12m IS NULL OR churn_risk IS NULL OR stage IS NULL) AS incomplete,
	   bool_and(churn_risk BETWEEN 0 AND 1) AS risk_ok,
	   bool_and(health BETWEEN 0 AND 100) AS health_ok,
	   bool_and(clv_12m >= 0) AS clv_ok
FROM customer_view;
