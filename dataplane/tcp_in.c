/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite input: segment validation, demultiplexing and the connection
 * state machine (RFC 793 "SEGMENT ARRIVES", with RFC 5961 for RST, SYN and
 * ACK checks, RFC 5681/6582 for duplicate ACKs and recovery).
 *
 * LISTEN is not a connection: a listener is a port with callbacks, and
 * SYNs to it create a connection in SYN_RCVD (or, once the SYN backlog is
 * full, a stateless SYN cookie answer). An active open (pt_tcp_connect in
 * tcp.c) starts in SYN_SENT with its SYN sent.
 *
 *                 SYN / SYN-ACK        ACK of SYN
 *     (listener) ---------------> SYN_RCVD ---------> ESTABLISHED
 *        | ACK carrying a valid cookie                  |      |
 *        +------------------------------------------>---+      |
 *     pt_tcp_connect / SYN        SYN-ACK / ACK         |      |
 *     ------------------> SYN_SENT --------------->-----+      |
 *                                                              |
 *        ESTABLISHED --app close / FIN--> FIN_WAIT_1           |
 *        FIN_WAIT_1 --ACK of FIN--> FIN_WAIT_2 --FIN / ACK--> TIME_WAIT
 *        FIN_WAIT_1 --FIN / ACK--> CLOSING --ACK of FIN--> TIME_WAIT
 *        ESTABLISHED --FIN / ACK--> CLOSE_WAIT --app close / FIN--> LAST_ACK
 *        LAST_ACK --ACK of FIN--> CLOSED;  TIME_WAIT --2 MSL--> (gone)
 *        any state --exact RST, RTO retries exhausted, app abort--> CLOSED
 *
 * Invariants per state:
 *   SYN_SENT     snd_una = ISS, snd_nxt = snd_max = ISS + 1, rcv_nxt = 0
 *                (no IRS yet); owned by the application (CF_ACCEPTED) but
 *                no callback yet; RTO timer = SYN resend; data and a FIN
 *                may be queued, nothing but the SYN leaves.
 *   SYN_RCVD     snd_una = ISS, snd_nxt = ISS + 1; not yet seen by the
 *                application; counted in half_open; RTO timer = SYN-ACK
 *                resend.
 *   ESTABLISHED  owned by the application (CF_ACCEPTED); data both ways.
 *   FIN_WAIT_1   our FIN sent (snd_nxt is past it), not yet acknowledged.
 *   FIN_WAIT_2   our FIN acknowledged, send queue empty; waiting for FIN.
 *   CLOSING      both FINs sent, ours not yet acknowledged.
 *   CLOSE_WAIT   peer's FIN received (rcv_nxt past it, eof delivered); we may
 *                still send.
 *   LAST_ACK     both FINs sent, ours not yet acknowledged.
 *   TIME_WAIT    only a struct pt_tcp_tw remains (re-ACKs FINs).
 *   CLOSED       out of the table and wheel, CF_DEAD, waiting to be reaped.
 *
 * Transitions (state -> state [function]):
 *   (none) -> SYN_SENT           [pt_tcp_connect, tcp.c]
 *   SYN_SENT -> ESTABLISHED      [syn_sent_input, acceptable SYN-ACK]
 *   SYN_SENT -> CLOSED           [syn_sent_input RST acking our SYN;
 *                                 rto_expired: SYN retries; pt_tcp_abort]
 *   (none) -> SYN_RCVD           [listen_syn, tcp_listen.c]
 *   (none) -> SYN_RCVD -> ESTABLISHED  [listen_ack, tcp_listen.c: cookie]
 *   SYN_RCVD -> ESTABLISHED      [conn_input, ACK of our SYN]
 *   SYN_RCVD -> CLOSED           [conn_input RST; rto_expired in tcp_timer.c]
 *   ESTABLISHED -> FIN_WAIT_1    [fin_sent in tcp_out.c]
 *   ESTABLISHED -> CLOSE_WAIT    [conn_fin]
 *   FIN_WAIT_1 -> FIN_WAIT_2     [conn_input, ACK of FIN]
 *   FIN_WAIT_1 -> CLOSING        [conn_fin]
 *   FIN_WAIT_2 -> TIME_WAIT      [conn_fin -> pt_tcp_enter_time_wait]
 *   CLOSING -> TIME_WAIT         [conn_input, ACK of FIN]
 *   CLOSE_WAIT -> LAST_ACK       [fin_sent in tcp_out.c]
 *   LAST_ACK -> CLOSED           [conn_input, ACK of FIN]
 *   any -> CLOSED                [conn_input exact RST; timed_out;
 *                                 pt_tcp_abort; pt_tcp_free]
 *   TIME_WAIT -> (gone)          [pt_tcp_timer_fire; pt_tcp_tw_input: new SYN]
 *
 * Refused (counted under PT_TCP_DROPS): short or malformed headers, bad
 * checksums, impossible flag combinations, out-of-window segments (ACKed),
 * out-of-order data the queue cannot keep (duplicate ACK), RSTs and SYNs
 * that fail RFC 5961.
 */
