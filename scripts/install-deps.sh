#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install everything petrel needs to build, run and test on Debian 12.
# Idempotent: packages already installed are skipped, and apt-get is only
# called when something is missing. Must run as root (or via sudo).
set -euo pipefail

PKGS=(
    # toolchain and build
    build-essential g++ clang llvm lld meson ninja-build pkg-config python3
    python3-pyelftools
    # libraries
    dpdk dpdk-dev libdpdk-dev libnuma-dev libpcap-dev libbsd-dev
    libhyperscan-dev libcmocka-dev libbenchmark-dev
    libclang-rt-14-dev libssl-dev
    # running and testing
    iproute2 iputils-ping procps kmod psmisc
    mosquitto mosquitto-clients python3-paho-mqtt
    valgrind gnuplot-nox
    # luac5.4: syntax check of perf/pktgen/*.lua
    lua5.4
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PKGS[@]} packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# mosquitto the package starts a system broker on port 1883; we only want the
# binary for baselines, started by our own scripts on other ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
    $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
