/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of TCP-lite shared by tcp.c (stack, table, pools, API),
 * tcp_in.c (segment arrival, the state machine), tcp_listen.c (segments
 * for no connection: listeners, cookies, RSTs, TIME_WAIT), tcp_reass.c (the
 * out-of-order queue), tcp_out.c (segment output), tcp_timer.c (RTO,
 * delayed ACK, persist, TIME_WAIT) and tcp_isn.c (keyed ISNs and SYN
 * cookies).
 *
 * Owner: the dataplane core that owns the struct pt_tcp; nothing here is
 * safe to call from another thread.
 *
 * Memory: a connection is one struct pt_tcp_conn from the core's pool
 * (<= 200 bytes, checked at build time) plus one 8-byte bucket pointer in
 * the table; an idle connection holds no mbuf. TIME_WAIT keeps only a
 * 64-byte struct pt_tcp_tw. Both start with struct pt_tcp_node, so one
 * table serves both.
 */
#ifndef PETREL_TCP_PRIV_H
#define PETREL_TCP_PRIV_H

#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_tcp.h>

#include <petrel/debug.h>
#include <petrel/log.h>
#include <petrel/tcp.h>
#include <petrel/timer.h>

#include "net_priv.h"

PT_LOG_DECLARE(dp_tcp);

#define PT_TCP_LISTEN_MAX 16
/* tcp->listeners[] holds the listeners, then the ops tables of active
 * opens (port 0): a connection's uint8_t `listener` indexes either. */
#define PT_TCP_OPS_SLOTS (PT_TCP_LISTEN_MAX + PT_TCP_CLIENT_OPS)
#define PT_TCP_WHEEL_SLOTS 4096   /* 1 ms ticks: one rotation is 4 s */
#define PT_TCP_HDR_LEN 20
#define PT_TCP_SYN_OPT_LEN 4      /* MSS option only */
#define PT_TCP_FRAME_HDR (sizeof(struct rte_ether_hdr) + \
                          sizeof(struct rte_ipv4_hdr) + PT_TCP_HDR_LEN)
#define PT_TCP_MAX_WIN 65535u
#define PT_TCP_MSL_COOKIE_S 64    /* a SYN cookie lives 1-2 periods */

/* TCP header flag bits (byte 13). */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

/* Sequence-space comparisons (RFC 1982 style, mod 2^32). */
#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

/* Lookup header shared by connections and TIME_WAIT entries. laddr took
 * what was padding after `state` (the fields moved up one): the node is
 * 24 bytes either way, and neither table object grew. */
struct pt_tcp_node {
    struct pt_tcp_node *next;   /* table chain; free-list link in a pool */
    uint32_t raddr;             /* peer address, network order */
    uint32_t laddr;             /* our address, network order */
    uint16_t rport;             /* peer port, network order */
    uint16_t lport;             /* our port, network order */
    uint8_t state;              /* enum pt_tcp_state */
};
_Static_assert(sizeof(struct pt_tcp_node) == 24,
               "struct pt_tcp_node must stay 24 bytes");

/* Connection flags. */
enum {
    CF_ACK_NOW = 1u << 0,     /* send an ACK at the end of the burst */
    CF_ACK_DELAYED = 1u << 1, /* an ACK is owed; delayed-ACK timer armed */
    CF_PENDING = 1u << 2,     /* on the stack's pending list */
    CF_FIN_QUEUED = 1u << 3,  /* application closed: FIN after the data */
    CF_RTO = 1u << 4,         /* rto_at is armed (RTO, persist, SYN-ACK) */
    CF_PERSIST = 1u << 5,     /* ...as the zero-window persist timer */
    CF_RECOVERY = 1u << 6,    /* NewReno fast recovery until `recover` */
    CF_RTT = 1u << 7,         /* timing rtt_seq (Karn: never a retransmit) */
    CF_ACCEPTED = 1u << 8,    /* the application owns it */
    CF_DEAD = 1u << 9,        /* to be reaped at the end of the burst */
    CF_WND_UPDATE = 1u << 11, /* the window opened enough to announce */
    CF_FIN_SENT = 1u << 12,   /* our FIN went out at least once */
};


