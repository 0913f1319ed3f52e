/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One handler per client -> server packet type, as the connection actor
 * (mqtt_conn.c) parses them. A published message goes on to
 * mqtt_fanout.c.
 *
 * What is refused here (the codec refused the malformed): a first packet
 * other than CONNECT, a second CONNECT, client ids longer than the broker
 * keeps, more unreleased QoS 2 ids than the window allows. Each closes
 * that connection only and is counted.
 *
 * Threading: the core's lcore only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <petrel/log.h>
#include <petrel/rules.h>
#include <petrel/siphash.h>
#include <petrel/tcp.h>

#include "mqtt_priv.h"

/* ---- CONNECT ---- */

static struct rte_mbuf *
will_build(struct pt_mqtt_core *mc, const struct pt_mqtt_connect *cp)
{
    return pt_msg_build(mc->pool, cp->will_topic.p, cp->will_topic.len,
                        &cp->will_msg, NULL, 0, cp->will_qos,
                        cp->will_retain);
}

/* Append a span of the received chain (a password: at most 65535 bytes,
 * copied through the stack in pieces). */
static int
blob_append_span(struct rte_mempool *pool, struct rte_mbuf **head,
                 struct rte_mbuf **tail, const struct pt_mqtt_span *sp)
{
    struct rte_mbuf *seg = (struct rte_mbuf *)(uintptr_t)sp->seg;
    uint32_t off = sp->seg_off, left = sp->len;

    while (left > 0 && seg != NULL) {
        uint32_t n = RTE_MIN(left, (uint32_t)seg->data_len - off);

        if (pt_mqtt_blob_append(pool, head, tail,
                                rte_pktmbuf_mtod_offset(seg, char *, off),
                                n) != 0)
            return -ENOBUFS;
        left -= n;
        off = 0;
        seg = seg->next;
    }
    return left == 0 ? 0 : -EINVAL;
}

/*
 * MQTT-3.1.3-6: a client with an empty id (clean session, the codec saw to
 * that) gets one from the server: "auto-" and 128 bits in UUID form, as
 * Mosquitto does. They come from a keyed hash (a random key per core), so
 * nobody can guess another client's id to take its session over; with an
 * id like any other it is listed, shown and kicked like any other.
 */
static void
assign_client_id(struct pt_mqtt_core *mc, const struct pt_mqtt_conn *c,
                 struct pt_mqtt_session *s)
{
    uint64_t n = ++mc->auto_ids;
    uint64_t h = pt_siphash_2w(mc->id_key, c->id, n);
    uint64_t l = pt_siphash_2w(mc->id_key, ~c->id, n);
    int len = snprintf(s->cid, sizeof(s->cid),
                       "auto-%08x-%04x-%04x-%04x-%012llx",
                       (unsigned)(h >> 32), (unsigned)(h >> 16) & 0xffff,
                       (unsigned)h & 0xffff, (unsigned)(l >> 48),
                       (unsigned long long)(l & 0xffffffffffffull));

    s->cid_len = (uint8_t)len;
}

