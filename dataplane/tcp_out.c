/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite output: building segments and deciding what to send.
 *
 * Every segment is one fresh mbuf from the core's pool holding Ethernet,
 * IPv4 (DF, TTL 64) and TCP headers and up to one MSS of payload copied
 * from the send queue (a copy per segment keeps the queue's mbufs
 * untouched for retransmission; MQTT messages are small). Headers start
 * from a per-core template; checksums are left to the port when it offers
 * IPv4 and TCP checksum offload, else computed in software (cksum.h).
 * Frames go to the net's transmit queue.
 *
 * pt_tcp_output() sends new data while the peer's window and the
 * congestion window allow (sender-side silly window avoidance: a segment
 * smaller than the MSS leaves only when it empties the queue or nothing is
 * in flight), then the FIN if the application closed and all data is out,
 * then a bare ACK if one is owed now. Any segment carries our latest ACK
 * and window, which settles a delayed ACK.
 *
 * Not here: timers (tcp_timer.c) and the receive side (tcp_in.c).
 */
#include <string.h>

#include <rte_ip.h>

#include "cksum.h"
#include "tcp_priv.h"

/* pt_tcp_output() tells the handshake states by one compare */
_Static_assert(PT_TCP_CLOSED == 0 && PT_TCP_SYN_SENT == 1 &&
               PT_TCP_SYN_RCVD == 2, "handshake states come first");

/*
 * Allocate a frame with headers for the 4-tuple t (our address and port as
 * source) filled in except the checksums; *payload points at where payload_len bytes go. The
 * fields every segment of the core shares come from tcp->hdr (built at
 * creation by pt_tcp_hdr_template()); the rest are patched in.
 */
static struct rte_mbuf *
frame_alloc(struct pt_tcp *tcp, const struct rte_ether_addr *mac,
            const struct pt_tcp_node *t, uint32_t seq, uint32_t ack,
            uint8_t flags, uint16_t wnd, uint16_t mss_opt,
            uint32_t payload_len, uint8_t **payload)
{
    uint32_t opt = mss_opt ? PT_TCP_SYN_OPT_LEN : 0;
    uint32_t len = (uint32_t)PT_TCP_FRAME_HDR + opt + payload_len;
    struct rte_mbuf *m = rte_mbuf_raw_alloc(tcp->net->pool);
    struct rte_ether_hdr *eh;
    struct rte_ipv4_hdr *ip;
    struct rte_tcp_hdr *th;

    if (unlikely(m == NULL)) {
        tcp_count(tcp, PT_TCP_C_NO_MBUF);
        return NULL;
    }
    /* a raw mbuf is one segment with refcnt 1 (rte_mbuf_raw_alloc());
     * the rest of what rte_pktmbuf_reset() would do, for what we use */
    m->data_off = RTE_PKTMBUF_HEADROOM;
    m->data_len = (uint16_t)len;
    m->pkt_len = len;
    m->ol_flags = 0;
    m->tx_offload = 0;
    m->packet_type = 0;
    m->vlan_tci = 0;
    m->port = RTE_MBUF_PORT_INVALID;
    eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
    memcpy(eh, tcp->hdr, PT_TCP_FRAME_HDR);
    rte_ether_addr_copy(mac, &eh->dst_addr);

    ip = (struct rte_ipv4_hdr *)(eh + 1);
    ip->total_length = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eh)));
    ip->packet_id = rte_cpu_to_be_16(tcp->ip_id++);
    ip->src_addr = t->laddr;
    ip->dst_addr = t->raddr;

    th = (struct rte_tcp_hdr *)(ip + 1);
    th->src_port = t->lport;
    th->dst_port = t->rport;
    th->sent_seq = rte_cpu_to_be_32(seq);
    th->recv_ack = rte_cpu_to_be_32(ack);
    th->tcp_flags = flags;
    th->rx_win = rte_cpu_to_be_16(wnd);
    if (mss_opt) {
        uint8_t *o = (uint8_t *)(th + 1);

        th->data_off = (uint8_t)(((PT_TCP_HDR_LEN + opt) / 4) << 4);
        o[0] = 2; /* kind MSS */
        o[1] = 4;
        o[2] = (uint8_t)(mss_opt >> 8);
        o[3] = (uint8_t)mss_opt;
    }
    *payload = (uint8_t *)th + PT_TCP_HDR_LEN + opt;
    return m;
}

