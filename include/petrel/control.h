/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane: runs on the main lcore and never touches packets. It
 * sleeps in epoll_wait() on a signalfd (SIGINT/SIGTERM: graceful stop,
 * a second one stops at once; SIGHUP: reload), a 250 ms timerfd
 * (housekeeping: control client time-outs, metrics), the control socket
 * and the metrics listener; the health watchdog looks at the cores'
 * heartbeats on every pass.
 * With the MQTT broker on (mqtt.port), epoll_wait times out every
 * millisecond so the broker's control half (pt_broker_ctl_poll: logins,
 * takeovers, route syncs, retained, $SYS) serves the cores' rings.
 *
 * Threading: create, run and destroy on the main lcore only. The signals
 * it waits for must be blocked in every thread before rte_eal_init() (see
 * pt_control_block_signals()), so they reach the signalfd and nothing else.
 */
#ifndef PETREL_CONTROL_H
#define PETREL_CONTROL_H

#include <petrel/admin.h>
#include <petrel/config.h>
#include <petrel/dataplane.h>
#include <petrel/port.h>

struct pt_control;

/** Block the control plane's signals in the calling thread (and so in
 * every thread it creates afterwards). @return 0 or -errno. */
int pt_control_block_signals(void);

/**
 * Open the control socket and the metrics listener, load the password
 * file and ACL, and register every command. cfg is the live settings
 * struct (its run-time keys change under `config set`/`reload`); src says
 * where they came from, for `reload`.
 * @return the control plane, or NULL with errno set.
 */
struct pt_control *pt_control_create(struct pt_config *cfg,
                                     struct pt_dp *dp,
                                     const struct pt_port *port,
                                     const struct pt_config_source *src);

/**
 * Serve until SIGINT/SIGTERM or a `shutdown` command (and the graceful
 * stop after it, see control/control.c).
 * @return 0 on an orderly stop, a negative errno if epoll fails.
 */
int pt_control_run(struct pt_control *cp);

/** Close the socket and free the control plane. */
void pt_control_destroy(struct pt_control *cp);

/* Command registration by the modules that own the state (control/cmd_*.c). */
struct pt_ctl;
int pt_cmd_stats_register(struct pt_ctl *ctl, struct pt_dp *dp);
int pt_cmd_config_register(struct pt_ctl *ctl, const struct pt_config *cfg);
struct pt_broker;
int pt_cmd_broker_register(struct pt_ctl *ctl, struct pt_broker *b,
                           struct pt_dp *dp, const struct pt_config *cfg);
int pt_cmd_rules_register(struct pt_ctl *ctl, struct pt_broker *b,
                          const struct pt_config *cfg);

#endif /* PETREL_CONTROL_H */
