// SPDX-License-Identifier: BSD-3-Clause
/*
 * pt-mqtt-load's MQTT 3.1.1 wire: the few frames a load client sends
 * (CONNECT, SUBSCRIBE, PUBLISH, PUBACK) and the checks on what it reads
 * (frame length, PUBLISH layout), plus the growable byte buffer both
 * directions use. No I/O here. Not a codec for a broker: no QoS 2, no
 * will, no credentials, no properties.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

uint8_t *ld_buf_reserve(struct ld_buf *b, size_t need)
{
    if (b->head == b->tail)
        b->head = b->tail = 0;
    if (b->cap - b->tail >= need)
        return b->p + b->tail;
    if (b->head > 0) {
        memmove(b->p, b->p + b->head, b->tail - b->head);
        b->tail -= b->head;
        b->head = 0;
    }
    if (b->cap - b->tail < need) {
        size_t cap = b->cap ? b->cap : LD_BUF_INIT;
        while (cap - b->tail < need)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            perror("pt-mqtt-load: realloc");
            exit(2);
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->tail;
}

void ld_buf_free(struct ld_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static size_t put_varint(uint8_t *p, uint32_t v)
{
    size_t n = 0;

    do {
        p[n] = v & 0x7f;
        v >>= 7;
        if (v)
            p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

static size_t put_str(uint8_t *p, const char *s, size_t len)
{
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, s, len);
    return len + 2;
}

size_t ld_put_connect(uint8_t *p, const char *id, size_t idlen,
                      uint16_t keepalive)
{
    const uint8_t vh[] = { 0, 4, 'M', 'Q', 'T', 'T', 4,
                           0x02 /* clean session */,
                           (uint8_t)(keepalive >> 8), (uint8_t)keepalive };
    size_t n = 0;

    p[n++] = 0x10;
    n += put_varint(p + n, (uint32_t)(sizeof(vh) + 2 + idlen));
    memcpy(p + n, vh, sizeof(vh));
    n += sizeof(vh);
    n += put_str(p + n, id, idlen);
    return n;
}

size_t ld_put_subscribe(uint8_t *p, const char *topic, size_t tlen,
                        unsigned qos)
{
    size_t n = 0;

    p[n++] = 0x82;
    n += put_varint(p + n, (uint32_t)(2u + 2u + tlen + 1u));
    p[n++] = 0;
    p[n++] = 1;                 /* packet id 1 */
    n += put_str(p + n, topic, tlen);
    p[n++] = (uint8_t)qos;
    return n;
}

size_t ld_put_puback(uint8_t *p, uint16_t id)
{
    p[0] = 0x40;
    p[1] = 2;
    p[2] = (uint8_t)(id >> 8);
    p[3] = (uint8_t)id;
    return 4;
}

size_t ld_put_publish_head(uint8_t *p, const char *topic, size_t tlen,
                           unsigned qos, uint16_t id, uint32_t size)
{
    uint32_t rem = 2u + (uint32_t)tlen + (qos ? 2u : 0u) + size;
    size_t n = 0;

    p[n++] = (uint8_t)(0x30 | (qos << 1));
    n += put_varint(p + n, rem);
    n += put_str(p + n, topic, tlen);
    if (qos) {
        p[n++] = (uint8_t)(id >> 8);
        p[n++] = (uint8_t)id;
    }
    return n;
}

int ld_parse_publish(uint8_t flags, const uint8_t *p, size_t rem,
                     struct ld_publish *out)
{
    unsigned qos = (flags >> 1) & 3;
    size_t tlen, off;

    if (rem < 2 || qos > 1)
        return -1;
    tlen = (size_t)p[0] << 8 | p[1];
    off = 2 + tlen + (qos ? 2 : 0);
    if (off > rem)
        return -1;
    out->qos = qos;
    out->topic = p + 2;
    out->topic_len = tlen;
    out->id = qos ? (uint16_t)(p[2 + tlen] << 8 | p[3 + tlen]) : 0;
    out->payload = p + off;
    out->payload_len = rem - off;
    return 0;
}

int ld_frame_header(const uint8_t *p, size_t avail, size_t *hdr,
                    uint32_t *rem)
{
    size_t h = 1;
    uint32_t r = 0;
    unsigned shift = 0;

    for (;;) {
        if (h >= avail)
            return 1;                   /* length not all here */
        r |= (uint32_t)(p[h] & 0x7f) << shift;
        if (!(p[h++] & 0x80))
            break;
        shift += 7;
        if (h > 4)
            return -1;
    }
    *hdr = h;
    *rem = r;
    return 0;
}
