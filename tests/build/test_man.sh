#!/usr/bin/env bash
# tests/build/test_man.sh — the manual pages.
#
# Every symbol strata.map exports has a section-3 page in the build folder,
# and no page names anything else; those pages are what tools/gen-man3.py
# makes of today's headers (not a stale build).  strata.1 describes every
# command `strata --help` lists, and strata-serve.1 every option
# `strata-serve --help` lists.  Every page is valid roff: groff -man -ww
# prints no warning (skipped, saying so, where groff is not installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${STRATA_BUILD:-build/release}
man3=$build/man/man3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

[ -d "$man3" ] || { echo "FAIL: no $man3 ('make all' generates it)"; exit 1; }
sed -n '/global:/,/local:/s/^[[:space:]]*\([a-z_][a-z0-9_]*\);.*/\1/p' strata.map | LC_ALL=C sort >"$tmp/symbols"
[ -s "$tmp/symbols" ] || { echo "FAIL: strata.map lists no symbols"; exit 1; }
(cd "$man3" && ls -- *.3 2>/dev/null | sed 's/\.3$//' | LC_ALL=C sort) >"$tmp/pages"
missing=$(LC_ALL=C comm -23 "$tmp/symbols" "$tmp/pages")
extra=$(LC_ALL=C comm -13 "$tmp/symbols" "$tmp/pages")
[ -z "$missing" ] || { echo "FAIL: exported without a man page:" $missing; fail=1; }
[ -z "$extra" ] || { echo "FAIL: a man page for what is not exported:" $extra; fail=1; }

# Each page names its function and says what it does.
for s in $(cat "$tmp/symbols"); do
	f=$man3/$s.3
	[ -f "$f" ] || continue
	grep -q "^\.TH $s 3 " "$f" || { echo "FAIL: $f: no .TH line for $s"; fail=1; }
	grep -q "^$s \\\\- ..*" "$f" || { echo "FAIL: $f: no NAME line ('$s \\- summary')"; fail=1; }
	grep -q "^#include <strata/\|^\.B #include <strata/" "$f" || { echo "FAIL: $f: no #include in SYNOPSIS"; fail=1; }
done

# Not stale: what the generator makes of the headers now.
version=$(for f in MAJOR MINOR PATCH; do
	sed -n "s/^#define STRATA_VERSION_$f \([0-9]*\).*/\1/p" include/strata/version.h
done | paste -sd.)
python3 tools/gen-man3.py --version "$version" -o "$tmp/fresh" include/strata/*.h
if ! diff -r -x .stamp "$tmp/fresh" "$man3" >"$tmp/diff"; then
	echo "FAIL: $man3 differs from what tools/gen-man3.py makes of include/strata/*.h:"
	head -n 20 "$tmp/diff"
	fail=1
fi

# Section 1 keeps up with the usage texts.
if [ -x "$build/strata" ]; then
	for c in $("$build/strata" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
		grep -q "^\.SS \"strata $(sed 's/-/\\\\-/g' <<<"$c")[ \"]" man/strata.1 ||
			{ echo "FAIL: man/strata.1 does not describe 'strata $c'"; fail=1; }
	done
fi
if [ -x "$build/strata-serve" ]; then
	for o in $("$build/strata-serve" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -q -- "^\.BI\? $(sed 's/-/\\\\-/g' <<<"$o")\b" man/strata-serve.1 ||
			{ echo "FAIL: man/strata-serve.1 does not describe $o"; fail=1; }
	done
fi

if ! command -v groff >/dev/null 2>&1; then
	[ $fail -eq 0 ] || exit 1
	echo "skipped: groff is not installed (apt-get install groff-base), so the pages' roff was not checked"
	exit 77
fi
n=0
for f in man/*.1 "$man3"/*.3; do
	if ! out=$(groff -man -Tutf8 -ww -z "$f" 2>&1) || [ -n "$out" ]; then
		echo "FAIL: $f is not clean roff:"
		sed 's/^/      /' <<<"$out"
		fail=1
	fi
	n=$((n + 1))
done
[ $fail -eq 0 ] || exit 1
echo "man: $(wc -l <"$tmp/symbols") section-3 pages, one per exported symbol; $n pages clean under groff -ww"
