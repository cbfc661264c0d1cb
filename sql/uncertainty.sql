-- uncertainty: standard errors and intervals of the u_fits.  The covariance
-- of the estimates is the inverse of the observed information (the
-- Hessian of -LL at the maximum); lifetimes' summary gives, on CDNOW,
-- BG/NBD r 0.0126, alpha 0.378, a 0.186, b 0.705; scipy's central
-- differences of the same likelihood (test/data/ref_fit_cdnow.jsonl,
-- test/btyd/scipy_reference.py) give every model's to many digits.
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql
CREATE TABLE u_ref_fit (j jsonb);
\copy u_ref_fit FROM 'test/data/ref_fit_cdnow.jsonl'

CREATE TABLE u_fits AS
SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.mbgnbd_fit(x, t_x, "T") AS mbg,
	   clm.gamma_gamma_fit(x, zbar) AS gg, clm.pareto_nbd_fit(x, t_x, "T") AS pn
FROM cdnow_summary;

-- 1. BG/NBD standard errors on CDNOW: lifetimes' published summary (to 2%)
SELECT parameter, round(std_error::numeric, 4) AS std_error,
	   abs(std_error / lifetimes - 1) < 0.02 AS lifetimes_2pct
FROM u_fits, clm.parameter_summary(bg) s
JOIN (VALUES ('r', 0.0126), ('alpha', 0.378), ('a', 0.186), ('b', 0.705)) l(parameter, lifetimes) USING (parameter);

-- 2. every model's standard errors against scipy's (relative 1e-6)
SELECT r.model, s.parameter,
	   abs(s.std_error / (r.j->'se'->>s.parameter)::float8 - 1) < 1e-6 AS scipy_1e6
FROM (SELECT j->>'model' AS model, j FROM u_ref_fit) r
CROSS JOIN u_fits
CROSS JOIN LATERAL (SELECT * FROM clm.parameter_summary(bg) WHERE r.model = 'bgnbd'
					UNION ALL SELECT * FROM clm.parameter_summary(mbg) WHERE r.model = 'mbgnbd'
					UNION ALL SELECT * FROM clm.parameter_summary(gg) WHERE r.model = 'gg') s
ORDER BY 1, 2;

-- 3. the summary as a BI tool reads it: 95% intervals of ln(parameter)
-- (estimate x exp(+-1.96 se / estimate)), so they stay positive
SELECT parameter, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error,
	   round(lower::numeric, 4) AS lower, round(upper::numeric, 4) AS upper, note
FROM u_fits, clm.parameter_summary(bg);
SELECT parameter, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error,
	   round(lower::numeric, 4) AS lower, round(upper::numeric, 4) AS upper, note
FROM u_fits, clm.parameter_summary(gg, 0.9);
-- Pareto/NBD: central differences of the analytic gradient
SELECT parameter, round(estimate::numeric, 4) AS estimate, round(std_error::numeric, 4) AS std_error, note
FROM u_fits, clm.parameter_summary(pn);
-- by hand: lower = 0.24259 exp(-1.959964 x 0.012557 / 0.24259) = 0.24259 x 0.90353 = 0.2192
SELECT round(((bg).r * exp(-1.959964 * sqrt((bg).covariance[1][1]) / (bg).r))::numeric, 4) AS r_lower
FROM u_fits;
-- the covariance is symmetric and positive definite (here: positive
-- variances, correlations in (-1, 1)); r and alpha correlate strongly
SELECT array_length((bg).covariance, 1) AS n, (bg).covariance[1][2] = (bg).covariance[2][1] AS symmetric,
	   round(((bg).covariance[1][2] / sqrt((bg).covariance[1][1] * (bg).covariance[2][2]))::numeric, 3) AS corr_r_alpha
FROM u_fits;
SELECT clm.normal_quantile(0.975)::numeric(8, 6) AS z975, clm.level_z(0.9)::numeric(8, 6) AS z90;
-- far in the tails: finite (the refinement step would overflow there)
SELECT clm.normal_quantile(5e-324) < -38 AS tiny_p, clm.normal_quantile(1 - 1e-16) > 8 AS near_one;

-- 4. in another time unit: alpha and its standard error scale by 7 (week
-- -> day), the rest is unchanged
SELECT round((sqrt((d).covariance[2][2]) / sqrt((bg).covariance[2][2]))::numeric, 12) AS alpha_se_ratio,
	   (d).covariance[1][1] = (bg).covariance[1][1] AS r_same
FROM (SELECT bg, clm.in_unit(clm.in_unit(bg, 'week'), 'day') AS d FROM u_fits) s;

-- 5. stored models keep the covariance, and summarise by name
SELECT name, array_length(covariance, 1) AS k FROM clm.fit_model('u_bg', 'bgnbd', 'SELECT x, t_x, "T" FROM cdnow_summary');
SELECT parameter, round(std_error::numeric, 4) AS std_error FROM clm.parameter_summary('u_bg');
SELECT (clm.get_bgnbd_model('u_bg')).covariance = (SELECT (bg).covariance FROM u_fits) AS same_covariance;
DELETE FROM clm.models WHERE name = 'u_bg';

-- 6. a fit at the boundary prints no standard errors and says why:
-- everyone bought at the same rhythm until the end, so nobody looks like a
-- dropout: a runs to 0, b to infinity, the fit does not converge
SELECT parameter, std_error, lower, note
FROM clm.parameter_summary((SELECT clm.bgnbd_fit(x, tx, 10) FROM
	(SELECT g % 5 AS x, CASE WHEN g % 5 = 0 THEN 0 ELSE 10 END AS tx FROM generate_series(1, 100) g) s));

-- 7. bad arguments
SELECT * FROM clm.parameter_summary((SELECT bg FROM u_fits), 1.5);
SELECT * FROM clm.parameter_summary('no_such_model');
SELECT clm.normal_quantile(0);
SELECT clm.rescale_covariance(ARRAY[[1, 2], [3, 4]]::float8[], ARRAY[1, 2, 3]::float8[]);
