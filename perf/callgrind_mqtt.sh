#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# perf/callgrind_mqtt.sh: instructions per PUBLISH delivered by the broker
# to one local subscriber, counted by valgrind (callgrind), so the figure
# does not depend on the noise of a shared machine.
#
# For each case it runs `bench_mqtt --callgrind N` (one dataplane core
# wired in-process: net, TCP-lite, broker and its control half; publisher
# and subscriber connected and subscribed by forged frames; then N poll
# loops, each one PUBLISH per publisher through pt_net_input(),
# pt_mqtt_core_poll() and pt_net_flush(); see perf/bench_mqtt.c) twice,
# with N1 and N2 loops, and reports
#     (Ir(N2) - Ir(N1)) / ((N2 - N1) * publishes per loop)
# so EAL start-up, connecting, subscribing and tear-down cancel out. The
# same difference is taken for the functions the loop calls (inclusive)
# and per function (self cost) for the profile printed under each case.
#
# Every figure includes the subscriber's batched acknowledgement (one
# segment per 16 deliveries, per 32 in the -b32 cases; at QoS 1 it
# carries a PUBACK per delivery) and, at QoS 1, the publisher's ACK of
# its PUBACK riding on its next PUBLISH.
#
# Cases:
#   qos0        QoS 0 PUBLISH, 64-byte payload, topic bench/t, subscribed
#               QoS 0; one per poll loop; checksums verified in software
#   qos0-ol     the same, checksums trusted from RX_*_CKSUM_GOOD (offload)
#   qos0-b32    32 publisher connections, one PUBLISH each per
#               pt_net_input() call (a poll that finds 32 frames)
#   qos1        QoS 1 published and subscribed: PUBACK to the publisher,
#               PUBLISH with a packet id to the subscriber, its PUBACK back
#   qos1-b32    qos1 with 32 publishers per burst
#
# Columns (instructions per PUBLISH):
#   total       the whole loop
#   input, poll, flush
#               pt_net_input, pt_mqtt_core_poll, pt_net_flush inclusive
#   driver      the emulated driver (bench_tx: notes each frame's sequence
#               numbers, frees it)
#   prep        the benchmark re-arming its frames (prep_publish, prep_ack:
#               RFC 1624 checksum patches)
#   dataplane   input + poll + flush - driver: what the core spends, the
#               figure to hold against the goal
#   mqtt        of which the MQTT connection actor's data callback
#               (conn_data: framing, parse, message build, route and trie
#               match, delivery, and the pt_tcp_send/pt_tcp_recved calls it
#               makes)
#
# Usage: perf/callgrind_mqtt.sh [--build DIR] [--n1 N] [--n2 N] [--top K]
#                               [--keep DIR] [CASE...]
#   --build DIR   build folder (default build-perf; configured with
#                 -Dbuildtype=release when it is not yet)
#   --n1, --n2    poll loops of the two runs (default 2000 and 12000)
#   --top K       functions listed per case (default 15; 0: none)
#   --keep DIR    keep the callgrind.out files there
#   CASE...       cases to run (default: all five)
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

build="build-perf"
n1=2000
n2=12000
top=15
keep=
cases=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build|--n1|--n2|--top|--keep)
        [ $# -ge 2 ] || { echo "callgrind_mqtt: $1 needs a value" >&2; exit 2; }
        case "$1" in
        --build) build=$2 ;;
        --n1) n1=$2 ;;
        --n2) n2=$2 ;;
        --top) top=$2 ;;
        --keep) keep=$2 ;;
        esac
        shift 2 ;;
    -h|--help) usage; exit 0 ;;
    qos0|qos0-ol|qos0-b32|qos1|qos1-b32)
        cases+=("$1"); shift ;;
    *) echo "callgrind_mqtt: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
for v in "$n1" "$n2" "$top"; do
    case "$v" in
    ''|*[!0-9]*) echo "callgrind_mqtt: --n1/--n2/--top want integers" >&2
                 exit 2 ;;
    esac
