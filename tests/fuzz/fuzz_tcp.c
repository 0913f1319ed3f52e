/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for TCP-lite: a structure-aware peer.
 *
 * Every input builds a fresh pt_net + pt_tcp (us 10.99.0.2, small pools:
 * 8 connections, SYN backlog 2, 4 TIME_WAIT entries, 4 out-of-order
 * segments, a fixed secret so ISNs and cookies repeat), with the echo
 * listener on port 7, a scripted application on 1883 and a refusing one on
 * 8, and plays the input as a sequence of records from one peer
 * (10.99.0.1, eight source ports):
 *
 *   segment  a TCP segment whose sequence and acknowledgment numbers are
 *            deltas from what the peer tracked (its own next sequence, the
 *            last ACK the stack sent it, the stack's ISN and highest
 *            sequence as seen in the frames it transmitted), so handshakes,
 *            data, FIN, RST, zero windows and reassembly are all in reach;
 *            valid checksums unless a bit says otherwise; chained mbufs;
 *   raw      Ethernet + IPv4 forged valid, the TCP part raw input bytes
 *            (for the header parser; optionally with a fixed checksum);
 *   clock    advance the fake clock and run pt_tcp_tick(): RTO, delayed
 *            ACK, persist, TIME_WAIT, SYN-ACK retries.
 *
 * Checked on every input: every frame the stack transmits is well formed
 * (addresses, lengths, both checksums, payload within the MSS), the echo
 * sends back, at each offset of its stream, the byte the peer sent at
 * that offset (payload bytes are a pattern of their sequence number, so
 * retransmissions and overlaps agree; raw frames to port 7 turn the
 * check off for their source port until its next SYN-ACK), after
 * every record the state gauges add up to the pools' use and the
 * half-open connections stay within the SYN backlog, every
 * accepted connection gets exactly one `closed`, and after pt_tcp_free()
 * and pt_net_free() no mbuf of the test pool is in use and the DPDK heap
 * holds what it held after the previous input. Any violation abort()s,
 * which libFuzzer reports as a crash.
 *
 * Input layout (all multi-byte fields big-endian):
 *   byte 0   stack settings: bit0 syncookies off, bit1 delayed ACK off,
 *            bit2 no out-of-order queue, bit3 rcv_buf 1024, bit4 snd_buf
 *            1024, bits5-6 our MSS (1460, 536, 100, 64), bit7 reply limit 2
 *   then records, kind = op % 8:
 *   0-4 segment: op flags ports seq_d:2 ack_d:2 win:2 shape len [opts]
 *            [to port 1883 only: payload prefix, up to 4 bytes]
 *            the payload is a pattern of its sequence numbers
 *        op bit6 picks source ports 40005-40008 instead of 40001-40004
 *        ports: bits0-1 source port 40001+n, bits2-3 destination (7 echo,
 *               1883 app, 8 refusing, 9 closed), bit4 corrupt checksum,
 *               bit5 seq from the stack's last ACK (else the peer's next),
 *               bit6 ack from the stack's highest sequence sent (else its
 *               ISN + 1), bit7 do not advance the peer's next sequence
 *        shape: bits0-2 options (1 MSS from a table, index op>>3 & 7,
 *               2 a Linux-like SYN set, 3 (op>>3 & 7) + 1 words of raw
 *               input bytes, else none), bits3-4 mbuf layout (single,
 *               64-byte chain, split after the headers, 200-byte chain),
 *               bits5-7 length scale (x1, x8 from 4, x16 from 6)
 *   5    raw: op len:2 [ports] bytes; op bit3 fix the TCP checksum, bit4
 *            ports byte follows (as above) and overrides the ports, bits5-6
 *            mbuf layout, bit7 six bytes of Ethernet padding
 *   6-7  clock: op ms; ms < 200 as is, else (ms - 199) * 500 (a jump past
 *            the 4 s timer wheel takes its long-stall path); at most 300 s
 *            of fake time per input
 *
 * The scripted application on 1883 reads the first payload byte of each
 * delivery: 0 consume, 1 close, 2 abort, 3 send byte[1] * 32 bytes back
 * (at most 1800 and the send space), 4 hold (never report consumed),
 * 5 send then close, else consume; it closes on eof.
 *
 * Built only with clang (meson option `fuzz`); the suite runs it for a
 * bounded number of inputs from tests/fuzz/corpus_tcp/ (made by
 * tests/fuzz/make_corpus_tcp.py, which documents the same layout).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "pt_test.h"

