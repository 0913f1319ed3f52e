/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-core MQTT subscription trie (include/petrel/mqtt_trie.h): fixed pools
 * of nodes, long-name chunks, subscription entries and subscriber records,
 * all addressed by 32-bit indexes into one allocation, free lists threaded
 * through the free elements.
 *
 * Invariants:
 *   - node 0 is the root; every other node in use has a parent whose
 *     `plus`, `wild` or named-children hash chain holds it, and is
 *     non-empty (it has subscriptions, or a child): unsubscribe prunes
 *     empty nodes bottom-up, so nodes_used returns to 1 when the last
 *     subscription goes.
 *   - every entry is on exactly two lists: its node's (doubly linked, for
 *     O(1) removal) and its subscriber record's (singly linked, walked to
 *     find a subscriber's filter on subscribe/unsubscribe).
 *   - a subscriber record exists exactly while it has an entry.
 *   - subscribe checks every pool before changing anything, so -ENOSPC
 *     leaves the trie as it was.
 *   - pool use is a function of the set of (filter, subscriber) pairs
 *     alone, not of the order they came in (pruning is exact): two tries
 *     of equal sizes fed the same changes from the same contents fill up
 *     identically, which the route table's replay relies on.
 *   - the read-only walks (match_mask, filter_subs) write no byte, so
 *     concurrent readers never share a written cache line.
 *
 * Matching and the read-only walks are in mqtt_trie_match.c; the layouts
 * and lookups both files use in mqtt_trie_priv.h.
 *
 * What it is not: a route table across cores (mqtt_route.c builds one
 * from two of these), or thread-safe for writers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <petrel/debug.h>
#include <petrel/mqtt.h>
#include <petrel/mqtt_trie.h>

#include "mqtt_trie_priv.h"

static void
publish_gauges(struct pt_mqtt_trie *t)
{
    t->gen++;   /* every change ends here: results cached by gen go stale */
    stat_store(&t->st_nodes, t->max_nodes - t->nfree_node);
    stat_store(&t->st_chunks, t->max_chunks - t->nfree_chunk);
    stat_store(&t->st_subs, t->max_subs - t->nfree_entry);
    stat_store(&t->st_recs, t->max_subs - t->nfree_rec);
}

/* ---- hashing ---- */

/* ---- level names ---- */

static inline uint32_t
name_chunks(size_t n)
{
    return pt_mqtt_trie_level_chunks(n);
}

/* The caller has checked that enough chunks are free. */
static void
name_store(struct pt_mqtt_trie *t, struct node *nd, const char *s, size_t n)
{
    uint32_t *link = &nd->u.chunk;

    nd->len = (uint16_t)n;
    if (n <= PT_MQTT_TRIE_INLINE) {
        memcpy(nd->u.name, s, n);
        return;
    }
    while (n > 0) {
        size_t k = n < CHUNK_BYTES ? n : CHUNK_BYTES;
        uint32_t c = t->free_chunk;

        t->free_chunk = t->chunks[c].next;
        t->nfree_chunk--;
        memcpy(t->chunks[c].b, s, k);
        *link = c;
        link = &t->chunks[c].next;
        s += k;
        n -= k;
    }
    *link = NONE;
}

static void
name_free(struct pt_mqtt_trie *t, struct node *nd)
{
    uint32_t c, next;

    if (nd->len <= PT_MQTT_TRIE_INLINE)
        return;
    for (c = nd->u.chunk; c != NONE; c = next) {
        next = t->chunks[c].next;
        t->chunks[c].next = t->free_chunk;
        t->free_chunk = c;
        t->nfree_chunk++;
    }
}

/* ---- nodes ---- */

