/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cross-core handoff of the broker's bus descriptors (struct pt_bus_desc,
 * 32 bytes) through an rte_ring elem ring made as pt_broker_create()
 * makes each core-to-core ring: rte_ring_create_elem(32-byte elements,
 * mqtt.ring_size's default 8192, RING_F_SP_ENQ | RING_F_SC_DEQ |
 * RING_F_EXACT_SZ).
 *
 *   bm_ring_local/burst:B   one thread enqueues B descriptors and dequeues
 *                           them again: the ring's own cost per descriptor,
 *                           cache lines warm, no other core. B = 1 uses
 *                           rte_ring_enqueue_elem() as pt_mqtt_bus_send()
 *                           does; B = 32 the burst calls.
 *   bm_ring_2core/burst:B   a real handoff: this thread (the EAL main
 *                           lcore, CPU 0) produces bursts of B, a pthread
 *                           pinned to CPU 1 consumes with
 *                           rte_ring_dequeue_burst_elem(32) as
 *                           pt_mqtt_core_poll() drains its rings, and checks
 *                           every descriptor's sequence number (a loss
 *                           or reordering fails the run). A full ring
 *                           makes the producer spin, timed
 *                           (full_spins_per_desc counts the retries).
 *                           Google's figures (time, items_per_second) are
 *                           the producer's CPU time up to its last burst;
 *                           wall_ns_per_desc and wall_desc_per_s are wall
 *                           clock from the first burst until the consumer
 *                           has taken the last descriptor: the handoff
 *                           rate, and the figure to quote.
 *
 * On a 2-core machine shared with other work, the 2core figures are
 * noisy: either thread may be descheduled, and a descheduled consumer
 * fills the ring. Compare medians of several repetitions only.
 *
 * Not measured: what the descriptors carry (message references, the
 * dispatch on the consumer); bench_mqtt has the whole broker on one core.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mqtt_priv.h"
#include "pt_bench.h"
#include "pt_test.h"

#define RING_SIZE 8192        /* control/config.c: mqtt.ring_size default */
#define DRAIN_BURST 32        /* dataplane/mqtt_core.c: PT_BUS_BURST */

_Static_assert(sizeof(struct pt_bus_desc) == 32,
               "the broker's descriptors are no longer 32 bytes");

static struct rte_ring *
ring_make(struct pt_bench_state *st)
{
    static unsigned seq;
    char name[RTE_RING_NAMESIZE];
    struct rte_ring *r;

    snprintf(name, sizeof(name), "bench_ring_%u", seq++);
    r = rte_ring_create_elem(name, sizeof(struct pt_bus_desc), RING_SIZE,
                             SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (r == NULL)
        pt_bench_skip_with_error(st, rte_strerror(rte_errno));
    return r;
}

static void
bm_ring_local(struct pt_bench_state *st)
{
    unsigned b = (unsigned)pt_bench_range_x(st, 0);
    struct pt_bus_desc in[DRAIN_BURST], out[DRAIN_BURST];
    struct rte_ring *r = ring_make(st);
    uint64_t seq = 0, bad = 0;

    if (r == NULL)
        return;
    memset(in, 0, sizeof(in));
    for (unsigned i = 0; i < DRAIN_BURST; i++)
        in[i].type = PT_BUS_PUBLISH;
    while (pt_bench_keep_running(st)) {
        unsigned n;

        in[0].u64 = seq;
        if (b == 1)
            n = rte_ring_enqueue_elem(r, in, sizeof(in[0])) == 0;
        else
            n = rte_ring_enqueue_burst_elem(r, in, sizeof(in[0]), b, NULL);
        n = rte_ring_dequeue_burst_elem(r, out, sizeof(out[0]), n, NULL);
        bad |= (n ^ b) | (out[0].u64 ^ seq);
        seq++;
    }
    rte_ring_free(r);
    if (bad != 0) {
        pt_bench_skip_with_error(st, "a descriptor was lost or misread");
        return;
    }
    pt_bench_set_items_processed(st, pt_bench_iterations_done(st) * b);
}
PT_BENCH_CONFIG(bm_ring_local)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 1), 32), "burst");
}

/* ---- two threads ---- */

