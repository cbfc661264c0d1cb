# t/003_scheduler.pl - the scheduler on a real server.
#
# create_job warns when no worker will run the job; clm.database is a filter
# reloaded without a restart; jobs of one database run concurrently up to
# clm.max_running_jobs, never the same job twice; a run over its timeout is
# cancelled and recorded as failed (57014); a failed run is retried with
# backoff, each attempt a row; missed slots run once after a restart; a job
# whose owner was dropped or renamed is recorded as failed and the others
# go on; jobs waiting for a slot long past their due time are reported
# overdue; the worker prunes the history; 200 jobs across 3 databases due
# at once all start within one naptime.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('sched');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'clm'
clm.naptime = 1
clm.max_running_jobs = 2
max_worker_processes = 24
});
$node->start;

sub sql { my ($q, $db) = @_; return $node->safe_psql($db // 'postgres', $q); }

# under valgrind (CLM_VALGRIND, set by scripts/test.sh) every process is
# 20-50x slower: fixed waits and time bounds are this many times longer
my $slow = $ENV{CLM_VALGRIND} ? 5 : 1;

# set_conf: ALTER SYSTEM and a reload, as an operator would
sub set_conf
{
	my ($line) = @_;
	sql("ALTER SYSTEM SET $line");
	sql("SELECT pg_reload_conf()");
}

sub workers_in
{
	my ($db) = @_;
	return sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = '$db'");
}

# drop_all: drop the jobs of a database, once none runs
sub drop_all
{
	my ($db) = @_;
	sql("UPDATE clm.jobs SET enabled = false", $db);
	$node->poll_query_until($db, "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'clm job' AND datname = current_database()");
	sql("SELECT clm.drop_job('$_')", $db) for split /\n/, sql("SELECT name FROM clm.jobs", $db);
}

my $setup = q{
CREATE EXTENSION clm;
CREATE TABLE tx (customer_id bigint, ts timestamptz, amount float8);
INSERT INTO tx SELECT c, now() - (d * (1 + c % 5)) * interval '1 day', 10 + c % 7
FROM generate_series(1, 30) c, generate_series(1, 4) d;
CREATE INDEX ON tx (customer_id);
CREATE INDEX ON tx (ts);
CREATE FUNCTION slowly(id bigint) RETURNS bigint VOLATILE LANGUAGE sql AS 'SELECT pg_sleep(0.05); SELECT id';
CREATE VIEW slow_tx AS SELECT slowly(customer_id) AS customer_id, ts, amount FROM tx;
};
sql($setup);

# 1. warnings when no worker will run a job; clm.database as a filter
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SELECT clm.create_job('w1', 'tx', schedule => '1 hour', enabled => false)");
unlike($stderr, qr/WARNING/, 'no warning where a worker runs the jobs');
set_conf("clm.worker_enabled = off");
sleep $slow;
($ret, $stdout, $stderr) = $node->psql('postgres', "SELECT clm.create_job('w2', 'tx', schedule => '1 hour')");
like($stderr, qr/WARNING:  no clm worker will run job "w2" by itself: clm.worker_enabled is off/,
	'create_job warns when the workers are disabled');
set_conf("clm.worker_enabled = on");
sql("CREATE DATABASE sched2");
sql($setup, 'sched2');
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = 'sched2'"),
	'a new database with clm gets a worker, no restart');
set_conf("clm.database = 'postgres'");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = 'sched2'"),
	'a database filtered out by a reloaded clm.database loses its worker');
($ret, $stdout, $stderr) = $node->psql('sched2', "SELECT clm.create_job('w3', 'tx', schedule => '1 hour')");
like($stderr, qr/WARNING:  no clm worker will run job "w3" by itself: database "sched2" is not in clm.database/,
	'create_job warns when the database is filtered out');