static void
handle_connect(struct pt_mqtt_conn *c, const struct pt_mqtt_connect *cp)
{
    struct pt_mqtt_core *mc = c->mc;
    struct pt_bus_login lg = {
        .user_len = cp->has_username ? cp->username.len : 0,
        .clean = cp->clean_session,
        .has_user = cp->has_username,
        .has_password = cp->has_password,
        .pass_len = cp->has_password ? (uint16_t)cp->password.len : 0,
    };
    struct pt_bus_desc d = { .type = PT_BUS_LOGIN, .id = c->id };
    struct rte_mbuf *head = NULL, *tail = NULL;
    struct pt_mqtt_session *s;

    pt_mqtt_count(mc, PT_MQTT_C_CONNECTS, 1);
    if (c->tcp != NULL)
        pt_tcp_conn_peer(c->tcp, &lg.src_ip, &lg.src_port, NULL);
    if (cp->client_id.len > PT_MQTT_CID_MAX) {
        pt_mqtt_conn_connack(c, false, PT_MQTT_CONNACK_IDENTIFIER);
        pt_mqtt_conn_violation(c, 0, PT_MQTT_V_CLIENT_ID_LONG);
        return;
    }
    if (rte_mempool_get(mc->b->sessions, (void **)&s) != 0) {
        pt_mqtt_count(mc, PT_MQTT_C_SESSION_FULL, 1);
        pt_mqtt_conn_connack(c, false, PT_MQTT_CONNACK_UNAVAILABLE);
        pt_mqtt_conn_close(c, false);
        return;
    }
    /* a provisional session holds the client id until the login answer */
    memset(s, 0, offsetof(struct pt_mqtt_session, cid));
    s->clean = cp->clean_session;
    if (cp->client_id.len == 0) {
        assign_client_id(mc, c, s);
    } else {
        s->cid_len = (uint8_t)cp->client_id.len;
        memcpy(s->cid, cp->client_id.p, cp->client_id.len);
    }
    lg.cid_len = s->cid_len;
    c->s = s;
    c->clean = cp->clean_session;
    c->keepalive = cp->keepalive;
    if (cp->will && cp->will_topic.len > PT_MSG_TOPIC_MAX) {
        pt_mqtt_conn_violation(c, 0, PT_MQTT_V_TOPIC_LONG);
        return;
    }
    if (cp->will) {
        c->will = will_build(mc, cp);
        if (c->will == NULL) {
            pt_mqtt_count(mc, PT_MQTT_C_NO_MBUF, 1);
            pt_mqtt_conn_close(c, false);
            return;
        }
    }
    if (pt_mqtt_blob_append(mc->pool, &head, &tail, &lg, sizeof(lg)) != 0 ||
        pt_mqtt_blob_append(mc->pool, &head, &tail, s->cid, s->cid_len) !=
            0 ||
        (cp->has_username &&
         pt_mqtt_blob_append(mc->pool, &head, &tail, cp->username.p,
                             cp->username.len) != 0) ||
        (cp->has_password &&
         blob_append_span(mc->pool, &head, &tail, &cp->password) != 0)) {
        pt_mqtt_count(mc, PT_MQTT_C_NO_MBUF, 1);
        rte_pktmbuf_free(head);
        pt_mqtt_conn_close(c, false);
        return;
    }
    d.ptr = head;
    if (pt_mqtt_bus_send(mc, mc->b->n, &d) != 0) {
        rte_pktmbuf_free(head);
        pt_mqtt_conn_connack(c, false, PT_MQTT_CONNACK_UNAVAILABLE);
        pt_mqtt_conn_close(c, false);
        return;
    }
    c->state = PT_MC_WAIT_LOGIN;
    c->paused = 1;
}

/* ---- PUBLISH and acknowledgements ---- */

static struct pt_mqtt_qent *
rx_qos2_find(struct pt_mqtt_session *s, uint16_t pid,
             struct pt_mqtt_qent ***prevp)
{
    struct pt_mqtt_qent **pp = &s->rx_qos2;

    for (; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->pid == pid) {
            if (prevp != NULL)
                *prevp = pp;
            return *pp;
        }
    }
    return NULL;
}

static void
handle_publish(struct pt_mqtt_conn *c, const struct pt_mqtt_publish *p)
{
    struct pt_mqtt_core *mc = c->mc;
    struct pt_mqtt_session *s = c->s;
    struct pt_mqtt_qent *q = NULL;
    struct rte_mbuf *msg;
    bool denied = false;

    pt_mqtt_count(mc, PT_MQTT_C_PUB_RX, 1);
    if (p->topic.len > PT_MSG_TOPIC_MAX) {
        pt_mqtt_conn_violation(c, 0, PT_MQTT_V_TOPIC_LONG);
        return;
    }
    if (unlikely(!pt_mqtt_may_publish(c, p->topic.p, p->topic.len))) {
        /* dropped, but acknowledged as usual (as Mosquitto does), so the
         * client does not send it again and again */
        pt_mqtt_count(mc, PT_MQTT_C_ACL_PUB_DENIED, 1);
        denied = true;
    }
    if (!denied &&
        unlikely(__atomic_load_n(&mc->b->rules, __ATOMIC_RELAXED) != NULL)) {
        int action = pt_mqtt_rules_check(c, p);

        if (action == PT_RULE_DISCONNECT) {
            pt_mqtt_count(mc, PT_MQTT_C_RULE_DISCONNECTED, 1);
            pt_mqtt_conn_close(c, true);
            return;
        }
        if (action == PT_RULE_DROP) {
            /* acknowledged all the same, as a denied PUBLISH is */
            pt_mqtt_count(mc, PT_MQTT_C_RULE_DROPPED, 1);
            denied = true;
        }
    }
    if (p->qos == 2) {
        if (rx_qos2_find(s, p->packet_id, NULL) != NULL) {
            /* MQTT-4.3.3-2: already routed; acknowledge again only */
            pt_mqtt_count(mc, PT_MQTT_C_QOS2_DUP, 1);
            pt_mqtt_conn_ack(c, PT_MQTT_T_PUBREC, p->packet_id);
            return;
        }
        if (s->n_rx_qos2 >= mc->b->cfg->mqtt_max_inflight * 4u) {
            pt_mqtt_conn_violation(c, 0, PT_MQTT_V_QOS2_WINDOW);
            return;
        }
        if (rte_mempool_get(mc->b->qents, (void **)&q) != 0) {
            pt_mqtt_count(mc, PT_MQTT_C_QUEUE_DROP, 1);
            return;     /* not acknowledged: the client sends it again */
        }
    }
    if (!denied) {
        msg = pt_msg_build(mc->pool, p->topic.p, p->topic.len, &p->payload,
                           NULL, 0, p->qos, p->retain);
        if (msg == NULL) {
            pt_mqtt_count(mc, PT_MQTT_C_NO_MBUF, 1);
            if (q != NULL)
                rte_mempool_put(mc->b->qents, q);
            return;         /* not acknowledged (QoS > 0) */
        }
        if (p->retain) {
            struct pt_bus_desc d = { .type = PT_BUS_RETAIN, .ptr = msg };

            pt_msg_ref(msg);
            if (pt_mqtt_bus_send(mc, mc->b->n, &d) != 0)
                pt_msg_unref(msg);
        }
        pt_mqtt_publish_route(mc, msg);
    }
    if (p->qos == 1) {
        pt_mqtt_conn_ack(c, PT_MQTT_T_PUBACK, p->packet_id);
    } else if (p->qos == 2) {
        memset(q, 0, sizeof(*q));
        q->pid = p->packet_id;
        q->state = PT_Q_RX_QOS2;
        q->next = s->rx_qos2;
        s->rx_qos2 = q;
        s->n_rx_qos2++;
        pt_mqtt_conn_ack(c, PT_MQTT_T_PUBREC, p->packet_id);
    }
}