/* The constant part of every segment a core sends: our MAC, EtherType,
 * IPv4 version/TOS/DF/TTL/protocol, a 20-byte TCP header. The source
 * address is the connection's (a net may have several). */
void
pt_tcp_hdr_template(struct pt_tcp *tcp)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *)tcp->hdr;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

    memset(tcp->hdr, 0, sizeof(tcp->hdr));
    rte_ether_addr_copy(&tcp->net->mac, &eh->src_addr);
    eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    th->data_off = (uint8_t)((PT_TCP_HDR_LEN / 4) << 4);
    /* total_length, packet_id, the addresses and the checksum are 0 here */
    tcp->hdr_sum = pt_cksum_ipv4_hdr(ip);
}

/* Checksums, counters, and onto the net's transmit queue. */
static void
frame_send(struct pt_tcp *tcp, struct rte_mbuf *m, uint32_t payload_len)
{
    struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
        m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
    struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
    uint16_t l4_len = (uint16_t)(rte_pktmbuf_data_len(m) -
                                 sizeof(struct rte_ether_hdr) - sizeof(*ip));

    uint64_t sum = pt_cksum_pseudo(ip, IPPROTO_TCP, l4_len);

    if (tcp->tx_cksum_offload) {
        /* the device sums; TCP's field carries the pseudo-header sum */
        m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
                      RTE_MBUF_F_TX_TCP_CKSUM;
        m->l2_len = sizeof(struct rte_ether_hdr);
        m->l3_len = sizeof(*ip);
        ip->hdr_checksum = 0;
        th->cksum = pt_cksum_fold(sum);
        goto queue;
    }
    /* the template's constant fields are summed once (tcp->hdr_sum) */
    ip->hdr_checksum = (uint16_t)~pt_cksum_fold(
        tcp->hdr_sum + ip->total_length + ip->packet_id + ip->src_addr +
        ip->dst_addr);
    sum = l4_len == PT_TCP_HDR_LEN ? pt_cksum_add20(th, sum)    /* bare */
                                   : pt_cksum_add(th, l4_len, sum);
    th->cksum = (uint16_t)~pt_cksum_fold(sum);
queue:
    tcp_count(tcp, PT_TCP_C_TX_SEGS);
    tcp_count_n(tcp, PT_TCP_C_TX_BYTES, payload_len);
    if (th->tcp_flags & TH_RST)
        tcp_count(tcp, PT_TCP_C_RST_SENT);
    pt_net_queue(tcp->net, m);
}

int
pt_tcp_reply(struct pt_tcp *tcp, const struct rte_ether_addr *mac,
             const struct pt_tcp_node *tuple, uint32_t seq, uint32_t ack,
             uint8_t flags, uint16_t wnd, uint16_t mss)
{
    uint8_t *payload;
    struct rte_mbuf *m = frame_alloc(tcp, mac, tuple, seq, ack, flags, wnd,
                                     mss, 0, &payload);

    if (m == NULL)
        return -ENOBUFS;
    frame_send(tcp, m, 0);
    return 0;
}

/* The window to advertise now, never moving the right edge backwards and
 * moving it forward only by worthwhile amounts (receiver SWS avoidance). */
static uint16_t
adv_window(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;
    uint32_t wnd = pt_tcp_rcv_window(c);
    uint32_t edge = c->rcv_nxt + wnd;

    if (SEQ_LT(edge, c->rcv_adv)) {
        edge = c->rcv_adv;
    } else if (SEQ_GT(c->rcv_adv, c->rcv_nxt) &&
               edge - c->rcv_adv < tcp->sws_min) {
        edge = c->rcv_adv;
    }
    c->rcv_adv = edge;
    return (uint16_t)RTE_MIN(edge - c->rcv_nxt, PT_TCP_MAX_WIN);
}

/* A segment carrying our ACK and window is leaving: nothing is owed. */
static inline void
ack_settled(struct pt_tcp_conn *c)
{
    c->flags &= (uint16_t)~(CF_ACK_NOW | CF_ACK_DELAYED | CF_WND_UPDATE);
    c->segs_unacked = 0;
}

