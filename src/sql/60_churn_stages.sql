------------------------------------------------------------------------------
-- Churn risk, activity trend, health score, lifecycle stages
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.churn_risk(model @extschema@.bgnbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT 1 OPERATOR(pg_catalog.-) @extschema@.p_alive($1, $2, $3, $4) $fn$;
COMMENT ON FUNCTION @extschema@.churn_risk(@extschema@.bgnbd_model, float8, float8, float8) IS
'1 - P(alive) under a fitted BG/NBD model';
CREATE FUNCTION @extschema@.churn_risk(model @extschema@.mbgnbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT 1 OPERATOR(pg_catalog.-) @extschema@.p_alive($1, $2, $3, $4) $fn$;
COMMENT ON FUNCTION @extschema@.churn_risk(@extschema@.mbgnbd_model, float8, float8, float8) IS
'1 - P(alive) under a fitted MBG/NBD model';

CREATE FUNCTION @extschema@.churn_risk(
	days_since_last float8, avg_days_between float8, orders bigint,
	prior_days float8 DEFAULT 30, prior_weight float8 DEFAULT 1, dropout float8 DEFAULT 0.05)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_churn_risk_signals'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.churn_risk(float8, float8, bigint, float8, float8, float8) IS
'churn risk without a fitted model: p / (p + (1 - p) (b / (b + days_since_last))^a), the probability of having dropped out given a silence this long for the customer''s own rhythm (Poisson purchases, Gamma belief about the rate: a = prior_weight + orders - 1, b = prior_weight * prior_days + (orders - 1) * avg_days_between; p = dropout)';

CREATE TYPE @extschema@.activity AS (
	recent_orders bigint,
	previous_orders bigint,
	recent_amount float8,
	previous_amount float8,
	orders_ratio float8,
	amount_ratio float8,
	avg_value_ratio float8
);
COMMENT ON TYPE @extschema@.activity IS
'orders and amount in the recent window and the one before it, and recent / previous ratios (NULL when the previous window is empty)';

-- STABLE because stepping back by an interval with months or days depends
-- on the session time zone
CREATE FUNCTION @extschema@.activity_trend_trans(float8[], timestamptz, float8, timestamptz, interval)
RETURNS float8[] AS 'MODULE_PATHNAME', 'clm_activity_trend_trans'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.activity_trend_combine(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'clm_activity_trend_combine'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.activity_trend_final(float8[])
RETURNS @extschema@.activity AS 'MODULE_PATHNAME', 'clm_activity_trend_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.activity_trend(ts timestamptz, amount float8, as_of timestamptz, "window" interval) (
	SFUNC = @extschema@.activity_trend_trans,
	STYPE = float8[],
	FINALFUNC = @extschema@.activity_trend_final,
	COMBINEFUNC = @extschema@.activity_trend_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.activity_trend(timestamptz, float8, timestamptz, interval) IS
'orders and amount in (as_of - window, as_of] against (as_of - 2 window, as_of - window]: is activity falling, are order values shrinking';

CREATE FUNCTION @extschema@.health_score(
	churn_risk float8, orders_ratio float8, amount_ratio float8,
	tickets float8 DEFAULT NULL, nps float8 DEFAULT NULL, weights jsonb DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'clm_health_score'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.health_score(float8, float8, float8, float8, float8, jsonb) IS
'health 0..100: weighted mean of 1 - churn_risk (0.35), min(orders_ratio, 1) (0.20), min(amount_ratio, 1) (0.15), 1 / (1 + tickets) (0.15), nps / 10 (0.15); NULL signals are left out and their weight shared out';

CREATE TYPE @extschema@.stage AS ENUM (
	'prospect', 'new', 'active', 'loyal', 'at_risk', 'churned', 'reactivated'
);
COMMENT ON TYPE @extschema@.stage IS 'customer lifecycle stage';

CREATE FUNCTION @extschema@.lifecycle_stage(
	first_purchase timestamptz, last_purchase timestamptz, orders bigint, as_of timestamptz,
	churn_risk float8 DEFAULT NULL, previous_stage @extschema@.stage DEFAULT NULL,
	policy jsonb DEFAULT NULL)
RETURNS @extschema@.stage
AS 'MODULE_PATHNAME', 'clm_lifecycle_stage'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lifecycle_stage(timestamptz, timestamptz, bigint, timestamptz, float8, @extschema@.stage, jsonb) IS
'lifecycle stage from first and last purchase, orders, as_of, churn risk, the previous stage and a policy of thresholds (see clm.stage_policy_defaults())';

CREATE FUNCTION @extschema@.stage_policy_defaults()
RETURNS jsonb AS 'MODULE_PATHNAME', 'clm_stage_policy_defaults'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stage_policy_defaults() IS
'the default lifecycle stage policy';
CREATE FUNCTION @extschema@.check_stage_policy(policy jsonb)
RETURNS boolean AS 'MODULE_PATHNAME', 'clm_check_stage_policy'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_stage_policy(jsonb) IS
'true for a valid stage policy; an error naming the field otherwise';
