-- Descriptions of the objects whose definitions above carry none: the
-- aggregates' support functions, the fields of the result types, and the
-- columns of the tables and views (what \df+, \dT+ and \d+ show).
-- sql/comments.sql fails on any object of schema clm left without one.

-- support functions of the aggregates and of the type fit_data
COMMENT ON FUNCTION @extschema@.customer_summary_trans(internal, timestamptz, float8, timestamptz) IS
'support function of the aggregate clm.customer_summary: transition (adds one transaction, unit day)';
COMMENT ON FUNCTION @extschema@.customer_summary_trans(internal, timestamptz, float8, timestamptz, text) IS
'support function of the aggregate clm.customer_summary: transition (adds one transaction, in the given unit)';
COMMENT ON FUNCTION @extschema@.customer_summary_combine(internal, internal) IS
'support function of the aggregate clm.customer_summary: merges two partial states (parallel query)';
COMMENT ON FUNCTION @extschema@.customer_summary_serialize(internal) IS
'support function of the aggregate clm.customer_summary: state to bytea (parallel query)';
COMMENT ON FUNCTION @extschema@.customer_summary_deserialize(bytea, internal) IS
'support function of the aggregate clm.customer_summary: bytea to state (parallel query)';
COMMENT ON FUNCTION @extschema@.customer_summary_final(internal) IS
'support function of the aggregate clm.customer_summary: state to clm.summary';
COMMENT ON FUNCTION @extschema@.activity_trend_trans(float8[], timestamptz, float8, timestamptz, interval) IS
'support function of the aggregate clm.activity_trend: transition (adds one transaction to its window)';
COMMENT ON FUNCTION @extschema@.activity_trend_combine(float8[], float8[]) IS
'support function of the aggregate clm.activity_trend: merges two partial states (parallel query)';
COMMENT ON FUNCTION @extschema@.activity_trend_final(float8[]) IS
'support function of the aggregate clm.activity_trend: state to clm.activity';
COMMENT ON FUNCTION @extschema@.fit_data_trans(@extschema@.fit_data, float8, float8, float8) IS
'support function of the aggregates clm.fit_data, clm.bgnbd_fit and clm.mbgnbd_fit: transition (adds one customer row)';
COMMENT ON FUNCTION @extschema@.fit_data_trans_monetary(@extschema@.fit_data, float8, float8, float8, float8) IS
'support function of the aggregate clm.fit_data(frequency, recency, tenure, monetary): transition (adds one customer row)';
COMMENT ON FUNCTION @extschema@.fit_data_trans_penalized(@extschema@.fit_data, float8, float8, float8, float8) IS
'support function of the aggregates clm.bgnbd_fit and clm.mbgnbd_fit with a penalizer: transition (adds one customer row, keeps the penalizer)';
COMMENT ON FUNCTION @extschema@.fit_data_trans_gg(@extschema@.fit_data, float8, float8) IS
'support function of the aggregate clm.gamma_gamma_fit: transition (adds one customer row)';
COMMENT ON FUNCTION @extschema@.fit_data_trans_gg_penalized(@extschema@.fit_data, float8, float8, float8) IS
'support function of the aggregate clm.gamma_gamma_fit with a penalizer: transition (adds one customer row, keeps the penalizer)';
COMMENT ON FUNCTION @extschema@.fit_data_combine(@extschema@.fit_data, @extschema@.fit_data) IS
'support function of the fitting aggregates: merges two partial states (parallel query)';
COMMENT ON FUNCTION @extschema@.fit_data_final(@extschema@.fit_data) IS
'support function of the aggregates clm.fit_data and clm.fit_data_merge: the grouped customer rows';
COMMENT ON FUNCTION @extschema@.bgnbd_fit_final(@extschema@.fit_data) IS
'support function of the aggregate clm.bgnbd_fit: fits BG/NBD on the grouped rows';
COMMENT ON FUNCTION @extschema@.mbgnbd_fit_final(@extschema@.fit_data) IS
'support function of the aggregate clm.mbgnbd_fit: fits MBG/NBD on the grouped rows';
COMMENT ON FUNCTION @extschema@.gamma_gamma_fit_final(@extschema@.fit_data) IS
'support function of the aggregate clm.gamma_gamma_fit: fits Gamma-Gamma on the grouped rows';
COMMENT ON FUNCTION @extschema@.fit_data_in(cstring) IS
'input function of the type clm.fit_data: {(frequency,recency,tenure[,monetary],weight),...}';
COMMENT ON FUNCTION @extschema@.fit_data_out(@extschema@.fit_data) IS
'output function of the type clm.fit_data (shortest exact decimals)';
COMMENT ON FUNCTION @extschema@.fit_data_recv(internal) IS
'binary input function of the type clm.fit_data';
COMMENT ON FUNCTION @extschema@.fit_data_send(@extschema@.fit_data) IS
'binary output function of the type clm.fit_data';

