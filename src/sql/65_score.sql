------------------------------------------------------------------------------
-- The scoring engine: the one definition of every per-customer score.  The
-- documented one-query path and the jobs both call these functions, so the
-- two cannot drift.  Relative scores (RFM, ABC, high value) come from
-- breakpoints computed once over all customers (clm.breakpoints); P(alive)
-- and CLV from the models (clm.score_value); the rest from clm.score, in C
-- (src/score.c) against a context and breakpoints decoded once per query.
------------------------------------------------------------------------------

CREATE TYPE @extschema@.breakpoints AS (
	r_cuts float8[],
	f_cuts float8[],
	m_cuts float8[],
	abc_a float8,
	abc_b float8,
	high_value_clv float8,
	customers bigint
);
COMMENT ON TYPE @extschema@.breakpoints IS
'breakpoints of the relative scores, computed over all customers by clm.breakpoints(): RFM cut points (as clm.rfm_score takes them), the smallest total_amount of ABC classes A and B, and the smallest CLV of the high-value share';

CREATE TYPE @extschema@.scoring AS (
	purchase_bgnbd @extschema@.bgnbd_model,
	purchase_mbgnbd @extschema@.mbgnbd_model,
	spend @extschema@.gamma_gamma_model,
	horizon_months integer,
	discount_rate float8,
	unit text,
	policy jsonb,
	rules jsonb
);
COMMENT ON TYPE @extschema@.scoring IS
'what scoring needs besides the customer: the purchase model (BG/NBD or MBG/NBD; one of the two set, models that did not converge are ignored), the Gamma-Gamma spend model, the CLV horizon, monthly discount rate and model unit, and the complete stage policy and alert rules; build it with clm.scoring()';

CREATE FUNCTION @extschema@.scoring(
	purchase_model @extschema@.mbgnbd_model, spend_model @extschema@.gamma_gamma_model,
	policy jsonb DEFAULT '{}', alert_rules jsonb DEFAULT '{}',
	horizon_months integer DEFAULT 12, discount_rate float8 DEFAULT 0.01, unit text DEFAULT 'week')
RETURNS @extschema@.scoring
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	-- the purchase model in the unit of the summaries (clm.in_unit converts a
	-- model fitted in another unit and labels one that states none)
	SELECT ROW(NULL, @extschema@.in_unit($1, $7), $2, $5, $6, $7,
			   @extschema@.stage_policy_defaults() OPERATOR(pg_catalog.||) coalesce($3, '{}'),
			   @extschema@.check_alert_rules(coalesce($4, '{}')))::@extschema@.scoring
	WHERE @extschema@.check_stage_policy(coalesce($3, '{}'))
$fn$;
COMMENT ON FUNCTION @extschema@.scoring(@extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, jsonb, jsonb, integer, float8, text) IS
'scoring context with an MBG/NBD purchase model: validates the policy and alert rules and fills in their defaults';

CREATE FUNCTION @extschema@.scoring(
	purchase_model @extschema@.bgnbd_model, spend_model @extschema@.gamma_gamma_model,
	policy jsonb DEFAULT '{}', alert_rules jsonb DEFAULT '{}',
	horizon_months integer DEFAULT 12, discount_rate float8 DEFAULT 0.01, unit text DEFAULT 'week')
RETURNS @extschema@.scoring
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT ROW(@extschema@.in_unit($1, $7), NULL, $2, $5, $6, $7,
			   @extschema@.stage_policy_defaults() OPERATOR(pg_catalog.||) coalesce($3, '{}'),
			   @extschema@.check_alert_rules(coalesce($4, '{}')))::@extschema@.scoring
	WHERE @extschema@.check_stage_policy(coalesce($3, '{}'))
$fn$;
COMMENT ON FUNCTION @extschema@.scoring(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model, jsonb, jsonb, integer, float8, text) IS
'scoring context with a BG/NBD purchase model: validates the policy and alert rules and fills in their defaults';

