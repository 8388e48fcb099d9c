#!/bin/sh
# oot_plugin.sh: the out-of-tree plugin kit works end to end.
#
# Stage an install of stadion's headers and stadion-plugin.pc, build
# docs/examples/plugin-skeleton and docs/examples/constraint-not-in against
# that stage alone (autoreconf, configure through pkg-config, make, make
# install), then start the built stadiond with the results in --plugin_dir
# and --strict_plugins on five simulated agents, check that GET /v2/plugins
# lists both, loaded from the installed files, and that an app constrained
# with the NOT_IN operator is placed as it says.
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

echo "== staging headers and stadion-plugin.pc in $stage"
run install-data "$MAKE" -C "$abs_top_builddir" install-data DESTDIR="$stage"
[ -f "$stage$pkgconfigdir/stadion-plugin.pc" ] ||
	fail "no $stage$pkgconfigdir/stadion-plugin.pc after make install-data"

# Build the example project NAME (docs/examples/NAME) out of tree and
# install its plugin into $plugins; check that it exports the entry only.
build_example() {
	# Not name: run() sets that.
	ex=$1
	so=$2
	src=$tmp/src-$ex

	echo "== copying $ex to $src"
	cp -R "$abs_top_srcdir/docs/examples/$ex" "$src"
	# Under make distcheck the source tree, and so the copy, is read-only.
	chmod -R u+w "$src"

	cd "$src"
	echo "== $ex: autoreconf -fi"
	run "autoreconf-$ex" autoreconf -fi

	# The stage's .pc comes first on the search path; its prefix is moved
	# into the stage, so that its Cflags point at the staged headers.
	echo "== $ex: configure against the stage (plugindir $plugins)"
	run "configure-$ex" env \
		PKG_CONFIG_PATH="$stage$pkgconfigdir" \
		PKG_CONFIG="pkg-config --define-variable=prefix=$stage$prefix" \
		./configure --with-plugindir="$plugins"

	echo "== $ex: make && make install"
	run "make-$ex" "$MAKE"
	run "make-install-$ex" "$MAKE" install
	cd "$tmp"

	echo "== checking the installed $so.so"
	[ -f "$plugins/$so.so" ] || fail "$plugins/$so.so not installed"
	[ ! -e "$plugins/$so.la" ] ||
		fail "$plugins/$so.la installed; install-data-hook should remove it"
	if command -v nm >/dev/null 2>&1; then
		# The kit's flags export the entry function and nothing else.
		syms=$(nm -D --defined-only "$plugins/$so.so" |
			awk '{ print $NF }' | sort | tr '\n' ' ')
		[ "$syms" = "stadion_plugin_describe " ] ||
			fail "$so.so exports \"$syms\", not only stadion_plugin_describe"
	fi
}

build_example plugin-skeleton skeleton
build_example constraint-not-in not_in

# Five simulated agents; NOT_IN keeps the app off a1 and a2.
cat >"$tmp/agents.json" <<'AGENTS'
[{"hostname": "a1", "simulated": true}, {"hostname": "a2", "simulated": true},
 {"hostname": "a3", "simulated": true}, {"hostname": "a4", "simulated": true},
 {"hostname": "a5", "simulated": true}]
AGENTS

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
	--local_agents "$tmp/agents.json" \
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
for kind, name, want in (("probe", "skeleton", sys.argv[2]),
                         ("constraint", "NOT_IN", sys.argv[3])):
    hits = [p for p in body["plugins"]
            if p.get("plugin") == kind and p.get("implementation") == name]
    if len(hits) != 1:
        sys.exit("expected one %s plugin \"%s\", found %d" % (kind, name, len(hits)))
    info = hits[0]["info"]
    if os.path.realpath(info["file"]) != os.path.realpath(want):
        sys.exit("info.file is %r, expected the installed %r" % (info["file"], want))
    if info["version"] != "1.0.0" or info["abi"] != "1.0":
        sys.exit("unexpected info %r" % info)
if body["refused"]:
    sys.exit("refused plugins: %r" % body["refused"])
' "$tmp/plugins.json" "$plugins/skeleton.so" "$plugins/not_in.so" ||
	fail "/v2/plugins is wrong"

echo "== NOT_IN: a bad list is a 422 with the plugin's message"
code=$(curl -sS -o "$tmp/bad.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' "$base/v2/apps" \
	-d '{"id": "/bad", "cmd": "sleep 1000", "constraints": [["hostname", "NOT_IN", "a1,,a2"]]}')
[ "$code" = 422 ] || fail "POST with a bad NOT_IN list: $code, not 422"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["details"]
want = [{"path": "/constraints(0)", "errors": ["NOT_IN: \"a1,,a2\" has an empty item; write values separated by single commas"]}]
if d != want:
    sys.exit("details %r" % d)
' "$tmp/bad.json" || fail "the 422 of a bad NOT_IN list is wrong"

echo "== an unknown operator: a 422 listing the operators loaded, NOT_IN too"
code=$(curl -sS -o "$tmp/unknown.json" -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' "$base/v2/apps" \
	-d '{"id": "/bad", "cmd": "sleep 1000", "constraints": [["hostname", "NOPE"]]}')
[ "$code" = 422 ] || fail "POST with an unknown operator: $code, not 422"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["details"]
want = [{"path": "/constraints(0)", "errors": ["operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE, IS or NOT_IN; no constraint plugin \"NOPE\" is loaded"]}]
if d != want:
    sys.exit("details %r" % d)
' "$tmp/unknown.json" || fail "the 422 of an unknown operator is wrong"

echo "== NOT_IN: an app of 3 avoids a1 and a2"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' "$base/v2/apps" \
	-d '{"id": "/web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 3, "constraints": [["hostname", "NOT_IN", "a1,a2"]]}')
[ "$code" = 201 ] || fail "POST /v2/apps with NOT_IN: $code, not 201"
tries=0
until curl -fsS "$base/v2/apps/web/tasks" >"$tmp/tasks.json" &&
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["tasks"]
hosts = sorted(x["host"] for x in t if x["state"] == "TASK_RUNNING")
sys.exit(0 if hosts == ["a3", "a4", "a5"] else 1)
' "$tmp/tasks.json"; do
	tries=$((tries + 1))
	[ "$tries" -lt 50 ] || fail "NOT_IN placed $(cat "$tmp/tasks.json")"
	sleep 0.2
done

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

echo "PASS: skeleton and NOT_IN built out of tree, installed, loaded, listed; NOT_IN places"
