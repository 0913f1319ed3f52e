/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Global MQTT route table: topic filter -> the set of dataplane cores that
 * have subscribers on it. A PUBLISH arriving on any core asks it which
 * cores to forward the message to (a 64-bit core mask); each of those
 * cores then delivers locally through its own per-core trie
 * (include/petrel/mqtt_trie.h). Written by one control-plane thread, read
 * lock-free and wait-free by every dataplane core.
 *
 * What it is not: no subscriber ids, QoS or sessions (the per-core tries
 * have those), no retained messages, no more than 64 cores.
 *
 * Left-right scheme: two pt_mqtt_trie copies with sub_id = core index.
 * Readers match on the active copy, found by one atomic acquire load. The
 * writer applies each change at once to the inactive copy (which nobody
 * reads) and logs it; pt_mqtt_route_poll() then publishes the inactive
 * copy (atomic release store of the active index), waits without blocking
 * for an RCU grace period (rte_rcu_qsbr: every registered reader has
 * passed a quiescent state, so none still reads the old copy), and replays
 * the log onto the old copy so both are equal again. A change gets a
 * sequence number when staged; it is visible (every reader's next match
 * sees it) once pt_mqtt_route_visible_seq() >= that number. Changes staged
 * during a grace period go to a second log (neither copy may be written
 * then) and are applied at the end of that grace period and published in
 * the next round. See dataplane/mqtt_route.c for the state machine.
 *
 * Capacity: each copy has max_routes subscription entries and
 * 2 * max_routes + PT_MQTT_TRIE_MAX_LEVELS + 1 nodes (two levels per
 * route on average plus one full-depth filter; long level names take the
 * trie's name chunks, max_nodes / 2 of them). A change is checked when
 * staged, so replaying it later can never fail (a trie's pool use depends
 * only on its set of routes, not on their history):
 *   - outside a grace period, by the real subscribe on the inactive copy
 *     (-ENOSPC changes nothing);
 *   - during one, by a reservation against the active copy: each queued
 *     add reserves the levels, chunks, entry and core record the active
 *     copy lacks (pt_mqtt_trie_filter_cost()), a level shared by several
 *     queued adds once. Queued deletes free nothing until applied, so
 *     near full, "delete then add" within one grace period may be refused
 *     where it fits a round later; an add of a pair the active copy has
 *     costs nothing.
 *
 * Threading:
 *   - create/free: the writer, with no reader registered.
 *   - add/del/poll: the one writer thread (checked in -Dhot_debug
 *     builds); never block; add/del malloc a log entry.
 *   - reader_*, quiescent, match: the dataplane core `core` itself (its
 *     reader id); match only while registered and online.
 *   - visible_seq and stats: any thread (relaxed counters, possibly stale).
 *
 * Memory: pt_mqtt_route_memory() bytes of rte_malloc memory on the given
 * socket (two tries, the QSBR variable, this table): about 400 bytes per
 * route. On the writer's libc heap: staged log entries (about 40 bytes +
 * the filter) until their round completes, and the set of prefixes that
 * adds queued during a grace period create (16-byte slots, at most half
 * full, kept for the next grace period).
 *
 * Cost: match is one acquire load and pt_mqtt_trie_match_mask() (no
 * writes, no locks, no allocation); quiescent is one load and one store to
 * the reader's own cache line. Every change is applied to each copy once;
 * a round is O(changes in it) on the writer.
 */
#ifndef PETREL_MQTT_ROUTE_H
#define PETREL_MQTT_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/** Most cores (readers) a route table serves: one bit each in a mask. */
#define PT_MQTT_ROUTE_MAX_CORES 64

struct pt_mqtt_route;
struct rte_rcu_qsbr;

/** Gauges and counters (written by the writer, readable by any thread). */
struct pt_mqtt_route_stats {
    uint64_t routes_used;     /**< (filter, core) pairs in the active copy */
    uint64_t routes_max;      /**< max_routes */
    uint64_t filters;         /**< distinct filters in the active copy */
    uint64_t swaps;           /**< active copy switched */
    uint64_t grace_periods;   /**< grace periods completed */
    uint64_t pending;         /**< staged changes not yet visible */
    uint64_t bytes_allocated; /**< rte_malloc bytes (tries, QSBR, table) */
    uint64_t bytes_used;      /**< trie bytes in use, both copies */
};

/**
 * Bytes pt_mqtt_route_create() allocates from the EAL heap, rte_malloc's
 * element headers included, for EAL memory sizing.
 * @return the size, or 0 for arguments create() refuses.
 */
uint64_t pt_mqtt_route_memory(unsigned n_cores, uint32_t max_routes);

