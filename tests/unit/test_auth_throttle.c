/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the failed-login throttle (control/auth_throttle.c): the
 * limit and the doubling block, forgetting on success, expiry, LRU
 * eviction of a full table, and a flood that must not grow memory. The
 * password file is tested apart, in test_auth_passwd.c.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/auth.h>

static const struct pt_throttle_policy pol3 = { 3, 1000, 60000 };

static uint64_t
blocked(struct pt_throttle *t, const char *key, uint64_t now,
        const struct pt_throttle_policy *p)
{
    return pt_throttle_blocked(t, key, strlen(key), now, p);
}

static void
fail_key(struct pt_throttle *t, const char *key, uint64_t now,
         const struct pt_throttle_policy *p)
{
    pt_throttle_fail(t, key, strlen(key), now, p);
}

static struct pt_throttle_stats
stats(const struct pt_throttle *t)
{
    struct pt_throttle_stats st;

    pt_throttle_stats(t, &st);
    return st;
}

static void
test_auth_throttle_blocks_after_limit(void **state)
{
    struct pt_throttle *t = pt_throttle_create(64);

    (void)state;
    assert_non_null(t);
    assert_int_equal(blocked(t, "ip", 100, &pol3), 0);
    fail_key(t, "ip", 100, &pol3);
    fail_key(t, "ip", 100, &pol3);
    assert_int_equal(blocked(t, "ip", 100, &pol3), 0);
    assert_int_equal(stats(t).blocks, 0);
    fail_key(t, "ip", 200, &pol3);
    assert_int_equal(blocked(t, "ip", 200, &pol3), 1200);
    assert_int_equal(blocked(t, "ip", 1199, &pol3), 1200);
    assert_int_equal(blocked(t, "ip", 1200, &pol3), 0);
    assert_int_equal(stats(t).blocks, 1);
    assert_int_equal(stats(t).in_use, 1);
    assert_int_equal(stats(t).capacity, 64);
    pt_throttle_destroy(t);

    /* a limit of 0 acts as 1 */
    t = pt_throttle_create(16);
    fail_key(t, "ip", 0, &(struct pt_throttle_policy){ 0, 10, 100 });
    assert_int_equal(blocked(t, "ip", 0, &pol3), 10);
    pt_throttle_destroy(t);

    errno = 0;
    assert_null(pt_throttle_create(0));
    assert_int_equal(errno, EINVAL);
}

/* Each failure past the limit doubles the block, counted also while
 * blocked, up to block_max_ms. */
static void
test_auth_throttle_doubling_and_cap(void **state)
{
    static const struct pt_throttle_policy p = { 2, 1000, 10000 };
    static const uint64_t want[] = { 0, 1000, 2000, 4000, 8000, 10000, 10000 };
    struct pt_throttle *t = pt_throttle_create(16);
    uint64_t now = 5000;

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        fail_key(t, "u", now, &p);
        assert_int_equal(blocked(t, "u", now, &p),
                         want[i] ? now + want[i] : 0);
        now += 10;                  /* retrying while blocked */
    }
    assert_int_equal(stats(t).blocks, 1);

    /* very many failures do not overflow the shift */
    for (int i = 0; i < 100; i++)
        fail_key(t, "u", now, &p);
    assert_int_equal(blocked(t, "u", now, &p), now + 10000);

    /* after a block ends the count is kept: the next failure blocks
     * again at once, twice as long, and counts as a new block */
    fail_key(t, "w", 0, &p);
    fail_key(t, "w", 0, &p);
    assert_int_equal(blocked(t, "w", 999, &p), 1000);
    assert_int_equal(blocked(t, "w", 1000, &p), 0);
    fail_key(t, "w", 1000, &p);
    assert_int_equal(blocked(t, "w", 1000, &p), 3000);
    assert_int_equal(stats(t).blocks, 3);
    pt_throttle_destroy(t);
}

static void
test_auth_throttle_forget_on_success(void **state)
{
    struct pt_throttle *t = pt_throttle_create(16);

    (void)state;
    for (int i = 0; i < 3; i++)
        fail_key(t, "ip", 0, &pol3);
    assert_int_not_equal(blocked(t, "ip", 0, &pol3), 0);
    pt_throttle_forget(t, "ip", 2);
    assert_int_equal(blocked(t, "ip", 0, &pol3), 0);
    assert_int_equal(stats(t).in_use, 0);
    /* the count starts over */
    fail_key(t, "ip", 0, &pol3);
    fail_key(t, "ip", 0, &pol3);
    assert_int_equal(blocked(t, "ip", 0, &pol3), 0);
    pt_throttle_forget(t, "absent", 6);
    assert_int_equal(stats(t).in_use, 1);
    pt_throttle_destroy(t);
}

/* A key quiet for block_max_ms and not blocked is forgotten; a blocked
 * key is not. */
