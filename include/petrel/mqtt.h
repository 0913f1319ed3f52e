/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT 3.1.1 codec, server side: framing of a client's byte stream held in
 * an mbuf chain, zero-copy parsing of every client -> server packet,
 * validation of UTF-8 strings, topic names and topic filters, topic
 * matching, and encoders for every server -> client packet.
 *
 * What it is not: no session state, no packet-id bookkeeping, no
 * "CONNECT must come first" rule (the connection actor enforces those).
 *
 * Typical use by a connection actor, whose received bytes are a chain:
 *
 *     n = pt_mqtt_frame(chain, off, avail, max, &f);
 *     n == 0: wait for more bytes (f.hdr_len/f.rem_len tell how many once
 *             the header is in); n < 0: close, count -n by reason;
 *     n > 0:  e = pt_mqtt_parse(chain, &f, scratch, cap, &pkt);
 *             handle pkt, then off += n.
 *
 * Zero copy: strings (client id, topics, user name) are views into the
 * mbuf data when their bytes lie in one segment, else copied into the
 * caller's scratch buffer (so the copies never exceed the packet's
 * remaining length: a scratch of max_packet bytes always suffices).
 * Potentially large binary fields (will message, password, PUBLISH
 * payload) are spans into the chain, never copied. Views and spans stay
 * valid while the chain and the scratch are left untouched.
 *
 * Ownership: the codec never takes, frees or modifies mbufs.
 *
 * Cost: framing reads the 2-5 header bytes and walks the chain's segment
 * list up to the frame's body; parsing reads each field once (strings
 * that straddle segments are copied once); no allocation, no locks.
 *
 * Threading: pure functions, any thread; the only state is what the
 * caller passes in.
 */
#ifndef PETREL_MQTT_H
#define PETREL_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include <petrel/mqtt_wire.h>

/*
 * Every reason the codec refuses input (ID, stats name, meaning). All but
 * SCRATCH are protocol violations by the client: the server closes the
 * connection (after a CONNACK for the two pt_mqtt_connack_code() maps).
 */
#define PT_MQTT_ERRORS(X)                                                     \
    X(REMLEN, "mqtt_bad_remaining_length", "remaining length continues into a 5th byte (MQTT-2.2.3)") \
    X(TOO_LARGE, "mqtt_packet_too_large", "packet larger than the configured maximum") \
    X(TYPE_RESERVED, "mqtt_reserved_type", "packet type 0 or 15")             \
    X(TYPE_SERVER, "mqtt_server_only_type", "CONNACK, SUBACK, UNSUBACK or PINGRESP sent by a client") \
    X(FLAGS, "mqtt_bad_flags", "fixed-header flags not those the type requires (MQTT-2.2.2-2)") \
    X(QOS, "mqtt_bad_qos", "PUBLISH with QoS 3 (MQTT-3.3.1-4)")               \
    X(DUP_QOS0, "mqtt_dup_qos0", "PUBLISH with DUP set and QoS 0 (MQTT-3.3.1-2)") \
    X(SHORT, "mqtt_truncated", "a field runs past the remaining length")      \
    X(TRAILING, "mqtt_trailing_bytes", "bytes left after the packet's last field") \
    X(PROTO_NAME, "mqtt_bad_protocol_name", "CONNECT protocol name neither MQTT nor MQIsdp (MQTT-3.1.2-1)") \
    X(PROTO_LEVEL, "mqtt_bad_protocol_level", "CONNECT protocol level not 4 (CONNACK 0x01, MQTT-3.1.2-2)") \
    X(CONNECT_RESERVED, "mqtt_connect_reserved_flag", "CONNECT reserved flag set (MQTT-3.1.2-3)") \
    X(WILL_FLAGS, "mqtt_bad_will_flags", "will QoS 3, or will QoS/retain without the will flag (MQTT-3.1.2-13/14/15)") \
    X(PASSWORD_FLAG, "mqtt_password_without_username", "password flag without user name flag (MQTT-3.1.2-22)") \
    X(CLIENT_ID_EMPTY, "mqtt_empty_client_id", "empty client id with clean session 0 (CONNACK 0x02, MQTT-3.1.3-8)") \
    X(UTF8, "mqtt_bad_utf8", "malformed UTF-8: overlong, surrogate, above U+10FFFF, truncated (MQTT-1.5.3-1)") \
    X(UTF8_NUL, "mqtt_utf8_nul", "string contains U+0000 (MQTT-1.5.3-2)")    \
    X(TOPIC_EMPTY, "mqtt_empty_topic", "empty topic name (MQTT-4.7.3-1)")     \
    X(TOPIC_WILDCARD, "mqtt_wildcard_in_topic", "'+' or '#' in a topic name (MQTT-3.3.2-2)") \
    X(FILTER_EMPTY, "mqtt_empty_filter", "empty topic filter (MQTT-4.7.3-1)") \
    X(FILTER_WILDCARD, "mqtt_bad_wildcard", "'#' not last and alone in its level, or '+' not alone in its level (MQTT-4.7.1-2/3)") \
    X(PACKET_ID_ZERO, "mqtt_packet_id_zero", "packet identifier 0 (MQTT-2.3.1-1)") \
    X(NO_TOPICS, "mqtt_no_topic_filters", "SUBSCRIBE or UNSUBSCRIBE without a filter (MQTT-3.8.3-3, 3.10.3-2)") \
    X(SUB_QOS, "mqtt_bad_requested_qos", "SUBSCRIBE requested QoS above 2 or reserved bits set (MQTT-3.8.3-4)") \
    X(SCRATCH, "mqtt_scratch_too_small", "split strings did not fit the caller's scratch (not the client's fault)")

