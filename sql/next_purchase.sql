-- next_purchase: when will a customer buy next?  P(exactly n purchases in
-- the next t units), P(at least one), the median wait of an alive
-- customer.  Checked here against hand formulas and an independent
-- identity (the probabilities sum to 1 and their mean is
-- clm.expected_purchases, a hypergeometric formula); against direct
-- numerical integration over the rate and dropout distributions in the
-- core suite (scipy_reference.py next-check).
SET extra_float_digits = 0;
\i test/data/regress_cdnow.sql
CREATE TABLE np_models AS
SELECT clm.bgnbd_fit(x, t_x, "T") AS bg, clm.mbgnbd_fit(x, t_x, "T") AS mbg, clm.pareto_nbd_fit(x, t_x, "T") AS pn
FROM cdnow_summary;

-- 1. Every CDNOW customer, next 10 weeks: sum_n P(n) = 1 and sum_n n P(n)
-- = expected purchases, to 1e-9 (n up to 80; the rest is below 1e-12)
SELECT count(*) AS customers,
	   max(abs(pb - 1)) < 1e-9 AS bg_sums_to_1, max(abs(eb - clm.expected_purchases(bg, 10, x, t_x, "T"))) < 1e-9 AS bg_mean_ok,
	   max(abs(pm - 1)) < 1e-9 AS mbg_sums_to_1, max(abs(em - clm.expected_purchases(mbg, 10, x, t_x, "T"))) < 1e-9 AS mbg_mean_ok,
	   max(abs(1 - p0b - clm.prob_purchase_within(bg, 10, x, t_x, "T"))) < 1e-12 AS bg_within_is_1_minus_p0
FROM cdnow_summary, np_models,
	 LATERAL (SELECT sum(clm.prob_purchases(bg, n, 10, x, t_x, "T")) AS pb,
					 sum(n * clm.prob_purchases(bg, n, 10, x, t_x, "T")) AS eb,
					 sum(clm.prob_purchases(mbg, n, 10, x, t_x, "T")) AS pm,
					 sum(n * clm.prob_purchases(mbg, n, 10, x, t_x, "T")) AS em,
					 min(clm.prob_purchases(bg, 0, 10, x, t_x, "T")) FILTER (WHERE n = 0) AS p0b
			  FROM generate_series(0, 80) n) s;

