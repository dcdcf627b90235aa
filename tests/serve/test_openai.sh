#!/usr/bin/env bash
# tests/serve/test_openai.sh — strata-serve through the official `openai`
# Python client on the real model: /v1/models, max_completion_tokens,
# stream_options.include_usage, content parts, the developer role,
# logprobs, penalties, echo, refused fields and OpenAI's error objects
# (tests/serve/openai_client.py); then a second server started with
# --accept-any-model.
set -u
. "$(dirname "$0")/../serve_lib.sh"
if ! python3 -c 'import openai' 2>/dev/null; then
	echo "skipped: the openai Python package is not installed: run tools/install-python-deps.sh (make check does; it needs PyPI)"
	exit 77
fi
LOG=$(mktemp)
PIDS=()
trap 'kill -9 "${PIDS[@]}" 2>/dev/null; rm -f "$LOG"' EXIT

start() { # PORT ARGS...: start strata-serve, wait for /health
	local port=$1
	shift
	"$BUILD/strata-serve" --model "$MODEL" --listen "127.0.0.1:$port" --ctx 512 --threads 2 "$@" 2>>"$LOG" &
	PIDS+=($!)
	wait_up "$port" && return 0
	echo "FAILED strata-serve did not come up"
	cat "$LOG"
	exit 1
}

PORT=$(free_port)
start "$PORT" --served-model-name smollm2
python3 "$(dirname "$0")/openai_client.py" "$PORT" smollm2
rc=$?

PORT2=$(free_port)
start "$PORT2" --accept-any-model
python3 - "$PORT2" <<'EOF' || rc=1
import sys, openai
client = openai.OpenAI(base_url=f"http://127.0.0.1:{sys.argv[1]}/v1", api_key="none")
r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], max_completion_tokens=3)
ok = r.usage.completion_tokens >= 1 and r.model.endswith(".gguf")
print(("ok     " if ok else "FAILED ") + "--accept-any-model serves a request naming another model, and says which it used")
sys.exit(0 if ok else 1)
EOF
[ $rc -eq 0 ] || cat "$LOG"
exit $rc
