/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The metrics HTTP server: just enough HTTP/1.0 and 1.1 for a Prometheus
 * scrape (GET /metrics), on a kernel TCP socket in the control plane's
 * epoll loop. One request per connection; every answer says
 * "Connection: close". Not a general web server: no keep-alive, no
 * chunked bodies, no request bodies, no TLS (bind it to a management
 * address).
 *
 * Client state machine, one slot per connection:
 *
 *     READING --whole request--> WRITING --all sent--> LINGER --EOF--> closed
 *
 *     FREE --connect--> READING [accept_all]
 *     FREE --connect, all slots taken--> 503 sent, closed [accept_all]
 *     READING --whole request--> WRITING (200/404/405) [client_read, respond]
 *     READING --bad request line or header, NUL--> WRITING (400)
 *                                                   [client_read, respond]
 *     READING --PT_METRICS_REQ_MAX bytes, no blank line--> WRITING (431)
 *                                                   [client_read, respond]
 *     READING --peer closes or resets--> closed (error) [client_read]
 *     WRITING --socket full--> WRITING, waits for EPOLLOUT [client_write]
 *     WRITING --all sent--> LINGER (write side shut) [client_write]
 *     WRITING --send error--> closed (error) [client_write]
 *     READING/WRITING --PT_METRICS_IDLE_MS--> closed (timeout)
 *                                                   [pt_metrics_http_sweep]
 *     LINGER --EOF or error--> closed [client_drain]
 *     LINGER --PT_METRICS_LINGER_MS--> closed [pt_metrics_http_sweep]
 *
 * LINGER: after the answer the write side is shut and what the client
 * still sends is read and dropped until it closes, so closing with
 * unread bytes never turns into a RST that destroys the answer in flight
 * (the client of a 431 has sent more than we read).
 *
 * Invariants: every socket is non-blocking; the server never waits for a
 * client; at most PT_METRICS_MAX_CLIENTS are open (more get a 503 and are
 * closed at once).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <petrel/ctl.h>
#include <petrel/metrics.h>

#include "metrics_priv.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum client_state { CL_FREE = 0, CL_READING, CL_WRITING, CL_LINGER };

struct client {
    int fd;
    enum client_state state;
    uint64_t deadline_ms;
    size_t in_len;
    char in[PT_METRICS_REQ_MAX];
    struct pt_buf out;
    size_t out_off;
};

struct pt_metrics_http {
    int lfd;
    int epfd;
    pt_metrics_body_fn body;
    void *ctx;
    struct pt_metrics_http_stats stats;
    struct client clients[PT_METRICS_MAX_CLIENTS];
};

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- request parsing ---- */

static bool
is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* "METHOD SP target SP HTTP/1.x", without the line end. @return 0 or
 * 400; *method_len and the target's span are set on 0. */
