/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT broker per message: what one PUBLISH costs from the frame that
 * carries it to the frame that delivers it to a subscriber on the same
 * core.
 *
 * Set-up, as pt_dp_launch() wires one dataplane core, in one thread: a
 * pt_net whose driver is emulated (bench_tx: notes what each frame tells
 * the peer, then frees it, as a TX completion would), pt_tcp configured
 * from pt_config_defaults() (so delayed ACKs on, 10 ms, as in petreld), a
 * broker for one core (pt_broker_create) with its control half
 * (pt_broker_ctl_attach, polled from this thread with
 * pt_broker_ctl_poll) and the core's MQTT side (pt_mqtt_core_create). Pool
 * sizes are cut down from the defaults to fit the test EAL's 128 MB; no
 * per-message path depends on them. Then forged TCP handshakes to port
 * 1883, CONNECT (clean session, keep-alive 60 s) on every connection,
 * SUBSCRIBE "bench/t" on the subscriber's, each answered (CONNACK,
 * SUBACK) after the control plane and the route table's grace period
 * (core and control polled until it comes) and acknowledged.
 *
 *   bm_mqtt_publish    one PUBLISH ("bench/t", 64-byte payload) per
 *                      iteration from one publisher connection: its frame
 *                      through pt_net_input() (Ethernet, IPv4, TCP with
 *                      software checksums, the MQTT connection actor:
 *                      framing, parse, message build, route table and
 *                      trie match, delivery; at the burst's end TCP
 *                      builds the subscriber's PUBLISH segment and, every
 *                      second iteration, the publisher's delayed ACK),
 *                      pt_mqtt_core_poll() (the poll loop's ring drain,
 *                      timers, RCU quiescent state) and pt_net_flush()
 *                      (those frames to the emulated driver).
 *                      qos:0: QoS 0 published and subscribed. qos:1: QoS 1
 *                      published and subscribed: the publisher also gets
 *                      a PUBACK, the subscriber a packet id to PUBACK.
 *   bm_mqtt_publish_burst  the same with 32 publisher connections, one
 *                      PUBLISH each in every pt_net_input() call: what a
 *                      poll that finds 32 frames from 32 clients delivers
 *                      (many publishers fanning in is the broker's common
 *                      shape; 32 segments of one client would measure
 *                      TCP's in-order path more than the broker). The 32
 *                      deliveries to the subscriber leave as two segments.
 *
 * The subscriber acknowledges in batches: every ack_every deliveries (16,
 * or 32 in the burst case, one per burst) one segment goes first in the
 * next burst with a cumulative TCP ACK of everything sent to it and, at
 * QoS 1, one PUBACK per delivery (ack_every x 4 bytes of payload); so its
 * send queue never holds more than 32 deliveries and neither the TCP
 * window nor mqtt.max_inflight (32) fills. At QoS 1 each publisher's next
 * PUBLISH acknowledges the PUBACK it got. Every figure is per PUBLISH and
 * includes that share of the subscriber's ACK segment.
 *
 * Included per iteration, besides the broker: re-arming each prebuilt
 * frame in its mbuf (prep_publish/prep_ack: lengths and flags restored,
 * refcnt 2 so the stack's free is a decrement, sequence, ACK and packet
 * id patched with an incremental checksum update, RFC 1624) and the
 * emulated driver's bookkeeping and bulk free (bench_tx). Both are their
 * own functions so that perf/callgrind_mqtt.sh can take them out.
 *
 * `bench_mqtt --callgrind N [--qos 0|1] [--burst K] [--offload]` runs the
 * same loop N times without Google Benchmark, for instruction counts under
 * valgrind (perf/callgrind_mqtt.sh takes the difference of two N).
 * --offload is a NIC doing checksums both ways: received ones are trusted
 * from RX_IP/L4_CKSUM_GOOD, sent ones left to the port (TX offload).
 *
 * With an ACL: `--acl FILE` (callgrind mode) or PT_BENCH_MQTT_ACL=FILE in
 * the environment (either mode) loads FILE as auth.acl_file through
 * pt_broker_ctl_load_acl() once the control half is attached, and every
 * client logs in as user BENCH_USER (no password file: the name is taken
 * as given), so each PUBLISH also runs pt_acl_may_publish() against that
 * user's section. perf/bench_mqtt.acl is the file perf/callgrind_mqtt.sh
 * uses: 10 topic entries for the user and 3 patterns. Without it clients
 * are anonymous and no ACL is loaded, as before.
 *
 * With content rules: `--rules FILE` (callgrind mode) or
 * PT_BENCH_MQTT_RULES=FILE (either mode) loads FILE as rules.file through
 * pt_broker_ctl_load_rules(), so each PUBLISH is also scanned (topic and
 * payload); none of its rules may match the benchmark's messages (a drop
 * fails the run). perf/make_rules.py writes such files.
 *
 * Every run checks afterwards that each PUBLISH was received, delivered
 * and its bytes sent to the subscriber, that nothing was dropped or
 * refused (TCP drops, mqtt_*_dropped, no_mbuf, ring_full, ACL
 * denials), that QoS 1 leaves nothing in flight once the last PUBACKs are
 * in, that once every byte is acknowledged the broker and the stack hold
 * no mbuf, and that after tear-down every mbuf is back in the pool; a
 * figure for a path that was not taken is worse than none.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <petrel/broker.h>
#include <petrel/config.h>
#include <petrel/net.h>
#include <petrel/tcp.h>

#include "pt_bench.h"
#include "pt_test.h"

#define T0_NS (1000ull * 1000000000ull)  /* fake clock, never advanced */
#define MQTT_PORT 1883
#define PUB_PORT 40000         /* publisher k: PUB_PORT + k */
#define SUB_PORT (PUB_PORT + BURST_MAX)
#define PORTS (BURST_MAX + 1)  /* peer ports the driver follows */
#define BURST_MAX 32           /* publisher connections at most */
#define ACK_EVERY 16           /* deliveries per subscriber ACK (1 conn) */
#define PEER_ISN 1000000u
#define PAYLOAD 64
#define TOPIC "bench/t"
#define TLEN 7u
#define KEEPALIVE_S 60
#define L2 sizeof(struct rte_ether_hdr)
#define L3 sizeof(struct rte_ipv4_hdr)
#define L4 sizeof(struct rte_tcp_hdr)
#define HDRS (L2 + L3 + L4)
#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10
#define SETTLE_ROUNDS 10000    /* set-up polls before giving up */
#define BENCH_USER "bench"     /* every client's user name with an ACL */

/* MQTT bytes of one PUBLISH as the client sends it and as the subscriber
 * gets it: fixed header (2), topic (2 + 7), packet id at QoS 1, payload. */
#define PUB_LEN(qos) (2u + 2u + TLEN + ((qos) ? 2u : 0u) + PAYLOAD)
/* where the packet id lies in a QoS 1 PUBLISH */
#define PUB_PID_OFF (2u + 2u + TLEN)

/* The pool of the core (frames, messages, control replies). */
static struct rte_mempool *bench_pool;

/* ACL file to load (--acl, PT_BENCH_MQTT_ACL); NULL: none, anonymous. */
static const char *acl_file;
/* Content rules to load (--rules, PT_BENCH_MQTT_RULES); NULL: none. */
static const char *rules_file;

/* What the emulated driver saw go to one peer port. */
struct peer {
    uint32_t snd_end;         /* the broker's next sequence number */
    uint32_t frames;
    uint64_t bytes;           /* TCP payload bytes (no retransmission
                               * happens: the clock stands still) */
    uint8_t last_flags;
    uint16_t last_len;        /* record mode: the start of the first */
    uint8_t last[160];        /* payload since record_start() */
};

/* One dataplane core wired as pt_dp_launch() does, and its driver. */
struct bench {
    struct pt_config cfg;     /* the broker keeps a pointer to it */
    struct pt_net *net;
    struct pt_tcp *tcp;
    struct pt_broker *broker;
    struct pt_mqtt_core *mc;
    bool ctl;                 /* control half attached */
    bool record;              /* set-up: the driver copies payloads */
    uint64_t now;
    struct peer peer[PORTS];
};

/* One client connection and its prebuilt frame. */
struct flow {
    struct bench *b;
    struct peer *peer;        /* what the broker sent it */
    struct rte_mbuf *m;       /* prebuilt frame (NULL before the run) */
    uint32_t frame_len;
    uint32_t plen;            /* its TCP payload bytes */
    uint64_t ol_flags;
    uint32_t seq;             /* next sequence number (host order) */
    uint16_t port;
    uint16_t pid;             /* QoS 1: next packet id it uses */
};

/* A benchmark's whole set: publishers, subscriber, batching. */
struct run {
    struct bench *b;
    struct flow pub[BURST_MAX];
    struct flow sub;
    unsigned conns;           /* publishers, one PUBLISH each per burst */
    uint8_t qos;
    unsigned ack_every;       /* deliveries per subscriber ACK */
    unsigned unacked;         /* deliveries since its last ACK */
    uint16_t sub_pid;         /* QoS 1: next packet id it acknowledges */
};

/* ---- the emulated driver ---- */

static inline uint32_t
seq_max(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0 ? a : b;
}

/* Note what a frame tells its peer: the sequence space it covers, its
 * payload (copied in record mode only). */
static inline void
note_frame(struct bench *b, const struct rte_mbuf *m)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    const struct rte_ipv4_hdr *ip = (const void *)(p + L2);
    const struct rte_tcp_hdr *th = (const void *)(p + L2 + L3);
    uint32_t idx, len, hl, end;
    struct peer *pe;

    if (unlikely(m->data_len < HDRS || ip->next_proto_id != IPPROTO_TCP))
        return;
    idx = (uint32_t)rte_be_to_cpu_16(th->dst_port) - PUB_PORT;
    if (unlikely(idx >= PORTS))
        return;
    pe = &b->peer[idx];
    hl = (uint32_t)(th->data_off >> 4) * 4;
    len = rte_be_to_cpu_16(ip->total_length) - (uint32_t)L3 - hl;
    end = rte_be_to_cpu_32(th->sent_seq) + len +
          ((th->tcp_flags & (F_SYN | F_FIN)) ? 1 : 0);
    pe->snd_end = pe->frames == 0 ? end : seq_max(end, pe->snd_end);
    pe->frames++;
    pe->bytes += len;
    pe->last_flags = th->tcp_flags;
    if (unlikely(b->record) && len > 0 && pe->last_len == 0) {
        uint32_t n = RTE_MIN(len, (uint32_t)sizeof(pe->last));
        const void *d = rte_pktmbuf_read(m, (uint32_t)L2 + L3 + hl, n,
                                         pe->last);

        if (d != NULL && d != pe->last)
            memcpy(pe->last, d, n);
        pe->last_len = (uint16_t)n;
    }
}

