/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the L2/L3 layer shared by eth.c, arp.c, ipv4.c and icmp.c.
 * Owner: the dataplane core that owns the struct pt_net; nothing here is
 * safe to call from another thread.
 */
#ifndef PETREL_NET_PRIV_H
#define PETREL_NET_PRIV_H

#include <rte_arp.h>
#include <rte_ip.h>

#include <petrel/debug.h>
#include <petrel/log.h>
#include <petrel/net.h>

PT_LOG_DECLARE(dp_net);

#define PT_NET_TXQ_MAX 128 /* two full input bursts of replies */

/* One neighbour cache slot; ip == 0 marks it empty. */
struct pt_neigh {
    uint32_t ip;
    struct rte_ether_addr mac;
    uint64_t seen_ns;
};

struct pt_net {
    /* read-mostly, set at creation */
    struct rte_ether_addr mac;
    uint32_t ip;               /* first address, network order */
    uint32_t ip_first;         /* the same, host order */
    uint32_t ip_count;         /* addresses ip_first .. + ip_count - 1 (>= 1) */
    uint32_t netmask;          /* network order */
    uint32_t subnet_bcast;     /* network order */
    uint64_t arp_timeout_ns;
    struct rte_mempool *pool;
    pt_net_tx_fn tx;
    void *tx_ctx;
    unsigned owner_lcore;      /* bound on first use (PT_HOT_DEBUG only) */
    struct pt_tcp *tcp;        /* TCP-lite attached by pt_tcp_create() */

    /* neighbour cache: open addressing, linear probe of PT_NEIGH_PROBE */
    struct pt_neigh *neigh;
    uint32_t neigh_mask;

    /* frames waiting for pt_net_flush() */
    uint16_t txq_n;
    struct rte_mbuf *txq[PT_NET_TXQ_MAX];

    struct pt_net_stats stats;
} __rte_cache_aligned;

#define PT_NEIGH_PROBE 8

static inline void
pt_net_drop(struct pt_net *net, struct rte_mbuf *m, enum pt_net_drop why)
{
    net->stats.drops[why]++;
    rte_pktmbuf_free(m);
}

/* Queue a finished frame for transmission (consumes m). */
static inline void
pt_net_queue(struct pt_net *net, struct rte_mbuf *m)
{
    if (unlikely(net->txq_n == PT_NET_TXQ_MAX))
        pt_net_flush(net);
    net->txq[net->txq_n++] = m;
}

/*
 * True when ip (network order) is one of our addresses. One subtraction
 * covers the range (an address below ip_first wraps to a huge offset); for
 * the broker's single address it is the same single compare in effect.
 */
static inline bool
pt_net_local_h(const struct pt_net *net, uint32_t host_ip)
{
    return host_ip - net->ip_first < net->ip_count;
}

static inline bool
pt_net_local(const struct pt_net *net, uint32_t ip)
{
    return pt_net_local_h(net, rte_be_to_cpu_32(ip));
}

/* True when ip (network order) is inside our subnet. */
static inline int
pt_net_on_subnet(const struct pt_net *net, uint32_t ip)
{
    return (ip & net->netmask) == (net->ip & net->netmask);
}

/* Per-protocol input; each consumes m. l3 points past the Ethernet header. */
void pt_arp_input(struct pt_net *net, struct rte_mbuf *m, uint64_t now_ns);
void pt_ipv4_input(struct pt_net *net, struct rte_mbuf *m, uint64_t now_ns);
void pt_icmp_input(struct pt_net *net, struct rte_mbuf *m,
                   struct rte_ipv4_hdr *ip, uint16_t l4_len);

/* TCP-lite's entry points for the net (tcp_in.c, tcp.c). */
struct pt_tcp;
void pt_tcp_input(struct pt_tcp *tcp, struct rte_mbuf *m,
                  const struct rte_ipv4_hdr *ip, uint16_t l4_len);
void pt_tcp_burst_begin(struct pt_tcp *tcp, uint64_t now_ns);

/* Record that ip is at mac; create the entry only when create != 0. */
void pt_neigh_update(struct pt_net *net, uint32_t ip,
                     const struct rte_ether_addr *mac, uint64_t now_ns,
                     int create);

#endif /* PETREL_NET_PRIV_H */
