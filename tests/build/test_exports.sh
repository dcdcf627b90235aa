#!/usr/bin/env bash
# tests/build/test_exports.sh — libstrata.so exports exactly the public API.
#
# strata.map lists its symbols one by one, sorted, and that list is the set
# of STRATA_API declarations in include/strata/*.h (tools/gen-man3.py reads
# them): a function added to a header and not to the map, or left in the
# map after leaving the headers, fails here.  The library then exports that
# list and nothing else, every symbol in the STRATA_0.1 version node, and
# its soname is libstrata.so.<major>.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
lib=$(ls "$build"/libstrata.so.*.*.* | head -n1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The map's list: the lines between "global:" and "local:", comments aside.
sed -n '/global:/,/local:/p' strata.map | sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*$/\1/p' >"$tmp/map"
[ -s "$tmp/map" ] || { echo "FAIL: strata.map lists no symbols"; exit 1; }
grep -q '\*' <(sed -n '/global:/,/local:/p' strata.map | sed 's|/\*.*\*/||') &&
	{ echo "FAIL: strata.map exports a pattern; list the symbols"; exit 1; }
LC_ALL=C sort -c "$tmp/map" 2>/dev/null || { echo "FAIL: strata.map's list is not sorted (LC_ALL=C)"; exit 1; }
dups=$(uniq -d "$tmp/map")
[ -z "$dups" ] || { echo "FAIL: listed twice in strata.map: $dups"; exit 1; }

python3 tools/gen-man3.py --list include/strata/*.h >"$tmp/api"
if ! diff -u "$tmp/api" "$tmp/map" >"$tmp/diff"; then
	echo "FAIL: strata.map and the STRATA_API declarations of include/strata/*.h differ"
	echo "      (- declared, not in the map; + in the map, not declared):"
	sed -n 's/^\([-+]\)\([a-z]\)/      \1\2/p' "$tmp/diff"
	exit 1
fi

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
major=$(sed -n 's/^#define STRATA_VERSION_MAJOR \([0-9]*\)$/\1/p' include/strata/version.h)
[ "$soname" = "libstrata.so.$major" ] || { echo "FAIL: soname '$soname'"; exit 1; }

exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}')
[ -n "$exports" ] || { echo "FAIL: nothing exported"; exit 1; }
bad=$(grep -v '^strata_.*@@STRATA_0\.1$' <<<"$exports" || true)
[ -z "$bad" ] || { echo "FAIL: exported outside the API or its version node:"; echo "$bad"; exit 1; }
sed 's/@@.*//' <<<"$exports" | LC_ALL=C sort >"$tmp/so"
if ! diff -u "$tmp/map" "$tmp/so" >"$tmp/diff"; then
	echo "FAIL: $lib does not export what strata.map lists (- listed, not exported; + exported, not listed):"
	sed -n 's/^\([-+]\)\([a-z]\)/      \1\2/p' "$tmp/diff"
	exit 1
fi
echo "exports: $(wc -l <"$tmp/map") symbols, as strata.map lists and the headers declare, all @STRATA_0.1"
