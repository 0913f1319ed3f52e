/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the MQTT 3.1.1 codec (dataplane/mqtt_codec.c,
 * mqtt_validate.c): framing over chains split everywhere, remaining-length
 * boundaries, every packet type good, every violation bad (corrupt inputs
 * kept as files in tests/unit/mqtt_corpus/, found through PT_MQTT_CORPUS),
 * UTF-8/topic/filter tables, topic matching, encoders parsed back.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/mqtt.h>

#include "pt_test.h"

#define NOLIMIT UINT32_MAX

static uint8_t scratch[70000];

/* ---- packet forging ---- */

struct wb {
    uint8_t b[4096];
    size_t n;
};

static void
put(struct wb *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof(w->b));
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void
put_u8(struct wb *w, uint8_t v)
{
    put(w, &v, 1);
}

static void
put_u16(struct wb *w, uint16_t v)
{
    put_u8(w, v >> 8);
    put_u8(w, v & 0xff);
}

static void
put_str(struct wb *w, const char *s)
{
    put_u16(w, (uint16_t)strlen(s));
    put(w, s, strlen(s));
}

/* Append a packet: first byte, remaining length, body. */
static void
put_pkt(struct wb *w, uint8_t first, const struct wb *body)
{
    uint8_t rl[4];

    put_u8(w, first);
    put(w, rl, pt_mqtt_encode_remlen(rl, (uint32_t)body->n));
    put(w, body->b, body->n);
}

static void
put_connect_full(struct wb *w)
{
    struct wb b = { .n = 0 };

    put_str(&b, "MQTT");
    put_u8(&b, 4);
    put_u8(&b, PT_MQTT_CF_USERNAME | PT_MQTT_CF_PASSWORD |
               PT_MQTT_CF_WILL_RETAIN | (1 << PT_MQTT_CF_WILL_QOS_SHIFT) |
               PT_MQTT_CF_WILL);     /* clean session 0 */
    put_u16(&b, 30);
    put_str(&b, "client-\xc3\xa9");  /* é: multi-byte */
    put_str(&b, "will/topic");
    put_str(&b, "goodbye");
    put_str(&b, "user");
    put_str(&b, "secret\x01");
    put_pkt(w, 0x10, &b);
}

static void
put_publish(struct wb *w, const char *topic, uint8_t qos, uint16_t pid,
            const char *payload, uint8_t extra_flags)
{
    struct wb b = { .n = 0 };

    put_str(&b, topic);
    if (qos > 0)
        put_u16(&b, pid);
    put(&b, payload, strlen(payload));
    put_pkt(w, (uint8_t)(0x30 | qos << 1 | extra_flags), &b);
}

static void
put_sub(struct wb *w, uint16_t pid)
{
    struct wb b = { .n = 0 };

    put_u16(&b, pid);
    put_str(&b, "sport/tennis/+");
    put_u8(&b, 1);
    put_str(&b, "a/#");
    put_u8(&b, 2);
    put_str(&b, "$SYS/x");
    put_u8(&b, 0);
    put_pkt(w, 0x82, &b);
}

static void
put_unsub(struct wb *w, uint16_t pid)
{
    struct wb b = { .n = 0 };

    put_u16(&b, pid);
    put_str(&b, "sport/tennis/+");
    put_str(&b, "#");
    put_pkt(w, 0xa2, &b);
}

static void
put_id(struct wb *w, uint8_t first, uint16_t pid)
{
    struct wb b = { .n = 0 };

    put_u16(&b, pid);
    put_pkt(w, first, &b);
}

/* The multi-packet stream of the split tests; *n packets. */
static void
stream(struct wb *w, unsigned *n)
{
    w->n = 0;
    put_connect_full(w);
    put_publish(w, "a/b", 1, 7, "hello", PT_MQTT_PUB_RETAIN);
    put_publish(w, "x", 0, 0, "", 0);
    put_sub(w, 9);
    put_unsub(w, 10);
    put_id(w, 0x62, 11);   /* PUBREL */
    put_id(w, 0x40, 12);   /* PUBACK */
    put_u8(w, 0xc0);       /* PINGREQ */
    put_u8(w, 0);
    put_u8(w, 0xe0);       /* DISCONNECT */
    put_u8(w, 0);
    *n = 9;
}

/* Chain of data[0..p) and data[p..len), each cut into seg-byte segments
 * (p == 0: an empty first segment). */
static struct rte_mbuf *
split_chain(const uint8_t *data, size_t len, size_t p, size_t seg)
{
    struct rte_mbuf *a = pt_test_mbuf(data, p, seg);
    struct rte_mbuf *b = pt_test_mbuf(data + p, len - p, seg);

    assert_int_equal(rte_pktmbuf_chain(a, b), 0);
    return a;
}

