/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Matching in the subscription trie (include/petrel/mqtt_trie.h): the
 * owner's match with per-subscriber dedup (epochs), and the read-only
 * walks any thread may run on a trie nobody modifies (the route table's
 * core masks, a filter's subscription count, a subscriber's filters).
 * The pools and the changes are in mqtt_trie.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_lcore.h>

#include <petrel/debug.h>
#include <petrel/mqtt.h>
#include <petrel/mqtt_trie.h>

#include "mqtt_trie_priv.h"

/* ---- match ---- */

/* Stamp every subscriber of node n into the current match. */
static void
collect(struct pt_mqtt_trie *t, uint32_t n)
{
    uint32_t e;

    for (e = t->nodes[n].subs; e != NONE; e = t->entries[e].nnext) {
        const struct entry *en = &t->entries[e];
        struct rec *rc = &t->recs[en->owner];

        if (rc->epoch != t->epoch) {
            rc->epoch = t->epoch & EPOCH_MASK;
            rc->best = en->qos & 3;
            rc->mnext = t->mhead;
            t->mhead = en->owner;
        } else if (en->qos > rc->best) {
            rc->best = en->qos & 3;
        }
    }
}

static void match_level(struct pt_mqtt_trie *t, uint32_t n, const char *p,
                        const char *end, bool wild_ok);

/* Node c matched the level ending at q. */
static inline void
match_step(struct pt_mqtt_trie *t, uint32_t c, const char *q,
           const char *end)
{
    if (q == end) {
        collect(t, c);
        if (t->nodes[c].wild != NONE)
            collect(t, t->nodes[c].wild); /* "a/#" matches "a" */
    } else {
        match_level(t, c, q + 1, end, true);
    }
}

/* Match the levels p..end (at least one, possibly empty) below node n.
 * Recursion depth is bounded by the trie's depth (PT_MQTT_TRIE_MAX_LEVELS). */
static void
match_level(struct pt_mqtt_trie *t, uint32_t n, const char *p,
            const char *end, bool wild_ok)
{
    const struct node *nd = &t->nodes[n];
    const char *q = memchr(p, '/', (size_t)(end - p));

    if (q == NULL)
        q = end;
    if (wild_ok) {
        if (nd->wild != NONE)
            collect(t, nd->wild);
        if (nd->plus != NONE)
            match_step(t, nd->plus, q, end);
    }
    if (nd->nchildren != 0) {
        size_t k = (size_t)(q - p);
        uint32_t c = find_named(t, n, p, k, level_hash(p, k));

        if (c != NONE)
            match_step(t, c, q, end);
    }
}

uint32_t
pt_mqtt_trie_match(struct pt_mqtt_trie *t, const char *topic, size_t len,
                   pt_mqtt_trie_fn fn, void *arg)
{
    uint32_t r, count = 0;

    PT_HOT_ASSERT_OWNER(&t->owner);
    PT_HOT_ASSERT(pt_mqtt_topic_check(topic, len) == PT_MQTT_OK);
    t->epoch = (t->epoch + 1) & EPOCH_MASK;
    if (t->epoch == 0) {
        /* wrapped: forget every stamp so none can look current */
        for (uint32_t i = 0; i < t->max_subs; i++)
            t->recs[i].epoch = 0;
        t->epoch = 1;
    }
    t->mhead = NONE;
    if (len > 0)
        match_level(t, 0, topic, topic + len, topic[0] != '$');
    for (r = t->mhead; r != NONE; r = t->recs[r].mnext) {
        fn(arg, t->recs[r].id, t->recs[r].best);
        count++;
    }
    stat_store(&t->st_matches, t->st_matches + 1);
    stat_store(&t->st_delivered, t->st_delivered + count);
    return count;
}

/* ---- read-only walks ---- */

/* OR of the small ids subscribed on node n. */
static uint64_t
node_mask(const struct pt_mqtt_trie *t, uint32_t n)
{
    uint64_t m = 0;

    for (uint32_t e = t->nodes[n].subs; e != NONE; e = t->entries[e].nnext) {
        uint64_t id = t->recs[t->entries[e].owner].id;

        if (id < 64)
            m |= UINT64_C(1) << id;
    }
    return m;
}

/* match_level()'s twin that writes nothing: same walk, a mask instead of
 * stamps on subscriber records. */
