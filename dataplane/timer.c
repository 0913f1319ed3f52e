/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hashed timer wheel with rounds (Varghese & Lauck, scheme 6); see
 * include/petrel/timer.h for the contract.
 *
 * Invariants: slot s holds exactly the armed timers with expire % slots == s
 * (or, for timers armed in the past, the slot of the wheel's next tick);
 * `now` only moves forward; a timer is linked in at most one slot.
 */
#include <errno.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <petrel/timer.h>

struct pt_timer_wheel {
    uint64_t now;        /* every tick <= now has been processed */
    uint64_t count;
    uint32_t mask;
    struct pt_timer *slot[];
};

struct pt_timer_wheel *
pt_timer_wheel_create(uint32_t slots, uint64_t now, int socket_id)
{
    struct pt_timer_wheel *w;

    if (slots == 0 || slots > (1u << 24)) {
        rte_errno = EINVAL;
        return NULL;
    }
    slots = rte_align32pow2(slots);
    w = rte_zmalloc_socket("pt_timer_wheel",
                           sizeof(*w) + sizeof(w->slot[0]) * slots,
                           RTE_CACHE_LINE_SIZE, socket_id);
    if (w == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    w->now = now;
    w->mask = slots - 1;
    return w;
}

void
pt_timer_wheel_free(struct pt_timer_wheel *w)
{
    rte_free(w);
}

static inline void
unlink_timer(struct pt_timer *t)
{
    *t->pprev = t->next;
    if (t->next != NULL)
        t->next->pprev = t->pprev;
    t->next = NULL;
    t->pprev = NULL;
}

void
pt_timer_cancel(struct pt_timer_wheel *w, struct pt_timer *t)
{
    if (t->pprev == NULL)
        return;
    unlink_timer(t);
    w->count--;
}

void
pt_timer_arm(struct pt_timer_wheel *w, struct pt_timer *t, uint64_t expire)
{
    struct pt_timer **head;

    pt_timer_cancel(w, t);
    if (expire <= w->now)
        expire = w->now + 1; /* due: fires on the next tick */
    t->expire = expire;
    head = &w->slot[expire & w->mask];
    t->next = *head;
    if (t->next != NULL)
        t->next->pprev = &t->next;
    t->pprev = head;
    *head = t;
    w->count++;
}

/* Fire every timer in slot s due at or before `due`. A callback may arm or
 * cancel any timer, so the scan restarts at the head after each call. */
static unsigned
fire_slot(struct pt_timer_wheel *w, uint32_t s, uint64_t due, pt_timer_fn fn,
          void *arg)
{
    struct pt_timer **pp = &w->slot[s];
    unsigned fired = 0;

    while (*pp != NULL) {
        struct pt_timer *t = *pp;

        if (t->expire > due) { /* a later round */
            pp = &t->next;
            continue;
        }
        unlink_timer(t);
        w->count--;
        fired++;
        fn(t, arg);
        pp = &w->slot[s];
    }
    return fired;
}

unsigned
pt_timer_advance(struct pt_timer_wheel *w, uint64_t now, pt_timer_fn fn,
                 void *arg)
{
    unsigned fired = 0;

    if (now <= w->now)
        return 0;
    if (now - w->now > (uint64_t)w->mask + 1) {
        /* More than a rotation passed (a long stall): one pass over every
         * slot fires all that is due. Order across slots is then by slot,
         * not strictly by tick. Timers armed by callbacks land after now. */
        uint64_t from = w->now + 1;

        w->now = now;
        for (uint32_t i = 0; i <= w->mask && w->count > 0; i++)
            fired += fire_slot(w, (uint32_t)((from + i) & w->mask), now, fn,
                               arg);
        return fired;
    }
    while (w->now < now) {
        w->now++;
        if (w->count > 0)
            fired += fire_slot(w, (uint32_t)(w->now & w->mask), w->now, fn,
                               arg);
    }
    return fired;
}

uint64_t
pt_timer_count(const struct pt_timer_wheel *w)
{
    return w->count;
}
