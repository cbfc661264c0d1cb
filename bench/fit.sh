#!/usr/bin/env bash
# bench/fit.sh - CLV model fits and scoring, against the scipy reference.
#
#   bench/fit.sh                 100k and 1M simulated customers
#   RUNS=5 bench/fit.sh          timing rounds for clm (default 3)
#   SIZES="100000" bench/fit.sh  other sizes
#
# For each size: simulates customers from BG/NBD + Gamma-Gamma
# (test/btyd/simulate.py), times clm's fits and scoring on a throwaway
# server, then times the same BG/NBD likelihood maximised by scipy
# (test/btyd/scipy_reference.py, one start, L-BFGS-B + polish) on the same
# file, and prints the ratio.
. "$(dirname "$0")/../scripts/common.sh"

ensure_packages "${BASE_PACKAGES[@]}" python3-numpy python3-scipy
build
make_workdir
stage
start_server "shared_buffers = '1GB'" "work_mem = '256MB'"
summary=()
for n in ${SIZES:-100000 1000000}; do
	log "simulating $n customers"
	/usr/bin/python3 "$CLM_TOP/test/btyd/simulate.py" --n "$n" --seed 7 --out "$WORK/sim_$n.csv" 2>/dev/null
	[ "$(id -u)" -eq 0 ] && chown "$RUN_USER" "$WORK/sim_$n.csv"
	psql_run -q -d postgres -v file="$WORK/sim_$n.csv" -v n="$n" -v runs="${RUNS:-3}" \
		-v outfile="$WORK/clm_$n.json" -f "$CLM_TOP/bench/fit.sql"
	log "scipy reference on the same $n customers"
	/usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" fit "$WORK/sim_$n.csv" \
		--starts 1 --models bgnbd >"$WORK/scipy_$n.json"
	clm_ms=$(grep -o '"bgnbd_ms" : [0-9.]*' "$WORK/clm_$n.json" | awk '{print $3}')
	scipy_s=$(grep -o '"seconds": [0-9.]*' "$WORK/scipy_$n.json" | awk '{print $2}')
	summary+=("$(awk -v n="$n" -v c="$clm_ms" -v s="$scipy_s" \
		'BEGIN { printf "%9d customers: clm.bgnbd_fit %8.3f s   scipy %8.3f s   scipy/clm %6.1fx", n, c / 1000, s, s / (c / 1000) }')")
done
echo
echo "BG/NBD fit, clm (median, 4 starts) vs scipy (1 start), same data:"
printf '%s\n' "${summary[@]}"