-- fields of the result types
COMMENT ON COLUMN @extschema@.rfm.r IS 'recency score, 1 (longest silence) to buckets';
COMMENT ON COLUMN @extschema@.rfm.f IS 'frequency score, 1 (fewest) to buckets';
COMMENT ON COLUMN @extschema@.rfm.m IS 'monetary score, 1 (least) to buckets';
COMMENT ON COLUMN @extschema@.rfm.cell IS 'the three scores as digits (''545''), dash-separated with 10 buckets';
COMMENT ON COLUMN @extschema@.rfm.segment IS 'named segment of the R x FM grid (clm.rfm_segment_map())';

COMMENT ON COLUMN @extschema@.activity.recent_orders IS 'transactions in (as_of - window, as_of]';
COMMENT ON COLUMN @extschema@.activity.previous_orders IS 'transactions in (as_of - 2 window, as_of - window]';
COMMENT ON COLUMN @extschema@.activity.recent_amount IS 'amount in the recent window';
COMMENT ON COLUMN @extschema@.activity.previous_amount IS 'amount in the previous window';
COMMENT ON COLUMN @extschema@.activity.orders_ratio IS 'recent_orders / previous_orders; NULL when the previous window is empty';
COMMENT ON COLUMN @extschema@.activity.amount_ratio IS 'recent_amount / previous_amount; NULL when the previous window is empty';
COMMENT ON COLUMN @extschema@.activity.avg_value_ratio IS 'recent average order value / previous average order value; NULL when the previous window is empty';

COMMENT ON COLUMN @extschema@.bgnbd_model.r IS 'shape of the Gamma distribution of purchase rates';
COMMENT ON COLUMN @extschema@.bgnbd_model.alpha IS 'scale of the Gamma distribution of purchase rates (in the fit''s time unit)';
COMMENT ON COLUMN @extschema@.bgnbd_model.a IS 'first parameter of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN @extschema@.bgnbd_model.b IS 'second parameter of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN @extschema@.bgnbd_model.loglik IS 'log-likelihood at the fitted parameters';
COMMENT ON COLUMN @extschema@.bgnbd_model.n IS 'customers fitted';
COMMENT ON COLUMN @extschema@.bgnbd_model.iterations IS 'optimiser iterations';
COMMENT ON COLUMN @extschema@.bgnbd_model.converged IS 'whether the gradient test passed; false: do not trust the parameters';
COMMENT ON COLUMN @extschema@.mbgnbd_model.r IS 'shape of the Gamma distribution of purchase rates';
COMMENT ON COLUMN @extschema@.mbgnbd_model.alpha IS 'scale of the Gamma distribution of purchase rates (in the fit''s time unit)';
COMMENT ON COLUMN @extschema@.mbgnbd_model.a IS 'first parameter of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN @extschema@.mbgnbd_model.b IS 'second parameter of the Beta distribution of dropout probabilities';
COMMENT ON COLUMN @extschema@.mbgnbd_model.loglik IS 'log-likelihood at the fitted parameters';
COMMENT ON COLUMN @extschema@.mbgnbd_model.n IS 'customers fitted';
COMMENT ON COLUMN @extschema@.mbgnbd_model.iterations IS 'optimiser iterations';
COMMENT ON COLUMN @extschema@.mbgnbd_model.converged IS 'whether the gradient test passed; false: do not trust the parameters';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.p IS 'shape of the Gamma distribution of a transaction''s value';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.q IS 'shape of the Gamma distribution of customers'' scale parameters';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.v IS 'scale of the Gamma distribution of customers'' scale parameters (gamma in the paper)';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.loglik IS 'log-likelihood at the fitted parameters';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.n IS 'customers fitted (frequency > 0 and monetary > 0)';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.skipped IS 'customers left out (no repeat purchase or monetary <= 0)';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.iterations IS 'optimiser iterations';
COMMENT ON COLUMN @extschema@.gamma_gamma_model.converged IS 'whether the gradient test passed; false: do not trust the parameters';

