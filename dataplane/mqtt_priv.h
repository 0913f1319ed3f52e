/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Broker internals shared by dataplane/mqtt_*.c and control/broker_ctl.c.
 * Not a public API: include/petrel/broker.h is.
 *
 * Objects and owners:
 *   - struct pt_mqtt_conn: the connection actor (one per TCP connection
 *     on port mqtt.port), from its core's pool; owned by that core.
 *   - struct pt_mqtt_session: the MQTT session, from the node-wide
 *     session mempool; owned by exactly one core at a time (the one whose
 *     trie holds its subscriptions). It moves between cores on takeover:
 *     the old core detaches it and passes the pointer, through the control
 *     plane, to the new one.
 *   - struct pt_mqtt_qent: one queued or in-flight QoS 1/2 delivery (or
 *     one unreleased inbound QoS 2 packet id), node-wide mempool; belongs
 *     to its session.
 *   - messages: an mbuf chain holding a complete QoS 0 PUBLISH (fixed
 *     header, topic, payload) with its facts in the pt_msg dynfield;
 *     shared read-only by reference count (every segment's refcnt, see
 *     pt_msg_ref) across sessions and cores.
 *
 * Ring descriptors (struct pt_bus_desc, 32 bytes) carry a type, an actor
 * id and a pointer; who frees the pointer is said per type below.
 */
#ifndef PETREL_MQTT_PRIV_H
#define PETREL_MQTT_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include <petrel/actor.h>
#include <petrel/broker.h>
#include <petrel/mqtt.h>
#include <petrel/mqtt_route.h>
#include <petrel/mqtt_trie.h>
#include <petrel/timer.h>

struct pt_acl;          /* include/petrel/acl.h */
struct pt_acl_section;
struct pt_rules;         /* include/petrel/rules.h */
struct pt_rules_scratch;

/** Longest client id a session keeps (longer: CONNACK 0x02). */
#define PT_MQTT_CID_MAX 128
/** CONNECT must arrive this soon after the handshake. */
#define PT_MQTT_CONNECT_TIMEOUT_MS 10000
/** Keep-alive wheel: 1 ms ticks. */
#define PT_MQTT_WHEEL_SLOTS 4096

/* ---- messages ---- */

/** Facts about a message, in its head mbuf's dynfield. */
struct pt_msg_meta {
    uint16_t topic_len;
    uint8_t hdr_len;     /* fixed header bytes (2..5) */
    uint8_t qos;         /* QoS it was published with */
    uint8_t retain;      /* published with RETAIN */
    uint8_t pad[3];
};

extern int pt_msg_dynfield_off;

/** Longest topic a message carries: its fixed header and topic share the
 * head segment (default mbuf data room 2048 bytes). */
#define PT_MSG_TOPIC_MAX 2000

/** QoS 0 deliveries up to this size are copied (into TCP's queue when it
 * has room), larger ones share the message by clone. */
#define PT_MSG_COPY_MAX 256

static inline struct pt_msg_meta *
pt_msg_meta(const struct rte_mbuf *m)
{
    return RTE_MBUF_DYNFIELD(m, pt_msg_dynfield_off, struct pt_msg_meta *);
}

/** Register the dynfield (idempotent). @return 0 or -rte_errno. */
int pt_msg_init(void);

/**
 * Build a message from topic and the payload span of a received chain
 * (copied once into mbufs of pool). @return the message (refcnt 1) or
 * NULL (pool empty).
 */
struct rte_mbuf *pt_msg_build(struct rte_mempool *pool, const char *topic,
                              uint16_t tlen, const struct pt_mqtt_span *pl,
                              const void *flat, uint32_t flat_len,
                              uint8_t qos, bool retain);

/** Topic of a message (in its head segment). */
static inline const char *
pt_msg_topic(const struct rte_mbuf *m)
{
    return rte_pktmbuf_mtod_offset(m, const char *,
                                   pt_msg_meta(m)->hdr_len + 2);
}

