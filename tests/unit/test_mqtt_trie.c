/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the per-core MQTT subscription trie (dataplane/mqtt_trie.c):
 * the MQTT 3.1.1 matching examples (4.7), once-per-subscriber delivery at
 * the highest QoS, QoS replacement, pruning, pool exhaustion, and a
 * randomized comparison against pt_mqtt_topic_match over every
 * (filter, subscriber) pair; the read-only walks (match_mask against
 * match and brute force, filter_subs, for_each rebuilding filters on the
 * stack and the heap) and the sizing helpers (filter_cost, memory).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include <petrel/mqtt_trie.h>

#include "pt_test.h"

#define MAX_IDS 64

/* What one match() delivered: per id, how often and at which QoS. */
struct got {
    unsigned times[MAX_IDS];
    uint8_t qos[MAX_IDS];
    unsigned total;
};

static void
on_match(void *arg, uint64_t id, uint8_t qos)
{
    struct got *g = arg;

    assert_true(id < MAX_IDS);
    g->times[id]++;
    g->qos[id] = qos;
    g->total++;
}

static uint32_t
match(struct pt_mqtt_trie *t, const char *topic, struct got *g)
{
    uint32_t n;

    memset(g, 0, sizeof(*g));
    n = pt_mqtt_trie_match(t, topic, strlen(topic), on_match, g);
    assert_int_equal(n, g->total);
    return n;
}

static int
sub(struct pt_mqtt_trie *t, const char *f, uint64_t id, uint8_t qos)
{
    return pt_mqtt_trie_subscribe(t, f, strlen(f), id, qos);
}

static int
unsub(struct pt_mqtt_trie *t, const char *f, uint64_t id)
{
    return pt_mqtt_trie_unsubscribe(t, f, strlen(f), id);
}

static struct pt_mqtt_trie_stats
stats(const struct pt_mqtt_trie *t)
{
    struct pt_mqtt_trie_stats st;

    pt_mqtt_trie_stats(t, &st);
    return st;
}

static struct pt_mqtt_trie *
trie(uint32_t nodes, uint32_t subs)
{
    struct pt_mqtt_trie *t = pt_mqtt_trie_create(nodes, subs, SOCKET_ID_ANY);

    assert_non_null(t);
    return t;
}

/* Assert the pools are back to an empty trie. */
static void
assert_empty(const struct pt_mqtt_trie *t)
{
    struct pt_mqtt_trie_stats st = stats(t);

    assert_int_equal(st.nodes_used, 1);
    assert_int_equal(st.chunks_used, 0);
    assert_int_equal(st.subs_used, 0);
    assert_int_equal(st.subscribers_used, 0);
}

