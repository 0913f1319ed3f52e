/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One MQTT 3.1.1 client on TCP-lite: the state machine of bench.h, the
 * packets a load generator sends (CONNECT, SUBSCRIBE, PUBLISH, the QoS 1/2
 * acknowledgements, DISCONNECT) and the reader of what the broker sends.
 *
 * Received bytes stay in their mbufs (cl->rx) until a whole packet is
 * there; a packet is read with rte_pktmbuf_read() (a copy only when it
 * spans segments) and its bytes trimmed off the chain. Only the first
 * PB_PAYLOAD_MIN bytes of a delivered payload are looked at.
 *
 * Runs on the client's core only (TCP callbacks and the core loop).
 */
#include <errno.h>
#include <string.h>

#include <petrel/clock.h>
#include <petrel/mqtt.h>
#include <petrel/mqtt_wire.h>

#include "bench.h"
#include "mbuf_chain.h"

#define MEASURED_BIT 0x80000000u

static inline int
phase(const struct pb_core *core)
{
    return __atomic_load_n(&core->run->phase, __ATOMIC_RELAXED);
}

/* "<prefix><n>" into buf; returns the length. */
static size_t
name_of(char *buf, const char *prefix, uint32_t n)
{
    char digits[10];
    size_t len = strlen(prefix), k = 0;

    memcpy(buf, prefix, len);
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    while (k > 0)
        buf[len++] = digits[--k];
    return len;
}

static size_t
put_str(uint8_t *p, const char *s, size_t len)
{
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, s, len);
    return 2 + len;
}

/* Write a whole packet; a refusal ends the session (it cannot be resent
 * in order later). */
static int
write_pkt(struct pb_core *core, struct pb_client *cl, const void *p,
          size_t len)
{
    int rc = pt_tcp_write(cl->conn, p, (uint32_t)len);

    if (rc < 0) {
        pb_count(core, PB_C_WRITE_FULL, 1);
        return rc;
    }
    return 0;
}

/* End the session now (RST); on_closed() accounts for it by state, why
 * (PB_C_MAX: nothing more) says what went wrong. */
static void
fail(struct pb_core *core, struct pb_client *cl, enum pb_counter why)
{
    if (why != PB_C_MAX)
        pb_count(core, why, 1);
    cl->dead = 1;
    if (cl->conn != NULL)
        pt_tcp_abort(cl->conn);
}

static void
send_connect(struct pb_core *core, struct pb_client *cl)
{
    const struct pb_opts *o = core->run->o;
    uint8_t *b = core->pkt_buf, *p;
    char id[64];
    size_t idlen = name_of(id, o->client_prefix, cl->id);
    size_t ulen = strlen(o->username), plen = strlen(o->password);
    size_t rem = 10 + 2 + idlen + (ulen ? 2 + ulen : 0) +
                 (ulen && plen ? 2 + plen : 0);
    uint8_t flags = o->persistent ? 0 : PT_MQTT_CF_CLEAN;

    if (ulen) {
        flags |= PT_MQTT_CF_USERNAME;
        if (plen)
            flags |= PT_MQTT_CF_PASSWORD;
    }
    b[0] = PT_MQTT_T_CONNECT << 4;
    p = b + 1 + pt_mqtt_encode_remlen(b + 1, (uint32_t)rem);
    p += put_str(p, "MQTT", 4);
    *p++ = 4;                       /* 3.1.1 */
    *p++ = flags;
    *p++ = (uint8_t)(o->keepalive >> 8);
    *p++ = (uint8_t)o->keepalive;
    p += put_str(p, id, idlen);
    if (ulen) {
        p += put_str(p, o->username, ulen);
        if (plen)
            p += put_str(p, o->password, plen);
    }
    if (write_pkt(core, cl, b, (size_t)(p - b)) != 0)
        fail(core, cl, PB_C_MAX);
}

static size_t
topic_of(const struct pb_core *core, uint32_t group, char *buf)
{
    return name_of(buf, core->run->o->topic_prefix, group);
}

static void
send_subscribe(struct pb_core *core, struct pb_client *cl)
{
    uint8_t *b = core->pkt_buf, *p;
    char topic[PB_TOPIC_MAX];
    size_t tlen = topic_of(core, cl->group, topic);

    b[0] = PT_MQTT_T_SUBSCRIBE << 4 | PT_MQTT_FLAGS_REQUIRED;
    p = b + 1 + pt_mqtt_encode_remlen(b + 1, (uint32_t)(2 + 2 + tlen + 1));
    *p++ = 0;
    *p++ = 1;                       /* packet id 1 */
    p += put_str(p, topic, tlen);
    *p++ = core->run->o->qos;
    if (write_pkt(core, cl, b, (size_t)(p - b)) != 0)
        fail(core, cl, PB_C_MAX);
}

