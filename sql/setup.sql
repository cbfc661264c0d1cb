-- setup: clm is installed (pg_regress --load-extension=clm, so every file
-- can run on its own) and the shared CDNOW tables load as documented.
-- the extension's objects all live in schema clm
SELECT n.nspname, count(*) > 0 AS has_objects
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'clm' GROUP BY 1;

\i test/data/regress_cdnow.sql
SELECT count(*) AS transactions, count(DISTINCT customer_id) AS customers,
	   round(sum(amount)::numeric, 2) AS revenue
FROM cdnow_tx;
SELECT count(*) AS summary_rows FROM cdnow_summary;
