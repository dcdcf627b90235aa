# tests/lib.sh — what the shell tests share; source it after setting $out
# (a scratch folder).
#   fail MESSAGE             print FAIL: MESSAGE and exit 1
#   expect_exit CODE CMD...  run CMD, stdout and stderr into $out/stdout and
#                            $out/stderr, and fail unless it exits with CODE
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$out/stdout" 2>"$out/stderr" || rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want (stderr: $(head -c 300 "$out/stderr"))"
}
