/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dataplane lcore: poll, run the burst to completion, transmit, repeat
 * (see include/petrel/dataplane.h for the contract and idle policy).
 *
 * Idle state machine of one core (adaptive mode; busy mode stays in SPIN):
 *
 *     SPIN --(PT_IDLE_SPIN_POLLS empty polls)--> NAP(1 us)
 *     NAP(t) --(empty poll)--> NAP(min(2t, max))
 *     SPIN, NAP --(a packet)--> SPIN
 *
 * Invariants: a core never sleeps with a burst in hand; replies are flushed
 * before the next poll; the only cross-core write is the stop flag (main
 * lcore writes, workers read).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <petrel/broker.h>
#include <petrel/clock.h>
#include <petrel/dataplane.h>
#include <petrel/fault.h>
#include <petrel/log.h>
#include <petrel/tcp.h>

PT_LOG_REGISTER(dp_loop, pt.dp.loop, INFO);

#define PT_IDLE_SPIN_POLLS 256
#define PT_GW_PROBE_S 1 /* resolve an unknown gateway this often */
#define PT_BURST_MAX 64u

struct pt_dp_core {
    /* counters: written by the owner only, read by the control plane */
    uint64_t loops;
    uint64_t busy_loops;
    uint64_t naps;
    uint64_t heartbeat_ns;    /* pt_clock_ns() of the last iteration */
    uint32_t stall_ms;        /* debug: the control plane asks for a stall */

    struct pt_net *net;
    struct pt_tcp *tcp;
    struct pt_mqtt_core *mqtt; /* NULL when mqtt.port = 0 */
    struct pt_fault *fault;    /* NULL unless fault.* asks for faults */
    struct rte_mempool *pool;
    const volatile int *stop;
    unsigned lcore_id;
    uint16_t port_id;
    uint16_t queue_id;
    uint16_t burst;
    enum pt_idle_mode idle;
    uint32_t max_sleep_us;
    uint32_t gateway;         /* resolved by core 0; 0 = none */
    uint64_t gw_probe_tsc;    /* interval between gateway probes */
    int launched;
} __rte_cache_aligned;

struct pt_dp {
    volatile int stop __rte_cache_aligned;
    unsigned n;
    enum pt_idle_mode idle;
    const struct pt_config *cfg;
    struct rte_mempool *pools[RTE_MAX_LCORE];
    struct pt_dp_core *cores; /* n of them */
    struct pt_broker *broker; /* NULL when mqtt.port = 0 */
};

static inline void
count(uint64_t *c)
{
    __atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

static uint16_t
port_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    const struct pt_dp_core *c = ctx;

    return rte_eth_tx_burst(c->port_id, c->queue_id, pkts, n);
}

static void
nap(uint32_t us)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

    nanosleep(&ts, NULL);
}

/*
 * Keep the gateway resolved: while it is unknown (or has expired), ask
 * once per PT_GW_PROBE_S; once known, look again 16 probe intervals later
 * (traffic from the gateway refreshes the entry without any probe, and an
 * entry that expires sends us back to probing). Core 0 only.
 * Returns the TSC time of the next check.
 */
static uint64_t
gateway_probe(struct pt_dp_core *c)
{
    struct rte_ether_addr mac;
    uint64_t now = rte_get_tsc_cycles();

    if (pt_net_neigh_lookup(c->net, c->gateway, pt_clock_ns(), &mac) == 0)
        return now + c->gw_probe_tsc * 16;
    if (pt_net_resolve(c->net, c->gateway) == 0)
        pt_net_flush(c->net);
    return now + c->gw_probe_tsc;
}

/* The test hook of `debug stall`: stop polling (and beating) for the time
 * asked, as a core stuck in a bug would. Spins: no nap, no offline. */
static void
debug_stall(struct pt_dp_core *c)
{
    uint32_t ms = __atomic_exchange_n(&c->stall_ms, 0, __ATOMIC_RELAXED);
    uint64_t until = pt_clock_ns() + (uint64_t)ms * 1000000u;

    PT_LOG(WARNING, dp_loop, "core %u: stalling for %u ms on request",
           c->queue_id, ms);
    while (pt_clock_ns() < until && !*c->stop)
        rte_pause();
}

