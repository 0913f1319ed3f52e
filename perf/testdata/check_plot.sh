#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The perf-smoke check of perf/plot: draw every chart from the sample files
# in this folder and require four non-empty PNGs (PNG signature included),
# then feed it each malformed sample and require exit status 2 and no chart.
# Exit 0 when all holds, 1 with a message when not, 77 (meson: skipped)
# when gnuplot is not installed.
#
# Usage: check_plot.sh PATH/TO/perf/plot
set -euo pipefail

plot=${1:?usage: check_plot.sh PATH/TO/perf/plot}
data=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v gnuplot >/dev/null; then
    echo "check_plot: gnuplot not installed (scripts/install-deps.sh)" >&2
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "check_plot: $*" >&2
    exit 1
}

"$plot" --csv "$data/bench.csv" \
    --cdf "$data/cdf_1core.csv" "$data/cdf_4core.csv" \
    --scaling "$data"/summary_fanin_*.json "$data/summary_fanout_all.json" \
    --title "perf-smoke" --out "$tmp/ok" || fail "plot exited $? on good input"
for png in throughput latency latency_cdf scaling; do
    f="$tmp/ok/$png.png"
    [ -s "$f" ] || fail "$png.png missing or empty"
    [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
        fail "$png.png is not a PNG"
done

bad() {
    local out="$tmp/bad$1"
    shift
    local rc=0
    "$plot" "$@" --out "$out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "expected exit 2 for '$*', got $rc"
    [ -s "$tmp/err" ] || fail "no message for '$*'"
    if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
        fail "charts written despite bad input '$*'"
    fi
}
bad 1 --csv "$data/bad_header.csv"
bad 2 --csv "$data/bad_row.csv"
bad 3 --cdf "$data/bad_cdf_order.csv"
bad 4 --scaling "$data/bad_summary.json"
bad 5 --scaling "$data/bad_json.json"
bad 6 --csv "$data/no_such_file.csv"
bad 7 --csv "$data/bench.csv" --cdf "$data/bad_cdf_order.csv"
bad 8
echo "check_plot: 4 charts drawn, 8 bad inputs refused"
