#!/usr/bin/env bash
# tools/check-headers.sh CC BUILD_DIR — every header compiles on its own.
#
# Public headers (include/strata/) are compiled alone with nothing but
# -Iinclude, as C11 with -pedantic and as C++, so a consumer can include any
# one of them first.  Private headers are compiled alone with the library's
# own include path.  Kernel-side eBPF headers (*.bpf.h) are left out: only
# clang -target bpf compiles them, with each bpf/<name>.bpf.c.
set -u
cc=${1:-cc}
build=${2:-build/release}
cflags=$(pkg-config --cflags hwloc jansson 2>/dev/null)
bad=0

for h in include/strata/*.h; do
	rel=${h#include/}
	if ! printf '#include <%s>\n#include <%s>\n' "$rel" "$rel" |
		$cc -std=c11 -Wall -Wextra -pedantic -Werror -fsyntax-only -Iinclude -x c - 2>&1; then
		echo "check-headers: $h does not compile alone as C" >&2
		bad=1
	fi
	if command -v c++ >/dev/null 2>&1 &&
		! printf '#include <%s>\n' "$rel" | c++ -Wall -Wextra -Werror -fsyntax-only -Iinclude -x c++ - 2>&1; then
		echo "check-headers: $h does not compile alone as C++" >&2
		bad=1
	fi
done
for h in $(find base core mm io trace bpf cuda -name '*.h' ! -name '*.bpf.h' 2>/dev/null | sort); do
	if ! printf '#include "%s"\n' "$h" |
		$cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I"$build" -Iinclude -I. $cflags -x c - 2>&1; then
		echo "check-headers: $h does not compile alone" >&2
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "check-headers: ok"
exit $bad
