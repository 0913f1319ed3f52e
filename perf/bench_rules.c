/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Content-rule scans (dataplane/rules.c, pt_rules_scan): one message
 * (topic + payload) against sets of N rules (10, 1,000, 10,000), on one
 * core with its scratch, as a dataplane core does per PUBLISH.
 *
 * Sets:
 *   literal  every rule a random 8-12 letter word
 *   mix      80% such literals, 20% regexes with classes, alternations
 *            and bounded repeats, in rotation:
 *              key<k>[0-9a-f]{4,8}(alpha|beta|gamma)
 *              (?:x<k>|y<k>)\s+\d{2,6}
 *              err<k>[^\n]{0,40}fatal
 *              v<k>=[A-Z][a-z]+(,[A-Z][a-z]+){1,3};
 * Every 10th rule is scoped to both topic and payload, the others to the
 * payload; every 20th is restricted to `sensors/+/temp`. Actions are
 * count (every 100th drop), so every match is counted.
 *
 * Messages: 256 of them, topic `sensors/dev<k>/temp` (or `.../hum`),
 * payload of 64 B or 1 KiB of random lowercase words and digits; every
 * 16th payload holds the text of a random rule (a literal, or a string
 * its regex matches), the rest match nothing: mostly clean traffic.
 *
 * Reported: time per message (ns), items_per_second = messages per
 * second, bytes_per_second = topic + payload bytes scanned per second.
 * Sets are compiled once per (kind, N) and kept across runs (Hyperscan
 * compiles 10,000 rules in seconds; that is not what is measured here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/rules.h>

#include "pt_bench.h"
#include "pt_test.h"

#define NMSG 256
#define MAXPAY 1024

enum kind {
    K_LITERAL,
    K_MIX,
};

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
    return pt_test_rnd(&rng, n);
}

static void
word(char *w, size_t len)
{
    for (size_t i = 0; i < len; i++)
        w[i] = (char)('a' + rnd(26));
    w[len] = '\0';
}

/* Rule k's pattern, and a string it matches. */
static void
rule_make(enum kind kind, unsigned k, char *pat, size_t pcap, char *sample,
          size_t scap)
{
    if (kind == K_LITERAL || k % 5 != 4) {
        char w[16];

        word(w, 8 + rnd(5));
        snprintf(pat, pcap, "%s", w);
        snprintf(sample, scap, "%s", w);
        return;
    }
    switch ((k / 5) % 4) {
    case 0:
        snprintf(pat, pcap, "key%u[0-9a-f]{4,8}(alpha|beta|gamma)", k);
        snprintf(sample, scap, "key%u0a1fbeta", k);
        break;
    case 1:
        snprintf(pat, pcap, "(?:x%u|y%u)\\s+\\d{2,6}", k, k);
        snprintf(sample, scap, "y%u  4711", k);
        break;
    case 2:
        snprintf(pat, pcap, "err%u[^\\n]{0,40}fatal", k);
        snprintf(sample, scap, "err%u disk fatal", k);
        break;
    default:
        snprintf(pat, pcap, "v%u=[A-Z][a-z]+(,[A-Z][a-z]+){1,3};", k);
        snprintf(sample, scap, "v%u=Ab,Cd;", k);
        break;
    }
}

struct set {
    struct pt_rules *r;
    char (*samples)[64];
};

static struct set sets[2][3];

static int
size_index(unsigned n)
{
    return n == 10 ? 0 : n == 1000 ? 1 : 2;
}

