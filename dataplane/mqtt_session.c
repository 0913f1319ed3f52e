/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT sessions: subscriptions (in the core's trie, under the session's
 * id), QoS 1/2 deliveries in flight and queued, inbound QoS 2 ids, and
 * the moves of a session between cores.
 *
 * Outbound QoS 1/2 (MQTT 4.3.2, 4.3.3, method "store then deliver"):
 *
 *   deliver --(online, queue empty, window open)--> in flight: WAIT_ACK
 *   deliver --(otherwise)--> QUEUED --(pump: window opens)--> WAIT_ACK
 *   WAIT_ACK --PUBACK (QoS 1)--> done
 *   WAIT_ACK --PUBREC (QoS 2)--> WAIT_COMP (message dropped, PUBREL sent)
 *   WAIT_COMP --PUBCOMP--> done
 *   reconnect (clean session 0): every WAIT_ACK resent with DUP and its
 *   packet id, every WAIT_COMP's PUBREL resent (MQTT-4.4.0-1), then the
 *   queue drains.
 *
 * Bounds and drop policy: at most mqtt.max_inflight in flight; at most
 * mqtt.max_queued messages and mqtt.max_queued_bytes payload bytes
 * queued; a delivery beyond either is dropped for that session (the
 * newest is dropped, what is queued keeps its order) and counted in
 * mqtt_queue_dropped. QoS 0 messages are never queued: sent if the
 * session is connected and its TCP send queue has room, else dropped and
 * counted in mqtt_qos0_dropped.
 *
 * Moving: pt_mqtt_session_detach() takes the session off this core (its
 * subscriptions go into s->xfer, routes are withdrawn where it was the
 * core's last subscriber) and pt_mqtt_session_attach_moved() puts it on
 * another core; in between the pointer travels through the control plane
 * and nothing touches it.
 *
 * Threading: the owning core's lcore only.
 */
#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>

#include "mqtt_priv.h"

static uint32_t
max_inflight(const struct pt_mqtt_core *mc)
{
    return mc->b->cfg->mqtt_max_inflight;
}

int
pt_mqtt_route_send(struct pt_mqtt_core *mc, uint16_t type, const char *f,
                   uint16_t len)
{
    struct pt_bus_desc d = { .type = type };

    d.ptr = pt_mqtt_blob(mc->pool, f, len);
    if (d.ptr == NULL || pt_mqtt_bus_send(mc, mc->b->n, &d) != 0) {
        rte_pktmbuf_free(d.ptr);
        return -ENOBUFS;
    }
    return 0;
}

/* The core's last subscriber of f left: withdraw its route (a failure
 * leaves a stale route, which costs a wasted ring hop per message). */
static void
route_del(struct pt_mqtt_core *mc, const char *f, uint16_t len)
{
    if (pt_mqtt_trie_filter_subs(mc->trie, f, len) == 0)
        pt_mqtt_route_send(mc, PT_BUS_ROUTE_DEL, f, len);
}

int
pt_mqtt_session_unsubscribe(struct pt_mqtt_core *mc,
                            struct pt_mqtt_session *s, const char *f,
                            uint16_t len)
{
    int rc = pt_mqtt_trie_unsubscribe(mc->trie, f, len, s->id);

    if (rc == 0) {
        s->n_subs--;
        route_del(mc, f, len);
    }
    return rc;
}

/* ---- filters as records: uint8 qos, uint16 length (big endian), bytes */

static int
collect_one(void *arg, const char *f, size_t len, uint8_t qos)
{
    struct pt_mqtt_core *mc = ((void **)arg)[0];
    struct rte_mbuf **head = ((void **)arg)[1];
    struct rte_mbuf **tail = ((void **)arg)[2];
    uint8_t rec[3] = { qos, (uint8_t)(len >> 8), (uint8_t)len };

    if (pt_mqtt_blob_append(mc->pool, head, tail, rec, 3) != 0 ||
        pt_mqtt_blob_append(mc->pool, head, tail, f, (uint32_t)len) != 0)
        return -ENOBUFS;
    return 0;
}

/* Read record at *off of blob; f points into the blob or mc's scratch. */
static int
record_next(struct pt_mqtt_core *mc, const struct rte_mbuf *blob,
            uint32_t *off, const char **f, uint16_t *len, uint8_t *qos)
{
    uint8_t rb[3];
    const uint8_t *r;

    if (blob == NULL || *off + 3 > blob->pkt_len)
        return 0;
    r = rte_pktmbuf_read(blob, *off, 3, rb);
    *qos = r[0];
    *len = (uint16_t)(r[1] << 8 | r[2]);
    if (*off + 3 + *len > blob->pkt_len || *len > mc->pscratch_len)
        return 0;
    *f = rte_pktmbuf_read(blob, *off + 3, *len, mc->pscratch);
    *off += 3u + *len;
    return 1;
}

/* Remove every subscription of s; withdraw routes it was the last for.
 * @return its filters as records (NULL if none or no mbuf). */
static struct rte_mbuf *
drop_filters(struct pt_mqtt_core *mc, struct pt_mqtt_session *s)
{
    struct rte_mbuf *head = NULL, *tail = NULL;
    void *arg[3] = { mc, &head, &tail };
    const char *f;
    uint16_t len;
    uint8_t qos;
    uint32_t off = 0;

    if (s->n_subs == 0)
        return NULL;
    pt_mqtt_trie_for_each(mc->trie, s->id, collect_one, arg);
    pt_mqtt_trie_unsubscribe_all(mc->trie, s->id);
    s->n_subs = 0;
    while (record_next(mc, head, &off, &f, &len, &qos) == 1)
        route_del(mc, f, len);
    return head;
}

/* ---- queue entries ---- */

static void
qent_free(struct pt_broker *b, struct pt_mqtt_qent *q)
{
    if (q->msg != NULL)
        pt_msg_unref(q->msg);
    rte_mempool_put(b->qents, q);
}

static void
list_free(struct pt_broker *b, struct pt_mqtt_qent *q)
{
    while (q != NULL) {
        struct pt_mqtt_qent *next = q->next;

        qent_free(b, q);
        q = next;
    }
}

void
pt_mqtt_session_free(struct pt_broker *b, struct pt_mqtt_session *s)
{
    list_free(b, s->inflight);
    list_free(b, s->queue);
    list_free(b, s->rx_qos2);
    rte_pktmbuf_free(s->xfer);
    rte_mempool_put(b->sessions, s);
}

static void
append(struct pt_mqtt_qent **head, struct pt_mqtt_qent **tail,
       struct pt_mqtt_qent *q)
{
    q->next = NULL;
    if (*head == NULL)
        *head = q;
    else
        (*tail)->next = q;
    *tail = q;
}

static uint16_t
next_pid(struct pt_mqtt_session *s)
{
    for (;;) {
        struct pt_mqtt_qent *q;
        uint16_t pid = ++s->next_pid;

        if (pid == 0)
            pid = s->next_pid = 1;
        for (q = s->inflight; q != NULL && q->pid != pid; q = q->next)
            ;
        if (q == NULL)
            return pid;
    }
}

/* ---- life cycle ---- */

int
pt_mqtt_session_start(struct pt_mqtt_core *mc, struct pt_mqtt_session *s)
{
    s->id = pt_actor_alloc(mc->sids, s);
    if (s->id == PT_ACTOR_ID_NONE)
        return -ENOSPC;
    pt_mqtt_gauge(&mc->st.sessions, 1);
    pt_mqtt_gauge(&mc->st.queued, s->n_inflight + s->n_queued);
    return 0;
}

void
pt_mqtt_session_destroy(struct pt_mqtt_core *mc, struct pt_mqtt_session *s)
{
    rte_pktmbuf_free(drop_filters(mc, s));
    pt_mqtt_gauge(&mc->st.queued, -(int64_t)(s->n_inflight + s->n_queued));
    if (pt_actor_release(mc->sids, s->id) == 0)
        pt_mqtt_gauge(&mc->st.sessions, -1);
    pt_mqtt_session_free(mc->b, s);
}

void
pt_mqtt_session_detach(struct pt_mqtt_core *mc, struct pt_mqtt_session *s)
{
    s->xfer = drop_filters(mc, s);
    s->conn = NULL;
    pt_mqtt_gauge(&mc->st.queued, -(int64_t)(s->n_inflight + s->n_queued));
    pt_actor_release(mc->sids, s->id);
    pt_mqtt_gauge(&mc->st.sessions, -1);
    s->id = PT_ACTOR_ID_NONE;
}

int
pt_mqtt_session_attach_moved(struct pt_mqtt_core *mc,
                             struct pt_mqtt_session *s)
{
    struct rte_mbuf *blob = s->xfer;
    const char *f;
    uint16_t len;
    uint8_t qos;
    uint32_t off = 0;
    int routes = 0;

    s->xfer = NULL;
    if (pt_mqtt_session_start(mc, s) != 0) {
        rte_pktmbuf_free(blob);
        return -ENOSPC;
    }
    pt_mqtt_count(mc, PT_MQTT_C_MOVED_IN, 1);
    while (record_next(mc, blob, &off, &f, &len, &qos) == 1) {
        bool new_route = pt_mqtt_trie_filter_subs(mc->trie, f, len) == 0;

        if (pt_mqtt_trie_subscribe(mc->trie, f, len, s->id, qos) != 0)
            continue;   /* pool full here: the subscription is lost */
        s->n_subs++;
        if (new_route &&
            pt_mqtt_route_send(mc, PT_BUS_ROUTE_ADD, f, len) == 0)
            routes++;
    }
    rte_pktmbuf_free(blob);
    return routes;
}

/* ---- delivery ---- */

static int
send_publish(struct pt_mqtt_core *mc, struct pt_mqtt_conn *c,
             struct pt_mqtt_qent *q, bool dup)
{
    struct rte_mbuf *w;
    int rc;

    if (q->msg->nb_segs == 1 && q->msg->data_len <= PT_MSG_COPY_MAX) {
        /* small: its bytes with this delivery's header, copied (a packet
         * id and one more length byte at most beyond the message) */
        uint8_t b[PT_MSG_COPY_MAX + 8];
        size_t n = pt_msg_wire_copy(q->msg, q->qos, q->retain, dup, q->pid,
                                    b, sizeof(b));

        if (n > 0) {
            rc = pt_mqtt_conn_send_bytes(c, b, (uint32_t)n, true);
            if (rc == 0)
                pt_mqtt_count(mc, PT_MQTT_C_PUB_TX, 1);
            return rc;
        }
    }
    w = pt_msg_wire(mc->pool, q->msg, q->qos, q->retain, dup, q->pid);

    if (w == NULL) {
        pt_mqtt_count(mc, PT_MQTT_C_NO_MBUF, 1);
        return -ENOBUFS;
    }
    rc = pt_mqtt_conn_send(c, w, true);    /* refused: stays unsent */
    if (rc == 0)
        pt_mqtt_count(mc, PT_MQTT_C_PUB_TX, 1);
    return rc;
}

static struct pt_mqtt_conn *
online(const struct pt_mqtt_session *s)
{
    return s->conn != NULL && s->conn->state == PT_MC_CONNECTED ? s->conn
                                                                 : NULL;
}

/* Put q in flight with a fresh packet id and try to send it. */
static bool
launch(struct pt_mqtt_core *mc, struct pt_mqtt_session *s,
       struct pt_mqtt_conn *c, struct pt_mqtt_qent *q)
{
    q->pid = next_pid(s);
    q->state = PT_Q_WAIT_ACK;
    append(&s->inflight, &s->inflight_tail, q);
    s->n_inflight++;
    q->unsent = send_publish(mc, c, q, false) != 0;
    return !q->unsent;
}

void
pt_mqtt_session_deliver(struct pt_mqtt_core *mc, struct pt_mqtt_session *s,
                        struct rte_mbuf *msg, uint8_t qos, bool retain)
{
    struct pt_mqtt_conn *c = online(s);
    struct pt_mqtt_qent *q;
    uint32_t plen;

    if (qos == 0) {
        struct rte_mbuf *w;

        if (c == NULL) {
            pt_mqtt_count(mc, PT_MQTT_C_QOS0_DROP, 1);
            return;
        }
        if (!retain && msg->nb_segs == 1 && msg->data_len <= PT_MSG_COPY_MAX) {
            /* the message is the wire bytes: copy them into TCP's queue */
            if (pt_mqtt_conn_send_bytes(c, rte_pktmbuf_mtod(msg, void *),
                                        msg->data_len, true) != 0)
                pt_mqtt_count(mc, PT_MQTT_C_QOS0_DROP, 1);
            else
                pt_mqtt_count(mc, PT_MQTT_C_PUB_TX, 1);
            return;
        }
        w = pt_msg_wire(mc->pool, msg, 0, retain, false, 0);
        if (w == NULL) {
            pt_mqtt_count(mc, PT_MQTT_C_NO_MBUF, 1);
            return;
        }
        if (pt_mqtt_conn_send(c, w, true) != 0)
            pt_mqtt_count(mc, PT_MQTT_C_QOS0_DROP, 1);
        else
            pt_mqtt_count(mc, PT_MQTT_C_PUB_TX, 1);
        return;
    }
    plen = pt_msg_payload_len(msg);
    if (c == NULL || s->queue != NULL || s->n_inflight >= max_inflight(mc)) {
        const struct pt_config *cfg = mc->b->cfg;

        if (s->n_queued >= cfg->mqtt_max_queued ||
            (uint64_t)s->queued_bytes + plen > cfg->mqtt_max_queued_bytes) {
            pt_mqtt_count(mc, PT_MQTT_C_QUEUE_DROP, 1);
            return;
        }
    }
    if (rte_mempool_get(mc->b->qents, (void **)&q) != 0) {
        pt_mqtt_count(mc, PT_MQTT_C_QUEUE_DROP, 1);
        return;
    }
    memset(q, 0, sizeof(*q));
    pt_msg_ref(msg);
    q->msg = msg;
    q->qos = qos;
    q->retain = retain;
    pt_mqtt_gauge(&mc->st.queued, 1);
    if (c != NULL && s->queue == NULL && s->n_inflight < max_inflight(mc)) {
        launch(mc, s, c, q);
        return;
    }
    q->state = PT_Q_QUEUED;
    append(&s->queue, &s->queue_tail, q);
    s->n_queued++;
    s->queued_bytes += plen;
}

void
pt_mqtt_session_pump(struct pt_mqtt_core *mc, struct pt_mqtt_session *s)
{
    struct pt_mqtt_conn *c = online(s);

    if (c == NULL)
        return;
    for (struct pt_mqtt_qent *q = s->inflight; q != NULL; q = q->next) {
        if (q->unsent && q->state == PT_Q_WAIT_ACK) {
            if (send_publish(mc, c, q, false) != 0)
                return;
            q->unsent = 0;
        }
    }
    while (s->queue != NULL && s->n_inflight < max_inflight(mc)) {
        struct pt_mqtt_qent *q = s->queue;

        s->queue = q->next;
        s->n_queued--;
        s->queued_bytes -= pt_msg_payload_len(q->msg);
        if (!launch(mc, s, c, q))
            return;
    }
}

void
pt_mqtt_session_resend(struct pt_mqtt_core *mc, struct pt_mqtt_session *s)
{
    struct pt_mqtt_conn *c = online(s);

    if (c == NULL)
        return;
    for (struct pt_mqtt_qent *q = s->inflight; q != NULL; q = q->next) {
        if (q->state == PT_Q_WAIT_COMP) {
            q->unsent = 0;
            pt_mqtt_conn_ack(c, PT_MQTT_T_PUBREL, q->pid);
            continue;
        }
        /* MQTT-4.4.0-1: same packet id, DUP set if it went out before */
        if (send_publish(mc, c, q, !q->unsent) != 0) {
            q->unsent = 1;
            continue;
        }
        if (!q->unsent)
            pt_mqtt_count(mc, PT_MQTT_C_PUB_RESENT, 1);
        q->unsent = 0;
    }
    pt_mqtt_session_pump(mc, s);
}

int
pt_mqtt_session_ack(struct pt_mqtt_core *mc, struct pt_mqtt_session *s,
                    uint8_t type, uint16_t pid)
{
    struct pt_mqtt_qent **pp = &s->inflight, *prev = NULL, *q;

    for (; (q = *pp) != NULL; prev = q, pp = &q->next) {
        if (q->pid != pid)
            continue;
        if (type == PT_MQTT_T_PUBREC) {
            if (q->qos != 2)
                return -EPROTO;
            if (q->msg != NULL) {
                pt_msg_unref(q->msg);
                q->msg = NULL;
            }
            q->state = PT_Q_WAIT_COMP;
            q->unsent = 0;      /* nothing left to send but PUBREL */
            return 0;
        }
        if ((type == PT_MQTT_T_PUBACK &&
             (q->qos != 1 || q->state != PT_Q_WAIT_ACK)) ||
            (type == PT_MQTT_T_PUBCOMP && q->state != PT_Q_WAIT_COMP))
            return -EPROTO;
        *pp = q->next;
        if (s->inflight_tail == q)
            s->inflight_tail = prev;
        s->n_inflight--;
        pt_mqtt_gauge(&mc->st.queued, -1);
        qent_free(mc->b, q);
        return 0;
    }
    return -ENOENT;
}

void
pt_mqtt_session_lost(struct pt_mqtt_core *mc, struct pt_mqtt_session *s,
                     uint64_t conn_id)
{
    struct pt_bus_desc d = { .u64 = conn_id };

    d.ptr = pt_mqtt_blob(mc->pool, s->cid, s->cid_len);
    if (s->clean) {
        d.type = PT_BUS_END;
        pt_mqtt_session_destroy(mc, s);
    } else {
        d.type = PT_BUS_OFFLINE;
        d.id = s->id;
    }
    /* on failure (counted) the registry keeps naming a gone connection
     * until the client id connects again, which then finds nothing to
     * take over and starts afresh */
    if (d.ptr == NULL || pt_mqtt_bus_send(mc, mc->b->n, &d) != 0)
        rte_pktmbuf_free(d.ptr);
}
