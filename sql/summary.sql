-- customer_summary: hand-checked cases, the day-collapse convention, units,
-- NULLs, empty input, unordered input, time zones and the CDNOW summary.
SET timezone = 'UTC';
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql

CREATE TABLE tx (customer_id int, ts timestamptz, amount float8);
INSERT INTO tx VALUES
	-- customer 1: two purchases on Jan 1 (one period: 10 + 5 = 15), then
	-- Jan 4 (20) and Jan 11 (30).  As of Jan 15:
	--   orders 4, frequency 2 (3 purchase days - 1), recency 10 days (Jan 1 ->
	--   Jan 11), tenure 14, days_since_last 4, total 65, avg 65/4 = 16.25,
	--   repeat_avg_amount (20 + 30) / 2 = 25, avg_days_between 10 / 2 = 5
	(1, '2024-01-01 10:00', 10), (1, '2024-01-01 15:00', 5),
	(1, '2024-01-04 09:00', 20), (1, '2024-01-11 18:00', 30),
	-- customer 2: one purchase: frequency 0, recency 0, tenure 5,
	--   repeat_avg_amount 0, avg_days_between NULL
	(2, '2024-01-10 12:00', 7),
	-- customer 3: two purchases, same day: orders 2, frequency 0
	(3, '2024-01-14 08:00', 3), (3, '2024-01-14 20:00', 4),
	-- customer 4: NULL rows are skipped: only the Jan 2 purchase counts
	(4, NULL, 99), (4, '2024-01-02 00:00', NULL), (4, '2024-01-02 00:00', 8);

SELECT customer_id, (s).*
FROM (SELECT customer_id, clm.customer_summary(ts, amount, '2024-01-15') AS s
	  FROM tx GROUP BY customer_id) q
ORDER BY customer_id;

-- unit 'week': recency and tenure in weeks (days / 7); customer 1:
-- recency 10/7 = 1.428571, tenure 14/7 = 2; collapse is still per day
SELECT customer_id, (s).frequency, round((s).recency::numeric, 6) AS recency,
	   round((s).tenure::numeric, 6) AS tenure, (s).days_since_last
FROM (SELECT customer_id, clm.customer_summary(ts, amount, '2024-01-15', 'week') AS s
	  FROM tx GROUP BY customer_id) q
ORDER BY customer_id;

-- the 'day' unit spelled out equals the 3-argument form
SELECT clm.customer_summary(ts, amount, '2024-01-15', 'day')
	 = clm.customer_summary(ts, amount, '2024-01-15') AS same
FROM tx WHERE customer_id = 1;

-- empty input and all-NULL input give NULL, like sum()
SELECT clm.customer_summary(ts, amount, '2024-01-15') IS NULL AS empty_is_null
FROM tx WHERE false;
SELECT clm.customer_summary(ts, amount, NULL) IS NULL AS null_as_of_is_null FROM tx;

-- unordered input with more distinct days than the initial state holds:
-- 20 days, each bought twice, fed in a scrambled order.  Day k (k = 0..19)
-- has amounts k and 1, so the first day totals 1, repeat days total k + 1:
-- frequency 19, recency 19, repeat_avg_amount = (sum_{k=1..19} (k+1)) / 19
-- = (190 + 19) / 19 = 11
CREATE TABLE tx_scrambled AS
SELECT '2024-03-01'::timestamptz + ((i * 7) % 20) * interval '1 day' AS ts,
	   ((i * 7) % 20)::float8 AS amount
FROM generate_series(0, 19) i
UNION ALL
SELECT '2024-03-01'::timestamptz + ((i * 13) % 20) * interval '1 day' + interval '5 hours', 1
FROM generate_series(0, 19) i;
SELECT (s).orders, (s).frequency, (s).recency, (s).tenure, (s).total_amount,
	   (s).repeat_avg_amount, (s).avg_days_between
FROM (SELECT clm.customer_summary(ts, amount, '2024-04-01') AS s FROM tx_scrambled) q;

