#!/usr/bin/env bash
# tools/bench-trace.sh BENCH — run bench_trace, then its LTTng-UST baseline
# (bench_trace --lttng) with a session recording the tracepoint in discard
# mode (the default for user-space channels), when lttng-tools is installed
# and we are root; without them the LTTng line says "skipped".
set -u
bench=$1
"$bench" || exit $?
session=strata-bench-$$
started=0
if command -v lttng >/dev/null && command -v lttng-sessiond >/dev/null && [ "$(id -u)" -eq 0 ]; then
	if ! pgrep -x lttng-sessiond >/dev/null; then
		lttng-sessiond --daemonize >/dev/null 2>&1 && started=1
		sleep 0.5
	fi
	out=$(mktemp -d)
	if lttng create "$session" --output="$out" >/dev/null 2>&1 &&
		lttng enable-event -u 'strata_bench:ev' -s "$session" >/dev/null 2>&1 &&
		lttng start "$session" >/dev/null 2>&1; then
		LTTNG_UST_REGISTER_TIMEOUT=2000 "$bench" --lttng
		rc=$?
		lttng destroy "$session" >/dev/null 2>&1
	else
		"$bench" --lttng
		rc=$?
	fi
	rm -rf "$out"
	[ $started -eq 1 ] && pkill -x lttng-sessiond
	exit $rc
fi
"$bench" --lttng
