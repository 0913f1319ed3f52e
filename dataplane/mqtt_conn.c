/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT connection actor: TCP-lite's application on mqtt.port. It
 * turns a connection's byte stream into packets (mqtt_handle.c acts on
 * them), sends what the session gives it, watches the keep-alive and ends
 * the connection on a violation, a timeout, a takeover or the peer's
 * close. It holds no buffer of its own: received bytes stay in the mbufs
 * TCP delivered until a packet is complete and handled.
 *
 * State machine of one actor:
 *
 *   accept
 *     |
 *     v        CONNECT ok (LOGIN to the control plane, parsing paused)
 *  WAIT_CONNECT ------------------------------------------> WAIT_LOGIN
 *     |  refused CONNECT (CONNACK 1/2), other packet,          |
 *     |  violation, 10 s without CONNECT                        |
 *     v                                                         |
 *  CLOSING <--- LOGIN_FAIL (CONNACK 4/5, or silent) -----------+
 *     ^                                                         | LOGIN_OK
 *     |                                                         v
 *     |        moved session re-subscribed: SYNC       +-- (routes needed?)
 *     |        sent, CONNACK on its ack                 |        | no
 *     |                        WAIT_SYNC <--------------+ yes    | CONNACK
 *     |                            | SYNC_ACK: CONNACK           v
 *     |                            +-----------------------> CONNECTED
 *     |  DISCONNECT (will dropped); violation, keep-alive          |
 *     +--expiry, takeover, TCP closed (will published) ------------+
 *
 *   CLOSING --TCP `closed`--> freed (the struct goes back to its pool)
 *
 * Invariants:
 *   - s != NULL in WAIT_LOGIN (a provisional session holding the client
 *     id, also set while the CONNECT is handled), WAIT_SYNC and
 *     CONNECTED; s->conn == this actor only in WAIT_SYNC and CONNECTED.
 *   - output leaves in the order it was sent: what TCP's send queue cannot
 *     take yet waits in txq (bounded; see pt_mqtt_conn_send).
 *   - paused: no packet is parsed (bytes wait in rx, the TCP window is not
 *     reopened for them) while a login or a SYNC (SUBSCRIBE, resumed
 *     session) is outstanding, so packets are acted on, and answered, in
 *     the order they came.
 *   - the actor id resolves from accept until CLOSING; answers from the
 *     control plane to a released id find nothing and are undone by their
 *     handler (mqtt_core.c).
 *   - the struct lives until TCP says `closed`, so callers may close from
 *     inside any handler.
 *
 * Transitions [function]:
 *   WAIT_CONNECT -> WAIT_LOGIN   [handle_connect, mqtt_handle.c]
 *   WAIT_LOGIN -> CONNECTED      [login_ok, mqtt_core.c]
 *   WAIT_LOGIN -> WAIT_SYNC      [login_ok]
 *   WAIT_SYNC -> CONNECTED       [sync_ack, mqtt_core.c]
 *   any -> CLOSING               [pt_mqtt_conn_close]
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>

#include <petrel/log.h>
#include <petrel/rules.h>
#include <petrel/tcp.h>

#include "mbuf_chain.h"
#include "mqtt_priv.h"

PT_LOG_REGISTER(mqtt_conn, pt.dp.mqtt, INFO);

static struct pt_mqtt_conn *
conn_of_timer(struct pt_timer *t)
{
    return (struct pt_mqtt_conn *)((char *)t -
                                   offsetof(struct pt_mqtt_conn, timer));
}

void
pt_mqtt_conn_arm(struct pt_mqtt_conn *c)
{
    struct pt_mqtt_core *mc = c->mc;
    uint64_t due;

    if (c->state == PT_MC_CONNECTED) {
        if (c->keepalive == 0) {
            pt_timer_cancel(mc->wheel, &c->timer);
            return;
        }
        /* MQTT-3.1.2-24: one and a half keep-alive periods */
        due = c->last_rx_ms + (uint64_t)c->keepalive * 1500u;
    } else {
        due = c->last_rx_ms + PT_MQTT_CONNECT_TIMEOUT_MS;
    }
    pt_timer_arm(mc->wheel, &c->timer, due);
}

