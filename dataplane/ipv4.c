/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 input: header validation (RFC 1122 3.2.1 / RFC 791) and dispatch to
 * the transport.
 *
 * Accepted: version 4, a 20-byte header (options are refused, see below),
 * a total length that fits the frame (Ethernet padding past it is trimmed),
 * a correct header checksum (trusted from the NIC when it says GOOD),
 * unfragmented, addressed to one of our addresses, from a plausible unicast
 * source.
 *
 * Refused, each under its own drop counter: short frames, wrong version,
 * header length below 20, bad total length, bad checksum, IP options and
 * fragments (out of scope, see docs/architecture.md), a source that is zero,
 * broadcast, multicast, loopback or one of our addresses, a destination
 * that is not one of ours (including broadcasts), and protocols we do not serve (TCP
 * without a TCP-lite stack attached included).
 */
#include "cksum.h"
#include "net_priv.h"

/* Sources that can never be a peer (RFC 1122 3.2.1.3). */
static inline int
ipv4_src_bad(const struct pt_net *net, uint32_t src)
{
    uint32_t h = rte_be_to_cpu_32(src);

    return h == 0 || h == 0xffffffffu || (h >> 28) == 0xe ||
           (h >> 24) == 127 || pt_net_local_h(net, h) ||
           src == net->subnet_bcast;
}

void
pt_ipv4_input(struct pt_net *net, struct rte_mbuf *m, uint64_t now_ns)
{
    const uint32_t l2 = sizeof(struct rte_ether_hdr);
    struct rte_ipv4_hdr *ip;
    uint32_t hlen, tlen, avail;
    enum pt_net_drop why;

    if (unlikely(rte_pktmbuf_data_len(m) < l2 + sizeof(*ip))) {
        why = PT_NET_DROP_IP_SHORT;
        goto drop;
    }
    ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
    if (unlikely((ip->version_ihl >> 4) != 4)) {
        why = PT_NET_DROP_IP_VERSION;
        goto drop;
    }
    hlen = (uint32_t)(ip->version_ihl & 0xf) * 4;
    if (unlikely(hlen < sizeof(*ip))) {
        why = PT_NET_DROP_IP_IHL;
        goto drop;
    }
    tlen = rte_be_to_cpu_16(ip->total_length);
    avail = rte_pktmbuf_pkt_len(m) - l2;
    if (unlikely(tlen < hlen || tlen > avail)) {
        why = PT_NET_DROP_IP_LEN;
        goto drop;
    }
    if (unlikely(rte_pktmbuf_data_len(m) < l2 + hlen)) {
        why = PT_NET_DROP_IP_SHORT; /* header split across segments */
        goto drop;
    }
    switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
        break;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD:
        why = PT_NET_DROP_IP_CSUM;
        goto drop;
    default:
        if (unlikely(pt_cksum_fold(pt_cksum_add(ip, hlen, 0)) != 0xffff)) {
            why = PT_NET_DROP_IP_CSUM;
            goto drop;
        }
    }
    if (unlikely(hlen != sizeof(*ip))) {
        why = PT_NET_DROP_IP_OPTIONS;
        goto drop;
    }
    if (unlikely(ip->fragment_offset &
                 RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
        why = PT_NET_DROP_IP_FRAG;
        goto drop;
    }
    /* the first address with one compare: the broker has no other */
    if (unlikely(ip->dst_addr != net->ip &&
                 !pt_net_local(net, ip->dst_addr))) {
        why = PT_NET_DROP_IP_DST;
        goto drop;
    }
    if (unlikely(ipv4_src_bad(net, ip->src_addr))) {
        why = PT_NET_DROP_IP_SRC;
        goto drop;
    }
    if (avail > tlen)
        rte_pktmbuf_trim(m, avail - tlen);

    /* TCP keeps the peer's MAC in the connection: no neighbour refresh
     * on its fast path. */
    if (likely(ip->next_proto_id == IPPROTO_TCP) && net->tcp != NULL) {
        pt_tcp_input(net->tcp, m, ip, (uint16_t)(tlen - hlen));
        return;
    }

    if (pt_net_on_subnet(net, ip->src_addr)) {
        const struct rte_ether_hdr *eh =
            rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

        pt_neigh_update(net, ip->src_addr, &eh->src_addr, now_ns, 1);
    }

    switch (ip->next_proto_id) {
    case IPPROTO_ICMP:
        pt_icmp_input(net, m, ip, (uint16_t)(tlen - hlen));
        return;
    default:
        why = PT_NET_DROP_IP_PROTO;
        goto drop;
    }

drop:
    pt_net_drop(net, m, why);
}
