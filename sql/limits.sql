-- limits: every loop a caller can lengthen is bounded (ERROR 22023 naming
-- the argument, the limit in the hint) or interruptible; support functions
-- refuse forged arguments (issue 12)
\set VERBOSITY default
SET timezone = 'UTC';

-- CLV horizon: at most 12000 months.  INT_MAX used to loop for hours
-- (the month counter overflowed) and ignored statement_timeout.
SELECT clm.clv_estimate(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model,
	ROW(6.25,3.74,15.44,0,0,0,0,true, NULL)::clm.gamma_gamma_model, 3, 20, 30, 25, 2147483647, 0.01, 'week');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.mbgnbd_model,
	ROW(6.25,3.74,15.44,0,0,0,0,true, NULL)::clm.gamma_gamma_model, 3, 20, 30, 25, 12001, 0.01, 'week');
\echo :LAST_ERROR_SQLSTATE
-- the limit itself is accepted, and 1000 years at 1%/month add almost
-- nothing to 100 years (0.99^1200 ~ 6e-6 of the monthly value left)
SELECT round(clm.clv_estimate(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model,
	ROW(6.25,3.74,15.44,0,0,0,0,true, NULL)::clm.gamma_gamma_model, 3, 20, 30, 25, 12000, 0.01, 'week')::numeric, 6) AS clv_12000,
	round(clm.clv_estimate(ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model,
	ROW(6.25,3.74,15.44,0,0,0,0,true, NULL)::clm.gamma_gamma_model, 3, 20, 30, 25, 1200, 0.01, 'week')::numeric, 6) AS clv_1200;

-- a call that runs for tens of seconds (a = 1: the slow series, at every
-- month end of 1000 years) stops at statement_timeout: the series polls for
-- interrupts every 65536 terms
SET statement_timeout = '300ms';
SELECT clm.clv_estimate(ROW(0.243, 1e-3, 1.0, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model,
	ROW(6.25,3.74,15.44,0,0,0,0,true, NULL)::clm.gamma_gamma_model, 3, 0.5, 0.5, 25, 12000, 0.01, 'day');
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;

-- fits: BFGS iterations are capped (500 per start) and poll for interrupts;
-- fit_data holds at most 26843544 distinct rows (1 GB), see README "Limits"

-- support functions with internal arguments cannot be called from SQL at
-- all: the parser refuses the call.  How depends on the minor release: newer
-- ones know no coercion to internal (42846, 42883), older ones (e.g. 17.6)
-- coerce the NULL and internal's input function refuses it (0A000)
DO $$
BEGIN
	BEGIN
		PERFORM clm.customer_summary_deserialize('\x00'::bytea, NULL::internal);
		RAISE NOTICE 'customer_summary_deserialize ran';
	EXCEPTION WHEN cannot_coerce OR feature_not_supported THEN
		RAISE NOTICE 'customer_summary_deserialize refused';
	END;
	BEGIN
		PERFORM clm.customer_summary_final(NULL);
		RAISE NOTICE 'customer_summary_final ran';
	EXCEPTION WHEN undefined_function OR feature_not_supported THEN
		RAISE NOTICE 'customer_summary_final refused';
	END;
END $$;

-- activity_trend's final function takes an ordinary float8[]: forged states
-- are refused (data_corrupted), never read out of bounds
SELECT clm.activity_trend_final('{}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend_final('{1,2,3}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend_final('{{1,2,3,4,5,6,7}}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend_final('{1,2,3,4,5,6,NULL}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend_final('{1e308,2,3,4,5,6,7}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend_final('{-1,2,NaN,4,5,6,7}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
-- a well-formed one is just arithmetic: 2 recent orders of 6, 1 before of 4
SELECT clm.activity_trend_final('{2,6,1,4,0,0,0}'::float8[]);
-- the transition and combine functions only run inside their aggregate
SELECT clm.activity_trend_trans(NULL, now(), 1, now(), '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend_combine('{2,6,1,4,0,0,0}', '{2,6,1,4,0,0,0}');
\echo :LAST_ERROR_SQLSTATE

-- a superuser can build aggregates that hand clm's functions a foreign
-- internal state: refused by the state's magic number...
CREATE AGGREGATE forged_final(int8) (SFUNC = int8_avg_accum, STYPE = internal,
	FINALFUNC = clm.customer_summary_final);
SELECT forged_final(g) FROM generate_series(1, 3) g;
\echo :LAST_ERROR_SQLSTATE
-- ...and foreign serialized bytes: refused by the format version byte
CREATE AGGREGATE forged_bytes(int8) (SFUNC = int8_avg_accum, STYPE = internal,
	SERIALFUNC = int8_avg_serialize, DESERIALFUNC = clm.customer_summary_deserialize,
	COMBINEFUNC = clm.customer_summary_combine, FINALFUNC = clm.customer_summary_final,
	PARALLEL = SAFE);
CREATE TABLE forged_rows AS SELECT g::int8 AS g FROM generate_series(1, 10000) g;
ANALYZE forged_rows;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT forged_bytes(g) FROM forged_rows;
SELECT forged_bytes(g) FROM forged_rows;
\echo :LAST_ERROR_SQLSTATE
RESET ALL;
SET timezone = 'UTC';
DROP AGGREGATE forged_final(int8);
DROP AGGREGATE forged_bytes(int8);
DROP TABLE forged_rows;

-- fit_data: support functions called directly work on a private copy and
-- validate their input; malformed text is a syntax error (22P02)
SELECT clm.fit_data_trans('{(1,1,2,1)}', 2, 1, 3);
SELECT clm.fit_data_combine('{(1,1,2,1)}', '{(0,0,5,2)}');
SELECT clm.fit_data_final('{(1,1,2,1),(1,1,2,4)}');
SELECT clm.fit_data_combine('{(1,1,2,1)}', '{(1,5,1)}');
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,1,2,1)'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,1,2,1,2,3)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1e999,1,2,1)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,1,2,0)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
-- a long text value is parsed (and can be cancelled) row by row
SELECT clm.fit_data_rows(v::clm.fit_data), clm.fit_data_customers(v::clm.fit_data)
FROM (SELECT '{' || string_agg(format('(%s,%s,%s,1)', g % 7, g % 7, 10), ',') || '}' AS v
	  FROM generate_series(1, 100000) g) s;

-- found by the fuzzing suite: check_time_zone (an EXCEPTION block, i.e. a
-- subtransaction) was labelled PARALLEL SAFE and failed with 25000 on every
-- call under a forced parallel plan
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
	THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
SELECT clm.check_time_zone('UTC') AS utc, clm.check_time_zone('Europe/Berlin') AS berlin;
SELECT clm.check_time_zone('Mars/Phobos');
\echo :LAST_ERROR_SQLSTATE
RESET ALL;
