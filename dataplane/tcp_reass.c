/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite out-of-order queue: segments that arrive past rcv_nxt, inside
 * the window we advertised, wait here (payload-only mbufs, sorted by
 * sequence, never overlapping) until the hole before them is filled.
 *
 * Why it exists although the first design dropped such segments: a Linux
 * sender without SACK and timestamps (TCP-lite negotiates both away) that
 * loses a retransmission can only recover by timeout, and with every
 * later segment dropped none of its ACKs carries an RTT sample (Karn), so
 * its backed-off RTO never comes down again: at 1% loss a 100 MB transfer
 * crawled at kilobytes per second (tests/integration/test_tcp_bulk.py).
 * With the queue, a filled hole acknowledges everything behind it, as a
 * kernel receiver does.
 *
 * Bounds: per connection at most tcp.ooo_segments entries (0 disables the
 * queue: out-of-order data is dropped, counted, and answered with a
 * duplicate ACK); per core at most a quarter of the core's mbufs, so
 * peers that open holes cannot starve the receive ring. Only data inside
 * the advertised window is kept, so the bytes held never exceed
 * tcp.rcv_buf. An idle connection holds nothing.
 *
 * The entry's link and sequence number live in an mbuf dynamic field
 * registered at stack creation.
 */
#include <errno.h>

#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

#include "tcp_priv.h"

struct ooo_field {
    struct rte_mbuf *next;   /* next entry (higher sequence) */
    uint32_t seq;            /* sequence number of the first byte */
};

static int ooo_offset = -1;

int
pt_tcp_reass_init(void)
{
    static const struct rte_mbuf_dynfield desc = {
        .name = "petrel_tcp_ooo",
        .size = sizeof(struct ooo_field),
        .align = __alignof__(struct ooo_field),
    };

    if (ooo_offset >= 0)
        return 0;
    ooo_offset = rte_mbuf_dynfield_register(&desc);
    return ooo_offset < 0 ? -rte_errno : 0;
}

static inline struct ooo_field *
ofield(struct rte_mbuf *m)
{
    return RTE_MBUF_DYNFIELD(m, ooo_offset, struct ooo_field *);
}

static inline uint32_t
entry_end(struct rte_mbuf *m)
{
    return ofield(m)->seq + m->pkt_len;
}

static void
entry_free(struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    c->tcp->ooo_mbufs -= m->nb_segs;
    c->ooo_n--;
    rte_pktmbuf_free(m);
}

void
pt_tcp_reass_free(struct pt_tcp_conn *c)
{
    while (c->ooo != NULL) {
        struct rte_mbuf *m = c->ooo;

        c->ooo = ofield(m)->next;
        entry_free(c, m);
    }
}

/*
 * Keep payload chain m (seq, m->pkt_len bytes, all beyond rcv_nxt and
 * inside the window). Consumes m. @return 0 if queued, -1 if dropped.
 */
int
pt_tcp_reass_insert(struct pt_tcp_conn *c, struct rte_mbuf *m, uint32_t seq)
{
    struct pt_tcp *tcp = c->tcp;
    struct rte_mbuf **pp = &c->ooo, *next;
    uint32_t len = m->pkt_len, end;

    if (c->ooo_n >= tcp->ooo_segments ||
        tcp->ooo_mbufs + m->nb_segs > tcp->ooo_mbufs_max) {
        rte_pktmbuf_free(m);
        return -1;
    }
    /* find the first entry that ends after seq */
    while (*pp != NULL && SEQ_LEQ(entry_end(*pp), seq))
        pp = &ofield(*pp)->next;
    /* overlap with that entry's front: trim our front */
    if (*pp != NULL && SEQ_LEQ(ofield(*pp)->seq, seq)) {
        uint32_t covered = entry_end(*pp) - seq;

        if (covered >= len) {
            rte_pktmbuf_free(m); /* a duplicate of what we hold */
            return -1;
        }
        m = pt_tcp_chain_adj(m, covered);
        seq += covered;
        len -= covered;
        pp = &ofield(*pp)->next;
    }
    /* entries we cover entirely go; a partial overlap trims our tail */
    end = seq + len;
    while (*pp != NULL && SEQ_LT(ofield(*pp)->seq, end)) {
        struct rte_mbuf *e = *pp;

        if (SEQ_LEQ(entry_end(e), end)) {
            *pp = ofield(e)->next;
            entry_free(c, e);
            continue;
        }
        len = ofield(e)->seq - seq;
        pt_tcp_chain_trim(m, len);
        break;
    }
    next = *pp;
    ofield(m)->seq = seq;
    ofield(m)->next = next;
    *pp = m;
    c->ooo_n++;
    tcp->ooo_mbufs += m->nb_segs;
    tcp_count(tcp, PT_TCP_C_OOO_QUEUED);
    return 0;
}

/*
 * Take the queue's head if the hole before it is filled (its start at or
 * before rcv_nxt), trimmed to begin at rcv_nxt. Entries wholly behind
 * rcv_nxt are freed. @return the payload chain, or NULL.
 */
struct rte_mbuf *
pt_tcp_reass_next(struct pt_tcp_conn *c)
{
    while (c->ooo != NULL && SEQ_LEQ(ofield(c->ooo)->seq, c->rcv_nxt)) {
        struct rte_mbuf *m = c->ooo;
        uint32_t behind = c->rcv_nxt - ofield(m)->seq;

        c->ooo = ofield(m)->next;
        if (behind >= m->pkt_len) {
            entry_free(c, m);
            continue;
        }
        c->tcp->ooo_mbufs -= m->nb_segs;
        c->ooo_n--;
        if (behind > 0)
            m = pt_tcp_chain_adj(m, behind);
        ofield(m)->next = NULL;
        return m;
    }
    return NULL;
}