/** Payload bytes of a message. */
static inline uint32_t
pt_msg_payload_len(const struct rte_mbuf *m)
{
    const struct pt_msg_meta *mm = pt_msg_meta(m);

    return m->pkt_len - mm->hdr_len - 2 - mm->topic_len;
}

/** Take one more reference (every segment). */
static inline void
pt_msg_ref(struct rte_mbuf *m)
{
    for (; m != NULL; m = m->next)
        rte_mbuf_refcnt_update(m, 1);
}

/** Drop a reference. */
static inline void
pt_msg_unref(struct rte_mbuf *m)
{
    rte_pktmbuf_free(m);
}

/**
 * The bytes to send one subscriber: the message as a PUBLISH with qos,
 * retain, dup and packet id (qos > 0). Shares the payload (clones).
 * @return the chain (the caller's) or NULL (pool empty).
 */
struct rte_mbuf *pt_msg_wire(struct rte_mempool *pool, struct rte_mbuf *m,
                             uint8_t qos, bool retain, bool dup,
                             uint16_t pid);

/**
 * The same bytes as pt_msg_wire() for a one-segment message, written into
 * buf (cap bytes). @return the length, or 0 if it does not fit or the
 * message has more than one segment.
 */
size_t pt_msg_wire_copy(const struct rte_mbuf *m, uint8_t qos, bool retain,
                        bool dup, uint16_t pid, uint8_t *buf, size_t cap);

/* ---- ring descriptors ---- */

enum pt_bus_type {
    /* core -> core */
    PT_BUS_PUBLISH = 1, /* ptr: message (one reference, the receiver's) */
    /* core -> control */
    PT_BUS_LOGIN,       /* id: conn; ptr: mbuf [struct pt_bus_login][cid][user] (control frees) */
    PT_BUS_ONLINE,      /* id: session; u64: conn; ptr: mbuf cid (control frees): session is up on this core */
    PT_BUS_OFFLINE,     /* id: session; ptr: mbuf cid (control frees): persistent session lost its connection */
    PT_BUS_END,         /* ptr: mbuf cid (control frees); u64: conn or session id that ended */
    PT_BUS_HANDOFF,     /* u64: new conn id; ptr: session (or NULL: discarded); aux: 1 = miss */
    PT_BUS_ROUTE_ADD,   /* ptr: mbuf filter (control frees) */
    PT_BUS_ROUTE_DEL,   /* ptr: mbuf filter (control frees) */
    PT_BUS_SYNC,        /* id: conn; u64: session id; ptr: mbuf [struct pt_bus_sync][reply][filters] (returned in SYNC_ACK) */
    PT_BUS_RETAIN,      /* ptr: message (one reference, control's) */
    PT_BUS_ANSWER,      /* u64: ticket; aux: 0 ok, else errno; ptr: mbuf JSON text or NULL (control frees) */
    PT_BUS_SHUTDOWN_ACK,/* aux: the phase done */
    /* control -> core */
    PT_BUS_LOGIN_OK,    /* id: conn; ptr: session to attach (or NULL); aux: flags; arg: user index */
    PT_BUS_LOGIN_FAIL,  /* id: conn; aux: CONNACK code, or 0xff = close silently */
    PT_BUS_TAKEOVER,    /* id: old conn or session; u64: new conn id; aux: flags */
    PT_BUS_SYNC_ACK,    /* id: conn; ptr: the SYNC's mbuf (core frees) */
    PT_BUS_RETAINED,    /* id: session; aux: granted QoS; ptr: message (one reference) */
    PT_BUS_QUERY,       /* id: conn (arg 0) or session (arg 1); u64: ticket; aux: PT_QUERY_* (answer: ANSWER) */
    PT_BUS_SHUTDOWN,    /* aux: PT_SHUTDOWN_* phase (answer: SHUTDOWN_ACK) */
};

/* PT_BUS_QUERY kinds (operator commands; the answer is JSON text) */
#define PT_QUERY_SHOW      1   /* the client's connection and session */
#define PT_QUERY_KICK      2   /* close the connection (will published) */
#define PT_QUERY_SUBS      3   /* its subscriptions only */

