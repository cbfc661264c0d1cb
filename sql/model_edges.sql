-- model_edges: edge cases of the model functions found by fuzzing (issue
-- 19).  The rule: a finite input gives a finite answer in range, or an
-- error 22003/22023 that says which argument or result is out of range.
SET extra_float_digits = 0;
\set VERBOSITY default

-- 1. a Pareto/NBD fit can be cancelled promptly: the quadrature of the
-- likelihood (up to 1e6 panels per customer at extreme parameters) polls
-- for interrupts every 4,096 panels.  This statement ran 98 s before its
-- 5 s timeout took effect; now the timeout cancels it on time.
SET statement_timeout = '1s';
CREATE TEMP TABLE e_t0 AS SELECT clock_timestamp() AS t0;
SELECT (clm.pareto_nbd_fit(3, 5 + g/100.0, 10)).converged FROM generate_series(1, 10) g;
RESET statement_timeout;
SELECT clock_timestamp() - t0 < interval '3 seconds' AS cancelled_within_3s FROM e_t0;

-- 2. probabilities stay in [0, 1]: x = 1e9 purchases gave 1.0000001896
-- (the product of exp(r' ln alpha' + ln I) loses ~1e-7 to rounding there)
SELECT clm.prob_purchase_within(ROW(0.553,10.58,0.606,11.67,0,1,0,true,'week',NULL)::clm.pareto_nbd_model, t, 1e9, 10, 10) AS p
FROM unnest(ARRAY[0.001, 10, 1e6]) t;

-- 3. parameters near the smallest double: E[X(10)] of Pareto/NBD with r =
-- alpha = s = beta = 1e-320 is r/alpha t = 10 (s -> 0: no dropout; was NaN)
SELECT round(clm.expected_purchases('(1e-320,1e-320,1e-320,1e-320,0,1,0,t,day,)'::clm.pareto_nbd_model, 10)::numeric, 9) AS e10,
	   round(clm.expected_purchases('(1e-320,1e-320,1e-320,1e-320,0,1,0,t,day,)'::clm.pareto_nbd_model, 10, 1, 1, 2)::numeric, 9) AS e10_given_history;
-- (M)BG/NBD there: a clear 22003 rather than a number
SELECT clm.expected_purchases('(1e-320,1e-320,1e-320,1e-320,0,1,0,t,day,)'::clm.bgnbd_model, 10);

-- 4. the CLV formula: a huge discount rate gives the limit 1000 x 0.3 x
-- (1 + d)/(d + 0.2) -> 300 (1e308 gave Infinity); a churn rate of 1e-320
-- means an expected lifetime beyond the float8 range: 22003 naming it
SELECT clm.clv_estimate(1000, 0.3, 0.2, 0, 1e308) AS d_1e308, clm.clv_estimate(1000, 0.3, 0.2, 0, 1e300) AS d_1e300;
SELECT clm.clv_estimate(1000, 0.3, 1e-320);
SELECT clm.clv_estimate(1e308, 1, 1e-10);

-- 5. Gamma-Gamma expected value near the largest double: p (v + x m) /
-- (p x + q - 1) = 6.25 (15.44 + 1e308) / 8.99 = 6.952e307, finite (was
-- Infinity: v + x m was formed first)
SELECT clm.expected_avg_value(ROW(6.25,3.74,15.44,0,1,0,0,true,NULL)::clm.gamma_gamma_model, 1, 1e308) AS e;
SELECT abs(clm.expected_avg_value(ROW(6.25,3.74,15.44,0,1,0,0,true,NULL)::clm.gamma_gamma_model, 1, 1e308)
		   / (6.25::float8 / 8.99::float8 * 1e308::float8) - 1) < 1e-12 AS by_hand;

-- 6. health score weights of 1e308: only their ratios matter (was NaN).
-- By hand: nps 8 -> 0.8 and spend 2 -> 1 weigh 1e308 each, the rest next
-- to nothing: 100 (0.8 + 1) / 2 = 90, as with weights 1 and 1
SELECT clm.health_score(0.2, 0.5, 2, 1, 8, '{"nps": 1e308, "spend": 1e308}') AS huge_weights,
	   clm.health_score(0.2, 0.5, 2, 1, 8, '{"nps": 1, "spend": 1, "recency": 0, "activity": 0, "tickets": 0}') AS unit_weights;

