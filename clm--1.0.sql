/* clm--1.0.sql: customer lifecycle management, version 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION clm" to load this file. \quit

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
CREATE FUNCTION @extschema@.bgnbd_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0)
RETURNS @extschema@.bgnbd_model
AS 'MODULE_PATHNAME', 'clm_bgnbd_fit' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgnbd_fit(@extschema@.fit_data, float8) IS
'maximum-likelihood BG/NBD fit of a fit_data value';
CREATE FUNCTION @extschema@.mbgnbd_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0)
RETURNS @extschema@.mbgnbd_model
AS 'MODULE_PATHNAME', 'clm_mbgnbd_fit' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mbgnbd_fit(@extschema@.fit_data, float8) IS
'maximum-likelihood MBG/NBD fit of a fit_data value';
CREATE FUNCTION @extschema@.gamma_gamma_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0)
RETURNS @extschema@.gamma_gamma_model
AS 'MODULE_PATHNAME', 'clm_gamma_gamma_fit' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.gamma_gamma_fit(@extschema@.fit_data, float8) IS
'maximum-likelihood Gamma-Gamma fit of a fit_data value (repeat customers with positive monetary only)';

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
