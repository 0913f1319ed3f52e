/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT 3.1.1 codec: framing of a client's byte stream in an mbuf chain,
 * zero-copy parsing of client -> server packets, encoders for server ->
 * client packets, and the error table. String rules live in
 * mqtt_validate.c. See petrel/mqtt.h for the contract; the decisions
 * where the standard leaves a choice are documented there.
 *
 * Everything reads the chain through a cursor (segment, offset in it,
 * absolute position, end of the packet) so a field may straddle any
 * number of segments, empty ones included. The cursor never reads past
 * `end`, which framing guarantees lies inside the chain; a chain shorter
 * than promised reads as a truncated field, never out of bounds.
 */
#include <string.h>

#include <petrel/debug.h>
#include <petrel/mqtt.h>

static const char *const err_names[] = {
    "ok",
#define PT_X(id, name, help) name,
    PT_MQTT_ERRORS(PT_X)
#undef PT_X
};
static const char *const err_helps[] = {
    "no error",
#define PT_X(id, name, help) help,
    PT_MQTT_ERRORS(PT_X)
#undef PT_X
};

const char *
pt_mqtt_err_name(enum pt_mqtt_err e)
{
    return (unsigned)e < PT_MQTT_E_MAX ? err_names[e] : "?";
}

const char *
pt_mqtt_err_help(enum pt_mqtt_err e)
{
    return (unsigned)e < PT_MQTT_E_MAX ? err_helps[e] : "?";
}

int
pt_mqtt_connack_code(enum pt_mqtt_err e)
{
    if (e == PT_MQTT_E_PROTO_LEVEL)
        return PT_MQTT_CONNACK_PROTOCOL;
    if (e == PT_MQTT_E_CLIENT_ID_EMPTY)
        return PT_MQTT_CONNACK_IDENTIFIER;
    return -1;
}

/* ---- cursor over a chain ---- */

struct cur {
    const struct rte_mbuf *seg;
    uint32_t so;     /* offset in seg; may equal data_len before norm() */
    uint32_t pos;    /* absolute offset from the chain's head */
    uint32_t end;    /* absolute end of what may be read */
};

/* Move past exhausted segments, stopping at the last one. */
static inline void
norm(struct cur *c)
{
    while (c->so >= c->seg->data_len && c->seg->next != NULL) {
        c->so -= c->seg->data_len;
        c->seg = c->seg->next;
    }
}

/* Position a cursor at absolute offset off. */
static void
cur_at(struct cur *c, const struct rte_mbuf *m, uint32_t off, uint32_t end)
{
    c->seg = m;
    c->so = off;
    c->pos = off;
    c->end = end;
    norm(c);
}

static inline enum pt_mqtt_err
get_u8(struct cur *c, uint8_t *v)
{
    if (c->pos >= c->end)
        return PT_MQTT_E_SHORT;
    norm(c);
    if (c->so >= c->seg->data_len)   /* chain shorter than promised */
        return PT_MQTT_E_SHORT;
    *v = rte_pktmbuf_mtod_offset(c->seg, const uint8_t *, c->so)[0];
    c->so++;
    c->pos++;
    return PT_MQTT_OK;
}

static inline enum pt_mqtt_err
get_u16(struct cur *c, uint16_t *v)
{
    uint8_t hi, lo;

    if (get_u8(c, &hi) != PT_MQTT_OK || get_u8(c, &lo) != PT_MQTT_OK)
        return PT_MQTT_E_SHORT;
    *v = (uint16_t)(hi << 8 | lo);
    return PT_MQTT_OK;
}

/* Copy n bytes (known to be before c->end) into dst, advancing. */
static enum pt_mqtt_err
get_bytes(struct cur *c, uint8_t *dst, uint32_t n)
{
    while (n > 0) {
        uint32_t k;

        norm(c);
        if (c->so >= c->seg->data_len)
            return PT_MQTT_E_SHORT;
        k = RTE_MIN(n, (uint32_t)(c->seg->data_len - c->so));
        if (dst != NULL) {
            memcpy(dst, rte_pktmbuf_mtod_offset(c->seg, const uint8_t *,
                                                c->so), k);
            dst += k;
        }
        c->so += k;
        c->pos += k;
        n -= k;
    }
    return PT_MQTT_OK;
}

struct scratch {
    uint8_t *p;
    size_t cap, used;
};

