-- kpi: period KPIs, job KPIs, cohorts and model matrices on small cases
-- checked by hand (the numbers are worked out in the comments)
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
\i test/data/regress_cdnow.sql

-- four customers, 2024 (a leap year), 12:00 UTC (the same day in Tokyo):
--   A: 01-10, 02-05, 03-20     B: 01-15
--   C: 02-10, 02-20, 05-01     D: 03-31 twice (two orders on one day)
CREATE TABLE kt (cust text, ts timestamptz, amount float8);
INSERT INTO kt VALUES
	('A', '2024-01-10 12:00', 10), ('A', '2024-02-05 12:00', 20), ('A', '2024-03-20 12:00', 30),
	('B', '2024-01-15 12:00', 5),
	('C', '2024-02-10 12:00', 7), ('C', '2024-02-20 12:00', 8), ('C', '2024-05-01 12:00', 9),
	('D', '2024-03-31 12:00', 1), ('D', '2024-03-31 12:00', 2);

-- monthly, active = a purchase in the 31 days before.  Active at
--   02-01: A B | 03-01 (from 01-30): A C | 04-01: A D | 05-01 (from 03-31): D | 06-01: C
-- Jan: new A B, buyers A B, nobody with 2 orders
-- Feb: B lost, C new; A and C buy with 2 orders each: retention (2-1)/2, churn 1/2
-- Mar: C lost, D new; B lapsed at the start; A (3 orders), D (2) repeat
-- Apr: A lost; B and C lapsed at the start
-- May: D lost, C reactivated (02-20 is before 05-01 - 31 days): win-back 1/3
SELECT period_start, period_end, customers_start AS st, new, active_end AS en, lost, reactivated AS re,
	   lapsed_start AS lapsed, buyers, repeat_buyers AS rep,
	   round(retention_rate::numeric, 4) AS retention, round(churn_rate::numeric, 4) AS churn,
	   round(repeat_purchase_rate::numeric, 4) AS repeat, round(winback_rate::numeric, 4) AS winback
FROM clm.kpi('kt', 'cust', 'ts', 'month', 31);

-- the identity behind retention: active_end = customers_start - lost + new + reactivated
SELECT count(*) AS periods,
	   count(*) FILTER (WHERE active_end = customers_start - lost + new + reactivated) AS balanced
FROM clm.kpi('cdnow_tx', ts_column => 'purchase_date', period => 'week', active_days => 28);
SELECT count(*) AS periods,
	   count(*) FILTER (WHERE active_end = customers_start - lost + new + reactivated) AS balanced,
	   sum(new) AS new
FROM clm.kpi('cdnow_tx', ts_column => 'purchase_date', period => 'month', active_days => 90);

-- rolling 60-day windows ending at each month start, active_days 60; the
-- window [02-01, 04-01): active at 02-01 (from 12-03) A B, at 04-01 (from
-- 02-01) A C D; new C D; B lost; A C D buy, all with 2+ orders
SELECT period_start, period_end, customers_start AS st, new, active_end AS en, lost, reactivated AS re,
	   lapsed_start AS lapsed, buyers, repeat_buyers AS rep
FROM clm.kpi('kt', 'cust', 'ts', 'month', 60, 60)
WHERE period_end = '2024-04-01';

-- time zone: 23:30 UTC on 01-31 is 02-01 in Tokyo, so E is new in January
-- in UTC and in February in Tokyo; the session's zone is the default
INSERT INTO kt VALUES ('E', '2024-01-31 23:30', 4);
SELECT period_start, new FROM clm.kpi('kt', 'cust', 'ts', 'month', 31, time_zone => 'UTC') WHERE period_start < '2024-03-01';
SELECT period_start, new FROM clm.kpi('kt', 'cust', 'ts', 'month', 31, time_zone => 'Asia/Tokyo') WHERE period_start < '2024-03-01';
SET TimeZone = 'Asia/Tokyo';
SELECT period_start, new FROM clm.kpi('kt', 'cust', 'ts', 'month', 31) WHERE period_start < '2024-03-01';
SET TimeZone = 'UTC';
DELETE FROM kt WHERE cust = 'E';

