/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The run's accounting: how clients are laid out in groups, what the
 * subscriptions call for and what arrived, and the verdict.
 *
 * Loss is exact: a subscriber keeps, per publisher of its group, the next
 * sequence number it expects (client.c counts a delivery above it as a gap,
 * below it as a duplicate), so distinct deliveries are the sum of those
 * numbers less the gaps, and lost = what the publishers sent x the group's
 * subscribers - distinct deliveries.
 *
 * Threading: main lcore. pb_run_deliveries() may run while the cores do
 * (relaxed loads: a figure one burst old); the verdict runs after they
 * returned.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "bench.h"

/* Lay out groups and clients (roles, topics, per-source counters). */
int
pb_run_layout(struct pb_run *run, const struct pb_opts *o)
{
    uint32_t pubs = 0, subs = 0, n = 0;
    uint64_t next_slots = 0;
    uint32_t *next;

    if (o->scenario == PB_SC_CONNECT) {
        run->n_groups = 0;
        n = o->sessions;
    } else {
        pubs = o->scenario == PB_SC_FANIN ? o->fanin : 1;
        subs = o->scenario == PB_SC_FANOUT ? o->fanout : 1;
        run->n_groups = o->groups;
        if ((uint64_t)(pubs + subs) * o->groups > (16u << 20)) {
            fprintf(stderr, "petrel-bench: more than %u clients\n",
                    16u << 20);
            return -1;
        }
        n = (pubs + subs) * o->groups;
        next_slots = (uint64_t)pubs * subs * o->groups;
    }
    run->n_clients = n;
    run->n_pubs_total = pubs * run->n_groups;
    run->n_subs_total = subs * run->n_groups;
    run->clients = calloc(n, sizeof(*run->clients));
    run->groups = calloc(RTE_MAX(run->n_groups, 1u), sizeof(*run->groups));
    next = calloc(RTE_MAX(next_slots, 1ul), sizeof(*next));
    run->next_slots = next;
    if (run->clients == NULL || run->groups == NULL || next == NULL) {
        fprintf(stderr, "petrel-bench: out of memory for %u clients\n", n);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        run->clients[i].id = i;
    for (uint32_t g = 0; g < run->n_groups; g++) {
        struct pb_group *gr = &run->groups[g];
        uint32_t base = g * (pubs + subs);

        gr->first_pub = base;
        gr->n_pubs = pubs;
        gr->first_sub = base + pubs;
        gr->n_subs = subs;
        for (uint32_t k = 0; k < pubs + subs; k++) {
            struct pb_client *cl = &run->clients[base + k];

            cl->group = g;
            cl->role = k < pubs ? PB_ROLE_PUB : PB_ROLE_SUB;
            if (cl->role == PB_ROLE_SUB) {
                cl->next = next;
                next += pubs;
            }
        }
    }
    return 0;
}

static uint64_t
sum_sent(const struct pb_run *run, uint32_t g)
{
    const struct pb_group *gr = &run->groups[g];
    uint64_t s = 0;

    for (uint32_t k = 0; k < gr->n_pubs; k++)
        s += __atomic_load_n(&run->clients[gr->first_pub + k].seq,
                             __ATOMIC_RELAXED);
    return s;
}

/* Deliveries the subscriptions call for, and distinct ones made (before
 * gaps are taken off). */
void
pb_run_deliveries(const struct pb_run *run, uint64_t *expected, uint64_t *highest)
{
    *expected = *highest = 0;
    for (uint32_t g = 0; g < run->n_groups; g++) {
        const struct pb_group *gr = &run->groups[g];

        *expected += sum_sent(run, g) * gr->n_subs;
        for (uint32_t s = 0; s < gr->n_subs; s++) {
            const struct pb_client *cl = &run->clients[gr->first_sub + s];

            for (uint32_t k = 0; k < gr->n_pubs; k++)
                *highest += __atomic_load_n(&cl->next[k], __ATOMIC_RELAXED);
        }
    }
}

/* The verdict, once the cores have returned. */
void
pb_run_verdict(struct pb_run *run, struct pb_core *cores, struct pb_summary *s,
        struct pb_totals *t)
{
    const struct pb_opts *o = run->o;
    uint64_t highest;
    size_t len = strlen(s->why);

#define WHY(...)                                                              \
    do {                                                                      \
        s->failed = true;                                                     \
        if (len < sizeof(s->why))                                             \
            len += (size_t)snprintf(s->why + len, sizeof(s->why) - len,       \
                                    "%s", len ? "; " : "");                   \
        if (len < sizeof(s->why))                                             \
            len += (size_t)snprintf(s->why + len, sizeof(s->why) - len,       \
                                    __VA_ARGS__);                             \
    } while (0)

    pb_totals_collect(t, cores, o->cores, true);
    for (unsigned i = 0; i < o->cores; i++) {
        const struct pt_tcp_stats *ts = pt_tcp_stats(cores[i].tcp);

        s->tcp_retrans += ts->c[PT_TCP_C_RETRANS];
        s->tcp_rto += ts->c[PT_TCP_C_RTO];
        s->tcp_reset += ts->c[PT_TCP_C_RESET];
        s->tcp_timeout += ts->c[PT_TCP_C_TIMED_OUT];
        for (unsigned d = 0; d < PT_NET_DROP_MAX; d++)
            s->net_drops += pt_net_stats(cores[i].net)->drops[d];
    }
    pb_run_deliveries(run, &s->expected, &highest);
    s->delivered = highest - t->c[PB_C_MSG_GAP];
    s->lost = s->expected - s->delivered;
    if (t->c[PB_C_SESSIONS_UP] < run->n_clients)
        WHY("%" PRIu64 " of %u sessions never came up",
            run->n_clients - t->c[PB_C_SESSIONS_UP], run->n_clients);
    if (t->c[PB_C_SESSIONS_LOST] != 0)
        WHY("%" PRIu64 " sessions lost", t->c[PB_C_SESSIONS_LOST]);
    if (t->c[PB_C_PROTO_ERR] + t->c[PB_C_BAD_PAYLOAD] != 0)
        WHY("%" PRIu64 " protocol errors, %" PRIu64 " bad payloads",
            t->c[PB_C_PROTO_ERR], t->c[PB_C_BAD_PAYLOAD]);
    if (t->c[PB_C_SUB_REFUSED] != 0)
        WHY("%" PRIu64 " subscriptions refused", t->c[PB_C_SUB_REFUSED]);
    if (o->fail_on_loss && s->lost != 0)
        WHY("%" PRIu64 " of %" PRIu64 " messages lost at QoS %u", s->lost,
            s->expected, o->qos);
    if (o->qos == 2 && t->c[PB_C_MSG_DUP] != 0)
        WHY("%" PRIu64 " duplicates at QoS 2", t->c[PB_C_MSG_DUP]);
    if (run->n_groups > 0 && s->measure_s > 0 &&
        t->c[PB_C_MSG_MEASURED] == 0)
        WHY("nothing delivered in the measured phase");
#undef WHY
}
