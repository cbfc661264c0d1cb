-- abc_class: cumulative share of value in descending order
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql

-- total 100.  Share before each: 50 -> 0 (A), 30 -> 0.5 (A), 10 -> 0.8 (B:
-- A is full once 80% is reached), 5 -> 0.9 (B), 3 -> 0.95 (C), 2 -> 0.98 (C)
SELECT v, clm.abc_class(v) OVER () AS class
FROM unnest('{10, 2, 50, 3, 30, 5}'::float8[]) v ORDER BY v DESC;

-- the customer who crosses the line belongs to the higher class:
-- 60 (before 0) A, 30 (before 0.6) A, 10 (before 0.9) B
SELECT v, clm.abc_class(v) OVER () AS class
FROM unnest('{60, 30, 10}'::float8[]) v ORDER BY v DESC;

-- ties share a class, placed by the share before the tie group:
-- 40, 40 (before 0) A, 20 (before 0.8) B
SELECT v, clm.abc_class(v) OVER () AS class
FROM unnest('{40, 20, 40}'::float8[]) v ORDER BY v DESC;

-- custom shares 0.5 / 0.9: 50 (0) A, 30 (0.5) B, 10 (0.8) B, 5 (0.9) C,
-- 3 (0.95) C, 2 C
SELECT v, clm.abc_class(v, 0.5, 0.9) OVER () AS class
FROM unnest('{10, 2, 50, 3, 30, 5}'::float8[]) v ORDER BY v DESC;
-- named arguments
SELECT v, clm.abc_class(v, b_share => 1.0) OVER () AS class
FROM unnest('{10, 2, 50, 3, 30, 5, 0}'::float8[]) v ORDER BY v DESC;

-- NULL values get NULL and are left out of the total; zeros are C;
-- an all-zero partition is all C
SELECT v, clm.abc_class(v) OVER () AS class
FROM unnest('{90, NULL, 10, 0}'::float8[]) v ORDER BY v DESC NULLS LAST;
SELECT v, clm.abc_class(v) OVER () AS class
FROM unnest('{0, 0}'::float8[]) v;

-- per partition
SELECT g, v, clm.abc_class(v) OVER (PARTITION BY g) AS class
FROM (VALUES ('x', 80.0::float8), ('x', 20), ('y', 1), ('y', 1), ('y', 1), ('y', 1), ('y', 1)) t(g, v)
ORDER BY g, v DESC;

-- Pareto on the CDNOW sample: A customers (~80% of revenue) are a minority
SELECT class, count(*) AS customers, round(sum(revenue)::numeric / 244091.94, 4) AS share
FROM (SELECT customer_id, sum(amount) AS revenue,
			 clm.abc_class(sum(amount)) OVER () AS class
	  FROM cdnow_tx GROUP BY customer_id) q
GROUP BY class ORDER BY class;