#include <errno.h>

#include <rte_ip.h>

#include "cksum.h"
#include "tcp_priv.h"

/* RFC 5961 challenge ACK (rate limited with the other unsolicited replies). */
static void
challenge_ack(struct pt_tcp_conn *c)
{
    if (!pt_tcp_reply_allowed(c->tcp))
        return;
    tcp_count(c->tcp, PT_TCP_C_CHALLENGE_ACKS);
    pt_tcp_send_ack(c);
}

/* Parse the MSS option of a SYN; anything else (SACK, timestamps, window
 * scale) is ignored, which declines it: we never echo those options. */
static uint16_t
parse_mss(const struct rte_tcp_hdr *th, uint32_t doff)
{
    const uint8_t *o = (const uint8_t *)(th + 1);
    uint32_t n = doff - PT_TCP_HDR_LEN;

    for (uint32_t i = 0; i < n;) {
        if (o[i] == 0) /* end of options */
            break;
        if (o[i] == 1) { /* NOP */
            i++;
            continue;
        }
        if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
            break;
        if (o[i] == 2 && o[i + 1] == 4)
            return (uint16_t)((o[i + 2] << 8) | o[i + 3]);
        i += o[i + 1];
    }
    return 0;
}

/* ---- connections ---- */

static inline const struct pt_tcp_listener *
listener_of(const struct pt_tcp_conn *c)
{
    return &c->tcp->listeners[c->listener];
}


/* SYN_RCVD + ACK of our SYN: hand the connection to the application. */
static int
conn_established(struct pt_tcp_conn *c, const struct pt_tcp_seg *s)
{
    struct pt_tcp *tcp = c->tcp;
    const struct pt_tcp_listener *l = listener_of(c);
    void *user = l->arg;

    c->snd_una = s->ack;
    c->retries = 0;
    if ((c->flags & CF_RTT))
        pt_tcp_rtt_sample(c, tcp->now_us - c->rtt_start_us);
    c->flags &= (uint16_t)~CF_RTT;
    pt_tcp_rto_stop(c);
    c->snd_wnd = s->wnd;
    c->max_snd_wnd = s->wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    pt_tcp_set_state(c, PT_TCP_ESTABLISHED);
    if (l->ops->accept != NULL && l->ops->accept(l->arg, c, &user) != 0) {
        pt_tcp_send_rst(c);
        pt_tcp_kill(c, -ECONNREFUSED);
        pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_REFUSED);
        return -1;
    }
    c->user = user;
    c->flags |= CF_ACCEPTED;
    tcp_count(tcp, PT_TCP_C_ACCEPTED);
    return 0;
}

