/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Broker messages: a published message built once and shared by every
 * subscriber, on every core, by reference count.
 *
 * A message is an mbuf chain holding the complete QoS 0 PUBLISH without
 * RETAIN (fixed header, topic, payload) so that the most common delivery,
 * QoS 0 to a subscriber that did not ask for the retained copy, is the
 * message itself: a clone of the chain goes to TCP, no byte is rewritten.
 * Other deliveries get a fresh header mbuf (their own flags, remaining
 * length and packet id) in front of a clone of the payload.
 *
 * The fixed header and topic always lie in the head segment (topics are
 * at most 65535 bytes, so a long one gets a head of its own), which is
 * what lets pt_msg_topic() return a pointer.
 *
 * Reference counting: a message is shared read-only; every holder (a ring
 * descriptor, a queued delivery, the retained store, a will) owns one
 * reference, taken with pt_msg_ref (every segment, since rte_pktmbuf_free
 * drops one reference per segment) and dropped with pt_msg_unref. Clones
 * handed to TCP hold references of their own (rte_pktmbuf_clone).
 *
 * Threading: any thread; references are atomic (mbuf refcnt).
 */
#include <string.h>

#include <rte_errno.h>

#include "mbuf_chain.h"
#include "mqtt_priv.h"

int pt_msg_dynfield_off = -1;


int
pt_msg_init(void)
{
    static const struct rte_mbuf_dynfield desc = {
        .name = "petrel_mqtt_msg",
        .size = sizeof(struct pt_msg_meta),
        .align = __alignof__(struct pt_msg_meta),
    };

    if (pt_msg_dynfield_off >= 0)
        return 0;
    pt_msg_dynfield_off = rte_mbuf_dynfield_register(&desc);
    return pt_msg_dynfield_off < 0 ? -rte_errno : 0;
}

/* Append len bytes from src (or the span) to the chain, growing it with
 * new segments from pool; the head's pkt_len and nb_segs follow. */
static int
chain_append(struct rte_mempool *pool, struct rte_mbuf *head,
             struct rte_mbuf **tail, const uint8_t *src,
             const struct pt_mqtt_span *sp, uint32_t len)
{
    const struct rte_mbuf *seg = sp ? sp->seg : NULL;
    uint32_t seg_off = sp ? sp->seg_off : 0;

    while (len > 0) {
        struct rte_mbuf *t = *tail;
        uint32_t room = rte_pktmbuf_tailroom(t), n;
        uint8_t *dst;

        if (room == 0) {
            struct rte_mbuf *nm = rte_pktmbuf_alloc(pool);

            if (nm == NULL)
                return -ENOBUFS;
            t->next = nm;
            head->nb_segs++;
            *tail = t = nm;
            room = rte_pktmbuf_tailroom(t);
        }
        n = RTE_MIN(room, len);
        if (seg != NULL) {
            /* copy from the received chain, segment by segment */
            while (seg_off >= seg->data_len) {
                seg_off -= seg->data_len;
                seg = seg->next;
            }
            n = RTE_MIN(n, seg->data_len - seg_off);
            dst = (uint8_t *)rte_pktmbuf_append(t, (uint16_t)n);
            memcpy(dst, rte_pktmbuf_mtod_offset(seg, const uint8_t *,
                                                seg_off), n);
            seg_off += n;
        } else {
            dst = (uint8_t *)rte_pktmbuf_append(t, (uint16_t)n);
            memcpy(dst, src, n);
            src += n;
        }
        if (t != head)      /* appending to the head counted it already */
            head->pkt_len += n;
        len -= n;
    }
    return 0;
}

struct rte_mbuf *
pt_msg_build(struct rte_mempool *pool, const char *topic, uint16_t tlen,
             const struct pt_mqtt_span *pl, const void *flat,
             uint32_t flat_len, uint8_t qos, bool retain)
{
    uint32_t plen = pl != NULL ? pl->len : flat_len;
    uint32_t rem = 2u + tlen + plen;
    struct rte_mbuf *m, *tail;
    struct pt_msg_meta *mm;
    uint8_t *h;
    size_t hl;

    if (rem > PT_MQTT_REMLEN_MAX)
        return NULL;
    m = rte_pktmbuf_alloc(pool);
    if (m == NULL)
        return NULL;
    if (rte_pktmbuf_tailroom(m) < 5u + 2u + tlen) {
        rte_pktmbuf_free(m);    /* topic too long for one segment */
        return NULL;
    }
    h = (uint8_t *)rte_pktmbuf_append(m, 1);
    h[0] = PT_MQTT_T_PUBLISH << 4;
    hl = pt_mqtt_encode_remlen(h + 1, rem);
    rte_pktmbuf_append(m, (uint16_t)(hl + 2 + tlen));
    h[1 + hl] = (uint8_t)(tlen >> 8);
    h[2 + hl] = (uint8_t)tlen;
    memcpy(h + 3 + hl, topic, tlen);
    tail = m;
    if (chain_append(pool, m, &tail, flat, pl, plen) != 0) {
        rte_pktmbuf_free(m);
        return NULL;
    }
    mm = pt_msg_meta(m);
    mm->topic_len = tlen;
    mm->hdr_len = (uint8_t)(1 + hl);
    mm->qos = qos;
    mm->retain = retain;
    return m;
}