-- p_alive and clv_estimate of a summary under a scoring context: the model
-- values of one customer, in C (src/value.c: the context is decoded once
-- per query, not read field by field per customer)
CREATE FUNCTION @extschema@.p_alive(s @extschema@.summary, ctx @extschema@.scoring)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_value_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive(@extschema@.summary, @extschema@.scoring) IS
'P(alive) of a customer under the scoring context''s converged purchase model (MBG/NBD, else BG/NBD); NULL for tenure 0 or without a converged model';

CREATE FUNCTION @extschema@.clv_estimate(s @extschema@.summary, ctx @extschema@.scoring)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_value_clv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.summary, @extschema@.scoring) IS
'discounted CLV of a customer over the scoring context''s horizon, discount rate and unit (purchase model x Gamma-Gamma); NULL for tenure 0, without converged models, or for a repeat customer without a positive repeat_avg_amount';

-- score_value: P(alive) and CLV.  Customers whose first purchase is on the
-- day of as_of (tenure 0) and prospects get NULL: the models say nothing yet,
-- and scoring falls back to the signal form of churn risk.  (One SELECT of
-- two calls, so the planner inlines it into the caller's query.)
CREATE FUNCTION @extschema@.score_value(s @extschema@.summary, ctx @extschema@.scoring)
RETURNS TABLE (p_alive float8, clv float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT @extschema@.p_alive(s, ctx), @extschema@.clv_estimate(s, ctx)
$fn$;
COMMENT ON FUNCTION @extschema@.score_value(@extschema@.summary, @extschema@.scoring) IS
'P(alive) and discounted CLV of a customer under the scoring context''s models (NULL without a converged model, for prospects and on the day of the first purchase)';

-- breakpoints: the relative scores' cut points from every customer at once
-- (src/breakpoints.c: the same buckets as the window functions
-- clm.rfm_score() OVER () and clm.abc_class() OVER () assign, so scoring
-- everyone with them reproduces those; when every customer ties, one cut
-- makes two buckets, all in the best)
CREATE FUNCTION @extschema@.breakpoints_of(
	days_since_last float8[], orders float8[], total_amount float8[], clv float8[],
	high_value_share float8, a_share float8, b_share float8)
RETURNS @extschema@.breakpoints
AS 'MODULE_PATHNAME', 'clm_breakpoints_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.breakpoints_of(float8[], float8[], float8[], float8[], float8, float8, float8) IS
'clm.breakpoints with the high-value share given directly';

CREATE FUNCTION @extschema@.breakpoints(
	days_since_last float8[], orders float8[], total_amount float8[], clv float8[],
	alert_rules jsonb DEFAULT '{}', a_share float8 DEFAULT 0.8, b_share float8 DEFAULT 0.95)
RETURNS @extschema@.breakpoints
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT @extschema@.breakpoints_of($1, $2, $3, $4,
		(@extschema@.check_alert_rules(coalesce($5, '{}')) OPERATOR(pg_catalog.->>) 'high_value_share')::float8,
		$6, $7)
$fn$;
COMMENT ON FUNCTION @extschema@.breakpoints(float8[], float8[], float8[], float8[], jsonb, float8, float8) IS
'breakpoints of RFM quintiles, ABC classes (a_share, b_share) and the high-value CLV share of the alert rules, from arrays over all customers (array_agg of days_since_last, orders, total_amount and CLV)';

-- breakpoints_agg: the same breakpoints in one pass over the customers, as
-- an aggregate (no four array_agg's): its state keeps the values of every
-- customer (a variable size, so internal, serialized between parallel
-- workers); customers with a NULL days_since_last, orders or total_amount
-- are skipped, as clm.breakpoints skips them; the ABC shares are
-- clm.breakpoints' defaults (0.8, 0.95)
CREATE FUNCTION @extschema@.breakpoints_agg_trans(internal, float8, float8, float8, float8, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_breakpoints_agg_trans'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.breakpoints_agg_trans(internal, float8, float8, float8, float8, jsonb) IS
'transition function of clm.breakpoints_agg';
CREATE FUNCTION @extschema@.breakpoints_agg_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_breakpoints_agg_combine'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.breakpoints_agg_combine(internal, internal) IS
'combine function of clm.breakpoints_agg';
CREATE FUNCTION @extschema@.breakpoints_agg_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'clm_breakpoints_agg_serialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.breakpoints_agg_serialize(internal) IS
'serialize function of clm.breakpoints_agg';
CREATE FUNCTION @extschema@.breakpoints_agg_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_breakpoints_agg_deserialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.breakpoints_agg_deserialize(bytea, internal) IS
'deserialize function of clm.breakpoints_agg';
CREATE FUNCTION @extschema@.breakpoints_agg_final(internal)
RETURNS @extschema@.breakpoints
AS 'MODULE_PATHNAME', 'clm_breakpoints_agg_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.breakpoints_agg_final(internal) IS
'final function of clm.breakpoints_agg (validates the alert rules with clm.check_alert_rules)';
CREATE AGGREGATE @extschema@.breakpoints_agg(
	days_since_last float8, orders float8, total_amount float8, clv float8, alert_rules jsonb) (
	SFUNC = @extschema@.breakpoints_agg_trans,
	STYPE = internal,
	SSPACE = 32,
	FINALFUNC = @extschema@.breakpoints_agg_final,
	COMBINEFUNC = @extschema@.breakpoints_agg_combine,
	SERIALFUNC = @extschema@.breakpoints_agg_serialize,
	DESERIALFUNC = @extschema@.breakpoints_agg_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.breakpoints_agg(float8, float8, float8, float8, jsonb) IS
'clm.breakpoints in one pass over the customers: the same RFM cuts, ABC thresholds (shares 0.8, 0.95) and high-value CLV as clm.breakpoints(array_agg(days_since_last), array_agg(orders), array_agg(total_amount), array_agg(clv), alert_rules); alert_rules must be the same in every row';

-- high_value_cut: breakpoints_agg's high-value cut over the customers of a
-- fit data, from one CLV per distinct row (src/value.c); what a job's full
-- refresh uses after its fits, instead of reading the source again
CREATE FUNCTION @extschema@.high_value_cut(d @extschema@.fit_data, ctx @extschema@.scoring, alert_rules jsonb)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_high_value_cut_of'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.high_value_cut(@extschema@.fit_data, @extschema@.scoring, jsonb) IS
'the high-value CLV cut (clm.breakpoints_agg''s high_value_clv) over the customers of the fit data with tenure > 0, each valued by clm.clv_estimate under the scoring context; NULL without a CLV; NULL alert_rules: the defaults';

-- risk crossings in closed form (src/review.c has the algebra)
CREATE FUNCTION @extschema@.risk_crossing_tenure(
	r float8, alpha float8, a float8, b float8, mbgnbd boolean,
	frequency float8, recency float8, thr float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_risk_crossing_tenure'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.risk_crossing_tenure(float8, float8, float8, float8, boolean, float8, float8, float8) IS
'the tenure (model units) at which 1 - P(alive) of a BG/NBD (mbgnbd false) or MBG/NBD customer with this frequency and recency reaches thr; NULL if never';

CREATE FUNCTION @extschema@.risk_crossing_days(orders bigint, avg_days_between float8, thr float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_risk_crossing_days'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.risk_crossing_days(bigint, float8, float8) IS
'the days of silence after which the signal form of clm.churn_risk (default prior) reaches thr; NULL if never';

-- crossing_time, next_cut: small C helpers that keep the engine one
-- inlined expression per customer, without subqueries
CREATE FUNCTION @extschema@.crossing_time(base timestamptz, days float8, as_of timestamptz)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'clm_crossing_time'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.crossing_time(timestamptz, float8, timestamptz) IS
'the local midnight ceil(days) days after the start of base''s local day, and no earlier than the next local midnight after as_of; NULL if days is NULL or beyond a million (STABLE: local days follow the session TimeZone)';

CREATE FUNCTION @extschema@.next_cut(cuts float8[], x float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_next_cut'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next_cut(float8[], float8) IS
'the smallest element of cuts that is >= x; NULL if none';

-- next_risk_crossing: the first local midnight after as_of at which churn
-- risk reaches thr if the customer buys nothing more.  Risk only moves at
-- local midnight (tenure and days_since_last count local days), so the
-- crossing is rounded up to one; a customer on the day of their first
-- purchase is scored by the signals today and by the model from tomorrow.
-- One expression, so the planner inlines it.
CREATE FUNCTION @extschema@.next_risk_crossing(
	s @extschema@.summary, p_alive float8, ctx @extschema@.scoring, thr float8, as_of timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT @extschema@.crossing_time(
		CASE WHEN p_alive IS NOT NULL THEN (s).first_purchase ELSE (s).last_purchase END,
		CASE WHEN p_alive IS NOT NULL AND ((ctx).purchase_mbgnbd).converged
			 THEN @extschema@.risk_crossing_tenure(((ctx).purchase_mbgnbd).r, ((ctx).purchase_mbgnbd).alpha,
					((ctx).purchase_mbgnbd).a, ((ctx).purchase_mbgnbd).b, true,
					(s).frequency, (s).recency, thr)
				  OPERATOR(pg_catalog.*) coalesce(@extschema@.unit_days((ctx).unit), 1)
			 WHEN p_alive IS NOT NULL AND ((ctx).purchase_bgnbd).converged
			 THEN @extschema@.risk_crossing_tenure(((ctx).purchase_bgnbd).r, ((ctx).purchase_bgnbd).alpha,
					((ctx).purchase_bgnbd).a, ((ctx).purchase_bgnbd).b, false,
					(s).frequency, (s).recency, thr)
				  OPERATOR(pg_catalog.*) coalesce(@extschema@.unit_days((ctx).unit), 1)
			 WHEN (s).tenure OPERATOR(pg_catalog.=) 0
				  AND (((ctx).purchase_mbgnbd).converged OR ((ctx).purchase_bgnbd).converged)
			 THEN 1
			 ELSE @extschema@.risk_crossing_days((s).orders, (s).avg_days_between, thr) END,
		as_of)
$fn$;
COMMENT ON FUNCTION @extschema@.next_risk_crossing(@extschema@.summary, float8, @extschema@.scoring, float8, timestamptz) IS
'the first local midnight after as_of at which the customer''s churn risk reaches thr if they buy nothing more; NULL if never';

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
-- (test/data/score_reference.sql keeps the SQL definition this C function
-- replaced; sql/score.sql checks they agree.)
CREATE FUNCTION @extschema@.score(
	s @extschema@.summary, activity @extschema@.activity, p_alive float8, clv float8,
	ctx @extschema@.scoring, b @extschema@.breakpoints, as_of timestamptz,
	previous_stage @extschema@.stage DEFAULT NULL,
	OUT r integer, OUT f integer, OUT m integer, OUT rfm_cell text, OUT segment text, OUT abc text,
	OUT churn_risk float8, OUT health float8, OUT stage @extschema@.stage,
	OUT high_value_at_risk boolean, OUT next_review timestamptz)
RETURNS record
-- in C (src/score.c): the context and breakpoints are decoded once per
-- query, not read from jsonb per customer; STABLE: local days follow
-- TimeZone (a job sets its own)
AS 'MODULE_PATHNAME', 'clm_score'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.score(@extschema@.summary, @extschema@.activity, float8, float8, @extschema@.scoring, @extschema@.breakpoints, timestamptz, @extschema@.stage) IS
'RFM, ABC, churn risk, health, stage, high value at risk and the next review time of one customer (see the README: one scoring engine)';
