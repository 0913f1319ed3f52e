/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the MQTT codec (dataplane/mqtt_codec.c) on arbitrary
 * bytes. Input: byte 0 = k (0..7, mod 8), then k segment sizes (each
 * 1 + b % 64, used in turn) that cut the rest into a chain, then one byte
 * choosing the maximum packet size (2^b for b < 28, else unlimited), then
 * the stream. Frames and parses to the end of the stream, as a
 * connection actor would. Checked on every input, besides ASan/UBSan:
 *   - a short prefix of a frame gives 0 (need more) or the same error;
 *   - a complete frame's header lies inside the input and its length is
 *     header + remaining length;
 *   - every span lies in the chain, inside the frame's body, and its
 *     (segment, offset) names the same byte as its chain offset;
 *   - every string is in a segment or in the scratch, and is re-validated;
 *   - SUBSCRIBE/UNSUBSCRIBE iterators return exactly `count` filters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/mqtt.h>

#include "pt_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t scratch[4096];

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fail: %s\n", #c); abort(); } } while (0)

static struct rte_mbuf *
chain(const uint8_t *d, size_t len, const uint8_t *sizes, unsigned k)
{
    struct rte_mbuf *head = NULL;
    size_t off = 0;
    unsigned i = 0;

    do {
        size_t n = k == 0 ? len : 1 + sizes[i++ % k] % 64;
        struct rte_mbuf *m;

        n = n < len - off ? n : len - off;
        m = pt_test_mbuf(d + off, n, 0);
        if (head == NULL)
            head = m;
        else if (rte_pktmbuf_chain(head, m) != 0)
            abort();
        off += n;
    } while (off < len);
    return head;
}

/* Absolute chain offset of segment seg's first byte, or -1 if not in m. */
static int64_t
seg_base(const struct rte_mbuf *m, const struct rte_mbuf *seg)
{
    int64_t base = 0;

    for (; m != NULL; m = m->next) {
        if (m == seg)
            return base;
        base += m->data_len;
    }
    return -1;
}

static void
check_span(const struct rte_mbuf *m, const struct pt_mqtt_frame *f,
           const struct pt_mqtt_span *s)
{
    int64_t base = seg_base(m, s->seg);
    uint8_t tmp[64];

    CHECK(base >= 0);
    CHECK(base + s->seg_off == s->off);
    CHECK(s->off >= f->off + f->hdr_len);
    CHECK((uint64_t)s->off + s->len <= (uint64_t)f->off + f->hdr_len + f->rem_len);
    CHECK(pt_mqtt_span_copy(s, tmp, sizeof(tmp)) == RTE_MIN(s->len, 64u));
}

static void
check_str(const struct rte_mbuf *m, const struct pt_mqtt_str *s)
{
    const char *p = s->p;
    bool inside = p >= (const char *)scratch &&
                  p + s->len <= (const char *)scratch + sizeof(scratch);

    for (; m != NULL && !inside; m = m->next) {
        const char *d = rte_pktmbuf_mtod(m, const char *);

        inside = p >= d && p + s->len <= d + m->data_len;
    }
    CHECK(inside || s->len == 0);
    CHECK(pt_mqtt_utf8_check(s->p, s->len) == PT_MQTT_OK);
}

static void
check_packet(const struct rte_mbuf *m, const struct pt_mqtt_frame *f,
             struct pt_mqtt_packet *p)
{
    switch (p->type) {
    case PT_MQTT_T_CONNECT:
        check_str(m, &p->u.connect.client_id);
        if (p->u.connect.will) {
            check_str(m, &p->u.connect.will_topic);
            check_span(m, f, &p->u.connect.will_msg);
        }
        if (p->u.connect.has_username)
            check_str(m, &p->u.connect.username);
        if (p->u.connect.has_password)
            check_span(m, f, &p->u.connect.password);
        break;
    case PT_MQTT_T_PUBLISH:
        check_str(m, &p->u.publish.topic);
        CHECK(pt_mqtt_topic_check(p->u.publish.topic.p,
                                  p->u.publish.topic.len) == PT_MQTT_OK);
        check_span(m, f, &p->u.publish.payload);
        CHECK(p->u.publish.payload.off + p->u.publish.payload.len ==
              f->off + f->hdr_len + f->rem_len);
        break;
    case PT_MQTT_T_SUBSCRIBE:
    case PT_MQTT_T_UNSUBSCRIBE: {
        struct pt_mqtt_str s, prev = { 0 };
        uint32_t n = 0;
        uint8_t qos = 0;
        int r;

        while ((r = pt_mqtt_iter_next(&p->u.sub.it, &s, &qos)) == 1) {
            check_str(m, &s);
            CHECK(pt_mqtt_filter_check(s.p, s.len) == PT_MQTT_OK);
            CHECK(qos <= 2);
            if (n > 0)
                (void)pt_mqtt_topic_match(s.p, s.len, prev.p, prev.len);
            prev = s;
            n++;
        }
        CHECK(r == 0 || r == -(int)PT_MQTT_E_SCRATCH);
        CHECK(r != 0 || n == p->u.sub.count);
        break;
    }
    default:
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sizes;
    uint32_t max, off = 0, len;
    struct rte_mbuf *m;
    unsigned k;

    if (pt_test_eal_init() != 0)
        abort();
    if (size < 2)
        return 0;
    k = data[0] % 8;
    /* at most 4000 bytes: 1-byte segments, and the pool has 4095 mbufs */
    if (size < 2 + (size_t)k + 1 || size > 4000)
        return 0;
    sizes = data + 1;
    max = data[1 + k] < 28 ? 1u << data[1 + k] : UINT32_MAX;
    data += 2 + k;
    len = (uint32_t)(size - 2 - k);
    m = chain(data, len, sizes, k);
    CHECK(m->pkt_len == len);

    while (off < len) {
        struct pt_mqtt_frame f, g;
        struct pt_mqtt_packet p;
        enum pt_mqtt_err e;
        int r = pt_mqtt_frame(m, off, len - off, max, &f);

        if (r == 0)
            break;
        /* any shorter prefix: need more, or the same error */
        for (uint32_t a = 0; a < len - off && a < 8; a++) {
            int q = pt_mqtt_frame(m, off, a, max, &g);

            if (r > 0 && a < (uint32_t)r)
                CHECK(q == 0);
            else
                CHECK(q == 0 || q == r);
        }
        if (r < 0) {
            CHECK(-r > 0 && -r < PT_MQTT_E_MAX);
            CHECK(pt_mqtt_err_name((enum pt_mqtt_err)-r)[0] != '?');
            break;
        }
        CHECK(f.off == off && f.hdr_len >= 2 && f.hdr_len <= 5);
        CHECK((uint32_t)r == f.hdr_len + f.rem_len && r <= (int64_t)len - off);
        CHECK(pt_mqtt_frame(m, off, (uint32_t)r - 1, max, &g) == 0);
        e = pt_mqtt_parse(m, &f, scratch, sizeof(scratch), &p);
        CHECK(e < PT_MQTT_E_MAX && e != PT_MQTT_E_REMLEN &&
              e != PT_MQTT_E_TOO_LARGE && e != PT_MQTT_E_TYPE_RESERVED);
        if (e != PT_MQTT_OK) {
            (void)pt_mqtt_connack_code(e);
            break;
        }
        check_packet(m, &f, &p);
        off += (uint32_t)r;
    }
    rte_pktmbuf_free(m);
    if (rte_mempool_in_use_count(pt_test_pool()) != 0)
        abort();
    return 0;
}
