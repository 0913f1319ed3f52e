/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK telemetry commands (metrics.telemetry = on), read with
 * dpdk-telemetry.py or any client of the socket
 * <runtime dir>/dpdk_telemetry.v2 (/var/run/dpdk/petrel-<name>/ for root):
 *
 *   /petrel/stats       the dataplane's totals over every core, one flat
 *                       dict ("net_rx_pkts", "tcp_drops_bad_checksum", ...)
 *   /petrel/core,<n>    the same keys for core n alone, plus its lcore
 *   /petrel/broker      the broker's control-plane counters (empty when
 *                       the broker is off)
 *
 * Keys are the Prometheus names without "petrel_" and "_total", a label
 * value appended with '_'. Sizes per object (conn_bytes, ...) are the
 * same on every core and are not summed.
 *
 * Threading: the callbacks run on DPDK's telemetry threads, one per
 * connected client, any number at once. They read only tel_snap, under
 * tel_lock; the control thread copies a fresh snapshot in under the same
 * lock every tick (pt_metrics_tel_publish). DPDK cannot unregister a
 * command, so the commands are registered once per process and answer
 * null (an error) whenever no pt_metrics is open (tel_live false).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>
#include <rte_version.h>

#include "metrics_priv.h"

static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
/* everything below is guarded by tel_lock */
static unsigned tel_n_registered;    /* of tel_cmds (once per process) */
static bool tel_live;                /* a pt_metrics publishes */
static struct pt_metrics_snap tel_snap; /* cores: tel_snap.n_cores, owned */

static void
dict_u64(struct rte_tel_data *d, const char *key, uint64_t v)
{
#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
    rte_tel_data_add_dict_uint(d, key, v);
#else
    rte_tel_data_add_dict_u64(d, key, v);
#endif
}

/* Add every value of the families of src `want`: core `core`'s, or the
 * sum over the cores when core < 0. Caller holds tel_lock. */
static void
add_families(struct rte_tel_data *d, enum pt_metrics_src want, int core)
{
    const struct pt_metrics_snap *s = &tel_snap;
    struct pt_metrics_iter it = { 0 };
    struct pt_metrics_family f;
    char key[RTE_TEL_MAX_STRING_LEN];

    while (pt_metrics_family_next(&it, &f)) {
        if (f.src != want)
            continue;
        for (unsigned j = 0; j < f.n; j++) {
            const char *lv = pt_metrics_family_label(&f, j);
            bool any = false;
            uint64_t v = 0;

            if (want != PT_MSRC_CORE || core >= 0) {
                const void *src = pt_metrics_family_src(
                    &f, s, core >= 0 ? (unsigned)core : 0);

                if (src == NULL)
                    continue;
                v = pt_metrics_family_value(&f, src, j);
                any = true;
            } else {
                for (unsigned c = 0; c < s->n_cores; c++) {
                    const void *src = pt_metrics_family_src(&f, s, c);
                    uint64_t x;

                    if (src == NULL)
                        continue;
                    x = pt_metrics_family_value(&f, src, j);
                    if (f.flags & PT_METRICS_F_SIZE)
                        v = x > v ? x : v;
                    else
                        v += x;
                    any = true;
                }
            }
            if (!any)
                continue;
            snprintf(key, sizeof(key), "%s%s%s", f.name, lv ? "_" : "",
                     lv ? lv : "");
            dict_u64(d, key, v);
        }
    }
}

int
pt_metrics_tel_stats(const char *cmd, const char *params,
                     struct rte_tel_data *d)
{
    (void)cmd;
    (void)params;
    pthread_mutex_lock(&tel_lock);
    if (!tel_live) {
        pthread_mutex_unlock(&tel_lock);
        return -ENODEV;
    }
    rte_tel_data_start_dict(d);
    dict_u64(d, "cores", tel_snap.n_cores);
    add_families(d, PT_MSRC_CORE, -1);
    pthread_mutex_unlock(&tel_lock);
    return 0;
}