static int
dp_main(void *arg)
{
    struct pt_dp_core *c = arg;
    struct rte_mbuf *pkts[PT_BURST_MAX];
    uint32_t empty = 0, sleep_us = 1;
    uint64_t next_gw = 0;

    PT_LOG(INFO, dp_loop, "core %u on lcore %u polls port %u queue %u (%s)",
           c->queue_id, c->lcore_id, c->port_id, c->queue_id,
           pt_idle_mode_name(c->idle));

    /* Core 0 introduces us to the link. */
    if (c->queue_id == 0 && pt_net_announce(c->net) == 0)
        pt_net_flush(c->net);

    while (!*c->stop) {
        uint16_t n = rte_eth_rx_burst(c->port_id, c->queue_id, pkts, c->burst);
        uint64_t now = pt_clock_ns();

        count(&c->loops);
        __atomic_store_n(&c->heartbeat_ns, now, __ATOMIC_RELAXED);
        if (unlikely(__atomic_load_n(&c->stall_ms, __ATOMIC_RELAXED) != 0))
            debug_stall(c);
        if (unlikely(c->gateway != 0) && rte_get_tsc_cycles() >= next_gw)
            next_gw = gateway_probe(c);
        if (unlikely(c->fault != NULL)) {
            pt_fault_poll(c->fault, now);
            n = pt_fault_rx(c->fault, pkts, n, PT_BURST_MAX, now);
        }
        /* TCP timers (1 ms ticks; next to nothing when none is due) */
        pt_tcp_tick(c->tcp, now);
        if (n > 0) {
            count(&c->busy_loops);
            pt_net_input(c->net, pkts, n, now);
        }
        /* the other cores' and the control plane's descriptors */
        if (c->mqtt != NULL && pt_mqtt_core_poll(c->mqtt, now) > 0)
            n = 1;
        pt_net_flush(c->net); /* replies, and what timers sent */
        if (n > 0) {
            empty = 0;
            sleep_us = 1;
            continue;
        }
        if (c->idle == PT_IDLE_BUSY || ++empty < PT_IDLE_SPIN_POLLS) {
            rte_pause();
            continue;
        }
        if (c->mqtt != NULL) {
            if (pt_mqtt_core_pending(c->mqtt))
                continue;
            pt_mqtt_core_idle(c->mqtt, true);  /* no grace period waits */
        }
        nap(sleep_us);
        if (c->mqtt != NULL)
            pt_mqtt_core_idle(c->mqtt, false);
        count(&c->naps);
        sleep_us = RTE_MIN(sleep_us * 2, c->max_sleep_us);
    }
    /* tell every peer we are going: RSTs out before the port stops */
    pt_tcp_shutdown(c->tcp);
    pt_net_flush(c->net);
    PT_LOG(INFO, dp_loop, "core %u on lcore %u stopped", c->queue_id,
           c->lcore_id);
    return 0;
}

