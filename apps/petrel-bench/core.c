/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A bench core: its stack (pt_net + pt_tcp over its own queue pair), its
 * clients, and the poll loop that runs the phases of bench.h:
 *
 *   CONNECT        open clients (paced by --connect-rate, at most
 *                  --max-pending handshakes in flight)
 *   WARMUP/MEASURE publishers send: closed loop (each within its window of
 *                  undelivered messages) or open loop (the core's share of
 *                  --rate on a fixed schedule, stamped with the scheduled
 *                  time so a broker falling behind shows as latency)
 *   DRAIN          nothing new is sent
 *   CLOSE          DISCONNECT + FIN for every session, a slice per poll
 *   STOP           reset whatever is left and return
 *
 * Core 0 also resolves the broker's MAC by ARP before anything opens; the
 * flood generator (--flood) runs on every core from then until CLOSE.
 *
 * Threading: everything here runs on the core's lcore, but pb_core_setup()
 * and pb_core_free() (main lcore, before launch / after the lcore
 * returned).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <petrel/clock.h>
#include <petrel/config.h>

#include "bench.h"

#define BURST 32
#define OPENS_PER_POLL 64
#define SENDS_PER_POLL 256
#define CLOSES_PER_POLL 1024
#define IDLE_YIELD_POLLS 256
#define RX_BURSTS_PER_POLL 16
#define STOP_DRAIN_NS (5 * 1000 * 1000 * 1000ull)
#define ARP_RETRY_NS (100 * 1000 * 1000ull)

/*
 * Transmit. What the device refuses (the peer not draining a memif ring
 * fast enough) waits in the core's backlog, in order, and goes first at
 * the next poll: a load generator would rather wait for the device than
 * lose a SYN and sit out a retransmission timeout. Only when the backlog
 * is full are frames refused (counted; the caller frees them).
 */
static uint16_t
port_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct pb_core *c = ctx;
    uint16_t sent = 0, k;

    if (c->txq_n == 0) {
        sent = rte_eth_tx_burst(c->run->port_id, c->queue_id, pkts, n);
        if (sent == n)
            return n;
    }
    k = (uint16_t)RTE_MIN((uint32_t)(n - sent), PB_TXQ - c->txq_n);
    memcpy(&c->txq[c->txq_n], pkts + sent, k * sizeof(*pkts));
    c->txq_n += k;
    if (sent + k < n)
        pb_count(c, PB_C_TX_FULL, n - sent - k);
    return sent + k;
}

/* Send what waits in the backlog. */
static void
txq_drain(struct pb_core *c)
{
    uint16_t sent;

    while (c->txq_n > 0) {
        sent = rte_eth_tx_burst(c->run->port_id, c->queue_id, c->txq,
                                (uint16_t)RTE_MIN(c->txq_n, 512u));
        if (sent == 0)
            return;
        c->txq_n -= sent;
        memmove(c->txq, c->txq + sent, c->txq_n * sizeof(*c->txq));
    }
}

static inline int
phase(const struct pb_core *c)
{
    return __atomic_load_n(&c->run->phase, __ATOMIC_ACQUIRE);
}

static inline struct pb_client *
client_at(struct pb_core *c, uint32_t local)
{
    return &c->run->clients[(uint64_t)local * c->run->o->cores + c->idx];
}

