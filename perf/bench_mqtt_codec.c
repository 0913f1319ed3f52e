/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT codec per packet type: what a connection actor pays to frame
 * and parse one client packet (pt_mqtt_frame + pt_mqtt_parse, and for
 * SUBSCRIBE/UNSUBSCRIBE walking every filter with pt_mqtt_iter_next), and
 * what the server -> client encoders the broker uses cost.
 *
 *   bm_mqtt_parse_<case>   one complete packet at offset 0 of a real mbuf
 *                          (the test pool's, 2 KiB data room)
 *                          framed and parsed per iteration. Cases:
 *       connect_min        clean session, 13-byte client id, keep-alive
 *       connect_full       the same plus will (topic, 7-byte message,
 *                          QoS 1, retain), user name and password
 *       publish_qos{0,1}_{64,1k}  topic devices/d0001234/telemetry/3,
 *                          64- or 1024-byte payload (a span: not read)
 *       publish_qos1_64_split  the QoS 1 64-byte PUBLISH in a chain of
 *                          two segments split inside the topic, so the
 *                          topic is copied into the scratch buffer
 *       puback, pubrec, pubrel, pubcomp, pingreq, disconnect
 *       subscribe_1, subscribe_8  one or eight 28-byte filters, each
 *                          returned by pt_mqtt_iter_next
 *       unsubscribe        one filter, iterated
 *   bm_mqtt_encode_<what>  one server -> client packet into a stack
 *                          buffer, the packet id changing every call:
 *                          connack, puback (pt_mqtt_encode_ack), pingresp,
 *                          suback_8 (eight return codes),
 *                          publish_hdr_qos{0,1} (the 28-byte topic).
 *
 * Each reports ns per packet and items_per_second (packets); the parse
 * cases also bytes_per_second (packet bytes). Before the timed loop every
 * case parses its packet once and checks the fields it must find (type,
 * packet id, topic, payload length, filter count and text, CONNECT flags
 * and strings); a packet the codec refuses or misreads fails the run: a
 * figure for a path that was not taken is worse than none.
 *
 * Not measured here: the connection actor around the codec (reassembly of
 * TCP payload into the chain, dispatch, handlers); bench_mqtt has the
 * whole broker.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include <petrel/mqtt.h>

#include "pt_bench.h"
#include "pt_test.h"

#define MAX_PACKET 65536
#define TOPIC "devices/d0001234/telemetry/3"
#define CLIENT_ID "sensor-000001"
#define ENC_BATCH 32          /* encodes per batch: each is a few ns */

/* ---- building packets ---- */

struct wbuf {
    uint8_t b[2048];
    size_t n;
};

static void
put8(struct wbuf *w, uint8_t v)
{
    w->b[w->n++] = v;
}

static void
put16(struct wbuf *w, uint16_t v)
{
    put8(w, (uint8_t)(v >> 8));
    put8(w, (uint8_t)v);
}

static void
putstr(struct wbuf *w, const char *s)
{
    size_t len = strlen(s);

    put16(w, (uint16_t)len);
    memcpy(w->b + w->n, s, len);
    w->n += len;
}

static void
putbytes(struct wbuf *w, uint8_t fill, size_t len)
{
    memset(w->b + w->n, fill, len);
    w->n += len;
}

/* The fixed header (first byte, remaining length) in front of body.
 * @return the packet length */
static size_t
packet(uint8_t *out, uint8_t first, const struct wbuf *body)
{
    size_t hl = 1 + pt_mqtt_encode_remlen(out + 1, (uint32_t)body->n);

    out[0] = first;
    memcpy(out + hl, body->b, body->n);
    return hl + body->n;
}

/* ---- the parse cases ---- */

enum pcase {
    P_CONNECT_MIN,
    P_CONNECT_FULL,
    P_PUB0_64,
    P_PUB0_1K,
    P_PUB1_64,
    P_PUB1_1K,
    P_PUB1_64_SPLIT,
    P_PUBACK,
    P_PUBREC,
    P_PUBREL,
    P_PUBCOMP,
    P_SUB1,
    P_SUB8,
    P_UNSUB,
    P_PINGREQ,
    P_DISCONNECT,
};

/* What a case's packet is, for the check before timing. */
struct expect {
    uint8_t type;
    uint16_t packet_id;
    uint32_t payload;      /* PUBLISH payload bytes */
    uint32_t filters;      /* SUBSCRIBE/UNSUBSCRIBE */
    uint8_t qos;
};

static void
filter_text(char *buf, size_t cap, unsigned i)
{
    snprintf(buf, cap, "devices/d%07u/telemetry/+", 1000 + i);
}

/* Forge case c's packet into out. @return its length; *seg: the length
 * of the chain's first segment (0: one segment). */
static size_t
forge(enum pcase c, uint8_t *out, size_t *seg, struct expect *e)
{
    struct wbuf w = { .n = 0 };
    uint8_t qos = 0;
    uint32_t plen = 64;
    char f[64];

    *seg = 0;
    memset(e, 0, sizeof(*e));
    switch (c) {
    case P_CONNECT_MIN:
    case P_CONNECT_FULL: {
        bool full = c == P_CONNECT_FULL;

        putstr(&w, PT_MQTT_PROTO_NAME);
        put8(&w, PT_MQTT_PROTO_LEVEL);
        put8(&w, PT_MQTT_CF_CLEAN |
                 (full ? PT_MQTT_CF_WILL | (1 << PT_MQTT_CF_WILL_QOS_SHIFT) |
                         PT_MQTT_CF_WILL_RETAIN | PT_MQTT_CF_USERNAME |
                         PT_MQTT_CF_PASSWORD : 0));
        put16(&w, 60);
        putstr(&w, CLIENT_ID);
        if (full) {
            putstr(&w, "devices/d0001234/status");
            putstr(&w, "offline");
            putstr(&w, "user-0001");
            putstr(&w, "correct horse battery");
        }
        e->type = PT_MQTT_T_CONNECT;
        return packet(out, PT_MQTT_T_CONNECT << 4, &w);
    }
    case P_PUB1_64:
    case P_PUB1_1K:
    case P_PUB1_64_SPLIT:
        qos = 1;
        /* fall through */
    case P_PUB0_64:
    case P_PUB0_1K: {
        size_t n;

        if (c == P_PUB0_1K || c == P_PUB1_1K)
            plen = 1024;
        putstr(&w, TOPIC);
        if (qos)
            put16(&w, 4242);
        putbytes(&w, 'x', plen);
        e->type = PT_MQTT_T_PUBLISH;
        e->qos = qos;
        e->packet_id = qos ? 4242 : 0;
        e->payload = plen;
        n = packet(out, (uint8_t)(PT_MQTT_T_PUBLISH << 4 |
                                  qos << PT_MQTT_PUB_QOS_SHIFT), &w);
        if (c == P_PUB1_64_SPLIT)
            *seg = 2 + 2 + 12;   /* header, length, 12 topic bytes */
        return n;
    }
    case P_PUBACK:
    case P_PUBREC:
    case P_PUBREL:
    case P_PUBCOMP: {
        static const uint8_t types[] = {
            [P_PUBACK] = PT_MQTT_T_PUBACK,
            [P_PUBREC] = PT_MQTT_T_PUBREC,
            [P_PUBREL] = PT_MQTT_T_PUBREL,
            [P_PUBCOMP] = PT_MQTT_T_PUBCOMP,
        };

        put16(&w, 4242);
        e->type = types[c];
        e->packet_id = 4242;
        return packet(out, (uint8_t)(e->type << 4 |
                                     (c == P_PUBREL ? PT_MQTT_FLAGS_REQUIRED
                                                    : 0)), &w);
    }
    case P_SUB1:
    case P_SUB8:
    case P_UNSUB: {
        unsigned n = c == P_SUB8 ? 8 : 1;
        bool sub = c != P_UNSUB;

        put16(&w, 4242);
        for (unsigned i = 0; i < n; i++) {
            filter_text(f, sizeof(f), i);
            putstr(&w, f);
            if (sub)
                put8(&w, (uint8_t)(i % 3));
        }
        e->type = sub ? PT_MQTT_T_SUBSCRIBE : PT_MQTT_T_UNSUBSCRIBE;
        e->packet_id = 4242;
        e->filters = n;
        return packet(out, (uint8_t)(e->type << 4 | PT_MQTT_FLAGS_REQUIRED),
                      &w);
    }
    case P_PINGREQ:
        e->type = PT_MQTT_T_PINGREQ;
        return packet(out, PT_MQTT_T_PINGREQ << 4, &w);
    case P_DISCONNECT:
        e->type = PT_MQTT_T_DISCONNECT;
        return packet(out, PT_MQTT_T_DISCONNECT << 4, &w);
    }
    return 0;
}

/* Walk every filter of a SUBSCRIBE/UNSUBSCRIBE as the handler does.
 * @return the filters seen, or -1 on an iterator error. With check, each
 * filter's text must be the one forged. */
static inline int
walk(struct pt_mqtt_packet *p, bool check)
{
    struct pt_mqtt_str s;
    uint8_t qos = 0;
    int n = 0, rc;
    char f[64];

    while ((rc = pt_mqtt_iter_next(&p->u.sub.it, &s, &qos)) == 1) {
        if (check) {
            filter_text(f, sizeof(f), (unsigned)n);
            if (s.len != strlen(f) || memcmp(s.p, f, s.len) != 0)
                return -1;
        }
        pt_bench_do_not_optimize(&s);
        n++;
    }
    return rc == 0 ? n : -1;
}

/* One frame + parse (+ walk). @return 0, or -1 when refused. */
static inline int
parse_once(const struct rte_mbuf *m, uint32_t len, uint8_t *scratch,
           struct pt_mqtt_packet *p)
{
    struct pt_mqtt_frame f;

    if (pt_mqtt_frame(m, 0, len, MAX_PACKET, &f) != (int)len)
        return -1;
    if (pt_mqtt_parse(m, &f, scratch, MAX_PACKET, p) != PT_MQTT_OK)
        return -1;
    if ((p->type == PT_MQTT_T_SUBSCRIBE || p->type == PT_MQTT_T_UNSUBSCRIBE) &&
        walk(p, false) < 0)
        return -1;
    return 0;
}

/* @return NULL when the parsed packet is what was forged, else why not */
static const char *
check(const struct rte_mbuf *m, uint32_t len, uint8_t *scratch,
      enum pcase c, const struct expect *e)
{
    struct pt_mqtt_frame f;
    struct pt_mqtt_packet p;
    const struct pt_mqtt_connect *cn = &p.u.connect;

    if (pt_mqtt_frame(m, 0, len, MAX_PACKET, &f) != (int)len)
        return "pt_mqtt_frame did not find the whole packet";
    if (pt_mqtt_parse(m, &f, scratch, MAX_PACKET, &p) != PT_MQTT_OK)
        return "pt_mqtt_parse refused the packet";
    if (p.type != e->type)
        return "wrong packet type";
    switch (p.type) {
    case PT_MQTT_T_CONNECT:
        if (cn->client_id.len != strlen(CLIENT_ID) ||
            memcmp(cn->client_id.p, CLIENT_ID, cn->client_id.len) != 0 ||
            cn->keepalive != 60 || !cn->clean_session)
            return "CONNECT misread";
        if (c == P_CONNECT_FULL &&
            (!cn->will || cn->will_qos != 1 || !cn->will_retain ||
             cn->will_msg.len != 7 || !cn->has_username ||
             !cn->has_password || cn->username.len != 9 ||
             cn->password.len != 21))
            return "CONNECT will/user/password misread";
        break;
    case PT_MQTT_T_PUBLISH:
        if (p.u.publish.qos != e->qos ||
            p.u.publish.packet_id != e->packet_id ||
            p.u.publish.topic.len != strlen(TOPIC) ||
            memcmp(p.u.publish.topic.p, TOPIC, strlen(TOPIC)) != 0 ||
            p.u.publish.payload.len != e->payload)
            return "PUBLISH misread";
        if (c == P_PUB1_64_SPLIT && p.u.publish.topic.p != (char *)scratch)
            return "split topic not copied to the scratch: not split?";
        break;
    case PT_MQTT_T_PUBACK:
    case PT_MQTT_T_PUBREC:
    case PT_MQTT_T_PUBREL:
    case PT_MQTT_T_PUBCOMP:
        if (p.u.packet_id != e->packet_id)
            return "packet id misread";
        break;
    case PT_MQTT_T_SUBSCRIBE:
    case PT_MQTT_T_UNSUBSCRIBE:
        if (p.u.sub.packet_id != e->packet_id ||
            p.u.sub.count != e->filters ||
            walk(&p, true) != (int)e->filters)
            return "SUBSCRIBE/UNSUBSCRIBE filters misread";
        break;
    default:
        break;
    }
    return NULL;
}

/* len bytes of frame in one mbuf, or in two chained ones split after
 * seg bytes (seg != 0). @return the chain, or NULL (pool empty). */
static struct rte_mbuf *
two_segments(const uint8_t *frame, size_t len, size_t seg)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pt_test_pool());
    struct rte_mbuf *m2 = NULL;
    size_t first = seg != 0 ? seg : len;

    if (m == NULL)
        return NULL;
    memcpy(rte_pktmbuf_append(m, (uint16_t)first), frame, first);
    if (seg == 0)
        return m;
    m2 = rte_pktmbuf_alloc(pt_test_pool());
    if (m2 == NULL) {
        rte_pktmbuf_free(m);
        return NULL;
    }
    memcpy(rte_pktmbuf_append(m2, (uint16_t)(len - seg)), frame + seg,
           len - seg);
    if (rte_pktmbuf_chain(m, m2) != 0) {
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(m2);
        return NULL;
    }
    return m;
}