struct pt_tcp_conn {
    struct pt_tcp_node node;       /* must stay first */
    struct pt_timer timer;         /* the one wheel slot: min(rto, dack);
                                    * same offset as in struct pt_tcp_tw */
    uint16_t flags;
    uint8_t listener;              /* index in tcp->listeners */
    uint8_t retries;               /* consecutive RTOs / SYN-ACK resends */
    uint8_t dupacks;
    uint8_t segs_unacked;          /* full segments received, not ACKed */
    uint16_t mss;                  /* effective send MSS */
    struct pt_tcp *tcp;
    void *user;
    struct pt_tcp_conn *pend_next; /* pending list (output / reap) */
    struct rte_mbuf *snd_head;     /* queued data from snd_una, chained */
    struct rte_mbuf *snd_tail;
    struct rte_ether_addr peer_mac;
    uint16_t snd_wnd;              /* peer's window (no scaling) */
    uint32_t snd_una;
    uint32_t snd_nxt;
    uint32_t snd_max;              /* highest sequence sent */
    uint32_t snd_wl1;
    uint32_t snd_wl2;
    uint32_t snd_queued;           /* data bytes queued from snd_una */
    uint32_t rcv_nxt;
    uint32_t rcv_adv;              /* right edge we advertised */
    uint32_t rcv_held;             /* delivered, not yet consumed */
    uint32_t cwnd;
    uint32_t ssthresh;
    uint32_t recover;
    uint32_t srtt_us;              /* 0 = no sample yet */
    uint32_t rttvar_us;
    uint32_t rto_us;
    uint32_t rtt_seq;
    uint32_t rtt_start_us;
    uint32_t rto_at;               /* tick (ms) */
    uint32_t dack_at;              /* tick (ms) */
    uint16_t max_snd_wnd;          /* largest window the peer offered */
    uint8_t ooo_n;                 /* entries in the out-of-order queue */
    uint8_t close_errno;           /* why it ended (positive errno; 0 = ok) */
    struct rte_mbuf *ooo;          /* out-of-order queue (tcp_reass.c) */
};

/* Our FIN was sent and everything up to and including it is acked. */
static inline bool
pt_tcp_fin_acked(const struct pt_tcp_conn *c)
{
    return (c->flags & CF_FIN_SENT) && c->snd_queued == 0 &&
           c->snd_una == c->snd_max;
}

/* Compact TIME_WAIT: enough to re-ACK a FIN and refuse old duplicates. */
struct pt_tcp_tw {
    struct pt_tcp_node node;       /* must stay first; state TIME_WAIT */
    struct pt_timer timer;
    uint32_t snd_nxt;
    uint32_t rcv_nxt;
    struct rte_ether_addr peer_mac;
};

struct pt_tcp_listener {
    uint16_t port;                 /* network order; 0 = free */
    const struct pt_tcp_ops *ops;
    void *arg;
};

/* A fixed-size object pool: one array, a free list through node.next. */
struct pt_tcp_pool {
    struct pt_tcp_node *free;
    uint32_t size;
    uint32_t in_use;
    void *mem;
};

struct pt_tcp {
    /* configuration (read-mostly) */
    struct pt_net *net;
    uint16_t mss;
    uint32_t rcv_buf;
    uint32_t snd_buf;
    uint32_t syn_backlog;
    bool syncookies;
    uint32_t delayed_ack_ms;
    uint32_t rto_initial_us;
    uint32_t rto_min_us;
    uint32_t rto_max_us;
    uint32_t max_retries;
    uint32_t synack_retries;
    uint32_t syn_retries;
    uint32_t time_wait_ms;
    uint32_t reply_limit;
    uint32_t ooo_segments;         /* per connection; 0 = no reassembly */
    uint32_t sws_min;              /* window growth worth announcing */
    bool tx_cksum_offload;         /* the port computes our checksums */
    uint32_t ooo_mbufs;            /* held in all out-of-order queues */
    uint32_t ooo_mbufs_max;
    uint8_t isn_key[16];
    uint8_t cookie_key[16];
    uint32_t hash_seed;

    /* clock */
    uint64_t base_ns;              /* tick 0 */
    uint64_t now_ns;               /* of the current burst or tick */
    uint64_t now_tick;             /* ms since base_ns (the wheel's clock) */
    uint64_t next_tick_ns;         /* when now_tick next moves */
    uint32_t now_us;               /* us since base_ns (wraps; RTT only) */

    /* rate limit of unsolicited replies (RST, challenge ACK) */
    uint32_t reply_sec;
    uint32_t reply_count;