/**
 * Create an empty route table for readers 0..n_cores-1. Writer thread.
 * @param n_cores 1..PT_MQTT_ROUTE_MAX_CORES
 * @param max_routes (filter, core) pairs, 1..(PT_MQTT_TRIE_MAX_POOL - 65)/2
 * @return the table, or NULL with rte_errno = EINVAL (bad argument) or
 *         ENOMEM.
 */
struct pt_mqtt_route *pt_mqtt_route_create(unsigned n_cores,
                                           uint32_t max_routes,
                                           int socket_id);

/** Free the table and its staged changes (NULL is a no-op). Writer, once
 * every reader has unregistered or stopped. */
void pt_mqtt_route_free(struct pt_mqtt_route *r);

/* ---- readers: dataplane core `core` (0-based), on itself ---- */

/** Register core as a reader and put it online; from here on every
 * grace period waits for it. Aborts if core >= n_cores. */
void pt_mqtt_route_reader_register(struct pt_mqtt_route *r, unsigned core);

/** Take core offline and unregister it (it must not match afterwards). */
void pt_mqtt_route_reader_unregister(struct pt_mqtt_route *r, unsigned core);

/** Before a sleep: grace periods stop waiting for core. No match until
 * pt_mqtt_route_reader_online(). */
void pt_mqtt_route_reader_offline(struct pt_mqtt_route *r, unsigned core);

/** After a sleep: core reads again. */
void pt_mqtt_route_reader_online(struct pt_mqtt_route *r, unsigned core);

/** Once per poll loop, outside any match: core holds no reference into
 * the table. Cost: one load, one store; no locks. */
void pt_mqtt_route_quiescent(struct pt_mqtt_route *r, unsigned core);

/**
 * The cores with a subscription matching the topic (bit c = core c), as
 * the active copy has them. The topic must be valid (checked only in
 * -Dhot_debug builds). Registered, online readers only.
 * Cost: one acquire load plus pt_mqtt_trie_match_mask(); no writes.
 * @return the core mask, 0 if none.
 */
uint64_t pt_mqtt_route_match(const struct pt_mqtt_route *r,
                             const char *topic, size_t len);

/**
 * Generation of the copy readers see: it changes at every swap, after the
 * swap. A mask from pt_mqtt_route_match() called after reading generation
 * g is right for as long as the generation is still g (a reader that read
 * g just before a swap and matched after it keeps a newer mask under the
 * older g, which the next check finds stale). Any thread; acquire load.
 */
uint64_t pt_mqtt_route_gen(const struct pt_mqtt_route *r);

/* ---- writer: the control plane, one thread ---- */

/**
 * Stage "core has subscribers on filter". Adding an existing pair is a
 * no-op that still gets a sequence number. Visible once
 * pt_mqtt_route_visible_seq() reaches the returned number.
 * @return the sequence number (> 0), or -EINVAL (invalid filter, more
 *         than PT_MQTT_TRIE_MAX_LEVELS levels or 65535 bytes, core >=
 *         n_cores), -ENOSPC (no room: nothing staged, the table is
 *         unchanged), -ENOMEM (no memory for the writer's log: nothing
 *         staged).
 */
int64_t pt_mqtt_route_add(struct pt_mqtt_route *r, const char *filter,
                          size_t len, unsigned core);

/**
 * Stage "core has no more subscribers on filter". Deleting a missing pair
 * is a no-op that still gets a sequence number.
 * @return the sequence number (> 0), or -EINVAL, -ENOMEM as for add.
 */
int64_t pt_mqtt_route_del(struct pt_mqtt_route *r, const char *filter,
                          size_t len, unsigned core);

/**
 * Drive the swap / grace period / replay state machine one step (or two);
 * never blocks. Call it from the writer's loop while changes are pending.
 * Cost: O(registered readers) to check a grace period, plus
 * O(changes replayed) when one completes.
 */
void pt_mqtt_route_poll(struct pt_mqtt_route *r);

/** The highest sequence number such that it and every earlier change are
 * seen by every reader's next match (0 before the first). Any thread
 * (acquire load). */
uint64_t pt_mqtt_route_visible_seq(const struct pt_mqtt_route *r);

/** Fill *out (any thread). */
/** The QSBR variable the readers report to: other RCU-published objects
 * (the ACL) wait for the same grace periods (rte_rcu_qsbr_start/check). */
struct rte_rcu_qsbr *pt_mqtt_route_qsbr(struct pt_mqtt_route *r);

void pt_mqtt_route_stats(const struct pt_mqtt_route *r,
                         struct pt_mqtt_route_stats *out);

#endif /* PETREL_MQTT_ROUTE_H */
