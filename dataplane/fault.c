/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault-injection shim under the TCP stack (tests only); see
 * include/petrel/fault.h for the contract. Not a traffic shaper: no rates,
 * no per-flow state, no corruption.
 *
 * Each direction holds frames in three FIFO rings, each sorted by due
 * time, so every hold and release is O(1):
 *
 *   reorder  frames held back until the next frame passes; due at hold
 *            time + PT_FAULT_REORDER_MAX_NS (the clock only moves forward,
 *            so hold order is due order)
 *   delay    frames held delay_us; due at hold time + delay_us (constant
 *            per direction between pt_fault_set_dir() calls, so again
 *            sorted; a change of delay_us may leave a later frame due
 *            earlier than one before it, which then waits for it: the
 *            only cost is that it comes out late)
 *   ready    rx duplicates that did not fit in the caller's array; due at
 *            once
 *
 * Invariants: a direction's three rings together hold at most held_max
 * frames (stats.held counts them); each ring is sorted by due time; the
 * clock never moves backwards. Releasing due frames merges the three ring
 * heads, earliest due first.
 *
 * Room in pt_fault_rx(): the output is staged in the shim and copied into
 * the caller's array at the end, so duplicates and released frames can be
 * inserted without overwriting input not yet read. Extras (copies,
 * released frames) are only emitted while room remains for every input
 * frame not yet seen, so an original never has to be held for lack of
 * room.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <petrel/config.h>
#include <petrel/debug.h>
#include <petrel/fault.h>
#include <petrel/log.h>

PT_LOG_REGISTER(dp_fault, pt.dp.fault, INFO);

#define PPM 1000000u
#define TX_CHUNK 64 /* frames per call of the real transmit function */

enum hold_kind {
    HOLD_REORDER,
    HOLD_DELAY,
    HOLD_READY,
    HOLD_KINDS,
};

struct held {
    struct rte_mbuf *m;
    uint64_t due_ns;
};

/* A FIFO of held frames; head and tail run free, mask indexes. */
struct hold_ring {
    struct held *e;
    uint32_t head;
    uint32_t tail;
};

struct fault_dir {
    struct pt_fault_dir_conf conf;
    bool active;               /* any fault configured */
    uint64_t rng;              /* splitmix64 state */
    struct hold_ring q[HOLD_KINDS];
    struct pt_fault_dir_stats *stats;
};

/* Where released or passing frames go: the rx staging array, or the tx
 * chunk that is handed to the real transmit function when full. */
struct sink {
    struct rte_mbuf **buf;
    uint32_t n;
    uint32_t limit;    /* rx: room in the caller's array; tx: unbounded */
    uint32_t reserve;  /* rx: input frames not yet seen */
    bool tx;
};

struct pt_fault {
    struct fault_dir rx;
    struct fault_dir tx;
    uint64_t now_ns;
    uint32_t held_max;
    uint32_t mask;             /* ring size - 1 */
    struct rte_mempool *pool;
    pt_net_tx_fn tx_fn;
    void *tx_ctx;
    unsigned owner_lcore;      /* bound on first use (PT_HOT_DEBUG only) */
    struct pt_fault_stats stats;
    struct rte_mbuf *txq[TX_CHUNK];
    struct rte_mbuf *stage[PT_FAULT_BURST_MAX];
    struct held slots[];       /* 2 directions x HOLD_KINDS rings */
} __rte_cache_aligned;

/* splitmix64 (Steele, Lea, Flood 2014): tiny, any seed is fine, and good
 * enough that ppm rates come out right. */
static inline uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Bits [shift, shift + 21) of r as a value in [0, PPM). */
static inline uint32_t
ppm_of(uint64_t r, unsigned shift)
{
    return (uint32_t)((((r >> shift) & 0x1fffffu) * PPM) >> 21);
}

static bool
dir_conf_valid(const struct pt_fault_dir_conf *dc, bool have_pool)
{
    return dc->drop_ppm <= PPM && dc->dup_ppm <= PPM &&
           dc->reorder_ppm <= PPM && dc->delay_us <= PT_FAULT_DELAY_MAX_US &&
           (dc->dup_ppm == 0 || have_pool);
}

