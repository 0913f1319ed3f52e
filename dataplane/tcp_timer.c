/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite timers: one wheel slot per connection (and per TIME_WAIT
 * entry), armed at the earliest of the connection's deadlines:
 *
 *   rto_at   (CF_RTO)          retransmission timeout (RFC 6298) in
 *                              synchronized states; SYN-ACK resend in
 *                              SYN_RCVD; SYN resend in SYN_SENT; with CF_PERSIST, the zero-window
 *                              probe timer
 *   dack_at  (CF_ACK_DELAYED)  delayed ACK
 *
 * TIME_WAIT entries use their slot for the 2 MSL expiry.
 *
 * RTO (RFC 6298): first RTO tcp.rto_initial_ms; after a sample R:
 * SRTT = R, RTTVAR = R/2, then RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|,
 * SRTT = 7/8 SRTT + 1/8 R; RTO = SRTT + max(1 ms, 4 RTTVAR) clamped to
 * [rto_min, rto_max]. Karn: segments that were retransmitted are never
 * timed (tcp_out.c clears CF_RTT); every expiry doubles RTO (capped).
 * On expiry: ssthresh = max(FlightSize / 2, 2 MSS), cwnd = 1 MSS, go back
 * to snd_una; after tcp.max_retries expiries in a row the connection is
 * reset and closed with -ETIMEDOUT. Any ACK that moves snd_una resets the
 * count.
 *
 * Handshake resends (SYN in SYN_SENT, SYN-ACK in SYN_RCVD) back off the
 * same way from tcp.rto_initial_ms; after syn_retries (synack_retries)
 * resends an active open ends with -ETIMEDOUT (conns_timed_out, no RST:
 * the peer never answered), a passive one silently (half_open_dropped).
 */
#include <errno.h>

#include "tcp_priv.h"

_Static_assert(offsetof(struct pt_tcp_conn, timer) ==
               offsetof(struct pt_tcp_tw, timer),
               "timer must sit at the same offset in both table objects");

static inline uint32_t
ms_of_us(uint32_t us)
{
    uint32_t ms = (us + 999) / 1000;

    return ms == 0 ? 1 : ms;
}

void
pt_tcp_timer_update(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;
    uint32_t now = (uint32_t)tcp->now_tick;
    int32_t best = INT32_MAX;
    bool any = false;

    if (c->flags & CF_DEAD)
        return;
    if (c->flags & CF_RTO) {
        best = (int32_t)(c->rto_at - now);
        any = true;
    }
    if ((c->flags & CF_ACK_DELAYED) && (!any ||
                                        (int32_t)(c->dack_at - now) < best)) {
        best = (int32_t)(c->dack_at - now);
        any = true;
    }
    if (!any) {
        pt_timer_cancel(tcp->wheel, &c->timer);
        return;
    }
    if (best < 0)
        best = 0;
    if (pt_timer_armed(&c->timer) &&
        c->timer.expire == tcp->now_tick + (uint64_t)best)
        return;
    pt_timer_arm(tcp->wheel, &c->timer, tcp->now_tick + (uint64_t)best);
}

void
pt_tcp_rto_arm(struct pt_tcp_conn *c, uint32_t us)
{
    c->rto_at = (uint32_t)c->tcp->now_tick + ms_of_us(us);
    c->flags |= CF_RTO;
    pt_tcp_timer_update(c);
}

void
pt_tcp_rto_stop(struct pt_tcp_conn *c)
{
    c->flags &= (uint16_t)~(CF_RTO | CF_PERSIST);
    pt_tcp_timer_update(c);
}

void
pt_tcp_dack_arm(struct pt_tcp_conn *c)
{
    if (c->flags & CF_ACK_DELAYED)
        return;
    c->flags |= CF_ACK_DELAYED;
    c->dack_at = (uint32_t)c->tcp->now_tick + c->tcp->delayed_ack_ms;
    pt_tcp_timer_update(c);
}

static inline uint32_t
rto_clamp(const struct pt_tcp *tcp, uint64_t us)
{
    if (us < tcp->rto_min_us)
        return tcp->rto_min_us;
    if (us > tcp->rto_max_us)
        return tcp->rto_max_us;
    return (uint32_t)us;
}

