/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of petrel-bench's flood generator (apps/petrel-bench/flood.c):
 * determinism, the token bucket under a fake clock, SYN frames that parse
 * and cover their source range, and, the point of the module, every junk
 * kind and a 5000-SYN flood fed into petrel's own stack (pt_net + TCP-lite
 * with the echo application) while an established connection keeps
 * echoing: each kind counted under the drop reason the table names, SYN
 * cookies once the backlog is full, no mbuf leaked.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "flood.h"
#include "pt_test.h"

#define T0 1000000000ull
#define MS 1000000ull
#define PORT 1883
#define PEER_PORT 40001
#define PEER_ISN 1000000u

/* Free a burst of frames. */
static void
free_all(struct rte_mbuf **pkts, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        rte_pktmbuf_free(pkts[i]);
}

static void
assert_pool_empty(void)
{
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
}

/* A SYN flood from 10.100.0.0 + 256 addresses, ports 1024..1055, to us. */
static struct pb_flood_conf
conf_of(enum pb_flood_mode mode)
{
    return (struct pb_flood_conf){
        .mode = mode,
        .src_mac = pt_test_peer_mac,
        .dst_mac = pt_test_our_mac,
        .src_ip = rte_cpu_to_be_32(RTE_IPV4(10, 100, 0, 0)),
        .src_ip_count = 256,
        .src_port_min = 1024,
        .src_port_max = 1055,
        .dst_ip = rte_cpu_to_be_32(PT_TEST_OUR_IP),
        .dst_port = PORT,
        .seed = 1,
        .pool = pt_test_pool(),
    };
}

static struct pb_flood *
flood_new(const struct pb_flood_conf *c)
{
    struct pb_flood *f = pb_flood_create(c);

    assert_non_null(f);
    return f;
}

/* ---- creation ---- */

static void
test_flood_create_invalid(void **state)
{
    struct pb_flood_conf c;
    struct rte_mempool *small;

    (void)state;
    assert_null(pb_flood_create(NULL));
    assert_int_equal(rte_errno, EINVAL);

#define BAD(field, value)                                                     \
    do {                                                                      \
        c = conf_of(PB_FLOOD_SYN);                                            \
        c.field = value;                                                      \
        rte_errno = 0;                                                        \
        assert_null(pb_flood_create(&c));                                     \
        assert_int_equal(rte_errno, EINVAL);                                  \
    } while (0)
    BAD(pool, NULL);
    BAD(src_ip_count, 0);
    BAD(src_port_min, 2000); /* above max */
    BAD(dst_port, 0);
    BAD(mode, (enum pb_flood_mode)7);
    BAD(junk_mask, 1u << 31); /* no kind there */
#undef BAD

    /* buffers too small for the longest frame */
    small = rte_pktmbuf_pool_create("flood_small", 63, 0, 0,
                                    RTE_PKTMBUF_HEADROOM + 64, SOCKET_ID_ANY);
    assert_non_null(small);
    c = conf_of(PB_FLOOD_JUNK);
    c.pool = small;
    assert_null(pb_flood_create(&c));
    assert_int_equal(rte_errno, EINVAL);
    rte_mempool_free(small);

    /* a single flow, every port: both fine */
    c = conf_of(PB_FLOOD_SYN);
    c.src_ip_count = 1;
    c.src_port_min = c.src_port_max = 5000;
    pb_flood_free(flood_new(&c));
    c.src_port_min = 0;
    c.src_port_max = 65535;
    c.src_ip = rte_cpu_to_be_32(1);
    c.src_ip_count = UINT32_MAX; /* 0.0.0.1 .. 255.255.255.255 */
    pb_flood_free(flood_new(&c));
    c.src_ip = rte_cpu_to_be_32(2); /* one past the last address */
    assert_null(pb_flood_create(&c));
    assert_int_equal(rte_errno, EINVAL);
    pb_flood_free(NULL);
}

static void
test_flood_kind_names(void **state)
{
    (void)state;
    for (unsigned a = 0; a < PB_JUNK_KINDS; a++) {
        assert_true(strlen(pb_flood_kind_name(a)) > 0);
        assert_true(strlen(pb_flood_kind_help(a)) > 10);
        assert_string_not_equal(pb_flood_kind_drop(a), "?");
        for (unsigned b = a + 1; b < PB_JUNK_KINDS; b++)
            assert_string_not_equal(pb_flood_kind_name(a),
                                    pb_flood_kind_name(b));
    }
    assert_string_equal(pb_flood_kind_name(PB_JUNK_KINDS), "?");
    assert_string_equal(pb_flood_kind_drop(PB_JUNK_KINDS), "?");
    assert_string_equal(pb_flood_kind_help(UINT32_MAX), "?");
}

