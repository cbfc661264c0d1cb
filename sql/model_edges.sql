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