COMMENT ON COLUMN @extschema@.breakpoints.r_cuts IS 'recency cut points (upper bounds of days_since_last, best first)';
COMMENT ON COLUMN @extschema@.breakpoints.f_cuts IS 'frequency cut points (lower bounds of the higher scores)';
COMMENT ON COLUMN @extschema@.breakpoints.m_cuts IS 'monetary cut points (lower bounds of the higher scores)';
COMMENT ON COLUMN @extschema@.breakpoints.abc_a IS 'smallest total_amount of ABC class A';
COMMENT ON COLUMN @extschema@.breakpoints.abc_b IS 'smallest total_amount of ABC class B';
COMMENT ON COLUMN @extschema@.breakpoints.high_value_clv IS 'smallest CLV of the high-value share';
COMMENT ON COLUMN @extschema@.breakpoints.customers IS 'customers the breakpoints were computed over';
COMMENT ON COLUMN @extschema@.scoring.purchase_bgnbd IS 'BG/NBD purchase model (NULL when MBG/NBD is used)';
COMMENT ON COLUMN @extschema@.scoring.purchase_mbgnbd IS 'MBG/NBD purchase model (NULL when BG/NBD is used)';
COMMENT ON COLUMN @extschema@.scoring.spend IS 'Gamma-Gamma spend model';
COMMENT ON COLUMN @extschema@.scoring.horizon_months IS 'CLV horizon in months';
COMMENT ON COLUMN @extschema@.scoring.discount_rate IS 'monthly discount rate of the CLV';
COMMENT ON COLUMN @extschema@.scoring.unit IS 'time unit the models were fitted in';
COMMENT ON COLUMN @extschema@.scoring.policy IS 'complete stage policy (over clm.stage_policy_defaults())';
COMMENT ON COLUMN @extschema@.scoring.rules IS 'complete alert rules (over clm.alert_rules_defaults())';

-- stored models
COMMENT ON COLUMN @extschema@.models.name IS 'the model''s name, as clm.get_*_model(name) takes it';
COMMENT ON COLUMN @extschema@.models.kind IS 'bgnbd, mbgnbd or gamma_gamma';
COMMENT ON COLUMN @extschema@.models.parameters IS 'fitted parameters as jsonb (r, alpha, a, b or p, q, v)';
COMMENT ON COLUMN @extschema@.models.fitted_at IS 'when clm.fit_model stored it';
COMMENT ON COLUMN @extschema@.models.n IS 'customers fitted';
COMMENT ON COLUMN @extschema@.models.loglik IS 'log-likelihood at the fitted parameters';
COMMENT ON COLUMN @extschema@.models.iterations IS 'optimiser iterations';
COMMENT ON COLUMN @extschema@.models.converged IS 'whether the fit converged';
COMMENT ON COLUMN @extschema@.models.source IS 'the query the model was fitted on';
COMMENT ON COLUMN @extschema@.models.owner IS 'role that stored it: only it can change or delete it';

-- jobs
COMMENT ON SEQUENCE @extschema@.jobs_job_id_seq IS 'job ids (clm.jobs.job_id)';

COMMENT ON SEQUENCE @extschema@.job_runs_run_id_seq IS 'run ids (clm.job_runs.run_id)';


COMMENT ON SEQUENCE @extschema@.alerts_alert_id_seq IS 'alert ids (clm.alerts.alert_id)';