/* A length-prefixed string: a view when contiguous, else a copy into sc. */
static enum pt_mqtt_err
get_str(struct cur *c, struct scratch *sc, struct pt_mqtt_str *s)
{
    uint16_t len;

    if (get_u16(c, &len) != PT_MQTT_OK || c->end - c->pos < len)
        return PT_MQTT_E_SHORT;
    s->len = len;
    s->p = "";
    if (len == 0)
        return PT_MQTT_OK;
    norm(c);
    if (c->seg->data_len >= c->so && c->seg->data_len - c->so >= len) {
        s->p = rte_pktmbuf_mtod_offset(c->seg, const char *, c->so);
        c->so += len;
        c->pos += len;
        return PT_MQTT_OK;
    }
    if (sc->cap - sc->used < len)
        return PT_MQTT_E_SCRATCH;
    s->p = (const char *)sc->p + sc->used;
    sc->used += len;
    return get_bytes(c, sc->p + sc->used - len, len);
}

/* n bytes as a span into the chain (no copy). */
static enum pt_mqtt_err
get_span(struct cur *c, uint32_t n, struct pt_mqtt_span *s)
{
    if (c->end - c->pos < n)
        return PT_MQTT_E_SHORT;
    norm(c);
    s->seg = c->seg;
    s->seg_off = c->so;
    s->off = c->pos;
    s->len = n;
    return get_bytes(c, NULL, n);
}

static enum pt_mqtt_err
get_blob(struct cur *c, struct pt_mqtt_span *s)
{
    uint16_t len;

    if (get_u16(c, &len) != PT_MQTT_OK)
        return PT_MQTT_E_SHORT;
    return get_span(c, len, s);
}

uint32_t
pt_mqtt_span_copy(const struct pt_mqtt_span *s, void *buf, uint32_t cap)
{
    struct cur c = { .seg = s->seg, .so = s->seg_off, .pos = 0,
                     .end = RTE_MIN(cap, s->len) };

    if (c.end == 0 || get_bytes(&c, buf, c.end) != PT_MQTT_OK)
        return 0;
    return c.end;
}

/* ---- framing ---- */

/* Type and flag checks that need only the first byte. */
static enum pt_mqtt_err
check_first(uint8_t b)
{
    uint8_t type = b >> 4, flags = b & 0x0f;

    switch (type) {
    case 0:
    case 15:
        return PT_MQTT_E_TYPE_RESERVED;
    case PT_MQTT_T_CONNACK:
    case PT_MQTT_T_SUBACK:
    case PT_MQTT_T_UNSUBACK:
    case PT_MQTT_T_PINGRESP:
        return PT_MQTT_E_TYPE_SERVER;
    case PT_MQTT_T_PUBLISH: {
        uint8_t qos = (flags & PT_MQTT_PUB_QOS_MASK) >> PT_MQTT_PUB_QOS_SHIFT;

        if (qos == 3)
            return PT_MQTT_E_QOS;
        if (qos == 0 && (flags & PT_MQTT_PUB_DUP))
            return PT_MQTT_E_DUP_QOS0;
        return PT_MQTT_OK;
    }
    case PT_MQTT_T_PUBREL:
    case PT_MQTT_T_SUBSCRIBE:
    case PT_MQTT_T_UNSUBSCRIBE:
        return flags == PT_MQTT_FLAGS_REQUIRED ? PT_MQTT_OK : PT_MQTT_E_FLAGS;
    default:
        return flags == 0 ? PT_MQTT_OK : PT_MQTT_E_FLAGS;
    }
}

