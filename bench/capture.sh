#!/usr/bin/env bash
# bench/capture.sh - what a job's change capture costs the writer.
#
# Table orders(customer_id bigint, ts timestamptz, amount float8), 1M rows
# over 100k customers, indexes on customer_id and on ts.  pgbench, 2
# clients, CLM_CAPTURE_SECONDS (15) per figure, fsync off (CPU-bound: the
# worst case for an overhead), each figure the better of two runs:
#   - 1-row INSERT and 10-row INSERT of new purchases (dated now);
#   - with no job on the table, one job, three jobs, one job, no job (the
#     figures of no job and one job are the means of their two phases);
#   - then 10-row INSERTs of late rows (dated in the past, below the
#     watermark: logged) with one job, for the record.
# Prints TPS and the ratio to the TPS without a job, and how many rows of
# clm.job_changes the capture left (it should grow with the customers
# changed, not with the rows written).
. "$(dirname "$0")/../scripts/common.sh"

secs=${CLM_CAPTURE_SECONDS:-15}
ensure_packages "${BASE_PACKAGES[@]}"
build
make_workdir
stage
start_server "shared_preload_libraries = 'clm'" "clm.naptime = 86400" "fsync = off" \
	"synchronous_commit = off" "full_page_writes = off" "shared_buffers = '512MB'" "max_wal_size = '4GB'" \
	"autovacuum = off"
PGBENCH=$STAGE_BIN/pgbench
psql_run -q <<'SQL'
CREATE EXTENSION clm;
CREATE TABLE orders (customer_id bigint, ts timestamptz, amount float8);
INSERT INTO orders
SELECT (g % 100000) + 1, now() - (g % 700) * interval '1 day', 10 + g % 90
FROM generate_series(1, 1000000) g;
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON orders (ts);
VACUUM ANALYZE orders;
SQL

cat >"$WORK/one.sql" <<'SQL'
\set c random(1, 100000)
INSERT INTO orders VALUES (:c, now(), 25);
SQL
cat >"$WORK/ten.sql" <<'SQL'
\set c random(1, 99990)
INSERT INTO orders SELECT :c + g, now(), 25 FROM generate_series(1, 10) g;
SQL
cat >"$WORK/late.sql" <<'SQL'
\set c random(1, 99990)
INSERT INTO orders SELECT :c + g, now() - interval '30 days', 25 FROM generate_series(1, 10) g;
SQL
chmod 644 "$WORK"/*.sql

# tps SCRIPT: the better TPS of two pgbench runs
tps() {
	local best=0 t i
	for i in 1 2; do
		t=$(as_user "$PGBENCH" -n -h "$PGHOST" -p "$PGPORT" -U "$RUN_USER" -c 2 -j 2 -T "$secs" \
			-f "$WORK/$1" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
	done
	echo "$best"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# jobs N: exactly N capture jobs on the table, each run once (a first run
# sets its watermark: capture then logs only late rows)
jobs() {
	psql_run -q -c "SELECT clm.drop_job(name) FROM clm.jobs WHERE substr(name, 4)::int > $1" >/dev/null
	psql_run -q -c "SELECT clm.create_job('cap' || g, 'orders', schedule => '1 day') FROM generate_series(1, $1) g
	                WHERE NOT EXISTS (SELECT 1 FROM clm.jobs WHERE name = 'cap' || g)" >/dev/null 2>&1
	psql_run -q -c "SELECT clm.run_job(name) FROM clm.jobs ORDER BY job_id" >/dev/null
}
# the phases go 0, 1, 3, 1, 0 jobs and the figures of 0 and 1 job are the
# means of their two phases, so a load that drifts during the run does not
# favour one side
declare -A t1 t10
for n in 0 1 3 1b 0b; do
	jobs "${n%b}"
	log "${n%b} job(s)"
	a=$(tps one.sql)
	b=$(tps ten.sql)
	t1[$n]=$a
	t10[$n]=$b
done
mean() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + b) / 2 }'; }
base1=$(mean "${t1[0]}" "${t1[0b]}")
base10=$(mean "${t10[0]}" "${t10[0b]}")
one1=$(mean "${t1[1]}" "${t1[1b]}")
one10=$(mean "${t10[1]}" "${t10[1b]}")
printf '%-28s %10s %10s\n' "" "1-row" "10-row"
printf '%-28s %10.0f %10.0f   (runs: %s, %s / %s, %s)\n' "no job (TPS)" "$base1" "$base10" \
	"${t1[0]}" "${t1[0b]}" "${t10[0]}" "${t10[0b]}"
printf '%-28s %10.0f %10.0f   ratio %s / %s\n' "1 job on the table (TPS)" "$one1" "$one10" \
	"$(ratio "$one1" "$base1")" "$(ratio "$one10" "$base10")"
printf '%-28s %10.0f %10.0f   ratio %s / %s\n' "3 jobs on the table (TPS)" "${t1[3]}" "${t10[3]}" \
	"$(ratio "${t1[3]}" "$base1")" "$(ratio "${t10[3]}" "$base10")"
jobs 1
changes=$(psql_run -At -c "SELECT count(*) FROM clm.job_changes")
echo "clm.job_changes rows after the new-purchase runs: $changes"

log "late rows, one job"
written=$(psql_run -At -c "SELECT count(*) FROM orders")
tl=$(tps late.sql)
written=$(( $(psql_run -At -c "SELECT count(*) FROM orders") - written ))
changes=$(psql_run -At -c "SELECT count(*) FROM clm.job_changes")
printf '%-28s %10s %10.0f   ratio %s\n' "late rows, 1 job (TPS)" "" "$tl" "$(ratio "$tl" "$base10")"
echo "late rows written: $written; clm.job_changes rows: $changes (at most one per customer: 100000)"
