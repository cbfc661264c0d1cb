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
CREATE FUNCTION @extschema@.fit_data_unnest(@extschema@.fit_data,
	OUT frequency float8, OUT recency float8, OUT tenure float8, OUT monetary float8, OUT weight float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'clm_fit_data_unnest' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_data_unnest(@extschema@.fit_data) IS
'the distinct rows stored and how many customers share each (weight); columns the data does not carry are NULL';

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
	loglik float8, n bigint, iterations integer, converged boolean,
	unit text, covariance float8[]
);
COMMENT ON TYPE @extschema@.bgnbd_model IS
'fitted BG/NBD model (Fader, Hardie & Lee 2005): purchase rate ~ Gamma(r, alpha), dropout ~ Beta(a, b); unit: the time unit of the data it was fitted on (day, week, month; NULL = not stated, set it with clm.in_unit); covariance: the 4 x 4 covariance of (r, alpha, a, b) from the observed information, NULL when the fit gives none (clm.parameter_summary says why)';
CREATE TYPE @extschema@.mbgnbd_model AS (
	r float8, alpha float8, a float8, b float8,
	loglik float8, n bigint, iterations integer, converged boolean,
	unit text, covariance float8[]
);
COMMENT ON TYPE @extschema@.mbgnbd_model IS
'fitted MBG/NBD model (Batislam et al. 2007): as BG/NBD, customers may also drop out right after the first purchase; unit and covariance as for clm.bgnbd_model';
CREATE TYPE @extschema@.pareto_nbd_model AS (
	r float8, alpha float8, s float8, beta float8,
	loglik float8, n bigint, iterations integer, converged boolean,
	unit text, covariance float8[]
);
COMMENT ON TYPE @extschema@.pareto_nbd_model IS
'fitted Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): purchase rate ~ Gamma(r, alpha), dropout rate ~ Gamma(s, beta); unit as for clm.bgnbd_model; covariance: the 4 x 4 covariance of (r, alpha, s, beta)';
CREATE TYPE @extschema@.gamma_gamma_model AS (
	p float8, q float8, v float8,
	loglik float8, n bigint, skipped bigint, iterations integer, converged boolean,
	covariance float8[]
);
COMMENT ON TYPE @extschema@.gamma_gamma_model IS
'fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005); v is the paper''s gamma; skipped = customers without repeat purchases or with monetary <= 0; covariance: the 3 x 3 covariance of (p, q, v) from the observed information, NULL when the fit gives none';
COMMENT ON COLUMN @extschema@.bgnbd_model.covariance IS 'covariance of (r, alpha, a, b), 4 x 4, from the observed information at the fit; NULL: no standard errors (see clm.parameter_summary)';
COMMENT ON COLUMN @extschema@.mbgnbd_model.covariance IS 'covariance of (r, alpha, a, b), 4 x 4, from the observed information at the fit; NULL: no standard errors (see clm.parameter_summary)';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.covariance IS 'covariance of (r, alpha, s, beta), 4 x 4, from the observed information at the fit; NULL: no standard errors (see clm.parameter_summary)';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.covariance IS 'covariance of (p, q, v), 3 x 3, from the observed information at the fit; NULL: no standard errors (see clm.parameter_summary)';

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
CREATE FUNCTION @extschema@.pareto_nbd_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0,
	init @extschema@.pareto_nbd_model DEFAULT NULL)