enum pt_mqtt_err {
    PT_MQTT_OK = 0,
#define PT_X(id, name, help) PT_MQTT_E_##id,
    PT_MQTT_ERRORS(PT_X)
#undef PT_X
    PT_MQTT_E_MAX   /* counters indexed by error are this long, 0 unused */
};

/** Stats name of an error ("ok" for PT_MQTT_OK, "?" out of range). */
const char *pt_mqtt_err_name(enum pt_mqtt_err e);
/** One-line meaning of an error. */
const char *pt_mqtt_err_help(enum pt_mqtt_err e);

/**
 * What the server answers to a CONNECT refused with e.
 * @return PT_MQTT_CONNACK_PROTOCOL (0x01) for PROTO_LEVEL,
 *         PT_MQTT_CONNACK_IDENTIFIER (0x02) for CLIENT_ID_EMPTY,
 *         -1 for every other error: close without CONNACK (MQTT-3.1.4-1).
 */
int pt_mqtt_connack_code(enum pt_mqtt_err e);

/** A complete or partial fixed header found by pt_mqtt_frame(). */
struct pt_mqtt_frame {
    uint32_t off;        /* chain offset of the first header byte */
    uint32_t rem_len;    /* remaining length (valid when hdr_len != 0) */
    uint8_t type;        /* PT_MQTT_T_* */
    uint8_t flags;       /* low nibble of the first byte */
    uint8_t hdr_len;     /* 2..5; 0 while the header is incomplete */
    /* where the body (first byte after the header) lies: segment and
     * offset in it; only set when pt_mqtt_frame() returned > 0 */
    const struct rte_mbuf *body_seg;
    uint32_t body_seg_off;
};

/**
 * Find the packet that starts at offset off of chain m, of which avail
 * bytes are present (off + avail <= the chain's pkt_len; any segment
 * layout, empty segments included). Checks, as soon as the bytes for each
 * are in: the type (reserved, server-only), the fixed-header flags, the
 * remaining length's encoding (non-minimal encodings accepted, a 5th byte
 * refused), and the size against max_packet (header + remaining length;
 * refused before the body arrives).
 * @return the packet's total length (> 0) when all of it is present;
 *   0 when more bytes are needed (f->hdr_len then tells whether the
 *   header is complete; if so, hdr_len + rem_len bytes are needed);
 *   -PT_MQTT_E_REMLEN, -E_TOO_LARGE, -E_TYPE_RESERVED, -E_TYPE_SERVER,
 *   -E_FLAGS, -E_QOS, -E_DUP_QOS0 on a violation.
 */
int pt_mqtt_frame(const struct rte_mbuf *m, uint32_t off, uint32_t avail,
                  uint32_t max_packet, struct pt_mqtt_frame *f);

