/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Initial sequence numbers and SYN cookies for TCP-lite.
 *
 * ISN (RFC 6528): ISN = M + F(localip, localport, remoteip, remoteport,
 * secret), localip being the connection's own address (a net may have
 * several), M a 4-microsecond clock, F SipHash-2-4 keyed with a per-process
 * secret. Off-path attackers cannot predict our ISNs; the same 4-tuple
 * reused quickly still gets increasing ISNs.
 *
 * SYN cookie (used when the SYN backlog is full), the ISN of our SYN-ACK:
 *
 *     bits 31..27  t mod 32, t = seconds / 64 when the cookie was made
 *     bits 26..24  index of the MSS in cookie_mss[] (largest <= peer's)
 *     bits 23..0   SipHash(cookie key; 4-tuple, t, peer ISN) & 0xffffff
 *
 * It is valid for the period it was made in and the next (64-128 s). The
 * ACK that completes the handshake carries cookie + 1 and peer ISN + 1, so
 * the connection is rebuilt from that ACK alone; no state is kept for the
 * SYN. What a cookie cannot carry is what TCP-lite does not do anyway
 * (window scale, SACK, timestamps), so cookie connections lose nothing but
 * MSS precision.
 *
 * Not here: the decision to use cookies (tcp_in.c).
 */
#include <string.h>

#include <petrel/siphash.h>

#include "tcp_priv.h"

/* The 4-tuple folded into one word; our address is the connection's own
 * (a net may have several). */
static inline uint64_t
tuple_word(const struct pt_tcp_node *t)
{
    return ((uint64_t)t->raddr << 32) ^ ((uint64_t)t->rport << 16) ^
           t->lport ^ ((uint64_t)t->laddr << 7);
}

uint32_t
pt_tcp_isn(const struct pt_tcp *tcp, const struct pt_tcp_node *t)
{
    uint64_t f = pt_siphash_2w(tcp->isn_key, tuple_word(t), t->laddr);

    return (uint32_t)f + (uint32_t)(tcp->now_ns / 4000);
}

/* MSS values a cookie can carry (RFC 879 minimum up to Ethernet's). */
static const uint16_t cookie_mss[8] = { 536, 1024, 1200, 1300,
                                        1360, 1400, 1440, 1460 };

static uint32_t
cookie_hash(const struct pt_tcp *tcp, const struct pt_tcp_node *tu,
            uint32_t peer_isn, uint32_t t)
{
    uint64_t h = pt_siphash_2w(tcp->cookie_key,
                               tuple_word(tu),
                               ((uint64_t)t << 32) | peer_isn);

    return (uint32_t)h & 0xffffffu;
}

static inline uint32_t
cookie_period(const struct pt_tcp *tcp)
{
    return (uint32_t)(tcp->now_ns / (PT_TCP_MSL_COOKIE_S * 1000000000ull));
}

uint32_t
pt_tcp_cookie_make(const struct pt_tcp *tcp, const struct pt_tcp_node *tu,
                   uint32_t peer_isn, uint16_t *mss)
{
    uint32_t t = cookie_period(tcp);
    uint32_t idx = 0;

    for (uint32_t i = 0; i < 8; i++)
        if (cookie_mss[i] <= *mss)
            idx = i;
    *mss = cookie_mss[idx];
    return ((t & 0x1f) << 27) | (idx << 24) |
           cookie_hash(tcp, tu, peer_isn, t);
}

int
pt_tcp_cookie_check(const struct pt_tcp *tcp, const struct pt_tcp_node *tu,
                    uint32_t peer_isn, uint32_t cookie, uint16_t *mss)
{
    uint32_t now = cookie_period(tcp);

    for (uint32_t age = 0; age < 2; age++) {
        uint32_t t = now - age;

        if ((t & 0x1f) != cookie >> 27)
            continue;
        if (cookie_hash(tcp, tu, peer_isn, t) !=
            (cookie & 0xffffffu))
            return -1;
        *mss = cookie_mss[(cookie >> 24) & 7];
        return 0;
    }
    return -1;
}