-- a date column is a local day already: the time zone does not move it
CREATE TABLE kd AS SELECT cust, (ts AT TIME ZONE 'UTC')::date AS day FROM kt;
SELECT a.period_start, a.new, a.lost, b.new AS new_kiritimati, b.lost AS lost_kiritimati
FROM clm.kpi('kd', 'cust', 'day', 'month', 31, time_zone => 'UTC') a
JOIN clm.kpi('kd', 'cust', 'day', 'month', 31, time_zone => 'Pacific/Kiritimati') b USING (period_start);
DROP TABLE kd;

-- weeks start on Monday; from_day / to_day pick the periods
SELECT period_start, period_end, customers_start, new, active_end, buyers
FROM clm.kpi('kt', 'cust', 'ts', 'week', 7, from_day => '2024-01-08', to_day => '2024-01-21');

-- bad arguments
SELECT * FROM clm.kpi('kt', 'cust', 'ts', 'quarter', 90);
SELECT * FROM clm.kpi('kt', 'cust', 'ts', 'day', 90);
SELECT * FROM clm.kpi('kt', 'cust', 'ts', 'month', 90, 0);
SELECT * FROM clm.kpi('kt', 'cust', 'ts', NULL);
SELECT * FROM clm.cohorts('kt', 'cust', 'ts', 'amount', NULL);
SELECT * FROM clm.cohorts('kt', 'cust', 'ts', 'amount', 'year');
SELECT * FROM clm.kpi('kt', 'cust', 'nope');
SELECT * FROM clm.kpi('kt', 'cust', 'amount');
SELECT * FROM clm.kpi('kt', 'cust', 'ts', time_zone => 'Mars/Olympus');

-- job KPIs from a stage history written by hand (job time zone UTC):
--   x: new 01-05, active 02-10, at_risk 03-05, churned 03-20, reactivated 05-02
--   y: new 01-20, churned 02-25        z: first seen churned 02-03 (not new)
--   w: prospect 01-01, new 03-10
-- Jan: x y new | Feb: y lost, z churned | Mar: x lost (via at_risk), w new
-- Apr: nothing | May: x won back: 1 of the 3 churned at the start
INSERT INTO clm.jobs (name, source, customer_column, ts_column, amount_column, schedule, time_zone, enabled)
VALUES ('hand', 'kt', 'cust', 'ts', 'amount', '1 day', 'UTC', false);
-- (a job made by hand gets its tables as a run would make them)
SELECT clm.create_job_tables(job_id) AS tables FROM clm.jobs WHERE name = 'hand';
SELECT (clm.job_tables('hand')).history AS hand_history \gset
INSERT INTO :hand_history (customer_id, from_stage, to_stage, changed_at, run_id)
SELECT h.c, h.f::clm.stage, h.t::clm.stage, h.at::timestamptz, 0
FROM (VALUES
	('x', NULL, 'new', '2024-01-05 10:00'), ('x', 'new', 'active', '2024-02-10'),
	('x', 'active', 'at_risk', '2024-03-05'), ('x', 'at_risk', 'churned', '2024-03-20'),
	('x', 'churned', 'reactivated', '2024-05-02'),
	('y', NULL, 'new', '2024-01-20'), ('y', 'new', 'churned', '2024-02-25'),
	('z', NULL, 'churned', '2024-02-03'),
	('w', NULL, 'prospect', '2024-01-01'), ('w', 'prospect', 'new', '2024-03-10')) h(c, f, t, at);
SELECT period_start, customers_start AS st, new, active_end AS en, lost, reactivated AS re,
	   lapsed_start AS lapsed, buyers, repeat_buyers AS rep,
	   round(retention_rate::numeric, 4) AS retention, round(churn_rate::numeric, 4) AS churn,
	   round(winback_rate::numeric, 4) AS winback
