/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite per segment and per connection: what an established
 * connection's fast path costs, and what an idle connection holds.
 *
 *   bm_tcp_data_in     one in-order data segment in through pt_net_input()
 *                      (Ethernet, IPv4 and TCP validation, checksums,
 *                      lookup, state machine, delivery to an application
 *                      that frees the payload and calls pt_tcp_recved())
 *                      and its ACK out (delayed_ack_ms = 0: every segment
 *                      is acknowledged at once), through pt_net_flush() to
 *                      an emulated driver that frees what it is given.
 *                      Payload 64 or 1460 bytes; IPv4 and TCP checksums
 *                      verified in software.
 *   bm_tcp_data_in_offload  the same with the checksums trusted from the
 *                      mbuf's RX_IP/L4_CKSUM_GOOD flags, as a NIC with
 *                      checksum offload sets them.
 *   bm_tcp_echo        a 64-byte segment in, the echo application
 *                      (pt_tcp_echo_listen) sends it back: one data segment
 *                      out, carrying the ACK. Each segment in acknowledges
 *                      the previous echo, so the send queue stays short.
 *   bm_tcp_idle_conns  N connections opened by forged handshakes; counters
 *                      report memory per idle established connection
 *                      (pt_tcp_stats() conn_bytes, the heap the stack
 *                      allocated per connection slot, mbufs held) and that
 *                      ten idle seconds of timer ticks send nothing. The
 *                      timed part is the N handshakes (SYN in, SYN-ACK out,
 *                      ACK in), including forging both frames in software.
 *
 * What is included in the per-segment figures: each iteration re-arms one
 * prebuilt frame already in its mbuf (restores data_off/len/ol_flags,
 * refcnt 2, patches the sequence and acknowledgment numbers and updates
 * the TCP checksum incrementally, RFC 1624): about 100 instructions with
 * the loop (callgrind), some 6 % of the 64-byte figure. The
 * extra reference keeps the mbuf out of the pool, so the application's
 * rte_pktmbuf_free() is an atomic decrement instead of a mempool put.
 * Outgoing ACK/data frames are real: allocated by the stack from a pool
 * with a per-lcore cache (as petreld's are) and freed by the emulated
 * driver.
 *
 * `bench_tcp --callgrind N [--payload P] [--offload] [--echo]` runs the
 * same fast path N times without Google Benchmark, for instruction counts
 * under valgrind (perf/callgrind_tcp.sh takes the difference of two N).
 *
 * Every benchmark checks afterwards that the stack took every segment
 * (no drops, payload bytes and segments sent as expected) and reports an
 * error otherwise: a figure for a path that was not taken is worse than
 * none.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "pt_bench.h"
#include "pt_test.h"

#define T0_NS (1000ull * 1000000000ull)  /* fake clock at creation */
#define DATA_PORT 1883
#define ECHO_PORT 7
#define PEER_PORT 40000
#define BURST_MAX 32              /* connections per burst (callgrind mode) */
#define PEER_ISN 1000000u
#define RING 4              /* echo: mbufs in flight (queued until ACKed) */
#define L2 sizeof(struct rte_ether_hdr)
#define L3 sizeof(struct rte_ipv4_hdr)
#define L4 sizeof(struct rte_tcp_hdr)
#define HDRS (L2 + L3 + L4)
#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

/* The stack's pool (frames it sends); created in main(). */
static struct rte_mempool *bench_pool;

/* One stack, its net and what the emulated driver saw. */
struct bench {
    struct pt_net *net;
    struct pt_tcp *tcp;
    uint64_t now;
    bool record;              /* set-up: the driver decodes what it sends */
    unsigned tx_frames;       /* frames decoded while recording */
    uint32_t last_seq;        /* the last decoded TCP frame's fields */
    uint32_t last_ack;
    uint8_t last_flags;
    uint32_t last_len;
    uint64_t app_bytes;       /* delivered to the data application */
    uint64_t app_calls;
};

/* A connection's prebuilt segment and the sequence state to patch in. */
struct flow {
    struct bench *b;
    struct rte_mbuf *ring[RING];
    unsigned n_ring;
    unsigned next;
    uint32_t frame_len;
    uint32_t plen;
    uint64_t ol_flags;
    uint32_t seq;             /* next peer sequence number (host order) */
    uint32_t ack;             /* what the peer acknowledges (host order) */
    bool echo;                /* the ack advances with each echoed segment */
    uint16_t peer_port;
};

/* ---- the emulated driver ---- */

static void
record_frame(struct bench *b, const struct rte_mbuf *m)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    const struct rte_ipv4_hdr *ip = (const void *)(p + L2);
    const struct rte_tcp_hdr *th = (const void *)(p + L2 + L3);

    b->tx_frames++;
    if (m->data_len < HDRS || ip->next_proto_id != IPPROTO_TCP)
        return;
    b->last_seq = rte_be_to_cpu_32(th->sent_seq);
    b->last_ack = rte_be_to_cpu_32(th->recv_ack);
    b->last_flags = th->tcp_flags;
    b->last_len = rte_be_to_cpu_16(ip->total_length) - (uint32_t)L3 -
                  (uint32_t)(th->data_off >> 4) * 4;
}

