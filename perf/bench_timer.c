/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timer wheel: cost of one tick with N timers armed (1k, 100k, 1M) spread
 * over the next 4 seconds of 1 ms ticks on a 4096-slot wheel, each fired
 * timer re-armed 4 s ahead (a steady population, as RTO/keepalive timers
 * of N connections would be). Reports ns per tick and timers fired.
 */
#include <stdio.h>
#include <stdlib.h>

#include <petrel/timer.h>

#include "pt_bench.h"
#include "pt_test.h"

#define SPREAD 4000

struct ctx {
    struct pt_timer_wheel *w;
    uint64_t now;
    uint64_t fired;
};

static void
rearm(struct pt_timer *t, void *arg)
{
    struct ctx *c = arg;

    c->fired++;
    pt_timer_arm(c->w, t, c->now + SPREAD);
}

static void
bm_timer_tick(struct pt_bench_state *st)
{
    int64_t n = pt_bench_range_x(st, 0);
    struct pt_timer *timers = calloc((size_t)n, sizeof(*timers));
    struct ctx c = { .now = 0 };

    c.w = pt_timer_wheel_create(4096, 0, SOCKET_ID_ANY);
    if (timers == NULL || c.w == NULL) {
        pt_bench_skip_with_error(st, "allocation failed");
        free(timers);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        pt_timer_arm(c.w, &timers[i], 1 + (uint64_t)(i % SPREAD));
    while (pt_bench_keep_running(st)) {
        c.now++;
        pt_timer_advance(c.w, c.now, rearm, &c);
    }
    pt_bench_counter_set(st, "fired_per_tick",
                         (double)c.fired / (double)c.now,
                         PT_BENCH_COUNTER_DEFAULT);
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_timer_wheel_free(c.w);
    free(timers);
}
PT_BENCH_CONFIG(bm_timer_tick)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(pt_bench_arg(b, 1000),
                                                100000), 1000000), "timers");
}

int
main(int argc, char **argv)
{
    if (pt_test_eal_init() != 0) {
        fprintf(stderr, "bench_timer: EAL init failed (run as root)\n");
        return 1;
    }
    return pt_bench_main(argc, argv);
}
