# scripts/common.sh - shared set-up for clm's demo, tests and benchmarks.
#
# Sourced by scripts/test.sh, scripts/demo.sh and bench/*.sh.  It solves, once,
# the three things that make PostgreSQL extension testing awkward on a fresh
# Debian machine:
#
#  1. missing packages: installed with apt-get (directly as root, through sudo
#     otherwise);
#  2. installing the extension without root: clm is installed into a private
#     copy of the PostgreSQL tree ("stage"), whose binaries find their share and
#     lib directories relative to their own location, so the system install is
#     never touched and no privilege is needed;
#  3. PostgreSQL refuses to run as root: when we are root, every server-side
#     step runs as the unprivileged "postgres" user through runuser.

set -euo pipefail

CLM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# PG_MAJOR picks a Debian-packaged PostgreSQL (default 15); PG_CONFIG, when
# set, picks any installation instead (e.g. one built from source by
# scripts/test-versions.sh): its directories come from pg_config, and no
# PostgreSQL package is installed for it.
PG_MAJOR=${PG_MAJOR:-15}
if [ -n "${PG_CONFIG:-}" ]; then
	[ -x "$PG_CONFIG" ] || { printf 'error: PG_CONFIG=%s is not executable\n' "$PG_CONFIG" >&2; exit 1; }
	PG_OWN_BUILD=1
	PG_SYS_BIN=$("$PG_CONFIG" --bindir)
	PG_SYS_LIB=$("$PG_CONFIG" --pkglibdir)
	PG_SYS_SHARE=$("$PG_CONFIG" --sharedir)
else
	PG_OWN_BUILD=
	PG_SYS_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
	PG_SYS_LIB=/usr/lib/postgresql/$PG_MAJOR/lib
	PG_SYS_SHARE=/usr/share/postgresql/$PG_MAJOR
	PG_CONFIG=$PG_SYS_BIN/pg_config
fi

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# as_root CMD...: run CMD with root privileges (directly, or through sudo).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $* (install sudo or run as root)"
	fi
}

# ensure_packages PKG...: install the Debian packages that are missing.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing missing packages: ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}

if [ -n "$PG_OWN_BUILD" ]; then
	BASE_PACKAGES=(make gcc)
else
	BASE_PACKAGES=(make gcc postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
		postgresql-common)
fi

# run_user: the unprivileged account servers run as.
if [ "$(id -u)" -eq 0 ]; then
	RUN_USER=postgres
else
	RUN_USER=$(id -un)
fi

# as_user CMD...: run CMD as RUN_USER, keeping the environment we need.
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$RUN_USER" -- env PATH="$PATH" HOME="${WORK:-/tmp}" \
			LANG=C.UTF-8 "$@"
	else
		"$@"
	fi
}

# build: compile clm.so; WERROR=1 turns warnings into errors.
build() {
	log "building clm (WERROR=${WERROR:-0})"
	make -C "$CLM_TOP" -s PG_CONFIG="$PG_CONFIG" WERROR="${WERROR:-0}" all
}

# make_workdir: a scratch directory the unprivileged user owns, removed on exit.
make_workdir() {
	WORK=$(mktemp -d /tmp/clm-work.XXXXXX)
	chmod 755 "$WORK"
	[ "$(id -u)" -eq 0 ] && chown "$RUN_USER" "$WORK"
	trap cleanup EXIT
}

# cleanup: stop any server we started and remove the scratch directory.
cleanup() {
	local rc=$?
	if [ -n "${PGDATA_DIR:-}" ] && [ -f "$PGDATA_DIR/postmaster.pid" ]; then
		as_user "$STAGE_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	[ -n "${WORK:-}" ] && [ -z "${CLM_KEEP_WORK:-}" ] && rm -rf "$WORK"
	return $rc
}

# stage: a private PostgreSQL tree under $WORK/stage with clm installed.
# The server binaries are copied (they locate share/ and lib/ relative to
# their own real path); everything else is symlinked to the system install.
stage() {
	local root=$WORK/stage dest f
	log "installing clm into a private PostgreSQL tree ($root)"
	make -C "$CLM_TOP" -s PG_CONFIG="$PG_CONFIG" DESTDIR="$WORK/destdir" install >/dev/null
	mkdir -p "$root$PG_SYS_BIN" "$root$PG_SYS_LIB" "$root$PG_SYS_SHARE/extension"
	cp -a "$PG_SYS_BIN/." "$root$PG_SYS_BIN/"
	for f in "$PG_SYS_LIB"/*; do ln -s "$f" "$root$PG_SYS_LIB/"; done
	for f in "$PG_SYS_SHARE"/*; do
		[ "$(basename "$f")" = extension ] || ln -s "$f" "$root$PG_SYS_SHARE/"
	done
	for f in "$PG_SYS_SHARE"/extension/*; do ln -s "$f" "$root$PG_SYS_SHARE/extension/"; done
	# our files replace any system-installed copy of clm
	for f in "$WORK/destdir$PG_SYS_LIB"/*; do
		dest=$root$PG_SYS_LIB/$(basename "$f")
		rm -rf "$dest"; cp -a "$f" "$dest"
	done
	for f in "$WORK/destdir$PG_SYS_SHARE"/extension/*; do
		dest=$root$PG_SYS_SHARE/extension/$(basename "$f")
		rm -f "$dest"; cp -a "$f" "$dest"
	done
	STAGE_BIN=$root$PG_SYS_BIN
	[ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER" "$WORK"
	export PATH="$STAGE_BIN:$PATH"
}

# start_server [CONF...]: initdb and start a throwaway server on a Unix socket
# in $WORK; sets PGHOST, PGPORT, PGDATABASE for psql.
start_server() {
	PGDATA_DIR=$WORK/data
	export PGHOST=$WORK PGPORT=${PGPORT:-54329} PGDATABASE=postgres PGUSER=$RUN_USER
	as_user "$STAGE_BIN/initdb" -D "$PGDATA_DIR" -A trust -E UTF8 --locale=C >/dev/null
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$WORK'"
		echo "port = $PGPORT"
		echo "timezone = 'UTC'"
		local c
		for c in "$@"; do echo "$c"; done
	} >>"$PGDATA_DIR/postgresql.conf"
	as_user "$STAGE_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/server.log" -w start >/dev/null ||
		{ cat "$WORK/server.log" >&2; die "server did not start"; }
}

# stop_server: stop the throwaway server of start_server and remove its data
# directory, so that another one can start (with other settings)
stop_server() {
	if [ -n "${PGDATA_DIR:-}" ] && [ -d "$PGDATA_DIR" ]; then
		as_user "$STAGE_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
		rm -rf "$PGDATA_DIR"
	fi
}

# psql_run ARGS...: psql against the throwaway server, stopping on error.
psql_run() {
	as_user "$STAGE_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" \
		-U "$RUN_USER" "$@"
}