/* The examples of MQTT 3.1.1 section 4.7, one subscriber per filter. */
static void
test_mqtt_trie_spec_examples(void **state)
{
    static const char *filters[] = {
        "sport/tennis/player1/#", /* 0 */
        "sport/#",                /* 1 */
        "sport/+",                /* 2 */
        "+/+",                    /* 3 */
        "/+",                     /* 4 */
        "+",                      /* 5 */
        "#",                      /* 6 */
        "+/monitor/Clients",      /* 7 */
        "$SYS/#",                 /* 8 */
        "$SYS/monitor/+",         /* 9 */
        "sport/tennis/+",         /* 10 */
        "sport/+/player1",        /* 11 */
    };
    static const struct {
        const char *topic;
        const char *want; /* ids delivered, as letters 'a' + id */
    } cases[] = {
        { "sport/tennis/player1", "abgkl" },
        { "sport/tennis/player1/ranking", "abg" },
        { "sport/tennis/player1/score/wimbledon", "abg" },
        { "sport", "bfg" },
        { "sport/", "bcdg" },
        { "/finance", "deg" },
        { "finance", "fg" },
        { "sport/tennis", "bcdg" },
        { "$SYS/monitor/Clients", "ij" },
        { "$SYS", "i" },
        { "$SYS/x", "i" },
        { "$other", "" },
        { "a/monitor/Clients", "gh" },
        { "/", "deg" },
    };
    struct pt_mqtt_trie *t = trie(64, 64);
    struct got g;

    (void)state;
    for (unsigned i = 0; i < RTE_DIM(filters); i++)
        assert_int_equal(sub(t, filters[i], i, (uint8_t)(i % 3)), 0);
    for (unsigned c = 0; c < RTE_DIM(cases); c++) {
        unsigned want = 0;

        match(t, cases[c].topic, &g);
        for (const char *w = cases[c].want; *w; w++) {
            unsigned id = (unsigned)(*w - 'a');

            if (g.times[id] != 1)
                fail_msg("%s: filter %s not delivered once (%u)",
                         cases[c].topic, filters[id], g.times[id]);
            assert_int_equal(g.qos[id], id % 3);
            want++;
        }
        if (g.total != want)
            fail_msg("%s: %u deliveries, want %u", cases[c].topic, g.total,
                     want);
    }
    assert_int_equal(stats(t).matches, RTE_DIM(cases));
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_overlap_once_max_qos(void **state)
{
    struct pt_mqtt_trie *t = trie(64, 64);
    struct got g;

    (void)state;
    assert_int_equal(sub(t, "a/#", 1, 0), 0);
    assert_int_equal(sub(t, "a/+", 1, 2), 0);
    assert_int_equal(sub(t, "a/b", 1, 1), 0);
    assert_int_equal(sub(t, "#", 1, 0), 0);
    assert_int_equal(sub(t, "a/b", 2, 1), 0);
    assert_int_equal(sub(t, "+/b", 2, 0), 0);

    assert_int_equal(match(t, "a/b", &g), 2);
    assert_int_equal(g.times[1], 1);
    assert_int_equal(g.qos[1], 2);
    assert_int_equal(g.times[2], 1);
    assert_int_equal(g.qos[2], 1);

    assert_int_equal(match(t, "a", &g), 1); /* a/# and # */
    assert_int_equal(g.qos[1], 0);
    assert_int_equal(match(t, "x/b", &g), 2);
    assert_int_equal(g.qos[1], 0);
    assert_int_equal(g.qos[2], 0);
    assert_int_equal(stats(t).delivered, 5);
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_replace_qos(void **state)
{
    struct pt_mqtt_trie *t = trie(64, 64);
    struct got g;

    (void)state;
    assert_int_equal(sub(t, "a/+/c", 9, 0), 0);
    assert_int_equal(sub(t, "a/+/c", 9, 2), 1);
    assert_int_equal(stats(t).subs_used, 1);
    assert_int_equal(match(t, "a/b/c", &g), 1);
    assert_int_equal(g.qos[9], 2);
    assert_int_equal(sub(t, "a/+/c", 9, 1), 1);
    assert_int_equal(match(t, "a/b/c", &g), 1);
    assert_int_equal(g.qos[9], 1);
    /* another subscriber on the same filter is new, not a replacement */
    assert_int_equal(sub(t, "a/+/c", 10, 0), 0);
    assert_int_equal(stats(t).subs_used, 2);
    assert_int_equal(stats(t).subscribers_used, 2);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 9), 1);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 10), 1);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_unsubscribe_prunes(void **state)
{
    static const char *filters[] = {
        "a/b/c",
        "a/b",
        "a/+/c/#",
        "#",
        "+",
        "a//b",
        "seventeen_bytes_x/y",
        "a/exactly_twenty_eight_bytes__/z",
        "a/twenty_nine_bytes_long_name__/z",
        "a/a_level_name_that_is_much_longer_than_fifty_six_bytes_in_all_/+",
        "a/a_level_name_that_is_much_longer_than_fifty_six_bytes_in_all_!/+",
    };
    struct pt_mqtt_trie *t = trie(128, 64);
    struct got g;

    (void)state;
    assert_empty(t);
    for (unsigned i = 0; i < RTE_DIM(filters); i++)
        assert_int_equal(sub(t, filters[i], i, 1), 0);
    /* 17 and 28 bytes: 1 chunk each; 29: 2; 61 and 62: 3 each */
    assert_int_equal(stats(t).chunks_used, 1 + 1 + 2 + 3 + 3);
    assert_int_equal(match(t, "a/exactly_twenty_eight_bytes__/z", &g), 2);
    assert_int_equal(g.times[7], 1);
    assert_int_equal(match(t, "a/a_level_name_that_is_much_longer_than_fifty"
                              "_six_bytes_in_all_!/q", &g), 2);
    assert_int_equal(g.times[10], 1);

    /* absent: unknown filter, wrong subscriber, a prefix of a filter */
    assert_int_equal(unsub(t, "x/y", 0), -ENOENT);
    assert_int_equal(unsub(t, "a/b/c", 1), -ENOENT);
    assert_int_equal(unsub(t, "a/+", 2), -ENOENT);
    assert_int_equal(unsub(t, "a/#/c", 2), -EINVAL);

    for (unsigned i = 0; i < RTE_DIM(filters); i++) {
        assert_int_equal(unsub(t, filters[i], i), 0);
        assert_int_equal(unsub(t, filters[i], i), -ENOENT);
    }
    assert_empty(t);
    assert_int_equal(match(t, "a/b/c", &g), 0);

    /* the pool's nodes are reusable */
    for (unsigned i = 0; i < RTE_DIM(filters); i++)
        assert_int_equal(sub(t, filters[RTE_DIM(filters) - 1 - i], i, 0), 0);
    for (unsigned i = 0; i < RTE_DIM(filters); i++)
        assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, i), 1);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_pool_exhaustion(void **state)
{
    struct pt_mqtt_trie *t = trie(4, 3); /* root + 3 nodes, 2 chunks */
    struct pt_mqtt_trie_stats before;
    char longname[64];
    struct got g;

    (void)state;
    assert_int_equal(sub(t, "a/b/c", 1, 0), 0);
    before = stats(t);
    assert_int_equal(sub(t, "a/b/d", 2, 0), -ENOSPC); /* no node left */
    assert_int_equal(sub(t, "x", 2, 0), -ENOSPC);
    assert_int_equal(stats(t).nodes_used, before.nodes_used);
    assert_int_equal(stats(t).subs_used, before.subs_used);
    assert_int_equal(stats(t).subscribers_used, before.subscribers_used);
    assert_int_equal(stats(t).pool_full, 2);
    assert_int_equal(match(t, "a/b/c", &g), 1);
    assert_int_equal(match(t, "a/b/d", &g), 0);

    /* existing nodes still take subscriptions until entries run out */
    assert_int_equal(sub(t, "a/b", 2, 0), 0);
    assert_int_equal(sub(t, "a", 3, 0), 0);
    assert_int_equal(sub(t, "a", 4, 0), -ENOSPC); /* no entry left */
    assert_int_equal(sub(t, "a", 3, 2), 1);       /* replace needs none */
    assert_int_equal(stats(t).pool_full, 3);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 1), 1);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 2), 1);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 3), 1);
    assert_empty(t);

    /* long names: 60 bytes need 3 chunks, only 2 exist */
    memset(longname, 'n', 60);
    longname[60] = '\0';
    assert_int_equal(sub(t, longname, 1, 0), -ENOSPC);
    assert_empty(t);
    longname[56] = '\0'; /* 2 chunks fit */
    assert_int_equal(sub(t, longname, 1, 0), 0);
    assert_int_equal(stats(t).chunks_used, 2);
    assert_int_equal(match(t, longname, &g), 1);
    assert_int_equal(unsub(t, longname, 1), 0);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_unsubscribe_all(void **state)
{
    struct pt_mqtt_trie *t = trie(64, 64);
    struct got g;

    (void)state;
    assert_int_equal(sub(t, "a/b", 7, 1), 0);
    assert_int_equal(sub(t, "a/#", 7, 0), 0);
    assert_int_equal(sub(t, "c/+", 7, 2), 0);
    assert_int_equal(sub(t, "a/b", 8, 0), 0);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 7), 3);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 7), 0);
    assert_int_equal(match(t, "a/b", &g), 1);
    assert_int_equal(g.times[8], 1);
    assert_int_equal(match(t, "c/d", &g), 0);
    assert_int_equal(stats(t).subs_used, 1);
    assert_int_equal(stats(t).subscribers_used, 1);
    assert_int_equal(stats(t).nodes_used, 3); /* root, a, b */
    assert_int_equal(unsub(t, "a/b", 8), 0);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_bad_args(void **state)
{
    struct pt_mqtt_trie *t;
    char deep[2 * (PT_MQTT_TRIE_MAX_LEVELS + 1)];

    (void)state;
    rte_errno = 0;
    assert_null(pt_mqtt_trie_create(1, 10, SOCKET_ID_ANY));
    assert_int_equal(rte_errno, EINVAL);
    assert_null(pt_mqtt_trie_create(10, 0, SOCKET_ID_ANY));
    assert_null(pt_mqtt_trie_create(PT_MQTT_TRIE_MAX_POOL + 1, 10,
                                    SOCKET_ID_ANY));
    pt_mqtt_trie_free(NULL);

    t = trie(256, 16);
    assert_int_equal(sub(t, "", 1, 0), -EINVAL);
    assert_int_equal(sub(t, "a/#/b", 1, 0), -EINVAL);
    assert_int_equal(sub(t, "a+", 1, 0), -EINVAL);
    assert_int_equal(sub(t, "a/b#", 1, 0), -EINVAL);
    assert_int_equal(sub(t, "a", 1, 3), -EINVAL);
    assert_int_equal(pt_mqtt_trie_subscribe(t, "a\0b", 3, 1, 0), -EINVAL);
    /* PT_MQTT_TRIE_MAX_LEVELS levels pass, one more does not */
    for (unsigned i = 0; i <= PT_MQTT_TRIE_MAX_LEVELS; i++) {
        deep[2 * i] = 'x';
        deep[2 * i + 1] = '/';
    }
    assert_int_equal(pt_mqtt_trie_subscribe(t, deep,
                                            2 * PT_MQTT_TRIE_MAX_LEVELS - 1,
                                            1, 0), 0);
    assert_int_equal(pt_mqtt_trie_subscribe(t, deep,
                                            2 * PT_MQTT_TRIE_MAX_LEVELS + 1,
                                            1, 0), -EINVAL);
    assert_int_equal(stats(t).nodes_used, 1 + PT_MQTT_TRIE_MAX_LEVELS);
    assert_int_equal(pt_mqtt_trie_unsubscribe(t, deep,
                                              2 * PT_MQTT_TRIE_MAX_LEVELS - 1,
                                              1), 0);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

/* Many named children of one node share hash buckets: lookups and
 * unlinking from the middle of a chain must stay exact. */
static void
test_mqtt_trie_many_siblings(void **state)
{
    struct pt_mqtt_trie *t = trie(2100, 2000);
    char f[32];
    struct got g;

    (void)state;
    for (unsigned i = 0; i < 2000; i++) {
        snprintf(f, sizeof(f), "x/%u", i);
        assert_int_equal(sub(t, f, i % MAX_IDS, 0), 0);
    }
    assert_int_equal(stats(t).nodes_used, 2002);
    assert_int_equal(sub(t, "x/2000", 1, 0), -ENOSPC); /* entries full */
    assert_int_equal(stats(t).nodes_used, 2002);
    for (unsigned k = 0; k < 2000; k++) {
        unsigned i = (k * 7919) % 2000; /* every index, scattered order */

        snprintf(f, sizeof(f), "x/%u", i);
        assert_int_equal(match(t, f, &g), 1);
        assert_int_equal(g.times[i % MAX_IDS], 1);
        assert_int_equal(unsub(t, f, i % MAX_IDS), 0);
        assert_int_equal(match(t, f, &g), 0);
    }
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

/* ---- randomized comparison with pt_mqtt_topic_match ---- */

#define R_SUBS 600
#define R_IDS 40

struct rsub {
    char f[64];
    uint64_t id;
    uint8_t qos;
    bool live;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
rnd(unsigned n)
{
    return pt_test_rnd(&rng, n);
}

static void
random_name(char *buf, bool filter)
{
    static const char *levels[] = { "a", "b", "c", "", "$s" };
    unsigned n = 1 + rnd(4);

    buf[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        unsigned k = rnd(filter ? 7 : 4);
        const char *l;

        if (i == 0 && rnd(6) == 0)
            l = "$s";
        else if (k < 4)
            l = levels[k];
        else if (k < 6)
            l = "+";
        else
            l = i == n - 1 ? "#" : "+";
        if (i > 0)
            strcat(buf, "/");
        strcat(buf, l);
    }
}

/* @return deliveries made, so the caller can check matches are frequent */
static unsigned
check_random_topics(struct pt_mqtt_trie *t, const struct rsub *s,
                    unsigned topics)
{
    char topic[64];
    struct got g;
    unsigned delivered = 0;

    for (unsigned k = 0; k < topics; k++) {
        int want[R_IDS];
        unsigned nwant = 0;

        do
            random_name(topic, false);
        while (topic[0] == '\0');
        for (unsigned i = 0; i < R_IDS; i++)
            want[i] = -1;
        for (unsigned i = 0; i < R_SUBS; i++) {
            if (!s[i].live ||
                !pt_mqtt_topic_match(s[i].f, strlen(s[i].f), topic,
                                     strlen(topic)))
                continue;
            if (want[s[i].id] < s[i].qos)
                want[s[i].id] = s[i].qos;
        }
        match(t, topic, &g);
        for (unsigned i = 0; i < R_IDS; i++) {
            if (want[i] < 0) {
                if (g.times[i] != 0)
                    fail_msg("%s: id %u delivered, no filter matches", topic,
                             i);
                continue;
            }
            nwant++;
            if (g.times[i] != 1 || g.qos[i] != want[i])
                fail_msg("%s: id %u delivered %u times at qos %u, want once "
                         "at %d", topic, i, g.times[i], g.qos[i], want[i]);
        }
        assert_int_equal(g.total, nwant);
        delivered += g.total;
    }
    return delivered;
}

static void
test_mqtt_trie_random_vs_brute_force(void **state)
{
    static struct rsub s[R_SUBS];
    struct pt_mqtt_trie *t = trie(4096, R_SUBS);
    unsigned live = 0, replaced = 0;

    (void)state;
    memset(s, 0, sizeof(s));
    for (unsigned i = 0; i < R_SUBS; i++) {
        int rc;

        do
            random_name(s[i].f, true);
        while (s[i].f[0] == '\0');
        s[i].id = rnd(R_IDS);
        s[i].qos = (uint8_t)rnd(3);
        rc = sub(t, s[i].f, s[i].id, s[i].qos);
        if (rc != 0 && rc != 1)
            fail_msg("subscribe %s: %d", s[i].f, rc);
        /* a replacement takes over the earlier identical pair */
        for (unsigned j = 0; j < i; j++) {
            if (s[j].live && s[j].id == s[i].id &&
                strcmp(s[j].f, s[i].f) == 0) {
                assert_int_equal(rc, 1);
                s[j].live = false;
                live--;
            }
        }
        replaced += rc == 1;
        s[i].live = true;
        live++;
    }
    assert_int_equal(stats(t).subs_used, live);
    assert_true(replaced > 0);
    /* the small alphabet makes several subscribers match most topics */
    assert_true(check_random_topics(t, s, 3000) > 3 * 3000);

    /* drop about half, one at a time, and compare again */
    for (unsigned i = 0; i < R_SUBS; i++) {
        if (s[i].live && rnd(2) == 0) {
            assert_int_equal(unsub(t, s[i].f, s[i].id), 0);
            s[i].live = false;
            live--;
        }
    }
    assert_int_equal(stats(t).subs_used, live);
    check_random_topics(t, s, 2000);

    /* then whole subscribers */
    for (unsigned id = 0; id < R_IDS; id += 2) {
        unsigned n = 0;

        for (unsigned i = 0; i < R_SUBS; i++) {
            if (s[i].live && s[i].id == id) {
                s[i].live = false;
                n++;
                live--;
            }
        }
        assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, id), n);
    }
    assert_int_equal(stats(t).subs_used, live);
    check_random_topics(t, s, 1000);
    for (unsigned id = 0; id < R_IDS; id++)
        pt_mqtt_trie_unsubscribe_all(t, id);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}


/* ---- read-only walks: match_mask, filter_subs, for_each ---- */

/* The mask match() would give (ids < 64), built from its callbacks. */
static uint64_t
mask_of(struct pt_mqtt_trie *t, const char *topic)
{
    struct got g;
    uint64_t m = 0;

    match(t, topic, &g);
    for (unsigned i = 0; i < MAX_IDS; i++)
        if (g.times[i] != 0)
            m |= UINT64_C(1) << i;
    return m;
}

static uint64_t
mmask(const struct pt_mqtt_trie *t, const char *topic)
{
    return pt_mqtt_trie_match_mask(t, topic, strlen(topic));
}

static void
test_mqtt_trie_match_mask_spec(void **state)
{
    static const char *filters[] = {
        "sport/tennis/player1/#", "sport/#", "sport/+", "+/+", "/+", "+",
        "#", "+/monitor/Clients", "$SYS/#", "$SYS/monitor/+",
        "sport/tennis/+", "sport/+/player1", "a/#", "a/+/c",
    };
    static const struct {
        const char *topic;
        uint64_t want;
    } cases[] = {
        { "sport/tennis/player1", 0x0c43 },     /* 0 1 6 10 11 */
        { "sport/tennis/player1/ranking", 0x43 },
        { "sport", 0x62 },                      /* b f g */
        { "sport/", 0x4e },
        { "/finance", 0x58 },
        { "$SYS/monitor/Clients", 0x300 },      /* never + or # */
        { "$SYS", 0x100 },
        { "$other", 0 },
        { "a", 0x1060 },                        /* a/# matches a */
        { "a/b/c", 0x3040 },
        { "a//c", 0x3040 },
        { "a/b/c/d", 0x1040 },
    };
    struct pt_mqtt_trie *t = trie(64, 64);

    (void)state;
    for (unsigned i = 0; i < RTE_DIM(filters); i++)
        assert_int_equal(sub(t, filters[i], i, 1), 0);
    for (unsigned c = 0; c < RTE_DIM(cases); c++) {
        uint64_t got = mmask(t, cases[c].topic);

        if (got != cases[c].want)
            fail_msg("%s: mask %#" PRIx64 ", want %#" PRIx64, cases[c].topic,
                     got, cases[c].want);
        assert_int_equal(got, mask_of(t, cases[c].topic));
    }
    /* read-only: no counters moved by the mask walks */
    assert_int_equal(stats(t).matches, RTE_DIM(cases));
    /* ids >= 64 are ignored, not folded onto low bits */
    assert_int_equal(sub(t, "#", 64, 0), 0);
    assert_int_equal(sub(t, "a/#", 64 + 13, 0), 0);
    for (unsigned c = 0; c < RTE_DIM(cases); c++)
        assert_int_equal(mmask(t, cases[c].topic), cases[c].want);
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_match_mask_random(void **state)
{
    static struct rsub s[R_SUBS];
    struct pt_mqtt_trie *t = trie(4096, R_SUBS);
    char topic[64];
    unsigned nonzero = 0;

    (void)state;
    for (unsigned i = 0; i < R_SUBS; i++) {
        do
            random_name(s[i].f, true);
        while (s[i].f[0] == '\0');
        s[i].id = rnd(R_IDS);
        s[i].live = rnd(4) != 0;
        if (s[i].live)
            assert_true(sub(t, s[i].f, s[i].id, 0) >= 0);
    }
    for (unsigned k = 0; k < 3000; k++) {
        uint64_t want = 0, got;

        do
            random_name(topic, false);
        while (topic[0] == '\0');
        for (unsigned i = 0; i < R_SUBS; i++)
            if (s[i].live && pt_mqtt_topic_match(s[i].f, strlen(s[i].f),
                                                 topic, strlen(topic)))
                want |= UINT64_C(1) << s[i].id;
        got = mmask(t, topic);
        if (got != want)
            fail_msg("%s: mask %#" PRIx64 ", want %#" PRIx64, topic, got,
                     want);
        nonzero += want != 0;
    }
    assert_true(nonzero > 1000);
    for (unsigned i = 0; i < R_IDS; i++)
        pt_mqtt_trie_unsubscribe_all(t, i);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

static void
test_mqtt_trie_filter_subs(void **state)
{
    struct pt_mqtt_trie *t = trie(64, 64);

    (void)state;
#define FSUBS(f) pt_mqtt_trie_filter_subs(t, f, strlen(f))
    assert_int_equal(FSUBS("a/b"), 0);
    assert_int_equal(sub(t, "a/b", 1, 0), 0);
    assert_int_equal(sub(t, "a/b", 2, 0), 0);
    assert_int_equal(sub(t, "a/b", 2, 1), 1); /* replaced, not added */
    assert_int_equal(sub(t, "a/+", 3, 0), 0);
    assert_int_equal(sub(t, "a/b/c", 3, 0), 0);
    assert_int_equal(FSUBS("a/b"), 2);
    assert_int_equal(FSUBS("a/+"), 1);  /* literal, not a match */
    assert_int_equal(FSUBS("a/#"), 0);
    assert_int_equal(FSUBS("a"), 0);    /* an inner node, no filter */
    assert_int_equal(FSUBS("a/b/c"), 1);
    assert_int_equal(FSUBS("a/b/c/d"), 0);
    assert_int_equal(FSUBS(""), 0);     /* invalid */
    assert_int_equal(FSUBS("a/#/b"), 0);
    assert_int_equal(unsub(t, "a/b", 1), 0);
    assert_int_equal(FSUBS("a/b"), 1);
    assert_int_equal(unsub(t, "a/b", 2), 0);
    assert_int_equal(FSUBS("a/b"), 0);
    assert_int_equal(FSUBS("a/b/c"), 1);
#undef FSUBS
    pt_mqtt_trie_free(t);
}

static void
count_cb(void *arg, uint64_t id, uint8_t qos)
{
    (void)id;
    (void)qos;
    (*(unsigned *)arg)++;
}

/* The generation moves on every change and only then: the fan-out cache
 * (dataplane/mqtt_fanout.c) trusts a match result while it stands. */
static void
test_mqtt_trie_gen(void **state)
{
    struct pt_mqtt_trie *t = trie(64, 64);
    uint64_t g = pt_mqtt_trie_gen(t);
    unsigned n = 0;

    (void)state;
    assert_int_equal(sub(t, "a/b", 1, 0), 0);
    assert_true(pt_mqtt_trie_gen(t) != g);
    g = pt_mqtt_trie_gen(t);
    pt_mqtt_trie_match(t, "a/b", 3, count_cb, &n);
    assert_int_equal(n, 1);
    assert_int_equal(pt_mqtt_trie_gen(t), g);       /* match: no change */
    assert_int_equal(sub(t, "a/b", 1, 2), 1);       /* QoS replaced */
    assert_true(pt_mqtt_trie_gen(t) != g);
    g = pt_mqtt_trie_gen(t);
    assert_int_equal(sub(t, "a/+", 2, 0), 0);
    assert_true(pt_mqtt_trie_gen(t) != g);
    g = pt_mqtt_trie_gen(t);
    assert_int_equal(unsub(t, "x", 1), -ENOENT);    /* nothing changed */
    assert_int_equal(pt_mqtt_trie_gen(t), g);
    assert_int_equal(unsub(t, "a/+", 2), 0);
    assert_true(pt_mqtt_trie_gen(t) != g);
    g = pt_mqtt_trie_gen(t);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 7), 0);
    assert_int_equal(pt_mqtt_trie_gen(t), g);
    assert_int_equal(pt_mqtt_trie_unsubscribe_all(t, 1), 1);
    assert_true(pt_mqtt_trie_gen(t) != g);
    pt_mqtt_trie_free(t);
}

/* What for_each() reported: the filters, as "qos:filter" lines. */
struct seen {
    char *f[8];
    uint8_t qos[8];
    unsigned n, stop_after;
    int stop_rc;
};

static int
on_filter(void *arg, const char *filter, size_t len, uint8_t qos)
{
    struct seen *s = arg;

    assert_true(s->n < RTE_DIM(s->f));
    s->f[s->n] = strndup(filter, len);
    assert_non_null(s->f[s->n]);
    assert_int_equal(strlen(s->f[s->n]), len); /* no NUL inside */
    s->qos[s->n] = qos;
    s->n++;
    return s->n == s->stop_after ? s->stop_rc : 0;
}

static int
seen_find(const struct seen *s, const char *f)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->f[i], f) == 0)
            return (int)i;
    return -1;
}

