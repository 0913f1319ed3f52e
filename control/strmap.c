/* SPDX-License-Identifier: BSD-3-Clause */
/* The control plane's byte-string hash map (see strmap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct ent {
    struct ent *next;
    void *value;
    uint64_t hash;
    size_t len;
    unsigned char key[];
};

struct pt_strmap {
    struct ent **b;
    size_t nb;      /* buckets, a power of two */
    size_t n;
    uint64_t seed;
};

static uint64_t
hash(const struct pt_strmap *m, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325ull ^ m->seed;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

struct pt_strmap *
pt_strmap_create(uint64_t seed)
{
    struct pt_strmap *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->nb = 64;
    m->seed = seed;
    m->b = calloc(m->nb, sizeof(*m->b));
    if (m->b == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void
pt_strmap_free(struct pt_strmap *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nb; i++) {
        struct ent *e = m->b[i];

        while (e != NULL) {
            struct ent *next = e->next;

            free(e);
            e = next;
        }
    }
    free(m->b);
    free(m);
}

static struct ent **
find(const struct pt_strmap *m, const void *key, size_t len, uint64_t h)
{
    struct ent **pp = &m->b[h & (m->nb - 1)];

    for (; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->len == len &&
            memcmp((*pp)->key, key, len) == 0)
            return pp;
    return pp;
}

void *
pt_strmap_get(const struct pt_strmap *m, const void *key, size_t len)
{
    struct ent **pp = find(m, key, len, hash(m, key, len));

    return *pp != NULL ? (*pp)->value : NULL;
}

static void
grow(struct pt_strmap *m)
{
    size_t nb = m->nb * 2;
    struct ent **b = calloc(nb, sizeof(*b));

    if (b == NULL)
        return;     /* stay at this size: longer chains, still correct */
    for (size_t i = 0; i < m->nb; i++) {
        struct ent *e = m->b[i];

        while (e != NULL) {
            struct ent *next = e->next;

            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void *
pt_strmap_put(struct pt_strmap *m, const void *key, size_t len, void *value,
              int *err)
{
    uint64_t h = hash(m, key, len);
    struct ent **pp = find(m, key, len, h), *e;
    void *old;

    *err = 0;
    if (*pp != NULL) {
        old = (*pp)->value;
        (*pp)->value = value;
        return old;
    }
    e = malloc(sizeof(*e) + len);
    if (e == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    e->next = NULL;
    e->value = value;
    e->hash = h;
    e->len = len;
    memcpy(e->key, key, len);
    *pp = e;
    if (++m->n > m->nb)
        grow(m);
    return NULL;
}

void *
pt_strmap_del(struct pt_strmap *m, const void *key, size_t len)
{
    struct ent **pp = find(m, key, len, hash(m, key, len)), *e = *pp;
    void *v;

    if (e == NULL)
        return NULL;
    *pp = e->next;
    v = e->value;
    free(e);
    m->n--;
    return v;
}

size_t
pt_strmap_count(const struct pt_strmap *m)
{
    return m->n;
}

void
pt_strmap_each(const struct pt_strmap *m,
               void (*fn)(void *, const void *, size_t, void *), void *arg)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct ent *e = m->b[i]; e != NULL; e = e->next)
            fn(arg, e->key, e->len, e->value);
}
