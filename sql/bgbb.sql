-- bgbb: the BG/BB model (Fader, Hardie & Shang 2010) for discrete-time
-- data.  The donations data of the paper (11,104 donors, 1995 cohort,
-- yearly opportunities 1996-2001): alpha 1.204, beta 0.750, gamma 0.657,
-- delta 2.783, LL -33,225.6; scipy's fit of the same likelihood
-- (test/data/ref_bgbb_donations.json, scipy_reference.py bgbb) to 1e-6,
-- and its standard errors to 1e-4.
SET extra_float_digits = 0;
CREATE TABLE bgbb_donations (frequency int, recency int, periods int, weights int);
\copy bgbb_donations FROM 'test/data/donations_bgbb.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE bgbb_ref (j jsonb);
\copy bgbb_ref FROM 'test/data/ref_bgbb_donations.json'

CREATE TABLE bgbb_fit_result AS SELECT clm.bgbb_fit(frequency, recency, periods, weights) AS m FROM bgbb_donations;
SELECT round((m).alpha::numeric, 3) AS alpha, round((m).beta::numeric, 3) AS beta,
	   round((m).gamma::numeric, 3) AS gamma, round((m).delta::numeric, 3) AS delta,
	   round((m).loglik::numeric, 1) AS loglik, (m).n, (m).converged
FROM bgbb_fit_result;
-- against scipy
SELECT s.parameter, abs(s.estimate / (j->'params'->>s.parameter)::float8 - 1) < 1e-6 AS estimate_1e6,
	   abs(s.std_error / (j->'se'->>s.parameter)::float8 - 1) < 1e-4 AS se_1e4,
	   round(s.std_error::numeric, 4) AS std_error
FROM bgbb_fit_result, bgbb_ref, clm.parameter_summary(m) s;
SELECT abs((m).loglik - (j->>'loglik')::float8) < 1e-6 AS loglik_same FROM bgbb_fit_result, bgbb_ref;

-- the same fit from one row per donor (weights expanded), and in parallel
SELECT abs((f).alpha - (m).alpha) < 1e-9 AS same_alpha
FROM bgbb_fit_result, (SELECT clm.bgbb_fit(frequency, recency, periods) AS f
		   FROM bgbb_donations, generate_series(1, weights)) e;

-- per donor: P(alive in 2002), expected donations 2002-2006, DERT at 10%.
-- By hand for a 6-for-6 donor: P(alive) = B(a+6, b) B(g, d+7) / (B(a, b)
-- B(g, d) L) with L the alive term plus none (x = tx = n), i.e.
-- B(g, d+7) / B(g, d+6) = (d+6) / (g+d+6) = 8.783 / 9.440 = 0.9304
SELECT frequency, recency, round(clm.p_alive(m, frequency, recency, periods)::numeric, 4) AS p_alive,
	   round(clm.expected_purchases(m, 5, frequency, recency, periods)::numeric, 4) AS next5,
	   round(clm.discounted_expected_transactions(m, frequency, recency, periods, 0.1)::numeric, 4) AS dert
FROM bgbb_fit_result, bgbb_donations WHERE (frequency, recency) IN ((0, 0), (1, 1), (3, 6), (6, 6)) ORDER BY 1, 2;
SELECT round((((m).delta + 6) / ((m).gamma + (m).delta + 6))::numeric, 4) AS by_hand FROM bgbb_fit_result;
-- the expected donations of the whole cohort over 2002-2006 (a total over
-- the grouped histories, weighted by their donor counts)
SELECT round(sum(weights * clm.expected_purchases(m, 5, frequency, recency, periods))::numeric, 0) AS donations_2002_2006
FROM bgbb_fit_result, bgbb_donations;

-- bad input: errors name the argument
SELECT clm.bgbb_fit(2, 1, 6);
SELECT clm.bgbb_fit(1.5, 2, 6);
SELECT clm.bgbb_fit(1, 2, 6, -1);
SELECT clm.expected_purchases((SELECT m FROM bgbb_fit_result), 2.5, 1, 1, 6);
SELECT clm.discounted_expected_transactions((SELECT m FROM bgbb_fit_result), 1, 1, 6, 0);
SELECT clm.p_alive((SELECT m FROM bgbb_fit_result), 1, 7, 6);
