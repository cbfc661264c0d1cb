-- parallel query: customer_summary is split across workers (Partial
-- Aggregate under Gather, states serialized and combined) and gives exactly
-- the serial result.  Amounts are multiples of 0.25 so float sums are exact
-- in any order and the comparison can be strict equality.
SET timezone = 'UTC';
CREATE TABLE ptx AS
SELECT (i % 20011) AS customer_id,
	   '2023-01-01'::timestamptz + ((i * 7919) % 500) * interval '1 day'
		 + (i % 24) * interval '1 hour' AS ts,
	   ((i % 1000) / 4.0)::float8 AS amount
FROM generate_series(1, 240000) i;
ANALYZE ptx;

-- serial reference
SET max_parallel_workers_per_gather = 0;
CREATE TABLE ser AS
SELECT customer_id, clm.customer_summary(ts, amount, '2024-06-01', 'week') AS s
FROM ptx GROUP BY customer_id;
CREATE TABLE ser_all AS
SELECT clm.customer_summary(ts, amount, '2024-06-01') AS s FROM ptx;

-- force parallel plans
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = on;

EXPLAIN (COSTS OFF)
SELECT customer_id, clm.customer_summary(ts, amount, '2024-06-01', 'week')
FROM ptx GROUP BY customer_id;
CREATE TABLE par AS
SELECT customer_id, clm.customer_summary(ts, amount, '2024-06-01', 'week') AS s
FROM ptx GROUP BY customer_id;

EXPLAIN (COSTS OFF)
SELECT clm.customer_summary(ts, amount, '2024-06-01') FROM ptx;
CREATE TABLE par_all AS
SELECT clm.customer_summary(ts, amount, '2024-06-01') AS s FROM ptx;

-- the workers really ran: every customer is there, and the results match
SELECT (SELECT count(*) FROM ser) AS serial_customers,
	   (SELECT count(*) FROM par) AS parallel_customers,
	   (SELECT count(*) FROM ser FULL JOIN par USING (customer_id)
		WHERE ser.s IS DISTINCT FROM par.s) AS differing;
SELECT (s).orders, (s).frequency, (s).recency, (s).tenure, (s).total_amount,
	   (s).repeat_avg_amount
FROM par_all;
SELECT (SELECT s FROM ser_all) = (SELECT s FROM par_all) AS whole_table_equal;

-- both against plain SQL: per customer, distinct days - 1, orders, total,
-- and the first-to-last-day span (the serial run here sees each customer's
-- days out of order, which exercises the state's sort-and-merge)
SELECT count(*) FILTER (WHERE which = 'serial') AS serial_mismatches,
	   count(*) FILTER (WHERE which = 'parallel') AS parallel_mismatches
FROM (SELECT 'serial' AS which, * FROM ser UNION ALL SELECT 'parallel', * FROM par) p
JOIN (SELECT customer_id, count(DISTINCT (ts AT TIME ZONE 'UTC')::date) - 1 AS freq,
			 count(*) AS orders, sum(amount) AS total,
			 (max(ts) AT TIME ZONE 'UTC')::date - (min(ts) AT TIME ZONE 'UTC')::date AS span
	  FROM ptx GROUP BY customer_id) q USING (customer_id)
WHERE (p.s).frequency <> q.freq OR (p.s).orders <> q.orders OR (p.s).total_amount <> q.total
   OR round((p.s).recency * 7) <> q.span;

-- a job run over everyone is split into arms, one per worker
-- (clm.job_arms), each reading the whole source and keeping the customers
-- whose key hashes to it, run in parallel (a Parallel Append): it stores
-- what one serial stream stores.  Two jobs on the same source, with
-- prospects; the second runs with parallel query off.  Model values are
-- compared rounded (the fits see their customers in another order).
CREATE TABLE pcust AS SELECT i AS id FROM generate_series(0, 20100) i;	-- 90 prospects
SET client_min_messages = error;	-- (no index, no worker: warnings that depend on the server)
-- (not due until next year: a background worker, where clm is preloaded,
-- would run them as of now)
SELECT clm.create_job('par_arms', 'ptx', customers_source => 'pcust', customers_id_column => 'id',
					  schedule => '0 0 1 1 *', time_zone => 'UTC') > 0 AS created;
SELECT clm.create_job('par_serial', 'ptx', customers_source => 'pcust', customers_id_column => 'id',
					  schedule => '0 0 1 1 *', time_zone => 'UTC') > 0 AS created;
RESET client_min_messages;
CREATE VIEW pview AS SELECT * FROM ptx;
SELECT clm.job_arms('ptx', 'integer') AS arms, clm.job_arms('ptx', 'character varying') AS varchar_arms,
	   clm.job_arms('pview', 'integer') AS view_arms;
SET max_parallel_workers = 0;
SELECT clm.job_arms('ptx', 'integer') AS arms_without_workers;
RESET max_parallel_workers;
CREATE FUNCTION pg_temp.arm_mismatches(arms text DEFAULT 'par_arms', serial text DEFAULT 'par_serial')
RETURNS TABLE (customers bigint, prospects bigint, differing bigint)
LANGUAGE sql AS $$
	SELECT count(*) FILTER (WHERE a.orders IS NOT NULL), count(*) FILTER (WHERE a.orders IS NULL),
		   count(*) FILTER (WHERE
			(a.customer_id, a.first_purchase, a.last_purchase, a.orders, a.frequency, a.recency_weeks, a.tenure_weeks,
			 a.days_since_last, a.total_amount, a.avg_amount, a.r, a.f, a.m, a.rfm_cell, a.segment, a.abc,
			 round(a.p_alive::numeric, 9), round(a.clv::numeric, 6), round(a.churn_risk::numeric, 9),
			 round(a.health::numeric, 6), a.stage, a.stage_since, a.high_value_at_risk, a.next_review)
			IS DISTINCT FROM
			(s.customer_id, s.first_purchase, s.last_purchase, s.orders, s.frequency, s.recency_weeks, s.tenure_weeks,
			 s.days_since_last, s.total_amount, s.avg_amount, s.r, s.f, s.m, s.rfm_cell, s.segment, s.abc,
			 round(s.p_alive::numeric, 9), round(s.clv::numeric, 6), round(s.churn_risk::numeric, 9),
			 round(s.health::numeric, 6), s.stage, s.stage_since, s.high_value_at_risk, s.next_review))
	FROM (SELECT * FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = arms)) a
	FULL JOIN (SELECT * FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = serial)) s
	  USING (customer_id)
