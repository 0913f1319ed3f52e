/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the L2/L3 layer (dataplane/eth.c, arp.c, ipv4.c, icmp.c):
 * forged frames in, captured frames and counters out. Every test ends with
 * the mempool back to zero in use: nothing may leak on any path.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include <petrel/net.h>

#include "pt_test.h"

#define NOW 1000000000ull

static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff } };
static const struct rte_ether_addr zero_mac;

struct fixture {
    struct pt_net *net;
    struct pt_test_tx tx;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct pt_net_conf conf;

    assert_non_null(f);
    f->tx.accept = UINT32_MAX;
    pt_test_net_conf(&conf, pt_test_tx_capture, &f->tx);
    conf.arp_entries = 16; /* small, so eviction is tested */
    f->net = pt_net_create(&conf);
    assert_non_null(f->net);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    pt_test_tx_reset(&f->tx);
    pt_net_free(f->net);
    free(f);
    /* no path may leak an mbuf */
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
    return 0;
}

/* Feed one frame (optionally segmented) and flush. */
static void
feed(struct fixture *f, const uint8_t *frame, size_t len, size_t seg)
{
    struct rte_mbuf *m = pt_test_mbuf(frame, len, seg);

    pt_net_input(f->net, &m, 1, NOW);
    pt_net_flush(f->net);
}

static uint64_t
drops(struct fixture *f, enum pt_net_drop d)
{
    return pt_net_stats(f->net)->drops[d];
}

static uint64_t
total_drops(struct fixture *f)
{
    uint64_t n = 0;

    for (unsigned d = 0; d < PT_NET_DROP_MAX; d++)
        n += pt_net_stats(f->net)->drops[d];
    return n;
}

/* Assert the frame was dropped for exactly `why` and nothing was sent. */
static void
expect_drop(struct fixture *f, const uint8_t *frame, size_t len,
            enum pt_net_drop why)
{
    uint64_t before = drops(f, why), all = total_drops(f);

    feed(f, frame, len, 0);
    assert_int_equal(f->tx.n, 0);
    assert_int_equal(drops(f, why), before + 1);
    assert_int_equal(total_drops(f), all + 1);
}

/* ---- Ethernet ---- */

static void
test_net_eth_short(void **state)
{
    uint8_t b[13] = { 0 };

    expect_drop(*state, b, sizeof(b), PT_NET_DROP_ETH_SHORT);
    expect_drop(*state, b, 0, PT_NET_DROP_ETH_SHORT);
}

static void
test_net_eth_not_for_us(void **state)
{
    uint8_t b[128];
    struct rte_ether_addr other = { { 0x02, 0, 0, 0, 0, 0x77 } };
    size_t n = pt_test_icmp_frame(b, &other, PT_TEST_PEER_IP, PT_TEST_OUR_IP,
                                  RTE_IP_ICMP_ECHO_REQUEST, 1, 1, 8);

    expect_drop(*state, b, n, PT_NET_DROP_ETH_DST);
}

static void
test_net_eth_type_unsupported(void **state)
{
    uint8_t b[64] = { 0 };
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)b;

    eh->dst_addr = pt_test_our_mac;
    eh->src_addr = pt_test_peer_mac;
    eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    expect_drop(*state, b, sizeof(b), PT_NET_DROP_ETH_TYPE);
    eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
    expect_drop(*state, b, sizeof(b), PT_NET_DROP_ETH_TYPE);
}

/* ---- ARP ---- */