/* Takes every frame and frees it, as a NIC's TX completion would. */
static uint16_t
bench_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct bench *b = ctx;

    if (unlikely(b->record))
        for (uint16_t i = 0; i < n; i++)
            record_frame(b, pkts[i]);
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
}

/* ---- the data application ---- */

static int
app_accept(void *arg, struct pt_tcp_conn *c, void **user)
{
    (void)c;
    *user = arg;
    return 0;
}

static void
app_data(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    struct bench *b = user;
    uint32_t len = rte_pktmbuf_pkt_len(m);

    b->app_bytes += len;
    b->app_calls++;
    rte_pktmbuf_free(m);
    pt_tcp_recved(c, len);
}

static const struct pt_tcp_ops app_ops = {
    .accept = app_accept,
    .data = app_data,
};

/* ---- frames ---- */

/* Forge Ethernet + IPv4 + TCP from peer (ip host order) to us, with valid
 * checksums, an MSS option when mss != 0 and a letters payload.
 * @return the frame length. */
static size_t
forge(uint8_t *buf, uint32_t peer_ip, uint16_t sport, uint16_t dport,
      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t mss,
      uint32_t plen)
{
    const uint8_t mss_opt[4] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss };
    struct pt_test_tcp seg = {
        .eth_dst = &pt_test_our_mac,
        .src = peer_ip,
        .dst = PT_TEST_OUR_IP,
        .ip_id = 1,
        .sport = sport,
        .dport = dport,
        .seq = seq,
        .ack = ack,
        .flags = flags,
        .win = 65535,
        .opts = mss_opt,
        .optlen = mss ? sizeof(mss_opt) : 0,
        .plen = plen,
    };
    uint8_t *pl = buf + PT_TEST_TCP_HDRS + seg.optlen;

    for (uint32_t i = 0; i < plen; i++)
        pl[i] = (uint8_t)('a' + i % 26);
    return pt_test_tcp_frame(buf, &seg);
}

/* Hand one forged frame to the stack (a fresh mbuf) and flush. */
static void
inject(struct bench *b, const uint8_t *frame, size_t len)
{
    struct rte_mbuf *m = pt_test_mbuf(frame, len, 0);

    pt_net_input(b->net, &m, 1, b->now);
    pt_net_flush(b->net);
}

/*
 * Open a connection: SYN in, SYN-ACK out (decoded for our ISN), ACK in.
 * @return 0 with *our_isn set, or -1 when the stack did not answer the SYN
 * with a SYN-ACK for it.
 */
