#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Configure (once) and compile one build directory.
#   scripts/build.sh DIR          gcc, debugoptimized, -Werror
#   scripts/build.sh DIR asan     clang, ASan + UBSan, hot-path checks on
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
kind=${2:-normal}
jobs=$(nproc)

if [ ! -f "$dir/build.ninja" ]; then
    case "$kind" in
    normal)
        CC=${CC:-gcc} CXX=${CXX:-g++} meson setup "$dir" ;;
    asan)
        # clang here doubles as the "zero warnings under clang" check.
        CC=clang CXX=clang++ meson setup "$dir" \
            -Db_sanitize=address,undefined -Db_lundef=false \
            -Dhot_debug=true -Dfuzz=true -Dbuildtype=debug ;;
    *)
        echo "build.sh: unknown kind $kind" >&2; exit 2 ;;
    esac
fi
meson compile -C "$dir" -j "$jobs"