-- 7. fits: weights beyond bigint (n would wrap to a negative count) and
-- monetary values whose fit has no finite estimate are 22003
SELECT clm.pareto_nbd_fit('{(1,1,1,1e300)}'::clm.fit_data);
SELECT clm.bgnbd_fit('{(1,1,2,9.3e18)}'::clm.fit_data);
SELECT clm.mbgnbd_fit('{(1,1,2,9.3e18)}'::clm.fit_data);
SELECT clm.gamma_gamma_fit('{(1,1e308,1)}'::clm.fit_data);

-- 8. the functions the fuzz suite allowlisted until now (test/fuzz/fuzz.py)
-- churn_risk, signal form: b = prior_weight x prior_days + (orders - 1) x
-- gap overflowed (1e308 + 1e308) and the risk was p = 0.5 whatever the
-- silence.  By hand: a = 2, b = 2e308, d / b = 1/2, tail (2/3)^2 = 4/9,
-- risk 1 / (1 + 4/9) = 9/13; and with one order, b = d = 1e308: tail 1/2,
-- risk 2/3 (b + d overflowed)
SELECT round(clm.churn_risk(1e308, 1e308, 2, 1e308, 1, 0.5)::numeric, 9) AS b_overflows,
	   round((9 / 13.0)::numeric, 9) AS by_hand,
	   round(clm.churn_risk(1e308, NULL, 1, 1e308, 1, 0.5)::numeric, 9) AS b_plus_d_overflows;
-- risk_crossing_tenure: the tenure never precedes the recency.  A BG/NBD
-- customer with x = 5, t_x = 10 (r = alpha = a = b = 1) already has risk
-- 1 - 1/(1 + 1/5) = 1/6 >= 0.01 at T = 10 (the formula gave 5.69); with r
-- 1e-300, a 1e300 the root was -1; parameters of 1e308 each are finite
-- (their sum is not): P(alive) at T = t_x is 1/(1 + a/(b + x - 1)) = 1/2
SELECT clm.risk_crossing_tenure(1, 1, 1, 1, false, 5, 10, 0.01) AS already_at_recency,
	   round((1 - clm.p_alive(ROW(1,1,1,1,0,1,0,true,NULL,NULL)::clm.bgnbd_model, 5, 10, 10))::numeric, 6) AS risk_then,
	   clm.risk_crossing_tenure(1e-300, 1, 1e300, 1e-300, true, 0, 0, 0.999999) AS was_minus_1,
	   clm.risk_crossing_tenure(1e308, 1e308, 1, 1, false, 1, 1, 0.5) AS huge_parameters,
	   round(clm.risk_crossing_tenure(1, 1, 1, 1, false, 5, 1, 0.5)::numeric, 6) AS later;
-- by hand for the last: (1 + T) / 2 = (0.5/0.5 x 5/1)^(1/6), T = 2 x 5^(1/6) - 1
SELECT round((2 * 5 ^ (1 / 6.0) - 1)::numeric, 6) AS later_by_hand;
-- frequency_recency_matrix: 67 x 0.39 = 26.130000000000003 > tenure 26.13
-- made P(alive) fail with "recency must not exceed tenure"
SELECT count(*) AS cells, max(recency) AS last_recency, max(recency) = 26.13 AS last_is_tenure
FROM clm.frequency_recency_matrix(ROW(0.243,4.414,0.793,2.426,0,1,0,true,'week',NULL)::clm.bgnbd_model, 26.13, 2, 1, 0.39);
-- in_unit: a model no other function accepts is refused, not rescaled
-- (it kept n = -1 and turned alpha -5 into -0.16); a valid one as before
SELECT clm.in_unit(ROW(-1,-5,1,1,0,1,0,true,'day',NULL)::clm.bgnbd_model, 'month');
SELECT clm.in_unit(ROW(1,5,1,1,0,-1,0,true,'day',NULL)::clm.mbgnbd_model, 'month');
SELECT clm.in_unit(ROW(1,NULL,1,1,0,1,0,true,'day',NULL)::clm.pareto_nbd_model, 'month');
SELECT clm.in_unit(ROW(1,5,1,1,0,1,0,true,'year',NULL)::clm.bgnbd_model, 'month');
SELECT (m).alpha, (m).unit, (m).n FROM (SELECT clm.in_unit(ROW(1,5,1,1,0,1,0,true,'day',NULL)::clm.bgnbd_model, 'week') AS m) x;
SELECT (m).alpha, (m).beta, (m).unit FROM (SELECT clm.in_unit(ROW(1,5,1,3,0,1,0,true,'week',NULL)::clm.pareto_nbd_model, 'day') AS m) x;
