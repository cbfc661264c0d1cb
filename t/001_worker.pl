# t/001_worker.pl - the clm background workers on a real server.
#
# Jobs run by themselves; failures (missing source, permission denied,
# statement timeout) are recorded and the others go on; configuration
# reload; crash restart; a worker killed mid-run leaves no partial state and
# no duplicate alerts; 50 jobs due at once; NOTIFY; databases found without
# a restart; dropping the extension and the database.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'clm'
clm.naptime = 1
max_worker_processes = 20
restart_after_crash = on
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

# under valgrind (CLM_VALGRIND, set by scripts/test.sh) every process is
# 20-50x slower: the fixed waits for something to happen (a reload taking
# effect) or not to happen are this many times longer, and time bounds too
my $slow = $ENV{CLM_VALGRIND} ? 5 : 1;

sub worker_count
{
	my ($db) = @_;
	return sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = '$db'");
}

# the launcher is up; a database gets a worker once clm is installed in it
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'clm launcher'"),
	'launcher is running');
if ($ENV{CLM_VALGRIND})
{
	# a worker's start and exit take longer than a naptime here, so the
	# launcher has nearly always started the next one: none stays means
	# that the workers seen now are all gone a while later
	my $pids = sql("SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = 'postgres'");
	ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'clm worker' AND pid = ANY('{$pids}'::int[])"),
		'no worker stays in a database without clm');
}
else
{
	sleep 2;
	is(worker_count('postgres'), '0', 'no worker stays in a database without clm');
}

sql(q{
CREATE EXTENSION clm;
CREATE TABLE tx (customer_id bigint, ts timestamptz, amount float8);
INSERT INTO tx
SELECT c, now() - (d * (1 + c % 7)) * interval '1 day', 10 + c % 13
FROM generate_series(1, 200) c, generate_series(1, 8) d;
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = 'postgres'"),
	'after CREATE EXTENSION the database gets its worker, without a restart');

# 1. a job runs by itself, through the worker
sql("SELECT clm.create_job('auto', 'tx', schedule => '1 hour')");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'auto' AND trigger = 'worker' AND status = 'succeeded'"),
	'the worker runs a due job');
is(sql("SELECT customers FROM clm.job_runs WHERE job_name = 'auto'"), '200', 'every customer processed');
is(sql("SELECT count(*) FROM clm.customer_state"), '200', 'state written');
sleep 2 * $slow;
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name = 'auto'"), '1',
	'not run again before its schedule');

# 2. failing jobs are recorded and the worker goes on with the others
sql(q{
CREATE TABLE gone_tx AS SELECT * FROM tx;
CREATE ROLE regress_clm_user LOGIN;
CREATE TABLE secret_tx AS SELECT * FROM tx;
REVOKE ALL ON secret_tx FROM PUBLIC;
GRANT CREATE ON SCHEMA public TO regress_clm_user;
CREATE FUNCTION slowly(id bigint) RETURNS bigint VOLATILE LANGUAGE sql
	AS 'SELECT pg_sleep(0.005); SELECT id';
CREATE VIEW slow_tx AS SELECT slowly(customer_id) AS customer_id, ts, amount FROM tx;
});
sql(q{
SELECT clm.create_job('gone', 'gone_tx', schedule => '1 hour', enabled => false, max_retries => 0);
DROP TABLE gone_tx;
SELECT clm.alter_job('gone', enabled => true);
SELECT clm.create_job('slow', 'slow_tx', schedule => '1 hour', timeout => '200 ms', max_retries => 0);
SELECT clm.create_job('after_failures', 'tx', schedule => '1 hour');
});
# the owner's code must not get the superuser back: a source whose function
# tries SET SESSION AUTHORIZATION fails, because the job worker is
# connected as the owner, not as a superuser that switched role
sql(q{
GRANT SELECT ON tx TO regress_clm_user;
CREATE FUNCTION escalate(id bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('session_authorization', (SELECT rolname FROM pg_roles WHERE oid = 10), true);
	RETURN id;
END $$;
});
$node->safe_psql('postgres', q{
CREATE VIEW escalate_tx AS SELECT escalate(customer_id) AS customer_id, ts, amount FROM tx;
SELECT clm.create_job('denied', 'secret_tx', schedule => '1 hour', max_retries => 0);
SELECT clm.create_job('escalate', 'escalate_tx', schedule => '1 hour', max_retries => 0);
}, extra_params => [ '-U', 'regress_clm_user' ]);
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 5 FROM clm.job_runs WHERE job_name IN ('gone', 'slow', 'denied', 'after_failures', 'escalate')"),
	'all five jobs ran');
like(sql("SELECT status || ': ' || sqlstate || ': ' || message FROM clm.job_runs WHERE job_name = 'escalate'"),
	qr/^failed: 42501: cannot set parameter "session_authorization" within security-definer function/,
	'a job cannot switch to the superuser: it runs as its owner, locked down, in a session of its owner');
like(sql("SELECT status || ': ' || sqlstate || ': ' || message FROM clm.job_runs WHERE job_name = 'gone'"),
	qr/^failed: 42P01: source relation public.gone_tx does not exist/, 'missing source table recorded as failed');
