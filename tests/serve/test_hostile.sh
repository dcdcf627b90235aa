#!/usr/bin/env bash
# tests/serve/test_hostile.sh — inputs one client could send to slow the
# server down for everyone, each against a running strata-serve on the real
# model (tests/serve/hostile_client.py): megabyte prompts, hundreds of idle
# connections, headers and bodies sent a byte at a time, a connection past
# the limit, a client that leaves a plain request, SIGTERM during a long
# generation; then a model with a NaN weight, and a FIFO as --model.
set -u
. "$(dirname "$0")/../serve_lib.sh"
HERE=$(dirname "$0")
TMP=$(mktemp -d)
PID=
trap 'kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
rc=0

# Short deadlines, a limit of 600 connections, a one-second drain.
PORT=$(free_port)
"$BUILD/strata-serve" --model "$MODEL" --listen "127.0.0.1:$PORT" --ctx 2048 --threads 2 --queue 4 \
	--max-connections 600 --header-timeout 3 --body-timeout 3 --idle-timeout 3 --drain-timeout 1 2>"$TMP/log" &
PID=$!
wait_up "$PORT" || { echo "FAILED strata-serve did not come up"; cat "$TMP/log"; exit 1; }
python3 "$HERE/hostile_client.py" "$PORT" "$PID" || rc=1
# The drain cancelled the long generation: the process is gone by now.
if kill -0 "$PID" 2>/dev/null; then
	echo "FAILED strata-serve still runs after SIGTERM and its one-second drain"
	rc=1
else
	wait "$PID"
	st=$?
	[ $st -eq 0 ] && echo "ok     exit status 0 after the drain cancelled the generation" ||
		{ echo "FAILED exit status $st after SIGTERM"; rc=1; }
fi
grep -q "generation cancelled\|generations cancelled" "$TMP/log" && echo "ok     the log says the drain cancelled it" ||
	{ echo "FAILED the log does not say what the drain cancelled"; rc=1; }
[ $rc -eq 0 ] || cat "$TMP/log"

# A NaN in a weight: /health reports it and requests are refused naming it.
"$BUILD/strata" gen-model --config tiny-15m --dtype bf16 --format gguf -o "$TMP/tiny.gguf" >/dev/null 2>&1 ||
	{ echo "FAILED strata gen-model"; exit 1; }
python3 "$HERE/hostile_client.py" --damage "$TMP/tiny.gguf" "$TMP/nan.gguf" blk.1.ffn_up.weight || exit 1
PORT=$(free_port)
"$BUILD/strata-serve" --model "$TMP/nan.gguf" --listen "127.0.0.1:$PORT" --threads 2 2>"$TMP/log2" &
PID=$!
wait_up "$PORT" || { echo "FAILED the damaged model's server did not come up"; cat "$TMP/log2"; exit 1; }
python3 "$HERE/hostile_client.py" --damaged "$PORT" blk.1.ffn_up.weight || rc=1
kill -TERM "$PID"
wait "$PID"

# A FIFO as the model: refused at once, not a hang in open().
mkfifo "$TMP/fifo"
start=$(date +%s)
out=$(timeout 10 "$BUILD/strata-serve" --model "$TMP/fifo" --listen 127.0.0.1:0 2>&1)
st=$?
if [ $st -ne 0 ] && [ $st -ne 124 ] && grep -qi "fifo\|not a regular file" <<<"$out"; then
	echo "ok     a FIFO as --model is refused in $(($(date +%s) - start)) s: $out"
else
	echo "FAILED a FIFO as --model (exit $st): $out"
	rc=1
fi
exit $rc