-- 2. By hand, BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, a
-- customer without repeat purchases at T = 10 (alive; r' = r, alpha' =
-- alpha + T, b' = b), t = 5:  P(0) = (14.414/19.414)^0.243,
-- P(1) = b/(a+b) r (14.414/19.414)^r (5/19.414) + a/(a+b) (1 - P(0))
WITH m AS (SELECT ROW(0.243, 4.414, 0.793, 2.426, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model AS m)
SELECT round(clm.prob_purchases(m, 0, 5, 0, 0, 10)::numeric, 12) AS p0,
	   round(((14.414 / 19.414) ^ 0.243)::numeric, 12) AS p0_by_hand,
	   round(clm.prob_purchases(m, 1, 5, 0, 0, 10)::numeric, 12) AS p1,
	   round((2.426 / 3.219 * 0.243 * (14.414 / 19.414) ^ 0.243 * (5 / 19.414)
			  + 0.793 / 3.219 * (1 - (14.414 / 19.414) ^ 0.243))::numeric, 12) AS p1_by_hand,
	   round(clm.next_purchase_median(m, 0, 0, 10)::numeric, 6) AS median_wait,
	   round((14.414 * (2 ^ (1 / 0.243) - 1))::numeric, 6) AS median_by_hand
FROM m;
-- the median wait: an alive customer has bought by then with probability
-- 1/2, so P(at least one purchase within it) = P(alive) / 2
SELECT count(*) AS customers,
	   max(abs(clm.prob_purchase_within(bg, clm.next_purchase_median(bg, x, t_x, "T"), x, t_x, "T")
			   - clm.p_alive(bg, x, t_x, "T") / 2)) < 1e-12 AS bg_median_ok,
	   max(abs(clm.prob_purchase_within(mbg, clm.next_purchase_median(mbg, x, t_x, "T"), x, t_x, "T")
			   - clm.p_alive(mbg, x, t_x, "T") / 2)) < 1e-12 AS mbg_median_ok
FROM cdnow_summary, np_models;
-- the customer x = 2, t_x = 30.43, T = 38.86: as a date, from the as-of
-- date 1997-09-30 (weeks of 7 days)
SELECT round(clm.p_alive(bg, 2, 30.43, 38.86)::numeric, 4) AS p_alive,
	   round(clm.prob_purchase_within(bg, 4, 2, 30.43, 38.86)::numeric, 4) AS within_4_weeks,
	   round(clm.next_purchase_median(bg, 2, 30.43, 38.86)::numeric, 2) AS median_weeks_if_alive,
	   ('1997-09-30'::date + round(7 * clm.next_purchase_median(bg, 2, 30.43, 38.86))::int) AS median_date_if_alive
FROM np_models;

-- 3. Pareto/NBD.  With alpha = beta: P(at least one within t | alive) =
-- r'/(r'+s) [1 - (alpha'/(alpha'+t))^(r'+s)], r' = r+x, alpha' = alpha+T
WITH m AS (SELECT ROW(0.5, 10, 0.7, 10, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model AS m)
SELECT round(clm.prob_purchase_within(m, 8, 2, 30.43, 38.86)::numeric, 12) AS within_8,
	   round((clm.p_alive(m, 2, 30.43, 38.86) * 2.5 / 3.2 * (1 - (48.86 / 56.86) ^ 3.2))::numeric, 12) AS by_hand
FROM m;
-- it grows with t towards P(alive) x P(buys before dropping out), and is
-- 0 at t = 0
SELECT bool_and(clm.prob_purchase_within(pn, 20, x, t_x, "T") >= clm.prob_purchase_within(pn, 10, x, t_x, "T")) AS grows,
	   bool_and(clm.prob_purchase_within(pn, 1e6, x, t_x, "T") <= clm.p_alive(pn, x, t_x, "T")) AS below_p_alive,
	   bool_and(clm.prob_purchase_within(pn, 0, x, t_x, "T") = 0) AS zero_at_0
FROM cdnow_summary, np_models;

-- 4. Bad input
SELECT clm.prob_purchases(bg, -1, 10, 2, 1, 5) FROM np_models;
SELECT clm.prob_purchases(bg, 1, -10, 2, 1, 5) FROM np_models;
SELECT clm.next_purchase_median(bg, 2, 6, 5) FROM np_models;

-- 5. Pareto/NBD median wait: P(at least one purchase within it) = P(alive)/2
-- where it is finite; Infinity when fewer than half of such alive
-- customers ever buy again.  With alpha = beta, P(ever | alive) =
-- r'/(r'+s): r' = 0.5 < s = 0.7 never reaches 1/2; r' = 2.5 does.
SELECT count(*) FILTER (WHERE med = 'Infinity') AS infinite,
	   count(*) FILTER (WHERE med < 'Infinity') AS finite,
	   max(abs(clm.prob_purchase_within(pn, med, x, t_x, "T") - clm.p_alive(pn, x, t_x, "T") / 2))
		   FILTER (WHERE med < 'Infinity') < 1e-9 AS half_at_median
FROM (SELECT x, t_x, "T", pn, clm.next_purchase_median(pn, x, t_x, "T") AS med FROM cdnow_summary, np_models) s;
WITH m AS (SELECT ROW(0.5, 10, 0.7, 10, 0, 0, 0, true, NULL, NULL)::clm.pareto_nbd_model AS m)
SELECT clm.next_purchase_median(m, 0, 0, 5) AS r_below_s,
	   round(clm.next_purchase_median(m, 2, 4, 5)::numeric, 6) AS x2,
	   -- alpha' = beta' = 15, r' = 2.5, s = 0.7: G(t) = 2.5/3.2 (1 - (15/(15+t))^3.2) = 1/2
	   round((15 * ((1 - 0.5 * 3.2 / 2.5) ^ (-1 / 3.2) - 1))::numeric, 6) AS x2_by_hand
FROM m;

-- 6. Pareto/NBD P(exactly n): over every CDNOW customer, next 10 weeks,
-- sum_n P(n) = 1, sum_n n P(n) = expected purchases (the closed form of
-- Schmittlein et al.) and 1 - P(0) = prob_purchase_within (another
-- integral), to 1e-9
SELECT count(*) AS customers,
	   max(abs(pp - 1)) < 1e-9 AS sums_to_1,
	   max(abs(ep - clm.expected_purchases(pn, 10, x, t_x, "T"))) < 1e-9 AS mean_ok,
	   max(abs(1 - p0 - clm.prob_purchase_within(pn, 10, x, t_x, "T"))) < 1e-9 AS within_ok
FROM cdnow_summary, np_models,
	 LATERAL (SELECT sum(z.p) AS pp, sum(z.n * z.p) AS ep, min(z.p) FILTER (WHERE z.n = 0) AS p0
			  FROM (SELECT n, clm.prob_purchases(pn, n, 10, x, t_x, "T") AS p
					FROM generate_series(0, 60) n) z) s;
