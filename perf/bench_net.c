/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * L2/L3 input per packet: pt_net_input() + pt_net_flush() on bursts of 32
 * frames, for an ICMP echo (answered in place), an ARP request (answered in
 * place) and an IPv4 frame with a bad header checksum (the early-drop path).
 *
 * The mbufs are allocated once; each iteration re-copies the template frame
 * into them (a ~100-byte memcpy per frame, included in the figure) and holds
 * an extra reference so the stack's free (drop path, or the emulated
 * driver's free after transmit) leaves them for the next round.
 */
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include <petrel/net.h>

#include "pt_bench.h"
#include "pt_test.h"

#define BURST 32

enum kind { ICMP_ECHO, ARP_REQUEST, BAD_CSUM };

/* The emulated driver: takes every frame and frees it, as a NIC's TX
 * completion would. */
static uint16_t
tx_free(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    (void)ctx;
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
}

static void
run(struct pt_bench_state *st, enum kind kind, size_t plen)
{
    static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff,
                                                   0xff, 0xff } };
    static const struct rte_ether_addr zero;
    struct pt_net_conf conf;
    struct rte_mbuf *m[BURST], *in[BURST];
    uint8_t frame[2048];
    size_t len;
    struct pt_net *net;
    uint64_t ns = 1;

    pt_test_net_conf(&conf, tx_free, NULL);
    net = pt_net_create(&conf);

    if (net == NULL) {
        pt_bench_skip_with_error(st, "pt_net_create failed");
        return;
    }
    if (kind == ARP_REQUEST) {
        len = pt_test_arp_frame(frame, RTE_ARP_OP_REQUEST, &bcast,
                                &pt_test_peer_mac, PT_TEST_PEER_IP, &zero,
                                PT_TEST_OUR_IP);
    } else {
        len = pt_test_icmp_frame(frame, &pt_test_our_mac, PT_TEST_PEER_IP,
                                 PT_TEST_OUR_IP, RTE_IP_ICMP_ECHO_REQUEST, 1,
                                 1, plen);
        if (kind == BAD_CSUM)
            frame[24] ^= 0x55; /* inside the IPv4 header checksum */
    }
    if (rte_pktmbuf_alloc_bulk(pt_test_pool(), m, BURST) != 0) {
        pt_net_free(net);
        pt_bench_skip_with_error(st, "mempool empty");
        return;
    }

    while (pt_bench_keep_running(st)) {
        for (int i = 0; i < BURST; i++) {
            rte_pktmbuf_reset(m[i]);
            rte_mbuf_refcnt_set(m[i], 2);
            memcpy(rte_pktmbuf_append(m[i], (uint16_t)len), frame, len);
            in[i] = m[i];
        }
        pt_net_input(net, in, BURST, ns++);
        pt_net_flush(net);
    }
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st) * BURST);
    pt_bench_set_bytes_processed(st, pt_bench_iterations_done(st) * BURST *
                                         (int64_t)len);
    pt_bench_counter_set(st, "ns_per_pkt",
                         (double)pt_bench_iterations_done(st) * BURST,
                         PT_BENCH_COUNTER_RATE | PT_BENCH_COUNTER_INVERT);
    for (int i = 0; i < BURST; i++)
        rte_mbuf_refcnt_set(m[i], 1);
    rte_pktmbuf_free_bulk(m, BURST);
    pt_net_free(net);
}

static void
bm_net_icmp_echo(struct pt_bench_state *st)
{
    run(st, ICMP_ECHO, (size_t)pt_bench_range_x(st, 0));
}
PT_BENCH_CONFIG(bm_net_icmp_echo)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 56), 1400), "payload");
}

static void
bm_net_arp_request(struct pt_bench_state *st)
{
    run(st, ARP_REQUEST, 0);
}
PT_BENCH(bm_net_arp_request);

static void
bm_net_drop_bad_ip_checksum(struct pt_bench_state *st)
{
    run(st, BAD_CSUM, 56);
}
PT_BENCH(bm_net_drop_bad_ip_checksum);

int
main(int argc, char **argv)
{
    if (pt_test_eal_init() != 0) {
        fprintf(stderr, "bench_net: EAL init failed (run as root)\n");
        return 1;
    }
    return pt_bench_main(argc, argv);
}
