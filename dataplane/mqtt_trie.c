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

#define NONE UINT32_MAX
#define CHUNK_BYTES PT_MQTT_TRIE_CHUNK_BYTES

enum node_kind {
    K_FREE,
    K_ROOT,
    K_NAMED,
    K_PLUS,
    K_WILD,
};

struct node {
    uint32_t parent;
    uint32_t hnext;      /* named-children hash chain, or free list */
    uint32_t plus;       /* '+' child */
    uint32_t wild;       /* '#' child */
    uint32_t subs;       /* head of this filter's entries */
    uint32_t nchildren;  /* named children */
    uint32_t hash;       /* of the level name */
    uint16_t len;        /* of the level name */
    uint8_t kind;
    uint8_t pad;
    union {
        char name[PT_MQTT_TRIE_INLINE]; /* len <= PT_MQTT_TRIE_INLINE */
        uint32_t chunk;                 /* else: first chunk of the name */
    } u;
};
_Static_assert(sizeof(struct node) == 48, "node size");

struct chunk {
    uint32_t next;
    char b[CHUNK_BYTES];
};
_Static_assert(sizeof(struct chunk) == 32, "chunk size");

struct entry {
    uint32_t node;
    uint32_t owner;      /* subscriber record */
    uint32_t nnext;      /* node's list, or free list */
    uint32_t nprev;
    uint32_t onext;      /* owner's list */
    uint8_t qos;
};
_Static_assert(sizeof(struct entry) == 24, "entry size");

/* Match epochs are 30 bits so the QoS fits beside them: a 24-byte record. */
#define EPOCH_MASK ((1u << 30) - 1)

struct rec {
    uint64_t id;
    uint32_t first;      /* owner's entries */
    uint32_t hnext;      /* id hash chain, or free list */
    uint32_t mnext;      /* delivery list of the current match */
    uint32_t epoch : 30; /* match that last stamped it (0: none) */
    uint32_t best : 2;   /* highest QoS in that match */
};
_Static_assert(sizeof(struct rec) == 24, "rec size");

struct pt_mqtt_trie {
    unsigned owner;
    uint32_t max_nodes, max_chunks, max_subs;
    uint32_t node_mask, rec_mask;
    uint32_t free_node, free_chunk, free_entry, free_rec;
    uint32_t nfree_node, nfree_chunk, nfree_entry, nfree_rec;
    uint32_t epoch;
    uint32_t mhead;
    struct node *nodes;
    struct chunk *chunks;
    struct entry *entries;
    struct rec *recs;
    uint32_t *node_bkt;
    uint32_t *rec_bkt;
    uint64_t bytes_allocated;
    uint64_t gen;            /* bumped by every change (owner only) */
    /* readable by any thread (relaxed) */
    uint64_t st_nodes, st_chunks, st_subs, st_recs;
    uint64_t st_matches, st_delivered, st_pool_full;
};

static inline void
stat_store(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

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

static inline uint32_t
level_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static inline uint32_t
node_bucket(const struct pt_mqtt_trie *t, uint32_t parent, uint32_t h)
{
    uint32_t x = h ^ (parent * 0x9e3779b1u);

    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    return x & t->node_mask;
}

static inline uint32_t
rec_bucket(const struct pt_mqtt_trie *t, uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (uint32_t)id & t->rec_mask;
}

/* ---- level names ---- */

static bool
name_eq(const struct pt_mqtt_trie *t, const struct node *nd, const char *s,
        size_t n)
{
    uint32_t c;

    if (nd->len != n)
        return false;
    if (n <= PT_MQTT_TRIE_INLINE)
        return memcmp(nd->u.name, s, n) == 0;
    for (c = nd->u.chunk; n > 0; c = t->chunks[c].next) {
        size_t k = n < CHUNK_BYTES ? n : CHUNK_BYTES;

        if (memcmp(t->chunks[c].b, s, k) != 0)
            return false;
        s += k;
        n -= k;
    }
    return true;
}

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

static inline enum node_kind
level_kind(const char *s, size_t n)
{
    if (n == 1 && s[0] == '+')
        return K_PLUS;
    if (n == 1 && s[0] == '#')
        return K_WILD;
    return K_NAMED;
}

static uint32_t
find_named(const struct pt_mqtt_trie *t, uint32_t parent, const char *s,
           size_t n, uint32_t h)
{
    uint32_t i;

    for (i = t->node_bkt[node_bucket(t, parent, h)]; i != NONE;
         i = t->nodes[i].hnext) {
        const struct node *nd = &t->nodes[i];

        if (nd->parent == parent && nd->hash == h && name_eq(t, nd, s, n))
            return i;
    }
    return NONE;
}

static uint32_t
lookup(const struct pt_mqtt_trie *t, uint32_t parent, const char *s,
       size_t n)
{
    switch (level_kind(s, n)) {
    case K_PLUS:
        return t->nodes[parent].plus;
    case K_WILD:
        return t->nodes[parent].wild;
    default:
        if (t->nodes[parent].nchildren == 0)
            return NONE;
        return find_named(t, parent, s, n, level_hash(s, n));
    }
}

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
rec_find(const struct pt_mqtt_trie *t, uint64_t id)
{
    uint32_t r;

    for (r = t->rec_bkt[rec_bucket(t, id)]; r != NONE; r = t->recs[r].hnext)
        if (t->recs[r].id == id)
            return r;
    return NONE;
}

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

/* Deepest existing node along the filter; *rest is the first level not in
 * the trie, or NULL when the whole filter is. */
static uint32_t
walk(const struct pt_mqtt_trie *t, const char *f, size_t len,
     const char **rest)
{
    const char *p = f, *end = f + len;
    uint32_t n = 0;

    for (;;) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        uint32_t c;

        if (q == NULL)
            q = end;
        c = lookup(t, n, p, (size_t)(q - p));
        if (c == NONE) {
            *rest = p;
            return n;
        }
        n = c;
        if (q == end) {
            *rest = NULL;
            return n;
        }
        p = q + 1;
    }
}

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
