/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP for Ethernet/IPv4 (RFC 826) and the per-core neighbour cache.
 *
 * Accepted: requests and replies with Ethernet/IPv4 lengths. Following
 * RFC 826's merge rule, any valid ARP refreshes an entry we already hold
 * for the sender; a new entry is created only when the packet is addressed
 * to us (a request for one of our addresses, or a reply to us), so a flood
 * of foreign ARP cannot fill the cache. A request for any of our addresses
 * is answered in place, with the asked-for address as sender: the received
 * frame becomes the reply (no allocation).
 *
 * Refused (counted, freed): short packets, other hardware or protocol
 * types or lengths, unknown opcodes, senders with a multicast MAC or with
 * our own, one of our addresses, a broadcast or an off-subnet IP address. ARP for someone else
 * is counted as arp_not_for_us after the merge step.
 *
 * The cache is open addressing with a bounded linear probe: lookups and
 * updates cost at most PT_NEIGH_PROBE slots; when every probed slot is
 * taken the oldest one is replaced. Entries expire arp_timeout_ns after
 * they were last seen.
 */
#include <errno.h>

#include <rte_hash_crc.h>

#include "net_priv.h"

static inline uint32_t
neigh_slot(const struct pt_net *net, uint32_t ip)
{
    return rte_hash_crc_4byte(ip, 0) & net->neigh_mask;
}

void
pt_neigh_update(struct pt_net *net, uint32_t ip,
                const struct rte_ether_addr *mac, uint64_t now_ns, int create)
{
    uint32_t s = neigh_slot(net, ip);
    struct pt_neigh *victim = NULL;

    for (uint32_t i = 0; i < PT_NEIGH_PROBE; i++) {
        struct pt_neigh *e = &net->neigh[(s + i) & net->neigh_mask];

        if (e->ip == ip) {
            e->mac = *mac;
            e->seen_ns = now_ns;
            return;
        }
        if (victim == NULL || e->ip == 0 ||
            (victim->ip != 0 && e->seen_ns < victim->seen_ns))
            victim = e;
    }
    if (!create)
        return;
    victim->ip = ip;
    victim->mac = *mac;
    victim->seen_ns = now_ns;
    net->stats.arp_learned++;
}

int
pt_net_neigh_lookup(struct pt_net *net, uint32_t ip, uint64_t now_ns,
                    struct rte_ether_addr *mac)
{
    uint32_t s = neigh_slot(net, ip);

    for (uint32_t i = 0; i < PT_NEIGH_PROBE; i++) {
        const struct pt_neigh *e = &net->neigh[(s + i) & net->neigh_mask];

        if (e->ip == ip && ip != 0) {
            if (now_ns - e->seen_ns > net->arp_timeout_ns)
                return -ENOENT;
            *mac = e->mac;
            return 0;
        }
    }
    return -ENOENT;
}

/* Sender fields a host must never believe. */
static inline int
arp_sender_bad(const struct pt_net *net, const struct rte_arp_ipv4 *a)
{
    return rte_is_multicast_ether_addr(&a->arp_sha) ||
           rte_is_zero_ether_addr(&a->arp_sha) ||
           rte_is_same_ether_addr(&a->arp_sha, &net->mac) ||
           pt_net_local(net, a->arp_sip) ||
           a->arp_sip == net->subnet_bcast ||
           (a->arp_sip != 0 && !pt_net_on_subnet(net, a->arp_sip));
}

void
pt_arp_input(struct pt_net *net, struct rte_mbuf *m, uint64_t now_ns)
{
    struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    struct rte_arp_hdr *ah;
    struct rte_arp_ipv4 *a;
    uint32_t tip;
    int for_us;

    if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eh) + sizeof(*ah))) {
        pt_net_drop(net, m, PT_NET_DROP_ARP_SHORT);
        return;
    }
    ah = (struct rte_arp_hdr *)(eh + 1);
    if (unlikely(ah->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
                 ah->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
                 ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != 4)) {
        pt_net_drop(net, m, PT_NET_DROP_ARP_FORMAT);
        return;
    }
    if (unlikely(ah->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) &&
                 ah->arp_opcode != RTE_BE16(RTE_ARP_OP_REPLY))) {
        pt_net_drop(net, m, PT_NET_DROP_ARP_OP);
        return;
    }
    a = &ah->arp_data;
    if (unlikely(arp_sender_bad(net, a))) {
        pt_net_drop(net, m, PT_NET_DROP_ARP_SENDER);
        return;
    }

    /* RFC 826 merge: refresh what we know; learn only what is meant for us.
     * Sender IP 0 is an address probe (RFC 5227): nothing to learn. */
    tip = a->arp_tip;
    for_us = pt_net_local(net, tip);
    if (a->arp_sip != 0)
        pt_neigh_update(net, a->arp_sip, &a->arp_sha, now_ns, for_us);

    if (!for_us || ah->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST)) {
        if (!for_us)
            pt_net_drop(net, m, PT_NET_DROP_ARP_NOT_FOR_US);
        else
            rte_pktmbuf_free(m); /* a reply to us: learned, done */
        return;
    }

    /* Turn the request into our reply, in place. */
    ah->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    a->arp_tha = a->arp_sha;
    a->arp_tip = a->arp_sip;
    a->arp_sha = net->mac;
    a->arp_sip = tip;
    eh->dst_addr = a->arp_tha;
    eh->src_addr = net->mac;
    /* Drop any Ethernet padding beyond the ARP payload. */
    rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - sizeof(*eh) - sizeof(*ah));
    net->stats.arp_replies++;
    pt_net_queue(net, m);
}

/* Broadcast an ARP request from us for target (network order). */
static int
arp_request(struct pt_net *net, uint32_t target)
{
    struct rte_mbuf *m;
    struct rte_ether_hdr *eh;
    struct rte_arp_hdr *ah;

    PT_HOT_ASSERT_OWNER(&net->owner_lcore);
    m = rte_pktmbuf_alloc(net->pool);
    if (m == NULL) {
        net->stats.drops[PT_NET_DROP_NO_MBUF]++;
        return -ENOBUFS;
    }
    eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) +
                                                        sizeof(*ah));
    ah = (struct rte_arp_hdr *)(eh + 1);
    memset(&eh->dst_addr, 0xff, sizeof(eh->dst_addr));
    eh->src_addr = net->mac;
    eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
    ah->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    ah->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    ah->arp_hlen = RTE_ETHER_ADDR_LEN;
    ah->arp_plen = 4;
    ah->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
    ah->arp_data.arp_sha = net->mac;
    ah->arp_data.arp_sip = net->ip;
    memset(&ah->arp_data.arp_tha, 0, sizeof(ah->arp_data.arp_tha));
    ah->arp_data.arp_tip = target;
    net->stats.arp_requests++;
    pt_net_queue(net, m);
    return 0;
}

int
pt_net_announce(struct pt_net *net)
{
    /* gratuitous ARP: a request for our own (first) address (RFC 5227
     * 2.4); the others are learned from our replies and our traffic */
    return arp_request(net, net->ip);
}

int
pt_net_resolve(struct pt_net *net, uint32_t ip)
{
    if (pt_net_local(net, ip) || ip == 0 || !pt_net_on_subnet(net, ip) ||
        ip == net->subnet_bcast)
        return -EINVAL;
    return arp_request(net, ip);
}
