/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The route lookup a PUBLISH costs its core, with N routes loaded (1k,
 * 100k, 1M (filter, core) pairs): the global route table alone, and the
 * per-core fan-out step around it (dataplane/mqtt_fanout.c) when its
 * topic cache hits and when it misses.
 *
 * Set-up, once per N and shared by the three benchmarks of that N (they
 * are registered N by N for that): a one-core broker as bench_mqtt wires
 * it (pt_net with a driver that frees, pt_tcp, pt_broker_create with
 * mqtt.max_routes = N + 64 and the other pools cut down,
 * pt_broker_ctl_attach, pt_mqtt_core_create), then N routes staged with
 * pt_mqtt_route_add() on the broker's table, for core 0, and made
 * visible (pt_mqtt_route_poll() and the core's quiescent state until
 * visible_seq covers them). Filters follow bench_mqtt_trie's fleet: 16
 * fleet-wide filters, then for device i/8 85% devices/<id>/telemetry/<n>,
 * 10% devices/<id>/+/<n>, 5% devices/<id>/# (the last can repeat within a
 * device: routes_used says how many distinct routes that left).
 * Topics published: devices/<id>/telemetry/<n>, 28 bytes, no topic twice
 * in a set (devices beyond the load's match the fleet-wide filters).
 *
 *   bm_route_match/routes:N        pt_mqtt_route_match(): one acquire
 *                                  load and the active trie's mask match,
 *                                  over 4096 topics in turn.
 *   bm_route_fanout_hit/routes:N   pt_mqtt_publish_route() on a message
 *                                  whose topic is cached: 512 topics that
 *                                  fall in distinct cache slots, so after
 *                                  the first pass every one hits (CRC32 of
 *                                  the topic, compare, two generations).
 *   bm_route_fanout_miss/routes:N  the same over 4096 topics chosen so that
 *                                  each cache slot they use holds two to
 *                                  four of them: every lookup finds the
 *                                  slot taken by another topic and pays
 *                                  the route match and the local trie
 *                                  match, then fills the entry.
 *
 * The topics' slots are chosen with mqtt_fanout.c's own hash
 * (pt_fanout_hash in mqtt_priv.h, through topic_slot below), so the hit
 * topics do hit.
 *
 * What fan-out includes besides the lookup: the route mask has only this
 * core's bit (one core), so nothing goes on a ring (bench_ring has the
 * handoff), and the core has no local subscriber (its trie is empty), so
 * every message ends as mqtt_publish_unrouted; each iteration takes one
 * message reference before the call, which the call drops. Messages are
 * real (pt_msg_build, 64-byte payload), one per topic, built in set-up.
 *
 * Counters: setup_s (wall seconds to stage and publish the N routes),
 * route_table_bytes (rte_malloc bytes of both copies), bytes_per_route,
 * routes_used, matched (fraction of topics with a non-zero mask).
 * Memory: the EAL is given what pt_broker_memory() says the largest N
 * needs, plus the mbuf pool: about 400 MB at 1M routes, 360 MB of it the
 * route table (see docs/performance.md). Every run checks afterwards that
 * each message went through (the unrouted counter grew by the
 * iterations) and that every message is back to one reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include <petrel/broker.h>
#include <petrel/config.h>
#include <petrel/mqtt_route.h>
#include <petrel/net.h>
#include <petrel/tcp.h>

#include "mqtt_priv.h"
#include "pt_bench.h"
#include "pt_test.h"

#define T0_NS (1000ull * 1000000000ull)
#define FLEN 48
#define N_HIT 512
#define N_MISS 4096
#define POOL_MBUFS 8191
#define N_MAX 1000000u

static const uint32_t route_counts[] = { 1000, 100000, N_MAX };

static struct rte_mempool *bench_pool;

/* The broker and routes of one N. */
struct world {
    uint32_t n;
    struct pt_config cfg;
    struct pt_net *net;
    struct pt_tcp *tcp;
    struct pt_broker *broker;
    bool ctl;
    struct pt_mqtt_core *mc;
    double setup_s;
    double matched;
    struct rte_mbuf *hit[N_HIT];
    struct rte_mbuf *miss[N_MISS];
};

static struct world W;
static uint64_t rng = 88172645463325252ull;

