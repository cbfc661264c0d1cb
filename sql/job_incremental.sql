-- job_incremental: an incremental job equals its twin that rescans and
-- rescores every customer at every run (same data, same as_of times, same
-- full refreshes, hence the same models and breakpoints), over a seeded
-- random sequence of inserts, late-dated inserts, updates, deletes, refunds
-- and clock advances; the job's full refresh equals the documented
-- one-query path field by field; churn risk, health and stage are
-- consistent; the session time zone does not matter.
CREATE EXTENSION IF NOT EXISTS clm;
SET extra_float_digits = 0;
-- (error: a server without clm preloaded warns that no worker will run
-- these jobs; nothing checked here depends on it)
SET client_min_messages = error;
SET timezone = 'UTC';
-- (the jobs run once a year, on 1 January: a background worker, where there
-- is one, must not run them as of now before the test runs them as of 1998)
SELECT setseed(0.42);

CREATE TABLE inc_tx (customer_id int NOT NULL, ts timestamptz NOT NULL, amount float8 NOT NULL);
CREATE INDEX ON inc_tx (customer_id);
-- 300 customers who buy at their own rate (some rarely) for their own
-- lifetime and spend around their own mean: data both models fit
INSERT INTO inc_tx
WITH c AS (SELECT c, timestamptz '1997-01-01' + random() * 90 * interval '1 day' AS start,
				  -(20 + 800 * random() * random()) * ln(1 - random()) AS life, 0.005 + random() * random() * 0.08 AS rate,
				  10 + 150 * random() * random() AS spend
		   FROM generate_series(1, 300) c)
SELECT c.c, c.start + (CASE WHEN k = 0 THEN 0 ELSE random() * least(c.life, 270) END) * interval '1 day',
	   round((c.spend * (0.6 + 0.8 * random()))::numeric, 2)
FROM c, generate_series(0, 40) k
WHERE k = 0 OR k <= c.rate * least(c.life, 270);

SELECT clm.create_job('inc', 'inc_tx', schedule => '0 0 1 1 *', full_refresh_every => '20 days', time_zone => 'Europe/Berlin') > 0 AS inc,
	   clm.create_job('twin', 'inc_tx', schedule => '0 0 1 1 *', incremental => false, full_refresh_every => '20 days',
					  time_zone => 'Europe/Berlin') > 0 AS twin;
CREATE TEMP VIEW inc_ids AS
SELECT (SELECT job_id FROM clm.jobs WHERE name = 'inc') AS i, (SELECT job_id FROM clm.jobs WHERE name = 'twin') AS t;
SELECT name, capture, incremental, time_zone FROM clm.jobs ORDER BY job_id;

