\set clm_echo :ECHO
\set ECHO none
-- test/data/load_cdnow.sql: the CDNOW sample as the two tables the README's
-- examples use.  From the clm source directory (the \copy paths are
-- relative to it), in a database where clm is installed or not:
--     psql -f test/data/load_cdnow.sql        (or: make sample)
-- Drops and recreates cdnow_tx and cdnow_summary in the first schema of
-- search_path.
--
-- The data (Fader, Hardie & Lee 2005): 2,357 customers of the CDNOW music
-- store who made their first purchase in the first quarter of 1997, and
-- their 6,919 purchases until 1998-06-30.
BEGIN;
SET LOCAL client_min_messages = warning;
DROP TABLE IF EXISTS cdnow_tx, cdnow_summary;

CREATE TEMP TABLE cdnow_raw (
	customer_id int, sample_id int, purchase_date date, cds int, amount float8
) ON COMMIT DROP;
\copy cdnow_raw FROM 'test/data/cdnow_transactions.csv' WITH (FORMAT csv, HEADER true)

CREATE TABLE cdnow_tx (
	customer_id int NOT NULL,
	ts timestamptz NOT NULL,
	amount float8 NOT NULL,
	cds int NOT NULL
);
INSERT INTO cdnow_tx
SELECT sample_id, purchase_date::timestamptz, amount, cds FROM cdnow_raw
ORDER BY sample_id, purchase_date;
CREATE INDEX ON cdnow_tx (customer_id);
COMMENT ON TABLE cdnow_tx IS 'CDNOW sample: one row per purchase, 1997-01-01 to 1998-06-30';
COMMENT ON COLUMN cdnow_tx.customer_id IS 'customer (1 to 2357, the id of cdnow_summary)';
COMMENT ON COLUMN cdnow_tx.ts IS 'purchase day, at midnight in the time zone of the session that loaded it';
COMMENT ON COLUMN cdnow_tx.amount IS 'amount paid, dollars';
COMMENT ON COLUMN cdnow_tx.cds IS 'number of CDs bought';

CREATE TABLE cdnow_summary (
	customer_id int PRIMARY KEY,
	x int NOT NULL,
	t_x float8 NOT NULL,
	"T" float8 NOT NULL,
	zbar float8 NOT NULL
);
\copy cdnow_summary FROM 'test/data/cdnow_summary.csv' WITH (FORMAT csv, HEADER true)
COMMENT ON TABLE cdnow_summary IS 'CDNOW sample: the published summary of the 39-week calibration period (to 1997-09-30), in weeks';
COMMENT ON COLUMN cdnow_summary.x IS 'repeat purchases in the calibration period';
COMMENT ON COLUMN cdnow_summary.t_x IS 'week of the last purchase (0 without a repeat purchase)';
COMMENT ON COLUMN cdnow_summary."T" IS 'weeks from the first purchase to the end of the calibration period';
COMMENT ON COLUMN cdnow_summary.zbar IS 'average value of the repeat purchases, dollars (0 without one)';
COMMIT;
ANALYZE cdnow_tx, cdnow_summary;
\set ECHO :clm_echo
