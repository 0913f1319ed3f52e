/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite: segments that find no connection. A SYN to a listener opens a
 * connection in SYN_RCVD, or, once the core's SYN backlog is full, gets a
 * stateless SYN cookie answer (tcp_isn.c); an ACK to a listener may carry
 * a valid cookie and become a connection; anything else for a closed port
 * is answered with a RST (RFC 793 "reset generation", rate limited).
 * Segments for a TIME_WAIT entry are answered from its compact state.
 *
 * The connection state machine itself is in tcp_in.c.
 */
#include <errno.h>

#include "tcp_priv.h"

/* RST for a segment that belongs to nothing (RFC 793, "reset generation"),
 * from the address the segment was sent to. */
static void
reset_for(struct pt_tcp *tcp, const struct pt_tcp_seg *s)
{
    struct pt_tcp_node t;

    if (s->flags & TH_RST)
        return;
    if (!pt_tcp_reply_allowed(tcp))
        return;
    t = pt_tcp_seg_tuple(s);
    if (s->flags & TH_ACK)
        pt_tcp_reply(tcp, &s->eth->src_addr, &t, s->ack, 0, TH_RST, 0, 0);
    else
        pt_tcp_reply(tcp, &s->eth->src_addr, &t, 0,
                     s->seq + s->len + !!(s->flags & TH_SYN) +
                         !!(s->flags & TH_FIN),
                     TH_RST | TH_ACK, 0, 0);
}

/* ---- listeners: SYN and cookie ACK ---- */

static void
conn_setup_peer(struct pt_tcp_conn *c, const struct pt_tcp_seg *s,
                uint32_t irs, uint32_t iss)
{
    c->rcv_nxt = irs + 1;
    c->snd_una = iss;
    c->snd_nxt = iss + 1;
    c->snd_max = iss + 1;
    c->recover = iss;
    c->snd_wnd = s->wnd;
    c->max_snd_wnd = s->wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
}

static void
cookie_synack(struct pt_tcp *tcp, const struct pt_tcp_seg *s)
{
    uint16_t mss = s->mss ? s->mss : 536;
    struct pt_tcp_node t = pt_tcp_seg_tuple(s);
    uint32_t cookie = pt_tcp_cookie_make(tcp, &t, s->seq, &mss);

    if (pt_tcp_reply(tcp, &s->eth->src_addr, &t, cookie, s->seq + 1,
                     TH_SYN | TH_ACK, (uint16_t)tcp->rcv_buf, tcp->mss) == 0)
        tcp_count(tcp, PT_TCP_C_COOKIES_SENT);
}

static void
listen_syn(struct pt_tcp *tcp, const struct pt_tcp_seg *s, uint8_t lidx)
{
    struct pt_tcp_node t = pt_tcp_seg_tuple(s);
    struct pt_tcp_conn *c;

    if (tcp->half_open >= tcp->syn_backlog) {
        if (!tcp->syncookies) {
            pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_BACKLOG);
            return;
        }
        cookie_synack(tcp, s);
        rte_pktmbuf_free(s->m);
        return;
    }
    c = pt_tcp_conn_alloc(tcp, &t, &s->eth->src_addr, lidx,
                          s->mss ? s->mss : 536);
    if (c == NULL) {
        if (tcp->syncookies)
            cookie_synack(tcp, s); /* the ACK may find room later */
        pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_POOL);
        return;
    }
    /* data on a SYN is not kept: the peer sends it again */
    conn_setup_peer(c, s, s->seq, pt_tcp_isn(tcp, &t));
    pt_tcp_set_state(c, PT_TCP_SYN_RCVD);
    if (pt_tcp_send_synack(c) == 0) {
        c->flags |= CF_RTT;
        c->rtt_start_us = tcp->now_us;
    }
    pt_tcp_rto_arm(c, c->rto_us);
    rte_pktmbuf_free(s->m);
}