-- mismatches between the two jobs' state, history and alerts (sums of
-- amounts are compared to 1e-6: the two jobs add a customer's rows in
-- different orders, which can change the last bit of a float8 sum)
CREATE FUNCTION inc_mismatches() RETURNS TABLE (events bigint, as_of_values bigint, history bigint, alerts bigint)
LANGUAGE sql AS $$
	WITH ids AS (SELECT (SELECT job_id FROM clm.jobs WHERE name = 'inc') AS i,
						(SELECT job_id FROM clm.jobs WHERE name = 'twin') AS t),
		 i AS (SELECT * FROM clm.customer_state WHERE job_id = (SELECT i FROM ids)),
		 t AS (SELECT * FROM clm.customer_state WHERE job_id = (SELECT t FROM ids))
	SELECT
		-- what changes only with purchases or at review times: everyone
		(SELECT count(*) FROM i FULL JOIN t USING (customer_id)
		 WHERE (i.first_purchase, i.last_purchase, i.orders, i.frequency, i.recency_weeks, round(i.total_amount::numeric, 6),
				round(i.avg_amount::numeric, 6), i.r, i.f, i.m, i.rfm_cell, i.segment, i.abc, i.stage, i.stage_since)
			   IS DISTINCT FROM
			   (t.first_purchase, t.last_purchase, t.orders, t.frequency, t.recency_weeks, round(t.total_amount::numeric, 6),
				round(t.avg_amount::numeric, 6), t.r, t.f, t.m, t.rfm_cell, t.segment, t.abc, t.stage, t.stage_since)),
		-- the as-of values of customers both scored at the same time
		(SELECT count(*) FROM i JOIN t USING (customer_id)
		 WHERE i.scored_at = t.scored_at
		   AND (round(i.p_alive::numeric, 9), round(i.clv::numeric, 6), round(i.churn_risk::numeric, 9), i.health, i.tenure_weeks, i.days_since_last,
				i.high_value_at_risk, i.next_review)
			   IS DISTINCT FROM
			   (round(t.p_alive::numeric, 9), round(t.clv::numeric, 6), round(t.churn_risk::numeric, 9), t.health, t.tenure_weeks, t.days_since_last,
				t.high_value_at_risk, t.next_review)),
		(SELECT count(*) FROM
			((SELECT customer_id, from_stage, to_stage, changed_at FROM clm.stage_history WHERE job_id = (SELECT i FROM inc_ids)
			  EXCEPT ALL
			  SELECT customer_id, from_stage, to_stage, changed_at FROM clm.stage_history WHERE job_id = (SELECT t FROM inc_ids))
			 UNION ALL
			 (SELECT customer_id, from_stage, to_stage, changed_at FROM clm.stage_history WHERE job_id = (SELECT t FROM inc_ids)
			  EXCEPT ALL
			  SELECT customer_id, from_stage, to_stage, changed_at FROM clm.stage_history WHERE job_id = (SELECT i FROM inc_ids))) d),
		(SELECT count(*) FROM
			((SELECT customer_id, kind, episode_start FROM clm.alerts WHERE job_id = (SELECT i FROM inc_ids)
			  EXCEPT ALL
			  SELECT customer_id, kind, episode_start FROM clm.alerts WHERE job_id = (SELECT t FROM inc_ids))
			 UNION ALL
			 (SELECT customer_id, kind, episode_start FROM clm.alerts WHERE job_id = (SELECT t FROM inc_ids)
			  EXCEPT ALL
			  SELECT customer_id, kind, episode_start FROM clm.alerts WHERE job_id = (SELECT i FROM inc_ids))) d)
$$;

-- 40 steps: a random change to the data, the clock moves on 0-12 days, both
-- jobs run; record the mismatches and how much each job scored
CREATE TABLE inc_log (step int, action text, as_of timestamptz, inc_scored bigint, twin_scored bigint,
					  events bigint, as_of_values bigint, history bigint, alerts bigint);
DO $$
DECLARE
	t timestamptz := '1998-01-01';
	act text;
	c int;
	ri clm.job_runs;
	rt clm.job_runs;
	m record;
BEGIN
	FOR step IN 1..40 LOOP
		act := (ARRAY['insert', 'late_insert', 'update', 'delete', 'refund', 'new_customer', 'nothing'])[1 + floor(random() * 7)::int];
		c := 1 + floor(random() * 300)::int;
		IF act = 'insert' THEN
			INSERT INTO inc_tx SELECT c + k, t - random() * interval '1 day', 20 + k FROM generate_series(0, 4) k;
		ELSIF act = 'late_insert' THEN
			INSERT INTO inc_tx VALUES (c, t - (30 + random() * 200) * interval '1 day', 42);
		ELSIF act = 'update' THEN
			UPDATE inc_tx SET amount = amount * 2 WHERE customer_id BETWEEN c AND c + 3;
		ELSIF act = 'delete' THEN
			DELETE FROM inc_tx WHERE customer_id = c AND ts = (SELECT max(ts) FROM inc_tx WHERE customer_id = c);
		ELSIF act = 'refund' THEN
			INSERT INTO inc_tx SELECT customer_id, t - interval '1 hour', -amount / 2
			FROM inc_tx WHERE customer_id = c ORDER BY ts DESC LIMIT 1;
		ELSIF act = 'new_customer' THEN
			INSERT INTO inc_tx VALUES (1000 + step, t - interval '2 hours', 99);
		END IF;
		t := t + floor(random() * 13) * interval '1 day' + interval '1 hour';
		ri := clm.run_job('inc', as_of => t);
		rt := clm.run_job('twin', as_of => t);
		SELECT * INTO m FROM inc_mismatches();
		INSERT INTO inc_log VALUES (step, act, t, ri.scored, rt.scored, m.events, m.as_of_values, m.history, m.alerts);
		IF ri.status <> 'succeeded' OR rt.status <> 'succeeded' THEN
			RAISE EXCEPTION 'step %: % / %', step, ri.message, rt.message;
		END IF;
	END LOOP;