/* snd_una moves forward to ack. */
static void
ack_new(struct pt_tcp_conn *c, uint32_t ack)
{
    struct pt_tcp *tcp = c->tcp;
    uint32_t acked = ack - c->snd_una;
    uint32_t data = RTE_MIN(acked, c->snd_queued);

    if (data > 0)
        pt_tcp_snd_free(c, data);
    c->snd_una = ack;
    if (SEQ_LT(c->snd_nxt, ack))
        c->snd_nxt = ack;
    c->retries = 0;
    if ((c->flags & CF_RTT) && SEQ_GEQ(ack, c->rtt_seq)) {
        pt_tcp_rtt_sample(c, tcp->now_us - c->rtt_start_us);
        c->flags &= (uint16_t)~CF_RTT;
    }

    if (c->flags & CF_RECOVERY) {
        if (SEQ_GEQ(ack, c->recover)) {
            /* full ACK: leave fast recovery (RFC 6582 3.2 step 3) */
            c->cwnd = RTE_MIN(c->ssthresh,
                              RTE_MAX(c->snd_max - c->snd_una, 0u) + c->mss);
            c->flags &= (uint16_t)~CF_RECOVERY;
            c->dupacks = 0;
        } else {
            /* partial ACK: resend the next hole, deflate (step 4) */
            pt_tcp_retransmit_una(c);
            c->cwnd = acked >= c->cwnd ? c->mss : c->cwnd - acked + c->mss;
            pt_tcp_rto_arm(c, c->rto_us);
        }
    } else {
        c->dupacks = 0;
        if (c->cwnd < c->ssthresh)
            c->cwnd += RTE_MIN(acked, (uint32_t)c->mss); /* slow start */
        else
            c->cwnd += RTE_MAX(1u, (uint32_t)c->mss * c->mss / c->cwnd);
        if (c->cwnd > (1u << 30))
            c->cwnd = 1u << 30;
    }

    if (c->snd_una == c->snd_max)
        pt_tcp_rto_stop(c);
    else if (!(c->flags & CF_RECOVERY))
        pt_tcp_rto_arm(c, c->rto_us);

    if (data > 0 && (c->flags & CF_ACCEPTED) && listener_of(c)->ops->sent)
        listener_of(c)->ops->sent(c->user, c, data);
    pt_tcp_pending(c);
}

static void
dup_ack(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;

    tcp_count(tcp, PT_TCP_C_DUP_ACKS);
    if (c->dupacks < UINT8_MAX)
        c->dupacks++;
    if (c->flags & CF_RECOVERY) {
        c->cwnd += c->mss; /* inflate: a segment left the network */
        pt_tcp_pending(c);
        return;
    }
    if (c->dupacks != 3 || !SEQ_GT(c->snd_una, c->recover))
        return;
    /* fast retransmit, enter NewReno recovery (RFC 6582 3.2 step 2) */
    c->ssthresh = RTE_MAX((c->snd_max - c->snd_una) / 2, 2u * c->mss);
    c->recover = c->snd_max;
    c->flags |= CF_RECOVERY;
    tcp_count(tcp, PT_TCP_C_FAST_RETRANS);
    pt_tcp_retransmit_una(c);
    c->cwnd = c->ssthresh + 3u * c->mss;
    pt_tcp_rto_arm(c, c->rto_us);
}

/* Peer's FIN at rcv_nxt. */
static void
conn_fin(struct pt_tcp_conn *c)
{
    c->rcv_nxt++;
    c->flags |= CF_ACK_NOW;
    pt_tcp_pending(c);
    switch (c->node.state) {
    case PT_TCP_ESTABLISHED:
        pt_tcp_set_state(c, PT_TCP_CLOSE_WAIT);
        break;
    case PT_TCP_FIN_WAIT_1:
        pt_tcp_set_state(c, PT_TCP_CLOSING); /* simultaneous close */
        break;
    case PT_TCP_FIN_WAIT_2:
        break;
    default:
        return;
    }
    if (listener_of(c)->ops->eof != NULL)
        listener_of(c)->ops->eof(c->user, c);
    if (c->node.state == PT_TCP_FIN_WAIT_2 && !(c->flags & CF_DEAD)) {
        pt_tcp_send_ack(c);
        pt_tcp_enter_time_wait(c);
    }
}

