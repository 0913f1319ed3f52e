/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The health watchdog (control/health.c): notices a dataplane core whose
 * heartbeat stops within health.stall_ms (logged and counted), and
 * answers `health` with per-core state, port link, pool use and ring fill.
 *
 * Threading: control-plane thread only. Ownership: the control plane
 * creates and destroys it; it only reads the dataplane.
 */
#ifndef PETREL_HEALTH_H
#define PETREL_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <petrel/config.h>
#include <petrel/dataplane.h>
#include <petrel/port.h>

struct pt_health;
struct pt_broker;
struct pt_buf;
struct pt_ctl;

/** @return the watchdog, or NULL (no memory). broker may be NULL. */
struct pt_health *pt_health_create(const struct pt_config *cfg,
                                   struct pt_dp *dp,
                                   const struct pt_port *port,
                                   struct pt_broker *broker);
void pt_health_destroy(struct pt_health *h);

/** Look at the heartbeats (rate-limited inside: call it often). */
void pt_health_tick(struct pt_health *h, uint64_t now_ns);

/** Write the `health` JSON object into out. @return healthy. */
bool pt_health_report(struct pt_health *h, struct pt_buf *out);

/** Register the `health` command. @return as pt_ctl_register(). */
int pt_health_register(struct pt_health *h, struct pt_ctl *ctl);

#endif /* PETREL_HEALTH_H */