/* ---- determinism ---- */

/* Build n frames with each of two generators; @return 1 if all equal. */
static int
same_frames(struct pb_flood *a, struct pb_flood *b, unsigned n)
{
    struct rte_mbuf *pa[64], *pb[64];
    int same = 1;

    assert_true(n <= 64);
    assert_int_equal(pb_flood_fill(a, T0, pa, (uint16_t)n), n);
    assert_int_equal(pb_flood_fill(b, T0, pb, (uint16_t)n), n);
    for (unsigned i = 0; i < n; i++) {
        if (rte_pktmbuf_pkt_len(pa[i]) != rte_pktmbuf_pkt_len(pb[i]) ||
            memcmp(rte_pktmbuf_mtod(pa[i], void *),
                   rte_pktmbuf_mtod(pb[i], void *),
                   rte_pktmbuf_data_len(pa[i])) != 0)
            same = 0;
    }
    free_all(pa, n);
    free_all(pb, n);
    return same;
}

static void
test_flood_deterministic(void **state)
{
    (void)state;
    for (int mode = PB_FLOOD_SYN; mode <= PB_FLOOD_JUNK; mode++) {
        struct pb_flood_conf c = conf_of((enum pb_flood_mode)mode);
        struct pb_flood *a, *b;

        c.seed = 42;
        a = flood_new(&c);
        b = flood_new(&c);
        for (int round = 0; round < 4; round++)
            assert_true(same_frames(a, b, 64));
        pb_flood_free(b);
        c.seed = 43;
        b = flood_new(&c);
        assert_false(same_frames(a, b, 64));
        pb_flood_free(a);
        pb_flood_free(b);
    }
    assert_pool_empty();
}

/* ---- rate ---- */

static unsigned
fill_free(struct pb_flood *f, uint64_t now, uint16_t max)
{
    struct rte_mbuf *p[256];
    uint16_t n = pb_flood_fill(f, now, p, max);

    assert_true(n <= max);
    free_all(p, n);
    return n;
}

static void
test_flood_rate(void **state)
{
    struct pb_flood_conf c = conf_of(PB_FLOOD_SYN);
    struct pb_flood *f;
    uint64_t now = T0;
    unsigned total = 0;

    (void)state;
    /* 1000 pps polled every 100 us for 10 ms: 10 frames */
    c.rate_pps = 1000;
    f = flood_new(&c);
    assert_int_equal(fill_free(f, now, 32), 0); /* starts the clock */
    for (int i = 0; i < 100; i++) {
        now += 100000;
        total += fill_free(f, now, 32);
    }
    assert_in_range(total, 9, 11);
    assert_int_equal(pb_flood_stats(f)->built, total);
    /* a clock that steps back adds nothing */
    assert_int_equal(fill_free(f, now - 5 * MS, 32), 0);
    assert_int_equal(fill_free(f, now, 32), 0);
    /* a 10 s pause: one burst (the cap is max), not 10000 frames */
    now += 10000 * MS;
    assert_int_equal(fill_free(f, now, 8), 8);
    assert_int_equal(fill_free(f, now, 8), 0);
    assert_int_equal(fill_free(f, now + MS, 8), 1);
    pb_flood_free(f);

    /* 1 Mpps, 1 ms: 1000 due, max 64 respected */
    c.rate_pps = 1000000;
    f = flood_new(&c);
    assert_int_equal(fill_free(f, T0, 64), 0);
    assert_int_equal(fill_free(f, T0 + MS, 64), 64);
    /* a fractional frame carries over: 1.5 us per call at 1 Mpps */
    assert_int_equal(fill_free(f, T0 + 2 * MS, 64), 64); /* capped */
    total = 0;
    for (int i = 1; i <= 200; i++)
        total += fill_free(f, T0 + 2 * MS + (uint64_t)i * 1500, 64);
    assert_in_range(total, 299, 301);
    pb_flood_free(f);

    /* rate 0: as many as asked, every call */
    c.rate_pps = 0;
    f = flood_new(&c);
    assert_int_equal(fill_free(f, 0, 200), 200);
    assert_int_equal(fill_free(f, 0, 200), 200);
    assert_int_equal(fill_free(f, 0, 0), 0);
    assert_int_equal(pb_flood_stats(f)->built, 400);
    pb_flood_free(f);
    assert_pool_empty();
}