static struct set *
set_get(struct pt_bench_state *st, enum kind kind, unsigned n)
{
    struct set *s = &sets[kind][size_index(n)];
    size_t cap = (size_t)n * 160 + 64, len = 0;
    char *text, err[512], pat[96];

    if (s->r != NULL)
        return s;
    text = malloc(cap);
    s->samples = calloc(n, sizeof(*s->samples));
    if (text == NULL || s->samples == NULL) {
        pt_bench_skip_with_error(st, "out of memory");
        free(text);
        return NULL;
    }
    for (unsigned k = 0; k < n; k++) {
        rule_make(kind, k, pat, sizeof(pat), s->samples[k],
                  sizeof(s->samples[k]));
        len += (size_t)snprintf(text + len, cap - len, "%u %s %s - %s %s\n",
                                k + 1, k % 100 == 99 ? "drop" : "count",
                                k % 10 == 0 ? "both" : "payload",
                                k % 20 == 0 ? "sensors/+/temp" : "-", pat);
    }
    if (pt_rules_parse(text, len, "bench", &s->r, err, sizeof(err)) != 0) {
        pt_bench_skip_with_error(st, err);
        s->r = NULL;
    }
    free(text);
    return s->r != NULL ? s : NULL;
}

static void
run(struct pt_bench_state *st, enum kind kind, size_t plen)
{
    unsigned n = (unsigned)pt_bench_range_x(st, 0);
    static char topics[NMSG][32], pays[NMSG][MAXPAY];
    static size_t tlens[NMSG];
    struct set *set = set_get(st, kind, n);
    struct pt_rules_scratch *sc = NULL;
    uint64_t *hits, i = 0, bytes = 0, errors = 0, matched = 0;

    if (set == NULL)
        return;
    hits = calloc(n, sizeof(*hits));
    if (hits == NULL || pt_rules_scratch_alloc(set->r, &sc) != 0) {
        pt_bench_skip_with_error(st, "out of memory");
        free(hits);
        return;
    }
    for (unsigned m = 0; m < NMSG; m++) {
        size_t p = 0;

        tlens[m] = (size_t)snprintf(topics[m], sizeof(topics[m]),
                                    "sensors/dev%04u/%s", rnd(10000),
                                    m % 2 ? "temp" : "hum");
        while (p < plen) {
            char w[16];
            size_t wl = 2 + rnd(9);

            word(w, wl);
            if (rnd(4) == 0)
                snprintf(w, sizeof(w), "%u", rnd(100000));
            wl = strlen(w);
            if (p + wl + 1 > plen)
                wl = plen - p;
            memcpy(pays[m] + p, w, wl);
            p += wl;
            if (p < plen)
                pays[m][p++] = ' ';
        }
        if (m % 16 == 5) {
            const char *smp = set->samples[rnd(n)];
            size_t sl = strlen(smp);

            if (sl < plen)
                memcpy(pays[m] + rnd((uint32_t)(plen - sl)), smp, sl);
        }
    }
    while (pt_bench_keep_running(st)) {
        unsigned m = (unsigned)(i++ & (NMSG - 1));
        struct pt_rules_verdict v;

        errors += pt_rules_scan(set->r, sc, topics[m], tlens[m], pays[m],
                                plen, hits, &v) != 0;
        matched += v.action >= 0;
        bytes += tlens[m] + plen;
    }
    if (errors != 0)
        pt_bench_skip_with_error(st, "a scan failed");
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_bench_set_bytes_processed(st, (int64_t)bytes);
    pt_bench_counter_set(st, "matched", i ? (double)matched / (double)i : 0,
                         PT_BENCH_COUNTER_DEFAULT);
    pt_rules_scratch_free(sc);
    free(hits);
}

#define BM(name, kind, plen)                                                \
    static void                                                             \
    name(struct pt_bench_state *st)                                         \
    {                                                                       \
        run(st, kind, plen);                                                \
    }                                                                       \
    PT_BENCH_CONFIG(name)                                                   \
    {                                                                       \
        pt_bench_arg_name(pt_bench_arg(pt_bench_arg(pt_bench_arg(b, 10),    \
                                                    1000), 10000),          \
                          "rules");                                         \
    }

BM(bm_rules_literal_64, K_LITERAL, 64)
BM(bm_rules_literal_1k, K_LITERAL, 1024)
BM(bm_rules_mix_64, K_MIX, 64)
BM(bm_rules_mix_1k, K_MIX, 1024)

PT_BENCH_MAIN();
