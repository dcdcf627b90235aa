#!/usr/bin/env bash
# tests/cli/test_cli.sh — the strata command as an operator uses it: help,
# version, usage errors (exit 2), info and doctor in text and JSON, on this
# machine and on the synthetic fixtures.
set -euo pipefail
cd "$(dirname "$0")/../.."
strata=${STRATA_BUILD:-build/release}/strata
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

. tests/lib.sh
json() { # file, python expression over `d` that must be true
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" ||
		fail "JSON check failed: $2"
}

# --help, --version
expect_exit 0 "$strata" --help
grep -q '^usage: strata' "$out/stdout" || fail "--help prints no usage"
grep -q 'doctor' "$out/stdout" || fail "--help does not list doctor"
expect_exit 0 "$strata" --version
want=$(sed -n 's/^#define STRATA_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' include/strata/version.h | paste -sd.)
grep -qx "strata $want" "$out/stdout" || fail "--version says '$(cat "$out/stdout")', header says $want"
expect_exit 0 "$strata" info --help
expect_exit 0 "$strata" doctor --help

# Usage errors: usage on stderr, exit 2.
expect_exit 2 "$strata"
expect_exit 2 "$strata" frobnicate
grep -q "unknown command 'frobnicate'" "$out/stderr" || fail "unknown command not named"
grep -q '^usage: strata' "$out/stderr" || fail "no usage after unknown command"
expect_exit 2 "$strata" --bogus
expect_exit 2 "$strata" info --bogus
expect_exit 2 "$strata" info extra-argument
expect_exit 2 "$strata" info --topology a.xml --synthetic 'pack:1 pu:1'
expect_exit 2 "$strata" doctor --bogus
expect_exit 2 "$strata" doctor extra

# Runtime errors: a clear message and exit 1.
expect_exit 1 "$strata" info --topology /nonexistent.xml
grep -q 'No such file or directory' "$out/stderr" || fail "missing topology file not explained"
expect_exit 1 "$strata" info --synthetic 'banana:2'
grep -q 'malformed' "$out/stderr" || fail "bad synthetic topology not explained"

# info on a four-node fixture: nodes, distances, the GPU on node 1.
expect_exit 0 "$strata" info --json --topology tests/topo/four-node-gpu.xml
json "$out/stdout" 'len(d["nodes"]) == 4 and d["cores"] == 8 and d["this_machine"] is False'
json "$out/stdout" 'd["nodes"][1]["distances"] == [12, 10, 32, 32]'
json "$out/stdout" '[x["node"] for x in d["devices"] if x["kind"] == "gpu"] == [1]'
json "$out/stdout" 'd["probe"]["nodes"] is None and "error" in d["probe"]'
expect_exit 0 "$strata" info --topology tests/topo/two-node-gpu.xml
grep -q 'gpu   cuda0' "$out/stdout" || fail "text info lists no GPU"

# info on this machine, with probe figures (measured into the test cache).
expect_exit 0 "$strata" info --json
json "$out/stdout" 'd["this_machine"] and d["cores"] >= 1 and len(d["nodes"]) >= 1 and len(d["caches"]) >= 2'
json "$out/stdout" 'all(n["triad_gbps"] > 0 and n["latency_ns"] > 0 for n in d["probe"]["nodes"])'
json "$out/stdout" 'len(d["probe"]["nodes"]) == len(d["nodes"])'
json "$out/stdout" '"hwloc" in d["build"] and d["build"]["hwloc"]'
expect_exit 0 "$strata" info
grep -q 'triad' "$out/stdout" || fail "text info shows no probe figures"
grep -q 'cached' "$out/stdout" || fail "second info did not use the cache"
expect_exit 0 "$strata" info --probe
grep -q 'measuring memory bandwidth' "$out/stderr" || fail "--probe shows no progress"

# doctor
expect_exit 0 "$strata" doctor --json
json "$out/stdout" 'd["total"] == 11 and len(d["features"]) == 11'
json "$out/stdout" 'len({f["name"] for f in d["features"]}) == 11'
json "$out/stdout" 'all(f["ok"] or f["fix"] for f in d["features"])'
expect_exit 0 "$strata" doctor
grep -q 'features available' "$out/stdout" || fail "doctor prints no summary"

# A typo in STRATA_LOG is reported, once, through the log.
STRATA_LOG=loud "$strata" info --synthetic 'pack:1 [numa] core:1 pu:1' >/dev/null 2>"$out/stderr"
grep -q 'STRATA_LOG is not one of' "$out/stderr" || fail "bad STRATA_LOG not reported"
echo "cli: ok"
