#!/usr/bin/env bash
# scripts/demo.sh - set up and run the clm demo (what `make demo` runs).
#
# Installs missing Debian packages, builds clm, installs it into a private
# PostgreSQL tree, starts a throwaway server, loads the CDNOW sample shipped in
# test/data and prints customers and revenue per RFM segment and ABC class
# and the top 10 customers.  The server and its files are removed on exit.
. "$(dirname "$0")/common.sh"

ensure_packages "${BASE_PACKAGES[@]}"
build
make_workdir
stage
cp -r "$CLM_TOP/test" "$WORK/"
[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$WORK/test"
start_server
log "loading the CDNOW sample and segmenting it"
(cd "$WORK" && psql_run -q -d postgres -f test/demo.sql)
