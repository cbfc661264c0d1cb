#!/usr/bin/env bash
# scripts/sqlsmith.sh - `make fuzz`: sqlsmith's random queries against a
# database with clm installed and populated, on a throwaway server.
#
# SQLSMITH_QUERIES (default 20000) bounds the run, SQLSMITH_SEED (default 1)
# makes it repeatable.  sqlsmith connects as an unprivileged role that may
# use clm and read the sample tables (so it cannot terminate backends or
# read files).  Reports the queries run, the errors by message, the
# internal errors (XX000) raised in clm's code apart from PostgreSQL's own,
# and any backend crash found in the server log; exit status 1 on a crash
# or an internal error of clm's.  CLM_FUZZ_SECONDS=N runs test/fuzz/fuzz.py
# (as the unprivileged role too) for N seconds first, with CLM_FUZZ_SEED.
. "$(dirname "$0")/common.sh"

ensure_packages "${BASE_PACKAGES[@]}" sqlsmith
build
make_workdir
stage
start_server "max_worker_processes = 16" "log_min_messages = warning" \
	"log_error_verbosity = verbose"
N=${SQLSMITH_QUERIES:-20000}
SEED=${SQLSMITH_SEED:-1}

log "populating database smith"
psql_run -d postgres -qc "CREATE DATABASE smith"
psql_run -d smith -q <<'SQL'
CREATE EXTENSION clm;
SELECT setseed(0.5);
CREATE TABLE tx AS
SELECT c AS customer_id, '2023-01-01'::timestamptz + random() * interval '365 days' AS ts,
	round((random() * 200)::numeric, 2)::float8 AS amount
FROM generate_series(1, 20000) g, LATERAL (SELECT (random() * 2000)::int + g * 0 AS c) r;
CREATE TABLE summary AS
SELECT customer_id, (clm.customer_summary(ts, amount, '2024-01-01', 'week')).*
FROM tx GROUP BY customer_id;
CREATE TABLE fits AS
SELECT clm.fit_data(frequency, recency, tenure, repeat_avg_amount) AS data FROM summary;
CREATE TABLE models AS
SELECT clm.bgnbd_fit(data) AS bg, clm.mbgnbd_fit(data) AS mbg, clm.gamma_gamma_fit(data) AS gg FROM fits;
SELECT clm.create_job('shop', 'tx', schedule => '1 day');
SELECT clm.run_job('shop', '2024-01-01');
CREATE ROLE smith LOGIN;
GRANT USAGE ON SCHEMA clm TO smith;
GRANT SELECT ON ALL TABLES IN SCHEMA clm, public TO smith;
ALTER ROLE smith SET statement_timeout = '5s';
SQL

if [ -n "${CLM_FUZZ_SECONDS:-}" ]; then
	log "fuzz.py: $CLM_FUZZ_SECONDS s, seed ${CLM_FUZZ_SEED:-12}"
	psql_run -d postgres -qc "CREATE DATABASE fuzz"
	psql_run -d fuzz -qc "CREATE EXTENSION clm"
	set +e
	as_user /usr/bin/python3 "$CLM_TOP/test/fuzz/fuzz.py" --seed "${CLM_FUZZ_SEED:-12}" \
		--seconds "$CLM_FUZZ_SECONDS" --psql "$STAGE_BIN/psql -X -h $PGHOST -p $PGPORT -d fuzz" \
		--workdir "$WORK" --serverlog "$WORK/server.log" | tail -n 40
	set -e
fi

log "sqlsmith: $N queries, seed $SEED"
set +e
as_user sqlsmith --target="host=$PGHOST port=$PGPORT dbname=smith user=smith" \
	--seed="$SEED" --max-queries="$N" --exclude-catalog --verbose \
	>"$WORK/sqlsmith.out" 2>"$WORK/sqlsmith.err"
rc=$?
set -e
# sqlsmith's summary after its last "queries:" line: errors ranked by count
awk '/^queries:/ {n = NR} {line[NR] = $0} END {for (i = n; i <= NR; i++) print line[i]}' \
	"$WORK/sqlsmith.err" >"$WORK/summary.txt"
head -n 1 "$WORK/summary.txt"
awk -F'\t' '/^[0-9]+\tERROR/ {s += $1; k++} END {printf "errors: %d (%d distinct messages)\n", s, k}' "$WORK/summary.txt"
grep -E '^[0-9]+'$'\t''ERROR' "$WORK/summary.txt" | sed -n '1,15p' | cut -c1-160
# internal errors (XX000) in the server log, split by where they were raised:
# with log_error_verbosity = verbose each ERROR line is followed by its
# LOCATION (function, file:line); a file of clm's src/ is clm's code, any
# other is PostgreSQL's own (or another extension's)
CLM_FILES=$(cd "$CLM_TOP/src" && ls *.c | paste -sd'|')
awk -v files="$CLM_FILES" '
	/ERROR:  XX000: / {msg = $0; sub(/.*ERROR:  XX000: /, "", msg); want = 1; next}
	want && /LOCATION:  / {
		loc = $0; sub(/.*LOCATION:  /, "", loc)
		n = split(loc, parts, ", ")
		file = parts[n]; sub(/:[0-9]+$/, "", file)
		who = (file ~ ("^(" files ")$")) ? "clm" : "postgres"
		print who "\t" loc "\t" msg
		want = 0; next}
	' "$WORK/server.log" >"$WORK/internal.tsv"
internal_clm=$(grep -c '^clm'$'\t' "$WORK/internal.tsv" || true)
internal_pg=$(grep -c '^postgres'$'\t' "$WORK/internal.tsv" || true)
echo "internal errors (XX000) raised in clm's code: $internal_clm"
grep '^clm'$'\t' "$WORK/internal.tsv" | cut -f2,3 | sort | uniq -c | sort -rn | sed -n '1,10p' || true
echo "internal errors (XX000) raised in PostgreSQL's code: $internal_pg"
grep '^postgres'$'\t' "$WORK/internal.tsv" | cut -f2,3 | sort | uniq -c | sort -rn | sed -n '1,10p' || true
# crashes: the query a crashed backend ran (DETAIL of the postmaster's
# message) says whether it called clm
crashes=$(grep -c 'terminated by signal' "$WORK/server.log" || true)
crash_clm=$(grep -A1 'terminated by signal' "$WORK/server.log" | grep -c 'Failed process was running:.*clm\.' || true)
echo "backend crashes: $crashes ($crash_clm in queries calling clm, $((crashes - crash_clm)) in others)"
grep -A3 'terminated by signal' "$WORK/server.log" | sed -n '1,20p' || true
echo "sqlsmith exit status $rc"
# clm's internal errors and any crash fail the run
[ "$crashes" -eq 0 ] && [ "$internal_clm" -eq 0 ]