static void
test_net_arp_request_answered(void **state)
{
    struct fixture *f = *state;
    uint8_t b[64] = { 0 }, r[64];
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(r + 14);
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)r;
    struct rte_ether_addr mac;

    pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &bcast, &pt_test_peer_mac,
                      PT_TEST_PEER_IP, &zero_mac, PT_TEST_OUR_IP);
    feed(f, b, 60, 0); /* minimum frame, with padding */
    assert_int_equal(f->tx.n, 1);
    assert_int_equal(pt_test_read(f->tx.pkts[0], r, sizeof(r)), 42);
    assert_memory_equal(&eh->dst_addr, &pt_test_peer_mac, 6);
    assert_memory_equal(&eh->src_addr, &pt_test_our_mac, 6);
    assert_int_equal(ah->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
    assert_memory_equal(&ah->arp_data.arp_sha, &pt_test_our_mac, 6);
    assert_int_equal(ah->arp_data.arp_sip, rte_cpu_to_be_32(PT_TEST_OUR_IP));
    assert_memory_equal(&ah->arp_data.arp_tha, &pt_test_peer_mac, 6);
    assert_int_equal(ah->arp_data.arp_tip, rte_cpu_to_be_32(PT_TEST_PEER_IP));
    assert_int_equal(pt_net_stats(f->net)->arp_replies, 1);
    /* the asker was learned */
    assert_int_equal(pt_net_neigh_lookup(f->net,
                                         rte_cpu_to_be_32(PT_TEST_PEER_IP),
                                         NOW, &mac), 0);
    assert_memory_equal(&mac, &pt_test_peer_mac, 6);
    assert_int_equal(total_drops(f), 0);
}

static void
test_net_arp_request_for_other_not_answered(void **state)
{
    struct fixture *f = *state;
    uint8_t b[64] = { 0 };
    struct rte_ether_addr mac;
    size_t n = pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &bcast,
                                 &pt_test_peer_mac, PT_TEST_PEER_IP,
                                 &zero_mac, RTE_IPV4(10, 99, 0, 9));

    expect_drop(f, b, n, PT_NET_DROP_ARP_NOT_FOR_US);
    /* RFC 826: not addressed to us, so not learned either */
    assert_int_equal(pt_net_neigh_lookup(f->net,
                                         rte_cpu_to_be_32(PT_TEST_PEER_IP),
                                         NOW, &mac), -ENOENT);
}

static void
test_net_arp_reply_learned(void **state)
{
    struct fixture *f = *state;
    uint8_t b[64] = { 0 };
    struct rte_ether_addr mac;
    size_t n = pt_test_arp_frame(b, RTE_ARP_OP_REPLY, &pt_test_our_mac,
                                 &pt_test_peer_mac, PT_TEST_PEER_IP,
                                 &pt_test_our_mac, PT_TEST_OUR_IP);

    feed(f, b, n, 0);
    assert_int_equal(f->tx.n, 0);
    assert_int_equal(total_drops(f), 0);
    assert_int_equal(pt_net_stats(f->net)->arp_learned, 1);
    assert_int_equal(pt_net_neigh_lookup(f->net,
                                         rte_cpu_to_be_32(PT_TEST_PEER_IP),
                                         NOW, &mac), 0);
    /* expired after the timeout */
    assert_int_equal(pt_net_neigh_lookup(f->net,
                                         rte_cpu_to_be_32(PT_TEST_PEER_IP),
                                         NOW + 301ull * 1000000000ull, &mac),
                     -ENOENT);
}

static void
test_net_arp_short(void **state)
{
    uint8_t b[64] = { 0 };

    pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &bcast, &pt_test_peer_mac,
                      PT_TEST_PEER_IP, &zero_mac, PT_TEST_OUR_IP);
    expect_drop(*state, b, 14 + 27, PT_NET_DROP_ARP_SHORT);
}

static void
test_net_arp_bad_format(void **state)
{
    uint8_t b[64] = { 0 };
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(b + 14);
    size_t n;

    n = pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &bcast, &pt_test_peer_mac,
                          PT_TEST_PEER_IP, &zero_mac, PT_TEST_OUR_IP);
    ah->arp_hlen = 5;
    expect_drop(*state, b, n, PT_NET_DROP_ARP_FORMAT);
    ah->arp_hlen = 6;
    ah->arp_plen = 16;
    expect_drop(*state, b, n, PT_NET_DROP_ARP_FORMAT);
    ah->arp_plen = 4;
    ah->arp_hardware = rte_cpu_to_be_16(6);
    expect_drop(*state, b, n, PT_NET_DROP_ARP_FORMAT);
    ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    expect_drop(*state, b, n, PT_NET_DROP_ARP_FORMAT);
}