/*
 * Hand len in-order bytes of frame m (starting skip bytes in) to the
 * application, then whatever the out-of-order queue holds right after
 * them; decide the ACK. Consumes m. @return 0, or -1 when a callback
 * ended the connection.
 */
static inline int
deliver(struct pt_tcp_conn *c, struct rte_mbuf *m, uint32_t skip,
        uint32_t len, bool fin)
{
    struct pt_tcp *tcp = c->tcp;
    const struct pt_tcp_ops *ops = listener_of(c)->ops;
    /* ACK at once: every second segment, a FIN, a filled hole */
    bool ack_now = tcp->delayed_ack_ms == 0 || ++c->segs_unacked >= 2 ||
                   fin || c->ooo != NULL;

    m = pt_tcp_chain_adj(m, skip);
    pt_tcp_chain_trim(m, len);
    m->ol_flags = 0;
    c->rcv_nxt += len;
    c->rcv_held += len;
    tcp_count_n(tcp, PT_TCP_C_RX_BYTES, len);
    ops->data(c->user, c, m);
    if (c->flags & CF_DEAD)
        return -1;
    if (unlikely(c->ooo != NULL)) {
        struct rte_mbuf *q;

        while ((q = pt_tcp_reass_next(c)) != NULL) {
            c->rcv_nxt += q->pkt_len;
            c->rcv_held += q->pkt_len;
            tcp_count_n(tcp, PT_TCP_C_RX_BYTES, q->pkt_len);
            ops->data(c->user, c, q);
            if (c->flags & CF_DEAD)
                return -1;
        }
    }
    if (!ack_now) {
        pt_tcp_dack_arm(c);
    } else if (!fin && !(c->flags & (CF_PENDING | CF_FIN_QUEUED)) &&
               c->snd_una + c->snd_queued == c->snd_nxt) {
        /* nothing else will leave for this connection in this burst: a
         * bare ACK now saves the trip through the pending list */
        pt_tcp_send_ack(c);
    } else {
        /* the application queued data (the ACK rides on it), or a FIN
         * follows: at the end of the burst */
        c->flags |= CF_ACK_NOW;
        pt_tcp_pending(c);
    }
    return 0;
}

/*
 * Header prediction (Van Jacobson, as in BSD's tcp_input): on an
 * established connection with nothing unusual going on, a segment that is
 * either a pure ACK of new data or pure in-order data takes a short path
 * past the general checks below. Anything else returns false untouched.
 */
static inline bool
fast_path(struct pt_tcp_conn *c, struct pt_tcp_seg *s)
{
    uint32_t room;

    if (c->node.state != PT_TCP_ESTABLISHED ||
        (s->flags & (TH_SYN | TH_FIN | TH_RST | TH_URG | TH_ACK)) != TH_ACK ||
        s->seq != c->rcv_nxt || s->wnd != c->snd_wnd || c->ooo != NULL ||
        (c->flags & (CF_RECOVERY | CF_PERSIST)))
        return false;
    if (s->len == 0) {
        if (!SEQ_GT(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max))
            return false;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
        ack_new(c, s->ack);
        rte_pktmbuf_free(s->m);
        return true;
    }
    room = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (s->ack != c->snd_una || s->len > room)
        return false;
    c->snd_wl1 = s->seq;
    deliver(c, s->m, s->off, s->len, false);
    return true;
}

/*
 * A segment for an active open in SYN_SENT (RFC 9293 3.10.7.3). The only
 * acceptable ACK is ISS + 1 (snd_una < ACK <= snd_nxt). Consumes s->m.
 */
