#!/usr/bin/env bash
# tests/core/test_telemetry_pidns.sh — the telemetry tests again, inside a
# new PID namespace (as in a container): the collectors that filter on this
# process must compare in its own namespace, and the run-queue collector,
# which would need host thread ids, must fall back to schedstat.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
[ "$(id -u)" -eq 0 ] || { echo "skipped: a PID namespace is made as root"; exit 77; }
command -v unshare >/dev/null || { echo "skipped: unshare (util-linux) is not installed"; exit 77; }
rc=0
# The block collectors count per device, not per process: the namespace
# changes nothing for them, and they ran in test_telemetry already.
out=$(STRATA_TEST_SKIP='block_*' unshare --pid --fork --mount-proc "$build/tests/core/test_telemetry" 2>&1) || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "FAIL: the telemetry tests fail inside a PID namespace (exit $rc):" >&2
	echo "$out" >&2
	exit 1
fi
echo "$out" | grep -q "source procfs" || { echo "FAIL: the run-queue figures did not fall back to procfs" >&2; exit 1; }
echo "ok: telemetry inside a PID namespace"