static void
test_auth_throttle_expiry(void **state)
{
    static const struct pt_throttle_policy p = { 3, 1000, 5000 };
    static const struct pt_throttle_policy q = { 1, 4000, 5000 };
    struct pt_throttle *t = pt_throttle_create(16);

    (void)state;
    fail_key(t, "a", 0, &p);
    fail_key(t, "a", 0, &p);
    fail_key(t, "a", 5000, &p);     /* the first two are forgotten */
    assert_int_equal(blocked(t, "a", 5000, &p), 0);
    fail_key(t, "a", 9999, &p);
    assert_int_equal(blocked(t, "a", 9999, &p), 0);
    fail_key(t, "a", 9999, &p);     /* third within the window */
    assert_int_equal(blocked(t, "a", 9999, &p), 10999);
    /* quiet for block_max: gone from the table */
    assert_int_equal(stats(t).in_use, 1);
    assert_int_equal(blocked(t, "a", 14998, &p), 0);
    assert_int_equal(stats(t).in_use, 1);
    assert_int_equal(blocked(t, "a", 14999, &p), 0);
    assert_int_equal(stats(t).in_use, 0);

    /* blocked at 4500 until 9500: kept while blocked, forgotten after */
    fail_key(t, "b", 0, &q);
    assert_int_equal(blocked(t, "b", 0, &q), 4000);
    fail_key(t, "b", 4500, &q);
    assert_int_equal(blocked(t, "b", 4500, &q), 9500);
    assert_int_equal(blocked(t, "b", 9499, &q), 9500);
    assert_int_equal(stats(t).in_use, 1);
    assert_int_equal(blocked(t, "b", 9500, &q), 0);
    assert_int_equal(stats(t).in_use, 0);

    /* expired records are reaped by later failures of other keys */
    fail_key(t, "c", 0, &p);
    fail_key(t, "d", 0, &p);
    fail_key(t, "e", 6000, &p);
    assert_int_equal(stats(t).in_use, 1);
    pt_throttle_destroy(t);

    /* an expired record met before it is reaped starts over */
    t = pt_throttle_create(16);
    for (int i = 0; i < 3; i++)
        fail_key(t, "f", 0, &p);    /* blocked until 1000 */
    fail_key(t, "g", 1, &p);
    fail_key(t, "h", 2, &p);
    fail_key(t, "i", 3, &p);        /* LRU: f g h i, all quiet at 5003 */
    fail_key(t, "i", 5003, &p);     /* reaps f and g; i counts from 1 */
    fail_key(t, "i", 5003, &p);
    assert_int_equal(blocked(t, "i", 5003, &p), 0);
    assert_int_equal(stats(t).in_use, 1);   /* h went with the second */
    pt_throttle_destroy(t);

    /* a block outlives a block_max_ms lowered while it runs */
    t = pt_throttle_create(16);
    fail_key(t, "j", 0, &q);
    assert_int_equal(blocked(t, "j", 3000,
                             &(struct pt_throttle_policy){ 1, 10, 10 }),
                     4000);
    assert_int_equal(blocked(t, "j", 4000,
                             &(struct pt_throttle_policy){ 1, 10, 10 }), 0);
    assert_int_equal(stats(t).in_use, 0);
    pt_throttle_destroy(t);
}

static void
key_of(char *k, unsigned i)
{
    snprintf(k, 16, "k%u", i);
}

/* A full table evicts the least recently failed key, counted; reusing an
 * expired record is not an eviction. */
static void
test_auth_throttle_eviction(void **state)
{
    static const struct pt_throttle_policy p = { 1, 100000, 1000000 };
    struct pt_throttle *t = pt_throttle_create(16);
    char k[16];

    (void)state;
    for (unsigned i = 0; i < 16; i++) {
        key_of(k, i);
        fail_key(t, k, i, &p);
    }
    assert_int_equal(stats(t).in_use, 16);
    assert_int_equal(stats(t).evictions, 0);
    fail_key(t, "k1", 20, &p);      /* k1 is now recent */
    fail_key(t, "new", 21, &p);     /* evicts k0 */
    assert_int_equal(stats(t).evictions, 1);
    assert_int_equal(stats(t).in_use, 16);
    assert_int_equal(blocked(t, "k0", 22, &p), 0);
    assert_int_not_equal(blocked(t, "k1", 22, &p), 0);
    assert_int_not_equal(blocked(t, "k2", 22, &p), 0);
    assert_int_not_equal(blocked(t, "new", 22, &p), 0);
    fail_key(t, "new2", 23, &p);    /* evicts k2, not k1 */
    assert_int_equal(blocked(t, "k2", 24, &p), 0);
    assert_int_not_equal(blocked(t, "k1", 24, &p), 0);
    assert_int_equal(stats(t).evictions, 2);
    pt_throttle_destroy(t);

    /* all expired: a new key reuses a record without an eviction */
    t = pt_throttle_create(16);
    for (unsigned i = 0; i < 16; i++) {
        key_of(k, i);
        fail_key(t, k, 0, &pol3);
    }
    assert_int_equal(stats(t).in_use, 16);
    fail_key(t, "late", 60000, &pol3);
    assert_int_equal(stats(t).evictions, 0);
    assert_int_equal(stats(t).in_use, 16 - 2 + 1);  /* two reaped */
    pt_throttle_destroy(t);
}

