-- jobs: create, run (the worker's code path), state, history, alerts once
-- per episode, failures recorded, ownership, dashboards
-- a server without clm preloaded (make installcheck) warns that no worker
-- will run these jobs; nothing checked here depends on it
SET client_min_messages = error;
SET timezone = 'UTC';
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql

-- transactions relative to now(), the as_of of a run
CREATE TABLE shop_tx (customer_id bigint, ts timestamptz, amount numeric);
INSERT INTO shop_tx
SELECT 1, now() - d * interval '1 day', 20 FROM unnest('{5, 20, 35, 50, 65, 80}'::int[]) d  -- loyal: 6 orders
UNION ALL SELECT 2, now() - d * interval '1 day', 15 FROM unnest('{100, 130}'::int[]) d      -- silent 100 days: at_risk
UNION ALL SELECT 3, now() - interval '200 days', 50                                        -- silent 200 days: churned
UNION ALL SELECT 4, now() - interval '3 days', 10;                                         -- new
CREATE TABLE shop_customers (customer_id bigint);
INSERT INTO shop_customers SELECT generate_series(1, 5);                                   -- 5 never bought: prospect

SELECT clm.create_job('shop', 'shop_tx', schedule => '1 hour', customers_source => 'shop_customers') > 0 AS created;
SELECT name, source, customer_column, ts_column, amount_column, customers_source, schedule, enabled,
	   owner = current_user AS mine, next_run_at <= now() AS due
FROM clm.jobs;

-- run 1: the baseline.  Every customer is classified (history from NULL),
-- no alerts (nothing changed yet)
SELECT status, customers, alerts, sqlstate, message FROM clm.run_job('shop');
SELECT customer_id, orders, stage, segment IS NOT NULL AS has_segment, churn_risk BETWEEN 0 AND 1 AS risk_ok,
	   stage_since = scored_at AS since_now
FROM clm.customer_state ORDER BY customer_id;
SELECT customer_id, from_stage, to_stage FROM clm.stage_history ORDER BY customer_id, id;
SELECT count(*) AS alerts FROM clm.alerts;
SELECT last_run_at IS NOT NULL AS ran, next_run_at > now() AS rescheduled FROM clm.jobs;

-- run 2: customer 1 goes quiet (recent purchases removed: the last one 50
-- days ago, 15 days apart -> overdue by more than 3 gaps: at_risk);
-- customer 3 comes back today (churned -> reactivated); customer 2 stays
-- at_risk
DELETE FROM shop_tx WHERE customer_id = 1 AND ts > now() - interval '40 days';
INSERT INTO shop_tx VALUES (3, date_trunc('day', now()), 30);  -- today, whatever the time of day
SELECT status, customers, alerts, sqlstate, message FROM clm.run_job('shop');
SELECT customer_id, kind, details ->> 'from_stage' AS from_stage, details ->> 'stage' AS stage
FROM clm.alerts ORDER BY customer_id, kind;
SELECT customer_id, from_stage, to_stage FROM clm.stage_history WHERE from_stage IS NOT NULL ORDER BY customer_id, id;

-- run 3 on the same data: nothing new, no duplicate alerts
SELECT status, customers, alerts, sqlstate, message FROM clm.run_job('shop');
SELECT count(*) AS alerts, count(DISTINCT (customer_id, kind)) AS distinct_episodes FROM clm.alerts;

-- high value at risk: with stored CLV models (fitted on CDNOW, weeks) and
-- the rule widened to every customer with a CLV and any risk, those newly
-- flagged raise it once
SELECT count(*) FROM (SELECT clm.fit_model('jobs_bg', 'bgnbd', 'SELECT x, t_x, "T" FROM cdnow_summary'),
							 clm.fit_model('jobs_gg', 'gamma_gamma', 'SELECT x, zbar FROM cdnow_summary')) f;
SELECT clm.alter_job('shop', purchase_model => 'jobs_bg', spend_model => 'jobs_gg',
					 alert_rules => '{"high_value_share": 1, "high_value_min_risk": 0}');
SELECT status, alerts > 0 AS raised FROM clm.run_job('shop');
SELECT customer_id, clv > 0 AS has_clv, round(p_alive::numeric, 3) AS p_alive, high_value_at_risk
FROM clm.customer_state ORDER BY customer_id;
SELECT status, alerts FROM clm.run_job('shop');
SELECT count(*) = count(DISTINCT customer_id) AS once_each FROM clm.alerts WHERE kind = 'high_value_at_risk';

-- dashboards
SELECT job, stage, customers FROM clm.stage_summary ORDER BY stage;
SELECT job, sum(customers) AS customers, round(sum(revenue_share)::numeric, 6) AS share FROM clm.segment_summary GROUP BY job;
SELECT from_stage, to_stage, transitions, last_30_days FROM clm.stage_funnel ORDER BY from_stage NULLS FIRST, to_stage;
-- the 30 days are the job's: with its history and last run a year back
-- (a job run on past data), the same counts
BEGIN;
SELECT (clm.job_tables('shop')).history AS shop_history \gset
UPDATE :shop_history SET changed_at = changed_at - interval '1 year';
UPDATE clm.jobs SET last_as_of = last_as_of - interval '1 year' WHERE name = 'shop';
SELECT sum(transitions) AS transitions, sum(last_30_days) AS last_30_days FROM clm.stage_funnel;
ROLLBACK;
SELECT count(*) AS open_alerts FROM clm.open_alerts;
SELECT clm.acknowledge_alert(min(alert_id)) FROM clm.alerts;
SELECT count(*) AS open_alerts FROM clm.open_alerts;

-- run history
SELECT trigger, status, customers, scored, written FROM clm.job_runs ORDER BY run_id;

-- text and uuid customer keys work too
CREATE TABLE uuid_tx AS
SELECT ('00000000-0000-0000-0000-00000000000' || (i % 3))::uuid AS cust, now() - i * interval '9 days' AS at, i * 1.5 AS value
FROM generate_series(1, 9) i;
SELECT clm.create_job('uuid_shop', 'uuid_tx', customer_column => 'cust', ts_column => 'at', amount_column => 'value') > 0 AS created;
SELECT status, customers FROM clm.run_job('uuid_shop');
SELECT customer_id, orders FROM clm.customer_state s JOIN clm.jobs j USING (job_id)
WHERE j.name = 'uuid_shop' ORDER BY customer_id;

-- a failing job is recorded as failed and leaves the state as it was
CREATE TABLE doomed_tx AS SELECT * FROM shop_tx;
SELECT clm.create_job('doomed', 'doomed_tx') > 0 AS created;
SELECT status, customers FROM clm.run_job('doomed');
DROP TABLE doomed_tx;
SELECT status, sqlstate, message FROM clm.run_job('doomed');
SELECT count(*) AS state_kept FROM clm.customer_state s JOIN clm.jobs j USING (job_id) WHERE j.name = 'doomed';

-- ownership: jobs run as their owner, with the owner's privileges; users
-- see and change only their own jobs
CREATE ROLE regress_clm_analyst;
CREATE TABLE secret_tx AS SELECT * FROM shop_tx;
REVOKE ALL ON secret_tx FROM PUBLIC;
GRANT SELECT ON shop_tx TO regress_clm_analyst;
SET ROLE regress_clm_analyst;
SELECT name FROM clm.jobs;                               -- none of the others' jobs
SELECT count(*) AS visible_state FROM clm.customer_state;
SELECT clm.run_job('shop');                              -- not theirs
SELECT clm.create_job('analyst_secret', 'secret_tx') > 0 AS created;
SELECT status, sqlstate, message FROM clm.run_job('analyst_secret'); -- permission denied, recorded
SELECT clm.create_job('analyst_shop', 'shop_tx') > 0 AS created;
SELECT status, customers FROM clm.run_job('analyst_shop');
SELECT name, CASE WHEN owner = session_user THEN '(the superuser)' ELSE owner END AS owner FROM clm.jobs ORDER BY name;
UPDATE clm.jobs SET owner = 'postgres' WHERE name = 'analyst_shop';  -- cannot give jobs away
SELECT count(*) AS stages FROM clm.stage_summary;
RESET ROLE;
-- a superuser sees all jobs; running someone else's job runs it as its owner
SELECT name, CASE WHEN owner = session_user THEN '(the superuser)' ELSE owner END AS owner FROM clm.jobs ORDER BY name;
SELECT status, sqlstate, message FROM clm.run_job('analyst_secret');

-- validation
\set SHOW_CONTEXT never
SELECT clm.create_job('bad', 'no_such_table');
SELECT clm.create_job('bad', 'shop_tx', ts_column => 'when');
SELECT clm.create_job('bad', 'shop_tx', schedule => '0 seconds');
SELECT clm.create_job('bad', 'shop_tx', policy => '{"churn_days": 10}');
SELECT clm.create_job('bad', 'shop_tx', alert_rules => '{"entered_at_risk": "yes"}');
SELECT clm.create_job('bad', 'shop_tx', alert_rules => '{"high_value_share": 2}');
SELECT clm.create_job('bad', 'shop_tx', alert_rules => '{"vip": true}');
SELECT clm.create_job('shop', 'shop_tx');
SELECT clm.alter_job('nope', enabled => false);
SELECT clm.run_job('nope');
SELECT clm.drop_job('nope');

-- drop_job removes the job with its state, history, alerts and runs
SELECT clm.drop_job('uuid_shop');
SELECT count(*) FROM clm.customer_state s WHERE NOT EXISTS (SELECT 1 FROM clm.jobs j WHERE j.job_id = s.job_id);
SELECT name FROM clm.jobs ORDER BY name;
-- clean up for the tests that follow (drop_job also removes the capture
-- triggers from shop_tx)
SELECT count(clm.drop_job(name)) AS dropped FROM clm.jobs;
REVOKE SELECT ON shop_tx FROM regress_clm_analyst;
DROP ROLE regress_clm_analyst;