/* PT_BUS_SHUTDOWN phases: PT_SHUTDOWN_* in include/petrel/broker.h */

/* PT_BUS_LOGIN_OK flags */
#define PT_BUS_F_PRESENT   0x1   /* session present */
#define PT_BUS_F_ATTACH_ID 0x2   /* u64 is a session id on this core to resume */
/* PT_BUS_TAKEOVER flags */
#define PT_BUS_F_CLEAN     0x1   /* the new connection asked for a clean session */
#define PT_BUS_F_SESSION   0x2   /* id is an (offline) session id, not a conn */

struct pt_bus_desc {
    uint8_t type;
    uint8_t from;        /* sending core (n_cores = control) */
    uint16_t aux;
    uint32_t arg;
    uint64_t id;
    void *ptr;
    uint64_t u64;
};

/** What a LOGIN mbuf starts with; then the client id, the user name and
 * the password (their lengths here). */
struct pt_bus_login {
    uint16_t cid_len;
    uint16_t user_len;
    uint16_t pass_len;
    uint8_t clean;
    uint8_t has_user;
    uint8_t has_password;
    uint8_t pad;
    uint16_t src_port;   /* the client's TCP port, host order */
    uint32_t src_ip;     /* its IPv4 address, network order */
};

/** A user name the control plane interned for sessions to point at by
 * index (pt_broker.users); immutable and never freed while the broker
 * lives. Index 0 is "anonymous" (no entry). */
struct pt_mqtt_user {
    uint16_t len;
    char name[];
};

/** What a SYNC mbuf starts with: after it, reply_len bytes to send the
 * connection when the ack comes (a SUBACK or CONNACK), then n_filters
 * records (uint8 granted QoS, uint8 index of its code in the SUBACK,
 * uint16 length big endian, the filter) whose retained messages to
 * deliver. A route the table refused makes the control plane set both
 * that record's QoS and its SUBACK code to 0x80 before the ack; the core
 * then drops the local subscription too. */
struct pt_bus_sync {
    uint16_t reply_len;
    uint16_t n_filters;
    uint8_t connack;     /* the reply is a CONNACK (resume deliveries after) */
    uint8_t pad[3];
};

/* ---- sessions ---- */

enum pt_qent_state {
    PT_Q_QUEUED = 0,     /* waiting for the window (no packet id yet) */
    PT_Q_WAIT_ACK,       /* PUBLISH sent, PUBACK (QoS 1) or PUBREC awaited */
    PT_Q_WAIT_COMP,      /* PUBREL sent, PUBCOMP awaited */
    PT_Q_RX_QOS2,        /* inbound QoS 2 id, PUBREL awaited (rx list) */
};

struct pt_mqtt_qent {
    struct pt_mqtt_qent *next;
    struct rte_mbuf *msg;   /* NULL in WAIT_COMP and RX_QOS2 */
    uint16_t pid;
    uint8_t qos;
    uint8_t state;
    uint8_t retain;
    uint8_t unsent;         /* in-flight but the send queue was full */
};

struct pt_mqtt_session {
    uint64_t id;                     /* actor id on its core; trie sub id */
    struct pt_mqtt_conn *conn;       /* NULL while offline */
    struct pt_mqtt_qent *inflight;   /* in-flight, oldest first */
    struct pt_mqtt_qent *inflight_tail;
    struct pt_mqtt_qent *queue;      /* waiting, oldest first */
    struct pt_mqtt_qent *queue_tail;
    struct pt_mqtt_qent *rx_qos2;    /* unreleased inbound QoS 2 ids */
    struct rte_mbuf *xfer;           /* filters, while moving between cores */
    uint32_t n_inflight;
    uint32_t n_queued;
    uint32_t queued_bytes;
    uint32_t n_rx_qos2;
    uint32_t n_subs;
    uint32_t user;                   /* pt_broker.users index; 0 = none */
    uint16_t next_pid;
    uint8_t clean;
    uint8_t cid_len;
    char cid[PT_MQTT_CID_MAX];
};

/* ---- connection actor ---- */

