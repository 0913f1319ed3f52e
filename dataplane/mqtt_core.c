/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's node-wide objects (rings, pools, route table) and each
 * dataplane core's MQTT side: its pools and tables, the drain of the rings
 * addressed to it, and what it does with each descriptor.
 *
 * Rings: rings[from * (n + 1) + to], single producer (the lcore of
 * `from`) and single consumer (the lcore of `to`); index n is the control
 * plane. A core never waits on a ring: when one is full the descriptor is
 * not sent and counted (mqtt_ring_full) and the sender undoes what it can
 * (a message reference is dropped, a SUBSCRIBE filter gets 0x80, a
 * CONNECT gets CONNACK 0x03).
 *
 * Threading: see include/petrel/broker.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sys/random.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include <petrel/log.h>
#include <petrel/tcp.h>

#include "mqtt_priv.h"

PT_LOG_REGISTER(mqtt_core, pt.dp.broker, INFO);

#define PT_BUS_BURST 32

static const char *const counter_names[] = {
#define PT_X(id, name, help) name,
    PT_MQTT_COUNTERS(PT_X)
#undef PT_X
};

static const char *const violation_names[] = {
#define PT_X(id, name, help) name,
    PT_MQTT_VIOLATIONS(PT_X)
#undef PT_X
};

const char *
pt_mqtt_counter_name(enum pt_mqtt_counter c)
{
    return (unsigned)c < PT_MQTT_C_MAX ? counter_names[c] : "?";
}

const char *
pt_mqtt_violation_name(enum pt_mqtt_violation v)
{
    return (unsigned)v < PT_MQTT_V_MAX ? violation_names[v] : "?";
}

static struct rte_ring *
ring_at(const struct pt_broker *b, unsigned from, unsigned to)
{
    return b->rings[from * (b->n + 1) + to];
}

/* ---- node ---- */

static uint32_t
sessions_total(const struct pt_config *cfg, unsigned n)
{
    return cfg->mqtt_max_sessions * n;
}

uint64_t
pt_broker_memory(const struct pt_config *cfg, unsigned n)
{
    uint64_t ring = rte_ring_get_memsize_elem(sizeof(struct pt_bus_desc),
                                              rte_align32pow2(cfg->mqtt_ring_size));
    uint64_t per_core =
        (uint64_t)cfg->tcp_max_conns * (sizeof(struct pt_mqtt_conn) + 64 + 16) +
        (uint64_t)cfg->mqtt_max_sessions * 16 +
        (uint64_t)cfg->mqtt_max_subscriptions * 160 +
        (uint64_t)cfg->mqtt_queue_entries * (sizeof(struct pt_mqtt_qent) + 64) +
        2ull * cfg->mqtt_max_packet + (PT_MQTT_WHEEL_SLOTS * 16) +
        sizeof(struct pt_fanout_ent) * PT_FANOUT_SIZE;

    return (uint64_t)(n + 1) * (n + 1) * ring + n * per_core +
           (uint64_t)sessions_total(cfg, n) *
               (sizeof(struct pt_mqtt_session) + 64) +
           pt_mqtt_route_memory(n, cfg->mqtt_max_routes) + (4u << 20);
}

/* Per-lcore cache of a node-wide pool: 256, or less for a small pool
 * (rte_mempool_create refuses a cache above pool size / 1.5). */
static unsigned
pool_cache(uint32_t size)
{
    return RTE_MIN(256u, size * 2 / 3);
}

struct pt_broker *
pt_broker_create(const struct pt_config *cfg, unsigned n,
                 struct rte_mempool *msg_pool, int socket_id)
{
    struct pt_broker *b;
    char name[RTE_RING_NAMESIZE];
    unsigned size = rte_align32pow2(cfg->mqtt_ring_size);