static void
test_net_arp_bad_op(void **state)
{
    uint8_t b[64] = { 0 };
    size_t n = pt_test_arp_frame(b, 3 /* RARP */, &bcast, &pt_test_peer_mac,
                                 PT_TEST_PEER_IP, &zero_mac, PT_TEST_OUR_IP);

    expect_drop(*state, b, n, PT_NET_DROP_ARP_OP);
}

static void
test_net_arp_bad_sender(void **state)
{
    uint8_t b[64] = { 0 };
    struct rte_ether_addr mcast = { { 0x01, 0, 0x5e, 0, 0, 1 } };
    const uint32_t bad_ips[] = {
        PT_TEST_OUR_IP,          /* someone claims our address */
        RTE_IPV4(10, 99, 0, 255),/* subnet broadcast */
        RTE_IPV4(192, 0, 2, 1),  /* off our subnet */
    };
    size_t n;

    n = pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &bcast, &mcast,
                          PT_TEST_PEER_IP, &zero_mac, PT_TEST_OUR_IP);
    expect_drop(*state, b, n, PT_NET_DROP_ARP_SENDER);
    for (size_t i = 0; i < RTE_DIM(bad_ips); i++) {
        n = pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &bcast,
                              &pt_test_peer_mac, bad_ips[i], &zero_mac,
                              PT_TEST_OUR_IP);
        expect_drop(*state, b, n, PT_NET_DROP_ARP_SENDER);
    }
}

static void
test_net_arp_probe_answered_not_learned(void **state)
{
    struct fixture *f = *state;
    uint8_t b[64] = { 0 };
    size_t n = pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &bcast,
                                 &pt_test_peer_mac, 0, &zero_mac,
                                 PT_TEST_OUR_IP);

    /* RFC 5227 probe for our address: we defend it, learn nothing */
    feed(f, b, n, 0);
    assert_int_equal(f->tx.n, 1);
    assert_int_equal(pt_net_stats(f->net)->arp_learned, 0);
}

static void
test_net_announce(void **state)
{
    struct fixture *f = *state;
    uint8_t r[64];
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)r;
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(r + 14);

    assert_int_equal(pt_net_announce(f->net), 0);
    pt_net_flush(f->net);
    assert_int_equal(f->tx.n, 1);
    assert_int_equal(pt_test_read(f->tx.pkts[0], r, sizeof(r)), 42);
    assert_true(rte_is_broadcast_ether_addr(&eh->dst_addr));
    assert_int_equal(ah->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REQUEST));
    assert_int_equal(ah->arp_data.arp_sip, rte_cpu_to_be_32(PT_TEST_OUR_IP));
    assert_int_equal(ah->arp_data.arp_tip, rte_cpu_to_be_32(PT_TEST_OUR_IP));
    assert_int_equal(pt_net_stats(f->net)->arp_requests, 1);
}

