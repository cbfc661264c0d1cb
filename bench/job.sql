-- bench/job.sql: the cost of a job's runs against the GROUP BY floor over
-- the same transactions, in time and in WAL written.  Run by bench/job.sh.
--
--   first       the first run: fits the models, classifies and inserts everyone
--   idle        a run right after, with nothing changed
--   steady      1% of the customers bought since the last run (change capture)
--   next day    a day later, nothing bought: only the customers whose review
--               time (a stage, R-score or risk threshold crossing) has come
--   full        a full refresh: refit, new breakpoints, everyone rescored;
--               only changed rows written
\ir lib.sql
SET work_mem = '256MB';
DROP TABLE IF EXISTS bench_tx, sim_sum, sim_tx;
-- customers who buy at their own rate and then stop, drawn from the BG/NBD
-- process (test/btyd/simulate.py): times are weeks since each customer's
-- first purchase, observed for T weeks up to now
CREATE TABLE sim_sum (id bigint, x float8, t_x float8, "T" float8, m float8);
CREATE TABLE sim_tx (id bigint, time float8, amount float8, repeat int);
COPY sim_sum FROM :'sumfile' WITH (FORMAT csv, HEADER true);
COPY sim_tx FROM :'txfile' WITH (FORMAT csv, HEADER true);
CREATE TABLE bench_tx AS
SELECT t.id AS customer_id, now() - (s."T" - t.time) * interval '7 days' AS ts, t.amount
FROM sim_tx t JOIN sim_sum s USING (id);
DROP TABLE sim_sum, sim_tx;
CREATE INDEX ON bench_tx (customer_id);
-- the index change capture wants: a run reads the rows added since its
-- watermark by time
CREATE INDEX ON bench_tx (ts);
SELECT count(*) AS rows, count(DISTINCT customer_id) AS customers FROM bench_tx \gset
VACUUM ANALYZE bench_tx;
-- the load wrote about 1.5 GB: checkpoint it now, not during the floor or
-- the first run
CHECKPOINT;
-- (enabled: a disabled job's changes are not captured; no worker runs it here,
-- clm.worker_enabled is off)
SELECT clm.create_job('bench', 'bench_tx', schedule => '1 day', time_zone => 'UTC',
					  full_refresh_every => '7 days') AS job_id \gset

-- the floor, 3 times before the runs and 3 times after them (the ratios
-- are to the median of the six: on a shared machine the same query moved
-- by a third within minutes)
CREATE TEMP TABLE floor_ms AS
SELECT 'before' AS phase,
	   pg_temp.exec_ms('SELECT customer_id, min(ts), max(ts), count(*), sum(amount) FROM bench_tx GROUP BY customer_id') AS ms
FROM generate_series(1, 3);

-- one measured run: wall time and WAL bytes of the whole transaction
-- (the run, its history, alerts and job_runs rows)
CREATE TEMP TABLE run_ms (run int, label text, ms float8, wal_bytes numeric, changed bigint,
						  status text, customers bigint, scored bigint, written bigint, note text);
CREATE FUNCTION pg_temp.measured(n int, label text, as_of timestamptz, full_refresh boolean, changed bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	w0 pg_lsn := pg_current_wal_insert_lsn();
	r clm.job_runs;
BEGIN
	r := clm.run_job('bench', as_of, full_refresh);
	INSERT INTO run_ms VALUES (n, label, extract(epoch FROM clock_timestamp() - t0) * 1000,
							   pg_wal_lsn_diff(pg_current_wal_insert_lsn(), w0), changed,
							   r.status, r.customers, r.scored, r.written, r.note);
END $$;
-- settle: wait until no autovacuum worker has run for 3 s (at most 5
-- minutes).  The server vacuums a job's tables after the first run's
-- million inserts and after the refreshes' updates (autovacuum_naptime is
-- 1 s here, so it starts at once); a run measured while a vacuum of the
-- same tables shared the 2 cores took up to half as long again.  The
-- runs themselves never wait for it, and nothing here analyzes by hand.
CREATE FUNCTION pg_temp.settle() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	quiet_since timestamptz := clock_timestamp();
	deadline timestamptz := clock_timestamp() + interval '5 minutes';
BEGIN
	PERFORM pg_sleep(1.5);		-- a naptime, for a worker to start
	WHILE clock_timestamp() < deadline LOOP
		PERFORM pg_stat_clear_snapshot();
		IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker') THEN
			quiet_since := clock_timestamp();
		ELSIF clock_timestamp() - quiet_since > interval '3 seconds' THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.2);
	END LOOP;
END $$;
\timing off
SELECT now() AS t \gset
CHECKPOINT;
SELECT pg_temp.measured(1, 'first', :'t', false, NULL);
-- (no manual ANALYZE: the run analyzes what it bulk-wrote)
SELECT pg_temp.settle();
CHECKPOINT;
SELECT pg_temp.measured(2, 'idle', :'t'::timestamptz + interval '1 second', false, 0);
SELECT pg_temp.settle();
CHECKPOINT;
-- 1% of the customers buy once more, a minute before the next run
INSERT INTO bench_tx
SELECT customer_id, :'t'::timestamptz + interval '59 seconds', 25
FROM (SELECT DISTINCT customer_id FROM bench_tx) c WHERE customer_id % 100 = 7;
SELECT pg_temp.measured(3, 'steady (1% bought)', :'t'::timestamptz + interval '1 minute', false,
						(SELECT count(DISTINCT customer_id) FROM bench_tx WHERE customer_id % 100 = 7));