static void
syn_sent_input(struct pt_tcp_conn *c, struct pt_tcp_seg *s)
{
    struct pt_tcp *tcp = c->tcp;
    const uint8_t f = s->flags;
    bool ack_ok = (f & TH_ACK) && s->ack == c->snd_nxt;
    const struct pt_tcp_ops *ops;

    if ((f & TH_ACK) && !ack_ok) {
        /* an old connection's segment: <SEQ=SEG.ACK><CTL=RST> */
        if (!(f & TH_RST) && pt_tcp_reply_allowed(tcp))
            pt_tcp_reply(tcp, &c->peer_mac, &c->node, s->ack, 0, TH_RST, 0,
                         0);
        pt_tcp_seg_drop(tcp, s->m, (f & TH_RST) ? PT_TCP_DROP_RST_SEQ
                                                : PT_TCP_DROP_SYNACK_ACK);
        return;
    }
    if (f & TH_RST) {
        if (!ack_ok) { /* RFC 5961 3.2: only an ACK of our SYN counts */
            pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_RST_SEQ);
            return;
        }
        tcp_count(tcp, PT_TCP_C_RST_RCVD);
        tcp_count(tcp, PT_TCP_C_REFUSED);
        pt_tcp_kill(c, -ECONNREFUSED);
        rte_pktmbuf_free(s->m);
        return;
    }
    if (!(f & TH_SYN)) {
        pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_SYN_SENT);
        return;
    }
    if (!ack_ok) {
        /* a SYN alone: the peer opens towards us at the same time */
        pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_SIMOPEN);
        return;
    }

    /* SYN-ACK of our SYN: established. Data (or a FIN) on it is not
     * taken: our ACK of IRS + 1 makes the peer send it again. */
    c->mss = RTE_MIN(tcp->mss, s->mss ? s->mss : 536);
    c->cwnd = RTE_MIN(10u * c->mss, RTE_MAX(2u * c->mss, 14600u));
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt + tcp->rcv_buf; /* what our SYN offered */
    c->snd_una = s->ack;
    c->snd_wnd = s->wnd; /* a SYN's window is never scaled */
    c->max_snd_wnd = s->wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    c->retries = 0;
    if (c->flags & CF_RTT)
        pt_tcp_rtt_sample(c, tcp->now_us - c->rtt_start_us);
    c->flags &= (uint16_t)~CF_RTT;
    pt_tcp_rto_stop(c);
    pt_tcp_set_state(c, PT_TCP_ESTABLISHED);
    tcp_count(tcp, PT_TCP_C_CONNECTED);
    rte_pktmbuf_free(s->m);
    pt_tcp_send_ack(c); /* now, not delayed: it completes the handshake */
    ops = listener_of(c)->ops;
    if (ops->connected != NULL)
        ops->connected(c->user, c);
    /* data or a FIN the application queued before (or just now) */
    if (!(c->flags & CF_DEAD) &&
        (c->snd_queued > 0 || (c->flags & CF_FIN_QUEUED)))
        pt_tcp_pending(c);
}

/* Is the segment inside the window we advertised (RFC 793 table)? */
static bool
seq_acceptable(const struct pt_tcp_conn *c, const struct pt_tcp_seg *s,
               uint32_t seglen, uint32_t wnd)
{
    uint32_t rn = c->rcv_nxt;

    /*
     * A bare segment exactly at the right edge is taken too (as Linux
     * does): a peer that filled our window sends its ACKs from there, and
     * refusing them would leave both sides waiting for each other.
     */
    if (seglen == 0)
        return wnd == 0 ? s->seq == rn
                        : SEQ_GEQ(s->seq, rn) && SEQ_LEQ(s->seq, rn + wnd);
    if (wnd == 0)
        return false;
    return (SEQ_GEQ(s->seq, rn) && SEQ_LT(s->seq, rn + wnd)) ||
           (SEQ_GEQ(s->seq + seglen - 1, rn) &&
            SEQ_LT(s->seq + seglen - 1, rn + wnd));
}

