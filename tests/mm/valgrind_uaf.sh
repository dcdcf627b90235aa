#!/usr/bin/env bash
# tests/mm/valgrind_uaf.sh — Valgrind sees pool memory as a mempool: a
# program that writes to a block after freeing it gets an "Invalid write"
# report.  The annotations are compiled into DEBUG=1 builds, so this test
# builds the library that way (build/debug) and a tiny program against it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v valgrind >/dev/null 2>&1; then
	echo "skipped: valgrind is not installed (tools/install-deps.sh installs it)"
	exit 77
fi
if [ ! -f /usr/include/valgrind/memcheck.h ]; then
	echo "skipped: valgrind headers are missing, so the annotations are not built"
	exit 77
fi
# The switches of a `make check` above (O=, SANITIZE=1) reach this make
# through MAKEFLAGS and the environment: named here outright, or build/debug/
# has no rule, or gets sanitized objects the program below does not link.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s DEBUG=1 SANITIZE=0 TSAN=0 O=build/debug \
	build/debug/libstrata.a >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/uaf.c" <<'C'
#include <stdio.h>
#include <strata/strata.h>
int main(void)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_rt *rt;
	struct strata_pool *pool;
	volatile char *p;

	if (strata_rt_create(&opts, &rt) || strata_pool_create(rt, NULL, &pool))
		return 1;
	if (strata_pool_alloc(pool, 4000, 0, 0, (void **)&p))
		return 1;
	p[100] = 1;
	strata_pool_free(pool, (void *)p);
	p[100] = 2; /* use after free */
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
	return 0;
}
C
cc -std=c11 -D_GNU_SOURCE -g -Iinclude "$tmp/uaf.c" build/debug/libstrata.a \
	$(pkg-config --libs hwloc jansson libmicrohttpd $(pkg-config --exists liburing && echo liburing) \
	$(pkg-config --exists libbpf && echo libbpf)) -ldl -lm -pthread -o "$tmp/uaf"
valgrind --error-exitcode=9 "$tmp/uaf" >"$tmp/out" 2>&1 && rc=0 || rc=$?
if [ "$rc" -ne 9 ] || ! grep -q "Invalid write of size 1" "$tmp/out"; then
	echo "FAIL: valgrind did not report the write after free (exit $rc)"
	tail -30 "$tmp/out"
	exit 1
fi
# The library never prints: nothing but Valgrind's own lines on stderr.
if grep -v '^==[0-9]*==' "$tmp/out" | grep -q .; then
	echo "FAIL: something besides Valgrind wrote to the output:"
	grep -v '^==[0-9]*==' "$tmp/out" | head
	exit 1
fi
line=$(grep -n 'use after free' "$tmp/uaf.c" | cut -d: -f1)
grep -q "uaf.c:$line" "$tmp/out" || { echo "FAIL: report does not point at the faulty line"; tail -30 "$tmp/out"; exit 1; }
echo "valgrind: use after free reported"
