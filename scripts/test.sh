#!/usr/bin/env bash
# scripts/test.sh - set up and run every clm test suite (what `make test` runs).
#
# Installs missing Debian packages, builds with warnings as errors, installs
# clm into a private PostgreSQL tree (no root needed), runs the pg_regress
# suite on a throwaway server as an unprivileged user, and ends with the line
# "N passed, N failed".  Exit status is non-zero on any failure.
# CLM_SUITES="core regress isolation tap" (the default) picks the suites.
. "$(dirname "$0")/common.sh"

ensure_packages "${BASE_PACKAGES[@]}" python3-numpy python3-scipy python3-mpmath
make -C "$CLM_TOP" -s clean
WERROR=1 build
make_workdir
stage

passed=0
failed=0
SUITES=" ${CLM_SUITES:-core regress isolation tap} "
want() { [[ "$SUITES" == *" $1 "* ]]; }

# count "... ok" / "... FAILED" lines of a pg_regress log
count_results() {
	local p f
	p=$(grep -cE '^(ok|not ok|test| ) .*\.\.\. +ok|^ok [0-9]+ ' "$1" || true)
	f=$(grep -cE '\.\.\. +FAILED|^not ok [0-9]+ ' "$1" || true)
	passed=$((passed + p))
	failed=$((failed + f))
}

# --- numerical core: C self-test and the scipy cross-check -------------
# each prints "N passed, N failed"; their counts join the total
run_counted() {
	local out
	set +e
	out=$("$@" 2>&1)
	local rc=$?
	set -e
	echo "$out" | tail -n 5
	local line
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
	else
		passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
		failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
	fi
	[ $rc -eq 0 ] || [ -n "$line" ] || failed=$((failed + 1))
}
# --- generated files: the committed install script and META.json must be
# what make builds from src/sql/*.sql, META.json.in and clm.control
if want core; then
log "generated files (clm--VERSION.sql, META.json) up to date"
version=$(make -C "$CLM_TOP" -s print-version)
for f in "clm--$version.sql" META.json; do
	cp "$CLM_TOP/$f" "$WORK/$f.committed"
	make -C "$CLM_TOP" -s -B "$f" >/dev/null
	if cmp -s "$CLM_TOP/$f" "$WORK/$f.committed"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $f differs from what make generates (commit the regenerated file):"
		diff "$WORK/$f.committed" "$CLM_TOP/$f" | head -n 20 || true
		failed=$((failed + 1))
	fi
done
fi

if want core; then
log "btyd.c self-test and scipy cross-check"
cli=$WORK/btyd_cli
cc -O2 -Wall -Wextra -Werror -I"$CLM_TOP/src" "$CLM_TOP/test/btyd/btyd_cli.c" \
	"$CLM_TOP/src/btyd.c" -lm -o "$cli"
run_counted "$cli" selftest
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" compare \
	"$CLM_TOP/test/data/cdnow_summary.csv" --cli "$cli"
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" check-ep --cli "$cli" --n 400
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" pnbd-check --cli "$cli"
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" pnbd-recovery --cli "$cli"
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" next-check --cli "$cli"
fi