    if (n == 0 || n > 64 || pt_msg_init() != 0) {
        rte_errno = EINVAL;
        return NULL;
    }
    b = rte_zmalloc_socket("pt_broker", sizeof(*b), RTE_CACHE_LINE_SIZE,
                           socket_id);
    if (b == NULL)
        goto nomem;
    b->n = n;
    b->cfg = cfg;
    b->msg_pool = msg_pool;
    b->rings = rte_zmalloc_socket("pt_broker_rings",
                                  sizeof(*b->rings) * (n + 1) * (n + 1), 0,
                                  socket_id);
    if (b->rings == NULL)
        goto nomem;
    for (unsigned f = 0; f <= n; f++) {
        for (unsigned t = 0; t <= n; t++) {
            if (f == t)
                continue;
            snprintf(name, sizeof(name), "pt_bus_%u_%u", f, t);
            b->rings[f * (n + 1) + t] = rte_ring_create_elem(
                name, sizeof(struct pt_bus_desc), size, socket_id,
                RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
            if (b->rings[f * (n + 1) + t] == NULL)
                goto fail;
        }
    }
    b->sessions = rte_mempool_create("pt_mqtt_sessions",
                                     sessions_total(cfg, n),
                                     sizeof(struct pt_mqtt_session),
                                     pool_cache(sessions_total(cfg, n)), 0,
                                     NULL, NULL, NULL, NULL, socket_id, 0);
    b->qents = rte_mempool_create("pt_mqtt_qents",
                                  cfg->mqtt_queue_entries * n,
                                  sizeof(struct pt_mqtt_qent),
                                  pool_cache(cfg->mqtt_queue_entries * n), 0,
                                  NULL,
                                  NULL, NULL, NULL, socket_id, 0);
    if (b->sessions == NULL || b->qents == NULL)
        goto fail;
    b->route = pt_mqtt_route_create(n, cfg->mqtt_max_routes, socket_id);
    if (b->route == NULL)
        goto fail;
    return b;

nomem:
    rte_errno = ENOMEM;
fail:
    {
        int err = rte_errno;

        pt_broker_free(b);
        rte_errno = err;
    }
    return NULL;
}

/* Free what a descriptor owns (rings emptied at shutdown). */
static void
desc_free(struct pt_broker *b, struct pt_bus_desc *d)
{
    switch (d->type) {
    case PT_BUS_HANDOFF:
    case PT_BUS_LOGIN_OK:
        if (d->ptr != NULL)     /* a session between cores */
            pt_mqtt_session_free(b, d->ptr);
        break;
    default:
        rte_pktmbuf_free(d->ptr);
        break;
    }
}

void
pt_broker_free(struct pt_broker *b)
{
    if (b == NULL)
        return;
    for (unsigned i = 0; b->rings != NULL && i < (b->n + 1) * (b->n + 1);
         i++) {
        struct pt_bus_desc d;

        if (b->rings[i] == NULL)
            continue;
        while (rte_ring_dequeue_elem(b->rings[i], &d, sizeof(d)) == 0)
            desc_free(b, &d);
        rte_ring_free(b->rings[i]);
    }
    rte_free(b->rings);
    pt_mqtt_route_free(b->route);
    rte_mempool_free(b->sessions);
    rte_mempool_free(b->qents);
    rte_free(b);
}

void
pt_broker_set_core(struct pt_broker *b, unsigned core,
                   const struct pt_mqtt_core *mc)
{
    if (core < 64)
        b->cores[core] = mc;
}

/* ---- a core ---- */

int
pt_mqtt_bus_send(struct pt_mqtt_core *mc, unsigned to,
                 const struct pt_bus_desc *d)
{
    struct pt_bus_desc x = *d;

    x.from = mc->core;
    if (rte_ring_enqueue_elem(mc->out[to], &x, sizeof(x)) != 0) {
        pt_mqtt_count(mc, PT_MQTT_C_RING_FULL, 1);
        return -ENOBUFS;
    }
    return 0;
}

struct pt_mqtt_core *
pt_mqtt_core_create(struct pt_broker *b, unsigned core, struct pt_tcp *tcp,
                    struct rte_mempool *pool, uint64_t now_ns, int socket_id)
{
    const struct pt_config *cfg = b->cfg;
    struct pt_mqtt_core *mc;
    char name[RTE_MEMPOOL_NAMESIZE];
    int rc;