static void
config_for(struct pt_config *cfg, uint32_t n)
{
    pt_config_defaults(cfg);
    /* as bench_mqtt: small pools, nothing per lookup depends on them */
    cfg->tcp_max_conns = 1024;
    cfg->tcp_time_wait_max = 1024;
    cfg->mqtt_max_sessions = 1024;
    cfg->mqtt_max_subscriptions = 1024;
    cfg->mqtt_queue_entries = 4096;
    cfg->mqtt_max_retained = 1024;
    cfg->mqtt_allow_anonymous = true;
    cfg->mqtt_max_routes = n + 64;
}

/* The fan-out cache slot mqtt_fanout.c files topic t under. */
static unsigned
topic_slot(const char *t, uint16_t len)
{
    return pt_fanout_hash(t, len) & (PT_FANOUT_SIZE - 1);
}

static uint16_t
bench_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    (void)ctx;
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
}

static void
world_free(struct world *w)
{
    for (unsigned i = 0; i < N_HIT; i++)
        rte_pktmbuf_free(w->hit[i]);
    for (unsigned i = 0; i < N_MISS; i++)
        rte_pktmbuf_free(w->miss[i]);
    if (w->tcp != NULL)
        pt_tcp_free(w->tcp);
    if (w->net != NULL)
        pt_net_flush(w->net);
    if (w->mc != NULL)
        pt_mqtt_core_free(w->mc);
    if (w->ctl)
        pt_broker_ctl_detach(w->broker);
    if (w->broker != NULL)
        pt_broker_free(w->broker);
    if (w->net != NULL)
        pt_net_free(w->net);
    memset(w, 0, sizeof(*w));
}

static void
filter_of(char *f, uint32_t i, uint32_t devices)
{
    uint32_t k = pt_test_rnd(&rng, 100), dev = (i / 8) % devices;

    if (i < 16)
        snprintf(f, FLEN, i == 0 ? "devices/#" : "devices/+/telemetry/%u",
                 i % 8);
    else if (k < 85)
        snprintf(f, FLEN, "devices/d%07u/telemetry/%u", dev, i % 8);
    else if (k < 95)
        snprintf(f, FLEN, "devices/d%07u/+/%u", dev, i % 8);
    else
        snprintf(f, FLEN, "devices/d%07u/#", dev);
}

/* Stage n routes for core 0 and wait until the core sees them all. */
static const char *
load_routes(struct world *w)
{
    struct pt_mqtt_route *r = w->broker->route;
    uint32_t devices = w->n / 8 ? w->n / 8 : 1;
    int64_t last = 0;
    char f[FLEN];

    for (uint32_t i = 0; i < w->n; i++) {
        filter_of(f, i, devices);
        last = pt_mqtt_route_add(r, f, strlen(f), 0);
        if (last < 0)
            return "pt_mqtt_route_add failed";
    }
    for (unsigned spins = 0;
         pt_mqtt_route_visible_seq(r) < (uint64_t)last; spins++) {
        pt_mqtt_route_poll(r);
        pt_mqtt_route_quiescent(r, 0);
        if (spins > 1000000)
            return "route changes never became visible";
    }
    return NULL;
}

static struct rte_mbuf *
message(const char *topic)
{
    static const uint8_t payload[64];

    return pt_msg_build(bench_pool, topic, (uint16_t)strlen(topic), NULL,
                        payload, sizeof(payload), 0, false);
}

/* Topic j of a sequence with no repeats (j < 8 * range): device j / 8
 * (from a random start), sensor j % 8. */
static void
topic_at(char *t, uint32_t j, uint32_t start, uint32_t range)
{
    snprintf(t, FLEN, "devices/d%07u/telemetry/%u", (start + j / 8) % range,
             j % 8);
}

/* 512 distinct topics in distinct slots; 4096 distinct topics in slots of
 * 2..4 of them. Devices beyond the load's (at 1k routes there are only
 * 125) still match the fleet-wide filters. */
