# t/002_dump_restore.pl - clm survives pg_dump and restore: jobs, models,
# state, history and alerts come back, and the restored job runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION clm;
CREATE TABLE tx (customer_id bigint, ts timestamptz, amount float8);
INSERT INTO tx SELECT c, now() - (d * (1 + c % 5)) * interval '1 day', 10 + c
FROM generate_series(1, 50) c, generate_series(1, 6) d;
SELECT clm.create_job('shop', 'tx', schedule => '1 hour', policy => '{"churn_days": 365}');
SELECT clm.run_job('shop');
DELETE FROM tx WHERE customer_id <= 10 AND ts > now() - interval '25 days';
SELECT clm.run_job('shop');
SELECT clm.fit_model('m', 'gamma_gamma', 'SELECT frequency, total_amount / orders FROM clm.customer_state WHERE orders > 0');
});

my $summary = q{
SELECT (SELECT count(*) FROM clm.jobs) || '/' || (SELECT count(*) FROM clm.customer_state) || '/' ||
	   (SELECT count(*) FROM clm.stage_history) || '/' || (SELECT count(*) FROM clm.alerts) || '/' ||
	   (SELECT count(*) FROM clm.job_runs) || '/' || (SELECT count(*) FROM clm.models) || '/' ||
	   (SELECT policy::text FROM clm.jobs)
};
my $before = $node->safe_psql('src', $summary);
like($before, qr{^1/42/\d+/[1-9]\d*/2/1/}, 'source database has a job, state, history, runs and a model');

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore');

is($node->safe_psql('dst', $summary), $before, 'jobs, state, history, alerts, runs and models are restored');
is($node->safe_psql('dst', "SELECT status FROM clm.run_job('shop')"), 'succeeded', 'the restored job runs');
is($node->safe_psql('dst', "SELECT clm.create_job('second', 'tx') > 1"), 't',
	'job ids continue after the restored ones (sequences dumped)');

done_testing();