RETURNS @extschema@.pareto_nbd_model
AS 'MODULE_PATHNAME', 'clm_pareto_nbd_fit' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.pareto_nbd_fit(@extschema@.fit_data, float8, @extschema@.pareto_nbd_model) IS
'maximum-likelihood Pareto/NBD fit of a fit_data value; init: start from these parameters (a warm start, e.g. the previous fit), with the full multi-start search as fallback';
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
CREATE FUNCTION @extschema@.pareto_nbd_fit_final(@extschema@.fit_data) RETURNS @extschema@.pareto_nbd_model
AS 'MODULE_PATHNAME', 'clm_pareto_nbd_fit_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
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
CREATE AGGREGATE @extschema@.pareto_nbd_fit(frequency float8, recency float8, tenure float8) (
	SFUNC = @extschema@.fit_data_trans, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.pareto_nbd_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.pareto_nbd_fit(float8, float8, float8) IS
'maximum-likelihood Pareto/NBD fit over customers (frequency, recency, tenure)';
CREATE AGGREGATE @extschema@.pareto_nbd_fit(frequency float8, recency float8, tenure float8, penalizer float8) (
	SFUNC = @extschema@.fit_data_trans_penalized, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.pareto_nbd_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.pareto_nbd_fit(float8, float8, float8, float8) IS
'Pareto/NBD fit with an L2 penalizer on the parameters';
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

CREATE FUNCTION @extschema@.p_alive(model @extschema@.pareto_nbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_pnbd_p_alive' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive(@extschema@.pareto_nbd_model, float8, float8, float8) IS
'probability that the customer is still active at tenure (Pareto/NBD)';

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

CREATE FUNCTION @extschema@.expected_purchases(model @extschema@.pareto_nbd_model, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_pnbd_expected_purchases' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases(@extschema@.pareto_nbd_model, float8, float8, float8, float8) IS
'expected number of purchases in the next t time units, given the customer''s history (Pareto/NBD)';
CREATE FUNCTION @extschema@.expected_purchases(model @extschema@.pareto_nbd_model, t float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_pnbd_expected_purchases_new' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases(@extschema@.pareto_nbd_model, float8) IS
'expected number of repeat purchases in the first t time units of a new customer (Pareto/NBD)';

CREATE FUNCTION @extschema@.prob_purchases(model @extschema@.bgnbd_model, n integer, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_prob_purchases' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchases(@extschema@.bgnbd_model, integer, float8, float8, float8, float8) IS
'probability of exactly n purchases in the next t time units, given the customer''s history (BG/NBD; Fader, Hardie & Lee 2005 eq. 8 at the posterior)';
CREATE FUNCTION @extschema@.prob_purchase_within(model @extschema@.bgnbd_model, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_prob_purchase_within' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchase_within(@extschema@.bgnbd_model, float8, float8, float8, float8) IS
'probability of at least one purchase in the next t time units, given the customer''s history (BG/NBD)';
CREATE FUNCTION @extschema@.next_purchase_median(model @extschema@.bgnbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_next_purchase_median' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next_purchase_median(@extschema@.bgnbd_model, float8, float8, float8) IS
'median time (model units, from tenure) to the next purchase if the customer is still alive: (alpha+T)(2^(1/(r+x)) - 1) (BG/NBD); combine with p_alive';
CREATE FUNCTION @extschema@.prob_purchases(model @extschema@.mbgnbd_model, n integer, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_prob_purchases' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchases(@extschema@.mbgnbd_model, integer, float8, float8, float8, float8) IS
'probability of exactly n purchases in the next t time units, given the customer''s history (MBG/NBD; Fader, Hardie & Lee 2005 eq. 8 at the posterior)';
CREATE FUNCTION @extschema@.prob_purchase_within(model @extschema@.mbgnbd_model, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_prob_purchase_within' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchase_within(@extschema@.mbgnbd_model, float8, float8, float8, float8) IS
'probability of at least one purchase in the next t time units, given the customer''s history (MBG/NBD)';
CREATE FUNCTION @extschema@.next_purchase_median(model @extschema@.mbgnbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_next_purchase_median' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next_purchase_median(@extschema@.mbgnbd_model, float8, float8, float8) IS
'median time (model units, from tenure) to the next purchase if the customer is still alive: (alpha+T)(2^(1/(r+x)) - 1) (MBG/NBD); combine with p_alive';
CREATE FUNCTION @extschema@.prob_purchase_within(model @extschema@.pareto_nbd_model, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_pnbd_prob_purchase_within' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchase_within(@extschema@.pareto_nbd_model, float8, float8, float8, float8) IS
'probability of at least one purchase in the next t time units, given the customer''s history (Pareto/NBD)';
CREATE FUNCTION @extschema@.prob_purchases(model @extschema@.pareto_nbd_model, n integer, t float8, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_pnbd_prob_purchases' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchases(@extschema@.pareto_nbd_model, integer, float8, float8, float8, float8) IS
'probability of exactly n purchases in the next t time units, given the customer''s history (Pareto/NBD; the integral over the dropout time by bounded quadrature)';
CREATE FUNCTION @extschema@.next_purchase_median(model @extschema@.pareto_nbd_model, frequency float8, recency float8, tenure float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_pnbd_next_purchase_median' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next_purchase_median(@extschema@.pareto_nbd_model, float8, float8, float8) IS
'median time (model units, from tenure) to the next purchase if the customer is still alive (Pareto/NBD: may die first, so Infinity when fewer than half of such customers ever buy again); combine with p_alive';

CREATE FUNCTION @extschema@.expected_avg_value(gg_model @extschema@.gamma_gamma_model, frequency float8, monetary float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_expected_avg_value' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_avg_value(@extschema@.gamma_gamma_model, float8, float8) IS
'expected average transaction value given frequency and mean repeat purchase value (Gamma-Gamma)';

CREATE FUNCTION @extschema@.clv_estimate(
	model @extschema@.bgnbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT NULL)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgnbd_clv' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text) IS
'discounted CLV over horizon_months (a month is 365.25/12 days): expected purchases per month (BG/NBD) x expected average value (Gamma-Gamma), monthly discount_rate; unit is the unit of recency and tenure (NULL: the model''s unit, weeks if it states none); a model fitted in another unit is converted to it';
CREATE FUNCTION @extschema@.clv_estimate(
	model @extschema@.mbgnbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT NULL)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_mbgnbd_clv' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text) IS
'discounted CLV over horizon_months (a month is 365.25/12 days): expected purchases per month (MBG/NBD) x expected average value (Gamma-Gamma), monthly discount_rate; unit is the unit of recency and tenure (NULL: the model''s unit, weeks if it states none); a model fitted in another unit is converted to it';

CREATE FUNCTION @extschema@.clv_estimate(
	model @extschema@.pareto_nbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT NULL)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_pnbd_clv' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text) IS
'discounted CLV over horizon_months (a month is 365.25/12 days): expected purchases per month (Pareto/NBD) x expected average value (Gamma-Gamma), monthly discount_rate; unit as for the BG/NBD form';

-- time units: one month is 365.25 / 12 days in every unit
CREATE FUNCTION @extschema@.unit_days(unit text) RETURNS float8
AS 'MODULE_PATHNAME', 'clm_unit_days' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_days(text) IS
'days in a time unit: day 1, week 7, month 365.25/12 = 30.4375';

-- rescale_covariance: the covariance of parameters multiplied by scale
CREATE FUNCTION @extschema@.rescale_covariance(covariance float8[], scale float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_rescale_covariance' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rescale_covariance(float8[], float8[]) IS
'covariance[i][j] x scale[i] x scale[j]: the covariance of the parameters multiplied by scale (clm.in_unit rescales alpha, beta with the time unit)';

-- check_purchase_model: in_unit copies the fields it does not rescale, so
-- it checks the model first (one C function behind the three types)
CREATE FUNCTION @extschema@.check_purchase_model(model @extschema@.bgnbd_model) RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_check_purchase_model' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_purchase_model(@extschema@.bgnbd_model) IS
'true for a model with finite positive parameters, a unit (or NULL) and n >= 0 (or NULL); an error naming the field otherwise';
CREATE FUNCTION @extschema@.check_purchase_model(model @extschema@.mbgnbd_model) RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_check_purchase_model' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_purchase_model(@extschema@.mbgnbd_model) IS
'true for a model with finite positive parameters, a unit (or NULL) and n >= 0 (or NULL); an error naming the field otherwise';
CREATE FUNCTION @extschema@.check_purchase_model(model @extschema@.pareto_nbd_model) RETURNS boolean
AS 'MODULE_PATHNAME', 'clm_check_purchase_model' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_purchase_model(@extschema@.pareto_nbd_model) IS
'true for a model with finite positive parameters, a unit (or NULL) and n >= 0 (or NULL); an error naming the field otherwise';

-- in_unit: the same model for data measured in another unit.  Time scales
-- by c = days(old unit) / days(new unit); the purchase rate lambda scales
-- by 1/c, so its Gamma scale alpha becomes alpha * c; r, a and b are
-- unit-free.  A model that states no unit is labelled with the given one
-- (declaring the unit it was fitted in).  loglik stays that of the fit.
-- A model no other function accepts is refused (check_purchase_model).
CREATE FUNCTION @extschema@.in_unit(model @extschema@.bgnbd_model, unit text)
RETURNS @extschema@.bgnbd_model
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN @extschema@.check_purchase_model(model) THEN ROW((model).r,
			   (model).alpha OPERATOR(pg_catalog.*) coalesce(@extschema@.unit_days((model).unit)
					OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1),
			   (model).a, (model).b, (model).loglik, (model).n, (model).iterations, (model).converged,
			   CASE WHEN @extschema@.unit_days(unit) IS NOT NULL THEN unit END,
			   @extschema@.rescale_covariance((model).covariance,
					ARRAY[1, coalesce(@extschema@.unit_days((model).unit)
							OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1), 1, 1]))::@extschema@.bgnbd_model END
$fn$;
COMMENT ON FUNCTION @extschema@.in_unit(@extschema@.bgnbd_model, text) IS
'the BG/NBD model for data in unit (day, week, month): alpha rescaled from the model''s unit; a model without a unit is labelled with this one';
CREATE FUNCTION @extschema@.in_unit(model @extschema@.mbgnbd_model, unit text)
RETURNS @extschema@.mbgnbd_model
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN @extschema@.check_purchase_model(model) THEN ROW((model).r,
			   (model).alpha OPERATOR(pg_catalog.*) coalesce(@extschema@.unit_days((model).unit)
					OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1),
			   (model).a, (model).b, (model).loglik, (model).n, (model).iterations, (model).converged,
			   CASE WHEN @extschema@.unit_days(unit) IS NOT NULL THEN unit END,
			   @extschema@.rescale_covariance((model).covariance,
					ARRAY[1, coalesce(@extschema@.unit_days((model).unit)
							OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1), 1, 1]))::@extschema@.mbgnbd_model END
$fn$;
COMMENT ON FUNCTION @extschema@.in_unit(@extschema@.mbgnbd_model, text) IS
'the MBG/NBD model for data in unit (day, week, month): alpha rescaled from the model''s unit; a model without a unit is labelled with this one';

CREATE FUNCTION @extschema@.in_unit(model @extschema@.pareto_nbd_model, unit text)
RETURNS @extschema@.pareto_nbd_model
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT CASE WHEN @extschema@.check_purchase_model(model) THEN ROW((model).r,
			   (model).alpha OPERATOR(pg_catalog.*) coalesce(@extschema@.unit_days((model).unit)
					OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1),
			   (model).s,
			   (model).beta OPERATOR(pg_catalog.*) coalesce(@extschema@.unit_days((model).unit)
					OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1),
			   (model).loglik, (model).n, (model).iterations, (model).converged,
			   CASE WHEN @extschema@.unit_days(unit) IS NOT NULL THEN unit END,
			   @extschema@.rescale_covariance((model).covariance,
					ARRAY[1, coalesce(@extschema@.unit_days((model).unit)
							OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1),
						  1, coalesce(@extschema@.unit_days((model).unit)
							OPERATOR(pg_catalog./) @extschema@.unit_days(unit), 1)]))::@extschema@.pareto_nbd_model END
$fn$;
COMMENT ON FUNCTION @extschema@.in_unit(@extschema@.pareto_nbd_model, text) IS
'the Pareto/NBD model for data in unit (day, week, month): alpha and beta rescaled from the model''s unit; a model without a unit is labelled with this one';

CREATE FUNCTION @extschema@.clv_estimate(
	annual_value float8, margin float8, churn_rate float8,
	acquisition_cost float8 DEFAULT 0, discount_rate float8 DEFAULT 0)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_clv_formula' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(float8, float8, float8, float8, float8) IS
'business CLV: annual_value x margin x (1 + d) / (d + churn_rate) - acquisition_cost (= value x margin / churn_rate - cost when d = 0)';

------------------------------------------------------------------------------
-- Parameter uncertainty: standard errors and intervals of a fit
------------------------------------------------------------------------------

CREATE FUNCTION @extschema@.normal_quantile(p float8) RETURNS float8
AS 'MODULE_PATHNAME', 'clm_normal_quantile_sql' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.normal_quantile(float8) IS
'the standard normal quantile: the z with P(Z <= z) = p, 0 < p < 1 (1.959964 for p = 0.975)';

CREATE FUNCTION @extschema@.level_z(level float8) RETURNS float8
AS 'MODULE_PATHNAME', 'clm_level_z_sql' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.level_z(float8) IS
'the z of a two-sided normal interval at confidence level (0 < level < 1): normal_quantile(0.5 + level / 2), 1.959964 for 0.95';

-- parameter_rows: the rows of parameter_summary from names, estimates and
-- a covariance; the interval is estimate x exp(+-z se / estimate), the
-- normal interval of ln(parameter) (the fit's scale), which stays positive
CREATE FUNCTION @extschema@.parameter_rows(names text[], estimates float8[], covariance float8[],
	converged boolean, level float8)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower float8, upper float8, note text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
	SELECT e.name, e.est, s.se,
		   e.est OPERATOR(pg_catalog.*) pg_catalog.exp(OPERATOR(pg_catalog.-) z.z OPERATOR(pg_catalog.*) s.se OPERATOR(pg_catalog./) e.est),
		   e.est OPERATOR(pg_catalog.*) pg_catalog.exp(z.z OPERATOR(pg_catalog.*) s.se OPERATOR(pg_catalog./) e.est),
		   CASE WHEN covariance IS NOT NULL AND converged THEN NULL
				WHEN e.est OPERATOR(pg_catalog.<) 1e-6 THEN 'no standard errors: at the boundary of the parameter space, this parameter runs to 0 (the data do not identify the model)'
				WHEN e.est OPERATOR(pg_catalog.>) 1e7 THEN 'no standard errors: at the boundary of the parameter space, this parameter runs to infinity (the data do not identify the model)'
				WHEN converged IS NOT TRUE THEN 'no standard errors: the fit did not converge'
				ELSE 'no standard errors: a parameter is at the boundary of the parameter space or the information matrix is singular'
		   END
	FROM ROWS FROM (pg_catalog.unnest(names), pg_catalog.unnest(estimates)) WITH ORDINALITY AS e(name, est, i)
	CROSS JOIN LATERAL (SELECT pg_catalog.sqrt(covariance[e.i][e.i]) AS se) s
	CROSS JOIN (SELECT @extschema@.level_z(level) AS z) z
	ORDER BY e.i
$fn$;
COMMENT ON FUNCTION @extschema@.parameter_rows(text[], float8[], float8[], boolean, float8) IS
'rows (parameter, estimate, std_error, lower, upper, note) of a parameter summary: the interval at level is the normal interval of ln(parameter), estimate x exp(+-z std_error / estimate); note says why there are no standard errors (a parameter below 1e-6 or above 1e7 runs to the boundary)';

CREATE FUNCTION @extschema@.parameter_summary(model @extschema@.bgnbd_model, level float8 DEFAULT 0.95)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower float8, upper float8, note text)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT * FROM @extschema@.parameter_rows(ARRAY['r', 'alpha', 'a', 'b'],
		ARRAY[(model).r, (model).alpha, (model).a, (model).b], (model).covariance, (model).converged, level)
$fn$;
COMMENT ON FUNCTION @extschema@.parameter_summary(@extschema@.bgnbd_model, float8) IS
'the fit''s parameters as rows: estimate, standard error (observed information) and the level (default 95%) interval; note says why a fit has no standard errors';
CREATE FUNCTION @extschema@.parameter_summary(model @extschema@.mbgnbd_model, level float8 DEFAULT 0.95)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower float8, upper float8, note text)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT * FROM @extschema@.parameter_rows(ARRAY['r', 'alpha', 'a', 'b'],
		ARRAY[(model).r, (model).alpha, (model).a, (model).b], (model).covariance, (model).converged, level)
$fn$;
COMMENT ON FUNCTION @extschema@.parameter_summary(@extschema@.mbgnbd_model, float8) IS
'the MBG/NBD fit''s parameters as rows: estimate, standard error, level interval, note';
CREATE FUNCTION @extschema@.parameter_summary(model @extschema@.pareto_nbd_model, level float8 DEFAULT 0.95)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower float8, upper float8, note text)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT * FROM @extschema@.parameter_rows(ARRAY['r', 'alpha', 's', 'beta'],
		ARRAY[(model).r, (model).alpha, (model).s, (model).beta], (model).covariance, (model).converged, level)
$fn$;
COMMENT ON FUNCTION @extschema@.parameter_summary(@extschema@.pareto_nbd_model, float8) IS
'the Pareto/NBD fit''s parameters as rows: estimate, standard error, level interval, note';
CREATE FUNCTION @extschema@.parameter_summary(model @extschema@.gamma_gamma_model, level float8 DEFAULT 0.95)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower float8, upper float8, note text)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT * FROM @extschema@.parameter_rows(ARRAY['p', 'q', 'v'],
		ARRAY[(model).p, (model).q, (model).v], (model).covariance, (model).converged, level)
$fn$;
COMMENT ON FUNCTION @extschema@.parameter_summary(@extschema@.gamma_gamma_model, float8) IS
'the Gamma-Gamma fit''s parameters as rows: estimate, standard error, level interval, note';

------------------------------------------------------------------------------
-- BG/BB (Fader, Hardie & Shang 2010): discrete-time data, one transaction
-- opportunity per period
------------------------------------------------------------------------------

CREATE TYPE @extschema@.bgbb_model AS (
	alpha float8, beta float8, gamma float8, delta float8,
	loglik float8, n bigint, iterations integer, converged boolean,
	covariance float8[]
);
COMMENT ON TYPE @extschema@.bgbb_model IS
'fitted BG/BB model (Fader, Hardie & Shang 2010) for discrete-time data: transaction probability per period ~ Beta(alpha, beta), dropout probability per period ~ Beta(gamma, delta); covariance: the 4 x 4 covariance of (alpha, beta, gamma, delta)';
COMMENT ON COLUMN @extschema@.bgbb_model.alpha IS 'transaction probability per period ~ Beta(alpha, beta): alpha';
COMMENT ON COLUMN @extschema@.bgbb_model.beta IS 'transaction probability per period ~ Beta(alpha, beta): beta';
COMMENT ON COLUMN @extschema@.bgbb_model.gamma IS 'dropout probability per period ~ Beta(gamma, delta): gamma';
COMMENT ON COLUMN @extschema@.bgbb_model.delta IS 'dropout probability per period ~ Beta(gamma, delta): delta';
COMMENT ON COLUMN @extschema@.bgbb_model.loglik IS 'log-likelihood at the estimates';
COMMENT ON COLUMN @extschema@.bgbb_model.n IS 'number of customers fitted (sum of the weights)';
COMMENT ON COLUMN @extschema@.bgbb_model.iterations IS 'BFGS iterations of the winning start';
COMMENT ON COLUMN @extschema@.bgbb_model.converged IS 'whether the gradient test passed; false: do not trust the parameters';
COMMENT ON COLUMN @extschema@.bgbb_model.covariance IS 'covariance of (alpha, beta, gamma, delta), 4 x 4, from the observed information at the fit; NULL: no standard errors (see clm.parameter_summary)';

CREATE FUNCTION @extschema@.fit_data_trans_weighted(@extschema@.fit_data, float8, float8, float8, float8)
RETURNS @extschema@.fit_data
AS 'MODULE_PATHNAME', 'clm_fit_data_trans_weighted' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.fit_data_trans_weighted(@extschema@.fit_data, float8, float8, float8, float8) IS
'transition function of clm.bgbb_fit(frequency, recency, periods, weight) (not for direct use)';

CREATE FUNCTION @extschema@.bgbb_fit(data @extschema@.fit_data, penalizer float8 DEFAULT 0,
	init @extschema@.bgbb_model DEFAULT NULL)
RETURNS @extschema@.bgbb_model
AS 'MODULE_PATHNAME', 'clm_bgbb_fit' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgbb_fit(@extschema@.fit_data, float8, @extschema@.bgbb_model) IS
'maximum-likelihood BG/BB fit of a fit_data value built from (frequency, recency, periods): whole numbers of periods with a transaction, the last such period and the opportunities so far';
CREATE FUNCTION @extschema@.bgbb_fit_final(@extschema@.fit_data) RETURNS @extschema@.bgbb_model
AS 'MODULE_PATHNAME', 'clm_bgbb_fit' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bgbb_fit_final(@extschema@.fit_data) IS
'final function of the clm.bgbb_fit aggregates (not for direct use)';
CREATE AGGREGATE @extschema@.bgbb_fit(frequency float8, recency float8, periods float8) (
	SFUNC = @extschema@.fit_data_trans, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.bgbb_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.bgbb_fit(float8, float8, float8) IS
'maximum-likelihood BG/BB fit over customers (frequency, recency, periods), one row per customer';
CREATE AGGREGATE @extschema@.bgbb_fit(frequency float8, recency float8, periods float8, weight float8) (
	SFUNC = @extschema@.fit_data_trans_weighted, STYPE = @extschema@.fit_data,
	FINALFUNC = @extschema@.bgbb_fit_final, COMBINEFUNC = @extschema@.fit_data_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.bgbb_fit(float8, float8, float8, float8) IS
'maximum-likelihood BG/BB fit over grouped histories: weight customers share (frequency, recency, periods)';

CREATE FUNCTION @extschema@.p_alive(model @extschema@.bgbb_model, frequency float8, recency float8, periods float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgbb_p_alive' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive(@extschema@.bgbb_model, float8, float8, float8) IS
'BG/BB probability that the customer is alive at the next opportunity (period periods + 1) given frequency, recency and periods';
CREATE FUNCTION @extschema@.expected_purchases(model @extschema@.bgbb_model, t float8, frequency float8, recency float8, periods float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgbb_expected_purchases' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases(@extschema@.bgbb_model, float8, float8, float8, float8) IS
'BG/BB expected transactions in the next t periods (a whole number) given frequency, recency and periods';
CREATE FUNCTION @extschema@.discounted_expected_transactions(model @extschema@.bgbb_model,
	frequency float8, recency float8, periods float8, discount_rate float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'clm_bgbb_dert' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.discounted_expected_transactions(@extschema@.bgbb_model, float8, float8, float8, float8) IS
'BG/BB DERT: the expected future transactions discounted at discount_rate (> 0) per period; times the value of a transaction, the residual value of the customer';
CREATE FUNCTION @extschema@.parameter_summary(model @extschema@.bgbb_model, level float8 DEFAULT 0.95)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower float8, upper float8, note text)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
	SELECT * FROM @extschema@.parameter_rows(ARRAY['alpha', 'beta', 'gamma', 'delta'],
		ARRAY[(model).alpha, (model).beta, (model).gamma, (model).delta], (model).covariance, (model).converged, level)
$fn$;
COMMENT ON FUNCTION @extschema@.parameter_summary(@extschema@.bgbb_model, float8) IS
'the BG/BB fit''s parameters as rows: estimate, standard error, level interval, note';

------------------------------------------------------------------------------
-- intervals of per-customer quantities and of totals from the parameter
-- uncertainty (delta method, src/models_interval.c)
------------------------------------------------------------------------------

CREATE TYPE @extschema@.interval_estimate AS (
	estimate float8, std_error float8, lower float8, upper float8
);
COMMENT ON TYPE @extschema@.interval_estimate IS
'a quantity computed from a fitted model with the interval its parameter uncertainty gives (delta method): covers how well the data pin down the parameters, not the customer''s own randomness';
COMMENT ON COLUMN @extschema@.interval_estimate.estimate IS 'the quantity at the fitted parameters (what the point function returns)';
COMMENT ON COLUMN @extschema@.interval_estimate.std_error IS 'delta-method standard error from the fit''s covariance; NULL when the model has no covariance';
COMMENT ON COLUMN @extschema@.interval_estimate.lower IS 'lower end of the interval (of logit(estimate) for probabilities, of ln(estimate) otherwise, mapped back); NULL without covariance';
COMMENT ON COLUMN @extschema@.interval_estimate.upper IS 'upper end of the interval; NULL without covariance';

CREATE FUNCTION @extschema@.p_alive_interval(model @extschema@.bgnbd_model, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_bgnbd_p_alive_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive_interval(@extschema@.bgnbd_model, float8, float8, float8, float8) IS
'P(alive) (BG/NBD) with its delta-method standard error and level interval (of logit P) from the fit''s covariance: parameter uncertainty only';
CREATE FUNCTION @extschema@.p_alive_interval(model @extschema@.mbgnbd_model, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_mbgnbd_p_alive_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive_interval(@extschema@.mbgnbd_model, float8, float8, float8, float8) IS
'P(alive) (MBG/NBD) with its delta-method standard error and level interval from the fit''s covariance';
CREATE FUNCTION @extschema@.p_alive_interval(model @extschema@.pareto_nbd_model, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_pnbd_p_alive_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive_interval(@extschema@.pareto_nbd_model, float8, float8, float8, float8) IS
'P(alive) (Pareto/NBD) with its delta-method standard error and level interval from the fit''s covariance';
CREATE FUNCTION @extschema@.p_alive_interval(model @extschema@.bgbb_model, frequency float8, recency float8, periods float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_bgbb_p_alive_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive_interval(@extschema@.bgbb_model, float8, float8, float8, float8) IS
'P(alive at the next period) (BG/BB) with its delta-method standard error and level interval from the fit''s covariance';

CREATE FUNCTION @extschema@.expected_purchases_interval(model @extschema@.bgnbd_model, t float8, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_bgnbd_expected_purchases_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_interval(@extschema@.bgnbd_model, float8, float8, float8, float8, float8) IS
'expected purchases in the next t units (BG/NBD) with the delta-method standard error and level interval (of its logarithm) from the fit''s covariance';
CREATE FUNCTION @extschema@.expected_purchases_interval(model @extschema@.mbgnbd_model, t float8, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_mbgnbd_expected_purchases_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_interval(@extschema@.mbgnbd_model, float8, float8, float8, float8, float8) IS
'expected purchases in the next t units (MBG/NBD) with the delta-method standard error and level interval from the fit''s covariance';
CREATE FUNCTION @extschema@.expected_purchases_interval(model @extschema@.pareto_nbd_model, t float8, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_pnbd_expected_purchases_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_interval(@extschema@.pareto_nbd_model, float8, float8, float8, float8, float8) IS
'expected purchases in the next t units (Pareto/NBD) with the delta-method standard error and level interval from the fit''s covariance';
CREATE FUNCTION @extschema@.expected_purchases_interval(model @extschema@.bgbb_model, t float8, frequency float8, recency float8, periods float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_bgbb_expected_purchases_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_interval(@extschema@.bgbb_model, float8, float8, float8, float8, float8) IS
'expected transactions in the next t periods (BG/BB) with the delta-method standard error and level interval from the fit''s covariance';

CREATE FUNCTION @extschema@.prob_purchase_within_interval(model @extschema@.bgnbd_model, t float8, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_bgnbd_prob_purchase_within_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchase_within_interval(@extschema@.bgnbd_model, float8, float8, float8, float8, float8) IS
'probability of at least one purchase in the next t units (BG/NBD) with the delta-method standard error and level interval (of its logit) from the fit''s covariance';
CREATE FUNCTION @extschema@.prob_purchase_within_interval(model @extschema@.mbgnbd_model, t float8, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_mbgnbd_prob_purchase_within_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchase_within_interval(@extschema@.mbgnbd_model, float8, float8, float8, float8, float8) IS
'probability of at least one purchase in the next t units (MBG/NBD) with the delta-method standard error and level interval from the fit''s covariance';
CREATE FUNCTION @extschema@.prob_purchase_within_interval(model @extschema@.pareto_nbd_model, t float8, frequency float8, recency float8, tenure float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_pnbd_prob_purchase_within_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prob_purchase_within_interval(@extschema@.pareto_nbd_model, float8, float8, float8, float8, float8) IS
'probability of at least one purchase in the next t units (Pareto/NBD) with the delta-method standard error and level interval from the fit''s covariance';

CREATE FUNCTION @extschema@.clv_interval(
	model @extschema@.bgnbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT NULL, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_bgnbd_clv_interval' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_interval(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text, float8) IS
'clv_estimate (BG/NBD x Gamma-Gamma) with the delta-method standard error and level interval (of its logarithm) from both fits'' covariances, taken as independent';
CREATE FUNCTION @extschema@.clv_interval(
	model @extschema@.mbgnbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT NULL, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_mbgnbd_clv_interval' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_interval(@extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text, float8) IS
'clv_estimate (MBG/NBD x Gamma-Gamma) with the delta-method standard error and level interval from both fits'' covariances';
CREATE FUNCTION @extschema@.clv_interval(
	model @extschema@.pareto_nbd_model, gg_model @extschema@.gamma_gamma_model,
	frequency float8, recency float8, tenure float8, monetary float8,
	horizon_months integer, discount_rate float8, unit text DEFAULT NULL, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_pnbd_clv_interval' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_interval(@extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, text, float8) IS
'clv_estimate (Pareto/NBD x Gamma-Gamma) with the delta-method standard error and level interval from both fits'' covariances';

CREATE FUNCTION @extschema@.discounted_expected_transactions_interval(model @extschema@.bgbb_model,
	frequency float8, recency float8, periods float8, discount_rate float8, level float8 DEFAULT 0.95)
RETURNS @extschema@.interval_estimate AS 'MODULE_PATHNAME', 'clm_bgbb_dert_interval' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.discounted_expected_transactions_interval(@extschema@.bgbb_model, float8, float8, float8, float8, float8) IS
'BG/BB DERT (discounted expected residual transactions) with the delta-method standard error and level interval (of its logarithm) from the fit''s covariance';

-- totals over customers: the gradients are summed across rows, so the
-- interval accounts for the parameters the customers share
CREATE FUNCTION @extschema@.interval_total_combine(float8[], float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_interval_total_combine' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.interval_total_combine(float8[], float8[]) IS
'combine function of the total interval aggregates (not for direct use)';
CREATE FUNCTION @extschema@.interval_total_final(float8[]) RETURNS @extschema@.interval_estimate
AS 'MODULE_PATHNAME', 'clm_interval_total_final' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.interval_total_final(float8[]) IS
'final function of the total interval aggregates (not for direct use)';
CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgnbd_model, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_bgnbd_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgnbd_model, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (BG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.bgnbd_model, t float8, frequency float8, recency float8, tenure float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.bgnbd_model, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t units (BG/NBD) with the delta-method interval of the total at level 0.95 (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgnbd_model, float8, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_bgnbd_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgnbd_model, float8, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (BG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.bgnbd_model, t float8, frequency float8, recency float8, tenure float8, level float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.bgnbd_model, float8, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t units (BG/NBD) with the delta-method interval of the total at level (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.mbgnbd_model, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_mbgnbd_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.mbgnbd_model, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (MBG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.mbgnbd_model, t float8, frequency float8, recency float8, tenure float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.mbgnbd_model, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t units (MBG/NBD) with the delta-method interval of the total at level 0.95 (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.mbgnbd_model, float8, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_mbgnbd_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.mbgnbd_model, float8, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (MBG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.mbgnbd_model, t float8, frequency float8, recency float8, tenure float8, level float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.mbgnbd_model, float8, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t units (MBG/NBD) with the delta-method interval of the total at level (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.pareto_nbd_model, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_pnbd_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.pareto_nbd_model, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (Pareto/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.pareto_nbd_model, t float8, frequency float8, recency float8, tenure float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.pareto_nbd_model, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t units (Pareto/NBD) with the delta-method interval of the total at level 0.95 (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.pareto_nbd_model, float8, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_pnbd_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.pareto_nbd_model, float8, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (Pareto/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.pareto_nbd_model, t float8, frequency float8, recency float8, tenure float8, level float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.pareto_nbd_model, float8, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t units (Pareto/NBD) with the delta-method interval of the total at level (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgbb_model, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_bgbb_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgbb_model, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (BG/BB) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.bgbb_model, t float8, frequency float8, recency float8, periods float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.bgbb_model, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t periods (BG/BB) with the delta-method interval of the total at level 0.95 (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgbb_model, float8, float8, float8, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_bgbb_expected_purchases_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_purchases_total_trans(float8[], @extschema@.bgbb_model, float8, float8, float8, float8, float8) IS
'transition function of clm.expected_purchases_total (BG/BB) (not for direct use)';
CREATE AGGREGATE @extschema@.expected_purchases_total(model @extschema@.bgbb_model, t float8, frequency float8, recency float8, periods float8, level float8) (
	SFUNC = @extschema@.expected_purchases_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.expected_purchases_total(@extschema@.bgbb_model, float8, float8, float8, float8, float8) IS
'the expected purchases of all rows'' customers in the next t periods (BG/BB) with the delta-method interval of the total at level (the shared parameter uncertainty, not the customers'' own randomness)';

CREATE FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_bgnbd_clv_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) IS
'transition function of clm.clv_total (BG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.clv_total(model @extschema@.bgnbd_model, gg_model @extschema@.gamma_gamma_model, frequency float8, recency float8, tenure float8, monetary float8, horizon_months integer, discount_rate float8) (
	SFUNC = @extschema@.clv_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_total(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) IS
'the summed clv_estimate of all rows'' customers (BG/NBD x Gamma-Gamma, in the model''s unit) with the delta-method interval of the total at level 0.95 from both fits'' covariances; discount_rate 0 and 12 months: the expected revenue of the next year';

CREATE FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_bgnbd_clv_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'transition function of clm.clv_total (BG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.clv_total(model @extschema@.bgnbd_model, gg_model @extschema@.gamma_gamma_model, frequency float8, recency float8, tenure float8, monetary float8, horizon_months integer, discount_rate float8, level float8) (
	SFUNC = @extschema@.clv_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_total(@extschema@.bgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'the summed clv_estimate of all rows'' customers (BG/NBD x Gamma-Gamma, in the model''s unit) with the delta-method interval of the total at level from both fits'' covariances; discount_rate 0 and 12 months: the expected revenue of the next year';

CREATE FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_mbgnbd_clv_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) IS
'transition function of clm.clv_total (MBG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.clv_total(model @extschema@.mbgnbd_model, gg_model @extschema@.gamma_gamma_model, frequency float8, recency float8, tenure float8, monetary float8, horizon_months integer, discount_rate float8) (
	SFUNC = @extschema@.clv_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_total(@extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) IS
'the summed clv_estimate of all rows'' customers (MBG/NBD x Gamma-Gamma, in the model''s unit) with the delta-method interval of the total at level 0.95 from both fits'' covariances; discount_rate 0 and 12 months: the expected revenue of the next year';

CREATE FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_mbgnbd_clv_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'transition function of clm.clv_total (MBG/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.clv_total(model @extschema@.mbgnbd_model, gg_model @extschema@.gamma_gamma_model, frequency float8, recency float8, tenure float8, monetary float8, horizon_months integer, discount_rate float8, level float8) (
	SFUNC = @extschema@.clv_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_total(@extschema@.mbgnbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'the summed clv_estimate of all rows'' customers (MBG/NBD x Gamma-Gamma, in the model''s unit) with the delta-method interval of the total at level from both fits'' covariances; discount_rate 0 and 12 months: the expected revenue of the next year';

CREATE FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_pnbd_clv_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) IS
'transition function of clm.clv_total (Pareto/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.clv_total(model @extschema@.pareto_nbd_model, gg_model @extschema@.gamma_gamma_model, frequency float8, recency float8, tenure float8, monetary float8, horizon_months integer, discount_rate float8) (
	SFUNC = @extschema@.clv_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_total(@extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8) IS
'the summed clv_estimate of all rows'' customers (Pareto/NBD x Gamma-Gamma, in the model''s unit) with the delta-method interval of the total at level 0.95 from both fits'' covariances; discount_rate 0 and 12 months: the expected revenue of the next year';

CREATE FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) RETURNS float8[]
AS 'MODULE_PATHNAME', 'clm_pnbd_clv_total_trans' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_total_trans(float8[], @extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'transition function of clm.clv_total (Pareto/NBD) (not for direct use)';
CREATE AGGREGATE @extschema@.clv_total(model @extschema@.pareto_nbd_model, gg_model @extschema@.gamma_gamma_model, frequency float8, recency float8, tenure float8, monetary float8, horizon_months integer, discount_rate float8, level float8) (
	SFUNC = @extschema@.clv_total_trans, STYPE = float8[],
	FINALFUNC = @extschema@.interval_total_final, COMBINEFUNC = @extschema@.interval_total_combine,
	PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_total(@extschema@.pareto_nbd_model, @extschema@.gamma_gamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'the summed clv_estimate of all rows'' customers (Pareto/NBD x Gamma-Gamma, in the model''s unit) with the delta-method interval of the total at level from both fits'' covariances; discount_rate 0 and 12 months: the expected revenue of the next year';
