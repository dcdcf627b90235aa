#!/usr/bin/env bash
# tools/build-llama-cpp.sh — build llama.cpp's own llama-bench and
# llama-server (the LLM-engine peer of make bench-serve) once, and print the
# folder that holds them.
#
#   tools/build-llama-cpp.sh [--quiet] [--rebuild]
#
# The source is the llama.cpp vendored in PyPI's llama-cpp-python sdist
# (pip download --no-binary :all:, version $LLAMA_CPP_PY_VERSION), built with
# CMake (Release, GGML_NATIVE=ON, no curl/OpenSSL, no tests, examples or web
# UI) into $STRATA_PEERS/llama.cpp-<version> (default ~/.cache/strata/peers).
#
# Each build is smoke-tested on the benchmark's model (llama-bench, a few
# tokens).  Where the native build crashes (SIGSEGV/SIGILL/SIGABRT: llama.cpp's
# AMX path does on Q4_1 on Sapphire Rapids VMs) and the CPU has AMX, it is
# built again without AMX (-mno-amx-tile -mno-amx-int8 -mno-amx-bf16).
# bin/build-info.json (one line of JSON) records the flags used, whether the
# AMX build crashed and how, and the CPU it was built for; a later run on
# another CPU, or with other flags, builds again.
#
# stdout: the bin folder (llama-bench, llama-server, build-info.json).
# Exit status 1, with the reason on stderr, when it cannot be built or every
# build crashes (bin/build-info.json then says so too, and the folder is
# still printed when binaries exist, so the bench can report the crash).
set -euo pipefail
cd "$(dirname "$0")/.."

VER=${LLAMA_CPP_PY_VERSION:-0.3.36}
PEERS=${STRATA_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/peers}
DIR=$PEERS/llama.cpp-$VER
BIN=$DIR/bin
INFO=$BIN/build-info.json
JOBS=${JOBS:-$(nproc)}
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"

quiet=0
rebuild=0
for arg in "$@"; do
	case "$arg" in
	--quiet) quiet=1 ;;
	--rebuild) rebuild=1 ;;
	*) echo "usage: $0 [--quiet] [--rebuild]" >&2; exit 2 ;;
	esac
done
say() { [ $quiet -eq 1 ] || printf 'build-llama-cpp: %s\n' "$*" >&2; }
die() { printf 'build-llama-cpp: %s\n' "$*" >&2; exit 1; }

# The CPU the native build is for: its model and ISA flags.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
cpu_sig=$( (echo "$cpu_model"; grep -m1 '^flags' /proc/cpuinfo) | sha256sum | cut -c1-16)
has_amx=false
grep -qw amx_int8 /proc/cpuinfo && has_amx=true
compiler="$(${CC:-cc} --version | head -n1); $(${CXX:-c++} --version | head -n1)"

# Already built for this CPU?
if [ $rebuild -eq 0 ] && [ -x "$BIN/llama-bench" ] && [ -x "$BIN/llama-server" ] && [ -f "$INFO" ] &&
	grep -q "\"cpu_sig\":\"$cpu_sig\"" "$INFO"; then
	echo "$BIN"
	grep -q '"smoke":"ok"' "$INFO" || exit 1
	exit 0
fi

command -v cmake >/dev/null || die "cmake is missing (tools/install-deps.sh --bench installs it)"
command -v c++ >/dev/null || die "a C++ compiler is missing (build-essential; tools/install-deps.sh --bench)"
model=$(tools/fetch-model.sh --quiet) || die "the smoke-test model is not available (tools/fetch-model.sh)"

mkdir -p "$PEERS"
exec 9>"$PEERS/.llama.cpp-$VER.lock"
flock 9 # one build at a time (two benches started together wait here)

# The source: PyPI's sdist, unpacked once.
src=$DIR/src
if [ ! -f "$src/CMakeLists.txt" ]; then
	tmp=$(mktemp -d "$PEERS/.dl.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	say "fetching llama-cpp-python $VER (source, 75 MB) from PyPI"
	if ! python3 -m pip download --quiet --disable-pip-version-check --timeout 30 --retries 2 \
		--no-deps --no-binary :all: "llama-cpp-python==$VER" -d "$tmp" >"$tmp/pip.log" 2>&1; then
		die "pip download llama-cpp-python==$VER failed: $(tail -n1 "$tmp/pip.log")"
	fi
	sdist=$(ls "$tmp"/llama_cpp_python-"$VER".tar.gz 2>/dev/null) || die "no sdist of llama-cpp-python $VER on PyPI"
	tar -xzf "$sdist" --no-same-owner --no-same-permissions -C "$tmp" "llama_cpp_python-$VER/vendor/llama.cpp" ||
		die "the sdist of llama-cpp-python $VER has no vendor/llama.cpp"
	rm -rf "$src"
	mkdir -p "$DIR"
	mv "$tmp/llama_cpp_python-$VER/vendor/llama.cpp" "$src"
	rm -rf "$tmp"
	trap - EXIT
fi

# The options every build shares: Release, native, only what the bench runs.
CMAKE_OPTS=(-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF
	-DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
	-DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF
	-DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DGGML_CCACHE=OFF)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)