static void
run_parse(struct pt_bench_state *st, enum pcase c)
{
    static uint8_t scratch[MAX_PACKET];
    uint8_t frame[2048];
    struct pt_mqtt_packet p;
    struct expect e;
    size_t seg, len = forge(c, frame, &seg, &e);
    struct rte_mbuf *m = two_segments(frame, len, seg);
    const char *why = m == NULL ? "test pool empty"
                                : check(m, (uint32_t)len, scratch, c, &e);

    if (why != NULL) {
        if (m != NULL)
            rte_pktmbuf_free(m);
        pt_bench_skip_with_error(st, why);
        return;
    }
    while (pt_bench_keep_running(st)) {
        if (unlikely(parse_once(m, (uint32_t)len, scratch, &p) != 0)) {
            why = "refused in the timed loop";
            break;
        }
        pt_bench_do_not_optimize(&p);
    }
    rte_pktmbuf_free(m);
    if (why != NULL) {
        pt_bench_skip_with_error(st, why);
        return;
    }
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_bench_set_bytes_processed(st,
                                 pt_bench_iterations_done(st) * (int64_t)len);
}

#define PARSE_CASE(name, c)                                                 \
    static void bm_mqtt_parse_##name(struct pt_bench_state *st)             \
    {                                                                       \
        run_parse(st, c);                                                   \
    }                                                                       \
    PT_BENCH(bm_mqtt_parse_##name)

PARSE_CASE(connect_min, P_CONNECT_MIN);
PARSE_CASE(connect_full, P_CONNECT_FULL);
PARSE_CASE(publish_qos0_64, P_PUB0_64);
PARSE_CASE(publish_qos0_1k, P_PUB0_1K);
PARSE_CASE(publish_qos1_64, P_PUB1_64);
PARSE_CASE(publish_qos1_1k, P_PUB1_1K);
PARSE_CASE(publish_qos1_64_split, P_PUB1_64_SPLIT);
PARSE_CASE(puback, P_PUBACK);
PARSE_CASE(pubrec, P_PUBREC);
PARSE_CASE(pubrel, P_PUBREL);
PARSE_CASE(pubcomp, P_PUBCOMP);
PARSE_CASE(subscribe_1, P_SUB1);
PARSE_CASE(subscribe_8, P_SUB8);
PARSE_CASE(unsubscribe, P_UNSUB);
PARSE_CASE(pingreq, P_PINGREQ);
PARSE_CASE(disconnect, P_DISCONNECT);

/* ---- encoders ---- */

/* Each encoder case: ENC_BATCH encodes per batch into buf, the packet id
 * i changing each time; expect: the length each must return. */
#define ENCODE_CASE(name, expect, call)                                     \
    static void bm_mqtt_encode_##name(struct pt_bench_state *st)            \
    {                                                                       \
        uint8_t buf[128];                                                   \
        uint16_t i = 1;                                                     \
        size_t bad = 0;                                                     \
                                                                            \
        pt_bench_do_not_optimize(buf);                                      \
        while (pt_bench_keep_running_batch(st, ENC_BATCH)) {                \
            for (int k = 0; k < ENC_BATCH; k++, i++) {                      \
                size_t n = (call);                                          \
                                                                            \
                bad |= n ^ (size_t)(expect);                                \
                pt_bench_clobber_memory();                                  \
            }                                                               \
        }                                                                   \
        if (bad != 0) {                                                     \
            pt_bench_skip_with_error(st, "unexpected encoded length");     \
            return;                                                         \
        }                                                                   \
        pt_bench_set_items_processed(st, pt_bench_iterations_done(st));     \
    }                                                                       \
    PT_BENCH(bm_mqtt_encode_##name)

static const uint8_t suback_codes[8] = { 0, 1, 2, 0x80, 0, 1, 2, 1 };

ENCODE_CASE(connack, 4,
            pt_mqtt_encode_connack(buf, i & 1, PT_MQTT_CONNACK_ACCEPTED));
ENCODE_CASE(puback, 4, pt_mqtt_encode_ack(buf, PT_MQTT_T_PUBACK, i));
ENCODE_CASE(pingresp, 2, pt_mqtt_encode_pingresp(buf));
ENCODE_CASE(suback_8, 2 + 2 + 8,
            pt_mqtt_encode_suback(buf, sizeof(buf), i, suback_codes, 8));
ENCODE_CASE(publish_hdr_qos0, 2 + 2 + sizeof(TOPIC) - 1,
            pt_mqtt_encode_publish_hdr(buf, sizeof(buf), TOPIC,
                                       sizeof(TOPIC) - 1, 0, false, false, 0,
                                       64));
ENCODE_CASE(publish_hdr_qos1, 2 + 2 + sizeof(TOPIC) - 1 + 2,
            pt_mqtt_encode_publish_hdr(buf, sizeof(buf), TOPIC,
                                       sizeof(TOPIC) - 1, 1, false, false,
                                       (uint16_t)(i | 1), 64));

int
main(int argc, char **argv)
{
    if (pt_test_eal_init() != 0) {
        fprintf(stderr, "bench_mqtt_codec: EAL init failed (run as root)\n");
        return 1;
    }
    return pt_bench_main(argc, argv);
}
