-- rfm_score: quantile scores over a window, ties, NULLs, bucket counts,
-- explicit cut points and the segment map
SET extra_float_digits = 0;

CREATE TABLE cust (id int, region text, days float8, freq float8, money float8);
INSERT INTO cust VALUES
	(1, 'north', 1, 10, 1000), (2, 'north', 5, 8, 800), (3, 'north', 10, 6, 600),
	(4, 'north', 20, 5, 500), (5, 'north', 30, 4, 400), (6, 'south', 60, 3, 300),
	(7, 'south', 90, 2, 200), (8, 'south', 120, 1, 100), (9, 'south', 200, 1, 50),
	(10, 'south', 365, 1, 10);

-- 10 customers, 5 buckets of 2.  R: fewest days scores 5 (ids 1,2 -> 5;
-- 3,4 -> 4; 5,6 -> 3; 7,8 -> 2; 9,10 -> 1).  F: ids 8,9,10 tie at 1 order
-- and all get the bucket of the first of them (1); then 2 orders (id 7,
-- position 3) -> 2, id 6 -> 3, id 5 -> 3, ids 4,3 -> 4, ids 2,1 -> 5.
-- M: distinct: pairs from the bottom.  Segments on R x FM with
-- FM = (F + M + 1) / 2: 555 Champions, 444 Loyal, 333 Need Attention,
-- 222 and 212 Hibernating, 111 Lost.
SELECT id, (clm.rfm_score(days, freq, money) OVER ()).*
FROM cust ORDER BY id;

-- the same over a partition: each region is scored on its own 5 customers
SELECT id, region, (clm.rfm_score(days, freq, money) OVER (PARTITION BY region)).*
FROM cust ORDER BY id;

-- with distinct values the scores equal NTILE(k) over the values: checked on
-- 1003 customers (not a multiple of k, so bucket sizes differ) for k = 2..10
CREATE TABLE big AS
SELECT i AS id, ((i * 7919) % 1003)::float8 AS days, ((i * 104729) % 1003)::float8 AS freq,
	   (i * 1.5)::float8 AS money
FROM generate_series(1, 1003) i;
SELECT k, count(*) FILTER (WHERE (s).r <> nr OR (s).f <> nf OR (s).m <> nm) AS mismatches
FROM generate_series(2, 10) k,
	 LATERAL (SELECT clm.rfm_score(days, freq, money, k) OVER () AS s,
					 ntile(k) OVER (ORDER BY days DESC) AS nr,
					 ntile(k) OVER (ORDER BY freq) AS nf,
					 ntile(k) OVER (ORDER BY money) AS nm
			  FROM big) q
GROUP BY k ORDER BY k;

-- ties are deterministic: every tied value gets the same (lower) score,
-- whatever the input order
SELECT f, min((s).f) AS min_score, max((s).f) AS max_score, count(*)
FROM (SELECT freq AS f, clm.rfm_score(days, freq, money) OVER () AS s
	  FROM (SELECT * FROM cust ORDER BY id DESC) c) q
GROUP BY f ORDER BY f;

-- NULLs: an unknown value gets a NULL score, cell and segment and is left
-- out of the ranking of that dimension only
SELECT id, (clm.rfm_score(days, freq, m) OVER ()).*
FROM (SELECT id, days, freq, CASE WHEN id = 1 THEN NULL ELSE money END AS m FROM cust) c
ORDER BY id;

-- 3 buckets (10 rows: sizes 4, 3, 3) and 10 buckets (cells use dashes)
SELECT id, (clm.rfm_score(days, freq, money, 3) OVER ()).*
FROM cust ORDER BY id;
SELECT id, (clm.rfm_score(days, freq, money, 10) OVER ()).*
FROM cust ORDER BY id;

-- a single customer gets the lowest scores; an empty set gives no rows
SELECT (clm.rfm_score(1, 1, 1) OVER ()).*;
SELECT (clm.rfm_score(days, freq, money) OVER ()).* FROM cust WHERE false;

-- the default segment map: R (rows) against FM (columns)
SELECT r, string_agg(clm.rfm_segment(r, fm, fm), ' | ' ORDER BY fm) AS "FM = 1 .. 5"
FROM generate_series(5, 1, -1) r, generate_series(1, 5) fm
GROUP BY r ORDER BY r DESC;
-- every one of the 11 named segments is used
SELECT count(DISTINCT value) AS segments FROM jsonb_each_text(clm.rfm_segment_map());
SELECT clm.rfm_segment_map() -> '55' AS top, clm.rfm_segment_map() -> '11' AS bottom;
-- FM rounds half up: F 5, M 4 -> FM 5; F 4, M 3 -> FM 4
SELECT clm.rfm_segment(3, 5, 4) AS r3f5m4, clm.rfm_segment(3, 4, 3) AS r3f4m3;
-- other scales map to 1..5 by ceil(5 * score / buckets): 10/10 -> 5, 1/10 -> 1,
-- 2/3 -> 4
SELECT clm.rfm_segment(10, 10, 10, 10) AS top10, clm.rfm_segment(1, 1, 1, 10) AS bottom10,
	   clm.rfm_segment(2, 2, 2, 3) AS mid3;
SELECT clm.rfm_segment(NULL, 1, 1) IS NULL AS null_in_null_out;

-- a user map: rename the 55 cell, null out the 11 cell
SELECT id, (s).cell, (s).segment
FROM (SELECT id, clm.rfm_score(days, freq, money, 5,
			 clm.rfm_segment_map() || '{"55": "VIP", "11": null}') OVER () AS s
	  FROM cust) q
ORDER BY id;

-- explicit cut points.  recency: r_cuts are upper bounds of days, best
-- first: days <= 30 -> 5, <= 90 -> 4, <= 180 -> 3, <= 365 -> 2, else 1.
-- frequency / monetary: lower bounds: f >= 2 -> 2, >= 3 -> 3, >= 5 -> 4,
-- >= 10 -> 5.
SELECT d, (clm.rfm_score(d, 1, 1, '{30, 90, 180, 365}', '{2, 3, 5, 10}', '{100, 250, 500, 1000}')).r
FROM unnest('{0, 30, 30.5, 90, 91, 180, 365, 366, 1000}'::float8[]) d;
SELECT f, (clm.rfm_score(0, f, 1, '{30, 90, 180, 365}', '{2, 3, 5, 10}', '{100, 250, 500, 1000}')).f
FROM unnest('{1, 2, 2.5, 3, 4, 5, 9, 10, 50}'::float8[]) f;
SELECT (clm.rfm_score(10, 12, 1200, '{30, 90, 180, 365}', '{2, 3, 5, 10}', '{100, 250, 500, 1000}')).*;
SELECT (clm.rfm_score(400, 1, 50, '{30, 90, 180, 365}', '{2, 3, 5, 10}', '{100, 250, 500, 1000}')).*;
-- different numbers of cuts per dimension, and NULL values
SELECT (clm.rfm_score(10, 3, NULL, '{30}', '{2, 3}', '{100}')).*;
SELECT (clm.rfm_score(10, 3, 150, '{30}', '{2, 3}', '{100}')).*;
