/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite: the stack object of one core, its connection table and pools,
 * and the application API (include/petrel/tcp.h). The state machine is in
 * tcp_in.c, segment output in tcp_out.c, timers in tcp_timer.c.
 *
 * Table: open hashing on the 4-tuple (peer address and port, our address
 * and port: a net may own several addresses), CRC32 with a random seed,
 * one 8-byte bucket per connection slot. TIME_WAIT entries share the
 * table (struct pt_tcp_node is the common header).
 *
 * Pools: one array of connections and one of TIME_WAIT entries per core,
 * allocated at creation; the free list runs through node.next. Nothing is
 * allocated after pt_tcp_create().
 *
 * Active open (pt_tcp_connect): the connection is made here in SYN_SENT
 * and its SYN queued at once; tcp_in.c completes the handshake, the timer
 * resends the SYN. Its ops table sits in tcp->listeners[] past the
 * listeners (port 0), so `c->listener` finds it like a listener's: one
 * byte per connection whatever the number of connections sharing it.
 *
 * Deferred work: sends and state changes made by callbacks or the
 * application put the connection on the `pending` list (once); at the end
 * of the burst (pt_tcp_flush) pending connections transmit what they can
 * and dead ones are reaped: `closed` is delivered and the object freed.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <petrel/config.h>

#include "tcp_priv.h"

PT_LOG_REGISTER(dp_tcp, pt.dp.tcp, INFO);

/* An idle connection plus its bucket must stay within 256 bytes. */
_Static_assert(sizeof(struct pt_tcp_conn) + sizeof(void *) <= 256,
               "struct pt_tcp_conn grew past the per-connection budget");
_Static_assert(sizeof(struct pt_tcp_tw) <= 64, "TIME_WAIT entry too big");

static const char *const state_names[] = {
#define PT_X(id, name) name,
    PT_TCP_STATES(PT_X)
#undef PT_X
};
static const char *const drop_names[] = {
#define PT_X(id, name, help) name,
    PT_TCP_DROPS(PT_X)
#undef PT_X
};
static const char *const drop_helps[] = {
#define PT_X(id, name, help) help,
    PT_TCP_DROPS(PT_X)
#undef PT_X
};
static const char *const counter_names[] = {
#define PT_X(id, name, help) name,
    PT_TCP_COUNTERS(PT_X)
#undef PT_X
};
static const char *const counter_helps[] = {
#define PT_X(id, name, help) help,
    PT_TCP_COUNTERS(PT_X)
#undef PT_X
};

const char *
pt_tcp_state_name(enum pt_tcp_state s)
{
    return (unsigned)s < PT_TCP_STATE_MAX ? state_names[s] : "?";
}

const char *
pt_tcp_drop_name(enum pt_tcp_drop d)
{
    return (unsigned)d < PT_TCP_DROP_MAX ? drop_names[d] : "?";
}

const char *
pt_tcp_drop_help(enum pt_tcp_drop d)
{
    return (unsigned)d < PT_TCP_DROP_MAX ? drop_helps[d] : "?";
}

const char *
pt_tcp_counter_name(enum pt_tcp_counter c)
{
    return (unsigned)c < PT_TCP_C_MAX ? counter_names[c] : "?";
}

const char *
pt_tcp_counter_help(enum pt_tcp_counter c)
{
    return (unsigned)c < PT_TCP_C_MAX ? counter_helps[c] : "?";
}

void
pt_tcp_conf_from_config(struct pt_tcp_conf *conf, const struct pt_config *cfg)
{
    memset(conf, 0, sizeof(*conf));
    conf->max_conns = cfg->tcp_max_conns;
    conf->syn_backlog = cfg->tcp_syn_backlog;
    conf->syncookies = cfg->tcp_syncookies;
    conf->mss = cfg->tcp_mss;
    conf->rcv_buf = cfg->tcp_rcv_buf;
    conf->snd_buf = cfg->tcp_snd_buf;
    conf->delayed_ack_ms = cfg->tcp_delayed_ack_ms;
    conf->rto_initial_ms = cfg->tcp_rto_initial_ms;
    conf->rto_min_ms = cfg->tcp_rto_min_ms;
    conf->rto_max_ms = cfg->tcp_rto_max_ms;
    conf->max_retries = cfg->tcp_max_retries;
    conf->synack_retries = cfg->tcp_synack_retries;
    /* no key of its own: a client gives up on a SYN as a server does on
     * its SYN-ACK */
    conf->syn_retries = cfg->tcp_synack_retries;
    conf->time_wait_ms = cfg->tcp_time_wait_ms;
    conf->time_wait_max = cfg->tcp_time_wait_max;
    conf->reply_limit = cfg->tcp_reply_limit;
    conf->ooo_segments = cfg->tcp_ooo_segments;
}

