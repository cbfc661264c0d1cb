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
