#!/usr/bin/env bash
# tests/core/test_reference_target.sh — the op tests again, every kernel on
# the reference target (core/graph/target_ref.c) instead of the CPU's: a
# second target runs every op, fused as the CPU's kernels are, through the
# same interface, scheduler and memory plan, and agrees with the
# interpreter on the whole graph.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
for t in test_graph_ops test_graph_passes; do
	if ! STRATA_TEST_TARGET=reference "$build/tests/core/$t" >"${TMPDIR:-/tmp}/ref_target.$$" 2>&1; then
		cat "${TMPDIR:-/tmp}/ref_target.$$"
		rm -f "${TMPDIR:-/tmp}/ref_target.$$"
		echo "FAIL: $t on the reference target"
		exit 1
	fi
	# (TAP under tools/run-tests.sh, cmocka's own output otherwise)
	ran=$(grep -cE '^(ok [0-9]+ [^#]*$|\[       OK \])' "${TMPDIR:-/tmp}/ref_target.$$" || true)
	[ "$ran" -gt 0 ] || { echo "FAIL: $t ran no case on the reference target"; exit 1; }
	echo "ok: $t, $ran cases, passes on the reference target"
done
rm -f "${TMPDIR:-/tmp}/ref_target.$$"