is(workers_in('postgres'), '1', 'the database in the filter keeps its worker');
set_conf("clm.database = ''");
ok($node->poll_query_until('sched2', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'w3' AND status = 'succeeded'"),
	'with the filter emptied again, the job runs');
my ($rc2) = $node->psql('postgres', "ALTER SYSTEM SET clm.database = 'a, \"b'");
isnt($rc2, 0, 'a malformed clm.database is refused');
drop_all('postgres');
drop_all('sched2');

# 2. concurrency: five slow jobs (about 1.5 s each), at most 2 at a time.
# They are due since 2 minutes (more than 3 naptimes and a minute), so the
# ones waiting for a slot are overdue, and job_problems says so, while the
# ones running are not
sql("SELECT clm.create_job('par' || i, 'slow_tx', schedule => '1 hour', enabled => false) FROM generate_series(1, 5) i");
sql("UPDATE clm.jobs SET enabled = true, next_run_at = now() - interval '2 minutes' WHERE name LIKE 'par%'");
my $overdue = sql(q{SELECT count(*) FILTER (WHERE p.problem = 'overdue') || ' '
	|| count(*) FILTER (WHERE p.problem = 'overdue' AND (s.running OR p.since <> s.next_run_at)) || ' '
	|| count(*) FILTER (WHERE p.problem <> 'overdue')
	FROM clm.job_problems() p JOIN clm.job_status s ON s.job = p.job});
like($overdue, qr/^[345] 0 0$/, "the jobs waiting for a slot are overdue, since their due time; none running is ($overdue)");
my $max_seen = 0;
my $status_seen = 0;
my $t_end = time + 60 * $slow;
while (time < $t_end)
{
	my $n = sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'clm job'");
	$max_seen = $n if $n > $max_seen;
	my $r = sql("SELECT count(*) FROM clm.job_status WHERE running");
	$status_seen = $r if $r > $status_seen;
	last if sql("SELECT count(*) FROM clm.job_runs WHERE job_name LIKE 'par%'") == 5;
	usleep(50_000);
}
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name LIKE 'par%' AND status = 'succeeded'"), '5', 'the five jobs ran');
is($max_seen, 2, "at most clm.max_running_jobs = 2 ran at once (seen: $max_seen)");
is($status_seen, 2, 'clm.job_status showed the running jobs as running');
is(sql(q{SELECT count(*) FROM clm.job_runs a JOIN clm.job_runs b ON a.job_id = b.job_id AND a.run_id < b.run_id
	AND a.finished_at > b.started_at WHERE a.job_name LIKE 'par%'}), '0', 'no job ran twice at once');
my $overlaps = sql(q{SELECT count(*) FROM clm.job_runs a JOIN clm.job_runs b ON a.run_id < b.run_id
	AND a.started_at < b.finished_at AND b.started_at < a.finished_at WHERE a.job_name LIKE 'par%' AND b.job_name LIKE 'par%'});
ok($overlaps > 0, "different jobs overlapped in time ($overlaps overlapping pairs)");
drop_all('postgres');

# 3. timeout: a run over its timeout is cancelled, recorded as failed and
# retried after retry_period; the default timeout is 1 hour
sql("SELECT clm.create_job('tmo', 'slow_tx', schedule => '1 hour', timeout => '300 ms', max_retries => 1, retry_period => '1 second')");
ok($node->poll_query_until('postgres', "SELECT count(*) = 2 FROM clm.job_runs WHERE job_name = 'tmo'"),
	'the timed-out run is retried once');
is(sql("SELECT string_agg(attempt || ' ' || status || ' ' || sqlstate || ' ' || message, '; ' ORDER BY run_id) FROM clm.job_runs WHERE job_name = 'tmo'"),
	'1 failed 57014 canceling statement due to statement timeout; 2 failed 57014 canceling statement due to statement timeout',
	'each attempt a row, SQLSTATE 57014 and the message apart');
ok(sql("SELECT next_run_at > now() + interval '50 minutes' AND attempt = 1 AND consecutive_failures = 2 FROM clm.jobs WHERE name = 'tmo'") eq 't',
	'after max_retries the job waits for its next slot');
is(sql("SELECT problem FROM clm.job_problems() WHERE job = 'tmo'"), 'failing', 'job_problems reports it');
sql("SELECT clm.drop_job('tmo')");
sql("SELECT clm.create_job('deflt', 'tx', schedule => '1 hour', enabled => false)");
is(sql("SELECT timeout FROM clm.jobs WHERE name = 'deflt'"), '01:00:00', 'the default timeout is 1 hour');
sql("SELECT clm.drop_job('deflt')");

# a cancelled run is recorded as failed too
sql("SELECT clm.create_job('cancelme', 'slow_tx', schedule => '1 hour', max_retries => 0)");
ok($node->poll_query_until('postgres', "SELECT running FROM clm.job_status WHERE job = 'cancelme'"), 'the job runs');
sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'clm job ' || (SELECT job_id FROM clm.jobs WHERE name = 'cancelme')");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'cancelme'"), 'the cancelled run is recorded');
is(sql("SELECT status || ' ' || sqlstate || ' ' || message FROM clm.job_runs WHERE job_name = 'cancelme'"),
	'failed 57014 canceling statement due to user request', 'as failed, SQLSTATE 57014');
