/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the global MQTT route table (dataplane/mqtt_route.c):
 * add/del/match semantics with wildcards and '$' topics, sequence numbers
 * that become visible only after every online reader reported a quiescent
 * state (readers simulated by this thread through their QSBR ids), both
 * copies equal after the replays (compared by swapping onto each), -ENOSPC
 * changing nothing in both states, and two reader threads matching while
 * the writer stages and publishes 15,000 changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include <petrel/mqtt.h>
#include <petrel/mqtt_route.h>
#include <petrel/mqtt_trie.h>

#include "pt_test.h"

#define MAX_ROUTES ((PT_MQTT_TRIE_MAX_POOL - PT_MQTT_TRIE_MAX_LEVELS - 1) / 2)

static struct pt_mqtt_route *
route(unsigned cores, uint32_t max)
{
    struct pt_mqtt_route *r = pt_mqtt_route_create(cores, max, SOCKET_ID_ANY);

    assert_non_null(r);
    return r;
}

static int64_t
add(struct pt_mqtt_route *r, const char *f, unsigned core)
{
    return pt_mqtt_route_add(r, f, strlen(f), core);
}

static int64_t
del(struct pt_mqtt_route *r, const char *f, unsigned core)
{
    return pt_mqtt_route_del(r, f, strlen(f), core);
}

static uint64_t
match(const struct pt_mqtt_route *r, const char *topic)
{
    return pt_mqtt_route_match(r, topic, strlen(topic));
}

static struct pt_mqtt_route_stats
stats(const struct pt_mqtt_route *r)
{
    struct pt_mqtt_route_stats st;

    pt_mqtt_route_stats(r, &st);
    return st;
}

/* With no reader registered every grace period is over at once. */
static void
test_mqtt_route_add_del_match(void **state)
{
    struct pt_mqtt_route *r = route(4, 64);
    int64_t s;

    (void)state;
    uint64_t g = pt_mqtt_route_gen(r);

    assert_int_equal(add(r, "sport/#", 0), 1);
    assert_int_equal(pt_mqtt_route_gen(r), g);      /* staged only */
    assert_int_equal(add(r, "sport/+", 1), 2);
    assert_int_equal(add(r, "+/x", 2), 3);
    assert_int_equal(add(r, "#", 3), 4);
    assert_int_equal(add(r, "$SYS/#", 1), 5);
    assert_int_equal(add(r, "sport/+", 2), 6); /* same filter, other core */
    /* staged, not yet published */
    assert_int_equal(match(r, "sport/x"), 0);
    assert_int_equal(stats(r).pending, 6);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 0);
    pt_mqtt_route_poll(r);
    assert_true(pt_mqtt_route_gen(r) != g);         /* swapped */
    assert_int_equal(pt_mqtt_route_visible_seq(r), 6);
    assert_int_equal(match(r, "sport"), 0x9);      /* sport/# parent, # */
    assert_int_equal(match(r, "sport/x"), 0xf);
    assert_int_equal(match(r, "sport/x/y"), 0x9);
    assert_int_equal(match(r, "a/x"), 0xc);
    assert_int_equal(match(r, "$SYS/x"), 0x2);     /* no '#', no '+/x' */
    assert_int_equal(match(r, "$SYS"), 0x2);
    assert_int_equal(stats(r).routes_used, 6);
    assert_int_equal(stats(r).filters, 5);
    assert_int_equal(stats(r).pending, 0);

    assert_int_equal(del(r, "sport/+", 1), 7);
    assert_int_equal(del(r, "nothing/here", 1), 8);  /* no-op, numbered */
    assert_int_equal(add(r, "sport/#", 0), 9);       /* no-op, numbered */
    pt_mqtt_route_poll(r);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 9);
    assert_int_equal(match(r, "sport/x"), 0xd);
    assert_int_equal(stats(r).routes_used, 5);
    assert_int_equal(del(r, "sport/+", 2), 10);
    assert_int_equal(del(r, "#", 3), 11);
    pt_mqtt_route_poll(r);
    assert_int_equal(match(r, "sport/x"), 0x5);
    assert_int_equal(match(r, "other"), 0);
    assert_int_equal(stats(r).filters, 3);

    /* refused: nothing staged, no number used */
    assert_int_equal(add(r, "a", 4), -EINVAL);
    assert_int_equal(add(r, "a/#/b", 0), -EINVAL);
    assert_int_equal(add(r, "", 0), -EINVAL);
    assert_int_equal(del(r, "a+", 0), -EINVAL);
    s = add(r, "ok", 3);
    assert_int_equal(s, 12);
    assert_int_equal(stats(r).swaps, 3);
    assert_int_equal(stats(r).grace_periods, 3);
    pt_mqtt_route_free(r);
}

