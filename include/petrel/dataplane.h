/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dataplane lcores: each polls its own RX queue of the port, runs every
 * received burst to completion (L2/L3, TCP-lite, MQTT), drains the rings
 * other cores and the control plane fill for it, and transmits on its own
 * TX queue. Cores share nothing but the stop flag the control plane
 * raises and the broker's single-producer single-consumer rings
 * (include/petrel/broker.h).
 *
 * Idle policy: `busy` spins for the lowest latency; `adaptive` spins for a
 * short while after the last packet, then naps with doubling sleeps up to
 * dp.idle_max_sleep_us, so an idle broker on a small machine uses almost no
 * CPU. Any packet, or a descriptor waiting in a ring, resets it to
 * spinning; a napping core is offline as a route-table reader so it never
 * holds up a grace period.
 *
 * Threading: pt_dp_create/destroy/launch/stop run on the main lcore.
 * Each struct pt_dp_core is written only by its own lcore once launched;
 * the control plane reads its heartbeat and stats (see pt_dp_core_*()).
 */
#ifndef PETREL_DATAPLANE_H
#define PETREL_DATAPLANE_H

#include <stdint.h>

#include <petrel/broker.h>
#include <petrel/config.h>
#include <petrel/fault.h>
#include <petrel/net.h>
#include <petrel/tcp.h>
#include <petrel/port.h>

struct pt_dp;
struct pt_dp_core;

/**
 * Allocate each dataplane core's mempool (dp.mbufs mbufs, on the core's
 * NUMA node). One core for each worker lcore EAL gave us, up to dp.cores.
 * @return the dataplane, or NULL with rte_errno set (ENOMEM, ENODEV when
 *         there are fewer worker lcores than dp.cores).
 */
struct pt_dp *pt_dp_create(const struct pt_config *cfg);

/** The cores' mempools, in queue order, for pt_port_start(). */
struct rte_mempool *const *pt_dp_pools(const struct pt_dp *dp);

/** Number of dataplane cores. */
unsigned pt_dp_n_cores(const struct pt_dp *dp);

/**
 * Bind the cores to a started port (core i polls queue i), create their
 * L2/L3 contexts and launch each on its worker lcore.
 * @return 0 or a negative errno (nothing is left running on failure).
 */
int pt_dp_launch(struct pt_dp *dp, const struct pt_port *port);

/** Raise the stop flag and wait for every core to return. Idempotent. */
void pt_dp_stop(struct pt_dp *dp);

/** Free everything; the cores must be stopped. */
void pt_dp_destroy(struct pt_dp *dp);

/** Core i (0 <= i < pt_dp_n_cores()). */
struct pt_dp_core *pt_dp_core(struct pt_dp *dp, unsigned i);

/** A core's view for the control plane; any thread may read it. */
struct pt_dp_core_info {
    unsigned lcore_id;
    uint16_t queue_id;
    uint64_t loops;          /**< poll iterations: the heartbeat */
    uint64_t heartbeat_ns;   /**< pt_clock_ns() at the last iteration */
    uint64_t busy_loops;     /**< iterations that received something */
    uint64_t naps;           /**< adaptive sleeps taken */
    unsigned pool_in_use;    /**< mbufs out of the pool */
    unsigned pool_size;
    struct pt_net_stats net; /**< snapshot of the L2/L3 counters */
    struct pt_tcp_stats tcp; /**< snapshot of TCP-lite's counters */
    bool mqtt_on;            /**< the MQTT broker runs (mqtt.port != 0) */
    struct pt_mqtt_stats mqtt; /**< snapshot of the broker's counters */
    bool fault_on;           /**< fault injection active on this core */
    struct pt_fault_stats fault;
};

/** Snapshot a core's counters (relaxed reads, may be one burst old). */
void pt_dp_core_info(const struct pt_dp_core *c, struct pt_dp_core_info *out);

/** Test hook (`debug stall`, debug.hooks on): core `core` stops polling
 * and beating for ms milliseconds, as if stuck. Any thread.
 * @return 0 or -EINVAL. */
int pt_dp_debug_stall(struct pt_dp *dp, unsigned core, uint32_t ms);

/** The broker shared by the cores (NULL when mqtt.port = 0). */
struct pt_broker *pt_dp_broker(struct pt_dp *dp);

/** The idle policy in force after `auto` is resolved. */
enum pt_idle_mode pt_dp_idle_mode(const struct pt_dp *dp);

#endif /* PETREL_DATAPLANE_H */
