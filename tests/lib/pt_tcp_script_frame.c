/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames of a packet script: `in` forges the peer's Ethernet/IPv4/TCP
 * frame from a SEG and feeds it to pt_net_input(); `out` takes the oldest
 * frame the stack sent, decodes it, checks what every frame must satisfy
 * (addresses, checksums, ports, no URG or reserved bits) and compares it
 * with the SEG. Frames are formatted like script lines for failure
 * messages and for the PT_TCP_SCRIPT_TRACE trace. Parsing the SEG is
 * pt_tcp_script_parse.c's job.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include <petrel/net.h>

#include "pt_tcp_script_priv.h"
#include "pt_test.h"

static const struct rte_ether_addr sc_bcast_mac = {
    .addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
};
static const struct rte_ether_addr sc_zero_mac;

/* Decode a TCP/IPv4 frame; for `out` frames, check what every frame must
 * satisfy and report it in err. @return 0 or -1 (not TCP/IPv4 at all). */
static int
sc_frame_decode(const uint8_t *b, size_t len, struct sc_frame *f,
                char *err, size_t errlen)
{
    const struct rte_ether_hdr *eh = (const void *)b;
    const struct rte_ipv4_hdr *ip = (const void *)(b + SC_L2);
    const struct rte_tcp_hdr *th = (const void *)(b + SC_L2 + SC_L3);
    size_t doff, tlen;
    const uint8_t *o;

    memset(f, 0, sizeof(*f));
    err[0] = '\0';
    if (len < SC_L2 + SC_L3 + sizeof(*th) ||
        eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
        ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_TCP) {
        snprintf(err, errlen, "not a TCP/IPv4 frame (%zu bytes)", len);
        return -1;
    }
    tlen = rte_be_to_cpu_16(ip->total_length);
    doff = (size_t)(th->data_off >> 4) * 4;
    if (tlen != len - SC_L2 || doff < sizeof(*th) || SC_L3 + doff > tlen) {
        snprintf(err, errlen, "bad lengths: frame %zu, ip total %zu, "
                 "doff %zu", len, tlen, doff);
        return -1;
    }
    f->sport = rte_be_to_cpu_16(th->src_port);
    f->dport = rte_be_to_cpu_16(th->dst_port);
    f->seq = rte_be_to_cpu_32(th->sent_seq);
    f->ack = rte_be_to_cpu_32(th->recv_ack);
    f->flags = th->tcp_flags;
    f->win = rte_be_to_cpu_16(th->rx_win);
    f->payload = (const uint8_t *)th + doff;
    f->len = (uint32_t)(tlen - SC_L3 - doff);
    for (o = (const uint8_t *)(th + 1); o < f->payload;) {
        if (*o == 0 || *o == 1) {   /* EOL and NOP pad */
            o++;
            continue;
        }
        if (o + 1 >= f->payload || o[1] < 2 || o + o[1] > f->payload) {
            f->other_opts = true;
            break;
        }
        if (o[0] == 2 && o[1] == 4) {
            f->has_mss = true;
            f->mss = (uint16_t)(o[2] << 8 | o[3]);
        } else {
            f->other_opts = true;
        }
        o += o[1];
    }
    if (memcmp(&eh->dst_addr, &pt_test_peer_mac, 6) != 0 ||
        memcmp(&eh->src_addr, &pt_test_our_mac, 6) != 0)
        snprintf(err, errlen, "Ethernet addresses are not us -> peer");
    else if ((rte_be_to_cpu_32(ip->src_addr) & ~0xffu) !=
                 (PT_TEST_OUR_IP & ~0xffu) ||
             ip->dst_addr != rte_cpu_to_be_32(PT_TEST_PEER_IP))
        snprintf(err, errlen, "IP addresses are not us -> peer");
    else if (rte_ipv4_cksum(ip) != 0)
        snprintf(err, errlen, "IPv4 header checksum wrong");
    else if (ip->fragment_offset &
             rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
        snprintf(err, errlen, "IPv4 fragment");
    else if (rte_ipv4_udptcp_cksum_verify(ip, th) != 0)
        snprintf(err, errlen, "TCP checksum wrong");
    else if ((th->data_off & 0x0f) != 0 || (th->tcp_flags & 0x20) ||
             th->tcp_urp != 0)
        snprintf(err, errlen, "reserved bits, URG or urgent pointer set");
    return 0;
}

/* One line like the script's: FLAGS SEQ:END(LEN) ack N win N <mss N>. */
static void
sc_frame_str(const struct sc_frame *f, uint32_t seq_base, uint32_t ack_base,
             char *out, size_t cap)
{
    char fl[16];
    int n;

    sc_flags_str(f->flags, fl);
    n = snprintf(out, cap, "%s %d:%d(%u)", fl, (int32_t)(f->seq - seq_base),
                 (int32_t)(f->seq - seq_base + f->len), f->len);
    if (f->flags & SC_ACK)
        n += snprintf(out + n, cap - (size_t)n, " ack %d",
                      (int32_t)(f->ack - ack_base));
    n += snprintf(out + n, cap - (size_t)n, " win %u", f->win);
    if (f->has_mss)
        n += snprintf(out + n, cap - (size_t)n, " <mss %u%s>", f->mss,
                      f->other_opts ? ",other" : "");
    else if (f->other_opts)
        n += snprintf(out + n, cap - (size_t)n, " <other>");
    snprintf(out + n, cap - (size_t)n, "   [%u > %u, seq %u ack %u]",
             f->sport, f->dport, f->seq, f->ack);
}

/* Describe captured frame i for a message. */
static void
sc_captured_str(struct sc *sc, unsigned i, char *out, size_t cap)
{
    struct sc_frame f;
    char err[160];
    size_t len = pt_test_read(sc->tx.pkts[i], sc->buf, sizeof(sc->buf));
    struct sc_peer *p;

    if (sc_frame_decode(sc->buf, len, &f, err, sizeof(err)) < 0) {
        snprintf(out, cap, "%s", err);
        return;
    }
    p = sc_peer_by_port(sc, f.dport);
    sc_frame_str(&f, p != NULL && p->sisn_known ? p->sisn : 0,
                 p != NULL ? p->isn : 0, out, cap);
    if (p != NULL && p != sc->cur) {
        size_t n = strlen(out);

        snprintf(out + n, cap - n, " (peer %d)", p->id);
    }
}

/* Take the oldest unchecked frame; NULL when there is none. */
static struct rte_mbuf *
sc_frame_take(struct sc *sc)
{
    struct rte_mbuf *m;

    if (sc->tx_next == sc->tx.n)
        return NULL;
    m = sc->tx.pkts[sc->tx_next];
    sc->tx.pkts[sc->tx_next++] = NULL;
    if (sc->tx_next == sc->tx.n)
        sc->tx.n = sc->tx_next = 0;
    return m;
}

void
sc_flush(struct sc *sc)
{
    pt_net_flush(sc->net);
    if (sc->trace) {
        char s[256];

        for (unsigned i = sc->tx_next; i < sc->tx.n; i++) {
            sc_captured_str(sc, i, s, sizeof(s));
            fprintf(stderr, "  %s:%u < %s\n", sc->name, sc->lineno, s);
        }
    }
}

int
sc_unchecked(struct sc *sc, const char *what)
{
    char s[256];

    if (sc->tx_next == sc->tx.n)
        return 0;
    sc_fail(sc, "%s, but %u frame(s) sent and not checked:", what,
            sc->tx.n - sc->tx_next);
    for (unsigned i = sc->tx_next; i < sc->tx.n && i < sc->tx_next + 8;
         i++) {
        sc_captured_str(sc, i, s, sizeof(s));
        sc_fail(sc, "\n      %s", s);
    }
    return -1;
}

/* ---- commands ---- */

/* `in arp request IP`: the peer asks who has IP; `in arp reply`: the peer
 * tells us its MAC (a reply to our first address). */
static int
sc_in_arp(struct sc *sc, char **t, int n)
{
    uint8_t *b = sc->buf;
    struct rte_mbuf *m;
    uint32_t tip;
    size_t len;

    if (n == 2 && strcmp(t[0], "request") == 0) {
        if (sc_ip(sc, t[1], &tip) < 0)
            return -1;
        len = pt_test_arp_frame(b, RTE_ARP_OP_REQUEST, &sc_bcast_mac,
                                &pt_test_peer_mac, PT_TEST_PEER_IP,
                                &sc_zero_mac, tip);
    } else if (n == 1 && strcmp(t[0], "reply") == 0) {
        len = pt_test_arp_frame(b, RTE_ARP_OP_REPLY, &pt_test_our_mac,
                                &pt_test_peer_mac, PT_TEST_PEER_IP,
                                &pt_test_our_mac, PT_TEST_OUR_IP);
    } else {
        return sc_fail(sc, "in arp request IP | in arp reply");
    }
    if (sc->trace)
        fprintf(stderr, "  %s:%u > arp %s\n", sc->name, sc->lineno, t[0]);
    m = pt_test_mbuf(b, len, 0);
    pt_net_input(sc->net, &m, 1, sc->now);
    sc_flush(sc);
    return 0;
}

/* `out arp request IP`: we broadcast who-has IP (from our first address);
 * `out arp reply IP`: we tell the peer that IP is at our MAC. */
static int
sc_out_arp(struct sc *sc, struct rte_mbuf *m, char **t, int n)
{
    const struct rte_ether_hdr *eh = (const void *)sc->buf;
    const struct rte_arp_hdr *ah = (const void *)(eh + 1);
    const struct rte_arp_ipv4 *a = &ah->arp_data;
    bool req = n == 2 && strcmp(t[0], "request") == 0;
    size_t len;
    uint32_t ip;

    if (n != 2 || (!req && strcmp(t[0], "reply") != 0) ||
        sc_ip(sc, t[1], &ip) < 0) {
        rte_pktmbuf_free(m);
        return sc_fail(sc, "out arp request IP | out arp reply IP");
    }
    len = pt_test_read(m, sc->buf, sizeof(sc->buf));
    rte_pktmbuf_free(m);
    if (len < sizeof(*eh) + sizeof(*ah) ||
        eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
        return sc_fail(sc, "not an ARP frame (%zu bytes)", len);
    if (!rte_is_same_ether_addr(&eh->src_addr, &pt_test_our_mac) ||
        !rte_is_same_ether_addr(&a->arp_sha, &pt_test_our_mac))
        return sc_fail(sc, "ARP not from our MAC");
    if (req) {
        if (ah->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
            !rte_is_broadcast_ether_addr(&eh->dst_addr) ||
            a->arp_sip != rte_cpu_to_be_32(PT_TEST_OUR_IP) ||
            a->arp_tip != rte_cpu_to_be_32(ip))
            return sc_fail(sc, "not a broadcast request from %08x for "
                           "%08x: op %u, sender %08x, target %08x",
                           PT_TEST_OUR_IP, ip,
                           rte_be_to_cpu_16(ah->arp_opcode),
                           rte_be_to_cpu_32(a->arp_sip),
                           rte_be_to_cpu_32(a->arp_tip));
        return 0;
    }
    if (ah->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REPLY) ||
        !rte_is_same_ether_addr(&eh->dst_addr, &pt_test_peer_mac) ||
        !rte_is_same_ether_addr(&a->arp_tha, &pt_test_peer_mac) ||
        a->arp_sip != rte_cpu_to_be_32(ip) ||
        a->arp_tip != rte_cpu_to_be_32(PT_TEST_PEER_IP))
        return sc_fail(sc, "not a reply %08x is-at us, to the peer: op %u, "
                       "sender %08x, target %08x", ip,
                       rte_be_to_cpu_16(ah->arp_opcode),
                       rte_be_to_cpu_32(a->arp_sip),
                       rte_be_to_cpu_32(a->arp_tip));
    return 0;
}

int
sc_in(struct sc *sc, char **t, bool *q, int n)
{
    struct sc_peer *p = sc->cur;
    struct sc_seg g;
    uint8_t *b = sc->buf;
    struct rte_ipv4_hdr *ip = (void *)(b + SC_L2);
    struct rte_tcp_hdr *th = (void *)(b + SC_L2 + SC_L3);
    struct pt_test_tcp seg;
    uint8_t *pl;
    size_t hl, tcplen;
    uint32_t start;
    struct rte_mbuf *m;

    if (n > 0 && strcmp(t[0], "arp") == 0)
        return sc_in_arp(sc, t + 1, n - 1);
    if (sc_seg_parse(sc, t, q, n, &g, false) < 0)
        return -1;
    if (!g.has_seq)
        return sc_fail(sc, "`in` needs SEQ:END(LEN)");
    hl = sizeof(*th) + g.optlen;
    if (SC_L2 + SC_L3 + hl + g.len > sizeof(sc->buf))
        return sc_fail(sc, "segment too long");
    pl = b + SC_L2 + SC_L3 + hl;
    start = g.seq + ((g.flags & SC_SYN) ? 1 : 0);
    for (uint32_t i = 0; i < g.len; i++) {
        uint32_t rel = start + i;

        pl[i] = g.has_data ? (uint8_t)g.data[i] : sc_pattern(rel);
        if (rel >= 1 && rel <= SC_LOG_MAX) {
            p->rx[rel - 1] = pl[i];
            p->rx_set[rel - 1] = 1;
        }
    }
    seg = (struct pt_test_tcp){
        .eth_dst = &pt_test_our_mac,
        .src = PT_TEST_PEER_IP,
        .dst = g.dst != 0 ? g.dst : p->laddr,
        .ip_id = (uint16_t)sc->lineno,
        .sport = g.sport >= 0 ? (uint16_t)g.sport : p->port,
        .dport = g.dport >= 0 ? (uint16_t)g.dport : sc_lport(sc, p),
        .seq = p->isn + g.seq,
        .ack = g.has_ack ? p->sisn + g.ack : 0,
        .flags = g.flags,
        .win = (uint16_t)(g.has_win ? g.win : 65535),
        .opts = g.opts,
        .optlen = g.optlen,
        .plen = g.len,
    };
    pt_test_tcp_frame(b, &seg);
    /* the malformations a script asks for, checksums made right again */
    tcplen = g.tcplen >= 0 ? (size_t)g.tcplen : hl + g.len;
    if (g.doff >= 0)
        th->data_off = (uint8_t)(g.doff << 4);
    if (g.tcplen >= 0) {
        ip->total_length = rte_cpu_to_be_16((uint16_t)(SC_L3 + tcplen));
        pt_test_ipv4_fix(b);
    }
    if (g.doff >= 0 || g.tcplen >= 0)
        pt_test_tcp_fix(b);
    if (g.badcsum)
        th->cksum ^= rte_cpu_to_be_16(0x0101);
    if (sc->trace) {
        struct sc_frame f;
        char err[160], s[256];

        if (sc_frame_decode(b, SC_L2 + SC_L3 + tcplen, &f, err,
                            sizeof(err)) == 0)
            sc_frame_str(&f, p->isn, p->sisn, s, sizeof(s));
        else
            snprintf(s, sizeof(s), "(%s)", err);
        fprintf(stderr, "  %s:%u > %s\n", sc->name, sc->lineno, s);
    }
    m = pt_test_mbuf(b, SC_L2 + SC_L3 + tcplen,
                     SC_L2 + SC_L3 + tcplen > SC_FRAME_SEG ? SC_FRAME_SEG : 0);
    pt_net_input(sc->net, &m, 1, sc->now);
    sc_flush(sc);
    return 0;
}

int
sc_out(struct sc *sc, char **t, bool *q, int n)
{
    struct sc_peer *p = sc->cur;
    struct sc_seg g;
    struct sc_frame f;
    struct rte_mbuf *m;
    char err[160], got[256];
    size_t len;
    uint32_t rel, sport;
    int rc = 0;

    if (n == 1 && strcmp(t[0], "none") == 0)
        return sc_unchecked(sc, "expected nothing");
    if (n > 0 && strcmp(t[0], "arp") == 0) {
        m = sc_frame_take(sc);
        if (m == NULL)
            return sc_fail(sc, "nothing was sent");
        return sc_out_arp(sc, m, t + 1, n - 1);
    }
    if (sc_seg_parse(sc, t, q, n, &g, true) < 0)
        return -1;
    m = sc_frame_take(sc);
    if (m == NULL)
        return sc_fail(sc, "nothing was sent");
    len = pt_test_read(m, sc->buf, sizeof(sc->buf));
    rte_pktmbuf_free(m);
    if (sc_frame_decode(sc->buf, len, &f, err, sizeof(err)) < 0)
        return sc_fail(sc, "%s", err);
    if ((g.flags & SC_SYN) && !p->sisn_known && (f.flags & SC_SYN)) {
        p->sisn = f.seq - (g.has_seq ? g.seq : 0);
        p->sisn_known = true;
    }
    sc_frame_str(&f, p->sisn_known ? p->sisn : 0, p->isn, got, sizeof(got));
    if (err[0] != '\0')
        rc = sc_fail(sc, "%s; ", err);
    if (((const struct rte_ipv4_hdr *)(sc->buf + SC_L2))->src_addr !=
        rte_cpu_to_be_32(p->laddr))
        rc = sc_fail(sc, "source address is not %08x; ", p->laddr);
    sport = g.sport >= 0 ? (uint32_t)g.sport : sc_lport(sc, p);
    if (f.sport != sport || f.dport != p->port)
        rc = sc_fail(sc, "ports %u > %u, expected %u > %u; ", f.sport,
                     f.dport, sport, p->port);
    if ((f.flags & ~SC_PSH) != (g.flags & ~SC_PSH))
        rc = sc_fail(sc, "flags differ; ");
    rel = f.seq - (p->sisn_known ? p->sisn : 0);
    if (g.has_seq && rel != g.seq)
        rc = sc_fail(sc, "seq differs; ");
    if (g.has_seq && f.len != g.len)
        rc = sc_fail(sc, "length differs; ");
    if (g.has_ack && f.ack - p->isn != g.ack)
        rc = sc_fail(sc, "ack differs; ");
    if (g.has_win && f.win != g.win)
        rc = sc_fail(sc, "window differs; ");
    if (f.other_opts || f.has_mss != g.has_mss ||
        (g.has_mss && f.mss != g.mss))
        rc = sc_fail(sc, "options differ; ");
    if (!g.has_opts && f.payload - sc->buf != (long)(SC_L2 + SC_L3 + 20))
        rc = sc_fail(sc, "header is not 20 bytes; ");
    if (f.len > 0) {
        uint32_t start = rel + ((f.flags & SC_SYN) ? 1 : 0);

        if (start < 1 || start - 1 + (size_t)f.len > p->tx_len)
            rc = sc_fail(sc, "payload at %u..%u, the app gave only %zu "
                         "bytes; ", start, start + f.len, p->tx_len);
        else if (memcmp(f.payload, p->tx + start - 1, f.len) != 0)
            rc = sc_fail(sc, "payload is not what the app sent there; ");
    }
    if (rc < 0)
        sc_fail(sc, "\n    actual: %s", got);
    return rc;
}