# --- pg_regress ---------------------------------------------------------
log "pg_regress suite"
R=$WORK/regress
mkdir -p "$R"
cp -r "$CLM_TOP/sql" "$CLM_TOP/expected" "$CLM_TOP/test" "$R/"
# the independent reference: the same likelihoods maximised with scipy
log "scipy reference fits (test/btyd/scipy_reference.py)"
ref=$CLM_TOP/test/btyd/scipy_reference.py
/usr/bin/python3 "$ref" fit "$CLM_TOP/test/data/cdnow_summary.csv" >"$R/test/data/ref_fit_cdnow.jsonl"
/usr/bin/python3 "$ref" score "$CLM_TOP/test/data/cdnow_summary.csv" | grep -v '^#' >"$R/test/data/ref_score_cdnow.csv"
/usr/bin/python3 "$ref" fit "$CLM_TOP/test/data/sim_bgnbd_20k.csv" >"$R/test/data/ref_fit_sim.jsonl"
/usr/bin/python3 "$ref" holdout "$CLM_TOP/test/data/cdnow_transactions.csv" >"$R/test/data/ref_holdout_cdnow.json"
/usr/bin/python3 "$ref" pnbd "$CLM_TOP/test/data/cdnow_summary.csv" >"$R/test/data/ref_pnbd_cdnow.json"
[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$R"
cat >"$R/regress.conf" <<CONF
timezone = 'UTC'
max_worker_processes = 16
max_parallel_workers = 8
CONF
# run_suite NAME RUNNER OUTDIR KEEP DBNAME TESTS...: one pg_regress-style
# suite on its own throwaway server; its outputs are copied to $CLM_TOP/KEEP
# where a developer can read (and accept) them
run_suite() {
	local name=$1 runner=$2 out=$3 keep=$4 db=$5 rc
	shift 5
	set +e
	(cd "$R" && as_user "$runner" \
		--temp-instance="$R/tmp_$name" --temp-config="$R/regress.conf" \
		--bindir="$STAGE_BIN" --inputdir=. --outputdir="$out" \
		--dbname="$db" "$@") >"$R/$name.log" 2>&1
	rc=$?
	set -e
	cat "$R/$name.log"
	count_results "$R/$name.log"
	rm -rf "${CLM_TOP:?}/$keep" && cp -r "$R/$keep" "$CLM_TOP/$keep" 2>/dev/null || true
	if [ $rc -ne 0 ]; then
		[ -f "$R/$out/regression.diffs" ] && cat "$R/$out/regression.diffs"
		# a crash that printed no FAILED line still counts
		grep -q FAILED "$R/$name.log" || failed=$((failed + 1))
	fi
}

if want regress; then
	run_suite regress "$PG_SYS_LIB/pgxs/src/test/regress/pg_regress" . results \
		contrib_regression $(make -C "$CLM_TOP" -s print-regress)
fi

# --- isolation tests (specs/*.spec) ----------------------------------------
if want isolation; then
	log "isolation tests (specs/)"
	cp -r "$CLM_TOP/specs" "$R/"
	[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$R/specs"
	run_suite isolation "$PG_SYS_LIB/pgxs/src/test/isolation/pg_isolation_regress" \
		output_iso output_iso isolation_regression \
		$(cd "$CLM_TOP/specs" && ls *.spec | sed 's/\.spec$//')
fi

# --- TAP: the background workers on a real server (as RUN_USER) --------
if want tap; then
log "TAP tests (t/*.pl)"
ensure_packages libipc-run-perl
T=$WORK/tap
mkdir -p "$T"
cp -r "$CLM_TOP/t" "$T/"
[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$T"
set +e
(cd "$T" && as_user env PATH="$STAGE_BIN:$PATH" PG_REGRESS="$PG_SYS_LIB/pgxs/src/test/regress/pg_regress" \
	prove -I "$PG_SYS_LIB/pgxs/src/test/perl" t/*.pl) >"$T/prove.log" 2>&1
rc=$?
set -e
cat "$T/prove.log"
tap_total=$(grep -oE 'Tests=[0-9]+' "$T/prove.log" | tail -n 1 | cut -d= -f2 || true)
tap_failed=$( (grep -oE 'Failed [0-9]+/[0-9]+ subtests' "$T/prove.log" || true) | awk '{split($2, a, "/"); s += a[1]} END {print s + 0}')
[ "${tap_total:-0}" -gt 0 ] || tap_total=
if [ -z "$tap_total" ]; then
	failed=$((failed + 1))
else
	passed=$((passed + tap_total - tap_failed))
	failed=$((failed + tap_failed))
	if [ $rc -ne 0 ] && [ "$tap_failed" -eq 0 ]; then failed=$((failed + 1)); fi
fi
if [ $rc -ne 0 ]; then
	for f in "$T"/tmp_check/log/*; do echo "== $f"; tail -n 60 "$f"; done
fi
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
