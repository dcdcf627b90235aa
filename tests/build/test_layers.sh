#!/usr/bin/env bash
# tests/build/test_layers.sh — tools/check-layers.sh passes on the tree and
# catches each kind of violation planted in a copy of it.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tools/check-layers.sh . >/dev/null || { echo "FAIL: the tree itself breaks the layer rule"; exit 1; }

plant() { # file, line to add, expected message fragment
	rm -rf "$tmp/tree"
	mkdir -p "$tmp/tree"
	cp -r base core io bpf cuda include tools "$tmp/tree/"
	echo "$2" >>"$tmp/tree/$1"
	if tools/check-layers.sh "$tmp/tree" 2>"$tmp/err" >/dev/null; then
		echo "FAIL: '$2' in $1 was not caught"
		exit 1
	fi
	grep -q "$1" "$tmp/err" || { echo "FAIL: violation report does not name $1"; cat "$tmp/err"; exit 1; }
	grep -q "$3" "$tmp/err" || { echo "FAIL: report lacks '$3'"; cat "$tmp/err"; exit 1; }
}

plant io/uring_probe.c '#include "core/core_int.h"' 'may not include'
plant io/uring_probe.c '#include "cuda/cuda_probe.h"' 'may not include'
plant base/util.c '#include "core/core_int.h"' 'may not include'
plant tools/strata/main.c '#include "core/core_int.h"' 'only public headers'
plant tools/strata/main.c '#include <base/base.h>' 'only public headers'
plant tools/strata/main.c '#include <bpf/collectors.h>' 'only public headers'
plant tools/strata/main.c '#include "bpf/uring.skel.h"' 'only public headers'
plant include/strata/rt.h '#include "base/base.h"' 'non-public'
plant core/rt.c '#include "uring_probe.h"' 'layer-qualified'
echo "layers: ok"