/* The caller has checked that a node (and the name's chunks) are free. */
static uint32_t
node_create(struct pt_mqtt_trie *t, uint32_t parent, const char *s, size_t n)
{
    uint32_t i = t->free_node;
    struct node *nd = &t->nodes[i];
    struct node *p = &t->nodes[parent];

    t->free_node = nd->hnext;
    t->nfree_node--;
    nd->parent = parent;
    nd->plus = NONE;
    nd->wild = NONE;
    nd->subs = NONE;
    nd->nchildren = 0;
    nd->len = 0;
    nd->kind = (uint8_t)level_kind(s, n);
    switch (nd->kind) {
    case K_PLUS:
        p->plus = i;
        nd->hnext = NONE;
        break;
    case K_WILD:
        p->wild = i;
        nd->hnext = NONE;
        break;
    default: {
        uint32_t b;

        nd->hash = level_hash(s, n);
        name_store(t, nd, s, n);
        b = node_bucket(t, parent, nd->hash);
        nd->hnext = t->node_bkt[b];
        t->node_bkt[b] = i;
        p->nchildren++;
    }
    }
    return i;
}

/* Return empty nodes from n up to (not including) the root to the pool. */
static void
prune(struct pt_mqtt_trie *t, uint32_t n)
{
    while (n != 0) {
        struct node *nd = &t->nodes[n];
        struct node *p = &t->nodes[nd->parent];
        uint32_t parent = nd->parent;

        if (nd->subs != NONE || nd->nchildren != 0 || nd->plus != NONE ||
            nd->wild != NONE)
            return;
        if (nd->kind == K_PLUS) {
            p->plus = NONE;
        } else if (nd->kind == K_WILD) {
            p->wild = NONE;
        } else {
            uint32_t *link = &t->node_bkt[node_bucket(t, parent, nd->hash)];

            while (*link != n)
                link = &t->nodes[*link].hnext;
            *link = nd->hnext;
            p->nchildren--;
            name_free(t, nd);
        }
        nd->kind = K_FREE;
        nd->hnext = t->free_node;
        t->free_node = n;
        t->nfree_node++;
        n = parent;
    }
}

/* ---- subscriber records and entries ---- */

static uint32_t
rec_create(struct pt_mqtt_trie *t, uint64_t id)
{
    uint32_t r = t->free_rec;
    struct rec *rc = &t->recs[r];
    uint32_t b = rec_bucket(t, id);

    t->free_rec = rc->hnext;
    t->nfree_rec--;
    rc->id = id;
    rc->first = NONE;
    rc->epoch = 0; /* never a current epoch */
    rc->hnext = t->rec_bkt[b];
    t->rec_bkt[b] = r;
    return r;
}

static void
rec_remove(struct pt_mqtt_trie *t, uint32_t r)
{
    uint32_t *link = &t->rec_bkt[rec_bucket(t, t->recs[r].id)];

    while (*link != r)
        link = &t->recs[*link].hnext;
    *link = t->recs[r].hnext;
    t->recs[r].hnext = t->free_rec;
    t->free_rec = r;
    t->nfree_rec++;
}

/* Unlink e from its node's list, free it and prune the node. The caller
 * unlinks it from its owner's list. */
static void
entry_remove(struct pt_mqtt_trie *t, uint32_t e)
{
    struct entry *en = &t->entries[e];
    uint32_t n = en->node;

    if (en->nprev != NONE)
        t->entries[en->nprev].nnext = en->nnext;
    else
        t->nodes[n].subs = en->nnext;
    if (en->nnext != NONE)
        t->entries[en->nnext].nprev = en->nprev;
    en->nnext = t->free_entry;
    t->free_entry = e;
    t->nfree_entry++;
    prune(t, n);
}

/* ---- filters ---- */

/* A filter subscribe accepts: valid, at most UINT16_MAX bytes and
 * PT_MQTT_TRIE_MAX_LEVELS levels. */
static bool
filter_ok(const char *filter, size_t len)
{
    uint32_t levels = 1;

    if (len > UINT16_MAX || pt_mqtt_filter_check(filter, len) != PT_MQTT_OK)
        return false;
    for (const char *p = filter; p < filter + len; p++)
        levels += *p == '/';
    return levels <= PT_MQTT_TRIE_MAX_LEVELS;
}