static void
test_net_resolve(void **state)
{
    struct fixture *f = *state;
    uint8_t r[64];
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(r + 14);

    assert_int_equal(pt_net_resolve(f->net, rte_cpu_to_be_32(PT_TEST_PEER_IP)),
                     0);
    pt_net_flush(f->net);
    assert_int_equal(f->tx.n, 1);
    pt_test_read(f->tx.pkts[0], r, sizeof(r));
    assert_int_equal(ah->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REQUEST));
    assert_int_equal(ah->arp_data.arp_tip, rte_cpu_to_be_32(PT_TEST_PEER_IP));
    /* never for ourselves, the broadcast or off-subnet addresses */
    assert_int_equal(pt_net_resolve(f->net, rte_cpu_to_be_32(PT_TEST_OUR_IP)),
                     -EINVAL);
    assert_int_equal(pt_net_resolve(f->net,
                                    rte_cpu_to_be_32(RTE_IPV4(10, 99, 0, 255))),
                     -EINVAL);
    assert_int_equal(pt_net_resolve(f->net,
                                    rte_cpu_to_be_32(RTE_IPV4(10, 1, 0, 1))),
                     -EINVAL);
    assert_int_equal(pt_net_stats(f->net)->arp_requests, 1);
}

static void
test_net_neigh_cache_bounded(void **state)
{
    struct fixture *f = *state;
    struct rte_ether_addr mac = pt_test_peer_mac, got;
    unsigned found = 0;

    /* 200 peers into 16 slots: never more than 16 held, newest win */
    for (uint32_t i = 0; i < 200; i++) {
        uint8_t b[64] = { 0 };
        size_t n;

        mac.addr_bytes[5] = (uint8_t)(i + 10);
        n = pt_test_arp_frame(b, RTE_ARP_OP_REPLY, &pt_test_our_mac, &mac,
                              RTE_IPV4(10, 99, 0, 10) + (i % 240), &zero_mac,
                              PT_TEST_OUR_IP);
        struct rte_mbuf *m = pt_test_mbuf(b, n, 0);
        pt_net_input(f->net, &m, 1, NOW + i);
    }
    for (uint32_t i = 0; i < 240; i++)
        found += pt_net_neigh_lookup(f->net,
                                     rte_cpu_to_be_32(RTE_IPV4(10, 99, 0, 10) +
                                                      i),
                                     NOW + 200, &got) == 0;
    assert_true(found > 0 && found <= 16);
}

/* ---- IPv4 ---- */

static size_t
echo(uint8_t *b, size_t plen)
{
    return pt_test_icmp_frame(b, &pt_test_our_mac, PT_TEST_PEER_IP,
                              PT_TEST_OUR_IP, RTE_IP_ICMP_ECHO_REQUEST, 7, 3,
                              plen);
}

static struct rte_ipv4_hdr *
iph(uint8_t *b)
{
    return (struct rte_ipv4_hdr *)(b + 14);
}

static void
test_net_ip_short(void **state)
{
    uint8_t b[128];

    echo(b, 8);
    expect_drop(*state, b, 14 + 19, PT_NET_DROP_IP_SHORT);
}

static void
test_net_ip_bad_version(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 8);

    iph(b)->version_ihl = 0x65;
    pt_test_ipv4_fix(b);
    expect_drop(*state, b, n, PT_NET_DROP_IP_VERSION);
}

static void
test_net_ip_bad_ihl(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 8);

    iph(b)->version_ihl = 0x44;
    expect_drop(*state, b, n, PT_NET_DROP_IP_IHL);
    /* a header longer than the whole packet is a length error */
    iph(b)->version_ihl = 0x4f;
    expect_drop(*state, b, n, PT_NET_DROP_IP_LEN);
}

static void
test_net_ip_bad_length(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 8);

    iph(b)->total_length = rte_cpu_to_be_16((uint16_t)(n - 14 + 1));
    pt_test_ipv4_fix(b);
    expect_drop(*state, b, n, PT_NET_DROP_IP_LEN);
    iph(b)->total_length = rte_cpu_to_be_16(19);
    pt_test_ipv4_fix(b);
    expect_drop(*state, b, n, PT_NET_DROP_IP_LEN);
}

static void
test_net_ip_bad_checksum(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 8);

    iph(b)->hdr_checksum ^= 0x0100;
    expect_drop(*state, b, n, PT_NET_DROP_IP_CSUM);
}

