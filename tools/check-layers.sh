#!/usr/bin/env bash
# tools/check-layers.sh [ROOT] — enforce the one-way layer rule of
# shared design.md on every #include in the tree:
#
#   tools/ examples/ bench/   only <strata/...> public headers (and their own
#                             files in the same folder; bench/ also the
#                             serving example's, examples/serve/)
#   core/                     may include any layer below
#   mm/ io/ bpf/ cuda/        leaves: base/, trace/ and themselves only
#   trace/                    base/ and itself
#   base/                     itself only
#
# "config.h" (generated) is allowed everywhere but in public headers, and
# public headers may include only other public headers.  The other generated
# headers (eBPF skeletons "*.skel.h" and "vmlinux.h", in the build folder)
# are allowed in bench/, which builds eBPF programs of its own.  An angle-bracket include that
# names a layer folder is a violation only when the tree has that file:
# <bpf/libbpf.h> is libbpf's header, not strata's bpf/.  Prints each
# violation as file:line and exits 1 when there is any.
set -u
root=${1:-.}
cd "$root" || exit 2

allowed() { # layer, included-layer
	case $1 in
	base) [[ $2 == base ]] ;;
	trace) [[ $2 == base || $2 == trace ]] ;;
	mm | io | bpf | cuda) [[ $2 == base || $2 == trace || $2 == "$1" ]] ;;
	core) [[ $2 =~ ^(base|trace|mm|io|bpf|cuda|core)$ ]] ;;
	*) false ;;
	esac
}

generated() { # included path
	[[ ${1##*/} == vmlinux.h || $1 == *.skel.h ]]
}

bad=0
violation() {
	echo "$1: $2" >&2
	bad=1
}

while IFS= read -r file; do
	layer=${file%%/*}
	while IFS=: read -r line text; do
		target=$(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/p' <<<"$text")
		[ -n "$target" ] || continue
		quoted=0
		[[ $text =~ \#[[:space:]]*include[[:space:]]*\" ]] && quoted=1
		case $layer in
		include)
			if [[ $quoted -eq 1 || $target =~ ^(base|core|mm|io|trace|bpf|cuda)/ || $target == config.h ]]; then
				violation "$file:$line" "public header includes non-public '$target'"
			fi
			;;
		tools | examples | bench)
			if [ $quoted -eq 1 ]; then
				[[ $layer == bench ]] && generated "$target" && continue
				# bench/ measures the serving example, which is itself
				# public-API-only code at the same level.
				[[ $layer == bench && $target != */* && -f examples/serve/$target ]] && continue
				[[ $target != */* && -f $(dirname "$file")/$target ]] ||
					violation "$file:$line" "$layer/ may use only public headers, not \"$target\""
			elif [[ ($target =~ ^(base|core|mm|io|trace|bpf|cuda)/ && -f $target) || $target == config.h ]]; then
				violation "$file:$line" "$layer/ may use only public headers, not <$target>"
			fi
			;;
		base | core | mm | io | trace | bpf | cuda)
			[ $quoted -eq 1 ] || continue
			[ "$target" = config.h ] && continue
			inc_layer=${target%%/*}
			[[ $target == */* ]] || { violation "$file:$line" "use a layer-qualified path, not \"$target\""; continue; }
			allowed "$layer" "$inc_layer" ||
				violation "$file:$line" "layer $layer/ may not include \"$target\" (design.md: one-way layers)"
			;;
		esac
	done < <(grep -n '#[[:space:]]*include' "$file")
done < <(find base core mm io trace bpf cuda include tools examples bench -name '*.[ch]' 2>/dev/null | sort)

if [ $bad -eq 0 ]; then echo "check-layers: ok"; fi
exit $bad