void
pt_tcp_conn_input(struct pt_tcp_conn *c, struct pt_tcp_seg *s)
{
    struct pt_tcp *tcp = c->tcp;
    const uint8_t f = s->flags;
    uint32_t seglen = s->len + !!(f & TH_SYN) + !!(f & TH_FIN);
    uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt
                                                  : 0;
    bool fin = (f & TH_FIN) != 0;
    struct rte_mbuf *m = s->m;

    if (unlikely(c->node.state == PT_TCP_SYN_SENT)) {
        syn_sent_input(c, s);
        return;
    }

    /* 1. sequence number */
    if (!seq_acceptable(c, s, seglen, wnd)) {
        if (f & TH_RST) {
            pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_RST_SEQ);
            return;
        }
        if (wnd == 0 && s->seq == c->rcv_nxt && !(f & TH_SYN)) {
            /* probe of our zero window: take the ACK, not the data */
            s->len = 0;
            fin = false;
            c->flags |= CF_ACK_NOW;
            pt_tcp_pending(c);
        } else {
            if (pt_tcp_reply_allowed(tcp))
                pt_tcp_send_ack(c);
            pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_SEQ);
            return;
        }
    }

    /* 2. RST (RFC 5961 3.2) */
    if (f & TH_RST) {
        if (s->seq != c->rcv_nxt) {
            challenge_ack(c);
            pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_RST_CHALLENGE);
            return;
        }
        tcp_count(tcp, PT_TCP_C_RST_RCVD);
        if (c->flags & CF_ACCEPTED)
            tcp_count(tcp, PT_TCP_C_RESET);
        pt_tcp_kill(c, -ECONNRESET);
        rte_pktmbuf_free(m);
        return;
    }

    /* 3. SYN (RFC 5961 4.2) */
    if (f & TH_SYN) {
        if (c->node.state == PT_TCP_SYN_RCVD && s->seq + 1 == c->rcv_nxt &&
            !(f & TH_ACK)) {
            /* the peer did not get our SYN-ACK: send it again */
            pt_tcp_send_synack(c);
            rte_pktmbuf_free(m);
            return;
        }
        challenge_ack(c);
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_SYN_CHALLENGE);
        return;
    }

    /* 4. ACK */
    if (!(f & TH_ACK)) {
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_NO_ACK);
        return;
    }
    if (c->node.state == PT_TCP_SYN_RCVD) {
        if (s->ack != c->snd_nxt) {
            if (pt_tcp_reply_allowed(tcp))
                pt_tcp_reply(tcp, &c->peer_mac, &c->node, s->ack, 0, TH_RST,
                             0, 0);
            pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_SYNACK_ACK);
            return;
        }
        if (conn_established(c, s) != 0)
            return;
    } else {
        if (SEQ_GT(s->ack, c->snd_max)) {
            if (pt_tcp_reply_allowed(tcp))
                pt_tcp_send_ack(c);
            pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_ACK_NEW);
            return;
        }
        if (SEQ_LT(s->ack, c->snd_una - c->max_snd_wnd)) {
            challenge_ack(c);
            pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_ACK_OLD);
            return;
        }
        if (SEQ_GT(s->ack, c->snd_una)) {
            ack_new(c, s->ack);
        } else if (s->ack == c->snd_una && s->len == 0 && !fin &&
                   s->wnd == c->snd_wnd && c->snd_una != c->snd_max) {
            dup_ack(c);
        }
        /* window update (RFC 793 p. 72) */
        if (SEQ_LT(c->snd_wl1, s->seq) ||
            (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))) {
            if (s->wnd > c->snd_wnd)
                pt_tcp_pending(c); /* more may go now */
            c->snd_wnd = s->wnd;
            c->snd_wl1 = s->seq;
            c->snd_wl2 = s->ack;
            if (s->wnd > c->max_snd_wnd)
                c->max_snd_wnd = s->wnd;
            if (s->wnd > 0 && (c->flags & CF_PERSIST))
                pt_tcp_rto_stop(c);
        }
        if (c->flags & CF_PERSIST)
            c->retries = 0; /* the peer answers probes: keep probing */
        if (c->flags & CF_DEAD) { /* a callback aborted it */
            rte_pktmbuf_free(m);
            return;
        }
        switch (c->node.state) {
        case PT_TCP_FIN_WAIT_1:
            if (pt_tcp_fin_acked(c))
                pt_tcp_set_state(c, PT_TCP_FIN_WAIT_2);
            break;
        case PT_TCP_CLOSING:
            if (pt_tcp_fin_acked(c)) {
                pt_tcp_enter_time_wait(c);
                rte_pktmbuf_free(m);
                return;
            }
            break;
        case PT_TCP_LAST_ACK:
            if (pt_tcp_fin_acked(c)) {
                tcp_count(tcp, PT_TCP_C_CLOSED);
                pt_tcp_kill(c, 0);
                rte_pktmbuf_free(m);
                return;
            }
            break;
        default:
            break;
        }
    }

    /* 5. data */
    if (s->len > 0) {
        uint8_t st = c->node.state;
        uint32_t front, room, len;

        if (st != PT_TCP_ESTABLISHED && st != PT_TCP_FIN_WAIT_1 &&
            st != PT_TCP_FIN_WAIT_2) {
            pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_AFTER_FIN);
            return;
        }
        if (SEQ_GT(s->seq, c->rcv_nxt)) {
            /*
             * Past a hole: keep it for later (tcp_reass.c), and send a
             * duplicate ACK at once, not coalesced with the burst's other
             * ACKs: the peer's fast retransmit counts them (RFC 5681 4.2).
             * A FIN here is not taken; the peer sends it again.
             */
            room = SEQ_GT(c->rcv_adv, s->seq) ? c->rcv_adv - s->seq : 0;
            len = RTE_MIN(s->len, room);
            pt_tcp_send_ack(c);
            if (len == 0) {
                pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_OOO);
                return;
            }
            m = pt_tcp_chain_adj(m, s->off);
            pt_tcp_chain_trim(m, len);
            m->ol_flags = 0;
            if (pt_tcp_reass_insert(c, m, s->seq) != 0)
                tcp->stats.drops[PT_TCP_DROP_OOO]++; /* freed there */
            return;
        }
        front = c->rcv_nxt - s->seq;
        len = s->len - front;
        room = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
        if (len > room) {
            len = room;
            fin = false; /* the FIN lies beyond what we take */
        }
        if (len == 0) {
            /* all of it came before (a retransmission whose FIN is the
             * only news): the application never sees an empty mbuf */
            rte_pktmbuf_free(m);
            m = NULL;
        } else if (deliver(c, m, s->off + front, len, fin) != 0) {
            return;
        } else {
            m = NULL;
            if (c->ooo != NULL)
                fin = false; /* a FIN cannot lie before queued data */
        }
    } else if (seglen == 0 && (c->flags & CF_ACK_NOW)) {
        pt_tcp_pending(c);
    }

    /* 6. FIN: only where it lies right after all the data (a FIN past a
     * hole, or behind data we could not take, comes again) */
    if (fin && s->seq + s->len == c->rcv_nxt &&
        c->node.state != PT_TCP_CLOSE_WAIT &&
        c->node.state != PT_TCP_CLOSING && c->node.state != PT_TCP_LAST_ACK)
        conn_fin(c);
    else if (fin && SEQ_GT(s->seq + s->len, c->rcv_nxt))
        pt_tcp_send_ack(c); /* out of order: a duplicate ACK */
    if (m != NULL)
        rte_pktmbuf_free(m);
}