int
pt_metrics_tel_core(const char *cmd, const char *params,
                    struct rte_tel_data *d)
{
    unsigned long core;
    char *end;

    (void)cmd;
    if (params == NULL || *params < '0' || *params > '9')
        return -EINVAL;
    errno = 0;
    core = strtoul(params, &end, 10);
    if (errno != 0 || *end != '\0')
        return -EINVAL;
    pthread_mutex_lock(&tel_lock);
    if (!tel_live || core >= tel_snap.n_cores) {
        pthread_mutex_unlock(&tel_lock);
        return tel_live ? -EINVAL : -ENODEV;
    }
    rte_tel_data_start_dict(d);
    dict_u64(d, "core", core);
    dict_u64(d, "lcore", tel_snap.cores[core].lcore_id);
    dict_u64(d, "queue", tel_snap.cores[core].queue_id);
    add_families(d, PT_MSRC_CORE, (int)core);
    pthread_mutex_unlock(&tel_lock);
    return 0;
}

int
pt_metrics_tel_broker(const char *cmd, const char *params,
                      struct rte_tel_data *d)
{
    (void)cmd;
    (void)params;
    pthread_mutex_lock(&tel_lock);
    if (!tel_live) {
        pthread_mutex_unlock(&tel_lock);
        return -ENODEV;
    }
    rte_tel_data_start_dict(d);
    add_families(d, PT_MSRC_BROKER, 0);
    pthread_mutex_unlock(&tel_lock);
    return 0;
}

static const struct {
    const char *cmd;
    telemetry_cb fn;
    const char *help;   /* < 64 bytes (DPDK's limit) */
} tel_cmds[] = {
    { "/petrel/stats", pt_metrics_tel_stats,
      "petrel dataplane totals. No parameters" },
    { "/petrel/core", pt_metrics_tel_core,
      "one petrel core's counters. Param: core" },
    { "/petrel/broker", pt_metrics_tel_broker,
      "petrel broker control plane. No params" },
};

int
pt_metrics_tel_start(unsigned n_cores)
{
    int rc = 0;

    pthread_mutex_lock(&tel_lock);
    if (tel_live) {
        rc = -EBUSY;
        goto out;
    }
    tel_snap = (struct pt_metrics_snap){ .n_cores = n_cores };
    tel_snap.cores = calloc(n_cores + 1, sizeof(*tel_snap.cores));
    if (tel_snap.cores == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (; tel_n_registered < RTE_DIM(tel_cmds); tel_n_registered++) {
        unsigned i = tel_n_registered;

        rc = rte_telemetry_register_cmd(tel_cmds[i].cmd, tel_cmds[i].fn,
                                        tel_cmds[i].help);
        if (rc != 0) {
            rc = rc < 0 ? rc : -rc;
            free(tel_snap.cores);
            tel_snap.cores = NULL;
            goto out;
        }
    }
    tel_live = true;
out:
    pthread_mutex_unlock(&tel_lock);
    return rc;
}

void
pt_metrics_tel_publish(const struct pt_metrics_snap *s)
{
    struct pt_dp_core_info *cores;
    unsigned n;

    pthread_mutex_lock(&tel_lock);
    if (tel_live) {
        cores = tel_snap.cores;
        n = tel_snap.n_cores < s->n_cores ? tel_snap.n_cores : s->n_cores;
        memcpy(cores, s->cores, n * sizeof(*cores));
        tel_snap = *s;
        tel_snap.cores = cores;
        tel_snap.n_cores = n;
    }
    pthread_mutex_unlock(&tel_lock);
}

void
pt_metrics_tel_stop(void)
{
    pthread_mutex_lock(&tel_lock);
    tel_live = false;
    free(tel_snap.cores);
    tel_snap = (struct pt_metrics_snap){ 0 };
    pthread_mutex_unlock(&tel_lock);
}