int
pt_mqtt_trie_filter_cost(const struct pt_mqtt_trie *t, const char *filter,
                         size_t len, uint64_t sub_id,
                         struct pt_mqtt_trie_cost *cost)
{
    const char *end = filter + len, *p = filter;
    uint32_t n = NONE, r = NONE;

    if (!filter_ok(filter, len))
        return -EINVAL;
    memset(cost, 0, sizeof(*cost));
    if (t != NULL) {
        n = walk(t, filter, len, &p);
        r = rec_find(t, sub_id);
    }
    cost->records = r == NONE;
    cost->entries = 1;
    if (p == NULL) { /* every level exists: is the pair there too? */
        for (uint32_t e = t->nodes[n].subs; e != NONE;
             e = t->entries[e].nnext)
            if (t->entries[e].owner == r)
                cost->entries = 0;
        return 0;
    }
    cost->missing = (uint32_t)(p - filter);
    for (;;) {
        const char *q = memchr(p, '/', (size_t)(end - p));

        if (q == NULL)
            q = end;
        cost->nodes++;
        if (level_kind(p, (size_t)(q - p)) == K_NAMED)
            cost->chunks += name_chunks((size_t)(q - p));
        if (q == end)
            return 0;
        p = q + 1;
    }
}

int
pt_mqtt_trie_subscribe(struct pt_mqtt_trie *t, const char *filter,
                       size_t len, uint64_t sub_id, uint8_t qos)
{
    const char *end = filter + len, *rest, *p;
    uint32_t n, r, e, need_nodes = 0, need_chunks = 0;

    PT_HOT_ASSERT_OWNER(&t->owner);
    if (qos > 2 || !filter_ok(filter, len))
        return -EINVAL;

    n = walk(t, filter, len, &rest);
    r = rec_find(t, sub_id);
    if (rest == NULL && r != NONE) {
        for (e = t->recs[r].first; e != NONE; e = t->entries[e].onext) {
            if (t->entries[e].node == n) {
                t->entries[e].qos = qos;
                t->gen++;
                return 1;
            }
        }
    }

    /* Check every pool first: -ENOSPC must change nothing. */
    for (p = rest; p != NULL;) {
        const char *q = memchr(p, '/', (size_t)(end - p));

        if (q == NULL)
            q = end;
        need_nodes++;
        if (level_kind(p, (size_t)(q - p)) == K_NAMED)
            need_chunks += name_chunks((size_t)(q - p));
        p = q == end ? NULL : q + 1;
    }
    if (need_nodes > t->nfree_node || need_chunks > t->nfree_chunk ||
        t->nfree_entry == 0 || (r == NONE && t->nfree_rec == 0)) {
        stat_store(&t->st_pool_full, t->st_pool_full + 1);
        return -ENOSPC;
    }

    for (p = rest; p != NULL;) {
        const char *q = memchr(p, '/', (size_t)(end - p));

        if (q == NULL)
            q = end;
        n = node_create(t, n, p, (size_t)(q - p));
        p = q == end ? NULL : q + 1;
    }
    if (r == NONE)
        r = rec_create(t, sub_id);

    e = t->free_entry;
    t->free_entry = t->entries[e].nnext;
    t->nfree_entry--;
    t->entries[e] = (struct entry){
        .node = n,
        .owner = r,
        .nnext = t->nodes[n].subs,
        .nprev = NONE,
        .onext = t->recs[r].first,
        .qos = qos,
    };
    if (t->nodes[n].subs != NONE)
        t->entries[t->nodes[n].subs].nprev = e;
    t->nodes[n].subs = e;
    t->recs[r].first = e;
    publish_gauges(t);
    return 0;
}

