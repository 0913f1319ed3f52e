#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Create network namespace NAME (default petrel) if missing, with lo up.
# petreld's tap is created inside it by petreld itself, so the host's own
# network is never touched.
set -euo pipefail
ns=${1:-petrel}
if ! ip netns list | awk '{print $1}' | grep -qx "$ns"; then
    ip netns add "$ns"
fi
ip -n "$ns" link set lo up
