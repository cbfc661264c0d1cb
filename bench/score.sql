-- bench/score.sql: scoring every customer (P(alive), 12-month CLV) against
-- a plain sum() scan of the same table, serial and with 2 parallel
-- workers.  Run by bench/score.sh with -v file=... -v n=... -v runs=...
\ir lib.sql
DROP TABLE IF EXISTS sim;
CREATE TABLE sim (id int, x float8, t_x float8, "T" float8, m float8);
COPY sim FROM :'file' WITH (FORMAT csv, HEADER true);
VACUUM ANALYZE sim;
CREATE TEMP TABLE models AS
SELECT clm.in_unit(clm.bgnbd_fit(x, t_x, "T"), 'week') AS bg, clm.gamma_gamma_fit(x, m) AS gg FROM sim;
-- the models as constants in the queries (as a job's scoring context is)
SELECT format('%L::clm.bgnbd_model', bg) AS bg, format('%L::clm.gamma_gamma_model', gg) AS gg FROM models \gset

CREATE TEMP TABLE queries (id text, what text, q text);
INSERT INTO queries VALUES
('sum', 'sum() scan floor', $q$SELECT sum(x), sum(t_x), sum("T"), sum(m) FROM sim$q$),
('p_alive', 'sum of P(alive)', format($q$SELECT sum(clm.p_alive(%s, x, t_x, "T")) FROM sim$q$, :'bg')),
('clv12', 'sum of 12-month CLV (1% a month)',
 format($q$SELECT sum(clm.clv_estimate(%s, %s, x, t_x, "T", CASE WHEN x > 0 THEN m ELSE 0 END, 12, 0.01)) FROM sim$q$, :'bg', :'gg'));

CREATE TEMP TABLE timings (workers int, r int, id text, ms float8);
SET max_parallel_workers_per_gather = 0;
INSERT INTO timings SELECT 0, r, id, pg_temp.exec_ms(q) FROM generate_series(1, :runs) r CROSS JOIN queries;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
INSERT INTO timings SELECT 2, r, id, pg_temp.exec_ms(q) FROM generate_series(1, :runs) r CROSS JOIN queries;

\echo
\echo 'clm scoring, median over' :runs 'runs,' :n 'customers'
WITH med AS (SELECT workers, id, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM timings GROUP BY 1, 2)
SELECT m.workers, q.id, q.what, round(m.ms::numeric, 1) AS median_ms,
	   round((m.ms / f.ms)::numeric, 2) AS vs_sum_scan
FROM med m JOIN queries q USING (id) JOIN med f ON f.workers = m.workers AND f.id = 'sum'
ORDER BY m.workers, m.ms;