int
pt_mqtt_trie_unsubscribe(struct pt_mqtt_trie *t, const char *filter,
                         size_t len, uint64_t sub_id)
{
    const char *rest;
    uint32_t n, r, *link;

    PT_HOT_ASSERT_OWNER(&t->owner);
    if (pt_mqtt_filter_check(filter, len) != PT_MQTT_OK)
        return -EINVAL;
    n = walk(t, filter, len, &rest);
    if (rest != NULL)
        return -ENOENT;
    r = rec_find(t, sub_id);
    if (r == NONE)
        return -ENOENT;
    for (link = &t->recs[r].first; *link != NONE;
         link = &t->entries[*link].onext) {
        uint32_t e = *link;

        if (t->entries[e].node != n)
            continue;
        *link = t->entries[e].onext;
        entry_remove(t, e);
        if (t->recs[r].first == NONE)
            rec_remove(t, r);
        publish_gauges(t);
        return 0;
    }
    return -ENOENT;
}

uint32_t
pt_mqtt_trie_unsubscribe_all(struct pt_mqtt_trie *t, uint64_t sub_id)
{
    uint32_t r, e, next, count = 0;

    PT_HOT_ASSERT_OWNER(&t->owner);
    r = rec_find(t, sub_id);
    if (r == NONE)
        return 0;
    for (e = t->recs[r].first; e != NONE; e = next) {
        next = t->entries[e].onext;
        entry_remove(t, e);
        count++;
    }
    rec_remove(t, r);
    publish_gauges(t);
    return count;
}

/* ---- life ---- */

/* Where each pool lives in the one allocation. */
struct layout {
    uint32_t max_chunks, nbkt, rbkt;
    size_t off_nodes, off_chunks, off_entries, off_recs, off_nbkt, off_rbkt;
    size_t total;
};

static bool
layout(uint32_t max_nodes, uint32_t max_subs, struct layout *l)
{
    if (max_nodes < 2 || max_nodes > PT_MQTT_TRIE_MAX_POOL || max_subs < 1 ||
        max_subs > PT_MQTT_TRIE_MAX_POOL)
        return false;
    l->max_chunks = max_nodes / 2;
    l->nbkt = rte_align32pow2(max_nodes);
    l->rbkt = rte_align32pow2(max_subs);
    l->off_nodes = RTE_ALIGN_CEIL(sizeof(struct pt_mqtt_trie),
                                  RTE_CACHE_LINE_SIZE);
    l->off_chunks = RTE_ALIGN_CEIL(l->off_nodes +
                                   sizeof(struct node) * max_nodes,
                                   RTE_CACHE_LINE_SIZE);
    l->off_entries = RTE_ALIGN_CEIL(l->off_chunks +
                                    sizeof(struct chunk) * l->max_chunks,
                                    RTE_CACHE_LINE_SIZE);
    l->off_recs = RTE_ALIGN_CEIL(l->off_entries +
                                 sizeof(struct entry) * max_subs,
                                 RTE_CACHE_LINE_SIZE);
    l->off_nbkt = RTE_ALIGN_CEIL(l->off_recs + sizeof(struct rec) * max_subs,
                                 RTE_CACHE_LINE_SIZE);
    l->off_rbkt = RTE_ALIGN_CEIL(l->off_nbkt + sizeof(uint32_t) * l->nbkt,
                                 RTE_CACHE_LINE_SIZE);
    l->total = l->off_rbkt + sizeof(uint32_t) * l->rbkt;
    return true;
}

size_t
pt_mqtt_trie_memory(uint32_t max_nodes, uint32_t max_subs)
{
    struct layout l;

    return layout(max_nodes, max_subs, &l) ? l.total : 0;
}

