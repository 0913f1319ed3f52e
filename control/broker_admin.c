/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the operator asks of the broker (see include/petrel/broker.h):
 * registry listings, the route list, queries a core answers (`clients
 * show`, `clients kick`), the graceful stop's phases and the ring fill
 * the health check reads.
 *
 * Listings read the control plane's own tables (the registry, and a
 * filter -> core-mask map kept from the route changes the table accepted),
 * so they never wait for a core. A query goes to the core that holds the
 * client and comes back as PT_BUS_ANSWER with the caller's ticket; the
 * control socket holds the operator's request meanwhile (a lost answer
 * times out there).
 *
 * Threading: control-plane thread only, except pt_broker_ring_fill (any
 * thread).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ring.h>

#include <petrel/log.h>

#include "broker_ctl_priv.h"

int
pt_bctl_admin_init(struct pt_broker_ctl *x)
{
    x->routes = pt_strmap_create(rte_rdtsc() * 13);
    return x->routes != NULL ? 0 : -ENOMEM;
}

void
pt_bctl_admin_fini(struct pt_broker_ctl *x)
{
    pt_strmap_free(x->routes);  /* values are masks, not pointers */
    x->routes = NULL;
}

void
pt_bctl_admin_route(struct pt_broker_ctl *x, const char *f, uint16_t len,
                    unsigned core, bool add)
{
    uint64_t mask = (uint64_t)(uintptr_t)pt_strmap_get(x->routes, f, len);
    int err;

    if (add)
        mask |= 1ull << core;
    else
        mask &= ~(1ull << core);
    if (mask == 0)
        pt_strmap_del(x->routes, f, len);
    else
        pt_strmap_put(x->routes, f, len, (void *)(uintptr_t)mask, &err);
}

/* ---- listings ---- */

struct list_walk {
    struct pt_broker_ctl *x;
    const char *match;
    size_t match_len;
    bool online_only;
    size_t limit;
    size_t matched;
    void (*client_fn)(void *arg, const struct pt_broker_client *c);
    void (*route_fn)(void *arg, const char *f, size_t len, uint64_t cores);
    void *arg;
};

static bool
contains(const void *hay, size_t len, const char *needle, size_t nlen)
{
    return nlen == 0 || (len >= nlen && memmem(hay, len, needle, nlen));
}

static const char *
reg_state_name(enum reg_state s)
{
    switch (s) {
    case R_ONLINE: return "online";
    case R_OFFLINE: return "offline";
    case R_MOVING: return "moving";
    }
    return "?";
}

static void
client_one(void *arg, const void *key, size_t len, void *value)
{
    struct list_walk *w = arg;
    const struct reg *e = value;
    const struct pt_mqtt_user *u = pt_mqtt_user_of(w->x->b, e->cur.user);
    struct pt_broker_client c;

    if (!contains(key, len, w->match, w->match_len) ||
        (w->online_only && e->state != R_ONLINE))
        return;
    if (w->matched++ >= w->limit)
        return;
    c = (struct pt_broker_client){
        .cid = e->cid,
        .cid_len = e->cid_len,
        .state = reg_state_name(e->state),
        .core = e->core,
        .user = u != NULL ? u->name : NULL,
        .user_len = u != NULL ? u->len : 0,
        .ip = e->cur.ip,
        .port = e->cur.port,
        .clean = e->cur.clean,
        .online_s = e->cur.since_ns != 0 && w->x->now_ns > e->cur.since_ns
                        ? (double)(w->x->now_ns - e->cur.since_ns) / 1e9
                        : 0.0,
    };
    w->client_fn(w->arg, &c);
}

size_t
pt_broker_ctl_clients(struct pt_broker *b, const char *match,
                      bool online_only, size_t limit,
                      void (*fn)(void *arg, const struct pt_broker_client *c),
                      void *arg)
{
    struct list_walk w = {
        .x = b->ctl, .match = match != NULL ? match : "",
        .match_len = match != NULL ? strlen(match) : 0,
        .online_only = online_only, .limit = limit, .client_fn = fn,
        .arg = arg,
    };

    pt_strmap_each(b->ctl->reg, client_one, &w);
    return w.matched;
}