int
pb_core_setup(struct pb_core *c, struct pb_run *run, unsigned idx,
              unsigned lcore_id)
{
    const struct pb_opts *o = run->o;
    struct pt_net_conf nc;
    struct pt_tcp_conf tc;
    struct pt_config cfg;
    struct rte_ether_addr mac;
    uint32_t n;

    c->run = run;
    c->idx = idx;
    c->lcore_id = lcore_id;
    c->queue_id = (uint16_t)idx;
    n = run->n_clients / o->cores + (idx < run->n_clients % o->cores);
    c->n_clients = n;
    pb_client_ops(&c->ops);
    if (rte_eth_macaddr_get(run->port_id, &mac) != 0)
        return -ENODEV;

    memset(&nc, 0, sizeof(nc));
    nc.mac = mac;
    nc.ip = o->src_ip;
    nc.ip_count = o->src_count;
    nc.prefix_len = o->prefix_len;
    nc.arp_entries = 1024;
    nc.arp_timeout_ns = 3600ull * 1000000000ull;
    nc.pool = c->pool;
    nc.tx = port_tx;
    nc.tx_ctx = c;
    nc.socket_id = (int)rte_lcore_to_socket_id(lcore_id);
    c->net = pt_net_create(&nc);
    if (c->net == NULL)
        return -rte_errno;

    pt_config_defaults(&cfg);
    pt_tcp_conf_from_config(&tc, &cfg);
    tc.net = c->net;
    tc.max_conns = n + 64;
    tc.time_wait_max = n + 64;
    tc.syncookies = false;
    tc.syn_retries = PB_SYN_RETRIES;
    tc.rcv_buf = o->tcp_rcv_buf;
    tc.snd_buf = o->tcp_snd_buf;
    tc.tx_cksum_offload = run->tx_cksum;
    tc.now_ns = pt_clock_ns();
    tc.socket_id = nc.socket_id;
    c->tcp = pt_tcp_create(&tc);
    if (c->tcp == NULL)
        return -rte_errno;

    c->lat = pb_hist_new(3600ull * 1000000000ull, 3);
    c->conn_lat = pb_hist_new(3600ull * 1000000000ull, 3);
    if (c->lat == NULL || c->conn_lat == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        struct pb_client *cl = client_at(c, i);

        cl->core = c;
        if (cl->role == PB_ROLE_PUB)
            c->n_pubs++;
    }
    c->pubs = calloc(c->n_pubs ? c->n_pubs : 1, sizeof(*c->pubs));
    if (c->pubs == NULL)
        return -ENOMEM;
    c->n_pubs = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct pb_client *cl = client_at(c, i);

        if (cl->role == PB_ROLE_PUB)
            c->pubs[c->n_pubs++] = cl;
    }
    return 0;
}

void
pb_core_free(struct pb_core *c)
{
    /* the core reset its connections before it returned (reset_all);
     * what is still queued is freed, not sent: the net is its lcore's */
    if (c->tcp != NULL)
        pt_tcp_free(c->tcp);
    if (c->net != NULL)
        pt_net_free(c->net);
    pb_flood_free(c->flood);
    pb_hist_free(c->lat);
    pb_hist_free(c->conn_lat);
    free(c->pubs);
    c->tcp = NULL;
    c->net = NULL;
    c->flood = NULL;
    c->lat = c->conn_lat = NULL;
    c->pubs = NULL;
}

/* Core 0: learn the broker's MAC. */
static void
resolve_broker(struct pb_core *c, uint64_t now, uint64_t *next_try)
{
    struct rte_ether_addr mac;

    if (pt_net_neigh_lookup(c->net, c->run->o->broker_ip, now, &mac) == 0) {
        c->run->broker_mac = mac;
        __atomic_store_n(&c->run->broker_mac_ok, 1, __ATOMIC_RELEASE);
        return;
    }
    if (now >= *next_try) {
        pt_net_resolve(c->net, c->run->o->broker_ip);
        *next_try = now + ARP_RETRY_NS;
    }
}

static void
open_more(struct pb_core *c, uint64_t now)
{
    const struct pb_opts *o = c->run->o;
    uint32_t budget = OPENS_PER_POLL;

    if (c->next_open >= c->n_clients && c->retry == NULL)
        return;
    if (c->pending >= o->max_pending)
        return;
    budget = RTE_MIN(budget, o->max_pending - c->pending);
    if (o->connect_rate != 0) {
        double rate = (double)o->connect_rate / o->cores;

        if (c->open_last_ns == 0)
            c->open_last_ns = now;
        c->open_credit += (double)(now - c->open_last_ns) * rate / 1e9;
        c->open_last_ns = now;
        if (c->open_credit > OPENS_PER_POLL)
            c->open_credit = OPENS_PER_POLL;
        if (c->open_credit < 1)
            return;
        budget = RTE_MIN(budget, (uint32_t)c->open_credit);
    }
    while (budget > 0) {
        /* opens that timed out go again first, from another tuple */
        bool retry = c->retry != NULL;
        struct pb_client *cl;
        int rc;

        if (retry)
            cl = c->retry;
        else if (c->next_open < c->n_clients)
            cl = client_at(c, c->next_open);
        else
            break;
        if (cl->laddr == 0 &&
            pb_tuple_next(c->run, c->idx, o->cores, &c->next_tuple,
                          &cl->laddr, &cl->lport) != 0) {
            /* out of (address, port) pairs: this one cannot open */
            pb_count(c, PB_C_CONN_FAILED, 1);
            cl->state = PB_CL_FAILED;
            c->open_done++;
        } else {
            rc = pb_client_open(c, cl, now);
            if (rc == -EADDRINUSE) {
                cl->laddr = 0;    /* still in TIME_WAIT: take another */
                pb_count(c, PB_C_CONN_RETRIED, 1);
                continue;
            }
            if (rc != 0) {        /* no ARP entry, pool empty: later */
                pb_count(c, PB_C_CONN_RETRIED, 1);
                return;
            }
            budget--;
            if (o->connect_rate != 0)
                c->open_credit -= 1;
        }
        if (retry)
            c->retry = cl->link;
        else
            c->next_open++;
    }
}

