#!/bin/sh
# oot_plugin.sh: the out-of-tree plugin kit works end to end.
#
# Stage an install of stadion's headers and stadion-plugin.pc, build
# docs/examples/plugin-skeleton against that stage alone (autoreconf,
# configure through pkg-config, make, make install), then start the built
# stadiond with the result in --plugin_dir and --strict_plugins, and check
# that GET /v2/plugins lists it, loaded from the installed file.
#
# Environment (set by tests/Makefile.inc): MAKE, abs_top_builddir,
# abs_top_srcdir, prefix, pkgconfigdir (expanded), STADIOND.
# Exit: 0 pass, 1 fail, 77 skip (a tool the kit needs is missing).

set -eu

: "${MAKE:?}" "${abs_top_builddir:?}" "${abs_top_srcdir:?}" "${prefix:?}"
: "${pkgconfigdir:?}" "${STADIOND:?}"

for tool in autoreconf libtoolize pkg-config python3 curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oot_plugin.XXXXXX")
daemon_pid=

# On any exit: stop a daemon still running, show its log when failing, and
# turn every failure status into 1 (set -e exits with the failed command's).
cleanup() {
	rc=$?
	trap - EXIT HUP INT TERM
	if [ -n "$daemon_pid" ]; then
		kill -KILL "$daemon_pid" 2>/dev/null || :
		wait "$daemon_pid" 2>/dev/null || :
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		if [ -s "$tmp/stadiond.log" ]; then
			echo "--- stadiond log ($tmp/stadiond.log) ---"
			cat "$tmp/stadiond.log"
			echo "--- end of stadiond log ---"
		fi
		echo "FAIL (status $rc)"
		rc=1
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

# Run a noisy build step with its output in $tmp/NAME.log, shown only when
# the step fails.
run() {
	name=$1
	shift
	if ! "$@" >"$tmp/$name.log" 2>&1; then
		cat "$tmp/$name.log"
		fail "$name: $*"
	fi
}

stage=$tmp/stage
plugins=$tmp/plugins
src=$tmp/src

echo "== staging headers and stadion-plugin.pc in $stage"
run install-data "$MAKE" -C "$abs_top_builddir" install-data DESTDIR="$stage"
[ -f "$stage$pkgconfigdir/stadion-plugin.pc" ] ||
	fail "no $stage$pkgconfigdir/stadion-plugin.pc after make install-data"

echo "== copying the skeleton to $src"
cp -R "$abs_top_srcdir/docs/examples/plugin-skeleton" "$src"
# Under make distcheck the source tree, and so the copy, is read-only.
chmod -R u+w "$src"

cd "$src"
echo "== autoreconf -fi"
run autoreconf autoreconf -fi

# The stage's .pc comes first on the search path; its prefix is moved into
# the stage, so that its Cflags point at the staged headers.
echo "== configure against the stage (plugindir $plugins)"
run configure env \
	PKG_CONFIG_PATH="$stage$pkgconfigdir" \
	PKG_CONFIG="pkg-config --define-variable=prefix=$stage$prefix" \
	./configure --with-plugindir="$plugins"

echo "== make && make install"
run make "$MAKE"
run make-install "$MAKE" install
cd "$tmp"

echo "== checking the installed plugin"
[ -f "$plugins/skeleton.so" ] || fail "$plugins/skeleton.so not installed"
[ ! -e "$plugins/skeleton.la" ] ||
	fail "$plugins/skeleton.la installed; install-data-hook should remove it"
if command -v nm >/dev/null 2>&1; then
	# The kit's flags export the entry function and nothing else.
	syms=$(nm -D --defined-only "$plugins/skeleton.so" |
		awk '{ print $NF }' | sort | tr '\n' ' ')
	[ "$syms" = "stadion_plugin_describe " ] ||
		fail "skeleton.so exports \"$syms\", not only stadion_plugin_describe"
fi

port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
base=http://127.0.0.1:$port

echo "== starting $STADIOND on 127.0.0.1:$port"
mkdir -p "$tmp/data"
"$STADIOND" --http_address 127.0.0.1 --http_port "$port" \
	--data_dir "$tmp/data" --system_plugin_dir "$BUNDLED_PLUGINS" \
	--plugin_dir "$plugins" --strict_plugins \
	>"$tmp/stadiond.log" 2>&1 &
daemon_pid=$!

echo "== waiting for $base/ping"
tries=0
until curl -fsS "$base/ping" >/dev/null 2>&1; do
	kill -0 "$daemon_pid" 2>/dev/null || fail "stadiond exited during startup"
	tries=$((tries + 1))
	[ "$tries" -lt 50 ] || fail "no answer on $base/ping after 10 s"
	sleep 0.2
done

echo "== GET /v2/plugins"
curl -fsS "$base/v2/plugins" >"$tmp/plugins.json" ||
	fail "GET /v2/plugins failed"
cat "$tmp/plugins.json"
echo
python3 -c '
import json, os, sys
body = json.load(open(sys.argv[1]))
want = sys.argv[2]
hits = [p for p in body["plugins"]
        if p.get("plugin") == "probe" and p.get("implementation") == "skeleton"]
if len(hits) != 1:
    sys.exit("expected one probe plugin \"skeleton\", found %d" % len(hits))
info = hits[0]["info"]
if os.path.realpath(info["file"]) != os.path.realpath(want):
    sys.exit("info.file is %r, expected the installed %r" % (info["file"], want))
if info["version"] != "1.0.0" or info["abi"] != "1.0":
    sys.exit("unexpected info %r" % info)
if body["refused"]:
    sys.exit("refused plugins: %r" % body["refused"])
' "$tmp/plugins.json" "$plugins/skeleton.so" || fail "/v2/plugins is wrong"

echo "== stopping stadiond with SIGTERM"
kill -TERM "$daemon_pid"
# A daemon that does not stop would hang the test suite: a watchdog kills
# it after 10 s.  The watchdog's own TERM trap stops its sleep, so that
# nothing is left behind when the daemon stops in time.
(
	sleep 10 &
	sleeper=$!
	trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
	wait "$sleeper"
	kill -KILL "$daemon_pid" 2>/dev/null
) &
watchdog=$!
status=0
wait "$daemon_pid" || status=$?
daemon_pid=
kill -TERM "$watchdog" 2>/dev/null || :
wait "$watchdog" 2>/dev/null || :
[ "$status" -ne 137 ] || fail "stadiond did not stop within 10 s of SIGTERM"
[ "$status" -eq 0 ] || fail "stadiond exited with status $status after SIGTERM"

echo "PASS: skeleton built out of tree, installed, loaded and listed"
