#!/usr/bin/env bash
# tests/cli/test_observe.sh — the operator commands against a live process
# (examples/observe): `strata ps` lists it, `strata metrics` prints text
# promtool accepts, `strata top` draws its sections on a terminal and
# prints JSON for scripts, `strata trace` writes a trace Perfetto can load
# and prints the loss per thread; usage errors exit 2, a process that is
# gone exits 1 with a clear message.
#
# Then processes that are not strata, on real sockets (tests/cli/fake_peer.py):
# one listening on a socket named after another process is not listed and
# is refused by metrics, top and trace, naming who really listens (as root
# also in another user's folder, as in the attack: a user plants
# /run/user/UID/strata/1.sock); one that is what its socket says but sends
# terminal escapes in its metrics, event names and command name has them
# removed; one killed with SIGKILL leaves a stale socket that ps reports and
# --clean removes, without following a symlink to another.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
strata=$build/strata
out=$(mktemp -d)
pid=
bg=()
planted=()
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	for p in "${bg[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
	for f in "${planted[@]}"; do rm -rf "$f"; done
	rm -rf "$out"
}
trap cleanup EXIT
. tests/lib.sh

"$build/examples/observe" 30 >"$out/pid" &
for _ in $(seq 50); do [ -s "$out/pid" ] && break; sleep 0.1; done
pid=$(cat "$out/pid")
sleep 0.5

expect_exit 0 "$strata" ps
grep -Eq "^ *$pid +observe " "$out/stdout" || fail "strata ps does not list $pid: $(cat "$out/stdout")"

expect_exit 0 "$strata" metrics "$pid"
grep -q '^strata_pool_bytes{pool="example"' "$out/stdout" || fail "no pool series in strata metrics"
grep -q '^strata_io_read_bytes_total{engine=' "$out/stdout" || fail "no I/O series in strata metrics"
if command -v promtool >/dev/null; then
	promtool check metrics <"$out/stdout" || fail "promtool rejects strata metrics"
fi

expect_exit 0 "$strata" top "$pid" -n 2 --json
[ "$(wc -l <"$out/stdout")" -eq 2 ] || fail "top -n 2 --json printed $(wc -l <"$out/stdout") lines"
tail -n 1 "$out/stdout" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert {"pools", "io", "pressure", "scheduler", "tracer"} <= d.keys(), d.keys()
assert any(p["pool"] == "example" and p["reserved_bytes"] > 0 for p in d["pools"]), d["pools"]
assert d["io"]["read_bytes_per_second"] > 0, d["io"]
' || fail "top --json content: $(tail -n 1 "$out/stdout" | head -c 400)"
# The screen, through a pseudo-terminal.
if command -v script >/dev/null; then
	TERM=xterm script -qec "$strata top $pid -n 2" /dev/null >"$out/screen" 2>&1 || fail "top on a terminal failed"
	for section in "MEMORY POOLS" "I/O" "TELEMETRY AND PRESSURE" "SCHEDULER AND KERNELS" "TRACER"; do
		grep -q "$section" "$out/screen" || fail "top's screen has no $section section"
	done
fi

expect_exit 0 "$strata" trace "$pid" -d 1 -o "$out/trace.json"
grep -q "events written to $out/trace.json" "$out/stderr" || fail "trace did not report its file"
grep -Eq '^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$' "$out/stderr" || fail "trace printed no per-thread accounting"
python3 - "$out/trace.json" <<'PY' || fail "the trace is not loadable Chrome JSON"
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
names = {e["name"] for e in ev}
assert "example.request" in names and "io.read" in names, names
assert all(e["ph"] in "BEiCsf" for e in ev)
assert sum(e["ph"] == "B" for e in ev) >= 1 and sum(e["ph"] == "s" for e in ev) >= 1
PY

# A second reader while one is attached is refused cleanly.
"$strata" trace "$pid" -d 2 -o "$out/first.json" 2>/dev/null &
first=$!
sleep 0.5
expect_exit 1 "$strata" trace "$pid" -d 1 -o "$out/second.json"
grep -q "another reader is attached" "$out/stderr" || fail "second reader not refused clearly"
wait $first || fail "the first reader failed"