void
pt_mqtt_timer_fired(struct pt_timer *t, void *arg)
{
    struct pt_mqtt_conn *c = conn_of_timer(t);
    struct pt_mqtt_core *mc = arg;

    if (c->state == PT_MC_CLOSING)
        return;
    if (c->state == PT_MC_CONNECTED) {
        uint64_t due = c->last_rx_ms + (uint64_t)c->keepalive * 1500u;

        if (c->keepalive == 0)
            return;
        if (due > mc->now_ms) {     /* traffic since: check again then */
            pt_timer_arm(mc->wheel, &c->timer, due);
            return;
        }
        pt_mqtt_count(mc, PT_MQTT_C_KEEPALIVE, 1);
        pt_mqtt_conn_close(c, true);
        return;
    }
    if (c->state == PT_MC_WAIT_CONNECT) {
        pt_mqtt_conn_violation(c, 0, PT_MQTT_V_CONNECT_TIMEOUT);
        return;
    }
    /* waiting on the control plane: keep waiting (it always answers) */
    pt_timer_arm(mc->wheel, &c->timer,
                 mc->now_ms + PT_MQTT_CONNECT_TIMEOUT_MS);
}

/*
 * Output order: everything for a connection goes out in the order it was
 * sent. What TCP cannot take yet (its send queue holds tcp.snd_buf bytes)
 * waits in c->txq, and `sent` pushes it on. txq is bounded by
 * mqtt.max_packet + tcp.snd_buf, so one packet of any allowed size always
 * fits behind a full window.
 */

/* Hand TCP as much of txq as its send queue takes, whole segments first;
 * a segment larger than the space left goes in part, copied (only when
 * that space is worth a segment). */
static void
tx_push(struct pt_mqtt_conn *c)
{
    while (c->txq != NULL) {
        struct rte_mbuf *h = c->txq, *rest;
        uint32_t space = pt_tcp_send_space(c->tcp), take;

        rest = pt_mbuf_split(h, space, &take);
        if (take == 0) {
            uint32_t n = RTE_MIN(space, (uint32_t)h->data_len);

            if ((space < 536 && space < h->pkt_len) ||
                pt_tcp_write(c->tcp, rte_pktmbuf_mtod(h, void *), n) < 0)
                return;         /* `sent` comes again */
            rte_pktmbuf_adj(h, (uint16_t)n);
            continue;
        }
        if (pt_tcp_send(c->tcp, h) < 0) {
            /* closing under us: drop what waits */
            rte_pktmbuf_free(rest);
            rte_pktmbuf_free(h);
            c->txq = NULL;
            return;
        }
        c->txq = rest;
    }
}

/* Copy a one-segment m into the room at the end of q when q's last
 * buffer is our own, so a slow reader's backlog of small packets holds
 * full buffers, not one mbuf each. @return whether m was taken (freed). */
static bool
tx_coalesce(struct rte_mbuf *q, struct rte_mbuf *m)
{
    struct rte_mbuf *last = rte_pktmbuf_lastseg(q);

    if (m->nb_segs != 1 || !RTE_MBUF_DIRECT(last) ||
        rte_mbuf_refcnt_read(last) != 1 ||
        rte_pktmbuf_tailroom(last) < m->data_len)
        return false;
    memcpy(rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len),
           rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
    last->data_len = (uint16_t)(last->data_len + m->data_len);
    q->pkt_len += m->data_len;
    rte_pktmbuf_free(m);
    return true;
}

/* The soft bound of txq: one packet of any allowed size fits behind a
 * full TCP queue. Past it QoS 0 deliveries are refused (dropped), QoS 1/2
 * wait in the session, and the connection stops reading. */
static inline bool
txq_over(const struct pt_mqtt_conn *c)
{
    return c->txq != NULL && c->txq->pkt_len > c->mc->txq_limit;
}