uint64_t
pt_tcp_memory(uint32_t max_conns, uint32_t time_wait_max)
{
    return sizeof(struct pt_tcp) +
           (uint64_t)max_conns * sizeof(struct pt_tcp_conn) +
           (uint64_t)rte_align32pow2(max_conns) * sizeof(void *) +
           (uint64_t)time_wait_max * sizeof(struct pt_tcp_tw) +
           (uint64_t)PT_TCP_WHEEL_SLOTS * sizeof(void *) + 4096;
}

/* ---- pools ---- */

static int
pool_init(struct pt_tcp_pool *p, uint32_t n, size_t elt, int socket_id)
{
    p->size = n;
    p->in_use = 0;
    p->free = NULL;
    if (n == 0)
        return 0;
    p->mem = rte_zmalloc_socket("pt_tcp_pool", (size_t)n * elt,
                                RTE_CACHE_LINE_SIZE, socket_id);
    if (p->mem == NULL)
        return -ENOMEM;
    for (uint32_t i = n; i-- > 0;) {
        struct pt_tcp_node *o =
            (struct pt_tcp_node *)((char *)p->mem + (size_t)i * elt);

        o->next = p->free;
        p->free = o;
    }
    return 0;
}

static inline void *
pool_get(struct pt_tcp_pool *p)
{
    struct pt_tcp_node *o = p->free;

    if (unlikely(o == NULL))
        return NULL;
    p->free = o->next;
    p->in_use++;
    return o;
}

static inline void
pool_put(struct pt_tcp_pool *p, void *obj)
{
    struct pt_tcp_node *o = obj;

    o->next = p->free;
    p->free = o;
    p->in_use--;
}

/* Drop n bytes from the front of a chain (freeing emptied segments). */
struct rte_mbuf *
pt_tcp_chain_adj_multi(struct rte_mbuf *m, uint32_t n)
{
    uint32_t pkt_len = m->pkt_len - n;
    uint16_t segs = m->nb_segs;

    while (n >= m->data_len && m->next != NULL) {
        struct rte_mbuf *next = m->next;

        n -= m->data_len;
        segs--;
        m->next = NULL;
        m->nb_segs = 1;
        rte_pktmbuf_free_seg(m);
        m = next;
    }
    m->data_off = (uint16_t)(m->data_off + n);
    m->data_len = (uint16_t)(m->data_len - n);
    m->pkt_len = pkt_len;
    m->nb_segs = segs;
    return m;
}

/* Keep the first len bytes of a chain (freeing segments past them). */
void
pt_tcp_chain_trim_multi(struct rte_mbuf *m, uint32_t len)
{
    struct rte_mbuf *s = m;
    uint32_t left = len;
    uint16_t segs = 1;

    m->pkt_len = len;
    if (likely(m->nb_segs == 1)) {
        m->data_len = (uint16_t)len;
        return;
    }
    while (left > s->data_len && s->next != NULL) {
        left -= s->data_len;
        s = s->next;
        segs++;
    }
    s->data_len = (uint16_t)RTE_MIN(left, (uint32_t)s->data_len);
    if (s->next != NULL) {
        rte_pktmbuf_free(s->next);
        s->next = NULL;
    }
    m->nb_segs = segs;
}

/* ---- table ---- */

void
pt_tcp_table_insert(struct pt_tcp *tcp, struct pt_tcp_node *n)
{
    struct pt_tcp_node **b =
        &tcp->table[pt_tcp_tuple_hash(tcp, n->raddr, n->laddr, n->rport,
                                      n->lport)];

    n->next = *b;
    *b = n;
}

void
pt_tcp_table_remove(struct pt_tcp *tcp, struct pt_tcp_node *n)
{
    struct pt_tcp_node **p =
        &tcp->table[pt_tcp_tuple_hash(tcp, n->raddr, n->laddr, n->rport,
                                      n->lport)];

    for (; *p != NULL; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            n->next = NULL;
            return;
        }
    }
}

