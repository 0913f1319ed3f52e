/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault-injection shim under the TCP stack, for tests (off by default, the
 * fault.* config keys). It sits between the port and struct pt_net on one
 * dataplane core and, per direction, drops, duplicates, reorders and
 * delays frames with seeded, reproducible decisions:
 *
 *   port --rx_burst--> pt_fault_rx() --> pt_net_input()      (rx direction)
 *   pt_net_flush() --> pt_fault_tx() --> conf.tx_fn --> port  (tx direction)
 *
 * Each frame gets one decision, independent of every other frame: first
 * drop (drop_ppm), else duplicate (dup_ppm: the original and a copy pass),
 * else reorder (reorder_ppm: held until the next frame that passes in the
 * same direction, and released right behind it, or after
 * PT_FAULT_REORDER_MAX_NS at most), else delay (every remaining frame is
 * held delay_us when delay_us > 0), else pass. One splitmix64 draw per
 * frame supplies all three probabilities, and each direction has its own
 * generator seeded from conf.seed, so a given seed and configuration give
 * the same decisions for the same frame sequence whatever the other
 * direction does.
 *
 * Not here: corruption, truncation, rate limiting, per-flow rules. Not for
 * production: a shim with faults configured hurts on purpose.
 *
 * Threading: a struct pt_fault belongs to one lcore (its dataplane core);
 * every function except pt_fault_conf_*() and pt_fault_stats() must be
 * called on that lcore only (checked under PT_HOT_DEBUG); no locks. The
 * stats may be read from any thread (64-bit counters written by the owner
 * alone; a reader may see a value one burst old, never a torn one).
 *
 * Ownership: the shim owns every frame handed to pt_fault_rx() or
 * pt_fault_tx() until it gives it back (in pkts for rx, to conf.tx_fn for
 * tx) or frees it (dropped, refused by the real transmit function, or
 * still held at pt_fault_free()). Held frames live in fixed-size rings
 * allocated at create: the packet path never allocates memory, except the
 * mbuf of a duplicate (rte_pktmbuf_copy() from conf.pool). When a
 * direction's rings are full, a frame that should be held passes unharmed
 * and is counted as held_overflow.
 */
#ifndef PETREL_FAULT_H
#define PETREL_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <petrel/net.h>

/** Longest a reordered frame waits for a frame to pass it (1 ms). */
#define PT_FAULT_REORDER_MAX_NS 1000000ull

/** Largest burst pt_fault_rx() filters; a larger one passes untouched. */
#define PT_FAULT_BURST_MAX 512

/** Frames each direction holds when conf.held_max is 0. */
#define PT_FAULT_HELD_DEFAULT 1024

/** Largest conf.held_max. */
#define PT_FAULT_HELD_MAX (1u << 20)

/** Largest delay_us (10 s). */
#define PT_FAULT_DELAY_MAX_US 10000000u

/** Faults of one direction. ppm: per million frames, 0 to 1000000. */
struct pt_fault_dir_conf {
    uint32_t drop_ppm;     /**< free the frame */
    uint32_t dup_ppm;      /**< pass the frame and a copy right after it */
    uint32_t reorder_ppm;  /**< hold it behind the next frame that passes */
    uint32_t delay_us;     /**< hold every other frame this long; 0 = off */
};

/** Settings a shim is created with. */
struct pt_fault_conf {
    uint32_t seed;                 /**< decision generator seed */
    struct pt_fault_dir_conf rx;   /**< frames from the port to the stack */
    struct pt_fault_dir_conf tx;   /**< frames from the stack to the port */
    struct rte_mempool *pool;      /**< for duplicates; may be NULL when no
                                        dup_ppm is set */
    pt_net_tx_fn tx_fn;            /**< the real transmit function */
    void *tx_ctx;                  /**< its context */
    int socket_id;                 /**< NUMA node for the shim's memory */
    uint32_t held_max;             /**< frames held per direction at most;
                                        0 = PT_FAULT_HELD_DEFAULT */
};

/** Counters of one direction. Every frame handed in is counted once in
 * passed, dropped, reordered or delayed; on tx, dropped also counts frames
 * the real transmit function refused later (passed, released or copies). */
struct pt_fault_dir_stats {
    uint64_t passed;        /**< handed on in place (originals of duplicates
                                 and held_overflow frames included) */
    uint64_t dropped;       /**< freed by drop_ppm, plus (tx) frames and
                                 copies the real transmit function refused */
    uint64_t duplicated;    /**< copies made and handed on (or queued) */
    uint64_t reordered;     /**< frames held back by reorder_ppm */
    uint64_t delayed;       /**< frames held by delay_us */
    uint64_t held_overflow; /**< frames or copies that should have been held
                                 but the rings were full (frames passed,
                                 copies were freed) */
    uint64_t nomem;         /**< duplicates not made: pool empty */
    uint64_t held;          /**< frames held right now (a gauge) */
};

/** Counters of a shim. */
struct pt_fault_stats {
    struct pt_fault_dir_stats rx;
    struct pt_fault_dir_stats tx;
};

/** The directions, for pt_fault_set_dir(). */
enum pt_fault_dir {
    PT_FAULT_RX = 0,
    PT_FAULT_TX = 1,
};