int
pt_mqtt_conn_send(struct pt_mqtt_conn *c, struct rte_mbuf *m, bool may_refuse)
{
    uint32_t len = m->pkt_len;

    if (c->tcp == NULL || c->state == PT_MC_CLOSING) {
        rte_pktmbuf_free(m);
        return -EPIPE;
    }
    if (c->txq == NULL && len <= pt_tcp_send_space(c->tcp)) {
        int rc = pt_tcp_send(c->tcp, m);

        if (rc < 0) {
            rte_pktmbuf_free(m);
            return rc;
        }
    } else {
        if (may_refuse && txq_over(c)) {
            rte_pktmbuf_free(m);
            return -EAGAIN;     /* a consumer this slow loses QoS 0 */
        }
        if (c->txq == NULL) {
            c->txq = m;
        } else if (!tx_coalesce(c->txq, m) &&
                   rte_pktmbuf_chain(c->txq, m) != 0) {
            /* 65535 segments behind: only a reader that stopped long ago */
            rte_pktmbuf_free(m);
            pt_mqtt_count(c->mc, PT_MQTT_C_SLOW_CLOSED, 1);
            pt_mqtt_conn_close(c, true);
            return -ENOBUFS;
        }
        tx_push(c);
    }
    pt_mqtt_count(c->mc, PT_MQTT_C_TX_BYTES, len);
    return 0;
}

int
pt_mqtt_conn_send_bytes(struct pt_mqtt_conn *c, const void *p, uint32_t len,
                        bool may_refuse)
{
    struct rte_mbuf *m;

    if (c->tcp == NULL || c->state == PT_MC_CLOSING)
        return -EPIPE;
    if (c->txq == NULL) {
        /* straight into TCP's queue, mostly into room it already has */
        int rc = pt_tcp_write(c->tcp, p, len);

        if (rc >= 0) {
            pt_mqtt_count(c->mc, PT_MQTT_C_TX_BYTES, len);
            return 0;
        }
        if (rc == -EPIPE)
            return rc;
    }
    if (may_refuse && txq_over(c))
        return -EAGAIN;
    m = pt_mqtt_blob(c->mc->pool, p, len);
    if (m == NULL) {
        pt_mqtt_count(c->mc, PT_MQTT_C_NO_MBUF, 1);
        return -ENOBUFS;
    }
    return pt_mqtt_conn_send(c, m, may_refuse);
}

void
pt_mqtt_conn_connack(struct pt_mqtt_conn *c, bool present, uint8_t rc)
{
    uint8_t ack[4];

    pt_mqtt_encode_connack(ack, present, rc);
    pt_mqtt_conn_send_bytes(c, ack, sizeof(ack), false);
    pt_mqtt_count(c->mc, rc == PT_MQTT_CONNACK_ACCEPTED
                             ? PT_MQTT_C_CONNACK_OK
                             : PT_MQTT_C_CONNACK_REFUSED, 1);
}

void
pt_mqtt_conn_ack(struct pt_mqtt_conn *c, uint8_t type, uint16_t pid)
{
    uint8_t b[4];

    pt_mqtt_encode_ack(b, type, pid);
    pt_mqtt_conn_send_bytes(c, b, sizeof(b), false);
}

/* Drop the bytes before rx_off. */
static void
rx_trim(struct pt_mqtt_conn *c)
{
    c->rx = pt_mbuf_trim_front(c->rx, c->rx_off);
    c->rx_off = 0;
}

/* Parse and handle every complete packet, unless paused. */
static void
rx_process(struct pt_mqtt_conn *c)
{
    struct pt_mqtt_core *mc = c->mc;
    uint32_t max = mc->b->cfg->mqtt_max_packet;

    /* a client that does not read its answers stops being read: the
     * answers to what it sent wait in txq, its window closes */
    while (c->rx != NULL && !c->paused && !txq_over(c) &&
           c->state != PT_MC_CLOSING) {
        struct pt_mqtt_frame f;
        struct pt_mqtt_packet pkt;
        enum pt_mqtt_err e;
        int n = pt_mqtt_frame(c->rx, c->rx_off, c->rx->pkt_len - c->rx_off,
                              max, &f);

        if (n < 0) {
            pt_mqtt_conn_violation(c, -n, -1);
            return;
        }
        if (n == 0)
            break;
        e = pt_mqtt_parse(c->rx, &f, mc->pscratch, mc->pscratch_len, &pkt);
        if (e != PT_MQTT_OK) {
            if (e == PT_MQTT_E_PROTO_LEVEL || e == PT_MQTT_E_CLIENT_ID_EMPTY) {
                if (c->state == PT_MC_WAIT_CONNECT)
                    pt_mqtt_conn_connack(c, false,
                                         (uint8_t)pt_mqtt_connack_code(e));
            }
            pt_mqtt_conn_violation(c, e, -1);
            return;
        }
        c->rx_off += (uint32_t)n;
        c->last_rx_ms = mc->now_ms;
        pt_mqtt_handle(c, &pkt);
    }
    if (c->state != PT_MC_CLOSING)
        rx_trim(c);
}

