-- bad input: every rejected argument gives SQLSTATE 22023 (echoed after
-- each statement) with a message that names it
\set VERBOSITY default
SET timezone = 'UTC';

-- a transaction after as_of
SELECT clm.customer_summary(ts, 1, '2024-01-15')
FROM (VALUES ('2024-01-01'::timestamptz), ('2024-02-01')) v(ts);
\echo :LAST_ERROR_SQLSTATE
-- NaN and infinite amounts
SELECT clm.customer_summary('2024-01-01', 'NaN', '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.customer_summary('2024-01-01', 'Infinity', '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.customer_summary('2024-01-01', '-Infinity', '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
-- infinite timestamps
SELECT clm.customer_summary('-infinity', 1, '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.customer_summary('2024-01-01', 1, 'infinity');
\echo :LAST_ERROR_SQLSTATE
-- as_of differing between rows of one customer
SELECT clm.customer_summary(ts, 1, ts + interval '1 day')
FROM (VALUES ('2024-01-01'::timestamptz), ('2024-01-02')) v(ts);
\echo :LAST_ERROR_SQLSTATE
-- unknown unit
SELECT clm.customer_summary('2024-01-01', 1, '2024-01-15', 'month');
\echo :LAST_ERROR_SQLSTATE

-- rfm_score
SELECT clm.rfm_score(1, 1, 1, 1) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 11) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, NULL) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(x, 1, 1) OVER () FROM (VALUES ('NaN'::float8)) v(x);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, '[1,2]') OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, '{"11": "x"}') OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, clm.rfm_segment_map() - '35' || '{"36": "x"}') OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, jsonb_set(clm.rfm_segment_map(), '{35}', '7')) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, 20}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{1,2,3,4,5,6,7,8,9,10}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, NULL}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, 60}', '{2, NaN}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, 60}', '{{2, 5}}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, NULL, '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score('NaN', 2, 50, '{30, 60}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_segment(6, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_segment(0, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_segment(1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE

-- abc_class
SELECT clm.abc_class(v, 0, 0.9) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 1, 1) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 0.8, 0.8) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 0.8, 1.5) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 'NaN', 0.9) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, NULL, 0.9) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v) OVER () FROM (VALUES (1.0::float8), (-1)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v) OVER () FROM (VALUES (1.0::float8), ('NaN')) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v) OVER () FROM (VALUES (1.0::float8), ('Infinity')) t(v);
\echo :LAST_ERROR_SQLSTATE
