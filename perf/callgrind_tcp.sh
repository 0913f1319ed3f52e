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
# shellcheck source=perf/callgrind_lib.sh
. perf/callgrind_lib.sh

CG_NAME=callgrind_tcp
CG_BENCH=bench_tcp
CG_TAG=tcp
CG_TOP=12
CG_CASES=(data64 data64-ol data1460 echo64 data64-b32 data64-ol-b32)

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
case_per_loop() {
    case "$1" in
    *-b32) echo 32 ;;
    *) echo 1 ;;
    esac
}

print_header() {
    printf 'bench_tcp under callgrind, %s: N1=%s N2=%s segments\n' "$prog" \
        "$n1" "$n2"
    printf 'instructions per segment: whole loop; pt_net_input and pt_net_flush\n'
    printf 'inclusive; the emulated driver (bench_tx: frees the sent frame); the\n'
    printf 'application (app_data less the pt_tcp_recved it calls); stack = input\n'
    printf '+ flush - driver - application\n'
    printf '%-10s %9s %10s %10s %8s %8s %8s\n' case total net_input net_flush \
        driver app stack
}

print_row() {
    local input flush driver app stack

    input=$(incl pt_net_input)
    flush=$(incl pt_net_flush)
    driver=$(incl bench_tx)
    app=$(echo "$(incl app_data) - $(incl pt_tcp_recved)" | bc -l)
    [ "$1" != echo64 ] || app=0   # the echo application is the dataplane's
    stack=$(echo "$input + $flush - $driver - $app" | bc -l)
    printf '%-10s %9.1f %10.1f %10.1f %8.1f %8.1f %8.1f\n' "$1" "$total" \
        "$input" "$flush" "$driver" "$app" "$stack"
}

cg_main "$@"
