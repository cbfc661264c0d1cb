#!/usr/bin/env bash
# scripts/test-versions.sh - build PostgreSQL 16, 17 and 18 from their
# Debian source packages and run clm's regress, isolation and TAP suites on
# each (not part of CI: a build takes minutes per version).
#
#   bash scripts/test-versions.sh            # 16 17 18
#   bash scripts/test-versions.sh 18         # some of them
#   CLM_PG_CACHE=/somewhere bash scripts/test-versions.sh
#
# Sources come from a private apt configuration under the cache (a
# temporary source list and its own lists; the system's apt sources are not
# touched).  Only the upstream tarball (the .orig.tar.* of the source
# package, all that is built) is downloaded: `apt-get source --print-uris
# postgresql-NN=VERSION` gives its address and its hash from the signed
# Sources index, and apt's own downloader fetches it and checks that hash.
# The versions are tried newest first, Debian's before Ubuntu's, until one
# downloads (a mirror may lack a tarball its index lists):
#   Debian's sid, trixie-security and trixie, verified with Debian's archive
#   keyring (18 from sid, 17 from trixie);
#   then Ubuntu's questing(-updates) and noble(-updates, -security), for a
#   release no Debian suite serves (16, which no current Debian release
#   carries; 17 when trixie's tarball is missing).  Their postgresql-NN is
#   the Debian packaging of the same maintainers around the same upstream
#   tarball, verified with the Ubuntu archive key of Debian's ubuntu-keyring
#   binary package (itself checked against Debian's signed Packages index).
# Each release's upstream tarball is built with assertions and TAP support
# (--enable-cassert --enable-debug --enable-tap-tests) into
# $CLM_PG_CACHE/NN (default /var/cache/clm-pg/NN), reused by later runs;
# then scripts/test.sh runs against it (PG_CONFIG hook of scripts/common.sh)
# with CLM_SUITES="regress isolation tap", on a copy of this tree in
# $CLM_PG_CACHE/clm-NN (its results/ and log stay there).  Ends with one line per version
# and the overall "N passed, N failed".
. "$(dirname "$0")/common.sh"

CACHE=${CLM_PG_CACHE:-/var/cache/clm-pg}
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(16 17 18)
JOBS=${CLM_BUILD_JOBS:-2}

ensure_packages make gcc dpkg-dev bison flex libreadline-dev zlib1g-dev \
	libicu-dev pkg-config perl libipc-run-perl xz-utils bzip2 \
	python3-numpy python3-scipy
mkdir -p "$CACHE"
APT=$CACHE/apt
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
UBUNTU_KEYRING=$APT/ubuntu-archive-keyring.gpg
# the suites of the temporary source list: Debian's first, Ubuntu's for a
# release none of Debian's serves
DEBIAN_SUITES=(sid trixie-security trixie)
UBUNTU_SUITES=(questing-updates questing noble-updates noble-security noble)

# apt_private apt-get|apt-cache ARGS...: that command with the private source
# list and state
apt_private() {
	local cmd=$1
	shift
	"$cmd" -o Dir::Etc::SourceList="$APT/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" "$@"
}

# apt_writable DIR: let apt's unprivileged download user write into DIR (else
# apt warns and downloads as root)
apt_writable() {
	if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$1"; fi
}

# write_sources debian|all: the temporary source list and its lists: Debian's
# deb-src suites (plus Debian's trixie binaries while the Ubuntu key is
# missing, for its ubuntu-keyring package), and with "all" Ubuntu's deb-src
# suites too.  A suite that fails to update (gone from the mirror, bad
# signature) is left out by apt and only warned about.
SOURCES_MODE=
write_sources() {
	local s
	[ "$SOURCES_MODE" != "$1" ] || return 0
	mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
	{
		for s in "${DEBIAN_SUITES[@]}"; do
			case $s in
			*-security) echo "deb-src [signed-by=$DEBIAN_KEYRING] http://security.debian.org/debian-security $s main" ;;
			*) echo "deb-src [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian $s main" ;;
			esac
		done
		if [ "$1" = all ]; then
			for s in "${UBUNTU_SUITES[@]}"; do
				echo "deb-src [signed-by=$UBUNTU_KEYRING] http://archive.ubuntu.com/ubuntu $s main"
			done
		elif [ ! -s "$UBUNTU_KEYRING" ]; then
			echo "deb [arch=$(dpkg --print-architecture) signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian trixie main"
		fi
	} >"$APT/sources.list"
	apt_private apt-get update -qq ||
		log "warning: some suites of $APT/sources.list did not update (left out)"
	SOURCES_MODE=$1
}

# ubuntu_keyring: the Ubuntu archive key, from Debian's ubuntu-keyring
# binary package (apt checks it against Debian's signed Packages index)
ubuntu_keyring() {
	[ -s "$UBUNTU_KEYRING" ] && return 0
	log "Ubuntu archive keyring from Debian's ubuntu-keyring package"
	write_sources debian
	local d=$APT/ubuntu-keyring f
	rm -rf "$d"; mkdir -p "$d"; apt_writable "$d"
	(cd "$d" && apt_private apt-get download -qq ubuntu-keyring) ||
		die "could not download Debian's ubuntu-keyring package"
	dpkg-deb -x "$d"/ubuntu-keyring_*.deb "$d/root"
	f=$d/root/usr/share/keyrings/ubuntu-archive-keyring.gpg
	[ -s "$f" ] || die "no ubuntu-archive-keyring.gpg in Debian's ubuntu-keyring package"
	cp "$f" "$UBUNTU_KEYRING"
	rm -rf "$d"
}