/*
 * States of a connection actor (the full diagram is in mqtt_conn.c):
 * WAIT_CONNECT -> WAIT_LOGIN -> CONNECTED -> CLOSING.
 */
enum pt_mqtt_conn_state {
    PT_MC_WAIT_CONNECT = 0,
    PT_MC_WAIT_LOGIN,
    PT_MC_WAIT_SYNC,    /* login done, CONNACK waits for routes */
    PT_MC_CONNECTED,
    PT_MC_CLOSING,
};

struct pt_mqtt_conn {
    struct pt_tcp_conn *tcp;         /* NULL once TCP said closed */
    struct pt_mqtt_session *s;       /* from login on */
    struct pt_mqtt_core *mc;
    struct rte_mbuf *rx;             /* received, not yet parsed */
    struct rte_mbuf *will;           /* will message, NULL if none */
    struct rte_mbuf *txq;            /* sent, not yet taken by TCP */
    struct pt_timer timer;           /* connect timeout / keep-alive */
    uint64_t id;                     /* actor id */
    uint64_t acl_gen;                /* ACL generation acl_sec belongs to */
    const struct pt_acl_section *acl_sec; /* this client's ACL section */
    uint64_t since_ms;               /* core clock at accept */
    uint32_t rx_off;                 /* parsed bytes at rx's front */
    uint32_t rx_uncredited;          /* held bytes not yet pt_tcp_recved */
    uint64_t last_rx_ms;             /* core clock of the last packet */
    uint16_t keepalive;              /* seconds, 0 = none */
    uint8_t state;
    uint8_t will_qos;
    uint8_t clean;                   /* asked for a clean session */
    uint8_t paused;                  /* stop parsing until login/sync */
};

/* ---- the node and its cores ---- */

struct pt_broker {
    unsigned n;                      /* dataplane cores */
    const struct pt_config *cfg;
    struct rte_ring **rings;         /* (n + 1) x (n + 1): [from][to] */
    struct pt_mqtt_route *route;
    struct rte_mempool *sessions;    /* node-wide */
    struct rte_mempool *qents;       /* node-wide */
    struct rte_mempool *msg_pool;    /* for the control plane */
    const struct pt_mqtt_core *cores[64];
    struct pt_broker_ctl *ctl;       /* control half (broker_ctl.c) */
    /* written by the control plane, read by the cores: */
    struct pt_mqtt_user **users;     /* [auth.max_users] interned names; an
                                      * entry is set before the LOGIN_OK
                                      * naming it is sent (ring order) */
    struct pt_acl_pub *acl;          /* RCU-published (acquire load inside
                                      * a read-side section); NULL = every
                                      * topic allowed */
    struct pt_rules_pub *rules;      /* likewise; NULL = no content rules */
};

/** The content rules as published to the cores: the compiled set, one
 * Hyperscan scratch per core and the per-rule hit counters of each core
 * (hits[core * n + i], written by that core only). Freed after a grace
 * period, its counts folded into the control plane's totals. */
struct pt_rules_pub {
    struct pt_rules *rules;
    unsigned n;                      /* rules */
    uint64_t *hits;                  /* [cores][n] */
    struct pt_rules_scratch *scratch[64];
};

/** The user name behind an index (NULL: anonymous). Any thread that got
 * the index through a ring or the registry. */
static inline const struct pt_mqtt_user *
pt_mqtt_user_of(const struct pt_broker *b, uint32_t user)
{
    return user != 0 ? b->users[user] : NULL;
}

/** The ACL as published to the cores: the compiled object and a
 * generation unique to this publication (never reused, so a connection's
 * cached section can be checked against it). Freed with the ACL after a
 * grace period. */
struct pt_acl_pub {
    struct pt_acl *acl;
    uint64_t gen;
};

/* The fan-out cache (mqtt_fanout.c): one entry per recently seen topic. */
#define PT_FANOUT_SIZE 1024     /* entries per core, a power of two */
#define PT_FANOUT_TOPIC 48      /* longest topic cached */
#define PT_FANOUT_SUBS 4        /* local subscribers an entry holds */
#define PT_FANOUT_MANY 0xff     /* n: more than that: match every time */