static void
test_flood_pool_empty(void **state)
{
    struct rte_mempool *tiny;
    struct pb_flood_conf c = conf_of(PB_FLOOD_SYN);
    struct pb_flood *f;
    struct rte_mbuf *p[64];
    unsigned got = 0;
    uint16_t n;

    (void)state;
    tiny = rte_pktmbuf_pool_create("flood_tiny", 15, 0, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    assert_non_null(tiny);
    c.pool = tiny;
    f = flood_new(&c);
    /* 15 mbufs, 32 asked: the burst halves until it fits */
    while ((n = pb_flood_fill(f, 0, p + got, 32)) > 0) {
        got += n;
        assert_true(got <= 15);
    }
    assert_int_equal(got, 15);
    assert_int_equal(pb_flood_stats(f)->built, 15);
    assert_true(pb_flood_stats(f)->no_mbuf >= 32);
    free_all(p, got);
    assert_int_equal(pb_flood_fill(f, 0, p, 4), 4);
    free_all(p, 4);
    pb_flood_free(f);
    rte_mempool_free(tiny);
}

/* ---- SYN frames ---- */

struct syn_view {
    const struct rte_ether_hdr *eh;
    const struct rte_ipv4_hdr *ip;
    const struct rte_tcp_hdr *th;
    uint32_t src;     /* host order */
    uint16_t sport;   /* host order */
};

/* Check everything about a SYN frame but the checksums. */
static struct syn_view
syn_parse(const struct rte_mbuf *m, const struct pb_flood_conf *c)
{
    const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
    struct syn_view v = {
        .eh = (const struct rte_ether_hdr *)p,
        .ip = (const struct rte_ipv4_hdr *)(p + 14),
        .th = (const struct rte_tcp_hdr *)(p + 34),
    };
    const uint8_t *o = (const uint8_t *)(v.th + 1);

    assert_int_equal(m->nb_segs, 1);
    assert_int_equal(rte_pktmbuf_pkt_len(m), 58);
    assert_memory_equal(&v.eh->dst_addr, &c->dst_mac, 6);
    assert_memory_equal(&v.eh->src_addr, &c->src_mac, 6);
    assert_int_equal(v.eh->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
    assert_int_equal(v.ip->version_ihl, 0x45);
    assert_int_equal(rte_be_to_cpu_16(v.ip->total_length), 44);
    assert_int_equal(v.ip->fragment_offset,
                     rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG));
    assert_int_equal(v.ip->next_proto_id, IPPROTO_TCP);
    assert_true(v.ip->time_to_live > 0);
    assert_int_equal(v.ip->dst_addr, c->dst_ip);
    assert_int_equal(rte_be_to_cpu_16(v.th->dst_port), c->dst_port);
    assert_int_equal(v.th->tcp_flags, RTE_TCP_SYN_FLAG);
    assert_int_equal(v.th->data_off, 6 << 4);
    assert_int_equal(v.th->recv_ack, 0);
    assert_int_equal(v.th->tcp_urp, 0);
    assert_true(v.th->rx_win != 0);
    assert_int_equal(o[0], 2); /* MSS */
    assert_int_equal(o[1], 4);
    assert_int_equal((o[2] << 8) | o[3], 1460);
    v.src = rte_be_to_cpu_32(v.ip->src_addr);
    v.sport = rte_be_to_cpu_16(v.th->src_port);
    assert_in_range(v.src, rte_be_to_cpu_32(c->src_ip),
                    rte_be_to_cpu_32(c->src_ip) + c->src_ip_count - 1);
    assert_in_range(v.sport, c->src_port_min, c->src_port_max);
    return v;
}

static void
test_flood_syn_valid(void **state)
{
    struct pb_flood_conf c = conf_of(PB_FLOOD_SYN);
    struct pb_flood *f;
    struct rte_mbuf *p[64];
    uint32_t seqs[64];
    unsigned distinct = 0;

    (void)state;
    f = flood_new(&c);
    for (int round = 0; round < 50; round++) {
        assert_int_equal(pb_flood_fill(f, 0, p, 64), 64);
        for (unsigned i = 0; i < 64; i++) {
            struct syn_view v = syn_parse(p[i], &c);

            assert_int_equal(p[i]->ol_flags, 0);
            assert_int_equal(rte_ipv4_cksum(v.ip), 0);
            assert_int_equal(rte_ipv4_udptcp_cksum_verify(v.ip, v.th), 0);
            seqs[i] = v.th->sent_seq;
        }
        free_all(p, 64);
    }
    /* random ISNs */
    for (unsigned i = 0; i < 64; i++) {
        unsigned j = 0;

        while (j < i && seqs[j] != seqs[i])
            j++;
        distinct += j == i;
    }
    assert_true(distinct >= 60);
    assert_int_equal(pb_flood_stats(f)->built, 50 * 64);
    pb_flood_free(f);

    /* offload: IPv4 checksum 0, TCP field the pseudo-header sum */
    c.tx_cksum_offload = true;
    f = flood_new(&c);
    assert_int_equal(pb_flood_fill(f, 0, p, 64), 64);
    for (unsigned i = 0; i < 64; i++) {
        struct syn_view v = syn_parse(p[i], &c);

        assert_true(p[i]->ol_flags & RTE_MBUF_F_TX_IPV4);
        assert_true(p[i]->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
        assert_true(p[i]->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM);
        assert_int_equal(p[i]->l2_len, 14);
        assert_int_equal(p[i]->l3_len, 20);
        assert_int_equal(v.ip->hdr_checksum, 0);
        assert_int_equal(v.th->cksum,
                         rte_ipv4_phdr_cksum(v.ip, p[i]->ol_flags));
    }
    free_all(p, 64);
    pb_flood_free(f);
    assert_pool_empty();
}

/* Build one period of a range of flows and check each flow comes once. */
static void
walk_period(struct pb_flood *f, const struct pb_flood_conf *c, uint8_t *seen,
            uint64_t flows)
{
    uint32_t nports = (uint32_t)c->src_port_max - c->src_port_min + 1;
    uint64_t done = 0;

    memset(seen, 0, flows);
    while (done < flows) {
        struct rte_mbuf *p[64];
        uint16_t n = pb_flood_fill(f, 0, p, (uint16_t)RTE_MIN(flows - done,
                                                              (uint64_t)64));

        assert_true(n > 0);
        for (uint16_t i = 0; i < n; i++) {
            struct syn_view v = syn_parse(p[i], c);
            uint64_t id = (uint64_t)(v.src - rte_be_to_cpu_32(c->src_ip)) *
                          nports + (v.sport - c->src_port_min);

            assert_int_equal(seen[id], 0);
            seen[id] = 1;
        }
        free_all(p, n);
        done += n;
    }
}

/* The first N frames of a range of N flows are N distinct flows, and so
 * every flow of it, and the next N again; ranges of any size, including a
 * lone flow. */
static void
test_flood_syn_covers_range(void **state)
{
    static const struct {
        uint32_t addrs;
        uint16_t pmin, pmax;
    } ranges[] = {
        { 1, 7, 7 }, { 1, 1000, 1001 }, { 3, 1, 1 }, { 5, 9, 15 },
        { 1000, 1000, 1009 }, { 1, 1, 65535 },
    };

    (void)state;
    for (unsigned r = 0; r < RTE_DIM(ranges); r++) {
        struct pb_flood_conf c = conf_of(PB_FLOOD_SYN);
        uint64_t flows = (uint64_t)ranges[r].addrs *
                         (ranges[r].pmax - ranges[r].pmin + 1u);
        uint8_t *seen = malloc(flows);
        struct pb_flood *f;

        assert_non_null(seen);
        c.src_ip_count = ranges[r].addrs;
        c.src_port_min = ranges[r].pmin;
        c.src_port_max = ranges[r].pmax;
        c.seed = 7 + r;
        f = flood_new(&c);
        walk_period(f, &c, seen, flows);
        walk_period(f, &c, seen, flows);
        pb_flood_free(f);
        free(seen);
    }
    assert_pool_empty();
}

/* Junk frames cycle through the enabled kinds in table order. */
static void
test_flood_junk_cycles(void **state)
{
    struct pb_flood_conf c = conf_of(PB_FLOOD_JUNK);
    struct pb_flood *f;
    const struct pb_flood_stats *st;

    (void)state;
    f = flood_new(&c);
    st = pb_flood_stats(f);
    for (unsigned i = 0; i < 3 * PB_JUNK_KINDS; i++) {
        unsigned k = i % PB_JUNK_KINDS;
        uint64_t before = st->kind[k];

        assert_int_equal(fill_free(f, 0, 1), 1);
        assert_int_equal(st->kind[k], before + 1);
    }
    assert_int_equal(st->built, 3 * PB_JUNK_KINDS);
    pb_flood_free(f);

    /* a mask: only those, in order */
    c.junk_mask = (1u << PB_JUNK_SYN_FIN) | (1u << PB_JUNK_ARP);
    f = flood_new(&c);
    st = pb_flood_stats(f);
    assert_int_equal(fill_free(f, 0, 101), 101);
    assert_int_equal(st->kind[PB_JUNK_SYN_FIN], 51);
    assert_int_equal(st->kind[PB_JUNK_ARP], 50);
    assert_int_equal(st->built, 101);
    pb_flood_free(f);
    assert_pool_empty();
}

/* ---- into petrel's stack ---- */

/* The broker's transmit side: frames to our one real peer are kept for the
 * test to read; SYN-ACKs and RSTs to the flood's sources are counted and
 * freed. */
struct rig {
    struct pt_net *net;
    struct pt_tcp *tcp;
    uint64_t now;
    /* what the stack sent */
    uint64_t synacks, rsts, others;
    struct rte_mbuf *peer_pkts[64];
    unsigned peer_n;
    /* the peer's side of the echo connection */
    uint32_t snd_nxt, rcv_nxt;
    uint16_t ip_id;
};

static uint16_t
rig_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct rig *r = ctx;

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        const struct rte_ipv4_hdr *ip =
            rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, 14);
        const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);

        if (ip->next_proto_id == IPPROTO_TCP &&
            ip->dst_addr == rte_cpu_to_be_32(PT_TEST_PEER_IP) &&
            th->dst_port == rte_cpu_to_be_16(PEER_PORT) &&
            r->peer_n < RTE_DIM(r->peer_pkts)) {
            r->peer_pkts[r->peer_n++] = m;
            continue;
        }
        if (ip->next_proto_id != IPPROTO_TCP)
            r->others++;
        else if ((th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) ==
                 (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG))
            r->synacks++;
        else if (th->tcp_flags & RTE_TCP_RST_FLAG)
            r->rsts++;
        else
            r->others++;
        rte_pktmbuf_free(m);
    }
    return n;
}