struct handoff {
    struct rte_ring *r;
    int cpu;                  /* the consumer's CPU, -1: not pinned */
    bool ready;               /* consumer running (atomic) */
    bool stop;                /* producer done: drain to `total` (atomic) */
    uint64_t total;           /* descriptors produced, valid with stop */
    uint64_t taken;           /* descriptors consumed (atomic) */
    uint64_t errors;          /* out-of-order sequence numbers */
};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
consumer(void *arg)
{
    struct handoff *h = arg;
    struct pt_bus_desc ds[DRAIN_BURST];
    uint64_t next = 0;

    if (h->cpu >= 0) {
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(h->cpu, &set);
        if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
            h->cpu = -1;
    }
    __atomic_store_n(&h->ready, true, __ATOMIC_RELEASE);
    for (;;) {
        unsigned n = rte_ring_dequeue_burst_elem(h->r, ds, sizeof(ds[0]),
                                                 DRAIN_BURST, NULL);

        for (unsigned k = 0; k < n; k++)
            h->errors += ds[k].u64 != next++;
        if (n != 0) {
            __atomic_store_n(&h->taken, next, __ATOMIC_RELEASE);
        } else if (__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE) &&
                   next == h->total) {
            return NULL;
        } else {
            rte_pause();
        }
    }
}

static void
bm_ring_2core(struct pt_bench_state *st)
{
    unsigned b = (unsigned)pt_bench_range_x(st, 0);
    struct handoff h = { .cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : -1 };
    struct pt_bus_desc in[DRAIN_BURST];
    uint64_t seq = 0, spins = 0, t0, wall;
    pthread_t tid;

    h.r = ring_make(st);
    if (h.r == NULL)
        return;
    memset(in, 0, sizeof(in));
    for (unsigned i = 0; i < DRAIN_BURST; i++)
        in[i].type = PT_BUS_PUBLISH;
    if (pthread_create(&tid, NULL, consumer, &h) != 0) {
        rte_ring_free(h.r);
        pt_bench_skip_with_error(st, "pthread_create failed");
        return;
    }
    while (!__atomic_load_n(&h.ready, __ATOMIC_ACQUIRE))
        rte_pause();
    t0 = now_ns();
    while (pt_bench_keep_running(st)) {
        unsigned done = 0;

        for (unsigned i = 0; i < b; i++)
            in[i].u64 = seq + i;
        while (done < b) {
            unsigned n;

            if (b == 1)
                n = rte_ring_enqueue_elem(h.r, in, sizeof(in[0])) == 0;
            else
                n = rte_ring_enqueue_burst_elem(h.r, in + done,
                                                sizeof(in[0]), b - done,
                                                NULL);
            if (n == 0) {
                spins++;
                rte_pause();
            }
            done += n;
        }
        seq += b;
    }
    h.total = seq;
    __atomic_store_n(&h.stop, true, __ATOMIC_RELEASE);
    pthread_join(tid, NULL);
    wall = now_ns() - t0;
    rte_ring_free(h.r);
    if (h.errors != 0 || h.taken != seq) {
        pt_bench_skip_with_error(st, "descriptors lost or out of order");
        return;
    }
    pt_bench_set_label(st, h.cpu >= 0 ? "consumer on CPU 1"
                                      : "consumer not pinned (1 CPU)");
    pt_bench_counter_set(st, "wall_ns_per_desc",
                         seq ? (double)wall / (double)seq : 0, 0);
    pt_bench_counter_set(st, "wall_desc_per_s",
                         wall ? (double)seq * 1e9 / (double)wall : 0, 0);
    pt_bench_counter_set(st, "full_spins_per_desc",
                         seq ? (double)spins / (double)seq : 0, 0);
    pt_bench_set_items_processed(st, (int64_t)seq);
}
PT_BENCH_CONFIG(bm_ring_2core)
{
    pt_bench_arg_name(pt_bench_arg(pt_bench_arg(b, 1), 32), "burst");
}

int
main(int argc, char **argv)
{
    if (pt_test_eal_init() != 0) {
        fprintf(stderr, "bench_ring: EAL init failed (run as root)\n");
        return 1;
    }
    return pt_bench_main(argc, argv);
}
