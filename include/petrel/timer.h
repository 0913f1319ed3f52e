/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-core hashed timer wheel: O(1) arm, cancel and per-tick cost (plus the
 * timers that fire), one intrusive struct pt_timer embedded in whatever
 * owns it (a connection), so a million connections cost a million 24-byte
 * links and no allocation at run time. Groundwork for TCP-lite's RTO,
 * delayed ACK, keepalive and TIME_WAIT timers.
 *
 * Time is in ticks chosen by the caller (e.g. 1 ms). A timer due further
 * than one rotation (slots ticks) away waits in its slot and is skipped
 * until its round comes (hashed wheel with rounds: such timers cost one
 * compare per rotation).
 *
 * Threading: a wheel and its timers belong to one lcore; no locks.
 * Ownership: the wheel never owns timers; the owner must cancel a timer
 * before freeing the memory it lives in. Callbacks run from
 * pt_timer_advance() with the timer already unlinked, so they may re-arm it.
 */
#ifndef PETREL_TIMER_H
#define PETREL_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/** One timer, embedded in its owner. Zero-initialised = not armed. */
struct pt_timer {
    struct pt_timer *next;
    struct pt_timer **pprev;  /**< NULL when not armed */
    uint64_t expire;          /**< tick at which it fires */
};

struct pt_timer_wheel;

/** Called for each expired timer (unlinked before the call). */
typedef void (*pt_timer_fn)(struct pt_timer *t, void *arg);

/**
 * Create a wheel of `slots` slots (rounded up to a power of two) whose
 * clock starts at now.
 * @return the wheel, or NULL with rte_errno = EINVAL or ENOMEM.
 */
struct pt_timer_wheel *pt_timer_wheel_create(uint32_t slots, uint64_t now,
                                             int socket_id);

/** Free the wheel (its armed timers are simply forgotten). */
void pt_timer_wheel_free(struct pt_timer_wheel *w);

/** Arm t to fire at tick `expire` (re-arming moves it). An expire at or
 * before the wheel's clock fires on the next advance. O(1). */
void pt_timer_arm(struct pt_timer_wheel *w, struct pt_timer *t,
                  uint64_t expire);

/** Disarm t if armed. O(1). */
void pt_timer_cancel(struct pt_timer_wheel *w, struct pt_timer *t);

/** True when t is armed. */
static inline bool
pt_timer_armed(const struct pt_timer *t)
{
    return t->pprev != NULL;
}

/**
 * Move the clock to now, calling fn for every timer due at or before it,
 * in tick order. Cost: one slot visit per tick passed (at most one full
 * rotation per call, then only due slots), plus the timers in them.
 * @return the number of timers fired.
 */
unsigned pt_timer_advance(struct pt_timer_wheel *w, uint64_t now,
                          pt_timer_fn fn, void *arg);

/** Timers currently armed. */
uint64_t pt_timer_count(const struct pt_timer_wheel *w);

#endif /* PETREL_TIMER_H */
