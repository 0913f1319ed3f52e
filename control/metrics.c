/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Metrics for operators (include/petrel/metrics.h): snapshots of the
 * counters, the Prometheus text exposition (format 0.0.4), and the glue
 * that opens the HTTP server (metrics_http.c) and the telemetry commands
 * (metrics_telemetry.c).
 *
 * Exposition: one "# HELP" and one "# TYPE" line per family, then all its
 * samples (families never interleave); per-core families carry
 * core="<index>" and no totals (PromQL sums); counters end in _total.
 * What the families are is metrics_family.c's business; this file only
 * writes them, and a family no source has (MQTT with the broker off) is
 * left out whole.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <rte_version.h>

#include <petrel/broker.h>
#include <petrel/rules.h>
#include <petrel/ctl.h>
#include <petrel/log.h>
#include <petrel/metrics.h>

#include "metrics_priv.h"

PT_LOG_REGISTER(ctl_metrics, pt.ctl.metrics, INFO);

struct pt_metrics {
    const struct pt_config *cfg;
    struct pt_dp *dp;
    struct pt_broker *broker;
    const struct pt_ctl *ctl;
    struct pt_metrics_http *http;   /* NULL: metrics.port = 0 */
    bool telemetry;                 /* pt_metrics_tel_start succeeded */
    uint64_t started_ms;
    pthread_t owner;                /* the control thread (debug check) */
    struct pt_metrics_snap snap;    /* scratch of the control thread */
};

#define ASSERT_OWNER(m) assert(pthread_equal((m)->owner, pthread_self()))


/* ---- exposition text ---- */

/* HELP text: backslash and newline escaped. */
static void
put_help(struct pt_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            pt_buf_printf(out, "\\\\");
        else if (*s == '\n')
            pt_buf_printf(out, "\\n");
        else
            pt_buf_printf(out, "%c", *s);
    }
}

/* A label value: backslash, double quote and newline escaped. */
static void
put_label_value(struct pt_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            pt_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            pt_buf_printf(out, "\\n");
        else
            pt_buf_printf(out, "%c", *s);
    }
}

static void
put_header(struct pt_buf *out, const char *name, bool counter,
           const char *help)
{
    const char *suffix = counter ? "_total" : "";

    pt_buf_printf(out, "# HELP petrel_%s%s ", name, suffix);
    put_help(out, help);
    pt_buf_printf(out, "\n# TYPE petrel_%s%s %s\n", name, suffix,
                  counter ? "counter" : "gauge");
}

static void
put_families(const struct pt_metrics_snap *s, struct pt_buf *out)
{
    struct pt_metrics_iter it = { 0 };
    struct pt_metrics_family f;

    while (pt_metrics_family_next(&it, &f)) {
        unsigned n_src = f.src == PT_MSRC_CORE ? s->n_cores : 1;
        bool header = false;

        for (unsigned c = 0; c < n_src; c++) {
            const void *src = pt_metrics_family_src(&f, s, c);

            if (src == NULL)
                continue;
            if (!header) {
                put_header(out, f.name, f.counter, f.help);
                header = true;
            }
            for (unsigned j = 0; j < f.n; j++) {
                const char *lv = pt_metrics_family_label(&f, j);
                const char *sep = "{";

                pt_buf_printf(out, "petrel_%s%s", f.name,
                              f.counter ? "_total" : "");
                if (f.src == PT_MSRC_CORE) {
                    pt_buf_printf(out, "%score=\"%u\"", sep, c);
                    sep = ",";
                }
                if (lv != NULL) {
                    pt_buf_printf(out, "%s%s=\"", sep, f.label);
                    put_label_value(out, lv);
                    pt_buf_printf(out, "\"");
                    sep = ",";
                }
                pt_buf_printf(out, "%s %" PRIu64 "\n", *sep == ',' ? "}" : "",
                              pt_metrics_family_value(&f, src, j));
            }
        }
    }
}

void
pt_metrics_render_snap(const struct pt_metrics_snap *s, struct pt_buf *out)
{
    put_header(out, "build_info", false,
               "always 1: the instance name, petrel's and DPDK's versions");
    pt_buf_printf(out, "petrel_build_info{name=\"");
    put_label_value(out, s->name != NULL ? s->name : "");
    pt_buf_printf(out, "\",version=\"");
    put_label_value(out, s->version != NULL ? s->version : "");
    pt_buf_printf(out, "\",dpdk=\"");
    put_label_value(out, s->dpdk != NULL ? s->dpdk : "");
    pt_buf_printf(out, "\"} 1\n");

    put_header(out, "uptime_seconds", false,
               "seconds since the control plane started");
    pt_buf_printf(out, "petrel_uptime_seconds %.3f\n", s->uptime_s);

    if (s->n_cores > 0) {
        put_header(out, "core_info", false,
                   "always 1: a dataplane core's lcore and port queue");
        for (unsigned c = 0; c < s->n_cores; c++)
            pt_buf_printf(out,
                          "petrel_core_info{core=\"%u\",lcore=\"%u\","
                          "queue=\"%u\"} 1\n", c, s->cores[c].lcore_id,
                          (unsigned)s->cores[c].queue_id);
    }
    put_families(s, out);
}