static void
seen_free(struct seen *s)
{
    for (unsigned i = 0; i < s->n; i++)
        free(s->f[i]);
    memset(s, 0, sizeof(*s));
}

static void
test_mqtt_trie_for_each(void **state)
{
    /* a 5000-byte filter: past the stack buffer, rebuilt on the heap */
    static char huge[5001];
    char l40[41], l70[71], mixed[160];
    const char *plain[] = { "a/b", "+", "#", "/", "a//+/#", "$SYS/x" };
    struct pt_mqtt_trie *t = trie(512, 64);
    struct seen s = { 0 };

    (void)state;
    memset(l40, 'x', 40);
    l40[40] = '\0';
    memset(l70, 'y', 70);
    l70[70] = '\0';
    snprintf(mixed, sizeof(mixed), "%s/+/%s/short/#", l40, l70);
    memset(huge, 'h', 5000);
    huge[2000] = '/';
    huge[5000] = '\0';
    for (unsigned i = 0; i < RTE_DIM(plain); i++)
        assert_int_equal(sub(t, plain[i], 5, (uint8_t)(i % 3)), 0);
    assert_int_equal(sub(t, mixed, 5, 2), 0);
    assert_int_equal(sub(t, huge, 5, 1), 0);
    assert_int_equal(sub(t, "a/b", 6, 0), 0); /* someone else's */
    assert_int_equal(sub(t, "a/c", 6, 0), 0);

    assert_int_equal(pt_mqtt_trie_for_each(t, 5, on_filter, &s), 0);
    assert_int_equal(s.n, RTE_DIM(plain) + 2);
    for (unsigned i = 0; i < RTE_DIM(plain); i++) {
        int k = seen_find(&s, plain[i]);

        if (k < 0)
            fail_msg("filter %s not reported", plain[i]);
        assert_int_equal(s.qos[k], i % 3);
    }
    assert_true(seen_find(&s, mixed) >= 0);
    assert_int_equal(s.qos[seen_find(&s, mixed)], 2);
    assert_true(seen_find(&s, huge) >= 0);
    seen_free(&s);

    /* a non-zero return stops the walk and is returned */
    s.stop_after = 2;
    s.stop_rc = 42;
    assert_int_equal(pt_mqtt_trie_for_each(t, 5, on_filter, &s), 42);
    assert_int_equal(s.n, 2);
    seen_free(&s);

    assert_int_equal(pt_mqtt_trie_for_each(t, 6, on_filter, &s), 0);
    assert_int_equal(s.n, 2);
    assert_true(seen_find(&s, "a/c") >= 0);
    seen_free(&s);
    assert_int_equal(pt_mqtt_trie_for_each(t, 99, on_filter, &s), 0);
    assert_int_equal(s.n, 0);

    pt_mqtt_trie_unsubscribe_all(t, 5);
    pt_mqtt_trie_unsubscribe_all(t, 6);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

/* Subscribe f as id and check the pools grew by exactly the cost. */
static void
sub_costs(struct pt_mqtt_trie *t, const char *f, uint64_t id,
          const struct pt_mqtt_trie_cost *c)
{
    struct pt_mqtt_trie_stats a = stats(t), b;

    assert_true(sub(t, f, id, 0) >= 0);
    b = stats(t);
    assert_int_equal(b.nodes_used - a.nodes_used, c->nodes);
    assert_int_equal(b.chunks_used - a.chunks_used, c->chunks);
    assert_int_equal(b.subs_used - a.subs_used, c->entries);
    assert_int_equal(b.subscribers_used - a.subscribers_used, c->records);
}

static void
test_mqtt_trie_cost_and_memory(void **state)
{
    static const char *filters[] = {
        "a/+/#", "x", "sixteen_bytes_ab/seventeen_bytes_a",
        "twenty_nine_bytes_long_name_x/+", "/",
    };
    const char *lng = "a/twenty_nine_bytes_long_name_x";
    struct pt_mqtt_trie *t = trie(256, 16);
    struct pt_mqtt_trie_cost c, w;

    (void)state;
    assert_int_equal(pt_mqtt_trie_memory(256, 16), stats(t).bytes_allocated);
    assert_int_equal(pt_mqtt_trie_memory(1, 16), 0);
    assert_int_equal(pt_mqtt_trie_memory(16, 0), 0);
    assert_int_equal(pt_mqtt_trie_level_chunks(16), 0);
    assert_int_equal(pt_mqtt_trie_level_chunks(17), 1);
    assert_int_equal(pt_mqtt_trie_level_chunks(28), 1);
    assert_int_equal(pt_mqtt_trie_level_chunks(29), 2);
#define COST(tr, f, id, out) \
    pt_mqtt_trie_filter_cost(tr, f, strlen(f), id, out)
    assert_int_equal(COST(NULL, "a/#/b", 1, &c), -EINVAL);
    assert_int_equal(COST(t, "", 1, &c), -EINVAL);

    /* in an empty trie: the worst case, and exactly what subscribe takes */
    for (unsigned i = 0; i < RTE_DIM(filters); i++) {
        assert_int_equal(COST(NULL, filters[i], 1, &w), 0);
        assert_int_equal(COST(t, filters[i], 1, &c), 0);
        assert_memory_equal(&c, &w, sizeof(c));
        assert_int_equal(c.missing, 0);
        assert_int_equal(c.entries, 1);
        assert_int_equal(c.records, 1);
        sub_costs(t, filters[i], 1, &c);
        assert_int_equal(unsub(t, filters[i], 1), 0);
    }
    COST(NULL, "sixteen_bytes_ab/seventeen_bytes_a", 1, &c);
    assert_int_equal(c.nodes, 2);
    assert_int_equal(c.chunks, 1);

    /* relative to what the trie has */
    assert_int_equal(sub(t, "a/b", 1, 0), 0);
    assert_int_equal(COST(t, "a/b/c", 1, &c), 0);
    assert_int_equal(c.nodes, 1);
    assert_int_equal(c.missing, 4);
    assert_int_equal(c.entries, 1);
    assert_int_equal(c.records, 0);
    sub_costs(t, "a/b/c", 1, &c);
    assert_int_equal(COST(t, "a/b", 1, &c), 0); /* already there */
    assert_int_equal(c.nodes + c.chunks + c.entries + c.records, 0);
    sub_costs(t, "a/b", 1, &c);
    assert_int_equal(COST(t, "a/b", 2, &c), 0); /* same filter, new id */
    assert_int_equal(c.nodes, 0);
    assert_int_equal(c.entries, 1);
    assert_int_equal(c.records, 1);
    sub_costs(t, "a/b", 2, &c);
    assert_int_equal(COST(t, lng, 2, &c), 0);
    assert_int_equal(c.nodes, 1);
    assert_int_equal(c.chunks, 2);
    assert_int_equal(c.missing, 2);
    sub_costs(t, lng, 2, &c);
#undef COST
    pt_mqtt_trie_unsubscribe_all(t, 1);
    pt_mqtt_trie_unsubscribe_all(t, 2);
    assert_empty(t);
    pt_mqtt_trie_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mqtt_trie_spec_examples),
        cmocka_unit_test(test_mqtt_trie_overlap_once_max_qos),
        cmocka_unit_test(test_mqtt_trie_replace_qos),
        cmocka_unit_test(test_mqtt_trie_unsubscribe_prunes),
        cmocka_unit_test(test_mqtt_trie_pool_exhaustion),
        cmocka_unit_test(test_mqtt_trie_unsubscribe_all),
        cmocka_unit_test(test_mqtt_trie_bad_args),
        cmocka_unit_test(test_mqtt_trie_many_siblings),
        cmocka_unit_test(test_mqtt_trie_random_vs_brute_force),
        cmocka_unit_test(test_mqtt_trie_match_mask_spec),
        cmocka_unit_test(test_mqtt_trie_match_mask_random),
        cmocka_unit_test(test_mqtt_trie_filter_subs),
        cmocka_unit_test(test_mqtt_trie_gen),
        cmocka_unit_test(test_mqtt_trie_for_each),
        cmocka_unit_test(test_mqtt_trie_cost_and_memory),
    };

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