static void
test_mqtt_route_bad_create(void **state)
{
    struct pt_mqtt_route *r;

    (void)state;
    rte_errno = 0;
    assert_null(pt_mqtt_route_create(0, 16, SOCKET_ID_ANY));
    assert_int_equal(rte_errno, EINVAL);
    assert_null(pt_mqtt_route_create(65, 16, SOCKET_ID_ANY));
    assert_null(pt_mqtt_route_create(4, 0, SOCKET_ID_ANY));
    assert_null(pt_mqtt_route_create(4, PT_MQTT_TRIE_MAX_POOL, SOCKET_ID_ANY));
    assert_int_equal(rte_errno, EINVAL);
    assert_int_equal(pt_mqtt_route_memory(0, 16), 0);
    assert_int_equal(pt_mqtt_route_memory(65, 16), 0);
    assert_int_equal(pt_mqtt_route_memory(4, 0), 0);
    /* the largest table: two nodes per route and one deep filter fit
     * PT_MQTT_TRIE_MAX_POOL nodes */
    assert_true(pt_mqtt_route_memory(64, MAX_ROUTES) > 2ull * MAX_ROUTES * 100);
    assert_int_equal(pt_mqtt_route_memory(64, MAX_ROUTES + 1), 0);
    pt_mqtt_route_free(NULL);

    r = route(64, 1000);
    assert_true(stats(r).bytes_allocated > 2 * 1000 * 100);
    assert_true(stats(r).bytes_allocated <= pt_mqtt_route_memory(64, 1000));
    assert_int_equal(stats(r).routes_max, 1000);
    assert_int_equal(add(r, "a", 63), 1);
    pt_mqtt_route_poll(r);
    assert_int_equal(match(r, "a"), UINT64_C(1) << 63);
    pt_mqtt_route_free(r);
}

/* Readers 0..2 are ids this thread reports for. */
static void
test_mqtt_route_visible_after_quiescent(void **state)
{
    struct pt_mqtt_route *r = route(4, 64);

    (void)state;
    for (unsigned c = 0; c < 3; c++)
        pt_mqtt_route_reader_register(r, c);
    assert_int_equal(add(r, "a", 3), 1);
    pt_mqtt_route_poll(r);
    /* published: the next match sees it, but stragglers may not */
    assert_int_equal(match(r, "a"), 0x8);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 0);
    pt_mqtt_route_quiescent(r, 0);
    pt_mqtt_route_quiescent(r, 1);
    pt_mqtt_route_poll(r);
    pt_mqtt_route_poll(r);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 0); /* reader 2 lags */
    assert_int_equal(stats(r).grace_periods, 0);

    /* staged during the grace period: on no copy until it ends */
    assert_int_equal(add(r, "b", 2), 2);
    pt_mqtt_route_poll(r);
    assert_int_equal(match(r, "b"), 0);
    assert_int_equal(stats(r).pending, 2);
    pt_mqtt_route_quiescent(r, 2);
    pt_mqtt_route_poll(r); /* round 1 over, round 2 published at once */
    assert_int_equal(pt_mqtt_route_visible_seq(r), 1);
    assert_int_equal(match(r, "b"), 0x4);
    assert_int_equal(match(r, "a"), 0x8);
    assert_int_equal(stats(r).swaps, 2);
    assert_int_equal(stats(r).pending, 1);
    for (unsigned c = 0; c < 3; c++) {
        pt_mqtt_route_poll(r);
        assert_int_equal(pt_mqtt_route_visible_seq(r), 1);
        pt_mqtt_route_quiescent(r, c);
    }
    pt_mqtt_route_poll(r);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 2);
    assert_int_equal(stats(r).pending, 0);

    /* an offline reader does not hold grace periods back */
    pt_mqtt_route_reader_offline(r, 2);
    assert_int_equal(del(r, "a", 3), 3);
    pt_mqtt_route_poll(r);
    pt_mqtt_route_quiescent(r, 0);
    pt_mqtt_route_quiescent(r, 1);
    pt_mqtt_route_poll(r);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 3);
    /* back online, it does again */
    pt_mqtt_route_reader_online(r, 2);
    assert_int_equal(del(r, "b", 2), 4);
    pt_mqtt_route_poll(r);
    pt_mqtt_route_quiescent(r, 0);
    pt_mqtt_route_quiescent(r, 1);
    pt_mqtt_route_poll(r);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 3);
    /* nor does an unregistered one */
    pt_mqtt_route_reader_unregister(r, 2);
    pt_mqtt_route_poll(r);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 4);
    assert_int_equal(match(r, "a"), 0);
    assert_int_equal(match(r, "b"), 0);
    pt_mqtt_route_reader_unregister(r, 0);
    pt_mqtt_route_reader_unregister(r, 1);
    pt_mqtt_route_free(r);
}