/* Takes every frame and frees it, as a NIC's TX completion would. */
static __attribute__((noinline)) uint16_t
bench_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct bench *b = ctx;

    for (uint16_t i = 0; i < n; i++)
        note_frame(b, pkts[i]);
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
}

/* From now on the driver keeps the start of the first payload each peer
 * gets. */
static void
record_start(struct bench *b)
{
    for (unsigned i = 0; i < PORTS; i++)
        b->peer[i].last_len = 0;
    b->record = true;
}

/* ---- frames ---- */

/* Forge Ethernet + IPv4 + TCP from the peer's port to MQTT_PORT with
 * valid checksums and an optional payload. @return the frame length. */
static size_t
forge(uint8_t *buf, uint16_t sport, uint32_t seq, uint32_t ack,
      uint8_t flags, const void *payload, uint32_t plen)
{
    static const uint8_t mss_opt[4] = { 2, 4, 1460 >> 8, 1460 & 0xff };
    struct pt_test_tcp seg = {
        .eth_dst = &pt_test_our_mac,
        .src = PT_TEST_PEER_IP,
        .dst = PT_TEST_OUR_IP,
        .ip_id = 1,
        .sport = sport,
        .dport = MQTT_PORT,
        .seq = seq,
        .ack = ack,
        .flags = flags,
        .win = 65535,
        .opts = mss_opt,
        .optlen = (flags & F_SYN) ? sizeof(mss_opt) : 0,
        .payload = payload,
        .plen = plen,
    };

    return pt_test_tcp_frame(buf, &seg);
}

