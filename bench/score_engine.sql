-- bench/score_engine.sql: the scoring step of a full refresh at n simulated
-- customers, the SQL definition clm.score had (test/data/score_reference.sql)
-- against clm.score in C, and clm.breakpoints over four array_agg's against
-- clm.breakpoints_agg; median of :runs runs.  Run from the source directory:
--   psql -v file=sim.csv -v runs=3 -f bench/score_engine.sql
-- (sim.csv from test/btyd/simulate.py --n 1000000 --seed 7)
\ir lib.sql
\set ECHO none
\i test/data/score_reference.sql
DROP TABLE IF EXISTS se_sim, se_v;
CREATE TABLE se_sim (id int, x float8, t_x float8, "T" float8, m float8);
COPY se_sim FROM :'file' WITH (FORMAT csv, HEADER true);
-- simulated weekly summaries as clm.summary values, as of 2024-01-01
CREATE TEMP TABLE se_ctx AS
SELECT clm.scoring(clm.bgnbd_fit(x, t_x, "T"), clm.gamma_gamma_fit(x, m), '{}', '{}') AS ctx FROM se_sim;
CREATE TABLE se_v AS
SELECT s.id, s.s, ROW(s.id % 3, s.id % 4, 10.0, 12.0, (s.id % 3) / 4.0, 0.5, 1.0)::clm.activity AS act, v.p_alive, v.clv
FROM (SELECT id, ROW(f, f + t_x * interval '7 days', (x + 1)::bigint, x::int, t_x, "T",
					 floor(("T" - t_x) * 7)::int, m * x + 20, (m * x + 20) / (x + 1), m,
					 CASE WHEN x > 0 THEN t_x * 7 / x END)::clm.summary AS s
	  FROM (SELECT *, timestamptz '2024-01-01 00:00+00' - "T" * interval '7 days' AS f FROM se_sim) q) s,
	 se_ctx, LATERAL clm.score_value(s.s, se_ctx.ctx) v;
VACUUM ANALYZE se_v;
CREATE TEMP TABLE se_b AS
SELECT clm.breakpoints(array_agg((s).days_since_last), array_agg((s).orders), array_agg((s).total_amount),
					   array_agg(clv), '{}') AS b FROM se_v;
\set ECHO all
SELECT count(*) AS customers FROM se_v;

CREATE TEMP TABLE queries (id text, q text);
INSERT INTO queries VALUES
('floor', $q$SELECT count(*), sum(p_alive), sum(clv) FROM se_v$q$),
('score_sql', $q$SELECT count(sc.r) + count(sc.segment) + count(sc.abc) + count(sc.churn_risk) + count(sc.health)
	+ count(sc.stage) + count(sc.high_value_at_risk) + count(sc.next_review)
	FROM se_v v, se_ctx c, se_b b,
	LATERAL pg_temp.score_reference(v.s, v.act, v.p_alive, v.clv, c.ctx, b.b, '2024-01-01 00:00+00') sc$q$),
('score_c', $q$SELECT count(sc.r) + count(sc.segment) + count(sc.abc) + count(sc.churn_risk) + count(sc.health)
	+ count(sc.stage) + count(sc.high_value_at_risk) + count(sc.next_review)
	FROM se_v v, se_ctx c, se_b b,
	LATERAL clm.score(v.s, v.act, v.p_alive, v.clv, c.ctx, b.b, '2024-01-01 00:00+00') sc$q$),
('bp_arrays', $q$SELECT clm.breakpoints(array_agg((s).days_since_last), array_agg((s).orders),
	array_agg((s).total_amount), array_agg(clv), '{}') FROM se_v$q$),
('bp_agg', $q$SELECT clm.breakpoints_agg((s).days_since_last, (s).orders, (s).total_amount, clv, '{}') FROM se_v$q$);

SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE timings (r int, id text, ms float8);
INSERT INTO timings SELECT r, id, pg_temp.exec_ms(q) FROM generate_series(1, :runs) r CROSS JOIN queries;
SELECT id, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
	   array_agg(round(ms::numeric) ORDER BY r) AS runs_ms
FROM timings GROUP BY id ORDER BY id;
-- the two ways agree on these customers
SELECT count(*) FILTER (WHERE (c.*)::text IS DISTINCT FROM (q.*)::text) AS differing
FROM (SELECT * FROM se_v WHERE id % 100 = 0) v, se_ctx x, se_b b,
	 LATERAL clm.score(v.s, v.act, v.p_alive, v.clv, x.ctx, b.b, '2024-01-01 00:00+00') c,
	 LATERAL pg_temp.score_reference(v.s, v.act, v.p_alive, v.clv, x.ctx, b.b, '2024-01-01 00:00+00') q;
SELECT (SELECT b FROM se_b) = (SELECT clm.breakpoints_agg((s).days_since_last, (s).orders, (s).total_amount, clv, '{}') FROM se_v) AS same_breakpoints;
DROP TABLE se_sim, se_v;