/* Tell TCP the bytes we hold are taken (reopens the window), except while
 * paused: then the window closes on the client until we go on. */
static void
rx_credit(struct pt_mqtt_conn *c)
{
    if (c->paused || txq_over(c) || c->tcp == NULL || c->rx_uncredited == 0)
        return;
    pt_tcp_recved(c->tcp, c->rx_uncredited);
    c->rx_uncredited = 0;
}

void
pt_mqtt_conn_resume(struct pt_mqtt_conn *c)
{
    c->paused = 0;
    rx_process(c);
    rx_credit(c);
}

void
pt_mqtt_conn_violation(struct pt_mqtt_conn *c, int codec_err, int violation)
{
    struct pt_mqtt_core *mc = c->mc;

    if (codec_err > 0 && codec_err < PT_MQTT_E_MAX)
        pt_mqtt_gauge(&mc->st.errors[codec_err], 1);
    if (violation >= 0 && violation < PT_MQTT_V_MAX)
        pt_mqtt_gauge(&mc->st.violations[violation], 1);
    PT_LOG(DEBUG, mqtt_conn, "core %u: closing a connection: %s",
           mc->core, codec_err > 0 ? pt_mqtt_err_name(codec_err)
                                   : pt_mqtt_violation_name(violation));
    pt_mqtt_conn_close(c, true);
}

void
pt_mqtt_conn_will(struct pt_mqtt_conn *c)
{
    struct pt_mqtt_core *mc = c->mc;
    struct rte_mbuf *w = c->will;

    if (w == NULL)
        return;
    c->will = NULL;
    if (!pt_mqtt_may_publish(c, pt_msg_topic(w), pt_msg_meta(w)->topic_len)) {
        pt_mqtt_count(mc, PT_MQTT_C_ACL_WILL_DENIED, 1);
        pt_msg_unref(w);
        return;
    }
    if (unlikely(__atomic_load_n(&mc->b->rules, __ATOMIC_RELAXED) != NULL) &&
        pt_mqtt_rules_check_msg(mc, w) >= PT_RULE_DROP) {
        /* drop or disconnect: the will goes nowhere (its connection is
         * closing anyway) */
        pt_mqtt_count(mc, PT_MQTT_C_RULE_DROPPED, 1);
        pt_msg_unref(w);
        return;
    }
    pt_mqtt_count(mc, PT_MQTT_C_WILLS, 1);
    if (pt_msg_meta(w)->retain) {
        struct pt_bus_desc d = { .type = PT_BUS_RETAIN, .ptr = w };

        pt_msg_ref(w);
        if (pt_mqtt_bus_send(mc, mc->b->n, &d) != 0)
            pt_msg_unref(w);
    }
    pt_mqtt_publish_route(mc, w);
}

void
pt_mqtt_conn_close(struct pt_mqtt_conn *c, bool send_will)
{
    struct pt_mqtt_core *mc = c->mc;
    struct pt_mqtt_session *s = c->s;
    uint8_t prev = c->state;

    if (prev == PT_MC_CLOSING)
        return;
    c->state = PT_MC_CLOSING;
    pt_timer_cancel(mc->wheel, &c->timer);
    if (prev == PT_MC_CONNECTED)
        pt_mqtt_gauge(&mc->st.connected, -1);
    if (c->will != NULL) {
        if (send_will && (prev == PT_MC_CONNECTED ||
                          prev == PT_MC_WAIT_SYNC))
            pt_mqtt_conn_will(c);
        else
            pt_msg_unref(c->will);
        c->will = NULL;
    }
    c->s = NULL;
    if (s != NULL) {
        if (prev == PT_MC_WAIT_LOGIN) {
            /* provisional: the login answer will find the id released;
             * END tells the registry this connection is gone (it comes
             * after the LOGIN on the same ring) */
            struct pt_bus_desc d = { .type = PT_BUS_END, .u64 = c->id };

            d.ptr = pt_mqtt_blob(mc->pool, s->cid, s->cid_len);
            if (d.ptr == NULL || pt_mqtt_bus_send(mc, mc->b->n, &d) != 0)
                rte_pktmbuf_free(d.ptr);
            rte_mempool_put(mc->b->sessions, s);
        } else if (prev == PT_MC_WAIT_CONNECT) {
            /* provisional, and no LOGIN went out (it failed) */
            rte_mempool_put(mc->b->sessions, s);
        } else {
            s->conn = NULL;
            pt_mqtt_session_lost(mc, s, c->id);
        }
    }
    rte_pktmbuf_free(c->rx);
    c->rx = NULL;
    rte_pktmbuf_free(c->txq);
    c->txq = NULL;
    pt_actor_release(mc->actors, c->id);
    if (c->tcp != NULL)
        pt_tcp_close(c->tcp);
}