/*
 * Write len bytes at off of the TCP segment whose header is th (at an
 * even offset of the frame) and update its checksum: RFC 1624 eq. 3 over
 * the 16-bit words the bytes touch, taken as they lie in memory (the
 * one's complement sum does not care about byte order), so the field may
 * start at an odd offset.
 */
static inline void
tcp_patch(uint8_t *th, uint32_t off, const void *src, uint32_t len)
{
    uint32_t lo = off & ~1u, hi = (off + len + 1) & ~1u, s;
    uint16_t ck, w;

    memcpy(&ck, th + 16, 2);
    s = (uint16_t)~ck;
    for (uint32_t i = lo; i < hi; i += 2) {
        memcpy(&w, th + i, 2);
        s += (uint16_t)~w;
    }
    memcpy(th + off, src, len);
    for (uint32_t i = lo; i < hi; i += 2) {
        memcpy(&w, th + i, 2);
        s += w;
    }
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    ck = (uint16_t)~s;
    memcpy(th + 16, &ck, 2);
}

static inline uint16_t
pid_next(uint16_t pid)
{
    return pid == 65535 ? 1 : (uint16_t)(pid + 1);
}

/* ---- MQTT packets as a client writes them ---- */

/* CONNECT, with user name BENCH_USER (no password) when an ACL is in
 * use. */
static uint32_t
mqtt_connect(uint8_t *p, const char *cid)
{
    uint16_t clen = (uint16_t)strlen(cid);
    uint16_t ulen = acl_file != NULL ? (uint16_t)strlen(BENCH_USER) : 0;
    uint32_t n = 0;

    p[n++] = 0x10;
    p[n++] = (uint8_t)(10 + 2 + clen + (ulen ? 2 + ulen : 0));
    memcpy(p + n, "\x00\x04MQTT\x04\x02", 8);   /* level 4, clean session */
    n += 8;
    if (ulen)
        p[n - 1] |= 0x80;                       /* user name flag */
    p[n++] = 0;
    p[n++] = KEEPALIVE_S;
    p[n++] = (uint8_t)(clen >> 8);
    p[n++] = (uint8_t)clen;
    memcpy(p + n, cid, clen);
    n += clen;
    if (ulen) {
        p[n++] = 0;
        p[n++] = (uint8_t)ulen;
        memcpy(p + n, BENCH_USER, ulen);
        n += ulen;
    }
    return n;
}

static uint32_t
mqtt_subscribe(uint8_t *p, uint8_t qos)
{
    uint32_t n = 0;

    p[n++] = 0x82;
    p[n++] = (uint8_t)(2 + 2 + TLEN + 1);
    p[n++] = 0;
    p[n++] = 1;                 /* packet id 1 */
    p[n++] = 0;
    p[n++] = TLEN;
    memcpy(p + n, TOPIC, TLEN);
    n += TLEN;
    p[n++] = qos;
    return n;
}

