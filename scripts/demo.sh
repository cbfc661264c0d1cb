#!/usr/bin/env bash
# scripts/demo.sh - set up and run the clm demo (what `make demo` runs).
#
# Installs missing Debian packages, builds clm, installs it into a private
# PostgreSQL tree, starts a throwaway server, loads the CDNOW sample shipped in
# test/data and prints customers and revenue per RFM segment and ABC class,
# the top customers, CLV fits, a job's stages, KPIs and cohorts; then draws
# a report (HTML with gnuplot charts) into $CLM_DEMO_REPORT (default
# /tmp/clm-demo-report).  The server and its files are removed on exit.
. "$(dirname "$0")/common.sh"

REPORT=${CLM_DEMO_REPORT:-/tmp/clm-demo-report}
ensure_packages "${BASE_PACKAGES[@]}" gnuplot-nox
build
make_workdir
stage
cp -r "$CLM_TOP/test" "$WORK/"
[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$WORK/test"
start_server
mkdir -p "$WORK/report"
[ "$(id -u)" -eq 0 ] && chown "$RUN_USER" "$WORK/report"
log "loading the CDNOW sample and segmenting it"
(cd "$WORK" && psql_run -q -d postgres -v report_dir="$WORK/report" -f test/demo.sql)
log "drawing the report"
bash "$CLM_TOP/scripts/report.sh" "$WORK/report" "$REPORT" >/dev/null
log "report: $REPORT/index.html (charts: $REPORT/*.png)"