/* 100k distinct source addresses and long user names: the table keeps its
 * capacity and its memory. */
static void
test_auth_throttle_flood_bounded(void **state)
{
    static const struct pt_throttle_policy p = { 5, 1000, 60000 };
    struct pt_throttle *t = pt_throttle_create(64);
    struct pt_throttle_stats st;
    struct mallinfo2 m0, m1;
    char *name = malloc(65535);

    (void)state;
    assert_non_null(name);
    memset(name, 'x', 65535);
    m0 = mallinfo2();
    for (uint32_t i = 0; i < 100000; i++) {
        /* a source address, and a user name (every 100th the longest) */
        size_t nl = i % 100 == 0 ? 65535 : 300;

        pt_throttle_fail(t, &i, sizeof(i), i / 100, &p);
        memcpy(name + nl - sizeof(i), &i, sizeof(i));
        pt_throttle_fail(t, name, nl, i / 100, &p);
        memset(name + nl - sizeof(i), 'x', sizeof(i));
    }
    m1 = mallinfo2();
    assert_int_equal(m1.uordblks, m0.uordblks);
    st = stats(t);
    assert_int_equal(st.capacity, 64);
    assert_int_equal(st.in_use, 64);
    assert_int_equal(st.evictions, 200000 - 64);
    assert_int_equal(st.blocks, 0);
    free(name);
    pt_throttle_destroy(t);
}

/* Keys that differ in a byte, in length, or only past the inline size
 * are independent. */
static void
test_auth_throttle_keys_independent(void **state)
{
    static const struct pt_throttle_policy p = { 2, 1000, 60000 };
    static const uint8_t ip1[4] = { 10, 0, 0, 1 }, ip2[4] = { 10, 0, 0, 2 };
    struct pt_throttle *t = pt_throttle_create(256);
    char l1[300], l2[300];

    (void)state;
    pt_throttle_fail(t, ip1, 4, 0, &p);
    pt_throttle_fail(t, ip1, 4, 0, &p);
    assert_int_not_equal(pt_throttle_blocked(t, ip1, 4, 0, &p), 0);
    assert_int_equal(pt_throttle_blocked(t, ip2, 4, 0, &p), 0);
    assert_int_equal(pt_throttle_blocked(t, ip1, 3, 0, &p), 0);
    assert_int_equal(pt_throttle_blocked(t, "", 0, 0, &p), 0);

    fail_key(t, "abc", 0, &p);
    fail_key(t, "ab", 0, &p);
    fail_key(t, "abcd", 0, &p);
    assert_int_equal(blocked(t, "abc", 0, &p), 0);

    /* long keys (stored by hash) differing in the last byte */
    memset(l1, 'u', sizeof(l1));
    memset(l2, 'u', sizeof(l2));
    l2[sizeof(l2) - 1] = 'v';
    pt_throttle_fail(t, l1, sizeof(l1), 0, &p);
    pt_throttle_fail(t, l1, sizeof(l1), 0, &p);
    assert_int_not_equal(pt_throttle_blocked(t, l1, sizeof(l1), 0, &p), 0);
    assert_int_equal(pt_throttle_blocked(t, l2, sizeof(l2), 0, &p), 0);
    assert_int_equal(pt_throttle_blocked(t, l1, sizeof(l1) - 1, 0, &p), 0);
    /* 16 bytes (inline) and 17 (hashed) with the same prefix */
    pt_throttle_fail(t, l1, 16, 0, &p);
    pt_throttle_fail(t, l1, 16, 0, &p);
    assert_int_not_equal(pt_throttle_blocked(t, l1, 16, 0, &p), 0);
    assert_int_equal(pt_throttle_blocked(t, l1, 17, 0, &p), 0);
    pt_throttle_forget(t, l1, sizeof(l1));
    assert_int_equal(pt_throttle_blocked(t, l1, sizeof(l1), 0, &p), 0);
    assert_int_not_equal(pt_throttle_blocked(t, ip1, 4, 0, &p), 0);
    pt_throttle_destroy(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_throttle_blocks_after_limit),
        cmocka_unit_test(test_auth_throttle_doubling_and_cap),
        cmocka_unit_test(test_auth_throttle_forget_on_success),
        cmocka_unit_test(test_auth_throttle_expiry),
        cmocka_unit_test(test_auth_throttle_eviction),
        cmocka_unit_test(test_auth_throttle_flood_bounded),
        cmocka_unit_test(test_auth_throttle_keys_independent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