/* A PUBLISH of TOPIC with a letters payload (packet id pid at QoS 1). */
static uint32_t
mqtt_publish(uint8_t *p, uint8_t qos, uint16_t pid)
{
    uint32_t n = 0;

    p[n++] = (uint8_t)(0x30 | qos << 1);
    p[n++] = (uint8_t)(PUB_LEN(qos) - 2);
    p[n++] = 0;
    p[n++] = TLEN;
    memcpy(p + n, TOPIC, TLEN);
    n += TLEN;
    if (qos) {
        p[n++] = (uint8_t)(pid >> 8);
        p[n++] = (uint8_t)pid;
    }
    for (uint32_t i = 0; i < PAYLOAD; i++)
        p[n++] = (uint8_t)('a' + i % 26);
    return n;
}

/* ---- set-up ---- */

/* Send one forged segment (payload may be NULL) on f at once, flush. */
static void
flow_send(struct flow *f, uint8_t flags, const void *payload, uint32_t plen)
{
    uint8_t frame[2048];
    size_t len = forge(frame, f->port, f->seq, f->peer->snd_end, flags,
                       payload, plen);
    struct rte_mbuf *m = pt_test_mbuf(frame, len, 0);

    pt_net_input(f->b->net, &m, 1, f->b->now);
    pt_net_flush(f->b->net);
    f->seq += plen + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
}

/* Poll the control plane and the core until the peer got `bytes` more
 * payload bytes. @return 0, or -1 when they never came. */
static int
settle(struct bench *b, struct peer *pe, uint64_t bytes)
{
    for (int i = 0; i < SETTLE_ROUNDS; i++) {
        if (pe->bytes >= bytes)
            return 0;
        pt_broker_ctl_poll(b->broker, b->now);
        pt_mqtt_core_poll(b->mc, b->now);
        pt_net_flush(b->net);
    }
    return pe->bytes >= bytes ? 0 : -1;
}

/* Handshake, CONNECT, CONNACK, and the CONNACK acknowledged.
 * @return 0, or -1 with msg set. */
static int
flow_open(struct flow *f, struct bench *b, uint16_t port, const char **msg)
{
    static const uint8_t connack[4] = { 0x20, 0x02, 0x00, 0x00 };
    uint8_t pkt[64];
    char cid[32];
    uint32_t n;

    memset(f, 0, sizeof(*f));
    f->b = b;
    f->port = port;
    f->peer = &b->peer[port - PUB_PORT];
    f->seq = PEER_ISN;
    f->pid = 1;
    flow_send(f, F_SYN, NULL, 0);
    if (f->peer->frames != 1 || f->peer->last_flags != (F_SYN | F_ACK)) {
        *msg = "no SYN-ACK";
        return -1;
    }
    flow_send(f, F_ACK, NULL, 0);
    snprintf(cid, sizeof(cid), "bench-%u", port);
    n = mqtt_connect(pkt, cid);
    record_start(b);
    flow_send(f, F_ACK | F_PSH, pkt, n);
    if (settle(b, f->peer, 4) != 0 || f->peer->last_len != 4 ||
        memcmp(f->peer->last, connack, 4) != 0) {
        b->record = false;
        *msg = "CONNECT not answered with CONNACK 0";
        return -1;
    }
    b->record = false;
    flow_send(f, F_ACK, NULL, 0);
    return 0;
}

static void
flow_close(struct flow *f)
{
    if (f->m == NULL)
        return;
    f->m->next = NULL;
    f->m->nb_segs = 1;
    rte_mbuf_refcnt_set(f->m, 1);
    rte_pktmbuf_free(f->m);
    f->m = NULL;
}

/* Put f's next segment (flags, payload) into an mbuf of its own. */
static int
flow_prebuild(struct flow *f, uint8_t flags, const void *payload,
              uint32_t plen, bool offload)
{
    uint8_t frame[2048];

    f->frame_len = (uint32_t)forge(frame, f->port, f->seq, f->peer->snd_end,
                                   flags, payload, plen);
    f->plen = plen;
    f->ol_flags = offload ? RTE_MBUF_F_RX_IP_CKSUM_GOOD |
                            RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;
    f->m = rte_pktmbuf_alloc(bench_pool);
    if (f->m == NULL)
        return -1;
    memcpy(rte_pktmbuf_append(f->m, (uint16_t)f->frame_len), frame,
           f->frame_len);
    return 0;
}

static void
bench_close(struct bench *b)
{
    /* TCP first: its `closed` callbacks still reach the MQTT core */
    if (b->tcp != NULL)
        pt_tcp_free(b->tcp);
    if (b->net != NULL)
        pt_net_flush(b->net);
    if (b->mc != NULL)
        pt_mqtt_core_free(b->mc);
    if (b->ctl)
        pt_broker_ctl_detach(b->broker);
    if (b->broker != NULL)
        pt_broker_free(b->broker);
    if (b->net != NULL)
        pt_net_free(b->net);
    free(b);
}

/* One core with its broker and control half. @return the bench, or NULL
 * with msg set. */