# Usage errors and gone processes.
expect_exit 2 "$strata" top
expect_exit 2 "$strata" top notapid
expect_exit 2 "$strata" trace "$pid" -d -1
expect_exit 2 "$strata" metrics
expect_exit 2 "$strata" ps extra
kill "$pid"
wait "$pid" 2>/dev/null || true
gone=$pid
pid=
expect_exit 1 "$strata" metrics "$gone"
grep -q "not running, or not using strata" "$out/stderr" || fail "gone process not explained"
expect_exit 1 "$strata" top "$gone" -n 1 --json

# ---- processes that are not what their socket says -----------------------------
if [ "$(id -u)" -eq 0 ]; then sockdir=/run/strata; else sockdir=${XDG_RUNTIME_DIR:?}/strata; fi
mkdir -p -m 700 "$sockdir"
fake=tests/cli/fake_peer.py
# start_fake NAME DIR CLAIM [evil-comm]: a fake listening on DIR/CLAIM.sock;
# sets $fake_pid once it listens.
start_fake() {
	local name=$1
	shift
	python3 "$fake" "$@" >"$out/$name.pid" &
	bg+=($!)
	for _ in $(seq 50); do [ -s "$out/$name.pid" ] && break; sleep 0.1; done
	fake_pid=$(cat "$out/$name.pid")
	[ -n "$fake_pid" ] || fail "the fake peer $name did not start"
}
no_escapes() { # FILE: no C0 but newline and tab, no DEL, no C1, valid UTF-8
	python3 - "$1" <<'PY' || fail "$1 holds control characters: $(od -c "$1" | head -5)"
import re, sys
t = open(sys.argv[1], "rb").read().decode("utf-8")
sys.exit(1 if re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", t) else 0)
PY
}

# A socket named after another process (a live one with no socket).
sleep 300 &
victim=$!
bg+=("$victim")
start_fake forged "$sockdir" "$victim"
planted+=("$sockdir/$victim.sock")
forged="socket $sockdir/$victim.sock claims pid $victim but its peer is pid $fake_pid (uid $(id -u))"
expect_exit 0 "$strata" ps
grep -Eq "^ *$victim " "$out/stdout" && fail "strata ps lists $victim, whose socket is someone else's"
grep -qF "$forged; not listed" "$out/stderr" || fail "strata ps does not name the forged socket: $(cat "$out/stderr")"
expect_exit 1 "$strata" metrics "$victim"
grep -qF "strata metrics: process $victim: $forged; refused" "$out/stderr" || fail "metrics on a forged socket: $(cat "$out/stderr")"
[ ! -s "$out/stdout" ] || fail "metrics printed what a forged socket sent"
expect_exit 1 "$strata" top "$victim" -n 1 --json
grep -qF "$forged; refused" "$out/stderr" || fail "top on a forged socket: $(cat "$out/stderr")"
expect_exit 1 "$strata" trace "$victim" -d 1 -o "$out/forged.json"
grep -qF "$forged; refused" "$out/stderr" || fail "trace on a forged socket: $(cat "$out/stderr")"

# What a process that is what its socket says supplies is printed without
# what would drive the terminal.
start_fake evil "$sockdir" self evil-comm
evil=$fake_pid
planted+=("$sockdir/$evil.sock")
expect_exit 0 "$strata" ps
grep -Eq "^ *$evil +evil +$sockdir/$evil.sock$" "$out/stdout" || fail "ps does not list $evil as 'evil': $(cat -v "$out/stdout")"
no_escapes "$out/stdout"
expect_exit 0 "$strata" metrics "$evil"
no_escapes "$out/stdout"
python3 "$fake" --expect-metrics "$out/stdout" || fail "metrics not cleaned as expected: $(cat -v "$out/stdout")"
expect_exit 0 "$strata" top "$evil" -n 1 --json
no_escapes "$out/stdout"
python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert sorted(p["pool"] for p in d["pools"]) == ["caf\u00e9", "evil"], d["pools"]
' "$out/stdout" || fail "top --json pools: $(cat -v "$out/stdout")"
expect_exit 0 "$strata" trace "$evil" -d 0.5 -o "$out/evil.json"
no_escapes "$out/evil.json"
python3 -c '
import json, sys
names = {e["name"] for e in json.load(open(sys.argv[1]))["traceEvents"]}
assert names == {"evil.name", "ok.name"}, names
' "$out/evil.json" || fail "trace names not cleaned: $(cat -v "$out/evil.json" | head -c 600)"

# A process killed with SIGKILL leaves its socket: stale, reported, and
# removed by --clean; a symlink named like a socket, to another stale
# socket, is neither listed, followed nor removed.
start_fake stale "$sockdir" self
stale=$fake_pid
planted+=("$sockdir/$stale.sock")
kill -9 "$stale"
wait "$stale" 2>/dev/null || true
mkdir -m 700 "$out/elsewhere"
start_fake target "$out/elsewhere" self
target=$fake_pid
kill -9 "$target"
wait "$target" 2>/dev/null || true
ln -s "$out/elsewhere/$target.sock" "$sockdir/$target.sock"
planted+=("$sockdir/$target.sock")
[ -S "$sockdir/$stale.sock" ] || fail "the killed process left no socket to test with"
expect_exit 0 "$strata" ps
grep -Eq "^ *($stale|$target) " "$out/stdout" && fail "ps lists a dead process: $(cat "$out/stdout")"
grep -qF "$sockdir/$stale.sock is stale: nobody listens on it" "$out/stderr" || fail "stale socket not reported: $(cat "$out/stderr")"
grep -qF "$sockdir/$target.sock" "$out/stderr" && fail "ps followed the symlink: $(cat "$out/stderr")"
expect_exit 1 "$strata" metrics "$stale"
grep -q "not running, or not using strata" "$out/stderr" || fail "metrics on a stale socket: $(cat "$out/stderr")"
expect_exit 0 "$strata" ps --clean
grep -qF "removed stale socket $sockdir/$stale.sock" "$out/stderr" || fail "--clean did not say it removed it: $(cat "$out/stderr")"
[ ! -e "$sockdir/$stale.sock" ] || fail "--clean left the stale socket"
[ -L "$sockdir/$target.sock" ] || fail "--clean removed a symlink"
[ -S "$out/elsewhere/$target.sock" ] || fail "--clean removed what a symlink points to"
expect_exit 2 "$strata" ps --clean extra

# As root: another user plants /run/user/UID/strata/1.sock (the attack).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
	uid=$((61000 + RANDOM % 4000))
	while [ -e "/run/user/$uid" ] || getent passwd "$uid" >/dev/null; do uid=$((uid + 1)); done
	planted+=("/run/user/$uid")
	mkdir -p -m 700 "/run/user/$uid/strata"
	chown -R "$uid:$uid" "/run/user/$uid"
	setpriv --reuid="$uid" --regid="$uid" --clear-groups /usr/bin/python3 - "/run/user/$uid/strata" 1 \
		<"$fake" >"$out/user.pid" &
	bg+=($!)
	for _ in $(seq 50); do [ -s "$out/user.pid" ] && break; sleep 0.1; done
	user_fake=$(cat "$out/user.pid")
	[ -n "$user_fake" ] || fail "the other user's fake did not start"
	forged="socket /run/user/$uid/strata/1.sock claims pid 1 but its peer is pid $user_fake (uid $uid)"
	expect_exit 0 "$strata" ps
	grep -Eq "^ *1 " "$out/stdout" && fail "root's strata ps lists PID 1 from a planted socket"
	grep -qF "$forged; not listed" "$out/stderr" || fail "root's ps does not name the planted socket: $(cat "$out/stderr")"
	expect_exit 1 "$strata" metrics 1
	grep -qF "strata metrics: process 1: $forged; refused" "$out/stderr" || fail "root's metrics 1: $(cat "$out/stderr")"
	grep -q evil "$out/stdout" && fail "root's metrics 1 printed the planted text"
else
	echo "note: the other user's folder was not tried (needs root, setpriv and /usr/bin/python3)"
fi
echo "ok: strata ps, metrics, top, trace; forged, stale and escaping peers"
