-- bench/kpi.sql: clm.kpi and clm.cohorts against plain GROUP BYs over the
-- same transactions.  Run by bench/kpi.sh with -v rows=... -v customers=...
\ir lib.sql
SET work_mem = '256MB';
DROP TABLE IF EXISTS bench_tx;
-- uniform purchases: each of :customers customers buys about rows/customers
-- times at random moments of two years
CREATE TABLE bench_tx AS
SELECT (random() * :customers)::int AS customer_id,
	   timestamptz '2023-01-01' + random() * interval '730 days' AS ts,
	   round((random() * 100)::numeric, 2)::float8 AS amount
FROM generate_series(1, :rows);
VACUUM ANALYZE bench_tx;

CREATE TEMP TABLE timings (query text, ms float8);
INSERT INTO timings
SELECT 'floor: GROUP BY customer', pg_temp.exec_ms('SELECT customer_id, min(ts), max(ts), count(*), sum(amount) FROM bench_tx GROUP BY customer_id')
FROM generate_series(1, 3);
INSERT INTO timings
SELECT 'floor: GROUP BY customer, month', pg_temp.exec_ms('SELECT customer_id, date_trunc(''month'', ts), count(*), sum(amount) FROM bench_tx GROUP BY 1, 2')
FROM generate_series(1, 3);
INSERT INTO timings
SELECT q.query, pg_temp.exec_ms(q.sql)
FROM generate_series(1, 3),
	 (VALUES ('clm.purchase_histories', 'SELECT * FROM clm.purchase_histories(''bench_tx'', amount_column => ''amount'')'),
			 ('clm.kpi monthly', 'SELECT * FROM clm.kpi(''bench_tx'')'),
			 ('clm.cohorts monthly', 'SELECT * FROM clm.cohorts(''bench_tx'')')) q(query, sql);

\echo
\echo 'KPIs and cohorts,' :rows 'transactions,' :customers 'customers (median of 3 runs)'
WITH m AS (SELECT query, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM timings GROUP BY query)
SELECT m.query, round(m.ms::numeric, 0) AS ms,
	   round((m.ms / (SELECT ms FROM m WHERE query = 'floor: GROUP BY customer'))::numeric, 2) AS vs_customer_floor,
	   round((m.ms / (SELECT ms FROM m WHERE query = 'floor: GROUP BY customer, month'))::numeric, 2) AS vs_customer_month_floor
FROM m ORDER BY m.ms;