struct pt_mqtt_trie *
pt_mqtt_trie_create(uint32_t max_nodes, uint32_t max_subs, int socket_id)
{
    struct pt_mqtt_trie *t;
    uint32_t max_chunks, nbkt, rbkt;
    struct layout l;
    char *base;

    if (!layout(max_nodes, max_subs, &l)) {
        rte_errno = EINVAL;
        return NULL;
    }
    max_chunks = l.max_chunks;
    nbkt = l.nbkt;
    rbkt = l.rbkt;
    base = rte_zmalloc_socket("pt_mqtt_trie", l.total, RTE_CACHE_LINE_SIZE,
                              socket_id);
    if (base == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    t = (struct pt_mqtt_trie *)base;
    t->owner = LCORE_ID_ANY;
    t->max_nodes = max_nodes;
    t->max_chunks = max_chunks;
    t->max_subs = max_subs;
    t->node_mask = nbkt - 1;
    t->rec_mask = rbkt - 1;
    t->nodes = (struct node *)(base + l.off_nodes);
    t->chunks = (struct chunk *)(base + l.off_chunks);
    t->entries = (struct entry *)(base + l.off_entries);
    t->recs = (struct rec *)(base + l.off_recs);
    t->node_bkt = (uint32_t *)(base + l.off_nbkt);
    t->rec_bkt = (uint32_t *)(base + l.off_rbkt);
    t->bytes_allocated = l.total;
    memset(t->node_bkt, 0xff, sizeof(uint32_t) * nbkt);
    memset(t->rec_bkt, 0xff, sizeof(uint32_t) * rbkt);

    t->nodes[0] = (struct node){
        .parent = NONE, .hnext = NONE, .plus = NONE, .wild = NONE,
        .subs = NONE, .kind = K_ROOT,
    };
    for (uint32_t i = 1; i < max_nodes; i++)
        t->nodes[i].hnext = i + 1 < max_nodes ? i + 1 : NONE;
    t->free_node = 1;
    t->nfree_node = max_nodes - 1;
    for (uint32_t i = 0; i < max_chunks; i++)
        t->chunks[i].next = i + 1 < max_chunks ? i + 1 : NONE;
    t->free_chunk = max_chunks > 0 ? 0 : NONE;
    t->nfree_chunk = max_chunks;
    for (uint32_t i = 0; i < max_subs; i++) {
        t->entries[i].nnext = i + 1 < max_subs ? i + 1 : NONE;
        t->recs[i].hnext = i + 1 < max_subs ? i + 1 : NONE;
    }
    t->free_entry = 0;
    t->nfree_entry = max_subs;
    t->free_rec = 0;
    t->nfree_rec = max_subs;
    t->mhead = NONE;
    publish_gauges(t);
    return t;
}

void
pt_mqtt_trie_free(struct pt_mqtt_trie *t)
{
    rte_free(t);
}

void
pt_mqtt_trie_stats(const struct pt_mqtt_trie *t,
                   struct pt_mqtt_trie_stats *st)
{
    uint64_t heads = sizeof(uint32_t) * ((uint64_t)t->node_mask + 1 +
                                         (uint64_t)t->rec_mask + 1);

    memset(st, 0, sizeof(*st));
    st->nodes_used = __atomic_load_n(&t->st_nodes, __ATOMIC_RELAXED);
    st->nodes_max = t->max_nodes;
    st->chunks_used = __atomic_load_n(&t->st_chunks, __ATOMIC_RELAXED);
    st->chunks_max = t->max_chunks;
    st->subs_used = __atomic_load_n(&t->st_subs, __ATOMIC_RELAXED);
    st->subs_max = t->max_subs;
    st->subscribers_used = __atomic_load_n(&t->st_recs, __ATOMIC_RELAXED);
    st->bytes_allocated = t->bytes_allocated;
    st->bytes_used = st->nodes_used * sizeof(struct node) +
                     st->chunks_used * sizeof(struct chunk) +
                     st->subs_used * sizeof(struct entry) +
                     st->subscribers_used * sizeof(struct rec) + heads;
    st->bytes_per_sub = st->subs_used ? st->bytes_used / st->subs_used : 0;
    st->matches = __atomic_load_n(&t->st_matches, __ATOMIC_RELAXED);
    st->delivered = __atomic_load_n(&t->st_delivered, __ATOMIC_RELAXED);
    st->pool_full = __atomic_load_n(&t->st_pool_full, __ATOMIC_RELAXED);
}

uint64_t
pt_mqtt_trie_gen(const struct pt_mqtt_trie *t)
{
    return t->gen;
}

void
pt_mqtt_trie_disown(struct pt_mqtt_trie *t)
{
    t->owner = LCORE_ID_ANY;
}
