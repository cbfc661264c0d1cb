------------------------------------------------------------------------------
-- Stored models: fit once, score from jobs and dashboards
------------------------------------------------------------------------------

CREATE TABLE @extschema@.models (
	name text PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('bgnbd', 'mbgnbd', 'pareto_nbd', 'gamma_gamma', 'bgbb')),
	parameters jsonb NOT NULL,
	fitted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	n bigint,
	loglik float8,
	iterations integer,
	converged boolean NOT NULL,
	source text,
	owner name NOT NULL DEFAULT CURRENT_USER,
	-- a BG/BB model's unit is its period, which may also be a year
	unit text CHECK (unit IN ('day', 'week', 'month') OR (kind = 'bgbb' AND unit = 'year')),
	aic float8,
	bic float8,
	evaluation jsonb,
	covariance float8[]
);
COMMENT ON TABLE @extschema@.models IS
'fitted models by name: everyone can read them, only their owner can change them; unit is the time unit of the data a purchase model was fitted on (for a BG/BB model the calendar period: day, week, month or year); aic = 2k - 2 loglik and bic = k ln(n) - 2 loglik with k parameters; evaluation holds the holdout figures of clm.evaluate_model; covariance is the covariance of the parameters (in the order of the model type) from the observed information, NULL when the fit gave none';
COMMENT ON COLUMN @extschema@.models.covariance IS 'covariance of the parameters (in the order of the model type) from the observed information; NULL: no standard errors';
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

CREATE FUNCTION @extschema@.fit_model(name text, kind text, source text, penalizer float8 DEFAULT 0,
	unit text DEFAULT NULL)
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
	k integer;
BEGIN
	IF name IS NULL OR kind IS NULL OR source IS NULL OR penalizer IS NULL THEN
		RAISE EXCEPTION 'name, kind, source and penalizer must not be NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF unit IS NOT NULL AND kind = 'bgbb' THEN
		-- the period of the histories: a label, never a conversion
		PERFORM @extschema@.check_period_unit(unit);
	ELSIF unit IS NOT NULL THEN
		PERFORM @extschema@.unit_days(unit);	-- rejects anything but day, week, month
		IF kind = 'gamma_gamma' THEN
			RAISE EXCEPTION 'a gamma_gamma model has no time unit'
				USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass unit => NULL.';
		END IF;
	END IF;
	IF kind IN ('bgnbd', 'mbgnbd') THEN
		EXECUTE format('SELECT (@extschema@.%s_fit(s.frequency::float8, s.recency::float8, s.tenure::float8, %s)).* '
					   'FROM (%s) AS s(frequency, recency, tenure)', kind, penalizer, source)
			INTO fit;
		params := jsonb_build_object('r', fit.r, 'alpha', fit.alpha, 'a', fit.a, 'b', fit.b);
		k := 4;
	ELSIF kind = 'pareto_nbd' THEN
		EXECUTE format('SELECT (@extschema@.pareto_nbd_fit(s.frequency::float8, s.recency::float8, s.tenure::float8, %s)).* '
					   'FROM (%s) AS s(frequency, recency, tenure)', penalizer, source)
			INTO fit;
		params := jsonb_build_object('r', fit.r, 'alpha', fit.alpha, 's', fit.s, 'beta', fit.beta);
		k := 4;
	ELSIF kind = 'gamma_gamma' THEN
		EXECUTE format('SELECT (@extschema@.gamma_gamma_fit(s.frequency::float8, s.monetary::float8, %s)).* '
					   'FROM (%s) AS s(frequency, monetary)', penalizer, source)
			INTO fit;
		params := jsonb_build_object('p', fit.p, 'q', fit.q, 'v', fit.v);
		k := 3;
	ELSIF kind = 'bgbb' THEN
		-- the BG/BB aggregates take a weight, not a penalizer
		IF penalizer <> 0 THEN
			RAISE EXCEPTION 'penalizer must be 0 for a bgbb model'
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Fit a penalized BG/BB with clm.bgbb_fit(fit_data, penalizer).';
		END IF;
		-- (frequency, recency, periods, weight) for grouped histories, else
		-- one row per customer: a source of three columns makes the
		-- four-name alias list fail at parse time (42P10), before any row
		BEGIN
			EXECUTE format('SELECT (@extschema@.bgbb_fit(s.frequency::float8, s.recency::float8, s.periods::float8, '
						   's.weight::float8)).* FROM (%s) AS s(frequency, recency, periods, weight)', source)
				INTO fit;
		EXCEPTION WHEN invalid_column_reference THEN
			EXECUTE format('SELECT (@extschema@.bgbb_fit(s.frequency::float8, s.recency::float8, s.periods::float8)).* '
						   'FROM (%s) AS s(frequency, recency, periods)', source)
				INTO fit;
		END;
		params := jsonb_build_object('alpha', fit.alpha, 'beta', fit.beta, 'gamma', fit.gamma, 'delta', fit.delta);
		k := 4;
	ELSE
		RAISE EXCEPTION 'kind must be ''bgnbd'', ''mbgnbd'', ''pareto_nbd'', ''gamma_gamma'' or ''bgbb'''
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value is %L.', kind);
	END IF;
	IF fit.n IS NULL THEN
		RAISE EXCEPTION 'source returned no customers to fit %', name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO @extschema@.models AS m (name, kind, parameters, fitted_at, n, loglik, iterations, converged, source,
										  unit, aic, bic, covariance)
	VALUES (fit_model.name, fit_model.kind, params, clock_timestamp(), fit.n, fit.loglik,
			fit.iterations, fit.converged, fit_model.source, fit_model.unit,
			2 * k - 2 * fit.loglik, k * ln(greatest(fit.n, 1)) - 2 * fit.loglik, fit.covariance)
	ON CONFLICT ON CONSTRAINT models_pkey DO UPDATE
		SET kind = excluded.kind, parameters = excluded.parameters, fitted_at = excluded.fitted_at,
			n = excluded.n, loglik = excluded.loglik, iterations = excluded.iterations,
			converged = excluded.converged, source = excluded.source,
			unit = excluded.unit, aic = excluded.aic, bic = excluded.bic,
			covariance = excluded.covariance
	RETURNING * INTO result;
	RETURN result;