like(sql("SELECT status || ': ' || sqlstate || ': ' || message FROM clm.job_runs WHERE job_name = 'denied'"),
	qr/^failed: 42501: permission denied for table secret_tx/, 'permission denied recorded: the job runs as its owner');
like(sql("SELECT status || ': ' || sqlstate || ': ' || message FROM clm.job_runs WHERE job_name = 'slow'"),
	qr/^failed: 57014: canceling statement due to statement timeout/, 'statement timeout recorded as failed');
is(sql("SELECT status FROM clm.job_runs WHERE job_name = 'after_failures'"), 'succeeded',
	'the job after the failures succeeded');
is(sql("SELECT count(*) FROM clm.customer_state s JOIN clm.jobs j USING (job_id) WHERE j.name IN ('gone', 'slow', 'denied', 'escalate')"),
	'0', 'failed runs leave no state');
ok(sql("SELECT bool_and(next_run_at > now()) FROM clm.jobs WHERE name IN ('gone', 'slow', 'denied', 'escalate')") eq 't',
	'failed jobs are rescheduled, not retried in a loop');
ok($node->log_contains(qr/clm: job "slow" failed: 57014: canceling statement due to statement timeout/),
	'the failure is in the server log');
sql("SELECT clm.drop_job(n) FROM unnest('{gone,slow,denied,after_failures,escalate}'::text[]) n");
sql("DROP VIEW escalate_tx");
sql("DROP VIEW slow_tx; DROP TABLE secret_tx");

# a job whose owner cannot log in is recorded as failed with the reason
sql(q{
CREATE ROLE regress_clm_nologin NOLOGIN;
GRANT SELECT ON tx TO regress_clm_nologin;
SET ROLE regress_clm_nologin;
SELECT clm.create_job('nologin', 'tx', schedule => '1 hour', max_retries => 0);
RESET ROLE;
});
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'nologin'"),
	'a job of a NOLOGIN owner is tried');
like(sql("SELECT status || ': ' || sqlstate || ': ' || message FROM clm.job_runs WHERE job_name = 'nologin'"),
	qr/^failed: 28000: the job's owner role cannot log in/, 'and recorded as failed with the reason');
sql("SELECT clm.drop_job('nologin')");

# 3. configuration reload: turning the worker off and on again
$node->append_conf('postgresql.conf', "clm.worker_enabled = off\n");
$node->reload;
sleep 2 * $slow;
sql("SELECT clm.create_job('paused', 'tx', schedule => '1 hour')");
sleep 3 * $slow;
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name = 'paused'"), '0',
	'clm.worker_enabled = off: due jobs wait');
is(worker_count('postgres'), '1', 'the worker stays up while disabled');
$node->append_conf('postgresql.conf', "clm.worker_enabled = on\n");
$node->reload;
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'paused'"),
	'after a reload with clm.worker_enabled = on the job runs');
sql("SELECT clm.drop_job('paused')");

# 4. alerts reach listeners with NOTIFY, once per episode
# customer 6 bought every 7 days; without the last 30 days it is overdue
sql("SELECT clm.run_job('auto')");
sql("DELETE FROM tx WHERE customer_id = 6 AND ts > now() - interval '30 days'");
my $out = $node->safe_psql('postgres', "LISTEN clm_alerts; SELECT status FROM clm.run_job('auto');");
like($out, qr/Asynchronous notification "clm_alerts" with payload "\{(?=[^\n]*"customer_id": "6")(?=[^\n]*"kind": "entered_at_risk")/,
	'an alert is delivered to LISTEN clm_alerts with a JSON payload');
my $alerts_before = sql("SELECT count(*) FROM clm.alerts");
sql("SELECT clm.run_job('auto')");
is(sql("SELECT count(*) FROM clm.alerts"), $alerts_before, 'running again raises nothing new');

# 5. a crash restart (kill -9 of a backend) brings the workers back
my $victim = $node->background_psql('postgres');
my $victim_pid = $victim->query_safe('SELECT pg_backend_pid()');
my $old_worker = sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'clm worker'");
kill 'KILL', $victim_pid;
eval { $victim->quit; };
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'clm worker' AND pid <> $old_worker"),
	'after a crash restart the worker is back');
sql("SELECT clm.create_job('after_crash', 'tx', schedule => '1 hour')");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'after_crash' AND status = 'succeeded'"),
	'jobs resume after the crash');
sql("SELECT clm.drop_job('after_crash')");

# 6. killing the worker mid-run: no partial state, no duplicate alerts
sql(q{
CREATE TABLE slowtx AS SELECT * FROM tx;
CREATE VIEW slowtx_v AS SELECT slowly(customer_id) AS customer_id, ts, amount FROM slowtx;
SELECT clm.create_job('killed', 'slowtx_v', schedule => '1 hour', enabled => false);
SELECT clm.run_job('killed');
DELETE FROM slowtx WHERE customer_id BETWEEN 1 AND 40 AND ts > now() - interval '30 days';
SELECT clm.alter_job('killed', enabled => true);
UPDATE clm.jobs SET next_run_at = now() WHERE name = 'killed';
});
my $state_before = sql("SELECT md5(string_agg(customer_id || stage, ',' ORDER BY customer_id)) FROM clm.customer_state s JOIN clm.jobs j USING (job_id) WHERE j.name = 'killed'");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'clm job' AND query LIKE 'clm: running job killed%' AND state = 'active'"),
	'a job worker is running the slow job');