static struct bench *
bench_open(bool offload, const char **msg)
{
    static const uint8_t secret[16] = "petrel-bench-mq";
    struct bench *b = calloc(1, sizeof(*b));
    struct pt_net_conf nc;
    struct pt_tcp_conf tc;

    if (b == NULL) {
        *msg = "out of memory";
        return NULL;
    }
    b->now = T0_NS;
    pt_config_defaults(&b->cfg);
    /* the defaults size pools for 65536 connections per core: more than
     * the test EAL's 128 MB; nothing per message depends on them */
    b->cfg.tcp_max_conns = 1024;
    b->cfg.tcp_time_wait_max = 1024;
    b->cfg.mqtt_max_sessions = 1024;
    b->cfg.mqtt_max_subscriptions = 1024;
    b->cfg.mqtt_queue_entries = 4096;
    b->cfg.mqtt_max_routes = 1024;
    b->cfg.mqtt_max_retained = 1024;
    b->cfg.mqtt_allow_anonymous = true;
    pt_test_net_conf(&nc, bench_tx, b);
    nc.pool = bench_pool;
    b->net = pt_net_create(&nc);
    if (b->net == NULL) {
        *msg = "pt_net_create failed";
        goto fail;
    }
    pt_tcp_conf_from_config(&tc, &b->cfg);
    tc.net = b->net;
    tc.now_ns = b->now;
    tc.secret = secret;
    tc.socket_id = SOCKET_ID_ANY;
    tc.tx_cksum_offload = offload;   /* a NIC fills them on the way out */
    b->tcp = pt_tcp_create(&tc);
    if (b->tcp == NULL) {
        *msg = "pt_tcp_create failed (EAL memory?)";
        goto fail;
    }
    b->broker = pt_broker_create(&b->cfg, 1, bench_pool, SOCKET_ID_ANY);
    if (b->broker == NULL) {
        *msg = rte_errno == ENOMEM ? "pt_broker_create: out of EAL memory"
                                   : "pt_broker_create: invalid sizes";
        goto fail;
    }
    if (pt_broker_ctl_attach(b->broker) != 0) {
        *msg = "pt_broker_ctl_attach failed";
        goto fail;
    }
    b->ctl = true;
    if (acl_file != NULL) {
        static char err[300];
        struct pt_broker_ctl_stats cs;

        snprintf(b->cfg.auth_acl_file, sizeof(b->cfg.auth_acl_file), "%s",
                 acl_file);
        if (pt_broker_ctl_load_acl(b->broker, err, sizeof(err)) != 0) {
            *msg = err;
            goto fail;
        }
        pt_broker_ctl_stats(b->broker, &cs);
        if (cs.acl_rules == 0) {
            *msg = "the ACL file has no entries";
            goto fail;
        }
    }
    if (rules_file != NULL) {
        static char err[600];
        struct pt_broker_ctl_stats cs;

        snprintf(b->cfg.rules_file, sizeof(b->cfg.rules_file), "%s",
                 rules_file);
        if (pt_broker_ctl_load_rules(b->broker, err, sizeof(err)) != 0) {
            *msg = err;
            goto fail;
        }
        pt_broker_ctl_stats(b->broker, &cs);
        if (cs.rules == 0) {
            *msg = "the rules file has no rules";
            goto fail;
        }
    }
    b->mc = pt_mqtt_core_create(b->broker, 0, b->tcp, bench_pool, b->now,
                                SOCKET_ID_ANY);
    if (b->mc == NULL) {
        *msg = "pt_mqtt_core_create failed";
        goto fail;
    }
    return b;

fail:
    bench_close(b);
    return NULL;
}

/* ---- the fast path ---- */

/* Re-arm f's prebuilt frame (length, flags, one reference for the stack
 * and one kept) with its next sequence number and an ACK of everything
 * its peer sent. @return its TCP header, or NULL while the stack still
 * holds the frame. */
static inline uint8_t *
flow_rearm(struct flow *f)
{
    struct rte_mbuf *m = f->m;
    uint8_t *th;
    uint32_t seq, ack;

    if (unlikely(rte_mbuf_refcnt_read(m) != 1))
        return NULL;
    m->data_off = RTE_PKTMBUF_HEADROOM;
    m->data_len = (uint16_t)f->frame_len;
    m->pkt_len = f->frame_len;
    m->nb_segs = 1;
    m->next = NULL;
    m->ol_flags = f->ol_flags;
    rte_mbuf_refcnt_set(m, 2);
    th = rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + L3);
    seq = rte_cpu_to_be_32(f->seq);
    ack = rte_cpu_to_be_32(f->peer->snd_end);   /* e.g. the PUBACKs it got */
    tcp_patch(th, offsetof(struct rte_tcp_hdr, sent_seq), &seq, 4);
    tcp_patch(th, offsetof(struct rte_tcp_hdr, recv_ack), &ack, 4);
    return th;
}

/* Re-arm a publisher's frame as its next PUBLISH; NULL while the stack
 * still holds it. */
static __attribute__((noinline)) struct rte_mbuf *
prep_publish(struct flow *f, uint8_t qos)
{
    uint8_t *th = flow_rearm(f);

    if (th == NULL)
        return NULL;
    if (qos) {
        uint16_t pid = rte_cpu_to_be_16(f->pid);

        tcp_patch(th, (uint32_t)L4 + PUB_PID_OFF, &pid, 2);
        f->pid = pid_next(f->pid);
    }
    f->seq += f->plen;
    return f->m;
}

