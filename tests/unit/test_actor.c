/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the per-core actor id table (dataplane/actor.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_errno.h>

#include <petrel/actor.h>

#include "pt_test.h"

static int objs[1024]; /* things to name; only their addresses matter */

static struct pt_actor_table *
table(unsigned core, uint32_t max_slots)
{
    struct pt_actor_table *t = pt_actor_table_create(core, max_slots,
                                                     SOCKET_ID_ANY);

    assert_non_null(t);
    return t;
}

static struct pt_actor_stats
stats(const struct pt_actor_table *t)
{
    struct pt_actor_stats st;

    pt_actor_stats(t, &st);
    return st;
}

/* id with its core field replaced */
static uint64_t
with_core(uint64_t id, unsigned core)
{
    return (id & ~((uint64_t)PT_ACTOR_CORE_MAX << PT_ACTOR_CORE_SHIFT)) |
           (uint64_t)core << PT_ACTOR_CORE_SHIFT;
}

/* id with its generation field replaced */
static uint64_t
with_gen(uint64_t id, uint32_t gen)
{
    return (id & ~((uint64_t)PT_ACTOR_GEN_MAX << PT_ACTOR_GEN_SHIFT)) |
           (uint64_t)gen << PT_ACTOR_GEN_SHIFT;
}

static void
test_actor_round_trip(void **state)
{
    struct pt_actor_table *t = table(3, 8);
    uint64_t id[3];

    (void)state;
    for (int i = 0; i < 3; i++) {
        id[i] = pt_actor_alloc(t, &objs[i]);
        assert_true(id[i] != PT_ACTOR_ID_NONE);
        assert_int_equal(pt_actor_core(id[i]), 3);
        assert_true(pt_actor_slot(id[i]) < 8);
        assert_int_equal(pt_actor_gen(id[i]), 1);
    }
    assert_true(id[0] != id[1] && id[1] != id[2] && id[0] != id[2]);
    assert_int_equal(stats(t).in_use, 3);
    assert_int_equal(stats(t).max, 8);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(pt_actor_lookup(t, id[i]), &objs[i]);
    assert_int_equal(pt_actor_release(t, id[1]), 0);
    assert_ptr_equal(pt_actor_lookup(t, id[0]), &objs[0]);
    assert_ptr_equal(pt_actor_lookup(t, id[2]), &objs[2]);
    assert_int_equal(pt_actor_release(t, id[0]), 0);
    assert_int_equal(pt_actor_release(t, id[2]), 0);
    assert_int_equal(stats(t).in_use, 0);
    assert_int_equal(stats(t).stale_lookups, 0);
    pt_actor_table_free(t);
}

/* One slot, so every alloc reuses it: the old ids must stay dead. */
static void
test_actor_stale_id_never_resolves(void **state)
{
    struct pt_actor_table *t = table(0, 1);
    uint64_t old[50];

    (void)state;
    for (int i = 0; i < 50; i++) {
        old[i] = pt_actor_alloc(t, &objs[i]);
        assert_int_equal(pt_actor_slot(old[i]), 0);
        assert_ptr_equal(pt_actor_lookup(t, old[i]), &objs[i]);
        for (int j = 0; j < i; j++) {
            assert_true(old[j] != old[i]);
            assert_null(pt_actor_lookup(t, old[j])); /* slot reused */
        }
        assert_int_equal(pt_actor_release(t, old[i]), 0);
        assert_null(pt_actor_lookup(t, old[i])); /* slot free */
    }
    assert_int_equal(stats(t).stale_lookups, 50 + 49 * 50 / 2);
    assert_int_equal(stats(t).in_use, 0);
    pt_actor_table_free(t);
}

static void
test_actor_wrong_core_refused(void **state)
{
    struct pt_actor_table *a = table(2, 4);
    struct pt_actor_table *b = table(5, 4);
    uint64_t ia = pt_actor_alloc(a, &objs[0]);
    uint64_t ib = pt_actor_alloc(b, &objs[1]);

    (void)state;
    /* same slot and generation, different core */
    assert_int_equal(pt_actor_slot(ia), pt_actor_slot(ib));
    assert_int_equal(ib, with_core(ia, 5));
    assert_null(pt_actor_lookup(a, ib));
    assert_null(pt_actor_lookup(b, ia));
    assert_null(pt_actor_lookup(a, with_core(ia, PT_ACTOR_CORE_MAX)));
    assert_int_equal(pt_actor_release(a, ib), -ENOENT);
    assert_ptr_equal(pt_actor_lookup(a, ia), &objs[0]); /* untouched */
    assert_int_equal(stats(a).stale_lookups, 2);
    assert_int_equal(stats(a).stale_releases, 1);
    assert_int_equal(pt_actor_release(a, ia), 0);
    assert_int_equal(pt_actor_release(b, ib), 0);
    pt_actor_table_free(a);
    pt_actor_table_free(b);
}

/* Core 0, slot 0, first generation: the id closest to 0 is still not 0,
 * and no generation-0 id resolves, live slot or not. */
static void
test_actor_id_zero_never_valid(void **state)
{
    struct pt_actor_table *t = table(0, 2);
    uint64_t id;

    (void)state;
    assert_null(pt_actor_lookup(t, PT_ACTOR_ID_NONE));
    id = pt_actor_alloc(t, &objs[0]);
    assert_int_equal(pt_actor_slot(id), 0);
    assert_true(id != PT_ACTOR_ID_NONE);
    assert_null(pt_actor_lookup(t, PT_ACTOR_ID_NONE));
    assert_null(pt_actor_lookup(t, with_gen(id, 0)));
    assert_int_equal(pt_actor_release(t, PT_ACTOR_ID_NONE), -ENOENT);
    assert_ptr_equal(pt_actor_lookup(t, id), &objs[0]);
    assert_int_equal(pt_actor_release(t, id), 0);
    for (int i = 0; i < 1000; i++) {
        id = pt_actor_alloc(t, &objs[i]);
        assert_true(id != PT_ACTOR_ID_NONE);
        assert_true(pt_actor_gen(id) != 0);
        assert_int_equal(pt_actor_release(t, id), 0);
    }
    pt_actor_table_free(t);
}

static void
test_actor_full_returns_zero_and_counts(void **state)
{
    struct pt_actor_table *t = table(1, 4);
    uint64_t id[4];

    (void)state;
    for (int i = 0; i < 4; i++)
        id[i] = pt_actor_alloc(t, &objs[i]);
    assert_int_equal(pt_actor_alloc(t, &objs[4]), PT_ACTOR_ID_NONE);
    assert_int_equal(pt_actor_alloc(t, &objs[5]), PT_ACTOR_ID_NONE);
    assert_int_equal(stats(t).alloc_failures, 2);
    assert_int_equal(stats(t).in_use, 4);
    for (int i = 0; i < 4; i++) /* failures disturbed nobody */
        assert_ptr_equal(pt_actor_lookup(t, id[i]), &objs[i]);
    assert_int_equal(pt_actor_release(t, id[2]), 0);
    id[2] = pt_actor_alloc(t, &objs[6]);
    assert_true(id[2] != PT_ACTOR_ID_NONE);
    assert_ptr_equal(pt_actor_lookup(t, id[2]), &objs[6]);
    assert_int_equal(stats(t).alloc_failures, 2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pt_actor_release(t, id[i]), 0);
    assert_int_equal(stats(t).in_use, 0);
    pt_actor_table_free(t);
}

static void
test_actor_release_twice_enoent(void **state)
{
    struct pt_actor_table *t = table(4, 4);
    uint64_t a = pt_actor_alloc(t, &objs[0]);
    uint64_t b = pt_actor_alloc(t, &objs[1]);

    (void)state;
    assert_int_equal(pt_actor_release(t, a), 0);
    assert_int_equal(pt_actor_release(t, a), -ENOENT);
    assert_int_equal(stats(t).in_use, 1);
    assert_int_equal(stats(t).stale_releases, 1);
    assert_ptr_equal(pt_actor_lookup(t, b), &objs[1]);
    /* the second release did not put the slot on the free list twice:
     * three allocs fill the table, the fourth fails */
    for (int i = 0; i < 3; i++)
        assert_true(pt_actor_alloc(t, &objs[2 + i]) != PT_ACTOR_ID_NONE);
    assert_int_equal(pt_actor_alloc(t, &objs[5]), PT_ACTOR_ID_NONE);
    pt_actor_table_free(t);
}

static void
test_actor_out_of_range_slot_refused(void **state)
{
    struct pt_actor_table *t = table(6, 4);
    uint64_t id = pt_actor_alloc(t, &objs[0]);

    (void)state;
    assert_null(pt_actor_lookup(t, id + 4));              /* slot 4 */
    assert_null(pt_actor_lookup(t, id | UINT32_MAX));     /* slot max */
    assert_int_equal(pt_actor_release(t, id + 4), -ENOENT);
    assert_null(pt_actor_lookup(t, id + 1));              /* free slot 1 */
    assert_int_equal(stats(t).stale_lookups, 3);
    assert_int_equal(pt_actor_release(t, id), 0);
    pt_actor_table_free(t);
}

/* At the top generation a release wraps to 1, skipping 0, and the slot
 * stays in service; ids of both sides of the wrap are dead. */
static void
test_actor_gen_wrap_skips_zero(void **state)
{
    struct pt_actor_table *t;
    uint64_t a, b, c;

    (void)state;
    t = pt_actor_table_create_at_gen(9, 1, SOCKET_ID_ANY,
                                     PT_ACTOR_GEN_MAX - 1);
    assert_non_null(t);
    a = pt_actor_alloc(t, &objs[0]);
    assert_int_equal(pt_actor_gen(a), PT_ACTOR_GEN_MAX - 1);
    assert_int_equal(pt_actor_release(t, a), 0);
    b = pt_actor_alloc(t, &objs[1]);
    assert_int_equal(pt_actor_gen(b), PT_ACTOR_GEN_MAX);
    assert_int_equal(stats(t).gen_wraps, 0);
    assert_int_equal(pt_actor_release(t, b), 0);
    assert_int_equal(stats(t).gen_wraps, 1);
    c = pt_actor_alloc(t, &objs[2]);
    assert_true(c != PT_ACTOR_ID_NONE);
    assert_int_equal(pt_actor_gen(c), 1);
    assert_int_equal(pt_actor_core(c), 9);
    assert_ptr_equal(pt_actor_lookup(t, c), &objs[2]);
    assert_null(pt_actor_lookup(t, a));
    assert_null(pt_actor_lookup(t, b));
    assert_null(pt_actor_lookup(t, with_gen(c, 0)));
    assert_int_equal(pt_actor_release(t, c), 0);
    pt_actor_table_free(t);
}

/* The documented, accepted ABA: an id held through exactly 2^24 - 1 reuses
 * of its slot resolves again (to the new object). If the wrap policy
 * changes (e.g. retiring slots), this test must change with it. */
static void
test_actor_gen_wrap_aba_after_full_cycle(void **state)
{
    struct pt_actor_table *t = table(0, 1);
    uint64_t first = pt_actor_alloc(t, &objs[0]);
    uint64_t id = first;

    (void)state;
    for (uint32_t i = 0; i < PT_ACTOR_GEN_MAX; i++) {
        assert_int_equal(pt_actor_release(t, id), 0);
        id = pt_actor_alloc(t, &objs[1]);
        if (i + 1 < PT_ACTOR_GEN_MAX && id == first)
            fail_msg("id came back after %u reuses", i + 1);
    }
    assert_int_equal(id, first);
    assert_int_equal(stats(t).gen_wraps, 1);
    assert_int_equal(pt_actor_release(t, id), 0);
    pt_actor_table_free(t);
}

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define CHURN_SLOTS 97
#define CHURN_DEAD  4096
#define CHURN_OPS   200000

/* Random alloc / release / bogus release against a model: every live id
 * resolves to its object, every dead id resolves to nothing. */
static void
test_actor_churn_matches_model(void **state)
{
    struct pt_actor_table *t = table(7, CHURN_SLOTS);
    uint64_t live[CHURN_SLOTS];
    int *live_obj[CHURN_SLOTS];
    static uint64_t dead[CHURN_DEAD];
    unsigned n_live = 0, n_dead = 0, dead_pos = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull, fails = 0, bogus = 0;

    (void)state;
    for (unsigned op = 0; op < CHURN_OPS; op++) {
        unsigned r = (unsigned)(rnd(&seed) % 100);

        if (r < 50) {
            int *o = &objs[rnd(&seed) % 1024];
            uint64_t id = pt_actor_alloc(t, o);

            if (n_live == CHURN_SLOTS) {
                assert_int_equal(id, PT_ACTOR_ID_NONE);
                fails++;
                continue;
            }
            assert_true(id != PT_ACTOR_ID_NONE);
            assert_int_equal(pt_actor_core(id), 7);
            for (unsigned i = 0; i < n_live; i++)
                assert_true(live[i] != id);
            live[n_live] = id;
            live_obj[n_live++] = o;
        } else if (r < 95 && n_live > 0) {
            unsigned i = (unsigned)(rnd(&seed) % n_live);

            assert_int_equal(pt_actor_release(t, live[i]), 0);
            dead[dead_pos] = live[i];
            dead_pos = (dead_pos + 1) % CHURN_DEAD;
            if (n_dead < CHURN_DEAD)
                n_dead++;
            live[i] = live[--n_live];
            live_obj[i] = live_obj[n_live];
        } else if (n_dead > 0) {
            uint64_t id = dead[rnd(&seed) % n_dead];

            assert_int_equal(pt_actor_release(t, id), -ENOENT);
            bogus++;
        }
        if (op % 997 == 0 || op == CHURN_OPS - 1) {
            for (unsigned i = 0; i < n_live; i++)
                assert_ptr_equal(pt_actor_lookup(t, live[i]), live_obj[i]);
            for (unsigned i = 0; i < n_dead; i++)
                assert_null(pt_actor_lookup(t, dead[i]));
            assert_int_equal(stats(t).in_use, n_live);
        }
    }
    assert_true(fails > 0); /* the table did fill up */
    assert_int_equal(stats(t).alloc_failures, fails);
    assert_int_equal(stats(t).stale_releases, bogus);
    while (n_live > 0)
        assert_int_equal(pt_actor_release(t, live[--n_live]), 0);
    assert_int_equal(stats(t).in_use, 0);
    pt_actor_table_free(t);
}

static void
test_actor_create_bad_args(void **state)
{
    (void)state;
    rte_errno = 0;
    assert_null(pt_actor_table_create(PT_ACTOR_CORE_MAX + 1, 4,
                                      SOCKET_ID_ANY));
    assert_int_equal(rte_errno, EINVAL);
    rte_errno = 0;
    assert_null(pt_actor_table_create(0, 0, SOCKET_ID_ANY));
    assert_int_equal(rte_errno, EINVAL);
    rte_errno = 0;
    assert_null(pt_actor_table_create(0, PT_ACTOR_SLOTS_MAX + 1,
                                      SOCKET_ID_ANY));
    assert_int_equal(rte_errno, EINVAL);
    rte_errno = 0;
    assert_null(pt_actor_table_create_at_gen(0, 4, SOCKET_ID_ANY, 0));
    assert_int_equal(rte_errno, EINVAL);
    rte_errno = 0;
    assert_null(pt_actor_table_create_at_gen(0, 4, SOCKET_ID_ANY,
                                             PT_ACTOR_GEN_MAX + 1));
    assert_int_equal(rte_errno, EINVAL);
    pt_actor_table_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_actor_round_trip),
        cmocka_unit_test(test_actor_stale_id_never_resolves),
        cmocka_unit_test(test_actor_wrong_core_refused),
        cmocka_unit_test(test_actor_id_zero_never_valid),
        cmocka_unit_test(test_actor_full_returns_zero_and_counts),
        cmocka_unit_test(test_actor_release_twice_enoent),
        cmocka_unit_test(test_actor_out_of_range_slot_refused),
        cmocka_unit_test(test_actor_gen_wrap_skips_zero),
        cmocka_unit_test(test_actor_gen_wrap_aba_after_full_cycle),
        cmocka_unit_test(test_actor_churn_matches_model),
        cmocka_unit_test(test_actor_create_bad_args),
    };

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("actor", tests, NULL, NULL);
}
