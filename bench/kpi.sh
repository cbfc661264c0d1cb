#!/usr/bin/env bash
# bench/kpi.sh - clm.kpi and clm.cohorts against plain GROUP BYs.
#
#   bench/kpi.sh            1M transactions over 100k customers, two years
#   bench/kpi.sh --large    10M transactions over 1M customers
#
# Prints, from one throwaway server, the median of 3 execution times (EXPLAIN
# ANALYZE) of the floors SELECT customer_id, min(ts), max(ts), count(*),
# sum(amount) ... GROUP BY customer_id and the same grouped by customer and
# month, then of clm.purchase_histories, clm.kpi (monthly, 90 active days) and
# clm.cohorts (monthly), with their ratios to both floors.
. "$(dirname "$0")/../scripts/common.sh"

rows=1000000
customers=100000
if [ "${1:-}" = "--large" ]; then rows=10000000; customers=1000000; fi
ensure_packages "${BASE_PACKAGES[@]}"
build
make_workdir
stage
start_server "shared_buffers = '1GB'" "max_wal_size = '4GB'"
psql_run -q -d postgres -v rows="$rows" -v customers="$customers" -f "$CLM_TOP/bench/kpi.sql"