static bool
str_is(const struct pt_mqtt_str *s, const char *want)
{
    return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

static bool
span_is(const struct pt_mqtt_span *s, const char *want)
{
    char buf[256];

    if (s->len != strlen(want) || s->len > sizeof(buf))
        return false;
    return pt_mqtt_span_copy(s, buf, sizeof(buf)) == s->len &&
           memcmp(buf, want, s->len) == 0;
}

/* Frame and parse one complete packet from a single-segment copy. */
static enum pt_mqtt_err
parse1(const uint8_t *data, size_t len, size_t seg, struct pt_mqtt_packet *p,
       struct rte_mbuf **keep)
{
    struct rte_mbuf *m = pt_test_mbuf(data, len, seg);
    struct pt_mqtt_frame f;
    int r = pt_mqtt_frame(m, 0, (uint32_t)len, NOLIMIT, &f);
    enum pt_mqtt_err e;

    if (r < 0) {
        e = (enum pt_mqtt_err)-r;
    } else {
        assert_int_equal(r, len);
        e = pt_mqtt_parse(m, &f, scratch, sizeof(scratch), p);
    }
    if (keep != NULL)
        *keep = m;
    else
        rte_pktmbuf_free(m);
    return e;
}

/* Check the packets of stream(), in order. */
static void
check_stream_pkt(unsigned i, struct pt_mqtt_packet *p)
{
    struct pt_mqtt_str s;
    uint8_t q = 9;

    switch (i) {
    case 0:
        assert_int_equal(p->type, PT_MQTT_T_CONNECT);
        assert_false(p->u.connect.clean_session);
        assert_true(p->u.connect.will && p->u.connect.will_retain);
        assert_int_equal(p->u.connect.will_qos, 1);
        assert_int_equal(p->u.connect.keepalive, 30);
        assert_true(str_is(&p->u.connect.client_id, "client-\xc3\xa9"));
        assert_true(str_is(&p->u.connect.will_topic, "will/topic"));
        assert_true(span_is(&p->u.connect.will_msg, "goodbye"));
        assert_true(str_is(&p->u.connect.username, "user"));
        assert_true(span_is(&p->u.connect.password, "secret\x01"));
        break;
    case 1:
        assert_int_equal(p->type, PT_MQTT_T_PUBLISH);
        assert_int_equal(p->u.publish.qos, 1);
        assert_int_equal(p->u.publish.packet_id, 7);
        assert_true(p->u.publish.retain);
        assert_false(p->u.publish.dup);
        assert_true(str_is(&p->u.publish.topic, "a/b"));
        assert_true(span_is(&p->u.publish.payload, "hello"));
        break;
    case 2:
        assert_int_equal(p->type, PT_MQTT_T_PUBLISH);
        assert_int_equal(p->u.publish.qos, 0);
        assert_true(str_is(&p->u.publish.topic, "x"));
        assert_int_equal(p->u.publish.payload.len, 0);
        break;
    case 3:
        assert_int_equal(p->type, PT_MQTT_T_SUBSCRIBE);
        assert_int_equal(p->u.sub.packet_id, 9);
        assert_int_equal(p->u.sub.count, 3);
        assert_int_equal(pt_mqtt_iter_next(&p->u.sub.it, &s, &q), 1);
        assert_true(str_is(&s, "sport/tennis/+"));
        assert_int_equal(q, 1);
        assert_int_equal(pt_mqtt_iter_next(&p->u.sub.it, &s, &q), 1);
        assert_true(str_is(&s, "a/#"));
        assert_int_equal(q, 2);
        assert_int_equal(pt_mqtt_iter_next(&p->u.sub.it, &s, &q), 1);
        assert_true(str_is(&s, "$SYS/x"));
        assert_int_equal(q, 0);
        assert_int_equal(pt_mqtt_iter_next(&p->u.sub.it, &s, &q), 0);
        break;
    case 4:
        assert_int_equal(p->type, PT_MQTT_T_UNSUBSCRIBE);
        assert_int_equal(p->u.sub.packet_id, 10);
        assert_int_equal(p->u.sub.count, 2);
        assert_int_equal(pt_mqtt_iter_next(&p->u.sub.it, &s, NULL), 1);
        assert_true(str_is(&s, "sport/tennis/+"));
        assert_int_equal(pt_mqtt_iter_next(&p->u.sub.it, &s, NULL), 1);
        assert_true(str_is(&s, "#"));
        assert_int_equal(pt_mqtt_iter_next(&p->u.sub.it, &s, NULL), 0);
        break;
    case 5:
        assert_int_equal(p->type, PT_MQTT_T_PUBREL);
        assert_int_equal(p->u.packet_id, 11);
        break;
    case 6:
        assert_int_equal(p->type, PT_MQTT_T_PUBACK);
        assert_int_equal(p->u.packet_id, 12);
        break;
    case 7:
        assert_int_equal(p->type, PT_MQTT_T_PINGREQ);
        break;
    case 8:
        assert_int_equal(p->type, PT_MQTT_T_DISCONNECT);
        break;
    default:
        fail();
    }
}

static void
test_mqtt_frame_every_split(void **state)
{
    static const size_t segs[] = { 0, 1, 2, 3, 5, 7, 64 };
    uint32_t ends[16];
    unsigned npkt;
    struct wb w;

    (void)state;
    stream(&w, &npkt);
    /* reference: packet ends in one flat segment */
    {
        struct rte_mbuf *m = pt_test_mbuf(w.b, w.n, 0);
        uint32_t off = 0;

        for (unsigned i = 0; i < npkt; i++) {
            struct pt_mqtt_frame f;
            int r = pt_mqtt_frame(m, off, (uint32_t)w.n - off, NOLIMIT, &f);

            assert_true(r > 0);
            off += (uint32_t)r;
            ends[i] = off;
        }
        assert_int_equal(off, w.n);
        rte_pktmbuf_free(m);
    }
    for (size_t si = 0; si < RTE_DIM(segs); si++) {
        for (size_t p = 0; p <= w.n; p++) {
            struct rte_mbuf *m = split_chain(w.b, w.n, p, segs[si]);

            /* only p bytes arrived: the whole packets before p, then 0 */
            for (int pass = 0; pass < 2; pass++) {
                uint32_t avail = pass == 0 ? (uint32_t)p : (uint32_t)w.n;
                uint32_t off = 0;
                unsigned i = 0;

                for (;;) {
                    struct pt_mqtt_frame f;
                    struct pt_mqtt_packet pk;
                    int r = pt_mqtt_frame(m, off, avail - off, NOLIMIT, &f);

                    if (i == npkt || ends[i] > avail) {
                        assert_int_equal(r, 0);
                        break;
                    }
                    assert_int_equal(r, ends[i] - off);
                    assert_int_equal(f.off, off);
                    assert_int_equal(pt_mqtt_parse(m, &f, scratch,
                                     sizeof(scratch), &pk), PT_MQTT_OK);
                    check_stream_pkt(i, &pk);
                    off += (uint32_t)r;
                    i++;
                }
            }
            rte_pktmbuf_free(m);
        }
    }
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
}

static void
test_mqtt_remlen_boundaries(void **state)
{
    static const struct {
        uint32_t len;
        uint8_t n;
        uint8_t bytes[4];
    } t[] = {
        { 0, 1, { 0x00 } },
        { 127, 1, { 0x7f } },
        { 128, 2, { 0x80, 0x01 } },
        { 16383, 2, { 0xff, 0x7f } },
        { 16384, 3, { 0x80, 0x80, 0x01 } },
        { 2097151, 3, { 0xff, 0xff, 0x7f } },
        { 2097152, 4, { 0x80, 0x80, 0x80, 0x01 } },
        { 268435455, 4, { 0xff, 0xff, 0xff, 0x7f } },
    };
    uint8_t buf[8];

    (void)state;
    for (size_t i = 0; i < RTE_DIM(t); i++) {
        struct pt_mqtt_frame f;
        struct rte_mbuf *m;
        uint32_t total;

        buf[0] = 0x30;
        assert_int_equal(pt_mqtt_encode_remlen(buf + 1, t[i].len), t[i].n);
        assert_memory_equal(buf + 1, t[i].bytes, t[i].n);
        total = 1u + t[i].n + t[i].len;
        m = pt_test_mbuf(buf, 1u + t[i].n, 1);
        /* every header prefix: need more, header unknown */
        for (uint32_t a = 0; a <= t[i].n; a++) {
            assert_int_equal(pt_mqtt_frame(m, 0, a, NOLIMIT, &f), 0);
            assert_int_equal(f.hdr_len, 0);
        }
        if (t[i].len == 0) {
            assert_int_equal(pt_mqtt_frame(m, 0, 2, NOLIMIT, &f), 2);
        } else {
            assert_int_equal(pt_mqtt_frame(m, 0, 1u + t[i].n, total, &f), 0);
            assert_int_equal(f.hdr_len, 1 + t[i].n);
            assert_int_equal(f.rem_len, t[i].len);
            assert_int_equal(pt_mqtt_frame(m, 0, 1u + t[i].n, total - 1, &f),
                             -PT_MQTT_E_TOO_LARGE);
        }
        rte_pktmbuf_free(m);
    }
    assert_int_equal(pt_mqtt_encode_remlen(buf, 268435456), 0);

    /* a 5th length byte is malformed, known as soon as the 4th says more */
    {
        static const uint8_t five[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x7f };
        static const uint8_t nonmin[] = { 0xc0, 0x80, 0x80, 0x00 };
        struct rte_mbuf *m = pt_test_mbuf(five, sizeof(five), 2);
        struct pt_mqtt_frame f;

        assert_int_equal(pt_mqtt_frame(m, 0, 4, NOLIMIT, &f), 0);
        assert_int_equal(pt_mqtt_frame(m, 0, 5, NOLIMIT, &f), -PT_MQTT_E_REMLEN);
        assert_int_equal(pt_mqtt_frame(m, 0, 6, NOLIMIT, &f), -PT_MQTT_E_REMLEN);
        rte_pktmbuf_free(m);
        /* non-minimal encodings are accepted (PINGREQ, length 0 in 3 bytes) */
        m = pt_test_mbuf(nonmin, sizeof(nonmin), 0);
        assert_int_equal(pt_mqtt_frame(m, 0, 4, NOLIMIT, &f), 4);
        assert_int_equal(f.hdr_len, 4);
        rte_pktmbuf_free(m);
    }
}

static void
test_mqtt_max_packet_size(void **state)
{
    static const uint8_t hdr[] = { 0x30, 100 };
    struct rte_mbuf *m = pt_test_mbuf(hdr, sizeof(hdr), 0);
    struct pt_mqtt_frame f;

    (void)state;
    /* refused from the header alone, before the body arrives */
    assert_int_equal(pt_mqtt_frame(m, 0, 2, 50, &f), -PT_MQTT_E_TOO_LARGE);
    assert_int_equal(pt_mqtt_frame(m, 0, 2, 101, &f), -PT_MQTT_E_TOO_LARGE);
    assert_int_equal(pt_mqtt_frame(m, 0, 2, 102, &f), 0);   /* exactly max */
    assert_int_equal(f.rem_len, 100);
    assert_int_equal(pt_mqtt_frame(m, 0, 1, 50, &f), 0);    /* not yet known */
    rte_pktmbuf_free(m);
}

static void
test_mqtt_connect_good(void **state)
{
    struct pt_mqtt_packet p;
    struct wb w = { .n = 0 }, b = { .n = 0 };
    char longid[101];

    (void)state;
    put_connect_full(&w);
    for (size_t seg = 0; seg < 6; seg++) {
        struct rte_mbuf *m;

        assert_int_equal(parse1(w.b, w.n, seg, &p, &m), PT_MQTT_OK);
        check_stream_pkt(0, &p);
        rte_pktmbuf_free(m);
    }
    /* minimal: clean session, empty client id, no will/user/password */
    put_str(&b, "MQTT");
    put_u8(&b, 4);
    put_u8(&b, PT_MQTT_CF_CLEAN);
    put_u16(&b, 0);
    put_str(&b, "");
    w.n = 0;
    put_pkt(&w, 0x10, &b);
    assert_int_equal(parse1(w.b, w.n, 0, &p, NULL), PT_MQTT_OK);
    assert_true(p.u.connect.clean_session);
    assert_int_equal(p.u.connect.client_id.len, 0);
    assert_non_null(p.u.connect.client_id.p);
    assert_false(p.u.connect.will || p.u.connect.has_username ||
                 p.u.connect.has_password);
    /* a 100-character client id is accepted, its length reported */
    memset(longid, 'k', 100);
    longid[100] = '\0';
    b.n = 0;
    put_str(&b, "MQTT");
    put_u8(&b, 4);
    put_u8(&b, 0);
    put_u16(&b, 5);
    put_str(&b, longid);
    w.n = 0;
    put_pkt(&w, 0x10, &b);
    assert_int_equal(parse1(w.b, w.n, 7, &p, NULL), PT_MQTT_OK);
    assert_int_equal(p.u.connect.client_id.len, 100);
    assert_int_equal(pt_mqtt_connack_code(PT_MQTT_E_PROTO_LEVEL), 0x01);
    assert_int_equal(pt_mqtt_connack_code(PT_MQTT_E_CLIENT_ID_EMPTY), 0x02);
    assert_int_equal(pt_mqtt_connack_code(PT_MQTT_E_PROTO_NAME), -1);
    assert_int_equal(pt_mqtt_connack_code(PT_MQTT_E_UTF8), -1);
}

static void
test_mqtt_publish_good(void **state)
{
    (void)state;
    for (uint8_t qos = 0; qos <= 2; qos++) {
        for (uint8_t fl = 0; fl < 2; fl++) {
            uint8_t extra = fl ? PT_MQTT_PUB_RETAIN : 0;
            struct pt_mqtt_packet p;
            struct rte_mbuf *m;
            struct wb w = { .n = 0 };

            if (qos > 0 && fl)
                extra |= PT_MQTT_PUB_DUP;
            put_publish(&w, "sensors/\xe2\x82\xac/t", qos, 0x1234, "payload!",
                        extra);
            assert_int_equal(parse1(w.b, w.n, 3, &p, &m), PT_MQTT_OK);
            assert_int_equal(p.type, PT_MQTT_T_PUBLISH);
            assert_int_equal(p.u.publish.qos, qos);
            assert_int_equal(p.u.publish.retain, fl);
            assert_int_equal(p.u.publish.dup, qos > 0 && fl);
            assert_int_equal(p.u.publish.packet_id, qos ? 0x1234 : 0);
            assert_true(str_is(&p.u.publish.topic, "sensors/\xe2\x82\xac/t"));
            assert_true(span_is(&p.u.publish.payload, "payload!"));
            rte_pktmbuf_free(m);
        }
    }
}

static void
test_mqtt_acks_good(void **state)
{
    static const uint8_t firsts[] = { 0x40, 0x50, 0x62, 0x70 };
    struct pt_mqtt_packet p;

    (void)state;
    for (size_t i = 0; i < RTE_DIM(firsts); i++) {
        struct wb w = { .n = 0 };

        put_id(&w, firsts[i], 0xbeef);
        assert_int_equal(parse1(w.b, w.n, 1, &p, NULL), PT_MQTT_OK);
        assert_int_equal(p.type, firsts[i] >> 4);
        assert_int_equal(p.u.packet_id, 0xbeef);
    }
    assert_int_equal(parse1((const uint8_t *)"\xc0\x00", 2, 0, &p, NULL),
                     PT_MQTT_OK);
    assert_int_equal(p.type, PT_MQTT_T_PINGREQ);
    assert_int_equal(parse1((const uint8_t *)"\xe0\x00", 2, 1, &p, NULL),
                     PT_MQTT_OK);
    assert_int_equal(p.type, PT_MQTT_T_DISCONNECT);
}

static void
test_mqtt_subscribe_good(void **state)
{
    (void)state;
    for (size_t seg = 0; seg < 5; seg++) {
        struct pt_mqtt_packet p;
        struct wb w = { .n = 0 };
        struct rte_mbuf *m;

        put_sub(&w, 9);
        assert_int_equal(parse1(w.b, w.n, seg, &p, &m), PT_MQTT_OK);
        check_stream_pkt(3, &p);
        rte_pktmbuf_free(m);
        w.n = 0;
        put_unsub(&w, 10);
        assert_int_equal(parse1(w.b, w.n, seg, &p, &m), PT_MQTT_OK);
        check_stream_pkt(4, &p);
        rte_pktmbuf_free(m);
    }
}

/* Strings split across segments need scratch; none is not a crash. */
static void
test_mqtt_scratch_too_small(void **state)
{
    struct pt_mqtt_packet p;
    struct pt_mqtt_frame f;
    struct rte_mbuf *m;
    struct wb w = { .n = 0 };
    uint8_t small[4];

    (void)state;
    put_publish(&w, "a/long/topic", 0, 0, "x", 0);
    m = pt_test_mbuf(w.b, w.n, 5);
    assert_int_equal(pt_mqtt_frame(m, 0, (uint32_t)w.n, NOLIMIT, &f), w.n);
    assert_int_equal(pt_mqtt_parse(m, &f, small, sizeof(small), &p),
                     PT_MQTT_E_SCRATCH);
    assert_int_equal(pt_mqtt_parse(m, &f, NULL, 0, &p), PT_MQTT_E_SCRATCH);
    rte_pktmbuf_free(m);
    /* contiguous: no scratch needed */
    m = pt_test_mbuf(w.b, w.n, 0);
    assert_int_equal(pt_mqtt_frame(m, 0, (uint32_t)w.n, NOLIMIT, &f), w.n);
    assert_int_equal(pt_mqtt_parse(m, &f, NULL, 0, &p), PT_MQTT_OK);
    rte_pktmbuf_free(m);
}

static void
test_mqtt_utf8_table(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        enum pt_mqtt_err want;
    } t[] = {
        { "", 0, PT_MQTT_OK },
        { "plain ascii/\x7f", 13, PT_MQTT_OK },
        { "\xc2\x80", 2, PT_MQTT_OK },              /* U+0080 */
        { "\xdf\xbf", 2, PT_MQTT_OK },              /* U+07FF */
        { "\xe0\xa0\x80", 3, PT_MQTT_OK },          /* U+0800 */
        { "\xed\x9f\xbf", 3, PT_MQTT_OK },          /* U+D7FF */
        { "\xee\x80\x80", 3, PT_MQTT_OK },          /* U+E000 */
        { "\xef\xbb\xbf", 3, PT_MQTT_OK },          /* U+FEFF kept */
        { "\xef\xbf\xbf", 3, PT_MQTT_OK },          /* U+FFFF */
        { "\xf0\x90\x80\x80", 4, PT_MQTT_OK },      /* U+10000 */
        { "\xf4\x8f\xbf\xbf", 4, PT_MQTT_OK },      /* U+10FFFF */
        { "\xf0\xaa\x9b\x94", 4, PT_MQTT_OK },      /* U+2A6D4 (spec 1.5.3.1) */
        { "\x00", 1, PT_MQTT_E_UTF8_NUL },
        { "a\x00", 2, PT_MQTT_E_UTF8_NUL },
        { "\xc0\x80", 2, PT_MQTT_E_UTF8 },          /* overlong U+0000 */
        { "\xc1\xbf", 2, PT_MQTT_E_UTF8 },          /* overlong */
        { "\xe0\x9f\xbf", 3, PT_MQTT_E_UTF8 },      /* overlong 3-byte */
        { "\xf0\x8f\xbf\xbf", 4, PT_MQTT_E_UTF8 },  /* overlong 4-byte */
        { "\xed\xa0\x80", 3, PT_MQTT_E_UTF8 },      /* U+D800 */
        { "\xed\xbf\xbf", 3, PT_MQTT_E_UTF8 },      /* U+DFFF */
        { "\xf4\x90\x80\x80", 4, PT_MQTT_E_UTF8 },  /* U+110000 */
        { "\xf5\x80\x80\x80", 4, PT_MQTT_E_UTF8 },
        { "\xff", 1, PT_MQTT_E_UTF8 },
        { "\x80", 1, PT_MQTT_E_UTF8 },              /* lone continuation */
        { "\xc2", 1, PT_MQTT_E_UTF8 },              /* truncated */
        { "\xe2\x82", 2, PT_MQTT_E_UTF8 },          /* truncated */
        { "\xf0\x90\x80", 3, PT_MQTT_E_UTF8 },      /* truncated */
        { "\xe2\x28\xa1", 3, PT_MQTT_E_UTF8 },      /* bad continuation */
        { "ok\xf0\x90\x80\x41", 6, PT_MQTT_E_UTF8 },
    };

    (void)state;
    for (size_t i = 0; i < RTE_DIM(t); i++) {
        enum pt_mqtt_err e = pt_mqtt_utf8_check(t[i].s, t[i].len);

        if (e != t[i].want)
            fail_msg("utf8 case %zu: got %s want %s", i, pt_mqtt_err_name(e),
                     pt_mqtt_err_name(t[i].want));
    }
}

