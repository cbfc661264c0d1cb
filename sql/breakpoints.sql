-- breakpoints: clm.breakpoints (C, src/breakpoints.c) equals the same cut
-- points read off the window functions clm.rfm_score() OVER () and
-- clm.abc_class() OVER () and cume_dist(), which is what scoring must
-- reproduce; on CDNOW, on heavy ties, tiny and empty inputs, NULLs,
-- refunds and all-equal values.
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql
CREATE FUNCTION bp_windows(d float8[], o float8[], a float8[], v float8[], hv_share float8,
						   a_share float8 DEFAULT 0.8, b_share float8 DEFAULT 0.95)
RETURNS clm.breakpoints LANGUAGE sql AS $$
	WITH u AS (
		SELECT u.d, u.o, u.a, u.v
		FROM ROWS FROM (unnest(d), unnest(o), unnest(a), unnest(v)) AS u(d, o, a, v)
		WHERE u.d IS NOT NULL AND u.o IS NOT NULL AND u.a IS NOT NULL),
	s AS (
		SELECT u.*, clm.rfm_score(u.d, u.o, u.a) OVER () AS rfm,
			   clm.abc_class(greatest(u.a, 0), a_share, b_share) OVER () AS abc
		FROM u),
	hv AS (SELECT u.v, cume_dist() OVER (ORDER BY u.v) AS cd FROM u WHERE u.v IS NOT NULL)
	SELECT ROW(
		coalesce((SELECT array_agg(c ORDER BY c) FROM (SELECT max(s.d) AS c FROM s WHERE (s.rfm).r > 1 GROUP BY (s.rfm).r) x),
				 ARRAY[coalesce((SELECT max(s.d) FROM s), 0)]),
		coalesce((SELECT array_agg(c ORDER BY c) FROM (SELECT min(s.o) AS c FROM s WHERE (s.rfm).f > 1 GROUP BY (s.rfm).f) x),
				 ARRAY[coalesce((SELECT min(s.o) FROM s), 0)]),
		coalesce((SELECT array_agg(c ORDER BY c) FROM (SELECT min(s.a) AS c FROM s WHERE (s.rfm).m > 1 GROUP BY (s.rfm).m) x),
				 ARRAY[coalesce((SELECT min(s.a) FROM s), 0)]),
		(SELECT min(greatest(s.a, 0)) FROM s WHERE s.abc = 'A'),
		(SELECT min(greatest(s.a, 0)) FROM s WHERE s.abc = 'B'),
		(SELECT min(hv.v) FROM hv WHERE hv.cd > 1 - hv_share),
		(SELECT count(*) FROM u))::clm.breakpoints
$$;
CREATE TABLE bp_cases (name text, d float8[], o float8[], a float8[], v float8[]);
-- CDNOW as of the end of the data, CLV standing in by total spend
INSERT INTO bp_cases
SELECT 'cdnow', array_agg((s).days_since_last), array_agg((s).orders), array_agg((s).total_amount),
	   array_agg((s).total_amount / (s).orders)
FROM (SELECT clm.customer_summary(purchase_date::timestamptz, amount, '1998-07-01', 'week') AS s
	  FROM cdnow_tx GROUP BY customer_id) x;
SELECT setseed(0.5);
-- heavy ties (values 1..5), refunds, NULLs
INSERT INTO bp_cases
SELECT 'ties_' || n, array_agg(CASE WHEN random() < 0.05 THEN NULL ELSE floor(random() * 5) END),
	   array_agg(1 + floor(random() * 5)), array_agg(floor(random() * 5) - 1),
	   array_agg(CASE WHEN random() < 0.2 THEN NULL ELSE floor(random() * 3) END)
FROM generate_series(1, 4) n, generate_series(1, 1000) i GROUP BY n;
-- tiny and empty inputs, all equal
INSERT INTO bp_cases
SELECT 'tiny_' || n, array_agg(random() * 100), array_agg(1 + floor(random() * 3)), array_agg(random() * 50),
	   array_agg(random() * 10)
FROM generate_series(1, 7) n, LATERAL generate_series(1, n) i GROUP BY n;
INSERT INTO bp_cases VALUES ('empty', '{}', '{}', '{}', '{}'),
	('all_equal', '{3,3,3,3,3,3}', '{2,2,2,2,2,2}', '{10,10,10,10,10,10}', '{1,1,1,1,1,1}'),
	('all_null_clv', '{1,2,3}', '{1,2,3}', '{1,2,3}', '{NULL,NULL,NULL}');
SELECT name, (SELECT count(*) FROM unnest(d)) AS customers,
	   clm.breakpoints(d, o, a, v) IS NOT DISTINCT FROM bp_windows(d, o, a, v, 0.2) AS same,
	   clm.breakpoints(d, o, a, v, '{"high_value_share": 0.5}', 0.5, 0.9)
		   IS NOT DISTINCT FROM bp_windows(d, o, a, v, 0.5, 0.5, 0.9) AS same_other_shares
FROM bp_cases ORDER BY name;
-- the values themselves, for two cases checked by hand: six equal
-- customers give one cut per dimension and everyone in A (share before the
-- only tie group is 0); CDNOW's quintile cuts
SELECT (clm.breakpoints(d, o, a, v)).* FROM bp_cases WHERE name IN ('all_equal', 'cdnow') ORDER BY name;
-- errors name the argument
SELECT clm.breakpoints('{1,2}', '{1}', '{1,2}', '{1,2}');
SELECT clm.breakpoints('{1,NaN}', '{1,2}', '{1,2}', '{1,2}');
SELECT clm.breakpoints('{1,2}', '{1,2}', '{1,Infinity}', '{1,2}');
SELECT clm.breakpoints('{1,2}', '{1,2}', '{1,2}', '{-Infinity,2}');
SELECT clm.breakpoints('{1,2}', '{1,2}', '{1,2}', '{1,2}', '{}', 0.9, 0.8);
DROP TABLE bp_cases;
DROP FUNCTION bp_windows;
