-- demo.sql: what `make demo` runs on a throwaway cluster: the CDNOW sample
-- (2,357 customers of an online music store, 1997-01 .. 1998-06) segmented
-- with RFM and ABC in plain SQL.
\pset footer off
CREATE EXTENSION clm;
CREATE TABLE transactions (customer_id int, sample_id int, purchase_date date, cds int, amount float8);
\copy transactions FROM 'test/data/cdnow_transactions.csv' WITH (FORMAT csv, HEADER true)

-- one row per customer: the summary, RFM scores and segment, ABC class
CREATE TABLE customers AS
SELECT s.*,
	   clm.rfm_score(s.days_since_last, s.orders, s.total_amount) OVER () AS rfm,
	   clm.abc_class(s.total_amount) OVER () AS abc
FROM (SELECT customer_id, (clm.customer_summary(purchase_date, amount, '1998-06-30')).*
	  FROM transactions GROUP BY customer_id) s;

\echo
\echo 'Customers and revenue per RFM segment (as of 1998-06-30)'
SELECT (rfm).segment, count(*) AS customers,
	   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "% customers",
	   round(sum(total_amount)::numeric, 2) AS revenue,
	   round((100 * sum(total_amount) / sum(sum(total_amount)) OVER ())::numeric, 1) AS "% revenue"
FROM customers GROUP BY 1 ORDER BY sum(total_amount) DESC;

\echo 'Customers and revenue per ABC class (A = first 80% of revenue, B = next 15%)'
SELECT abc AS class, count(*) AS customers,
	   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "% customers",
	   round(sum(total_amount)::numeric, 2) AS revenue,
	   round((100 * sum(total_amount) / sum(sum(total_amount)) OVER ())::numeric, 1) AS "% revenue"
FROM customers GROUP BY 1 ORDER BY 1;

\echo 'Top 10 customers by revenue'
SELECT customer_id, orders, round(total_amount::numeric, 2) AS revenue,
	   last_purchase::date AS last_purchase, days_since_last,
	   (rfm).cell AS rfm, (rfm).segment, abc
FROM customers ORDER BY total_amount DESC, customer_id LIMIT 10;

-- CLV: BG/NBD and Gamma-Gamma fitted in the database on the 39-week
-- calibration period (weeks), as in Fader, Hardie & Lee (2005)
CREATE TABLE calib AS
SELECT customer_id, (clm.customer_summary(purchase_date, amount, '1997-09-30', 'week')).*
FROM transactions WHERE purchase_date <= '1997-09-30' GROUP BY customer_id;
\echo 'BG/NBD and Gamma-Gamma fitted on the calibration period (published: r 0.243, alpha 4.414, a 0.793, b 2.426; p 6.25, q 3.74, gamma 15.44)'
SELECT round(r::numeric, 3) AS r, round(alpha::numeric, 3) AS alpha, round(a::numeric, 3) AS a,
	   round(b::numeric, 3) AS b, round(loglik::numeric, 1) AS loglik, converged
FROM (SELECT (clm.bgnbd_fit(frequency, recency, tenure)).* FROM calib) f;
SELECT round(p::numeric, 2) AS p, round(q::numeric, 2) AS q, round(v::numeric, 2) AS gamma, n, skipped, converged
FROM (SELECT (clm.gamma_gamma_fit(frequency, repeat_avg_amount)).* FROM calib) f;

\echo 'Top 10 customers by expected 12-month CLV (1% a month), with P(alive) at the end of calibration'
WITH m AS (SELECT clm.bgnbd_fit(frequency, recency, tenure) AS bg,
				  clm.gamma_gamma_fit(frequency, repeat_avg_amount) AS gg FROM calib)
SELECT customer_id, frequency, round(recency::numeric, 1) AS recency_wk, round(tenure::numeric, 1) AS tenure_wk,
	   round(clm.p_alive(bg, frequency, recency, tenure)::numeric, 3) AS p_alive,
	   round(clm.expected_purchases(bg, 39, frequency, recency, tenure)::numeric, 2) AS next_39wk,
	   round(clm.clv_estimate(bg, gg, frequency, recency, tenure, repeat_avg_amount, 12, 0.01)::numeric, 2) AS clv_12m
FROM calib, m ORDER BY clv_12m DESC, customer_id LIMIT 10;

-- the job: the same data moved forward so that the last purchase was
-- yesterday, reclassified the way the background worker does it
CREATE TABLE shop AS
SELECT customer_id, (purchase_date + (current_date - 1 - '1998-06-30'::date))::timestamptz AS ts, amount
FROM transactions;
SELECT clm.create_job('cdnow', 'shop', schedule => '1 day') AS job_id \gset
\echo 'A job run (clm.run_job, the code the background worker runs)'
SELECT status, customers, alerts, finished_at - started_at AS took FROM clm.run_job('cdnow');
\echo 'Customers per lifecycle stage'
SELECT stage, customers, round(100 * customer_share::numeric, 1) AS "% customers",
	   round(revenue::numeric, 2) AS revenue, round(avg_churn_risk::numeric, 3) AS avg_churn_risk,
	   round(avg_health::numeric, 1) AS avg_health
FROM clm.stage_summary ORDER BY stage;
