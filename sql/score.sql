-- score: clm.score (C, src/score.c) equals the SQL definition it replaced
-- (test/data/score_reference.sql, loaded as pg_temp.score_reference) field
-- by field, over generated customers (random purchase histories with
-- refunds, prospects, previous stages) scored at three as_of times in two
-- time zones (America/Santiago moves its clocks at midnight) against many
-- scoring contexts: both purchase model kinds, a model that did not
-- converge, no models, no context at all, random stage policies with the
-- rhythm rule on and off, random alert rules, a context built by hand with
-- a partial policy, another time unit; breakpoints from the same customers.
CREATE EXTENSION IF NOT EXISTS clm;
SET extra_float_digits = 0;
SET timezone = 'UTC';
\set ECHO none
\i test/data/score_reference.sql
\i test/data/score_value_reference.sql
\set ECHO all
SELECT setseed(0.18);

-- 400 customers: a start, a lifetime, a rate and a spend of their own;
-- 3 % of the rows are refunds (some windows' ratios negative)
CREATE TABLE sc_tx (customer_id int NOT NULL, ts timestamptz NOT NULL, amount float8 NOT NULL);
INSERT INTO sc_tx
WITH c AS (SELECT c, timestamptz '2022-01-01 00:00+00' + random() * 700 * interval '1 day' AS start,
				  -(10 + 600 * random() * random()) * ln(1 - random()) AS life,
				  0.003 + random() * random() * 0.2 AS rate, 5 + 200 * random() * random() AS spend
		   FROM generate_series(1, 400) c)
SELECT c.c, c.start + (CASE WHEN k = 0 THEN 0 ELSE random() * least(c.life, 900) END) * interval '1 day'
				+ random() * interval '1 day',
	   round((c.spend * (CASE WHEN random() < 0.03 THEN -0.5 ELSE 0.6 + 0.8 * random() END))::numeric, 2)
FROM c, generate_series(0, 60) k
WHERE k = 0 OR k <= c.rate * least(c.life, 900);
-- customers with a transaction on an as_of day (tenure 0, days_since_last 0)
INSERT INTO sc_tx VALUES (401, '2023-06-14 20:00+00', 10), (402, '2024-03-10 11:00+00', 20),
	(402, '2024-03-10 11:30+00', 5), (403, '2024-09-01 03:00+00', 12);
SELECT count(*) AS transactions, count(DISTINCT customer_id) AS customers,
	   count(*) FILTER (WHERE amount < 0) AS refunds FROM sc_tx;

-- scoring contexts
CREATE TABLE sc_ctx (ctx_id int PRIMARY KEY, ctx clm.scoring);
INSERT INTO sc_ctx VALUES
	-- fitted-like models, default policy and rules
	(1, clm.scoring(ROW(0.24, 4.4, 0.79, 2.43, -9000, 2357, 20, true, 'week', NULL)::clm.mbgnbd_model,
					ROW(6.25, 3.74, 15.44, -4000, 946, 0, 20, true, NULL)::clm.gamma_gamma_model)),
	(2, clm.scoring(ROW(0.24, 4.41, 0.79, 2.43, -9000, 2357, 20, true, 'week', NULL)::clm.bgnbd_model,
					ROW(6.25, 3.74, 15.44, -4000, 946, 0, 20, true, NULL)::clm.gamma_gamma_model,
					'{"at_risk_rhythm": 0, "new_days": 14.5, "at_risk_days": 60, "churn_days": 150}')),
	-- a purchase model that did not converge, no spend model: signals
	(3, clm.scoring(ROW(0.5, 2, 1, 1, -1, 10, 300, false, 'week', NULL)::clm.mbgnbd_model, NULL,
					'{"at_risk_rhythm": 2.5}', '{"high_value_min_risk": 0.3}')),
	-- no models
	(4, clm.scoring(NULL::clm.bgnbd_model, NULL)),
	-- the model in days, the summaries in weeks (a mismatch, but defined)
	(5, clm.scoring(ROW(0.24, 30.8, 0.79, 2.43, -9000, 2357, 20, true, 'day', NULL)::clm.bgnbd_model,
					ROW(6.25, 3.74, 15.44, -4000, 946, 0, 20, true, NULL)::clm.gamma_gamma_model,
					unit => 'day', horizon_months => 6)),
	-- no context at all, and one built by hand with a partial policy and
	-- no alert rules (the SQL read absent fields as NULL)
	(6, NULL),
	(7, ROW(NULL, ROW(0.3, 3, 0.5, 3, -1, 100, 20, true, 'week', NULL)::clm.mbgnbd_model,
			ROW(6.25, 3.74, 15.44, -4000, 946, 0, 20, true, NULL)::clm.gamma_gamma_model,
			12, 0.01, 'week', '{"churn_days": 200, "at_risk_risk": 0.6}', NULL)::clm.scoring);
-- random policies and rules, either model kind, the rhythm rule on or off
INSERT INTO sc_ctx
SELECT 10 + i,
	   CASE WHEN i % 2 = 0
			THEN clm.scoring(ROW(0.1 + random(), 1 + 10 * random(), 0.2 + random(), 0.5 + 3 * random(), -1, 100, 20, true, 'week', NULL)::clm.mbgnbd_model,
							 ROW(6.25, 3.74, 15.44, -4000, 946, 0, 20, true, NULL)::clm.gamma_gamma_model, p.policy, p.rules)
			ELSE clm.scoring(ROW(0.1 + random(), 1 + 10 * random(), 0.2 + random(), 0.5 + 3 * random(), -1, 100, 20, true, 'week', NULL)::clm.bgnbd_model,
							 ROW(6.25, 3.74, 15.44, -4000, 946, 0, 20, true, NULL)::clm.gamma_gamma_model, p.policy, p.rules) END
FROM generate_series(1, 10) i,
	 LATERAL (SELECT jsonb_build_object('new_days', round((random() * 60)::numeric, 1),
										'loyal_min_orders', 1 + floor(random() * 8),
										'at_risk_days', d.ard, 'churn_days', d.ard + round((1 + random() * 300)::numeric, 2),
										'at_risk_rhythm', CASE WHEN i % 3 = 0 THEN 0 ELSE round((1 + random() * 4)::numeric, 2) END,
										'at_risk_risk', d.arr, 'churned_risk', d.arr + round((0.01 + random() * (0.98 - d.arr))::numeric, 3))
				 AS policy,
				 jsonb_build_object('high_value_share', round((0.05 + random() * 0.9)::numeric, 2),
									'high_value_min_risk', round((random() * 0.99)::numeric, 3)) AS rules
			 FROM (SELECT round((5 + random() * 200)::numeric, 1) AS ard,
						  round((0.05 + random() * 0.8)::numeric, 3) AS arr, i) d) p;
SELECT count(*) AS contexts,
	   count(*) FILTER (WHERE ((ctx).purchase_mbgnbd).converged) AS mbgnbd,
	   count(*) FILTER (WHERE ((ctx).purchase_bgnbd).converged) AS bgnbd,
	   count(*) FILTER (WHERE ((ctx).policy ->> 'at_risk_rhythm')::float8 = 0) AS rhythm_off
FROM sc_ctx;

-- score everyone both ways in one time zone at one as_of; prospects (no
-- summary) come from a customers list; previous stages vary by customer
CREATE TABLE sc_result (tz text, as_of text, ctx_id int, customer_id int, diff text[],
						stage clm.stage, next_review boolean, hv boolean, model boolean);
CREATE FUNCTION sc_compare(tz text, as_of_text text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	as_of timestamptz;
BEGIN
	PERFORM pg_catalog.set_config('timezone', tz, true);
	as_of := as_of_text::timestamptz;
	INSERT INTO sc_result
	WITH s AS (
		SELECT c.customer_id, t.s, t.act
		FROM generate_series(1, 410) c(customer_id)
		LEFT JOIN (SELECT customer_id, clm.customer_summary(ts, amount, as_of, 'week') AS s,
						  clm.activity_trend(ts, amount, as_of, '60 days') AS act
				   FROM sc_tx WHERE ts <= as_of GROUP BY customer_id) t USING (customer_id)),
	v AS (SELECT x.ctx_id, x.ctx, s.*, v.p_alive, v.clv,
				 (ARRAY[NULL, 'new', 'active', 'loyal', 'at_risk', 'churned', 'reactivated', 'at_risk', 'reactivated'])
					[1 + (s.customer_id * 7 + x.ctx_id) % 9]::clm.stage AS prev
		  FROM s CROSS JOIN sc_ctx x LEFT JOIN LATERAL clm.score_value(s.s, x.ctx) v ON true),
	b AS (SELECT v.ctx_id,
				 clm.breakpoints(array_agg((v.s).days_since_last), array_agg((v.s).orders),
								 array_agg((v.s).total_amount), array_agg(v.clv), (v.ctx).rules) AS b
		  FROM v GROUP BY v.ctx_id, v.ctx)
	SELECT tz, as_of_text, v.ctx_id, v.customer_id,
		   array_remove(ARRAY[
			   CASE WHEN c.r IS DISTINCT FROM q.r THEN 'r' END,
			   CASE WHEN c.f IS DISTINCT FROM q.f THEN 'f' END,
			   CASE WHEN c.m IS DISTINCT FROM q.m THEN 'm' END,
			   CASE WHEN c.rfm_cell IS DISTINCT FROM q.rfm_cell THEN 'rfm_cell' END,
			   CASE WHEN c.segment IS DISTINCT FROM q.segment THEN 'segment' END,
			   CASE WHEN c.abc IS DISTINCT FROM q.abc THEN 'abc' END,
			   CASE WHEN c.churn_risk IS DISTINCT FROM q.churn_risk THEN 'churn_risk' END,
			   CASE WHEN c.health IS DISTINCT FROM q.health THEN 'health' END,
			   CASE WHEN c.stage IS DISTINCT FROM q.stage THEN 'stage' END,
			   CASE WHEN c.high_value_at_risk IS DISTINCT FROM q.high_value_at_risk THEN 'high_value_at_risk' END,
			   CASE WHEN c.next_review IS DISTINCT FROM q.next_review THEN 'next_review' END], NULL),
		   c.stage, c.next_review IS NOT NULL, c.high_value_at_risk, v.p_alive IS NOT NULL
	FROM v JOIN b USING (ctx_id),
		 LATERAL clm.score(v.s, v.act, v.p_alive, v.clv, v.ctx, b.b, as_of, v.prev) c,
		 LATERAL pg_temp.score_reference(v.s, v.act, v.p_alive, v.clv, v.ctx, b.b, as_of, v.prev) q;
END
$$;
SELECT sc_compare(tz, as_of)
FROM (VALUES ('UTC'), ('America/Santiago')) z(tz),
	 (VALUES ('2023-06-15 00:00'), ('2024-03-10 12:00'), ('2024-09-01 03:30')) a(as_of);

-- zero differences; what was covered
SELECT tz, as_of, count(*) AS scored, count(*) FILTER (WHERE diff <> '{}') AS differing,
	   count(*) FILTER (WHERE stage = 'prospect') AS prospects,
	   count(DISTINCT stage) AS stages, count(*) FILTER (WHERE next_review) AS with_next_review,
	   count(*) FILTER (WHERE hv) AS high_value_at_risk, count(*) FILTER (WHERE model) AS with_p_alive
FROM sc_result GROUP BY tz, as_of ORDER BY tz, as_of;
SELECT stage, count(*) FROM sc_result GROUP BY stage ORDER BY stage;
-- (empty: the first differing rows, if any)
SELECT tz, as_of, ctx_id, customer_id, diff FROM sc_result WHERE diff <> '{}'
ORDER BY tz, as_of, ctx_id, customer_id LIMIT 10;

-- clm.score_value (C since src/value.c) equals the SQL definition it
-- replaced (test/data/score_value_reference.sql) bit for bit, for every
-- customer (and a prospect) under every context; rows alternate between
-- contexts, so the decoded context is also replaced as it changes
WITH s AS (SELECT c.customer_id, t.s
		   FROM generate_series(1, 410) c(customer_id)
		   LEFT JOIN (SELECT customer_id, clm.customer_summary(ts, amount, '2024-03-10 12:00+00', 'week') AS s
					  FROM sc_tx WHERE ts <= '2024-03-10 12:00+00' GROUP BY customer_id) t USING (customer_id))
SELECT count(*) AS scored, count(v.p_alive) AS with_p_alive, count(v.clv) AS with_clv,
	   count(*) FILTER (WHERE (v.p_alive, v.clv) IS DISTINCT FROM (q.p_alive, q.clv)) AS differing
FROM s CROSS JOIN sc_ctx x,
	 LATERAL clm.score_value(s.s, x.ctx) v,
	 LATERAL pg_temp.score_value_reference(s.s, x.ctx) q;
-- a converged model with a NULL parameter is refused when the context is
-- made (clm.scoring converts it with clm.in_unit, which checks it), before
-- any customer is scored
SELECT v.* FROM clm.score_value(NULL, clm.scoring(ROW(0.24, NULL, 0.79, 2.43, -9000, 2357, 20, true, 'week', NULL)::clm.mbgnbd_model, NULL)) v;
SELECT v.* FROM clm.score_value(ROW('2024-01-01 00:00+00', '2024-02-01 00:00+00', 3, 2, 4.43, 10, 30, 30, 10, 10, 15.5)::clm.summary,
								 clm.scoring(ROW(0.24, NULL, 0.79, 2.43, -9000, 2357, 20, true, 'week', NULL)::clm.mbgnbd_model, NULL)) v;
SELECT v.* FROM pg_temp.score_value_reference(ROW('2024-01-01 00:00+00', '2024-02-01 00:00+00', 3, 2, 4.43, 10, 30, 30, 10, 10, 15.5)::clm.summary,
								 clm.scoring(ROW(0.24, NULL, 0.79, 2.43, -9000, 2357, 20, true, 'week', NULL)::clm.mbgnbd_model, NULL)) v;

-- the context and breakpoints are decoded once per call site and again
-- when they change: one query whose rows alternate between two contexts
-- and two breakpoints gives what each gives alone
WITH s AS (SELECT customer_id, clm.customer_summary(ts, amount, '2024-03-10 12:00+00', 'week') AS s
		   FROM sc_tx WHERE ts <= '2024-03-10 12:00+00' GROUP BY customer_id),
b AS (SELECT clm.breakpoints(array_agg((s).days_since_last), array_agg((s).orders),
							 array_agg((s).total_amount), array_agg(NULL::float8)) AS b1,
			 clm.breakpoints(array_agg((s).days_since_last), array_agg((s).orders),
							 array_agg(2 * (s).total_amount), array_agg(NULL::float8)) AS b2 FROM s),
alt AS (SELECT s.customer_id, s.s, CASE WHEN s.customer_id % 2 = 0 THEN 1 ELSE 13 END AS ctx_id,
			   CASE WHEN s.customer_id % 3 = 0 THEN b.b1 ELSE b.b2 END AS b
		FROM s, b)
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE (c.*)::text IS DISTINCT FROM (q.*)::text) AS differing
FROM alt JOIN sc_ctx x USING (ctx_id),
	 LATERAL clm.score(alt.s, NULL, NULL, NULL, x.ctx, alt.b, '2024-03-10 12:00+00') c,
	 LATERAL pg_temp.score_reference(alt.s, NULL, NULL, NULL, x.ctx, alt.b, '2024-03-10 12:00+00') q;

-- one deliberate difference: a risk threshold of 1 (churned_risk or
-- high_value_min_risk, both valid at 1) is never crossed; the SQL
-- definition failed on it for every customer with a lower risk
SELECT c.stage, c.churn_risk < 1 AS below_one, c.next_review
FROM clm.score(ROW('2024-01-01 00:00+00', '2024-02-01 00:00+00', 3, 2, 4.43, 10, 30, 30, 10, 10, 15.5)::clm.summary,
			   NULL, NULL, NULL, clm.scoring(NULL::clm.bgnbd_model, NULL, '{"churned_risk": 1}', '{"high_value_min_risk": 1}'),
			   clm.breakpoints('{1,2}', '{1,2}', '{1,2}', '{1,2}'), '2024-03-02 00:00+00') c;
SELECT q.stage, q.next_review FROM pg_temp.score_reference(ROW('2024-01-01 00:00+00', '2024-02-01 00:00+00', 3, 2, 4.43, 10, 30, 30, 10, 10, 15.5)::clm.summary,
			   NULL, NULL, NULL, clm.scoring(NULL::clm.bgnbd_model, NULL, '{"churned_risk": 1}'),
			   clm.breakpoints('{1,2}', '{1,2}', '{1,2}', '{1,2}'), '2024-03-02 00:00+00') q;

-- the result is a record: sc.* expands to the columns, and the job
-- runner's CREATE TABLE AS ... WITH NO DATA shape works
CREATE TEMP TABLE sc_shape AS
SELECT sc.* FROM clm.score(NULL, NULL, NULL, NULL, NULL, NULL, NULL) sc WITH NO DATA;
SELECT attname, atttypid::regtype FROM pg_attribute
WHERE attrelid = 'sc_shape'::regclass AND attnum > 0 ORDER BY attnum;
SELECT p.provolatile, p.proparallel, p.proisstrict, p.proretset
FROM pg_proc p WHERE p.oid = 'clm.score(clm.summary, clm.activity, float8, float8, clm.scoring, clm.breakpoints, timestamptz, clm.stage)'::regprocedure;

-- errors as before: breakpoints without cuts, an invalid policy, no as_of
SELECT clm.score(NULL, NULL, NULL, NULL, NULL, NULL, now());
SELECT clm.score(NULL, NULL, NULL, NULL, ROW(NULL, NULL, NULL, 12, 0.01, 'week', '{"churn_days": 10}', NULL)::clm.scoring,
				 clm.breakpoints('{1,2}', '{1,2}', '{1,2}', '{1,2}'), now());
SELECT clm.score(NULL, NULL, NULL, NULL, NULL, clm.breakpoints('{1,2}', '{1,2}', '{1,2}', '{1,2}'), NULL);

DROP FUNCTION sc_compare(text, text);
DROP TABLE sc_tx, sc_ctx, sc_result;