/* Copy len bytes starting off bytes into the send queue. */
static void
copy_from_queue(const struct pt_tcp_conn *c, uint32_t off, uint8_t *dst,
                uint32_t len)
{
    const struct rte_mbuf *m = c->snd_head;

    while (off >= m->data_len) {
        off -= m->data_len;
        m = m->next;
    }
    while (len > 0) {
        uint32_t n = RTE_MIN(len, (uint32_t)m->data_len - off);

        memcpy(dst, rte_pktmbuf_mtod_offset(m, const uint8_t *, off), n);
        dst += n;
        len -= n;
        off = 0;
        m = m->next;
    }
}

/*
 * Send one segment of the connection: seq, flags, and len payload bytes
 * taken from seq's place in the send queue. Carries our ACK and window,
 * so any owed ACK is settled.
 */
static int
conn_segment(struct pt_tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len)
{
    struct pt_tcp *tcp = c->tcp;
    uint16_t mss = (flags & TH_SYN) ? tcp->mss : 0;
    uint8_t *payload;
    struct rte_mbuf *m;
    uint16_t wnd = (flags & TH_SYN) ? (uint16_t)tcp->rcv_buf : adv_window(c);

    if (flags & TH_SYN)
        c->rcv_adv = c->rcv_nxt + tcp->rcv_buf;
    m = frame_alloc(tcp, &c->peer_mac, &c->node, seq, c->rcv_nxt, flags, wnd,
                    mss, len, &payload);
    if (m == NULL)
        return -ENOBUFS;
    if (len > 0)
        copy_from_queue(c, seq - c->snd_una, payload, len);
    if (len > 0 && SEQ_LT(seq, c->snd_max))
        tcp_count(tcp, PT_TCP_C_RETRANS);
    if (flags & TH_ACK)
        ack_settled(c);
    frame_send(tcp, m, len);
    return 0;
}

/*
 * A bare ACK carries snd_max, not snd_nxt: after an RTO sent us back to
 * snd_una the peer may already hold data up to snd_max, and a sequence
 * number below its rcv_nxt would make it drop the segment, ACK field and
 * all (Linux does), deadlocking both sides.
 */
void
pt_tcp_send_ack(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;
    uint16_t had = c->flags;
    uint8_t *payload;
    struct rte_mbuf *m;

    m = frame_alloc(tcp, &c->peer_mac, &c->node, c->snd_max, c->rcv_nxt,
                    TH_ACK, adv_window(c), 0, 0, &payload);
    if (unlikely(m == NULL))
        return;
    ack_settled(c);
    frame_send(tcp, m, 0);
    if (had & CF_ACK_DELAYED) /* its timer slot may move to the RTO */
        pt_tcp_timer_update(c);
}

int
pt_tcp_send_synack(struct pt_tcp_conn *c)
{
    return conn_segment(c, c->snd_una, TH_SYN | TH_ACK, 0);
}

/* The SYN of an active open (ISS = snd_una; no ACK yet, so its ACK field
 * is 0: rcv_nxt is 0 until the SYN-ACK). */
int
pt_tcp_send_syn(struct pt_tcp_conn *c)
{
    return conn_segment(c, c->snd_una, TH_SYN, 0);
}

void
pt_tcp_send_rst(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;

    pt_tcp_reply(tcp, &c->peer_mac, &c->node, c->snd_max, c->rcv_nxt,
                 TH_RST | TH_ACK, 0, 0);
}

/* FIN sequence number (valid when CF_FIN_QUEUED, until it is acked). */
static inline uint32_t
fin_seq(const struct pt_tcp_conn *c)
{
    return c->snd_una + c->snd_queued;
}

/* Resend the first unacknowledged segment (fast retransmit, NewReno
 * partial ACK); snd_nxt is left alone. */
void
pt_tcp_retransmit_una(struct pt_tcp_conn *c)
{
    uint32_t len = RTE_MIN(c->snd_queued, (uint32_t)c->mss);
    uint8_t flags = TH_ACK;

    if (c->snd_queued == 0 &&
        (!(c->flags & CF_FIN_SENT) || pt_tcp_fin_acked(c)))
        return;
    if ((c->flags & CF_FIN_SENT) && len == c->snd_queued &&
        SEQ_GT(c->snd_max, fin_seq(c)))
        flags |= TH_FIN;
    if (len > 0)
        flags |= TH_PSH;
    if (len == 0)
        tcp_count(c->tcp, PT_TCP_C_RETRANS); /* a bare FIN */
    c->flags &= (uint16_t)~CF_RTT; /* Karn */
    conn_segment(c, c->snd_una, flags, len);
}

