/* clm--1.0.sql: customer lifecycle management, version 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION clm" to load this file. \quit

-- ordinary users use clm without superuser rights: the schema is theirs to
-- use (what each object allows is granted object by object below)
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

------------------------------------------------------------------------------
-- Per-customer summary
------------------------------------------------------------------------------

CREATE TYPE @extschema@.summary AS (
	first_purchase timestamptz,
	last_purchase timestamptz,
	orders bigint,
	frequency integer,
	recency float8,
	tenure float8,
	days_since_last integer,
	total_amount float8,
	avg_amount float8,
	repeat_avg_amount float8,
	avg_days_between float8
);
COMMENT ON TYPE @extschema@.summary IS
'per-customer purchase summary: frequency = repeat purchase days, recency = first to last purchase day, tenure = first purchase day to as_of, in the chosen unit';

-- Transition functions read the session TimeZone (purchases collapse per
-- local calendar day), so they are STABLE, not IMMUTABLE.
CREATE FUNCTION @extschema@.customer_summary_trans(internal, timestamptz, float8, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_summary_trans'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.customer_summary_trans(internal, timestamptz, float8, timestamptz, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_summary_trans_unit'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.customer_summary_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_summary_combine'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.customer_summary_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'clm_summary_serialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.customer_summary_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'clm_summary_deserialize'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.customer_summary_final(internal)
RETURNS @extschema@.summary
AS 'MODULE_PATHNAME', 'clm_summary_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.customer_summary(ts timestamptz, amount float8, as_of timestamptz) (
	SFUNC = @extschema@.customer_summary_trans,
	STYPE = internal,
	SSPACE = 160,
	FINALFUNC = @extschema@.customer_summary_final,
	COMBINEFUNC = @extschema@.customer_summary_combine,
	SERIALFUNC = @extschema@.customer_summary_serialize,
	DESERIALFUNC = @extschema@.customer_summary_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.customer_summary(timestamptz, float8, timestamptz) IS
'per-customer summary of transactions (ts, amount) as of a date, recency and tenure in days';

CREATE AGGREGATE @extschema@.customer_summary(ts timestamptz, amount float8, as_of timestamptz, unit text) (
	SFUNC = @extschema@.customer_summary_trans,
	STYPE = internal,
	SSPACE = 160,
	FINALFUNC = @extschema@.customer_summary_final,
	COMBINEFUNC = @extschema@.customer_summary_combine,
	SERIALFUNC = @extschema@.customer_summary_serialize,
	DESERIALFUNC = @extschema@.customer_summary_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.customer_summary(timestamptz, float8, timestamptz, text) IS
'per-customer summary of transactions (ts, amount) as of a date, recency and tenure in unit (''day'' or ''week'')';

------------------------------------------------------------------------------
-- RFM
------------------------------------------------------------------------------

CREATE TYPE @extschema@.rfm AS (
	r integer,
	f integer,
	m integer,
	cell text,
	segment text
);
COMMENT ON TYPE @extschema@.rfm IS
'RFM scores (1 = worst, buckets = best), the cell (''545'') and the named segment';

CREATE FUNCTION @extschema@.rfm_score(
	recency_days float8, frequency float8, monetary float8,
	buckets integer DEFAULT 5, segment_map jsonb DEFAULT NULL)
RETURNS @extschema@.rfm
AS 'MODULE_PATHNAME', 'clm_rfm_score_window'
LANGUAGE C WINDOW CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(float8, float8, float8, integer, jsonb) IS
'window function: RFM quantile scores over the window partition (use OVER ()); recency_days = days since the last purchase, fewer is better';

CREATE FUNCTION @extschema@.rfm_score(
	recency_days float8, frequency float8, monetary float8,
	r_cuts float8[], f_cuts float8[], m_cuts float8[],
	segment_map jsonb DEFAULT NULL)
RETURNS @extschema@.rfm
AS 'MODULE_PATHNAME', 'clm_rfm_score_cuts'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(float8, float8, float8, float8[], float8[], float8[], jsonb) IS
'RFM scores from explicit ascending cut points: r_cuts are upper bounds of recency_days (best first), f_cuts and m_cuts lower bounds of the higher scores';

CREATE FUNCTION @extschema@.rfm_segment(
	r integer, f integer, m integer,
	buckets integer DEFAULT 5, segment_map jsonb DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'clm_rfm_segment'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_segment(integer, integer, integer, integer, jsonb) IS
'named RFM segment of a score triple, from the default map or a user map';

CREATE FUNCTION @extschema@.rfm_segment_map()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'clm_rfm_segment_map'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_segment_map() IS
'the default RFM segment map: keys "RF" (R score, FM score on 1..5), values segment names; edit a copy and pass it as segment_map';

------------------------------------------------------------------------------
-- ABC classes
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.abc_class(
	value float8, a_share float8 DEFAULT 0.8, b_share float8 DEFAULT 0.95)
RETURNS text
AS 'MODULE_PATHNAME', 'clm_abc_class'
LANGUAGE C WINDOW CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abc_class(float8, float8, float8) IS
'window function: ''A'' for the customers making the first a_share of the value in descending order, ''B'' up to b_share, ''C'' the rest';

------------------------------------------------------------------------------
-- CLV: fit data, model fits, per-customer functions
------------------------------------------------------------------------------

-- clm.fit_data: grouped (frequency, recency, tenure[, monetary]) rows with
-- weights; a concrete type so partial fits can be split and shipped.
CREATE TYPE @extschema@.fit_data;

CREATE FUNCTION @extschema@.fit_data_in(cstring) RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_out(@extschema@.fit_data) RETURNS cstring
AS 'MODULE_PATHNAME', 'clm_fit_data_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_recv(internal) RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_send(@extschema@.fit_data) RETURNS bytea
AS 'MODULE_PATHNAME', 'clm_fit_data_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.fit_data (
	INPUT = @extschema@.fit_data_in,
	OUTPUT = @extschema@.fit_data_out,
	RECEIVE = @extschema@.fit_data_recv,
	SEND = @extschema@.fit_data_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.fit_data IS
'customer rows for a model fit, identical rows grouped with weights: {(frequency,recency,tenure[,monetary],weight),...}';

CREATE FUNCTION @extschema@.fit_data_rows(@extschema@.fit_data) RETURNS integer
AS 'MODULE_PATHNAME', 'clm_fit_data_rows' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_data_rows(@extschema@.fit_data) IS
'number of distinct rows stored';
CREATE FUNCTION @extschema@.fit_data_customers(@extschema@.fit_data) RETURNS float8
AS 'MODULE_PATHNAME', 'clm_fit_data_customers' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_data_customers(@extschema@.fit_data) IS
'number of customers (sum of the weights)';

-- transition, combine and final support functions (not for direct use)
CREATE FUNCTION @extschema@.fit_data_trans(@extschema@.fit_data, float8, float8, float8)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_trans_monetary(@extschema@.fit_data, float8, float8, float8, float8)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_trans_monetary' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_trans_penalized(@extschema@.fit_data, float8, float8, float8, float8)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_trans_penalized' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_trans_gg(@extschema@.fit_data, float8, float8)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_trans_gg' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_trans_gg_penalized(@extschema@.fit_data, float8, float8, float8)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_trans_gg_penalized' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_combine(@extschema@.fit_data, @extschema@.fit_data)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_combine' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.fit_data_final(@extschema@.fit_data)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_final' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.fit_data(frequency float8, recency float8, tenure float8) (
	SFUNC = @extschema@.fit_data_trans,
	STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.fit_data_final,
	COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.fit_data(float8, float8, float8) IS
'collect (frequency, recency, tenure) rows for clm.bgnbd_fit / clm.mbgnbd_fit';

CREATE AGGREGATE @extschema@.fit_data(frequency float8, recency float8, tenure float8, monetary float8) (
	SFUNC = @extschema@.fit_data_trans_monetary,
	STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.fit_data_final,
	COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.fit_data(float8, float8, float8, float8) IS
'collect (frequency, recency, tenure, monetary) rows for the purchase and Gamma-Gamma fits';

CREATE AGGREGATE @extschema@.fit_data_merge(@extschema@.fit_data) (
	SFUNC = @extschema@.fit_data_combine,
	STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.fit_data_final,
	COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.fit_data_merge(@extschema@.fit_data) IS
'merge fit_data values built elsewhere (partitions, shards) into one';

-- model types
CREATE TYPE @extschema@.bgnbd_model AS (
	r float8, alpha float8, a float8, b float8,
	loglik float8, n bigint, iterations integer, converged boolean
);
COMMENT ON TYPE @extschema@.bgnbd_model IS
'fitted BG/NBD model (Fader, Hardie & Lee 2005): purchase rate ~ Gamma(r, alpha), dropout ~ Beta(a, b)';
CREATE TYPE @extschema@.mbgnbd_model AS (
	r float8, alpha float8, a float8, b float8,
	loglik float8, n bigint, iterations integer, converged boolean
);
COMMENT ON TYPE @extschema@.mbgnbd_model IS
'fitted MBG/NBD model (Batislam et al. 2007): as BG/NBD, customers may also drop out right after the first purchase';
CREATE TYPE @extschema@.gamma_gamma_model AS (
	p float8, q float8, v float8,
	loglik float8, n bigint, skipped bigint, iterations integer, converged boolean
);
COMMENT ON TYPE @extschema@.gamma_gamma_model IS
'fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005); v is the paper''s gamma; skipped = customers without repeat purchases or with monetary <= 0';

-- fits of a fit_data value
CREATE FUNCTION @extschema@.bgnbd_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0,
	init @extschema@.bgnbd_model DEFAULT NULL)
RETURNS @extschema@.bgnbd_model
AS 'MODULE_PATHNAME', 'clm_bgnbd_fit' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_fit(@extschema@.fit_data, float8, @extschema@.bgnbd_model) IS
'maximum-likelihood BG/NBD fit of a fit_data value; init: start from these parameters (a warm start, e.g. the previous fit), with the full multi-start search as fallback';
CREATE FUNCTION @extschema@.mbgnbd_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0,
	init @extschema@.mbgnbd_model DEFAULT NULL)
RETURNS @extschema@.mbgnbd_model
AS 'MODULE_PATHNAME', 'clm_mbgnbd_fit' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mbgnbd_fit(@extschema@.fit_data, float8, @extschema@.mbgnbd_model) IS
'maximum-likelihood MBG/NBD fit of a fit_data value; init: start from these parameters (a warm start, e.g. the previous fit), with the full multi-start search as fallback';
CREATE FUNCTION @extschema@.gamma_gamma_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0,
	init @extschema@.gamma_gamma_model DEFAULT NULL)
RETURNS @extschema@.gamma_gamma_model
AS 'MODULE_PATHNAME', 'clm_gamma_gamma_fit' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_fit(@extschema@.fit_data, float8, @extschema@.gamma_gamma_model) IS
'maximum-likelihood Gamma-Gamma fit of a fit_data value (repeat customers with positive monetary only); init: start from these parameters (a warm start, e.g. the previous fit), with the full multi-start search as fallback';

-- one-step fitting aggregates
CREATE FUNCTION @extschema@.bgnbd_fit_final(@extschema@.fit_data) RETURNS @extschema@.bgnbd_model
AS 'MODULE_PATHNAME', 'clm_bgnbd_fit_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.mbgnbd_fit_final(@extschema@.fit_data) RETURNS @extschema@.mbgnbd_model
AS 'MODULE_PATHNAME', 'clm_mbgnbd_fit_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.gamma_gamma_fit_final(@extschema@.fit_data) RETURNS @extschema@.gamma_gamma_model
AS 'MODULE_PATHNAME', 'clm_gamma_gamma_fit_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.bgnbd_fit(frequency float8, recency float8, tenure float8) (
	SFUNC = @extschema@.fit_data_trans, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.bgnbd_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(float8, float8, float8) IS
'maximum-likelihood BG/NBD fit over customers (frequency, recency, tenure)';
CREATE AGGREGATE @extschema@.bgnbd_fit(frequency float8, recency float8, tenure float8, penalizer float8) (
	SFUNC = @extschema@.fit_data_trans_penalized, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.bgnbd_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.bgnbd_fit(float8, float8, float8, float8) IS
'BG/NBD fit with an L2 penalizer on the parameters';
CREATE AGGREGATE @extschema@.mbgnbd_fit(frequency float8, recency float8, tenure float8) (
	SFUNC = @extschema@.fit_data_trans, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.mbgnbd_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.mbgnbd_fit(float8, float8, float8) IS
'maximum-likelihood MBG/NBD fit over customers (frequency, recency, tenure)';
CREATE AGGREGATE @extschema@.mbgnbd_fit(frequency float8, recency float8, tenure float8, penalizer float8) (
	SFUNC = @extschema@.fit_data_trans_penalized, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.mbgnbd_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.mbgnbd_fit(float8, float8, float8, float8) IS
'MBG/NBD fit with an L2 penalizer on the parameters';
CREATE AGGREGATE @extschema@.gamma_gamma_fit(frequency float8, monetary float8) (
	SFUNC = @extschema@.fit_data_trans_gg, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.gamma_gamma_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_fit(float8, float8) IS
'maximum-likelihood Gamma-Gamma fit over customers (frequency, mean repeat purchase value)';
CREATE AGGREGATE @extschema@.gamma_gamma_fit(frequency float8, monetary float8, penalizer float8) (
	SFUNC = @extschema@.fit_data_trans_gg_penalized, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.gamma_gamma_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.gamma_gamma_fit(float8, float8, float8) IS
'Gamma-Gamma fit with an L2 penalizer on the parameters';

-- per-customer functions
CREATE FUNCTION @extschema@.p_alive(model @extschema@.bgnbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_p_alive' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive(@extschema@.bgnbd_model, float8, float8, float8) IS
'probability that the customer is still active at tenure (BG/NBD)';
CREATE FUNCTION @extschema@.p_alive(model @extschema@.mbgnbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_p_alive' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive(@extschema@.mbgnbd_model, float8, float8, float8) IS
'probability that the customer is still active at tenure (MBG/NBD)';

CREATE FUNCTION @extschema@.expected_purchases(model @extschema@.bgnbd_model, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_expected_purchases' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases(@extschema@.bgnbd_model, float8, float8, float8, float8) IS
'expected number of purchases in the next t time units, given the customer''s history (BG/NBD)';
CREATE FUNCTION @extschema@.expected_purchases(model @extschema@.mbgnbd_model, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_expected_purchases' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases(@extschema@.mbgnbd_model, float8, float8, float8, float8) IS
'expected number of purchases in the next t time units, given the customer''s history (MBG/NBD)';
CREATE FUNCTION @extschema@.expected_purchases(model @extschema@.bgnbd_model, t float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_expected_purchases_new' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases(@extschema@.bgnbd_model, float8) IS
'expected number of repeat purchases in the first t time units of a new customer (BG/NBD)';
CREATE FUNCTION @extschema@.expected_purchases(model @extschema@.mbgnbd_model, t float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_expected_purchases_new' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases(@extschema@.mbgnbd_model, float8) IS
'expected number of repeat purchases in the first t time units of a new customer (MBG/NBD)';

CREATE FUNCTION @extschema@.expected_avg_value(gg_model @extschema@.gamma_gamma_model, frequency float8, monetary float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_expected_avg_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_avg_value(@extschema@.gamma_gamma_model, float8, float8) IS
'expected average transaction value given frequency and mean repeat purchase value (Gamma-Gamma)';

CREATE FUNCTION @extschema@.clv_estimate(
	model @extschema@.bgnbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT 'week')
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_clv' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text) IS
'discounted CLV over horizon_months: expected purchases per month (BG/NBD) x expected average value (Gamma-Gamma), monthly discount_rate';
CREATE FUNCTION @extschema@.clv_estimate(
	model @extschema@.mbgnbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT 'week')
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_clv' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text) IS
'discounted CLV over horizon_months: expected purchases per month (MBG/NBD) x expected average value (Gamma-Gamma), monthly discount_rate';

CREATE FUNCTION @extschema@.clv_estimate(
	annual_value float8, margin float8, churn_rate float8,
	acquisition_cost float8 DEFAULT 0, discount_rate float8 DEFAULT 0)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_clv_formula' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(float8, float8, float8, float8, float8) IS
'business CLV: annual_value x margin x (1 + d) / (d + churn_rate) - acquisition_cost (= value x margin / churn_rate - cost when d = 0)';

------------------------------------------------------------------------------
-- Stored models: fit once, score from jobs and dashboards
------------------------------------------------------------------------------

CREATE TABLE @extschema@.models (
	name text PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('bgnbd', 'mbgnbd', 'gamma_gamma')),
	parameters jsonb NOT NULL,
	fitted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	n bigint,
	loglik float8,
	iterations integer,
	converged boolean NOT NULL,
	source text,
	owner name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE @extschema@.models IS
'fitted models by name: everyone can read them, only their owner can change them';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.models', '');
ALTER TABLE @extschema@.models ENABLE ROW LEVEL SECURITY;
CREATE POLICY models_read ON @extschema@.models FOR SELECT USING (true);
CREATE POLICY models_insert ON @extschema@.models FOR INSERT
	WITH CHECK (owner OPERATOR(pg_catalog.=) CURRENT_USER);
CREATE POLICY models_update ON @extschema@.models FOR UPDATE
	USING (owner OPERATOR(pg_catalog.=) CURRENT_USER)
	WITH CHECK (owner OPERATOR(pg_catalog.=) CURRENT_USER);
CREATE POLICY models_delete ON @extschema@.models FOR DELETE
	USING (owner OPERATOR(pg_catalog.=) CURRENT_USER);
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.models TO PUBLIC;

CREATE FUNCTION @extschema@.fit_model(name text, kind text, source text, penalizer float8 DEFAULT 0)
RETURNS @extschema@.models
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
-- no SET search_path: the source query is the caller's and names their tables
-- exact float8 text in the jsonb parameters, whatever the session's setting
SET extra_float_digits = 3
AS $fn$
DECLARE
	result @extschema@.models;
	params jsonb;
	fit record;
BEGIN
	IF name IS NULL OR kind IS NULL OR source IS NULL OR penalizer IS NULL THEN
		RAISE EXCEPTION 'name, kind, source and penalizer must not be NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF kind IN ('bgnbd', 'mbgnbd') THEN
		EXECUTE format('SELECT (@extschema@.%s_fit(s.frequency::float8, s.recency::float8, s.tenure::float8, %s)).* '
					   'FROM (%s) AS s(frequency, recency, tenure)', kind, penalizer, source)
			INTO fit;
		params := jsonb_build_object('r', fit.r, 'alpha', fit.alpha, 'a', fit.a, 'b', fit.b);
	ELSIF kind = 'gamma_gamma' THEN
		EXECUTE format('SELECT (@extschema@.gamma_gamma_fit(s.frequency::float8, s.monetary::float8, %s)).* '
					   'FROM (%s) AS s(frequency, monetary)', penalizer, source)
			INTO fit;
		params := jsonb_build_object('p', fit.p, 'q', fit.q, 'v', fit.v);
	ELSE
		RAISE EXCEPTION 'kind must be ''bgnbd'', ''mbgnbd'' or ''gamma_gamma'''
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %L.', kind);
	END IF;
	IF fit.n IS NULL THEN
		RAISE EXCEPTION 'source returned no customers to fit %', name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO @extschema@.models AS m (name, kind, parameters, fitted_at, n, loglik, iterations, converged, source)
	VALUES (fit_model.name, fit_model.kind, params, clock_timestamp(), fit.n, fit.loglik,
			fit.iterations, fit.converged, fit_model.source)
	ON CONFLICT ON CONSTRAINT models_pkey DO UPDATE
		SET kind = excluded.kind, parameters = excluded.parameters, fitted_at = excluded.fitted_at,
			n = excluded.n, loglik = excluded.loglik, iterations = excluded.iterations,
			converged = excluded.converged, source = excluded.source
	RETURNING * INTO result;
	RETURN result;
END
$fn$;
COMMENT ON FUNCTION @extschema@.fit_model(text, text, text, float8) IS
'fit a model (kind bgnbd, mbgnbd or gamma_gamma) on a query returning (frequency, recency, tenure) or (frequency, monetary), and store it in clm.models under name';

CREATE FUNCTION @extschema@.stored_model_params(name text, kind text)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	found_kind text;
	params jsonb;
BEGIN
	SELECT m.kind, m.parameters INTO found_kind, params
	FROM @extschema@.models m WHERE m.name OPERATOR(pg_catalog.=) stored_model_params.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no model named %', name
			USING ERRCODE = 'undefined_object', HINT = 'Fit one with clm.fit_model().';
	END IF;
	IF found_kind OPERATOR(pg_catalog.<>) kind THEN
		RAISE EXCEPTION 'model % is a % model, not %', name, found_kind, kind
			USING ERRCODE = 'wrong_object_type';
	END IF;
	RETURN params;
END
$fn$;
COMMENT ON FUNCTION @extschema@.stored_model_params(text, text) IS
'the parameters of a stored model, checked to be of the given kind';

CREATE FUNCTION @extschema@.get_bgnbd_model(name text)
RETURNS @extschema@.bgnbd_model
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT ROW((p OPERATOR(pg_catalog.->>) 'r')::float8, (p OPERATOR(pg_catalog.->>) 'alpha')::float8,
			   (p OPERATOR(pg_catalog.->>) 'a')::float8, (p OPERATOR(pg_catalog.->>) 'b')::float8,
			   m.loglik, m.n, m.iterations, m.converged)::@extschema@.bgnbd_model
	FROM @extschema@.stored_model_params($1, 'bgnbd') p, @extschema@.models m
	WHERE m.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.get_bgnbd_model(text) IS 'a stored BG/NBD model by name';

CREATE FUNCTION @extschema@.get_mbgnbd_model(name text)
RETURNS @extschema@.mbgnbd_model
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT ROW((p OPERATOR(pg_catalog.->>) 'r')::float8, (p OPERATOR(pg_catalog.->>) 'alpha')::float8,
			   (p OPERATOR(pg_catalog.->>) 'a')::float8, (p OPERATOR(pg_catalog.->>) 'b')::float8,
			   m.loglik, m.n, m.iterations, m.converged)::@extschema@.mbgnbd_model
	FROM @extschema@.stored_model_params($1, 'mbgnbd') p, @extschema@.models m
	WHERE m.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.get_mbgnbd_model(text) IS 'a stored MBG/NBD model by name';

CREATE FUNCTION @extschema@.get_gamma_gamma_model(name text)
RETURNS @extschema@.gamma_gamma_model
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT ROW((p OPERATOR(pg_catalog.->>) 'p')::float8, (p OPERATOR(pg_catalog.->>) 'q')::float8,
			   (p OPERATOR(pg_catalog.->>) 'v')::float8,
			   m.loglik, m.n, NULL::bigint, m.iterations, m.converged)::@extschema@.gamma_gamma_model
	FROM @extschema@.stored_model_params($1, 'gamma_gamma') p, @extschema@.models m
	WHERE m.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.get_gamma_gamma_model(text) IS 'a stored Gamma-Gamma model by name';

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

CREATE FUNCTION @extschema@.activity_trend_trans(float8[], timestamptz, float8, timestamptz, interval)
RETURNS float8[] AS 'MODULE_PATHNAME', 'clm_activity_trend_trans'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.activity_trend_combine(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'clm_activity_trend_combine'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.activity_trend_final(float8[])
RETURNS @extschema@.activity AS 'MODULE_PATHNAME', 'clm_activity_trend_final'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;

-- STABLE because stepping back by an interval with months or days depends
-- on the session time zone
ALTER FUNCTION @extschema@.activity_trend_trans(float8[], timestamptz, float8, timestamptz, interval) STABLE;

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

------------------------------------------------------------------------------
-- Jobs: scheduled reclassification and alerting
------------------------------------------------------------------------------

CREATE TABLE @extschema@.jobs (
	job_id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE,
	owner name NOT NULL DEFAULT CURRENT_USER,
	source text NOT NULL,
	customer_column text NOT NULL,
	ts_column text NOT NULL,
	amount_column text NOT NULL,
	customers_source text,
	customers_id_column text,
	schedule interval NOT NULL CHECK (schedule > interval '0'),
	policy jsonb NOT NULL DEFAULT '{}',
	purchase_model text,
	spend_model text,
	alert_rules jsonb NOT NULL DEFAULT '{}',
	timeout interval CHECK (timeout > interval '0'),
	enabled boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_run_at timestamptz,
	next_run_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_purchase_fit @extschema@.mbgnbd_model,
	last_spend_fit @extschema@.gamma_gamma_model
);
COMMENT ON TABLE @extschema@.jobs IS
'scheduled reclassification jobs: each belongs to and runs as its owner';
COMMENT ON COLUMN @extschema@.jobs.last_purchase_fit IS
'the models fitted by the last run (when the job fits its own); the next run starts from them';

CREATE TABLE @extschema@.job_runs (
	run_id bigserial PRIMARY KEY,
	job_id bigint NOT NULL REFERENCES @extschema@.jobs ON DELETE CASCADE,
	job_name text NOT NULL,
	trigger text NOT NULL CHECK (trigger IN ('worker', 'manual')),
	started_at timestamptz NOT NULL,
	finished_at timestamptz,
	status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	customers bigint,
	alerts integer,
	error text
);
CREATE INDEX ON @extschema@.job_runs (job_id, started_at);
COMMENT ON TABLE @extschema@.job_runs IS 'one row per job run: start, end, status, rows, alerts, error';

-- customer_state, stage_history and alerts have no foreign key to jobs: a
-- per-row RI check costs more than the rest of a run's insert; the trigger
-- below removes a dropped job's rows instead
CREATE TABLE @extschema@.customer_state (
	job_id bigint NOT NULL,
	customer_id text NOT NULL,
	first_purchase timestamptz,
	last_purchase timestamptz,
	orders bigint,
	frequency integer,
	recency_weeks float8,
	tenure_weeks float8,
	days_since_last integer,
	total_amount float8,
	avg_amount float8,
	r integer,
	f integer,
	m integer,
	rfm_cell text,
	segment text,
	abc text,
	p_alive float8,
	clv float8,
	churn_risk float8,
	health float8,
	stage @extschema@.stage NOT NULL,
	stage_since timestamptz NOT NULL,
	high_value_at_risk boolean NOT NULL DEFAULT false,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (job_id, customer_id)
);
COMMENT ON TABLE @extschema@.customer_state IS 'current state of every customer of every job';

CREATE TABLE @extschema@.stage_history (
	id bigserial PRIMARY KEY,
	job_id bigint NOT NULL,
	customer_id text NOT NULL,
	from_stage @extschema@.stage,
	to_stage @extschema@.stage NOT NULL,
	changed_at timestamptz NOT NULL,
	run_id bigint NOT NULL
);
CREATE INDEX ON @extschema@.stage_history (job_id, customer_id, changed_at);
COMMENT ON TABLE @extschema@.stage_history IS 'every stage change (from_stage NULL: first classification)';

CREATE TABLE @extschema@.alerts (
	alert_id bigserial PRIMARY KEY,
	job_id bigint NOT NULL,
	customer_id text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('entered_at_risk', 'churned', 'reactivated', 'high_value_at_risk')),
	episode_start timestamptz NOT NULL,
	raised_at timestamptz NOT NULL,
	run_id bigint NOT NULL,
	details jsonb NOT NULL,
	acknowledged_at timestamptz,
	UNIQUE (job_id, customer_id, kind, episode_start)
);
COMMENT ON TABLE @extschema@.alerts IS 'alerts, one per customer episode; also sent with NOTIFY clm_alerts';

CREATE FUNCTION @extschema@.jobs_cleanup()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	DELETE FROM @extschema@.customer_state s WHERE s.job_id = OLD.job_id;
	DELETE FROM @extschema@.stage_history h WHERE h.job_id = OLD.job_id;
	DELETE FROM @extschema@.alerts a WHERE a.job_id = OLD.job_id;
	RETURN OLD;
END
$fn$;
COMMENT ON FUNCTION @extschema@.jobs_cleanup() IS
'trigger: a deleted job takes its state, history and alerts with it';
CREATE TRIGGER jobs_cleanup AFTER DELETE ON @extschema@.jobs
	FOR EACH ROW EXECUTE FUNCTION @extschema@.jobs_cleanup();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.jobs_job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_state', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alerts_alert_id_seq', '');

-- Row-level security: users see and change only their own jobs and what
-- belongs to them; superusers (and the extension owner) see everything.
ALTER TABLE @extschema@.jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_owner ON @extschema@.jobs
	USING (owner OPERATOR(pg_catalog.=) CURRENT_USER)
	WITH CHECK (owner OPERATOR(pg_catalog.=) CURRENT_USER);
ALTER TABLE @extschema@.job_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_runs_owner ON @extschema@.job_runs
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.customer_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY customer_state_owner ON @extschema@.customer_state
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.stage_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY stage_history_owner ON @extschema@.stage_history
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
ALTER TABLE @extschema@.alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY alerts_owner ON @extschema@.alerts
	USING (job_id IN (SELECT j.job_id FROM @extschema@.jobs j));
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.jobs, @extschema@.job_runs,
	@extschema@.customer_state, @extschema@.stage_history, @extschema@.alerts TO PUBLIC;
GRANT USAGE ON SEQUENCE @extschema@.jobs_job_id_seq, @extschema@.job_runs_run_id_seq,
	@extschema@.stage_history_id_seq, @extschema@.alerts_alert_id_seq TO PUBLIC;

-- the default alert rules, merged under a job's own
CREATE FUNCTION @extschema@.alert_rules_defaults()
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$ SELECT '{"entered_at_risk": true, "churned": true, "reactivated": true, "high_value_at_risk": true, "high_value_share": 0.2, "high_value_min_risk": 0.5}'::jsonb $fn$;
COMMENT ON FUNCTION @extschema@.alert_rules_defaults() IS
'default alert rules: which transitions raise alerts, and high value at risk = CLV in the top high_value_share with churn risk >= high_value_min_risk';

CREATE FUNCTION @extschema@.check_alert_rules(rules jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	k text;
	v jsonb;
BEGIN
	IF jsonb_typeof(rules) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'alert_rules must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k, v IN SELECT * FROM jsonb_each(rules) LOOP
		IF k IN ('entered_at_risk', 'churned', 'reactivated', 'high_value_at_risk') THEN
			IF jsonb_typeof(v) <> 'boolean' THEN
				RAISE EXCEPTION 'alert rule % must be true or false', k USING ERRCODE = 'invalid_parameter_value';
			END IF;
		ELSIF k IN ('high_value_share', 'high_value_min_risk') THEN
			IF jsonb_typeof(v) <> 'number' OR v::text::float8 < 0 OR v::text::float8 > 1 THEN
				RAISE EXCEPTION 'alert rule % must be a number between 0 and 1', k
					USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %s.', v);
			END IF;
		ELSE
			RAISE EXCEPTION 'alert_rules has an unknown key "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Keys: entered_at_risk, churned, reactivated, high_value_at_risk, high_value_share, high_value_min_risk.';
		END IF;
	END LOOP;
	RETURN @extschema@.alert_rules_defaults() || rules;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_alert_rules(jsonb) IS
'validate alert rules and return them merged over the defaults';

-- check_job_source: the table or view exists and has the named columns
CREATE FUNCTION @extschema@.check_job_source(source regclass, VARIADIC columns text[])
RETURNS void LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	c text;
BEGIN
	FOREACH c IN ARRAY columns LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_attribute a
					   WHERE a.attrelid = source AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'column "%" does not exist in %', c, source
				USING ERRCODE = 'undefined_column';
		END IF;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION @extschema@.check_job_source(regclass, text[]) IS
'error unless the relation has all the named columns';

CREATE FUNCTION @extschema@.create_job(
	name text,
	source regclass,
	customer_column text DEFAULT 'customer_id',
	ts_column text DEFAULT 'ts',
	amount_column text DEFAULT 'amount',
	schedule interval DEFAULT '1 day',
	customers_source regclass DEFAULT NULL,
	customers_id_column text DEFAULT 'customer_id',
	policy jsonb DEFAULT '{}',
	purchase_model text DEFAULT NULL,
	spend_model text DEFAULT NULL,
	alert_rules jsonb DEFAULT '{}',
	timeout interval DEFAULT NULL,
	enabled boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	id bigint;
BEGIN
	IF name IS NULL OR source IS NULL OR schedule IS NULL THEN
		RAISE EXCEPTION 'name, source and schedule must not be NULL' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF schedule <= interval '0' THEN
		RAISE EXCEPTION 'schedule must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_job_source(source, customer_column, ts_column, amount_column);
	IF customers_source IS NOT NULL THEN
		PERFORM @extschema@.check_job_source(customers_source, customers_id_column);
	END IF;
	PERFORM @extschema@.check_stage_policy(coalesce(policy, '{}'));
	PERFORM @extschema@.check_alert_rules(coalesce(alert_rules, '{}'));
	INSERT INTO @extschema@.jobs AS j (name, source, customer_column, ts_column, amount_column,
		customers_source, customers_id_column, schedule, policy, purchase_model, spend_model,
		alert_rules, timeout, enabled)
	VALUES (create_job.name, source::text, customer_column, ts_column, amount_column,
		customers_source::text, CASE WHEN customers_source IS NOT NULL THEN customers_id_column END,
		schedule, coalesce(policy, '{}'), purchase_model, spend_model,
		coalesce(alert_rules, '{}'), timeout, coalesce(enabled, true))
	RETURNING j.job_id INTO id;
	RETURN id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.create_job(text, regclass, text, text, text, interval, regclass, text, jsonb, text, text, jsonb, interval, boolean) IS
'create a reclassification job owned by the current user; returns its id';

CREATE FUNCTION @extschema@.alter_job(
	name text,
	schedule interval DEFAULT NULL,
	enabled boolean DEFAULT NULL,
	policy jsonb DEFAULT NULL,
	alert_rules jsonb DEFAULT NULL,
	purchase_model text DEFAULT NULL,
	spend_model text DEFAULT NULL,
	timeout interval DEFAULT NULL,
	source regclass DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.name = alter_job.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	IF policy IS NOT NULL THEN PERFORM @extschema@.check_stage_policy(policy); END IF;
	IF alert_rules IS NOT NULL THEN PERFORM @extschema@.check_alert_rules(alert_rules); END IF;
	IF schedule IS NOT NULL AND schedule <= interval '0' THEN
		RAISE EXCEPTION 'schedule must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF source IS NOT NULL THEN
		PERFORM @extschema@.check_job_source(source, j.customer_column, j.ts_column, j.amount_column);
	END IF;
	UPDATE @extschema@.jobs SET
		schedule = coalesce(alter_job.schedule, jobs.schedule),
		next_run_at = CASE WHEN alter_job.schedule IS NOT NULL
						   THEN coalesce(jobs.last_run_at, now()) + alter_job.schedule
						   ELSE jobs.next_run_at END,
		enabled = coalesce(alter_job.enabled, jobs.enabled),
		policy = coalesce(alter_job.policy, jobs.policy),
		alert_rules = coalesce(alter_job.alert_rules, jobs.alert_rules),
		purchase_model = coalesce(alter_job.purchase_model, jobs.purchase_model),
		spend_model = coalesce(alter_job.spend_model, jobs.spend_model),
		timeout = coalesce(alter_job.timeout, jobs.timeout),
		source = coalesce(alter_job.source::text, jobs.source)
	WHERE jobs.job_id = j.job_id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.alter_job(text, interval, boolean, jsonb, jsonb, text, text, interval, regclass) IS
'change a job; NULL arguments leave a setting as it is';

CREATE FUNCTION @extschema@.drop_job(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
	DELETE FROM @extschema@.jobs WHERE jobs.name = drop_job.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.drop_job(text) IS
'drop a job with its state, history, alerts and runs';

-- record_job_failure: called by the worker in a fresh transaction when a run
-- failed with an error its own handler could not catch (statement timeout,
-- a missing owner role)
CREATE FUNCTION @extschema@.record_job_failure(job_id bigint, trigger text, error text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	j @extschema@.jobs;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = record_job_failure.job_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	INSERT INTO @extschema@.job_runs (job_id, job_name, trigger, started_at, finished_at, status, error)
	VALUES (j.job_id, j.name, trigger, statement_timestamp(), clock_timestamp(), 'failed', error);
	UPDATE @extschema@.jobs SET last_run_at = now(), next_run_at = now() + j.schedule
	WHERE jobs.job_id = j.job_id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.record_job_failure(bigint, text, text) IS
'record a failed run and schedule the next one (used by the background worker, as the job''s owner: row-level security limits it to the caller''s jobs)';

-- run_job_by_id: one run of a job, in the caller's transaction.  The same
-- code serves clm.run_job() and the background worker.  The work runs as
-- the job's owner (SET LOCAL ROLE) inside a subtransaction: an error rolls
-- the state back and is recorded as a failed run.
CREATE FUNCTION @extschema@.run_job_by_id(job_id bigint, trigger text DEFAULT 'manual')
RETURNS @extschema@.job_runs
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 3
AS $fn$
#variable_conflict use_column
DECLARE
	j @extschema@.jobs;
	run @extschema@.job_runs;
	as_of timestamptz := now();
	caller name := current_user;
	rules jsonb;
	policy jsonb;
	src regclass;
	csrc regclass;
	tx_sql text;
	purchase_text text;
	purchase_type text;
	fit_rows @extschema@.fit_data;
	spend_text text;
	model_ok boolean := false;
	p_alive_sql text := 'NULL::float8';
	clv_sql text := 'NULL::float8';
	window_days float8;
	n_customers bigint;
	n_alerts integer := 0;
	a record;
	err_msg text;
	err_state text;
BEGIN
	SELECT * INTO j FROM @extschema@.jobs WHERE jobs.job_id = run_job_by_id.job_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job with id %', job_id USING ERRCODE = 'undefined_object';
	END IF;
	INSERT INTO @extschema@.job_runs (job_id, job_name, trigger, started_at, status)
	VALUES (j.job_id, j.name, trigger, clock_timestamp(), 'running')
	RETURNING * INTO run;

	BEGIN
		IF j.owner <> caller THEN
			EXECUTE format('SET LOCAL ROLE %I', j.owner);
		END IF;
		rules := @extschema@.check_alert_rules(j.alert_rules);
		policy := @extschema@.stage_policy_defaults() || j.policy;
		PERFORM @extschema@.check_stage_policy(policy);
		window_days := (policy ->> 'at_risk_days')::float8;

		src := to_regclass(j.source);
		IF src IS NULL THEN
			RAISE EXCEPTION 'source relation % does not exist', j.source USING ERRCODE = 'undefined_table';
		END IF;
		-- group on the key as it is (cheaper to hash than text), cast per customer
		tx_sql := format('SELECT %I AS customer_key, (%I)::timestamptz AS ts, (%I)::float8 AS amount '
						 'FROM %s WHERE %I IS NOT NULL AND %I <= %L',
						 j.customer_column, j.ts_column, j.amount_column, src,
						 j.customer_column, j.ts_column, as_of);

		-- 1. summary and activity trend per customer
		IF to_regclass('pg_temp.clm_run_summary') IS NOT NULL THEN
			DROP TABLE pg_temp.clm_run_summary;
		END IF;
		EXECUTE format('CREATE TEMP TABLE clm_run_summary ON COMMIT DROP AS '
					   'SELECT (t.customer_key)::text AS customer_id, (@extschema@.customer_summary(t.ts, t.amount, %L, ''week'')).*, '
					   '(@extschema@.activity_trend(t.ts, t.amount, %L, %L)).* '
					   'FROM (%s) t GROUP BY t.customer_key',
					   as_of, as_of, make_interval(secs => window_days * 86400), tx_sql);
		-- prospects: known customers without a purchase
		IF j.customers_source IS NOT NULL THEN
			csrc := to_regclass(j.customers_source);
			IF csrc IS NULL THEN
				RAISE EXCEPTION 'customers source relation % does not exist', j.customers_source
					USING ERRCODE = 'undefined_table';
			END IF;
			EXECUTE format('INSERT INTO clm_run_summary (customer_id) SELECT DISTINCT (c.%I)::text FROM %s c '
						   'WHERE c.%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clm_run_summary s '
						   'WHERE s.customer_id = (c.%I)::text)',
						   j.customers_id_column, csrc, j.customers_id_column, j.customers_id_column);
		END IF;

		-- 2. the CLV models: stored ones, or fitted on this run's customers
		IF j.purchase_model IS NOT NULL THEN
			SELECT m.kind INTO purchase_type FROM @extschema@.models m WHERE m.name = j.purchase_model;
			IF purchase_type = 'bgnbd' THEN
				purchase_text := @extschema@.get_bgnbd_model(j.purchase_model)::text;
			ELSIF purchase_type = 'mbgnbd' THEN
				purchase_text := @extschema@.get_mbgnbd_model(j.purchase_model)::text;
			ELSE
				RAISE EXCEPTION 'purchase_model % is not a stored bgnbd or mbgnbd model', j.purchase_model
					USING ERRCODE = 'undefined_object';
			END IF;
		END IF;
		IF j.purchase_model IS NULL OR j.spend_model IS NULL THEN
			-- one pass over the customers serves both fits
			SELECT @extschema@.fit_data(s.frequency, s.recency, s.tenure, s.repeat_avg_amount) INTO fit_rows
			FROM clm_run_summary s WHERE s.tenure > 0;
		END IF;
		-- fits start from the last run's models (a warm start; the full
		-- search is the fallback), so a steady job refits quickly
		IF j.purchase_model IS NULL THEN
			purchase_type := 'mbgnbd';
			purchase_text := @extschema@.mbgnbd_fit(fit_rows, 0,
				CASE WHEN (j.last_purchase_fit).converged THEN j.last_purchase_fit END)::text;
			UPDATE @extschema@.jobs SET last_purchase_fit = purchase_text::@extschema@.mbgnbd_model
			WHERE jobs.job_id = j.job_id;
		END IF;
		IF j.spend_model IS NOT NULL THEN
			spend_text := @extschema@.get_gamma_gamma_model(j.spend_model)::text;
		ELSE
			spend_text := @extschema@.gamma_gamma_fit(fit_rows, 0,
				CASE WHEN (j.last_spend_fit).converged THEN j.last_spend_fit END)::text;
			UPDATE @extschema@.jobs SET last_spend_fit = spend_text::@extschema@.gamma_gamma_model
			WHERE jobs.job_id = j.job_id;
		END IF;
		IF purchase_text IS NOT NULL THEN
			EXECUTE format('SELECT (%L::@extschema@.%s_model).converged', purchase_text, purchase_type) INTO model_ok;
		END IF;
		IF model_ok THEN
			p_alive_sql := format('CASE WHEN s.tenure > 0 THEN @extschema@.p_alive(%L::@extschema@.%s_model, s.frequency, s.recency, s.tenure) END',
								  purchase_text, purchase_type);
			IF spend_text IS NOT NULL AND (spend_text::@extschema@.gamma_gamma_model).converged THEN
				clv_sql := format('CASE WHEN s.tenure > 0 AND (s.frequency = 0 OR s.repeat_avg_amount > 0) THEN '
								  '@extschema@.clv_estimate(%L::@extschema@.%s_model, %L::@extschema@.gamma_gamma_model, '
								  's.frequency, s.recency, s.tenure, s.repeat_avg_amount, 12, 0.01) END',
								  purchase_text, purchase_type, spend_text);
			END IF;
		END IF;

		-- 3. scores, previous state, stage
		IF to_regclass('pg_temp.clm_run_new') IS NOT NULL THEN
			DROP TABLE pg_temp.clm_run_new;
		END IF;
		EXECUTE format($q$
			CREATE TEMP TABLE clm_run_new ON COMMIT DROP AS
			WITH s AS (
				SELECT s.*, old.stage AS prev_stage, old.high_value_at_risk AS prev_hv,
					   old.stage_since AS prev_since
				FROM clm_run_summary s
				LEFT JOIN @extschema@.customer_state old
					   ON old.job_id = %s AND old.customer_id = s.customer_id),
			scored AS (
				SELECT s.*,
					   @extschema@.rfm_score(s.days_since_last, s.orders, s.total_amount) OVER () AS rfm,
					   @extschema@.abc_class(greatest(s.total_amount, 0)) OVER () AS abc,
					   %s AS p_alive,
					   %s AS clv,
					   @extschema@.churn_risk(s.days_since_last, s.avg_days_between, s.orders) AS signal_risk
				FROM s),
			risk AS (
				SELECT scored.*, coalesce(1 - scored.p_alive, scored.signal_risk) AS churn_risk,
					   CASE WHEN scored.clv IS NOT NULL
							THEN cume_dist() OVER (PARTITION BY scored.clv IS NULL ORDER BY scored.clv) END AS clv_rank
				FROM scored)
			SELECT risk.*,
				   @extschema@.health_score(risk.signal_risk, risk.orders_ratio, risk.amount_ratio) AS health,
				   coalesce(risk.clv_rank > 1 - %s AND risk.churn_risk >= %s, false) AS hv_at_risk,
				   @extschema@.lifecycle_stage(risk.first_purchase, risk.last_purchase, risk.orders, %L,
											   risk.churn_risk, risk.prev_stage, %L) AS stage
			FROM risk
		$q$, j.job_id, p_alive_sql, clv_sql,
			 (rules ->> 'high_value_share')::float8, (rules ->> 'high_value_min_risk')::float8,
			 as_of, policy);

		-- 4. history, alerts (once per episode, with NOTIFY), state
		INSERT INTO @extschema@.stage_history (job_id, customer_id, from_stage, to_stage, changed_at, run_id)
		SELECT j.job_id, n.customer_id, n.prev_stage, n.stage, as_of, run.run_id
		FROM clm_run_new n WHERE n.prev_stage IS DISTINCT FROM n.stage;

		FOR a IN
			INSERT INTO @extschema@.alerts (job_id, customer_id, kind, episode_start, raised_at, run_id, details)
			SELECT j.job_id, n.customer_id, k.kind, as_of, clock_timestamp(), run.run_id,
				   jsonb_build_object('from_stage', n.prev_stage, 'stage', n.stage,
									  'churn_risk', n.churn_risk, 'clv', n.clv, 'health', n.health,
									  'segment', (n.rfm).segment)
			FROM (SELECT * FROM clm_run_new n
				  WHERE n.prev_stage IS DISTINCT FROM n.stage
					 OR (n.hv_at_risk AND NOT coalesce(n.prev_hv, false))) n,
				 LATERAL (VALUES
					('entered_at_risk', n.stage = 'at_risk' AND n.prev_stage <> 'at_risk'),
					('churned', n.stage = 'churned' AND n.prev_stage <> 'churned'),
					('reactivated', n.stage = 'reactivated' AND n.prev_stage <> 'reactivated'),
					('high_value_at_risk', n.hv_at_risk AND n.prev_stage IS NOT NULL AND NOT coalesce(n.prev_hv, false))
				 ) AS k(kind, fires)
			WHERE k.fires AND (rules ->> k.kind)::boolean
			ON CONFLICT (job_id, customer_id, kind, episode_start) DO NOTHING
			RETURNING alerts.alert_id, alerts.customer_id, alerts.kind, alerts.details
		LOOP
			PERFORM pg_notify('clm_alerts', (jsonb_build_object(
				'alert_id', a.alert_id, 'job', j.name, 'customer_id', a.customer_id,
				'kind', a.kind, 'raised_at', as_of) || a.details)::text);
			n_alerts := n_alerts + 1;
		END LOOP;

		-- the state is rewritten as a whole: one DELETE and one INSERT are far
		-- cheaper than a per-row upsert, and customers gone from the source go
		DELETE FROM @extschema@.customer_state cs WHERE cs.job_id = j.job_id;
		INSERT INTO @extschema@.customer_state (
			job_id, customer_id, first_purchase, last_purchase, orders, frequency, recency_weeks,
			tenure_weeks, days_since_last, total_amount, avg_amount, r, f, m, rfm_cell, segment, abc,
			p_alive, clv, churn_risk, health, stage, stage_since, high_value_at_risk, updated_at)
		SELECT j.job_id, n.customer_id, n.first_purchase, n.last_purchase, n.orders, n.frequency,
			   n.recency, n.tenure, n.days_since_last, n.total_amount, n.avg_amount,
			   (n.rfm).r, (n.rfm).f, (n.rfm).m, (n.rfm).cell, (n.rfm).segment, n.abc,
			   n.p_alive, n.clv, n.churn_risk, n.health, n.stage,
			   CASE WHEN n.prev_stage IS NOT DISTINCT FROM n.stage THEN n.prev_since ELSE as_of END,
			   n.hv_at_risk, as_of
		FROM clm_run_new n
		ORDER BY n.customer_id;		-- key order: the primary key index fills page by page
		SELECT count(*) INTO n_customers FROM clm_run_new;

		UPDATE @extschema@.job_runs SET status = 'succeeded', finished_at = clock_timestamp(),
			customers = n_customers, alerts = n_alerts
		WHERE job_runs.run_id = run.run_id
		RETURNING * INTO run;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS err_msg = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE;
		UPDATE @extschema@.job_runs SET status = 'failed', finished_at = clock_timestamp(),
			error = err_state || ': ' || err_msg
		WHERE job_runs.run_id = run.run_id
		RETURNING * INTO run;
	END;
	UPDATE @extschema@.jobs SET last_run_at = as_of, next_run_at = as_of + j.schedule
	WHERE jobs.job_id = j.job_id;
	RETURN run;
END
$fn$;
COMMENT ON FUNCTION @extschema@.run_job_by_id(bigint, text) IS
'run a job now (the worker''s code path); returns its clm.job_runs row';

CREATE FUNCTION @extschema@.run_job(name text)
RETURNS @extschema@.job_runs
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	id bigint;
BEGIN
	SELECT j.job_id INTO id FROM @extschema@.jobs j WHERE j.name = run_job.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no job named %', name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN @extschema@.run_job_by_id(id, 'manual');
END
$fn$;
COMMENT ON FUNCTION @extschema@.run_job(text) IS
'run a job now, through the same code as the background worker; returns its clm.job_runs row';

CREATE FUNCTION @extschema@.acknowledge_alert(alert_id bigint)
RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $fn$
	UPDATE @extschema@.alerts a SET acknowledged_at = pg_catalog.now()
	WHERE a.alert_id OPERATOR(pg_catalog.=) $1 AND a.acknowledged_at IS NULL
	RETURNING true
$fn$;
COMMENT ON FUNCTION @extschema@.acknowledge_alert(bigint) IS 'mark an alert as handled';

-- Dashboards.  Views run with their owner's rights, so they filter to the
-- caller's jobs themselves (superusers see all), like the tables' policies.
CREATE FUNCTION @extschema@.visible_job(owner name)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT $1 OPERATOR(pg_catalog.=) CURRENT_USER
		OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
$fn$;
COMMENT ON FUNCTION @extschema@.visible_job(name) IS 'whether the current user may see a job of this owner';

CREATE VIEW @extschema@.segment_summary AS
SELECT j.name AS job, s.segment, count(*) AS customers,
	   sum(s.total_amount) AS revenue,
	   sum(s.total_amount) / nullif(sum(sum(s.total_amount)) OVER (PARTITION BY j.name), 0) AS revenue_share,
	   avg(s.clv) AS avg_clv, avg(s.churn_risk) AS avg_churn_risk
FROM @extschema@.customer_state s JOIN @extschema@.jobs j USING (job_id)
WHERE @extschema@.visible_job(j.owner)
GROUP BY j.name, s.segment;
COMMENT ON VIEW @extschema@.segment_summary IS 'customers, revenue and share of revenue per RFM segment, per job';

CREATE VIEW @extschema@.stage_summary AS
SELECT j.name AS job, s.stage, count(*) AS customers,
	   count(*)::float8 / sum(count(*)) OVER (PARTITION BY j.name) AS customer_share,
	   sum(s.total_amount) AS revenue, sum(s.clv) AS clv, avg(s.churn_risk) AS avg_churn_risk,
	   avg(s.health) AS avg_health
FROM @extschema@.customer_state s JOIN @extschema@.jobs j USING (job_id)
WHERE @extschema@.visible_job(j.owner)
GROUP BY j.name, s.stage;
COMMENT ON VIEW @extschema@.stage_summary IS 'customers, revenue, CLV, risk and health per lifecycle stage, per job';

CREATE VIEW @extschema@.stage_funnel AS
SELECT j.name AS job, h.from_stage, h.to_stage, count(*) AS transitions,
	   count(*) FILTER (WHERE h.changed_at > pg_catalog.now() - interval '30 days') AS last_30_days,
	   max(h.changed_at) AS last_seen
FROM @extschema@.stage_history h JOIN @extschema@.jobs j USING (job_id)
WHERE @extschema@.visible_job(j.owner)
GROUP BY j.name, h.from_stage, h.to_stage;
COMMENT ON VIEW @extschema@.stage_funnel IS 'stage transitions per job: how many customers moved from one stage to another';

CREATE VIEW @extschema@.open_alerts AS
SELECT a.alert_id, j.name AS job, a.customer_id, a.kind, a.raised_at, a.details
FROM @extschema@.alerts a JOIN @extschema@.jobs j USING (job_id)
WHERE a.acknowledged_at IS NULL AND @extschema@.visible_job(j.owner);
COMMENT ON VIEW @extschema@.open_alerts IS 'alerts not yet acknowledged';
GRANT SELECT ON @extschema@.segment_summary, @extschema@.stage_summary,
	@extschema@.stage_funnel, @extschema@.open_alerts TO PUBLIC;
