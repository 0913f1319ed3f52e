/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's event loop (see include/petrel/control.h) and the
 * life-cycle commands it owns: `status` and `shutdown`.
 *
 * Stopping (graceful with the broker on; each step bounded):
 *
 *   RUNNING --SIGINT/SIGTERM or `shutdown`--> WILLS: every core refuses
 *       new connections and publishes its clients' wills (SHUTDOWN WILLS)
 *   WILLS --all cores acked, or 1 s--> CLOSE: every core delivers what is
 *       in its rings (the wills) and closes its connections (FIN)
 *   CLOSE --all acked, or 1 s--> DRAIN: wait for TCP to finish
 *   DRAIN --no MQTT connection left, or mqtt.shutdown_grace_ms since the stop
 *       began--> STOPPED: run returns; the caller stops the cores (RST to
 *       whatever is left), closes the port, exits 0
 *   any --a second SIGINT/SIGTERM--> STOPPED at once
 *
 * Without the broker, RUNNING goes straight to STOPPED.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rte_version.h>

#include <petrel/admin.h>
#include <petrel/broker.h>
#include <petrel/clock.h>
#include <petrel/control.h>
#include <petrel/ctl.h>
#include <petrel/health.h>
#include <petrel/log.h>
#include <petrel/metrics.h>

PT_LOG_REGISTER(ctl_main, pt.ctl.main, INFO);

#define PT_TICK_MS 250

enum stop_state { ST_RUNNING = 0, ST_WILLS, ST_CLOSE, ST_DRAIN, ST_STOPPED };

#define PT_STOP_PHASE_MS 1000   /* longest wait for the cores' acks */

struct pt_control {
    struct pt_config *cfg;      /* live: run-time keys change (cmd_admin.c) */
    struct pt_dp *dp;
    const struct pt_port *port;
    struct pt_ctl *ctl;
    struct pt_metrics *metrics;     /* Prometheus HTTP, DPDK telemetry */
    struct pt_broker *broker;       /* NULL when mqtt.port = 0 */
    int epfd;
    int sigfd;
    int tfd;
    enum stop_state stop;
    uint64_t stop_began_ms;
    uint64_t phase_began_ms;
    struct pt_health *health;
    struct pt_admin *admin;
    uint64_t started_ms;
    struct pt_ctl_cmd status_cmd;   /* registered copies carrying ctx = us */
    struct pt_ctl_cmd shutdown_cmd;
};


static void
signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

int
pt_control_block_signals(void)
{
    sigset_t set;

    signal_set(&set);
    signal(SIGPIPE, SIG_IGN);
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int
cmd_status(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    const struct pt_control *cp = ctx;
    char ip[INET_ADDRSTRLEN];

    (void)argc;
    (void)argv;
    inet_ntop(AF_INET, &cp->cfg->ip, ip, sizeof(ip));
    pt_buf_printf(out, "{\"name\":");
    pt_buf_json_str(out, cp->cfg->name);
    pt_buf_printf(out, ",\"version\":\"%s\",\"dpdk\":",
                  PT_VERSION);
    pt_buf_json_str(out, rte_version());
    pt_buf_printf(out, ",\"pid\":%d,\"uptime_s\":%.1f,\"port\":",
                  (int)getpid(), (pt_ctl_now_ms() - cp->started_ms) / 1000.0);
    pt_buf_json_str(out, cp->port->name);
    pt_buf_printf(out, ",\"link_up\":%s,\"mac\":\"" RTE_ETHER_ADDR_PRT_FMT
                  "\",\"ip\":\"%s/%u\",\"dataplane_cores\":%u,\"idle\":\"%s\"}",
                  pt_port_link_up(cp->port) ? "true" : "false",
                  RTE_ETHER_ADDR_BYTES(&cp->port->mac), ip,
                  cp->cfg->prefix_len, pt_dp_n_cores(cp->dp),
                  pt_idle_mode_name(pt_dp_idle_mode(cp->dp)));
    return 0;
}

/* ---- stopping ---- */

static void
stop_request(struct pt_control *cp)
{
    uint64_t now = pt_ctl_now_ms();

    if (cp->stop != ST_RUNNING) {
        PT_LOG(NOTICE, ctl_main, "asked again: stopping now");
        cp->stop = ST_STOPPED;
        return;
    }
    cp->stop_began_ms = cp->phase_began_ms = now;
    if (cp->broker == NULL) {
        cp->stop = ST_STOPPED;
        return;
    }
    PT_LOG(NOTICE, ctl_main, "graceful stop: refusing new clients, "
           "publishing wills");
    pt_broker_ctl_shutdown(cp->broker, PT_SHUTDOWN_WILLS);
    cp->stop = ST_WILLS;
}

/* MQTT connections whose TCP has not finished closing (an actor lives
 * until TCP reports the connection closed). Other TCP users (the echo
 * listener) are not waited for: they get the RST of the cores' stop. */
static uint64_t
conns_left(struct pt_control *cp)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < pt_dp_n_cores(cp->dp); i++) {
        struct pt_dp_core_info ci;

        pt_dp_core_info(pt_dp_core(cp->dp, i), &ci);
        n += ci.mqtt.connections;
    }
    return n;
}