END
$$;
-- no mismatch after any step
SELECT count(*) AS steps, sum(events) AS events, sum(as_of_values) AS as_of_values,
	   sum(history) AS history, sum(alerts) AS alerts
FROM inc_log;
-- the test means something: stages changed, alerts fired, and the
-- incremental job scored far fewer customers than its twin between full
-- refreshes
SELECT (SELECT count(*) > 20 FROM clm.stage_history WHERE job_id = (SELECT i FROM inc_ids) AND from_stage IS NOT NULL) AS transitions,
	   (SELECT count(DISTINCT kind) >= 3 FROM clm.alerts WHERE job_id = (SELECT i FROM inc_ids)) AS alert_kinds,
	   (SELECT sum(inc_scored) * 2 < sum(twin_scored) FROM inc_log) AS fewer_scored,
	   (SELECT count(*) FILTER (WHERE inc_scored < twin_scored) > 10 FROM inc_log) AS incremental_steps;
-- the purchase model converged, so P(alive) and the model form of churn risk
-- took part
SELECT ((scoring).purchase_mbgnbd).converged AS purchase_converged,
	   (SELECT count(*) FILTER (WHERE p_alive IS NOT NULL) > 250 FROM clm.customer_state WHERE job_id = (SELECT i FROM inc_ids)) AS scored_by_model
FROM clm.jobs WHERE name = 'inc';
-- no alert raised twice: one per customer and kind for each entry into
-- the stage (or into high value at risk)
SELECT count(*) AS alerts_without_transition
FROM clm.alerts a
WHERE a.job_id = (SELECT i FROM inc_ids) AND a.kind <> 'high_value_at_risk'
  AND NOT EXISTS (SELECT 1 FROM clm.stage_history h
				  WHERE h.job_id = (SELECT i FROM inc_ids) AND h.customer_id = a.customer_id AND h.changed_at = a.episode_start
					AND h.to_stage::text = CASE a.kind WHEN 'entered_at_risk' THEN 'at_risk' ELSE a.kind END);