-- purchases collapse per calendar day of the session time zone: 23:30 and
-- 01:00 New York time are two days there (frequency 1) but one UTC day
-- (2024-01-02 04:30 and 06:00 UTC: frequency 0)
CREATE TABLE tx_tz AS
SELECT '2024-01-02 04:30+00'::timestamptz AS ts, 1.0::float8 AS amount
UNION ALL SELECT '2024-01-02 06:00+00', 1.0;
SET timezone = 'America/New_York';
SELECT (clm.customer_summary(ts, amount, '2024-01-10 00:00+00')).frequency AS ny_frequency FROM tx_tz;
-- across the March DST change the day boundaries stay local: purchases at
-- 23:59 on Mar 9 and 00:01 on Mar 10 (EST -> EDT that night) are two days
SELECT (s).frequency, (s).recency, (s).days_since_last
FROM (SELECT clm.customer_summary(ts, 1, '2024-03-12 12:00') AS s
	  FROM (VALUES ('2024-03-09 23:59'::timestamptz), ('2024-03-10 00:01'), ('2024-03-11 23:59')) v(ts)) q;
SET timezone = 'UTC';
SELECT (clm.customer_summary(ts, amount, '2024-01-10 00:00+00')).frequency AS utc_frequency FROM tx_tz;

-- negative amounts (refunds) are allowed and count as transactions
SELECT (s).orders, (s).total_amount, (s).avg_amount
FROM (SELECT clm.customer_summary(ts, amount, '2024-01-15') AS s
	  FROM (VALUES ('2024-01-01'::timestamptz, 50.0::float8), ('2024-01-03', -20.0)) v(ts, amount)) q;

-- CDNOW: the summary of the calibration period (purchases up to 1997-09-30,
-- weekly units) reproduces the published summary for all 2,357 customers
-- (published values are rounded to 2 decimals)
CREATE TABLE cdnow_calib AS
SELECT sample_id, clm.customer_summary(purchase_date, amount, '1997-09-30', 'week') AS s
FROM cdnow_tx WHERE purchase_date <= '1997-09-30'
GROUP BY sample_id;
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE (s).frequency = p.x) AS x_match,
	   count(*) FILTER (WHERE round((s).recency::numeric, 2) = round(p.t_x::numeric, 2)) AS t_x_match,
	   count(*) FILTER (WHERE round((s).tenure::numeric, 2) = round(p."T"::numeric, 2)) AS t_match,
	   count(*) FILTER (WHERE abs((s).repeat_avg_amount - p.zbar) <= 0.005 + 1e-9) AS zbar_match
FROM cdnow_calib c JOIN cdnow_summary p ON p.id = c.sample_id;
-- customer 4 (sample id 1): 1997-01-01, 01-18, 08-02 (+ 12-12 after calibration)
SELECT (s).* FROM cdnow_calib WHERE sample_id = 1;

-- issue 20: finite amounts give finite answers.  Two amounts of 1e308 made
-- total_amount Infinity and repeat_avg_amount NaN; an amount above 1e300
-- in magnitude is refused (22003), so a sum of fewer than 10^8 amounts
-- cannot overflow and the answer does not depend on the rows' order
\set VERBOSITY terse
SELECT (clm.customer_summary(ts, amount, '2024-01-01')).total_amount
FROM (VALUES ('2020-01-01'::timestamptz, 1e308::float8), ('2020-02-01', 1e308)) v(ts, amount);
SELECT (clm.customer_summary(ts, amount, '2024-01-01')).total_amount
FROM (VALUES ('2020-01-01'::timestamptz, -1e301::float8)) v(ts, amount);
SELECT s.total_amount, s.repeat_avg_amount, s.avg_amount
FROM (SELECT (clm.customer_summary(ts, amount, '2024-01-01')).*
	  FROM (VALUES ('2020-01-01'::timestamptz, 1e300::float8), ('2020-02-01', 1e300), ('2020-03-01', -1e300)) v(ts, amount)) s;
-- denormals are amounts like any other
SELECT s.total_amount, s.repeat_avg_amount
FROM (SELECT (clm.customer_summary(ts, amount, '2024-01-01')).*
	  FROM (VALUES ('2020-01-01'::timestamptz, 1e-320::float8), ('2020-02-01', 1e-320)) v(ts, amount)) s;
\set VERBOSITY default
