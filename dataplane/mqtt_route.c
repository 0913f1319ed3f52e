/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Global MQTT route table (include/petrel/mqtt_route.h): two
 * pt_mqtt_trie copies, left-right, with rte_rcu_qsbr grace periods. This
 * file is the writer's state machine plus thin reader wrappers; matching
 * itself is pt_mqtt_trie_match_mask().
 *
 * Copies: `active` is the copy readers load; the other one is `spare`.
 * Logs (writer-side, malloc'd, in sequence order):
 *   applied  changes already on the spare copy (IDLE), or on the active
 *            copy but maybe not yet on the old one (GRACE);
 *   queued   changes staged during GRACE, on neither copy yet.
 *
 *          add/del: apply to spare, append to applied
 *            +----+
 *            |    v
 *          +--------+  poll, applied non-empty:       +---------+
 *   create | IDLE   |  active = spare (release),      | GRACE   | add/del:
 *   -----> |        |  token = rte_rcu_qsbr_start     |         | reserve,
 *          |        | ------------------------------> |         | append to
 *          |        |                                 |         | queued
 *          |        | <------------------------------ |         |
 *          +--------+  poll, qsbr_check(token) done:  +---------+
 *                      replay applied onto old copy,
 *                      visible = its last seq, apply queued to old copy,
 *                      applied = queued (then swap again at once
 *                      if that is non-empty)
 *
 * Invariants:
 *   - IDLE: spare = active + applied (as route sets); nobody reads spare,
 *     queued is empty, nothing is reserved.
 *   - GRACE: active = old + applied; readers may still be on the old
 *     copy, so neither copy is written; queued is on no copy and its adds
 *     are covered by the reservation (rsv_*, pfx) against the active
 *     copy, so active + queued fits whatever the order (see reserve()).
 *   - sequence numbers: visible < every seq in applied < every seq in
 *     queued; visible only grows, and is stored after the replay.
 *   - the same changes reach both copies in the same order from the same
 *     contents, and a trie's pool use depends only on its contents, so a
 *     replay cannot fail where the first application succeeded (checked
 *     with RTE_VERIFY: a divergence between copies would be silent).
 *
 * State -> state [function]:
 *   IDLE  -> IDLE   [pt_mqtt_route_add, pt_mqtt_route_del] applied to spare
 *   IDLE  -> GRACE  [pt_mqtt_route_poll] applied non-empty: swap, start
 *   GRACE -> GRACE  [pt_mqtt_route_add, pt_mqtt_route_del] queued
 *   GRACE -> GRACE  [pt_mqtt_route_poll] some reader not yet quiescent
 *   GRACE -> IDLE   [pt_mqtt_route_poll] grace over, replayed, visible
 *                   moved; -> GRACE again in the same call if queued was
 *                   non-empty
 *
 * What it is not: a per-core subscription store, or multi-writer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <petrel/debug.h>
#include <petrel/mqtt_route.h>
#include <petrel/mqtt_trie.h>

/* rte_malloc element header and alignment padding, per allocation */
#define ELEM_OVERHEAD 256
/* most routes: two nodes each plus the headroom must fit a trie pool */
#define MAX_ROUTES ((PT_MQTT_TRIE_MAX_POOL - PT_MQTT_TRIE_MAX_LEVELS - 1) / 2)

enum state {
    ST_IDLE,
    ST_GRACE,
};

/* One staged change. */
struct op {
    struct op *next;
    uint64_t seq;
    uint32_t core;
    bool add;
    uint16_t len;
    char filter[];
};

struct oplist {
    struct op *head, *tail;
    uint64_t n;
};

/* A filter prefix (up to the end of one of its levels) that a queued add
 * creates: its bytes stay in the queued op until the round ends. */
struct pfx {
    const char *s;
    uint32_t len;
    uint32_t hash;
};

/* The distinct prefixes queued adds create (open addressing, s == NULL:
 * empty slot), so a level shared by many queued adds is reserved once. */
struct pfxset {
    struct pfx *slot;
    uint32_t cap, n;
};

struct pt_mqtt_route {
    /* read by every reader, written only at create */
    struct pt_mqtt_trie *copy[2];
    struct rte_rcu_qsbr *qsbr;
    unsigned n_cores;
    uint32_t max_routes;
    /* written once per swap, loaded (acquire) by every match */
    uint32_t active __rte_cache_aligned;
    uint64_t gen;        /* swaps: stored after active (see pt_mqtt_route_gen) */
    /* the writer's, on their own cache lines */
    unsigned writer __rte_cache_aligned;
    enum state state;
    uint64_t token;
    uint64_t next_seq;
    struct oplist applied, queued;
    struct pfxset pfx;
    uint64_t rsv_nodes, rsv_chunks, rsv_entries, rsv_records;
    uint64_t bytes_allocated;
    /* readable by any thread (relaxed, visible_seq acquire) */
    uint64_t visible_seq;
    uint64_t filters[2];
    uint64_t st_swaps, st_graces, st_pending;
};

static inline void
stat_store(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t
stat_load(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static uint32_t
trie_nodes(uint32_t max_routes)
{
    return 2 * max_routes + PT_MQTT_TRIE_MAX_LEVELS + 1;
}

static bool
args_ok(unsigned n_cores, uint32_t max_routes)
{
    return n_cores >= 1 && n_cores <= PT_MQTT_ROUTE_MAX_CORES &&
           max_routes >= 1 && max_routes <= MAX_ROUTES;
}

/* ---- the logs ---- */

static void
log_append(struct oplist *l, struct op *op)
{
    op->next = NULL;
    if (l->tail != NULL)
        l->tail->next = op;
    else
        l->head = op;
    l->tail = op;
    l->n++;
}

static void
log_free(struct oplist *l)
{
    struct op *op, *next;

    for (op = l->head; op != NULL; op = next) {
        next = op->next;
        free(op);
    }
    memset(l, 0, sizeof(*l));
}

/*
 * Apply one change to copy i. An existing pair added or a missing pair
 * deleted is a no-op (0). @return 0, or -ENOSPC (nothing changed).
 */
static int
apply(struct pt_mqtt_route *r, unsigned i, const struct op *op)
{
    struct pt_mqtt_trie *t = r->copy[i];
    uint32_t before = pt_mqtt_trie_filter_subs(t, op->filter, op->len);
    int rc;

    if (op->add) {
        rc = pt_mqtt_trie_subscribe(t, op->filter, op->len, op->core, 0);
        if (rc == 0 && before == 0)
            stat_store(&r->filters[i], r->filters[i] + 1);
        return rc == 1 ? 0 : rc;
    }
    rc = pt_mqtt_trie_unsubscribe(t, op->filter, op->len, op->core);
    if (rc == 0 && before == 1)
        stat_store(&r->filters[i], r->filters[i] - 1);
    return rc == -ENOENT ? 0 : rc;
}

/* Apply a whole log to copy i; it was checked when staged. */
static void
replay(struct pt_mqtt_route *r, unsigned i, const struct oplist *l)
{
    for (const struct op *op = l->head; op != NULL; op = op->next)
        RTE_VERIFY(apply(r, i, op) == 0);
}

/* ---- GRACE-time reservation ---- */

static uint32_t
pfx_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The slot holding (s, len), or the empty slot where it would go. */
static struct pfx *
pfx_slot(const struct pfxset *set, const char *s, uint32_t len, uint32_t h)
{
    for (uint32_t i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        struct pfx *x = &set->slot[i];

        if (x->s == NULL ||
            (x->hash == h && x->len == len && memcmp(x->s, s, len) == 0))
            return x;
    }
}

/* Room for `more` entries at a load of at most one half. */
static int
pfx_reserve(struct pfxset *set, uint32_t more)
{
    struct pfxset big;

    if (2 * ((uint64_t)set->n + more) <= set->cap)
        return 0;
    big.cap = set->cap ? set->cap : 64;
    while (2 * ((uint64_t)set->n + more) > big.cap)
        big.cap *= 2;
    big.n = set->n;
    big.slot = calloc(big.cap, sizeof(*big.slot));
    if (big.slot == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < set->cap; i++)
        if (set->slot[i].s != NULL)
            *pfx_slot(&big, set->slot[i].s, set->slot[i].len,
                      set->slot[i].hash) = set->slot[i];
    free(set->slot);
    *set = big;
    return 0;
}

static void
pfx_clear(struct pfxset *set)
{
    if (set->n > 0)
        memset(set->slot, 0, sizeof(*set->slot) * set->cap);
    set->n = 0;
}

/*
 * Walk the levels of op's filter from byte `from` on (those the active
 * copy lacks), counting the prefixes no queued add has claimed yet, or
 * claiming them.
 */
static void
pfx_walk(struct pfxset *set, const struct op *op, uint32_t from, bool claim,
         uint32_t *nodes, uint32_t *chunks)
{
    const char *f = op->filter, *end = f + op->len, *p = f + from;

    *nodes = 0;
    *chunks = 0;
    for (;;) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        uint32_t len, h;
        struct pfx *x;

        if (q == NULL)
            q = end;
        len = (uint32_t)(q - f);
        h = pfx_hash(f, len);
        x = pfx_slot(set, f, len, h);
        if (x->s == NULL) {
            ++*nodes;
            *chunks += pt_mqtt_trie_level_chunks((size_t)(q - p));
            if (claim) {
                *x = (struct pfx){ .s = f, .len = len, .hash = h };
                set->n++;
            }
        }
        if (q == end)
            return;
        p = q + 1;
    }
}

/*
 * During GRACE: may this add be queued? Whatever order the queued adds
 * and deletes are applied in, the routes are a subset of the active
 * copy's plus the queued adds', so the pools hold at most the active
 * copy's use plus, for the queued adds, their pairs and subscriber ids
 * the active copy lacks and their distinct prefixes it lacks. Deletes
 * reserve nothing and free nothing until applied.
 * @return 0, -ENOSPC or -ENOMEM (nothing reserved on failure).
 */
static int
reserve(struct pt_mqtt_route *r, const struct op *op,
        const struct pt_mqtt_trie_cost *c)
{
    struct pt_mqtt_trie_stats st;
    uint32_t nodes = 0, chunks = 0;

    if (c->nodes > 0) {
        if (pfx_reserve(&r->pfx, c->nodes) != 0)
            return -ENOMEM;
        pfx_walk(&r->pfx, op, c->missing, false, &nodes, &chunks);
    }
    pt_mqtt_trie_stats(r->copy[r->active], &st);
    if (st.nodes_used + r->rsv_nodes + nodes > st.nodes_max ||
        st.chunks_used + r->rsv_chunks + chunks > st.chunks_max ||
        st.subs_used + r->rsv_entries + c->entries > st.subs_max ||
        st.subscribers_used + r->rsv_records + c->records > st.subs_max)
        return -ENOSPC;
    if (c->nodes > 0)
        pfx_walk(&r->pfx, op, c->missing, true, &nodes, &chunks);
    r->rsv_nodes += nodes;
    r->rsv_chunks += chunks;
    r->rsv_entries += c->entries;
    r->rsv_records += c->records;
    return 0;
}

/* ---- writer ---- */

static int64_t
stage(struct pt_mqtt_route *r, const char *filter, size_t len,
      unsigned core, bool add)
{
    struct pt_mqtt_trie_cost c;
    struct op *op;
    int rc;

    PT_HOT_ASSERT_OWNER(&r->writer);
    /* validates the filter; during GRACE also measures what queuing it
     * needs beyond the active copy (read-only, like for the readers) */
    if (core >= r->n_cores ||
        pt_mqtt_trie_filter_cost(r->state == ST_GRACE ? r->copy[r->active]
                                                      : NULL,
                                 filter, len, core, &c) != 0)
        return -EINVAL;
    op = malloc(sizeof(*op) + len);
    if (op == NULL)
        return -ENOMEM;
    op->core = core;
    op->add = add;
    op->len = (uint16_t)len; /* filter_cost refuses more than 65535 */
    memcpy(op->filter, filter, len);

    if (r->state == ST_IDLE) {
        /* the spare copy is unread: apply now, exactly checked */
        rc = apply(r, r->active ^ 1, op);
        if (rc == 0)
            log_append(&r->applied, op);
    } else {
        rc = add ? reserve(r, op, &c) : 0;
        if (rc == 0)
            log_append(&r->queued, op);
    }
    if (rc != 0) {
        free(op);
        return rc;
    }
    op->seq = ++r->next_seq;
    stat_store(&r->st_pending, r->applied.n + r->queued.n);
    return (int64_t)op->seq;
}

int64_t
pt_mqtt_route_add(struct pt_mqtt_route *r, const char *filter, size_t len,
                  unsigned core)
{
    return stage(r, filter, len, core, true);
}

int64_t
pt_mqtt_route_del(struct pt_mqtt_route *r, const char *filter, size_t len,
                  unsigned core)
{
    return stage(r, filter, len, core, false);
}

/* IDLE -> GRACE: publish the spare copy and start a grace period. */
static void
swap(struct pt_mqtt_route *r)
{
    __atomic_store_n(&r->active, r->active ^ 1, __ATOMIC_RELEASE);
    /* after active: a reader that sees the new gen sees the new copy */
    __atomic_store_n(&r->gen, r->gen + 1, __ATOMIC_RELEASE);
    /* its own release orders the swap before the new token */
    r->token = rte_rcu_qsbr_start(r->qsbr);
    r->state = ST_GRACE;
    stat_store(&r->st_swaps, r->st_swaps + 1);
}

/* GRACE -> IDLE: nobody reads the old copy any more. */
static void
finish(struct pt_mqtt_route *r)
{
    unsigned old = r->active ^ 1;

    replay(r, old, &r->applied);
    __atomic_store_n(&r->visible_seq, r->applied.tail->seq,
                     __ATOMIC_RELEASE);
    log_free(&r->applied);
    /* the old copy is now the spare: the queued changes go on it */
    replay(r, old, &r->queued);
    r->applied = r->queued;
    memset(&r->queued, 0, sizeof(r->queued));
    pfx_clear(&r->pfx);
    r->rsv_nodes = r->rsv_chunks = r->rsv_entries = r->rsv_records = 0;
    r->state = ST_IDLE;
    stat_store(&r->st_graces, r->st_graces + 1);
    stat_store(&r->st_pending, r->applied.n);
}

void
pt_mqtt_route_poll(struct pt_mqtt_route *r)
{
    PT_HOT_ASSERT_OWNER(&r->writer);
    /* at most: finish, swap, finish (no reader), stop: applied is empty */
    for (;;) {
        if (r->state == ST_GRACE) {
            if (rte_rcu_qsbr_check(r->qsbr, r->token, false) != 1)
                return;
            finish(r);
        }
        if (r->applied.n == 0)
            return;
        swap(r);
    }
}

uint64_t
pt_mqtt_route_visible_seq(const struct pt_mqtt_route *r)
{
    return __atomic_load_n(&r->visible_seq, __ATOMIC_ACQUIRE);
}

/* ---- readers ---- */

void
pt_mqtt_route_reader_register(struct pt_mqtt_route *r, unsigned core)
{
    RTE_VERIFY(core < r->n_cores);
    RTE_VERIFY(rte_rcu_qsbr_thread_register(r->qsbr, core) == 0);
    rte_rcu_qsbr_thread_online(r->qsbr, core);
}

void
pt_mqtt_route_reader_unregister(struct pt_mqtt_route *r, unsigned core)
{
    RTE_VERIFY(core < r->n_cores);
    rte_rcu_qsbr_thread_offline(r->qsbr, core);
    RTE_VERIFY(rte_rcu_qsbr_thread_unregister(r->qsbr, core) == 0);
}

void
pt_mqtt_route_reader_offline(struct pt_mqtt_route *r, unsigned core)
{
    PT_HOT_ASSERT(core < r->n_cores);
    rte_rcu_qsbr_thread_offline(r->qsbr, core);
}

void
pt_mqtt_route_reader_online(struct pt_mqtt_route *r, unsigned core)
{
    PT_HOT_ASSERT(core < r->n_cores);
    rte_rcu_qsbr_thread_online(r->qsbr, core);
}

void
pt_mqtt_route_quiescent(struct pt_mqtt_route *r, unsigned core)
{
    PT_HOT_ASSERT(core < r->n_cores);
    rte_rcu_qsbr_quiescent(r->qsbr, core);
}

uint64_t
pt_mqtt_route_match(const struct pt_mqtt_route *r, const char *topic,
                    size_t len)
{
    uint32_t i = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE);

    return pt_mqtt_trie_match_mask(r->copy[i], topic, len);
}

/* ---- life ---- */

uint64_t
pt_mqtt_route_memory(unsigned n_cores, uint32_t max_routes)
{
    uint32_t nodes = trie_nodes(max_routes);

    if (!args_ok(n_cores, max_routes))
        return 0;
    return RTE_ALIGN_CEIL(sizeof(struct pt_mqtt_route), RTE_CACHE_LINE_SIZE) +
           2 * (uint64_t)pt_mqtt_trie_memory(nodes, max_routes) +
           rte_rcu_qsbr_get_memsize(n_cores) + 4 * ELEM_OVERHEAD;
}

struct pt_mqtt_route *
pt_mqtt_route_create(unsigned n_cores, uint32_t max_routes, int socket_id)
{
    struct pt_mqtt_route *r;
    size_t qsz;
    int err;

    if (!args_ok(n_cores, max_routes)) {
        rte_errno = EINVAL;
        return NULL;
    }
    rte_errno = ENOMEM; /* unless a step below says otherwise */
    r = rte_zmalloc_socket("pt_mqtt_route", sizeof(*r), RTE_CACHE_LINE_SIZE,
                           socket_id);
    if (r == NULL)
        goto fail;
    r->n_cores = n_cores;
    r->max_routes = max_routes;
    r->writer = LCORE_ID_ANY;
    r->state = ST_IDLE;
    for (unsigned i = 0; i < 2; i++) {
        r->copy[i] = pt_mqtt_trie_create(trie_nodes(max_routes), max_routes,
                                         socket_id);
        if (r->copy[i] == NULL)
            goto fail; /* rte_errno set */
    }
    qsz = rte_rcu_qsbr_get_memsize(n_cores);
    r->qsbr = rte_zmalloc_socket("pt_mqtt_route_qsbr", qsz,
                                 RTE_CACHE_LINE_SIZE, socket_id);
    if (r->qsbr == NULL) {
        rte_errno = ENOMEM;
        goto fail;
    }
    if (rte_rcu_qsbr_init(r->qsbr, n_cores) != 0)
        goto fail; /* rte_errno set */
    r->bytes_allocated = sizeof(*r) + qsz +
        2 * (uint64_t)pt_mqtt_trie_memory(trie_nodes(max_routes),
                                          max_routes);
    return r;

fail:
    err = rte_errno;
    pt_mqtt_route_free(r);
    rte_errno = err;
    return NULL;
}

void
pt_mqtt_route_free(struct pt_mqtt_route *r)
{
    if (r == NULL)
        return;
    log_free(&r->applied);
    log_free(&r->queued);
    free(r->pfx.slot);
    rte_free(r->qsbr);
    pt_mqtt_trie_free(r->copy[1]);
    pt_mqtt_trie_free(r->copy[0]);
    rte_free(r);
}

void
pt_mqtt_route_stats(const struct pt_mqtt_route *r,
                    struct pt_mqtt_route_stats *out)
{
    uint32_t i = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE);
    struct pt_mqtt_trie_stats st;

    pt_mqtt_trie_stats(r->copy[i], &st);
    memset(out, 0, sizeof(*out));
    out->routes_used = st.subs_used;
    out->routes_max = r->max_routes;
    out->filters = stat_load(&r->filters[i]);
    out->swaps = stat_load(&r->st_swaps);
    out->grace_periods = stat_load(&r->st_graces);
    out->pending = stat_load(&r->st_pending);
    out->bytes_allocated = r->bytes_allocated;
    /* both copies hold the same routes (once replays are done) */
    out->bytes_used = 2 * st.bytes_used;
}

uint64_t
pt_mqtt_route_gen(const struct pt_mqtt_route *r)
{
    return __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE);
}

struct rte_rcu_qsbr *
pt_mqtt_route_qsbr(struct pt_mqtt_route *r)
{
    return r->qsbr;
}