static int
conn_accept(void *arg, struct pt_tcp_conn *tc, void **user)
{
    struct pt_mqtt_core *mc = arg;
    struct pt_mqtt_conn *c;

    if (unlikely(mc->shutdown != 0)) {
        pt_mqtt_count(mc, PT_MQTT_C_SHUTDOWN_REFUSED, 1);
        return -ESHUTDOWN;
    }
    if (rte_mempool_get(mc->conns, (void **)&c) != 0)
        return -ENOMEM;
    memset(c, 0, sizeof(*c));
    c->since_ms = mc->now_ms;
    c->id = pt_actor_alloc(mc->actors, c);
    if (c->id == PT_ACTOR_ID_NONE) {
        rte_mempool_put(mc->conns, c);
        return -ENOMEM;
    }
    c->tcp = tc;
    c->mc = mc;
    c->state = PT_MC_WAIT_CONNECT;
    c->last_rx_ms = mc->now_ms;
    pt_mqtt_conn_arm(c);
    pt_mqtt_gauge(&mc->st.connections, 1);
    *user = c;
    return 0;
}

static void
conn_data(void *user, struct pt_tcp_conn *tc, struct rte_mbuf *m)
{
    struct pt_mqtt_conn *c = user;

    pt_mqtt_count(c->mc, PT_MQTT_C_RX_BYTES, m->pkt_len);
    if (c->state == PT_MC_CLOSING) {
        pt_tcp_recved(tc, m->pkt_len);
        rte_pktmbuf_free(m);
        return;
    }
    c->rx_uncredited += m->pkt_len;
    if (c->rx == NULL) {
        c->rx = m;
    } else if (rte_pktmbuf_chain(c->rx, m) != 0) {
        /* 65535 segments held: only a client sending a huge packet in
         * tiny segments gets here */
        rte_pktmbuf_free(m);
        pt_mqtt_conn_violation(c, PT_MQTT_E_TOO_LARGE, -1);
        return;
    }
    rx_process(c);
    rx_credit(c);
}

static void
conn_eof(void *user, struct pt_tcp_conn *tc)
{
    struct pt_mqtt_conn *c = user;

    (void)tc;
    /* the client half-closed without DISCONNECT: abnormal end */
    pt_mqtt_conn_close(c, true);
}

static void
conn_sent(void *user, struct pt_tcp_conn *tc, uint32_t bytes)
{
    struct pt_mqtt_conn *c = user;

    (void)tc;
    (void)bytes;
    if (c->txq != NULL && c->state != PT_MC_CLOSING) {
        tx_push(c);
        if (!txq_over(c) && (c->rx != NULL || c->rx_uncredited > 0)) {
            rx_process(c);      /* it stopped reading for us: go on */
            rx_credit(c);
        }
    }
    if (c->state == PT_MC_CONNECTED && c->s != NULL)
        pt_mqtt_session_pump(c->mc, c->s);
}

static void
conn_closed(void *user, struct pt_tcp_conn *tc, int reason)
{
    struct pt_mqtt_conn *c = user;
    struct pt_mqtt_core *mc = c->mc;

    (void)tc;
    (void)reason;
    c->tcp = NULL;
    pt_mqtt_conn_close(c, true);
    pt_mqtt_gauge(&mc->st.connections, -1);
    rte_mempool_put(mc->conns, c);
}

const struct pt_tcp_ops pt_mqtt_tcp_ops = {
    .accept = conn_accept,
    .data = conn_data,
    .eof = conn_eof,
    .sent = conn_sent,
    .closed = conn_closed,
};