FROM clm.job_kpi('hand');
-- y classified new at 2024-01-31 15:00 UTC: January in UTC; in Tokyo it
-- is 02-01, the month y also churns in, so y is neither new nor lost there
UPDATE :hand_history SET changed_at = '2024-01-31 15:00' WHERE customer_id = 'y' AND from_stage IS NULL;
SELECT period_start, new FROM clm.job_kpi('hand') WHERE period_start < '2024-03-01';
UPDATE clm.jobs SET time_zone = 'Asia/Tokyo' WHERE name = 'hand';
SELECT period_start, new FROM clm.job_kpi('hand') WHERE period_start < '2024-03-01';
-- rolling 60-day windows: [03-02, 05-01) holds x's moves active -> at_risk
-- -> churned (lost) and w's first classification (new); y and z were
-- churned at the start
SELECT period_start, period_end, customers_start AS st, new, active_end AS en, lost, reactivated AS re,
	   lapsed_start AS lapsed
FROM clm.job_kpi('hand', 'month', 60) WHERE period_end = '2024-05-01';
SELECT * FROM clm.job_kpi('no such job');
DELETE FROM clm.jobs WHERE name = 'hand';

-- cohorts by first-purchase month: Jan = A B, Feb = C, Mar = D; data end May
-- Jan: A buys in months 1 and 2 (revenue 20, 30), last in month 2, so the
-- rolling count is 2, 1, 1, 0, 0; Feb: C back in month 3 (rolling 1 to 3)
SELECT cohort, period, period_start, cohort_size AS size, customers, round(retention::numeric, 4) AS retention,
	   rolling_customers AS rolling, round(rolling_retention::numeric, 4) AS rolling_retention,
	   orders, revenue, revenue_per_customer AS rev_pc, cumulative_revenue_per_customer AS cum_rev_pc
FROM clm.cohorts('kt', 'cust', 'ts', 'amount');
-- without amounts: orders, no revenue
SELECT cohort, period, orders, revenue, revenue_per_customer
FROM clm.cohorts('kt', 'cust', 'ts', NULL) WHERE cohort = '2024-02-01';
-- to_day cuts the data; weeks: A's week of 01-08 has A only
SELECT cohort, period, cohort_size, customers, rolling_customers
FROM clm.cohorts('kt', 'cust', 'ts', 'amount', 'month', to_day => '2024-02-29');
SELECT cohort, count(*) AS periods, max(period) AS last, min(cohort_size) AS size, sum(customers) AS active
FROM clm.cohorts('kt', 'cust', 'ts', 'amount', 'week') GROUP BY 1 ORDER BY 1;
-- the README pivot: one row per cohort, retention in % per month
SELECT cohort, max(cohort_size) AS size,
	   round(100 * max(retention) FILTER (WHERE period = 0)) AS m0,
	   round(100 * max(retention) FILTER (WHERE period = 1)) AS m1,
	   round(100 * max(retention) FILTER (WHERE period = 2)) AS m2,
	   round(100 * max(retention) FILTER (WHERE period = 3)) AS m3
FROM clm.cohorts('cdnow_tx', ts_column => 'purchase_date') GROUP BY cohort ORDER BY cohort;
-- cohort sizes add up to the customers, revenue to the total
SELECT sum(cohort_size) FILTER (WHERE period = 0) AS customers, round(sum(revenue)::numeric, 2) AS revenue
FROM clm.cohorts('cdnow_tx', ts_column => 'purchase_date');

-- period helpers
SELECT clm.period_index('2023-12-31', '2024-01-01', 'week') AS w,
	   clm.period_index('2023-11-15', '2024-02-01', 'month') AS m,
	   clm.period_index('2023-12-31', '2024-01-01', 'quarter') AS q,
	   clm.period_trunc('2024-02-29', 'quarter') AS q_start, clm.period_index('2024-01-01', '2024-02-01', 'day') AS other;

-- the frequency/recency matrix of the published CDNOW BG/NBD fit (weeks):
-- P(alive | x = 2, t_x = 26, T = 39) = 1 / (1 + a / (b + x - 1)
-- ((alpha + T) / (alpha + t_x))^(r + x)) = 1 / (1 + 0.23147 * 2.22160) = 0.6604
SELECT count(*) AS cells, count(*) FILTER (WHERE frequency = 0) AS zero_rows,
	   min(p_alive) FILTER (WHERE frequency = 0) = 1 AS new_alive,
	   round(max(p_alive) FILTER (WHERE frequency = 2 AND recency = 26)::numeric, 4) AS p_2_26