static void
test_net_ip_bad_checksum_flagged_by_nic(void **state)
{
    struct fixture *f = *state;
    uint8_t b[128];
    size_t n = echo(b, 8);
    struct rte_mbuf *m = pt_test_mbuf(b, n, 0);

    /* the header is fine, but the NIC says it was not */
    m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
    pt_net_input(f->net, &m, 1, NOW);
    pt_net_flush(f->net);
    assert_int_equal(f->tx.n, 0);
    assert_int_equal(drops(f, PT_NET_DROP_IP_CSUM), 1);
}

static void
test_net_ip_options_refused(void **state)
{
    uint8_t b[128], o[128];
    size_t n = echo(b, 8);

    /* insert 4 bytes of NOP options after the header */
    memcpy(o, b, 34);
    memset(o + 34, 1, 4);
    memcpy(o + 38, b + 34, n - 34);
    iph(o)->version_ihl = 0x46;
    iph(o)->total_length = rte_cpu_to_be_16((uint16_t)(n - 14 + 4));
    pt_test_ipv4_fix(o);
    expect_drop(*state, o, n + 4, PT_NET_DROP_IP_OPTIONS);
}

static void
test_net_ip_fragment(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 8);

    iph(b)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
    pt_test_ipv4_fix(b);
    expect_drop(*state, b, n, PT_NET_DROP_IP_FRAG);
    iph(b)->fragment_offset = rte_cpu_to_be_16(10);
    pt_test_ipv4_fix(b);
    expect_drop(*state, b, n, PT_NET_DROP_IP_FRAG);
}

static void
test_net_ip_bad_source(void **state)
{
    const uint32_t bad[] = {
        0, RTE_IPV4(255, 255, 255, 255), RTE_IPV4(224, 0, 0, 1),
        RTE_IPV4(127, 0, 0, 1), PT_TEST_OUR_IP, RTE_IPV4(10, 99, 0, 255),
    };

    for (size_t i = 0; i < RTE_DIM(bad); i++) {
        uint8_t b[128];
        size_t n = pt_test_icmp_frame(b, &pt_test_our_mac, bad[i],
                                      PT_TEST_OUR_IP,
                                      RTE_IP_ICMP_ECHO_REQUEST, 1, 1, 8);

        expect_drop(*state, b, n, PT_NET_DROP_IP_SRC);
    }
}

static void
test_net_ip_not_for_us(void **state)
{
    uint8_t b[128];
    size_t n = pt_test_icmp_frame(b, &pt_test_our_mac, PT_TEST_PEER_IP,
                                  RTE_IPV4(10, 99, 0, 3),
                                  RTE_IP_ICMP_ECHO_REQUEST, 1, 1, 8);

    expect_drop(*state, b, n, PT_NET_DROP_IP_DST);
    n = pt_test_icmp_frame(b, &bcast, PT_TEST_PEER_IP,
                           RTE_IPV4(10, 99, 0, 255),
                           RTE_IP_ICMP_ECHO_REQUEST, 1, 1, 8);
    expect_drop(*state, b, n, PT_NET_DROP_IP_DST);
}

static void
test_net_ip_proto_unsupported(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 8);

    iph(b)->next_proto_id = IPPROTO_UDP;
    pt_test_ipv4_fix(b);
    expect_drop(*state, b, n, PT_NET_DROP_IP_PROTO);
}

/* ---- ICMP ---- */

