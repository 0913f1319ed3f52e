/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-core actor id table; see include/petrel/actor.h for the id layout,
 * the wrap policy and the threading contract.
 *
 * Invariants:
 * - a slot is live iff its obj is non-NULL; its gen is then the generation
 *   of the one id that resolves to it;
 * - a free slot's gen is the generation its next id will carry (bumped at
 *   release), so every id issued for it before no longer matches;
 * - gen is never 0;
 * - the free slots form one FIFO list head -> ... -> tail linked through
 *   next (SLOT_NIL ends it); its length is max - in_use.
 */
#include <errno.h>
#include <stddef.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <petrel/actor.h>
#include <petrel/debug.h>

#define SLOT_NIL UINT32_MAX

struct actor_slot {
    void *obj;       /* NULL when free */
    uint32_t gen;    /* 1 .. PT_ACTOR_GEN_MAX */
    uint32_t next;   /* free-list link; meaningless when live */
};

_Static_assert(sizeof(struct actor_slot) == 16, "16 bytes per slot");

struct pt_actor_table {
    /* owner's line */
    uint64_t core_bits;       /* core << PT_ACTOR_CORE_SHIFT */
    uint32_t max;
    uint32_t in_use;
    uint32_t head;            /* oldest free slot, SLOT_NIL when full */
    uint32_t tail;            /* newest free slot */
    unsigned owner_lcore;     /* PT_HOT_ASSERT_OWNER */
    struct actor_slot *slot;

    /* counters: owner stores, anyone loads (relaxed) */
    struct pt_actor_stats st __rte_cache_aligned;
};

/* Single writer: a relaxed load + store is an exact increment that other
 * threads can read without tearing. */
static inline void
stat_inc(uint64_t *p)
{
    __atomic_store_n(p, *p + 1, __ATOMIC_RELAXED);
}

static inline uint64_t
make_id(const struct pt_actor_table *t, uint32_t gen, uint32_t slot)
{
    return t->core_bits | (uint64_t)gen << PT_ACTOR_GEN_SHIFT | slot;
}

struct pt_actor_table *
pt_actor_table_create_at_gen(unsigned core, uint32_t max_slots,
                             int socket_id, uint32_t first_gen)
{
    struct pt_actor_table *t;

    if (core > PT_ACTOR_CORE_MAX || max_slots == 0 ||
        max_slots > PT_ACTOR_SLOTS_MAX || first_gen == 0 ||
        first_gen > PT_ACTOR_GEN_MAX) {
        rte_errno = EINVAL;
        return NULL;
    }
    t = rte_zmalloc_socket("pt_actor_table", sizeof(*t),
                           RTE_CACHE_LINE_SIZE, socket_id);
    if (t == NULL)
        goto nomem;
    t->slot = rte_malloc_socket("pt_actor_slots",
                                sizeof(t->slot[0]) * (size_t)max_slots,
                                RTE_CACHE_LINE_SIZE, socket_id);
    if (t->slot == NULL)
        goto nomem;
    for (uint32_t i = 0; i < max_slots; i++) {
        t->slot[i].obj = NULL;
        t->slot[i].gen = first_gen;
        t->slot[i].next = i + 1 < max_slots ? i + 1 : SLOT_NIL;
    }
    t->core_bits = (uint64_t)core << PT_ACTOR_CORE_SHIFT;
    t->max = max_slots;
    t->head = 0;
    t->tail = max_slots - 1;
    t->owner_lcore = LCORE_ID_ANY;
    t->st.max = max_slots;
    return t;

nomem:
    pt_actor_table_free(t);
    rte_errno = ENOMEM;
    return NULL;
}

struct pt_actor_table *
pt_actor_table_create(unsigned core, uint32_t max_slots, int socket_id)
{
    return pt_actor_table_create_at_gen(core, max_slots, socket_id, 1);
}

void
pt_actor_table_free(struct pt_actor_table *t)
{
    if (t == NULL)
        return;
    rte_free(t->slot);
    rte_free(t);
}