static int
handshake(struct bench *b, uint32_t peer_ip, uint16_t sport, uint16_t dport,
          uint32_t isn, uint32_t *our_isn)
{
    uint8_t frame[128];
    size_t len;

    b->record = true;
    b->tx_frames = 0;
    len = forge(frame, peer_ip, sport, dport, isn, 0, F_SYN, 1460, 0);
    inject(b, frame, len);
    b->record = false;
    if (b->tx_frames != 1 || b->last_flags != (F_SYN | F_ACK) ||
        b->last_ack != isn + 1)
        return -1;
    *our_isn = b->last_seq;
    len = forge(frame, peer_ip, sport, dport, isn + 1, *our_isn + 1, F_ACK,
                0, 0);
    inject(b, frame, len);
    return 0;
}

/* ---- set-up ---- */

static void
tcp_conf(struct pt_tcp_conf *conf, struct pt_net *net, uint32_t max_conns)
{
    static const uint8_t secret[16] = "petrel-bench-tcp";

    /* the tests' stack (every segment acknowledged at once), sized up */
    pt_test_tcp_conf(conf, net, T0_NS);
    conf->secret = secret;
    conf->max_conns = max_conns;
    conf->syn_backlog = 64;
    conf->time_wait_max = 1024;
    /* and more patient, with an out-of-order queue */
    conf->max_retries = 8;
    conf->ooo_segments = 8;
}

/* @return 0, or -1 with msg set. */
static int
bench_open(struct bench *b, uint32_t max_conns, const char **msg)
{
    struct pt_net_conf nc;
    struct pt_tcp_conf tc;

    memset(b, 0, sizeof(*b));
    b->now = T0_NS;
    pt_test_net_conf(&nc, bench_tx, b);
    nc.pool = bench_pool;
    b->net = pt_net_create(&nc);
    if (b->net == NULL) {
        *msg = "pt_net_create failed";
        return -1;
    }
    tcp_conf(&tc, b->net, max_conns);
    b->tcp = pt_tcp_create(&tc);
    if (b->tcp == NULL) {
        *msg = "pt_tcp_create failed (EAL memory?)";
        pt_net_free(b->net);
        return -1;
    }
    return 0;
}

static void
bench_close(struct bench *b)
{
    pt_tcp_free(b->tcp);
    pt_net_flush(b->net);
    pt_net_free(b->net);
}

/*
 * One connection (data application on DATA_PORT, or echo on ECHO_PORT)
 * and its prebuilt segment in n_ring mbufs. @return 0, or -1 with msg set
 * (the bench is left open for bench_close()).
 */
static int
flow_open_port(struct flow *f, struct bench *b, uint32_t plen, bool offload,
               bool echo, uint16_t peer_port, bool listen, const char **msg);

static int
flow_open(struct flow *f, struct bench *b, uint32_t plen, bool offload,
          bool echo, const char **msg)
{
    return flow_open_port(f, b, plen, offload, echo, PEER_PORT, true, msg);
}

/* flow_open() for peer port peer_port; listen = false when an earlier
 * flow of the bench already registered the listener. */
