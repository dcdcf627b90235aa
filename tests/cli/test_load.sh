#!/usr/bin/env bash
# tests/cli/test_load.sh — `strata load` as an operator uses it: a
# safetensors file and a GGUF file load and verify against pread through
# both engines and all direct modes; --json is valid and complete;
# --tensors, --budget; a malformed file, a FIFO, a directory, a device, a
# missing tensor and bad options fail with a clear message and the right
# exit code.
set -euo pipefail
cd "$(dirname "$0")/../.."
strata=${STRATA_BUILD:-build/release}/strata
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

. tests/lib.sh

python3 - "$out" <<'PY'
import json, os, struct, sys
d = sys.argv[1]
# safetensors: 30 F16 tensors of uneven sizes, an unpadded header.
ts, off = {}, 0
for i in range(30):
    n = (i * 7919) % 300000 + 1
    ts[f"model.layers.{i // 3}.w{i % 3}"] = {"dtype": "F16", "shape": [n], "data_offsets": [off, off + 2 * n]}
    off += 2 * n
h = json.dumps(ts).encode()
with open(f"{d}/m.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + os.urandom(off))
# GGUF v3: one Q8_0 and one F32 tensor, alignment 32.
def s(x): return struct.pack("<Q", len(x)) + x.encode()
b = b"GGUF" + struct.pack("<IQQ", 3, 2, 2)
b += s("general.architecture") + struct.pack("<I", 8) + s("llama")
b += s("general.alignment") + struct.pack("<II", 4, 32)
b += s("blk.0.attn_q.weight") + struct.pack("<IQQIQ", 2, 64, 4, 8, 0)
b += s("output_norm.weight") + struct.pack("<IQIQ", 1, 64, 0, 288)
b += b"\0" * ((32 - len(b) % 32) % 32)
b += os.urandom(272) + b"\0" * 16 + os.urandom(256)
open(f"{d}/m.gguf", "wb").write(b)
# malformed: data_offsets past the end of the file.
h = b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
open(f"{d}/bad.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * 8)
PY

# io_uring only where this build and this kernel have it (doctor says so).
engines="auto pread"
"$strata" doctor | grep -Eq '^ *ok +io_uring' && engines="auto uring pread"
for engine in $engines; do
	for direct in auto on off; do
		expect_exit 0 "$strata" load --verify --engine $engine --direct $direct "$out/m.safetensors"
		grep -q 'verified against pread' "$out/stdout" || fail "$engine/$direct: no verification line"
		[ "$(grep -c '  verified$' "$out/stdout")" -eq 30 ] || fail "$engine/$direct: not every tensor verified"
	done
done
expect_exit 0 "$strata" load --verify "$out/m.gguf"
grep -q 'blk.0.attn_q.weight  *Q8_0  *4x64 ' "$out/stdout" || fail "GGUF tensor line wrong: $(head -3 "$out/stdout")"

# JSON: every tensor, a checksum each, the figures.
expect_exit 0 "$strata" load --json --verify --chunk 64K --depth 4 "$out/m.safetensors"
python3 - "$out/stdout" <<'PY' || fail "load --json incomplete"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["tensors"]) == 30 and all(len(t["xxh3"]) == 16 and t["verified"] for t in d["tensors"])
assert d["engine"] in ("io_uring", "pread") and d["bytes"] > 0 and d["gbps"] > 0 and d["mismatches"] == 0
assert d["chunk_bytes"] == 65536 and d["queue_depth"] == 4
PY

# A subset, and a budget smaller than the model (tensors released as hashed).
expect_exit 0 "$strata" load --tensors model.layers.2.w1,model.layers.0.w0 "$out/m.safetensors"
[ "$(grep -c '^model.layers' "$out/stdout")" -eq 2 ] || fail "--tensors loaded other tensors"
expect_exit 0 "$strata" load --budget 2M --quiet "$out/m.safetensors"

# Failures: clear messages, exit 1; usage errors exit 2.
expect_exit 1 "$strata" load "$out/bad.safetensors"
grep -q 'at offset .*file ends 8 bytes before its last tensor' "$out/stderr" || fail "malformed file not explained: $(cat "$out/stderr")"
expect_exit 1 "$strata" load "$out/missing.safetensors"
grep -q 'No such file' "$out/stderr" || fail "missing file not explained"
# What is not a regular file is refused at once: a FIFO nobody writes
# (open(2) would wait for a writer forever), a directory, a device.
mkfifo "$out/fifo.gguf"
start=$(date +%s%N)
expect_exit 1 timeout 10 "$strata" load "$out/fifo.gguf"
grep -q "fifo.gguf: is a FIFO, not a regular file" "$out/stderr" || fail "FIFO not explained: $(cat "$out/stderr")"
[ $((($(date +%s%N) - start) / 1000000)) -lt 5000 ] || fail "strata load took seconds to refuse a FIFO"
mkdir "$out/dir.safetensors"
expect_exit 1 "$strata" load "$out/dir.safetensors"
grep -q "dir.safetensors: is a directory, not a regular file" "$out/stderr" || fail "directory not explained"
expect_exit 1 "$strata" load /dev/null
grep -q "/dev/null: is a character device, not a regular file" "$out/stderr" || fail "device not explained"
expect_exit 1 "$strata" load --tensors nope "$out/m.safetensors"
grep -q "no tensor named 'nope'" "$out/stderr" || fail "unknown tensor not named"
expect_exit 2 "$strata" load
expect_exit 2 "$strata" load --engine fast "$out/m.safetensors"
expect_exit 2 "$strata" load --direct maybe "$out/m.safetensors"
expect_exit 2 "$strata" load --budget lots "$out/m.safetensors"
expect_exit 0 "$strata" load --help
echo "ok: strata load"