FROM clm.frequency_recency_matrix(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, 39, 10, 1, 13);
-- P(alive) grows with recency and expected purchases with frequency at recency = tenure
SELECT bool_and(p_alive >= prev_p) AS p_alive_rises_with_recency
FROM (SELECT p_alive, lag(p_alive) OVER (PARTITION BY frequency ORDER BY recency) AS prev_p
	  FROM clm.frequency_recency_matrix(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, 39, 10)) x
WHERE prev_p IS NOT NULL;
SELECT frequency, recency, round(expected_purchases::numeric, 4) AS e39, round(p_alive::numeric, 4) AS p_alive
FROM clm.frequency_recency_matrix(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.mbgnbd_model, 39, 2, 39, 39);
SELECT count(*) FROM clm.frequency_recency_matrix(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, 39, 2000);
SELECT count(*) FROM clm.frequency_recency_matrix(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, 39, 5, 1, 0.001);

-- clm.kpi (the C aggregate clm.kpi_series over each customer's days) equals
-- the first, independent version of clm.kpi (window functions over
-- purchase days, test/data/kpi_reference.sql) on random purchases, with
-- same-day repeats, for calendar and rolling periods in several zones
\i test/data/kpi_reference.sql
SELECT setseed(0.42);
CREATE TABLE kpi_rand AS
SELECT (random() * 250)::int AS customer_id, timestamptz '2023-03-01' + random() ^ 2 * interval '500 days' AS ts
FROM generate_series(1, 1500);
INSERT INTO kpi_rand SELECT customer_id, ts FROM kpi_rand WHERE random() < 0.05;
-- (the arguments go in as literals: constants the planner folds)
CREATE FUNCTION kpi_differences(period text, a integer, w integer, tz text, from_day date DEFAULT NULL, to_day date DEFAULT NULL,
	OUT kpi_only bigint, OUT reference_only bigint, OUT periods bigint) LANGUAGE plpgsql AS $$
DECLARE
	args text := format('%L, period => %L, active_days => %s, window_days => %s, time_zone => %L, from_day => %L, to_day => %L',
						 'kpi_rand', period, a, coalesce(w::text, 'NULL'), tz, from_day, to_day);
BEGIN
	EXECUTE format('WITH k AS MATERIALIZED (SELECT * FROM clm.kpi(%1$s)), r AS MATERIALIZED (SELECT * FROM kpi_reference(%1$s))
					SELECT (SELECT count(*) FROM (TABLE k EXCEPT TABLE r) x), (SELECT count(*) FROM (TABLE r EXCEPT TABLE k) x),
						   (SELECT count(*) FROM k)', args)
		INTO kpi_only, reference_only, periods;
END $$;
SELECT p.period, p.a AS active_days, p.w AS window_days, p.tz, d.kpi_only, d.reference_only, d.periods > 5 AS periods
FROM (VALUES ('month', 90, NULL::int, 'UTC'), ('week', 7, NULL, 'UTC'), ('quarter', 92, NULL, 'Asia/Tokyo'),
			 ('month', 60, 60, 'UTC'), ('week', 30, 14, 'America/New_York'), ('quarter', 365, 365, 'UTC'),
			 ('month', 31, NULL, 'Pacific/Kiritimati')) p(period, a, w, tz),
	 LATERAL kpi_differences(p.period, p.a, p.w, p.tz) d;
-- and before and after the data (from_day, to_day): zeros, then everyone lapsed
SELECT * FROM kpi_differences('month', 90, NULL, 'UTC', '2022-01-01', '2025-06-30');
-- the series' support functions refuse days out of order
SELECT clm.kpi_series(d, 1, 'month', 90, NULL) FROM (VALUES ('{2024-01-02,2024-01-01}'::date[])) v(d);
SELECT clm.kpi_series(d, 1, 'year', 90, NULL) FROM (VALUES ('{2024-01-02}'::date[])) v(d);
-- serial and parallel (partial states serialized and combined) agree
CREATE TABLE kpi_hist AS SELECT * FROM clm.purchase_histories('kpi_rand');
ANALYZE kpi_hist;
CREATE TEMP TABLE kpi_s AS SELECT clm.kpi_series(days, orders[1], 'month', 90, NULL) AS k FROM kpi_hist;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT clm.kpi_series(days, orders[1], 'month', 90, NULL) FROM kpi_hist;
CREATE TEMP TABLE kpi_p AS SELECT clm.kpi_series(days, orders[1], 'month', 90, NULL) AS k FROM kpi_hist;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather; RESET parallel_leader_participation;
WITH s AS MATERIALIZED (SELECT (k).* FROM kpi_s), p AS MATERIALIZED (SELECT (k).* FROM kpi_p)
SELECT bool_and(clm.kpi_at(s.active, s.base, d) = clm.kpi_at(p.active, p.base, d)
				AND clm.kpi_at(s.known, s.base, d) = clm.kpi_at(p.known, p.base, d)
				AND clm.kpi_at(s.new, s.base, d) = clm.kpi_at(p.new, p.base, d)
				AND clm.kpi_at(s.buyers, s.base, d) = clm.kpi_at(p.buyers, p.base, d)
				AND clm.kpi_at(s.reactivated, s.base, d) = clm.kpi_at(p.reactivated, p.base, d)
				AND clm.kpi_at(s.repeat_buyers, s.base, d) = clm.kpi_at(p.repeat_buyers, p.base, d)
				AND clm.kpi_at(s.lost, s.base, d) = clm.kpi_at(p.lost, p.base, d)) AS same,
	   bool_and(s.first_day = p.first_day AND s.last_day = p.last_day) AS same_range
FROM s, p, generate_series(0, 730) i, LATERAL (SELECT date '2023-01-01' + i.i) x(d);
-- clm.cohorts (the C aggregate clm.cohort_series) equals its first,
-- window-function version (test/data/cohorts_reference.sql) on the same
-- purchases with amounts, some NULL (revenue to 1e-9)
\i test/data/cohorts_reference.sql
ALTER TABLE kpi_rand ADD COLUMN amount float8;
UPDATE kpi_rand SET amount = CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 100)::numeric, 2) END;
CREATE FUNCTION cohort_differences(period text, amount_column text, to_day date,
	OUT cohorts_only bigint, OUT reference_only bigint, OUT cells bigint) LANGUAGE plpgsql AS $$
