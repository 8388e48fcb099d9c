# Shared by scripts/start and scripts/check: install what the build needs
# from Debian's archive, then configure and build in ./build.
# Sourced, not run.  Every step says what it does.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"

# Build and test dependencies, by Debian package name.
STADION_DEBS="build-essential autoconf automake libtool pkg-config
	libevent-dev libssl-dev libjson-c-dev libltdl-dev liblmdb-dev
	libcunit1-dev libzookeeper-mt-dev zlib1g-dev zookeeper curl python3
	man-db"

step() {
	printf '\n==> %s\n' "$*"
}

install_deps() {
	missing=
	for pkg in $STADION_DEBS; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $pkg"
	done
	if [ -z "$missing" ]; then
		step "build dependencies already installed"
		return
	fi
	step "installing with apt-get:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "error: installing packages needs root; run as root or install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
}

# configure_build [configure flags...]: (re)configure ./build when the flags
# differ from the last run, then build.
configure_build() {
	step "generating the build system (autoreconf)"
	(cd "$top" && autoreconf -fi)
	mkdir -p "$build"
	flags="$*"
	if [ ! -f "$build/Makefile" ] || [ "$(cat "$build/.configure-flags" 2>/dev/null)" != "$flags" ]; then
		step "configuring in build/ ($flags)"
		# Objects built with other flags (sanitizers or not) do not mix.
		[ -f "$build/Makefile" ] && make -C "$build" clean >/dev/null
		(cd "$build" && "$top/configure" "$@")
		printf '%s' "$flags" > "$build/.configure-flags"
	fi
	step "building (make -j$(nproc))"
	make -C "$build" -j"$(nproc)"
}