/* ---- entry ---- */

/* Flag combinations no TCP sends (SYN+FIN, SYN+RST, none of SYN, ACK,
 * RST, FIN), indexed by the six classic flag bits. */
#define BAD(f) ((((f) & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN)) ||          \
                (((f) & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST)) ||          \
                (((f) & (TH_SYN | TH_RST | TH_ACK | TH_FIN)) == 0))
#define BAD4(f) BAD(f), BAD((f) + 1), BAD((f) + 2), BAD((f) + 3)
#define BAD16(f) BAD4(f), BAD4((f) + 4), BAD4((f) + 8), BAD4((f) + 12)
static const bool bad_flags[64] = {
    BAD16(0), BAD16(16), BAD16(32), BAD16(48),
};
#undef BAD16
#undef BAD4
#undef BAD


static inline int
csum_ok(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
        uint32_t l4_off, uint16_t l4_len)
{
    uint16_t raw;

    switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
    case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
        return 1;
    case RTE_MBUF_F_RX_L4_CKSUM_BAD:
        return 0;
    default:
        break;
    }
    if (likely(m->nb_segs == 1))
        return pt_cksum_fold(pt_cksum_add(ip + 1, l4_len,
                                          pt_cksum_pseudo(ip, IPPROTO_TCP,
                                                          l4_len))) == 0xffff;
    if (rte_raw_cksum_mbuf(m, l4_off, l4_len, &raw) != 0)
        return 0;
    return pt_cksum_fold((uint64_t)raw + rte_ipv4_phdr_cksum(ip, 0)) ==
           0xffff;
}