static int
parse_request_line(const char *l, size_t len, size_t *method_len,
                   const char **target, size_t *target_len)
{
    const char *sp1 = memchr(l, ' ', len), *sp2;
    size_t vlen;

    if (sp1 == NULL || sp1 == l)
        return 400;
    for (const char *p = l; p < sp1; p++)
        if (!is_tchar(*p))
            return 400;
    sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - l));
    if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
        return 400;
    for (const char *p = sp1 + 1; p < sp2; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 400;
    vlen = len - (size_t)(sp2 + 1 - l);
    if (vlen != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
                      memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
        return 400;
    *method_len = (size_t)(sp1 - l);
    *target = sp1 + 1;
    *target_len = (size_t)(sp2 - sp1 - 1);
    return 0;
}

/* "name: value": a token, a colon; no leading white space (obsolete line
 * folding is refused, RFC 9112 5.2). */
static bool
header_line_ok(const char *l, size_t len)
{
    const char *colon = memchr(l, ':', len);

    if (colon == NULL || colon == l)
        return false;
    for (const char *p = l; p < colon; p++)
        if (!is_tchar(*p))
            return false;
    for (const char *p = colon + 1; p < l + len; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return false;
    return true;
}

int
pt_metrics_http_parse(const char *req, size_t len, bool *head)
{
    const char *p = req, *end = req + len, *target = NULL;
    size_t method_len = 0, target_len = 0, path_len;
    bool first = true, done = false;

    *head = false;
    if (memchr(req, '\0', len) != NULL)
        return 400;
    /* judge every whole line; the request line may already be refused
     * while its headers are still coming */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l;

        if (nl == NULL)
            break;
        l = (size_t)(nl - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (first) {
            if (parse_request_line(p, l, &method_len, &target,
                                   &target_len) != 0)
                return 400;
            first = false;
        } else if (l == 0) {
            done = true;
            break;
        } else if (!header_line_ok(p, l)) {
            return 400;
        }
        p = nl + 1;
    }
    if (!done)
        return len >= PT_METRICS_REQ_MAX ? 431 : 0;

    if (method_len == 4 && memcmp(req, "HEAD", 4) == 0)
        *head = true;
    else if (method_len != 3 || memcmp(req, "GET", 3) != 0)
        return 405;
    path_len = target_len;
    for (size_t i = 0; i < target_len; i++) {
        if (target[i] == '?') {
            path_len = i;
            break;
        }
    }
    if (path_len == 8 && memcmp(target, "/metrics", 8) == 0)
        return 200;
    return 404;
}

/* ---- connections ---- */

static void
client_close(struct pt_metrics_http *h, struct client *c)
{
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    pt_buf_free(&c->out);
    c->state = CL_FREE;
    c->fd = -1;
}

static void
client_watch(struct pt_metrics_http *h, struct client *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };

    epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
client_write(struct pt_metrics_http *h, struct client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off,
                         c->out.len - c->out_off, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                client_watch(h, c, EPOLLOUT);
                return;
            }
            h->stats.errors++;
            client_close(h, c);
            return;
        }
        c->out_off += (size_t)n;
    }
    /* all sent: let the client see EOF, drop what it still sends */
    pt_buf_free(&c->out);
    shutdown(c->fd, SHUT_WR);
    c->state = CL_LINGER;
    c->deadline_ms = now_ms() + PT_METRICS_LINGER_MS;
    client_watch(h, c, EPOLLIN);
}

static const char *
reason(int status)
{
    switch (status) {
#define PT_X(code, text) case code: return text;
        PT_METRICS_HTTP_CODES(PT_X)
#undef PT_X
    }
    return "Error";
}

static void
count(struct pt_metrics_http *h, int status)
{
    switch (status) {
#define PT_X(code, text) case code: h->stats.responses[PT_MH_##code]++; break;
        PT_METRICS_HTTP_CODES(PT_X)
#undef PT_X
    }
}

static void
respond(struct pt_metrics_http *h, struct client *c, int status, bool head)
{
    struct pt_buf body = { 0 };
    const char *type = CONTENT_TYPE;

    if (status == 200) {
        /* counted first, so a scrape sees itself */
        count(h, status);
        h->body(h->ctx, &body);
        if (body.oom) {
            pt_buf_free(&body);
            h->stats.responses[PT_MH_200]--;
            status = 500;
        }
    }
    if (status != 200) {
        count(h, status);
        type = "text/plain; charset=utf-8";
        pt_buf_printf(&body, "%d %s\n", status, reason(status));
    }
    pt_buf_printf(&c->out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                  status, reason(status), type, body.len,
                  status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!head && body.len > 0)
        pt_buf_printf(&c->out, "%.*s", (int)body.len, body.data);
    pt_buf_free(&body);
    if (c->out.oom) {
        h->stats.errors++;
        client_close(h, c);
        return;
    }
    c->state = CL_WRITING;
    c->out_off = 0;
    c->deadline_ms = now_ms() + PT_METRICS_IDLE_MS;
    client_write(h, c);
}