#define FZ_T0_NS (1000ull * 1000000000ull)
#define FZ_PEERS 8
#define FZ_PEER_PORT 40001
#define FZ_CLOCK_MAX_MS 300000u
#define FZ_FRAME_MAX 8192
#define FZ_POOL_SLACK 256      /* stop an input before the pool runs dry */
#define L2 sizeof(struct rte_ether_hdr)
#define L3 sizeof(struct rte_ipv4_hdr)
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t fz_dports[4] = { 7, 1883, 8, 9 };
static const uint16_t fz_our_mss[4] = { 1460, 536, 100, 64 };
static const uint16_t fz_mss_opt[8] = { 1460, 536, 1, 64, 9000, 0, 100, 1200 };
static const uint8_t fz_secret[16] = {
    0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x74, 0x63, 0x70,
    0x2d, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x21,
};

/* What the peer knows about one of its connections (per source port). */
struct fz_peer {
    uint32_t nxt;        /* our (the peer's) next sequence number */
    uint32_t isn;        /* the stack's ISN, from its last SYN-ACK */
    uint32_t snd_max;    /* highest sequence the stack sent, + 1 */
    uint32_t last_ack;   /* the last ACK number the stack sent us */
    /* the echo connection (port 7), from its SYN-ACK: what it sends at
     * our sequence echo_isn + 1 + k must be what we sent at echo_irs1 + k */
    uint32_t echo_isn, echo_irs1;
    bool echo_known;
    bool echo_tainted;   /* a raw frame may have put other bytes in */
};

static struct {
    struct pt_net *net;
    struct pt_tcp *tcp;
    uint16_t mss;              /* the stack's own MSS this input */
    uint32_t syn_backlog;
    struct fz_peer peers[FZ_PEERS];
    uint64_t now;
    uint32_t clock_ms;
    unsigned accepted, closed;
    uint8_t frame[FZ_FRAME_MAX];
    uint8_t out[FZ_FRAME_MAX];
} fz;

static void
fz_fail(const char *what)
{
    fprintf(stderr, "fuzz_tcp: invariant broken: %s\n", what);
    abort();
}

/* Payload byte at the peer's sequence number seq: every copy of a byte
 * the peer sends (first send, retransmission, overlap) is the same. */
static inline uint8_t
fz_pattern(uint32_t seq)
{
    return (uint8_t)('0' + seq % 61);
}

/* ---- the stack's transmissions: checked, observed, freed ---- */

