# t/004_security.pl - the workers give no one superuser rights (issue 17).
#
# A database owner plants hostile operators and functions in schema public
# and in a schema put on the database's search_path before pg_catalog; a
# job owner's view calls a function that tries to get back to the
# superuser; jobs with settings stored around the validators fail in ways
# that cannot be recorded.  The workers run everything; none of the hostile
# code runs, nobody becomes superuser, and the failing jobs leave the
# worker idle between their (backed-off) slots.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('sec');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'clm'
clm.naptime = 1
max_worker_processes = 20
});
$node->start;
my $slow = $ENV{CLM_VALGRIND} ? 5 : 1;

sub sql { return $node->safe_psql($_[0], $_[1]); }

sql('postgres', q{
CREATE ROLE regress_dbo LOGIN;
CREATE ROLE regress_alice LOGIN;
CREATE DATABASE hostile OWNER regress_dbo;
});
sql('hostile', q{
CREATE EXTENSION clm;
CREATE TABLE public.pwned (who text, what text);
GRANT INSERT, SELECT ON public.pwned TO PUBLIC;
});

# the database owner's traps: each records who called it, then tries to
# make the database owner superuser
sql('hostile', q{
SET ROLE regress_dbo;
CREATE SCHEMA trap;
CREATE FUNCTION trap.pwn(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, what);
	BEGIN
		EXECUTE 'ALTER ROLE regress_dbo SUPERUSER';
	EXCEPTION WHEN OTHERS THEN NULL;
	END;
END $$;
GRANT USAGE ON SCHEMA trap TO PUBLIC;
});
for my $schema ('public', 'trap')
{
	sql('hostile', qq{
SET ROLE regress_dbo;
CREATE FUNCTION $schema.tcat(text, bigint) RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.||'); RETURN \$1 OPERATOR(pg_catalog.||) \$2::text; END \$\$;
CREATE OPERATOR $schema.|| (LEFTARG = text, RIGHTARG = bigint, FUNCTION = $schema.tcat);
CREATE FUNCTION $schema.tle(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.<='); RETURN \$1 OPERATOR(pg_catalog.<=) \$2; END \$\$;
CREATE OPERATOR $schema.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = $schema.tle);
CREATE FUNCTION $schema.teq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.='); RETURN \$1 OPERATOR(pg_catalog.=) \$2; END \$\$;
CREATE OPERATOR $schema.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = $schema.teq);
CREATE FUNCTION $schema.tname(name, name) RETURNS boolean LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.= name'); RETURN \$1 OPERATOR(pg_catalog.=) \$2; END \$\$;
CREATE OPERATOR $schema.= (LEFTARG = name, RIGHTARG = name, FUNCTION = $schema.tname);
CREATE FUNCTION $schema.tmul(float8, integer) RETURNS float8 LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.*'); RETURN \$1 OPERATOR(pg_catalog.*) \$2; END \$\$;
CREATE OPERATOR $schema.* (LEFTARG = float8, RIGHTARG = integer, FUNCTION = $schema.tmul);
CREATE FUNCTION $schema.now() RETURNS timestamptz LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.now'); RETURN pg_catalog.now(); END \$\$;
CREATE FUNCTION $schema.min(timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.min'); RETURN \$1; END \$\$;
CREATE FUNCTION $schema.least(timestamptz, timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS \$\$
BEGIN PERFORM trap.pwn('$schema.least'); RETURN \$1; END \$\$;
});
}
# the traps come before pg_catalog for every session of the database
sql('hostile', q{ALTER DATABASE hostile SET search_path = trap, public, pg_catalog});

# a job owner whose view tries to get back to the session's rights
sql('hostile', q{
GRANT CREATE ON SCHEMA public TO regress_alice;
SET ROLE regress_alice;
CREATE TABLE public.alice_tx (customer_id bigint, ts timestamptz, amount float8);
INSERT INTO public.alice_tx
SELECT g % 20, pg_catalog.now() - (g OPERATOR(pg_catalog.%) 300) * interval '1 day', 10
FROM generate_series(1, 400) g;
CREATE INDEX ON public.alice_tx (customer_id);
CREATE FUNCTION public.alice_evil() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	BEGIN RESET ROLE; EXCEPTION WHEN OTHERS THEN NULL; END;
	BEGIN SET SESSION AUTHORIZATION DEFAULT; EXCEPTION WHEN OTHERS THEN NULL; END;
	INSERT INTO public.pwned SELECT 'alice view ran as ' || current_user, 'view'
	WHERE current_user <> 'regress_alice';
	BEGIN EXECUTE 'ALTER ROLE regress_alice SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;
	RETURN true;
END $$;
CREATE VIEW public.alice_v AS SELECT * FROM public.alice_tx WHERE public.alice_evil();
SELECT clm.create_job('alice_view', 'public.alice_v', schedule => '2 seconds');
SELECT clm.create_job('alice_table', 'public.alice_tx', schedule => '2 seconds');
});

# the worker runs both jobs several times
ok($node->poll_query_until('hostile',
	"SELECT count(*) OPERATOR(pg_catalog.>=) 4 FROM clm.job_runs WHERE status OPERATOR(pg_catalog.=) 'succeeded'"),
	'the worker runs the jobs of a database whose owner planted traps');
# a superuser runs alice's job by hand too
sql('hostile', q{SELECT clm.run_job('alice_view'); SELECT pg_catalog.count(*) FROM clm.preview_job('alice_table')});
sleep 3 * $slow;

is(sql('hostile', 'SELECT pg_catalog.string_agg(who OPERATOR(pg_catalog.||) \': \' OPERATOR(pg_catalog.||) what, \', \') FROM public.pwned'),
	'', 'no trap of the database owner ran, and the view ran as its owner only');
is(sql('postgres', "SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname IN ('regress_dbo', 'regress_alice') AND rolsuper"),
	'', 'neither the database owner nor the job owner became superuser');
is(sql('hostile', q{SELECT pg_catalog.count(*) FROM clm.job_runs WHERE status OPERATOR(pg_catalog.=) 'failed'}),
	'0', 'no run failed');

# settings stored around the validators (an older version's, or a hand
# UPDATE): every run fails and the failure cannot be recorded (the next
# retry overflows); the job backs off instead of running again at once
sql('hostile', q{
SELECT clm.alter_job(n, enabled => false) FROM pg_catalog.unnest('{alice_view,alice_table}'::text[]) n;
SET ROLE regress_alice;
SELECT clm.create_job('spin', 'public.alice_tx', schedule => '1 second', max_retries => 5);
UPDATE clm.jobs SET retry_period = '178000000 years', policy = '{"churn_days": 1e308}'
WHERE name OPERATOR(pg_catalog.=) 'spin';
});
my $t0 = time;
sleep 20 * $slow;
my $runs = sql('hostile', q{SELECT pg_catalog.count(*) FROM clm.job_runs r JOIN clm.jobs j USING (job_id) WHERE j.name OPERATOR(pg_catalog.=) 'spin'});
ok($runs >= 1 && $runs <= 5, "a job whose failures cannot be recorded backs off ($runs runs in 20 s)");
like(sql('hostile', q{SELECT j.consecutive_failures OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) (j.next_run_at OPERATOR(pg_catalog.>) pg_catalog.now()) FROM clm.jobs j WHERE j.name OPERATOR(pg_catalog.=) 'spin'}),
	qr/^[1-5] true$/, 'its failures are counted and its next run is ahead');
ok($node->log_contains(qr/could not record the failure of job "spin"/), 'the unrecordable failure is logged');

# DROP DATABASE ends the database's clm processes (from the registry)
sql('hostile', q{SELECT clm.drop_job('spin')});
sql('postgres', 'DROP DATABASE hostile');
is(sql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'hostile'"), '0',
	'DROP DATABASE ends its clm worker and goes through');

$node->stop;
done_testing();
