#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Broker throughput with content rules against none, same load, one run:
# perf/mqtt_ratio.py --only petrel alternately without and with
# --set rules.file=FILE (a fresh petreld each time, in its own namespace),
# REPS times per QoS; prints every trial's msgs/s and p99 and the medians
# with their ratio (rules / none: 1.0 = no cost).
#
#   perf/rules_ratio.sh [--reps N] [--rules N_RULES] [--build DIR]
#                       [-- mqtt_ratio.py options...]
#
# The rules file is perf/make_rules.py N_RULES (default 1000: 80% literals,
# 20% regexes, none matching the load's messages, so nothing is dropped
# and every message is scanned whole). Needs root; every broker and
# namespace is removed on exit (mqtt_ratio.py's own clean-up).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5
nrules=1000
build=build
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) reps=$2; shift 2 ;;
    --rules) nrules=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--reps N] [--rules N] [--build DIR] [-- ...]" >&2
       exit 2 ;;
    esac
done
tmp=$(mktemp -d /tmp/pt-rules-ratio.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
perf/make_rules.py "$nrules" > "$tmp/rules.txt"
common=(--only petrel --reps 1 --petreld "$build/apps/petreld"
        --petrelctl "$build/apps/petrelctl" --load "$build/perf/pt-mqtt-load")
for i in $(seq 1 "$reps"); do
    for mode in none rules; do
        extra=()
        [ "$mode" = rules ] && extra=(--set "rules.file=$tmp/rules.txt")
        python3 perf/mqtt_ratio.py "${common[@]}" "${extra[@]}" "$@" \
            --json "$tmp/$mode.$i.json" > "$tmp/$mode.$i.log" ||
            { cat "$tmp/$mode.$i.log" >&2; exit 1; }
    done
done
python3 - "$tmp" "$reps" "$nrules" <<'PY'
import json, statistics, sys
tmp, reps, nrules = sys.argv[1], int(sys.argv[2]), sys.argv[3]
res = {}
for mode in ("none", "rules"):
    for i in range(1, reps + 1):
        d = json.load(open(f"{tmp}/{mode}.{i}.json"))
        for q, rs in d["runs"]["petrel"].items():
            for r in rs:
                res.setdefault((q, mode), []).append(
                    (r["msgs_per_s"], r["latency_us"]["p99"]))
print(f"petreld with {nrules} content rules against none, {reps} trials "
      "each, alternating (medians)")
print("| QoS | msgs/s, no rules | msgs/s, rules | ratio | p99 us, no rules "
      "| p99 us, rules |")
print("|---|---|---|---|---|---|")
for q in sorted({k[0] for k in res}):
    a, b = res[(q, "none")], res[(q, "rules")]
    ma = statistics.median(x[0] for x in a)
    mb = statistics.median(x[0] for x in b)
    pa = statistics.median(x[1] for x in a)
    pb = statistics.median(x[1] for x in b)
    print(f"| {q} | {ma:,.0f} | {mb:,.0f} | {mb / ma:.3f} | {pa:,.0f} "
          f"| {pb:,.0f} |")
PY