static void
check_echo_reply(struct fixture *f, const uint8_t *req, size_t ip_len)
{
    uint8_t r[2048];
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)r;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(r + 14);
    struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
    size_t n;

    assert_int_equal(f->tx.n, 1);
    n = pt_test_read(f->tx.pkts[0], r, sizeof(r));
    assert_int_equal(n, 14 + ip_len);
    assert_memory_equal(&eh->dst_addr, &pt_test_peer_mac, 6);
    assert_memory_equal(&eh->src_addr, &pt_test_our_mac, 6);
    assert_int_equal(ip->src_addr, rte_cpu_to_be_32(PT_TEST_OUR_IP));
    assert_int_equal(ip->dst_addr, rte_cpu_to_be_32(PT_TEST_PEER_IP));
    assert_int_equal(ip->time_to_live, 64);
    assert_int_equal(rte_ipv4_cksum(ip), 0);
    assert_int_equal(ic->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
    assert_int_equal(rte_raw_cksum(ic, ip_len - 20), 0xffff);
    /* identifier, sequence and payload echoed unchanged */
    assert_memory_equal((const uint8_t *)ic + 4, req + 14 + 20 + 4,
                        ip_len - 20 - 4);
    assert_int_equal(pt_net_stats(f->net)->icmp_echo_replies, 1);
    assert_int_equal(total_drops(f), 0);
}

static void
test_net_icmp_echo_reply(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 56);

    feed(*state, b, n, 0);
    check_echo_reply(*state, b, 20 + 8 + 56);
}

static void
test_net_icmp_echo_odd_length_and_padding(void **state)
{
    uint8_t b[128] = { 0 };

    echo(b, 3); /* 14 + 31 bytes: Ethernet pads it to 60 */
    feed(*state, b, 60, 0);
    check_echo_reply(*state, b, 20 + 8 + 3);
}

static void
test_net_icmp_echo_multi_segment(void **state)
{
    uint8_t b[1600];
    size_t n = echo(b, 1400);

    /* headers in the first segment, payload spread over three more */
    feed(*state, b, n, 400);
    check_echo_reply(*state, b, 20 + 8 + 1400);
}

static void
test_net_icmp_short(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 0);

    iph(b)->total_length = rte_cpu_to_be_16(20 + 7);
    pt_test_ipv4_fix(b);
    expect_drop(*state, b, n - 1, PT_NET_DROP_ICMP_SHORT);
}

static void
test_net_icmp_bad_checksum(void **state)
{
    uint8_t b[128];
    size_t n = echo(b, 16);

    b[n - 1] ^= 0x40;
    expect_drop(*state, b, n, PT_NET_DROP_ICMP_CSUM);
}

static void
test_net_icmp_type_unsupported(void **state)
{
    uint8_t b[128];
    size_t n = pt_test_icmp_frame(b, &pt_test_our_mac, PT_TEST_PEER_IP,
                                  PT_TEST_OUR_IP, RTE_IP_ICMP_ECHO_REPLY, 1, 1,
                                  8);

    expect_drop(*state, b, n, PT_NET_DROP_ICMP_TYPE);
    n = pt_test_icmp_frame(b, &pt_test_our_mac, PT_TEST_PEER_IP,
                           PT_TEST_OUR_IP, 3 /* unreachable */, 1, 1, 8);
    expect_drop(*state, b, n, PT_NET_DROP_ICMP_TYPE);
}

/* ---- transmit and bursts ---- */

static void
test_net_tx_full_counted_and_freed(void **state)
{
    struct fixture *f = *state;
    struct rte_mbuf *m[4];
    uint8_t b[128];
    size_t n = echo(b, 8);

    f->tx.accept = 1;
    for (int i = 0; i < 4; i++)
        m[i] = pt_test_mbuf(b, n, 0);
    pt_net_input(f->net, m, 4, NOW);
    pt_net_flush(f->net);
    assert_int_equal(f->tx.n, 1);
    assert_int_equal(pt_net_stats(f->net)->tx_pkts, 1);
    assert_int_equal(drops(f, PT_NET_DROP_TX_FULL), 3);
}