END
$fn$;
COMMENT ON FUNCTION @extschema@.fit_model(text, text, text, float8, text) IS
'fit a model (kind bgnbd, mbgnbd, pareto_nbd, gamma_gamma or bgbb) on a query returning (frequency, recency, tenure), (frequency, monetary) or for bgbb (frequency, recency, periods [, weight]), and store it in clm.models under name, with its log-likelihood, AIC, BIC and (purchase models) the time unit of the data, for bgbb its period (day, week, month, year)';

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
			   m.loglik, m.n, m.iterations, m.converged, m.unit, m.covariance)::@extschema@.bgnbd_model
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
			   m.loglik, m.n, m.iterations, m.converged, m.unit, m.covariance)::@extschema@.mbgnbd_model
	FROM @extschema@.stored_model_params($1, 'mbgnbd') p, @extschema@.models m
	WHERE m.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.get_mbgnbd_model(text) IS 'a stored MBG/NBD model by name';

CREATE FUNCTION @extschema@.get_pareto_nbd_model(name text)
RETURNS @extschema@.pareto_nbd_model
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT ROW((p OPERATOR(pg_catalog.->>) 'r')::float8, (p OPERATOR(pg_catalog.->>) 'alpha')::float8,
			   (p OPERATOR(pg_catalog.->>) 's')::float8, (p OPERATOR(pg_catalog.->>) 'beta')::float8,
			   m.loglik, m.n, m.iterations, m.converged, m.unit, m.covariance)::@extschema@.pareto_nbd_model
	FROM @extschema@.stored_model_params($1, 'pareto_nbd') p, @extschema@.models m
	WHERE m.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.get_pareto_nbd_model(text) IS 'a stored Pareto/NBD model by name';

