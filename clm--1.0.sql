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
