#!/usr/bin/env bash
# tests/serve/test_http.sh — strata-serve's HTTP API on the real model:
# answers, streams, every kind of bad request, a client that leaves
# mid-stream, 100 concurrent clients against a small queue, and SIGTERM.
set -u
. "$(dirname "$0")/../serve_lib.sh"
PORT=$(free_port)
LOG=$(mktemp)
trap 'kill -9 $PID 2>/dev/null; rm -f "$LOG"' EXIT
"$BUILD/strata-serve" --model "$MODEL" --listen "127.0.0.1:$PORT" --ctx 128 --queue 4 --threads 2 2>"$LOG" &
PID=$!

python3 - "$PORT" "$PID" <<'EOF'
import http.client, json, os, signal, socket, sys, threading, time

port, pid = int(sys.argv[1]), int(sys.argv[2])
failures = []

def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what)
    if not cond:
        failures.append(what)

def request(method, path, body=None, raw=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, payload

deadline = time.time() + 60
while True:
    try:
        status, body = request("GET", "/health", timeout=2)
        if status == 200:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("strata-serve did not come up")
    time.sleep(0.1)

chat = {"messages": [{"role": "user", "content": "What is the capital of France?"}], "temperature": 0, "max_tokens": 24}

# Answers.
status, body = request("POST", "/v1/chat/completions", chat)
reply = json.loads(body)
check(status == 200 and "Paris" in reply["choices"][0]["message"]["content"], "chat answer contains Paris")
check(reply["usage"]["completion_tokens"] > 0 and reply["choices"][0]["finish_reason"] == "stop", "usage and finish_reason")
status, body = request("POST", "/v1/completions", {"prompt": "One, two, three,", "max_tokens": 5, "temperature": 0})
reply = json.loads(body)
check(status == 200 and reply["choices"][0]["finish_reason"] == "length" and reply["usage"]["completion_tokens"] == 5,
      "completion stops at max_tokens")
# The same seed gives the same sample; stop strings end the text.
sampled = {"prompt": "My favourite colour is", "max_tokens": 12, "temperature": 0.9, "top_p": 0.9, "seed": 42}
a = json.loads(request("POST", "/v1/completions", sampled)[1])["choices"][0]["text"]
b = json.loads(request("POST", "/v1/completions", sampled)[1])["choices"][0]["text"]
check(a == b, "a seed makes sampling reproducible")
r = json.loads(request("POST", "/v1/completions", {"prompt": "One, two, three,", "max_tokens": 20, "temperature": 0,
                                                   "stop": [" five"]})[1])
check(" five" not in r["choices"][0]["text"] and r["choices"][0]["finish_reason"] == "stop", "a stop string ends the text")

# A stream: events, the role first, [DONE] last, the same text as without.
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("POST", "/v1/chat/completions", body=json.dumps(dict(chat, stream=True)))
r = c.getresponse()
events = [l[6:] for l in r.read().decode().split("\n") if l.startswith("data: ")]
c.close()
check(r.status == 200 and r.getheader("Content-Type") == "text/event-stream", "stream: event-stream")
check(events[-1] == "[DONE]" and json.loads(events[0])["choices"][0]["delta"].get("role") == "assistant",
      "stream: role first, [DONE] last")
text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
check("Paris" in text, "stream: the same answer")

# Bad requests: 400 with the reason, never a crash.
bad = [
    ("/v1/chat/completions", b"{not json", "not JSON"),
    ("/v1/chat/completions", b"[1,2]", "JSON object"),
    ("/v1/chat/completions", json.dumps({"messages": []}).encode(), "non-empty"),
    ("/v1/chat/completions", json.dumps({"messages": [{"role": "robot", "content": "x"}]}).encode(), "role"),
    ("/v1/chat/completions", json.dumps({"messages": [{"role": "user"}]}).encode(), "content"),
    ("/v1/completions", json.dumps({"prompt": 12}).encode(), "prompt must be a string"),
    ("/v1/completions", json.dumps({"prompt": "hi", "temperature": 7}).encode(), "temperature"),
    ("/v1/completions", json.dumps({"prompt": "hi", "max_tokens": -1}).encode(), "max_tokens"),
    ("/v1/completions", json.dumps({"prompt": "hi", "n": 3}).encode(), "n must be 1"),
    ("/v1/completions", json.dumps({"prompt": "hi", "stop": [1]}).encode(), "stop"),
    ("/v1/completions", json.dumps({"prompt": "hi", "stream": "yes"}).encode(), "stream"),
    ("/v1/completions", json.dumps({"prompt": "word " * 400}).encode(), "context holds"),
]
for path, raw, reason in bad:
    status, body = request("POST", path, raw=raw)
    msg = json.loads(body)["error"]["message"] if status != 500 else ""
    check(status == 400 and reason in msg, f"400 for {raw[:40]!r}: {msg}")
status, _ = request("GET", "/v1/completions")
check(status == 405, "GET on a POST endpoint: 405")
status, _ = request("GET", "/nowhere")
check(status == 404, "unknown path: 404")
status, _ = request("POST", "/v1/completions", raw=b"x" * (2 << 20))
check(status == 413, "a 2 MiB body: 413")

# A client that leaves mid-stream: the server goes on serving others.
s = socket.create_connection(("127.0.0.1", port))
body = json.dumps({"prompt": "Count to a hundred:", "max_tokens": 100, "temperature": 0, "stream": True}).encode()
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
          + str(len(body)).encode() + b"\r\n\r\n" + body)
s.recv(512)
s.close()
status, body = request("POST", "/v1/chat/completions", chat)
check(status == 200 and "Paris" in body.decode(), "after a client left mid-stream, the next is served")

# 100 concurrent clients, queue of 4: each is answered or refused with 503.
results = []
lock = threading.Lock()
def client(i):
    try:
        st, b = request("POST", "/v1/completions", {"prompt": f"Number {i}:", "max_tokens": 4, "temperature": 0},
                        timeout=120)
        ok = st == 200 and json.loads(b)["usage"]["completion_tokens"] > 0 or st == 503
    except Exception as e:
        st, ok = repr(e), False
    with lock:
        results.append((st, ok))
threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
for t in threads:
    t.start()
for t in threads:
    t.join()
served = sum(1 for st, _ in results if st == 200)
refused = sum(1 for st, _ in results if st == 503)
check(len(results) == 100 and all(ok for _, ok in results), f"100 clients: {served} served, {refused} refused (503), none lost")
check(served >= 5, "the queue serves while full")

# The metrics endpoint on the same port counts what happened.
status, body = request("GET", "/metrics")
text = body.decode()
check(status == 200 and "strata_serve_rejected_total" in text and "strata_serve_generated_tokens_total" in text,
      "/metrics has the serving series")

# SIGTERM while a request runs: it is answered, then the server exits 0.
done = {}
def slow():
    done["r"] = request("POST", "/v1/completions", {"prompt": "Tell a story:", "max_tokens": 40, "temperature": 0})
t = threading.Thread(target=slow)
t.start()
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
t.join()
check(done.get("r", (0,))[0] == 200, "the request in flight at SIGTERM is answered")
sys.exit(1 if failures else 0)
EOF
rc=$?
for _ in $(seq 50); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
if kill -0 $PID 2>/dev/null; then
	echo "FAILED strata-serve still runs 5 s after SIGTERM"
	cat "$LOG"
	exit 1
fi
wait $PID
status=$?
[ $status -eq 0 ] && echo "ok     strata-serve exited 0 after SIGTERM" || { echo "FAILED exit status $status"; cat "$LOG"; rc=1; }
exit $rc
