/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Failed-login throttling: a fixed-size table from keys (a source address,
 * a user name) to failure records, so that password guessing from one
 * address, or against one name, slows down exponentially. The policy is
 * documented at pt_throttle_fail() in include/petrel/auth.h and in
 * docs/access.md; this file is only the table. It does not decide which
 * keys to track or what a refused login looks like on the wire.
 *
 * A record's life (the key is the unit; "now" is the caller's clock):
 *
 *   absent --fail--> counting --fail (fails >= limit)--> blocked
 *      ^                |   ^                              |   |
 *      |                |   +------ block ends (time) -----+   |
 *      |                |                                      |
 *      +-- forget / expiry / eviction (from either state) -----+
 *
 *   absent   -> counting  [pt_throttle_fail]   fails = 1
 *   counting -> counting  [pt_throttle_fail]   fails < limit
 *   counting -> blocked   [pt_throttle_fail]   until = now + block(fails);
 *                                              stats.blocks++
 *   blocked  -> blocked   [pt_throttle_fail]   until = now + block(fails)
 *   blocked  -> counting  (time: now >= until; fails are kept, so the next
 *                          failure blocks again, for twice as long)
 *   any      -> absent    [pt_throttle_forget] a successful login
 *   counting -> absent    [pt_throttle_blocked, pt_throttle_fail] expiry:
 *                          now >= until and now - last_fail >= block_max
 *   any      -> absent    [pt_throttle_fail on a full table] the least
 *                          recently failed record; stats.evictions++ when
 *                          it had not expired
 *
 * block(fails) = min(block_ms << (fails - limit), block_max_ms).
 *
 * Invariants: every used entry is on exactly one hash chain and on the LRU
 * list, which is ordered by last failure (most recent at the head); free
 * entries are on the free list only; in_use counts the used ones. The
 * table's memory is allocated by pt_throttle_create() and nothing else.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <petrel/auth.h>
#include <petrel/siphash.h>

#define THR_HASHED 0xff             /* klen of a key stored by hash */
#define THR_MAX_ENTRIES (1u << 30)
#define THR_REAP_PER_FAIL 2         /* expired LRU tails dropped per fail */

struct thr_ent {
    uint64_t h;                     /* keyed hash of the key */
    uint64_t last_fail;             /* ms */
    uint64_t until;                 /* block ends (ms); 0 = never blocked */
    uint32_t fails;
    uint32_t next;                  /* chain or free list: index + 1 */
    uint32_t prev_lru, next_lru;    /* index + 1; prev is more recent */
    uint8_t klen;                   /* <= PT_THROTTLE_KEY_INLINE, or hashed */
    uint8_t key[PT_THROTTLE_KEY_INLINE];
};

struct pt_throttle {
    struct thr_ent *e;
    uint32_t *bucket;               /* chain heads: index + 1 */
    uint32_t mask;
    uint32_t cap;
    uint32_t free_head;             /* index + 1 */
    uint32_t lru_head, lru_tail;    /* index + 1 */
    uint64_t in_use;
    uint64_t evictions;
    uint64_t blocks;
    uint8_t seed[16];
};

struct pt_throttle *
pt_throttle_create(uint32_t entries)
{
    struct pt_throttle *t;
    uint32_t nb = 16;

    if (entries == 0 || entries > THR_MAX_ENTRIES) {
        errno = EINVAL;
        return NULL;
    }
    while (nb < entries)
        nb *= 2;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        goto fail;
    if (getrandom(t->seed, sizeof(t->seed), 0) != sizeof(t->seed)) {
        if (errno == 0)
            errno = EIO;
        goto fail;
    }
    t->e = calloc(entries, sizeof(*t->e));
    t->bucket = calloc(nb, sizeof(*t->bucket));
    if (t->e == NULL || t->bucket == NULL) {
        errno = ENOMEM;
        goto fail;
    }
    t->mask = nb - 1;
    t->cap = entries;
    for (uint32_t i = 0; i < entries; i++)
        t->e[i].next = i + 2 <= entries ? i + 2 : 0;
    t->free_head = 1;
    return t;
fail:
    pt_throttle_destroy(t);
    return NULL;
}

void
pt_throttle_destroy(struct pt_throttle *t)
{
    if (t == NULL)
        return;
    free(t->e);
    free(t->bucket);
    free(t);
}

static uint64_t
key_hash(const struct pt_throttle *t, const void *key, size_t len)
{
    return pt_siphash(t->seed, key, len);
}

/* The link that holds key's entry (index + 1), or the chain's final 0. */
static uint32_t *
find(struct pt_throttle *t, uint64_t h, const void *key, size_t len)
{
    uint32_t *link = &t->bucket[h & t->mask];

    for (; *link != 0; link = &t->e[*link - 1].next) {
        const struct thr_ent *e = &t->e[*link - 1];

        if (e->h != h)
            continue;
        if (len > PT_THROTTLE_KEY_INLINE ? e->klen == THR_HASHED
                                         : e->klen == len &&
                                           memcmp(e->key, key, len) == 0)
            return link;
    }
    return link;
}

