# t/003_incremental_worker.pl - an incremental job run by the worker every
# second while several sessions insert, update and delete transactions:
# no change is lost.  When the writers stop, the state after the next
# worker run equals what a full rescan of the source gives (clm.preview_job
# at the same as_of), customer by customer.  And time zones: a job in its
# own zone, run by the worker (server zone Pacific/Auckland), equals the
# same computation from a session in America/Los_Angeles.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('incremental');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'clm'
clm.database = 'postgres'
clm.naptime = 1
max_worker_processes = 16
timezone = 'Pacific/Auckland'
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql(q{
CREATE EXTENSION clm;
CREATE TABLE tx (customer_id bigint NOT NULL, ts timestamptz NOT NULL, amount float8 NOT NULL);
CREATE INDEX ON tx (customer_id);
INSERT INTO tx
SELECT c, now() - (d * (1 + c % 11)) * interval '1 day', 10 + c % 13
FROM generate_series(1, 500) c, generate_series(1, 6) d;
SELECT clm.create_job('inc', 'tx', schedule => '1 second', time_zone => 'UTC', full_refresh_every => '1 day');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM clm.job_runs WHERE trigger = 'worker' AND status = 'succeeded'"),
	'the worker ran the job');

# time zones: the worker's run of a job in Asia/Kolkata equals the same
# scoring previewed from a session in America/Los_Angeles, field by field
sql(q{
CREATE TABLE tz_tx AS SELECT * FROM tx WHERE customer_id <= 300;
SELECT clm.create_job('tzw', 'tz_tx', schedule => '1 hour', time_zone => 'Asia/Kolkata');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM clm.job_runs WHERE job_name = 'tzw' AND trigger = 'worker' AND status = 'succeeded'"),
	'the worker ran the job with its own time zone');
my $tz_as_of = sql("SELECT last_as_of FROM clm.jobs WHERE name = 'tzw'");
my $tz_diff = sql(qq{
SET timezone = 'America/Los_Angeles';
CREATE TEMP TABLE p AS SELECT * FROM clm.preview_job('tzw', '$tz_as_of');
SELECT count(*) FROM (SELECT * FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'tzw')) s
FULL JOIN p USING (customer_id)
WHERE (s.orders, s.frequency, s.recency_weeks, s.tenure_weeks, s.days_since_last, s.r, s.f, s.m, s.segment, s.abc,
	   s.p_alive, s.clv, s.churn_risk, s.health, s.stage, s.high_value_at_risk, s.next_review)
	  IS DISTINCT FROM
	  (p.orders, p.frequency, p.recency_weeks, p.tenure_weeks, p.days_since_last, p.r, p.f, p.m, p.segment, p.abc,
	   p.p_alive, p.clv, p.churn_risk, p.health, p.stage, p.high_value_at_risk, p.next_review);
});
is($tz_diff, '0', 'worker (server zone) and a session in another zone give the same state');
is(sql("SELECT count(*) FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'tzw')"),
	'300', 'every customer of the time-zone job');
sql("SELECT clm.alter_job('tzw', enabled => false)");

# three writers for 8 seconds: new purchases (also by new customers),
# refunds, changed amounts and deleted rows, each its own transaction.
# Under valgrind (CLM_VALGRIND, set by scripts/test.sh) a run takes 5x
# longer or more: the writers write 5x longer at a fifth of the rate, so
# that several runs still fall within the writes, each seeing about as
# many changes as in a normal run
my $slow = $ENV{CLM_VALGRIND} ? 5 : 1;
my $write_secs = 8 * $slow;
my $write_rate = 60 / $slow;
my $t0 = sql("SELECT max(run_id) FROM clm.job_runs");
$node->pgbench(
	# (rate-limited: at full speed every customer changes between two runs
	# and an incremental run would rescore everyone)
	"--no-vacuum --client=3 --time=$write_secs --rate=$write_rate", 0, [qr{processed}], [qr{^$}],
	'writers while the worker runs',
	{
		'003_insert' => q{
\set c random(1, 600)
INSERT INTO tx VALUES (:c, now(), 5 + random() * 50);
},
		'003_refund' => q{
\set c random(1, 500)
INSERT INTO tx SELECT customer_id, now(), -amount / 2 FROM tx WHERE customer_id = :c ORDER BY ts DESC LIMIT 1;
},
		'003_update' => q{
\set c random(1, 500)
UPDATE tx SET amount = amount + 1 WHERE customer_id = :c;
},
		'003_delete' => q{
\set c random(1, 600)
DELETE FROM tx WHERE ctid = (SELECT ctid FROM tx WHERE customer_id = :c ORDER BY ts LIMIT 1);
}
	});
my $writes_done = sql("SELECT now()");

# the worker kept running during the writes, and incrementally
ok(sql("SELECT count(*) FROM clm.job_runs WHERE run_id > $t0 AND trigger = 'worker' AND status = 'succeeded'") >= 3,
	'several worker runs during the writes');
is(sql("SELECT count(*) FROM clm.job_runs WHERE run_id > $t0 AND status <> 'succeeded'"), '0',
	'no failed run');
ok(sql("SELECT count(*) FROM clm.job_runs WHERE run_id > $t0 AND scored < customers") >= 1,
	'runs scored fewer than all customers');

# a run that started after the last write, then the comparison as of it
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM clm.job_runs WHERE started_at > '$writes_done' AND status = 'succeeded'"),
	'a run after the writes');
my $as_of = sql("SELECT last_as_of FROM clm.jobs WHERE name = 'inc'");
sql("SELECT clm.alter_job('inc', enabled => false)");
my $diff = sql(qq{
CREATE TEMP TABLE p AS SELECT * FROM clm.preview_job('inc', '$as_of');
SELECT count(*) FROM (SELECT * FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'inc')) s
FULL JOIN p USING (customer_id)
WHERE (s.first_purchase, s.last_purchase, s.orders, round(s.total_amount::numeric, 6), s.frequency, s.recency_weeks)
	  IS DISTINCT FROM
	  (p.first_purchase, p.last_purchase, p.orders, round(p.total_amount::numeric, 6), p.frequency, p.recency_weeks);
});
is($diff, '0', 'the state after the writes equals a full rescan, customer by customer');
is(sql("SELECT count(*) FROM clm.customer_state WHERE job_id = (SELECT job_id FROM clm.jobs WHERE name = 'inc')"),
	sql("SELECT count(DISTINCT customer_id) FROM tx WHERE ts <= '$as_of'"),
	'every customer of the source, and no other');

$node->stop;
done_testing();