static void
rig_peer_reset(struct rig *r)
{
    free_all(r->peer_pkts, r->peer_n);
    r->peer_n = 0;
}

static void
rig_input(struct rig *r, struct rte_mbuf **pkts, uint16_t n)
{
    pt_net_input(r->net, pkts, n, r->now);
    pt_net_flush(r->net);
}

/* One segment from the peer to the broker. */
static void
peer_send(struct rig *r, uint8_t flags, const void *data, size_t len)
{
    static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
    uint8_t b[256];
    struct pt_test_tcp seg = {
        .eth_dst = &pt_test_our_mac,
        .src = PT_TEST_PEER_IP,
        .dst = PT_TEST_OUR_IP,
        .ip_id = r->ip_id++,
        .sport = PEER_PORT,
        .dport = PORT,
        .seq = r->snd_nxt,
        .ack = (flags & RTE_TCP_ACK_FLAG) ? r->rcv_nxt : 0,
        .flags = flags,
        .win = 65535,
        .opts = (flags & RTE_TCP_SYN_FLAG) ? mss : NULL,
        .optlen = (flags & RTE_TCP_SYN_FLAG) ? 4 : 0,
        .payload = data,
        .plen = len,
    };
    size_t n = pt_test_tcp_frame(b, &seg);
    struct rte_mbuf *m = pt_test_mbuf(b, n, 0);

    rig_input(r, &m, 1);
    r->snd_nxt += (uint32_t)len + !!(flags & RTE_TCP_SYN_FLAG);
}

