/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operator's requests as a dataplane core sees them: `clients show`
 * and `clients kick` (PT_BUS_QUERY, answered with PT_BUS_ANSWER carrying
 * JSON text), and the graceful stop (PT_BUS_SHUTDOWN).
 *
 * Graceful stop, per core (the control plane drives the phases and waits
 * for every core's SHUTDOWN_ACK before the next):
 *
 *   RUNNING --SHUTDOWN(WILLS)--> WILLS: new connections are refused (RST,
 *            counted); every connected client's will is published now
 *            (the ACL still applies); ACK
 *   WILLS --SHUTDOWN(CLOSE)--> at the end of this poll: everything other
 *            cores put in our rings is delivered (the wills among it: they
 *            were sent before those cores acknowledged WILLS, and the
 *            CLOSE came after), then every connection is closed (FIN after
 *            what TCP already holds; sessions end as on a network close,
 *            their wills already gone); ACK
 *
 * The control plane then waits up to mqtt.shutdown_grace_ms for TCP to
 * finish before the cores stop.
 *
 * JSON is written straight into an mbuf chain (no heap on a dataplane
 * core); a subscription list is cut at PT_ADMIN_MAX_FILTERS.
 *
 * Threading: the core's own lcore (called from its ring dispatch).
 */
#include <stdarg.h>
#include <stdio.h>

#include <arpa/inet.h>

#include <petrel/log.h>
#include <petrel/tcp.h>

#include "mqtt_priv.h"

PT_LOG_REGISTER(mqtt_admin, pt.mqtt.admin, INFO);

#define PT_ADMIN_MAX_FILTERS 1000

/* A JSON writer appending to an mbuf chain; the first failure sticks. */
struct jw {
    struct rte_mempool *pool;
    struct rte_mbuf *head, *tail;
    int err;
};

static void
jw_raw(struct jw *w, const void *p, size_t len)
{
    if (w->err == 0 &&
        pt_mqtt_blob_append(w->pool, &w->head, &w->tail, p,
                            (uint32_t)len) != 0)
        w->err = -ENOBUFS;
}

static void __attribute__((format(printf, 2, 3)))
jw_printf(struct jw *w, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        w->err = -EINVAL;
        return;
    }
    jw_raw(w, buf, (size_t)n);
}

/* A JSON string literal of len bytes (control characters escaped; other
 * bytes as they are: MQTT strings are UTF-8 already). */
static void
jw_str(struct jw *w, const char *s, size_t len)
{
    char buf[128];
    size_t n = 0;

    buf[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (n + 8 > sizeof(buf)) {
            jw_raw(w, buf, n);
            n = 0;
        }
        if (ch == '"' || ch == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            n += (size_t)snprintf(buf + n, 8, "\\u%04x", ch);
        } else {
            buf[n++] = (char)ch;
        }
    }
    buf[n++] = '"';
    jw_raw(w, buf, n);
}

static const char *
state_name(uint8_t st)
{
    switch (st) {
    case PT_MC_WAIT_CONNECT: return "waiting_connect";
    case PT_MC_WAIT_LOGIN: return "waiting_login";
    case PT_MC_WAIT_SYNC: return "waiting_routes";
    case PT_MC_CONNECTED: return "connected";
    case PT_MC_CLOSING: return "closing";
    }
    return "?";
}

struct filters_arg {
    struct jw *w;
    unsigned n;
};

static int
filter_json(void *arg, const char *f, size_t len, uint8_t qos)
{
    struct filters_arg *fa = arg;

    if (fa->n == PT_ADMIN_MAX_FILTERS)
        return 1;
    jw_printf(fa->w, "%s{\"filter\":", fa->n ? "," : "");
    jw_str(fa->w, f, len);
    jw_printf(fa->w, ",\"qos\":%u}", qos);
    fa->n++;
    return 0;
}

static uint32_t
chain_len(const struct rte_mbuf *m)
{
    return m != NULL ? m->pkt_len : 0;
}

static void
show_json(struct pt_mqtt_core *mc, struct jw *w, struct pt_mqtt_conn *c,
          struct pt_mqtt_session *s)
{
    struct filters_arg fa = { .w = w };
    const struct pt_mqtt_user *u = pt_mqtt_user_of(mc->b, s->user);

    jw_printf(w, "{\"client_id\":");
    jw_str(w, s->cid, s->cid_len);
    jw_printf(w, ",\"core\":%u,\"state\":\"%s\",\"user\":", mc->core,
              c != NULL ? state_name(c->state) : "offline");
    if (u != NULL)
        jw_str(w, u->name, u->len);
    else
        jw_printf(w, "null");
    if (c != NULL) {
        uint32_t ip = 0;
        uint16_t port = 0;
        char a[INET_ADDRSTRLEN] = "?";

        if (c->tcp != NULL) {
            pt_tcp_conn_peer(c->tcp, &ip, &port, NULL);
            inet_ntop(AF_INET, &ip, a, sizeof(a));
        }
        jw_printf(w, ",\"address\":\"%s:%u\",\"connected_s\":%.1f,"
                  "\"keepalive_s\":%u,\"idle_s\":%.1f,\"will\":%s,"
                  "\"rx_buffered_bytes\":%u,\"tx_backlog_bytes\":%u",
                  a, port, (double)(mc->now_ms - c->since_ms) / 1000.0,
                  c->keepalive,
                  (double)(mc->now_ms - c->last_rx_ms) / 1000.0,
                  c->will != NULL ? "true" : "false",
                  chain_len(c->rx) - c->rx_off, chain_len(c->txq));
    }
    jw_printf(w, ",\"clean_session\":%s,\"inflight\":%u,\"queued\":%u,"
              "\"queued_bytes\":%u,\"qos2_unreleased\":%u,"
              "\"subscription_count\":%u,\"subscriptions\":[",
              s->clean ? "true" : "false", s->n_inflight, s->n_queued,
              s->queued_bytes, s->n_rx_qos2, s->n_subs);
    pt_mqtt_trie_for_each(mc->trie, s->id, filter_json, &fa);
    jw_printf(w, "]}");
}