    uint8_t hdr[64];               /* segment header template (tcp_out.c) */
    uint64_t hdr_sum;              /* checksum sum of its IPv4 header */
    uint32_t half_open;            /* connections in SYN_RCVD */
    uint16_t ip_id;
    uint32_t arp_ip;               /* last address pt_tcp_connect resolved */
    uint64_t arp_tick;             /* ...and when (one request per ms) */
    struct pt_tcp_conn *pending;   /* output / reap list */
    struct pt_timer_wheel *wheel;
    struct pt_tcp_node **table;
    uint32_t table_mask;
    struct pt_tcp_pool conns;
    struct pt_tcp_pool tws;
    struct pt_tcp_listener listeners[PT_TCP_OPS_SLOTS];
    unsigned owner_lcore;

    struct pt_tcp_stats stats;
} __rte_cache_aligned;

static inline void
tcp_count(struct pt_tcp *tcp, enum pt_tcp_counter c)
{
    tcp->stats.c[c]++;
}

static inline void
tcp_count_n(struct pt_tcp *tcp, enum pt_tcp_counter c, uint64_t n)
{
    tcp->stats.c[c] += n;
}

/*
 * Bucket of a 4-tuple. Our address goes into the CRC's initial value: for
 * the broker's single address that costs one XOR, and tuples that differ
 * only in it still land in different buckets (CRC is linear in its seed).
 */
static inline uint32_t
pt_tcp_tuple_hash(const struct pt_tcp *tcp, uint32_t raddr, uint32_t laddr,
                  uint16_t rport, uint16_t lport)
{
    uint64_t k = ((uint64_t)raddr << 32) | ((uint32_t)rport << 16) | lport;

    return rte_hash_crc_8byte(k, tcp->hash_seed ^ laddr) & tcp->table_mask;
}

/* The connection or TIME_WAIT entry of a 4-tuple (network order), or NULL. */
static inline struct pt_tcp_node *
pt_tcp_lookup(struct pt_tcp *tcp, uint32_t raddr, uint32_t laddr,
              uint16_t rport, uint16_t lport)
{
    struct pt_tcp_node *n = tcp->table[pt_tcp_tuple_hash(tcp, raddr, laddr,
                                                         rport, lport)];

    for (; n != NULL; n = n->next)
        if (n->raddr == raddr && n->rport == rport && n->lport == lport &&
            n->laddr == laddr)
            return n;
    return NULL;
}

static inline struct pt_tcp_conn *
conn_of_node(struct pt_tcp_node *n)
{
    return (struct pt_tcp_conn *)n;
}

/* Parsed view of a received segment. */
struct pt_tcp_seg {
    struct rte_mbuf *m;            /* the frame (payload at hdr + doff) */
    const struct rte_ether_hdr *eth;
    const struct rte_ipv4_hdr *ip;
    const struct rte_tcp_hdr *th;
    uint32_t seq;
    uint32_t ack;
    uint32_t len;                  /* payload bytes */
    uint32_t off;                  /* payload offset in the frame */
    uint16_t wnd;
    uint16_t mss;                  /* MSS option, 0 when absent */
    uint8_t flags;
};

/* tcp.c */
void pt_tcp_table_insert(struct pt_tcp *tcp, struct pt_tcp_node *n);
void pt_tcp_table_remove(struct pt_tcp *tcp, struct pt_tcp_node *n);
struct pt_tcp_listener *pt_tcp_listener_find(struct pt_tcp *tcp,
                                             uint16_t lport);
struct pt_tcp_conn *pt_tcp_conn_alloc(struct pt_tcp *tcp,
                                      const struct pt_tcp_node *tuple,
                                      const struct rte_ether_addr *peer_mac,
                                      uint8_t listener, uint16_t peer_mss);
/* The 4-tuple of a received segment, as our side sees it. */
static inline struct pt_tcp_node
pt_tcp_seg_tuple(const struct pt_tcp_seg *s)
{
    return (struct pt_tcp_node){
        .raddr = s->ip->src_addr,
        .laddr = s->ip->dst_addr,
        .rport = s->th->src_port,
        .lport = s->th->dst_port,
    };
}
void pt_tcp_set_state(struct pt_tcp_conn *c, enum pt_tcp_state st);
void pt_tcp_pending(struct pt_tcp_conn *c);
void pt_tcp_kill(struct pt_tcp_conn *c, int reason);
void pt_tcp_enter_time_wait(struct pt_tcp_conn *c);
void pt_tcp_tw_free(struct pt_tcp *tcp, struct pt_tcp_tw *tw);
void pt_tcp_snd_free(struct pt_tcp_conn *c, uint32_t bytes);
bool pt_tcp_reply_allowed(struct pt_tcp *tcp);

struct rte_mbuf *pt_tcp_chain_adj_multi(struct rte_mbuf *m, uint32_t n);
void pt_tcp_chain_trim_multi(struct rte_mbuf *m, uint32_t len);

