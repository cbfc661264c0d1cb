-- job_fits: a model fit that does not converge is visible (issue 18): the
-- run says so in its note, clm.job_problems() reports it, and the last
-- converged fit keeps scoring
SET client_min_messages = warning;
SET timezone = 'UTC';
\i test/data/regress_cdnow.sql
-- the CDNOW customers' first purchases only: no repeat purchase, so
-- neither model has a finite maximum (converged = false)
CREATE TABLE fit_tx (customer_id bigint, ts timestamptz, amount float8);
CREATE INDEX ON fit_tx (customer_id);
CREATE INDEX ON fit_tx (ts);
INSERT INTO fit_tx
SELECT DISTINCT ON (customer_id) customer_id, purchase_date::timestamptz, amount
FROM cdnow_tx ORDER BY customer_id, purchase_date;
SELECT clm.create_job('fits', 'fit_tx', time_zone => 'UTC', enabled => false) > 0 AS created;
SELECT status, note FROM clm.run_job('fits', as_of => '1998-07-01');
SELECT count(*) AS customers, count(p_alive) AS with_p_alive, count(clv) AS with_clv
FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'fits');
SELECT job, problem, detail IS NOT NULL AS has_detail FROM clm.job_problems() WHERE job = 'fits';
-- repeat purchases: the next full refresh converges, and the problem is gone
TRUNCATE fit_tx;
INSERT INTO fit_tx SELECT customer_id, purchase_date::timestamptz, amount FROM cdnow_tx;
SELECT status, note FROM clm.run_job('fits', as_of => '1998-07-02', full_refresh => true);
SELECT count(p_alive) AS with_p_alive, count(clv) AS with_clv
FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'fits');
SELECT count(*) AS problems FROM clm.job_problems() WHERE job = 'fits';
-- the repeat purchases gone again: the fit fails, the last converged one scores
DELETE FROM fit_tx t WHERE t.ts > (SELECT min(f.ts) FROM fit_tx f WHERE f.customer_id = t.customer_id);
SELECT status, note FROM clm.run_job('fits', as_of => '1998-07-03', full_refresh => true);
SELECT count(p_alive) = count(*) AS all_scored,
	   ((SELECT scoring FROM clm.jobs WHERE name = 'fits').purchase_mbgnbd).converged AS scoring_model_converged
FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'fits');
SELECT problem FROM clm.job_problems() WHERE job = 'fits';
SELECT clm.drop_job('fits');
DROP TABLE fit_tx;
