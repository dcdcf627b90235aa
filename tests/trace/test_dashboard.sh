#!/usr/bin/env bash
# tests/trace/test_dashboard.sh — metric names are declared once, in
# include/strata/metric_names.h: no source of the library, the CLI or
# strata-serve spells one out itself, the Grafana dashboard
# (tools/grafana/strata-dashboard.json) queries only declared names, and
# every declared name (so every dashboard query) exists in a real scrape of
# running processes: examples/observe (pools, loads, pressure) and
# strata-serve answering requests on a generated model (the scheduler,
# kernels, serving).  No name is let off.  Then `strata top --json`
# attached to strata-serve while it decodes shows the scheduler and the
# kernels at work.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
out=$(mktemp -d)
pid=
serve=
load=
trap 'kill $pid $serve $load 2>/dev/null; rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Spelled out anywhere but the table, a name drifts from it.
# (Two strings of that shape are symbols of generated code, not metrics.)
if grep -rnE '"strata_[a-z0-9_]+"' base core mm io trace bpf cuda tools/strata examples/serve |
	grep -vE '"strata_(kernel|cc_probe)"' >"$out/literal"; then
	fail "metric names spelled out instead of taken from include/strata/metric_names.h: $(cat "$out/literal")"
fi

"$build/examples/observe" 20 >"$out/pid" &
for _ in $(seq 50); do [ -s "$out/pid" ] && break; sleep 0.1; done
pid=$(cat "$out/pid")
sleep 1.5 # a few loads and allocations
"$build/strata" metrics "$pid" >"$out/scrape" || fail "strata metrics $pid failed"

"$build/strata" gen-model --config tiny-15m --format gguf -o "$out/tiny.gguf" >/dev/null 2>&1 || fail "strata gen-model"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/strata-serve" --model "$out/tiny.gguf" --listen "127.0.0.1:$port" --ctx 256 2>"$out/serve.log" &
serve=$!
# Requests, one after another, until killed: the engine decodes throughout.
python3 - "$port" >"$out/load.log" 2>&1 <<'PY' &
import http.client, json, sys, time
end = time.time() + 60
while time.time() < end:
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
        c.request("POST", "/v1/completions", body=json.dumps({"prompt": "Once upon a time", "max_tokens": 200}))
        c.getresponse().read()
        c.close()
    except OSError:
        time.sleep(0.1)
PY
load=$!
for _ in $(seq 100); do grep -q "listening" "$out/serve.log" && break; sleep 0.1; done
sleep 1
"$build/strata" metrics "$serve" >>"$out/scrape" || fail "strata metrics $serve (strata-serve) failed"
"$build/strata" top "$serve" -n 3 --json >"$out/top" || fail "strata top $serve --json failed"

python3 - "$out/scrape" "$out/top" <<'PY' || exit 1
import json, re, sys
dash = json.load(open("tools/grafana/strata-dashboard.json"))
scrape = open(sys.argv[1]).read()
present = set(re.findall(r"^(strata_[a-z0-9_]+)", scrape, re.M))
declared = set(re.findall(r'^#define STRATA_MN_[A-Z0-9_]+ "(strata_[a-z0-9_]+)"$',
                          open("include/strata/metric_names.h").read(), re.M))
if len(declared) < 40:
    print("FAIL: include/strata/metric_names.h declares only %d names" % len(declared), file=sys.stderr)
    sys.exit(1)
# A histogram's series are its name plus _bucket, _sum and _count.
present |= {re.sub(r"_(bucket|sum|count)$", "", m) for m in present}
# The io_uring figures come only from its eBPF collector: where the scrape
# says that collector is not active (no libbpf in this build, no
# privilege), its names are not asked for, and the test says so.
uring_active = re.search(r'^strata_telemetry_collector_info\{collector="io_uring",state="active"\}', scrape, re.M)
uring_names = {m for m in declared if m.startswith("strata_telemetry_uring_")}
if not uring_active:
    print("note: the io_uring collector is not active here; not asked for:", ", ".join(sorted(uring_names)))
    declared -= uring_names
unexported = sorted(declared - present)
if unexported:
    print("FAIL: declared in metric_names.h, exported by no process here:", ", ".join(unexported), file=sys.stderr)
    sys.exit(1)
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
exprs.append(dash["templating"]["list"][1]["query"])
used = set()
for e in exprs:
    used.update(re.findall(r"\b(strata_[a-z0-9_]+)", e))
base = lambda m: m if m in declared else re.sub(r"_(bucket|sum|count)$", "", m)
undeclared = sorted(m for m in used if base(m) not in declared)
if undeclared:
    print("FAIL: the dashboard queries names metric_names.h does not declare:", ", ".join(undeclared), file=sys.stderr)
    sys.exit(1)
missing = sorted(m for m in used if m not in present and re.sub(r"_(bucket|sum|count)$", "", m) not in present)
if missing:
    print("FAIL: the dashboard uses metrics no process exports:", ", ".join(missing), file=sys.stderr)
    sys.exit(1)
rows = {p["title"] for p in dash["panels"] if p["type"] == "row"}
for want in ("Memory pools", "I/O", "Pressure", "Scheduler and kernels", "Serving"):
    if want not in rows:
        print("FAIL: no dashboard row", want, file=sys.stderr)
        sys.exit(1)
print("ok: all %d dashboard metrics found in real scrapes" % len(used))
last = [json.loads(l) for l in open(sys.argv[2]) if l.strip()][-1]
sc = last["scheduler"]
for key in ("workers", "tasks_per_second", "chunks_per_second", "busy_seconds_per_second", "kernel_seconds_per_second"):
    if not sc.get(key, 0) > 0:
        print("FAIL: strata top --json on strata-serve while it decodes: scheduler.%s is %s (%s)" % (key, sc.get(key), sc),
              file=sys.stderr)
        sys.exit(1)
print("ok: strata top sees the scheduler at work: %.0f workers, %.0f tasks/s, busy %.2f s/s, kernels %.2f s/s"
      % (sc["workers"], sc["tasks_per_second"], sc["busy_seconds_per_second"], sc["kernel_seconds_per_second"]))
PY