/** A string field: len bytes at p, not NUL-terminated, validated. */
struct pt_mqtt_str {
    const char *p;   /* never NULL (an empty string points at "") */
    uint16_t len;
};

/** Bytes of the chain: starting in segment seg at seg_off (== offset off
 * from the chain's head), len bytes, possibly over several segments. */
struct pt_mqtt_span {
    const struct rte_mbuf *seg;
    uint32_t seg_off;
    uint32_t off;
    uint32_t len;
};

struct pt_mqtt_connect {
    uint8_t flags;            /* raw connect flags, PT_MQTT_CF_* */
    bool clean_session;
    bool will;
    uint8_t will_qos;         /* 0..2, 0 without will */
    bool will_retain;
    bool has_username, has_password;
    uint16_t keepalive;       /* seconds, 0 = off */
    struct pt_mqtt_str client_id;   /* any length 0..65535, UTF-8 */
    struct pt_mqtt_str will_topic;  /* a valid topic name when will */
    struct pt_mqtt_span will_msg;   /* binary, when will */
    struct pt_mqtt_str username;    /* UTF-8, when has_username */
    struct pt_mqtt_span password;   /* binary, when has_password */
};

struct pt_mqtt_publish {
    uint8_t qos;
    bool dup, retain;
    uint16_t packet_id;       /* non-zero when qos > 0, else 0 */
    struct pt_mqtt_str topic; /* valid topic name */
    struct pt_mqtt_span payload;   /* the rest of the packet, maybe empty */
};

/** Walks the filters of a parsed SUBSCRIBE or UNSUBSCRIBE (all already
 * validated). Fields are private to the codec. */
struct pt_mqtt_iter {
    const struct rte_mbuf *seg;
    uint32_t seg_off;
    uint32_t pos, end;
    uint8_t *scratch;
    size_t scratch_cap, scratch_used;
    bool with_qos;
};

struct pt_mqtt_subscribe {     /* SUBSCRIBE and UNSUBSCRIBE */
    uint16_t packet_id;
    uint32_t count;            /* filters, >= 1 */
    struct pt_mqtt_iter it;    /* positioned on the first filter */
};

/** A parsed client -> server packet. */
struct pt_mqtt_packet {
    uint8_t type;              /* PT_MQTT_T_* */
    union {
        struct pt_mqtt_connect connect;
        struct pt_mqtt_publish publish;
        uint16_t packet_id;    /* PUBACK, PUBREC, PUBREL, PUBCOMP */
        struct pt_mqtt_subscribe sub;   /* SUBSCRIBE, UNSUBSCRIBE */
    } u;                       /* nothing for PINGREQ, DISCONNECT */
};

/**
 * Parse the complete packet f (from pt_mqtt_frame() > 0 on the same chain
 * m) into pkt. Strings split across segments are copied into scratch
 * (cap bytes; hdr_len + rem_len bytes always suffice).
 *
 * CONNECT: only protocol name "MQTT" level 4 is accepted. "MQTT" with
 * another level and MQTT 3.1's "MQIsdp" (any level) give PROTO_LEVEL, so
 * the client gets CONNACK 0x01 (unacceptable protocol version), which a
 * 3.1 client understands; any other name gives PROTO_NAME (close). Level
 * is checked before the flags, as the rest may be in another format.
 * Client ids are accepted at any length and content that is valid UTF-8
 * (the 23-character limit of MQTT-3.1.3-5 is a server's MAY).
 * UTF-8 control characters and non-characters are accepted (a SHOULD NOT
 * for the sender, MQTT-1.5.3-4).
 *
 * @return PT_MQTT_OK, or the violation (any enum value except REMLEN,
 *   TOO_LARGE, TYPE_RESERVED, which pt_mqtt_frame() reports; a frame
 *   not from pt_mqtt_frame() is re-checked for type and flags).
 */
enum pt_mqtt_err pt_mqtt_parse(const struct rte_mbuf *m,
                               const struct pt_mqtt_frame *f,
                               uint8_t *scratch, size_t cap,
                               struct pt_mqtt_packet *pkt);