/* Re-arm the subscriber's frame: a cumulative ACK of all it got and, at
 * QoS 1, a PUBACK for each of the ack_every deliveries since the last. */
static __attribute__((noinline)) struct rte_mbuf *
prep_ack(struct run *r)
{
    struct flow *f = &r->sub;
    uint8_t *th = flow_rearm(f);

    if (th == NULL)
        return NULL;
    for (uint32_t i = 0; i < f->plen / 4; i++) {
        uint16_t pid = rte_cpu_to_be_16(r->sub_pid);

        tcp_patch(th, (uint32_t)L4 + 4 * i + 2, &pid, 2);
        r->sub_pid = pid_next(r->sub_pid);
    }
    f->seq += f->plen;
    r->unacked = 0;
    return f->m;
}

/*
 * One poll loop's worth: [the subscriber's ACK when due] and one PUBLISH
 * of each publisher in one pt_net_input() call, then the core's poll and
 * the transmit, as dp_main() runs them. @return 0, or -1 when the stack
 * still holds a frame from the last time (a bug: it must let go within
 * the burst).
 */
static inline int
run_step(struct run *r)
{
    struct bench *b = r->b;
    struct rte_mbuf *burst[BURST_MAX + 1];
    uint16_t n = 0;

    if (r->unacked >= r->ack_every) {
        burst[n] = prep_ack(r);
        if (unlikely(burst[n] == NULL))
            return -1;
        n++;
    }
    for (unsigned k = 0; k < r->conns; k++) {
        burst[n] = prep_publish(&r->pub[k], r->qos);
        if (unlikely(burst[n] == NULL))
            return -1;
        n++;
    }
    pt_net_input(b->net, burst, n, b->now);
    pt_mqtt_core_poll(b->mc, b->now);
    pt_net_flush(b->net);
    r->unacked += r->conns;
    return 0;
}

/* ---- a whole run ---- */

static void
run_close(struct run *r)
{
    if (r->b == NULL)
        return;
    bench_close(r->b);  /* first: it frees what the stack still holds */
    for (unsigned k = 0; k < BURST_MAX; k++)
        flow_close(&r->pub[k]);
    flow_close(&r->sub);
    r->b = NULL;
}

/*
 * Open the bench, connect conns publishers and the subscriber, subscribe,
 * prebuild the frames, and run one PUBLISH per publisher checking what
 * reaches the subscriber. @return 0, or -1 with msg set (run_close()
 * cleans up either way).
 */
static int
run_open(struct run *r, unsigned conns, uint8_t qos, bool offload,
         const char **msg)
{
    uint8_t pkt[4 * BURST_MAX + 64], expect[PUB_LEN(1)];
    struct bench *b;
    uint32_t n;
    uint64_t sub0;

    memset(r, 0, sizeof(*r));
    r->conns = conns;
    r->qos = qos;
    r->ack_every = conns > ACK_EVERY ? conns : ACK_EVERY;
    r->sub_pid = 1;
    r->b = b = bench_open(offload, msg);
    if (b == NULL)
        return -1;
    for (unsigned k = 0; k < conns; k++)
        if (flow_open(&r->pub[k], b, (uint16_t)(PUB_PORT + k), msg) != 0)
            return -1;
    if (flow_open(&r->sub, b, SUB_PORT, msg) != 0)
        return -1;
    /* SUBSCRIBE: the SUBACK waits for the route to be visible on every
     * core (grace period: the core's poll reports its quiescent state) */
    n = mqtt_subscribe(pkt, qos);
    record_start(b);
    flow_send(&r->sub, F_ACK | F_PSH, pkt, n);
    if (settle(b, r->sub.peer, 4 + 5) != 0 || r->sub.peer->last_len != 5 ||
        memcmp(r->sub.peer->last, "\x90\x03\x00\x01", 4) != 0 ||
        r->sub.peer->last[4] != qos) {
        *msg = "SUBSCRIBE not answered with SUBACK granting the QoS";
        return -1;
    }
    b->record = false;
    flow_send(&r->sub, F_ACK, NULL, 0);

    /* the frames: each publisher's PUBLISH, the subscriber's ACK */
    for (unsigned k = 0; k < conns; k++) {
        n = mqtt_publish(pkt, qos, r->pub[k].pid);
        if (flow_prebuild(&r->pub[k], F_ACK | F_PSH, pkt, n, offload)) {
            *msg = "mempool empty";
            return -1;
        }
    }
    n = 0;
    if (qos) {
        for (unsigned i = 0; i < r->ack_every; i++, n += 4)
            memcpy(pkt + n, "\x40\x02\x00\x00", 4);
    }
    if (flow_prebuild(&r->sub, n ? F_ACK | F_PSH : F_ACK, pkt, n, offload)) {
        *msg = "mempool empty";
        return -1;
    }

    /* one untimed round: every PUBLISH must reach the subscriber intact
     * (and at QoS 1 be acknowledged to its publisher) */
    sub0 = r->sub.peer->bytes;
    record_start(b);
    if (run_step(r) != 0) {
        *msg = "the stack held a frame past its burst";
        return -1;
    }
    b->record = false;
    /* the subscriber's session numbers its deliveries from 1 too */
    n = mqtt_publish(expect, qos, 1);
    if (r->sub.peer->bytes - sub0 != (uint64_t)conns * PUB_LEN(qos) ||
        r->sub.peer->last_len < n ||
        memcmp(r->sub.peer->last, expect, n) != 0) {
        *msg = "the first PUBLISH did not reach the subscriber as sent";
        return -1;
    }
    if (qos) {
        static const uint8_t puback[4] = { 0x40, 0x02, 0x00, 0x01 };

        for (unsigned k = 0; k < conns; k++)
            if (r->pub[k].peer->last_len != 4 ||
                memcmp(r->pub[k].peer->last, puback, 4) != 0) {
                *msg = "a QoS 1 PUBLISH was not acknowledged with PUBACK";
                return -1;
            }
    }
    return 0;
}