static void
stop_advance(struct pt_control *cp)
{
    uint64_t now = pt_ctl_now_ms();
    bool phase_over = now - cp->phase_began_ms >= PT_STOP_PHASE_MS;

    switch (cp->stop) {
    case ST_WILLS:
        if (!pt_broker_ctl_shutdown_done(cp->broker, PT_SHUTDOWN_WILLS) &&
            !phase_over)
            return;
        pt_broker_ctl_shutdown(cp->broker, PT_SHUTDOWN_CLOSE);
        cp->stop = ST_CLOSE;
        cp->phase_began_ms = now;
        return;
    case ST_CLOSE:
        if (!pt_broker_ctl_shutdown_done(cp->broker, PT_SHUTDOWN_CLOSE) &&
            !phase_over)
            return;
        cp->stop = ST_DRAIN;
        cp->phase_began_ms = now;
        return;
    case ST_DRAIN: {
        uint64_t left = conns_left(cp);

        if (left == 0) {
            PT_LOG(NOTICE, ctl_main, "graceful stop: every connection "
                   "closed in %lu ms", (unsigned long)(now - cp->stop_began_ms));
            cp->stop = ST_STOPPED;
        } else if (now - cp->stop_began_ms >= cp->cfg->mqtt_shutdown_grace_ms) {
            PT_LOG(NOTICE, ctl_main, "graceful stop: %lu connections still "
                   "open after %u ms: they get a RST", (unsigned long)left,
                   cp->cfg->mqtt_shutdown_grace_ms);
            cp->stop = ST_STOPPED;
        }
        return;
    }
    default:
        return;
    }
}

static int
cmd_shutdown(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct pt_control *cp = ctx;

    (void)argc;
    (void)argv;
    PT_LOG(NOTICE, ctl_main, "shutdown requested on the control socket");
    stop_request(cp);
    pt_buf_printf(out, "\"stopping\"");
    return 0;
}

static const struct pt_ctl_cmd status_cmd_tmpl = {
    .name = "status", .args = "",
    .help = "instance name, version, uptime, port, address, cores",
    .fn = cmd_status,
};
static const struct pt_ctl_cmd shutdown_cmd_tmpl = {
    .name = "shutdown", .args = "",
    .help = "graceful stop: refuse new clients, publish every will, close "
            "each connection (FIN), wait up to mqtt.shutdown_grace_ms, "
            "exit 0",
    .fn = cmd_shutdown,
};

