/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-core MQTT subscription trie: cost of match() and of a
 * subscribe + unsubscribe pair with N subscriptions (1k, 100k, 1M)
 * loaded, and the memory per subscription from the trie's own counters.
 *
 * The load of one N is built once (twice, see sized_trie) and shared by
 * the two benchmarks of that N, which main() registers N by N for that
 * (the sub/unsub pair leaves the trie as it found it). setup_s: wall
 * seconds of that build. The EAL gets the memory the first build of the
 * largest N needs (pt_mqtt_trie_memory(), about 180 MB at 1M).
 *
 * Load (a fleet of devices, 8 sensors each, N/8 devices; subscriber i/4
 * owns subscriptions i..i+3, so N/4 subscribers):
 *   - 85%: devices/<id>/telemetry/<n>     (exact, n < 8)
 *   - 10%: devices/<id>/+/<n>
 *   -  5%: devices/<id>/#
 *   - 16 fleet-wide filters devices/+/telemetry/<n> and devices/#
 * Topics published: devices/<id>/telemetry/<n> for random id and n.
 *
 * Counters: bytes_per_sub (pool bytes in use, hash heads included, per
 * subscription), alloc_per_sub (bytes the trie allocated when its node
 * pool is sized to the load, per subscription), nodes_per_sub,
 * delivered_per_match and setup_s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include <petrel/mqtt_trie.h>

#include "pt_bench.h"
#include "pt_test.h"

#define FLEN 48
#define NTOPICS 4096
#define N_MAX 1000000u

static const uint32_t sub_counts[] = { 1000, 100000, N_MAX };

struct load {
    uint32_t n;
    char (*filters)[FLEN];
    uint64_t *ids;
    uint8_t *qos;
    char (*topics)[FLEN];
    char (*extra)[FLEN];    /* filters not in the load, for sub/unsub */
};

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
    return pt_test_rnd(&rng, n);
}

static int
load_make(struct load *l, uint32_t n)
{
    uint32_t devices = n / 8 ? n / 8 : 1;
    uint32_t fleet = 16;

    l->n = n;
    l->filters = calloc(n, FLEN);
    l->ids = calloc(n, sizeof(*l->ids));
    l->qos = calloc(n, 1);
    l->topics = calloc(NTOPICS, FLEN);
    l->extra = calloc(NTOPICS, FLEN);
    if (!l->filters || !l->ids || !l->qos || !l->topics || !l->extra)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t dev = rnd(devices), k = rnd(100);

        if (i < fleet)
            snprintf(l->filters[i], FLEN, i == 0 ? "devices/#"
                                              : "devices/+/telemetry/%u",
                     i % 8);
        else if (k < 85)
            snprintf(l->filters[i], FLEN, "devices/d%07u/telemetry/%u", dev,
                     i % 8);
        else if (k < 95)
            snprintf(l->filters[i], FLEN, "devices/d%07u/+/%u", dev, i % 8);
        else
            snprintf(l->filters[i], FLEN, "devices/d%07u/#", dev);
        l->ids[i] = i / 4;
        l->qos[i] = (uint8_t)(i % 3);
    }
    for (uint32_t i = 0; i < NTOPICS; i++) {
        snprintf(l->topics[i], FLEN, "devices/d%07u/telemetry/%u",
                 rnd(devices), rnd(8));
        snprintf(l->extra[i], FLEN, "devices/d%07u/status/%u", rnd(devices),
                 i);
    }
    return 0;
}

static void
load_free(struct load *l)
{
    free(l->filters);
    free(l->ids);
    free(l->qos);
    free(l->topics);
    free(l->extra);
}

static struct pt_mqtt_trie *
load_trie(const struct load *l, uint32_t max_nodes)
{
    struct pt_mqtt_trie *t = pt_mqtt_trie_create(max_nodes, l->n + 1,
                                                 SOCKET_ID_ANY);

    if (t == NULL)
        return NULL;
    for (uint32_t i = 0; i < l->n; i++) {
        if (pt_mqtt_trie_subscribe(t, l->filters[i], strlen(l->filters[i]),
                                   l->ids[i], l->qos[i]) < 0) {
            pt_mqtt_trie_free(t);
            return NULL;
        }
    }
    return t;
}

/* Build the load twice: once to count nodes, once with the node pool
 * sized to it (+64 for the sub/unsub benchmark's extra nodes). */
static struct pt_mqtt_trie *
sized_trie(struct pt_bench_state *st, struct load *l, uint32_t n)
{
    struct pt_mqtt_trie_stats s;
    struct pt_mqtt_trie *t;

    if (load_make(l, n) != 0) {
        pt_bench_skip_with_error(st, "allocation failed");
        return NULL;
    }
    t = load_trie(l, 2 * n + 64);
    if (t == NULL) {
        pt_bench_skip_with_error(st, "trie load failed");
        return NULL;
    }
    pt_mqtt_trie_stats(t, &s);
    pt_mqtt_trie_free(t);
    t = load_trie(l, (uint32_t)s.nodes_used + 64);
    if (t == NULL)
        pt_bench_skip_with_error(st, "sized trie load failed");
    return t;
}

/* The loaded trie of one N, kept while that N's benchmarks run. */
static struct {
    uint32_t n;
    struct load l;
    struct pt_mqtt_trie *t;
    double setup_s;
} cur;

static void
cur_free(void)
{
    pt_mqtt_trie_free(cur.t);
    load_free(&cur.l);
    memset(&cur, 0, sizeof(cur));
}

