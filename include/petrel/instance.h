/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One petreld instance on a host: its lock (so two instances never share a
 * DPDK runtime prefix or control socket by accident) and the EAL argument
 * vector petreld derives from its config.
 *
 * Threading: main thread, before rte_eal_init().
 */
#ifndef PETREL_INSTANCE_H
#define PETREL_INSTANCE_H

#include <stddef.h>

#include <petrel/config.h>

#define PT_EAL_ARGV_MAX 64

/** What the host offers, as read by pt_host_probe() (tests forge it). */
struct pt_host {
    unsigned n_cpus;        /**< CPUs this process may run on */
    int cpus[256];          /**< their ids */
    unsigned hugepages_free;/**< free hugepages of the default size */
    int hugetlbfs_mounted;
};

/** Read CPU affinity and hugepage availability. */
void pt_host_probe(struct pt_host *host);

/** An EAL argument vector (strings owned by the struct). */
struct pt_eal_args {
    int argc;
    char *argv[PT_EAL_ARGV_MAX + 1];
    char store[4096];
    size_t used;
};

/**
 * Build the EAL arguments: argv0; defaults derived from cfg and host unless
 * cfg->eal_args or the user's own EAL arguments already say them (lcores,
 * --file-prefix, memory, devices, log level); then cfg->eal_args; then
 * user_argv.
 *
 * Defaults: --file-prefix=petrel-<name>; lcores 0..dp.cores (the main
 * lcore is the control plane), pinned round-robin on the allowed CPUs;
 * --no-huge -m <size> when no hugepages are free; the port as --vdev (with
 * --no-pci) or as -a <PCI address>; --log-level=lib.eal:notice when the user
 * set no log level.
 * @return 0, or -E2BIG when the vector or its strings do not fit.
 */
int pt_eal_args_build(struct pt_eal_args *out, const char *argv0,
                      const struct pt_config *cfg, const struct pt_host *host,
                      int user_argc, char **user_argv);

/** True when the EAL arguments set a level for petrel's log types (pt.*);
 * petreld then leaves log.level alone so the finer setting stands. */
int pt_eal_args_set_pt_log(const struct pt_eal_args *a);

/**
 * Take the instance lock PT_RUN_DIR/<name>.lock (whatever ctl.socket is),
 * creating the directory if needed. The lock lives as long as the process.
 * @return the lock fd (keep it open), -EBUSY if another process holds it,
 *         or another negative errno.
 */
int pt_instance_lock(const struct pt_config *cfg, char *path, size_t len);

/**
 * Name of the network namespace this process runs in, when it is one that
 * `ip netns` manages; "" otherwise.
 */
void pt_instance_netns(char *buf, size_t len);

#endif /* PETREL_INSTANCE_H */
