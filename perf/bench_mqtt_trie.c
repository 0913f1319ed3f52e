/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-core MQTT subscription trie: cost of match() and of a
 * subscribe + unsubscribe pair with N subscriptions (1k, 100k) loaded, and
 * the memory per subscription from the trie's own counters.
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
 * pool is sized to the load, per subscription), nodes_per_sub, and
 * delivered_per_match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_memory.h>

#include <petrel/mqtt_trie.h>

#include "pt_bench.h"
#include "pt_test.h"

#define FLEN 48
#define NTOPICS 4096

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
    uint32_t n = (uint32_t)pt_bench_range_x(st, 0);
    struct load l = { 0 };
    struct pt_mqtt_trie *t = sized_trie(st, &l, n);
    uint64_t sum = 0, delivered = 0, i = 0;

    if (t == NULL) {
        load_free(&l);
        return;
    }
    while (pt_bench_keep_running(st)) {
        const char *topic = l.topics[i++ & (NTOPICS - 1)];

        delivered += pt_mqtt_trie_match(t, topic, strlen(topic), count_cb,
                                        &sum);
    }
    pt_bench_do_not_optimize(&sum);
    memory_counters(st, t);
    pt_bench_counter_set(st, "delivered_per_match",
                         i ? (double)delivered / (double)i : 0,
                         PT_BENCH_COUNTER_DEFAULT);
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st));
    pt_mqtt_trie_free(t);
    load_free(&l);
}
PT_BENCH_CONFIG(bm_mqtt_trie_match)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 1000), 100000), "subs");
}

/* One subscribe of a filter new to the trie (two new nodes) and its
 * unsubscribe (pruning them), per iteration. */
static void
bm_mqtt_trie_sub_unsub(struct pt_bench_state *st)
{
    uint32_t n = (uint32_t)pt_bench_range_x(st, 0);
    struct load l = { 0 };
    struct pt_mqtt_trie *t = sized_trie(st, &l, n);
    uint64_t i = 0;

    if (t == NULL) {
        load_free(&l);
        return;
    }
    while (pt_bench_keep_running(st)) {
        const char *f = l.extra[i++ & (NTOPICS - 1)];
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
    pt_mqtt_trie_free(t);
    load_free(&l);
}
PT_BENCH_CONFIG(bm_mqtt_trie_sub_unsub)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 1000), 100000), "subs");
}

int
main(int argc, char **argv)
{
    if (pt_test_eal_init() != 0) {
        fprintf(stderr, "bench_mqtt_trie: EAL init failed (run as root)\n");
        return 1;
    }
    return pt_bench_main(argc, argv);
}