/* The trie loaded with n subscriptions, or NULL after
 * pt_bench_skip_with_error(). */
static struct pt_mqtt_trie *
cur_get(struct pt_bench_state *st, uint32_t n)
{
    double t0;

    if (cur.t != NULL && cur.n == n)
        return cur.t;
    cur_free();
    t0 = pt_test_now_s();
    cur.t = sized_trie(st, &cur.l, n);
    if (cur.t == NULL) {
        cur_free();
        return NULL;
    }
    cur.n = n;
    cur.setup_s = pt_test_now_s() - t0;
    return cur.t;
}

static void
memory_counters(struct pt_bench_state *st, struct pt_mqtt_trie *t)
{
    struct pt_mqtt_trie_stats s;

    pt_mqtt_trie_stats(t, &s);
    pt_bench_counter_set(st, "bytes_per_sub", (double)s.bytes_per_sub,
                         PT_BENCH_COUNTER_DEFAULT);
    pt_bench_counter_set(st, "alloc_per_sub",
                         (double)s.bytes_allocated / (double)s.subs_used,
                         PT_BENCH_COUNTER_DEFAULT);
    pt_bench_counter_set(st, "nodes_per_sub",
                         (double)s.nodes_used / (double)s.subs_used,
                         PT_BENCH_COUNTER_DEFAULT);
    pt_bench_counter_set(st, "setup_s", cur.setup_s,
                         PT_BENCH_COUNTER_DEFAULT);
}

static void
count_cb(void *arg, uint64_t id, uint8_t qos)
{
    uint64_t *sum = arg;

    *sum += id + qos;
}

static void
bm_mqtt_trie_match(struct pt_bench_state *st)
{
    struct pt_mqtt_trie *t = cur_get(st, (uint32_t)pt_bench_range_x(st, 0));
    uint64_t sum = 0, delivered = 0, i = 0;

    if (t == NULL)
        return;
    while (pt_bench_keep_running(st)) {
        const char *topic = cur.l.topics[i++ & (NTOPICS - 1)];

        delivered += pt_mqtt_trie_match(t, topic, strlen(topic), count_cb,
                                        &sum);
    }
    pt_bench_do_not_optimize(&sum);
    memory_counters(st, t);
    pt_bench_counter_set(st, "delivered_per_match",
                         i ? (double)delivered / (double)i : 0,
                         PT_BENCH_COUNTER_DEFAULT);
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
}

/* One subscribe of a filter new to the trie (two new nodes) and its
 * unsubscribe (pruning them), per iteration. */
static void
bm_mqtt_trie_sub_unsub(struct pt_bench_state *st)
{
    struct pt_mqtt_trie *t = cur_get(st, (uint32_t)pt_bench_range_x(st, 0));
    uint64_t i = 0;

    if (t == NULL)
        return;
    while (pt_bench_keep_running(st)) {
        const char *f = cur.l.extra[i++ & (NTOPICS - 1)];
        size_t len = strlen(f);
        int rc = pt_mqtt_trie_subscribe(t, f, len, 1u << 30, 1);

        rc |= pt_mqtt_trie_unsubscribe(t, f, len, 1u << 30);
        if (rc != 0) {
            pt_bench_skip_with_error(st, "subscribe/unsubscribe failed");
            break;
        }
    }
    memory_counters(st, t);
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
}

/* An EAL with mb MB (no hugepages, one lcore), as pt_test_eal_init()'s
 * but larger than its 128 MB. */
static int
eal_start(uint64_t mb)
{
    char prefix[64], mem[32];
    char *argv[] = {
        "bench_mqtt_trie", "--no-huge", "-m", mem, "--no-pci",
        "--no-shconf", prefix, "-l", "0", "--no-telemetry",
        "--log-level=*:error", NULL,
    };

    snprintf(mem, sizeof(mem), "%llu", (unsigned long long)mb);
    snprintf(prefix, sizeof(prefix), "--file-prefix=pt-bench-trie-%d",
             (int)getpid());
    return rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0
               ? -1 : 0;
}

static void
register_n(const char *name, pt_bench_fn fn, uint32_t n)
{
    struct pt_bench *b = pt_bench_register(name, fn);

    if (b == NULL) {
        perror("bench_mqtt_trie: registering");
        abort();
    }
    pt_bench_arg_name(pt_bench_arg(b, n), "subs");
}

int
main(int argc, char **argv)
{
    /* sized_trie's first build of the largest N, plus 64 MB for the EAL */
    uint64_t mb = pt_mqtt_trie_memory(2 * N_MAX + 64, N_MAX + 1) /
                      (1u << 20) + 64;
    int rc;

    if (eal_start(mb) != 0) {
        fprintf(stderr, "bench_mqtt_trie: EAL init with %llu MB failed "
                "(run as root)\n", (unsigned long long)mb);
        return 1;
    }
    /* N by N, so the two benchmarks of one N share its load */
    for (size_t i = 0; i < sizeof(sub_counts) / sizeof(sub_counts[0]); i++) {
        register_n("bm_mqtt_trie_match", bm_mqtt_trie_match, sub_counts[i]);
        register_n("bm_mqtt_trie_sub_unsub", bm_mqtt_trie_sub_unsub,
                   sub_counts[i]);
    }
    rc = pt_bench_main(argc, argv);
    cur_free();
    return rc;
}