/* An ACK for no connection, to a listener: a SYN cookie completing? */
static void
listen_ack(struct pt_tcp *tcp, struct pt_tcp_seg *s, uint8_t lidx)
{
    struct pt_tcp_node t = pt_tcp_seg_tuple(s);
    struct pt_tcp_conn *c;
    uint16_t mss;

    if (!tcp->syncookies ||
        pt_tcp_cookie_check(tcp, &t, s->seq - 1, s->ack - 1, &mss) != 0) {
        reset_for(tcp, s);
        pt_tcp_seg_drop(tcp, s->m, tcp->syncookies ? PT_TCP_DROP_COOKIE
                                            : PT_TCP_DROP_NO_CONN);
        return;
    }
    c = pt_tcp_conn_alloc(tcp, &t, &s->eth->src_addr, lidx, mss);
    if (c == NULL) {
        reset_for(tcp, s);
        pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_POOL);
        return;
    }
    tcp_count(tcp, PT_TCP_C_COOKIES_OK);
    conn_setup_peer(c, s, s->seq - 1, s->ack - 1);
    c->rcv_adv = c->rcv_nxt + tcp->rcv_buf; /* what the SYN-ACK offered */
    pt_tcp_set_state(c, PT_TCP_SYN_RCVD);
    pt_tcp_conn_input(c, s); /* completes the handshake like any ACK of our SYN */
}

void
pt_tcp_no_conn(struct pt_tcp *tcp, struct pt_tcp_seg *s)
{
    const uint8_t f = s->flags;
    struct pt_tcp_listener *l;

    if (f & TH_RST) {
        pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_NO_CONN);
        return;
    }
    l = pt_tcp_listener_find(tcp, s->th->dst_port);
    if (l == NULL) {
        reset_for(tcp, s);
        pt_tcp_seg_drop(tcp, s->m, (f & TH_SYN) && !(f & TH_ACK)
                                ? PT_TCP_DROP_NO_LISTENER
                                : PT_TCP_DROP_NO_CONN);
        return;
    }
    if ((f & (TH_SYN | TH_ACK)) == TH_SYN) {
        listen_syn(tcp, s, (uint8_t)(l - tcp->listeners));
        return;
    }
    if ((f & (TH_SYN | TH_ACK)) == TH_ACK) {
        listen_ack(tcp, s, (uint8_t)(l - tcp->listeners));
        return;
    }
    reset_for(tcp, s); /* SYN-ACK to a listener, or no ACK and no SYN */
    pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_NO_CONN);
}

/* ---- TIME_WAIT ---- */

void
pt_tcp_tw_input(struct pt_tcp *tcp, struct pt_tcp_tw *tw, struct pt_tcp_seg *s)
{
    /* RFC 1337: RSTs do not cut TIME_WAIT short */
    if (s->flags & TH_RST) {
        pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_TIME_WAIT);
        return;
    }
    /* RFC 1122 4.2.2.13: a new SYN above the old sequence space reopens */
    if ((s->flags & (TH_SYN | TH_ACK)) == TH_SYN &&
        SEQ_GT(s->seq, tw->rcv_nxt)) {
        pt_tcp_tw_free(tcp, tw);
        pt_tcp_no_conn(tcp, s);
        return;
    }
    if ((s->flags & TH_FIN) || s->len > 0 || (s->flags & TH_SYN)) {
        /* a retransmitted FIN (our ACK was lost), or junk: ACK again */
        if (s->flags & TH_FIN)
            pt_timer_arm(tcp->wheel, &tw->timer,
                         tcp->now_tick + tcp->time_wait_ms);
        if (pt_tcp_reply_allowed(tcp))
            pt_tcp_reply(tcp, &tw->peer_mac, &tw->node, tw->snd_nxt,
                         tw->rcv_nxt, TH_ACK, 0, 0);
    }
    pt_tcp_seg_drop(tcp, s->m, PT_TCP_DROP_TIME_WAIT);
}