static void
test_net_burst_mixed(void **state)
{
    struct fixture *f = *state;
    uint8_t good[128], bad[128], arp[64] = { 0 };
    struct rte_mbuf *m[3];
    size_t ng = echo(good, 8), nb = echo(bad, 8), na;

    iph(bad)->hdr_checksum ^= 1;
    na = pt_test_arp_frame(arp, RTE_ARP_OP_REQUEST, &bcast, &pt_test_peer_mac,
                           PT_TEST_PEER_IP, &zero_mac, PT_TEST_OUR_IP);
    m[0] = pt_test_mbuf(good, ng, 0);
    m[1] = pt_test_mbuf(bad, nb, 0);
    m[2] = pt_test_mbuf(arp, na, 0);
    pt_net_input(f->net, m, 3, NOW);
    pt_net_flush(f->net);
    /* one bad frame harms nothing else in its burst */
    assert_int_equal(f->tx.n, 2);
    assert_int_equal(pt_net_stats(f->net)->rx_pkts, 3);
    assert_int_equal(total_drops(f), 1);
}

/* Random and mutated frames: never a crash, every mbuf accounted for. */
static void
test_net_random_frames_fault(void **state)
{
    struct fixture *f = *state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint8_t seed[128], b[256];
    size_t n = echo(seed, 40);

    for (int i = 0; i < 20000; i++) {
        struct rte_mbuf *m;
        size_t len;

        memcpy(b, seed, n);
        /* flip 1-4 random bytes of a valid frame, random length */
        for (int k = 0; k < 1 + i % 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[x % n] ^= (uint8_t)(x >> 32);
        }
        len = (size_t)(x >> 40) % (n + 20);
        m = pt_test_mbuf(b, len, (x >> 8) % 3 ? 0 : 17);
        pt_net_input(f->net, &m, 1, NOW);
        pt_net_flush(f->net);
        pt_test_tx_reset(&f->tx);
    }
    assert_int_equal(pt_net_stats(f->net)->rx_pkts, 20000);
    assert_int_equal(pt_net_stats(f->net)->tx_pkts + total_drops(f), 20000);
}

static void
test_net_drop_names_unique(void **state)
{
    (void)state;
    for (unsigned a = 0; a < PT_NET_DROP_MAX; a++) {
        assert_non_null(pt_net_drop_name((enum pt_net_drop)a));
        assert_true(strlen(pt_net_drop_help((enum pt_net_drop)a)) > 10);
        for (unsigned b = a + 1; b < PT_NET_DROP_MAX; b++)
            assert_string_not_equal(pt_net_drop_name((enum pt_net_drop)a),
                                    pt_net_drop_name((enum pt_net_drop)b));
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_net_eth_short),
        T(test_net_eth_not_for_us),
        T(test_net_eth_type_unsupported),
        T(test_net_arp_request_answered),
        T(test_net_arp_request_for_other_not_answered),
        T(test_net_arp_reply_learned),
        T(test_net_arp_short),
        T(test_net_arp_bad_format),
        T(test_net_arp_bad_op),
        T(test_net_arp_bad_sender),
        T(test_net_arp_probe_answered_not_learned),
        T(test_net_announce),
        T(test_net_resolve),
        T(test_net_neigh_cache_bounded),
        T(test_net_ip_short),
        T(test_net_ip_bad_version),
        T(test_net_ip_bad_ihl),
        T(test_net_ip_bad_length),
        T(test_net_ip_bad_checksum),
        T(test_net_ip_bad_checksum_flagged_by_nic),
        T(test_net_ip_options_refused),
        T(test_net_ip_fragment),
        T(test_net_ip_bad_source),
        T(test_net_ip_not_for_us),
        T(test_net_ip_proto_unsupported),
        T(test_net_icmp_echo_reply),
        T(test_net_icmp_echo_odd_length_and_padding),
        T(test_net_icmp_echo_multi_segment),
        T(test_net_icmp_short),
        T(test_net_icmp_bad_checksum),
        T(test_net_icmp_type_unsupported),
        T(test_net_tx_full_counted_and_freed),
        T(test_net_burst_mixed),
        T(test_net_random_frames_fault),
        T(test_net_drop_names_unique),
    };

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
