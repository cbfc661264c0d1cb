#!/usr/bin/env bash
# bench/summary_rfm.sh - benchmark clm.customer_summary and clm.rfm_score.
#
#   bench/summary_rfm.sh            1M transactions over 100k customers
#   bench/summary_rfm.sh --large    10M transactions over 1M customers
#   RUNS=7 bench/summary_rfm.sh     more timing rounds (default 5)
#
# Prints median execution times from one run and the ratios against the
# GROUP BY floor (a) and the pure-SQL RFM (c).  Uses a throwaway server.
. "$(dirname "$0")/../scripts/common.sh"

rows=1000000
customers=100000
if [ "${1:-}" = "--large" ]; then
	rows=10000000
	customers=1000000
fi

ensure_packages "${BASE_PACKAGES[@]}"
build
make_workdir
stage
start_server "shared_buffers = '1GB'" "max_parallel_workers_per_gather = 2"
psql_run -q -d postgres -v rows="$rows" -v customers="$customers" -v runs="${RUNS:-5}" \
	-f "$CLM_TOP/bench/summary_rfm.sql"