sql("SELECT clm.drop_job('cancelme')");

# 4. retries with backoff: 1 s, then 2 s, then the next slot
sql("CREATE TABLE flaky_tx AS SELECT * FROM tx");
sql("SELECT clm.create_job('flaky', 'flaky_tx', schedule => '1 hour', max_retries => 2, retry_period => '1 second', enabled => false)");
sql("DROP TABLE flaky_tx; SELECT clm.alter_job('flaky', enabled => true)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 3 FROM clm.job_runs WHERE job_name = 'flaky'"),
	'a failing job is tried three times (max_retries = 2)');
is(sql("SELECT string_agg(attempt || ':' || sqlstate, ' ' ORDER BY run_id) FROM clm.job_runs WHERE job_name = 'flaky'"),
	'1:42P01 2:42P01 3:42P01', 'attempts 1, 2, 3, each recorded');
my @gaps = split /\n/, sql(q{SELECT extract(epoch FROM started_at - lag(finished_at) OVER (ORDER BY run_id))
	FROM clm.job_runs WHERE job_name = 'flaky' ORDER BY run_id OFFSET 1});
ok($gaps[0] >= 0.99 && $gaps[1] >= 1.99, "growing delays between attempts (@gaps s)");
sleep 3 * $slow;
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name = 'flaky'"), '3', 'then no more until the next slot');
sql("SELECT clm.drop_job('flaky')");

# 4b. slots missed while the server was down run once, not once each: a
# daily job, due since 3 days when the server comes back
sql("SELECT clm.create_job('missed', 'tx', schedule => '0 3 * * *', enabled => false)");
sql("UPDATE clm.jobs SET enabled = true, next_run_at = now() - interval '3 days' WHERE name = 'missed'");
$node->stop('fast');
$node->start;
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'missed'"),
	'after a restart the job with 3 missed slots runs');