static int
flow_open_port(struct flow *f, struct bench *b, uint32_t plen, bool offload,
               bool echo, uint16_t peer_port, bool listen, const char **msg)
{
    uint8_t frame[2048];
    uint32_t our_isn;
    uint16_t port = echo ? ECHO_PORT : DATA_PORT;
    int rc;

    memset(f, 0, sizeof(*f));
    f->b = b;
    f->plen = plen;
    f->echo = echo;
    f->n_ring = echo ? RING : 1;
    f->peer_port = peer_port;
    f->ol_flags = offload ? RTE_MBUF_F_RX_IP_CKSUM_GOOD |
                            RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;
    rc = !listen ? 0 : echo ? pt_tcp_echo_listen(b->tcp, port) :
                              pt_tcp_listen(b->tcp, port, &app_ops, b);
    if (rc != 0) {
        *msg = "pt_tcp_listen failed";
        return -1;
    }
    if (handshake(b, PT_TEST_PEER_IP, peer_port, port, PEER_ISN,
                  &our_isn) != 0 ||
        pt_tcp_stats(b->tcp)->states[PT_TCP_ESTABLISHED] !=
            (uint64_t)(peer_port - PEER_PORT + 1)) {
        *msg = "handshake failed";
        return -1;
    }
    f->seq = PEER_ISN + 1;
    f->ack = our_isn + 1;
    f->frame_len = (uint32_t)forge(frame, PT_TEST_PEER_IP, peer_port, port,
                                   f->seq, f->ack, F_ACK | F_PSH, 0, plen);
    if (rte_pktmbuf_alloc_bulk(bench_pool, f->ring, f->n_ring) != 0) {
        *msg = "mempool empty";
        return -1;
    }
    for (unsigned i = 0; i < f->n_ring; i++)
        memcpy(rte_pktmbuf_append(f->ring[i], (uint16_t)f->frame_len),
               frame, f->frame_len);
    return 0;
}

/* Free the ring's mbufs; after bench_close(), which makes the stack let go
 * of those it still queued. */
static void
flow_close(struct flow *f)
{
    for (unsigned i = 0; i < f->n_ring; i++) {
        if (f->ring[i] == NULL)
            continue;
        f->ring[i]->next = NULL;
        f->ring[i]->nb_segs = 1;
        rte_mbuf_refcnt_set(f->ring[i], 1);
        rte_pktmbuf_free(f->ring[i]);
        f->ring[i] = NULL;
    }
}