static uint64_t
tcp_drop_total(const struct rig *r)
{
    uint64_t n = 0;

    for (unsigned d = 0; d < PT_NET_DROP_MAX; d++)
        n += pt_net_stats(r->net)->drops[d];
    for (unsigned d = 0; d < PT_TCP_DROP_MAX; d++)
        n += pt_tcp_stats(r->tcp)->drops[d];
    return n;
}

/* A drop counter of either layer by its stats name. */
static uint64_t
drop_named(const struct rig *r, const char *name)
{
    for (unsigned d = 0; d < PT_NET_DROP_MAX; d++)
        if (strcmp(pt_net_drop_name((enum pt_net_drop)d), name) == 0)
            return pt_net_stats(r->net)->drops[d];
    for (unsigned d = 0; d < PT_TCP_DROP_MAX; d++)
        if (strcmp(pt_tcp_drop_name((enum pt_tcp_drop)d), name) == 0)
            return pt_tcp_stats(r->tcp)->drops[d];
    fail_msg("no drop reason named %s", name);
    return 0;
}

/* Open the echo connection with forged segments. */
static void
rig_connect(struct rig *r)
{
    const struct rte_tcp_hdr *th;

    r->snd_nxt = PEER_ISN;
    peer_send(r, RTE_TCP_SYN_FLAG, NULL, 0);
    assert_int_equal(r->peer_n, 1);
    th = rte_pktmbuf_mtod_offset(r->peer_pkts[0], const struct rte_tcp_hdr *,
                                 34);
    assert_int_equal(th->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
    assert_int_equal(rte_be_to_cpu_32(th->recv_ack), PEER_ISN + 1);
    r->rcv_nxt = rte_be_to_cpu_32(th->sent_seq) + 1;
    rig_peer_reset(r);
    peer_send(r, RTE_TCP_ACK_FLAG, NULL, 0);
    assert_int_equal(r->peer_n, 0);
    assert_int_equal(pt_tcp_stats(r->tcp)->c[PT_TCP_C_ACCEPTED], 1);
}

/* The peer sends a line; the broker must echo exactly it, in order; the
 * peer acknowledges. */
static void
echo_round(struct rig *r, unsigned i)
{
    char msg[64], got[128];
    size_t len = (size_t)snprintf(msg, sizeof(msg), "echo %u while flooded",
                                  i);
    size_t have = 0;

    rig_peer_reset(r);
    peer_send(r, RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG, msg, len);
    for (unsigned k = 0; k < r->peer_n; k++) {
        const struct rte_mbuf *m = r->peer_pkts[k];
        const struct rte_ipv4_hdr *ip =
            rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, 14);
        const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
        uint32_t hl = (uint32_t)(th->data_off >> 4) * 4;
        uint32_t plen = rte_be_to_cpu_16(ip->total_length) - 20 - hl;

        assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, th), 0);
        assert_false(th->tcp_flags & (RTE_TCP_RST_FLAG | RTE_TCP_SYN_FLAG |
                                      RTE_TCP_FIN_FLAG));
        assert_int_equal(rte_be_to_cpu_32(th->recv_ack), r->snd_nxt);
        if (plen == 0)
            continue;
        assert_int_equal(rte_be_to_cpu_32(th->sent_seq), r->rcv_nxt + have);
        assert_true(have + plen <= sizeof(got));
        memcpy(got + have, (const uint8_t *)th + hl, plen);
        have += plen;
    }
    assert_int_equal(have, len);
    assert_memory_equal(got, msg, len);
    r->rcv_nxt += (uint32_t)have;
    rig_peer_reset(r);
    peer_send(r, RTE_TCP_ACK_FLAG, NULL, 0);
    assert_int_equal(r->peer_n, 0);
}