struct pt_fanout_ent {
    uint64_t rgen;               /* route-table generation of mask */
    uint64_t mask;               /* cores with subscribers */
    uint64_t lgen;               /* trie generation of the list */
    uint64_t sid[PT_FANOUT_SUBS];
    uint32_t hash;
    uint16_t len;
    uint8_t n;                   /* subscribers listed, or PT_FANOUT_MANY */
    uint8_t qos[PT_FANOUT_SUBS];
    char topic[PT_FANOUT_TOPIC];
} __rte_aligned(64);

/* The fan-out cache's slot of a topic is pt_fanout_hash() & (PT_FANOUT_SIZE
 * - 1): CRC32 of the topic, loading through memcpy since topics sit at any
 * alignment (rte_hash_crc() casts the pointer). perf/bench_route.c picks
 * its topics' slots with it. */
static inline uint32_t
pt_fanout_hash(const char *t, uint16_t len)
{
    uint32_t h = 0;
    uint16_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t v;

        memcpy(&v, t + i, 8);
        h = rte_hash_crc_8byte(v, h);
    }
    for (; i < len; i++)
        h = rte_hash_crc_1byte((uint8_t)t[i], h);
    return h;
}

struct pt_mqtt_core {
    struct pt_broker *b;
    unsigned core;
    struct pt_tcp *tcp;
    struct rte_mempool *pool;        /* mbufs */
    struct rte_mempool *conns;       /* connection actors */
    struct pt_actor_table *actors;   /* connection actors */
    struct pt_actor_table *sids;     /* sessions (trie subscriber ids) */
    struct pt_mqtt_trie *trie;
    struct pt_timer_wheel *wheel;
    struct rte_ring **out;           /* [to]: rings this core produces */
    struct rte_ring **in;            /* [from]: rings this core consumes */
    uint64_t now_ms;
    uint64_t stats_gen;              /* trie generation of the gauges */
    uint64_t txq_limit;              /* mqtt.max_packet + tcp.snd_buf */
    uint32_t syncs_pending;          /* SYNC sent, ACK not back */
    uint64_t acl_gen;                /* ACL publication last swept */
    uint64_t auto_ids;               /* client ids assigned so far */
    uint8_t id_key[16];              /* SipHash key of assigned ids */
    uint8_t shutdown;                /* last PT_SHUTDOWN_* phase asked */
    uint8_t shutdown_close;          /* CLOSE asked, not yet done */
    struct pt_fanout_ent *fanout;    /* PT_FANOUT_SIZE entries */
    uint8_t *pscratch;               /* parser scratch: mqtt.max_packet */
    uint8_t *rbuf;                   /* a payload made contiguous for the
                                      * content rules: mqtt.max_packet */
    uint32_t pscratch_len;
    struct pt_mqtt_stats st;
};

/* Bump a counter (owner only; relaxed store for readers). */
static inline void
pt_mqtt_count(struct pt_mqtt_core *mc, enum pt_mqtt_counter c, uint64_t n)
{
    __atomic_store_n(&mc->st.c[c], mc->st.c[c] + n, __ATOMIC_RELAXED);
}

static inline void
pt_mqtt_gauge(uint64_t *g, int64_t d)
{
    __atomic_store_n(g, *g + (uint64_t)d, __ATOMIC_RELAXED);
}

/** Send a descriptor to core `to` (n = the control plane).
 * @return 0 or -ENOBUFS (ring full: counted; caller keeps ptr). */
int pt_mqtt_bus_send(struct pt_mqtt_core *mc, unsigned to,
                     const struct pt_bus_desc *d);

/** An mbuf holding len bytes of p (one segment; len <= data room).
 * @return the mbuf or NULL. */
struct rte_mbuf *pt_mqtt_blob(struct rte_mempool *pool, const void *p,
                              uint32_t len);

/** Append len bytes to a chain (allocated on first use), growing it from
 * pool. @return 0 or -ENOBUFS (the chain stays valid, maybe partial). */