static void
route_one(void *arg, const void *key, size_t len, void *value)
{
    struct list_walk *w = arg;

    if (!contains(key, len, w->match, w->match_len))
        return;
    if (w->matched++ >= w->limit)
        return;
    w->route_fn(w->arg, key, len, (uint64_t)(uintptr_t)value);
}

size_t
pt_broker_ctl_routes(struct pt_broker *b, const char *match, size_t limit,
                     void (*fn)(void *arg, const char *filter, size_t len,
                                uint64_t cores),
                     void *arg)
{
    struct list_walk w = {
        .x = b->ctl, .match = match != NULL ? match : "",
        .match_len = match != NULL ? strlen(match) : 0,
        .limit = limit, .route_fn = fn, .arg = arg,
    };

    pt_strmap_each(b->ctl->routes, route_one, &w);
    return w.matched;
}

/* ---- queries a core answers ---- */

void
pt_broker_ctl_on_answer(struct pt_broker *b, pt_broker_answer_fn fn,
                        void *arg)
{
    b->ctl->answer_fn = fn;
    b->ctl->answer_arg = arg;
}

int
pt_broker_ctl_query(struct pt_broker *b, const char *cid, size_t len,
                    enum pt_broker_query q, uint64_t ticket)
{
    struct pt_broker_ctl *x = b->ctl;
    const struct reg *e = pt_strmap_get(x->reg, cid, len);
    struct pt_bus_desc d = { .type = PT_BUS_QUERY, .u64 = ticket };

    if (e == NULL)
        return -ENOENT;
    switch (e->state) {
    case R_MOVING:
        return -EBUSY;
    case R_OFFLINE:
        if (q == PT_BROKER_KICK)
            return -ENOTCONN;
        d.id = e->sid;
        d.arg = 1;
        break;
    case R_ONLINE:
        d.id = e->conn;
        break;
    }
    d.aux = q == PT_BROKER_KICK   ? PT_QUERY_KICK
            : q == PT_BROKER_SUBS ? PT_QUERY_SUBS
                                  : PT_QUERY_SHOW;
    if (pt_bctl_send(x, e->core, &d) != 0)
        return -ENOBUFS;
    if (q == PT_BROKER_KICK)
        count(&x->st.kicks, 1);
    return 0;
}

void
pt_bctl_admin_answer(struct pt_broker_ctl *x, const struct pt_bus_desc *d)
{
    struct rte_mbuf *m = d->ptr;
    char *text = NULL;
    size_t len = 0;

    if (m != NULL) {
        len = m->pkt_len;
        text = malloc(len + 1);
        if (text != NULL) {
            pt_mqtt_copy(m, 0, (uint32_t)len, text);
            text[len] = '\0';
        }
        rte_pktmbuf_free(m);
    }
    if (x->answer_fn != NULL)
        x->answer_fn(x->answer_arg, d->u64,
                     text == NULL && m != NULL ? ENOMEM : d->aux, text,
                     text != NULL ? len : 0);
    free(text);
}

/* ---- graceful stop ---- */

unsigned
pt_broker_ctl_shutdown(struct pt_broker *b, unsigned phase)
{
    struct pt_broker_ctl *x = b->ctl;
    unsigned asked = 0;

    if (phase >= 3)
        return 0;
    x->shutdown_acks[phase] = 0;
    for (unsigned i = 0; i < b->n; i++) {
        struct pt_bus_desc d = { .type = PT_BUS_SHUTDOWN,
                                 .aux = (uint16_t)phase };

        if (pt_bctl_send(x, i, &d) == 0)
            asked++;
    }
    return asked;
}

bool
pt_broker_ctl_shutdown_done(const struct pt_broker *b, unsigned phase)
{
    return phase < 3 && b->ctl->shutdown_acks[phase] >= b->n;
}

unsigned
pt_broker_ring_fill(const struct pt_broker *b, unsigned *from, unsigned *to)
{
    unsigned worst = 0, n = b->n + 1;

    *from = *to = 0;
    for (unsigned i = 0; i < n * n; i++) {
        const struct rte_ring *r = b->rings[i];
        unsigned pct;

        if (r == NULL)
            continue;
        pct = (unsigned)((uint64_t)rte_ring_count(r) * 100 /
                         rte_ring_get_capacity(r));
        if (pct > worst) {
            worst = pct;
            *from = i / n;
            *to = i % n;
        }
    }
    return worst;
}