struct pt_control *
pt_control_create(struct pt_config *cfg, struct pt_dp *dp,
                  const struct pt_port *port,
                  const struct pt_config_source *src)
{
    struct pt_control *cp = calloc(1, sizeof(*cp));
    struct epoll_event ev = { .events = EPOLLIN };
    struct itimerspec its = {
        .it_interval = { 0, PT_TICK_MS * 1000000L },
        .it_value = { 0, PT_TICK_MS * 1000000L },
    };
    char path[PT_PATH_MAX];
    sigset_t set;
    int err;

    if (cp == NULL)
        return NULL;
    cp->cfg = cfg;
    cp->dp = dp;
    cp->port = port;
    cp->started_ms = pt_ctl_now_ms();
    cp->sigfd = cp->tfd = cp->epfd = -1;
    cp->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (cp->epfd < 0)
        goto fail;

    signal_set(&set);
    cp->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    ev.data.ptr = &cp->sigfd;
    if (cp->sigfd < 0 || epoll_ctl(cp->epfd, EPOLL_CTL_ADD, cp->sigfd, &ev))
        goto fail;
    cp->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    ev.data.ptr = &cp->tfd;
    if (cp->tfd < 0 || timerfd_settime(cp->tfd, 0, &its, NULL) != 0 ||
        epoll_ctl(cp->epfd, EPOLL_CTL_ADD, cp->tfd, &ev))
        goto fail;

    cp->broker = pt_dp_broker(dp);
    if (cp->broker != NULL && pt_broker_ctl_attach(cp->broker) != 0) {
        errno = ENOMEM;
        goto fail;
    }
    if (cp->broker != NULL) {
        char err[512];

        if (pt_broker_ctl_load_passwd(cp->broker, err, sizeof(err)) != 0 ||
            pt_broker_ctl_load_acl(cp->broker, err, sizeof(err)) != 0 ||
            pt_broker_ctl_load_rules(cp->broker, err, sizeof(err)) != 0) {
            fprintf(stderr, "petreld: %s\n", err);
            errno = EINVAL;
            goto fail;
        }
    }
    pt_config_ctl_path(cfg, path, sizeof(path));
    cp->ctl = pt_ctl_open(path, cp->epfd);
    if (cp->ctl == NULL) {
        PT_LOG(ERR, ctl_main, "control socket %s: %s", path, strerror(errno));
        goto fail;
    }
    cp->status_cmd = status_cmd_tmpl;
    cp->status_cmd.ctx = cp;
    cp->shutdown_cmd = shutdown_cmd_tmpl;
    cp->shutdown_cmd.ctx = cp;
    if (pt_ctl_register(cp->ctl, &cp->status_cmd) != 0 ||
        pt_ctl_register(cp->ctl, &cp->shutdown_cmd) != 0 ||
        pt_cmd_stats_register(cp->ctl, dp) != 0 ||
        pt_cmd_config_register(cp->ctl, cfg) != 0 ||
        (cp->broker != NULL &&
         (pt_cmd_broker_register(cp->ctl, cp->broker, dp, cfg) != 0 ||
          pt_cmd_rules_register(cp->ctl, cp->broker, cfg) != 0))) {
        errno = EEXIST;
        goto fail;
    }
    cp->health = pt_health_create(cfg, dp, port, cp->broker);
    cp->admin = pt_admin_create(cp->ctl, cfg, src, dp, cp->broker);
    if (cp->health == NULL || cp->admin == NULL ||
        pt_health_register(cp->health, cp->ctl) != 0) {
        errno = ENOMEM;
        goto fail;
    }
    PT_LOG(INFO, ctl_main, "control socket %s", path);
    /* logs the address and port when the listener cannot bind */
    cp->metrics = pt_metrics_open(cfg, cp->epfd, dp, cp->broker, cp->ctl);
    if (cp->metrics == NULL)
        goto fail;
    return cp;

fail:
    err = errno;
    pt_control_destroy(cp);
    errno = err;
    return NULL;
}

static void
on_signal(struct pt_control *cp)
{
    struct signalfd_siginfo si;

    while (read(cp->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            struct pt_buf out = { 0 };
            int rc = pt_admin_reload(cp->admin, &out);

            if (rc == 0)
                PT_LOG(NOTICE, ctl_main, "SIGHUP: reloaded: %.*s",
                       (int)out.len, out.data != NULL ? out.data : "");
            else
                PT_LOG(ERR, ctl_main, "SIGHUP: %.*s", (int)out.len,
                       out.data != NULL ? out.data : "");
            pt_buf_free(&out);
            continue;
        }
        PT_LOG(NOTICE, ctl_main, "%s: stopping", strsignal((int)si.ssi_signo));
        stop_request(cp);
    }
}

int
pt_control_run(struct pt_control *cp)
{
    struct epoll_event evs[16];

    unsigned busy = 0;

    while (cp->stop != ST_STOPPED) {
        /* with a broker, look at the cores' rings every millisecond
         * (logins, route changes and SUBACKs wait on us), and at once
         * again while they keep us busy: a burst of logins or session
         * ends is drained at the rate we process it, not 64 a tick */
        int n = epoll_wait(cp->epfd, evs, 16,
                           cp->broker == NULL ? -1 : busy ? 0 : 1);

        if (cp->broker != NULL)
            busy = pt_broker_ctl_poll(cp->broker, pt_clock_ns());
        pt_health_tick(cp->health, pt_clock_ns());
        if (cp->stop != ST_RUNNING)
            stop_advance(cp);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            PT_LOG(ERR, ctl_main, "epoll_wait: %s", strerror(errno));
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;

            if (p == &cp->sigfd) {
                on_signal(cp);
            } else if (p == &cp->tfd) {
                uint64_t ticks;

                (void)!read(cp->tfd, &ticks, sizeof(ticks));
                pt_ctl_sweep(cp->ctl, pt_ctl_now_ms());
                pt_metrics_tick(cp->metrics, pt_ctl_now_ms());
            } else {
                if (!pt_metrics_event(cp->metrics, p, evs[i].events))
                    pt_ctl_event(cp->ctl, p, evs[i].events);
            }
        }
    }
    return 0;
}

void
pt_control_destroy(struct pt_control *cp)
{
    if (cp == NULL)
        return;
    pt_metrics_close(cp->metrics);
    pt_ctl_close(cp->ctl);
    pt_admin_destroy(cp->admin);
    pt_health_destroy(cp->health);
    if (cp->broker != NULL)
        pt_broker_ctl_detach(cp->broker);
    if (cp->tfd >= 0)
        close(cp->tfd);
    if (cp->sigfd >= 0)
        close(cp->sigfd);
    if (cp->epfd >= 0)
        close(cp->epfd);
    free(cp);
}
