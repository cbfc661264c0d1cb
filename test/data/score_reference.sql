-- score_reference.sql: the SQL definition of clm.score (and of its helper
-- clm.next_risk_crossing) as it was before clm.score moved to C
-- (src/score.c), copied verbatim into pg_temp as pg_temp.score_reference and
-- pg_temp.next_risk_crossing.  sql/score.sql compares the two field by
-- field.  Do not edit: it is the reference the C code must reproduce.
-- next_risk_crossing: the first local midnight after as_of at which churn
-- risk reaches thr if the customer buys nothing more.  Risk only moves at
-- local midnight (tenure and days_since_last count local days), so the
-- crossing is rounded up to one; a customer on the day of their first
-- purchase is scored by the signals today and by the model from tomorrow.
-- One expression, so the planner inlines it.
CREATE FUNCTION pg_temp.next_risk_crossing(
	s clm.summary, p_alive float8, ctx clm.scoring, thr float8, as_of timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT clm.crossing_time(
		CASE WHEN p_alive IS NOT NULL THEN (s).first_purchase ELSE (s).last_purchase END,
		CASE WHEN p_alive IS NOT NULL AND ((ctx).purchase_mbgnbd).converged
			 THEN clm.risk_crossing_tenure(((ctx).purchase_mbgnbd).r, ((ctx).purchase_mbgnbd).alpha,
					((ctx).purchase_mbgnbd).a, ((ctx).purchase_mbgnbd).b, true,
					(s).frequency, (s).recency, thr)
				  OPERATOR(pg_catalog.*) coalesce(clm.unit_days((ctx).unit), 1)
			 WHEN p_alive IS NOT NULL AND ((ctx).purchase_bgnbd).converged
			 THEN clm.risk_crossing_tenure(((ctx).purchase_bgnbd).r, ((ctx).purchase_bgnbd).alpha,
					((ctx).purchase_bgnbd).a, ((ctx).purchase_bgnbd).b, false,
					(s).frequency, (s).recency, thr)
				  OPERATOR(pg_catalog.*) coalesce(clm.unit_days((ctx).unit), 1)
			 WHEN (s).tenure OPERATOR(pg_catalog.=) 0
				  AND (((ctx).purchase_mbgnbd).converged OR ((ctx).purchase_bgnbd).converged)
			 THEN 1
			 ELSE clm.risk_crossing_days((s).orders, (s).avg_days_between, thr) END,
		as_of)
$fn$;

-- score: every other per-customer score, consistent by construction:
--  * churn_risk is 1 - P(alive) when a model applies, else the signal form;
--    the stage rules act on it, and the stage raises it to at least its own
--    threshold (at_risk_risk for at_risk, churned_risk for churned: the day
--    rules are business overrides of the model, and the reported risk honours
--    them), so a customer is at_risk or churned exactly when churn_risk >=
--    at_risk_risk;
--  * health is clm.health_score of that same churn_risk and the activity
--    ratios;
--  * high_value_at_risk = CLV in the high-value share and churn_risk >=
--    high_value_min_risk;
--  * next_review is the earliest time at which the stage, the R score or the
--    high-value flag can change if the customer buys nothing more (the day
--    rules, the rhythm rule, the next R cut and the risk thresholds), which
--    is when an incremental job scores the customer again.
CREATE FUNCTION pg_temp.score_reference(
	s clm.summary, activity clm.activity, p_alive float8, clv float8,
	ctx clm.scoring, b clm.breakpoints, as_of timestamptz,
	previous_stage clm.stage DEFAULT NULL)
RETURNS TABLE (r integer, f integer, m integer, rfm_cell text, segment text, abc text,
			   churn_risk float8, health float8, stage clm.stage,
			   high_value_at_risk boolean, next_review timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE	-- local days follow TimeZone (a job sets its own)
AS $fn$
	SELECT (k.rfm).r, (k.rfm).f, (k.rfm).m, (k.rfm).cell, (k.rfm).segment,
		   CASE WHEN (s).total_amount IS NULL THEN NULL
				WHEN (s).total_amount OPERATOR(pg_catalog.>=) (b).abc_a THEN 'A'
				WHEN (s).total_amount OPERATOR(pg_catalog.>=) (b).abc_b THEN 'B' ELSE 'C' END,
		   k.risk,
		   -- a window whose refunds outweigh its purchases counts as no activity
		   clm.health_score(k.risk,
									CASE WHEN (activity).orders_ratio OPERATOR(pg_catalog.<) 0 THEN 0 ELSE (activity).orders_ratio END,
									CASE WHEN (activity).amount_ratio OPERATOR(pg_catalog.<) 0 THEN 0 ELSE (activity).amount_ratio END),
		   k.stage,
		   coalesce(clv OPERATOR(pg_catalog.>=) (b).high_value_clv AND k.risk OPERATOR(pg_catalog.>=) k.hv_risk, false),
		   -- the earliest candidate after as_of (least() skips the NULLs)
		   CASE WHEN (s).orders OPERATOR(pg_catalog.>) 0 THEN least(
				CASE WHEN (s).first_purchase OPERATOR(pg_catalog.+) k.new_iv OPERATOR(pg_catalog.>) as_of
					 THEN (s).first_purchase OPERATOR(pg_catalog.+) k.new_iv END,
				CASE WHEN (s).last_purchase OPERATOR(pg_catalog.+) k.at_risk_iv OPERATOR(pg_catalog.>) as_of
					 THEN (s).last_purchase OPERATOR(pg_catalog.+) k.at_risk_iv END,
				CASE WHEN (s).last_purchase OPERATOR(pg_catalog.+) k.churn_iv OPERATOR(pg_catalog.>) as_of
					 THEN (s).last_purchase OPERATOR(pg_catalog.+) k.churn_iv END,
				CASE WHEN k.rhythm OPERATOR(pg_catalog.>) 0 AND (s).orders OPERATOR(pg_catalog.>=) 2
						  AND (s).last_purchase OPERATOR(pg_catalog.+) k.rhythm_gap OPERATOR(pg_catalog.>) as_of
					 THEN (s).last_purchase OPERATOR(pg_catalog.+) k.rhythm_gap END,
				-- the R score drops the day after days_since_last passes the next cut
				pg_catalog.date_trunc('day', (s).last_purchase) OPERATOR(pg_catalog.+)
					pg_catalog.make_interval(days => pg_catalog.floor(clm.next_cut((b).r_cuts, (s).days_since_last::float8))::integer
														 OPERATOR(pg_catalog.+) 1),
				-- a stage that the rules would change on the next scoring even
				-- without new data (reactivated -> loyal): due at the next run
				CASE WHEN clm.lifecycle_stage((s).first_purchase, (s).last_purchase, (s).orders, as_of,
													  k.base_risk, k.stage, (ctx).policy) OPERATOR(pg_catalog.<>) k.stage
					 THEN as_of OPERATOR(pg_catalog.+) interval '1 microsecond' END,
				CASE WHEN k.base_risk OPERATOR(pg_catalog.<) k.at_risk_risk
					 THEN pg_temp.next_risk_crossing(s, p_alive, ctx, k.at_risk_risk, as_of) END,
				CASE WHEN k.base_risk OPERATOR(pg_catalog.<) k.churned_risk
					 THEN pg_temp.next_risk_crossing(s, p_alive, ctx, k.churned_risk, as_of) END,
				CASE WHEN k.risk OPERATOR(pg_catalog.<) k.hv_risk AND clv OPERATOR(pg_catalog.>=) (b).high_value_clv
					 THEN pg_temp.next_risk_crossing(s, p_alive, ctx, k.hv_risk, as_of) END) END
	FROM (SELECT j.*, st.stage,
				 CASE st.stage WHEN 'churned' THEN greatest(j.base_risk, j.churned_risk)
							   WHEN 'at_risk' THEN greatest(j.base_risk, j.at_risk_risk)
							   ELSE j.base_risk END AS risk
		  FROM (SELECT coalesce(1 OPERATOR(pg_catalog.-) p_alive,
								clm.churn_risk((s).days_since_last::float8, (s).avg_days_between, (s).orders)) AS base_risk,
					   clm.rfm_score((s).days_since_last::float8, (s).orders::float8, (s).total_amount,
											 (b).r_cuts, (b).f_cuts, (b).m_cuts) AS rfm,
					   ((ctx).policy OPERATOR(pg_catalog.->>) 'at_risk_rhythm')::float8 AS rhythm,
					   pg_catalog.make_interval(secs => ((ctx).policy OPERATOR(pg_catalog.->>) 'new_days')::float8 OPERATOR(pg_catalog.*) 86400) AS new_iv,
					   pg_catalog.make_interval(secs => ((ctx).policy OPERATOR(pg_catalog.->>) 'at_risk_days')::float8 OPERATOR(pg_catalog.*) 86400) AS at_risk_iv,
					   pg_catalog.make_interval(secs => ((ctx).policy OPERATOR(pg_catalog.->>) 'churn_days')::float8 OPERATOR(pg_catalog.*) 86400) AS churn_iv,
					   CASE WHEN (s).orders OPERATOR(pg_catalog.>=) 2 THEN
							((s).last_purchase OPERATOR(pg_catalog.-) (s).first_purchase) OPERATOR(pg_catalog.*)
							(((ctx).policy OPERATOR(pg_catalog.->>) 'at_risk_rhythm')::float8 OPERATOR(pg_catalog./) ((s).orders OPERATOR(pg_catalog.-) 1)::float8) END AS rhythm_gap,
					   ((ctx).policy OPERATOR(pg_catalog.->>) 'at_risk_risk')::float8 AS at_risk_risk,
					   ((ctx).policy OPERATOR(pg_catalog.->>) 'churned_risk')::float8 AS churned_risk,
					   ((ctx).rules OPERATOR(pg_catalog.->>) 'high_value_min_risk')::float8 AS hv_risk) j,
			   LATERAL (SELECT clm.lifecycle_stage((s).first_purchase, (s).last_purchase, (s).orders, as_of,
														   j.base_risk, previous_stage, (ctx).policy) AS stage) st
		  -- a fence: k's columns are used many times above; without it the
		  -- planner pastes their expressions (lifecycle_stage, churn_risk)
		  -- into every use and evaluates them again each time
		  OFFSET 0) k
$fn$;
