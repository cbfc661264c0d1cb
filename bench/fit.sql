-- bench/fit.sql: model fits and scoring inside PostgreSQL.  Run by
-- bench/fit.sh with -v file=... -v n=... -v runs=...
\ir lib.sql
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS sim;
CREATE TABLE sim (id int, x float8, t_x float8, "T" float8, m float8);
COPY sim FROM :'file' WITH (FORMAT csv, HEADER true);
VACUUM ANALYZE sim;

CREATE TEMP TABLE models AS
SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.gamma_gamma_fit(x, m) AS gg FROM sim;
SELECT round((bg).r::numeric, 4) AS r, round((bg).alpha::numeric, 4) AS alpha,
	   round((bg).a::numeric, 4) AS a, round((bg).b::numeric, 4) AS b, (bg).converged,
	   round((gg).p::numeric, 3) AS p, round((gg).q::numeric, 3) AS q, round((gg).v::numeric, 3) AS v
FROM models;

CREATE TEMP TABLE queries (id text, what text, q text);
INSERT INTO queries VALUES
('floor', 'count/sum/max over the customers (scan floor)',
 $q$SELECT count(*), sum(x), max(t_x), sum("T") FROM sim$q$),
('bgnbd', 'clm.bgnbd_fit over all customers',
 $q$SELECT clm.bgnbd_fit(x, t_x, "T") FROM sim$q$),
('mbgnbd', 'clm.mbgnbd_fit over all customers',
 $q$SELECT clm.mbgnbd_fit(x, t_x, "T") FROM sim$q$),
('gg', 'clm.gamma_gamma_fit over all customers',
 $q$SELECT clm.gamma_gamma_fit(x, m) FROM sim$q$),
('score', 'p_alive + 12-month CLV for every customer',
 $q$SELECT id, clm.p_alive(bg, x, t_x, "T"), clm.clv_estimate(bg, gg, x, t_x, "T", m, 12, 0.01) FROM sim, models$q$);

CREATE TEMP TABLE timings AS
SELECT r, id, pg_temp.exec_ms(q) AS ms FROM generate_series(1, :runs) r CROSS JOIN queries ORDER BY r, id;

\echo
\echo 'clm, median over' :runs 'runs,' :n 'customers'
WITH med AS (SELECT id, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM timings GROUP BY id)
SELECT q.id, q.what, round(m.ms::numeric, 1) AS median_ms,
	   CASE WHEN q.id = 'score' THEN round((m.ms / 1000.0 * 1e6 / :n)::numeric, 2) END AS seconds_per_million
FROM med m JOIN queries q USING (id) ORDER BY m.ms;
\o :outfile
SELECT json_build_object('n', :n, 'bgnbd_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))
FROM timings WHERE id = 'bgnbd';
\o