# build NAME EXTRA_CFLAGS CMAKE_EXTRA...: configure and build into $DIR/build-NAME.
build() {
	local name=$1 cflags=$2 out=$DIR/build-$1
	shift 2
	say "building llama.cpp ($name: -DGGML_NATIVE=ON${cflags:+ CFLAGS=$cflags}) into $out; minutes on $JOBS cores"
	rm -f "$out/CMakeCache.txt"
	CFLAGS="$cflags" CXXFLAGS="$cflags" cmake -S "$src" -B "$out" "${gen[@]}" "${CMAKE_OPTS[@]}" "$@" \
		>"$DIR/$name.configure.log" 2>&1 || die "cmake configure failed (see $DIR/$name.configure.log)"
	cmake --build "$out" -j "$JOBS" --target llama-bench llama-server >"$DIR/$name.build.log" 2>&1 ||
		die "the build failed (see $DIR/$name.build.log: $(grep -m1 -i 'error' "$DIR/$name.build.log" || tail -n1 "$DIR/$name.build.log"))"
}

# smoke NAME: a few tokens through llama-bench on the model; sets
# smoke_status ("ok" or "crashed: SIGSEGV (exit 139) ...") and smoke_where.
smoke() {
	local out=$DIR/build-$1/bin rc=0 log=$DIR/$1.smoke.log
	say "smoke test ($1): llama-bench -p 16 -n 4 on $(basename "$model")"
	# (in a subshell of its own, so that the shell's "Segmentation fault" goes to the log)
	(timeout 300 "$out/llama-bench" -m "$model" -p 16 -n 4 -r 1 -t 2 -o json; exit $?) >"$log" 2>&1 || rc=$?
	smoke_where=""
	if [ $rc -gt 128 ] && [ $rc -ne 124 ] && command -v gdb >/dev/null; then
		# Where it crashed: the innermost frame gdb names (once more, under gdb).
		timeout 300 gdb -q -batch -ex run -ex bt --args "$out/llama-bench" -m "$model" -p 16 -n 4 -r 1 -t 2 \
			>"$log.gdb" 2>&1 || true
		smoke_where=$(sed -n 's/^#[0-9]\+ \+\(0x[0-9a-f]\+ in \)\?\([A-Za-z_][A-Za-z0-9_:]*\).*/\2/p' "$log.gdb" |
			head -n1)
	fi
	if [ $rc -eq 0 ] && grep -q '"avg_ts"' "$log"; then
		smoke_status=ok
	elif [ $rc -gt 128 ] && [ $rc -ne 124 ]; then
		local sig
		sig=$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))
		smoke_status="crashed: SIG$sig (exit $rc)${smoke_where:+ in $smoke_where}"
	elif [ $rc -eq 124 ]; then
		smoke_status="hung: no result in 300 s"
	else
		smoke_status="failed: exit $rc ($(tail -n1 "$log" | tr -d '"\134'))"
	fi
	say "smoke test ($1): $smoke_status"
}

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

build native ""
smoke native
native_status=$smoke_status
used=native
cflags=""
amx_build="not built: this CPU has no AMX"
if $has_amx; then
	amx_build=$native_status
fi
if [ "$native_status" != ok ] && $has_amx; then
	say "the AMX build $native_status; building again without AMX"
	cflags=$NO_AMX
	build no-amx "$cflags" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
	smoke no-amx
	used=no-amx
fi

rm -rf "$BIN"
mkdir -p "$BIN"
cp "$DIR/build-$used/bin/llama-bench" "$DIR/build-$used/bin/llama-server" "$BIN/"
flags="-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF"
[ -n "$cflags" ] && flags="$flags CFLAGS/CXXFLAGS=$cflags"
{
	printf '{"peer":"llama.cpp","source":%s,' "$(json_str "PyPI llama-cpp-python $VER sdist, vendor/llama.cpp")"
	printf '"flags":%s,"amx_in_cpu":%s,"amx_build":%s,"amx_crashed":%s,' "$(json_str "$flags")" "$has_amx" \
		"$(json_str "$amx_build")" "$([ "$has_amx" = true ] && [ "$native_status" != ok ] && echo true || echo false)"
	printf '"smoke":%s,"compiler":%s,"cpu":%s,"cpu_sig":"%s"}\n' "$(json_str "$smoke_status")" \
		"$(json_str "$compiler")" "$(json_str "$cpu_model")" "$cpu_sig"
} >"$INFO.tmp"
mv "$INFO.tmp" "$INFO"
say "llama.cpp built: $(cat "$INFO")"
echo "$BIN"
[ "$smoke_status" = ok ] || die "llama.cpp $smoke_status (with $flags)"