sleep 3;
is(sql("SELECT count(*) || ' ' || bool_and(j.next_run_at > now() AND j.next_run_at <= now() + interval '1 day')
	FROM clm.job_runs r JOIN clm.jobs j USING (job_id) WHERE r.job_name = 'missed' GROUP BY j.job_id"),
	'1 true', 'once, not once per missed slot; then at its next slot');
sql("SELECT clm.drop_job('missed')");

# 5. a job whose owner role was dropped or renamed is recorded as failed;
# the scheduler goes on with the others
sql(q{
CREATE ROLE regress_owner1 LOGIN; CREATE ROLE regress_owner2 LOGIN;
GRANT SELECT ON tx TO regress_owner1, regress_owner2;
SET ROLE regress_owner1; SELECT clm.create_job('orphan', 'tx', schedule => '1 hour', enabled => false, max_retries => 0); RESET ROLE;
SET ROLE regress_owner2; SELECT clm.create_job('renamed', 'tx', schedule => '1 hour', enabled => false, max_retries => 0); RESET ROLE;
REVOKE SELECT ON tx FROM regress_owner1;
-- (the role owns the job's tables: DROP ROLE needs DROP OWNED first)
DROP OWNED BY regress_owner1;
DROP ROLE regress_owner1;
ALTER ROLE regress_owner2 RENAME TO regress_owner2b;
UPDATE clm.jobs SET enabled = true WHERE name IN ('orphan', 'renamed');
SELECT clm.create_job('bystander', 'tx', schedule => '1 hour');
});
ok($node->poll_query_until('postgres', "SELECT count(*) = 3 FROM clm.job_runs WHERE job_name IN ('orphan', 'renamed', 'bystander')"),
	'all three jobs were tried');
is(sql("SELECT string_agg(job_name || ' ' || status || coalesce(' ' || sqlstate, ''), ', ' ORDER BY job_name) FROM clm.job_runs WHERE job_name IN ('orphan', 'renamed', 'bystander')"),
	'bystander succeeded, orphan failed 42704, renamed failed 42704', 'owners gone: recorded as failed, the others run');
is(sql("SELECT string_agg(job || ' ' || problem, ', ' ORDER BY job, problem) FROM clm.job_problems() WHERE job IN ('orphan', 'renamed')"),
	'orphan failing, orphan owner_missing, renamed failing, renamed owner_missing', 'and reported by job_problems');
is(sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('clm launcher', 'clm worker') AND coalesce(datname, 'postgres') = 'postgres'"),
	'2', 'the launcher and the worker live on');
sql("DELETE FROM clm.jobs WHERE name IN ('orphan', 'renamed')");

# 6. the worker prunes the history, in batches
sql(q{
INSERT INTO clm.job_runs (job_id, job_name, trigger, started_at, finished_at, status)
SELECT j.job_id, j.name, 'worker', now() - d * interval '1 day', now() - d * interval '1 day', 'succeeded'
FROM clm.jobs j, generate_series(31, 530) d WHERE j.name = 'bystander';
});
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name = 'bystander'"), '501', 'old runs in place');
set_conf("clm.prune_interval = 1");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'bystander'"),
	'the worker pruned the runs past the retention, keeping the last');
is(sql("SELECT status FROM clm.job_runs WHERE job_name = 'bystander'"), 'succeeded', 'the one kept is the real run');
sql("SELECT clm.drop_job('bystander')");

# 7. 200 jobs across 3 databases due at the same time: how late their runs
# start after the due time, with the default naptime and job limit.  The
# jobs read an empty table: the figure is the scheduler's, not the runs'.
set_conf("clm.naptime = 10");
set_conf("clm.max_running_jobs = 4");
sql("CREATE DATABASE sched3");
sql($setup, 'sched3');
my %per_db = (postgres => 67, sched2 => 67, sched3 => 66);
# (the slot leaves time to create the jobs, 5x more under valgrind)
my $slot = sql("SELECT date_trunc('second', now() + interval '" . 20 * $slow . " seconds')");
for my $db (sort keys %per_db)
{
	sql("CREATE TABLE empty_tx (customer_id bigint, ts timestamptz, amount float8)", $db);
	sql("SELECT clm.create_job('many' || i, 'empty_tx', schedule => '1 hour', enabled => false) FROM generate_series(1, $per_db{$db}) i", $db);
	sql("UPDATE clm.jobs SET next_run_at = '$slot', enabled = true WHERE name LIKE 'many%'", $db);
}
my (@late, @dur);
for my $db (sort keys %per_db)
{
	ok($node->poll_query_until($db, "SELECT count(DISTINCT job_name) = $per_db{$db} FROM clm.job_runs WHERE job_name LIKE 'many%'"),
		"all $per_db{$db} jobs of $db ran");
	push @late, split /\n/, sql("SELECT extract(epoch FROM started_at - '$slot'::timestamptz) FROM clm.job_runs WHERE job_name LIKE 'many%'", $db);
	push @dur, split /\n/, sql("SELECT extract(epoch FROM finished_at - started_at) FROM clm.job_runs WHERE job_name LIKE 'many%'", $db);
	is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name LIKE 'many%'", $db), $per_db{$db}, "each job of $db ran once");
}
@late = sort { $a <=> $b } @late;
@dur = sort { $a <=> $b } @dur;
my $n = scalar @late;
diag(sprintf("lateness of %d jobs (3 databases, clm.max_running_jobs = 4, naptime 10 s): "
		. "min %.2f s, median %.2f s, p90 %.2f s, p99 %.2f s, max %.2f s; run time median %.3f s, max %.3f s",
	$n, $late[0], $late[int($n * 0.5)], $late[int($n * 0.9)], $late[int($n * 0.99)], $late[-1],
	$dur[int($n * 0.5)], $dur[-1]));
is($n, 200, '200 jobs ran');
ok($late[0] >= 0, 'none started before its due time');
# the worker sleeps until the next due time (not a whole naptime), so the
# first runs start at once; the rest queue behind clm.max_running_jobs per
# database.  A job process runs further due jobs of its owner after its
# first (up to 10), so the queue drains at the pace of the runs rather than
# of starting processes.  Under valgrind everything is 20-50x slower.
# (under valgrind a job process alone takes several seconds to start, and
# its first run to compile clm's functions)
my $first_bound = $ENV{CLM_VALGRIND} ? 30 : 2;
for my $db (sort keys %per_db)
{
	my $first = sql("SELECT extract(epoch FROM min(started_at) - '$slot'::timestamptz) FROM clm.job_runs WHERE job_name LIKE 'many%'", $db);
	ok($first < $first_bound, "the first job of $db started ${first} s after its due time (< $first_bound s)");
}
my $bound = $ENV{CLM_VALGRIND} ? 600 : 10;
ok($late[-1] < $bound, "every one of the 200 started within $bound s of its due time (one naptime; 600 s under valgrind) (max $late[-1] s)");
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name LIKE 'many%' AND status <> 'succeeded'", $_), '0',
	"every run in $_ succeeded") for sort keys %per_db;

$node->stop('fast');
done_testing();
