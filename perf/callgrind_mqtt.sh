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
#   qos0-ol     the same, a NIC doing checksums both ways (received ones
#               trusted from RX_*_CKSUM_GOOD, sent ones left to the port)
#   qos0-b32    32 publisher connections, one PUBLISH each per
#               pt_net_input() call (a poll that finds 32 frames)
#   qos0-ol-b32 both: what a NIC deployment under load looks like
#   qos1        QoS 1 published and subscribed: PUBACK to the publisher,
#               PUBLISH with a packet id to the subscriber, its PUBACK back
#   qos1-b32    qos1 with 32 publishers per burst
#   qos0-acl, qos0-ol-b32-acl
#               qos0 and qos0-ol-b32 with perf/bench_mqtt.acl loaded
#               (bench_mqtt --acl): every client logs in as user bench,
#               whose section has 10 topic entries, beside 3 patterns; each
#               PUBLISH runs pt_acl_may_publish() and is granted by the
#               last entry it tries
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
#   acl         of which the ACL check out of line (pt_mqtt_acl_check
#               inclusive; with no ACL the inline test is all there is: 0)
#   rules       of which the content-rules scan (pt_mqtt_rules_check
#               inclusive: both Hyperscan scans and the bookkeeping); the
#               *-rules cases load 1,000 rules from perf/make_rules.py
#
# Usage: perf/callgrind_mqtt.sh [--build DIR] [--n1 N] [--n2 N] [--top K]
#                               [--keep DIR] [CASE...]
#   --build DIR   build folder (default build-perf; configured with
#                 -Dbuildtype=release when it is not yet)
#   --n1, --n2    poll loops of the two runs (default 2000 and 12000)
#   --top K       functions listed per case (default 15; 0: none)
#   --keep DIR    keep the callgrind.out files there
#   CASE...       cases to run (default: all)
#
# Exit status: 0 when every run succeeded, 1 when a run failed, 2 on a
# usage or build error.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=perf/callgrind_lib.sh
. perf/callgrind_lib.sh

CG_NAME=callgrind_mqtt
CG_BENCH=bench_mqtt
CG_TAG=mqtt
CG_TOP=15
CG_CASES=(qos0 qos0-ol qos0-b32 qos0-ol-b32 qos1 qos1-b32 qos0-acl
          qos0-ol-b32-acl qos0-rules qos0-ol-b32-rules)

# 1,000 content rules none of which matches (perf/make_rules.py), made once
rules_file() {
    [ -f "$cg_tmp/rules.txt" ] || perf/make_rules.py 1000 > "$cg_tmp/rules.txt"
    echo "$cg_tmp/rules.txt"
}

case_args() {
    case "$1" in
    qos0) echo "" ;;
    qos0-ol) echo "--offload" ;;
    qos0-b32) echo "--burst 32" ;;
    qos0-ol-b32) echo "--offload --burst 32" ;;
    qos1) echo "--qos 1" ;;
    qos1-b32) echo "--qos 1 --burst 32" ;;
    qos0-acl) echo "--acl perf/bench_mqtt.acl" ;;
    qos0-ol-b32-acl) echo "--offload --burst 32 --acl perf/bench_mqtt.acl" ;;
    qos0-rules) echo "--rules $(rules_file)" ;;
    qos0-ol-b32-rules) echo "--offload --burst 32 --rules $(rules_file)" ;;
    esac
}

# publishes per poll loop
case_per_loop() {
    case "$1" in
    *-b32|*-b32-acl|*-b32-rules) echo 32 ;;
    *) echo 1 ;;
    esac
}

print_header() {
    printf 'bench_mqtt under callgrind, %s: N1=%s N2=%s poll loops\n' "$prog" \
        "$n1" "$n2"
    printf 'instructions per PUBLISH (see the header of perf/callgrind_mqtt.sh for the columns)\n'
    printf '%-17s %8s %8s %7s %7s %7s %6s %9s %7s %5s %6s\n' case total \
        input poll flush driver prep dataplane mqtt acl rules
}

print_row() {
    local input poll flush driver prep dp mqtt acl rules

    input=$(incl pt_net_input)
    poll=$(incl pt_mqtt_core_poll)
    flush=$(incl pt_net_flush)
    driver=$(incl bench_tx)
    prep=$(echo "$(incl prep_publish) + $(incl prep_ack)" | bc -l)
    dp=$(echo "$input + $poll + $flush - $driver" | bc -l)
    mqtt=$(incl conn_data)
    acl=$(incl pt_mqtt_acl_check)
    rules=$(incl pt_mqtt_rules_check)
    printf '%-17s %8.1f %8.1f %7.1f %7.1f %7.1f %6.1f %9.1f %7.1f %5.1f %6.1f\n' \
        "$1" "$total" "$input" "$poll" "$flush" "$driver" "$prep" "$dp" \
        "$mqtt" "$acl" "$rules"
}

cg_main "$@"