/* RFC 1624 eq. 3 for a 32-bit field, all values as they lie in memory. */
static inline uint16_t
csum_replace32(uint16_t csum, uint32_t old, uint32_t new)
{
    uint32_t s = (uint16_t)~csum;

    s += (uint16_t)~old + (uint16_t)~(old >> 16) + (new & 0xffff) +
         (new >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/*
 * One segment in and what it causes out. The mbuf still holds the frame
 * from its last trip (the stack only moved data_off and the lengths); put
 * them back, patch seq/ack and the checksum. @return 0, or -1 when the
 * stack still holds the mbuf (an echo not acknowledged: ring too small).
 */
/* Put the next ring mbuf back into shape as the next segment; NULL when
 * the stack still holds it. */
static inline struct rte_mbuf *
flow_prepare(struct flow *f)
{
    struct rte_mbuf *m = f->ring[f->next];
    struct rte_tcp_hdr *th;
    uint32_t seq, ack;

    if (unlikely(rte_mbuf_refcnt_read(m) != 1))
        return NULL;
    f->next = f->next + 1 == f->n_ring ? 0 : f->next + 1;
    m->data_off = RTE_PKTMBUF_HEADROOM;
    m->data_len = (uint16_t)f->frame_len;
    m->pkt_len = f->frame_len;
    m->nb_segs = 1;
    m->next = NULL;
    m->ol_flags = f->ol_flags;
    rte_mbuf_refcnt_set(m, 2);
    th = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, L2 + L3);
    seq = rte_cpu_to_be_32(f->seq);
    ack = rte_cpu_to_be_32(f->ack);
    th->cksum = csum_replace32(th->cksum, th->sent_seq, seq);
    th->cksum = csum_replace32(th->cksum, th->recv_ack, ack);
    th->sent_seq = seq;
    th->recv_ack = ack;
    f->seq += f->plen;
    if (f->echo)
        f->ack += f->plen;
    return m;
}

static inline int
flow_step(struct flow *f)
{
    struct rte_mbuf *m = flow_prepare(f);

    if (unlikely(m == NULL))
        return -1;
    pt_net_input(f->b->net, &m, 1, f->b->now);
    pt_net_flush(f->b->net);
    return 0;
}

/*
 * After n segments: every one taken in order and answered by exactly one
 * frame. @return NULL, or what went wrong.
 */
static const char *
flow_check(const struct flow *f, const struct pt_tcp_stats *before,
           uint64_t n)
{
    const struct pt_tcp_stats *st = pt_tcp_stats(f->b->tcp);
    static char why[160];
    uint64_t drops = 0;

    for (int i = 0; i < PT_TCP_DROP_MAX; i++)
        drops += st->drops[i] - before->drops[i];
    if (drops != 0) {
        snprintf(why, sizeof(why), "%llu segments dropped",
                 (unsigned long long)drops);
        return why;
    }
    if (st->c[PT_TCP_C_RX_BYTES] - before->c[PT_TCP_C_RX_BYTES] !=
        n * f->plen ||
        st->c[PT_TCP_C_TX_SEGS] - before->c[PT_TCP_C_TX_SEGS] != n ||
        (f->echo && st->c[PT_TCP_C_TX_BYTES] - before->c[PT_TCP_C_TX_BYTES] !=
                    n * f->plen) ||
        (!f->echo && f->b->app_bytes != n * f->plen)) {
        snprintf(why, sizeof(why), "%llu segments in: %llu payload bytes "
                 "taken, %llu segments and %llu bytes sent",
                 (unsigned long long)n,
                 (unsigned long long)(st->c[PT_TCP_C_RX_BYTES] -
                                      before->c[PT_TCP_C_RX_BYTES]),
                 (unsigned long long)(st->c[PT_TCP_C_TX_SEGS] -
                                      before->c[PT_TCP_C_TX_SEGS]),
                 (unsigned long long)(st->c[PT_TCP_C_TX_BYTES] -
                                      before->c[PT_TCP_C_TX_BYTES]));
        return why;
    }
    return NULL;
}

/* ---- benchmarks ---- */

static void
run_flow(struct pt_bench_state *st, uint32_t plen, bool offload, bool echo)
{
    struct bench b;
    struct flow f;
    struct pt_tcp_stats before;
    const char *msg = NULL;
    uint64_t n;

    if (bench_open(&b, 16, &msg) != 0) {
        pt_bench_skip_with_error(st, msg);
        return;
    }
    if (flow_open(&f, &b, plen, offload, echo, &msg) != 0)
        goto out;
    /* one untimed segment: its reply must carry the right ACK */
    b.record = true;
    b.tx_frames = 0;
    if (flow_step(&f) != 0 || b.tx_frames != 1 || b.last_ack != f.seq ||
        b.last_len != (echo ? plen : 0)) {
        msg = "the first segment was not answered as expected";
        goto out;
    }
    b.record = false;
    b.app_bytes = 0;
    before = *pt_tcp_stats(b.tcp);
    while (pt_bench_keep_running(st))
        if (unlikely(flow_step(&f) != 0)) {
            msg = "the stack still holds an echoed mbuf";
            goto out;
        }
    n = (uint64_t)pt_bench_iterations_done(st);
    msg = flow_check(&f, &before, n);
    if (msg == NULL) {
        pt_bench_set_items_processed(st, (int64_t)n);
        pt_bench_set_bytes_processed(st, (int64_t)(n * plen));
        pt_bench_counter_set(st, "ns_per_seg", (double)n,
                             PT_BENCH_COUNTER_RATE | PT_BENCH_COUNTER_INVERT);
    }
out:
    bench_close(&b); /* first: it frees what the stack still queues */
    flow_close(&f);
    if (msg != NULL)
        pt_bench_skip_with_error(st, msg);
}

static void
bm_tcp_data_in(struct pt_bench_state *st)
{
    run_flow(st, (uint32_t)pt_bench_range_x(st, 0), false, false);
}
PT_BENCH_CONFIG(bm_tcp_data_in)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 64), 1460), "payload");
}

