-- demo.sql: what `make demo` runs on a throwaway cluster: the CDNOW sample
-- (2,357 customers of an online music store, 1997-01 .. 1998-06) segmented
-- with RFM and ABC in plain SQL.
\pset footer off
CREATE EXTENSION clm;
CREATE TABLE transactions (customer_id int, sample_id int, purchase_date date, cds int, amount float8);
\copy transactions FROM 'test/data/cdnow_transactions.csv' WITH (FORMAT csv, HEADER true)

-- one row per customer: the summary, RFM scores and segment, ABC class
CREATE TABLE customers AS
SELECT s.*,
	   clm.rfm_score(s.days_since_last, s.orders, s.total_amount) OVER () AS rfm,
	   clm.abc_class(s.total_amount) OVER () AS abc
FROM (SELECT customer_id, (clm.customer_summary(purchase_date, amount, '1998-06-30')).*
	  FROM transactions GROUP BY customer_id) s;

\echo
\echo 'Customers and revenue per RFM segment (as of 1998-06-30)'
SELECT (rfm).segment, count(*) AS customers,
	   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "% customers",
	   round(sum(total_amount)::numeric, 2) AS revenue,
	   round((100 * sum(total_amount) / sum(sum(total_amount)) OVER ())::numeric, 1) AS "% revenue"
FROM customers GROUP BY 1 ORDER BY sum(total_amount) DESC;

\echo 'Customers and revenue per ABC class (A = first 80% of revenue, B = next 15%)'
SELECT abc AS class, count(*) AS customers,
	   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "% customers",
	   round(sum(total_amount)::numeric, 2) AS revenue,
	   round((100 * sum(total_amount) / sum(sum(total_amount)) OVER ())::numeric, 1) AS "% revenue"
FROM customers GROUP BY 1 ORDER BY 1;

\echo 'Top 10 customers by revenue'
SELECT customer_id, orders, round(total_amount::numeric, 2) AS revenue,
	   last_purchase::date AS last_purchase, days_since_last,
	   (rfm).cell AS rfm, (rfm).segment, abc
FROM customers ORDER BY total_amount DESC, customer_id LIMIT 10;
