// SPDX-License-Identifier: BSD-3-Clause
/*
 * pt-mqtt-load's kernel sockets: opening a client socket from the source
 * address range, the file limit, and the buffered connection p2p and
 * fanout use (struct ld_conn: connect completion, send backlog, receive
 * buffer split into frames for the mode's on_frame). connect.c keeps its
 * own much smaller per-session state and uses only ld_socket_connect()
 * and ld_nofile() from here.
 *
 * Source addresses: with --src A --src-count K the n-th socket binds to
 * A + n % K with port 0 and IP_BIND_ADDRESS_NO_PORT, so the kernel picks
 * the port at connect() time by the whole 4-tuple: each address gives the
 * full ephemeral range (net.ipv4.ip_local_port_range, ~28k by default)
 * towards one broker address and port, K addresses K times that. Without
 * --src nothing is bound (the kernel picks address and port).
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

struct ld_io ld_io = { .ep = -1 };

uint64_t ld_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ld_nofile(uint64_t want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("pt-mqtt-load: getrlimit(RLIMIT_NOFILE)");
        return -1;
    }
    if (rl.rlim_cur >= want)
        return 0;
    struct rlimit nrl = { .rlim_cur = want,
                          .rlim_max = rl.rlim_max > want ? rl.rlim_max
                                                         : want };
    if (setrlimit(RLIMIT_NOFILE, &nrl) == 0)
        return 0;
    fprintf(stderr, "pt-mqtt-load: need %llu open files, RLIMIT_NOFILE is "
            "%llu (hard %llu) and raising it failed: %s (raising the hard "
            "limit needs CAP_SYS_RESOURCE and fs.nr_open >= %llu; or run "
            "with fewer sessions)\n", (unsigned long long)want,
            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
            strerror(errno), (unsigned long long)want);
    return -1;
}

int ld_io_init(const struct ld_proto *proto)
{
    ld_io.proto = proto;
    snprintf(ld_io.run_id, sizeof(ld_io.run_id), "%08x",
             (unsigned)(getpid() ^ (ld_now_ns() >> 10)));
    ld_io.ep = epoll_create1(EPOLL_CLOEXEC);
    if (ld_io.ep < 0) {
        perror("pt-mqtt-load: epoll_create1");
        return -1;
    }
    return 0;
}

int ld_socket_connect(uint64_t n)
{
    int one = 1, err;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ld_opt.src_count) {
        struct sockaddr_in src = {
            .sin_family = AF_INET,
            .sin_addr.s_addr = htonl(ld_opt.src_first +
                                     (uint32_t)(n % ld_opt.src_count)),
        };
        if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                       sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
            goto fail;
    }
    if (connect(fd, (struct sockaddr *)&ld_opt.addr,
                sizeof(ld_opt.addr)) < 0 && errno != EINPROGRESS)
        goto fail;
    return fd;
fail:
    err = errno;
    close(fd);
    return -err;
}

/* ---- the buffered connection ------------------------------------------- */

void ld_conn_fail(struct ld_conn *c, const char *what)
{
    char who[48];

    if (c->state == LD_ST_DEAD)
        return;
    ld_io.proto->name(c, who, sizeof(who));
    fprintf(stderr, "pt-mqtt-load: %s: %s\n", who, what);
    if (c->state != LD_ST_READY)
        ld_io.setup_failed = true;
    else
        ld_io.errors++;
    c->state = LD_ST_DEAD;
    epoll_ctl(ld_io.ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

int ld_conn_open(struct ld_conn *c, uint32_t idx, bool is_pub,
                 const char *id)
{
    static uint64_t opened;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    size_t idlen = strlen(id);

    c->idx = idx;
    c->is_pub = is_pub;
    c->want_out = true;
    c->fd = ld_socket_connect(opened++);
    if (c->fd < 0) {
        fprintf(stderr, "pt-mqtt-load: connect: %s\n", strerror(-c->fd));
        return -1;
    }
    c->state = LD_ST_CONNECTING;
    c->tx.tail += ld_put_connect(ld_buf_reserve(&c->tx, 16 + idlen), id,
                                 idlen, LD_KEEPALIVE);
    if (epoll_ctl(ld_io.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        perror("pt-mqtt-load: epoll_ctl");
        return -1;
    }
    return 0;
}

static void set_out(struct ld_conn *c, bool want)
{
    struct epoll_event ev = {
        .events = EPOLLIN | (want ? EPOLLOUT : 0u),
        .data.ptr = c,
    };

    if (c->want_out == want)
        return;
    c->want_out = want;
    epoll_ctl(ld_io.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

void ld_conn_flush(struct ld_conn *c)
{
    struct ld_buf *b = &c->tx;

    if (c->state == LD_ST_DEAD || c->state == LD_ST_CONNECTING)
        return;
    while (b->head < b->tail) {
        ssize_t n = send(c->fd, b->p + b->head, b->tail - b->head,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            ld_conn_fail(c, strerror(errno));
            return;
        }
        b->head += (size_t)n;
    }
    set_out(c, b->head < b->tail);
}

/* hand each whole frame in rx to on_frame; a partial one waits for more */
static void parse(struct ld_conn *c, uint64_t now)
{
    struct ld_buf *b = &c->rx;

    while (c->state != LD_ST_DEAD && b->tail - b->head >= 2) {
        const uint8_t *p = b->p + b->head;
        size_t avail = b->tail - b->head, hdr;
        uint32_t rem;
        int r = ld_frame_header(p, avail, &hdr, &rem);

        if (r > 0)
            return;
        if (r < 0) {
            ld_conn_fail(c, "remaining length over 4 bytes");
            return;
        }
        if (avail < hdr + rem) {
            ld_buf_reserve(b, hdr + rem - avail);   /* room for the rest */
            return;
        }
        b->head += hdr + rem;
        ld_io.proto->on_frame(c, p[0], p + hdr, rem, now);
    }
}

static void on_readable(struct ld_conn *c)
{
    for (int i = 0; i < 4 && c->state != LD_ST_DEAD; i++) {
        uint8_t *p = ld_buf_reserve(&c->rx, LD_RX_MIN);
        ssize_t n = recv(c->fd, p, c->rx.cap - c->rx.tail, MSG_DONTWAIT);
        if (n == 0) {
            ld_conn_fail(c, "connection closed by the broker");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                ld_conn_fail(c, strerror(errno));
            return;
        }
        bool drained = (size_t)n < c->rx.cap - c->rx.tail;
        c->rx.tail += (size_t)n;
        parse(c, ld_now_ns());
        if (drained)
            return;
    }
}

void ld_conn_event(struct ld_conn *c, uint32_t ev)
{
    if (c->state == LD_ST_CONNECTING &&
        (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            ld_conn_fail(c, strerror(err));
            return;
        }
        c->state = LD_ST_CONNACK;
        ld_conn_flush(c);
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c);
    if ((ev & EPOLLOUT) && c->state != LD_ST_DEAD)
        ld_conn_flush(c);
}

void ld_conn_close(struct ld_conn *c)
{
    static const uint8_t disc[2] = { 0xe0, 0 };

    if (c->state == LD_ST_DEAD)
        return;
    if (send(c->fd, disc, 2, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        (void)0;                        /* best effort */
    close(c->fd);
    c->fd = -1;
    c->state = LD_ST_DEAD;
}