static void
bm_tcp_data_in_offload(struct pt_bench_state *st)
{
    run_flow(st, (uint32_t)pt_bench_range_x(st, 0), true, false);
}
PT_BENCH_CONFIG(bm_tcp_data_in_offload)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 64), 1460), "payload");
}

static void
bm_tcp_echo(struct pt_bench_state *st)
{
    run_flow(st, 64, false, true);
}
PT_BENCH(bm_tcp_echo);

/* Heap bytes allocated on every socket (rte_malloc). */
static uint64_t
heap_allocated(void)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < rte_socket_count(); i++) {
        struct rte_malloc_socket_stats s;

        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0)
            sum += s.heap_allocsz_bytes;
    }
    return sum;
}

static void
bm_tcp_idle_conns(struct pt_bench_state *st)
{
    uint32_t n = (uint32_t)pt_bench_range_x(st, 0);
    const struct pt_tcp_stats *ts;
    struct bench b;
    const char *msg = NULL;
    uint64_t heap0, heap1, tx0, idle_tx;
    unsigned mbufs0, mbufs1;

    heap0 = heap_allocated();
    if (bench_open(&b, n, &msg) != 0) {
        pt_bench_skip_with_error(st, msg);
        return;
    }
    heap1 = heap_allocated();
    if (pt_tcp_listen(b.tcp, DATA_PORT, &app_ops, &b) != 0) {
        msg = "pt_tcp_listen failed";
        goto out;
    }
    mbufs0 = rte_mempool_in_use_count(pt_test_pool()) +
             rte_mempool_in_use_count(bench_pool);
    while (pt_bench_keep_running(st)) {
        for (uint32_t i = 0; i < n; i++) {
            /* 50,000 ports per peer address, peers 10.99.0.10 and up */
            uint32_t ip = PT_TEST_PEER_IP + 9 + i / 50000;
            uint16_t port = (uint16_t)(10000 + i % 50000);
            uint32_t isn;

            if (handshake(&b, ip, port, DATA_PORT, i * 7919u, &isn) != 0) {
                msg = "handshake failed";
                break;
            }
        }
    }
    if (msg != NULL)
        goto out;
    ts = pt_tcp_stats(b.tcp);
    mbufs1 = rte_mempool_in_use_count(pt_test_pool()) +
             rte_mempool_in_use_count(bench_pool);
    /* ten idle seconds, ticked 1 ms at a time: nothing may be sent */
    tx0 = ts->c[PT_TCP_C_TX_SEGS];
    for (int ms = 1; ms <= 10000; ms++)
        pt_tcp_tick(b.tcp, b.now + (uint64_t)ms * 1000000u);
    pt_net_flush(b.net);
    idle_tx = ts->c[PT_TCP_C_TX_SEGS] - tx0;
    if (ts->states[PT_TCP_ESTABLISHED] != n || ts->conns_in_use != n) {
        msg = "not every connection is established";
        goto out;
    }
    pt_bench_set_items_processed(st, n);
    pt_bench_counter_set(st, "conns_in_use", (double)ts->conns_in_use, 0);
    pt_bench_counter_set(st, "established",
                         (double)ts->states[PT_TCP_ESTABLISHED], 0);
    pt_bench_counter_set(st, "conn_bytes", (double)ts->conn_bytes, 0);
    pt_bench_counter_set(st, "heap_bytes_per_conn",
                         (double)(heap1 - heap0) / n, 0);
    pt_bench_counter_set(st, "mbufs_held_per_conn",
                         (double)(mbufs1 - mbufs0) / n, 0);
    pt_bench_counter_set(st, "mbufs_in_use", (double)mbufs1, 0);
    pt_bench_counter_set(st, "idle_10s_tx_segs", (double)idle_tx, 0);
    pt_bench_counter_set(st, "ns_per_handshake", (double)n,
                         PT_BENCH_COUNTER_RATE | PT_BENCH_COUNTER_INVERT);
    if (mbufs1 != mbufs0)
        msg = "idle connections hold mbufs";
    else if (idle_tx != 0)
        msg = "idle connections sent segments";
out:
    bench_close(&b);
    if (msg != NULL)
        pt_bench_skip_with_error(st, msg);
}
PT_BENCH_CONFIG(bm_tcp_idle_conns)
{
    pt_bench_iterations(
        pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 10000), 100000),
                          "conns"), 1);
    pt_bench_unit(b, PT_BENCH_UNIT_MS);
}

