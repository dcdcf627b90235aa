#!/usr/bin/env bash
# tests/trace/test_prometheus.sh — a real Prometheus server (Debian's
# prometheus package) on loopback scrapes a process using strata over
# STRATA_METRICS_ADDR, and queries through Prometheus's HTTP API return
# the process's series.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
command -v prometheus >/dev/null || { echo "skipped: prometheus is not installed (apt-get install prometheus)"; exit 77; }
out=$(mktemp -d)
app= prom=
trap '[ -n "$app" ] && kill "$app" 2>/dev/null; [ -n "$prom" ] && kill "$prom" 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$out/prom.log" ] && tail -5 "$out/prom.log" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
app_port=$(free_port)
prom_port=$(free_port)

STRATA_METRICS_ADDR=127.0.0.1:$app_port "$build/examples/observe" 60 >"$out/pid" &
app=$!
cat >"$out/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: strata
    static_configs:
      - targets: ['127.0.0.1:$app_port']
YML
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/data" \
	--web.listen-address=127.0.0.1:$prom_port >"$out/prom.log" 2>&1 &
prom=$!

query() { # PromQL -> JSON result list on stdout
	python3 - "$prom_port" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
try:
    d = json.load(urllib.request.urlopen(url, timeout=2))
except Exception:
    print("[]"); sys.exit(0)
print(json.dumps(d.get("data", {}).get("result", [])))
PY
}

ok=0
for _ in $(seq 60); do
	if [ "$(query 'up{job="strata"}')" != "[]" ] &&
		[ "$(query 'strata_pool_bytes{state="reserved",pool="example"}')" != "[]" ] &&
		[ "$(query 'sum(strata_io_read_bytes_total) > 0')" != "[]" ]; then
		ok=1
		break
	fi
	sleep 0.5
done
[ $ok -eq 1 ] || fail "Prometheus did not get the process's series within 30 s"
up=$(query 'up{job="strata"}')
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r and r[0]["value"][1]=="1", r' "$up" || fail "target not up: $up"
# A counter grows between scrapes: rate() over it is positive.
for _ in $(seq 20); do
	r=$(query 'rate(strata_example_requests_total[5s]) > 0')
	[ "$r" != "[]" ] && break
	sleep 0.5
done
[ "$r" != "[]" ] || fail "rate(strata_example_requests_total) is not positive"
echo "ok: Prometheus scraped strata and answers queries on its series"
