/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's event loop (see include/petrel/control.h) and the
 * life-cycle commands it owns: `status` and `shutdown`.
 *
 * States: RUNNING --SIGINT/SIGTERM or `shutdown`--> STOPPING (run returns;
 * the caller stops the dataplane, closes the port, exits 0).
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

#include <petrel/broker.h>
#include <petrel/clock.h>
#include <petrel/control.h>
#include <petrel/ctl.h>
#include <petrel/log.h>

PT_LOG_REGISTER(ctl_main, pt.ctl.main, INFO);

#define PT_TICK_MS 250

struct pt_control {
    const struct pt_config *cfg;
    struct pt_dp *dp;
    const struct pt_port *port;
    struct pt_ctl *ctl;
    struct pt_broker *broker;       /* NULL when mqtt.port = 0 */
    int epfd;
    int sigfd;
    int tfd;
    int stop;
    uint64_t started_ms;
    struct pt_ctl_cmd status_cmd;   /* registered copies carrying ctx = us */
    struct pt_ctl_cmd shutdown_cmd;
};

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
                  (int)getpid(), (mono_ms() - cp->started_ms) / 1000.0);
    pt_buf_json_str(out, cp->port->name);
    pt_buf_printf(out, ",\"link_up\":%s,\"mac\":\"" RTE_ETHER_ADDR_PRT_FMT
                  "\",\"ip\":\"%s/%u\",\"dataplane_cores\":%u,\"idle\":\"%s\"}",
                  pt_port_link_up(cp->port) ? "true" : "false",
                  RTE_ETHER_ADDR_BYTES(&cp->port->mac), ip,
                  cp->cfg->prefix_len, pt_dp_n_cores(cp->dp),
                  pt_idle_mode_name(pt_dp_idle_mode(cp->dp)));
    return 0;
}

static int
cmd_shutdown(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct pt_control *cp = ctx;

    (void)argc;
    (void)argv;
    PT_LOG(NOTICE, ctl_main, "shutdown requested on the control socket");
    cp->stop = 1;
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
    .help = "stop the broker: dataplane cores stop, the port closes, exit 0",
    .fn = cmd_shutdown,
};

struct pt_control *
pt_control_create(const struct pt_config *cfg, struct pt_dp *dp,
                  const struct pt_port *port)
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
    cp->started_ms = mono_ms();
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
        pt_cmd_config_register(cp->ctl, cfg) != 0) {
        errno = EEXIST;
        goto fail;
    }
    PT_LOG(INFO, ctl_main, "control socket %s", path);
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
            PT_LOG(NOTICE, ctl_main, "SIGHUP: nothing to reload yet");
            continue;
        }
        PT_LOG(NOTICE, ctl_main, "%s: stopping", strsignal((int)si.ssi_signo));
        cp->stop = 1;
    }
}

int
pt_control_run(struct pt_control *cp)
{
    struct epoll_event evs[16];

    while (!cp->stop) {
        /* with a broker, look at the cores' rings every millisecond:
         * logins, route changes and SUBACKs wait on us */
        int n = epoll_wait(cp->epfd, evs, 16, cp->broker != NULL ? 1 : -1);

        if (cp->broker != NULL)
            pt_broker_ctl_poll(cp->broker, pt_clock_ns());

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
                pt_ctl_sweep(cp->ctl, mono_ms());
            } else {
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
    pt_ctl_close(cp->ctl);
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
