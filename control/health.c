/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The health watchdog and the `health` command.
 *
 * Every dataplane core stamps a heartbeat (pt_clock_ns()) and bumps its
 * loop counter on each poll iteration, naps included (a nap is at most
 * dp.idle_max_sleep_us). pt_health_tick(), on the control plane every
 * PT_HEALTH_TICK_MS, compares each heartbeat with the clock:
 *
 *   OK --heartbeat older than health.stall_ms--> STALLED (logged, counted)
 *   STALLED --heartbeat fresh again--> OK (logged with how long it was out)
 *
 * so a core stopping is reported within health.stall_ms + one tick (well
 * under a second with the defaults). `health` reports the cores and, read
 * at the time of the request: the port's link, the pools (mbufs, TCP
 * connections, MQTT sessions per core; routes and retained messages for
 * the node) against health.pool_warn_pct, and the fullest inter-core
 * ring against health.ring_warn_pct. Anything wrong makes the answer say
 * "healthy": false with one line per problem, and `petrelctl health`
 * exit 1.
 *
 * Threading: control-plane thread only; the dataplane is only read
 * (relaxed snapshots).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/broker.h>
#include <petrel/clock.h>
#include <petrel/control.h>
#include <petrel/ctl.h>
#include <petrel/health.h>
#include <petrel/log.h>

PT_LOG_REGISTER(ctl_health, pt.ctl.health, INFO);

#define PT_HEALTH_TICK_MS 50

struct core_watch {
    uint64_t stalled_since_ns;  /* 0 = OK */
    uint64_t stalls;
};

struct pt_health {
    const struct pt_config *cfg;
    struct pt_dp *dp;
    const struct pt_port *port;
    struct pt_broker *broker;
    uint64_t next_ns;
    unsigned n;
    struct core_watch *cores;
    struct pt_ctl_cmd cmd;
};