/* Next publisher from the cursor that may send now, or NULL. */
static struct pb_client *
next_pub(struct pb_core *c)
{
    for (uint32_t i = 0; i < c->n_pubs; i++) {
        struct pb_client *cl = c->pubs[c->pub_cursor];

        if (++c->pub_cursor == c->n_pubs)
            c->pub_cursor = 0;
        if (pb_client_can_publish(c, cl))
            return cl;
    }
    return NULL;
}

static void
publish_more(struct pb_core *c, uint64_t now)
{
    const struct pb_opts *o = c->run->o;
    unsigned sends = 0;

    if (c->n_pubs == 0)
        return;
    if (o->rate == 0) {
        /* closed loop: every publisher up to its window */
        for (uint32_t i = 0; i < c->n_pubs && sends < SENDS_PER_POLL; i++) {
            struct pb_client *cl = c->pubs[c->pub_cursor];

            if (++c->pub_cursor == c->n_pubs)
                c->pub_cursor = 0;
            while (sends < SENDS_PER_POLL && pb_client_can_publish(c, cl) &&
                   pb_client_publish(c, cl, now) == 0)
                sends++;
        }
        return;
    }
    /* open loop: the core's share of --rate, on schedule */
    if (c->sched_gap_ns == 0) {
        double share = (double)o->rate * c->n_pubs /
                       (double)RTE_MAX(c->run->n_pubs_total, 1u);

        c->sched_gap_ns = (uint64_t)(1e9 / share);
        if (c->sched_gap_ns == 0)
            c->sched_gap_ns = 1;
        c->sched_ns = now;
    }
    while (c->sched_ns <= now && sends < SENDS_PER_POLL) {
        struct pb_client *cl = next_pub(c);

        if (cl == NULL || pb_client_publish(c, cl, c->sched_ns) != 0)
            break;
        c->sched_ns += c->sched_gap_ns;
        sends++;
    }
}

/* Close sessions, at most --max-pending closes in flight per core (a
 * million DISCONNECTs at once would only overflow the port and the
 * broker's rings, and come back as retransmissions). */
static void
close_more(struct pb_core *c)
{
    const struct pb_opts *o = c->run->o;

    for (unsigned k = 0; k < CLOSES_PER_POLL && c->close_cursor < c->n_clients &&
                         c->closing < o->max_pending;
         k++)
        pb_client_close(c, client_at(c, c->close_cursor++));
}

/*
 * The end: reset what is still open, a slice at a time, and let the port
 * take every RST (the broker must not keep sessions a dropped RST would
 * leave behind), for at most STOP_DRAIN_NS.
 */
static void
reset_all(struct pb_core *c)
{
    struct rte_mbuf *pkts[BURST];
    uint64_t until = pt_clock_ns() + STOP_DRAIN_NS;
    uint32_t i = 0;

    while (pt_clock_ns() < until) {
        for (unsigned k = 0; k < BURST * 8 && i < c->n_clients; i++) {
            struct pb_client *cl = client_at(c, i);

            if (cl->conn != NULL) {
                pt_tcp_abort(cl->conn);
                k++;
            }
        }
        pt_tcp_flush(c->tcp);
        pt_net_flush(c->net);
        txq_drain(c);
        uint16_t n = rte_eth_rx_burst(c->run->port_id, c->queue_id, pkts,
                                      BURST);
        rte_pktmbuf_free_bulk(pkts, n);
        if (i >= c->n_clients && c->txq_n == 0)
            break;
    }
    pt_tcp_shutdown(c->tcp);
    pt_net_flush(c->net);
    rte_pktmbuf_free_bulk(c->txq, c->txq_n);
    c->txq_n = 0;
}

