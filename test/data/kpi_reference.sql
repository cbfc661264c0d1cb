-- kpi_reference.sql: clm.kpi as it was first written (window functions over
-- clm.purchase_days: lag, lead and a running sum per customer), kept as an
-- independent path that sql/kpi.sql checks clm.kpi (src/kpi.c) against.
-- Silent: \i it first thing; only the \i line shows in a test's output.
\set ECHO none
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS kpi_reference(regclass, text, text, text, integer, integer, text, date, date);
CREATE FUNCTION kpi_reference(
	source regclass, customer_column text DEFAULT 'customer_id', ts_column text DEFAULT 'ts',
	period text DEFAULT 'month', active_days integer DEFAULT 90, window_days integer DEFAULT NULL,
	time_zone text DEFAULT NULL, from_day date DEFAULT NULL, to_day date DEFAULT NULL)
RETURNS TABLE (
	period_start date, period_end date,
	customers_start bigint, new bigint, active_end bigint, lost bigint, reactivated bigint,
	lapsed_start bigint, buyers bigint, repeat_buyers bigint,
	retention_rate float8, churn_rate float8, repeat_purchase_rate float8, winback_rate float8)
LANGUAGE sql STABLE
AS $fn$
WITH days AS (
	SELECT d.customer_id, d.day, d.orders,
		   pg_catalog.lag(d.day) OVER w AS prev_day,
		   pg_catalog.lead(d.day) OVER w AS next_day,
		   pg_catalog.sum(d.orders) OVER w AS orders_so_far
	-- (the CASE makes the argument check run even on an empty source)
	FROM clm.purchase_days($1, $2, $3, NULL,
			CASE WHEN clm.kpi_window($4, $5, $6) OPERATOR(pg_catalog.>) 0 THEN $7 END) d
	WINDOW w AS (PARTITION BY d.customer_id ORDER BY d.day)
), periods AS (
	SELECT p.period_start, p.period_end
	FROM (SELECT coalesce($8, pg_catalog.min(d.day)) AS lo, coalesce($9, pg_catalog.max(d.day)) AS hi
		  FROM days d) b,
		 clm.kpi_periods(b.lo, b.hi, $4, $6) p
), buys AS (
	SELECT x.e AS period_end,
		   pg_catalog.count(*) FILTER (WHERE x.prev_day IS NULL) AS new,
		   pg_catalog.count(*) FILTER (WHERE x.prev_day IS NULL
										 OR x.prev_day OPERATOR(pg_catalog.<) x.s) AS buyers,
		   pg_catalog.count(*) FILTER (WHERE x.prev_day OPERATOR(pg_catalog.<)
										 (x.s OPERATOR(pg_catalog.-) $5)) AS reactivated,
		   pg_catalog.count(*) FILTER (WHERE (x.next_day IS NULL
											  OR x.next_day OPERATOR(pg_catalog.>=) x.e)
										 AND x.orders_so_far OPERATOR(pg_catalog.>=) 2) AS repeat_buyers
	FROM (SELECT y.*, clm.period_start_of(y.e, $4, $6) AS s
		  FROM (SELECT d.prev_day, d.next_day, d.orders_so_far, clm.period_end_of(d.day, $4)::date AS e
				FROM days d WHERE $6 IS NULL
				UNION ALL
				SELECT d.prev_day, d.next_day, d.orders_so_far,
					   pg_catalog.generate_series(clm.period_end_of(d.day, $4),
												  clm.period_last_end(d.day, $4, $6),
												  clm.period_interval($4))::date
				FROM days d WHERE $6 IS NOT NULL) y) x
	GROUP BY x.e
), lapses AS (
	-- d + n is the customer's last active day when no purchase follows by then
	SELECT x.e AS period_end, pg_catalog.count(*) AS lost
	FROM (SELECT d.next_day, clm.period_end_of(d.day OPERATOR(pg_catalog.+) $5, $4)::date AS e
		  FROM days d WHERE $6 IS NULL
		  UNION ALL
		  SELECT d.next_day,
				 pg_catalog.generate_series(clm.period_end_of(d.day OPERATOR(pg_catalog.+) $5, $4),
											clm.period_last_end(d.day OPERATOR(pg_catalog.+) $5, $4, $6),
											clm.period_interval($4))::date
		  FROM days d WHERE $6 IS NOT NULL) x
	WHERE x.next_day IS NULL OR x.next_day OPERATOR(pg_catalog.>=) x.e
	GROUP BY x.e
), deltas AS (
	-- a customer's active spans [d + 1, d + n] merged: +1 where one starts
	-- after a gap (or the first purchase), -1 after one ends
	SELECT x.day, pg_catalog.sum(x.da) AS da, pg_catalog.sum(x.dk) AS dk
	FROM (SELECT d.day OPERATOR(pg_catalog.+) 1 AS day, 1 AS da, (d.prev_day IS NULL)::integer AS dk
		  FROM days d
		  WHERE d.prev_day IS NULL OR (d.prev_day OPERATOR(pg_catalog.+) $5) OPERATOR(pg_catalog.<) d.day
		  UNION ALL
		  SELECT (d.day OPERATOR(pg_catalog.+) $5) OPERATOR(pg_catalog.+) 1, -1, 0
		  FROM days d
		  WHERE d.next_day IS NULL OR d.next_day OPERATOR(pg_catalog.>) (d.day OPERATOR(pg_catalog.+) $5)
		  UNION ALL
		  SELECT p.period_start, 0, 0 FROM periods p
		  UNION ALL
		  SELECT p.period_end, 0, 0 FROM periods p) x
	GROUP BY x.day
), running AS (
	-- active(t): customers with a purchase in [t - n, t); known(t): first purchase before t
	SELECT r.day, pg_catalog.sum(r.da) OVER o AS active, pg_catalog.sum(r.dk) OVER o AS known
	FROM deltas r WINDOW o AS (ORDER BY r.day)
)
SELECT p.period_start, p.period_end,
	   s.active::bigint, coalesce(b.new, 0), e.active::bigint, coalesce(l.lost, 0), coalesce(b.reactivated, 0),
	   (s.known OPERATOR(pg_catalog.-) s.active)::bigint, coalesce(b.buyers, 0), coalesce(b.repeat_buyers, 0),
	   (e.active OPERATOR(pg_catalog.-) coalesce(b.new, 0))::float8 OPERATOR(pg_catalog./) nullif(s.active, 0),
	   coalesce(l.lost, 0)::float8 OPERATOR(pg_catalog./) nullif(s.active, 0),
	   coalesce(b.repeat_buyers, 0)::float8 OPERATOR(pg_catalog./) nullif(b.buyers, 0),
	   coalesce(b.reactivated, 0)::float8 OPERATOR(pg_catalog./) nullif(s.known OPERATOR(pg_catalog.-) s.active, 0)
FROM periods p
JOIN running s ON s.day OPERATOR(pg_catalog.=) p.period_start
JOIN running e ON e.day OPERATOR(pg_catalog.=) p.period_end
LEFT JOIN buys b ON b.period_end OPERATOR(pg_catalog.=) p.period_end
LEFT JOIN lapses l ON l.period_end OPERATOR(pg_catalog.=) p.period_end
ORDER BY p.period_end
$fn$;
RESET client_min_messages;
\set ECHO all
