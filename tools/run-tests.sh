#!/usr/bin/env bash
# tools/run-tests.sh BUILD_DIR TEST... — run each test in its own process
# under a timeout and print one summary line: "N passed, N failed, N skipped".
#
# cmocka binaries report per test case (TAP output); a case that cannot run
# here prints "skipped: <reason>" and is counted as skipped, never passed.
# Shell tests pass with exit 0 and skip with exit 77.  A crash, a sanitizer
# report or a timeout is a failure.  Exit status 1 when anything failed.
set -u

build=$1
shift
timeout_s=${STRATA_TEST_TIMEOUT:-300}
passed=0 failed=0 skipped=0
failed_names=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

export STRATA_BUILD=$build
export CMOCKA_MESSAGE_OUTPUT=TAP
# A test that needs the probe measures into its own folder, never ~/.cache.
export XDG_CACHE_HOME=${XDG_CACHE_HOME_FOR_TESTS:-$(mktemp -d)}

elapsed() { # start in ns -> seconds with two decimals
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

report_skips() {
	grep -h '^skipped: ' "$log" | sort -u | sed "s|^|  $1: |"
}

for t in "$@"; do
	name=${t#"$build"/tests/}
	name=${name#tests/}
	start=$(date +%s%N)
	if [[ $t == *.sh ]]; then
		timeout "$timeout_s" bash "$t" >"$log" 2>&1
		rc=$?
		dur=$(elapsed "$start")
		case $rc in
		0) passed=$((passed + 1)); echo "PASS  $name (${dur}s)" ;;
		77) skipped=$((skipped + 1)); echo "SKIP  $name"; report_skips "$name" ;;
		*) failed=$((failed + 1)); failed_names+=("$name")
		   reason=""
		   [ "$rc" -eq 124 ] && reason=", timed out after ${timeout_s}s"
		   echo "FAIL  $name (exit $rc$reason)"; sed 's/^/      /' "$log" ;;
		esac
		continue
	fi

	timeout "$timeout_s" "$t" >"$log" 2>&1
	rc=$?
	dur=$(elapsed "$start")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -n1)
	ok=$(grep -cE '^ok [0-9]+' "$log")
	skip=$(grep -cE '^(not )?ok [0-9]+ # SKIP' "$log")
	bad=$(grep -E '^not ok [0-9]+' "$log" | grep -vc '# SKIP')
	# Cases that never reported (the binary crashed or timed out) fail.
	seen=$((ok + skip + bad))
	lost=0
	if [ -n "$plan" ] && [ "$seen" -lt "$plan" ]; then lost=$((plan - seen)); fi
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && [ "$lost" -eq 0 ]; then lost=1; fi
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	failed=$((failed + bad + lost))
	if [ $((bad + lost)) -gt 0 ]; then
		failed_names+=("$name")
		reason=""
		[ "$rc" -eq 124 ] && reason=", timed out after ${timeout_s}s"
		echo "FAIL  $name: $ok passed, $((bad + lost)) failed, $skip skipped (exit $rc$reason)"
		sed 's/^/      /' "$log"
	else
		echo "PASS  $name: $ok passed, $skip skipped (${dur}s)"
		[ "$skip" -gt 0 ] && report_skips "$name"
	fi
done

echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