static void
client_read(struct pt_metrics_http *h, struct client *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len,
                         sizeof(c->in) - c->in_len, 0);
        bool head;
        int status;

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            h->stats.errors++;   /* gone before a whole request */
            client_close(h, c);
            return;
        }
        if (n < 0)
            return;
        c->in_len += (size_t)n;
        status = pt_metrics_http_parse(c->in, c->in_len, &head);
        if (status != 0) {
            respond(h, c, status, head);
            return;
        }
    }
}

static void
client_drain(struct pt_metrics_http *h, struct client *c)
{
    char sink[512];

    for (;;) {
        ssize_t n = recv(c->fd, sink, sizeof(sink), 0);

        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        client_close(h, c);   /* EOF or error: the answer was sent */
        return;
    }
}

static void
accept_all(struct pt_metrics_http *h)
{
    for (;;) {
        int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN };
        struct client *c = NULL;

        if (fd < 0)
            return;
        for (unsigned i = 0; i < PT_METRICS_MAX_CLIENTS; i++) {
            if (h->clients[i].state == CL_FREE) {
                c = &h->clients[i];
                break;
            }
        }
        if (c == NULL) {
            static const char busy[] =
                "HTTP/1.1 503 Service Unavailable\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Length: 17\r\nConnection: close\r\n\r\n"
                "too many clients\n";

            h->stats.refused++;
            (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->in_len = 0;
        c->out_off = 0;
        memset(&c->out, 0, sizeof(c->out));
        c->state = CL_READING;
        c->deadline_ms = now_ms() + PT_METRICS_IDLE_MS;
        ev.data.ptr = c;
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            c->state = CL_FREE;
        }
    }
}

/* ---- the server ---- */

struct pt_metrics_http *
pt_metrics_http_open(uint32_t addr, uint16_t port, int epfd,
                     pt_metrics_body_fn fn, void *ctx)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = addr,
    };
    struct epoll_event ev = { .events = EPOLLIN };
    struct pt_metrics_http *h = calloc(1, sizeof(*h));
    int one = 1, err;

    if (h == NULL)
        return NULL;
    h->epfd = epfd;
    h->body = fn;
    h->ctx = ctx;
    for (unsigned i = 0; i < PT_METRICS_MAX_CLIENTS; i++)
        h->clients[i].fd = -1;
    h->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->lfd < 0)
        goto fail;
    /* a restart must not wait for the last run's TIME_WAITs */
    setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(h->lfd, 64) != 0)
        goto fail;
    ev.data.ptr = h;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, h->lfd, &ev) != 0)
        goto fail;
    return h;

fail:
    err = errno;
    if (h->lfd >= 0)
        close(h->lfd);
    free(h);
    errno = err;
    return NULL;
}

int
pt_metrics_http_event(struct pt_metrics_http *h, void *ptr, uint32_t events)
{
    struct client *c = ptr;

    if (ptr == h) {
        accept_all(h);
        return 1;
    }
    if (c < h->clients || c >= h->clients + PT_METRICS_MAX_CLIENTS)
        return 0;
    switch (c->state) {
    case CL_READING:
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            client_read(h, c);
        break;
    case CL_WRITING:
        client_write(h, c);
        break;
    case CL_LINGER:
        client_drain(h, c);
        break;
    case CL_FREE:
        break;
    }
    return 1;
}

void
pt_metrics_http_sweep(struct pt_metrics_http *h, uint64_t now)
{
    for (unsigned i = 0; i < PT_METRICS_MAX_CLIENTS; i++) {
        struct client *c = &h->clients[i];

        if (c->state == CL_FREE || now < c->deadline_ms)
            continue;
        if (c->state != CL_LINGER)
            h->stats.timeouts++;
        client_close(h, c);
    }
}

void
pt_metrics_http_close(struct pt_metrics_http *h)
{
    if (h == NULL)
        return;
    for (unsigned i = 0; i < PT_METRICS_MAX_CLIENTS; i++)
        if (h->clients[i].state != CL_FREE)
            client_close(h, &h->clients[i]);
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->lfd, NULL);
    close(h->lfd);
    free(h);
}

const struct pt_metrics_http_stats *
pt_metrics_http_stats(const struct pt_metrics_http *h)
{
    return &h->stats;
}