static void
test_mqtt_topic_filter_tables(void **state)
{
    static const struct {
        const char *s;
        enum pt_mqtt_err topic, filter;
    } t[] = {
        { "a", PT_MQTT_OK, PT_MQTT_OK },
        { "/", PT_MQTT_OK, PT_MQTT_OK },
        { "a//b/", PT_MQTT_OK, PT_MQTT_OK },
        { "$SYS/x", PT_MQTT_OK, PT_MQTT_OK },
        { " ", PT_MQTT_OK, PT_MQTT_OK },
        { "", PT_MQTT_E_TOPIC_EMPTY, PT_MQTT_E_FILTER_EMPTY },
        { "#", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "+", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "sport/tennis/#", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "sport/+/player1", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "+/+", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "/+", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "+/tennis/#", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "a/+/", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_OK },
        { "sport/tennis#", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_E_FILTER_WILDCARD },
        { "sport/tennis/#/ranking", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_E_FILTER_WILDCARD },
        { "sport+", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_E_FILTER_WILDCARD },
        { "+sport", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_E_FILTER_WILDCARD },
        { "a/++", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_E_FILTER_WILDCARD },
        { "##", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_E_FILTER_WILDCARD },
        { "#/", PT_MQTT_E_TOPIC_WILDCARD, PT_MQTT_E_FILTER_WILDCARD },
        { "a\xed\xa0\x80", PT_MQTT_E_UTF8, PT_MQTT_E_UTF8 },
    };

    (void)state;
    for (size_t i = 0; i < RTE_DIM(t); i++) {
        size_t len = strlen(t[i].s);

        if (pt_mqtt_topic_check(t[i].s, len) != t[i].topic ||
            pt_mqtt_filter_check(t[i].s, len) != t[i].filter)
            fail_msg("case %zu '%s'", i, t[i].s);
    }
    assert_int_equal(pt_mqtt_topic_check("a\0b", 3), PT_MQTT_E_UTF8_NUL);
    assert_int_equal(pt_mqtt_filter_check("a\0b", 3), PT_MQTT_E_UTF8_NUL);
}

