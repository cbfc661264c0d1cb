-- cohorts_reference.sql: clm.cohorts as it was first written (window
-- functions over clm.purchase_days), kept as an independent path that
-- sql/kpi.sql checks clm.cohorts (src/cohort.c) against.  Silent: \i it;
-- only the \i line shows in a test's output.
\set ECHO none
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS cohorts_reference(regclass, text, text, text, text, text, date);
CREATE FUNCTION cohorts_reference(
	source regclass, customer_column text DEFAULT 'customer_id', ts_column text DEFAULT 'ts',
	amount_column text DEFAULT 'amount', period text DEFAULT 'month', time_zone text DEFAULT NULL,
	to_day date DEFAULT NULL)
RETURNS TABLE (
	cohort date, period integer, period_start date, cohort_size bigint,
	customers bigint, retention float8, rolling_customers bigint, rolling_retention float8,
	orders bigint, revenue float8, revenue_per_customer float8, cumulative_revenue_per_customer float8)
LANGUAGE sql STABLE
AS $fn$
WITH cp AS (
	-- per customer and period: orders, revenue; the customer's first and last period
	SELECT x.customer_id, x.p, x.orders, x.amount,
		   pg_catalog.min(x.p) OVER (PARTITION BY x.customer_id) AS cohort,
		   pg_catalog.max(x.p) OVER (PARTITION BY x.customer_id) AS last_p
	FROM (SELECT d.customer_id, clm.period_trunc(d.day, $5) AS p,
				 pg_catalog.sum(d.orders) AS orders, pg_catalog.sum(d.amount) AS amount
		  FROM clm.purchase_days($1, $2, $3, $4,
				CASE WHEN clm.period_step($5) IS NOT NULL THEN $6 END) d
		  WHERE $7 IS NULL OR d.day OPERATOR(pg_catalog.<=) $7
		  GROUP BY 1, 2) x
), active AS (
	SELECT c.cohort, c.p, pg_catalog.count(*) AS customers, pg_catalog.sum(c.orders) AS orders,
		   pg_catalog.sum(c.amount) AS revenue,
		   pg_catalog.count(*) FILTER (WHERE c.p OPERATOR(pg_catalog.=) c.cohort) AS size
	FROM cp c GROUP BY 1, 2
), lasts AS (
	-- customers by the period of their last purchase: rolling retention is a suffix sum
	SELECT c.cohort, c.last_p AS p, pg_catalog.count(*) AS n
	FROM cp c WHERE c.p OPERATOR(pg_catalog.=) c.cohort GROUP BY 1, 2
), grid AS (
	SELECT s.cohort, g.p::date AS p, s.size
	FROM (SELECT a.cohort, a.size FROM active a WHERE a.p OPERATOR(pg_catalog.=) a.cohort) s
	CROSS JOIN (SELECT pg_catalog.max(a.p) AS last FROM active a) m
	CROSS JOIN LATERAL pg_catalog.generate_series(s.cohort::timestamp, m.last::timestamp,
												  clm.period_interval($5)) g(p)
), cells AS (
	-- revenue 0 in a period without purchases, NULL without amount_column
	SELECT g.cohort, g.p, g.size, a.customers, a.orders,
		   CASE WHEN $4 IS NOT NULL THEN coalesce(a.revenue, 0) END AS revenue,
		   pg_catalog.sum(coalesce(l.n, 0)) OVER (PARTITION BY g.cohort ORDER BY g.p DESC) AS rolling
	FROM grid g
	LEFT JOIN active a ON a.cohort OPERATOR(pg_catalog.=) g.cohort AND a.p OPERATOR(pg_catalog.=) g.p
	LEFT JOIN lasts l ON l.cohort OPERATOR(pg_catalog.=) g.cohort AND l.p OPERATOR(pg_catalog.=) g.p
)
SELECT c.cohort, clm.period_index(c.cohort, c.p, $5), c.p, c.size,
	   coalesce(c.customers, 0), coalesce(c.customers, 0)::float8 OPERATOR(pg_catalog./) c.size,
	   c.rolling::bigint, c.rolling::float8 OPERATOR(pg_catalog./) c.size,
	   coalesce(c.orders, 0)::bigint, c.revenue,
	   c.revenue OPERATOR(pg_catalog./) c.size,
	   pg_catalog.sum(c.revenue) OVER w OPERATOR(pg_catalog./) c.size
FROM cells c
WINDOW w AS (PARTITION BY c.cohort ORDER BY c.p)
ORDER BY c.cohort, c.p
$fn$;

RESET client_min_messages;
\set ECHO all