static void
send_ack(struct pb_core *core, struct pb_client *cl, uint8_t type,
         uint16_t pid)
{
    uint8_t b[4];
    size_t n = pt_mqtt_encode_ack(b, type, pid);

    if (write_pkt(core, cl, b, n) != 0)
        fail(core, cl, PB_C_MAX);
}

bool
pb_client_can_publish(const struct pb_core *core, const struct pb_client *cl)
{
    const struct pb_run *run = core->run;
    const struct pb_group *g;
    const struct pb_client *sub0;
    uint32_t delivered;

    if (cl->state != PB_CL_UP)
        return false;
    if (run->o->qos > 0 && cl->inflight >= RTE_MAX(run->o->window, 1u) &&
        run->o->rate == 0)
        return false;
    if (run->o->qos > 0 && cl->inflight >= 65535)
        return false;
    if (run->o->rate != 0)
        return true;
    /* closed loop: at most window messages between our send and the
     * delivery to the group's first subscriber */
    g = &run->groups[cl->group];
    sub0 = &run->clients[g->first_sub];
    delivered = __atomic_load_n(&sub0->next[cl->id - g->first_pub],
                                __ATOMIC_RELAXED);
    return cl->seq - delivered < run->o->window;
}

int
pb_client_publish(struct pb_core *core, struct pb_client *cl,
                  uint64_t stamp_ns)
{
    const struct pb_opts *o = core->run->o;
    uint8_t *b = core->pkt_buf;
    char topic[PB_TOPIC_MAX];
    size_t tlen = topic_of(core, cl->group, topic), n;
    uint16_t pid = 0;
    uint32_t who = cl->id;
    int rc;

    if (o->qos > 0) {               /* packet ids 1..65535 */
        pid = cl->next_pid == 0 ? 1 : cl->next_pid;
        cl->next_pid = (uint16_t)(pid + 1);
    }
    n = pt_mqtt_encode_publish_hdr(b, sizeof(core->pkt_buf) - o->payload,
                                   topic, (uint16_t)tlen, o->qos, false,
                                   false, pid, o->payload);
    if (phase(core) == PB_PH_MEASURE)
        who |= MEASURED_BIT;
    memcpy(b + n, &stamp_ns, 8);
    memcpy(b + n + 8, &cl->seq, 4);
    memcpy(b + n + 12, &who, 4);
    memset(b + n + 16, 0xa5, o->payload - 16);
    rc = pt_tcp_write(cl->conn, b, (uint32_t)(n + o->payload));
    if (rc < 0) {
        if (o->qos > 0)
            cl->next_pid = pid;
        pb_count(core, PB_C_WRITE_FULL, 1);
        return rc;
    }
    cl->seq++;
    if (o->qos > 0)
        cl->inflight++;
    pb_count(core, PB_C_PUB_SENT, 1);
    return 0;
}

/* A PUBLISH delivered to subscriber cl: check it, count it, time it. */
static void
delivered(struct pb_core *core, struct pb_client *cl, const uint8_t *topic,
          size_t tlen, const uint8_t *payload, uint32_t plen, uint64_t now)
{
    const struct pb_run *run = core->run;
    const struct pb_group *g = &run->groups[cl->group];
    char want[PB_TOPIC_MAX];
    size_t wlen = topic_of(core, cl->group, want);
    uint64_t stamp;
    uint32_t seq, who, k, next;

    pb_count(core, PB_C_MSG_RECV, 1);
    if (plen < PB_PAYLOAD_MIN || tlen != wlen ||
        memcmp(topic, want, wlen) != 0) {
        pb_count(core, PB_C_BAD_PAYLOAD, 1);
        return;
    }
    memcpy(&stamp, payload, 8);
    memcpy(&seq, payload + 8, 4);
    memcpy(&who, payload + 12, 4);
    k = (who & ~MEASURED_BIT) - g->first_pub;
    if (k >= g->n_pubs) {
        pb_count(core, PB_C_BAD_PAYLOAD, 1);
        return;
    }
    next = cl->next[k];
    if (seq < next) {
        pb_count(core, PB_C_MSG_DUP, 1);
        return;
    }
    if (seq > next)
        pb_count(core, PB_C_MSG_GAP, seq - next);
    __atomic_store_n(&cl->next[k], seq + 1, __ATOMIC_RELAXED);
    if (who & MEASURED_BIT) {
        pb_count(core, PB_C_MSG_MEASURED, 1);
        pb_hist_record(core->lat, now > stamp ? now - stamp : 0);
    }
}

