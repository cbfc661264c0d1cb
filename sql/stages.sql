-- lifecycle stages: every stage, both sides of every threshold, every
-- transition, policies
SET timezone = 'UTC';

SELECT clm.stage_policy_defaults();
SELECT enum_range(NULL::clm.stage);

-- table-driven cases, as of 2024-06-01 with the default policy
-- (new_days 30, loyal_min_orders 5, at_risk_days 90, churn_days 180,
-- at_risk_rhythm 3, at_risk_risk 0.7, churned_risk 0.9).  first and last
-- are days before as_of.
CREATE TABLE stage_cases (
	name text, first_ago int, last_ago int, orders bigint, risk float8,
	prev clm.stage, policy jsonb, expected clm.stage);
INSERT INTO stage_cases VALUES
	('never bought',                     NULL, NULL, 0, NULL, NULL, NULL, 'prospect'),
	('known, zero orders',                 10,   10, 0, NULL, NULL, NULL, 'prospect'),
	('first purchase 10 days ago',         10,   10, 1, NULL, NULL, NULL, 'new'),
	('first purchase 30 days ago (edge)',  30,   30, 1, NULL, NULL, NULL, 'new'),
	('first purchase 31 days ago',         31,   31, 1, NULL, NULL, NULL, 'active'),
	('two orders, on rhythm',             100,   20, 2, NULL, NULL, NULL, 'active'),
	('4 orders',                          300,    5, 4, NULL, NULL, NULL, 'active'),
	('5 orders (edge)',                   300,    5, 5, NULL, NULL, NULL, 'loyal'),
	('new beats loyal',                    20,    1, 9, NULL, NULL, NULL, 'new'),
	('silent 90 days (edge)',              95,   90, 1, NULL, NULL, NULL, 'active'),
	('silent 91 days',                     95,   91, 1, NULL, NULL, NULL, 'at_risk'),
	('silent 180 days (edge)',            200,  180, 1, NULL, NULL, NULL, 'at_risk'),
	('silent 181 days',                   200,  181, 1, NULL, NULL, NULL, 'churned'),
	('loyal but silent 181 days',         600,  181, 40, NULL, NULL, NULL, 'churned'),
	-- rhythm: 2 orders 10 days apart -> overdue after 3 x 10 = 30 days
	('rhythm 10 days, silent 30 (edge)',   40,   30, 2, NULL, NULL, NULL, 'active'),
	('rhythm 10 days, silent 31',          41,   31, 2, NULL, NULL, NULL, 'at_risk'),
	('rhythm off by policy',               41,   31, 2, NULL, NULL, '{"at_risk_rhythm": 0}', 'active'),
	('rhythm 2x by policy',                31,   21, 2, NULL, NULL, '{"at_risk_rhythm": 2}', 'at_risk'),
	-- risk thresholds
	('risk 0.69',                         100,   10, 2, 0.69, NULL, NULL, 'active'),
	('risk 0.70 (edge)',                  100,   10, 2, 0.70, NULL, NULL, 'at_risk'),
	('risk 0.89',                         100,   10, 2, 0.89, NULL, NULL, 'at_risk'),
	('risk 0.90 (edge)',                  100,   10, 2, 0.90, NULL, NULL, 'churned'),
	('risk unknown',                      100,   10, 2, NULL, NULL, NULL, 'active'),
	-- win-back
	('back after at_risk',                300,    3, 3, NULL, 'at_risk', NULL, 'reactivated'),
	('back after churned',                300,    3, 3, NULL, 'churned', NULL, 'reactivated'),
	('still reactivated, 4 orders',       300,    3, 4, NULL, 'reactivated', NULL, 'reactivated'),
	('reactivated grows loyal',           300,    3, 5, NULL, 'reactivated', NULL, 'loyal'),
	('reactivated slips again',           300,  100, 4, NULL, 'reactivated', NULL, 'at_risk'),
	('at_risk stays at_risk',             300,  100, 3, NULL, 'at_risk', NULL, 'at_risk'),
	('churned stays churned',             300,  200, 3, NULL, 'churned', NULL, 'churned'),
	('churned, bought again but overdue', 300,   95, 3, NULL, 'churned', NULL, 'at_risk'),
	-- a longer churn horizon
	('silent 200 days, churn_days 365',   300,  200, 1, NULL, NULL, '{"churn_days": 365}', 'at_risk'),
	('new_days 7',                         10,   10, 1, NULL, NULL, '{"new_days": 7}', 'active');

