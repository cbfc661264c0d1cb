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
# temporary deb-src list; the system's apt sources are not touched), with
# `apt-get source --download-only postgresql-NN`:
#   17 from Debian 13 (trixie), 18 from Debian unstable (sid), both verified
#   with Debian's archive keyring; 16, which no current Debian release
#   carries, from Ubuntu 24.04 (noble-updates), whose postgresql-16 is the
#   Debian packaging of the same maintainers, verified with the Ubuntu
#   archive key taken from Debian's own ubuntu-keyring source package.
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

# apt_private ARGS...: apt-get with the private source list and state
apt_private() {
	apt-get -o Dir::Etc::SourceList="$APT/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" "$@"
}

# write_sources: the temporary deb-src list (Ubuntu only once its key is in)
write_sources() {
	mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
	{
		echo "deb-src [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian trixie main"
		echo "deb-src [signed-by=$DEBIAN_KEYRING] http://deb.debian.org/debian sid main"
		if [ -s "$UBUNTU_KEYRING" ]; then
			echo "deb-src [signed-by=$UBUNTU_KEYRING] http://archive.ubuntu.com/ubuntu noble-updates main"
			echo "deb-src [signed-by=$UBUNTU_KEYRING] http://archive.ubuntu.com/ubuntu noble-security main"
		fi
	} >"$APT/sources.list"
	apt_private update -qq
}

# ubuntu_keyring: the Ubuntu archive key, from Debian's (signed) source
# package ubuntu-keyring
ubuntu_keyring() {
	[ -s "$UBUNTU_KEYRING" ] && return 0
	log "Ubuntu archive keyring from Debian's ubuntu-keyring source package"
	local d=$APT/ubuntu-keyring f
	rm -rf "$d"; mkdir -p "$d"
	(cd "$d" && apt_private source --download-only -qq ubuntu-keyring >/dev/null) ||
		die "could not download Debian's ubuntu-keyring source package (needed for 16)"
	for f in "$d"/ubuntu-keyring_*.tar.*; do tar -xf "$f" -C "$d"; done
	f=$(find "$d" -name ubuntu-archive-keyring.gpg -path '*keyrings*' | head -n 1)
	[ -n "$f" ] || die "no ubuntu-archive-keyring.gpg in the ubuntu-keyring source"
	cp "$f" "$UBUNTU_KEYRING"
}

# build_pg NN: download, build and install PostgreSQL NN into $CACHE/NN
build_pg() {
	local v=$1 src=$CACHE/src-$1 prefix=$CACHE/$1 tarball dir
	if [ -x "$prefix/bin/pg_config" ] && [ -f "$prefix/.clm-built" ]; then
		log "PostgreSQL $v: using $prefix ($("$prefix/bin/pg_config" --version))"
		return 0
	fi
	log "PostgreSQL $v: apt-get source --download-only postgresql-$v"
	rm -rf "$src"; mkdir -p "$src"
	(cd "$src" && apt_private source --download-only -qq "postgresql-$v" >/dev/null) ||
		die "no source package postgresql-$v in the temporary deb-src list"
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
	touch "$prefix/.clm-built"
	rm -rf "$dir"
}

write_sources
for v in "${VERSIONS[@]}"; do
	if [ "$v" = 16 ]; then ubuntu_keyring && write_sources; fi
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
