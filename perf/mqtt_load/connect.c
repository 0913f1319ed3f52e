// SPDX-License-Identifier: BSD-3-Clause
/*
 * --mode connect: open --sessions N MQTT sessions (TCP, then CONNECT with
 * a clean session and no credentials, then CONNACK), hold them all --hold
 * seconds, close them (DISCONNECT, close). The baseline of petrel-bench's
 * connect scenario: how fast a broker takes new sessions and whether it
 * keeps them.
 *
 * Per session (24 bytes, so millions fit; no buffers):
 *
 *   IDLE --open: socket, bind (--src), connect--> TCP
 *   TCP --writable, SO_ERROR 0: CONNECT sent whole--> CONNACK
 *   CONNACK --4 bytes 20 02 xx 00 read--> UP        (latency recorded)
 *   UP --hold over: DISCONNECT sent, close--> CLOSED
 *   TCP, CONNACK --error, refusal, EOF, --timeout--> FAILED
 *   UP --EOF, error or any byte from the broker--> DROPPED
 *
 * Invariants: at most --max-pending sessions are in TCP or CONNACK at
 * once; with --connect-rate R the i-th open is not before start + i / R
 * (late opens catch up in a burst, still under --max-pending). --timeout
 * bounds the opening phase (first open to last CONNACK or failure); the
 * hold comes after it. CONNECT's keep alive is --timeout + --hold + 60 s
 * (at most 65535), so no PINGREQ is needed and a broker has no reason to
 * close a held session.
 *
 * Measured: connect latency = CONNACK received - socket() called;
 * connects/s = sessions up / (first open .. last CONNACK). Failures are
 * counted and the first few are printed with their reason.
 *
 * Kernel limits: RLIMIT_NOFILE is raised to N + LD_FD_SPARE (ld_nofile); towards
 * one broker address and port each source address gives ~28k ephemeral
 * ports, so beyond that use --src/--src-count (net.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hist.h"
#include "load.h"

#define LD_FAIL_SHOWN   5u

enum ld_cstate { CS_IDLE, CS_TCP, CS_CONNACK, CS_UP, CS_FAILED, CS_DROPPED,
                 CS_CLOSED };

struct ld_sess {
    uint64_t t0;                /* socket() called */
    int fd;
    uint8_t state;
    uint8_t sent;               /* CONNECT bytes sent */
    uint8_t got;                /* CONNACK bytes received */
    uint8_t ack[4];
};

static struct {
    struct ld_sess *s;
    uint64_t opened, pending, up, up_now, up_max, failed, dropped, closed;
    uint64_t close_errors, shown;
    uint64_t first_open, last_connack;
    uint16_t keepalive;
    struct pb_hist *hist;
} cn;

static void say(uint32_t i, const char *what)
{
    if (cn.shown++ < LD_FAIL_SHOWN)
        fprintf(stderr, "pt-mqtt-load: session %u: %s\n", i, what);
}

static void fail(uint32_t i, const char *what)
{
    struct ld_sess *s = &cn.s[i];

    say(i, what);
    if (s->fd >= 0)
        close(s->fd);               /* also leaves the epoll set */
    s->fd = -1;
    if (s->state == CS_TCP || s->state == CS_CONNACK)
        cn.pending--;
    if (s->state == CS_UP) {
        s->state = CS_DROPPED;
        cn.dropped++;
        cn.up_now--;
    } else {
        s->state = CS_FAILED;
        cn.failed++;
    }
}

