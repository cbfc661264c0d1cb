\set ECHO none
-- regress_cdnow.sql: the CDNOW tables of the regression tests, (re)created
-- so that each file that needs them runs on its own (`\i` it first thing;
-- paths are relative to the directory pg_regress runs in).  Silent: only
-- the \i line and the \set below show in a test's output.
-- (The README's sample tables are test/data/load_cdnow.sql; these keep the
-- raw columns the tests were written against.)
BEGIN;
SET LOCAL client_min_messages = warning;
DROP TABLE IF EXISTS cdnow_tx, cdnow_summary CASCADE;

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
COMMIT;
\set ECHO all