/* ---- both copies hold the same routes ---- */

#define E_ROUTES 300
#define E_CORES 8

struct eroute {
    char f[32];
    unsigned core;
    bool live;
};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static unsigned
rnd(unsigned n)
{
    return pt_test_rnd(&rng, n);
}

static void
random_name(char *buf, bool filter)
{
    static const char *levels[] = { "a", "b", "", "$s" };
    unsigned n = 1 + rnd(4);

    buf[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        unsigned k = rnd(filter ? 6 : 3);
        const char *l = k < 3 ? levels[k] : "+";

        if (i == 0 && rnd(6) == 0)
            l = levels[3];
        else if (k == 5 && i == n - 1)
            l = "#";
        if (i > 0)
            strcat(buf, "/");
        strcat(buf, l);
    }
}

/* Compare the active copy with brute force over random topics. */
static void
check_topics(const struct pt_mqtt_route *r, const struct eroute *e,
             unsigned seed)
{
    char topic[32];
    unsigned hits = 0;

    rng = seed;
    for (unsigned k = 0; k < 800; k++) {
        uint64_t want = 0, got;

        do
            random_name(topic, false);
        while (topic[0] == '\0');
        for (unsigned i = 0; i < E_ROUTES; i++)
            if (e[i].live && pt_mqtt_topic_match(e[i].f, strlen(e[i].f),
                                                 topic, strlen(topic)))
                want |= UINT64_C(1) << e[i].core;
        got = match(r, topic);
        if (got != want)
            fail_msg("%s: cores %#" PRIx64 ", want %#" PRIx64, topic, got,
                     want);
        hits += want != 0;
    }
    assert_true(hits > 200);
}

/* Drain: report quiescent for reader 0 and poll until nothing is pending. */
static void
settle(struct pt_mqtt_route *r)
{
    for (unsigned i = 0; i < 8 && stats(r).pending != 0; i++) {
        pt_mqtt_route_quiescent(r, 0);
        pt_mqtt_route_poll(r);
    }
    assert_int_equal(stats(r).pending, 0);
}

static void
test_mqtt_route_copies_equal(void **state)
{
    static struct eroute e[E_ROUTES];
    struct pt_mqtt_route *r = route(E_CORES, 2 * E_ROUTES);
    uint64_t swaps, live = 0;

    (void)state;
    pt_mqtt_route_reader_register(r, 0);
    /* stage in both states: reader 0 is quiescent every third change */
    for (unsigned i = 0; i < E_ROUTES; i++) {
        do
            random_name(e[i].f, true);
        while (e[i].f[0] == '\0');
        e[i].core = rnd(E_CORES);
        for (unsigned j = 0; j < i; j++)
            if (e[j].live && e[j].core == e[i].core &&
                strcmp(e[j].f, e[i].f) == 0)
                e[j].live = false; /* a duplicate takes over */
        e[i].live = true;
        assert_true(add(r, e[i].f, e[i].core) > 0);
        if (i % 3 == 0)
            pt_mqtt_route_quiescent(r, 0);
        pt_mqtt_route_poll(r);
    }
    for (unsigned i = 0; i < E_ROUTES; i += 2) {
        if (!e[i].live)
            continue;
        assert_true(del(r, e[i].f, e[i].core) > 0);
        e[i].live = false;
        if (i % 3 == 0)
            pt_mqtt_route_quiescent(r, 0);
        pt_mqtt_route_poll(r);
    }
    settle(r);
    for (unsigned i = 0; i < E_ROUTES; i++)
        live += e[i].live;
    assert_int_equal(stats(r).routes_used, live);
    check_topics(r, e, 7);

    /* a no-op change swaps readers onto the other copy: same answers */
    swaps = stats(r).swaps;
    assert_true(del(r, "not/a/route", 0) > 0);
    pt_mqtt_route_poll(r);
    assert_int_equal(stats(r).swaps, swaps + 1);
    assert_int_equal(stats(r).routes_used, live);
    check_topics(r, e, 7);
    settle(r);
    assert_true(del(r, "not/a/route", 0) > 0);
    pt_mqtt_route_poll(r);
    assert_int_equal(stats(r).swaps, swaps + 2);
    check_topics(r, e, 11);
    settle(r);
    pt_mqtt_route_reader_unregister(r, 0);
    pt_mqtt_route_free(r);
}

