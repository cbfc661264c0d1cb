#!/usr/bin/env bash
# bench/score.sh - scoring every customer: P(alive) and 12-month CLV in
# clm (serial and 2 parallel workers) against a sum() scan of the same
# table, and the same quantities in numpy/scipy (vectorised, the scipy
# reference's formulas) on the same simulated customers.
#
#   bench/score.sh                 1M simulated customers, 3 runs
#   SIZES="100000" RUNS=5 bench/score.sh
. "$(dirname "$0")/../scripts/common.sh"

ensure_packages "${BASE_PACKAGES[@]}" python3-numpy python3-scipy
build
make_workdir
stage
start_server "shared_buffers = '1GB'" "work_mem = '256MB'" "max_worker_processes = 8"
for n in ${SIZES:-1000000}; do
	log "simulating $n customers"
	/usr/bin/python3 "$CLM_TOP/test/btyd/simulate.py" --n "$n" --seed 7 --out "$WORK/sim_$n.csv" 2>/dev/null
	[ "$(id -u)" -eq 0 ] && chown "$RUN_USER" "$WORK/sim_$n.csv"
	psql_run -q -d postgres -v file="$WORK/sim_$n.csv" -v n="$n" -v runs="${RUNS:-3}" \
		-f "$CLM_TOP/bench/score.sql"
	log "numpy/scipy on the same $n customers"
	/usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" score-bench "$WORK/sim_$n.csv"
done
