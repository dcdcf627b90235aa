#!/usr/bin/env bash
# tests/cli/test_observe.sh — the operator commands against a live process
# (examples/observe): `strata ps` lists it, `strata metrics` prints text
# promtool accepts, `strata top` draws its sections on a terminal and
# prints JSON for scripts, `strata trace` writes a trace Perfetto can load
# and prints the loss per thread; usage errors exit 2, a process that is
# gone exits 1 with a clear message.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
strata=$build/strata
out=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$out"' EXIT
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
echo "ok: strata ps, metrics, top, trace"
