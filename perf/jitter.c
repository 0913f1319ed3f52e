// SPDX-License-Identifier: BSD-3-Clause
/*
 * pt-jitter: how much of the time a busy-polling thread does NOT get its
 * CPU. It spins on CLOCK_MONOTONIC for --seconds on each CPU given (one
 * thread pinned per CPU, all at once) and reports the gaps between two
 * consecutive reads: any gap past --threshold-us is time the thread was
 * off its CPU (hypervisor steal, interrupts, other threads). A latency
 * percentile cannot beat this: a message in flight during a 2 ms gap takes
 * at least 2 ms. perf/bench_record.py runs it before the trials and puts
 * the result next to the latency figures.
 *
 * Output: one JSON line per CPU:
 *   {"cpu": 0, "seconds": 3.0, "gaps_100us": 89, "gaps_1ms": 10,
 *    "max_gap_us": 3335, "stalled_pct": 1.187}
 * where gaps_100us counts gaps over the threshold (100 us by default) and
 * stalled_pct is their total time over the run.
 *
 * Usage: pt-jitter [--seconds S] [--threshold-us T] CPU...
 * Exit: 0, or 2 on bad usage or when a thread cannot be pinned.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CPUS 256

struct probe {
    int cpu;
    double seconds;
    uint64_t threshold_ns;
    uint64_t gaps, gaps_1ms, max_gap, stalled;
    int err;
};

static uint64_t
now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *
spin(void *arg)
{
    struct probe *p = arg;
    cpu_set_t set;
    uint64_t start, prev, now, len;

    CPU_ZERO(&set);
    CPU_SET(p->cpu, &set);
    p->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (p->err != 0)
        return NULL;
    len = (uint64_t)(p->seconds * 1e9);
    start = prev = now_ns();
    while ((now = now_ns()) - start < len) {
        uint64_t d = now - prev;

        if (d > p->threshold_ns) {
            p->gaps++;
            p->stalled += d;
            if (d > 1000000)
                p->gaps_1ms++;
        }
        if (d > p->max_gap)
            p->max_gap = d;
        prev = now;
    }
    return NULL;
}

static void
usage(FILE *f)
{
    fputs("usage: pt-jitter [--seconds S] [--threshold-us T] CPU...\n", f);
}

int
main(int argc, char **argv)
{
    static struct probe probes[MAX_CPUS];
    pthread_t th[MAX_CPUS];
    double seconds = 3.0;
    uint64_t threshold_us = 100;
    int n = 0, rc = 0;

    for (int i = 1; i < argc; i++) {
        char *end;

        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0 && seconds <= 600))
                goto bad;
        } else if (strcmp(argv[i], "--threshold-us") == 0 && i + 1 < argc) {
            threshold_us = strtoull(argv[++i], &end, 10);
            if (*end != '\0' || threshold_us == 0)
                goto bad;
        } else {
            long cpu = strtol(argv[i], &end, 10);

            if (*end != '\0' || cpu < 0 || cpu >= CPU_SETSIZE ||
                n == MAX_CPUS)
                goto bad;
            probes[n].cpu = (int)cpu;
            n++;
        }
    }
    if (n == 0)
        goto bad;
    for (int i = 0; i < n; i++) {
        probes[i].seconds = seconds;
        probes[i].threshold_ns = threshold_us * 1000;
        if (pthread_create(&th[i], NULL, spin, &probes[i]) != 0) {
            fprintf(stderr, "pt-jitter: pthread_create: %s\n",
                    strerror(errno));
            return 2;
        }
    }
    for (int i = 0; i < n; i++) {
        struct probe *p = &probes[i];

        pthread_join(th[i], NULL);
        if (p->err != 0) {
            fprintf(stderr, "pt-jitter: cannot pin to CPU %d: %s\n", p->cpu,
                    strerror(p->err));
            rc = 2;
            continue;
        }
        printf("{\"cpu\": %d, \"seconds\": %.1f, \"gaps_%lluus\": %llu, "
               "\"gaps_1ms\": %llu, \"max_gap_us\": %llu, "
               "\"stalled_pct\": %.3f}\n",
               p->cpu, seconds, (unsigned long long)threshold_us,
               (unsigned long long)p->gaps, (unsigned long long)p->gaps_1ms,
               (unsigned long long)(p->max_gap / 1000),
               100.0 * (double)p->stalled / (seconds * 1e9));
    }
    return rc;
bad:
    usage(stderr);
    return 2;
}
