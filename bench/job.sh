#!/usr/bin/env bash
# bench/job.sh - a full clm job run against the GROUP BY floor.
#
#   bench/job.sh            1M transactions over 100k customers
#   bench/job.sh --large    10M transactions over 1M customers
#
# Prints, from one run on a throwaway server, the time of three runs of the
# same job (the first classifies everyone; the next are the steady state)
# and their ratio to SELECT customer_id, min(ts), max(ts), count(*),
# sum(amount) ... GROUP BY customer_id over the same table.
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
start_server "shared_buffers = '1GB'" "max_wal_size = '4GB'"
psql_run -q -d postgres -v rows="$rows" -v customers="$customers" -f "$CLM_TOP/bench/job.sql"