static uint64_t
mask_level(const struct pt_mqtt_trie *t, uint32_t n, const char *p,
           const char *end, bool wild_ok)
{
    const struct node *nd = &t->nodes[n];
    const char *q = memchr(p, '/', (size_t)(end - p));
    uint32_t c[2] = { NONE, NONE };
    uint64_t m = 0;

    if (q == NULL)
        q = end;
    if (wild_ok) {
        if (nd->wild != NONE)
            m |= node_mask(t, nd->wild);
        c[0] = nd->plus;
    }
    if (nd->nchildren != 0) {
        size_t k = (size_t)(q - p);

        c[1] = find_named(t, n, p, k, level_hash(p, k));
    }
    for (unsigned i = 0; i < 2; i++) {
        if (c[i] == NONE)
            continue;
        if (q == end) {
            m |= node_mask(t, c[i]);
            if (t->nodes[c[i]].wild != NONE) /* "a/#" matches "a" */
                m |= node_mask(t, t->nodes[c[i]].wild);
        } else {
            m |= mask_level(t, c[i], q + 1, end, true);
        }
    }
    return m;
}

uint64_t
pt_mqtt_trie_match_mask(const struct pt_mqtt_trie *t, const char *topic,
                        size_t len)
{
    PT_HOT_ASSERT(pt_mqtt_topic_check(topic, len) == PT_MQTT_OK);
    if (len == 0)
        return 0;
    return mask_level(t, 0, topic, topic + len, topic[0] != '$');
}

uint32_t
pt_mqtt_trie_filter_subs(const struct pt_mqtt_trie *t, const char *filter,
                         size_t len)
{
    const char *rest;
    uint32_t n, count = 0;

    if (pt_mqtt_filter_check(filter, len) != PT_MQTT_OK)
        return 0;
    n = walk(t, filter, len, &rest);
    if (rest != NULL)
        return 0;
    for (uint32_t e = t->nodes[n].subs; e != NONE; e = t->entries[e].nnext)
        count++;
    return count;
}

/* Rebuild the filter ending at node n into buf (cap bytes), or just
 * measure it when buf is NULL. @return its length. */
static size_t
filter_rebuild(const struct pt_mqtt_trie *t, uint32_t n, char *buf,
               size_t cap)
{
    uint32_t path[PT_MQTT_TRIE_MAX_LEVELS];
    unsigned depth = 0;
    size_t len = 0;

    /* subscribe refuses deeper filters, so the path always fits */
    for (; n != 0; n = t->nodes[n].parent) {
        RTE_VERIFY(depth < PT_MQTT_TRIE_MAX_LEVELS);
        path[depth++] = n;
    }
    while (depth > 0) {
        const struct node *nd = &t->nodes[path[--depth]];
        size_t k = nd->kind == K_NAMED ? nd->len : 1;

        if (buf != NULL) {
            char *o = buf + len;

            RTE_VERIFY(len + k <= cap);
            if (nd->kind == K_PLUS) {
                *o = '+';
            } else if (nd->kind == K_WILD) {
                *o = '#';
            } else if (k <= PT_MQTT_TRIE_INLINE) {
                memcpy(o, nd->u.name, k);
            } else {
                size_t left = k;

                for (uint32_t c = nd->u.chunk; left > 0;
                     c = t->chunks[c].next) {
                    size_t m = left < CHUNK_BYTES ? left : CHUNK_BYTES;

                    memcpy(o, t->chunks[c].b, m);
                    o += m;
                    left -= m;
                }
            }
        }
        len += k;
        if (depth > 0) {
            if (buf != NULL) {
                RTE_VERIFY(len < cap);
                buf[len] = '/';
            }
            len++;
        }
    }
    return len;
}

int
pt_mqtt_trie_for_each(const struct pt_mqtt_trie *t, uint64_t sub_id,
                      pt_mqtt_trie_filter_fn fn, void *arg)
{
    char stack[PT_MQTT_TRIE_FOREACH_STACK];
    uint32_t r, e;

    /* const trie: check the owner without binding it */
    PT_HOT_ASSERT(t->owner == LCORE_ID_ANY || t->owner == rte_lcore_id());
    r = rec_find(t, sub_id);
    if (r == NONE)
        return 0;
    for (e = t->recs[r].first; e != NONE; e = t->entries[e].onext) {
        uint32_t n = t->entries[e].node;
        size_t len = filter_rebuild(t, n, NULL, 0);
        char *buf = stack;
        int rc;

        if (len > sizeof(stack)) {
            buf = malloc(len);
            if (buf == NULL)
                return -ENOMEM;
        }
        filter_rebuild(t, n, buf, len > sizeof(stack) ? len : sizeof(stack));
        rc = fn(arg, buf, len, t->entries[e].qos);
        if (buf != stack)
            free(buf);
        if (rc != 0)
            return rc;
    }
    return 0;
}