static void
answer(struct pt_mqtt_core *mc, uint64_t ticket, int err, struct jw *w)
{
    struct pt_bus_desc d = { .type = PT_BUS_ANSWER, .u64 = ticket };

    if (w != NULL && w->err != 0) {
        rte_pktmbuf_free(w->head);
        w->head = NULL;
        err = -w->err;
    }
    d.aux = (uint16_t)err;
    d.ptr = w != NULL ? w->head : NULL;
    if (pt_mqtt_bus_send(mc, mc->b->n, &d) != 0)
        rte_pktmbuf_free(d.ptr);    /* the request times out */
}

void
pt_mqtt_admin_query(struct pt_mqtt_core *mc, const struct pt_bus_desc *d)
{
    struct jw w = { .pool = mc->pool };
    struct pt_mqtt_conn *c = NULL;
    struct pt_mqtt_session *s = NULL;

    if (d->arg != 0) {
        s = pt_actor_lookup(mc->sids, d->id);   /* an offline session */
        if (s != NULL && s->conn != NULL)
            c = s->conn;
    } else {
        c = pt_actor_lookup(mc->actors, d->id);
        if (c != NULL)
            s = c->s;
    }
    switch (d->aux) {
    case PT_QUERY_SHOW:
        if (s == NULL) {
            answer(mc, d->u64, ENOENT, NULL);
            return;
        }
        show_json(mc, &w, c, s);
        answer(mc, d->u64, 0, &w);
        return;
    case PT_QUERY_SUBS: {
        struct filters_arg fa = { .w = &w };

        if (s == NULL) {
            answer(mc, d->u64, ENOENT, NULL);
            return;
        }
        jw_printf(&w, "{\"client_id\":");
        jw_str(&w, s->cid, s->cid_len);
        jw_printf(&w, ",\"core\":%u,\"subscription_count\":%u,"
                  "\"subscriptions\":[", mc->core, s->n_subs);
        pt_mqtt_trie_for_each(mc->trie, s->id, filter_json, &fa);
        jw_printf(&w, "]}");
        answer(mc, d->u64, 0, &w);
        return;
    }
    case PT_QUERY_KICK:
        if (c == NULL || c->state == PT_MC_CLOSING) {
            answer(mc, d->u64, ENOTCONN, NULL);
            return;
        }
        PT_LOG(NOTICE, mqtt_admin, "core %u: operator closes client %.*s",
               mc->core, s != NULL ? s->cid_len : 0, s != NULL ? s->cid : "");
        pt_mqtt_count(mc, PT_MQTT_C_KICKED, 1);
        pt_mqtt_conn_close(c, true);
        jw_printf(&w, "{\"kicked\":true,\"core\":%u}", mc->core);
        answer(mc, d->u64, 0, &w);
        return;
    }
    answer(mc, d->u64, EINVAL, NULL);
}

/* ---- graceful stop ---- */

static void
publish_will(void *arg, uint64_t id, void *obj)
{
    struct pt_mqtt_conn *c = obj;

    (void)arg;
    (void)id;
    if (c->state == PT_MC_CONNECTED || c->state == PT_MC_WAIT_SYNC)
        pt_mqtt_conn_will(c);
}

static void
close_conn(void *arg, uint64_t id, void *obj)
{
    struct pt_mqtt_core *mc = arg;
    struct pt_mqtt_conn *c = obj;

    (void)id;
    if (c->state == PT_MC_CLOSING)
        return;
    pt_mqtt_count(mc, PT_MQTT_C_SHUTDOWN_CLOSED, 1);
    pt_mqtt_conn_close(c, true);
}

void
pt_mqtt_admin_shutdown(struct pt_mqtt_core *mc, const struct pt_bus_desc *d)
{
    struct pt_bus_desc ack = { .type = PT_BUS_SHUTDOWN_ACK, .aux = d->aux };

    switch (d->aux) {
    case PT_SHUTDOWN_WILLS:
        mc->shutdown = PT_SHUTDOWN_WILLS;
        pt_actor_for_each(mc->actors, publish_will, mc);
        break;
    case PT_SHUTDOWN_CLOSE:
        if (!mc->shutdown_close) {
            /* from the ring: do it at the end of this poll, after the
             * other cores' rings (pt_mqtt_core_poll) */
            mc->shutdown = PT_SHUTDOWN_CLOSE;
            mc->shutdown_close = 1;
            return;
        }
        mc->shutdown_close = 0;
        pt_actor_for_each(mc->actors, close_conn, mc);
        pt_tcp_flush(mc->tcp);
        break;
    default:
        return;
    }
    /* the control plane counts the acks; if the ring is full it times
     * out and goes on */
    (void)pt_mqtt_bus_send(mc, mc->b->n, &ack);
}