/* ---- -ENOSPC changes nothing ---- */

static void
test_mqtt_route_enospc(void **state)
{
    /* 4 routes, 2 * 4 + 65 = 73 nodes per copy */
    struct pt_mqtt_route *r = route(2, 4);
    struct pt_mqtt_route_stats before;
    char deep[2 * PT_MQTT_TRIE_MAX_LEVELS];

    (void)state;
    for (unsigned i = 0; i < PT_MQTT_TRIE_MAX_LEVELS; i++) {
        deep[2 * i] = 'd';
        deep[2 * i + 1] = '/';
    }
    deep[2 * PT_MQTT_TRIE_MAX_LEVELS - 1] = '\0'; /* 64 levels, 64 nodes */

    /* IDLE: the real subscribe on the spare copy decides */
    assert_int_equal(add(r, "a", 0), 1);
    assert_int_equal(add(r, "b", 0), 2);
    assert_int_equal(add(r, "c", 1), 3);
    assert_int_equal(add(r, "d", 1), 4);
    assert_int_equal(add(r, "e", 1), -ENOSPC);     /* entries */
    assert_int_equal(add(r, "a", 0), 5);           /* existing: fine */
    assert_int_equal(stats(r).pending, 5);
    pt_mqtt_route_poll(r);
    before = stats(r);
    assert_int_equal(before.routes_used, 4);
    assert_int_equal(add(r, "e", 0), -ENOSPC);
    assert_int_equal(del(r, "d", 1), 6);           /* no number lost */
    pt_mqtt_route_poll(r);
    assert_int_equal(add(r, deep, 0), 7);          /* 64 nodes */
    deep[0] = 'x';
    assert_int_equal(add(r, deep, 1), -ENOSPC);    /* nodes */
    pt_mqtt_route_poll(r);
    assert_int_equal(match(r, "e"), 0);
    assert_int_equal(match(r, deep), 0);
    deep[0] = 'd';
    assert_int_equal(match(r, deep), 0x1);
    assert_int_equal(match(r, "a"), 0x1);
    assert_int_equal(stats(r).routes_used, 4);
    assert_int_equal(del(r, deep, 0), 8);
    assert_int_equal(del(r, "c", 1), 9);
    pt_mqtt_route_poll(r);
    assert_int_equal(stats(r).routes_used, 2);          /* a, b */

    /* GRACE: adds reserve the worst case against the active copy */
    pt_mqtt_route_reader_register(r, 0);
    assert_int_equal(add(r, "c", 1), 10);
    pt_mqtt_route_poll(r);                         /* published, grace */
    assert_int_equal(add(r, "d", 1), 11);          /* 4th: reserved */
    assert_int_equal(add(r, "e", 1), -ENOSPC);
    assert_int_equal(del(r, "a", 0), 12);          /* frees nothing yet */
    assert_int_equal(add(r, "e", 1), -ENOSPC);
    before = stats(r);
    assert_int_equal(before.pending, 3);
    assert_int_equal(before.routes_used, 3);
    pt_mqtt_route_quiescent(r, 0);
    pt_mqtt_route_poll(r);                         /* d, -a published */
    assert_int_equal(pt_mqtt_route_visible_seq(r), 10);
    assert_int_equal(match(r, "a"), 0);
    assert_int_equal(match(r, "d"), 0x2);
    assert_int_equal(match(r, "e"), 0);
    assert_int_equal(stats(r).routes_used, 3);
    /* once applied, the delete's room is usable (IDLE check is exact)... */
    pt_mqtt_route_quiescent(r, 0);
    pt_mqtt_route_poll(r);
    assert_int_equal(add(r, "e", 1), 13);
    assert_int_equal(add(r, "f", 1), -ENOSPC);
    settle(r);
    assert_int_equal(pt_mqtt_route_visible_seq(r), 13);
    /* ...and both copies agree */
    for (unsigned k = 0; k < 2; k++) {
        assert_int_equal(match(r, "a"), 0);
        assert_int_equal(match(r, "b"), 0x1);
        assert_int_equal(match(r, "c"), 0x2);
        assert_int_equal(match(r, "d"), 0x2);
        assert_int_equal(match(r, "e"), 0x2);
        assert_int_equal(stats(r).routes_used, 4);
        assert_int_equal(stats(r).filters, 4);
        assert_true(del(r, "none", 0) > 0);
        pt_mqtt_route_poll(r);
    }
    settle(r);
    pt_mqtt_route_reader_unregister(r, 0);
    pt_mqtt_route_free(r);
}