static void
rig_start(struct rig *r)
{
    struct pt_net_conf nc;
    static const uint8_t secret[16] = "flood-test-key!";
    struct pt_tcp_conf tc;

    memset(r, 0, sizeof(*r));
    r->now = T0;
    pt_test_net_conf(&nc, rig_tx, r);
    r->net = pt_net_create(&nc);
    assert_non_null(r->net);
    /* 64 connections, backlog 16, 1000 replies a second */
    pt_test_tcp_conf(&tc, r->net, T0);
    tc.secret = secret;
    r->tcp = pt_tcp_create(&tc);
    assert_non_null(r->tcp);
    assert_int_equal(pt_tcp_echo_listen(r->tcp, PORT), 0);
    rig_connect(r);
}

static void
rig_stop(struct rig *r)
{
    /* still there after everything */
    assert_int_equal(pt_tcp_stats(r->tcp)->states[PT_TCP_ESTABLISHED], 1);
    pt_tcp_free(r->tcp);
    pt_net_flush(r->net);
    rig_peer_reset(r);
    pt_net_free(r->net);
    assert_pool_empty();
}

/* Every kind alone: each frame counted once, under the table's reason. */
static void
test_flood_junk_into_stack(void **state)
{
    struct rig r;
    unsigned round = 0;

    (void)state;
    rig_start(&r);
    echo_round(&r, round++);
    for (unsigned k = 0; k < PB_JUNK_KINDS; k++) {
        struct pb_flood_conf c = conf_of(PB_FLOOD_JUNK);
        const char *why = pb_flood_kind_drop(k);
        struct rte_mbuf *p[64];
        struct pb_flood *f;
        uint64_t named, all;

        c.junk_mask = 1u << k;
        c.seed = 100 + k;
        f = flood_new(&c);
        named = drop_named(&r, why);
        all = tcp_drop_total(&r);
        for (int burst = 0; burst < 4; burst++) {
            uint16_t n = pb_flood_fill(f, r.now, p, 50);

            assert_int_equal(n, 50);
            rig_input(&r, p, n);
            echo_round(&r, round++);
        }
        if (drop_named(&r, why) != named + 200 ||
            tcp_drop_total(&r) != all + 200)
            fail_msg("kind %s: %s +%" PRIu64 " (all drops +%" PRIu64
                     "), want +200", pb_flood_kind_name(k), why,
                     drop_named(&r, why) - named, tcp_drop_total(&r) - all);
        assert_int_equal(pb_flood_stats(f)->kind[k], 200);
        pb_flood_free(f);
        r.now += MS;
        pt_tcp_tick(r.tcp, r.now);
        pt_net_flush(r.net);
    }
    /* nothing opened a connection; the broker answered no junk with data */
    assert_int_equal(pt_tcp_stats(r.tcp)->c[PT_TCP_C_ACCEPTED], 1);
    assert_int_equal(pt_tcp_stats(r.tcp)->conns_in_use, 1);
    assert_int_equal(r.synacks, 0);
    assert_true(r.rsts > 0); /* to FIN/ACK/data for nothing, closed port */
    rig_stop(&r);
}