struct pt_health *
pt_health_create(const struct pt_config *cfg, struct pt_dp *dp,
                 const struct pt_port *port, struct pt_broker *broker)
{
    struct pt_health *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->cfg = cfg;
    h->dp = dp;
    h->port = port;
    h->broker = broker;
    h->n = pt_dp_n_cores(dp);
    h->cores = calloc(h->n, sizeof(*h->cores));
    if (h->cores == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void
pt_health_destroy(struct pt_health *h)
{
    if (h == NULL)
        return;
    free(h->cores);
    free(h);
}

static uint64_t
heartbeat_age_ns(const struct pt_dp_core_info *ci, uint64_t now)
{
    return ci->heartbeat_ns != 0 && now > ci->heartbeat_ns
               ? now - ci->heartbeat_ns
               : 0;
}

void
pt_health_tick(struct pt_health *h, uint64_t now)
{
    uint64_t limit = (uint64_t)h->cfg->health_stall_ms * 1000000u;

    if (now < h->next_ns)
        return;
    h->next_ns = now + PT_HEALTH_TICK_MS * 1000000ull;
    for (unsigned i = 0; i < h->n; i++) {
        struct core_watch *w = &h->cores[i];
        struct pt_dp_core_info ci;
        uint64_t age;

        pt_dp_core_info(pt_dp_core(h->dp, i), &ci);
        age = heartbeat_age_ns(&ci, now);
        if (age > limit && w->stalled_since_ns == 0) {
            w->stalled_since_ns = ci.heartbeat_ns;
            w->stalls++;
            PT_LOG(ERR, ctl_health, "core %u (lcore %u) stalled: no "
                   "heartbeat for %lu ms", i, ci.lcore_id,
                   (unsigned long)(age / 1000000u));
        } else if (age <= limit && w->stalled_since_ns != 0) {
            PT_LOG(NOTICE, ctl_health, "core %u recovered after %lu ms",
                   i, (unsigned long)((now - w->stalled_since_ns) /
                                      1000000u));
            w->stalled_since_ns = 0;
        }
    }
}

/* A pool line, and a problem when it is past the warning level. */
static bool
pool_json(struct pt_buf *out, struct pt_buf *problems, bool *first,
          const char *what, unsigned core, uint64_t used, uint64_t size,
          unsigned warn_pct)
{
    unsigned pct = size != 0 ? (unsigned)(used * 100 / size) : 0;
    bool bad = size != 0 && pct >= warn_pct;

    pt_buf_printf(out, "%s{\"pool\":\"%s\",\"core\":", *first ? "" : ",",
                  what);
    if (core == ~0u)
        pt_buf_printf(out, "null");
    else
        pt_buf_printf(out, "%u", core);
    pt_buf_printf(out, ",\"used\":%lu,\"size\":%lu,\"pct\":%u,\"ok\":%s}",
                  (unsigned long)used, (unsigned long)size, pct,
                  bad ? "false" : "true");
    *first = false;
    if (bad) {
        char line[128];

        if (core == ~0u)
            snprintf(line, sizeof(line), "%s %u%% used", what, pct);
        else
            snprintf(line, sizeof(line), "core %u %s %u%% used", core, what,
                     pct);
        pt_buf_printf(problems, "%s", problems->len ? "," : "");
        pt_buf_json_str(problems, line);
    }
    return !bad;
}

bool
pt_health_report(struct pt_health *h, struct pt_buf *out)
{
    const struct pt_config *cfg = h->cfg;
    uint64_t now = pt_clock_ns();
    uint64_t limit = (uint64_t)cfg->health_stall_ms * 1000000u;
    struct pt_buf problems = { 0 };
    bool healthy = true, first = true;
    bool link = h->port == NULL || pt_port_link_up(h->port);
    char line[160];

    pt_health_tick(h, now);
    pt_buf_printf(out, "{\"cores\":[");
    for (unsigned i = 0; i < h->n; i++) {
        struct pt_dp_core_info ci;
        uint64_t age;
        bool stalled;

        pt_dp_core_info(pt_dp_core(h->dp, i), &ci);
        age = heartbeat_age_ns(&ci, now);
        stalled = age > limit;
        pt_buf_printf(out, "%s{\"core\":%u,\"lcore\":%u,\"state\":\"%s\","
                      "\"heartbeat_age_ms\":%.1f,\"loops\":%lu,"
                      "\"stalls\":%lu}", i ? "," : "", i, ci.lcore_id,
                      stalled ? "stalled" : "ok", (double)age / 1e6,
                      (unsigned long)ci.loops,
                      (unsigned long)h->cores[i].stalls);
        if (stalled) {
            healthy = false;
            snprintf(line, sizeof(line), "core %u stalled: no heartbeat "
                     "for %lu ms", i, (unsigned long)(age / 1000000u));
            pt_buf_printf(&problems, "%s", problems.len ? "," : "");
            pt_buf_json_str(&problems, line);
        }
    }
    pt_buf_printf(out, "],\"port\":{\"name\":");
    pt_buf_json_str(out, h->port != NULL ? h->port->name : "");
    pt_buf_printf(out, ",\"link_up\":%s},\"pools\":[",
                  link ? "true" : "false");
    if (!link) {
        healthy = false;
        pt_buf_printf(&problems, "%s\"port link down\"",
                      problems.len ? "," : "");
    }
    for (unsigned i = 0; i < h->n; i++) {
        struct pt_dp_core_info ci;

        pt_dp_core_info(pt_dp_core(h->dp, i), &ci);
        healthy &= pool_json(out, &problems, &first, "mbufs", i,
                             ci.pool_in_use, ci.pool_size,
                             cfg->health_pool_warn_pct);
        healthy &= pool_json(out, &problems, &first, "tcp_connections", i,
                             ci.tcp.conns_in_use, ci.tcp.conns_max,
                             cfg->health_pool_warn_pct);
        if (ci.mqtt_on)
            healthy &= pool_json(out, &problems, &first, "mqtt_sessions", i,
                                 ci.mqtt.sessions, cfg->mqtt_max_sessions,
                                 cfg->health_pool_warn_pct);
    }
    if (h->broker != NULL) {
        struct pt_broker_ctl_stats bs;
        unsigned from, to, fill;

        pt_broker_ctl_stats(h->broker, &bs);
        healthy &= pool_json(out, &problems, &first, "routes", ~0u,
                             bs.routes, cfg->mqtt_max_routes,
                             cfg->health_pool_warn_pct);
        healthy &= pool_json(out, &problems, &first, "retained", ~0u,
                             bs.retained, cfg->mqtt_max_retained,
                             cfg->health_pool_warn_pct);
        fill = pt_broker_ring_fill(h->broker, &from, &to);
        pt_buf_printf(out, "],\"rings\":{\"fullest_pct\":%u,\"from\":%u,"
                      "\"to\":%u,\"ok\":%s", fill, from, to,
                      fill >= cfg->health_ring_warn_pct ? "false" : "true");
        if (fill >= cfg->health_ring_warn_pct) {
            healthy = false;
            snprintf(line, sizeof(line), "ring %u -> %u %u%% full (%u is "
                     "the control plane)", from, to, fill,
                     pt_dp_n_cores(h->dp));
            pt_buf_printf(&problems, "%s", problems.len ? "," : "");
            pt_buf_json_str(&problems, line);
        }
        pt_buf_printf(out, "}");
    } else {
        pt_buf_printf(out, "]");
    }
    pt_buf_printf(out, ",\"healthy\":%s,\"problems\":[%.*s]}",
                  healthy ? "true" : "false", (int)problems.len,
                  problems.data != NULL ? problems.data : "");
    if (problems.oom)
        out->oom = 1;
    pt_buf_free(&problems);
    return healthy;
}

static int
cmd_health(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)argc;
    (void)argv;
    pt_health_report(ctx, out);
    return 0;
}

int
pt_health_register(struct pt_health *h, struct pt_ctl *ctl)
{
    h->cmd = (struct pt_ctl_cmd){
        .name = "health", .args = "",
        .help = "per-core heartbeat state, port link, pool use and ring "
                "fill; \"healthy\": false (petrelctl exits 1) when a core "
                "is stalled, the link is down, a pool or ring is past its "
                "health.* warning level",
        .fn = cmd_health, .ctx = h,
    };
    return pt_ctl_register(ctl, &h->cmd);
}