/* GRACE reservations count a level shared by queued adds once, and an
 * add of a pair the active copy has costs nothing. */
static void
test_mqtt_route_grace_reserve(void **state)
{
    /* 40 routes: 145 nodes, 72 chunks, 40 entries per copy */
    struct pt_mqtt_route *r = route(1, 40);
    const char *shared = "shared_level_name_of_30_bytes_/s2/s3"; /* 2 chunks */
    char f[64];

    (void)state;
    pt_mqtt_route_reader_register(r, 0);
    assert_int_equal(add(r, "x", 0), 1);
    pt_mqtt_route_poll(r);                         /* grace */
    /* unshared, each would reserve 4 nodes and 2 chunks: 39 x 4 > 144 */
    for (unsigned i = 0; i < 39; i++) {
        snprintf(f, sizeof(f), "%s/%u", shared, i);
        if (add(r, f, 0) <= 0)
            fail_msg("add %s refused", f);
    }
    snprintf(f, sizeof(f), "%s/x", shared);
    assert_int_equal(add(r, f, 0), -ENOSPC);       /* entries: 1 + 39 */
    assert_int_equal(add(r, "x", 0), 41);          /* has it: free */
    assert_int_equal(stats(r).pending, 41);
    settle(r);
    assert_int_equal(stats(r).routes_used, 40);
    snprintf(f, sizeof(f), "%s/38", shared);
    assert_int_equal(match(r, f), 0x1);
    assert_true(del(r, "none", 0) > 0);            /* look at the other */
    pt_mqtt_route_poll(r);
    assert_int_equal(stats(r).routes_used, 40);
    assert_int_equal(match(r, f), 0x1);
    settle(r);
    pt_mqtt_route_reader_unregister(r, 0);
    pt_mqtt_route_free(r);
}

/* ---- two reader threads against a busy writer ---- */

#define T_ROUTES 10000

static struct {
    struct pt_mqtt_route *r;
    char topic[T_ROUTES][24];
    uint64_t add_seq[T_ROUTES], del_seq[T_ROUTES];
    int phase;   /* 0 run, 1 verify and stop */
} T;

struct reader {
    pthread_t th;
    unsigned id;
    uint64_t matches, checked, errors, verify_errors;
};

static uint64_t
ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void *
reader_main(void *arg)
{
    struct reader *rd = arg;
    uint64_t x = 88172645463325252ull + rd->id;

    pt_mqtt_route_reader_register(T.r, rd->id);
    while (__atomic_load_n(&T.phase, __ATOMIC_ACQUIRE) == 0) {
        for (unsigned n = 0; n < 16; n++) {
            uint64_t v, a, d0, d1, m, bit;
            unsigned k;

            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            k = (unsigned)(x % T_ROUTES);
            bit = UINT64_C(1) << (k % 2);
            v = pt_mqtt_route_visible_seq(T.r);
            a = ld(&T.add_seq[k]);
            d0 = ld(&T.del_seq[k]);
            m = match(T.r, T.topic[k]);
            d1 = ld(&T.del_seq[k]);
            rd->matches++;
            if (a != 0 && a <= v && d1 == 0) {
                rd->checked++;
                rd->errors += (m & bit) == 0;  /* visible add missing */
            }
            if (d0 != 0 && d0 <= v) {
                rd->checked++;
                rd->errors += (m & bit) != 0;  /* visible delete ignored */
            }
        }
        pt_mqtt_route_quiescent(T.r, rd->id);
    }
    /* every route the writer saw visible: even ones deleted, odd present */
    for (unsigned k = 0; k < T_ROUTES; k++) {
        uint64_t want = k % 2 ? UINT64_C(1) << (k % 2) : 0;

        rd->verify_errors += match(T.r, T.topic[k]) != want;
    }
    pt_mqtt_route_reader_unregister(T.r, rd->id);
    return NULL;
}