/* Handle one whole packet of len bytes at offset off of cl->rx. */
static void
packet(struct pb_core *core, struct pb_client *cl, uint32_t off,
       uint32_t hlen, uint32_t len, uint64_t now)
{
    uint8_t copy[PB_TOPIC_MAX + 2 + 2 + PB_PAYLOAD_MIN];
    uint32_t body = len - hlen, look = RTE_MIN(body, (uint32_t)sizeof(copy));
    const uint8_t *v, *h;
    uint8_t hdr[1];
    uint8_t type, flags;

    h = rte_pktmbuf_read(cl->rx, off, 1, hdr);
    type = h[0] >> 4;
    flags = h[0] & 0x0f;
    v = look ? rte_pktmbuf_read(cl->rx, off + hlen, look, copy) : copy;

    switch (type) {
    case PT_MQTT_T_CONNACK:
        if (cl->state != PB_CL_CONNACK_WAIT || body != 2)
            goto bad;
        if (v[1] != 0) {            /* on_closed counts it as failed */
            fail(core, cl, PB_C_CONNACK_REFUSED);
            return;
        }
        core->pending--;
        core->open_done++;
        pb_count(core, PB_C_SESSIONS_UP, 1);
        pb_hist_record(core->conn_lat, now - cl->t_start_ns);
        core->up++;
        if (cl->role == PB_ROLE_SUB) {
            cl->state = PB_CL_SUBACK_WAIT;
            send_subscribe(core, cl);
        } else {
            cl->state = PB_CL_UP;
        }
        return;
    case PT_MQTT_T_SUBACK:
        if (cl->state != PB_CL_SUBACK_WAIT || body != 3)
            goto bad;
        pb_count(core, v[2] == core->run->o->qos ? PB_C_SUBSCRIBED
                                                 : PB_C_SUB_REFUSED, 1);
        cl->state = PB_CL_UP;
        return;
    case PT_MQTT_T_PUBLISH: {
        uint8_t qos = (flags & PT_MQTT_PUB_QOS_MASK) >> PT_MQTT_PUB_QOS_SHIFT;
        uint32_t tlen, vh, pl;
        uint16_t pid = 0;

        if (cl->role != PB_ROLE_SUB || qos > 2 || body < 2)
            goto bad;
        tlen = (uint32_t)v[0] << 8 | v[1];
        vh = 2 + tlen + (qos ? 2 : 0);
        if (vh > body || tlen > PB_TOPIC_MAX)
            goto bad;
        if (qos)
            pid = (uint16_t)(v[2 + tlen] << 8 | v[3 + tlen]);
        pl = body - vh;
        if (look < vh + RTE_MIN(pl, (uint32_t)PB_PAYLOAD_MIN))
            goto bad;
        delivered(core, cl, v + 2, tlen, v + vh, pl, now);
        if (qos == 1)
            send_ack(core, cl, PT_MQTT_T_PUBACK, pid);
        else if (qos == 2)
            send_ack(core, cl, PT_MQTT_T_PUBREC, pid);
        return;
    }
    case PT_MQTT_T_PUBACK:
    case PT_MQTT_T_PUBCOMP:
        if (body != 2 || cl->inflight == 0 ||
            (type == PT_MQTT_T_PUBACK) != (core->run->o->qos == 1))
            goto bad;
        cl->inflight--;
        pb_count(core, PB_C_PUB_ACKED, 1);
        return;
    case PT_MQTT_T_PUBREC:
        if (body != 2 || core->run->o->qos != 2)
            goto bad;
        send_ack(core, cl, PT_MQTT_T_PUBREL,
                 (uint16_t)(v[0] << 8 | v[1]));
        return;
    case PT_MQTT_T_PUBREL:
        if (body != 2 || flags != PT_MQTT_FLAGS_REQUIRED)
            goto bad;
        send_ack(core, cl, PT_MQTT_T_PUBCOMP, (uint16_t)(v[0] << 8 | v[1]));
        return;
    case PT_MQTT_T_PINGRESP:
        return;
    default:
        break;
    }
bad:
    fail(core, cl, PB_C_PROTO_ERR);
}

/* ---- TCP callbacks ------------------------------------------------------ */

static void
on_connected(void *user, struct pt_tcp_conn *c)
{
    struct pb_client *cl = user;

    (void)c;
    pb_count(cl->core, PB_C_TCP_UP, 1);
    cl->state = PB_CL_CONNACK_WAIT;
    send_connect(cl->core, cl);
}

