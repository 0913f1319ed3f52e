/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_selftest: the pt_bench example and its check. One benchmark per
 * feature a petrel benchmark is likely to need; copy the closest one.
 * Each also checks what the wrapper handed it and fails the run through
 * pt_bench_skip_with_error() when that is wrong, so `meson test --suite
 * perf-smoke` catches a broken shim. The numbers themselves mean nothing.
 *
 * With PT_BENCH_SELFTEST_FAIL set in the environment, main() also registers
 * a benchmark that always fails: the smoke test uses it to check that a
 * failing benchmark makes the program exit non-zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pt_bench.h"

/* The cheapest body: measures the loop itself (and checks it counts). */
static void bm_selftest_empty(struct pt_bench_state *st)
{
    int64_t n = 0;

    while (pt_bench_keep_running(st))
        n++;
    if (n != pt_bench_iterations_done(st) || n == 0)
        pt_bench_skip_with_error(st, "loop count differs from iterations");
}
PT_BENCH(bm_selftest_empty);

/*
 * An argument from a range, with throughput: copy len bytes per pass;
 * reports bytes_per_second and items_per_second (one item = one copy).
 */
static void bm_selftest_memcpy(struct pt_bench_state *st)
{
    int64_t len = pt_bench_range_x(st, 0);
    char *src;
    char *dst;

    if (len < 8 || len > 4096) {
        pt_bench_skip_with_error(st, "argument outside the registered range");
        return;
    }
    /* Setup before the loop is not timed. */
    src = malloc((size_t)len);
    dst = malloc((size_t)len);
    if (src == NULL || dst == NULL) {
        free(src);
        free(dst);
        pt_bench_skip_with_error(st, "out of memory");
        return;
    }
    memset(src, 0x5a, (size_t)len);
    /*
     * Let both buffers escape once, then clobber memory each pass: the copy
     * must really happen. A clobber alone is not enough; the compiler knows
     * nothing outside can see a malloc()ed buffer whose address never
     * escaped, and clang then drops the repeated memcpy.
     */
    pt_bench_do_not_optimize(src);
    pt_bench_do_not_optimize(dst);
    while (pt_bench_keep_running(st)) {
        memcpy(dst, src, (size_t)len);
        pt_bench_clobber_memory();
    }
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_bench_set_bytes_processed(st, pt_bench_iterations_done(st) * len);
    free(src);
    free(dst);
}
PT_BENCH_CONFIG(bm_selftest_memcpy)
{
    pt_bench_range_multiplier(b, 8);
    pt_bench_arg_name(pt_bench_range(b, 8, 4096), "len");
}

/*
 * User counters: a per-second rate (hash_rate), a per-iteration average
 * (bit16_ratio) and a plain value (buckets), plus a label.
 */
static void bm_selftest_counter(struct pt_bench_state *st)
{
    uint32_t h = 2166136261u;
    int64_t bit16 = 0;

    while (pt_bench_keep_running(st)) {
        h = (h ^ 0x2a) * 16777619u;   /* one FNV-1a step */
        bit16 += (h >> 16) & 1;
        pt_bench_do_not_optimize(&h);
    }
    pt_bench_counter_set(st, "hash_rate",
                         (double)pt_bench_iterations_done(st),
                         PT_BENCH_COUNTER_RATE);
    pt_bench_counter_set(st, "bit16_ratio", (double)bit16,
                         PT_BENCH_COUNTER_AVG_ITERATIONS);
    pt_bench_counter_set(st, "buckets", 1024, PT_BENCH_COUNTER_DEFAULT);
    pt_bench_set_label(st, "fnv1a");
}
PT_BENCH_CONFIG(bm_selftest_counter)
{
    pt_bench_unit(b, PT_BENCH_UNIT_US);
}

/*
 * Untimed work inside the loop: refill a buffer with the timer paused,
 * time only the sum over it. Pausing costs a clock read each way, so the
 * timed part must be much longer than that.
 */
static void bm_selftest_pause(struct pt_bench_state *st)
{
    static uint32_t buf[4096];
    uint32_t seed = 1;

    while (pt_bench_keep_running(st)) {
        pt_bench_pause_timing(st);
        for (size_t i = 0; i < 4096; i++)
            buf[i] = seed++;
        pt_bench_resume_timing(st);

        uint64_t sum = 0;
        for (size_t i = 0; i < 4096; i++)
            sum += buf[i];
        pt_bench_do_not_optimize(&sum);
    }
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st) * 4096);
}
PT_BENCH(bm_selftest_pause);

/*
 * Batch form for bodies of a few ns: one loop-condition call per 64
 * operations. The iteration count includes the last batch's overshoot.
 */
#define SELFTEST_BATCH 64
static void bm_selftest_batch(struct pt_bench_state *st)
{
    int64_t ops = 0;
    uint64_t x = 1;

    while (pt_bench_keep_running_batch(st, SELFTEST_BATCH)) {
        for (int i = 0; i < SELFTEST_BATCH; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            pt_bench_do_not_optimize(&x);
        }
        ops += SELFTEST_BATCH;
    }
    if (ops != pt_bench_iterations_done(st))
        pt_bench_skip_with_error(st, "batch count differs from iterations");
    pt_bench_set_items_processed(st, ops);
}
PT_BENCH(bm_selftest_batch);

/* Registered from main() only on request: must make pt_bench_main() fail. */
static void bm_selftest_fail(struct pt_bench_state *st)
{
    pt_bench_skip_with_error(st, "failing on purpose");
}

int main(int argc, char **argv)
{
    /* Global setup goes here, before pt_bench_main() runs anything. */
    if (getenv("PT_BENCH_SELFTEST_FAIL") != NULL &&
        pt_bench_register("bm_selftest_fail", bm_selftest_fail) == NULL)
        return 1;
    return pt_bench_main(argc, argv);
}