static void
fz_observe(const struct rte_mbuf *m)
{
    const struct rte_ether_hdr *eh = (const void *)fz.out;
    const struct rte_ipv4_hdr *ip = (const void *)(fz.out + L2);
    const struct rte_tcp_hdr *th = (const void *)(fz.out + L2 + L3);
    uint32_t len = rte_pktmbuf_pkt_len(m), doff, plen, seq, end;
    uint16_t dport;
    struct fz_peer *p;

    if (len > sizeof(fz.out))
        fz_fail("transmitted frame too long");
    pt_test_read(m, fz.out, sizeof(fz.out));
    if (len < L2 + L3 + sizeof(*th))
        fz_fail("transmitted frame too short for TCP/IPv4");
    if (eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
        ip->next_proto_id != IPPROTO_TCP || ip->version_ihl != 0x45)
        fz_fail("transmitted frame is not TCP/IPv4");
    if (memcmp(&eh->src_addr, &pt_test_our_mac, 6) != 0 ||
        memcmp(&eh->dst_addr, &pt_test_peer_mac, 6) != 0)
        fz_fail("transmitted frame: Ethernet addresses not us -> peer");
    if (ip->src_addr != rte_cpu_to_be_32(PT_TEST_OUR_IP) ||
        ip->dst_addr != rte_cpu_to_be_32(PT_TEST_PEER_IP))
        fz_fail("transmitted frame: IP addresses not us -> peer");
    if (rte_be_to_cpu_16(ip->total_length) != len - L2)
        fz_fail("transmitted frame: IP total length is not the frame's");
    if (rte_ipv4_cksum(ip) != 0)
        fz_fail("transmitted frame: IPv4 checksum wrong");
    if (rte_ipv4_udptcp_cksum_verify(ip, th) != 0)
        fz_fail("transmitted frame: TCP checksum wrong");
    doff = (uint32_t)(th->data_off >> 4) * 4;
    if (doff < sizeof(*th) || L2 + L3 + doff > len)
        fz_fail("transmitted frame: bad data offset");
    plen = len - (uint32_t)(L2 + L3) - doff;
    if (plen > fz.mss)
        fz_fail("transmitted segment larger than our MSS");
    if ((th->tcp_flags & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN) ||
        (th->tcp_flags & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST))
        fz_fail("transmitted segment with impossible flags");
    if (plen > 0 && (th->tcp_flags & (TH_SYN | TH_RST)))
        fz_fail("transmitted SYN or RST carries data");

    /* learn what the stack told this peer port */
    dport = rte_be_to_cpu_16(th->dst_port);
    if (dport < FZ_PEER_PORT || dport >= FZ_PEER_PORT + FZ_PEERS)
        return; /* a reply to a raw frame's port */
    p = &fz.peers[dport - FZ_PEER_PORT];
    seq = rte_be_to_cpu_32(th->sent_seq);
    end = seq + plen + !!(th->tcp_flags & TH_SYN) +
          !!(th->tcp_flags & TH_FIN);
    if ((th->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
        p->isn = seq;
        p->snd_max = end;
    } else if (!(th->tcp_flags & TH_RST) && (int32_t)(end - p->snd_max) > 0) {
        p->snd_max = end;
    }
    if (th->tcp_flags & TH_ACK)
        p->last_ack = rte_be_to_cpu_32(th->recv_ack);

    /* the echo sends back exactly the bytes it received, in place */
    if (th->src_port != rte_cpu_to_be_16(7))
        return;
    if ((th->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
        p->echo_isn = seq;
        p->echo_irs1 = rte_be_to_cpu_32(th->recv_ack);
        p->echo_known = true;
        p->echo_tainted = false;
    } else if (plen > 0 && p->echo_known && !p->echo_tainted) {
        const uint8_t *pl = (const uint8_t *)th + doff;
        uint32_t off = seq - (p->echo_isn + 1);

        for (uint32_t i = 0; i < plen; i++)
            if (pl[i] != fz_pattern(p->echo_irs1 + off + i))
                fz_fail("the echo sent bytes the peer never sent there");
    }
}

static uint16_t
fz_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    (void)ctx;
    for (uint16_t i = 0; i < n; i++) {
        fz_observe(pkts[i]);
        rte_pktmbuf_free(pkts[i]);
    }
    return n;
}

/* After every record (the stack has flushed): the state gauges add up to
 * the pools' use, and the half-open count respects the backlog. */
static void
fz_check_gauges(void)
{
    const struct pt_tcp_stats *st = pt_tcp_stats(fz.tcp);
    uint64_t live = 0;

    for (int i = 0; i < PT_TCP_STATE_MAX; i++)
        if (i != PT_TCP_TIME_WAIT)
            live += st->states[i];
    if (live != st->conns_in_use || st->conns_in_use > st->conns_max)
        fz_fail("connection state gauges do not add up to the pool's use");
    if (st->states[PT_TCP_TIME_WAIT] != st->tw_in_use ||
        st->tw_in_use > st->tw_max)
        fz_fail("TIME_WAIT gauge does not match the pool's use");
    if (st->states[PT_TCP_SYN_RCVD] > fz.syn_backlog)
        fz_fail("more half-open connections than the SYN backlog");
}

/* ---- applications ---- */

static int
app_accept(void *arg, struct pt_tcp_conn *c, void **user)
{
    (void)c;
    if (arg != NULL)
        return -ECONNREFUSED; /* the refusing listener */
    fz.accepted++;
    *user = NULL;
    return 0;
}

static void
app_send(struct pt_tcp_conn *c, uint32_t len)
{
    struct rte_mbuf *m;

    len = RTE_MIN(len, pt_tcp_send_space(c));
    if (len == 0 || rte_mempool_avail_count(pt_test_pool()) < FZ_POOL_SLACK)
        return;
    len = RTE_MIN(len, 1800u);
    memset(fz.frame, 'r', len);
    m = pt_test_mbuf(fz.frame, len, 0);
    if (pt_tcp_send(c, m) < 0)
        rte_pktmbuf_free(m);
}

static void
app_data(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    uint32_t len = rte_pktmbuf_pkt_len(m);
    uint8_t cmd[2] = { 0, 0 };

    (void)user;
    if (len == 0)
        fz_fail("data callback with no bytes");
    pt_test_read(m, cmd, sizeof(cmd));
    rte_pktmbuf_free(m);
    switch (cmd[0]) {
    case 1:
        pt_tcp_recved(c, len);
        pt_tcp_close(c);
        break;
    case 2:
        pt_tcp_abort(c);
        break;
    case 3:
        pt_tcp_recved(c, len);
        app_send(c, (uint32_t)cmd[1] * 32);
        break;
    case 4:
        break;
    case 5:
        pt_tcp_recved(c, len);
        app_send(c, (uint32_t)cmd[1] * 32 + 1);
        pt_tcp_close(c);
        break;
    default:
        pt_tcp_recved(c, len);
    }
}

static void
app_eof(void *user, struct pt_tcp_conn *c)
{
    (void)user;
    pt_tcp_close(c); /* may be -EPIPE: already closing */
}

static void
app_closed(void *user, struct pt_tcp_conn *c, int reason)
{
    (void)user;
    (void)c;
    if (reason != 0 && reason != -ECONNRESET && reason != -ETIMEDOUT &&
        reason != -ECONNABORTED)
        fz_fail("closed with an undocumented reason");
    fz.closed++;
}

static const struct pt_tcp_ops app_ops = {
    .accept = app_accept,
    .data = app_data,
    .eof = app_eof,
    .closed = app_closed,
};

/* ---- input records ---- */

struct fz_in {
    const uint8_t *p;
    size_t n;
};

static bool
fz_take(struct fz_in *in, void *out, size_t n)
{
    if (in->n < n)
        return false;
    memcpy(out, in->p, n);
    in->p += n;
    in->n -= n;
    return true;
}

static uint16_t
fz_be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

/* Hand fz.frame[0..len) to the stack in the given mbuf layout. */
static void
fz_deliver(size_t len, unsigned layout, size_t hdr_len)
{
    struct rte_mbuf *m;
    size_t seg;

    switch (layout & 3) {
    case 1:
        seg = 64;
        break;
    case 2:
        seg = hdr_len; /* headers alone in the first segment */
        break;
    case 3:
        seg = 200;
        break;
    default:
        seg = 0;
    }
    if (seg == 0 && len > 1800)
        seg = 1800; /* an mbuf holds 2 KiB */
    if (seg != 0 && (len + seg - 1) / seg > 64)
        seg = (len + 63) / 64; /* keep chains short */
    m = pt_test_mbuf(fz.frame, len, seg);
    pt_net_input(fz.net, &m, 1, fz.now);
    pt_net_flush(fz.net);
}

static void
fz_port_pick(uint8_t ports, uint16_t *sport, uint16_t *dport)
{
    *sport = (uint16_t)(FZ_PEER_PORT + (ports & 3));
    *dport = fz_dports[(ports >> 2) & 3];
}

static bool
fz_segment(struct fz_in *in, uint8_t op)
{
    uint8_t h[10], opts[40], pfx[4];
    uint8_t flags, ports, shape, *pl;
    struct rte_tcp_hdr *th = (void *)(fz.frame + L2 + L3);
    struct fz_peer *p;
    struct pt_test_tcp seg;
    uint16_t sport, dport, mss;
    uint32_t seq, ack, len, scale;
    size_t optlen = 0, npfx, flen;

    if (!fz_take(in, h, sizeof(h)))
        return false;
    flags = h[0];
    ports = h[1];
    shape = h[8];
    fz_port_pick(ports, &sport, &dport);
    if (op & 0x40) { /* the other four source ports */
        sport += 4;
        p = &fz.peers[(ports & 3) + 4];
    } else {
        p = &fz.peers[ports & 3];
    }

    switch (shape & 7) {
    case 1:
        mss = fz_mss_opt[(op >> 3) & 7];
        opts[0] = 2, opts[1] = 4;
        opts[2] = (uint8_t)(mss >> 8), opts[3] = (uint8_t)mss;
        optlen = 4;
        break;
    case 2: {
        /* what Linux puts on a SYN: mss, sackOK, TS, nop, wscale */
        static const uint8_t linux_syn[20] = {
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
            1, 3, 3, 7,
        };

        memcpy(opts, linux_syn, sizeof(linux_syn));
        optlen = sizeof(linux_syn);
        break;
    }
    case 3:
        optlen = (size_t)(((op >> 3) & 7) + 1) * 4;
        if (!fz_take(in, opts, optlen))
            return false;
        break;
    default:
        break;
    }
    scale = shape >> 5;
    len = h[9];
    if (scale >= 6)
        len *= 16;
    else if (scale >= 4)
        len *= 8;

    seq = ((ports & 0x20) ? p->last_ack : p->nxt) + (uint32_t)(int16_t)
          fz_be16(h + 2);
    ack = ((ports & 0x40) ? p->snd_max : p->isn + 1) + (uint32_t)(int16_t)
          fz_be16(h + 4);

    /* payload: the pattern of the sequence number; to the scripted
     * application, up to 4 bytes from the input first (its command) */
    pl = fz.frame + PT_TEST_TCP_HDRS + optlen;
    npfx = dport == 1883 ? RTE_MIN((size_t)len,
                                   RTE_MIN(sizeof(pfx), in->n)) : 0;
    fz_take(in, pfx, npfx);
    memcpy(pl, pfx, npfx);
    for (uint32_t i = (uint32_t)npfx; i < len; i++)
        pl[i] = fz_pattern(seq + i);
    seg = (struct pt_test_tcp){
        .eth_dst = &pt_test_our_mac,
        .src = PT_TEST_PEER_IP,
        .dst = PT_TEST_OUR_IP,
        .ip_id = 1,
        .sport = sport,
        .dport = dport,
        .seq = seq,
        .ack = ack,
        .flags = flags,
        .win = fz_be16(h + 6),
        .opts = opts,
        .optlen = optlen,
        .plen = len,
    };
    flen = pt_test_tcp_frame(fz.frame, &seg);
    if (ports & 0x10)
        th->cksum ^= 0x5a5a;
    if (!(ports & 0x80))
        p->nxt = seq + len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
    fz_deliver(flen, (shape >> 3) & 3, flen - len);
    return true;
}

static bool
fz_raw(struct fz_in *in, uint8_t op)
{
    struct rte_tcp_hdr *th = (void *)(fz.frame + L2 + L3);
    uint8_t lb[2], ports = 0;
    uint16_t sport, dport;
    size_t len, pad = (op & 0x80) ? 6 : 0;

    if (!fz_take(in, lb, 2))
        return false;
    if ((op & 0x10) && !fz_take(in, &ports, 1))
        return false;
    len = RTE_MIN((size_t)fz_be16(lb) % 1600, in->n);
    fz_take(in, fz.frame + PT_TEST_L4_OFF, len);
    pt_test_eth_ipv4(fz.frame, &pt_test_our_mac, PT_TEST_PEER_IP,
                     PT_TEST_OUR_IP, IPPROTO_TCP, 1, 64, len);
    if ((op & 0x10) && len >= 4) {
        fz_port_pick(ports, &sport, &dport);
        th->src_port = rte_cpu_to_be_16(sport);
        th->dst_port = rte_cpu_to_be_16(dport);
    }
    if ((op & 0x08) && len >= sizeof(*th))
        pt_test_tcp_fix(fz.frame);
    if (len >= sizeof(*th) && th->dst_port == rte_cpu_to_be_16(7)) {
        sport = rte_be_to_cpu_16(th->src_port);
        if (sport >= FZ_PEER_PORT && sport < FZ_PEER_PORT + FZ_PEERS)
            fz.peers[sport - FZ_PEER_PORT].echo_tainted = true;
    }
    memset(fz.frame + L2 + L3 + len, 0, pad); /* after the IP datagram */
    fz_deliver(L2 + L3 + len + pad, (op >> 5) & 3, L2 + L3);
    return true;
}

static bool
fz_clock(struct fz_in *in)
{
    uint8_t b;
    uint32_t ms;

    if (!fz_take(in, &b, 1))
        return false;
    ms = b < 200 ? b : (uint32_t)(b - 199) * 500;
    if (fz.clock_ms + ms > FZ_CLOCK_MAX_MS)
        ms = FZ_CLOCK_MAX_MS - fz.clock_ms;
    fz.clock_ms += ms;
    fz.now += (uint64_t)ms * 1000000ull;
    pt_tcp_tick(fz.tcp, fz.now);
    pt_net_flush(fz.net);
    return true;
}

static void
fz_setup(uint8_t c)
{
    struct pt_net_conf nconf;
    struct pt_tcp_conf conf;

    pt_test_net_conf(&nconf, fz_tx, NULL);
    nconf.arp_entries = 16;
    fz.net = pt_net_create(&nconf);
    if (fz.net == NULL)
        abort();
    memset(&conf, 0, sizeof(conf));
    conf.net = fz.net;
    conf.max_conns = 8;
    conf.syn_backlog = 2;
    conf.syncookies = !(c & 0x01);
    conf.mss = fz_our_mss[(c >> 5) & 3];
    conf.rcv_buf = (c & 0x08) ? 1024 : 4096;
    conf.snd_buf = (c & 0x10) ? 1024 : 4096;
    conf.delayed_ack_ms = (c & 0x02) ? 0 : 40;
    conf.rto_initial_ms = 200;
    conf.rto_min_ms = 50;
    conf.rto_max_ms = 2000;
    conf.max_retries = 4;
    conf.synack_retries = 2;
    conf.time_wait_ms = 1000;
    conf.time_wait_max = 4;
    conf.reply_limit = (c & 0x80) ? 2 : 1000000;
    conf.ooo_segments = (c & 0x04) ? 0 : 4;
    conf.now_ns = FZ_T0_NS;
    conf.secret = fz_secret;
    conf.socket_id = SOCKET_ID_ANY;
    fz.tcp = pt_tcp_create(&conf);
    if (fz.tcp == NULL)
        abort();
    if (pt_tcp_echo_listen(fz.tcp, 7) != 0 ||
        pt_tcp_listen(fz.tcp, 1883, &app_ops, NULL) != 0 ||
        pt_tcp_listen(fz.tcp, 8, &app_ops, (void *)1) != 0)
        abort();
    fz.mss = conf.mss;
    fz.syn_backlog = conf.syn_backlog;
    fz.now = FZ_T0_NS;
    fz.clock_ms = 0;
    fz.accepted = fz.closed = 0;
    for (unsigned i = 0; i < FZ_PEERS; i++)
        fz.peers[i] = (struct fz_peer){ .nxt = (i + 1) * 1000000u };
}

/* Bytes allocated from the DPDK heaps (pt_net and pt_tcp memory). */
static uint64_t
fz_heap_bytes(void)
{
    struct rte_malloc_socket_stats st;
    uint64_t sum = 0;

    for (unsigned i = 0; i < rte_socket_count(); i++)
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
            sum += st.heap_allocsz_bytes;
    return sum;
}

/* FUZZ_TCP_TRACE=1: what an input reached (to check seeds by hand). */
static void
fz_trace(void)
{
    const struct pt_tcp_stats *st = pt_tcp_stats(fz.tcp);

    fprintf(stderr, "fuzz_tcp: accepted %u by the app, clock +%u ms\n",
            fz.accepted, fz.clock_ms);
    for (int i = 0; i < PT_TCP_C_MAX; i++)
        if (st->c[i] != 0)
            fprintf(stderr, "  %s %llu\n", pt_tcp_counter_name(i),
                    (unsigned long long)st->c[i]);
    for (int i = 0; i < PT_TCP_DROP_MAX; i++)
        if (st->drops[i] != 0)
            fprintf(stderr, "  drop %s %llu\n", pt_tcp_drop_name(i),
                    (unsigned long long)st->drops[i]);
    for (int i = 0; i < PT_TCP_STATE_MAX; i++)
        if (st->states[i] != 0)
            fprintf(stderr, "  state %s %llu\n", pt_tcp_state_name(i),
                    (unsigned long long)st->states[i]);
    fprintf(stderr, "  time_wait %llu\n", (unsigned long long)st->tw_in_use);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool eal_up, trace, heap_known;
    static uint64_t heap_idle;
    struct fz_in in;
    bool more = true;

    if (!eal_up) {
        if (pt_test_eal_init() != 0)
            abort();
        eal_up = true;
        trace = getenv("FUZZ_TCP_TRACE") != NULL;
    }
    if (size < 1 || size > 65536)
        return 0;
    in = (struct fz_in){ data + 1, size - 1 };
    fz_setup(data[0]);
    while (more && in.n > 0 &&
           rte_mempool_avail_count(pt_test_pool()) > FZ_POOL_SLACK) {
        uint8_t op;

        fz_take(&in, &op, 1);
        switch (op % 8) {
        case 5:
            more = fz_raw(&in, op);
            break;
        case 6:
        case 7:
            more = fz_clock(&in);
            break;
        default:
            more = fz_segment(&in, op);
        }
        fz_check_gauges();
    }
    if (trace)
        fz_trace();
    pt_tcp_free(fz.tcp);
    pt_net_free(fz.net);
    if (fz.accepted != fz.closed)
        fz_fail("an accepted connection did not get exactly one `closed`");
    if (rte_mempool_in_use_count(pt_test_pool()) != 0)
        fz_fail("mbufs still in use after pt_tcp_free + pt_net_free");
    /* the heap is back where the previous input left it (the first input
     * registers the out-of-order mbuf field once) */
    if (heap_known && fz_heap_bytes() != heap_idle)
        fz_fail("DPDK heap memory not freed by pt_tcp_free + pt_net_free");
    heap_idle = fz_heap_bytes();
    heap_known = true;
    return 0;
}