/* ---- snapshots and glue ---- */

static void
collect(struct pt_metrics *m)
{
    struct pt_metrics_snap *s = &m->snap;

    for (unsigned i = 0; i < s->n_cores; i++)
        pt_dp_core_info(pt_dp_core(m->dp, i), &s->cores[i]);
    s->broker_on = m->broker != NULL;
    if (s->broker_on)
        pt_broker_ctl_stats(m->broker, &s->broker);
    s->ctl_on = m->ctl != NULL;
    if (s->ctl_on)
        s->ctl = *pt_ctl_stats(m->ctl);
    s->http_on = m->http != NULL;
    if (s->http_on)
        s->http = *pt_metrics_http_stats(m->http);
    s->uptime_s = (double)(pt_ctl_now_ms() - m->started_ms) / 1000.0;
}

struct rule_out {
    struct pt_buf *out;
    unsigned n;
};

static void
rule_sample(void *arg, const struct pt_rule_info *r, uint64_t matches)
{
    struct rule_out *ro = arg;

    if (ro->n++ == 0)
        put_header(ro->out, "rule_matches", true,
                   "messages a content rule matched (rules.file), by rule "
                   "id, since start");
    pt_buf_printf(ro->out, "petrel_rule_matches_total{rule=\"%u\","
                  "action=\"%s\",scope=\"%s\"} %" PRIu64 "\n", r->id,
                  pt_rule_action_name(r->action),
                  pt_rule_scope_name(r->scope), matches);
}

void
pt_metrics_render(struct pt_metrics *m, struct pt_buf *out)
{
    struct rule_out ro = { .out = out };

    ASSERT_OWNER(m);
    collect(m);
    pt_metrics_render_snap(&m->snap, out);
    /* the content rules change with the file: a family of their own,
     * read live (the control thread owns their counts) */
    if (m->broker != NULL)
        pt_broker_ctl_rules(m->broker, rule_sample, &ro);
}

static void
render_body(void *ctx, struct pt_buf *out)
{
    pt_metrics_render(ctx, out);
}

struct pt_metrics *
pt_metrics_open(const struct pt_config *cfg, int epfd, struct pt_dp *dp,
                struct pt_broker *broker, const struct pt_ctl *ctl)
{
    struct pt_metrics *m = calloc(1, sizeof(*m));
    char ip[INET_ADDRSTRLEN];
    int err;

    if (m == NULL)
        return NULL;
    m->cfg = cfg;
    m->dp = dp;
    m->broker = broker;
    m->ctl = ctl;
    m->started_ms = pt_ctl_now_ms();
    m->owner = pthread_self();
    m->snap.n_cores = dp != NULL ? pt_dp_n_cores(dp) : 0;
    m->snap.cores = calloc(m->snap.n_cores + 1, sizeof(*m->snap.cores));
    m->snap.name = cfg->name;
    m->snap.version = PT_VERSION;
    m->snap.dpdk = rte_version();
    if (m->snap.cores == NULL) {
        errno = ENOMEM;
        goto fail;
    }
    if (cfg->metrics_port != 0) {
        inet_ntop(AF_INET, &cfg->metrics_address, ip, sizeof(ip));
        m->http = pt_metrics_http_open(cfg->metrics_address,
                                       cfg->metrics_port, epfd, render_body,
                                       m);
        if (m->http == NULL) {
            PT_LOG(ERR, ctl_metrics, "metrics listener %s:%u: %s", ip,
                   cfg->metrics_port, strerror(errno));
            goto fail;
        }
        PT_LOG(INFO, ctl_metrics, "metrics on http://%s:%u/metrics", ip,
               cfg->metrics_port);
    }
    if (cfg->metrics_telemetry) {
        int rc = pt_metrics_tel_start(m->snap.n_cores);

        if (rc != 0) {
            PT_LOG(ERR, ctl_metrics, "telemetry commands: %s",
                   strerror(-rc));
            errno = -rc;
            goto fail;
        }
        m->telemetry = true;
        collect(m);
        pt_metrics_tel_publish(&m->snap);
    }
    return m;

fail:
    err = errno;
    pt_metrics_close(m);
    errno = err;
    return NULL;
}

int
pt_metrics_event(struct pt_metrics *m, void *ptr, uint32_t events)
{
    if (m == NULL || m->http == NULL)
        return 0;
    ASSERT_OWNER(m);
    return pt_metrics_http_event(m->http, ptr, events);
}

void
pt_metrics_tick(struct pt_metrics *m, uint64_t now_ms)
{
    if (m == NULL)
        return;
    ASSERT_OWNER(m);
    if (m->http != NULL)
        pt_metrics_http_sweep(m->http, now_ms);
    if (m->telemetry) {
        collect(m);
        pt_metrics_tel_publish(&m->snap);
    }
}

void
pt_metrics_close(struct pt_metrics *m)
{
    if (m == NULL)
        return;
    ASSERT_OWNER(m);
    if (m->telemetry)
        pt_metrics_tel_stop();
    pt_metrics_http_close(m->http);
    free(m->snap.cores);
    free(m);
}