SELECT pg_temp.settle();
CHECKPOINT;
SELECT pg_temp.measured(4, 'next day', :'t'::timestamptz + interval '1 day', false, 0);
SELECT pg_temp.settle();
CHECKPOINT;
SELECT pg_temp.measured(5, 'full refresh', :'t'::timestamptz + interval '1 day 1 minute', true, NULL);
SELECT pg_temp.settle();
CHECKPOINT;
-- the steady run again (another 1%) with the full-page images of the WAL
-- compressed: most of a steady run's WAL is the first change of each page
-- after a checkpoint
SET wal_compression = 'lz4';
INSERT INTO bench_tx
SELECT customer_id, :'t'::timestamptz + interval '1 day 2 minutes', 25
FROM (SELECT DISTINCT customer_id FROM bench_tx) c WHERE customer_id % 100 = 8;
SELECT pg_temp.measured(6, 'steady, wal_compression = lz4', :'t'::timestamptz + interval '1 day 3 minutes', false,
						(SELECT count(DISTINCT customer_id) FROM bench_tx WHERE customer_id % 100 = 8));
RESET wal_compression;
SELECT pg_temp.settle();
CHECKPOINT;
-- the daily refresh of a job whose models had converged the day before:
-- what every day costs (the first refresh above may rewrite everyone when
-- the first run's spend fit had not converged and CLV appears)
SELECT pg_temp.measured(7, 'full refresh, a day later', :'t'::timestamptz + interval '2 days 1 minute', true, NULL);

-- the README's one-query path over the same data, as of the full
-- refresh's time (median of 3; EXPLAIN ANALYZE computes every column)
SELECT pg_temp.settle();
SELECT (:'t'::timestamptz + interval '1 day 1 minute')::text AS q_as_of \gset
CREATE TEMP TABLE one_query_ms AS
SELECT pg_temp.exec_ms(format($q$
WITH s AS (
    SELECT customer_id,
           clm.customer_summary(ts, amount, %1$L, 'week') AS s,
           clm.activity_trend(ts, amount, %1$L, '90 days') AS act
    FROM bench_tx WHERE ts <= %1$L GROUP BY customer_id),
ctx AS (
    SELECT clm.scoring(clm.mbgnbd_fit(d), clm.gamma_gamma_fit(d)) AS ctx
    FROM (SELECT clm.fit_data((s).frequency, (s).recency, (s).tenure, (s).repeat_avg_amount) AS d
          FROM s WHERE (s).tenure > 0) f),
v AS (
    SELECT s.*, v.* FROM s, ctx, LATERAL clm.score_value(s.s, ctx.ctx) v),
b AS (
    SELECT clm.breakpoints_agg((s).days_since_last, (s).orders, (s).total_amount, clv, NULL) AS b FROM v)
SELECT v.customer_id, (v.s).orders, (v.s).total_amount, (v.s).days_since_last,
       v.p_alive, v.clv AS clv_12m, sc.*
FROM v, ctx, b, LATERAL clm.score(v.s, v.act, v.p_alive, v.clv, ctx.ctx, b.b, %1$L) sc
$q$, :'q_as_of')) AS ms
FROM generate_series(1, 3);

INSERT INTO floor_ms
SELECT 'after', pg_temp.exec_ms('SELECT customer_id, min(ts), max(ts), count(*), sum(amount) FROM bench_tx GROUP BY customer_id')
FROM generate_series(1, 3);

\echo
\echo 'Job runs,' :rows 'transactions,' :customers 'customers (simulated BG/NBD shoppers)'
SELECT f.phase, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.ms)::numeric, 0) AS floor_median_ms,
	   round(min(f.ms)::numeric, 0) AS floor_min_ms, round(max(f.ms)::numeric, 0) AS floor_max_ms
FROM floor_ms f GROUP BY f.phase ORDER BY f.phase DESC;
SELECT r.run, r.label, r.status, r.scored, r.written, round(r.ms::numeric, 0) AS run_ms,
	   round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM floor_ms)::numeric, 0) AS floor_ms,
	   round((r.ms / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM floor_ms))::numeric, 3) AS vs_floor,
	   pg_size_pretty(r.wal_bytes) AS wal,
	   CASE WHEN r.changed > 0 THEN pg_size_pretty(round(r.wal_bytes / r.changed)) END AS wal_per_changed,
	   CASE WHEN r.changed > 0 THEN round((r.ms / r.changed * 1000)::numeric, 1) END AS us_per_changed,
	   round(r.wal_bytes / (SELECT f.wal_bytes FROM run_ms f WHERE f.run = 1), 3) AS wal_vs_first
FROM run_ms r ORDER BY r.run;
-- what a run said (a fit that did not converge, and what scored instead)
SELECT r.run, r.note FROM run_ms r WHERE r.note IS NOT NULL ORDER BY r.run;
SELECT round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM one_query_ms)::numeric, 0) AS one_query_ms,
	   round(((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM one_query_ms)
			  / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM floor_ms))::numeric, 2) AS one_query_vs_floor;
SELECT clm.drop_job('bench');
