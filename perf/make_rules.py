#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a content-rules file (docs/rules.md) for benchmarks:

    perf/make_rules.py N [--regex PCT] [--seed S] > rules.txt

N rules (ids 1..N), PCT percent of them regexes (default 20) and the rest
literals, all scoped to the payload except every 10th (both) and with a
topic filter on every 20th; actions: mostly count, some drop. The words
are random lower-case letters of 8-14 characters drawn with a fixed seed,
so none matches the benchmarks' messages (bench_mqtt's payload is the
alphabet over and over, its topic bench/t) and the file is the same on
every run.
"""
import argparse
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--regex", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)

    def word():
        return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz")
                       for _ in range(rnd.randint(8, 14)))

    print(f"# {a.n} rules, {a.regex}% regexes: perf/make_rules.py "
          f"{a.n} --regex {a.regex} --seed {a.seed}")
    for i in range(1, a.n + 1):
        scope = "both" if i % 10 == 0 else "payload"
        filt = "spam/#" if i % 20 == 0 else "-"
        action = "drop" if i % 7 == 0 else "count"
        if rnd.randrange(100) < a.regex:
            w1, w2 = word(), word()
            pat = rnd.choice([
                f"{w1}[0-9]{{2,6}}(?:{w2}|{w2[::-1]})",
                f"\\b{w1}\\s+{w2}\\b",
                f"{w1[:5]}[a-f]{{3}}.{{0,8}}{w2[:6]}",
            ])
            flags = "caseless" if i % 3 == 0 else "-"
        else:
            pat, flags = word(), "-"
        print(f"{i} {action} {scope} {flags} {filt} {pat}")


if __name__ == "__main__":
    main()