CREATE FUNCTION @extschema@.get_gamma_gamma_model(name text)
RETURNS @extschema@.gamma_gamma_model
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT ROW((p OPERATOR(pg_catalog.->>) 'p')::float8, (p OPERATOR(pg_catalog.->>) 'q')::float8,
			   (p OPERATOR(pg_catalog.->>) 'v')::float8,
			   m.loglik, m.n, NULL::bigint, m.iterations, m.converged, m.covariance)::@extschema@.gamma_gamma_model
	FROM @extschema@.stored_model_params($1, 'gamma_gamma') p, @extschema@.models m
	WHERE m.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.get_gamma_gamma_model(text) IS 'a stored Gamma-Gamma model by name';

CREATE FUNCTION @extschema@.get_bgbb_model(name text)
RETURNS @extschema@.bgbb_model
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
	SELECT ROW((p OPERATOR(pg_catalog.->>) 'alpha')::float8, (p OPERATOR(pg_catalog.->>) 'beta')::float8,
			   (p OPERATOR(pg_catalog.->>) 'gamma')::float8, (p OPERATOR(pg_catalog.->>) 'delta')::float8,
			   m.loglik, m.n, m.iterations, m.converged, m.covariance)::@extschema@.bgbb_model
	FROM @extschema@.stored_model_params($1, 'bgbb') p, @extschema@.models m
	WHERE m.name OPERATOR(pg_catalog.=) $1
$fn$;
COMMENT ON FUNCTION @extschema@.get_bgbb_model(text) IS
'a stored BG/BB model by name (its period, the unit column of clm.models, is not part of the model type)';

CREATE FUNCTION @extschema@.parameter_summary(name text, level float8 DEFAULT 0.95)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower float8, upper float8, note text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	found_kind text;
BEGIN
	SELECT m.kind INTO found_kind FROM @extschema@.models m WHERE m.name OPERATOR(pg_catalog.=) parameter_summary.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no model named %', name
			USING ERRCODE = 'undefined_object', HINT = 'Fit one with clm.fit_model().';
	END IF;
	IF found_kind OPERATOR(pg_catalog.=) 'bgnbd' THEN
		RETURN QUERY SELECT * FROM @extschema@.parameter_summary(@extschema@.get_bgnbd_model(name), level);
	ELSIF found_kind OPERATOR(pg_catalog.=) 'mbgnbd' THEN
		RETURN QUERY SELECT * FROM @extschema@.parameter_summary(@extschema@.get_mbgnbd_model(name), level);
	ELSIF found_kind OPERATOR(pg_catalog.=) 'pareto_nbd' THEN
		RETURN QUERY SELECT * FROM @extschema@.parameter_summary(@extschema@.get_pareto_nbd_model(name), level);
	ELSIF found_kind OPERATOR(pg_catalog.=) 'bgbb' THEN
		RETURN QUERY SELECT * FROM @extschema@.parameter_summary(@extschema@.get_bgbb_model(name), level);
	ELSE
		RETURN QUERY SELECT * FROM @extschema@.parameter_summary(@extschema@.get_gamma_gamma_model(name), level);
	END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.parameter_summary(text, float8) IS
'the parameters of the stored model name as rows: estimate, standard error, level (default 95%) interval and a note when there are no standard errors';