-- dashboards
COMMENT ON COLUMN @extschema@.segment_summary.job IS 'job name';
COMMENT ON COLUMN @extschema@.segment_summary.segment IS 'RFM segment';
COMMENT ON COLUMN @extschema@.segment_summary.customers IS 'customers in the segment';
COMMENT ON COLUMN @extschema@.segment_summary.revenue IS 'their total_amount';
COMMENT ON COLUMN @extschema@.segment_summary.revenue_share IS 'their share of the job''s revenue';
COMMENT ON COLUMN @extschema@.segment_summary.avg_clv IS 'their average CLV';
COMMENT ON COLUMN @extschema@.segment_summary.avg_churn_risk IS 'their average churn risk';
COMMENT ON COLUMN @extschema@.stage_summary.job IS 'job name';
COMMENT ON COLUMN @extschema@.stage_summary.stage IS 'lifecycle stage';
COMMENT ON COLUMN @extschema@.stage_summary.customers IS 'customers in the stage';
COMMENT ON COLUMN @extschema@.stage_summary.customer_share IS 'their share of the job''s customers';
COMMENT ON COLUMN @extschema@.stage_summary.revenue IS 'their total_amount';
COMMENT ON COLUMN @extschema@.stage_summary.clv IS 'their total CLV';
COMMENT ON COLUMN @extschema@.stage_summary.avg_churn_risk IS 'their average churn risk';
COMMENT ON COLUMN @extschema@.stage_summary.avg_health IS 'their average health score';
COMMENT ON COLUMN @extschema@.stage_funnel.job IS 'job name';
COMMENT ON COLUMN @extschema@.stage_funnel.from_stage IS 'stage before (NULL: first classification)';
COMMENT ON COLUMN @extschema@.stage_funnel.to_stage IS 'stage after';
COMMENT ON COLUMN @extschema@.stage_funnel.transitions IS 'changes from from_stage to to_stage, all time';
COMMENT ON COLUMN @extschema@.stage_funnel.last_30_days IS 'those in the last 30 days';
COMMENT ON COLUMN @extschema@.stage_funnel.last_seen IS 'latest such change';
COMMENT ON COLUMN @extschema@.open_alerts.alert_id IS 'alert id, as clm.acknowledge_alert(id) takes it';
COMMENT ON COLUMN @extschema@.open_alerts.job IS 'job name';
COMMENT ON COLUMN @extschema@.open_alerts.customer_id IS 'the customer, as text';
COMMENT ON COLUMN @extschema@.open_alerts.kind IS 'entered_at_risk, churned, reactivated or high_value_at_risk';
COMMENT ON COLUMN @extschema@.open_alerts.raised_at IS 'when the run raised it';
COMMENT ON COLUMN @extschema@.open_alerts.details IS 'the NOTIFY clm_alerts payload';

-- model units, stored-model evaluation, Pareto/NBD and holdout error (issue 10)
COMMENT ON COLUMN @extschema@.bgnbd_model.unit IS 'the time unit the model was fitted in (''day'', ''week'', ''month''; NULL: not stated)';
COMMENT ON COLUMN @extschema@.mbgnbd_model.unit IS 'the time unit the model was fitted in (''day'', ''week'', ''month''; NULL: not stated)';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.unit IS 'the time unit the model was fitted in (''day'', ''week'', ''month''; NULL: not stated)';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.r IS 'shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.alpha IS 'scale of the gamma distribution of purchase rates (in the model''s time unit)';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.s IS 'shape of the gamma distribution of dropout rates';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.beta IS 'scale of the gamma distribution of dropout rates (in the model''s time unit)';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.loglik IS 'log-likelihood of the fit';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.n IS 'customers the fit used';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.iterations IS 'optimiser iterations';
COMMENT ON COLUMN @extschema@.pareto_nbd_model.converged IS 'whether the optimiser converged (scoring ignores a model that did not)';
COMMENT ON COLUMN @extschema@.models.unit IS 'the time unit the model was fitted in';
COMMENT ON COLUMN @extschema@.models.aic IS 'Akaike information criterion of the fit (2k - 2 loglik)';
COMMENT ON COLUMN @extschema@.models.bic IS 'Bayesian information criterion of the fit (k ln n - 2 loglik)';
COMMENT ON COLUMN @extschema@.models.evaluation IS 'holdout figures stored by clm.evaluate_model (MAE, RMSE, aggregate error, the split)';
COMMENT ON COLUMN @extschema@.prediction_error.customers IS 'customers compared';
COMMENT ON COLUMN @extschema@.prediction_error.mae IS 'mean absolute error of the per-customer predictions';
COMMENT ON COLUMN @extschema@.prediction_error.rmse IS 'root mean squared error of the per-customer predictions';
COMMENT ON COLUMN @extschema@.prediction_error.rmse_baseline IS 'RMSE of predicting every customer the mean of the actual values (a model worth using beats it)';
COMMENT ON COLUMN @extschema@.prediction_error.sum_predicted IS 'sum of the predictions';
COMMENT ON COLUMN @extschema@.prediction_error.sum_actual IS 'sum of the actual values';
COMMENT ON COLUMN @extschema@.prediction_error.aggregate_error IS 'sum_predicted / sum_actual - 1';
COMMENT ON FUNCTION @extschema@.pareto_nbd_fit_final(@extschema@.fit_data) IS 'final function of clm.pareto_nbd_fit (support function: not for direct calls)';