static void
flood_more(struct pb_core *c, uint64_t now)
{
    const struct pb_opts *o = c->run->o;
    struct rte_mbuf *pkts[BURST];
    uint16_t n, sent;

    if (c->flood == NULL) {
        struct pb_flood_conf fc = {
            .mode = o->flood_mode,
            .src_ip = o->flood_src_ip,
            .src_ip_count = o->flood_src_count,
            .src_port_min = 1024,
            .src_port_max = 65535,
            .dst_ip = o->broker_ip,
            .dst_port = o->broker_port,
            .rate_pps = RTE_MAX(o->flood_rate / o->cores, 1ul),
            .seed = 0x9e3779b97f4a7c15ull * (c->idx + 1),
            .tx_cksum_offload = c->run->tx_cksum,
            .pool = c->pool,
        };

        rte_eth_macaddr_get(c->run->port_id, &fc.src_mac);
        fc.dst_mac = c->run->broker_mac;
        c->flood = pb_flood_create(&fc);
        if (c->flood == NULL) {
            c->flood_failed = 1;
            return;
        }
    }
    n = pb_flood_fill(c->flood, now, pkts, BURST);
    if (n == 0)
        return;
    /* flood frames never wait: a full device drops them */
    sent = c->txq_n == 0
               ? rte_eth_tx_burst(c->run->port_id, c->queue_id, pkts, n)
               : 0;
    pb_count(c, PB_C_FLOOD_SENT, sent);
    if (sent < n) {
        pb_count(c, PB_C_FLOOD_DROPPED, n - sent);
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    }
}

int
pb_core_main(void *arg)
{
    struct pb_core *c = arg;
    struct pb_run *run = c->run;
    struct rte_mbuf *pkts[BURST];
    uint64_t next_arp = 0;
    unsigned idle = 0;
    int ph;

    while ((ph = phase(c)) != PB_PH_STOP) {
        uint16_t n;
        uint64_t now;

        txq_drain(c);
        now = pt_clock_ns();
        pt_tcp_tick(c->tcp, now);
        /* Take everything that came in before sending more: a core that
         * sends 256 messages a loop but reads 32 frames would let the
         * broker's answers overflow the port's ring (its drops become
         * retransmissions, and the run measures those). */
        n = 0;
        for (unsigned b = 0; b < RX_BURSTS_PER_POLL; b++) {
            uint16_t k = rte_eth_rx_burst(run->port_id, c->queue_id, pkts,
                                          BURST);

            if (k == 0)
                break;
            pt_net_input(c->net, pkts, k, now);
            n += k;
            if (k < BURST)
                break;
        }
        if (!__atomic_load_n(&run->broker_mac_ok, __ATOMIC_ACQUIRE)) {
            if (c->idx == 0)
                resolve_broker(c, now, &next_arp);
            pt_net_flush(c->net);
            continue;
        }
        switch (ph) {
        case PB_PH_CONNECT:
            open_more(c, now);
            break;
        case PB_PH_WARMUP:
        case PB_PH_MEASURE:
            publish_more(c, now);
            break;
        case PB_PH_CLOSE:
            close_more(c);
            break;
        default:
            break;
        }
        if (run->o->flood && ph < PB_PH_CLOSE && !c->flood_failed)
            flood_more(c, now);
        pt_tcp_flush(c->tcp);
        pt_net_flush(c->net);
        __atomic_store_n(&c->up_now, c->up, __ATOMIC_RELAXED);
        __atomic_store_n(&c->pending_now, c->pending, __ATOMIC_RELAXED);
        __atomic_store_n(&c->open_done_now, c->open_done, __ATOMIC_RELAXED);
        __atomic_store_n(&c->closing_now, c->closing, __ATOMIC_RELAXED);
        /* Nothing came in for a while: let a thread that shares our CPU
         * run (on a small machine, the broker's control plane, which
         * answers the logins we are waiting for). A spin otherwise. */
        if (n > 0 || c->txq_n > 0)
            idle = 0;
        else if (++idle >= IDLE_YIELD_POLLS) {
            idle = 0;
            sched_yield();
        }
    }
    reset_all(c);
    __atomic_store_n(&c->up_now, c->up, __ATOMIC_RELAXED);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return 0;
}