/* Everything counted that should be, nothing dropped. @return NULL or
 * what went wrong. */
static const char *
run_check(struct run *r, const struct pt_mqtt_stats *m0,
          const struct pt_tcp_stats *t0, uint64_t sub0, uint64_t pubs)
{
    const struct pt_mqtt_stats *ms = pt_mqtt_core_stats(r->b->mc);
    const struct pt_tcp_stats *ts = pt_tcp_stats(r->b->tcp);
    static char why[200];
    uint64_t drops = 0, bytes = r->sub.peer->bytes - sub0;
    static const enum pt_mqtt_counter bad[] = {
        PT_MQTT_C_PUB_NO_SUB, PT_MQTT_C_QUEUE_DROP, PT_MQTT_C_QOS0_DROP,
        PT_MQTT_C_RING_FULL, PT_MQTT_C_NO_MBUF, PT_MQTT_C_ACL_PUB_DENIED,
        PT_MQTT_C_RULE_DROPPED, PT_MQTT_C_RULE_DISCONNECTED,
        PT_MQTT_C_RULE_ERRORS,
    };

    for (int i = 0; i < PT_TCP_DROP_MAX; i++)
        drops += ts->drops[i] - t0->drops[i];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        drops += ms->c[bad[i]] - m0->c[bad[i]];
    for (int i = 0; i < PT_MQTT_E_MAX; i++)
        drops += ms->errors[i] - m0->errors[i];
    if (drops != 0 ||
        ms->c[PT_MQTT_C_PUB_RX] - m0->c[PT_MQTT_C_PUB_RX] != pubs ||
        ms->c[PT_MQTT_C_PUB_TX] - m0->c[PT_MQTT_C_PUB_TX] != pubs ||
        bytes != pubs * PUB_LEN(r->qos) ||
        ms->connected != r->conns + 1) {
        snprintf(why, sizeof(why), "%llu PUBLISH sent: %llu received, "
                 "%llu delivered, %llu bytes to the subscriber, %llu "
                 "drops/errors, %llu connected",
                 (unsigned long long)pubs,
                 (unsigned long long)(ms->c[PT_MQTT_C_PUB_RX] -
                                      m0->c[PT_MQTT_C_PUB_RX]),
                 (unsigned long long)(ms->c[PT_MQTT_C_PUB_TX] -
                                      m0->c[PT_MQTT_C_PUB_TX]),
                 (unsigned long long)bytes, (unsigned long long)drops,
                 (unsigned long long)ms->connected);
        return why;
    }
    return NULL;
}

/* The subscriber acknowledges what is left (at QoS 1 nothing may stay in
 * flight after it), then everything is torn down and every mbuf must be
 * back in the pool. @return NULL or what went wrong. */
static const char *
run_finish(struct run *r)
{
    uint8_t pkt[4 * BURST_MAX + 64];
    uint32_t n = 0;
    unsigned in_use;

    if (r->qos) {
        for (unsigned i = 0; i < r->unacked; i++, n += 4) {
            memcpy(pkt + n, "\x40\x02", 2);
            pkt[n + 2] = (uint8_t)(r->sub_pid >> 8);
            pkt[n + 3] = (uint8_t)r->sub_pid;
            r->sub_pid = pid_next(r->sub_pid);
        }
    }
    flow_send(&r->sub, n ? F_ACK | F_PSH : F_ACK, pkt, n);
    r->unacked = 0;
    for (unsigned k = 0; k < r->conns; k++)
        flow_send(&r->pub[k], F_ACK, NULL, 0);   /* the last PUBACKs */
    if (pt_mqtt_core_stats(r->b->mc)->queued != 0)
        return "QoS 1 deliveries still in flight after the last PUBACK";
    /* every byte sent is acknowledged: only the prebuilt frames remain */
    in_use = rte_mempool_in_use_count(bench_pool);
    if (in_use != r->conns + 1) {
        static char why[80];

        snprintf(why, sizeof(why), "%u mbufs in use once everything was "
                 "acknowledged (%u frames)", in_use, r->conns + 1);
        return why;
    }
    run_close(r);
    in_use = rte_mempool_in_use_count(bench_pool);
    if (in_use != 0) {
        static char why[80];

        snprintf(why, sizeof(why), "%u mbufs not back in the pool after "
                 "tear-down", in_use);
        return why;
    }
    return NULL;
}

