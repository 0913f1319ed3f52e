/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the unit tests and the microbenchmarks: a minimal EAL
 * (no hugepages, no PCI, in memory, one lcore), a mempool, frame forging
 * for Ethernet/ARP/IPv4/ICMP/TCP, and a transmit function that captures
 * frames. Every forged IPv4 frame comes from the peer's MAC; the forging
 * helpers make valid frames, and a test that wants a malformed one edits
 * the result and calls the *_fix helpers for the checksums it still wants
 * right.
 *
 * Threading: the calling thread only; tests are single-threaded.
 */
#ifndef PETREL_TEST_H
#define PETREL_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

/** xorshift64: a small, fast, seeded generator for tests and benchmarks
 * (deterministic for a seed; not for anything secret). @return a number
 * below n (n > 0) and advances *state. */
static inline uint32_t
pt_test_rnd(uint64_t *state, uint32_t n)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (uint32_t)(*state % n);
}

/** CLOCK_MONOTONIC in seconds: how long a benchmark's set-up took. */
static inline double
pt_test_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Start a throwaway EAL once per process. @return 0 or -1. */
int pt_test_eal_init(void);

/** The process's test mempool (4095 mbufs of 2 KiB). */
struct rte_mempool *pt_test_pool(void);

/**
 * A benchmark's start: the throwaway EAL and a pool like a dataplane
 * core's (8191 mbufs of 2 KiB, per-lcore cache 256), named after prog.
 * @return the pool, or NULL after printing why on stderr.
 */
struct rte_mempool *pt_test_bench_pool(const char *prog);

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

/** Offset of the L4 header in a forged IPv4 frame (Ethernet + 20-byte
 * IPv4 header). */
#define PT_TEST_L4_OFF 34
/** Ethernet + IPv4 + TCP headers of a forged frame, TCP options not
 * counted: where the options start. */
#define PT_TEST_TCP_HDRS 54

/**
 * Forge the Ethernet header (pt_test_peer_mac -> eth_dst, IPv4) and a
 * 20-byte IPv4 header (DF, valid checksum) announcing l4len bytes of
 * protocol proto after it. What follows at PT_TEST_L4_OFF is untouched.
 * @param src, dst IPv4 addresses, host order
 * @param id IPv4 identification; @param ttl time to live
 * @return PT_TEST_L4_OFF
 */
size_t pt_test_eth_ipv4(uint8_t *buf, const struct rte_ether_addr *eth_dst,
                        uint32_t src, uint32_t dst, uint8_t proto,
                        uint16_t id, uint8_t ttl, size_t l4len);

/** Forge an Ethernet + IPv4 + ICMP frame with valid checksums, payload of
 * plen bytes (pattern i & 0xff). IPs in host order. @return its length. */
size_t pt_test_icmp_frame(uint8_t *buf, const struct rte_ether_addr *eth_dst,
                          uint32_t src, uint32_t dst, uint8_t type,
                          uint16_t id, uint16_t seq, size_t plen);

/** One TCP segment for pt_test_tcp_frame(); every number in host order. */
struct pt_test_tcp {
    const struct rte_ether_addr *eth_dst;   /* usually &pt_test_our_mac */
    uint32_t src, dst;                      /* IPv4 addresses */
    uint16_t ip_id;                         /* IPv4 identification */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;                          /* RTE_TCP_*_FLAG */
    uint16_t win;
    const uint8_t *opts;    /* optlen bytes, a multiple of 4, at most 40 */
    size_t optlen;
    /* plen bytes; NULL: the caller already wrote them in buf at
     * PT_TEST_TCP_HDRS + optlen */
    const uint8_t *payload;
    size_t plen;
};

/**
 * Forge an Ethernet + IPv4 (DF, TTL 64) + TCP frame with valid checksums
 * into buf, which holds PT_TEST_TCP_HDRS + optlen + plen bytes. The data
 * offset covers the options; urgent pointer and reserved bits are 0.
 * @return the frame length, PT_TEST_TCP_HDRS + optlen + plen
 */
size_t pt_test_tcp_frame(uint8_t *buf, const struct pt_test_tcp *seg);

/** Recompute the IPv4 header checksum of a forged frame. */
void pt_test_ipv4_fix(uint8_t *frame);

/** Recompute the ICMP checksum of a forged frame (over total_length). */
void pt_test_icmp_fix(uint8_t *frame);

/** Recompute the TCP checksum of a forged frame (over total_length, so
 * over what the IPv4 header claims even when a test changed it). */
void pt_test_tcp_fix(uint8_t *frame);

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

struct pt_net;
struct pt_tcp_conf;

/**
 * Fill conf for a test TCP-lite stack on net, clock now_ns: 64
 * connections, SYN backlog 16 with SYN cookies, MSS 1460, 65535/65536-byte
 * buffers, every segment acknowledged at once, RTO 1 s (200 ms..60 s),
 * 5 retries (3 for SYN and SYN-ACK), 64 TIME_WAIT entries of 2 s, 1000
 * RSTs and challenge ACKs a second, no out-of-order queue, a random
 * secret. Callers change what their test is about after the call.
 */
void pt_test_tcp_conf(struct pt_tcp_conf *conf, struct pt_net *net,
                      uint64_t now_ns);

/** cmocka group set-up that starts the throwaway EAL (pt_test_eal_init).
 * @return 0 or -1 */
int pt_test_group_setup(void **state);

#endif /* PETREL_TEST_H */