void
pt_tcp_rtt_sample(struct pt_tcp_conn *c, uint32_t r)
{
    if (r == 0)
        r = 1;
    if (c->srtt_us == 0) {
        c->srtt_us = r;
        c->rttvar_us = r / 2;
    } else {
        uint32_t diff = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;

        c->rttvar_us = (3 * c->rttvar_us + diff) / 4;
        c->srtt_us = (7 * c->srtt_us + r) / 8;
        if (c->srtt_us == 0)
            c->srtt_us = 1;
    }
    c->rto_us = rto_clamp(c->tcp,
                          (uint64_t)c->srtt_us +
                              RTE_MAX(1000u, 4 * c->rttvar_us));
}

static void
backoff(struct pt_tcp_conn *c)
{
    c->rto_us = rto_clamp(c->tcp, (uint64_t)c->rto_us * 2);
}

static void
timed_out(struct pt_tcp_conn *c)
{
    pt_tcp_send_rst(c);
    tcp_count(c->tcp, PT_TCP_C_TIMED_OUT);
    pt_tcp_kill(c, -ETIMEDOUT);
}

static void
rto_expired(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;
    uint32_t flight;

    if (c->node.state == PT_TCP_SYN_SENT) {
        if (c->retries >= tcp->syn_retries) {
            tcp_count(tcp, PT_TCP_C_TIMED_OUT);
            pt_tcp_kill(c, -ETIMEDOUT);
            return;
        }
        c->retries++;
        c->flags &= (uint16_t)~CF_RTT; /* Karn */
        tcp_count(tcp, PT_TCP_C_RETRANS);
        backoff(c);
        pt_tcp_send_syn(c);
        pt_tcp_rto_arm(c, c->rto_us);
        return;
    }
    if (c->node.state == PT_TCP_SYN_RCVD) {
        if (c->retries >= tcp->synack_retries) {
            tcp_count(tcp, PT_TCP_C_HALF_OPEN_DROPPED);
            pt_tcp_kill(c, -ETIMEDOUT);
            return;
        }
        c->retries++;
        c->flags &= (uint16_t)~CF_RTT;
        tcp_count(tcp, PT_TCP_C_SYNACK_RETRANS);
        backoff(c);
        pt_tcp_send_synack(c);
        pt_tcp_rto_arm(c, c->rto_us);
        return;
    }
    if (c->flags & CF_PERSIST) {
        /* probes go on while the peer answers (any ACK resets retries) */
        if (c->retries >= tcp->max_retries) {
            timed_out(c);
            return;
        }
        c->retries++;
        pt_tcp_send_probe(c);
        backoff(c);
        c->flags |= CF_PERSIST;
        pt_tcp_rto_arm(c, c->rto_us);
        return;
    }
    if (c->snd_una == c->snd_max)
        return; /* nothing outstanding */
    if (c->retries >= tcp->max_retries) {
        timed_out(c);
        return;
    }
    c->retries++;
    tcp_count(tcp, PT_TCP_C_RTO);
    flight = c->snd_max - c->snd_una;
    c->ssthresh = RTE_MAX(flight / 2, 2u * c->mss);
    c->cwnd = c->mss;
    c->flags &= (uint16_t)~(CF_RECOVERY | CF_RTT);
    c->dupacks = 0;
    c->recover = c->snd_max;
    c->snd_nxt = c->snd_una; /* go back N */
    backoff(c);
    pt_tcp_output(c);
    if (!(c->flags & (CF_RTO | CF_DEAD)))
        pt_tcp_rto_arm(c, c->rto_us);
}

void
pt_tcp_timer_fire(struct pt_timer *t, void *arg)
{
    struct pt_tcp *tcp = arg;
    struct pt_tcp_node *n = (struct pt_tcp_node *)(void *)
        ((char *)t - offsetof(struct pt_tcp_conn, timer));
    struct pt_tcp_conn *c;
    uint32_t now = (uint32_t)tcp->now_tick;

    if (n->state == PT_TCP_TIME_WAIT) {
        pt_tcp_tw_free(tcp, (struct pt_tcp_tw *)n);
        return;
    }
    c = conn_of_node(n);
    if ((c->flags & CF_ACK_DELAYED) && (int32_t)(c->dack_at - now) <= 0) {
        tcp_count(tcp, PT_TCP_C_DELAYED_ACKS);
        pt_tcp_send_ack(c);
    }
    if ((c->flags & CF_RTO) && (int32_t)(c->rto_at - now) <= 0) {
        c->flags &= (uint16_t)~CF_RTO;
        rto_expired(c);
    }
    pt_tcp_timer_update(c);
}
