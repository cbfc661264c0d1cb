-- setup: runs first; installs clm and loads the shared test data.
CREATE EXTENSION clm;

-- the extension's objects all live in schema clm
SELECT n.nspname, count(*) > 0 AS has_objects
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'clm' GROUP BY 1;

-- CDNOW sample (Fader, Hardie & Lee 2005): 2,357 customers, 6,919 transactions
CREATE TABLE cdnow_tx (
	customer_id int NOT NULL,
	sample_id int NOT NULL,
	purchase_date date NOT NULL,
	cds int NOT NULL,
	amount float8 NOT NULL
);
\copy cdnow_tx FROM 'test/data/cdnow_transactions.csv' WITH (FORMAT csv, HEADER true)

-- the published calibration summary (weeks; 39-week calibration period)
CREATE TABLE cdnow_summary (
	id int PRIMARY KEY,
	x int, t_x float8, "T" float8, zbar float8
);
\copy cdnow_summary FROM 'test/data/cdnow_summary.csv' WITH (FORMAT csv, HEADER true)

SELECT count(*) AS transactions, count(DISTINCT customer_id) AS customers,
	   round(sum(amount)::numeric, 2) AS revenue
FROM cdnow_tx;
SELECT count(*) AS summary_rows FROM cdnow_summary;