/* ---- benchmarks ---- */

static void
run_bench(struct pt_bench_state *st, unsigned conns)
{
    uint8_t qos = (uint8_t)pt_bench_range_x(st, 0);
    struct run r;
    struct pt_mqtt_stats m0;
    struct pt_tcp_stats t0;
    const char *msg = NULL;
    uint64_t sub0, pubs;

    if (run_open(&r, conns, qos, false, &msg) != 0)
        goto out;
    m0 = *pt_mqtt_core_stats(r.b->mc);
    t0 = *pt_tcp_stats(r.b->tcp);
    sub0 = r.sub.peer->bytes;
    while (pt_bench_keep_running(st))
        if (unlikely(run_step(&r) != 0)) {
            msg = "the stack held a frame past its burst";
            goto out;
        }
    pubs = (uint64_t)pt_bench_iterations_done(st) * conns;
    msg = run_check(&r, &m0, &t0, sub0, pubs);
    if (msg == NULL)
        msg = run_finish(&r);
    if (msg == NULL) {
        pt_bench_set_items_processed(st, (int64_t)pubs);
        pt_bench_counter_set(st, "ns_per_publish", (double)pubs,
                             PT_BENCH_COUNTER_RATE | PT_BENCH_COUNTER_INVERT);
    }
out:
    run_close(&r);
    if (msg != NULL)
        pt_bench_skip_with_error(st, msg);
}

static void
bm_mqtt_publish(struct pt_bench_state *st)
{
    run_bench(st, 1);
}
PT_BENCH_CONFIG(bm_mqtt_publish)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 0), 1), "qos");
}

static void
bm_mqtt_publish_burst(struct pt_bench_state *st)
{
    run_bench(st, BURST_MAX);
}
PT_BENCH_CONFIG(bm_mqtt_publish_burst)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 0), 1), "qos");
}

/* ---- callgrind mode ---- */

static int
callgrind_usage(void)
{
    fprintf(stderr, "usage: bench_mqtt --callgrind N [--qos 0|1] "
            "[--burst K] [--offload] [--acl FILE] [--rules FILE]   "
            "(K publishers, 1..%u)\n",
            BURST_MAX);
    return 2;
}

/* Set up, run N poll loops of K publishes each, check, tear down. */
static int
callgrind_main(int argc, char **argv)
{
    unsigned long qos = 0, conns = 1;
    bool offload = false;
    static struct run r;
    struct pt_mqtt_stats m0;
    struct pt_tcp_stats t0;
    const char *msg = NULL;
    char *end;
    unsigned long long n;
    uint64_t sub0;

    if (argc < 3)
        return callgrind_usage();
    n = strtoull(argv[2], &end, 10);
    if (*end != '\0' || n == 0)
        return callgrind_usage();
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--qos") == 0 && i + 1 < argc)
            qos = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc)
            conns = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--offload") == 0)
            offload = true;
        else if (strcmp(argv[i], "--acl") == 0 && i + 1 < argc)
            acl_file = argv[++i];
        else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_file = argv[++i];
        else
            return callgrind_usage();
    }
    if (qos > 1 || conns == 0 || conns > BURST_MAX)
        return callgrind_usage();
    if (run_open(&r, (unsigned)conns, (uint8_t)qos, offload, &msg) == 0) {
        m0 = *pt_mqtt_core_stats(r.b->mc);
        t0 = *pt_tcp_stats(r.b->tcp);
        sub0 = r.sub.peer->bytes;
        for (unsigned long long i = 0; i < n && msg == NULL; i++)
            if (unlikely(run_step(&r) != 0))
                msg = "the stack held a frame past its burst";
        if (msg == NULL)
            msg = run_check(&r, &m0, &t0, sub0, n * conns);
        if (msg == NULL)
            msg = run_finish(&r);
    }
    run_close(&r);
    if (msg != NULL) {
        fprintf(stderr, "bench_mqtt: %s\n", msg);
        return 1;
    }
    printf("bench_mqtt: %llu PUBLISH QoS %lu (%u-byte payload, %lu per "
           "burst, %s checksums%s%s%s%s) delivered to one subscriber\n",
           n * conns, qos, PAYLOAD, conns,
           offload ? "offloaded" : "software",
           acl_file != NULL ? ", ACL " : "",
           acl_file != NULL ? acl_file : "",
           rules_file != NULL ? ", rules " : "",
           rules_file != NULL ? rules_file : "");
    return 0;
}

int
main(int argc, char **argv)
{
    acl_file = getenv("PT_BENCH_MQTT_ACL");
    if (acl_file != NULL && acl_file[0] == '\0')
        acl_file = NULL;
    rules_file = getenv("PT_BENCH_MQTT_RULES");
    if (rules_file != NULL && rules_file[0] == '\0')
        rules_file = NULL;
    bench_pool = pt_test_bench_pool("bench_mqtt");
    if (bench_pool == NULL)
        return 1;
    if (argc > 1 && strcmp(argv[1], "--callgrind") == 0)
        return callgrind_main(argc, argv);
    return pt_bench_main(argc, argv);
}
