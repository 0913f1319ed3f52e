/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-core MQTT subscription trie: which local subscribers want a topic.
 *
 * What it does: stores (topic filter, subscriber id, granted QoS) triples
 * of the subscribers living on one dataplane core, one trie node per filter
 * level, and answers "who gets this PUBLISH" with MQTT 3.1.1 semantics:
 * '+' matches exactly one level (an empty one too), '#' the parent level
 * and any number of children ("a/#" matches "a"), filters starting with a
 * wildcard never match topics starting with '$' (MQTT-4.7.2-1), and every
 * subscriber is delivered at most once, at the highest QoS among its
 * matching filters (MQTT-3.3.5-1).
 *
 * What it is not: no retained messages, no shared subscriptions, no
 * cross-core route table (the control plane's, see DESIGN.md), no QoS
 * downgrade against the PUBLISH QoS (the caller takes min(pub, granted)).
 *
 * Subscribers are opaque 64-bit ids (the broker's core+slot+generation
 * actor ids); the trie never dereferences them.
 *
 * Memory: everything is allocated by pt_mqtt_trie_create() from fixed
 * pools (never malloc afterwards, but for pt_mqtt_trie_for_each() on a
 * filter longer than PT_MQTT_TRIE_FOREACH_STACK bytes):
 *   - nodes (48 bytes): one per distinct filter prefix. A level name of up
 *     to PT_MQTT_TRIE_INLINE bytes is stored inline in its node; a longer
 *     one takes ceil(len / PT_MQTT_TRIE_CHUNK_BYTES) (28) 32-byte chunks
 *     (pt_mqtt_trie_level_chunks()) from a name-chunk pool of
 *     max_nodes / 2 chunks (so on average a node may carry a 30-byte name
 *     beyond its inline room; when the chunk pool is empty, subscribe says
 *     -ENOSPC). Each level is stored once, in its node.
 *     Children are found through one hash table per trie keyed by
 *     (parent node, level name): one bucket head (4 bytes) per node slot,
 *     chains through the nodes; '+' and '#' children hang off their parent
 *     directly.
 *   - subscription entries (24 bytes): one per (filter, subscriber).
 *   - subscriber records (24 bytes): one per distinct subscriber id, with
 *     the list of its entries (unsubscribe_all) and the per-match dedup
 *     state; max_subs of them (worst case: every entry its own subscriber),
 *     found through a hash table of 4-byte heads.
 * pt_mqtt_trie_stats() reports the bytes allocated and in use and their
 * ratio to the subscriptions in use.
 *
 * Limits: filters of more than PT_MQTT_TRIE_MAX_LEVELS levels are refused
 * (-EINVAL; the broker answers SUBACK 0x80), which bounds match()'s
 * recursion depth. Topics may be longer; their extra levels can only be
 * matched by a '#'.
 *
 * Dedup without allocation: each match() bumps an epoch; a subscriber
 * record stamped with an older epoch is stamped and threaded onto the
 * match's delivery list through its record, a record already stamped only
 * has its QoS raised. The list is as long as the number of subscribers, so
 * it can never overflow. Callbacks run after the walk, once per subscriber.
 * Epochs are 30 bits; when they wrap (every 2^30 matches) match() clears
 * every record's stamp once, O(max_subs).
 *
 * Threading: a trie belongs to one lcore (checked with PT_HOT_ASSERT_OWNER
 * in -Dhot_debug builds); no locks. Only pt_mqtt_trie_stats() may be
 * called from any thread: its counters are written by the owner alone,
 * read relaxed (possibly stale, never torn). Callbacks must not modify the
 * trie they are called from.
 * The read-only walks pt_mqtt_trie_match_mask() and
 * pt_mqtt_trie_filter_subs() write nothing and check no owner: any number
 * of threads may run them at once on a trie that nobody modifies
 * meanwhile (the caller orders modifications against them, e.g. with RCU
 * as the route table does, include/petrel/mqtt_route.h).
 */
#ifndef PETREL_MQTT_TRIE_H
#define PETREL_MQTT_TRIE_H

#include <stddef.h>
#include <stdint.h>

/** Level names up to this many bytes live inside their node. */
#define PT_MQTT_TRIE_INLINE 16
/** Most levels a filter may have. */
#define PT_MQTT_TRIE_MAX_LEVELS 64
/** Most nodes or subscriptions a trie may have (indexes are 32-bit). */
#define PT_MQTT_TRIE_MAX_POOL (1u << 26)
/** Bytes of a level name per long-name chunk. */
#define PT_MQTT_TRIE_CHUNK_BYTES 28
/** pt_mqtt_trie_for_each() rebuilds filters up to this many bytes on the
 * stack, longer ones in a malloc'd buffer. */
#define PT_MQTT_TRIE_FOREACH_STACK 4096

struct pt_mqtt_trie;

/** Called by pt_mqtt_trie_match() once per matching subscriber with the
 * highest QoS among its matching filters. */
typedef void (*pt_mqtt_trie_fn)(void *arg, uint64_t sub_id, uint8_t qos);

/** Called by pt_mqtt_trie_for_each() once per filter of a subscriber; the
 * filter (not NUL-terminated) is valid during the call only. A non-zero
 * return stops the walk. */
typedef int (*pt_mqtt_trie_filter_fn)(void *arg, const char *filter,
                                      size_t len, uint8_t qos);

/** Counters and gauges (written by the owner, readable by any thread). */
struct pt_mqtt_trie_stats {
    uint64_t nodes_used;        /**< nodes in use, root included */
    uint64_t nodes_max;
    uint64_t chunks_used;       /**< long-name chunks in use */
    uint64_t chunks_max;
    uint64_t subs_used;         /**< subscriptions (filter, subscriber) */
    uint64_t subs_max;
    uint64_t subscribers_used;  /**< distinct subscriber ids */
    uint64_t bytes_allocated;   /**< everything create() allocated */
    uint64_t bytes_used;        /**< elements in use plus the hash heads */
    uint64_t bytes_per_sub;     /**< bytes_used / subs_used (0 if none) */
    uint64_t matches;           /**< pt_mqtt_trie_match() calls */
    uint64_t delivered;         /**< callbacks made by match() */
    uint64_t pool_full;         /**< subscribes refused with -ENOSPC */
};

/**
 * Create a trie with fixed pools, on the given NUMA socket.
 * @param max_nodes nodes (root included), 2..PT_MQTT_TRIE_MAX_POOL
 * @param max_subs subscriptions (and subscriber ids), 1..PT_MQTT_TRIE_MAX_POOL
 * @return the trie, or NULL with rte_errno = EINVAL (bad sizes) or ENOMEM.
 */
struct pt_mqtt_trie *pt_mqtt_trie_create(uint32_t max_nodes,
                                         uint32_t max_subs, int socket_id);

/** The owning lcore has stopped: the next thread to use the trie becomes
 * its owner (teardown from the main thread). */
void pt_mqtt_trie_disown(struct pt_mqtt_trie *t);

/** Free the trie and everything in it (NULL is a no-op). Owning lcore. */
void pt_mqtt_trie_free(struct pt_mqtt_trie *t);

/**
 * Subscribe sub_id to a filter at a granted QoS. When sub_id already has
 * this exact filter its QoS is replaced (MQTT-3.8.4-3).
 * Cost: O(levels + filters of sub_id); no allocation.
 * @return 0 (new), 1 (replaced), -EINVAL (invalid filter, more than
 *         PT_MQTT_TRIE_MAX_LEVELS levels, or qos > 2), -ENOSPC (a pool is
 *         full: nothing was changed, pool_full counted).
 */
int pt_mqtt_trie_subscribe(struct pt_mqtt_trie *t, const char *filter,
                           size_t len, uint64_t sub_id, uint8_t qos);

/**
 * Remove sub_id's subscription to a filter; branches left empty are pruned
 * and their nodes returned to the pool.
 * Cost: O(levels + filters of sub_id).
 * @return 0, -ENOENT (no such subscription), -EINVAL (invalid filter).
 */
int pt_mqtt_trie_unsubscribe(struct pt_mqtt_trie *t, const char *filter,
                             size_t len, uint64_t sub_id);

/**
 * Remove every subscription of sub_id (a clean session ended).
 * Cost: O(filters of sub_id x their levels).
 * @return the number of subscriptions removed (0 if it had none).
 */
uint32_t pt_mqtt_trie_unsubscribe_all(struct pt_mqtt_trie *t,
                                      uint64_t sub_id);

/**
 * Call fn(arg, sub_id, qos) once for every subscriber with a filter that
 * matches the topic, at the highest QoS among its matching filters.
 * The topic must be a valid topic name (pt_mqtt_topic_check); checked only
 * in -Dhot_debug builds.
 * Cost: O(topic levels x matching branches + matching subscriptions); no
 * allocation, no locks. Callbacks run after the walk and must not modify
 * the trie.
 * @return the number of callbacks made.
 */
uint32_t pt_mqtt_trie_match(struct pt_mqtt_trie *t, const char *topic,
                            size_t len, pt_mqtt_trie_fn fn, void *arg);

/**
 * The set of small subscriber ids (0..63) with a filter that matches the
 * topic: the OR of (1 << sub_id) over every matching subscription, with
 * pt_mqtt_trie_match()'s semantics. Ids >= 64 add nothing. The topic must
 * be a valid topic name (checked only in -Dhot_debug builds).
 * Read-only: no epoch, no dedup state, no counters, no owner check; any
 * thread, concurrently with other readers, while nobody modifies the trie.
 * Cost: O(topic levels x matching branches + matching subscriptions); no
 * allocation, no locks, no writes to shared memory.
 * @return the mask (0 if nothing matches).
 */
uint64_t pt_mqtt_trie_match_mask(const struct pt_mqtt_trie *t,
                                 const char *topic, size_t len);

/**
 * Number of subscriptions on exactly this filter (wildcards compared
 * literally: "a/+" counts the subscribers of "a/+", not of "a/b").
 * Read-only, same threading as pt_mqtt_trie_match_mask().
 * Cost: O(levels + subscriptions of the filter).
 * @return the count; 0 when there is none or the filter is invalid.
 */
uint32_t pt_mqtt_trie_filter_subs(const struct pt_mqtt_trie *t,
                                  const char *filter, size_t len);

/**
 * Call fn(arg, filter, len, qos) for every filter sub_id is subscribed
 * to, in no particular order. Each filter is rebuilt from the trie (nodes
 * link to their parents) into a buffer the callback sees only during its
 * call: on the stack up to PT_MQTT_TRIE_FOREACH_STACK bytes, else a buffer
 * malloc'd for that filter and freed before the next one. fn must not
 * modify the trie. Owning lcore only.
 * Cost: O(filters of sub_id x their levels); a malloc per filter longer
 * than PT_MQTT_TRIE_FOREACH_STACK bytes.
 * @return 0 when every filter was visited (or sub_id has none), the
 *         callback's value when it returned non-zero (the walk stops), or
 *         -ENOMEM when a long filter's buffer could not be allocated (the
 *         walk stops; callbacks that may return -ENOMEM themselves cannot
 *         tell the two apart).
 */
int pt_mqtt_trie_for_each(const struct pt_mqtt_trie *t, uint64_t sub_id,
                          pt_mqtt_trie_filter_fn fn, void *arg);

/** Long-name chunks a level of len bytes takes ('+', '#': none). */
static inline uint32_t
pt_mqtt_trie_level_chunks(size_t len)
{
    return len <= PT_MQTT_TRIE_INLINE
               ? 0
               : (uint32_t)((len + PT_MQTT_TRIE_CHUNK_BYTES - 1) /
                            PT_MQTT_TRIE_CHUNK_BYTES);
}

/** What one subscribe would take from the pools. */
struct pt_mqtt_trie_cost {
    uint32_t nodes;     /**< one per level not in the trie yet */
    uint32_t chunks;    /**< the long-name chunks of those levels */
    uint32_t entries;   /**< 1, or 0 when sub_id has this filter already */
    uint32_t records;   /**< 1 when sub_id has no filter yet, else 0 */
    uint32_t missing;   /**< byte offset of the first level not in the
                         * trie (meaningful when nodes > 0) */
};

/**
 * Pool use of pt_mqtt_trie_subscribe(t, filter, len, sub_id, any QoS) on
 * the trie as it is now, without changing it; t = NULL gives the worst
 * case (an empty trie). Lets a caller reserve room for subscribes it will
 * replay later. Read-only, same threading as pt_mqtt_trie_filter_subs()
 * (any thread when t is NULL).
 * Cost: O(levels + subscriptions of the filter).
 * @return 0, or -EINVAL (what pt_mqtt_trie_subscribe() refuses as an
 *         invalid filter, more than 65535 bytes or too many levels).
 */
int pt_mqtt_trie_filter_cost(const struct pt_mqtt_trie *t,
                             const char *filter, size_t len, uint64_t sub_id,
                             struct pt_mqtt_trie_cost *cost);

/**
 * Bytes pt_mqtt_trie_create(max_nodes, max_subs) allocates (one
 * rte_malloc element, its own header not counted), for EAL memory sizing.
 * @return the size, or 0 for sizes create() refuses.
 */
size_t pt_mqtt_trie_memory(uint32_t max_nodes, uint32_t max_subs);

/**
 * Generation of the trie's contents: changes with every subscribe,
 * unsubscribe and unsubscribe_all that changed something, so a result of
 * pt_mqtt_trie_match() kept with the generation it was computed at is
 * still right while the generation is the same. Owner lcore only.
 */
uint64_t pt_mqtt_trie_gen(const struct pt_mqtt_trie *t);

/** Fill *st (any thread). */
void pt_mqtt_trie_stats(const struct pt_mqtt_trie *t,
                        struct pt_mqtt_trie_stats *st);

#endif /* PETREL_MQTT_TRIE_H */
