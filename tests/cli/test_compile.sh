#!/usr/bin/env bash
# tests/cli/test_compile.sh — `strata compile` on the example graphs: it
# runs them against the reference, its dump reads back as a graph, and bad
# input gets a message naming the line, with exit 1 (usage errors exit 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
strata=${STRATA_BUILD:-build/release}/strata
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
. tests/lib.sh
export XDG_CACHE_HOME=$out/cache

for g in examples/graphs/*.graph; do
	expect_exit 0 "$strata" compile --run 5 "$g"
	grep -q "differ from the reference by at most" "$out/stdout" || fail "$g: no comparison printed"
	grep -q "in [0-9]* kernels" "$out/stdout" || fail "$g: no kernel count"
	grep -q "kernels move ~[0-9]* bytes at max_seq and bring in ~[0-9]*" "$out/stdout" || fail "$g: no traffic estimate"
	# Unfused, and on the interpreter: the same answers.
	expect_exit 0 "$strata" compile --no-fusion --run 3 "$g"
	expect_exit 0 "$strata" compile --interpret --run 3 "$g"
	grep -q "STRATA_COMPILE_INTERPRET" "$out/stdout" || fail "$g: --interpret does not say so"
done

# The dump: every section, and its first section compiles again.
expect_exit 0 "$strata" compile --dump examples/graphs/attention.graph
for section in "# graph as built" "# after constant folding" "# after common-subexpression elimination" \
	"# after dead-code elimination" "# kernels:" "## kernel 0 source" "# memory plan"; do
	grep -q "^$section" "$out/stdout" || fail "dump lacks '$section'"
done
sed -n '/^# graph as built/,/^$/p' "$out/stdout" >"$out/again.graph"
expect_exit 0 "$strata" compile --run 4 "$out/again.graph"

# The same graph from standard input; the second compile finds its kernels cached.
expect_exit 0 "$strata" compile - <examples/graphs/mlp.graph
grep -q "0 compiled, [1-9][0-9]* from the cache" "$out/stdout" || fail "second compile did not hit the cache: $(cat "$out/stdout")"

# Bad input: the file, the line and what is wrong.
printf 'max_seq 8\n%%x = input "x" f32 [seq, 4]\n%%y = frobnicate %%x\noutput %%y\n' >"$out/bad.graph"
expect_exit 1 "$strata" compile "$out/bad.graph"
grep -q 'bad.graph: line 3: "frobnicate" is not an op' "$out/stderr" || fail "unknown op: $(cat "$out/stderr")"
printf '%%x = input "x" f32 [seq, 4]\n%%w = weight "w" f32 [5, 3]\n%%y = matmul %%x %%w\noutput %%y\n' >"$out/shape.graph"
expect_exit 1 "$strata" compile "$out/shape.graph"
grep -q 'line 3: matmul: .*inner dimensions' "$out/stderr" || fail "shape error: $(cat "$out/stderr")"
printf '%%x = input "x" f32 [seq, 4]\noutput %%z\n' >"$out/undef.graph"
expect_exit 1 "$strata" compile "$out/undef.graph"
grep -q 'line 2: %z is not defined above' "$out/stderr" || fail "undefined node: $(cat "$out/stderr")"
printf '%%x = input "x" f32 [seq, 4]\n' >"$out/noout.graph"
expect_exit 1 "$strata" compile "$out/noout.graph"
grep -q 'no node is marked as an output' "$out/stderr" || fail "no outputs: $(cat "$out/stderr")"
expect_exit 1 "$strata" compile "$out/missing.graph"
grep -q 'missing.graph: No such file' "$out/stderr" || fail "missing file: $(cat "$out/stderr")"

# Usage errors.
expect_exit 2 "$strata" compile
expect_exit 2 "$strata" compile --run 0 examples/graphs/mlp.graph
expect_exit 2 "$strata" compile --frobnicate examples/graphs/mlp.graph
expect_exit 0 "$strata" compile --help
echo "ok: strata compile"