static const char *
make_messages(struct world *w)
{
    static uint16_t used[PT_FANOUT_SIZE];
    static char cand[4 * N_MISS][FLEN];
    static uint16_t cand_slot[4 * N_MISS];
    uint32_t range = RTE_MAX(w->n / 8, 8u * N_MISS);
    uint32_t start = pt_test_rnd(&rng, range), j = 0;
    unsigned nh = 0, nm = 0, nc = 0, matched = 0;
    char t[FLEN];

    memset(used, 0, sizeof(used));
    for (; nh < N_HIT && j < 8 * range; j++) {
        unsigned s;

        topic_at(t, j, start, range);
        s = topic_slot(t, (uint16_t)strlen(t));
        if (used[s]++ != 0)
            continue;
        if ((w->hit[nh++] = message(t)) == NULL)
            return "mbuf pool empty";
    }
    /* candidates after those, at most 4 a slot; keep slots with >= 2 */
    memset(used, 0, sizeof(used));
    for (; nc < 4 * N_MISS && j < 8 * range; j++) {
        unsigned s;

        topic_at(cand[nc], j, start, range);
        s = topic_slot(cand[nc], (uint16_t)strlen(cand[nc]));
        if (used[s] >= 4)
            continue;
        used[s]++;
        cand_slot[nc++] = (uint16_t)s;
    }
    for (unsigned i = 0; i < nc && nm < N_MISS; i++) {
        if (used[cand_slot[i]] < 2)
            continue;
        if ((w->miss[nm++] = message(cand[i])) == NULL)
            return "mbuf pool empty";
    }
    if (nh != N_HIT || nm != N_MISS)
        return "could not choose the topics";
    for (unsigned i = 0; i < N_MISS; i++)
        matched += pt_mqtt_route_match(w->broker->route,
                                       pt_msg_topic(w->miss[i]),
                                       pt_msg_meta(w->miss[i])->topic_len)
                   != 0;
    w->matched = (double)matched / N_MISS;
    return NULL;
}

/* The world for n (kept while the benchmarks of one n run). @return it,
 * or NULL after pt_bench_skip_with_error(). */
static struct world *
world_get(struct pt_bench_state *st, uint32_t n)
{
    static const uint8_t secret[16] = "petrel-bench-rt";
    struct world *w = &W;
    struct pt_net_conf nc;
    struct pt_tcp_conf tc;
    const char *why = NULL;
    double t0;

    if (w->n == n)
        return w;
    world_free(w);
    w->n = n;
    config_for(&w->cfg, n);
    pt_test_net_conf(&nc, bench_tx, w);
    nc.pool = bench_pool;
    if ((w->net = pt_net_create(&nc)) == NULL) {
        why = "pt_net_create failed";
        goto fail;
    }
    pt_tcp_conf_from_config(&tc, &w->cfg);
    tc.net = w->net;
    tc.now_ns = T0_NS;
    tc.secret = secret;
    tc.socket_id = SOCKET_ID_ANY;
    if ((w->tcp = pt_tcp_create(&tc)) == NULL) {
        why = "pt_tcp_create failed";
        goto fail;
    }
    w->broker = pt_broker_create(&w->cfg, 1, bench_pool, SOCKET_ID_ANY);
    if (w->broker == NULL) {
        why = rte_errno == ENOMEM ? "pt_broker_create: out of EAL memory"
                                  : "pt_broker_create: invalid sizes";
        goto fail;
    }
    if (pt_broker_ctl_attach(w->broker) != 0) {
        why = "pt_broker_ctl_attach failed";
        goto fail;
    }
    w->ctl = true;
    w->mc = pt_mqtt_core_create(w->broker, 0, w->tcp, bench_pool, T0_NS,
                                SOCKET_ID_ANY);
    if (w->mc == NULL) {
        why = "pt_mqtt_core_create failed";
        goto fail;
    }
    t0 = pt_test_now_s();
    if ((why = load_routes(w)) != NULL)
        goto fail;
    w->setup_s = pt_test_now_s() - t0;
    if ((why = make_messages(w)) != NULL)
        goto fail;
    return w;

fail:
    world_free(w);
    pt_bench_skip_with_error(st, why);
    return NULL;
}

static void
world_counters(struct pt_bench_state *st, const struct world *w)
{
    struct pt_mqtt_route_stats rs;

    pt_mqtt_route_stats(w->broker->route, &rs);
    pt_bench_counter_set(st, "setup_s", w->setup_s, 0);
    pt_bench_counter_set(st, "route_table_bytes",
                         (double)rs.bytes_allocated, PT_BENCH_COUNTER_1024);
    pt_bench_counter_set(st, "bytes_per_route",
                         (double)rs.bytes_allocated / (double)w->n, 0);
    pt_bench_counter_set(st, "routes_used", (double)rs.routes_used, 0);
    pt_bench_counter_set(st, "matched", w->matched, 0);
}