uint64_t
pt_actor_alloc(struct pt_actor_table *t, void *obj)
{
    struct actor_slot *s;
    uint32_t i;

    PT_HOT_ASSERT_OWNER(&t->owner_lcore);
    PT_HOT_ASSERT(obj != NULL);
    if (obj == NULL)
        return PT_ACTOR_ID_NONE;
    i = t->head;
    if (i == SLOT_NIL) {
        stat_inc(&t->st.alloc_failures);
        return PT_ACTOR_ID_NONE;
    }
    s = &t->slot[i];
    t->head = s->next;
    if (t->head == SLOT_NIL)
        t->tail = SLOT_NIL;
    s->obj = obj;
    t->in_use++;
    __atomic_store_n(&t->st.in_use, t->in_use, __ATOMIC_RELAXED);
    return make_id(t, s->gen, i);
}

/* The live slot id names, or NULL. */
static inline struct actor_slot *
resolve(const struct pt_actor_table *t, uint64_t id)
{
    uint32_t i = pt_actor_slot(id);
    struct actor_slot *s;

    /* core and generation in one compare: rebuild the id this slot would
     * issue now. A free slot may carry id's generation (its next one), so
     * obj decides liveness. Generation 0 never matches. */
    if (i >= t->max)
        return NULL;
    s = &t->slot[i];
    if (s->obj == NULL || make_id(t, s->gen, i) != id)
        return NULL;
    return s;
}

void *
pt_actor_lookup(struct pt_actor_table *t, uint64_t id)
{
    struct actor_slot *s;

    PT_HOT_ASSERT_OWNER(&t->owner_lcore);
    s = resolve(t, id);
    if (s == NULL) {
        stat_inc(&t->st.stale_lookups);
        return NULL;
    }
    return s->obj;
}

int
pt_actor_release(struct pt_actor_table *t, uint64_t id)
{
    struct actor_slot *s;
    uint32_t i = pt_actor_slot(id);

    PT_HOT_ASSERT_OWNER(&t->owner_lcore);
    s = resolve(t, id);
    if (s == NULL) {
        stat_inc(&t->st.stale_releases);
        return -ENOENT;
    }
    s->obj = NULL;
    if (s->gen == PT_ACTOR_GEN_MAX) {
        s->gen = 1; /* skip 0: see the wrap note in actor.h */
        stat_inc(&t->st.gen_wraps);
    } else {
        s->gen++;
    }
    /* FIFO: append at the tail so the oldest free slot is reused first */
    s->next = SLOT_NIL;
    if (t->tail == SLOT_NIL)
        t->head = i;
    else
        t->slot[t->tail].next = i;
    t->tail = i;
    t->in_use--;
    __atomic_store_n(&t->st.in_use, t->in_use, __ATOMIC_RELAXED);
    return 0;
}

void
pt_actor_stats(const struct pt_actor_table *t, struct pt_actor_stats *out)
{
    out->in_use = __atomic_load_n(&t->st.in_use, __ATOMIC_RELAXED);
    out->max = __atomic_load_n(&t->st.max, __ATOMIC_RELAXED);
    out->alloc_failures = __atomic_load_n(&t->st.alloc_failures,
                                          __ATOMIC_RELAXED);
    out->stale_lookups = __atomic_load_n(&t->st.stale_lookups,
                                         __ATOMIC_RELAXED);
    out->stale_releases = __atomic_load_n(&t->st.stale_releases,
                                          __ATOMIC_RELAXED);
    out->gen_wraps = __atomic_load_n(&t->st.gen_wraps, __ATOMIC_RELAXED);
}

unsigned
pt_actor_for_each(struct pt_actor_table *t,
                  void (*fn)(void *arg, uint64_t id, void *obj), void *arg)
{
    unsigned n = 0;

    for (uint32_t i = 0; i < t->max; i++) {
        struct actor_slot *s = &t->slot[i];

        if (s->obj == NULL)
            continue;
        fn(arg, make_id(t, s->gen, i), s->obj);
        n++;
    }
    return n;
}

void
pt_actor_disown(struct pt_actor_table *t)
{
    t->owner_lcore = LCORE_ID_ANY;
}
