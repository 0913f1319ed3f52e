/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port layer: bring one DPDK ethdev up with one RX/TX queue pair per
 * dataplane core, each queue fed from that core's own mempool, and bring it
 * down again. Any ethdev works: a NIC bound to vfio-pci, net_tap (the
 * embedded default), net_memif, net_af_packet.
 *
 * For a net_tap port, petreld also gives the kernel side of the tap the
 * configured host address (tap.host_ip) so local clients can connect.
 *
 * Threading: main lcore only, before the dataplane lcores are launched
 * (setup) or after they have stopped (teardown).
 */
#ifndef PETREL_PORT_H
#define PETREL_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

struct pt_config;

/** A started port. */
struct pt_port {
    uint16_t port_id;
    uint16_t n_queues;
    struct rte_ether_addr mac;
    char name[64];        /**< ethdev name (net_tap0, 0000:01:00.0) */
    char ifname[32];      /**< kernel interface of a tap, else "" */
    int is_tap;
    bool tx_cksum;        /**< the device fills IPv4 and TCP checksums */
};

/**
 * Find the port named by cfg->port (probed by EAL from --vdev/-a), configure
 * n_queues RX/TX queue pairs (queue i takes its mbufs from pools[i]), start
 * it, and configure a tap's kernel side.
 * @return 0, -ENODEV (no such port), -EINVAL (device refuses the queue
 *         count or descriptors), or another negative errno from the device.
 */
int pt_port_start(struct pt_port *port, const struct pt_config *cfg,
                  uint16_t n_queues, struct rte_mempool *const *pools);

/** Stop and close the port. Safe on a port that failed to start. */
void pt_port_stop(struct pt_port *port);

/** 1 when the link is up, 0 when down. */
int pt_port_link_up(const struct pt_port *port);

/** True when devargs names a virtual device (net_tap0,..., net_memif...). */
int pt_port_is_vdev(const char *devargs);

#endif /* PETREL_PORT_H */