int pt_mqtt_blob_append(struct rte_mempool *pool, struct rte_mbuf **head,
                        struct rte_mbuf **tail, const void *p, uint32_t len);

/** Copy len bytes at off of chain m into dst (rte_pktmbuf_read alone
 * copies only when the bytes straddle segments). */
static inline void
pt_mqtt_copy(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *dst)
{
    const void *p = rte_pktmbuf_read(m, off, len, dst);

    if (p != NULL && p != dst)
        memcpy(dst, p, len);
}

/** Set the byte at offset off of chain m (no-op past its end). */
static inline void
pt_mqtt_poke(struct rte_mbuf *m, uint32_t off, uint8_t v)
{
    while (m != NULL && off >= m->data_len) {
        off -= m->data_len;
        m = m->next;
    }
    if (m != NULL)
        *rte_pktmbuf_mtod_offset(m, uint8_t *, off) = v;
}

/** Size of a SYNC filter record's header. */
#define PT_SYNC_REC_HDR 4

/* mqtt_conn.c */
extern const struct pt_tcp_ops pt_mqtt_tcp_ops;
void pt_mqtt_conn_close(struct pt_mqtt_conn *c, bool send_will);
/** Publish c's will now (if the ACL allows; counted either way) and
 * forget it. */
void pt_mqtt_conn_will(struct pt_mqtt_conn *c);
void pt_mqtt_conn_violation(struct pt_mqtt_conn *c, int codec_err,
                            int violation);
/* may_refuse: QoS 0 and QoS 1/2 deliveries (refused past the soft bound
 * of the connection's backlog: QoS 0 is dropped, QoS 1/2 waits in the
 * session); false for answers to the client's own packets, which are
 * always queued (the connection stops reading instead). */
int pt_mqtt_conn_send(struct pt_mqtt_conn *c, struct rte_mbuf *m,
                      bool may_refuse);
int pt_mqtt_conn_send_bytes(struct pt_mqtt_conn *c, const void *p,
                            uint32_t len, bool may_refuse);
void pt_mqtt_conn_resume(struct pt_mqtt_conn *c);
/** Send CONNACK rc (session present as given) and count it accepted or
 * refused. */
void pt_mqtt_conn_connack(struct pt_mqtt_conn *c, bool present, uint8_t rc);
/** Send PUBACK, PUBREC, PUBREL, PUBCOMP or UNSUBACK for pid (an answer:
 * never refused). */
void pt_mqtt_conn_ack(struct pt_mqtt_conn *c, uint8_t type, uint16_t pid);
void pt_mqtt_conn_arm(struct pt_mqtt_conn *c);
void pt_mqtt_timer_fired(struct pt_timer *t, void *arg);

/* mqtt_access.c: the ACL in force, for c's client. The checks with no
 * ACL loaded (the common case) are one load and a branch, inline; the
 * rest is out of line. */
bool pt_mqtt_acl_check(struct pt_mqtt_conn *c, const char *name, size_t len,
                       bool subscribe);
/* mqtt_rules.c: the content rules' verdict on a PUBLISH (rules loaded:
 * the caller checked pt_broker.rules). @return enum pt_rule_action, or -1
 * when no rule decided. */
int pt_mqtt_rules_check(struct pt_mqtt_conn *c,
                        const struct pt_mqtt_publish *p);
/** The same for a built message (a will). */
int pt_mqtt_rules_check_msg(struct pt_mqtt_core *mc,
                            const struct rte_mbuf *m);

/** A new ACL was published: drop the subscriptions it refuses. */
void pt_mqtt_acl_sweep(struct pt_mqtt_core *mc);

static inline bool
pt_mqtt_may_publish(struct pt_mqtt_conn *c, const char *topic, size_t len)
{
    if (likely(__atomic_load_n(&c->mc->b->acl, __ATOMIC_RELAXED) == NULL))
        return true;
    return pt_mqtt_acl_check(c, topic, len, false);
}