static bool
dir_conf_active(const struct pt_fault_dir_conf *dc)
{
    return dc->drop_ppm != 0 || dc->dup_ppm != 0 || dc->reorder_ppm != 0 ||
           dc->delay_us != 0;
}

bool
pt_fault_conf_active(const struct pt_fault_conf *c)
{
    return c != NULL && (dir_conf_active(&c->rx) || dir_conf_active(&c->tx));
}

void
pt_fault_conf_from_config(struct pt_fault_conf *c, const struct pt_config *cfg,
                          unsigned core_index)
{
    c->seed = cfg->fault_seed + (uint32_t)core_index;
    c->rx = (struct pt_fault_dir_conf){
        .drop_ppm = cfg->fault_rx_drop_ppm,
        .dup_ppm = cfg->fault_rx_dup_ppm,
        .reorder_ppm = cfg->fault_rx_reorder_ppm,
        .delay_us = cfg->fault_rx_delay_us,
    };
    c->tx = (struct pt_fault_dir_conf){
        .drop_ppm = cfg->fault_tx_drop_ppm,
        .dup_ppm = cfg->fault_tx_dup_ppm,
        .reorder_ppm = cfg->fault_tx_reorder_ppm,
        .delay_us = cfg->fault_tx_delay_us,
    };
}

static void
dir_init(struct fault_dir *d, const struct pt_fault_dir_conf *dc,
         uint64_t seed, struct held *slots, uint32_t ring_size,
         struct pt_fault_dir_stats *stats)
{
    d->conf = *dc;
    d->active = dir_conf_active(dc);
    d->rng = seed;
    d->stats = stats;
    for (unsigned k = 0; k < HOLD_KINDS; k++)
        d->q[k].e = slots + (size_t)k * ring_size;
}