# src_versions PKG: the versions of source package PKG in the lists, newest
# first
src_versions() {
	apt_private apt-cache showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -u -r -V
}

# fetch_orig NN VERSION DIR: download the upstream tarball of postgresql-NN
# VERSION into DIR, checked against the hash of the signed Sources index
# that lists it; records where it came from in DIR/SOURCE
fetch_orig() {
	local v=$1 ver=$2 dir=$3 line uri file hash
	line=$(apt_private apt-get source --print-uris -qq "postgresql-$v=$ver" 2>/dev/null |
		grep -E "^'[^']*\.orig\.tar\.[a-z0-9]+' " | head -n 1) || return 1
	read -r uri file _ hash <<<"$line"
	uri=${uri//\'/}
	[ -n "$hash" ] || return 1
	log "PostgreSQL $v: $file of postgresql-$v $ver"
	apt_writable "$dir"
	/usr/lib/apt/apt-helper download-file "$uri" "$dir/$file" "$hash" >/dev/null || {
		rm -f "$dir/$file" "$dir/$file.FAILED"
		log "PostgreSQL $v: could not download $uri"
		return 1
	}
	printf 'postgresql-%s %s %s %s\n' "$v" "$ver" "$uri" "$hash" >"$dir/SOURCE"
}

# build_pg NN: download, build and install PostgreSQL NN into $CACHE/NN
build_pg() {
	local v=$1 src=$CACHE/src-$1 prefix=$CACHE/$1 tarball dir mode ver tried=" "
	if [ -x "$prefix/bin/pg_config" ] && [ -f "$prefix/.clm-built" ]; then
		log "PostgreSQL $v: using $prefix ($("$prefix/bin/pg_config" --version))"
		return 0
	fi
	rm -rf "$src"; mkdir -p "$src"
	# Debian's versions first, newest first; then Ubuntu's
	for mode in debian all; do
		[ $mode = debian ] || ubuntu_keyring
		write_sources $mode
		for ver in $(src_versions "postgresql-$v"); do
			case $tried in *" $ver "*) continue ;; esac
			tried+="$ver "
			fetch_orig "$v" "$ver" "$src" && break 2
		done
	done
	[ -s "$src/SOURCE" ] || die "no tarball of postgresql-$v in any suite of $APT/sources.list"
	tarball=$(ls "$src"/postgresql-"$v"_*.orig.tar.* | head -n 1)
	tar -xf "$tarball" -C "$src"
	dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-*' | head -n 1)
	log "PostgreSQL $v: building $(basename "$dir") into $prefix (make -j$JOBS)"
	(
		cd "$dir"
		./configure --prefix="$prefix" --enable-cassert --enable-debug \
			--enable-tap-tests --without-icu >"$src/configure.log" 2>&1
		make -j"$JOBS" -s >"$src/make.log" 2>&1
		make -s install >>"$src/make.log" 2>&1
		# pg_isolation_regress and the TAP modules are not installed by default
		make -s -C src/test/isolation install >>"$src/make.log" 2>&1
		make -s -C src/test/perl install >>"$src/make.log" 2>&1
	) || { tail -n 30 "$src"/*.log >&2; die "PostgreSQL $v did not build (logs in $src)"; }
	cp "$src/SOURCE" "$prefix/.clm-built"
	rm -rf "$dir"
}

for v in "${VERSIONS[@]}"; do
	build_pg "$v"
done

total_p=0
total_f=0
summary=()
for v in "${VERSIONS[@]}"; do
	pgc=$CACHE/$v/bin/pg_config
	log "PostgreSQL $v ($("$pgc" --version)): regress, isolation, TAP"
	out=$CACHE/test-$v.log
	# on a copy of the tree: test.sh builds in it and leaves results/ there
	tree=$CACHE/clm-$v
	rm -rf "$tree"; mkdir -p "$tree"
	tar -C "$CLM_TOP" --exclude=./.git --exclude=./results --exclude=./output_iso \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$tree" -xf -
	set +e
	PG_CONFIG=$pgc PG_MAJOR=$v CLM_SUITES="regress isolation tap" \
		bash "$tree/scripts/test.sh" >"$out" 2>&1
	set -e
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	[ -n "$line" ] || line="0 passed, 1 failed"
	grep -E 'FAILED|not ok|^error' "$out" | head -n 20 || true
	summary+=("$("$pgc" --version): $line (log: $out)")
	total_p=$((total_p + $(echo "$line" | cut -d' ' -f1)))
	total_f=$((total_f + $(echo "$line" | cut -d' ' -f3)))
done
printf '%s\n' "${summary[@]}"
echo "$total_p passed, $total_f failed"
[ $total_f -eq 0 ]
