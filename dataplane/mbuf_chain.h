/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small helpers on mbuf chains shared by the dataplane's applications
 * (the echo listener, the MQTT connection actor): the bytes they hold for
 * a peer go to TCP in prefixes of whole segments as its send queue makes
 * room. Pure functions on chains the caller owns; any thread.
 */
#ifndef PETREL_MBUF_CHAIN_H
#define PETREL_MBUF_CHAIN_H

#include <stdint.h>

#include <rte_mbuf.h>

/**
 * Cut chain h after its longest prefix of whole segments holding at most
 * max bytes. h keeps the prefix (pkt_len and nb_segs fixed), the rest
 * becomes a chain of its own.
 * @return the rest (NULL when all of h fits), or h itself when not even
 *         its first segment fits (*taken is then 0 and nothing changed)
 */
static inline struct rte_mbuf *
pt_mbuf_split(struct rte_mbuf *h, uint32_t max, uint32_t *taken)
{
    struct rte_mbuf *last = NULL, *rest = h;
    uint32_t take = 0;
    uint16_t segs = 0;

    while (rest != NULL && take + rest->data_len <= max) {
        take += rest->data_len;
        segs++;
        last = rest;
        rest = rest->next;
    }
    *taken = take;
    if (last == NULL)
        return h;
    if (rest != NULL) {
        rest->pkt_len = h->pkt_len - take;
        rest->nb_segs = (uint16_t)(h->nb_segs - segs);
        last->next = NULL;
        h->pkt_len = take;
        h->nb_segs = segs;
    }
    return rest;
}

/** Undo pt_mbuf_split: rest goes back behind h (NULL: nothing to do). */
static inline void
pt_mbuf_unsplit(struct rte_mbuf *h, struct rte_mbuf *rest)
{
    if (rest != NULL) {
        rte_pktmbuf_lastseg(h)->next = rest;
        h->pkt_len += rest->pkt_len;
        h->nb_segs = (uint16_t)(h->nb_segs + rest->nb_segs);
    }
}

/**
 * Drop the first n bytes of chain m: segments emptied are freed, the
 * first one kept is trimmed in place (rte_pktmbuf_adj).
 * @return the new head, or NULL when n covers the whole chain (all freed)
 */
static inline struct rte_mbuf *
pt_mbuf_trim_front(struct rte_mbuf *m, uint32_t n)
{
    while (m != NULL && n >= m->data_len) {
        struct rte_mbuf *next = m->next;

        n -= m->data_len;
        if (next != NULL) {
            next->pkt_len = m->pkt_len - m->data_len;
            next->nb_segs = (uint16_t)(m->nb_segs - 1);
        }
        m->next = NULL;
        m->nb_segs = 1;
        rte_pktmbuf_free(m);
        m = next;
    }
    if (m != NULL && n > 0)
        rte_pktmbuf_adj(m, (uint16_t)n);
    return m;
}

#endif /* PETREL_MBUF_CHAIN_H */