$$;
SELECT status, customers FROM clm.run_job('par_arms', as_of => '2024-06-01');
SET max_parallel_workers_per_gather = 0;
SELECT clm.job_arms('ptx', 'integer') AS serial_arms;
SELECT status, customers FROM clm.run_job('par_serial', as_of => '2024-06-01');
SET max_parallel_workers_per_gather = 2;
SELECT * FROM pg_temp.arm_mismatches();
-- new purchases, a customer whose purchases are deleted (a prospect now),
-- and a full refresh of both
INSERT INTO ptx SELECT i * 13, '2024-06-10', 30 FROM generate_series(1, 400) i;
DELETE FROM ptx WHERE customer_id = 5;
SELECT status, written > 400 AS written FROM clm.run_job('par_arms', as_of => '2024-06-11', full_refresh => true);
SET max_parallel_workers_per_gather = 0;
SELECT status, written > 400 AS written FROM clm.run_job('par_serial', as_of => '2024-06-11', full_refresh => true);
SET max_parallel_workers_per_gather = 2;
SELECT * FROM pg_temp.arm_mismatches();
SELECT count(*) AS jobs, count(*) FILTER (WHERE orders IS NULL AND stage = 'prospect') AS as_prospect
FROM clm.customer_state WHERE customer_id = '5';
SELECT clm.drop_job('par_arms'), clm.drop_job('par_serial');
-- a full refresh of a capturing job without prospects scores the
-- customers whose transactions did not change from its state (their
-- activity trend from the source's rows inside its two windows only) and
-- the others from the source, by key: in arms, it stores what a job
-- without capture stores by rescanning the source in one stream.  New
-- purchases, a deleted customer and a refund dated in the past between
-- the two runs; the trend's windows (90 days each) hold about a quarter of
-- the rows; a thousand customers bought last in 2023 and have none there.
INSERT INTO ptx SELECT 30000 + i % 1000, '2023-01-01'::timestamptz + (i % 180) * interval '1 day', (i % 40) / 4.0
FROM generate_series(1, 5000) i;
SET client_min_messages = error;
SELECT clm.create_job('fs_arms', 'ptx', schedule => '0 0 1 1 *', time_zone => 'UTC') > 0 AS created;
SELECT clm.create_job('fs_scan', 'ptx', schedule => '0 0 1 1 *', time_zone => 'UTC', incremental => false) > 0 AS created;
RESET client_min_messages;
SELECT status FROM clm.run_job('fs_arms', as_of => '2024-06-12');
SET max_parallel_workers_per_gather = 0;
SELECT status FROM clm.run_job('fs_scan', as_of => '2024-06-12');
SET max_parallel_workers_per_gather = 2;
INSERT INTO ptx SELECT i * 17, '2024-06-15', 12.5 FROM generate_series(1, 300) i;
DELETE FROM ptx WHERE customer_id = 6;
UPDATE ptx SET amount = amount - 0.25 WHERE customer_id = 7 AND ts < '2024-01-01';
SELECT count(*) FILTER (WHERE ts > '2023-12-24') * 4 > count(*) AS windows_hold_a_quarter FROM ptx;
SELECT status, written > 300 AS written FROM clm.run_job('fs_arms', as_of => '2024-06-21', full_refresh => true);
SET max_parallel_workers_per_gather = 0;
SELECT status, written > 300 AS written FROM clm.run_job('fs_scan', as_of => '2024-06-21', full_refresh => true);
SET max_parallel_workers_per_gather = 2;
SELECT * FROM pg_temp.arm_mismatches('fs_arms', 'fs_scan');
SELECT count(*) AS deleted_customer_rows FROM clm.customer_state WHERE customer_id = '6';
SELECT clm.drop_job('fs_arms'), clm.drop_job('fs_scan');