/**
 * Next filter of a SUBSCRIBE/UNSUBSCRIBE. A filter split across segments
 * is appended to the scratch given to pt_mqtt_parse(), so every filter
 * returned stays valid until that scratch is reused.
 * @param qos requested QoS (0..2; left alone for UNSUBSCRIBE); may be NULL
 * @return 1 with *filter set, 0 after the last filter (or -PT_MQTT_E_SCRATCH
 *   if the scratch cannot hold a split filter).
 */
int pt_mqtt_iter_next(struct pt_mqtt_iter *it, struct pt_mqtt_str *filter,
                      uint8_t *qos);

/** Copy up to cap bytes of a span out of the chain. @return bytes copied. */
uint32_t pt_mqtt_span_copy(const struct pt_mqtt_span *s, void *buf,
                           uint32_t cap);

/* ---- validation (dataplane/mqtt_validate.c), also used by the trie ---- */

/**
 * UTF-8 as MQTT 1.5.3 requires: well formed (no overlong forms, no
 * surrogates U+D800..DFFF, nothing above U+10FFFF, no truncated
 * sequence) and no U+0000.
 * @return PT_MQTT_OK, PT_MQTT_E_UTF8 or PT_MQTT_E_UTF8_NUL
 */
enum pt_mqtt_err pt_mqtt_utf8_check(const void *s, size_t len);

/** A topic name (PUBLISH, will): UTF-8, non-empty, no '+' or '#'.
 * @return PT_MQTT_OK, E_UTF8, E_UTF8_NUL, E_TOPIC_EMPTY, E_TOPIC_WILDCARD */
enum pt_mqtt_err pt_mqtt_topic_check(const char *s, size_t len);

/** A topic filter: UTF-8, non-empty, '#' only as the whole last level,
 * '+' only as a whole level.
 * @return PT_MQTT_OK, E_UTF8, E_UTF8_NUL, E_FILTER_EMPTY, E_FILTER_WILDCARD */
enum pt_mqtt_err pt_mqtt_filter_check(const char *s, size_t len);

/**
 * Whether a valid filter matches a valid topic name (4.7): '+' matches
 * exactly one level (an empty one too), '#' the parent level and any
 * number of children ("a/#" matches "a"); a filter starting with '+' or
 * '#' does not match a topic starting with '$' (MQTT-4.7.2-1).
 */
bool pt_mqtt_topic_match(const char *filter, size_t flen,
                         const char *topic, size_t tlen);

/* ---- encoders: server -> client packets into a caller buffer ---- */

/** Remaining-length bytes for len into buf (room for 4).
 * @return 1..4, or 0 if len > PT_MQTT_REMLEN_MAX */
size_t pt_mqtt_encode_remlen(uint8_t *buf, uint32_t len);

/** CONNACK (4 bytes). @return 4 */
size_t pt_mqtt_encode_connack(uint8_t *buf, bool session_present,
                              uint8_t rc);

/** PUBACK, PUBREC, PUBREL (flags 0x2 added), PUBCOMP or UNSUBACK
 * (4 bytes). @return 4, or 0 for any other type */
size_t pt_mqtt_encode_ack(uint8_t *buf, uint8_t type, uint16_t packet_id);

/** PINGRESP (2 bytes). @return 2 */
size_t pt_mqtt_encode_pingresp(uint8_t *buf);

/** SUBACK with n return codes (0..2 or 0x80) into cap bytes.
 * @return its length, or 0 if it does not fit or n is 0 */
size_t pt_mqtt_encode_suback(uint8_t *buf, size_t cap, uint16_t packet_id,
                             const uint8_t *codes, size_t n);

/** Longest PUBLISH header: fixed header, topic, packet id. */
#define PT_MQTT_PUBLISH_HDR_MAX (1 + 4 + 2 + 65535 + 2)

/**
 * PUBLISH fixed and variable header for a payload of payload_len bytes,
 * which the caller appends (as mbufs). packet_id is written for qos > 0.
 * The topic is not validated (the broker only forwards valid ones).
 * @return the header length, or 0 if qos > 2, it does not fit cap, or the
 *   remaining length would exceed PT_MQTT_REMLEN_MAX
 */
size_t pt_mqtt_encode_publish_hdr(uint8_t *buf, size_t cap,
                                  const char *topic, uint16_t tlen,
                                  uint8_t qos, bool retain, bool dup,
                                  uint16_t packet_id, uint32_t payload_len);

#endif /* PETREL_MQTT_H */
