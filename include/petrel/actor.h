/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-core actor id table: hands out 64-bit ids for the objects a core owns
 * (groundwork for the MQTT broker's connection actors) and turns an id back
 * into its object in O(1), refusing ids whose object is gone. It is what
 * lets a message, a timer or another core hold a reference to a connection
 * without a pointer that could dangle: the holder keeps the id and asks the
 * owning core's table; a stale id resolves to NULL. It is not an allocator
 * of the objects themselves (they come from their own typed pool) and it
 * does not route messages (that is the rings' job; this header only says
 * which core an id belongs to).
 *
 * Id layout (bit 63 on the left):
 *
 *   63      56 55                    32 31                             0
 *  +----------+------------------------+--------------------------------+
 *  |   core   |       generation       |              slot              |
 *  |  8 bits  |        24 bits         |            32 bits             |
 *  +----------+------------------------+--------------------------------+
 *
 * - core: the dataplane core index (0 .. dp.cores - 1, not the lcore id)
 *   that owns the table; 8 bits is plenty as dp.cores <= 64. It sits on
 *   top so routing a message is a shift, readable by any thread.
 * - generation: bumped each time the slot is released, so an id kept after
 *   release no longer matches (DESIGN.md: a stale id can never reach a
 *   reused slot). Generations run 1 .. 2^24 - 1 and skip 0, so no valid id
 *   has generation 0; in particular id 0 (PT_ACTOR_ID_NONE) is never valid
 *   and can mean "no actor".
 * - slot: the index into the table; 32 bits so the table size is never
 *   limited by the id format (it is by PT_ACTOR_SLOTS_MAX).
 *
 * Generation wrap. After 2^24 - 1 releases of one slot its generation
 * wraps to 1 (skipping 0) and the slot stays in service; the wrap is
 * counted (gen_wraps). The accepted cost is ABA: an id released at least
 * 2^24 - 1 reuses of its slot ago (hence at least that many pt_actor_alloc
 * calls on its core ago) can resolve again if it happens to land on exactly
 * the same generation. Retiring wrapped slots instead would make the table
 * shrink forever on a long-running broker (every slot dies after 16M
 * reuses), which is worse than an alias that needs a holder to sit on a
 * dead id through 16M allocations. Free slots are reused FIFO (oldest
 * released first), which spreads reuse over all free slots and makes a
 * wrap of any one slot as late as possible. Rule for holders: ids in
 * flight (ring messages, timers) live microseconds to seconds; a long-lived
 * reference (a session pointing at its connection) must be cleared when
 * the actor goes away, not left to go stale.
 *
 * Memory: 16 bytes per slot (object pointer, 32-bit generation, 32-bit
 * free-list link) plus one header of two cache lines, all allocated by
 * pt_actor_table_create on the given NUMA socket; nothing after that.
 *
 * Threading: a table belongs to one lcore (its owner). pt_actor_alloc,
 * pt_actor_lookup and pt_actor_release are called only on the owner (checked
 * with -Dhot_debug=true); no locks, no atomics on their path. Any thread may
 * call the pure inline decoders (pt_actor_core, pt_actor_slot,
 * pt_actor_gen) to route a message to the owning core, and pt_actor_stats
 * (relaxed loads; each counter is exact, the set is not a snapshot).
 * Create and free run on any one thread while no other uses the table.
 *
 * Ownership: the table never owns the objects; releasing an id does not
 * free the object and freeing the table forgets live ids.
 */
#ifndef PETREL_ACTOR_H
#define PETREL_ACTOR_H

#include <stdint.h>

/** Never a valid id: means "no actor". */
#define PT_ACTOR_ID_NONE    UINT64_C(0)

#define PT_ACTOR_CORE_BITS  8
#define PT_ACTOR_GEN_BITS   24
#define PT_ACTOR_SLOT_BITS  32
#define PT_ACTOR_CORE_SHIFT (PT_ACTOR_GEN_BITS + PT_ACTOR_SLOT_BITS)
#define PT_ACTOR_GEN_SHIFT  PT_ACTOR_SLOT_BITS

/** Largest core index an id can carry. */
#define PT_ACTOR_CORE_MAX   ((1u << PT_ACTOR_CORE_BITS) - 1)
/** Largest generation; the next one after it is 1 (0 is skipped). */
#define PT_ACTOR_GEN_MAX    ((1u << PT_ACTOR_GEN_BITS) - 1)
/** Largest table (16 GiB of slots): keeps UINT32_MAX free as "no slot". */
#define PT_ACTOR_SLOTS_MAX  (1u << 30)

struct pt_actor_table;

/** Counters, written by the owner only, readable from any thread. */
struct pt_actor_stats {
    uint64_t in_use;         /**< live ids now */
    uint64_t max;            /**< slots in the table */
    uint64_t alloc_failures; /**< pt_actor_alloc on a full table */
    uint64_t stale_lookups;  /**< lookups that resolved to NULL */
    uint64_t stale_releases; /**< releases that returned -ENOENT */
    uint64_t gen_wraps;      /**< slots whose generation wrapped to 1 */
};

/** Core index of the table that issued id. Pure; any thread. */
static inline unsigned
pt_actor_core(uint64_t id)
{
    return (unsigned)(id >> PT_ACTOR_CORE_SHIFT);
}

/** Slot of id in its table. Pure; any thread. */
static inline uint32_t
pt_actor_slot(uint64_t id)
{
    return (uint32_t)id;
}

/** Generation of id (0 only for ids that were never valid). Pure. */
static inline uint32_t
pt_actor_gen(uint64_t id)
{
    return (uint32_t)(id >> PT_ACTOR_GEN_SHIFT) & PT_ACTOR_GEN_MAX;
}

/**
 * Create the table of core `core` with max_slots slots on NUMA socket
 * socket_id (or SOCKET_ID_ANY). The only allocation the module makes.
 * @param core       dataplane core index, 0 .. PT_ACTOR_CORE_MAX
 * @param max_slots  1 .. PT_ACTOR_SLOTS_MAX
 * @return the table, or NULL with rte_errno = EINVAL (core or max_slots
 *         out of range) or ENOMEM.
 */
struct pt_actor_table *pt_actor_table_create(unsigned core,
                                             uint32_t max_slots,
                                             int socket_id);

/**
 * Test hook: as pt_actor_table_create, with every slot starting at
 * generation first_gen (1 .. PT_ACTOR_GEN_MAX, else EINVAL) so tests can
 * reach the wrap without 16M releases. Production code uses
 * pt_actor_table_create (first_gen = 1).
 */
struct pt_actor_table *pt_actor_table_create_at_gen(unsigned core,
                                                    uint32_t max_slots,
                                                    int socket_id,
                                                    uint32_t first_gen);

/** Free the table (NULL is a no-op). Live ids are forgotten. */
void pt_actor_table_free(struct pt_actor_table *t);

/**
 * Give obj an id. O(1), owner lcore only, never allocates.
 * @param obj  the object; must not be NULL (NULL returns PT_ACTOR_ID_NONE,
 *             uncounted, and aborts with -Dhot_debug=true)
 * @return the id, never PT_ACTOR_ID_NONE on success; PT_ACTOR_ID_NONE when
 *         the table is full (counted in alloc_failures).
 */
uint64_t pt_actor_alloc(struct pt_actor_table *t, void *obj);

/**
 * The object of id. O(1), owner lcore only: a few compares and one slot
 * load; no writes except the stale counter.
 * @return the object, or NULL (counted in stale_lookups) when id is stale
 *         (released, maybe reused since), issued by another core, names a
 *         free slot or a slot beyond the table, or is PT_ACTOR_ID_NONE.
 */
void *pt_actor_lookup(struct pt_actor_table *t, uint64_t id);

/**
 * Release id: its slot returns to the free list with the next generation,
 * so id never resolves again (see the wrap note above). Does not touch the
 * object. O(1), owner lcore only.
 * @return 0, or -ENOENT (counted in stale_releases) when id would not
 *         resolve with pt_actor_lookup (already released, stale, another
 *         core's, out of range, PT_ACTOR_ID_NONE).
 */
int pt_actor_release(struct pt_actor_table *t, uint64_t id);

/** The owning lcore has stopped: the next thread to use the table
 * becomes its owner (teardown from the main thread). */
void pt_actor_disown(struct pt_actor_table *t);

/**
 * Call fn for every live id, in slot order (a teardown walk: O(table
 * size), never on the packet path). fn may release the id it is given,
 * not others. Owner lcore, or any thread once the owner has stopped.
 * @return the number of calls.
 */
unsigned pt_actor_for_each(struct pt_actor_table *t,
                           void (*fn)(void *arg, uint64_t id, void *obj),
                           void *arg);

/** Copy the counters (relaxed loads). Any thread. */
void pt_actor_stats(const struct pt_actor_table *t,
                    struct pt_actor_stats *out);

#endif /* PETREL_ACTOR_H */