struct rte_mbuf *
pt_msg_wire(struct rte_mempool *pool, struct rte_mbuf *m, uint8_t qos,
            bool retain, bool dup, uint16_t pid)
{
    const struct pt_msg_meta *mm = pt_msg_meta(m);
    uint32_t skip = mm->hdr_len + 2u + mm->topic_len;
    uint32_t plen = m->pkt_len - skip;
    struct rte_mbuf *h, *pl;
    uint8_t *p;
    size_t hl;

    if (qos == 0 && !retain)
        return rte_pktmbuf_clone(m, pool);   /* the message as it is */

    h = rte_pktmbuf_alloc(pool);
    if (h == NULL)
        return NULL;
    p = (uint8_t *)rte_pktmbuf_append(h, 1);
    p[0] = (uint8_t)(PT_MQTT_T_PUBLISH << 4 | (dup ? PT_MQTT_PUB_DUP : 0) |
                     qos << PT_MQTT_PUB_QOS_SHIFT |
                     (retain ? PT_MQTT_PUB_RETAIN : 0));
    hl = pt_mqtt_encode_remlen(p + 1,
                               2u + mm->topic_len + (qos ? 2u : 0u) + plen);
    rte_pktmbuf_append(h, (uint16_t)(hl + 2 + mm->topic_len +
                                     (qos ? 2 : 0)));
    p[1 + hl] = (uint8_t)(mm->topic_len >> 8);
    p[2 + hl] = (uint8_t)mm->topic_len;
    memcpy(p + 3 + hl, pt_msg_topic(m), mm->topic_len);
    if (qos) {
        p[3 + hl + mm->topic_len] = (uint8_t)(pid >> 8);
        p[4 + hl + mm->topic_len] = (uint8_t)pid;
    }
    if (plen == 0)
        return h;
    pl = rte_pktmbuf_clone(m, pool);
    if (pl == NULL) {
        rte_pktmbuf_free(h);
        return NULL;
    }
    /* the header and topic lie in the head segment: cut them off */
    pl = pt_mbuf_trim_front(pl, skip);
    if (rte_pktmbuf_chain(h, pl) != 0) {
        rte_pktmbuf_free(h);
        rte_pktmbuf_free(pl);
        return NULL;
    }
    return h;
}

struct rte_mbuf *
pt_mqtt_blob(struct rte_mempool *pool, const void *p, uint32_t len)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    void *d;

    if (m == NULL)
        return NULL;
    d = rte_pktmbuf_append(m, (uint16_t)len);
    if (d == NULL) {
        rte_pktmbuf_free(m);
        return NULL;
    }
    memcpy(d, p, len);
    return m;
}

int
pt_mqtt_blob_append(struct rte_mempool *pool, struct rte_mbuf **head,
                    struct rte_mbuf **tail, const void *p, uint32_t len)
{
    if (*head == NULL) {
        *head = *tail = rte_pktmbuf_alloc(pool);
        if (*head == NULL)
            return -ENOBUFS;
    }
    return chain_append(pool, *head, tail, p, NULL, len);
}

size_t
pt_msg_wire_copy(const struct rte_mbuf *m, uint8_t qos, bool retain,
                 bool dup, uint16_t pid, uint8_t *buf, size_t cap)
{
    const struct pt_msg_meta *mm = pt_msg_meta(m);
    uint32_t skip = mm->hdr_len + 2u + mm->topic_len;
    uint32_t plen = m->pkt_len - skip;
    uint32_t rem = 2u + mm->topic_len + (qos ? 2u : 0u) + plen;
    size_t hl, n;

    if (m->nb_segs != 1 || cap < 5u + rem)
        return 0;
    buf[0] = (uint8_t)(PT_MQTT_T_PUBLISH << 4 | (dup ? PT_MQTT_PUB_DUP : 0) |
                       qos << PT_MQTT_PUB_QOS_SHIFT |
                       (retain ? PT_MQTT_PUB_RETAIN : 0));
    hl = pt_mqtt_encode_remlen(buf + 1, rem);
    n = 1 + hl;
    memcpy(buf + n, rte_pktmbuf_mtod_offset(m, const uint8_t *,
                                            mm->hdr_len),
           2u + mm->topic_len);
    n += 2u + mm->topic_len;
    if (qos) {
        buf[n++] = (uint8_t)(pid >> 8);
        buf[n++] = (uint8_t)pid;
    }
    memcpy(buf + n, rte_pktmbuf_mtod_offset(m, const uint8_t *, skip), plen);
    return n + plen;
}
