/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the per-core timer wheel (dataplane/timer.c), fake clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/timer.h>

#include "pt_test.h"

struct rec {
    struct pt_timer t;
    int id;
    uint64_t fired_at;
    int rearm_by;     /* re-arm this far ahead when fired (0 = no) */
};

struct log {
    struct pt_timer_wheel *w;
    uint64_t *clock;
    int order[64];
    int n;
};

static void
on_fire(struct pt_timer *t, void *arg)
{
    struct rec *r = (struct rec *)((char *)t - offsetof(struct rec, t));
    struct log *l = arg;

    assert_false(pt_timer_armed(t)); /* unlinked before the call */
    r->fired_at = *l->clock;
    if (l->n < 64)
        l->order[l->n++] = r->id;
    if (r->rearm_by)
        pt_timer_arm(l->w, t, *l->clock + (uint64_t)r->rearm_by);
}

static struct pt_timer_wheel *
wheel(uint32_t slots, uint64_t now)
{
    struct pt_timer_wheel *w = pt_timer_wheel_create(slots, now,
                                                     SOCKET_ID_ANY);

    assert_non_null(w);
    return w;
}

static unsigned
advance(struct log *l, uint64_t *clock, uint64_t to)
{
    unsigned n = 0;

    /* tick one at a time so fired_at is exact */
    while (*clock < to) {
        (*clock)++;
        n += pt_timer_advance(l->w, *clock, on_fire, l);
    }
    return n;
}

static void
test_timer_fires_in_tick_order(void **state)
{
    uint64_t clock = 100;
    struct log l = { .w = wheel(16, 100), .clock = &clock };
    struct rec r[5] = { { .id = 0 }, { .id = 1 }, { .id = 2 }, { .id = 3 },
                        { .id = 4 } };
    const uint64_t at[5] = { 105, 101, 140 /* rounds later */, 103, 105 };

    (void)state;
    for (int i = 0; i < 5; i++)
        pt_timer_arm(l.w, &r[i].t, at[i]);
    assert_int_equal(pt_timer_count(l.w), 5);
    assert_int_equal(advance(&l, &clock, 139), 4);
    assert_int_equal(r[2].fired_at, 0); /* same slot as 108, 124: skipped */
    assert_int_equal(advance(&l, &clock, 140), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(r[i].fired_at, at[i]);
    assert_int_equal(l.order[0], 1);
    assert_int_equal(l.order[1], 3);
    assert_int_equal(l.order[4], 2);
    assert_int_equal(pt_timer_count(l.w), 0);
    pt_timer_wheel_free(l.w);
}

static void
test_timer_cancel_and_rearm(void **state)
{
    uint64_t clock = 0;
    struct log l = { .w = wheel(8, 0), .clock = &clock };
    struct rec a = { .id = 1 }, b = { .id = 2 };

    (void)state;
    pt_timer_arm(l.w, &a.t, 5);
    pt_timer_arm(l.w, &b.t, 5);
    pt_timer_cancel(l.w, &a.t);
    pt_timer_cancel(l.w, &a.t); /* idempotent */
    assert_false(pt_timer_armed(&a.t));
    pt_timer_arm(l.w, &b.t, 7); /* re-arm moves it */
    assert_int_equal(pt_timer_count(l.w), 1);
    assert_int_equal(advance(&l, &clock, 6), 0);
    assert_int_equal(advance(&l, &clock, 7), 1);
    assert_int_equal(b.fired_at, 7);
    assert_int_equal(a.fired_at, 0);
    pt_timer_wheel_free(l.w);
}

static void
test_timer_past_expiry_fires_next_tick(void **state)
{
    uint64_t clock = 50;
    struct log l = { .w = wheel(8, 50), .clock = &clock };
    struct rec a = { .id = 1 };

    (void)state;
    pt_timer_arm(l.w, &a.t, 10);
    assert_int_equal(advance(&l, &clock, 51), 1);
    assert_int_equal(a.fired_at, 51);
    pt_timer_wheel_free(l.w);
}

static void
test_timer_callback_rearms_periodic(void **state)
{
    uint64_t clock = 0;
    struct log l = { .w = wheel(4, 0), .clock = &clock };
    struct rec p = { .id = 7, .rearm_by = 3 };

    (void)state;
    pt_timer_arm(l.w, &p.t, 3);
    assert_int_equal(advance(&l, &clock, 30), 10); /* 3, 6, ..., 30 */
    assert_true(pt_timer_armed(&p.t));
    pt_timer_cancel(l.w, &p.t);
    pt_timer_wheel_free(l.w);
}

/* A long stall (many rotations in one advance) fires everything due in
 * one pass over the slots, and nothing that is not due. */
static void
test_timer_long_stall_one_pass(void **state)
{
    uint64_t clock = 0;
    struct log l = { .w = wheel(8, 0), .clock = &clock };
    struct rec r[20];

    (void)state;
    for (int i = 0; i < 20; i++) {
        r[i] = (struct rec){ .id = i };
        pt_timer_arm(l.w, &r[i].t, (uint64_t)(1 + i * 50));
    }
    clock = 500;
    assert_int_equal(pt_timer_advance(l.w, 500, on_fire, &l), 10);
    assert_int_equal(pt_timer_count(l.w), 10);
    for (int i = 0; i < 20; i++)
        assert_int_equal(pt_timer_armed(&r[i].t), 1 + i * 50 > 500);
    clock = 10000;
    assert_int_equal(pt_timer_advance(l.w, 10000, on_fire, &l), 10);
    assert_int_equal(pt_timer_advance(l.w, 9000, on_fire, &l), 0); /* back */
    pt_timer_wheel_free(l.w);
}

static void
test_timer_create_bad_args(void **state)
{
    (void)state;
    assert_null(pt_timer_wheel_create(0, 0, SOCKET_ID_ANY));
    assert_null(pt_timer_wheel_create((1u << 24) + 1, 0, SOCKET_ID_ANY));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_fires_in_tick_order),
        cmocka_unit_test(test_timer_cancel_and_rearm),
        cmocka_unit_test(test_timer_past_expiry_fires_next_tick),
        cmocka_unit_test(test_timer_callback_rearms_periodic),
        cmocka_unit_test(test_timer_long_stall_one_pass),
        cmocka_unit_test(test_timer_create_bad_args),
    };

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