struct pt_dp *
pt_dp_create(const struct pt_config *cfg)
{
    struct pt_dp *dp;
    unsigned lcore, i = 0;

    dp = rte_zmalloc("pt_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
    if (dp == NULL) {
        rte_errno = ENOMEM;
        return NULL;
    }
    dp->cfg = cfg;
    dp->n = cfg->dp_cores;
    dp->idle = cfg->idle;
    if (dp->idle == PT_IDLE_AUTO) {
        cpu_set_t set;
        int cpus = sched_getaffinity(0, sizeof(set), &set) == 0
                       ? CPU_COUNT(&set)
                       : (int)sysconf(_SC_NPROCESSORS_ONLN);

        /* the CPUs this process may use, as lcore placement counts them */
        dp->idle = cpus < 4 ? PT_IDLE_ADAPTIVE : PT_IDLE_BUSY;
    }
    if (rte_lcore_count() < dp->n + 1) {
        PT_LOG(ERR, dp_loop, "dp.cores = %u needs %u lcores, EAL has %u",
               dp->n, dp->n + 1, rte_lcore_count());
        rte_free(dp);
        rte_errno = ENODEV;
        return NULL;
    }
    dp->cores = rte_zmalloc("pt_dp_cores", sizeof(*dp->cores) * dp->n,
                            RTE_CACHE_LINE_SIZE);
    if (dp->cores == NULL)
        goto nomem;

    RTE_LCORE_FOREACH_WORKER(lcore) {
        struct pt_dp_core *c;
        char name[RTE_MEMPOOL_NAMESIZE];
        unsigned cache;

        if (i == dp->n)
            break;
        c = &dp->cores[i];
        c->lcore_id = lcore;
        c->queue_id = (uint16_t)i;
        c->stop = &dp->stop;
        c->burst = (uint16_t)RTE_MIN(cfg->burst, PT_BURST_MAX);
        c->idle = dp->idle;
        c->max_sleep_us = cfg->idle_max_sleep_us;
        snprintf(name, sizeof(name), "pt_mbuf_%u", i);
        cache = RTE_MIN((unsigned)RTE_MEMPOOL_CACHE_MAX_SIZE,
                        cfg->mbufs_per_core / 16);
        c->pool = rte_pktmbuf_pool_create(name, cfg->mbufs_per_core, cache, 0,
                                          RTE_MBUF_DEFAULT_BUF_SIZE,
                                          (int)rte_lcore_to_socket_id(lcore));
        if (c->pool == NULL) {
            PT_LOG(ERR, dp_loop, "mempool %s (%u mbufs): %s", name,
                   cfg->mbufs_per_core, rte_strerror(rte_errno));
            goto nomem;
        }
        dp->pools[i] = c->pool;
        i++;
    }
    return dp;

nomem:
    pt_dp_destroy(dp);
    rte_errno = ENOMEM;
    return NULL;
}

struct rte_mempool *const *
pt_dp_pools(const struct pt_dp *dp)
{
    return dp->pools;
}

unsigned
pt_dp_n_cores(const struct pt_dp *dp)
{
    return dp->n;
}

enum pt_idle_mode
pt_dp_idle_mode(const struct pt_dp *dp)
{
    return dp->idle;
}

struct pt_dp_core *
pt_dp_core(struct pt_dp *dp, unsigned i)
{
    return i < dp->n ? &dp->cores[i] : NULL;
}

int
pt_dp_launch(struct pt_dp *dp, const struct pt_port *port)
{
    const struct pt_config *cfg = dp->cfg;
    int rc;

    if (cfg->mqtt_port != 0) {
        dp->broker = pt_broker_create(cfg, dp->n, dp->cores[0].pool,
                                      (int)rte_socket_id());
        if (dp->broker == NULL) {
            rc = -rte_errno;
            PT_LOG(ERR, dp_loop, "MQTT broker: %s", rte_strerror(rte_errno));
            goto fail;
        }
    }
    for (unsigned i = 0; i < dp->n; i++) {
        struct pt_dp_core *c = &dp->cores[i];
        struct pt_net_conf nc = {
            .mac = port->mac,
            .ip = cfg->ip,
            .prefix_len = cfg->prefix_len,
            .arp_entries = cfg->arp_entries,
            .arp_timeout_ns = (uint64_t)cfg->arp_timeout_s * 1000000000u,
            .pool = c->pool,
            .tx = port_tx,
            .tx_ctx = c,
            .socket_id = (int)rte_lcore_to_socket_id(c->lcore_id),
        };
        struct pt_fault_conf fc = {
            .pool = c->pool,
            .tx_fn = port_tx,
            .tx_ctx = c,
            .socket_id = nc.socket_id,
        };
        struct pt_tcp_conf tc;

        pt_fault_conf_from_config(&fc, cfg, i);
        if (pt_fault_conf_active(&fc)) {
            c->fault = pt_fault_create(&fc);
            if (c->fault == NULL) {
                rc = -rte_errno;
                goto fail;
            }
            nc.tx = pt_fault_tx;
            nc.tx_ctx = c->fault;
            PT_LOG(WARNING, dp_loop, "core %u: fault injection is on", i);
        }
        c->port_id = port->port_id;
        c->gateway = i == 0 ? cfg->gateway : 0;
        c->gw_probe_tsc = rte_get_tsc_hz() * PT_GW_PROBE_S;
        c->net = pt_net_create(&nc);
        if (c->net == NULL) {
            rc = -rte_errno;
            goto fail;
        }
        pt_tcp_conf_from_config(&tc, cfg);
        tc.net = c->net;
        tc.tx_cksum_offload = port->tx_cksum;
        tc.now_ns = pt_clock_ns();
        tc.socket_id = nc.socket_id;
        c->tcp = pt_tcp_create(&tc);
        if (c->tcp == NULL) {
            rc = -rte_errno;
            PT_LOG(ERR, dp_loop, "core %u: TCP stack (%u connections): %s",
                   i, cfg->tcp_max_conns, rte_strerror(rte_errno));
            goto fail;
        }
        if (cfg->tcp_echo_port != 0) {
            rc = pt_tcp_echo_listen(c->tcp, cfg->tcp_echo_port);
            if (rc != 0)
                goto fail;
        }
        if (dp->broker != NULL) {
            c->mqtt = pt_mqtt_core_create(dp->broker, i, c->tcp, c->pool,
                                          tc.now_ns, nc.socket_id);
            if (c->mqtt == NULL) {
                rc = -rte_errno;
                PT_LOG(ERR, dp_loop, "core %u: MQTT: %s", i,
                       rte_strerror(rte_errno));
                goto fail;
            }
        }
    }
    if (cfg->tcp_echo_port != 0)
        PT_LOG(INFO, dp_loop, "TCP echo listener on port %u",
               cfg->tcp_echo_port);
    if (cfg->mqtt_port != 0)
        PT_LOG(INFO, dp_loop, "MQTT listener on port %u, %u cores",
               cfg->mqtt_port, dp->n);
    dp->stop = 0;
    for (unsigned i = 0; i < dp->n; i++) {
        struct pt_dp_core *c = &dp->cores[i];

        rc = rte_eal_remote_launch(dp_main, c, c->lcore_id);
        if (rc != 0)
            goto fail;
        c->launched = 1;
    }
    return 0;

fail:
    PT_LOG(ERR, dp_loop, "launching the dataplane: %s", strerror(-rc));
    pt_dp_stop(dp);
    return rc;
}

void
pt_dp_stop(struct pt_dp *dp)
{
    dp->stop = 1;
    rte_wmb();
    for (unsigned i = 0; i < dp->n; i++) {
        struct pt_dp_core *c = &dp->cores[i];

        if (c->launched) {
            rte_eal_wait_lcore(c->lcore_id);
            c->launched = 0;
        }
    }
}

void
pt_dp_destroy(struct pt_dp *dp)
{
    if (dp == NULL)
        return;
    for (unsigned i = 0; dp->cores != NULL && i < dp->n; i++) {
        /* TCP first: its `closed` callbacks still reach the MQTT core */
        pt_tcp_free(dp->cores[i].tcp);
        pt_mqtt_core_free(dp->cores[i].mqtt);
    }
    /* the rings hold mbufs of the cores' pools: drain them first */
    pt_broker_free(dp->broker);
    for (unsigned i = 0; dp->cores != NULL && i < dp->n; i++) {
        pt_net_free(dp->cores[i].net);
        pt_fault_free(dp->cores[i].fault);
        rte_mempool_free(dp->cores[i].pool);
    }
    rte_free(dp->cores);
    rte_free(dp);
}

struct pt_broker *
pt_dp_broker(struct pt_dp *dp)
{
    return dp->broker;
}

/* Copy a block of 64-bit counters written by another lcore (relaxed
 * loads: one burst old at worst, never torn); zeros when src is NULL. */
static void
load_relaxed(void *dst, const void *src, size_t size)
{
    const uint64_t *s = src;
    uint64_t *d = dst;

    if (src == NULL) {
        memset(dst, 0, size);
        return;
    }
    for (size_t i = 0; i < size / sizeof(uint64_t); i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

void
pt_dp_core_info(const struct pt_dp_core *c, struct pt_dp_core_info *out)
{
    out->lcore_id = c->lcore_id;
    out->queue_id = c->queue_id;
    out->loops = __atomic_load_n(&c->loops, __ATOMIC_RELAXED);
    out->heartbeat_ns = __atomic_load_n(&c->heartbeat_ns, __ATOMIC_RELAXED);
    out->busy_loops = __atomic_load_n(&c->busy_loops, __ATOMIC_RELAXED);
    out->naps = __atomic_load_n(&c->naps, __ATOMIC_RELAXED);
    out->pool_size = c->pool ? c->pool->size : 0;
    out->pool_in_use = c->pool ? rte_mempool_in_use_count(c->pool) : 0;
    load_relaxed(&out->net, c->net ? pt_net_stats(c->net) : NULL,
                 sizeof(out->net));
    load_relaxed(&out->tcp, c->tcp ? pt_tcp_stats(c->tcp) : NULL,
                 sizeof(out->tcp));
    out->mqtt_on = c->mqtt != NULL;
    load_relaxed(&out->mqtt, c->mqtt ? pt_mqtt_core_stats(c->mqtt) : NULL,
                 sizeof(out->mqtt));
    if (c->mqtt != NULL)
        out->mqtt.ring_backlog = pt_mqtt_core_ring_backlog(c->mqtt);
    out->fault_on = c->fault != NULL;
    load_relaxed(&out->fault, c->fault ? pt_fault_stats(c->fault) : NULL,
                 sizeof(out->fault));
}

int
pt_dp_debug_stall(struct pt_dp *dp, unsigned core, uint32_t ms)
{
    if (core >= dp->n || ms == 0)
        return -EINVAL;
    __atomic_store_n(&dp->cores[core].stall_ms, ms, __ATOMIC_RELAXED);
    return 0;
}
