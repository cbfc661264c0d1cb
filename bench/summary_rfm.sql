-- bench/summary_rfm.sql: customer_summary and RFM against the GROUP BY floor
-- and the pure-SQL way.  Run by bench/summary_rfm.sh with -v rows=... -v
-- customers=... -v runs=...
\ir lib.sql
SET work_mem = '256MB';

DROP TABLE IF EXISTS bench_tx;
-- :rows transactions over :customers customers, two years, amounts 1..500
CREATE TABLE bench_tx AS
SELECT (hashint8(i) & 2147483647) % :customers AS customer_id,
	   '2023-01-01'::timestamptz + ((hashint8(i + 1) & 2147483647) % (730 * 86400)) * interval '1 second' AS ts,
	   1 + ((hashint8(i + 2) & 2147483647) % 50000) / 100.0::float8 AS amount
FROM generate_series(1, :rows) i;
VACUUM ANALYZE bench_tx;

CREATE TEMP TABLE queries (id text PRIMARY KEY, what text, q text);
INSERT INTO queries VALUES
('a', 'floor: GROUP BY min/max/count/sum',
 $q$SELECT customer_id, min(ts), max(ts), count(*), sum(amount) FROM bench_tx GROUP BY customer_id$q$),
('b', 'clm.customer_summary GROUP BY customer',
 $q$SELECT customer_id, clm.customer_summary(ts, amount, '2025-01-01') FROM bench_tx GROUP BY customer_id$q$),
('c', 'pure-SQL RFM: aggregates + 3 NTILE windows + CASE',
 $q$WITH c AS (
	SELECT customer_id, '2025-01-01'::date - max(ts)::date AS recency_days,
		   count(*) AS frequency, sum(amount) AS monetary
	FROM bench_tx GROUP BY customer_id),
 s AS (
	SELECT customer_id, ntile(5) OVER (ORDER BY recency_days DESC) AS r,
		   ntile(5) OVER (ORDER BY frequency) AS f,
		   ntile(5) OVER (ORDER BY monetary) AS m
	FROM c)
 SELECT customer_id, r, f, m, r::text || f::text || m::text AS cell,
	CASE
	 WHEN r = 5 AND (f + m + 1) / 2 = 1 THEN 'New'
	 WHEN r = 4 AND (f + m + 1) / 2 = 1 THEN 'Promising'
	 WHEN r >= 4 AND (f + m + 1) / 2 IN (2, 3) THEN 'Potential Loyalist'
	 WHEN (r = 5 AND (f + m + 1) / 2 >= 4) OR (r = 4 AND (f + m + 1) / 2 = 5) THEN 'Champions'
	 WHEN (r = 4 AND (f + m + 1) / 2 = 4) OR (r = 3 AND (f + m + 1) / 2 >= 4) THEN 'Loyal'
	 WHEN r = 3 AND (f + m + 1) / 2 = 3 THEN 'Need Attention'
	 WHEN r = 3 THEN 'About to Sleep'
	 WHEN r = 2 AND (f + m + 1) / 2 <= 2 THEN 'Hibernating'
	 WHEN (r = 2 AND (f + m + 1) / 2 = 5) OR (r = 1 AND (f + m + 1) / 2 >= 4) THEN 'Cannot Lose Them'
	 WHEN (f + m + 1) / 2 >= 3 THEN 'At Risk'
	 ELSE 'Lost'
	END AS segment
 FROM s$q$),
('d', 'clm RFM: same aggregates + clm.rfm_score() OVER ()',
 $q$SELECT customer_id, clm.rfm_score('2025-01-01'::date - max(ts)::date, count(*), sum(amount)) OVER ()
	FROM bench_tx GROUP BY customer_id$q$),
('e', 'clm RFM from clm.customer_summary',
 $q$SELECT customer_id, clm.rfm_score((s).days_since_last, (s).orders, (s).total_amount) OVER ()
	FROM (SELECT customer_id, clm.customer_summary(ts, amount, '2025-01-01') AS s
		  FROM bench_tx GROUP BY customer_id) q$q$);

-- sanity: the pure-SQL and clm RFM agree on the segments except where
-- NTILE splits tied values (frequency ties are common: it puts tied
-- customers in different buckets arbitrarily, clm gives them the same score)
SELECT format('CREATE TEMP VIEW pure_rfm AS %s', q) FROM queries WHERE id = 'c' \gexec
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE c.segment IS DISTINCT FROM (d.s).segment) AS segment_differs_by_ties
FROM pure_rfm c
JOIN (SELECT customer_id, clm.rfm_score('2025-01-01'::date - max(ts)::date, count(*), sum(amount)) OVER () AS s
	  FROM bench_tx GROUP BY customer_id) d USING (customer_id);

-- warm-up, then :runs rounds, the queries interleaved in each round
SELECT pg_temp.exec_ms(q) IS NOT NULL AS warmed FROM queries ORDER BY id;
CREATE TEMP TABLE timings AS
SELECT r, id, pg_temp.exec_ms(q) AS ms
FROM generate_series(1, :runs) r CROSS JOIN queries ORDER BY r, id;

\echo
\echo 'Median execution time over' :runs 'runs,' :rows 'transactions,' :customers 'customers'
WITH med AS (
	SELECT id, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM timings GROUP BY id)
SELECT q.id, q.what, round(m.ms::numeric, 1) AS median_ms,
	   round((m.ms / (SELECT ms FROM med WHERE id = 'a'))::numeric, 2) AS vs_floor,
	   CASE WHEN q.id IN ('d', 'e') THEN round((m.ms / (SELECT ms FROM med WHERE id = 'c'))::numeric, 2) END AS vs_pure_sql
FROM med m JOIN queries q USING (id) ORDER BY q.id;
