-- score_value_reference.sql: the SQL definition of clm.score_value as it
-- was before its two model values moved to C (src/value.c), copied into
-- pg_temp as pg_temp.score_value_reference.  sql/score.sql compares the two
-- field by field.  Do not edit: it is the reference the C code must
-- reproduce.
CREATE FUNCTION pg_temp.score_value_reference(s clm.summary, ctx clm.scoring)
RETURNS TABLE (p_alive float8, clv float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN (s).tenure OPERATOR(pg_catalog.>) 0 THEN
				CASE WHEN ((ctx).purchase_mbgnbd).converged
					 THEN clm.p_alive((ctx).purchase_mbgnbd, (s).frequency, (s).recency, (s).tenure)
					 WHEN ((ctx).purchase_bgnbd).converged
					 THEN clm.p_alive((ctx).purchase_bgnbd, (s).frequency, (s).recency, (s).tenure) END
		   END,
		   CASE WHEN (s).tenure OPERATOR(pg_catalog.>) 0 AND ((ctx).spend).converged
					 AND ((s).frequency OPERATOR(pg_catalog.=) 0 OR (s).repeat_avg_amount OPERATOR(pg_catalog.>) 0) THEN
				CASE WHEN ((ctx).purchase_mbgnbd).converged
					 THEN clm.clv_estimate((ctx).purchase_mbgnbd, (ctx).spend, (s).frequency, (s).recency,
										   (s).tenure, (s).repeat_avg_amount, (ctx).horizon_months,
										   (ctx).discount_rate, (ctx).unit)
					 WHEN ((ctx).purchase_bgnbd).converged
					 THEN clm.clv_estimate((ctx).purchase_bgnbd, (ctx).spend, (s).frequency, (s).recency,
										   (s).tenure, (s).repeat_avg_amount, (ctx).horizon_months,
										   (ctx).discount_rate, (ctx).unit) END
		   END
$fn$;