    mc = rte_zmalloc_socket("pt_mqtt_core", sizeof(*mc), RTE_CACHE_LINE_SIZE,
                            socket_id);
    if (mc == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    mc->b = b;
    mc->core = core;
    /* the key of server-assigned client ids (mqtt_handle.c): they must not
     * be guessable, or a client could take another's session over */
    if (getrandom(mc->id_key, sizeof(mc->id_key), 0) !=
        (ssize_t)sizeof(mc->id_key)) {
        uint64_t r[2] = { rte_rand(), rte_rand() };

        memcpy(mc->id_key, r, sizeof(r));
    }
    mc->tcp = tcp;
    mc->pool = pool;
    mc->now_ms = now_ns / 1000000u;
    mc->out = rte_zmalloc_socket("pt_mqtt_rings",
                                 sizeof(*mc->out) * 2 * (b->n + 1), 0,
                                 socket_id);
    if (mc->out == NULL)
        goto nomem;
    mc->in = mc->out + (b->n + 1);
    for (unsigned i = 0; i <= b->n; i++) {
        if (i == core)
            continue;
        mc->out[i] = ring_at(b, core, i);
        mc->in[i] = ring_at(b, i, core);
    }
    snprintf(name, sizeof(name), "pt_mqtt_conns_%u", core);
    mc->conns = rte_mempool_create(name, cfg->tcp_max_conns,
                                   sizeof(struct pt_mqtt_conn), 0, 0, NULL,
                                   NULL, NULL, NULL, socket_id,
                                   RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
    mc->actors = pt_actor_table_create(core, cfg->tcp_max_conns, socket_id);
    mc->sids = pt_actor_table_create(core, cfg->mqtt_max_sessions, socket_id);
    mc->trie = pt_mqtt_trie_create(cfg->mqtt_max_subscriptions + 1,
                                   cfg->mqtt_max_subscriptions, socket_id);
    mc->wheel = pt_timer_wheel_create(PT_MQTT_WHEEL_SLOTS, mc->now_ms,
                                      socket_id);
    mc->fanout = rte_zmalloc_socket("pt_mqtt_fanout",
                                    sizeof(*mc->fanout) * PT_FANOUT_SIZE,
                                    RTE_CACHE_LINE_SIZE, socket_id);
    for (unsigned i = 0; mc->fanout != NULL && i < PT_FANOUT_SIZE; i++)
        mc->fanout[i].rgen = mc->fanout[i].lgen = UINT64_MAX;
    mc->pscratch_len = cfg->mqtt_max_packet;
    mc->txq_limit = (uint64_t)cfg->mqtt_max_packet + cfg->tcp_snd_buf;
    mc->pscratch = rte_malloc_socket("pt_mqtt_scratch", mc->pscratch_len, 0,
                                     socket_id);
    mc->rbuf = rte_malloc_socket("pt_mqtt_rbuf", mc->pscratch_len, 0,
                                 socket_id);
    if (mc->conns == NULL || mc->actors == NULL || mc->sids == NULL ||
        mc->trie == NULL || mc->wheel == NULL || mc->pscratch == NULL ||
        mc->rbuf == NULL || mc->fanout == NULL)
        goto nomem;
    mc->st.conn_bytes = mc->conns->elt_size + mc->conns->header_size +
                        mc->conns->trailer_size + 16;
    mc->st.session_bytes = b->sessions->elt_size + b->sessions->header_size +
                           b->sessions->trailer_size + 16;
    if (cfg->mqtt_port != 0) {
        rc = pt_tcp_listen(tcp, cfg->mqtt_port, &pt_mqtt_tcp_ops, mc);
        if (rc != 0) {
            rte_errno = -rc;
            goto fail;
        }
    }
    pt_mqtt_route_reader_register(b->route, core);
    pt_broker_set_core(b, core, mc);
    return mc;

nomem:
    rte_errno = ENOMEM;
fail:
    {
        int err = rte_errno;

        pt_mqtt_core_free(mc);
        rte_errno = err;
    }
    return NULL;
}

static void
destroy_session(void *arg, uint64_t id, void *obj)
{
    struct pt_mqtt_session *s = obj;

    (void)id;
    s->conn = NULL;
    pt_mqtt_session_destroy(arg, s);
}

void
pt_mqtt_core_free(struct pt_mqtt_core *mc)
{
    if (mc == NULL)
        return;
    /* connections went with TCP (pt_tcp_shutdown/free calls `closed`);
     * what is left are offline sessions: their queued messages hold mbufs
     * of the cores' pools, so they go now */
    if (mc->sids != NULL && mc->trie != NULL) {
        /* their lcore has stopped: this thread takes them over */
        pt_mqtt_trie_disown(mc->trie);
        pt_actor_disown(mc->sids);
        pt_actor_disown(mc->actors);
        pt_actor_for_each(mc->sids, destroy_session, mc);
    }
    pt_broker_set_core(mc->b, mc->core, NULL);
    if (mc->trie != NULL && mc->b->route != NULL)
        pt_mqtt_route_reader_unregister(mc->b->route, mc->core);
    rte_free(mc->pscratch);
    rte_free(mc->rbuf);
    rte_free(mc->fanout);
    pt_timer_wheel_free(mc->wheel);
    pt_mqtt_trie_free(mc->trie);
    pt_actor_table_free(mc->sids);
    pt_actor_table_free(mc->actors);
    rte_mempool_free(mc->conns);
    rte_free(mc->out);
    rte_free(mc);
}

const struct pt_mqtt_stats *
pt_mqtt_core_stats(const struct pt_mqtt_core *mc)
{
    return &mc->st;
}

void
pt_mqtt_core_idle(struct pt_mqtt_core *mc, bool sleeping)
{
    if (sleeping)
        pt_mqtt_route_reader_offline(mc->b->route, mc->core);
    else
        pt_mqtt_route_reader_online(mc->b->route, mc->core);
}

bool
pt_mqtt_core_pending(const struct pt_mqtt_core *mc)
{
    for (unsigned i = 0; i <= mc->b->n; i++)
        if (i != mc->core && !rte_ring_empty(mc->in[i]))
            return true;
    return false;
}

/* ---- answers from the control plane ---- */

/* The session is now c's and the client has its CONNACK: go. */
static void
go_connected(struct pt_mqtt_conn *c)
{
    c->state = PT_MC_CONNECTED;
    pt_mqtt_gauge(&c->mc->st.connected, 1);
    c->last_rx_ms = c->mc->now_ms;
    pt_mqtt_conn_arm(c);
    pt_mqtt_session_resend(c->mc, c->s);
    pt_mqtt_conn_resume(c);
}

static void
login_ok(struct pt_mqtt_core *mc, const struct pt_bus_desc *d)
{
    struct pt_mqtt_conn *c = pt_actor_lookup(mc->actors, d->id);
    struct pt_mqtt_session *prov, *s = d->ptr;
    bool present = d->aux & PT_BUS_F_PRESENT;
    int routes = 0;

    if (c == NULL || c->state != PT_MC_WAIT_LOGIN) {
        /* the connection went away meanwhile (its provisional session
         * with it): keep a handed-over session here, offline */
        if (s == NULL && (d->aux & PT_BUS_F_ATTACH_ID))
            s = pt_actor_lookup(mc->sids, d->u64);
        else if (s != NULL && pt_mqtt_session_attach_moved(mc, s) < 0)
            s = NULL;
        if (s != NULL) {
            s->conn = NULL;
            pt_mqtt_session_lost(mc, s, d->id);
        }
        /* without a session there is nothing to do: the connection's
         * close already sent END */
        return;
    }
    prov = c->s;
    if (d->aux & PT_BUS_F_ATTACH_ID) {
        s = pt_actor_lookup(mc->sids, d->u64);
        if (s != NULL && c->clean) {
            pt_mqtt_session_destroy(mc, s);
            s = NULL;
        }
    } else if (s != NULL) {
        routes = pt_mqtt_session_attach_moved(mc, s);
        if (routes < 0) {
            s = NULL;   /* no id left here: start afresh */
            routes = 0;
        }
    }
    if (s != NULL) {
        rte_mempool_put(mc->b->sessions, prov);
        s->clean = c->clean;
        pt_mqtt_count(mc, PT_MQTT_C_RESUMED, 1);
    } else {
        s = prov;
        present = false;
        if (pt_mqtt_session_start(mc, s) != 0) {
            pt_mqtt_count(mc, PT_MQTT_C_SESSION_FULL, 1);
            pt_mqtt_conn_connack(c, false, PT_MQTT_CONNACK_UNAVAILABLE);
            /* still WAIT_LOGIN with the provisional session: the close
             * returns it and tells the registry (END) */
            pt_mqtt_conn_close(c, false);
            return;
        }
    }
    c->s = s;
    s->conn = c;
    s->user = d->arg;       /* the user this login proved (0: none) */
    if (routes > 0) {
        /* a moved session's routes must be visible before CONNACK */
        struct pt_bus_sync hdr = { .reply_len = 4, .connack = 1 };
        struct rte_mbuf *head = NULL, *tail = NULL;
        uint8_t ack[4];
        struct pt_bus_desc sd = { .type = PT_BUS_SYNC, .id = c->id,
                                  .u64 = s->id };

        pt_mqtt_encode_connack(ack, present, PT_MQTT_CONNACK_ACCEPTED);
        if (pt_mqtt_blob_append(mc->pool, &head, &tail, &hdr, sizeof(hdr)) ==
                0 &&
            pt_mqtt_blob_append(mc->pool, &head, &tail, ack, 4) == 0) {
            sd.ptr = head;
            if (pt_mqtt_bus_send(mc, mc->b->n, &sd) == 0) {
                c->state = PT_MC_WAIT_SYNC;
                mc->syncs_pending++;
                return;
            }
        }
        rte_pktmbuf_free(head);
    }
    pt_mqtt_conn_connack(c, present, PT_MQTT_CONNACK_ACCEPTED);
    go_connected(c);
}

static void
login_fail(struct pt_mqtt_core *mc, const struct pt_bus_desc *d)
{
    struct pt_mqtt_conn *c = pt_actor_lookup(mc->actors, d->id);

    if (c == NULL || c->state != PT_MC_WAIT_LOGIN)
        return;
    if (d->aux != 0xff)
        pt_mqtt_conn_connack(c, false, (uint8_t)d->aux);
    pt_mqtt_conn_close(c, false);
}

static void
takeover(struct pt_mqtt_core *mc, const struct pt_bus_desc *d)
{
    struct pt_bus_desc h = { .type = PT_BUS_HANDOFF, .u64 = d->u64 };
    struct pt_mqtt_session *s = NULL;

    if (d->aux & PT_BUS_F_SESSION) {
        s = pt_actor_lookup(mc->sids, d->id);
        if (s != NULL && s->conn != NULL)
            s = NULL;       /* back online meanwhile: not this one */
    } else {
        struct pt_mqtt_conn *c = pt_actor_lookup(mc->actors, d->id);

        if (c != NULL && c->s != NULL &&
            (c->state == PT_MC_CONNECTED || c->state == PT_MC_WAIT_SYNC)) {
            s = c->s;
            c->s = NULL;
            s->conn = NULL;
            pt_mqtt_count(mc, PT_MQTT_C_TAKEOVERS, 1);
            /* MQTT-3.1.4-2: the old connection is closed (no DISCONNECT
             * from its client, so its will goes out) */
            pt_mqtt_conn_close(c, true);
        }
    }
    if (s == NULL) {
        h.aux = 1;          /* miss: the control plane knows why */
    } else if ((d->aux & PT_BUS_F_CLEAN) || s->clean) {
        pt_mqtt_session_destroy(mc, s);
    } else {
        pt_mqtt_session_detach(mc, s);
        h.ptr = s;
    }
    if (pt_mqtt_bus_send(mc, mc->b->n, &h) != 0) {
        /* cannot happen with a sane ring size: the login would hang */
        PT_LOG(ERR, mqtt_core, "core %u: handoff lost (ring full)",
               mc->core);
        if (h.ptr != NULL)
            desc_free(mc->b, &h);
    }
}

static void
sync_ack(struct pt_mqtt_core *mc, const struct pt_bus_desc *d)
{
    struct pt_mqtt_conn *c = pt_actor_lookup(mc->actors, d->id);
    struct rte_mbuf *m = d->ptr;
    struct pt_bus_sync hdr;
    uint8_t reply[5 + 256];

    mc->syncs_pending--;
    if (c == NULL || c->state == PT_MC_CLOSING || m == NULL) {
        rte_pktmbuf_free(m);
        return;
    }
    pt_mqtt_copy(m, 0, sizeof(hdr), &hdr);
    if (hdr.reply_len <= sizeof(reply)) {
        const void *r = rte_pktmbuf_read(m, sizeof(hdr), hdr.reply_len,
                                         reply);
        pt_mqtt_conn_send_bytes(c, r, hdr.reply_len, false);
    }
    /* filters whose route the table refused were answered 0x80: they
     * are not this session's either */
    for (uint32_t off = sizeof(hdr) + hdr.reply_len;
         c->s != NULL && off + PT_SYNC_REC_HDR <= m->pkt_len;) {
        uint8_t rec[PT_SYNC_REC_HDR];
        uint16_t len;

        pt_mqtt_copy(m, off, sizeof(rec), rec);
        len = (uint16_t)(rec[2] << 8 | rec[3]);
        if (off + sizeof(rec) + len > m->pkt_len || len > mc->pscratch_len)
            break;
        if (rec[0] == 0x80) {
            pt_mqtt_copy(m, off + (uint32_t)sizeof(rec), len, mc->pscratch);
            pt_mqtt_session_unsubscribe(mc, c->s, (char *)mc->pscratch,
                                        len);
            pt_mqtt_count(mc, PT_MQTT_C_SUB_REFUSED, 1);
        }
        off += (uint32_t)sizeof(rec) + len;
    }
    rte_pktmbuf_free(m);
    if (hdr.connack) {
        pt_mqtt_count(mc, PT_MQTT_C_CONNACK_OK, 1);
        go_connected(c);
    } else {
        pt_mqtt_conn_resume(c);
    }
}

static void
dispatch(struct pt_mqtt_core *mc, struct pt_bus_desc *d)
{
    switch (d->type) {
    case PT_BUS_PUBLISH:
        pt_mqtt_deliver_local(mc, d->ptr);
        pt_msg_unref(d->ptr);
        break;
    case PT_BUS_RETAINED: {
        struct pt_mqtt_session *s = pt_actor_lookup(mc->sids, d->id);

        if (s != NULL)
            pt_mqtt_session_deliver(mc, s, d->ptr, (uint8_t)d->aux, true);
        pt_msg_unref(d->ptr);
        break;
    }
    case PT_BUS_LOGIN_OK:
        login_ok(mc, d);
        break;
    case PT_BUS_LOGIN_FAIL:
        login_fail(mc, d);
        break;
    case PT_BUS_TAKEOVER:
        takeover(mc, d);
        break;
    case PT_BUS_SYNC_ACK:
        sync_ack(mc, d);
        break;
    case PT_BUS_QUERY:
        pt_mqtt_admin_query(mc, d);
        break;
    case PT_BUS_SHUTDOWN:
        pt_mqtt_admin_shutdown(mc, d);
        break;
    default:
        PT_LOG(ERR, mqtt_core, "core %u: unexpected descriptor %u",
               mc->core, d->type);
        desc_free(mc->b, d);
        break;
    }
}

void
pt_mqtt_core_drain_peers(struct pt_mqtt_core *mc)
{
    struct pt_bus_desc ds[PT_BUS_BURST];

    for (unsigned i = 0; i < mc->b->n; i++) {
        unsigned n;

        if (i == mc->core)
            continue;
        do {
            n = rte_ring_dequeue_burst_elem(mc->in[i], ds, sizeof(ds[0]),
                                            PT_BUS_BURST, NULL);
            for (unsigned k = 0; k < n; k++)
                dispatch(mc, &ds[k]);
        } while (n > 0);
    }
}

unsigned
pt_mqtt_core_poll(struct pt_mqtt_core *mc, uint64_t now_ns)
{
    struct pt_bus_desc ds[PT_BUS_BURST];
    unsigned total = 0;

    mc->now_ms = now_ns / 1000000u;
    for (unsigned i = 0; i <= mc->b->n; i++) {
        unsigned n;

        if (i == mc->core)
            continue;
        n = rte_ring_dequeue_burst_elem(mc->in[i], ds, sizeof(ds[0]),
                                        PT_BUS_BURST, NULL);
        for (unsigned k = 0; k < n; k++)
            dispatch(mc, &ds[k]);
        total += n;
    }
    if (unlikely(mc->shutdown_close)) {
        /* graceful stop: the CLOSE came after every core had published
         * its wills (they are in our rings by now): deliver them, then
         * close */
        struct pt_bus_desc sd = { .type = PT_BUS_SHUTDOWN };

        sd.aux = PT_SHUTDOWN_CLOSE;
        pt_mqtt_core_drain_peers(mc);
        pt_mqtt_admin_shutdown(mc, &sd);
    }
    pt_mqtt_acl_poll(mc);
    pt_timer_advance(mc->wheel, mc->now_ms, pt_mqtt_timer_fired, mc);
    pt_mqtt_route_quiescent(mc->b->route, mc->core);
    if (pt_mqtt_trie_gen(mc->trie) != mc->stats_gen) {
        /* the trie changed: its gauges for `stats` */
        struct pt_mqtt_trie_stats ts;

        mc->stats_gen = pt_mqtt_trie_gen(mc->trie);
        pt_mqtt_trie_stats(mc->trie, &ts);
        pt_mqtt_gauge(&mc->st.subscriptions,
                      (int64_t)ts.subs_used - (int64_t)mc->st.subscriptions);
        __atomic_store_n(&mc->st.sub_bytes, ts.bytes_per_sub,
                         __ATOMIC_RELAXED);
    }
    if (total > 0)
        pt_tcp_flush(mc->tcp);
    return total;
}

uint64_t
pt_mqtt_core_ring_backlog(const struct pt_mqtt_core *mc)
{
    uint64_t n = 0;

    for (unsigned i = 0; i <= mc->b->n; i++)
        if (i != mc->core && mc->in[i] != NULL)
            n += rte_ring_count(mc->in[i]);
    return n;
}