struct pt_tcp_listener *
pt_tcp_listener_find(struct pt_tcp *tcp, uint16_t lport)
{
    for (unsigned i = 0; i < PT_TCP_LISTEN_MAX; i++)
        if (tcp->listeners[i].port == lport)
            return &tcp->listeners[i];
    return NULL;
}

static void flush_pending(struct pt_tcp *tcp);

/* ---- create / free ---- */

struct pt_tcp *
pt_tcp_create(const struct pt_tcp_conf *conf)
{
    struct pt_tcp *tcp;
    uint32_t buckets;

    if (conf == NULL || conf->net == NULL || conf->net->tcp != NULL ||
        conf->max_conns == 0 || conf->rcv_buf == 0 ||
        conf->rcv_buf > PT_TCP_MAX_WIN || conf->mss < 64 ||
        conf->snd_buf == 0 || conf->rto_min_ms == 0 ||
        conf->rto_min_ms > conf->rto_max_ms || conf->max_retries == 0 ||
        conf->max_retries > 255 || conf->synack_retries > 255 ||
        conf->syn_retries > 255 ||
        conf->max_conns > (1u << 24)) {
        rte_errno = EINVAL;
        return NULL;
    }
    tcp = rte_zmalloc_socket("pt_tcp", sizeof(*tcp), RTE_CACHE_LINE_SIZE,
                             conf->socket_id);
    if (tcp == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    tcp->net = conf->net;
    tcp->mss = conf->mss;
    tcp->rcv_buf = conf->rcv_buf;
    tcp->snd_buf = conf->snd_buf;
    tcp->syn_backlog = conf->syn_backlog;
    tcp->syncookies = conf->syncookies;
    tcp->delayed_ack_ms = conf->delayed_ack_ms;
    tcp->rto_initial_us = (conf->rto_initial_ms ? conf->rto_initial_ms : 1000) * 1000u;
    tcp->rto_min_us = conf->rto_min_ms * 1000u;
    tcp->rto_max_us = conf->rto_max_ms * 1000u;
    tcp->max_retries = conf->max_retries;
    tcp->synack_retries = conf->synack_retries;
    tcp->syn_retries = conf->syn_retries;
    tcp->time_wait_ms = conf->time_wait_ms;
    tcp->reply_limit = conf->reply_limit ? conf->reply_limit : 1;
    tcp->ooo_segments = conf->ooo_segments;
    tcp->sws_min = RTE_MIN((uint32_t)conf->mss, conf->rcv_buf / 2);
    tcp->tx_cksum_offload = conf->tx_cksum_offload;
    tcp->ooo_mbufs_max = conf->net->pool->size / 4;
    if (pt_tcp_reass_init() != 0) {
        rte_free(tcp);
        rte_errno = ENOMEM;
        return NULL;
    }
    tcp->base_ns = conf->now_ns;
    tcp->now_ns = conf->now_ns;
    tcp->owner_lcore = LCORE_ID_ANY;
    if (conf->secret != NULL) {
        memcpy(tcp->isn_key, conf->secret, 16);
        for (int i = 0; i < 16; i++)
            tcp->cookie_key[i] = (uint8_t)(conf->secret[i] ^ 0x5c);
        tcp->hash_seed = 0x9e3779b9u;
    } else if (getrandom(tcp->isn_key, 16, 0) != 16 ||
               getrandom(tcp->cookie_key, 16, 0) != 16 ||
               getrandom(&tcp->hash_seed, 4, 0) != 4) {
        rte_free(tcp);
        rte_errno = EIO;
        return NULL;
    }

    buckets = rte_align32pow2(conf->max_conns);
    tcp->table_mask = buckets - 1;
    tcp->table = rte_zmalloc_socket("pt_tcp_table",
                                    sizeof(*tcp->table) * buckets,
                                    RTE_CACHE_LINE_SIZE, conf->socket_id);
    tcp->wheel = pt_timer_wheel_create(PT_TCP_WHEEL_SLOTS, 0, conf->socket_id);
    if (tcp->table == NULL || tcp->wheel == NULL ||
        pool_init(&tcp->conns, conf->max_conns, sizeof(struct pt_tcp_conn),
                  conf->socket_id) != 0 ||
        pool_init(&tcp->tws, conf->time_wait_max, sizeof(struct pt_tcp_tw),
                  conf->socket_id) != 0)
        goto nomem;

    tcp->stats.conns_max = conf->max_conns;
    tcp->stats.tw_max = conf->time_wait_max;
    pt_tcp_hdr_template(tcp);
    tcp->stats.conn_bytes = sizeof(struct pt_tcp_conn) +
                            sizeof(*tcp->table) * buckets / conf->max_conns;
    tcp->stats.tw_bytes = sizeof(struct pt_tcp_tw);
    conf->net->tcp = tcp;
    return tcp;

nomem:
    pt_timer_wheel_free(tcp->wheel);
    rte_free(tcp->conns.mem);
    rte_free(tcp->tws.mem);
    rte_free(tcp->table);
    rte_free(tcp);
    rte_errno = ENOMEM;
    return NULL;
}

/* Reset every connection, deliver `closed`, free TIME_WAIT entries. */
static void
reset_all(struct pt_tcp *tcp)
{
    for (uint32_t b = 0; b <= tcp->table_mask; b++) {
        while (tcp->table[b] != NULL) {
            struct pt_tcp_node *n = tcp->table[b];

            if (n->state == PT_TCP_TIME_WAIT) {
                pt_tcp_tw_free(tcp, (struct pt_tcp_tw *)n);
                continue;
            }
            if (n->state != PT_TCP_SYN_SENT) /* the peer knows nothing */
                pt_tcp_send_rst(conn_of_node(n));
            pt_tcp_kill(conn_of_node(n), -ECONNABORTED);
            tcp_count(tcp, PT_TCP_C_ABORTED);
        }
    }
    flush_pending(tcp);
}

void
pt_tcp_shutdown(struct pt_tcp *tcp)
{
    PT_HOT_ASSERT_OWNER(&tcp->owner_lcore);
    reset_all(tcp);
}

void
pt_tcp_free(struct pt_tcp *tcp)
{
    if (tcp == NULL)
        return;
    reset_all(tcp); /* not pt_tcp_shutdown: any thread may free */
    tcp->net->tcp = NULL;
    pt_timer_wheel_free(tcp->wheel);
    rte_free(tcp->conns.mem);
    rte_free(tcp->tws.mem);
    rte_free(tcp->table);
    rte_free(tcp);
}

int
pt_tcp_listen(struct pt_tcp *tcp, uint16_t port, const struct pt_tcp_ops *ops,
              void *arg)
{
    uint16_t p = rte_cpu_to_be_16(port);

    if (port == 0 || ops == NULL || ops->data == NULL)
        return -EINVAL;
    if (pt_tcp_listener_find(tcp, p) != NULL)
        return -EADDRINUSE;
    for (unsigned i = 0; i < PT_TCP_LISTEN_MAX; i++) {
        if (tcp->listeners[i].port == 0) {
            tcp->listeners[i] = (struct pt_tcp_listener){ p, ops, arg };
            return 0;
        }
    }
    return -ENOSPC;
}

/* The slot of an active open's ops table in tcp->listeners[] (found or
 * taken), or -1 when all PT_TCP_CLIENT_OPS slots hold other tables. */
static int
client_ops_slot(struct pt_tcp *tcp, const struct pt_tcp_ops *ops)
{
    int free_slot = -1;

    for (int i = PT_TCP_LISTEN_MAX; i < PT_TCP_OPS_SLOTS; i++) {
        if (tcp->listeners[i].ops == ops)
            return i;
        if (tcp->listeners[i].ops == NULL && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0)
        tcp->listeners[free_slot] =
            (struct pt_tcp_listener){ 0, ops, NULL };
    return free_slot;
}

/* The next hop's MAC of an active open, from the caller or the neighbour
 * cache; asks ARP (at most once per address and millisecond) on a miss. */
static int
connect_mac(struct pt_tcp *tcp, uint32_t raddr,
            const struct rte_ether_addr *peer_mac, struct rte_ether_addr *mac)
{
    struct pt_net *net = tcp->net;

    if (peer_mac != NULL) {
        *mac = *peer_mac;
        return 0;
    }
    if (!pt_net_on_subnet(net, raddr) || raddr == net->subnet_bcast)
        return -EINVAL;
    if (pt_net_neigh_lookup(net, raddr, tcp->now_ns, mac) == 0)
        return 0;
    if (tcp->arp_ip != raddr || tcp->arp_tick != tcp->now_tick) {
        tcp->arp_ip = raddr;
        tcp->arp_tick = tcp->now_tick;
        pt_net_resolve(net, raddr); /* -ENOBUFS is counted by the net */
    }
    return -EHOSTUNREACH;
}

int
pt_tcp_connect(struct pt_tcp *tcp, uint32_t laddr, uint16_t lport,
               uint32_t raddr, uint16_t rport,
               const struct rte_ether_addr *peer_mac,
               const struct pt_tcp_ops *ops, void *user,
               struct pt_tcp_conn **out)
{
    struct pt_tcp_node t = {
        .raddr = raddr,
        .laddr = laddr,
        .rport = rte_cpu_to_be_16(rport),
        .lport = rte_cpu_to_be_16(lport),
    };
    struct rte_ether_addr mac;
    struct pt_tcp_conn *c;
    int slot, rc;

    PT_HOT_ASSERT_OWNER(&tcp->owner_lcore);
    if (lport == 0 || rport == 0 || raddr == 0 || ops == NULL ||
        ops->data == NULL || ops->closed == NULL || out == NULL ||
        !pt_net_local(tcp->net, laddr) || pt_net_local(tcp->net, raddr))
        return -EINVAL;
    if (pt_tcp_lookup(tcp, raddr, laddr, t.rport, t.lport) != NULL)
        return -EADDRINUSE;
    rc = connect_mac(tcp, raddr, peer_mac, &mac);
    if (rc != 0)
        return rc;
    slot = client_ops_slot(tcp, ops);
    if (slot < 0)
        return -ENOSPC;
    c = pt_tcp_conn_alloc(tcp, &t, &mac, (uint8_t)slot, tcp->mss);
    if (c == NULL) {
        tcp_count(tcp, PT_TCP_C_CONNECT_POOL);
        return -ENOBUFS;
    }
    /* the application owns it from here: `closed` follows whatever ends it */
    c->flags |= CF_ACCEPTED;
    c->user = user;
    c->snd_una = pt_tcp_isn(tcp, &t);
    c->snd_nxt = c->snd_una + 1;
    c->snd_max = c->snd_nxt;
    c->recover = c->snd_una;
    pt_tcp_set_state(c, PT_TCP_SYN_SENT);
    if (pt_tcp_send_syn(c) == 0) { /* else the timer sends it again */
        c->flags |= CF_RTT;
        c->rtt_start_us = tcp->now_us;
    }
    pt_tcp_rto_arm(c, c->rto_us);
    *out = c;
    return 0;
}

/* ---- connection life ---- */

struct pt_tcp_conn *
pt_tcp_conn_alloc(struct pt_tcp *tcp, const struct pt_tcp_node *tuple,
                  const struct rte_ether_addr *peer_mac, uint8_t listener,
                  uint16_t peer_mss)
{
    struct pt_tcp_conn *c = pool_get(&tcp->conns);

    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->node.raddr = tuple->raddr;
    c->node.laddr = tuple->laddr;
    c->node.rport = tuple->rport;
    c->node.lport = tuple->lport;
    c->node.state = PT_TCP_CLOSED;
    c->tcp = tcp;
    c->listener = listener;
    c->peer_mac = *peer_mac;
    c->mss = RTE_MIN(tcp->mss, peer_mss);
    c->rto_us = tcp->rto_initial_us;
    c->cwnd = RTE_MIN(10u * c->mss, RTE_MAX(2u * c->mss, 14600u));
    c->ssthresh = UINT32_MAX;
    tcp->stats.states[PT_TCP_CLOSED]++;
    pt_tcp_table_insert(tcp, &c->node);
    return c;
}

void
pt_tcp_set_state(struct pt_tcp_conn *c, enum pt_tcp_state st)
{
    struct pt_tcp *tcp = c->tcp;

    if (c->node.state == PT_TCP_SYN_RCVD)
        tcp->half_open--;
    if (st == PT_TCP_SYN_RCVD)
        tcp->half_open++;
    tcp->stats.states[c->node.state]--;
    tcp->stats.states[st]++;
    c->node.state = (uint8_t)st;
}

void
pt_tcp_pending(struct pt_tcp_conn *c)
{
    if (c->flags & CF_PENDING)
        return;
    c->flags |= CF_PENDING;
    c->pend_next = c->tcp->pending;
    c->tcp->pending = c;
}

/* Free acknowledged (or abandoned) bytes from the head of the send queue. */
void
pt_tcp_snd_free(struct pt_tcp_conn *c, uint32_t bytes)
{
    c->snd_queued -= bytes;
    while (bytes > 0) {
        struct rte_mbuf *m = c->snd_head;

        if (bytes < m->data_len) {
            m->data_off = (uint16_t)(m->data_off + bytes);
            m->data_len = (uint16_t)(m->data_len - bytes);
            return;
        }
        bytes -= m->data_len;
        c->snd_head = m->next;
        m->next = NULL;
        m->nb_segs = 1;
        rte_pktmbuf_free_seg(m);
    }
    /* drop emptied zero-length segments too */
    while (c->snd_head != NULL && c->snd_head->data_len == 0) {
        struct rte_mbuf *m = c->snd_head;

        c->snd_head = m->next;
        m->next = NULL;
        m->nb_segs = 1;
        rte_pktmbuf_free_seg(m);
    }
    if (c->snd_head == NULL)
        c->snd_tail = NULL;
}

/*
 * End a connection: out of the table and the wheel, queued data freed,
 * state CLOSED, reaped (and `closed` delivered) at the end of the burst.
 */
void
pt_tcp_kill(struct pt_tcp_conn *c, int reason)
{
    struct pt_tcp *tcp = c->tcp;

    if (c->flags & CF_DEAD)
        return;
    pt_timer_cancel(tcp->wheel, &c->timer);
    pt_tcp_table_remove(tcp, &c->node);
    if (c->snd_head != NULL)
        pt_tcp_snd_free(c, c->snd_queued);
    pt_tcp_reass_free(c);
    pt_tcp_set_state(c, PT_TCP_CLOSED);
    c->flags = (uint16_t)((c->flags & (CF_ACCEPTED | CF_PENDING)) | CF_DEAD);
    c->retries = 0;
    c->close_errno = (uint8_t)-reason;
    pt_tcp_pending(c);
}

static void
conn_reap(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;

    if (c->flags & CF_ACCEPTED) {
        const struct pt_tcp_listener *l = &tcp->listeners[c->listener];

        if (l->ops->closed != NULL)
            l->ops->closed(c->user, c, -(int)c->close_errno);
    }
    tcp->stats.states[PT_TCP_CLOSED]--;
    pool_put(&tcp->conns, c);
}

void
pt_tcp_enter_time_wait(struct pt_tcp_conn *c)
{
    struct pt_tcp *tcp = c->tcp;
    struct pt_tcp_tw *tw;

    tw = tcp->time_wait_ms > 0 ? pool_get(&tcp->tws) : NULL;
    if (tw == NULL) {
        tcp_count(tcp, PT_TCP_C_TW_SKIPPED);
    } else {
        tw->node.raddr = c->node.raddr;
        tw->node.laddr = c->node.laddr;
        tw->node.rport = c->node.rport;
        tw->node.lport = c->node.lport;
        tw->node.state = PT_TCP_TIME_WAIT;
        tw->snd_nxt = c->snd_nxt;
        tw->rcv_nxt = c->rcv_nxt;
        tw->peer_mac = c->peer_mac;
        memset(&tw->timer, 0, sizeof(tw->timer));
        tcp->stats.states[PT_TCP_TIME_WAIT]++;
        tcp_count(tcp, PT_TCP_C_TW_ENTERED);
    }
    tcp_count(tcp, PT_TCP_C_CLOSED);
    /* the connection's table entry goes first, then the TIME_WAIT one */
    pt_tcp_kill(c, 0);
    if (tw != NULL) {
        pt_tcp_table_insert(tcp, &tw->node);
        pt_timer_arm(tcp->wheel, &tw->timer,
                     (uint64_t)tcp->now_tick + tcp->time_wait_ms);
    }
}

void
pt_tcp_tw_free(struct pt_tcp *tcp, struct pt_tcp_tw *tw)
{
    pt_timer_cancel(tcp->wheel, &tw->timer);
    pt_tcp_table_remove(tcp, &tw->node);
    tcp->stats.states[PT_TCP_TIME_WAIT]--;
    pool_put(&tcp->tws, tw);
}

bool
pt_tcp_reply_allowed(struct pt_tcp *tcp)
{
    uint32_t sec = tcp->now_tick / 1000;

    if (sec != tcp->reply_sec) {
        tcp->reply_sec = sec;
        tcp->reply_count = 0;
    }
    if (tcp->reply_count >= tcp->reply_limit) {
        tcp_count(tcp, PT_TCP_C_REPLIES_LIMITED);
        return false;
    }
    tcp->reply_count++;
    return true;
}


/* ---- bursts, flush, ticks ---- */

static void
set_clock(struct pt_tcp *tcp, uint64_t now_ns)
{
    if (now_ns < tcp->now_ns)
        return; /* never backwards */
    tcp->now_ns = now_ns;
    tcp->now_tick = (now_ns - tcp->base_ns) / 1000000u; /* never wraps */
    tcp->now_us = (uint32_t)((now_ns - tcp->base_ns) / 1000u); /* RTT only */
    tcp->next_tick_ns = tcp->base_ns + (tcp->now_tick + 1) * 1000000u;
}

void
pt_tcp_burst_begin(struct pt_tcp *tcp, uint64_t now_ns)
{
    PT_HOT_ASSERT_OWNER(&tcp->owner_lcore);
    set_clock(tcp, now_ns);
}

static void
refresh_gauges(struct pt_tcp *tcp)
{
    __atomic_store_n(&tcp->stats.conns_in_use, tcp->conns.in_use,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&tcp->stats.tw_in_use, tcp->tws.in_use,
                     __ATOMIC_RELAXED);
}

static void
flush_pending(struct pt_tcp *tcp)
{
    while (tcp->pending != NULL) {
        struct pt_tcp_conn *c = tcp->pending;

        tcp->pending = c->pend_next;
        c->pend_next = NULL;
        c->flags &= (uint16_t)~CF_PENDING;
        if (c->flags & CF_DEAD)
            conn_reap(c);
        else
            pt_tcp_output(c);
    }
    refresh_gauges(tcp);
}

void
pt_tcp_flush(struct pt_tcp *tcp)
{
    PT_HOT_ASSERT_OWNER(&tcp->owner_lcore);
    flush_pending(tcp);
}

void
pt_tcp_tick(struct pt_tcp *tcp, uint64_t now_ns)
{
    PT_HOT_ASSERT_OWNER(&tcp->owner_lcore);
    /* called on every poll: within the same millisecond, with nothing
     * queued, there is nothing to do */
    if (now_ns < tcp->next_tick_ns && tcp->pending == NULL)
        return;
    set_clock(tcp, now_ns);
    pt_timer_advance(tcp->wheel, tcp->now_tick, pt_tcp_timer_fire, tcp);
    pt_tcp_flush(tcp);
}

const struct pt_tcp_stats *
pt_tcp_stats(const struct pt_tcp *tcp)
{
    return &tcp->stats;
}

/* ---- application API ---- */

enum pt_tcp_state
pt_tcp_conn_state(const struct pt_tcp_conn *c)
{
    return (enum pt_tcp_state)c->node.state;
}

void
pt_tcp_conn_peer(const struct pt_tcp_conn *c, uint32_t *addr, uint16_t *port,
                 uint16_t *local_port)
{
    if (addr != NULL)
        *addr = c->node.raddr;
    if (port != NULL)
        *port = rte_be_to_cpu_16(c->node.rport);
    if (local_port != NULL)
        *local_port = rte_be_to_cpu_16(c->node.lport);
}

struct pt_tcp *
pt_tcp_conn_stack(const struct pt_tcp_conn *c)
{
    return c->tcp;
}

uint32_t
pt_tcp_conn_laddr(const struct pt_tcp_conn *c)
{
    return c->node.laddr;
}

void
pt_tcp_conn_set_user(struct pt_tcp_conn *c, void *user)
{
    c->user = user;
}

/* Data may be queued once established (or, for an active open, before:
 * it leaves when the handshake completes) until we close our side. */
static inline bool
can_send(const struct pt_tcp_conn *c)
{
    return !(c->flags & (CF_FIN_QUEUED | CF_DEAD)) &&
           (c->node.state == PT_TCP_ESTABLISHED ||
            c->node.state == PT_TCP_CLOSE_WAIT ||
            c->node.state == PT_TCP_SYN_SENT);
}

uint32_t
pt_tcp_send_space(const struct pt_tcp_conn *c)
{
    if (!can_send(c) || c->snd_queued >= c->tcp->snd_buf)
        return 0;
    return c->tcp->snd_buf - c->snd_queued;
}

int
pt_tcp_send(struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    uint32_t len = rte_pktmbuf_pkt_len(m);
    struct rte_mbuf *last;

    PT_HOT_ASSERT_OWNER(&c->tcp->owner_lcore);
    if (!can_send(c))
        return -EPIPE;
    if (len > pt_tcp_send_space(c))
        return -EAGAIN;
    if (len == 0) {
        rte_pktmbuf_free(m);
        return 0;
    }
    /* the queue is one chain of segments; only data_len counts there */
    last = rte_pktmbuf_lastseg(m);
    if (c->snd_tail != NULL)
        c->snd_tail->next = m;
    else
        c->snd_head = m;
    c->snd_tail = last;
    c->snd_queued += len;
    pt_tcp_pending(c);
    return (int)len;
}

int
pt_tcp_write(struct pt_tcp_conn *c, const void *p, uint32_t len)
{
    struct rte_mbuf *tail = c->snd_tail, *fresh[4], *last = NULL;
    const uint8_t *src = p;
    uint32_t room = 0, need, nfresh = 0;

    PT_HOT_ASSERT_OWNER(&c->tcp->owner_lcore);
    if (!can_send(c))
        return -EPIPE;
    if (len > pt_tcp_send_space(c))
        return -EAGAIN;
    if (len == 0)
        return 0;
    /* the tail is ours to extend when it is a plain buffer nobody shares
     * (bytes already sent stay where they are; the new ones go after) */
    if (tail != NULL && RTE_MBUF_DIRECT(tail) &&
        rte_mbuf_refcnt_read(tail) == 1)
        room = rte_pktmbuf_tailroom(tail);
    need = len > room ? len - room : 0;
    if (need > 0) {
        uint32_t seg = rte_pktmbuf_data_room_size(c->tcp->net->pool) -
                       RTE_PKTMBUF_HEADROOM;

        nfresh = (need + seg - 1) / seg;
        if (nfresh > RTE_DIM(fresh))
            return -EMSGSIZE;
        if (rte_pktmbuf_alloc_bulk(c->tcp->net->pool, fresh, nfresh) != 0) {
            tcp_count(c->tcp, PT_TCP_C_NO_MBUF);
            return -ENOBUFS;
        }
    }
    if (room > 0) {
        uint32_t n = RTE_MIN(room, len);

        memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t *, tail->data_len), src,
               n);
        tail->data_len = (uint16_t)(tail->data_len + n);
        src += n;
    }
    for (uint32_t i = 0; i < nfresh; i++) {
        struct rte_mbuf *m = fresh[i];
        uint32_t n = RTE_MIN(need, (uint32_t)rte_pktmbuf_tailroom(m));

        memcpy(rte_pktmbuf_mtod(m, uint8_t *), src, n);
        m->data_len = (uint16_t)n;
        m->pkt_len = n;
        src += n;
        need -= n;
        if (last != NULL)
            last->next = m;
        else if (c->snd_tail != NULL)
            c->snd_tail->next = m;
        else
            c->snd_head = m;
        last = m;
    }
    if (last != NULL)
        c->snd_tail = last;
    c->snd_queued += len;
    pt_tcp_pending(c);
    return (int)len;
}

