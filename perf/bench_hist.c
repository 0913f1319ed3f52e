/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel-bench's latency histogram (apps/petrel-bench/hist.c): the cost of
 * pb_hist_record(), which runs once per delivered message on every lcore,
 * and of the reporter's once-a-second work (merge, percentiles, CDF).
 *
 * Record cases, 3 significant digits, highest 1 hour:
 *  - bm_hist_record/same: one value over and over (best case, one counter);
 *  - bm_hist_record/spread: values from a 4096-entry table of exponential
 *    latencies around 50 us (realistic: a few hundred counters hot);
 *  - bm_hist_record/wide: log-uniform 1 ns .. 1 hour (worst case: counters
 *    all over the 261 KiB array, cache misses included).
 * The values come from a precomputed table so the generator is not timed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"
#include "pt_bench.h"

#define TABLE 4096

enum shape { SAME, SPREAD, WIDE };

static uint64_t *
table(enum shape s)
{
    uint64_t *t = malloc(TABLE * sizeof(*t));
    uint64_t x = 0x9e3779b97f4a7c15ull;

    if (t == NULL)
        return NULL;
    for (int i = 0; i < TABLE; i++) {
        double u;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        u = (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
        switch (s) {
        case SAME:
            t[i] = 50000;
            break;
        case SPREAD:
            t[i] = (uint64_t)(-log(1.0 - u) * 50000.0);
            break;
        case WIDE:
            t[i] = (uint64_t)exp(u * log((double)PB_HIST_HOUR_NS));
            break;
        }
    }
    return t;
}

static void
bm_hist_record(struct pt_bench_state *st)
{
    enum shape s = (enum shape)pt_bench_range_x(st, 0);
    struct pb_hist *h = pb_hist_new(PB_HIST_HOUR_NS, 3);
    uint64_t *t = table(s);
    uint32_t i = 0;

    if (h == NULL || t == NULL) {
        pt_bench_skip_with_error(st, "allocation failed");
        pb_hist_free(h);
        free(t);
        return;
    }
    pt_bench_set_label(st, s == SAME ? "same" : s == SPREAD ? "spread"
                                                             : "wide");
    while (pt_bench_keep_running_batch(st, 64)) {
        for (int k = 0; k < 64; k++)
            pb_hist_record(h, t[i++ & (TABLE - 1)]);
    }
    pt_bench_do_not_optimize(h);
    if (pb_hist_count(h) == 0)
        pt_bench_skip_with_error(st, "nothing recorded");
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pb_hist_free(h);
    free(t);
}
PT_BENCH_CONFIG(bm_hist_record)
{
    pt_bench_arg_name(pt_bench_dense_range(b, SAME, WIDE, 1), "shape");
}

/* A full histogram as an lcore's would be after a second of load. */
static struct pb_hist *
loaded(void)
{
    struct pb_hist *h = pb_hist_new(PB_HIST_HOUR_NS, 3);
    uint64_t *t = table(SPREAD);

    if (h != NULL && t != NULL)
        for (int i = 0; i < 1000000; i++)
            pb_hist_record(h, t[i & (TABLE - 1)] + (uint64_t)(i & 255));
    free(t);
    return h;
}

/* The reporter's per-lcore, per-second work: merge into its snapshot. */
static void
bm_hist_merge(struct pt_bench_state *st)
{
    struct pb_hist *src = loaded(), *dst = pb_hist_new(PB_HIST_HOUR_NS, 3);

    if (src == NULL || dst == NULL) {
        pt_bench_skip_with_error(st, "allocation failed");
        pb_hist_free(src);
        pb_hist_free(dst);
        return;
    }
    while (pt_bench_keep_running(st))
        pb_hist_merge(dst, src);
    pt_bench_do_not_optimize(dst);
    pb_hist_free(src);
    pb_hist_free(dst);
}
PT_BENCH(bm_hist_merge);

/* p50, p99, p99.9 of a merged histogram: one report line. */
static void
bm_hist_percentiles(struct pt_bench_state *st)
{
    struct pb_hist *h = loaded();
    uint64_t acc = 0;

    if (h == NULL) {
        pt_bench_skip_with_error(st, "allocation failed");
        return;
    }
    while (pt_bench_keep_running(st)) {
        acc += pb_hist_percentile(h, 50.0);
        acc += pb_hist_percentile(h, 99.0);
        acc += pb_hist_percentile(h, 99.9);
        pt_bench_do_not_optimize(&acc);
    }
    pb_hist_free(h);
}
PT_BENCH(bm_hist_percentiles);

PT_BENCH_MAIN();