SELECT name, expected,
	   clm.lifecycle_stage(CASE WHEN first_ago IS NOT NULL THEN '2024-06-01'::timestamptz - first_ago * interval '1 day' END,
						   CASE WHEN last_ago IS NOT NULL THEN '2024-06-01'::timestamptz - last_ago * interval '1 day' END,
						   orders, '2024-06-01', risk, prev, policy) AS got
FROM stage_cases ORDER BY name;
SELECT count(*) AS mismatches
FROM stage_cases
WHERE clm.lifecycle_stage(CASE WHEN first_ago IS NOT NULL THEN '2024-06-01'::timestamptz - first_ago * interval '1 day' END,
						  CASE WHEN last_ago IS NOT NULL THEN '2024-06-01'::timestamptz - last_ago * interval '1 day' END,
						  orders, '2024-06-01', risk, prev, policy) IS DISTINCT FROM expected;

-- every transition: the stage reached from each previous stage for five
-- kinds of customer today
SELECT coalesce(prev::text, '(none)') AS previous,
	   clm.lifecycle_stage('2024-05-25', '2024-05-25', 1, '2024-06-01', NULL, prev) AS new_buyer,
	   clm.lifecycle_stage('2024-01-01', '2024-05-20', 2, '2024-06-01', NULL, prev) AS regular,
	   clm.lifecycle_stage('2023-01-01', '2024-05-30', 12, '2024-06-01', NULL, prev) AS frequent,
	   clm.lifecycle_stage('2023-01-01', '2024-01-15', 3, '2024-06-01', NULL, prev) AS silent_138d,
	   clm.lifecycle_stage('2022-01-01', '2023-01-15', 3, '2024-06-01', NULL, prev) AS silent_503d,
	   clm.lifecycle_stage(NULL, NULL, 0, '2024-06-01', NULL, prev) AS never_bought
FROM unnest(enum_range(NULL::clm.stage) || NULL::clm.stage) prev;

-- the same policy given again is reused; a valid policy checks true
SELECT clm.check_stage_policy('{"churn_days": 400, "at_risk_days": 120}') AS valid,
	   clm.check_stage_policy(clm.stage_policy_defaults()) AS defaults_valid;

-- invalid policies: SQLSTATE 22023 naming the field
\set VERBOSITY default
SELECT clm.check_stage_policy('{"at_risk_days": 200}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"at_risk_days": 180, "churn_days": 180}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"at_risk_days": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"at_risk_risk": 1.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"at_risk_risk": -0.1}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"churned_risk": 1.01}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"at_risk_risk": 0.9, "churned_risk": 0.8}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"new_days": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"loyal_min_orders": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"loyal_min_orders": 2.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"at_risk_rhythm": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"churn_dayz": 10}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('{"churn_days": "long"}');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.check_stage_policy('[1]');
\echo :LAST_ERROR_SQLSTATE
-- the same checks apply when the policy is passed to lifecycle_stage
SELECT clm.lifecycle_stage('2024-01-01', '2024-05-01', 2, '2024-06-01', NULL, NULL, '{"churn_days": 10}');
\echo :LAST_ERROR_SQLSTATE
-- bad arguments
SELECT clm.lifecycle_stage('2024-01-01', '2024-07-01', 2, '2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.lifecycle_stage('2024-03-01', '2024-01-01', 2, '2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.lifecycle_stage('2024-01-01', '2024-05-01', -2, '2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT clm.lifecycle_stage('2024-01-01', '2024-05-01', 2, '2024-06-01', 1.5);
\echo :LAST_ERROR_SQLSTATE
SELECT clm.lifecycle_stage('2024-01-01', '2024-05-01', 2, NULL);
\echo :LAST_ERROR_SQLSTATE
