/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the subscription trie shared by mqtt_trie.c (pools,
 * subscribe, unsubscribe, life) and mqtt_trie_match.c (match and the
 * read-only walks): the element layouts and the lookups both need. Not an
 * API: include/petrel/mqtt_trie.h is.
 */
#ifndef PETREL_MQTT_TRIE_PRIV_H
#define PETREL_MQTT_TRIE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>

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

static inline bool
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

static inline enum node_kind
level_kind(const char *s, size_t n)
{
    if (n == 1 && s[0] == '+')
        return K_PLUS;
    if (n == 1 && s[0] == '#')
        return K_WILD;
    return K_NAMED;
}

static inline uint32_t
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

static inline uint32_t
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

static inline uint32_t
rec_find(const struct pt_mqtt_trie *t, uint64_t id)
{
    uint32_t r;

    for (r = t->rec_bkt[rec_bucket(t, id)]; r != NONE; r = t->recs[r].hnext)
        if (t->recs[r].id == id)
            return r;
    return NONE;
}

/* Deepest existing node along the filter; *rest is the first level not in
 * the trie, or NULL when the whole filter is. */
static inline uint32_t
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

#endif /* PETREL_MQTT_TRIE_PRIV_H */
