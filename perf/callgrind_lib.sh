# SPDX-License-Identifier: BSD-3-Clause
#
# perf/callgrind_lib.sh: what perf/callgrind_tcp.sh and
# perf/callgrind_mqtt.sh share (sourced, not run): argument parsing, the
# build, two callgrind runs per case and the difference between them, and
# the per-function profile.
#
# The sourcing script defines, then calls cg_main "$@":
#   CG_NAME         its name for messages (callgrind_tcp)
#   CG_BENCH        the benchmark target (bench_tcp): run as
#                   "$CG_BENCH --callgrind N <case args>"
#   CG_TOP          default --top
#   CG_CASES        array: every case, in the default order
#   CG_TAG          file tag of kept outputs (callgrind.out.<tag>-<case>-<n>)
#   case_args C     the benchmark's extra arguments for case C
#   case_per_loop C units (segments, publishes) per loop iteration of C
#   print_header    the table's title and column names
#   print_row C     one row; may use $total (per unit, whole program) and
#                   incl FUNCTION (per unit, inclusive, 0 if never called)
#
# Each figure is (Ir(N2) - Ir(N1)) / ((N2 - N1) x units per loop), so EAL
# start-up, connection set-up and tear-down cancel out.

usage() {
    sed -n '/^# Usage:/,/^# Exit status/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

# "Ir<TAB>file:function [object]" for every function, self or inclusive.
cg_functions() {
    callgrind_annotate --threshold=100 "$@" 2>/dev/null | awk '
        /file:function/ { go = 1; next }
        go && /^ *[0-9,]+ / {
            ir = $1; gsub(",", "", ir)
            name = $0
            sub(/^ *[0-9,]+ +(\([ 0-9.]+%\) +)?/, "", name)
            sum[name] += ir
        }
        END { for (n in sum) print sum[n] "\t" n }'
}

# per-unit inclusive cost of a function in the current case
incl() {
    awk -F'\t' -v f=":$1 " -v d="$cg_d" '
        NR == FNR { if (index($2, f)) a += $1; next }
        index($2, f) { b += $1 }
        END { printf "%.1f", (b - a) / d }' \
        "$cg_tmp/$cg_case.$n1.incl" "$cg_tmp/$cg_case.$n2.incl"
}

# the top functions by self cost in the current case
cg_profile() {
    awk -F'\t' -v d="$cg_d" -v t=$((cg_t2 - cg_t1)) '
        NR == FNR { a[$2] = $1; next }
        { x = $1 - a[$2]
          if (x <= 0) next
          n = $2; obj = ""
          if (match(n, / \[.*\]$/)) {
              obj = substr(n, RSTART + 2, RLENGTH - 3)
              sub(/.*\//, "", obj)
              n = substr(n, 1, RSTART - 1)
          }
          sub(/^.*:/, "", n)
          printf "%10.1f %5.1f%%  %s (%s)\n", x / d, 100 * x / t, n, obj
        }' \
        "$cg_tmp/$cg_case.$n1.self" "$cg_tmp/$cg_case.$n2.self" |
        sort -rn | head -n "$top" | sed 's/^/    /'
}

cg_main() {
    build=build-perf
    n1=2000
    n2=12000
    top=$CG_TOP
    keep=
    local cases=() c n
    while [ $# -gt 0 ]; do
        case "$1" in
        --build|--n1|--n2|--top|--keep)
            [ $# -ge 2 ] || { echo "$CG_NAME: $1 needs a value" >&2; exit 2; }
            case "$1" in
            --build) build=$2 ;;
            --n1) n1=$2 ;;
            --n2) n2=$2 ;;
            --top) top=$2 ;;
            --keep) keep=$2 ;;
            esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *)
            for c in "${CG_CASES[@]}"; do
                [ "$1" != "$c" ] || { cases+=("$1"); shift; continue 2; }
            done
            echo "$CG_NAME: unknown argument $1" >&2; usage >&2; exit 2 ;;
        esac
    done
    for n in "$n1" "$n2" "$top"; do
        case "$n" in
        ''|*[!0-9]*) echo "$CG_NAME: --n1/--n2/--top want integers" >&2
                     exit 2 ;;
        esac
    done
    [ "$n2" -gt "$n1" ] && [ "$n1" -gt 0 ] ||
        { echo "$CG_NAME: want 0 < N1 < N2" >&2; exit 2; }
    [ ${#cases[@]} -gt 0 ] || cases=("${CG_CASES[@]}")
    command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
        { echo "$CG_NAME: needs valgrind (apt-get install valgrind)" >&2
          exit 2; }

    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" -Dbuildtype=release || exit 2
    fi
    meson compile -C "$build" "perf/$CG_BENCH" >/dev/null || exit 2
    prog="$build/perf/$CG_BENCH"

    cg_tmp=$(mktemp -d "/tmp/$CG_NAME.XXXXXX")
    trap 'rm -rf "$cg_tmp"' EXIT
    [ -z "$keep" ] || mkdir -p "$keep"

    print_header
    local failed=0 extra
    for cg_case in "${cases[@]}"; do
        read -r -a extra <<< "$(case_args "$cg_case")"
        for n in "$n1" "$n2"; do
            local out="$cg_tmp/$cg_case.$n.out"
            if ! valgrind --tool=callgrind --callgrind-out-file="$out" \
                    "$prog" --callgrind "$n" "${extra[@]}" \
                    >"$cg_tmp/$cg_case.$n.log" 2>&1; then
                echo "$CG_NAME: $cg_case with N=$n failed:" >&2
                tail -n 20 "$cg_tmp/$cg_case.$n.log" >&2
                failed=1
                continue 2
            fi
            cg_functions "$out" >"$cg_tmp/$cg_case.$n.self"
            cg_functions --inclusive=yes "$out" >"$cg_tmp/$cg_case.$n.incl"
            [ -z "$keep" ] ||
                cp "$out" "$keep/callgrind.out.$CG_TAG-$cg_case-$n"
        done
        cg_t1=$(awk '/^totals:/ { print $2 }' "$cg_tmp/$cg_case.$n1.out")
        cg_t2=$(awk '/^totals:/ { print $2 }' "$cg_tmp/$cg_case.$n2.out")
        cg_d=$(((n2 - n1) * $(case_per_loop "$cg_case")))
        total=$(echo "($cg_t2 - $cg_t1) / $cg_d" | bc -l)
        print_row "$cg_case"
        [ "$top" -eq 0 ] || cg_profile
    done
    exit $failed
}