static void
route_filter(unsigned k, char *buf, size_t cap)
{
    /* three shapes; topic k is matched by filter k alone */
    snprintf(buf, cap, k % 3 == 0 ? "r/%u" : k % 3 == 1 ? "r/%u/+" : "r/%u/#",
             k);
}

/* Stage one change; every 256th, poll until it is visible so that many
 * grace periods overlap the readers (with few CPUs the writer could
 * otherwise stage everything before a reader runs). */
static int64_t
t_stage(unsigned k, bool add_it)
{
    static unsigned n;
    char f[24];
    int64_t s;

    route_filter(k, f, sizeof(f));
    s = add_it ? add(T.r, f, k % 2) : del(T.r, f, k % 2);
    if (s <= 0)
        fail_msg("%s %s: %" PRId64, add_it ? "add" : "del", f, s);
    __atomic_store_n(add_it ? &T.add_seq[k] : &T.del_seq[k], (uint64_t)s,
                     __ATOMIC_RELEASE);
    pt_mqtt_route_poll(T.r);
    if (++n % 256 == 0) {
        while (pt_mqtt_route_visible_seq(T.r) != (uint64_t)s) {
            sched_yield();
            pt_mqtt_route_poll(T.r);
        }
    }
    return s;
}

static void
test_mqtt_route_threads(void **state)
{
    struct reader rd[2];
    int64_t last = 0;

    (void)state;
    memset(&T, 0, sizeof(T));
    memset(rd, 0, sizeof(rd));
    T.r = route(2, T_ROUTES);
    for (unsigned k = 0; k < T_ROUTES; k++)
        snprintf(T.topic[k], sizeof(T.topic[k]),
                 k % 3 == 1 ? "r/%u/x" : "r/%u", k);
    for (unsigned i = 0; i < 2; i++) {
        rd[i].id = i;
        assert_int_equal(pthread_create(&rd[i].th, NULL, reader_main, &rd[i]),
                         0);
    }
    for (unsigned k = 0; k < T_ROUTES; k++)
        last = t_stage(k, true);
    for (unsigned k = 0; k < T_ROUTES; k += 2)
        last = t_stage(k, false);
    /* readers keep reporting quiescent states: the last round completes */
    while (pt_mqtt_route_visible_seq(T.r) != (uint64_t)last) {
        sched_yield();
        pt_mqtt_route_poll(T.r);
    }
    __atomic_store_n(&T.phase, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(rd[i].th, NULL), 0);
        printf("reader %u: %" PRIu64 " matches, %" PRIu64 " checked\n", i,
               rd[i].matches, rd[i].checked);
        assert_int_equal(rd[i].errors, 0);
        assert_int_equal(rd[i].verify_errors, 0);
        assert_true(rd[i].matches > 1000);
        assert_true(rd[i].checked > 100);
    }
    assert_int_equal(stats(T.r).routes_used, T_ROUTES / 2);
    printf("%" PRIu64 " grace periods\n", stats(T.r).grace_periods);
    assert_true(stats(T.r).grace_periods >= 15000 / 256);
    assert_int_equal(stats(T.r).pending, 0);
    pt_mqtt_route_free(T.r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mqtt_route_add_del_match),
        cmocka_unit_test(test_mqtt_route_bad_create),
        cmocka_unit_test(test_mqtt_route_visible_after_quiescent),
        cmocka_unit_test(test_mqtt_route_copies_equal),
        cmocka_unit_test(test_mqtt_route_enospc),
        cmocka_unit_test(test_mqtt_route_grace_reserve),
        cmocka_unit_test(test_mqtt_route_threads),
    };

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
