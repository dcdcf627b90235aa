#!/usr/bin/env bash
# tests/build/test_exports.sh — libstrata.so exports exactly the public API:
# every exported symbol is strata_*, carries the STRATA_0.1 version node and
# is declared in a public header; the soname is libstrata.so.<major>.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
lib=$(ls "$build"/libstrata.so.*.*.* | head -n1)

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
major=$(sed -n 's/^#define STRATA_VERSION_MAJOR \([0-9]*\)$/\1/p' include/strata/version.h)
[ "$soname" = "libstrata.so.$major" ] || { echo "FAIL: soname '$soname'"; exit 1; }

exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}')
[ -n "$exports" ] || { echo "FAIL: nothing exported"; exit 1; }
bad=$(grep -v '^strata_.*@@STRATA_0\.1$' <<<"$exports" || true)
[ -z "$bad" ] || { echo "FAIL: exported outside the API or its version node:"; echo "$bad"; exit 1; }
for sym in $(sed 's/@@.*//' <<<"$exports"); do
	grep -qw "$sym" include/strata/*.h || { echo "FAIL: $sym exported but not in a public header"; exit 1; }
done
# And the other way round: every function the headers declare is exported.
for sym in $(grep -ho 'STRATA_API [^(]*(' include/strata/*.h | grep -o 'strata_[a-z0-9_]*($' | tr -d '('); do
	grep -q "^$sym@@" <<<"$exports" || { echo "FAIL: $sym declared but not exported"; exit 1; }
done
echo "exports: $(wc -l <<<"$exports") symbols, all strata_* @STRATA_0.1"