static void
handle_pubrel(struct pt_mqtt_conn *c, uint16_t pid)
{
    struct pt_mqtt_session *s = c->s;
    struct pt_mqtt_qent **pp, *q = rx_qos2_find(s, pid, &pp);

    if (q != NULL) {
        *pp = q->next;
        s->n_rx_qos2--;
        rte_mempool_put(c->mc->b->qents, q);
    }
    /* MQTT-4.3.3-2: PUBCOMP even for an id we no longer hold */
    pt_mqtt_conn_ack(c, PT_MQTT_T_PUBCOMP, pid);
}

/* ---- SUBSCRIBE / UNSUBSCRIBE ---- */

static void
handle_subscribe(struct pt_mqtt_conn *c, struct pt_mqtt_subscribe *sp)
{
    struct pt_mqtt_core *mc = c->mc;
    struct pt_mqtt_session *s = c->s;
    struct pt_bus_sync hdr = { 0 };
    struct rte_mbuf *head = NULL, *tail = NULL, *recs = NULL, *rtail = NULL;
    uint8_t codes[256], *codebuf = codes;
    uint8_t suback[5 + 256];   /* type, 2 length bytes, id, 256 codes */
    struct pt_mqtt_str f;
    uint8_t qos;
    uint32_t n = 0;
    int more;
    bool fail = false;
    struct pt_bus_desc d = { .type = PT_BUS_SYNC, .id = c->id };

    while ((more = pt_mqtt_iter_next(&sp->it, &f, &qos)) == 1) {
        bool allowed = pt_mqtt_may_subscribe(c, f.p, f.len);
        bool new_route = false;
        int rc = -EACCES;
        uint8_t code = qos;

        if (allowed) {
            new_route = pt_mqtt_trie_filter_subs(mc->trie, f.p, f.len) == 0;
            rc = pt_mqtt_trie_subscribe(mc->trie, f.p, f.len, s->id, qos);
        }
        if (!allowed) {
            pt_mqtt_count(mc, PT_MQTT_C_ACL_SUB_DENIED, 1);
            code = 0x80;
        } else if (rc < 0) {
            code = 0x80;
        } else if (new_route && pt_mqtt_route_send(mc, PT_BUS_ROUTE_ADD, f.p,
                                                   f.len) != 0) {
            /* no route, no subscription (a new one is the only kind that
             * can need a new route) */
            pt_mqtt_trie_unsubscribe(mc->trie, f.p, f.len, s->id);
            code = 0x80;
        } else if (rc == 0) {
            s->n_subs++;
        }
        if (code == 0x80) {
            pt_mqtt_count(mc, PT_MQTT_C_SUB_REFUSED, 1);
        } else {
            uint8_t rec[PT_SYNC_REC_HDR] = { code, (uint8_t)n,
                                             (uint8_t)(f.len >> 8),
                                             (uint8_t)f.len };

            pt_mqtt_count(mc, PT_MQTT_C_SUBSCRIBES, 1);
            hdr.n_filters++;
            if (pt_mqtt_blob_append(mc->pool, &recs, &rtail, rec,
                                    sizeof(rec)) ||
                pt_mqtt_blob_append(mc->pool, &recs, &rtail, f.p, f.len))
                fail = true;
        }
        if (n < sizeof(codes))
            codebuf[n] = code;
        n++;
    }
    if (more < 0 || n > sizeof(codes)) {
        /* more than 256 filters in one SUBSCRIBE, or scratch: refuse */
        rte_pktmbuf_free(recs);
        pt_mqtt_conn_violation(c, PT_MQTT_E_SCRATCH, -1);
        return;
    }
    hdr.reply_len = (uint16_t)pt_mqtt_encode_suback(suback, sizeof(suback),
                                                    sp->packet_id, codes, n);
    if (fail ||
        pt_mqtt_blob_append(mc->pool, &head, &tail, &hdr, sizeof(hdr)) ||
        pt_mqtt_blob_append(mc->pool, &head, &tail, suback, hdr.reply_len)) {
        pt_mqtt_count(mc, PT_MQTT_C_NO_MBUF, 1);
        rte_pktmbuf_free(head);
        rte_pktmbuf_free(recs);
        pt_mqtt_conn_close(c, true);
        return;
    }
    if (recs != NULL && rte_pktmbuf_chain(head, recs) != 0) {
        rte_pktmbuf_free(head);
        rte_pktmbuf_free(recs);
        pt_mqtt_conn_close(c, true);
        return;
    }
    /* SUBACK once every core sees the routes (and after it the retained
     * messages): the control plane sends the reply back */
    d.u64 = s->id;
    d.ptr = head;
    if (pt_mqtt_bus_send(mc, mc->b->n, &d) != 0) {
        rte_pktmbuf_free(head);
        pt_mqtt_conn_close(c, true);
        return;
    }
    mc->syncs_pending++;
    c->paused = 1;
}

