-- bench/lib.sql: what every benchmark script starts with (included with \ir).
\set ON_ERROR_STOP 1
\pset footer off
SET jit = off;
SET timezone = 'UTC';
CREATE EXTENSION IF NOT EXISTS clm;

-- execution time (ms) of a query, from EXPLAIN ANALYZE: the executor
-- computes every output column, and nothing is sent to a client
CREATE OR REPLACE FUNCTION pg_temp.exec_ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO plan;
	RETURN (plan -> 0 ->> 'Execution Time')::float8;
END $$;