static void
on_data(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    struct pb_client *cl = user;
    struct pb_core *core = cl->core;
    uint64_t now = pt_clock_ns();
    uint32_t off = 0, total;

    if (cl->rx == NULL) {
        cl->rx = m;
    } else if (rte_pktmbuf_chain(cl->rx, m) != 0) {
        rte_pktmbuf_free(m);
        fail(core, cl, PB_C_PROTO_ERR);
        return;
    }
    total = cl->rx->pkt_len;
    while (total - off >= 2 && !cl->dead) {
        uint8_t hb[5];
        const uint8_t *h = rte_pktmbuf_read(cl->rx, off,
                                            RTE_MIN(5u, total - off), hb);
        uint32_t rem = 0, mult = 1, i = 1;

        for (;; i++) {
            if (i >= RTE_MIN(5u, total - off)) {
                if (i == 5) {
                    fail(core, cl, PB_C_PROTO_ERR);
                    return;
                }
                goto partial;       /* remaining length not all here */
            }
            rem += (uint32_t)(h[i] & 0x7f) * mult;
            mult <<= 7;
            if (!(h[i] & 0x80))
                break;
        }
        if (rem > 65536) {          /* nothing we expect is that large */
            fail(core, cl, PB_C_PROTO_ERR);
            return;
        }
        if (total - off < i + 1 + rem)
            break;
        packet(core, cl, off, i + 1, i + 1 + rem, now);
        off += i + 1 + rem;
    }
partial:
    if (off > 0) {
        cl->rx = pt_mbuf_trim_front(cl->rx, off);
        pt_tcp_recved(c, off);
    }
}

static void
on_eof(void *user, struct pt_tcp_conn *c)
{
    struct pb_client *cl = user;

    if (cl->state != PB_CL_CLOSING)
        pt_tcp_close(c);
}

static void
on_closed(void *user, struct pt_tcp_conn *c, int reason)
{
    struct pb_client *cl = user;
    struct pb_core *core = cl->core;

    (void)c;
    rte_pktmbuf_free(cl->rx);
    cl->rx = NULL;
    cl->conn = NULL;
    if (cl->state == PB_CL_SYN_SENT && reason == -ETIMEDOUT &&
        cl->tries < PB_OPEN_TRIES) {
        /* No answer to our SYNs: most often the broker still holds the
         * 4-tuple in TIME_WAIT from an earlier run and our ISN falls below
         * it. Open again from another tuple. */
        core->pending--;
        cl->tries++;
        cl->laddr = 0;
        cl->state = PB_CL_IDLE;
        cl->link = core->retry;
        core->retry = cl;
        pb_count(core, PB_C_CONN_RETRIED, 1);
        return;
    }
    switch (cl->state) {
    case PB_CL_SYN_SENT:
    case PB_CL_CONNACK_WAIT:
        /* refused, reset, timed out, or CONNACK refused (counted) */
        core->pending--;
        core->open_done++;
        pb_count(core, PB_C_CONN_FAILED, 1);
        break;
    case PB_CL_SUBACK_WAIT:
    case PB_CL_UP:
        core->up--;
        pb_count(core, PB_C_SESSIONS_LOST, 1);
        break;
    case PB_CL_CLOSING:
        core->up--;
        core->closing--;
        /* reset at the end of the run (pt_tcp_shutdown) before the
         * broker's FIN came: slow, not lost */
        pb_count(core, reason == 0 ? PB_C_CLOSED_OK
                       : reason == -ECONNABORTED ? PB_C_CLOSE_UNFINISHED
                                                 : PB_C_SESSIONS_LOST, 1);
        break;
    default:
        break;
    }
    cl->state = reason == 0 && cl->state == PB_CL_CLOSING ? PB_CL_DONE
                                                          : PB_CL_FAILED;
}

void
pb_client_ops(struct pt_tcp_ops *ops)
{
    memset(ops, 0, sizeof(*ops));
    ops->connected = on_connected;
    ops->data = on_data;
    ops->eof = on_eof;
    ops->closed = on_closed;
}

int
pb_client_open(struct pb_core *core, struct pb_client *cl, uint64_t now)
{
    const struct pb_run *run = core->run;
    int rc;

    rc = pt_tcp_connect(core->tcp, cl->laddr, cl->lport, run->o->broker_ip,
                        run->o->broker_port, &run->broker_mac, &core->ops,
                        cl, &cl->conn);
    if (rc != 0)
        return rc;
    pb_count(core, PB_C_CONN_ATTEMPTS, 1);
    cl->state = PB_CL_SYN_SENT;
    cl->t_start_ns = now;
    core->pending++;
    return 0;
}

void
pb_client_close(struct pb_core *core, struct pb_client *cl)
{
    static const uint8_t disconnect[2] = { PT_MQTT_T_DISCONNECT << 4, 0 };

    if (cl->state != PB_CL_UP && cl->state != PB_CL_SUBACK_WAIT)
        return;
    cl->state = PB_CL_CLOSING;
    core->closing++;
    if (pt_tcp_write(cl->conn, disconnect, 2) < 0 ||
        pt_tcp_close(cl->conn) != 0)
        pt_tcp_abort(cl->conn);
}
