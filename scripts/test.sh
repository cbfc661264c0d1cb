#!/usr/bin/env bash
# scripts/test.sh - set up and run every clm test suite (what `make test` runs).
#
# Installs missing Debian packages, builds with warnings as errors, installs
# clm into a private PostgreSQL tree (no root needed), runs the pg_regress
# suite on a throwaway server as an unprivileged user, and ends with the line
# "N passed, N failed".  Exit status is non-zero on any failure.
# CLM_SUITES="core regress readme isolation tap fuzz" (the default) picks the
# suites; regress also runs each file on its own against a running server, as
# `make installcheck` does, readme runs every sql block of README.md, and
# fuzz runs CLM_FUZZ_SECONDS (60) with seed CLM_FUZZ_SEED (12).
. "$(dirname "$0")/common.sh"

ensure_packages "${BASE_PACKAGES[@]}" python3-numpy python3-scipy python3-mpmath
make -C "$CLM_TOP" -s clean
WERROR=1 build
make_workdir
stage

# CLM_VALGRIND=1: every server the suites start runs under valgrind memcheck
# (initdb's bootstrap excepted); the report at the end lists the errors whose
# stack passes through clm.so.  Slow: run with CLM_SUITES="regress tap".
if [ -n "${CLM_VALGRIND:-}" ]; then
	ensure_packages valgrind
	VG=$WORK/valgrind
	mkdir -p "$VG"
	[ "$(id -u)" -eq 0 ] && chown "$RUN_USER" "$VG"
	mv "$STAGE_BIN/postgres" "$STAGE_BIN/postgres.real"
	cat >"$STAGE_BIN/postgres" <<WRAP
#!/bin/sh
case " \$* " in
*" --boot "*|*" --single "*|*" -V "*|*" --version "*|*" -C "*|*" --describe-config "*)
	exec "$STAGE_BIN/postgres.real" "\$@" ;;
esac
exec valgrind --quiet --error-limit=no --num-callers=40 --read-var-info=no \
	--log-file="$VG/%p.log" "$STAGE_BIN/postgres.real" "\$@"
WRAP
	chmod 755 "$STAGE_BIN/postgres"
	export PG_TEST_TIMEOUT_DEFAULT=1800
fi

passed=0
failed=0
SUITES=" ${CLM_SUITES:-core regress readme isolation tap fuzz} "
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
	echo "$out" | tail -n "${TAIL_LINES:-5}"
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
log "btyd self-test and scipy cross-check"
cli=$WORK/btyd_cli
cc -O2 -Wall -Wextra -Werror -I"$CLM_TOP/src" "$CLM_TOP/test/btyd/btyd_cli.c" \
	"$CLM_TOP"/src/btyd_*.c -lm -o "$cli"
run_counted "$cli" selftest
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" compare \
	"$CLM_TOP/test/data/cdnow_summary.csv" --cli "$cli"
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" check-ep --cli "$cli" --n 400
# the scipy reference files sql/clv.sql reads are committed (installcheck
# needs no scipy): they must still be what scipy_reference.py gives
log "committed scipy reference files (test/data/ref_*) up to date"
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/refs.py" check
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" pnbd-check --cli "$cli"
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" pnbd-recovery --cli "$cli"
run_counted /usr/bin/python3 "$CLM_TOP/test/btyd/scipy_reference.py" next-check --cli "$cli"
fi

# --- pg_regress ---------------------------------------------------------
log "pg_regress suite"
R=$WORK/regress
mkdir -p "$R"
cp -r "$CLM_TOP/sql" "$CLM_TOP/expected" "$CLM_TOP/test" "$R/"
[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$R"
cat >"$R/regress.conf" <<CONF
timezone = 'UTC'
max_worker_processes = 16
max_parallel_workers = 8
# the tests run their jobs themselves: clm is preloaded, so clm.create_job
# sees a database a worker covers and does not warn, but the launcher looks
# for databases at start and then once a day, so the test database (created
# after start) gets no worker
shared_preload_libraries = 'clm'
clm.naptime = 86400
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
		grep -qE "FAILED|^not ok" "$R/$name.log" || failed=$((failed + 1))
	fi
}

if want regress; then
	run_suite regress "$PG_SYS_LIB/pgxs/src/test/regress/pg_regress" . results \
		contrib_regression $(make -C "$CLM_TOP" -s print-regress-opts) \
		$(make -C "$CLM_TOP" -s print-regress)
fi

# --- one running server, as a user's: each regression file on its own,
# exactly as `make installcheck REGRESS=name` runs it, then the README ------
if want regress || want readme; then
	start_server
	PG_REGRESS_BIN=$PG_SYS_LIB/pgxs/src/test/regress/pg_regress