-- consistency of churn risk, health and stage (README "one scoring
-- engine"): at_risk or churned exactly when churn_risk >= at_risk_risk
-- (0.7), churned implies churn_risk >= churned_risk (0.9); health falls
-- from the active stages to at_risk to churned
SELECT count(*) FILTER (WHERE (stage IN ('at_risk', 'churned')) <> (churn_risk >= 0.7)) AS risk_stage_mismatch,
	   count(*) FILTER (WHERE stage = 'churned' AND churn_risk < 0.9) AS churned_below_threshold
FROM clm.customer_state WHERE job_id = (SELECT i FROM inc_ids);
SELECT (SELECT avg(health) FROM clm.customer_state WHERE job_id = (SELECT i FROM inc_ids) AND stage = 'churned')
	 < (SELECT avg(health) FROM clm.customer_state WHERE job_id = (SELECT i FROM inc_ids) AND stage = 'at_risk') AS churned_below_at_risk,
	   (SELECT avg(health) FROM clm.customer_state WHERE job_id = (SELECT i FROM inc_ids) AND stage = 'at_risk')
	 < (SELECT avg(health) FROM clm.customer_state WHERE job_id = (SELECT i FROM inc_ids) AND stage IN ('new', 'active', 'loyal', 'reactivated')) AS at_risk_below_active;

-- one engine: a full refresh stores exactly what the documented one-query
-- path computes (same data, same as_of, the job's time zone)
SELECT status FROM clm.run_job('inc', as_of => '1998-12-01 00:00+00', full_refresh => true);
SET timezone = 'Europe/Berlin';
CREATE TEMP TABLE one_query AS
WITH s AS (
	SELECT customer_id::text AS customer_id,
		   clm.customer_summary(ts, amount, '1998-12-01 00:00+00', 'week') AS s,
		   clm.activity_trend(ts, amount, '1998-12-01 00:00+00', '90 days') AS act
	FROM inc_tx WHERE ts <= '1998-12-01 00:00+00' GROUP BY customer_id),
cold AS (
	SELECT clm.scoring(clm.mbgnbd_fit((s).frequency, (s).recency, (s).tenure) FILTER (WHERE (s).tenure > 0),
					   clm.gamma_gamma_fit((s).frequency, (s).repeat_avg_amount) FILTER (WHERE (s).tenure > 0)) AS ctx
	FROM s),
-- the job's fit starts from its last one, so it ends within the optimiser's
-- tolerance of the cold fit (checked below) rather than on the same bits:
-- score with the job's models, so that what is compared is the engine
ctx AS (SELECT scoring AS ctx FROM clm.jobs WHERE name = 'inc'),
fits AS (SELECT (c.ctx).purchase_mbgnbd AS cold_fit, (j.ctx).purchase_mbgnbd AS job_fit FROM cold c, ctx j),
v AS (SELECT s.*, v.* FROM s, ctx, LATERAL clm.score_value(s.s, ctx.ctx) v),
b AS (SELECT clm.breakpoints(array_agg((v.s).days_since_last), array_agg((v.s).orders),
							 array_agg((v.s).total_amount), array_agg(v.clv)) AS b FROM v)
SELECT v.customer_id, v.s, v.p_alive, v.clv, sc.*, fits.*, b.b AS bp
FROM fits, v, ctx, b, LATERAL clm.score(v.s, v.act, v.p_alive, v.clv, ctx.ctx, b.b, '1998-12-01 00:00+00') sc;
SET timezone = 'UTC';
-- the refresh's breakpoints are those over everyone (its high-value CLV cut
-- comes from the fit data, one CLV per distinct customer row)
SELECT count(DISTINCT q.bp) AS one_set,
	   bool_and(((q.bp).r_cuts, (q.bp).f_cuts, (q.bp).m_cuts, (q.bp).abc_a, (q.bp).abc_b, (q.bp).high_value_clv)
				= ((j.breakpoints).r_cuts, (j.breakpoints).f_cuts, (j.breakpoints).m_cuts, (j.breakpoints).abc_a,
				   (j.breakpoints).abc_b, (j.breakpoints).high_value_clv)) AS same_breakpoints,
	   bool_and((j.breakpoints).high_value_clv > 0) AS has_high_value_cut
FROM one_query q, clm.jobs j WHERE j.name = 'inc';
SELECT bool_and(abs((job_fit).r / (cold_fit).r - 1) < 1e-3 AND abs((job_fit).alpha / (cold_fit).alpha - 1) < 1e-3
				AND abs((job_fit).a / (cold_fit).a - 1) < 1e-2 AND abs((job_fit).b / (cold_fit).b - 1) < 1e-2
				AND abs((job_fit).loglik - (cold_fit).loglik) < 1e-6 * abs((cold_fit).loglik)) AS job_fit_is_the_cold_fit
FROM one_query;
-- the previous stage enters the stage rule (reactivated), so compare the
-- job with the one-query path given the same previous stages: here the
-- fields that do not depend on it.  The refresh rewrote only the rows that
-- changed or moved past the tolerance: those it wrote (scored_at = as_of)
-- hold exactly the one-query values; the others hold the class, stage and
-- summary exactly, the as-of values within the tolerance, and a review no
-- later than a day after the one-query path's where that comes before the
-- next full refresh
SELECT count(*) AS customers, count(*) FILTER (WHERE cs.scored_at = '1998-12-01 00:00+00') > 0 AS some_written,
	   count(*) FILTER (WHERE (cs.first_purchase, cs.last_purchase, cs.orders, cs.frequency, cs.recency_weeks,
							   cs.total_amount, cs.avg_amount, cs.r, cs.f, cs.m, cs.rfm_cell, cs.segment, cs.abc)
							  IS DISTINCT FROM
							  ((q.s).first_purchase, (q.s).last_purchase, (q.s).orders, (q.s).frequency, (q.s).recency,
							   (q.s).total_amount, (q.s).avg_amount, q.r, q.f, q.m, q.rfm_cell, q.segment, q.abc)
						   OR (cs.scored_at = '1998-12-01 00:00+00'
							   AND (cs.tenure_weeks, cs.days_since_last, cs.p_alive, cs.clv, cs.next_review)
								   IS DISTINCT FROM ((q.s).tenure, (q.s).days_since_last, q.p_alive, q.clv, q.next_review))
						   OR abs(cs.p_alive - q.p_alive) > 0.05
						   OR abs(cs.clv - q.clv) > 0.05 * greatest(abs(cs.clv), 0.1 * (j.breakpoints).high_value_clv)
						   OR (cs.next_review > q.next_review + interval '1 day'
							   AND q.next_review < '1998-12-01 00:00+00'::timestamptz + j.full_refresh_every)) AS differ,
	   count(*) FILTER (WHERE cs.stage <> 'reactivated'
						  AND ((cs.stage, cs.high_value_at_risk) IS DISTINCT FROM (q.stage, q.high_value_at_risk)
							   OR (cs.scored_at = '1998-12-01 00:00+00'
								   AND (cs.churn_risk, cs.health) IS DISTINCT FROM (q.churn_risk, q.health))
							   OR abs(cs.churn_risk - q.churn_risk) > 0.05 OR abs(cs.health - q.health) > 5)) AS differ_in_stage
FROM clm.customer_state cs JOIN one_query q USING (customer_id) JOIN clm.jobs j ON j.job_id = cs.job_id
WHERE cs.job_id = (SELECT i FROM inc_ids);

-- time zones: the same job run from sessions in two other time zones gives
-- the same state (the job's own zone is used)
SELECT clm.create_job('tz_a', 'inc_tx', schedule => '0 0 1 1 *', time_zone => 'Asia/Kolkata') > 0 AS a,
	   clm.create_job('tz_b', 'inc_tx', schedule => '0 0 1 1 *', time_zone => 'Asia/Kolkata') > 0 AS b;
SET timezone = 'UTC';
SELECT status FROM clm.run_job('tz_a', as_of => '1998-12-01 00:00+00');
SET timezone = 'America/Los_Angeles';
SELECT status FROM clm.run_job('tz_b', as_of => '1998-12-01 00:00+00');
SHOW timezone;
SET timezone = 'UTC';
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE (a.frequency, a.recency_weeks, a.tenure_weeks, a.days_since_last, a.r, a.f, a.m,
							   a.segment, a.abc, a.p_alive, a.clv, a.churn_risk, a.health, a.stage, a.next_review)
							  IS DISTINCT FROM
							  (b.frequency, b.recency_weeks, b.tenure_weeks, b.days_since_last, b.r, b.f, b.m,
							   b.segment, b.abc, b.p_alive, b.clv, b.churn_risk, b.health, b.stage, b.next_review)) AS differ
FROM clm.customer_state a JOIN clm.customer_state b USING (customer_id)
WHERE a.job_id = (SELECT job_id FROM clm.jobs WHERE name = 'tz_a')
  AND b.job_id = (SELECT job_id FROM clm.jobs WHERE name = 'tz_b');
-- and the zone matters: the same data in UTC counts other days
SELECT clm.create_job('tz_utc', 'inc_tx', schedule => '0 0 1 1 *', time_zone => 'UTC') > 0 AS created;
SELECT status FROM clm.run_job('tz_utc', as_of => '1998-12-01 00:00+00');
SELECT count(*) FILTER (WHERE a.days_since_last <> u.days_since_last) > 0 AS other_days
FROM clm.customer_state a JOIN clm.customer_state u USING (customer_id)
WHERE a.job_id = (SELECT job_id FROM clm.jobs WHERE name = 'tz_a')
  AND u.job_id = (SELECT job_id FROM clm.jobs WHERE name = 'tz_utc');

-- an idle run writes nothing and scores nobody
SELECT customers > 300 AS customers, scored, written FROM clm.run_job('inc', as_of => '1998-12-01 00:00:01+00');
-- a full refresh a week later rescores everyone but rewrites only the rows
-- whose class, stage or flags changed or whose as-of values moved past the
-- tolerance; every stored value stays within that tolerance of today's
SELECT scored = customers AS rescored_everyone, customers, written
FROM clm.run_job('inc', as_of => '1998-12-08 00:00+00', full_refresh => true);
SELECT count(*) AS customers,
	   count(*) FILTER (WHERE abs(s.p_alive - p.p_alive) > 0.05 OR abs(s.churn_risk - p.churn_risk) > 0.05
						   OR abs(s.clv - p.clv) > 0.05 * greatest(abs(s.clv), 0.1 * (j.breakpoints).high_value_clv) + 1e-9 OR abs(s.health - p.health) > 5
						   OR (s.stage, s.rfm_cell, s.abc, s.high_value_at_risk) IS DISTINCT FROM
							  (p.stage, p.rfm_cell, p.abc, p.high_value_at_risk)
						   OR (s.next_review > p.next_review + interval '1 day'
							   AND p.next_review < '1998-12-08 00:00+00'::timestamptz + j.full_refresh_every)) AS off
FROM clm.customer_state s JOIN clm.preview_job('inc', '1998-12-08 00:00+00') p USING (customer_id)
JOIN clm.jobs j ON j.job_id = s.job_id
WHERE j.name = 'inc';

SELECT clm.drop_job(name) FROM clm.jobs ORDER BY job_id;
SELECT count(*) AS capture_triggers_left FROM pg_trigger WHERE tgrelid = 'inc_tx'::regclass;
DROP TABLE inc_tx, inc_log;
DROP FUNCTION inc_mismatches();
DROP VIEW inc_ids;

-- change capture through the life of a source table
CREATE TABLE cap_tx (customer_id int, ts timestamptz, amount float8);
CREATE INDEX ON cap_tx (customer_id);
INSERT INTO cap_tx SELECT c, timestamptz '1998-01-01 00:00+00' + c * interval '1 day', 10 FROM generate_series(1, 5) c;
SELECT clm.create_job('cap', 'cap_tx', schedule => '0 0 1 1 *', time_zone => 'UTC', full_refresh_every => '30 days') > 0 AS created;
CREATE FUNCTION cap_run(t text) RETURNS TABLE (status text, customers bigint, scored bigint, written bigint, error text)
LANGUAGE sql AS $$ SELECT status, customers, scored, written, sqlstate || ': ' || message FROM clm.run_job('cap', as_of => t::timestamptz) $$;
CREATE FUNCTION cap_triggers() RETURNS text[] LANGUAGE sql AS
$$ SELECT array_agg(regexp_replace(tgname, '[0-9]+', 'N') ORDER BY tgname) FROM pg_trigger WHERE tgname LIKE 'zz\_clm\_capture\_%' $$;
SELECT * FROM cap_run('1998-02-01 00:00+00');
-- one new purchase: that customer, and those whose review time has come
-- (with five customers a day apart, the R cuts are a day apart too)
INSERT INTO cap_tx VALUES (2, '1998-02-01 12:00+00', 20);
SELECT * FROM cap_run('1998-02-02 00:00+00');
-- a row dated after the run's as_of (dated ahead, or committed while a run
-- was under way): not counted yet, and not lost: it is after the watermark
-- (the run's as_of), so nothing is logged and the next run reads it by time
INSERT INTO cap_tx VALUES (3, '1998-02-02 12:00+00', 50);
SELECT * FROM cap_run('1998-02-02 06:00+00');
SELECT customer_id, orders, (SELECT count(*) FROM clm.job_changes c WHERE c.job_id = s.job_id) AS queued,
	   (SELECT j.watermark FROM clm.jobs j WHERE j.job_id = s.job_id) AS watermark
FROM clm.customer_state s WHERE customer_id = '3' AND job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap');
SELECT * FROM cap_run('1998-02-02 18:00+00');
SELECT customer_id, orders, (SELECT count(*) FROM clm.job_changes c WHERE c.job_id = s.job_id) AS queued
FROM clm.customer_state s WHERE customer_id = '3' AND job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap');
-- TRUNCATE: every customer rescanned (and gone from the state)
TRUNCATE cap_tx;
INSERT INTO cap_tx VALUES (7, '1998-02-02 20:00+00', 30);
SELECT * FROM cap_run('1998-02-03 00:00+00');
-- RENAME: the triggers follow the table, the job's source name does not:
-- the run fails with a hint, alter_job points it at the new name, which
-- makes the next run a full refresh, and capture carries on
ALTER TABLE cap_tx RENAME TO cap_tx2;
SELECT status, error FROM cap_run('1998-02-04 00:00+00');
SELECT clm.alter_job('cap', source => 'cap_tx2');
SELECT source, capture FROM clm.jobs WHERE name = 'cap';
SELECT cap_triggers();
SELECT * FROM cap_run('1998-02-04 00:00+00');
INSERT INTO cap_tx2 VALUES (8, '1998-02-04 06:00+00', 30);
SELECT * FROM cap_run('1998-02-05 00:00+00');
-- DROP and create again under the same name: the triggers went with the
-- old table, so the next run rescans everyone and installs them again
ALTER TABLE cap_tx2 RENAME TO cap_tx;
SELECT clm.alter_job('cap', source => 'cap_tx');
SELECT * FROM cap_run('1998-02-05 00:00+00');
DROP TABLE cap_tx;
SELECT status, error FROM cap_run('1998-02-06 00:00+00');
CREATE TABLE cap_tx (customer_id int, ts timestamptz, amount float8);
INSERT INTO cap_tx VALUES (9, '1998-02-06 06:00+00', 40);
SELECT * FROM cap_run('1998-02-07 00:00+00');
SELECT cap_triggers();
INSERT INTO cap_tx VALUES (10, '1998-02-07 06:00+00', 40);
SELECT * FROM cap_run('1998-02-08 00:00+00');
-- incremental off: triggers removed, every run scans everything (but
-- writes only what changed); on again: triggers back
SELECT clm.alter_job('cap', incremental => false);
SELECT incremental, capture, cap_triggers() FROM clm.jobs WHERE name = 'cap';
SELECT * FROM cap_run('1998-02-09 00:00+00');
SELECT clm.alter_job('cap', incremental => true);
SELECT incremental, capture, cap_triggers() FROM clm.jobs WHERE name = 'cap';
-- what is logged: changes to rows at or before the watermark, once per
-- customer; rows after it (new purchases) are not logged at all
INSERT INTO cap_tx SELECT 4, '1998-02-10 00:00+00'::timestamptz + g * interval '1 minute', 1 FROM generate_series(1, 100) g;
SELECT count(*) AS logged_after_100_new_rows FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap');
INSERT INTO cap_tx VALUES (5, '1998-01-20 00:00+00', 5), (5, '1998-01-21 00:00+00', 5);   -- late rows
UPDATE cap_tx SET amount = amount + 1 WHERE customer_id = 9;                              -- a refund of an old purchase
DELETE FROM cap_tx WHERE customer_id = 5 AND ts = '1998-01-21 00:00+00';
SELECT customer_id FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap') ORDER BY 1;
-- an update of a column the job does not read logs nothing
ALTER TABLE cap_tx ADD COLUMN note text;
DELETE FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap');
UPDATE cap_tx SET note = 'seen' WHERE customer_id = 9;
SELECT count(*) AS logged_after_note FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap');
INSERT INTO clm.job_changes VALUES ((SELECT job_id FROM clm.jobs WHERE name = 'cap'), '9'), ((SELECT job_id FROM clm.jobs WHERE name = 'cap'), '5');
ALTER TABLE cap_tx DROP COLUMN note;
SELECT * FROM cap_run('1998-02-10 12:00+00');
-- incremental = full after all that (the summaries: a full refresh would
-- also refit the models and move the RFM cuts)
SELECT count(*) AS differ
FROM clm.customer_state s
FULL JOIN clm.preview_job('cap', '1998-02-10 12:00+00') p USING (customer_id)
WHERE s.job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap')
  AND (s.first_purchase, s.last_purchase, s.orders, s.total_amount) IS DISTINCT FROM (p.first_purchase, p.last_purchase, p.orders, p.total_amount);
-- capture never fails the writer's statement: a renamed column logs a
-- full rescan, and the next run fails and says why (the table's writes go on)
ALTER TABLE cap_tx RENAME COLUMN amount TO amt;
INSERT INTO cap_tx VALUES (6, '1998-01-05 00:00+00', 7);
UPDATE cap_tx SET amt = amt WHERE customer_id = 6;
SELECT customer_id FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap');
SELECT status, error FROM cap_run('1998-02-10 13:00+00');
ALTER TABLE cap_tx RENAME COLUMN amt TO amount;
SELECT status FROM cap_run('1998-02-10 14:00+00');
-- a disabled job: its log goes (a rescan is asked for instead) and
-- nothing more is logged until it is enabled again
SELECT clm.alter_job('cap', enabled => false);
INSERT INTO cap_tx VALUES (6, '1998-01-06 00:00+00', 7);
SELECT customer_id FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap');
SELECT clm.alter_job('cap', enabled => true);
INSERT INTO cap_tx VALUES (6, '1998-01-07 00:00+00', 7);
SELECT customer_id FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap') ORDER BY 1;
SELECT status, scored = customers AS full_rescan FROM cap_run('1998-02-10 15:00+00');
-- a job's log is only its owner's to write: the capture trigger writes it
-- as clm's table owner; a user may insert only for their own jobs
CREATE ROLE regress_cap_other;
GRANT ALL ON cap_tx TO regress_cap_other;
SET ROLE regress_cap_other;
INSERT INTO clm.job_changes VALUES ((SELECT 1::bigint), NULL);
INSERT INTO cap_tx VALUES (6, '1998-01-08 00:00+00', 7);   -- their write is still captured
RESET ROLE;
SELECT customer_id FROM clm.job_changes WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'cap') ORDER BY 1;
REVOKE ALL ON cap_tx FROM regress_cap_other;
DROP ROLE regress_cap_other;
-- a view cannot carry triggers: scanned whole (create_job says so in a NOTICE)
CREATE VIEW cap_view AS SELECT * FROM cap_tx;
SELECT clm.create_job('cap_v', 'cap_view', schedule => '0 0 1 1 *', time_zone => 'UTC') > 0 AS created;
SELECT capture FROM clm.jobs WHERE name = 'cap_v';
SELECT clm.drop_job('cap_v');
DROP VIEW cap_view;
SELECT clm.drop_job('cap');
SELECT cap_triggers() AS triggers_left;
DROP TABLE cap_tx;
DROP FUNCTION cap_run(text);
DROP FUNCTION cap_triggers();