/* The same through an Ethernet wire, which pads frames to 60 bytes with
 * zeros: every kind still dropped once, under its reason or, for the two
 * kinds the table says padding changes, under the ones it names. */
static void
test_flood_junk_padded_into_stack(void **state)
{
    static const char *const also[PB_JUNK_KINDS][2] = {
        [PB_JUNK_TRUNC_IP] = { "ip_bad_length", "ip_bad_checksum" },
        [PB_JUNK_ETH_RUNT] = { "eth_not_for_us", "eth_type_unsupported" },
    };
    struct rig r;
    unsigned round = 0;

    (void)state;
    rig_start(&r);
    for (unsigned k = 0; k < PB_JUNK_KINDS; k++) {
        struct pb_flood_conf c = conf_of(PB_FLOOD_JUNK);
        const char *why[3] = { pb_flood_kind_drop(k), also[k][0], also[k][1] };
        struct rte_mbuf *p[64];
        struct pb_flood *f;
        uint64_t before = 0, after = 0, all;
        uint16_t n;

        c.junk_mask = 1u << k;
        c.seed = 200 + k;
        f = flood_new(&c);
        for (unsigned w = 0; w < 3; w++)
            if (why[w] != NULL)
                before += drop_named(&r, why[w]);
        all = tcp_drop_total(&r);
        n = pb_flood_fill(f, r.now, p, 64);
        assert_int_equal(n, 64);
        for (uint16_t i = 0; i < n; i++) {
            uint32_t len = rte_pktmbuf_pkt_len(p[i]);

            if (len < 60) {
                char *pad = rte_pktmbuf_append(p[i], (uint16_t)(60 - len));

                assert_non_null(pad);
                memset(pad, 0, 60 - len);
            }
        }
        rig_input(&r, p, n);
        for (unsigned w = 0; w < 3; w++)
            if (why[w] != NULL)
                after += drop_named(&r, why[w]);
        if (after != before + 64 || tcp_drop_total(&r) != all + 64)
            fail_msg("padded %s: +%" PRIu64 " under its reasons (all drops "
                     "+%" PRIu64 "), want +64", pb_flood_kind_name(k),
                     after - before, tcp_drop_total(&r) - all);
        pb_flood_free(f);
        echo_round(&r, round++);
    }
    assert_int_equal(pt_tcp_stats(r.tcp)->conns_in_use, 1);
    rig_stop(&r);
}

