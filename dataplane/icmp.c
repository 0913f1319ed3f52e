/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP: echo request -> echo reply (RFC 792, RFC 1122 3.2.2.6), built in
 * place from the request: addresses swapped, type changed, checksum
 * adjusted incrementally (RFC 1624) so the payload is never read twice.
 *
 * Refused (counted): messages shorter than 8 bytes, a bad checksum, every
 * type other than echo request (we originate no ICMP errors yet).
 */
#include <rte_icmp.h>

#include "net_priv.h"

#define PT_IP_TTL 64

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on host-order 16-bit words. */
static inline uint16_t
cksum_adjust(uint16_t hc, uint16_t old_word, uint16_t new_word)
{
    uint32_t sum = (uint16_t)~hc + (uint32_t)(uint16_t)~old_word + new_word;

    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void
pt_icmp_input(struct pt_net *net, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
              uint16_t l4_len)
{
    const uint32_t l4_off = sizeof(struct rte_ether_hdr) + sizeof(*ip);
    struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    struct rte_icmp_hdr *ic;
    struct rte_ether_addr peer;
    uint16_t sum, old_word;
    uint32_t tmp;

    if (unlikely(l4_len < sizeof(*ic) ||
                 rte_pktmbuf_data_len(m) < l4_off + sizeof(*ic))) {
        pt_net_drop(net, m, PT_NET_DROP_ICMP_SHORT);
        return;
    }
    if (unlikely(rte_raw_cksum_mbuf(m, l4_off, l4_len, &sum) != 0 ||
                 sum != 0xffff)) {
        pt_net_drop(net, m, PT_NET_DROP_ICMP_CSUM);
        return;
    }
    ic = (struct rte_icmp_hdr *)(ip + 1);
    if (unlikely(ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST)) {
        pt_net_drop(net, m, PT_NET_DROP_ICMP_TYPE);
        return;
    }

    old_word = (uint16_t)(ic->icmp_type << 8 | ic->icmp_code);
    ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    ic->icmp_cksum = rte_cpu_to_be_16(
        cksum_adjust(rte_be_to_cpu_16(ic->icmp_cksum), old_word,
                     (uint16_t)(ic->icmp_type << 8 | ic->icmp_code)));

    tmp = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = tmp;
    ip->time_to_live = PT_IP_TTL;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);

    peer = eh->src_addr;
    eh->dst_addr = peer;
    eh->src_addr = net->mac;

    m->ol_flags = 0;
    net->stats.icmp_echo_replies++;
    pt_net_queue(net, m);
}
