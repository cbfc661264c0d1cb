-- breakpoints_agg: the aggregate clm.breakpoints_agg gives exactly what
-- clm.breakpoints gives over array_agg's of the same rows (ties, NULLs,
-- refunds, few customers, none, other alert rules), in any row order, and
-- the same in a parallel plan (states serialized, combined) as serially.
CREATE EXTENSION IF NOT EXISTS clm;
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql
SELECT setseed(0.25);
-- cases: CDNOW; heavy ties (values 1..5) with refunds and NULLs; tiny
-- inputs; all equal; no CLV; every row without days (all prospects)
CREATE TABLE bpa (name text, i int, d float8, o float8, a float8, v float8);
INSERT INTO bpa
SELECT 'cdnow', customer_id, (s).days_since_last, (s).orders, (s).total_amount, (s).total_amount / (s).orders
FROM (SELECT customer_id, clm.customer_summary(purchase_date::timestamptz, amount, '1998-07-01', 'week') AS s
	  FROM cdnow_tx GROUP BY customer_id) x;
INSERT INTO bpa
SELECT 'ties_' || n, i, CASE WHEN random() < 0.05 THEN NULL ELSE floor(random() * 5) END,
	   CASE WHEN random() < 0.02 THEN NULL ELSE 1 + floor(random() * 5) END,
	   CASE WHEN random() < 0.02 THEN NULL ELSE floor(random() * 5) - 1 END,
	   CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 3) END
FROM generate_series(1, 4) n, generate_series(1, 1000) i;
INSERT INTO bpa
SELECT 'tiny_' || n, i, random() * 100, 1 + floor(random() * 3), random() * 50, random() * 10
FROM generate_series(1, 7) n, LATERAL generate_series(1, n) i;
INSERT INTO bpa
SELECT 'all_equal', i, 3, 2, 10, 1 FROM generate_series(1, 6) i
UNION ALL SELECT 'no_clv', i, i, i, i, NULL FROM generate_series(1, 3) i
UNION ALL SELECT 'no_days', i, NULL, i, i, i FROM generate_series(1, 3) i;

-- equal to clm.breakpoints, with the default rules and with other ones
-- (the shares: clm.breakpoints' defaults, 0.8 and 0.95)
SELECT name, count(*) AS customers,
	   clm.breakpoints_agg(d, o, a, v, NULL)
		   IS NOT DISTINCT FROM clm.breakpoints(array_agg(d), array_agg(o), array_agg(a), array_agg(v)) AS same,
	   clm.breakpoints_agg(d, o, a, v, '{"high_value_share": 0.5}')
		   IS NOT DISTINCT FROM clm.breakpoints(array_agg(d), array_agg(o), array_agg(a), array_agg(v),
												'{"high_value_share": 0.5}') AS same_rules,
	   clm.breakpoints_agg(d, o, a, v, NULL ORDER BY random())
		   IS NOT DISTINCT FROM clm.breakpoints_agg(d, o, a, v, NULL ORDER BY i DESC) AS any_order
FROM bpa GROUP BY name ORDER BY name;
-- the values of two cases (the checked ones of sql/breakpoints.sql)
SELECT name, (clm.breakpoints_agg(d, o, a, v, '{}')).* FROM bpa
WHERE name IN ('all_equal', 'cdnow', 'no_days') GROUP BY name ORDER BY name;
-- no rows: NULL, as clm.breakpoints of array_agg's over no rows
SELECT clm.breakpoints_agg(d, o, a, v, NULL) IS NULL AS agg_null,
	   clm.breakpoints(array_agg(d), array_agg(o), array_agg(a), array_agg(v)) IS NULL AS arrays_null
FROM bpa WHERE false;

-- parallel: 200,000 customers with ties and NULLs, serial against a plan
-- with two workers and no leader (every state serialized and combined)
CREATE TABLE bpa_big AS
SELECT i, CASE WHEN i % 37 = 0 THEN NULL ELSE (i * 7919) % 400 END::float8 AS d,
	   (1 + (i * 31) % 12)::float8 AS o, ((i * 104729) % 100000) / 4.0 - 100 AS a,
	   CASE WHEN i % 11 = 0 THEN NULL ELSE ((i * 13) % 5000) / 8.0 END AS v
FROM generate_series(1, 200000::bigint) i;
ANALYZE bpa_big;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE bpa_ser AS
SELECT clm.breakpoints_agg(d, o, a, v, '{"high_value_share": 0.1}') AS b FROM bpa_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT clm.breakpoints_agg(d, o, a, v, '{"high_value_share": 0.1}') FROM bpa_big;
CREATE TEMP TABLE bpa_par AS
SELECT clm.breakpoints_agg(d, o, a, v, '{"high_value_share": 0.1}') AS b FROM bpa_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT (SELECT b FROM bpa_ser) = (SELECT b FROM bpa_par) AS serial_equals_parallel,
	   (SELECT b FROM bpa_ser) = (SELECT clm.breakpoints(array_agg(d), array_agg(o), array_agg(a), array_agg(v),
														 '{"high_value_share": 0.1}') FROM bpa_big) AS equals_arrays;
SELECT (b).* FROM bpa_par;

-- errors: rules that change between rows, invalid rules, infinite values
SELECT clm.breakpoints_agg(d, o, a, v, CASE WHEN i = 3 THEN '{}'::jsonb END) FROM bpa WHERE name = 'tiny_5';
SELECT clm.breakpoints_agg(d, o, a, v, '{"high_value_share": 0}') FROM bpa WHERE name = 'tiny_5';
SELECT clm.breakpoints_agg(d, o, a, v, '{"high_valu": 0.2}') FROM bpa WHERE name = 'tiny_5';
SELECT clm.breakpoints_agg(d, o, 'Infinity', v, NULL) FROM bpa WHERE name = 'tiny_5';
SELECT clm.breakpoints_agg(d, 'NaN', a, v, NULL) FROM bpa WHERE name = 'tiny_5';
DROP TABLE bpa, bpa_big;