/* Drop n bytes from the front of a chain (freeing emptied segments). */
static inline struct rte_mbuf *
pt_tcp_chain_adj(struct rte_mbuf *m, uint32_t n)
{
    if (likely(m->nb_segs == 1)) {
        m->data_off = (uint16_t)(m->data_off + n);
        m->data_len = (uint16_t)(m->data_len - n);
        m->pkt_len -= n;
        return m;
    }
    return pt_tcp_chain_adj_multi(m, n);
}

/* Keep the first len bytes of a chain (freeing segments past them). */
static inline void
pt_tcp_chain_trim(struct rte_mbuf *m, uint32_t len)
{
    if (likely(m->nb_segs == 1)) {
        m->data_len = (uint16_t)len;
        m->pkt_len = len;
        return;
    }
    pt_tcp_chain_trim_multi(m, len);
}

/* Window we can offer: the budget minus what the application holds. */
static inline uint32_t
pt_tcp_rcv_window(const struct pt_tcp_conn *c)
{
    uint32_t budget = c->tcp->rcv_buf;

    return c->rcv_held >= budget ? 0 : budget - c->rcv_held;
}

/* tcp_reass.c */
int pt_tcp_reass_init(void);
int pt_tcp_reass_insert(struct pt_tcp_conn *c, struct rte_mbuf *m,
                        uint32_t seq);
struct rte_mbuf *pt_tcp_reass_next(struct pt_tcp_conn *c);
void pt_tcp_reass_free(struct pt_tcp_conn *c);

/* tcp_in.c */
void pt_tcp_input(struct pt_tcp *tcp, struct rte_mbuf *m,
                  const struct rte_ipv4_hdr *ip, uint16_t l4_len);
void pt_tcp_conn_input(struct pt_tcp_conn *c, struct pt_tcp_seg *s);

/* tcp_listen.c */
void pt_tcp_no_conn(struct pt_tcp *tcp, struct pt_tcp_seg *s);
void pt_tcp_tw_input(struct pt_tcp *tcp, struct pt_tcp_tw *tw,
                     struct pt_tcp_seg *s);

/* Free a segment and count it under a drop reason. */
static inline void
pt_tcp_seg_drop(struct pt_tcp *tcp, struct rte_mbuf *m, enum pt_tcp_drop why)
{
    tcp->stats.drops[why]++;
    rte_pktmbuf_free(m);
}

/* tcp_out.c */
void pt_tcp_hdr_template(struct pt_tcp *tcp);
void pt_tcp_output(struct pt_tcp_conn *c);
void pt_tcp_send_ack(struct pt_tcp_conn *c);
int pt_tcp_send_synack(struct pt_tcp_conn *c);
int pt_tcp_send_syn(struct pt_tcp_conn *c);
void pt_tcp_send_rst(struct pt_tcp_conn *c);
void pt_tcp_retransmit_una(struct pt_tcp_conn *c);
void pt_tcp_send_probe(struct pt_tcp_conn *c);
int pt_tcp_reply(struct pt_tcp *tcp, const struct rte_ether_addr *mac,
                 const struct pt_tcp_node *tuple, uint32_t seq, uint32_t ack,
                 uint8_t flags, uint16_t wnd, uint16_t mss);

/* tcp_timer.c */
void pt_tcp_timer_update(struct pt_tcp_conn *c);
void pt_tcp_rto_arm(struct pt_tcp_conn *c, uint32_t us);
void pt_tcp_rto_stop(struct pt_tcp_conn *c);
void pt_tcp_dack_arm(struct pt_tcp_conn *c);
void pt_tcp_timer_fire(struct pt_timer *t, void *arg);
void pt_tcp_rtt_sample(struct pt_tcp_conn *c, uint32_t rtt_us);

/* tcp_isn.c (the tuple's next and state are not read) */
uint32_t pt_tcp_isn(const struct pt_tcp *tcp, const struct pt_tcp_node *t);
uint32_t pt_tcp_cookie_make(const struct pt_tcp *tcp,
                            const struct pt_tcp_node *t, uint32_t peer_isn,
                            uint16_t *mss);
int pt_tcp_cookie_check(const struct pt_tcp *tcp, const struct pt_tcp_node *t,
                        uint32_t peer_isn, uint32_t cookie, uint16_t *mss);

/* The stack attached to a net (set by pt_tcp_create). */
static inline struct pt_tcp *
pt_net_tcp(const struct pt_net *net)
{
    return net->tcp;
}

#endif /* PETREL_TCP_PRIV_H */