fi
if want regress; then
	log "each regression file on its own against a running server (installcheck)"
	for t in $(make -C "$CLM_TOP" -s print-regress); do
		mkdir -p "$R/alone/$t"
		[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$R/alone"
		set +e
		(cd "$R" && as_user "$PG_REGRESS_BIN" --host="$PGHOST" --port="$PGPORT" \
			--user="$RUN_USER" --bindir="$STAGE_BIN" --inputdir=. \
			--outputdir="alone/$t" --dbname=contrib_regression \
			$(make -C "$CLM_TOP" -s print-regress-opts) "$t") >"$R/alone/$t.log" 2>&1
		rc=$?
		set -e
		if [ $rc -eq 0 ]; then
			echo "ok - $t on its own (installcheck)"
			passed=$((passed + 1))
		else
			echo "FAILED - $t on its own (installcheck): make installcheck REGRESS=$t"
			cat "$R/alone/$t/regression.diffs" 2>/dev/null | head -n 40 || tail -n 20 "$R/alone/$t.log"
			failed=$((failed + 1))
		fi
	done
fi

# every ```sql block of README.md, in order, in one database of the same
# server, from a copy of the source tree (test/readme_blocks.py: a block
# marked <!-- readme-test: skip (reason) --> is not run)
if want readme; then
	log "README.md: every sql block runs against the sample"
	RB=$WORK/readme
	mkdir -p "$RB"
	if ! /usr/bin/python3 "$CLM_TOP/test/readme_blocks.py" "$CLM_TOP/README.md" "$RB/blocks" >"$RB/list"; then
		cat "$RB/list"
		failed=$((failed + 1))
	fi
	grep '^skip' "$RB/list" | sed 's/^skip /skipped (marked) - /' || true
	[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$RB"
	psql_run -q -d postgres -c 'CREATE DATABASE clm_readme'
	for f in "$RB"/blocks/*.sql; do
		[ -e "$f" ] || continue
		where=README.md:$(basename "$f" .sql | sed 's/^[0-9]*_L//')
		set +e
		(cd "$R" && as_user "$STAGE_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" \
			-p "$PGPORT" -U "$RUN_USER" -d clm_readme -f "$f") >"$f.out" 2>&1
		rc=$?
		set -e
		if [ $rc -eq 0 ]; then
			echo "ok - $where"
			passed=$((passed + 1))
		else
			echo "FAILED - $where (mark a block that is not meant to run with <!-- readme-test: skip (reason) -->):"
			grep -E 'ERROR|FATAL|error' "$f.out" | head -n 5 || tail -n 5 "$f.out"
			failed=$((failed + 1))
		fi
	done
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
(cd "$T" && as_user env PATH="$STAGE_BIN:$PATH" CLM_VALGRIND="${CLM_VALGRIND:-}" PG_REGRESS="$PG_SYS_LIB/pgxs/src/test/regress/pg_regress" \
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

# --- fuzzing: random and boundary values for every function in clm, serial
# and under forced parallel plans; serial and parallel aggregates agree
if want fuzz; then
	log "fuzzing (test/fuzz/fuzz.py: ${CLM_FUZZ_SECONDS:-60} s, seed ${CLM_FUZZ_SEED:-12})"
	stop_server		# the installcheck server of the regress suite, if it ran
	start_server "max_worker_processes = 16" "max_parallel_workers = 8"
	psql_run -d postgres -qc "CREATE DATABASE fuzz"
	psql_run -d fuzz -qc "CREATE EXTENSION clm"
	TAIL_LINES=60 run_counted as_user env CLM_FUZZ_SECONDS="${CLM_FUZZ_SECONDS:-60}" \
		CLM_FUZZ_SEED="${CLM_FUZZ_SEED:-12}" /usr/bin/python3 "$CLM_TOP/test/fuzz/fuzz.py" \
		--psql "$STAGE_BIN/psql -X -h $PGHOST -p $PGPORT -d fuzz" \
		--workdir "$WORK" --serverlog "$WORK/server.log"
fi

if [ -n "${CLM_VALGRIND:-}" ]; then
	log "valgrind: $(ls "$VG" | wc -l) server processes traced"
	# one error block per "==pid== <kind>" up to the next blank line
	vg_all=$(cat "$VG"/*.log | grep -cE '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Source and dest|Mismatched|.*uninitialised)' || true)
	# an error is clm's when one of its 4 innermost frames is in clm.so (the
	# benign padding writes PostgreSQL's own suppressions cover have clm, if
	# at all, far down the stack: a worker starting a transaction)
	vg_clm=$(cat "$VG"/*.log | awk '
		/^==[0-9]+== [A-Z]/ {inblk = 1; k = 0; hit = 0; next}
		/^==[0-9]+== +(at|by) / {if (inblk && k++ < 4 && $0 ~ /clm\.so|btyd|clm_|(summary|fitdata|models|rfm|abc|churn|stage|review|worker|clm)\.c:/) hit = 1; next}
		/^==[0-9]+== *$/ {if (inblk && hit) n++; inblk = 0; next}
		END {print n + 0}')
	echo "valgrind: $vg_all error reports in all, $vg_clm in clm code (one of the 4 innermost frames)"
	if [ "$vg_clm" -gt 0 ]; then
		grep -lE 'clm\.so|clm_|btyd' "$VG"/*.log | sed -n '1,3p' | xargs -r cat | sed -n '1,80p' 
		failed=$((failed + 1))
	fi
	cp -r "$VG" "$CLM_TOP/results_valgrind" 2>/dev/null || true
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