static void
bm_route_match(struct pt_bench_state *st)
{
    struct world *w = world_get(st, (uint32_t)pt_bench_range_x(st, 0));
    uint64_t i = 0, sum = 0;

    if (w == NULL)
        return;
    while (pt_bench_keep_running(st)) {
        const struct rte_mbuf *m = w->miss[i++ & (N_MISS - 1)];

        sum += pt_mqtt_route_match(w->broker->route, pt_msg_topic(m),
                                   pt_msg_meta(m)->topic_len);
    }
    pt_bench_do_not_optimize(&sum);
    world_counters(st, w);
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
}

static void
run_fanout(struct pt_bench_state *st, bool hit)
{
    struct world *w = world_get(st, (uint32_t)pt_bench_range_x(st, 0));
    struct rte_mbuf **msgs;
    uint64_t mask, i = 0, unrouted0;

    if (w == NULL)
        return;
    msgs = hit ? w->hit : w->miss;
    mask = (hit ? N_HIT : N_MISS) - 1;
    unrouted0 = pt_mqtt_core_stats(w->mc)->c[PT_MQTT_C_PUB_NO_SUB];
    while (pt_bench_keep_running(st)) {
        struct rte_mbuf *m = msgs[i++ & mask];

        pt_msg_ref(m);
        pt_mqtt_publish_route(w->mc, m);
    }
    pt_net_flush(w->net);
    if (pt_mqtt_core_stats(w->mc)->c[PT_MQTT_C_PUB_NO_SUB] - unrouted0 != i) {
        pt_bench_skip_with_error(st, "a message was not routed as expected");
        return;
    }
    for (uint64_t k = 0; k <= mask; k++)
        if (rte_mbuf_refcnt_read(msgs[k]) != 1) {
            pt_bench_skip_with_error(st, "a message reference leaked");
            return;
        }
    world_counters(st, w);
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
}

static void
bm_route_fanout_hit(struct pt_bench_state *st)
{
    run_fanout(st, true);
}

static void
bm_route_fanout_miss(struct pt_bench_state *st)
{
    run_fanout(st, false);
}

/* An EAL with mb MB (no hugepages, one lcore) and the message pool. */
static int
eal_start(uint64_t mb)
{
    char prefix[64], mem[32];
    char *argv[] = {
        "bench_route", "--no-huge", "-m", mem, "--no-pci", "--no-shconf",
        prefix, "-l", "0", "--no-telemetry", "--log-level=*:error", NULL,
    };

    snprintf(mem, sizeof(mem), "%llu", (unsigned long long)mb);
    snprintf(prefix, sizeof(prefix), "--file-prefix=pt-bench-route-%d",
             (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
        return -1;
    bench_pool = rte_pktmbuf_pool_create("bench_route_pool", POOL_MBUFS, 256,
                                         0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                         SOCKET_ID_ANY);
    return bench_pool != NULL ? 0 : -1;
}

static void
register_n(const char *name, pt_bench_fn fn, uint32_t n)
{
    struct pt_bench *b = pt_bench_register(name, fn);

    if (b == NULL) {
        perror("bench_route: registering");
        abort();
    }
    pt_bench_arg_name(pt_bench_arg(b, n), "routes");
}

int
main(int argc, char **argv)
{
    struct pt_config cfg;
    uint64_t mb;
    int rc;

    /* the largest N's broker, the pool (2.2 KB a mbuf with its header)
     * and 64 MB for the EAL's own use */
    config_for(&cfg, N_MAX);
    mb = (pt_broker_memory(&cfg, 1) + (uint64_t)POOL_MBUFS * 2432) /
             (1u << 20) + 64;
    if (eal_start(mb) != 0) {
        fprintf(stderr, "bench_route: EAL init with %llu MB failed (run as "
                "root)\n", (unsigned long long)mb);
        return 1;
    }
    /* N by N, so the three benchmarks of one N share its set-up */
    for (size_t i = 0; i < sizeof(route_counts) / sizeof(route_counts[0]);
         i++) {
        register_n("bm_route_match", bm_route_match, route_counts[i]);
        register_n("bm_route_fanout_hit", bm_route_fanout_hit,
                   route_counts[i]);
        register_n("bm_route_fanout_miss", bm_route_fanout_miss,
                   route_counts[i]);
    }
    rc = pt_bench_main(argc, argv);
    world_free(&W);
    return rc;
}
