# tests/serve_lib.sh — what the serving example's shell tests share.
# Sourcing it sets BUILD and MODEL, and exits 77 (skipped) when the real
# model is not available.
#   free_port      print a loopback TCP port nobody listens on
#   wait_up PORT   wait (30 s at most) until /health answers, whatever its
#                  status (a damaged model's is 503); 1 if never
BUILD=${STRATA_BUILD:-build/release}
MODEL=${STRATA_TEST_MODEL:-}
if [ -z "$MODEL" ] || [ ! -r "$MODEL" ]; then
	echo "skipped: model not available (SmolLM2 from PyPI; set STRATA_TEST_MODEL)"
	exit 77
fi
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() {
	for _ in $(seq 300); do
		python3 -c "
import sys, urllib.error as e, urllib.request as u
try:
    u.urlopen('http://127.0.0.1:$1/health', timeout=1)
except e.HTTPError:
    pass
except OSError:
    sys.exit(1)" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
