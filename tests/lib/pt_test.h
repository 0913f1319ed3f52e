/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the unit tests and the microbenchmarks: a minimal EAL
 * (no hugepages, no PCI, in memory, one lcore), a mempool, frame forging
 * for Ethernet/ARP/IPv4/ICMP, and a transmit function that captures frames.
 *
 * Threading: the calling thread only; tests are single-threaded.
 */
#ifndef PETREL_TEST_H
#define PETREL_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

/** Start a throwaway EAL once per process. @return 0 or -1. */
int pt_test_eal_init(void);

/** The process's test mempool (4095 mbufs of 2 KiB). */
struct rte_mempool *pt_test_pool(void);

/** Copy len bytes into a new mbuf, or into a chain of seg-byte segments
 * when seg > 0. @return the mbuf (aborts on pool exhaustion). */
struct rte_mbuf *pt_test_mbuf(const void *data, size_t len, size_t seg);

/** Copy a (possibly chained) mbuf's bytes into buf. @return the length. */
size_t pt_test_read(const struct rte_mbuf *m, void *buf, size_t cap);

/* Addresses used by every test: us and one peer on 10.99.0.0/24. */
extern const struct rte_ether_addr pt_test_our_mac;
extern const struct rte_ether_addr pt_test_peer_mac;
#define PT_TEST_OUR_IP RTE_IPV4(10, 99, 0, 2)
#define PT_TEST_PEER_IP RTE_IPV4(10, 99, 0, 1)

/** Forge an ARP frame (IP addresses in host order). @return its length. */
size_t pt_test_arp_frame(uint8_t *buf, uint16_t op,
                         const struct rte_ether_addr *eth_dst,
                         const struct rte_ether_addr *sha, uint32_t sip,
                         const struct rte_ether_addr *tha, uint32_t tip);

/** Forge an Ethernet + IPv4 + ICMP frame with valid checksums, payload of
 * plen bytes (pattern i & 0xff). IPs in host order. @return its length. */
size_t pt_test_icmp_frame(uint8_t *buf, const struct rte_ether_addr *eth_dst,
                          uint32_t src, uint32_t dst, uint8_t type,
                          uint16_t id, uint16_t seq, size_t plen);

/** Recompute the IPv4 header checksum of a forged frame. */
void pt_test_ipv4_fix(uint8_t *frame);

/** Recompute the ICMP checksum of a forged frame (over total_length). */
void pt_test_icmp_fix(uint8_t *frame);

struct pt_net_conf;

/** Fill conf for a test L2/L3 context: our MAC and 10.99.0.2/24, 1024
 * neighbour slots living 300 s, the test pool, the given transmit function. */
void pt_test_net_conf(struct pt_net_conf *conf, uint16_t (*tx)(void *,
                      struct rte_mbuf **, uint16_t), void *tx_ctx);

/** Captured transmissions. `accept` limits how many a call takes. */
struct pt_test_tx {
    unsigned n;
    unsigned accept;   /* per call; UINT32_MAX = all */
    struct rte_mbuf *pkts[512];
};

/** pt_net_tx_fn that stores frames in a struct pt_test_tx. */
uint16_t pt_test_tx_capture(void *ctx, struct rte_mbuf **pkts, uint16_t n);

/** Free every captured frame. */
void pt_test_tx_reset(struct pt_test_tx *tx);

#endif /* PETREL_TEST_H */
