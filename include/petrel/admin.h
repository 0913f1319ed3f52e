/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Run-time administration on the control plane (control/cmd_admin.c):
 * `config set`, `reload` (and SIGHUP), `log level`, `debug stall`.
 *
 * Threading: control-plane thread only. Ownership: the control plane
 * creates and destroys it; cfg is the live settings struct (only its
 * run-time keys are ever written, see cmd_admin.c) and src must outlive
 * it.
 */
#ifndef PETREL_ADMIN_H
#define PETREL_ADMIN_H

#include <petrel/config.h>
#include <petrel/dataplane.h>

struct pt_admin;
struct pt_broker;
struct pt_buf;
struct pt_ctl;

#define PT_CONFIG_SETS_MAX 64

/** Where the settings came from, to read them again on `reload`: the
 * file (NULL: none) and the --set overrides applied after it, in order. */
struct pt_config_source {
    const char *file;
    int n;
    const char *keys[PT_CONFIG_SETS_MAX];
    const char *values[PT_CONFIG_SETS_MAX];
};

/** Register the commands (`debug stall` only with debug.hooks on).
 * broker may be NULL. @return the module, or NULL. */
struct pt_admin *pt_admin_create(struct pt_ctl *ctl, struct pt_config *cfg,
                                 const struct pt_config_source *src,
                                 struct pt_dp *dp, struct pt_broker *broker);
void pt_admin_destroy(struct pt_admin *a);

/** What `reload` and SIGHUP do; the answer (or error text) goes to out.
 * @return 0 or a negative errno. */
int pt_admin_reload(struct pt_admin *a, struct pt_buf *out);

#endif /* PETREL_ADMIN_H */