/* A 5000-SYN flood at 50 kpps with the echo going on, then all the junk
 * kinds mixed: cookies once the backlog is full, and the echo intact. */
static void
test_flood_syn_flood_into_stack(void **state)
{
    struct pb_flood_conf c = conf_of(PB_FLOOD_SYN);
    const struct pt_tcp_stats *ts;
    const struct pb_flood_stats *fs;
    struct pb_flood *f;
    struct rte_mbuf *p[64];
    struct rig r;
    unsigned sent = 0, round = 0, calls = 0;
    uint64_t all;

    (void)state;
    rig_start(&r);
    ts = pt_tcp_stats(r.tcp);
    all = tcp_drop_total(&r);

    /* from 10.101.0.0/24, ports 1024..1055: 8192 flows, 5000 distinct */
    c.src_ip = rte_cpu_to_be_32(RTE_IPV4(10, 101, 0, 0));
    c.rate_pps = 50000;
    f = flood_new(&c);
    assert_int_equal(pb_flood_fill(f, r.now, p, 64), 0);
    while (sent < 5000) {
        uint16_t n;

        r.now += MS;
        pt_tcp_tick(r.tcp, r.now);
        pt_net_flush(r.net);
        n = pb_flood_fill(f, r.now, p, (uint16_t)RTE_MIN(5000 - sent, 64u));
        assert_int_equal(n, 50); /* 50 kpps, 1 ms */
        rig_input(&r, p, n);
        sent += n;
        if (++calls % 5 == 0)
            echo_round(&r, round++);
    }
    assert_int_equal(pb_flood_stats(f)->built, 5000);
    pb_flood_free(f);
    /* every SYN taken as one: the backlog filled, the rest got cookies */
    assert_int_equal(tcp_drop_total(&r), all);
    assert_int_equal(ts->states[PT_TCP_SYN_RCVD], 16);
    assert_int_equal(ts->c[PT_TCP_C_COOKIES_SENT], 5000 - 16);
    assert_int_equal(r.synacks, 5000);
    assert_int_equal(ts->c[PT_TCP_C_ACCEPTED], 1);
    echo_round(&r, round++);

    /* then every junk kind mixed, from another range */
    c = conf_of(PB_FLOOD_JUNK);
    c.seed = 99;
    f = flood_new(&c);
    fs = pb_flood_stats(f);
    {
        uint64_t before[PB_JUNK_KINDS];

        for (unsigned k = 0; k < PB_JUNK_KINDS; k++)
            before[k] = drop_named(&r, pb_flood_kind_drop(k));
        all = tcp_drop_total(&r);
        for (unsigned burst = 0; burst < 2 * PB_JUNK_KINDS; burst++) {
            uint16_t n = pb_flood_fill(f, r.now, p, 50);

            assert_int_equal(n, 50);
            rig_input(&r, p, n);
            echo_round(&r, round++);
        }
        assert_int_equal(fs->built, 100 * PB_JUNK_KINDS);
        assert_int_equal(tcp_drop_total(&r), all + 100 * PB_JUNK_KINDS);
        /* per reason: the sum of the kinds that name it */
        for (unsigned k = 0; k < PB_JUNK_KINDS; k++) {
            const char *why = pb_flood_kind_drop(k);
            uint64_t want = 0;

            assert_int_equal(fs->kind[k], 100);
            for (unsigned j = 0; j < PB_JUNK_KINDS; j++)
                if (strcmp(pb_flood_kind_drop(j), why) == 0)
                    want += fs->kind[j];
            assert_int_equal(drop_named(&r, why) - before[k], want);
        }
    }
    pb_flood_free(f);
    /* the half-open flood still there, nothing accepted from it */
    assert_int_equal(ts->states[PT_TCP_SYN_RCVD], 16);
    assert_int_equal(ts->c[PT_TCP_C_ACCEPTED], 1);
    echo_round(&r, round++);
    rig_stop(&r);
}

#define T(fn) cmocka_unit_test(fn)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_flood_create_invalid),
        T(test_flood_kind_names),
        T(test_flood_deterministic),
        T(test_flood_rate),
        T(test_flood_pool_empty),
        T(test_flood_syn_valid),
        T(test_flood_syn_covers_range),
        T(test_flood_junk_cycles),
        T(test_flood_junk_into_stack),
        T(test_flood_junk_padded_into_stack),
        T(test_flood_syn_flood_into_stack),
    };

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("flood", tests, NULL, NULL);
}