struct pt_config;
struct pt_fault;

/**
 * Whether a configuration injects anything.
 * @param c configuration (any thread)
 * @return true when any probability or delay of either direction is
 *         non-zero; the shim can then be left out altogether.
 */
bool pt_fault_conf_active(const struct pt_fault_conf *c);

/**
 * Fill the fault settings of c from the fault.* config keys: seed =
 * cfg->fault_seed + core_index (wrapping), so cores make different but
 * reproducible decisions; rx and tx from fault_rx_* and fault_tx_*.
 * pool, tx_fn, tx_ctx, socket_id and held_max are left as they are.
 * @param c          configuration to update (any thread)
 * @param cfg        parsed configuration
 * @param core_index index of the dataplane core (0 .. dp_cores - 1)
 */
void pt_fault_conf_from_config(struct pt_fault_conf *c,
                               const struct pt_config *cfg,
                               unsigned core_index);

/**
 * Create a shim: the struct and its hold rings on c->socket_id. Not on the
 * packet path. Its clock starts at 0; the first pt_fault_poll() or
 * pt_fault_rx() sets it.
 * @param c configuration (copied)
 * @return the shim, or NULL with rte_errno = EINVAL (c NULL, a ppm above
 *         1000000, delay_us above PT_FAULT_DELAY_MAX_US, held_max above
 *         PT_FAULT_HELD_MAX, tx_fn NULL, or a dup_ppm without a pool) or
 *         ENOMEM.
 */
struct pt_fault *pt_fault_create(const struct pt_fault_conf *c);

/**
 * Free a shim and every frame it still holds (held frames are not sent).
 * @param f shim, or NULL (no-op)
 */
void pt_fault_free(struct pt_fault *f);

/**
 * Change the faults of one direction at run time (tests: "drop everything
 * from now on", then back). Frames already held stay held and come out as
 * they were scheduled; the generator is not reseeded.
 * @param f   shim (owning lcore)
 * @param dir PT_FAULT_RX or PT_FAULT_TX
 * @param dc  new settings (copied)
 * @return 0, or -EINVAL (a ppm above 1000000, delay_us above
 *         PT_FAULT_DELAY_MAX_US, dup_ppm without a pool, bad dir)
 */
int pt_fault_set_dir(struct pt_fault *f, enum pt_fault_dir dir,
                     const struct pt_fault_dir_conf *dc);

/**
 * Filter a received burst in place and move the clock to now_ns.
 *
 * Drops, duplicates (copy right after its original), holds back
 * (reorder, delay) and releases: frames held for reorder come out right
 * after the next frame that passes, frames due (delay over, reorder
 * timeout, copies that did not fit earlier) are appended, oldest due
 * first. At most cap frames end up in pkts; what does not fit stays held
 * for the next call (originals always fit, since cap >= n).
 *
 * Cost: one PRNG step per frame, O(1) per held or released frame, plus an
 * rte_pktmbuf_copy() per duplicate. No locks, no memory allocation beyond
 * duplicate mbufs. When rx has no faults and nothing is held, returns n
 * at once.
 *
 * @param f      shim (owning lcore)
 * @param pkts   frames in; frames out (the array holds cap entries)
 * @param n      frames in, at most PT_FAULT_BURST_MAX (a larger burst
 *               passes untouched); may be 0 to release due frames only
 * @param cap    room in pkts, >= n (a smaller value is taken as n)
 * @param now_ns monotonic time (a value behind the clock is ignored)
 * @return the number of frames now in pkts; the caller owns them
 */
uint16_t pt_fault_rx(struct pt_fault *f, struct rte_mbuf **pkts, uint16_t n,
                     uint16_t cap, uint64_t now_ns);

/**
 * Transmit through the shim: a pt_net_tx_fn whose ctx is the struct
 * pt_fault. Applies the tx faults and hands the frames that pass, each
 * followed by its copy and by the frames held for reorder before it, to
 * conf.tx_fn in order, in chunks of up to 64. Delayed frames and reorder
 * timeouts go out from pt_fault_poll(), not from here. Hold times count
 * from the clock of the last pt_fault_poll()/pt_fault_rx() call.
 *
 * Ownership: takes every frame whatever happens: sends, holds or frees
 * it; frames conf.tx_fn refuses are freed and counted as dropped.
 * Cost: as pt_fault_rx(), plus the real transmit calls.
 *
 * @param f    the struct pt_fault (owning lcore)
 * @param pkts frames to send (the array is not modified)
 * @param n    number of frames
 * @return n, always
 */
uint16_t pt_fault_tx(void *f, struct rte_mbuf **pkts, uint16_t n);

/**
 * Move the clock to now_ns and send the held tx frames that are due.
 * Call once per loop iteration (received frames that are due come out of
 * the next pt_fault_rx(), which may be called with n = 0).
 * @param f      shim (owning lcore)
 * @param now_ns monotonic time (a value behind the clock is ignored)
 */
void pt_fault_poll(struct pt_fault *f, uint64_t now_ns);

/**
 * The shim's counters.
 * @param f shim (any thread may read the result)
 * @return its counters, valid until pt_fault_free()
 */
const struct pt_fault_stats *pt_fault_stats(const struct pt_fault *f);

#endif /* PETREL_FAULT_H */
