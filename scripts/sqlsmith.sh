#!/usr/bin/env bash
# scripts/sqlsmith.sh - `make fuzz`: sqlsmith's random queries against a
# database with clm installed and populated, on a throwaway server.
#
# SQLSMITH_QUERIES (default 20000) bounds the run, SQLSMITH_SEED (default 1)
# makes it repeatable.  sqlsmith connects as an unprivileged role that may
# use clm and read the sample tables (so it cannot terminate backends or
# read files).  Reports the queries run, the errors by message and any
# backend crash found in the server log; exit status 1 on a crash.
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
# internal errors (XX000) in the server log, by message
internal=$(grep -cE 'ERROR:  XX000' "$WORK/server.log" || true)
echo "internal errors (XX000) in the server log: $internal"
grep -E 'ERROR:  XX000' "$WORK/server.log" | sed 's/.*ERROR:  XX000: //' | sort | uniq -c | sort -rn | sed -n '1,10p' || true
crashes=$(grep -c 'terminated by signal' "$WORK/server.log" || true)
grep -A3 'terminated by signal' "$WORK/server.log" | sed -n '1,20p' || true
echo "sqlsmith exit status $rc; backend crashes: $crashes"
[ "$crashes" -eq 0 ]
