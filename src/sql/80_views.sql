-- Dashboards.  security_invoker views: the tables' row security decides
-- what each reader sees (their own jobs; superusers and BYPASSRLS roles
-- everything), as when the tables are queried directly.
CREATE VIEW @extschema@.segment_summary WITH (security_invoker = true) AS
SELECT j.name AS job, s.segment, count(*) AS customers,
	   sum(s.total_amount) AS revenue,
	   sum(s.total_amount) / nullif(sum(sum(s.total_amount)) OVER (PARTITION BY j.name), 0) AS revenue_share,
	   avg(s.clv) AS avg_clv, avg(s.churn_risk) AS avg_churn_risk
FROM @extschema@.customer_state s JOIN @extschema@.jobs j USING (job_id)
GROUP BY j.name, s.segment;
COMMENT ON VIEW @extschema@.segment_summary IS 'customers, revenue and share of revenue per RFM segment, per job';

CREATE VIEW @extschema@.stage_summary WITH (security_invoker = true) AS
SELECT j.name AS job, s.stage, count(*) AS customers,
	   count(*)::float8 / sum(count(*)) OVER (PARTITION BY j.name) AS customer_share,
	   sum(s.total_amount) AS revenue, sum(s.clv) AS clv, avg(s.churn_risk) AS avg_churn_risk,
	   avg(s.health) AS avg_health
FROM @extschema@.customer_state s JOIN @extschema@.jobs j USING (job_id)
GROUP BY j.name, s.stage;
COMMENT ON VIEW @extschema@.stage_summary IS 'customers, revenue, CLV, risk and health per lifecycle stage, per job';

CREATE VIEW @extschema@.stage_funnel WITH (security_invoker = true) AS
SELECT j.name AS job, h.from_stage, h.to_stage, count(*) AS transitions,
	   -- the job's own clock: a job run as of a past date has its history there
	   count(*) FILTER (WHERE h.changed_at > j.last_as_of - interval '30 days') AS last_30_days,
	   max(h.changed_at) AS last_seen
FROM @extschema@.stage_history h JOIN @extschema@.jobs j USING (job_id)
GROUP BY j.name, h.from_stage, h.to_stage;
COMMENT ON VIEW @extschema@.stage_funnel IS 'stage transitions per job: how many customers moved from one stage to another, in all and in the 30 days up to the as_of of the job''s last run';

CREATE VIEW @extschema@.open_alerts WITH (security_invoker = true) AS
SELECT a.alert_id, j.name AS job, a.customer_id, a.kind, a.raised_at, a.details
FROM @extschema@.alerts a JOIN @extschema@.jobs j USING (job_id)
WHERE a.acknowledged_at IS NULL;
COMMENT ON VIEW @extschema@.open_alerts IS 'alerts not yet acknowledged';
GRANT SELECT ON @extschema@.segment_summary, @extschema@.stage_summary,
	@extschema@.stage_funnel, @extschema@.open_alerts TO PUBLIC;