-- evaluate_model: the holdout figures of a stored purchase model, fitted on
-- the calibration period, stored with it in clm.models.evaluation
CREATE FUNCTION @extschema@.evaluate_model(
	name text, source text, calibration_end timestamptz, holdout_end timestamptz,
	unit text DEFAULT NULL, spend_model text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
-- exact float8 text in the jsonb figures, whatever the session's setting
SET extra_float_digits = 3
AS $fn$
DECLARE
	found_kind text;
	found_unit text;
	gg @extschema@.gamma_gamma_model;
	purchases @extschema@.prediction_error;
	spend @extschema@.prediction_error;
	e record;
	result jsonb;
BEGIN
	IF name IS NULL THEN
		RAISE EXCEPTION 'name must not be NULL' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT m.kind, m.unit INTO found_kind, found_unit FROM @extschema@.models m WHERE m.name = evaluate_model.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no model named %', name
			USING ERRCODE = 'undefined_object', HINT = 'Fit one with clm.fit_model().';
	END IF;
	IF found_kind = 'bgbb' THEN
		-- the period of the model's histories: stated at the fit or here,
		-- the same if both; a BG/BB model has no conversion between periods
		IF unit IS NOT NULL AND found_unit IS NOT NULL AND unit <> found_unit THEN
			RAISE EXCEPTION 'model % was fitted on % periods, not % periods', name, found_unit, unit
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'A BG/BB model cannot be converted between periods; pass unit => NULL or refit.';
		END IF;
		unit := coalesce(unit, found_unit);
		IF unit IS NULL THEN
			RAISE EXCEPTION 'unit must not be NULL: model % states no period', name
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass the period of the histories: unit => ''day'', ''week'', ''month'' or ''year''.';
		END IF;
	ELSE
		unit := coalesce(unit, found_unit, 'week');
	END IF;
	IF spend_model IS NOT NULL THEN
		gg := @extschema@.get_gamma_gamma_model(spend_model);
	END IF;
	IF found_kind = 'bgnbd' THEN
		SELECT @extschema@.prediction_error(h.predicted_purchases, h.actual_purchases) AS p,
			   @extschema@.prediction_error(h.predicted_spend, h.actual_spend) AS s
		INTO e
		FROM @extschema@.holdout_predictions(@extschema@.get_bgnbd_model(name), source, calibration_end,
											 holdout_end, unit, gg) h;
	ELSIF found_kind = 'mbgnbd' THEN
		SELECT @extschema@.prediction_error(h.predicted_purchases, h.actual_purchases) AS p,
			   @extschema@.prediction_error(h.predicted_spend, h.actual_spend) AS s
		INTO e
		FROM @extschema@.holdout_predictions(@extschema@.get_mbgnbd_model(name), source, calibration_end,
											 holdout_end, unit, gg) h;
	ELSIF found_kind = 'pareto_nbd' THEN
		SELECT @extschema@.prediction_error(h.predicted_purchases, h.actual_purchases) AS p,
			   @extschema@.prediction_error(h.predicted_spend, h.actual_spend) AS s
		INTO e
		FROM @extschema@.holdout_predictions(@extschema@.get_pareto_nbd_model(name), source, calibration_end,
											 holdout_end, unit, gg) h;
	ELSIF found_kind = 'bgbb' THEN
		SELECT @extschema@.prediction_error(h.predicted_purchases, h.actual_purchases) AS p,
			   @extschema@.prediction_error(h.predicted_spend, h.actual_spend) AS s
		INTO e
		FROM @extschema@.holdout_predictions(@extschema@.get_bgbb_model(name), source, calibration_end,
											 holdout_end, unit, gg) h;
	ELSE
		RAISE EXCEPTION 'model % is a % model, not a purchase model', name, found_kind
			USING ERRCODE = 'wrong_object_type', HINT = 'Name a bgnbd, mbgnbd, pareto_nbd or bgbb model; pass the Gamma-Gamma model as spend_model.';
	END IF;
	purchases := e.p;
	spend := e.s;
	result := jsonb_build_object('calibration_end', calibration_end, 'holdout_end', holdout_end, 'unit', unit,
								 'purchases', to_jsonb(purchases), 'spend', to_jsonb(spend),
								 'spend_model', spend_model, 'evaluated_at', clock_timestamp());
	UPDATE @extschema@.models m SET evaluation = result WHERE m.name = evaluate_model.name;
	RETURN result;
END
$fn$;
COMMENT ON FUNCTION @extschema@.evaluate_model(text, text, timestamptz, timestamptz, text, text) IS
'holdout evaluation of the stored purchase model name (fitted on the calibration period) on source (customer_id, ts, amount): clm.prediction_error of holdout purchases and, with spend_model, of holdout spend; stored in clm.models.evaluation and returned; a bgbb model is evaluated in calendar periods of its unit (clm.period_holdout_data)';
