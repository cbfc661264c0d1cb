# t/003_cancel.pl - a deliberately long clm call ends on statement_timeout,
# on pg_cancel_backend and on pg_terminate_backend, and the server stays up
# (issue 12: a CLV call once ignored all three and needed kill -9).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION clm');

# about 30 s of series terms when left alone (a = 1 takes the slow series at
# each of 12000 month ends); polled for interrupts every 65536 terms
my $long = q{SELECT clm.clv_estimate(ROW(0.243,1e-3,1.0,2.426,0,0,0,true,NULL, NULL)::clm.bgnbd_model,
	ROW(6.25,3.74,15.44,0,0,0,0,true, NULL)::clm.gamma_gamma_model, 3, 0.5, 0.5, 25, 12000, 0.01, 'day')};
# a fit on 10^6 distinct rows (about 8 s alone)
my $fit = q{SELECT clm.bgnbd_fit(clm.fit_data(g % 50,
	CASE WHEN g % 50 = 0 THEN 0 ELSE (g % 50) * 0.5 + (g % 7) * 1e-3 END, 40 + g * 1e-5))
	FROM generate_series(1, 1000000) g};

# how soon the call must end: under valgrind (CLM_VALGRIND, set by
# scripts/test.sh) a connection alone takes a second or two and the C code
# runs 20-50x slower between two checks for interrupts
my $within = $ENV{CLM_VALGRIND} ? 30 : 5;

# statement_timeout
my $t0 = time;
my ($rc, $out, $err) = $node->psql('postgres', "SET statement_timeout = '1s'; $long");
my $dt = time - $t0;
like($err, qr/canceling statement due to statement timeout/, 'CLV: statement_timeout cancels');
cmp_ok($dt, '<', $within, "CLV: ... within a few seconds of the timeout (${dt}s)");

# start a long query in the background; return its handle and backend pid
sub start_long
{
	my ($sql, $tag) = @_;
	my ($o, $e) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'),
		  '-c', "SET application_name = '$tag'", '-c', $sql ],
		'>', \$o, '2>', \$e);
	my $pid;
	foreach (1 .. 200)
	{
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = '$tag' AND state = 'active'");
		last if $pid;
		select(undef, undef, undef, 0.05);
	}
	# let it get deep into the C code
	select(undef, undef, undef, 0.5);
	return ($h, $pid, \$e);
}

foreach my $case ([ 'CLV', $long ], [ 'fit', $fit ])
{
	my ($name, $sql) = @$case;
	my ($h, $pid, $e) = start_long($sql, "cancel_$name");
	ok($pid, "$name: the long call is running");
	$t0 = time;
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	$h->finish;
	$dt = time - $t0;
	like($$e, qr/canceling statement due to user request/, "$name: pg_cancel_backend cancels");
	cmp_ok($dt, '<', $within, "$name: ... within a few seconds (${dt}s)");

	($h, $pid, $e) = start_long($sql, "terminate_$name");
	$t0 = time;
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	$h->finish;
	$dt = time - $t0;
	like($$e, qr/terminating connection due to administrator command/,
		"$name: pg_terminate_backend ends the session");
	cmp_ok($dt, '<', $within, "$name: ... within a few seconds (${dt}s)");
}

# nothing crashed: the server never restarted
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated/, 'no backend crashed');

done_testing();
