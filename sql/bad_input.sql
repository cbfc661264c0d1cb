-- bad input: every rejected argument gives SQLSTATE 22023 (echoed after
-- each statement) with a message that names it
\set VERBOSITY default
SET timezone = 'UTC';

-- a transaction after as_of
SELECT clm.customer_summary(ts, 1, '2024-01-15')
FROM (VALUES ('2024-01-01'::timestamptz), ('2024-02-01')) v(ts);
\echo :LAST_ERROR_SQLSTATE
-- NaN and infinite amounts
SELECT clm.customer_summary('2024-01-01', 'NaN', '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.customer_summary('2024-01-01', 'Infinity', '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.customer_summary('2024-01-01', '-Infinity', '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
-- infinite timestamps
SELECT clm.customer_summary('-infinity', 1, '2024-01-15');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.customer_summary('2024-01-01', 1, 'infinity');
\echo :LAST_ERROR_SQLSTATE
-- as_of differing between rows of one customer
SELECT clm.customer_summary(ts, 1, ts + interval '1 day')
FROM (VALUES ('2024-01-01'::timestamptz), ('2024-01-02')) v(ts);
\echo :LAST_ERROR_SQLSTATE
-- unknown unit
SELECT clm.customer_summary('2024-01-01', 1, '2024-01-15', 'month');
\echo :LAST_ERROR_SQLSTATE

-- rfm_score
SELECT clm.rfm_score(1, 1, 1, 1) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 11) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, NULL) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(x, 1, 1) OVER () FROM (VALUES ('NaN'::float8)) v(x);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, '[1,2]') OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, '{"11": "x"}') OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, clm.rfm_segment_map() - '35' || '{"36": "x"}') OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(1, 1, 1, 5, jsonb_set(clm.rfm_segment_map(), '{35}', '7')) OVER ();
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, 20}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{1,2,3,4,5,6,7,8,9,10}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, NULL}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, 60}', '{2, NaN}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, '{30, 60}', '{{2, 5}}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score(10, 2, 50, NULL, '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_score('NaN', 2, 50, '{30, 60}', '{2, 5}', '{10, 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_segment(6, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_segment(0, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.rfm_segment(1, 1, 1, 1);
\echo :LAST_ERROR_SQLSTATE

-- abc_class
SELECT clm.abc_class(v, 0, 0.9) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 1, 1) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 0.8, 0.8) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 0.8, 1.5) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, 'NaN', 0.9) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v, NULL, 0.9) OVER () FROM (VALUES (1.0::float8)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v) OVER () FROM (VALUES (1.0::float8), (-1)) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v) OVER () FROM (VALUES (1.0::float8), ('NaN')) t(v);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.abc_class(v) OVER () FROM (VALUES (1.0::float8), ('Infinity')) t(v);
\echo :LAST_ERROR_SQLSTATE

-- CLV models
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES (-1::float8, 0::float8, 5::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES (1.5::float8, 1::float8, 5::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES (1::float8, 6::float8, 5::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES (1::float8, 0::float8, 0::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES (1::float8, -1::float8, 5::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES (0::float8, 2::float8, 5::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES ('NaN'::float8, 0::float8, 5::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt) FROM (VALUES (1::float8, 1::float8, 'Infinity'::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt, -0.1) FROM (VALUES (1::float8, 1::float8, 5::float8)) v(x, t, tt);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit(x, t, tt, p) FROM (VALUES (1::float8, 1::float8, 5::float8, 0.1::float8), (1, 1, 5, 0.2)) v(x, t, tt, p);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit('{(1,1,5,1)}'::clm.fit_data, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.gamma_gamma_fit(x, m) FROM (VALUES (1::float8, 'NaN'::float8)) v(x, m);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.gamma_gamma_fit('{(1,1,5,1)}'::clm.fit_data);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.bgnbd_fit('{(1,2,1)}'::clm.fit_data);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.fit_data_merge(d) FROM (VALUES ('{(1,1,5,1)}'::clm.fit_data), ('{(1,2,1)}')) v(d);
\echo :LAST_ERROR_SQLSTATE
-- fit_data text input
SELECT '{(1,1,5)'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,1,5,1),(1,1,5,1,1)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,1,5,0)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,6,5,1)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,1)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{(1,nan,5,1)}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT 'penalizer=-1;{}'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
SELECT '{} x'::clm.fit_data;
\echo :LAST_ERROR_SQLSTATE
-- per-customer functions
SELECT clm.p_alive(ROW(0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, 2, 6, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.p_alive(ROW(-0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, 2, 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.p_alive(ROW(NULL, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, 2, 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.expected_purchases(ROW(0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model, -1, 2, 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.expected_avg_value(ROW(6, 3.7, 15, 0, 0, 0, 0, true, NULL)::clm.gamma_gamma_model, 2, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.expected_avg_value(ROW(6, 0.5, 15, 0, 0, 0, 0, true, NULL)::clm.gamma_gamma_model, 0, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(ROW(0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model,
						ROW(6, 3.7, 15, 0, 0, 0, 0, true, NULL)::clm.gamma_gamma_model, 2, 1, 5, 20, -1, 0.01);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(ROW(0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model,
						ROW(6, 3.7, 15, 0, 0, 0, 0, true, NULL)::clm.gamma_gamma_model, 2, 1, 5, 20, 12, -0.01);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(ROW(0.2, 4, 0.8, 2.4, 0, 0, 0, true, NULL, NULL)::clm.bgnbd_model,
						ROW(6, 3.7, 15, 0, 0, 0, 0, true, NULL)::clm.gamma_gamma_model, 2, 1, 5, 20, 12, 0.01, 'year');
\echo :LAST_ERROR_SQLSTATE
-- the business formula
SELECT clm.clv_estimate(1000, 0.3, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(1000, 0.3, 1.5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(1000, 1.3, 0.2);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(1000, -0.1, 0.2);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate(1000, 0.3, 0.2, 0, -0.05);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.clv_estimate('NaN', 0.3, 0.2);
\echo :LAST_ERROR_SQLSTATE

-- churn risk, activity trend, health score
SELECT clm.churn_risk(-1, 10, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk(10, -10, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk(10, 10, -5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk('NaN', 10, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk(10, 10, 5, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk(10, 10, 5, 30, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk(10, 10, 5, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk(10, 10, 5, dropout => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.churn_risk(10, 10, 5, dropout => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend(ts, 1, '2024-03-01', '-30 days') FROM (VALUES ('2024-02-01'::timestamptz)) v(ts);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend(ts, 1, '2024-03-01', '30 days') FROM (VALUES ('2024-04-01'::timestamptz)) v(ts);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend(ts, 'Infinity', '2024-03-01', '30 days') FROM (VALUES ('2024-02-01'::timestamptz)) v(ts);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.activity_trend(ts, 1, ts + interval '1 day', '30 days') FROM (VALUES ('2024-02-01'::timestamptz), ('2024-02-02')) v(ts);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(1.5, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, -1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, 1, 1, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, 1, 1, 0, 11);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, 1, 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, 1, 1, 0, 5, '{"recency": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, 1, 1, 0, 5, '{"mood": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, 1, 1, 0, 5, '{"nps": "high"}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.health_score(0.5, 1, 1, 0, 5, '[]');
\echo :LAST_ERROR_SQLSTATE
