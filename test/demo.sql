-- demo.sql: what `make demo` runs on a throwaway cluster: the CDNOW sample
-- (2,357 customers of an online music store, 1997-01 .. 1998-06) segmented
-- with RFM and ABC in plain SQL, CLV models, a job run as of the data's
-- end, KPIs and cohorts; with -v report_dir=DIR it also writes the data of
-- the report's charts there (scripts/report.sh).
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

-- the job, run as of the data's own end: the stages are absolute rules
-- (days since the last purchase, churn risk), so they only mean something
-- as of a date inside the data.  It runs at the end of every month of the
-- data, as the background worker would have, so that its stage history
-- gives the job KPIs below.
CREATE INDEX ON transactions (customer_id);
SELECT clm.create_job('cdnow', 'transactions', ts_column => 'purchase_date', schedule => '1 month',
					  enabled => false, time_zone => 'UTC') AS job_id \gset
\echo 'The job run at the end of each month, 1997-01-31 .. 1998-06-30 (clm.run_job(name, as_of => ...), the code the background worker runs)'
SELECT count(*) AS runs, count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded,
	   max(r.customers) AS customers, sum(r.alerts) AS alerts
FROM pg_catalog.generate_series(date '1997-02-01', '1998-07-01', '1 month') g,
	 LATERAL clm.run_job('cdnow', as_of => (g::date - 1)::timestamptz) r;
\echo 'Customers per lifecycle stage as of 1998-06-30'
SELECT stage, customers, round(100 * customer_share::numeric, 1) AS "% customers",
	   round(revenue::numeric, 2) AS revenue, round(avg_churn_risk::numeric, 3) AS avg_churn_risk,
	   round(avg_health::numeric, 1) AS avg_health
FROM clm.stage_summary ORDER BY stage;

\echo 'Why "Champions" and "churned" can both be large:'
\echo '  RFM scores are ranks: R, F and M are quintiles of the customers against each other,'
\echo '  so the best fifth is always scored 5, however long ago its last purchase was.'
\echo '  Stages are absolute rules: churned = no purchase for 180 days (or P(alive) <= 0.1).'
\echo '  CDNOW customers all first bought in 1997-Q1 and most never came back, so by 1998-06-30'
\echo '  most are churned, and the top ranks hold customers who are churned too:'
SELECT s.segment, count(*) AS customers, count(*) FILTER (WHERE s.stage = 'churned') AS churned,
	   round(100.0 * count(*) FILTER (WHERE s.stage = 'churned') / count(*), 1) AS "% churned",
	   min(s.days_since_last) AS min_days_since_last, max(s.days_since_last) AS max_days_since_last
FROM clm.customer_state s WHERE s.job_id = :job_id
GROUP BY 1 ORDER BY count(*) DESC LIMIT 4;

\echo 'Monthly KPIs from the transactions (active = a purchase in the last 90 days; rates in %)'
SELECT period_start AS month, customers_start AS "start", new, active_end AS "end", lost, reactivated,
	   round(100 * retention_rate::numeric, 1) AS retention, round(100 * churn_rate::numeric, 1) AS churn,
	   round(100 * repeat_purchase_rate::numeric, 1) AS repeat, round(100 * winback_rate::numeric, 1) AS winback
FROM clm.kpi('transactions', ts_column => 'purchase_date', period => 'month', active_days => 90);
\echo 'Quarterly KPIs from the job''s stage history (active = any stage but churned; lost = became churned)'
SELECT period_start AS quarter, customers_start AS "start", new, active_end AS "end", lost, reactivated,
	   round(100 * retention_rate::numeric, 1) AS retention, round(100 * churn_rate::numeric, 1) AS churn,
	   round(100 * winback_rate::numeric, 1) AS winback
FROM clm.job_kpi('cdnow', 'quarter');
\echo 'Monthly cohorts: % of each cohort buying in month 0, 1, 2, ... after the first purchase (bracket retention)'
SELECT cohort, max(cohort_size) AS size,
	   round(100 * max(retention) FILTER (WHERE period = 1)) AS m1,
	   round(100 * max(retention) FILTER (WHERE period = 2)) AS m2,
	   round(100 * max(retention) FILTER (WHERE period = 3)) AS m3,
	   round(100 * max(retention) FILTER (WHERE period = 6)) AS m6,
	   round(100 * max(retention) FILTER (WHERE period = 12)) AS m12,
	   round(100 * max(rolling_retention) FILTER (WHERE period = 12)) AS "rolling m12",
	   round(max(cumulative_revenue_per_customer)::numeric, 2) AS "revenue per customer"
FROM clm.cohorts('transactions', ts_column => 'purchase_date') GROUP BY cohort ORDER BY cohort;

-- the data of the report's charts (scripts/report.sh draws them), as
-- tab-separated files
\if :{?report_dir}
\echo 'writing the data of the report to' :report_dir
\set QUIET on
COPY (SELECT stage, customers, round(100 * customer_share::numeric, 1)
	  FROM clm.stage_summary WHERE job = 'cdnow' ORDER BY stage) TO STDOUT \g :report_dir/stages.tsv
COPY (SELECT segment, count(*), round(100.0 * count(*) / sum(count(*)) OVER (), 1),
			 round((100 * sum(total_amount) / sum(sum(total_amount)) OVER ())::numeric, 1),
			 count(*) FILTER (WHERE stage = 'churned'),
			 round(100.0 * count(*) FILTER (WHERE stage = 'churned') / sum(count(*)) OVER (), 1)
	  FROM clm.customer_state WHERE job_id = :job_id GROUP BY 1 ORDER BY 2 DESC) TO STDOUT \g :report_dir/segments.tsv
COPY (SELECT abc, count(*), round(100.0 * count(*) / sum(count(*)) OVER (), 1),
			 round((100 * sum(total_amount) / sum(sum(total_amount)) OVER ())::numeric, 1)
	  FROM clm.customer_state WHERE job_id = :job_id GROUP BY 1 ORDER BY 1) TO STDOUT \g :report_dir/abc.tsv
COPY (SELECT period_start, customers_start, new, active_end, lost, reactivated,
			 round(100 * retention_rate::numeric, 2), round(100 * churn_rate::numeric, 2),
			 round(100 * repeat_purchase_rate::numeric, 2), round(100 * winback_rate::numeric, 2)
	  FROM clm.kpi('transactions', ts_column => 'purchase_date', period => 'month', active_days => 90))
	TO STDOUT \g :report_dir/kpi.tsv
COPY (SELECT period_start, customers_start, new, active_end, lost, reactivated,
			 round(100 * retention_rate::numeric, 2), round(100 * churn_rate::numeric, 2),
			 round(100 * repeat_purchase_rate::numeric, 2), round(100 * winback_rate::numeric, 2)
	  FROM clm.job_kpi('cdnow', 'month')) TO STDOUT \g :report_dir/job_kpi.tsv
COPY (SELECT dense_rank() OVER (ORDER BY cohort) - 1, period, round(100 * retention::numeric, 2), cohort, cohort_size
	  FROM clm.cohorts('transactions', ts_column => 'purchase_date', period => 'week') ORDER BY cohort, period)
	TO STDOUT \g :report_dir/cohorts.tsv
COPY (SELECT frequency, recency, round(p_alive::numeric, 4), round(expected_purchases::numeric, 4)
	  FROM clm.frequency_recency_matrix((SELECT clm.bgnbd_fit(frequency, recency, tenure) FROM calib), 39,
										(SELECT max(frequency) FROM calib), 39))
	TO STDOUT \g :report_dir/matrix.tsv
\unset QUIET
\endif