static void
handle_unsubscribe(struct pt_mqtt_conn *c, struct pt_mqtt_subscribe *sp)
{
    struct pt_mqtt_str f;

    while (pt_mqtt_iter_next(&sp->it, &f, NULL) == 1) {
        if (pt_mqtt_session_unsubscribe(c->mc, c->s, f.p, f.len) == 0)
            pt_mqtt_count(c->mc, PT_MQTT_C_UNSUBSCRIBES, 1);
    }
    /* MQTT-3.10.4-5: UNSUBACK even when nothing matched */
    pt_mqtt_conn_ack(c, PT_MQTT_T_UNSUBACK, sp->packet_id);
}

/* ---- dispatch ---- */

void
pt_mqtt_handle(struct pt_mqtt_conn *c, struct pt_mqtt_packet *p)
{
    struct pt_mqtt_core *mc = c->mc;

    if (c->state == PT_MC_WAIT_CONNECT) {
        if (p->type != PT_MQTT_T_CONNECT) {
            pt_mqtt_conn_violation(c, 0, PT_MQTT_V_FIRST_NOT_CONNECT);
            return;
        }
        handle_connect(c, &p->u.connect);
        return;
    }
    switch (p->type) {
    case PT_MQTT_T_CONNECT:
        pt_mqtt_conn_violation(c, 0, PT_MQTT_V_SECOND_CONNECT);
        break;
    case PT_MQTT_T_PUBLISH:
        handle_publish(c, &p->u.publish);
        break;
    case PT_MQTT_T_PUBACK:
    case PT_MQTT_T_PUBREC:
    case PT_MQTT_T_PUBCOMP:
        pt_mqtt_session_ack(mc, c->s, p->type, p->u.packet_id);
        /* MQTT-4.3.3: PUBREL answers every PUBREC, known id or not */
        if (p->type == PT_MQTT_T_PUBREC)
            pt_mqtt_conn_ack(c, PT_MQTT_T_PUBREL, p->u.packet_id);
        pt_mqtt_session_pump(mc, c->s);
        break;
    case PT_MQTT_T_PUBREL:
        handle_pubrel(c, p->u.packet_id);
        break;
    case PT_MQTT_T_SUBSCRIBE:
        handle_subscribe(c, &p->u.sub);
        break;
    case PT_MQTT_T_UNSUBSCRIBE:
        handle_unsubscribe(c, &p->u.sub);
        break;
    case PT_MQTT_T_PINGREQ: {
        uint8_t b[2];

        pt_mqtt_count(mc, PT_MQTT_C_PINGS, 1);
        pt_mqtt_encode_pingresp(b);
        pt_mqtt_conn_send_bytes(c, b, sizeof(b), false);
        break;
    }
    case PT_MQTT_T_DISCONNECT:
        /* MQTT-3.14.4-3: the will is discarded */
        pt_mqtt_count(mc, PT_MQTT_C_DISCONNECTS, 1);
        pt_mqtt_conn_close(c, false);
        break;
    default:
        break;      /* the codec refuses every other type */
    }
}
