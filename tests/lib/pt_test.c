/* SPDX-License-Identifier: BSD-3-Clause */
/* Test and benchmark helpers (see pt_test.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_tcp.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "pt_test.h"

const struct rte_ether_addr pt_test_our_mac = {
    { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 } };
const struct rte_ether_addr pt_test_peer_mac = {
    { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 } };

static struct rte_mempool *pool;

int
pt_test_eal_init(void)
{
    static int done;
    char prefix[64];
    char *argv[] = {
        "pt_test", "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
        prefix, "-l", "0", "--no-telemetry", "--log-level=*:error", NULL,
    };

    if (done)
        return 0;
    snprintf(prefix, sizeof(prefix), "--file-prefix=pt-test-%d",
             (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
        return -1;
    pool = rte_pktmbuf_pool_create("pt_test_pool", 4095, 0, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == NULL)
        return -1;
    done = 1;
    return 0;
}

struct rte_mempool *
pt_test_pool(void)
{
    return pool;
}

struct rte_mempool *
pt_test_bench_pool(const char *prog)
{
    char name[RTE_MEMPOOL_NAMESIZE];
    struct rte_mempool *mp;

    if (pt_test_eal_init() != 0) {
        fprintf(stderr, "%s: EAL init failed (run as root)\n", prog);
        return NULL;
    }
    snprintf(name, sizeof(name), "%s_pool", prog);
    mp = rte_pktmbuf_pool_create(name, 8191, 256, 0,
                                 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (mp == NULL)
        fprintf(stderr, "%s: mempool: %s\n", prog, rte_strerror(rte_errno));
    return mp;
}

struct rte_mbuf *
pt_test_mbuf(const void *data, size_t len, size_t seg)
{
    struct rte_mbuf *head = NULL, *last = NULL;
    const uint8_t *p = data;
    size_t off = 0;

    if (seg == 0)
        seg = len ? len : 1;
    do {
        size_t chunk = len - off < seg ? len - off : seg;
        struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

        if (m == NULL) {
            fprintf(stderr, "pt_test_mbuf: pool empty\n");
            abort();
        }
        memcpy(rte_pktmbuf_append(m, (uint16_t)chunk), p + off, chunk);
        off += chunk;
        if (head == NULL) {
            head = m;
        } else {
            last->next = m;
            head->nb_segs++;
            head->pkt_len += (uint32_t)chunk;
        }
        last = m;
    } while (off < len);
    return head;
}

size_t
pt_test_read(const struct rte_mbuf *m, void *buf, size_t cap)
{
    size_t len = rte_pktmbuf_pkt_len(m);

    if (len > cap)
        len = cap;
    {
        const void *p = rte_pktmbuf_read(m, 0, (uint32_t)len, buf);

        if (p != buf)
            memcpy(buf, p, len);
    }
    return len;
}

size_t
pt_test_arp_frame(uint8_t *buf, uint16_t op,
                  const struct rte_ether_addr *eth_dst,
                  const struct rte_ether_addr *sha, uint32_t sip,
                  const struct rte_ether_addr *tha, uint32_t tip)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)buf;
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);

    eh->dst_addr = *eth_dst;
    eh->src_addr = *sha;
    eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    ah->arp_hlen = RTE_ETHER_ADDR_LEN;
    ah->arp_plen = 4;
    ah->arp_opcode = rte_cpu_to_be_16(op);
    ah->arp_data.arp_sha = *sha;
    ah->arp_data.arp_sip = rte_cpu_to_be_32(sip);
    ah->arp_data.arp_tha = *tha;
    ah->arp_data.arp_tip = rte_cpu_to_be_32(tip);
    return sizeof(*eh) + sizeof(*ah);
}

void
pt_test_ipv4_fix(uint8_t *frame)
{
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);

    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
}

void
pt_test_icmp_fix(uint8_t *frame)
{
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
    size_t hl = (size_t)(ip->version_ihl & 0xf) * 4;
    struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)((uint8_t *)ip + hl);

    ic->icmp_cksum = 0;
    ic->icmp_cksum = (uint16_t)~rte_raw_cksum(
        ic, rte_be_to_cpu_16(ip->total_length) - hl);
}

void
pt_test_tcp_fix(uint8_t *frame)
{
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)
        ((uint8_t *)ip + (size_t)(ip->version_ihl & 0xf) * 4);

    th->cksum = 0;
    th->cksum = rte_ipv4_udptcp_cksum(ip, th);
}

size_t
pt_test_eth_ipv4(uint8_t *buf, const struct rte_ether_addr *eth_dst,
                 uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
                 uint8_t ttl, size_t l4len)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)buf;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);

    RTE_BUILD_BUG_ON(sizeof(*eh) + sizeof(*ip) != PT_TEST_L4_OFF);
    eh->dst_addr = *eth_dst;
    eh->src_addr = pt_test_peer_mac;
    eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    memset(ip, 0, sizeof(*ip));
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len));
    ip->packet_id = rte_cpu_to_be_16(id);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = ttl;
    ip->next_proto_id = proto;
    ip->src_addr = rte_cpu_to_be_32(src);
    ip->dst_addr = rte_cpu_to_be_32(dst);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return PT_TEST_L4_OFF;
}

size_t
pt_test_icmp_frame(uint8_t *buf, const struct rte_ether_addr *eth_dst,
                   uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
                   uint16_t seq, size_t plen)
{
    struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(buf + PT_TEST_L4_OFF);
    uint8_t *pl = (uint8_t *)(ic + 1);

    pt_test_eth_ipv4(buf, eth_dst, src, dst, IPPROTO_ICMP, 0x1234, 17,
                     sizeof(*ic) + plen);
    ic->icmp_type = type;
    ic->icmp_code = 0;
    ic->icmp_ident = rte_cpu_to_be_16(id);
    ic->icmp_seq_nb = rte_cpu_to_be_16(seq);
    for (size_t i = 0; i < plen; i++)
        pl[i] = (uint8_t)i;
    pt_test_icmp_fix(buf);
    return PT_TEST_L4_OFF + sizeof(*ic) + plen;
}

size_t
pt_test_tcp_frame(uint8_t *buf, const struct pt_test_tcp *seg)
{
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(buf + PT_TEST_L4_OFF);
    size_t hl = sizeof(*th) + seg->optlen;

    RTE_BUILD_BUG_ON(PT_TEST_L4_OFF + sizeof(*th) != PT_TEST_TCP_HDRS);
    pt_test_eth_ipv4(buf, seg->eth_dst, seg->src, seg->dst, IPPROTO_TCP,
                     seg->ip_id, 64, hl + seg->plen);
    memset(th, 0, sizeof(*th));
    th->src_port = rte_cpu_to_be_16(seg->sport);
    th->dst_port = rte_cpu_to_be_16(seg->dport);
    th->sent_seq = rte_cpu_to_be_32(seg->seq);
    th->recv_ack = rte_cpu_to_be_32(seg->ack);
    th->data_off = (uint8_t)((hl / 4) << 4);
    th->tcp_flags = seg->flags;
    th->rx_win = rte_cpu_to_be_16(seg->win);
    if (seg->optlen > 0)
        memcpy(th + 1, seg->opts, seg->optlen);
    if (seg->payload != NULL && seg->plen > 0)
        memcpy((uint8_t *)th + hl, seg->payload, seg->plen);
    pt_test_tcp_fix(buf);
    return PT_TEST_L4_OFF + hl + seg->plen;
}

uint16_t
pt_test_tx_capture(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct pt_test_tx *tx = ctx;
    uint16_t take = n;

    if (tx->accept < take)
        take = (uint16_t)tx->accept;
    for (uint16_t i = 0; i < take; i++) {
        if (tx->n == sizeof(tx->pkts) / sizeof(tx->pkts[0]))
            return i;
        tx->pkts[tx->n++] = pkts[i];
    }
    return take;
}

void
pt_test_tx_reset(struct pt_test_tx *tx)
{
    for (unsigned i = 0; i < tx->n; i++)
        rte_pktmbuf_free(tx->pkts[i]);
    tx->n = 0;
}

void
pt_test_net_conf(struct pt_net_conf *conf,
                 uint16_t (*tx)(void *, struct rte_mbuf **, uint16_t),
                 void *tx_ctx)
{
    *conf = (struct pt_net_conf){
        .mac = pt_test_our_mac,
        .ip = rte_cpu_to_be_32(PT_TEST_OUR_IP),
        .prefix_len = 24,
        .arp_entries = 1024,
        .arp_timeout_ns = 300ull * 1000000000ull,
        .pool = pool,
        .tx = tx,
        .tx_ctx = tx_ctx,
        .socket_id = SOCKET_ID_ANY,
    };
}

void
pt_test_tcp_conf(struct pt_tcp_conf *conf, struct pt_net *net,
                 uint64_t now_ns)
{
    *conf = (struct pt_tcp_conf){
        .net = net,
        .max_conns = 64,
        .syn_backlog = 16,
        .syncookies = true,
        .mss = 1460,
        .rcv_buf = 65535,           /* the most without window scaling */
        .snd_buf = 65536,
        .delayed_ack_ms = 0,        /* every segment acknowledged at once */
        .rto_initial_ms = 1000,
        .rto_min_ms = 200,
        .rto_max_ms = 60000,
        .max_retries = 5,
        .synack_retries = 3,
        .syn_retries = 3,           /* active opens only */
        .time_wait_ms = 2000,
        .time_wait_max = 64,
        .reply_limit = 1000,        /* RSTs and challenge ACKs a second */
        .now_ns = now_ns,
        .secret = NULL,             /* random ISNs and cookies */
        .socket_id = SOCKET_ID_ANY,
    };
}

int
pt_test_group_setup(void **state)
{
    (void)state;
    return pt_test_eal_init();
}