done
[ "$n2" -gt "$n1" ] && [ "$n1" -gt 0 ] ||
    { echo "callgrind_mqtt: want 0 < N1 < N2" >&2; exit 2; }
[ ${#cases[@]} -gt 0 ] || cases=(qos0 qos0-ol qos0-b32 qos1 qos1-b32)
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
    { echo "callgrind_mqtt: needs valgrind (apt-get install valgrind)" >&2
      exit 2; }

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbuildtype=release || exit 2
fi
meson compile -C "$build" perf/bench_mqtt >/dev/null || exit 2
prog="$build/perf/bench_mqtt"

tmp=$(mktemp -d /tmp/callgrind_mqtt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$keep" ]; then
    mkdir -p "$keep"
fi

case_args() {
    case "$1" in
    qos0) echo "" ;;
    qos0-ol) echo "--offload" ;;
    qos0-b32) echo "--burst 32" ;;
    qos1) echo "--qos 1" ;;
    qos1-b32) echo "--qos 1 --burst 32" ;;
    esac
}

# publishes per poll loop
case_pubs() {
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

printf 'bench_mqtt under callgrind, %s: N1=%s N2=%s poll loops\n' "$prog" \
    "$n1" "$n2"
printf 'instructions per PUBLISH (see the header of %s for the columns)\n' \
    "${BASH_SOURCE[0]#"$root"/}"
printf '%-9s %8s %8s %7s %7s %7s %6s %9s %7s\n' case total input poll \
    flush driver prep dataplane mqtt
failed=0
for c in "${cases[@]}"; do
    read -r -a extra <<< "$(case_args "$c")"
    k=$(case_pubs "$c")
    for n in "$n1" "$n2"; do
        out="$tmp/$c.$n.out"
        if ! valgrind --tool=callgrind --callgrind-out-file="$out" \
                "$prog" --callgrind "$n" "${extra[@]}" \
                >"$tmp/$c.$n.log" 2>&1; then
            echo "callgrind_mqtt: $c with $n loops failed:" >&2
            tail -n 20 "$tmp/$c.$n.log" >&2
            failed=1
            continue 2
        fi
        functions "$out" >"$tmp/$c.$n.self"
        functions --inclusive=yes "$out" >"$tmp/$c.$n.incl"
        [ -z "$keep" ] || cp "$out" "$keep/callgrind.out.mqtt-$c-$n"
    done
    t1=$(awk '/^totals:/ { print $2 }' "$tmp/$c.$n1.out")
    t2=$(awk '/^totals:/ { print $2 }' "$tmp/$c.$n2.out")
    d=$(((n2 - n1) * k))
    # per-PUBLISH inclusive cost of a function (0 when never called)
    incl() {
        awk -F'\t' -v f=":$1 " -v d="$d" '
            NR == FNR { if (index($2, f)) a += $1; next }
            index($2, f) { b += $1 }
            END { printf "%.1f", (b - a) / d }' \
            "$tmp/$c.$n1.incl" "$tmp/$c.$n2.incl"
    }
    total=$(echo "($t2 - $t1) / $d" | bc -l)
    input=$(incl pt_net_input)
    poll=$(incl pt_mqtt_core_poll)
    flush=$(incl pt_net_flush)
    driver=$(incl bench_tx)
    prep=$(echo "$(incl prep_publish) + $(incl prep_ack)" | bc -l)
    dp=$(echo "$input + $poll + $flush - $driver" | bc -l)
    mqtt=$(incl conn_data)
    printf '%-9s %8.1f %8.1f %7.1f %7.1f %7.1f %6.1f %9.1f %7.1f\n' "$c" \
        "$total" "$input" "$poll" "$flush" "$driver" "$prep" "$dp" "$mqtt"
    if [ "$top" -gt 0 ]; then
        awk -F'\t' -v d="$d" -v t=$((t2 - t1)) '
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