void
pt_tcp_input(struct pt_tcp *tcp, struct rte_mbuf *m,
             const struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
    const uint32_t l4_off = (uint32_t)sizeof(struct rte_ether_hdr) +
                            sizeof(struct rte_ipv4_hdr);
    struct pt_tcp_seg s;
    struct pt_tcp_node *n;
    uint32_t doff;
    uint8_t f;

    tcp_count(tcp, PT_TCP_C_RX_SEGS);
    if (unlikely(l4_len < PT_TCP_HDR_LEN ||
                 rte_pktmbuf_data_len(m) < l4_off + PT_TCP_HDR_LEN)) {
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_SHORT);
        return;
    }
    s.th = (const struct rte_tcp_hdr *)(ip + 1);
    doff = (uint32_t)(s.th->data_off >> 4) * 4;
    if (unlikely(doff < PT_TCP_HDR_LEN || doff > l4_len)) {
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_DOFF);
        return;
    }
    if (unlikely(rte_pktmbuf_data_len(m) < l4_off + doff)) {
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_SHORT); /* options split off */
        return;
    }
    if (unlikely(!csum_ok(m, ip, l4_off, l4_len))) {
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_CSUM);
        return;
    }
    f = s.th->tcp_flags & (TH_FIN | TH_SYN | TH_RST | TH_PSH | TH_ACK |
                           TH_URG);
    if (unlikely(bad_flags[f])) {
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_FLAGS);
        return;
    }
    if (unlikely(s.th->src_port == 0 || s.th->dst_port == 0)) {
        pt_tcp_seg_drop(tcp, m, PT_TCP_DROP_PORT);
        return;
    }
    s.m = m;
    s.eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    s.ip = ip;
    s.flags = f;
    s.seq = rte_be_to_cpu_32(s.th->sent_seq);
    s.ack = rte_be_to_cpu_32(s.th->recv_ack);
    s.wnd = rte_be_to_cpu_16(s.th->rx_win);
    s.off = l4_off + doff;
    s.len = l4_len - doff;
    s.mss = (f & TH_SYN) && doff > PT_TCP_HDR_LEN ? parse_mss(s.th, doff) : 0;

    n = pt_tcp_lookup(tcp, ip->src_addr, ip->dst_addr, s.th->src_port,
                      s.th->dst_port);
    if (n == NULL)
        pt_tcp_no_conn(tcp, &s);
    else if (n->state == PT_TCP_TIME_WAIT)
        pt_tcp_tw_input(tcp, (struct pt_tcp_tw *)n, &s);
    else if (!fast_path(conn_of_node(n), &s))
        pt_tcp_conn_input(conn_of_node(n), &s);
}