/* Zero-window probe: an old sequence number makes the peer answer with
 * its current window (as Linux does); a probe carries no data. */
void
pt_tcp_send_probe(struct pt_tcp_conn *c)
{
    tcp_count(c->tcp, PT_TCP_C_PROBES);
    conn_segment(c, c->snd_una - 1, TH_ACK, 0);
}

static void
fin_sent(struct pt_tcp_conn *c)
{
    c->flags |= CF_FIN_SENT;
    if (c->node.state == PT_TCP_ESTABLISHED)
        pt_tcp_set_state(c, PT_TCP_FIN_WAIT_1);
    else if (c->node.state == PT_TCP_CLOSE_WAIT)
        pt_tcp_set_state(c, PT_TCP_LAST_ACK);
}

void
pt_tcp_output(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;
    bool sent = false;

    /* CLOSED, SYN_SENT, SYN_RCVD: nothing but the handshake (sent by
     * tcp_listen.c, pt_tcp_connect and the timer) leaves before
     * ESTABLISHED; queued data and a queued FIN wait for it */
    if (c->node.state <= PT_TCP_SYN_RCVD)
        return;
    /* the common case after input: nothing queued to send, an ACK owed */
    if (c->snd_una + c->snd_queued == c->snd_nxt &&
        !(c->flags & CF_FIN_QUEUED)) {
        if (c->flags & (CF_ACK_NOW | CF_WND_UPDATE))
            pt_tcp_send_ack(c);
        return;
    }

    for (;;) {
        uint32_t end = c->snd_una + c->snd_queued;
        uint32_t inflight = c->snd_nxt - c->snd_una;
        uint32_t unsent = SEQ_LT(c->snd_nxt, end) ? end - c->snd_nxt : 0;
        uint32_t win = RTE_MIN((uint32_t)c->snd_wnd, c->cwnd);
        uint32_t usable = win > inflight ? win - inflight : 0;
        uint32_t len = RTE_MIN(RTE_MIN(unsent, usable), (uint32_t)c->mss);
        uint8_t flags = TH_ACK;

        if (unsent == 0) {
            if ((c->flags & CF_FIN_QUEUED) && c->snd_nxt == end &&
                !pt_tcp_fin_acked(c)) {
                /* the FIN: needs no window */
                if (conn_segment(c, c->snd_nxt, TH_FIN | TH_ACK, 0) != 0)
                    break;
                c->snd_nxt++;
                if (SEQ_GT(c->snd_nxt, c->snd_max))
                    c->snd_max = c->snd_nxt;
                fin_sent(c);
                sent = true;
            }
            break;
        }
        if (len == 0) {
            /* window closed with data waiting: probe when nothing is in
             * flight to bring an ACK back */
            if (c->snd_wnd == 0 && inflight == 0 && !(c->flags & CF_RTO)) {
                c->flags |= CF_PERSIST;
                pt_tcp_rto_arm(c, c->rto_us);
            }
            break;
        }
        if (len < c->mss && len < unsent && inflight > 0)
            break; /* sender SWS avoidance: wait for a fuller segment */
        if (len == unsent) {
            flags |= TH_PSH;
            if ((c->flags & CF_FIN_QUEUED))
                flags |= TH_FIN; /* FIN rides on the last data */
        }
        if (conn_segment(c, c->snd_nxt, flags, len) != 0)
            break;
        if (!(c->flags & CF_RTT) && c->snd_nxt == c->snd_max) {
            c->flags |= CF_RTT;
            c->rtt_seq = c->snd_nxt + len;
            c->rtt_start_us = tcp->now_us;
        }
        c->snd_nxt += len;
        if (flags & TH_FIN) {
            c->snd_nxt++;
            fin_sent(c);
        }
        if (SEQ_GT(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        sent = true;
        if (flags & TH_FIN)
            break;
    }
    if (sent) {
        if (c->flags & CF_PERSIST) {
            c->flags &= (uint16_t)~(CF_PERSIST | CF_RTO);
        }
        if (!(c->flags & CF_RTO))
            pt_tcp_rto_arm(c, c->rto_us);
        pt_tcp_timer_update(c);
        return;
    }
    if (c->flags & (CF_ACK_NOW | CF_WND_UPDATE))
        pt_tcp_send_ack(c);
}