/* The link to entry i on its chain (it is on one). */
static uint32_t *
link_of(struct pt_throttle *t, uint32_t i)
{
    uint32_t *link = &t->bucket[t->e[i].h & t->mask];

    while (*link != i + 1)
        link = &t->e[*link - 1].next;
    return link;
}

static void
lru_unlink(struct pt_throttle *t, uint32_t i)
{
    struct thr_ent *e = &t->e[i];

    if (e->prev_lru != 0)
        t->e[e->prev_lru - 1].next_lru = e->next_lru;
    else
        t->lru_head = e->next_lru;
    if (e->next_lru != 0)
        t->e[e->next_lru - 1].prev_lru = e->prev_lru;
    else
        t->lru_tail = e->prev_lru;
    e->prev_lru = e->next_lru = 0;
}

static void
lru_push_head(struct pt_throttle *t, uint32_t i)
{
    struct thr_ent *e = &t->e[i];

    e->prev_lru = 0;
    e->next_lru = t->lru_head;
    if (t->lru_head != 0)
        t->e[t->lru_head - 1].prev_lru = i + 1;
    else
        t->lru_tail = i + 1;
    t->lru_head = i + 1;
}

/* Drop entry i, whose chain link is *link, to the free list. */
static void
drop(struct pt_throttle *t, uint32_t *link)
{
    uint32_t i = *link - 1;
    struct thr_ent *e = &t->e[i];

    *link = e->next;
    lru_unlink(t, i);
    memset(e, 0, sizeof(*e));
    e->next = t->free_head;
    t->free_head = i + 1;
    t->in_use--;
}

static bool
expired(const struct thr_ent *e, uint64_t now,
        const struct pt_throttle_policy *p)
{
    return now >= e->until && now >= e->last_fail &&
           now - e->last_fail >= p->block_max_ms;
}

uint64_t
pt_throttle_blocked(struct pt_throttle *t, const void *key, size_t len,
                    uint64_t now_ms, const struct pt_throttle_policy *p)
{
    uint32_t *link = find(t, key_hash(t, key, len), key, len);
    const struct thr_ent *e;

    if (*link == 0)
        return 0;
    e = &t->e[*link - 1];
    if (expired(e, now_ms, p)) {
        drop(t, link);
        return 0;
    }
    return now_ms < e->until ? e->until : 0;
}

/* A free entry: from the free list, else the LRU tail (counted as an
 * eviction unless it had expired). */
static uint32_t
take_entry(struct pt_throttle *t, uint64_t now,
           const struct pt_throttle_policy *p)
{
    uint32_t i;

    if (t->free_head == 0) {
        i = t->lru_tail - 1;
        if (!expired(&t->e[i], now, p))
            t->evictions++;
        drop(t, link_of(t, i));
    }
    i = t->free_head - 1;
    t->free_head = t->e[i].next;
    t->in_use++;
    return i;
}

static uint64_t
block_len(uint32_t fails, const struct pt_throttle_policy *p, uint32_t limit)
{
    uint32_t extra = fails - limit;
    uint64_t b = extra >= 32 ? UINT64_MAX : (uint64_t)p->block_ms << extra;

    return b < p->block_max_ms ? b : p->block_max_ms;
}

void
pt_throttle_fail(struct pt_throttle *t, const void *key, size_t len,
                 uint64_t now_ms, const struct pt_throttle_policy *p)
{
    uint32_t limit = p->limit != 0 ? p->limit : 1;
    uint64_t h = key_hash(t, key, len);
    uint32_t *link, i;
    struct thr_ent *e;

    /* keep expired records from crowding out live ones */
    for (int r = 0; r < THR_REAP_PER_FAIL && t->lru_tail != 0; r++) {
        i = t->lru_tail - 1;
        if (!expired(&t->e[i], now_ms, p))
            break;
        drop(t, link_of(t, i));
    }
    link = find(t, h, key, len);
    if (*link != 0) {
        i = *link - 1;
        e = &t->e[i];
        if (expired(e, now_ms, p))
            e->fails = 0;           /* gone quiet long enough: start over */
        lru_unlink(t, i);
    } else {
        i = take_entry(t, now_ms, p);
        e = &t->e[i];
        e->h = h;
        e->fails = 0;
        e->until = 0;
        if (len > PT_THROTTLE_KEY_INLINE) {
            e->klen = THR_HASHED;
        } else {
            e->klen = (uint8_t)len;
            memcpy(e->key, key, len);
        }
        e->next = t->bucket[h & t->mask];
        t->bucket[h & t->mask] = i + 1;
    }
    lru_push_head(t, i);
    if (e->fails < UINT32_MAX)
        e->fails++;
    e->last_fail = now_ms;
    if (e->fails >= limit) {
        if (now_ms >= e->until)
            t->blocks++;
        e->until = now_ms + block_len(e->fails, p, limit);
    }
}

void
pt_throttle_forget(struct pt_throttle *t, const void *key, size_t len)
{
    uint32_t *link = find(t, key_hash(t, key, len), key, len);

    if (*link != 0)
        drop(t, link);
}

void
pt_throttle_stats(const struct pt_throttle *t, struct pt_throttle_stats *st)
{
    st->in_use = t->in_use;
    st->capacity = t->cap;
    st->evictions = t->evictions;
    st->blocks = t->blocks;
}