int
pt_mqtt_frame(const struct rte_mbuf *m, uint32_t off, uint32_t avail,
              uint32_t max_packet, struct pt_mqtt_frame *f)
{
    struct cur c;
    enum pt_mqtt_err e;
    uint32_t len = 0;
    uint8_t b;

    PT_HOT_ASSERT(m != NULL && f != NULL);
    PT_HOT_ASSERT((uint64_t)off + avail <= m->pkt_len);
    f->off = off;
    f->hdr_len = 0;
    f->rem_len = 0;
    f->body_seg = NULL;
    f->body_seg_off = 0;
    if (avail == 0)
        return 0;
    cur_at(&c, m, off, off + avail);
    if (get_u8(&c, &b) != PT_MQTT_OK)
        return 0;
    f->type = b >> 4;
    f->flags = b & 0x0f;
    e = check_first(b);
    if (e != PT_MQTT_OK)
        return -(int)e;
    for (unsigned i = 0;; i++) {
        if (get_u8(&c, &b) != PT_MQTT_OK)
            return 0;
        len |= (uint32_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
        if (i + 1 == PT_MQTT_REMLEN_BYTES_MAX)
            return -(int)PT_MQTT_E_REMLEN;
    }
    f->hdr_len = (uint8_t)(c.pos - off);
    f->rem_len = len;
    if ((uint64_t)f->hdr_len + len > max_packet)
        return -(int)PT_MQTT_E_TOO_LARGE;
    if (avail - f->hdr_len < len)
        return 0;
    norm(&c);
    f->body_seg = c.seg;
    f->body_seg_off = c.so;
    return (int)(f->hdr_len + len);
}

/* ---- parsing ---- */

static enum pt_mqtt_err
parse_connect(struct cur *c, struct scratch *sc, struct pt_mqtt_connect *p)
{
    struct pt_mqtt_str name;
    enum pt_mqtt_err e;
    uint8_t level, fl;

    memset(p, 0, sizeof(*p));
    e = get_str(c, sc, &name);
    if (e != PT_MQTT_OK)
        return e;
    if (get_u8(c, &level) != PT_MQTT_OK)
        return PT_MQTT_E_SHORT;
    if (name.len == 4 && memcmp(name.p, PT_MQTT_PROTO_NAME, 4) == 0) {
        if (level != PT_MQTT_PROTO_LEVEL)
            return PT_MQTT_E_PROTO_LEVEL;
    } else if (name.len == 6 && memcmp(name.p, PT_MQTT_PROTO_NAME_31, 6) == 0) {
        return PT_MQTT_E_PROTO_LEVEL;   /* MQTT 3.1: not spoken */
    } else {
        return PT_MQTT_E_PROTO_NAME;
    }
    sc->used = 0;   /* the name is not kept */
    if (get_u8(c, &fl) != PT_MQTT_OK ||
        get_u16(c, &p->keepalive) != PT_MQTT_OK)
        return PT_MQTT_E_SHORT;
    p->flags = fl;
    if (fl & PT_MQTT_CF_RESERVED)
        return PT_MQTT_E_CONNECT_RESERVED;
    p->clean_session = fl & PT_MQTT_CF_CLEAN;
    p->will = fl & PT_MQTT_CF_WILL;
    p->will_qos = (fl & PT_MQTT_CF_WILL_QOS_MASK) >> PT_MQTT_CF_WILL_QOS_SHIFT;
    p->will_retain = fl & PT_MQTT_CF_WILL_RETAIN;
    p->has_username = fl & PT_MQTT_CF_USERNAME;
    p->has_password = fl & PT_MQTT_CF_PASSWORD;
    if (p->will_qos == 3 || (!p->will && (p->will_qos || p->will_retain)))
        return PT_MQTT_E_WILL_FLAGS;
    if (p->has_password && !p->has_username)
        return PT_MQTT_E_PASSWORD_FLAG;

    e = get_str(c, sc, &p->client_id);
    if (e == PT_MQTT_OK)
        e = pt_mqtt_utf8_check(p->client_id.p, p->client_id.len);
    if (e != PT_MQTT_OK)
        return e;
    if (p->client_id.len == 0 && !p->clean_session)
        return PT_MQTT_E_CLIENT_ID_EMPTY;
    if (p->will) {
        e = get_str(c, sc, &p->will_topic);
        if (e == PT_MQTT_OK)
            e = pt_mqtt_topic_check(p->will_topic.p, p->will_topic.len);
        if (e == PT_MQTT_OK)
            e = get_blob(c, &p->will_msg);
        if (e != PT_MQTT_OK)
            return e;
    }
    if (p->has_username) {
        e = get_str(c, sc, &p->username);
        if (e == PT_MQTT_OK)
            e = pt_mqtt_utf8_check(p->username.p, p->username.len);
        if (e != PT_MQTT_OK)
            return e;
    }
    if (p->has_password) {
        e = get_blob(c, &p->password);
        if (e != PT_MQTT_OK)
            return e;
    }
    return c->pos == c->end ? PT_MQTT_OK : PT_MQTT_E_TRAILING;
}

static enum pt_mqtt_err
parse_publish(struct cur *c, struct scratch *sc, uint8_t flags,
              struct pt_mqtt_publish *p)
{
    enum pt_mqtt_err e;

    memset(p, 0, sizeof(*p));
    p->qos = (flags & PT_MQTT_PUB_QOS_MASK) >> PT_MQTT_PUB_QOS_SHIFT;
    p->dup = flags & PT_MQTT_PUB_DUP;
    p->retain = flags & PT_MQTT_PUB_RETAIN;
    e = get_str(c, sc, &p->topic);
    if (e == PT_MQTT_OK)
        e = pt_mqtt_topic_check(p->topic.p, p->topic.len);
    if (e != PT_MQTT_OK)
        return e;
    if (p->qos > 0) {
        if (get_u16(c, &p->packet_id) != PT_MQTT_OK)
            return PT_MQTT_E_SHORT;
        if (p->packet_id == 0)
            return PT_MQTT_E_PACKET_ID_ZERO;
    }
    return get_span(c, c->end - c->pos, &p->payload);
}

static enum pt_mqtt_err
parse_sub(struct cur *c, struct scratch *sc, bool with_qos,
          struct pt_mqtt_subscribe *p)
{
    memset(p, 0, sizeof(*p));
    if (get_u16(c, &p->packet_id) != PT_MQTT_OK)
        return PT_MQTT_E_SHORT;
    if (p->packet_id == 0)
        return PT_MQTT_E_PACKET_ID_ZERO;
    norm(c);
    p->it = (struct pt_mqtt_iter){
        .seg = c->seg, .seg_off = c->so, .pos = c->pos, .end = c->end,
        .scratch = sc->p, .scratch_cap = sc->cap, .with_qos = with_qos,
    };
    while (c->pos < c->end) {
        struct pt_mqtt_str s;
        enum pt_mqtt_err e;
        uint8_t qos;

        sc->used = 0;   /* validation only: the iterator copies again */
        e = get_str(c, sc, &s);
        if (e == PT_MQTT_OK)
            e = pt_mqtt_filter_check(s.p, s.len);
        if (e != PT_MQTT_OK)
            return e;
        if (with_qos) {
            if (get_u8(c, &qos) != PT_MQTT_OK)
                return PT_MQTT_E_SHORT;
            if (qos > 2)   /* also catches the 6 reserved bits */
                return PT_MQTT_E_SUB_QOS;
        }
        p->count++;
    }
    return p->count > 0 ? PT_MQTT_OK : PT_MQTT_E_NO_TOPICS;
}

enum pt_mqtt_err
pt_mqtt_parse(const struct rte_mbuf *m, const struct pt_mqtt_frame *f,
              uint8_t *scratch, size_t cap, struct pt_mqtt_packet *pkt)
{
    struct scratch sc = { .p = scratch, .cap = scratch != NULL ? cap : 0 };
    uint32_t body = f->off + f->hdr_len;
    enum pt_mqtt_err e;
    struct cur c;

    PT_HOT_ASSERT(m != NULL && f != NULL && pkt != NULL && f->hdr_len > 0);
    e = check_first((uint8_t)(f->type << 4 | f->flags));
    if (e != PT_MQTT_OK)
        return e;
    if (f->body_seg != NULL) {
        c = (struct cur){ .seg = f->body_seg, .so = f->body_seg_off,
                          .pos = body, .end = body + f->rem_len };
    } else {
        cur_at(&c, m, body, body + f->rem_len);
    }
    pkt->type = f->type;
    switch (f->type) {
    case PT_MQTT_T_CONNECT:
        return parse_connect(&c, &sc, &pkt->u.connect);
    case PT_MQTT_T_PUBLISH:
        return parse_publish(&c, &sc, f->flags, &pkt->u.publish);
    case PT_MQTT_T_PUBACK:
    case PT_MQTT_T_PUBREC:
    case PT_MQTT_T_PUBREL:
    case PT_MQTT_T_PUBCOMP:
        if (get_u16(&c, &pkt->u.packet_id) != PT_MQTT_OK)
            return PT_MQTT_E_SHORT;
        if (c.pos != c.end)
            return PT_MQTT_E_TRAILING;
        return pkt->u.packet_id != 0 ? PT_MQTT_OK : PT_MQTT_E_PACKET_ID_ZERO;
    case PT_MQTT_T_SUBSCRIBE:
        return parse_sub(&c, &sc, true, &pkt->u.sub);
    case PT_MQTT_T_UNSUBSCRIBE:
        return parse_sub(&c, &sc, false, &pkt->u.sub);
    default:   /* PINGREQ, DISCONNECT (check_first refused the rest) */
        return f->rem_len == 0 ? PT_MQTT_OK : PT_MQTT_E_TRAILING;
    }
}

int
pt_mqtt_iter_next(struct pt_mqtt_iter *it, struct pt_mqtt_str *filter,
                  uint8_t *qos)
{
    struct cur c = { .seg = it->seg, .so = it->seg_off, .pos = it->pos,
                     .end = it->end };
    struct scratch sc = { .p = it->scratch, .cap = it->scratch_cap,
                          .used = it->scratch_used };
    uint8_t q = 0;

    if (c.pos >= c.end)
        return 0;
    if (get_str(&c, &sc, filter) != PT_MQTT_OK)
        return -(int)PT_MQTT_E_SCRATCH;   /* validated: only room can fail */
    if (it->with_qos && get_u8(&c, &q) == PT_MQTT_OK && qos != NULL)
        *qos = q;
    it->seg = c.seg;
    it->seg_off = c.so;
    it->pos = c.pos;
    it->scratch_used = sc.used;
    return 1;
}

/* ---- encoders ---- */

size_t
pt_mqtt_encode_remlen(uint8_t *buf, uint32_t len)
{
    size_t n = 0;

    if (len > PT_MQTT_REMLEN_MAX)
        return 0;
    do {
        uint8_t b = len & 0x7f;

        len >>= 7;
        buf[n++] = b | (len > 0 ? 0x80 : 0);
    } while (len > 0);
    return n;
}

static size_t
remlen_size(uint32_t len)
{
    return len < 128 ? 1 : len < 16384 ? 2 : len < 2097152 ? 3 : 4;
}

size_t
pt_mqtt_encode_connack(uint8_t *buf, bool session_present, uint8_t rc)
{
    buf[0] = PT_MQTT_T_CONNACK << 4;
    buf[1] = 2;
    buf[2] = session_present ? PT_MQTT_CONNACK_SP : 0;
    buf[3] = rc;
    return 4;
}

size_t
pt_mqtt_encode_ack(uint8_t *buf, uint8_t type, uint16_t packet_id)
{
    uint8_t flags = 0;

    switch (type) {
    case PT_MQTT_T_PUBREL:
        flags = PT_MQTT_FLAGS_REQUIRED;
        break;
    case PT_MQTT_T_PUBACK:
    case PT_MQTT_T_PUBREC:
    case PT_MQTT_T_PUBCOMP:
    case PT_MQTT_T_UNSUBACK:
        break;
    default:
        return 0;
    }
    buf[0] = (uint8_t)(type << 4 | flags);
    buf[1] = 2;
    buf[2] = packet_id >> 8;
    buf[3] = packet_id & 0xff;
    return 4;
}

size_t
pt_mqtt_encode_pingresp(uint8_t *buf)
{
    buf[0] = PT_MQTT_T_PINGRESP << 4;
    buf[1] = 0;
    return 2;
}

size_t
pt_mqtt_encode_suback(uint8_t *buf, size_t cap, uint16_t packet_id,
                      const uint8_t *codes, size_t n)
{
    size_t hl, rem = 2 + n;

    if (n == 0 || rem > PT_MQTT_REMLEN_MAX || 1 + remlen_size(rem) + rem > cap)
        return 0;
    buf[0] = PT_MQTT_T_SUBACK << 4;
    hl = 1 + pt_mqtt_encode_remlen(buf + 1, (uint32_t)rem);
    buf[hl] = packet_id >> 8;
    buf[hl + 1] = packet_id & 0xff;
    memcpy(buf + hl + 2, codes, n);
    return hl + rem;
}

size_t
pt_mqtt_encode_publish_hdr(uint8_t *buf, size_t cap, const char *topic,
                           uint16_t tlen, uint8_t qos, bool retain, bool dup,
                           uint16_t packet_id, uint32_t payload_len)
{
    size_t vh = 2 + (size_t)tlen + (qos > 0 ? 2 : 0);
    uint64_t rem = vh + (uint64_t)payload_len;
    size_t n;

    if (qos > 2 || rem > PT_MQTT_REMLEN_MAX ||
        1 + remlen_size((uint32_t)rem) + vh > cap)
        return 0;
    buf[0] = (uint8_t)(PT_MQTT_T_PUBLISH << 4 | (dup ? PT_MQTT_PUB_DUP : 0) |
                       qos << PT_MQTT_PUB_QOS_SHIFT |
                       (retain ? PT_MQTT_PUB_RETAIN : 0));
    n = 1 + pt_mqtt_encode_remlen(buf + 1, (uint32_t)rem);
    buf[n++] = tlen >> 8;
    buf[n++] = tlen & 0xff;
    memcpy(buf + n, topic, tlen);
    n += tlen;
    if (qos > 0) {
        buf[n++] = packet_id >> 8;
        buf[n++] = packet_id & 0xff;
    }
    return n;
}