DECLARE
	args text := format('%L, amount_column => %L, period => %L, time_zone => %L, to_day => %L',
						 'kpi_rand', amount_column, period, 'UTC', to_day);
	cols text := 'cohort, period, period_start, cohort_size, customers, retention, rolling_customers, rolling_retention, orders,
				  round(revenue::numeric, 9), round(revenue_per_customer::numeric, 9), round(cumulative_revenue_per_customer::numeric, 9)';
BEGIN
	EXECUTE format('WITH c AS MATERIALIZED (SELECT %2$s FROM clm.cohorts(%1$s)), r AS MATERIALIZED (SELECT %2$s FROM cohorts_reference(%1$s))
					SELECT (SELECT count(*) FROM (TABLE c EXCEPT TABLE r) x), (SELECT count(*) FROM (TABLE r EXCEPT TABLE c) x),
						   (SELECT count(*) FROM c)', args, cols)
		INTO cohorts_only, reference_only, cells;
END $$;
SELECT p.period, p.amount_column, p.to_day, d.cohorts_only, d.reference_only, d.cells > 10 AS cells
FROM (VALUES ('month', 'amount', NULL::date), ('week', 'amount', NULL), ('quarter', NULL, NULL),
			 ('month', 'amount', '2023-12-31'), ('week', NULL, '2023-06-15')) p(period, amount_column, to_day),
	 LATERAL cohort_differences(p.period, p.amount_column, p.to_day) d;
DROP TABLE kpi_rand, kpi_hist;
DROP FUNCTION kpi_differences, kpi_reference, cohort_differences, cohorts_reference;

-- clm.purchase_history, the per-customer aggregate under purchase_days,
-- kpi and cohorts: days in order whatever the row order, one element per
-- day with its orders and amount (NULL amounts count as orders; a day with
-- only NULL amounts has a NULL amount), rows without a day skipped
SELECT (h).days, (h).orders, (h).amounts
FROM (SELECT clm.purchase_history(d, a) AS h
	  FROM (VALUES ('2024-03-01'::date, 5.0::float8), ('2024-01-02', 1), (NULL, 100), ('2024-03-01', NULL),
				   ('2024-01-02', 2.5), ('2024-02-10', NULL)) v(d, a)) x;
SELECT clm.purchase_history(d, 1) IS NULL AS no_rows FROM (VALUES (NULL::date)) v(d);
SELECT clm.purchase_history('infinity'::date, 1);
-- the same history serially and from 2 parallel workers (partial states
-- serialized, deserialized and combined): all of CDNOW's transactions as one
-- group, in random order
CREATE TABLE hist_rows AS SELECT customer_id, purchase_date, amount FROM cdnow_tx ORDER BY random();
ANALYZE hist_rows;
CREATE TEMP TABLE hist_serial AS SELECT clm.purchase_history(purchase_date, amount) AS h FROM hist_rows;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT clm.purchase_history(purchase_date, amount) FROM hist_rows;
CREATE TEMP TABLE hist_parallel AS SELECT clm.purchase_history(purchase_date, amount) AS h FROM hist_rows;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather; RESET parallel_leader_participation;
-- equal days and orders; amounts equal to rounding (summed in another
-- order): CDNOW's 6919 orders fall on 545 of the 546 days from 1997-01-01 to 1998-06-30
SELECT cardinality((s.h).days) AS days, (SELECT sum(o) FROM unnest((s.h).orders) o) AS orders,
	   (s.h).days = (p.h).days AND (s.h).orders = (p.h).orders AS same_days,
	   (SELECT bool_and(abs(x - y) <= 1e-9 * greatest(abs(x), 1))
		FROM unnest((s.h).amounts, (p.h).amounts) u(x, y)) AS same_amounts
FROM hist_serial s, hist_parallel p;
DROP TABLE hist_rows;
-- and equal to a GROUP BY customer, day: 2357 customers, 6696 purchase days
SELECT count(*) AS days, count(DISTINCT customer_id) AS customers FROM clm.purchase_days('cdnow_tx', ts_column => 'purchase_date', amount_column => 'amount');
SELECT count(*) AS differing FROM (
	(SELECT customer_id, day, orders FROM clm.purchase_days('cdnow_tx', ts_column => 'purchase_date', amount_column => 'amount')
	 EXCEPT SELECT customer_id::text, purchase_date, count(*) FROM cdnow_tx GROUP BY 1, 2)
	UNION ALL
	(SELECT customer_id::text, purchase_date, count(*) FROM cdnow_tx GROUP BY 1, 2
	 EXCEPT SELECT customer_id, day, orders FROM clm.purchase_days('cdnow_tx', ts_column => 'purchase_date', amount_column => 'amount'))) x;

-- issue 20: limits are checked on the data, never make a result silently
-- empty, and do not depend on the order rows arrive in
\set VERBOSITY terse
-- purchases 110 years apart (1900 and 2010): an error, not zero rows
CREATE TABLE kpi_span (customer_id int, ts date);
INSERT INTO kpi_span VALUES (1, '1900-01-01'), (2, '2010-01-01');
SELECT count(*) FROM clm.kpi('kpi_span', period => 'quarter', active_days => 92);
-- 100 years of data work; from_day and to_day 200 years apart do not
UPDATE kpi_span SET ts = '1910-01-01' WHERE customer_id = 1;
SELECT count(*) AS quarters, min(period_start), max(period_end) FROM clm.kpi('kpi_span', period => 'quarter', active_days => 92);
SELECT count(*) FROM clm.kpi('kpi_span', period => 'quarter', active_days => 92, from_day => '1900-01-01', to_day => '2100-01-01');
SELECT count(*) FROM clm.kpi_periods('1900-01-01', '2100-01-01', 'month');
-- from_day after to_day: an error, whether or not both fall in one period
SELECT count(*) FROM clm.kpi('kpi_span', period => 'quarter', active_days => 92, from_day => '2000-01-05', to_day => '2000-01-01');
SELECT count(*) FROM clm.kpi('kpi_span', period => 'quarter', active_days => 92, from_day => '2000-05-01', to_day => '2000-01-01');
-- a from_day after the data with to_day defaulting to the last purchase day
SELECT count(*) FROM clm.kpi('kpi_span', period => 'quarter', active_days => 92, from_day => '2020-01-01');
DROP TABLE kpi_span;
-- three customers 18000 days apart: within the limit in every order (the
-- limit used to count the room the state grew by, so the order 2, 1, 3
-- failed with "more than 36600 days"); the result is the same in every order
CREATE TABLE kpi_order AS
SELECT * FROM (VALUES (1, ARRAY['1950-01-01'::date]), (2, ARRAY['1950-01-01'::date + 18000]),
					  (3, ARRAY['1950-01-01'::date + 36000])) v(c, days);
SELECT count(DISTINCT md5(s::text)) AS distinct_results, count(*) AS orders, min((s).first_day), max((s).last_day)
FROM (SELECT clm.kpi_series(days, 1, 'month', 3660, NULL ORDER BY array_position(o, c)) AS s
	  FROM kpi_order, (VALUES (ARRAY[1, 2, 3]), (ARRAY[1, 3, 2]), (ARRAY[2, 1, 3]), (ARRAY[2, 3, 1]),
							  (ARRAY[3, 1, 2]), (ARRAY[3, 2, 1])) p(o)
	  GROUP BY o) x;
-- 36601 days: an error in every order
UPDATE kpi_order SET days = ARRAY['1950-01-01'::date + 36601] WHERE c = 3;
SELECT clm.kpi_series(days, 1, 'month', 90, NULL ORDER BY c) FROM kpi_order;
SELECT clm.kpi_series(days, 1, 'month', 90, NULL ORDER BY c DESC) FROM kpi_order;
DROP TABLE kpi_order;
-- cohorts: 999 weeks of data pass in every order (the customers of weeks
-- 500, 998 and 0 in that order failed with "more than 1000 periods": the
-- square's room ahead was counted), 1001 fail in every order
CREATE TABLE cohort_order AS
SELECT * FROM (VALUES (1, '2000-01-03'::date), (2, '2000-01-03'::date + 7 * 500),
					  (3, '2000-01-03'::date + 7 * 998)) v(c, day);
SELECT count(DISTINCT md5(s::text)) AS distinct_results, count(*) AS orders, min((s).periods)
FROM (SELECT clm.cohort_series(ARRAY[day], ARRAY[1::bigint], 'week', NULL, ARRAY[2.5::float8] ORDER BY array_position(o, c)) AS s
	  FROM cohort_order, (VALUES (ARRAY[1, 2, 3]), (ARRAY[1, 3, 2]), (ARRAY[2, 1, 3]), (ARRAY[2, 3, 1]),
							   (ARRAY[3, 1, 2]), (ARRAY[3, 2, 1])) p(o)
	  GROUP BY o) x;
UPDATE cohort_order SET day = day + 7 * 2 WHERE c = 3;
SELECT clm.cohort_series(ARRAY[day], ARRAY[1::bigint], 'week', NULL, NULL ORDER BY c) FROM cohort_order;
SELECT clm.cohort_series(ARRAY[day], ARRAY[1::bigint], 'week', NULL, NULL ORDER BY c DESC) FROM cohort_order;
DROP TABLE cohort_order;
-- NaN and Infinity amounts are refused, as clm.customer_summary refuses
-- them (revenue was NaN); amounts above 1e300 too (sums would overflow)
CREATE TABLE cohort_nan (customer_id int, ts date, amount float8);
INSERT INTO cohort_nan VALUES (1, '2020-01-01', 'NaN'), (2, '2020-02-01', 5);
SELECT count(*) FROM clm.cohorts('cohort_nan');
UPDATE cohort_nan SET amount = '-Infinity' WHERE customer_id = 1;
SELECT count(*) FROM clm.cohorts('cohort_nan');
UPDATE cohort_nan SET amount = 1e308 WHERE customer_id = 1;
SELECT count(*) FROM clm.cohorts('cohort_nan');
SELECT clm.cohort_series(ARRAY['2020-01-01'::date], ARRAY[1::bigint], 'month', NULL, ARRAY['NaN'::float8]);
-- 1e300 is allowed and sums stay finite
UPDATE cohort_nan SET amount = 1e300;
SELECT cohort, period, revenue FROM clm.cohorts('cohort_nan') WHERE period = 0;
DROP TABLE cohort_nan;
\set VERBOSITY default