static void
test_mqtt_topic_match_table(void **state)
{
    static const struct {
        const char *filter, *topic;
        bool match;
    } t[] = {
        /* 4.7.1.2 */
        { "sport/tennis/player1/#", "sport/tennis/player1", true },
        { "sport/tennis/player1/#", "sport/tennis/player1/ranking", true },
        { "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true },
        { "sport/tennis/player1/#", "sport/tennis/player2", false },
        { "sport/#", "sport", true },
        { "#", "sport/tennis", true },
        { "#", "/", true },
        /* 4.7.1.3 */
        { "sport/tennis/+", "sport/tennis/player1", true },
        { "sport/tennis/+", "sport/tennis/player2", true },
        { "sport/tennis/+", "sport/tennis/player1/ranking", false },
        { "sport/+", "sport", false },
        { "sport/+", "sport/", true },
        { "+/+", "/finance", true },
        { "/+", "/finance", true },
        { "+", "/finance", false },
        { "+/tennis/#", "sport/tennis/player1", true },
        { "+", "a", true },
        { "a/+/c", "a//c", true },
        { "a/+", "a/", true },
        { "a/", "a/", true },
        { "a/", "a", false },
        { "a", "a/", false },
        { "a/b", "a/b", true },
        { "a/b", "a/bc", false },
        { "a/bc", "a/b", false },
        { "a/#", "a/", true },
        { "a/b/#", "a", false },
        /* 4.7.2: $ topics */
        { "#", "$SYS/x", false },
        { "+/monitor/Clients", "$SYS/monitor/Clients", false },
        { "$SYS/#", "$SYS/monitor/Clients", true },
        { "$SYS/monitor/+", "$SYS/monitor/Clients", true },
        { "+", "$SYS", false },
        { "a/+", "a/$b", true },
    };

    (void)state;
    for (size_t i = 0; i < RTE_DIM(t); i++) {
        assert_int_equal(pt_mqtt_filter_check(t[i].filter,
                                              strlen(t[i].filter)), PT_MQTT_OK);
        if (pt_mqtt_topic_match(t[i].filter, strlen(t[i].filter), t[i].topic,
                                strlen(t[i].topic)) != t[i].match)
            fail_msg("'%s' vs '%s'", t[i].filter, t[i].topic);
    }
}

static void
test_mqtt_encode_roundtrip(void **state)
{
    static uint8_t payload[20000];
    uint8_t hdr[PT_MQTT_PUBLISH_HDR_MAX], buf[64];
    static const uint8_t codes[] = { 0, 1, 2, 0x80 };
    struct pt_mqtt_packet p;

    (void)state;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    /* PUBLISH header + payload as a second chain, parsed back */
    for (uint8_t qos = 0; qos <= 2; qos++) {
        static const uint32_t plens[] = { 0, 1, 100, 20000 };

        for (size_t k = 0; k < RTE_DIM(plens); k++) {
            size_t hl = pt_mqtt_encode_publish_hdr(hdr, sizeof(hdr), "a/b/c", 5,
                                                   qos, true, qos > 0, 42,
                                                   plens[k]);
            struct rte_mbuf *m = pt_test_mbuf(hdr, hl, 0);
            struct pt_mqtt_frame f;
            uint8_t back[20000];

            assert_true(hl > 0);
            assert_int_equal(rte_pktmbuf_chain(m, pt_test_mbuf(payload,
                                               plens[k], 1500)), 0);
            assert_int_equal(pt_mqtt_frame(m, 0, m->pkt_len, NOLIMIT, &f),
                             m->pkt_len);
            assert_int_equal(pt_mqtt_parse(m, &f, scratch, sizeof(scratch),
                                           &p), PT_MQTT_OK);
            assert_int_equal(p.u.publish.qos, qos);
            assert_true(p.u.publish.retain);
            assert_int_equal(p.u.publish.dup, qos > 0);
            assert_int_equal(p.u.publish.packet_id, qos ? 42 : 0);
            assert_true(str_is(&p.u.publish.topic, "a/b/c"));
            assert_int_equal(p.u.publish.payload.len, plens[k]);
            assert_int_equal(p.u.publish.payload.off, hl);
            assert_int_equal(pt_mqtt_span_copy(&p.u.publish.payload, back,
                                               sizeof(back)), plens[k]);
            assert_memory_equal(back, payload, plens[k]);
            rte_pktmbuf_free(m);
        }
    }
    assert_int_equal(pt_mqtt_encode_publish_hdr(hdr, sizeof(hdr), "a", 1, 3,
                                                false, false, 1, 0), 0);
    assert_int_equal(pt_mqtt_encode_publish_hdr(hdr, 8, "a/b/c", 5, 1,
                                                false, false, 1, 0), 0);
    assert_int_equal(pt_mqtt_encode_publish_hdr(hdr, sizeof(hdr), "a", 1, 0,
                                                false, false, 0,
                                                PT_MQTT_REMLEN_MAX), 0);
    /* acks the client also sends parse back */
    {
        static const uint8_t types[] = { PT_MQTT_T_PUBACK, PT_MQTT_T_PUBREC,
                                         PT_MQTT_T_PUBREL, PT_MQTT_T_PUBCOMP };

        for (size_t i = 0; i < RTE_DIM(types); i++) {
            assert_int_equal(pt_mqtt_encode_ack(buf, types[i], 0x0102), 4);
            assert_int_equal(parse1(buf, 4, 0, &p, NULL), PT_MQTT_OK);
            assert_int_equal(p.type, types[i]);
            assert_int_equal(p.u.packet_id, 0x0102);
        }
    }
    assert_int_equal(pt_mqtt_encode_ack(buf, PT_MQTT_T_UNSUBACK, 0x0304), 4);
    assert_memory_equal(buf, "\xb0\x02\x03\x04", 4);
    assert_int_equal(pt_mqtt_encode_ack(buf, PT_MQTT_T_PUBREL, 1), 4);
    assert_int_equal(buf[0], 0x62);
    assert_int_equal(pt_mqtt_encode_ack(buf, PT_MQTT_T_SUBACK, 1), 0);
    /* server-only packets: exact bytes, and refused if a client sent them */
    assert_int_equal(pt_mqtt_encode_connack(buf, true, 0), 4);
    assert_memory_equal(buf, "\x20\x02\x01\x00", 4);
    assert_int_equal(pt_mqtt_encode_connack(buf, false,
                                            PT_MQTT_CONNACK_IDENTIFIER), 4);
    assert_memory_equal(buf, "\x20\x02\x00\x02", 4);
    assert_int_equal(parse1(buf, 4, 0, &p, NULL), PT_MQTT_E_TYPE_SERVER);
    assert_int_equal(pt_mqtt_encode_pingresp(buf), 2);
    assert_memory_equal(buf, "\xd0\x00", 2);
    assert_int_equal(pt_mqtt_encode_suback(buf, sizeof(buf), 0x0a0b, codes, 4),
                     8);
    assert_memory_equal(buf, "\x90\x06\x0a\x0b\x00\x01\x02\x80", 8);
    assert_int_equal(pt_mqtt_encode_suback(buf, 7, 1, codes, 4), 0);
    assert_int_equal(pt_mqtt_encode_suback(buf, sizeof(buf), 1, codes, 0), 0);
}

/* Every file <error name>.<n>.bin in the corpus gives exactly that error,
 * whole or in 1- and 3-byte segments; every violation has a file. */
static void
test_mqtt_corpus(void **state)
{
    const char *dir = getenv("PT_MQTT_CORPUS");
    bool seen[PT_MQTT_E_MAX] = { false };
    struct dirent *de;
    unsigned files = 0;
    DIR *d;

    (void)state;
    if (dir == NULL)
        dir = "tests/unit/mqtt_corpus";
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        const char *dot = strchr(de->d_name, '.');
        size_t nl = strlen(de->d_name);
        uint8_t data[4096];
        enum pt_mqtt_err want = PT_MQTT_E_MAX;
        char path[1024];
        size_t len;
        FILE *fp;

        if (nl < 5 || strcmp(de->d_name + nl - 4, ".bin") != 0)
            continue;
        for (unsigned e = 1; e < PT_MQTT_E_MAX; e++)
            if (strlen(pt_mqtt_err_name(e)) == (size_t)(dot - de->d_name) &&
                memcmp(pt_mqtt_err_name(e), de->d_name, dot - de->d_name) == 0)
                want = e;
        if (want == PT_MQTT_E_MAX)
            fail_msg("%s: no such error", de->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        fp = fopen(path, "rb");
        assert_non_null(fp);
        len = fread(data, 1, sizeof(data), fp);
        fclose(fp);
        for (size_t seg = 0; seg <= 3; seg += seg == 0 ? 1 : 2) {
            struct pt_mqtt_packet p;
            struct rte_mbuf *m = pt_test_mbuf(data, len, seg);
            struct pt_mqtt_frame f;
            int r = pt_mqtt_frame(m, 0, (uint32_t)len, NOLIMIT, &f);
            enum pt_mqtt_err got;

            if (r < 0)
                got = (enum pt_mqtt_err)-r;
            else if (r == 0)
                got = PT_MQTT_E_MAX;   /* incomplete: corpus file is wrong */
            else
                got = pt_mqtt_parse(m, &f, scratch, sizeof(scratch), &p);
            rte_pktmbuf_free(m);
            if (got != want)
                fail_msg("%s (seg %zu): got %s", de->d_name, seg,
                         pt_mqtt_err_name(got));
        }
        seen[want] = true;
        files++;
    }
    closedir(d);
    assert_true(files > 0);
    for (unsigned e = 1; e < PT_MQTT_E_MAX; e++)
        if (!seen[e] && e != PT_MQTT_E_SCRATCH && e != PT_MQTT_E_TOO_LARGE)
            fail_msg("no corpus file for %s", pt_mqtt_err_name(e));
}

static void
test_mqtt_err_names(void **state)
{
    (void)state;
    assert_string_equal(pt_mqtt_err_name(PT_MQTT_OK), "ok");
    assert_string_equal(pt_mqtt_err_name(PT_MQTT_E_MAX), "?");
    for (unsigned a = 1; a < PT_MQTT_E_MAX; a++) {
        assert_true(strncmp(pt_mqtt_err_name(a), "mqtt_", 5) == 0);
        assert_true(strlen(pt_mqtt_err_help(a)) > 5);
        for (unsigned b = a + 1; b < PT_MQTT_E_MAX; b++)
            assert_string_not_equal(pt_mqtt_err_name(a), pt_mqtt_err_name(b));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mqtt_frame_every_split),
        cmocka_unit_test(test_mqtt_remlen_boundaries),
        cmocka_unit_test(test_mqtt_max_packet_size),
        cmocka_unit_test(test_mqtt_connect_good),
        cmocka_unit_test(test_mqtt_publish_good),
        cmocka_unit_test(test_mqtt_acks_good),
        cmocka_unit_test(test_mqtt_subscribe_good),
        cmocka_unit_test(test_mqtt_scratch_too_small),
        cmocka_unit_test(test_mqtt_utf8_table),
        cmocka_unit_test(test_mqtt_topic_filter_tables),
        cmocka_unit_test(test_mqtt_topic_match_table),
        cmocka_unit_test(test_mqtt_encode_roundtrip),
        cmocka_unit_test(test_mqtt_corpus),
        cmocka_unit_test(test_mqtt_err_names),
    };

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("mqtt", tests, NULL, NULL);
}