static void open_one(uint32_t i)
{
    struct ld_sess *s = &cn.s[i];
    struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = i };

    s->t0 = ld_now_ns();
    if (cn.opened++ == 0)
        cn.first_open = s->t0;
    s->fd = ld_socket_connect(i);
    s->state = CS_TCP;
    cn.pending++;
    if (s->fd < 0) {
        char what[128];
        snprintf(what, sizeof(what), "connect: %s%s", strerror(-s->fd),
                 s->fd == -EADDRNOTAVAIL ? " (out of source ports: "
                 "use --src/--src-count)" : "");
        s->fd = -1;
        fail(i, what);
        return;
    }
    if (epoll_ctl(ld_io.ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
        fail(i, strerror(errno));
}

static void send_connect(uint32_t i)
{
    struct ld_sess *s = &cn.s[i];
    uint8_t frame[16 + LD_ID_MAX];
    char id[LD_ID_MAX];
    int idlen = snprintf(id, sizeof(id), "ld%sc%u", ld_io.run_id, i);
    size_t len = ld_put_connect(frame, id, (size_t)idlen, cn.keepalive);

    while (s->sent < len) {
        ssize_t n = send(s->fd, frame + s->sent, len - s->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fail(i, strerror(errno));
            return;                 /* still EPOLLOUT */
        }
        s->sent = (uint8_t)(s->sent + n);
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
    s->state = CS_CONNACK;
    if (epoll_ctl(ld_io.ep, EPOLL_CTL_MOD, s->fd, &ev) < 0)
        fail(i, strerror(errno));
}

static void read_connack(uint32_t i, uint64_t now)
{
    struct ld_sess *s = &cn.s[i];
    ssize_t n = recv(s->fd, s->ack + s->got, sizeof(s->ack) - s->got,
                     MSG_DONTWAIT);
    char what[64];

    if (n == 0) {
        fail(i, "closed by the broker before CONNACK");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail(i, strerror(errno));
        return;
    }
    s->got = (uint8_t)(s->got + n);
    if (s->got < sizeof(s->ack))
        return;
    if (s->ack[0] != 0x20 || s->ack[1] != 2) {
        snprintf(what, sizeof(what), "not a CONNACK: %02x %02x %02x %02x",
                 s->ack[0], s->ack[1], s->ack[2], s->ack[3]);
        fail(i, what);
        return;
    }
    if (s->ack[3] != 0) {
        snprintf(what, sizeof(what), "CONNACK refused the session "
                 "(return code %u)", s->ack[3]);
        fail(i, what);
        return;
    }
    s->state = CS_UP;
    cn.pending--;
    cn.up++;
    if (++cn.up_now > cn.up_max)
        cn.up_max = cn.up_now;
    cn.last_connack = now;
    pb_hist_record(cn.hist, now > s->t0 ? now - s->t0 : 0);
}

/* a held session got an event: the broker closed it or sent something */
static void check_held(uint32_t i)
{
    uint8_t b;
    ssize_t n = recv(cn.s[i].fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    fail(i, n == 0 ? "closed by the broker while held"
         : n < 0 ? strerror(errno) : "unexpected bytes from the broker "
                                     "while held");
}

static void on_event(uint32_t i, uint32_t ev, uint64_t now)
{
    struct ld_sess *s = &cn.s[i];

    if (s->state == CS_TCP) {
        int err = 0;
        socklen_t len = sizeof(err);

        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            fail(i, strerror(err));
        else if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            send_connect(i);
    } else if (s->state == CS_CONNACK) {
        read_connack(i, now);
    } else if (s->state == CS_UP) {
        check_held(i);
    }
}

/* wait up to ms for events and handle them */
static void poll_once(int ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(ld_io.ep, evs, 256, ms);
    uint64_t now = ld_now_ns();

    for (int k = 0; k < n; k++)
        on_event((uint32_t)evs[k].data.u64, evs[k].events, now);
}

/* open every session; returns true when --timeout cut it short */
static bool open_all(void)
{
    uint64_t start = ld_now_ns();
    uint64_t deadline = start + (uint64_t)(ld_opt.timeout * 1e9);
    uint32_t n = ld_opt.sessions;

    while (cn.up + cn.failed < n) {
        uint64_t now = ld_now_ns(), wake = deadline;

        if (now >= deadline)
            return true;
        while (cn.opened < n && cn.pending < ld_opt.max_pending) {
            if (ld_opt.connect_rate > 0) {
                uint64_t due = start + (uint64_t)((double)cn.opened * 1e9 /
                                                  ld_opt.connect_rate);
                if (due > now) {
                    wake = due;
                    break;
                }
            }
            open_one((uint32_t)cn.opened);
        }
        if (cn.up + cn.failed >= n)
            break;
        uint64_t ms = wake > now ? (wake - now + 999999) / 1000000 : 0;
        poll_once(ms > 100 ? 100 : (int)ms);
    }
    return false;
}

static void hold(void)
{
    uint64_t until = ld_now_ns() + (uint64_t)(ld_opt.hold * 1e9);

    for (;;) {
        uint64_t now = ld_now_ns();
        if (now >= until)
            break;
        uint64_t ms = (until - now + 999999) / 1000000;
        poll_once(ms > 100 ? 100 : (int)ms);
    }
}

static void close_all(bool timed_out)
{
    static const uint8_t disc[2] = { 0xe0, 0 };

    for (uint32_t i = 0; i < ld_opt.sessions; i++) {
        struct ld_sess *s = &cn.s[i];

        if (timed_out && (s->state == CS_TCP || s->state == CS_CONNACK))
            fail(i, "no CONNACK within --timeout");
        if (s->state != CS_UP)
            continue;
        if (send(s->fd, disc, 2, MSG_NOSIGNAL | MSG_DONTWAIT) == 2) {
            cn.closed++;
        } else {
            cn.close_errors++;
            say(i, "DISCONNECT not sent");
        }
        close(s->fd);
        s->fd = -1;
        s->state = CS_CLOSED;
        cn.up_now--;
    }
}

static void report(bool timed_out, int rc)
{
    double el = 0.0, rate = 0.0;
    const struct pb_hist *h = cn.hist;

    if (cn.up && cn.last_connack > cn.first_open) {
        el = (double)(cn.last_connack - cn.first_open) * 1e-9;
        rate = (double)cn.up / el;
    }
    if (ld_opt.json) {
        printf("{\"mode\":\"connect\",\"sessions\":%u,\"opened\":%" PRIu64
               ",\"up\":%" PRIu64 ",\"sessions_up_max\":%" PRIu64
               ",\"failed\":%" PRIu64 ",\"dropped\":%" PRIu64
               ",\"closed\":%" PRIu64 ",\"close_errors\":%" PRIu64
               ",\"connect_rate\":%.0f,\"max_pending\":%u,\"hold_s\":%.3f"
               ",\"src_count\":%u,\"connect_seconds\":%.6f"
               ",\"connects_per_s\":%.1f",
               ld_opt.sessions, cn.opened, cn.up, cn.up_max, cn.failed,
               cn.dropped, cn.closed, cn.close_errors, ld_opt.connect_rate,
               ld_opt.max_pending, ld_opt.hold, ld_opt.src_count, el, rate);
        ld_json_hist(stdout, "connect_latency_us", h);
        printf(",\"timed_out\":%s,\"exit\":%d}\n",
               timed_out ? "true" : "false", rc);
    } else {
        printf("connect: %u sessions, %s, at most %u pending, held %.1f s\n",
               ld_opt.sessions, ld_opt.connect_rate > 0 ? "paced" :
               "unpaced", ld_opt.max_pending, ld_opt.hold);
        printf("up %" PRIu64 " (max at once %" PRIu64 ")  failed %" PRIu64
               "  dropped %" PRIu64 "  closed %" PRIu64 "%s\n", cn.up,
               cn.up_max, cn.failed, cn.dropped, cn.closed,
               timed_out ? "  TIMED OUT" : "");
        printf("%" PRIu64 " up in %.3f s: %.0f connects/s\n", cn.up, el,
               rate);
        printf("connect latency us: p50 %.1f  p99 %.1f  max %.1f\n",
               ld_hist_us(h, 50), ld_hist_us(h, 99),
               (double)pb_hist_max(h) * 1e-3);
    }
}

int ld_connect_run(void)
{
    static const struct ld_proto proto = { 0 };    /* no ld_conn here */
    double ka = ld_opt.timeout + ld_opt.hold + 60.0;
    bool timed_out;
    int rc;

    if (ld_nofile((uint64_t)ld_opt.sessions + LD_FD_SPARE) < 0 ||
        ld_io_init(&proto) < 0)
        return 2;
    cn.keepalive = ka > 65535 ? 65535 : (uint16_t)ka;
    cn.hist = ld_hist_new();
    cn.s = calloc(ld_opt.sessions, sizeof(*cn.s));
    if (cn.s == NULL) {
        perror("pt-mqtt-load: sessions");
        return 2;
    }
    timed_out = open_all();
    if (!timed_out && cn.up > 0)
        hold();
    close_all(timed_out);
    if (cn.shown > LD_FAIL_SHOWN)
        fprintf(stderr, "pt-mqtt-load: %" PRIu64 " more failures not "
                "shown\n", cn.shown - LD_FAIL_SHOWN);
    rc = cn.up == ld_opt.sessions && cn.dropped == 0 &&
         cn.closed == cn.up && !timed_out ? 0 : 1;
    report(timed_out, rc);
    return rc;
}