struct pt_fault *
pt_fault_create(const struct pt_fault_conf *c)
{
    struct pt_fault *f;
    uint32_t held_max, ring;

    if (c == NULL || c->tx_fn == NULL ||
        !dir_conf_valid(&c->rx, c->pool != NULL) ||
        !dir_conf_valid(&c->tx, c->pool != NULL) ||
        c->held_max > PT_FAULT_HELD_MAX) {
        rte_errno = EINVAL;
        return NULL;
    }
    held_max = c->held_max != 0 ? c->held_max : PT_FAULT_HELD_DEFAULT;
    /* each ring can take every held frame of its direction */
    ring = rte_align32pow2(held_max);
    f = rte_zmalloc_socket("pt_fault",
                           sizeof(*f) + sizeof(f->slots[0]) * 2 *
                               HOLD_KINDS * ring,
                           RTE_CACHE_LINE_SIZE, c->socket_id);
    if (f == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    f->held_max = held_max;
    f->mask = ring - 1;
    f->pool = c->pool;
    f->tx_fn = c->tx_fn;
    f->tx_ctx = c->tx_ctx;
    f->owner_lcore = LCORE_ID_ANY;
    /* separate streams per direction: rx decisions never depend on tx
     * traffic and vice versa */
    dir_init(&f->rx, &c->rx, (uint64_t)c->seed << 1, f->slots, ring,
             &f->stats.rx);
    dir_init(&f->tx, &c->tx, ((uint64_t)c->seed << 1) | 1,
             f->slots + (size_t)HOLD_KINDS * ring, ring, &f->stats.tx);
    if (pt_fault_conf_active(c))
        PT_LOG(NOTICE, dp_fault,
               "fault injection on (seed %u): rx drop %u dup %u reorder %u "
               "ppm delay %u us; tx drop %u dup %u reorder %u ppm delay %u us",
               c->seed, c->rx.drop_ppm, c->rx.dup_ppm, c->rx.reorder_ppm,
               c->rx.delay_us, c->tx.drop_ppm, c->tx.dup_ppm,
               c->tx.reorder_ppm, c->tx.delay_us);
    return f;
}

static void
dir_free_held(struct pt_fault *f, struct fault_dir *d)
{
    for (unsigned k = 0; k < HOLD_KINDS; k++) {
        struct hold_ring *q = &d->q[k];

        for (; q->head != q->tail; q->head++)
            rte_pktmbuf_free(q->e[q->head & f->mask].m);
    }
    d->stats->held = 0;
}

void
pt_fault_free(struct pt_fault *f)
{
    if (f == NULL)
        return;
    dir_free_held(f, &f->rx);
    dir_free_held(f, &f->tx);
    rte_free(f);
}

int
pt_fault_set_dir(struct pt_fault *f, enum pt_fault_dir dir,
                 const struct pt_fault_dir_conf *dc)
{
    struct fault_dir *d;

    PT_HOT_ASSERT_OWNER(&f->owner_lcore);
    if (dc == NULL || (dir != PT_FAULT_RX && dir != PT_FAULT_TX) ||
        !dir_conf_valid(dc, f->pool != NULL))
        return -EINVAL;
    d = dir == PT_FAULT_RX ? &f->rx : &f->tx;
    d->conf = *dc;
    d->active = dir_conf_active(dc);
    return 0;
}

const struct pt_fault_stats *
pt_fault_stats(const struct pt_fault *f)
{
    return &f->stats;
}

/* ---- hold rings ---- */

static inline uint32_t
ring_count(const struct hold_ring *q)
{
    return q->tail - q->head;
}

/* Hold m until due_ns. @return false when the direction is full. */
static inline bool
hold(struct pt_fault *f, struct fault_dir *d, enum hold_kind k,
     struct rte_mbuf *m, uint64_t due_ns)
{
    struct hold_ring *q = &d->q[k];
    struct held *e;

    if (d->stats->held >= f->held_max)
        return false;
    e = &q->e[q->tail++ & f->mask];
    e->m = m;
    e->due_ns = due_ns;
    d->stats->held++;
    return true;
}

static inline struct rte_mbuf *
unhold(struct pt_fault *f, struct fault_dir *d, struct hold_ring *q)
{
    struct rte_mbuf *m = q->e[q->head++ & f->mask].m;

    d->stats->held--;
    return m;
}

/* ---- sinks ---- */

static inline uint32_t
sink_room(const struct sink *o)
{
    return o->limit - o->n - o->reserve;
}

/* Hand the tx chunk to the real transmit function; free what it refuses. */
static void
sink_flush(struct pt_fault *f, struct sink *o)
{
    uint16_t sent;

    if (o->n == 0)
        return;
    sent = f->tx_fn(f->tx_ctx, o->buf, (uint16_t)o->n);
    if (unlikely(sent < o->n)) {
        f->stats.tx.dropped += o->n - sent;
        for (uint32_t i = sent; i < o->n; i++)
            rte_pktmbuf_free(o->buf[i]);
    }
    o->n = 0;
}

/* The caller checked the room (rx) or there is always room (tx). */
static inline void
sink_put(struct pt_fault *f, struct sink *o, struct rte_mbuf *m)
{
    if (o->tx && o->n == TX_CHUNK)
        sink_flush(f, o);
    o->buf[o->n++] = m;
}

/* A frame passed: frames held for reorder come out right behind it (as
 * many as fit; the rest wait for the next one or their timeout). */
static inline void
release_reordered(struct pt_fault *f, struct fault_dir *d, struct sink *o)
{
    struct hold_ring *q = &d->q[HOLD_REORDER];

    while (ring_count(q) > 0 && sink_room(o) > 0)
        sink_put(f, o, unhold(f, d, q));
}

/* Emit every held frame due by now that fits, earliest due first. */
static void
release_due(struct pt_fault *f, struct fault_dir *d, struct sink *o)
{
    while (d->stats->held > 0 && sink_room(o) > 0) {
        struct hold_ring *best = NULL;

        for (unsigned k = 0; k < HOLD_KINDS; k++) {
            struct hold_ring *q = &d->q[k];

            if (ring_count(q) == 0 ||
                q->e[q->head & f->mask].due_ns > f->now_ns)
                continue;
            if (best == NULL || q->e[q->head & f->mask].due_ns <
                                    best->e[best->head & f->mask].due_ns)
                best = q;
        }
        if (best == NULL)
            return;
        sink_put(f, o, unhold(f, d, best));
    }
}

/* ---- decisions ---- */

/* Decide one frame's fate (see the order in fault.h) and carry it out. */
static void
filter_one(struct pt_fault *f, struct fault_dir *d, struct sink *o,
           struct rte_mbuf *m)
{
    const struct pt_fault_dir_conf *dc = &d->conf;
    uint64_t r = rng_next(&d->rng);
    bool overflow = false;

    /* one draw, three independent 21-bit fields: drop decisions do not
     * shift when another fault is switched on */
    if (ppm_of(r, 43) < dc->drop_ppm) {
        d->stats->dropped++;
        rte_pktmbuf_free(m);
        return;
    }
    if (ppm_of(r, 22) < dc->dup_ppm) {
        struct rte_mbuf *copy = rte_pktmbuf_copy(m, f->pool, 0, UINT32_MAX);

        sink_put(f, o, m);
        d->stats->passed++;
        if (unlikely(copy == NULL)) {
            d->stats->nomem++;
        } else if (sink_room(o) > 0) {
            sink_put(f, o, copy);
            d->stats->duplicated++;
        } else if (hold(f, d, HOLD_READY, copy, f->now_ns)) {
            d->stats->duplicated++; /* out with the next call */
        } else {
            d->stats->held_overflow++;
            rte_pktmbuf_free(copy);
        }
        release_reordered(f, d, o);
        return;
    }
    if (ppm_of(r, 1) < dc->reorder_ppm) {
        if (hold(f, d, HOLD_REORDER, m,
                 f->now_ns + PT_FAULT_REORDER_MAX_NS)) {
            d->stats->reordered++;
            return;
        }
        overflow = true;
    } else if (dc->delay_us != 0) {
        if (hold(f, d, HOLD_DELAY, m,
                 f->now_ns + (uint64_t)dc->delay_us * 1000u)) {
            d->stats->delayed++;
            return;
        }
        overflow = true;
    }
    if (unlikely(overflow))
        d->stats->held_overflow++;
    sink_put(f, o, m);
    d->stats->passed++;
    release_reordered(f, d, o);
}

static inline void
clock_to(struct pt_fault *f, uint64_t now_ns)
{
    if (now_ns > f->now_ns)
        f->now_ns = now_ns;
}

uint16_t
pt_fault_rx(struct pt_fault *f, struct rte_mbuf **pkts, uint16_t n,
            uint16_t cap, uint64_t now_ns)
{
    struct fault_dir *d = &f->rx;
    struct sink o;

    PT_HOT_ASSERT_OWNER(&f->owner_lcore);
    PT_HOT_ASSERT(n == 0 || pkts != NULL);
    clock_to(f, now_ns);
    if ((!d->active && d->stats->held == 0) || n > PT_FAULT_BURST_MAX) {
        d->stats->passed += n;
        return n;
    }
    if (cap < n)
        cap = n;
    o = (struct sink){
        .buf = f->stage,
        .limit = RTE_MIN((uint32_t)cap, (uint32_t)PT_FAULT_BURST_MAX),
        .reserve = n,
    };
    for (uint16_t i = 0; i < n; i++) {
        o.reserve--;
        filter_one(f, d, &o, pkts[i]);
    }
    release_due(f, d, &o);
    if (o.n > 0)
        memcpy(pkts, f->stage, sizeof(pkts[0]) * o.n);
    return (uint16_t)o.n;
}

uint16_t
pt_fault_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct pt_fault *f = ctx;
    struct fault_dir *d = &f->tx;
    struct sink o = {
        .buf = f->txq,
        .limit = UINT32_MAX,
        .tx = true,
    };

    PT_HOT_ASSERT_OWNER(&f->owner_lcore);
    PT_HOT_ASSERT(n == 0 || pkts != NULL);
    if (!d->active && d->stats->held == 0) {
        uint16_t sent = f->tx_fn(f->tx_ctx, pkts, n);

        d->stats->passed += n;
        if (unlikely(sent < n)) {
            d->stats->dropped += n - sent;
            for (uint16_t i = sent; i < n; i++)
                rte_pktmbuf_free(pkts[i]);
        }
        return n;
    }
    for (uint16_t i = 0; i < n; i++)
        filter_one(f, d, &o, pkts[i]);
    sink_flush(f, &o);
    return n;
}

void
pt_fault_poll(struct pt_fault *f, uint64_t now_ns)
{
    struct sink o = {
        .buf = f->txq,
        .limit = UINT32_MAX,
        .tx = true,
    };

    PT_HOT_ASSERT_OWNER(&f->owner_lcore);
    clock_to(f, now_ns);
    if (f->tx.stats->held == 0)
        return;
    release_due(f, &f->tx, &o);
    sink_flush(f, &o);
}
