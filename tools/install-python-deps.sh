#!/usr/bin/env bash
# tools/install-python-deps.sh — the PyPI packages the tests use as real
# clients, installed once when missing: the official `openai` client
# (tests/serve/test_openai.sh).  Idempotent; quiet when all are present.
# Without PyPI it says so and returns 0: those tests then say "skipped".
#
#   tools/install-python-deps.sh
set -uo pipefail

packages=(openai)
missing=()
for p in "${packages[@]}"; do
	python3 -c "import $p" 2>/dev/null || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-python-deps: pip install ${missing[*]}"
pip=(python3 -m pip install --quiet --disable-pip-version-check --timeout 30 --retries 1)
# Debian's own python3 refuses pip outside a virtual environment (PEP 668);
# these are test clients, so they may go beside its packages.
if ! "${pip[@]}" "${missing[@]}" 2>/tmp/install-python-deps.log; then
	if grep -q externally-managed /tmp/install-python-deps.log &&
		"${pip[@]}" --break-system-packages "${missing[@]}" 2>>/tmp/install-python-deps.log; then
		exit 0
	fi
	echo "install-python-deps: could not install ${missing[*]} ($(tail -n1 /tmp/install-python-deps.log)); the tests that need them will be skipped" >&2
fi
exit 0