is(sql("SELECT usename FROM pg_stat_activity WHERE backend_type = 'clm job'"),
	sql("SELECT owner FROM clm.jobs WHERE name = 'killed'"), 'connected as the job owner');
sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'clm job'");
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name = 'killed' AND trigger = 'worker'"), '0',
	'the killed run left no run row');
is(sql("SELECT md5(string_agg(customer_id || stage, ',' ORDER BY customer_id)) FROM clm.customer_state s JOIN clm.jobs j USING (job_id) WHERE j.name = 'killed'"),
	$state_before, 'the killed run left the state as it was');
is(sql("SELECT count(*) FROM clm.alerts a JOIN clm.jobs j USING (job_id) WHERE j.name = 'killed'"), '0',
	'and raised no alert');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'killed' AND trigger = 'worker' AND status = 'succeeded'", 't'),
	'the job, still due, is run again to the end');
my $alerts_killed = sql("SELECT count(*) FROM clm.alerts a JOIN clm.jobs j USING (job_id) WHERE j.name = 'killed'");
ok($alerts_killed > 0, 'the completed run raised the alerts');
is(sql("SELECT count(*) FROM (SELECT customer_id, kind FROM clm.alerts a JOIN clm.jobs j USING (job_id) WHERE j.name = 'killed' GROUP BY 1, 2 HAVING count(*) > 1) d"),
	'0', 'no duplicate alerts');
sql("SELECT clm.run_job('killed')");
is(sql("SELECT count(*) FROM clm.alerts a JOIN clm.jobs j USING (job_id) WHERE j.name = 'killed'"), $alerts_killed,
	'a further run raises none');
sql("SELECT clm.drop_job('killed'); DROP VIEW slowtx_v; DROP TABLE slowtx;");

# 7. fifty jobs due at once all run within the schedule tolerance
sql("SELECT clm.create_job('many_' || i, 'tx', schedule => '1 hour') FROM generate_series(1, 50) i");
my $t0 = time;
ok($node->poll_query_until('postgres',
	"SELECT count(DISTINCT job_name) = 50 FROM clm.job_runs WHERE job_name LIKE 'many\\_%' AND status = 'succeeded'"),
	'50 jobs due at once all ran');
my $elapsed = time - $t0;
my $bound50 = $ENV{CLM_VALGRIND} ? 600 : 60;
ok($elapsed < $bound50, "the 50 jobs ran within $bound50 s (took ${elapsed} s)");
is(sql("SELECT count(*) FROM clm.job_runs WHERE job_name LIKE 'many\\_%'"), '50', 'each exactly once');
sql("SELECT clm.drop_job('many_' || i) FROM generate_series(1, 50) i");

# 8. dropping the extension ends the worker; it is back with the extension
sql("DROP EXTENSION clm CASCADE");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = 'postgres'"),
	'dropping the extension ends the worker of the database');
sql("CREATE EXTENSION clm; SELECT clm.create_job('again', 'tx', schedule => '1 hour')");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'again'"),
	'after CREATE EXTENSION the jobs run again');

# 9. a database created later, with clm: a worker without a restart;
# dropped -> gone for good
sql("CREATE DATABASE clm_other");
$node->safe_psql('clm_other', q{
CREATE EXTENSION clm;
CREATE TABLE tx (customer_id bigint, ts timestamptz, amount float8);
INSERT INTO tx SELECT c, now() - c * interval '1 day', 10 FROM generate_series(1, 20) c;
SELECT clm.create_job('other', 'tx', schedule => '1 hour');
});
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'clm worker' AND datname = 'clm_other'"),
	'a worker starts for a database created later');
ok($node->poll_query_until('clm_other', "SELECT count(*) = 1 FROM clm.job_runs WHERE job_name = 'other' AND status = 'succeeded'"),
	'and runs its jobs');
# a role that may not drop the database does not stop its worker
sql("CREATE ROLE regress_not_owner LOGIN");
my ($drop_rc) = $node->psql('postgres', "DROP DATABASE clm_other", extra_params => [ '-U', 'regress_not_owner' ]);
isnt($drop_rc, 0, 'DROP DATABASE by a non-owner fails');
is(worker_count('clm_other'), '1', 'and leaves the worker running');
# a plain DROP DATABASE (no FORCE) ends the worker first
sql("DROP DATABASE clm_other");
sleep 3 * $slow;
is(worker_count('clm_other'), '0', 'dropping the database (without FORCE) ends its worker');
is(sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'clm launcher'"), '1', 'the launcher lives on');
is(worker_count('postgres'), '1', 'the other worker is unaffected');

# 10. SIGTERM: a fast shutdown stops the workers promptly
my $t1 = time;
$node->stop('fast');
ok(time - $t1 < 30 * $slow, 'the server with its workers stops promptly');

done_testing();