static inline bool
pt_mqtt_may_subscribe(struct pt_mqtt_conn *c, const char *filter, size_t len)
{
    if (likely(__atomic_load_n(&c->mc->b->acl, __ATOMIC_RELAXED) == NULL))
        return true;
    return pt_mqtt_acl_check(c, filter, len, true);
}

/** Once per poll: sweep when the ACL publication changed since the last
 * sweep (inside the read-side section: pub stays valid). */
static inline void
pt_mqtt_acl_poll(struct pt_mqtt_core *mc)
{
    const struct pt_acl_pub *pub = __atomic_load_n(&mc->b->acl,
                                                   __ATOMIC_ACQUIRE);

    if (unlikely((pub != NULL ? pub->gen : 0) != mc->acl_gen))
        pt_mqtt_acl_sweep(mc);
}

/* mqtt_core.c: dispatch everything waiting in the rings from other
 * dataplane cores (not the control plane's) */
void pt_mqtt_core_drain_peers(struct pt_mqtt_core *mc);

/* mqtt_admin.c: operator queries and the graceful stop, on the core */
void pt_mqtt_admin_query(struct pt_mqtt_core *mc,
                         const struct pt_bus_desc *d);
void pt_mqtt_admin_shutdown(struct pt_mqtt_core *mc,
                            const struct pt_bus_desc *d);

/* mqtt_handle.c: one client packet, the actor in CONNECTED state (or
 * WAIT_CONNECT for CONNECT) */
void pt_mqtt_handle(struct pt_mqtt_conn *c, struct pt_mqtt_packet *p);

/* mqtt_fanout.c */
/** Send msg to every core with subscribers (one reference each) and
 * deliver it to this core's; consumes the caller's reference. */
void pt_mqtt_publish_route(struct pt_mqtt_core *mc, struct rte_mbuf *msg);
/** Deliver msg to this core's subscribers (the reference stays the
 * caller's). */
void pt_mqtt_deliver_local(struct pt_mqtt_core *mc, struct rte_mbuf *msg);

/* mqtt_session.c */
int pt_mqtt_session_start(struct pt_mqtt_core *mc, struct pt_mqtt_session *s);
void pt_mqtt_session_destroy(struct pt_mqtt_core *mc,
                             struct pt_mqtt_session *s);
/** Free a session no core holds (in transit): its queued messages and
 * entries, its filter list, the object. Any thread. */
void pt_mqtt_session_free(struct pt_broker *b, struct pt_mqtt_session *s);
void pt_mqtt_session_detach(struct pt_mqtt_core *mc,
                            struct pt_mqtt_session *s);
int pt_mqtt_session_attach_moved(struct pt_mqtt_core *mc,
                                 struct pt_mqtt_session *s);
void pt_mqtt_session_deliver(struct pt_mqtt_core *mc,
                             struct pt_mqtt_session *s, struct rte_mbuf *msg,
                             uint8_t qos, bool retain);
void pt_mqtt_session_pump(struct pt_mqtt_core *mc, struct pt_mqtt_session *s);
void pt_mqtt_session_resend(struct pt_mqtt_core *mc,
                            struct pt_mqtt_session *s);
int pt_mqtt_session_ack(struct pt_mqtt_core *mc, struct pt_mqtt_session *s,
                        uint8_t type, uint16_t pid);
/** Send ROUTE_ADD or ROUTE_DEL (type) of filter f to the control plane.
 * @return 0, or -ENOBUFS (no mbuf or ring full: counted). */
int pt_mqtt_route_send(struct pt_mqtt_core *mc, uint16_t type, const char *f,
                       uint16_t len);
int pt_mqtt_session_unsubscribe(struct pt_mqtt_core *mc,
                                struct pt_mqtt_session *s,
                                const char *f, uint16_t len);

/** The connection of s is gone: a clean session ends (destroyed, END to
 * the control plane), a persistent one stays here offline (OFFLINE). */
void pt_mqtt_session_lost(struct pt_mqtt_core *mc, struct pt_mqtt_session *s,
                          uint64_t conn_id);

#endif /* PETREL_MQTT_PRIV_H */