/* ---- callgrind mode ---- */

static int
callgrind_usage(void)
{
    fprintf(stderr, "usage: bench_tcp --callgrind N [--payload P] "
            "[--offload] [--echo] [--conns K]\n");
    return 2;
}

/* Set up one connection, run N fast-path segments, check, tear down. */
static int
callgrind_main(int argc, char **argv)
{
    uint32_t plen = 64, conns = 1;
    bool offload = false, echo = false;
    struct bench b;
    static struct flow flows[BURST_MAX];
    struct flow *fl = flows;
    struct pt_tcp_stats before;
    const char *msg = NULL;
    char *end;
    unsigned long long n;

    if (argc < 3)
        return callgrind_usage();
    n = strtoull(argv[2], &end, 10);
    if (*end != '\0' || n == 0)
        return callgrind_usage();
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--payload") == 0 && i + 1 < argc)
            plen = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--offload") == 0)
            offload = true;
        else if (strcmp(argv[i], "--echo") == 0)
            echo = true;
        else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
            conns = (uint32_t)strtoul(argv[++i], NULL, 10);
        else
            return callgrind_usage();
    }
    if (conns == 0 || conns > BURST_MAX || (conns > 1 && echo))
        return callgrind_usage();
    if (plen == 0 || plen > 1460)
        return callgrind_usage();
    if (bench_open(&b, 2 * BURST_MAX, &msg) != 0) {
        fprintf(stderr, "bench_tcp: %s\n", msg);
        return 1;
    }
    /*
     * conns == 1: one segment per burst (pt_net_input + pt_net_flush each);
     * conns == K: one segment of each of K connections per burst, as a
     * poll that finds K frames delivers them; per-burst costs spread.
     */
    for (uint32_t i = 0; i < conns && msg == NULL; i++)
        flow_open_port(&flows[i], &b, plen, offload, echo,
                       (uint16_t)(PEER_PORT + i), i == 0, &msg);
    if (msg == NULL) {
        before = *pt_tcp_stats(b.tcp);
        for (unsigned long long i = 0; i < n && msg == NULL; i++) {
            struct rte_mbuf *burst[BURST_MAX];

            if (conns == 1) {
                if (flow_step(fl) != 0)
                    msg = "the stack still holds an echoed mbuf";
                continue;
            }
            for (uint32_t k = 0; k < conns; k++)
                burst[k] = flow_prepare(&flows[k]);
            pt_net_input(b.net, burst, (uint16_t)conns, b.now);
            pt_net_flush(b.net);
        }
        if (msg == NULL) /* the counters are the stack's: all flows */
            msg = flow_check(&flows[0], &before, n * conns);
    }
    bench_close(&b);
    for (uint32_t k = 0; k < conns; k++)
        flow_close(&flows[k]);
    if (msg != NULL) {
        fprintf(stderr, "bench_tcp: %s\n", msg);
        return 1;
    }
    n *= conns;
    printf("bench_tcp: %llu segments of %u bytes in (%s checksums), "
           "%s out\n", n, plen, offload ? "offloaded" : "software",
           echo ? "echoed data+ACK" : "ACK");
    return 0;
}

int
main(int argc, char **argv)
{
    bench_pool = pt_test_bench_pool("bench_tcp");
    if (bench_pool == NULL)
        return 1;
    if (argc > 1 && strcmp(argv[1], "--callgrind") == 0)
        return callgrind_main(argc, argv);
    return pt_bench_main(argc, argv);
}
