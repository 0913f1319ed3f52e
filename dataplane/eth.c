/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet: the entry of every received frame on a dataplane core. Checks
 * the frame is long enough and addressed to us (our MAC or broadcast),
 * dispatches on EtherType to ARP or IPv4, and owns the per-core transmit
 * queue that replies wait in until the end of the burst.
 *
 * Also the life cycle of struct pt_net (create/free) and the drop-reason
 * name table.
 */
#include <errno.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include <petrel/tcp.h>

#include "net_priv.h"

PT_LOG_REGISTER(dp_net, pt.dp.net, INFO);

static const char *const drop_names[] = {
#define PT_X(id, name, help) [PT_NET_DROP_##id] = name,
    PT_NET_DROPS(PT_X)
#undef PT_X
};

static const char *const drop_helps[] = {
#define PT_X(id, name, help) [PT_NET_DROP_##id] = help,
    PT_NET_DROPS(PT_X)
#undef PT_X
};

const char *
pt_net_drop_name(enum pt_net_drop d)
{
    return (unsigned)d < PT_NET_DROP_MAX ? drop_names[d] : "?";
}

const char *
pt_net_drop_help(enum pt_net_drop d)
{
    return (unsigned)d < PT_NET_DROP_MAX ? drop_helps[d] : "?";
}

/* ip .. ip + ip_count - 1 stays inside the subnet, short of its
 * broadcast address (host order, no wrap). */
static bool
addr_range_ok(const struct pt_net_conf *conf)
{
    uint32_t count = conf->ip_count > 1 ? conf->ip_count : 1;
    uint32_t first = rte_be_to_cpu_32(conf->ip);
    uint32_t mask = conf->prefix_len == 32 ? ~0u
                                           : ~0u << (32 - conf->prefix_len);
    uint32_t last = first + (count - 1);

    if (last < first || (last & mask) != (first & mask))
        return false;
    return count == 1 || (last | mask) != ~0u;
}

struct pt_net *
pt_net_create(const struct pt_net_conf *conf)
{
    struct pt_net *net;
    uint32_t slots;

    if (conf == NULL || conf->tx == NULL || conf->ip == 0 ||
        conf->prefix_len == 0 || conf->prefix_len > 32 ||
        conf->arp_entries == 0 || conf->arp_entries > (1u << 24)) {
        rte_errno = EINVAL;
        return NULL;
    }
    if (!addr_range_ok(conf)) {
        rte_errno = EINVAL;
        return NULL;
    }
    slots = rte_align32pow2(conf->arp_entries);
    if (slots < PT_NEIGH_PROBE)
        slots = PT_NEIGH_PROBE;

    net = rte_zmalloc_socket("pt_net", sizeof(*net), RTE_CACHE_LINE_SIZE,
                             conf->socket_id);
    if (net == NULL)
        goto fail;
    net->neigh = rte_zmalloc_socket("pt_neigh", sizeof(*net->neigh) * slots,
                                    RTE_CACHE_LINE_SIZE, conf->socket_id);
    if (net->neigh == NULL)
        goto fail;

    net->mac = conf->mac;
    net->ip = conf->ip;
    net->ip_first = rte_be_to_cpu_32(conf->ip);
    net->ip_count = conf->ip_count > 1 ? conf->ip_count : 1;
    net->netmask = rte_cpu_to_be_32(~0u << (32 - conf->prefix_len));
    if (conf->prefix_len == 32)
        net->netmask = 0xffffffffu;
    net->subnet_bcast = conf->ip | ~net->netmask;
    net->arp_timeout_ns = conf->arp_timeout_ns;
    net->pool = conf->pool;
    net->tx = conf->tx;
    net->tx_ctx = conf->tx_ctx;
    net->neigh_mask = slots - 1;
    net->owner_lcore = LCORE_ID_ANY;
    return net;

fail:
    if (net != NULL)
        rte_free(net->neigh);
    rte_free(net);
    rte_errno = ENOMEM;
    return NULL;
}

void
pt_net_free(struct pt_net *net)
{
    if (net == NULL)
        return;
    for (uint16_t i = 0; i < net->txq_n; i++)
        rte_pktmbuf_free(net->txq[i]);
    rte_free(net->neigh);
    rte_free(net);
}

bool
pt_net_is_local(const struct pt_net *net, uint32_t ip)
{
    return pt_net_local(net, ip);
}

const struct pt_net_stats *
pt_net_stats(const struct pt_net *net)
{
    return &net->stats;
}

void
pt_net_flush(struct pt_net *net)
{
    uint16_t n = net->txq_n, sent;

    PT_HOT_ASSERT_OWNER(&net->owner_lcore);
    if (n == 0)
        return;
    for (uint16_t i = 0; i < n; i++)
        net->stats.tx_bytes += rte_pktmbuf_pkt_len(net->txq[i]);
    sent = net->tx(net->tx_ctx, net->txq, n);
    net->stats.tx_pkts += sent;
    for (uint16_t i = sent; i < n; i++) {
        net->stats.tx_bytes -= rte_pktmbuf_pkt_len(net->txq[i]);
        pt_net_drop(net, net->txq[i], PT_NET_DROP_TX_FULL);
    }
    net->txq_n = 0;
}

static inline void
eth_input(struct pt_net *net, struct rte_mbuf *m, uint64_t now_ns)
{
    const struct rte_ether_hdr *eh;

    net->stats.rx_pkts++;
    net->stats.rx_bytes += rte_pktmbuf_pkt_len(m);

    if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eh))) {
        pt_net_drop(net, m, PT_NET_DROP_ETH_SHORT);
        return;
    }
    eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    if (unlikely(!rte_is_same_ether_addr(&eh->dst_addr, &net->mac) &&
                 !rte_is_broadcast_ether_addr(&eh->dst_addr))) {
        pt_net_drop(net, m, PT_NET_DROP_ETH_DST);
        return;
    }

    switch (eh->ether_type) {
    case RTE_BE16(RTE_ETHER_TYPE_IPV4):
        pt_ipv4_input(net, m, now_ns);
        break;
    case RTE_BE16(RTE_ETHER_TYPE_ARP):
        pt_arp_input(net, m, now_ns);
        break;
    default:
        pt_net_drop(net, m, PT_NET_DROP_ETH_TYPE);
        break;
    }
}

void
pt_net_input(struct pt_net *net, struct rte_mbuf **pkts, uint16_t n,
             uint64_t now_ns)
{
    PT_HOT_ASSERT(net != NULL && (pkts != NULL || n == 0) && n <= 64);
    PT_HOT_ASSERT_OWNER(&net->owner_lcore);
    if (net->tcp != NULL)
        pt_tcp_burst_begin(net->tcp, now_ns);
    for (uint16_t i = 0; i < n; i++) {
        if (i + 1 < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
        eth_input(net, pkts[i], now_ns);
    }
    /* segments the burst's callbacks queued, closed events */
    if (net->tcp != NULL)
        pt_tcp_flush(net->tcp);
}
