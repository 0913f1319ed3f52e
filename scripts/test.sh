#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `make test`: build the normal (gcc) and sanitizer (clang, ASan+UBSan)
# trees and run every test in both: unit, perf-smoke (each benchmark runs
# once, briefly) and integration (real petreld in its own namespaces).
# Exit status is non-zero on any failure; the last line is the summary.
set -uo pipefail
cd "$(dirname "$0")/.."

builds=(build build-asan)
kinds=(normal asan)
status=0

for i in "${!builds[@]}"; do
    echo "=== build ${builds[$i]} (${kinds[$i]})"
    if ! bash scripts/build.sh "${builds[$i]}" "${kinds[$i]}"; then
        echo "test.sh: build ${builds[$i]} failed" >&2
        status=1
        continue
    fi
    echo "=== test ${builds[$i]}"
    rm -f "${builds[$i]}"/meson-logs/pt-*.json
    meson test -C "${builds[$i]}" --print-errorlogs --num-processes 2 \
        --logbase pt-unit --suite unit --suite perf-smoke || status=1
    # integration tests share the 2 CPUs with petreld: one at a time
    meson test -C "${builds[$i]}" --print-errorlogs --num-processes 1 \
        --logbase pt-integration --suite integration || status=1
done

# One summary over both trees, from meson's machine-readable logs.
python3 - "${builds[@]}" <<'PY'
import json, os, sys
passed = failed = skipped = 0
bad = []
for b in sys.argv[1:]:
    seen = {}
    logs = [os.path.join(b, "meson-logs", f"pt-{s}.json")
            for s in ("unit", "integration")]
    for path in logs:
        if not os.path.exists(path):
            failed += 1
            bad.append(f"{path}: missing (build or runner failed)")
            continue
        for line in open(path):
            r = json.loads(line)
            seen[r["name"]] = r["result"]
    for name, res in sorted(seen.items()):
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
        else:
            failed += 1
            bad.append(f"{b}: {name}: {res}")
for x in bad:
    print("FAILED", x)
print(f"test: {passed} passed, {failed} failed, {skipped} skipped")
PY
[ $? -eq 0 ] || status=1
exit $status
