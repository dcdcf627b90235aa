#!/usr/bin/env bash
# tools/install-deps.sh — install the Debian packages strata needs, only the
# missing ones.  Does nothing (and says so in one line) when all are present.
#
#   tools/install-deps.sh          install what is missing (root), or explain
#   tools/install-deps.sh --print  list what is missing; install nothing
#   tools/install-deps.sh --bench  also the benchmarks' peers (jemalloc, mimalloc, OpenBLAS, PyTorch) and
#                                  what builds llama.cpp (cmake, build-essential; tools/build-llama-cpp.sh)
#
# Required packages stop the build when missing; optional ones disable a
# component (strata doctor says which).
set -euo pipefail

required=(gcc make pkg-config libhwloc-dev libjansson-dev libcmocka-dev libxxhash-dev libmicrohttpd-dev libncurses-dev libpcre2-dev python3)
# groff-base and man-db: tests/build/test_man.sh checks the man pages' roff
# with them (it says "skipped" without).
optional=(liburing-dev libbpf-dev bpftool clang valgrind prometheus groff-base man-db)
# Peers the benchmarks measure against (make bench).
bench=(libjemalloc2 libmimalloc2.0 fio liblttng-ust-dev lttng-tools libopenblas0 python3-torch
	cmake build-essential gdb)

print_only=0
for arg in "$@"; do
	case "$arg" in
	--print) print_only=1 ;;
	--bench) optional+=("${bench[@]}") ;;
	*) echo "usage: $0 [--print] [--bench]" >&2; exit 2 ;;
	esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; install these (or your distribution's equivalents):" >&2
	echo "  required: ${required[*]}" >&2
	echo "  optional: ${optional[*]}" >&2
	exit 0
fi

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing_req=()
missing_opt=()
for p in "${required[@]}"; do installed "$p" || missing_req+=("$p"); done
for p in "${optional[@]}"; do installed "$p" || missing_opt+=("$p"); done
missing=("${missing_req[@]}" "${missing_opt[@]}")

if [ ${#missing[@]} -eq 0 ]; then
	[ $print_only -eq 1 ] || echo "install-deps: all dependencies present"
	exit 0
fi
if [ $print_only -eq 1 ]; then
	printf '%s\n' "${missing[@]}"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: not root, so nothing was installed. Run:" >&2
	echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	echo "  or, as root: make deps" >&2
	# Without the required ones nothing builds; optional ones only disable
	# a component.
	[ ${#missing_req[@]} -eq 0 ] && exit 0
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
