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
