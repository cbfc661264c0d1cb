#!/usr/bin/env bash
# bench/job.sh - the runs of a clm job (first, idle, steady, next day, full
# refresh) against the GROUP BY floor, in time and WAL bytes.
#
#   bench/job.sh            about 1M transactions over 100k customers
#   bench/job.sh --large    about 10M transactions over 1M customers
#
# The transactions are drawn from the BG/NBD purchase process with
# Gamma-Gamma spend (test/btyd/simulate.py), about 13 per customer over up to
# two years, so the job's model fits behave as on real shop data.
#
# Prints, from one run on a throwaway server, each run's time, customers
# scored and rows written, WAL bytes (also per changed customer), and the
# ratio to SELECT customer_id, min(ts), max(ts), count(*),
# sum(amount) ... GROUP BY customer_id over the same table.
. "$(dirname "$0")/../scripts/common.sh"

customers=100000
[ "${1:-}" = "--large" ] && customers=1000000
ensure_packages "${BASE_PACKAGES[@]}" python3-numpy
build
make_workdir
stage
log "simulating $customers customers"
/usr/bin/python3 "$CLM_TOP/test/btyd/simulate.py" --n "$customers" --seed 3 --alpha 0.5 --a 0.3 --b 3 \
	--t-hi 104 --out "$WORK/sum.csv" --transactions "$WORK/tx.csv" 2>/dev/null
[ "$(id -u)" -eq 0 ] && chown "$RUN_USER" "$WORK"/*.csv
start_server "shared_buffers = '1GB'" "max_wal_size = '4GB'" "shared_preload_libraries = 'clm'" "clm.worker_enabled = off" \
	"autovacuum_naptime = '1s'"
psql_run -q -d postgres -v sumfile="$WORK/sum.csv" -v txfile="$WORK/tx.csv" -f "$CLM_TOP/bench/job.sql"
