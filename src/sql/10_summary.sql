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
COMMENT ON COLUMN @extschema@.summary.first_purchase IS 'earliest ts';
COMMENT ON COLUMN @extschema@.summary.last_purchase IS 'latest ts';
COMMENT ON COLUMN @extschema@.summary.orders IS 'number of transactions (rows)';
COMMENT ON COLUMN @extschema@.summary.frequency IS 'distinct purchase days - 1 (repeat purchases): x of the BG/NBD papers';
COMMENT ON COLUMN @extschema@.summary.recency IS 'first purchase day to last purchase day, in unit: t_x of the BG/NBD papers';
COMMENT ON COLUMN @extschema@.summary.tenure IS 'first purchase day to the day of as_of, in unit: T of the BG/NBD papers';
COMMENT ON COLUMN @extschema@.summary.days_since_last IS 'last purchase day to the day of as_of, in days';
COMMENT ON COLUMN @extschema@.summary.total_amount IS 'sum of amount';
COMMENT ON COLUMN @extschema@.summary.avg_amount IS 'total_amount / orders';
COMMENT ON COLUMN @extschema@.summary.repeat_avg_amount IS 'mean of the per-day totals of the repeat days (first day excluded), 0 when frequency = 0: the monetary value of Gamma-Gamma';
COMMENT ON COLUMN @extschema@.summary.avg_days_between IS '(last day - first day) / frequency, in days; NULL when frequency = 0';

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

-- check_as_of: the time a summary, a job run or a preview is taken at must
-- be finite ('-infinity' has no transactions before it: every customer
-- would silently vanish)
CREATE FUNCTION @extschema@.check_as_of(as_of timestamptz)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'clm_check_as_of'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_as_of(timestamptz) IS
'as_of itself when it is a finite timestamp; ERROR 22023 for infinity and -infinity (used by clm.run_job and clm.preview_job)';
