#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `make run`: petreld in the foreground on its embedded default, a net_tap
# port inside the network namespace `petrel`: broker 10.99.0.2/24, kernel
# side of the tap 10.99.0.1/24. Extra arguments go to petreld after `--`.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
ns=${PETREL_NETNS:-petrel}

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: petreld needs root (tap device, namespaces, DPDK)" >&2
    exit 1
fi
bash scripts/netns.sh "$ns"
echo "run.sh: starting petreld in network namespace '$ns'"
echo "run.sh: reach it with: ip netns exec $ns ping -c 3 10.99.0.2"
echo "run.sh: anonymous MQTT is on here (mqtt.allow_anonymous, off by default)"
exec ip netns exec "$ns" "$build/apps/petreld" -- \
    --set mqtt.allow_anonymous=on "$@"