void
pt_tcp_recved(struct pt_tcp_conn *c, uint32_t bytes)
{
    struct pt_tcp *tcp = c->tcp;
    uint32_t wnd, adv_wnd;

    PT_HOT_ASSERT_OWNER(&tcp->owner_lcore);
    if (c->flags & CF_DEAD)
        return;
    c->rcv_held = bytes >= c->rcv_held ? 0 : c->rcv_held - bytes;
    /*
     * Receiver-side silly window avoidance (RFC 1122 4.2.3.3): announce a
     * reopened window only once it grew by a full segment or half the
     * budget, whichever is smaller.
     */
    wnd = pt_tcp_rcv_window(c);
    adv_wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (wnd >= adv_wnd + tcp->sws_min) {
        c->flags |= CF_WND_UPDATE;
        pt_tcp_pending(c);
    }
}

int
pt_tcp_close(struct pt_tcp_conn *c)
{
    PT_HOT_ASSERT_OWNER(&c->tcp->owner_lcore);
    if (c->flags & (CF_FIN_QUEUED | CF_DEAD))
        return -EPIPE;
    c->flags |= CF_FIN_QUEUED;
    pt_tcp_pending(c);
    return 0;
}

void
pt_tcp_abort(struct pt_tcp_conn *c)
{
    PT_HOT_ASSERT_OWNER(&c->tcp->owner_lcore);
    if (c->flags & CF_DEAD)
        return;
    if (c->node.state != PT_TCP_SYN_SENT) /* the peer holds no state yet */
        pt_tcp_send_rst(c);
    tcp_count(c->tcp, PT_TCP_C_ABORTED);
    pt_tcp_kill(c, -ECONNABORTED);
}
