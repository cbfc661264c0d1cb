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
