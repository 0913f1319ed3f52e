#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# perf/callgrind_tcp.sh: instructions per TCP segment on TCP-lite's
# established fast path, counted by valgrind (callgrind), so the figure does
# not depend on the noise of a shared machine.
#
# For each case it runs `bench_tcp --callgrind N` (one connection set up by
# a forged handshake, then N in-order data segments through pt_net_input()
# and pt_net_flush(); see perf/bench_tcp.c) twice, with N1 and N2 segments,
# and reports
#     (Ir(N2) - Ir(N1)) / (N2 - N1)
# so EAL start-up, the handshake and tear-down cancel out. The same
# difference is taken for pt_net_input and pt_net_flush inclusive (what the
# stack and the emulated driver cost without the benchmark's own loop), and
# per function (self cost) for the profile printed under each case.
#
# Cases:
#   data64      64-byte segment in, ACK out, checksums in software
#   data64-ol   the same, checksums trusted from RX_*_CKSUM_GOOD (offload)
#   data1460    1460-byte segment in, ACK out, checksums in software
#   echo64      64-byte segment in, echo application sends it back (one data
#               segment out carrying the ACK)
#   data64-b32, data64-ol-b32
#               data64 and data64-ol with one segment of each of 32
#               connections per burst (what a poll finding 32 frames
#               delivers): per-burst costs spread over 32 segments, still
#               one ACK out per segment
#
# Usage: perf/callgrind_tcp.sh [--build DIR] [--n1 N] [--n2 N] [--top K]
#                              [--keep DIR] [CASE...]
#   --build DIR   build folder (default build-perf; configured with
#                 -Dbuildtype=release when it is not yet)
#   --n1, --n2    segment counts of the two runs (default 2000 and 12000)
#   --top K       functions listed per case (default 12; 0: none)
#   --keep DIR    keep the callgrind.out files there
#   CASE...       cases to run (default: all four)
#
# Exit status: 0 when every run succeeded, 1 when a run failed, 2 on a
# usage or build error.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

usage() {
    sed -n '/^# Usage:/,/^# Exit status/p' "${BASH_SOURCE[0]}" |
        sed '$d; s/^# \{0,1\}//'
}

build=build-perf
n1=2000
n2=12000
top=12
keep=
cases=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build|--n1|--n2|--top|--keep)
        [ $# -ge 2 ] || { echo "callgrind_tcp: $1 needs a value" >&2; exit 2; }
        case "$1" in
        --build) build=$2 ;;
        --n1) n1=$2 ;;
        --n2) n2=$2 ;;
        --top) top=$2 ;;
        --keep) keep=$2 ;;
        esac
        shift 2 ;;
    -h|--help) usage; exit 0 ;;
    data64|data64-ol|data1460|echo64|data64-b32|data64-ol-b32)
        cases+=("$1"); shift ;;
    *) echo "callgrind_tcp: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
for v in "$n1" "$n2" "$top"; do
    case "$v" in
    ''|*[!0-9]*) echo "callgrind_tcp: --n1/--n2/--top want integers" >&2
                 exit 2 ;;
    esac
done
[ "$n2" -gt "$n1" ] && [ "$n1" -gt 0 ] ||
    { echo "callgrind_tcp: want 0 < N1 < N2" >&2; exit 2; }
[ ${#cases[@]} -gt 0 ] || cases=(data64 data64-ol data1460 echo64 data64-b32 data64-ol-b32)
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
    { echo "callgrind_tcp: needs valgrind (apt-get install valgrind)" >&2
      exit 2; }

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbuildtype=release || exit 2
fi
meson compile -C "$build" perf/bench_tcp >/dev/null || exit 2
prog="$build/perf/bench_tcp"

tmp=$(mktemp -d /tmp/callgrind_tcp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$keep" ]; then
    mkdir -p "$keep"
fi

case_args() {
    case "$1" in
    data64) echo "" ;;
    data64-ol) echo "--offload" ;;
    data1460) echo "--payload 1460" ;;
    echo64) echo "--echo" ;;
    data64-b32) echo "--conns 32" ;;
    data64-ol-b32) echo "--offload --conns 32" ;;
    esac
}

# segments per loop iteration: the -b32 cases put one segment of each of
# 32 connections in every burst
case_segs() {
    case "$1" in
    *-b32) echo 32 ;;
    *) echo 1 ;;
    esac
}

# "Ir<TAB>file:function [object]" for every function, self or inclusive.
functions() {
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

printf 'bench_tcp under callgrind, %s: N1=%s N2=%s segments\n' "$prog" \
    "$n1" "$n2"
printf 'instructions per segment: whole loop; pt_net_input and pt_net_flush\n'
printf 'inclusive; the emulated driver (bench_tx: frees the sent frame); the\n'
printf 'application (app_data less the pt_tcp_recved it calls); stack = input\n'
printf '+ flush - driver - application\n'
printf '%-10s %9s %10s %10s %8s %8s %8s\n' case total net_input net_flush \
    driver app stack
failed=0
for c in "${cases[@]}"; do
    read -r -a extra <<< "$(case_args "$c")"
    k=$(case_segs "$c")
    for n in "$n1" "$n2"; do
        out="$tmp/$c.$n.out"
        if ! valgrind --tool=callgrind --callgrind-out-file="$out" \
                "$prog" --callgrind "$n" "${extra[@]}" \
                >"$tmp/$c.$n.log" 2>&1; then
            echo "callgrind_tcp: $c with $n segments failed:" >&2
            tail -n 20 "$tmp/$c.$n.log" >&2
            failed=1
            continue 2
        fi
        functions "$out" >"$tmp/$c.$n.self"
        functions --inclusive=yes "$out" >"$tmp/$c.$n.incl"
        [ -z "$keep" ] || cp "$out" "$keep/callgrind.out.tcp-$c-$n"
    done
    t1=$(awk '/^totals:/ { print $2 }' "$tmp/$c.$n1.out")
    t2=$(awk '/^totals:/ { print $2 }' "$tmp/$c.$n2.out")
    # per-segment inclusive cost of a function (0 when never called)
    incl() {
        awk -F'\t' -v f=":$1 " -v d=$(((n2 - n1) * k)) '
            NR == FNR { if (index($2, f)) a += $1; next }
            index($2, f) { b += $1 }
            END { printf "%.1f", (b - a) / d }' \
            "$tmp/$c.$n1.incl" "$tmp/$c.$n2.incl"
    }
    total=$(echo "($t2 - $t1) / (($n2 - $n1) * $k)" | bc -l)
    input=$(incl pt_net_input)
    flush=$(incl pt_net_flush)
    driver=$(incl bench_tx)
    app=$(echo "$(incl app_data) - $(incl pt_tcp_recved)" | bc -l)
    [ "$c" != echo64 ] || app=0   # the echo application is the dataplane's
    stack=$(echo "$input + $flush - $driver - $app" | bc -l)
    printf '%-10s %9.1f %10.1f %10.1f %8.1f %8.1f %8.1f\n' "$c" "$total" \
        "$input" "$flush" "$driver" "$app" "$stack"
    if [ "$top" -gt 0 ]; then
        awk -F'\t' -v d=$(((n2 - n1) * k)) -v t=$((t2 - t1)) '
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
            "$tmp/$c.$n1.self" "$tmp/$c.$n2.self" |
            sort -rn | head -n "$top" | sed 's/^/    /'
    fi
done
exit $failed
