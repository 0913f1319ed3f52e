/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One request to petreld's control socket: connect, send the JSON form
 * {"argv":[...]} (so arguments may hold spaces or any UTF-8), read the one
 * answer line until the server closes, parse it. Wire format: docs/cli.md.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <petrel/ctl.h>

#include "petrelctl.h"

#define ANSWER_MAX (64u << 20) /* refuse answers larger than this */

volatile sig_atomic_t ctl_interrupted;
bool ctl_hold_errors;

static char held[1024];

void
ctl_errorf(const char *fmt, ...)
{
    size_t len = strlen(held);
    va_list ap;

    va_start(ap, fmt);
    if (ctl_hold_errors)
        vsnprintf(held + len, sizeof(held) - len, fmt, ap);
    else
        vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void
ctl_flush_errors(void)
{
    fputs(held, stderr);
    held[0] = '\0';
}

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timeout, -1 error
 * or interrupted. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = { .fd = fd, .events = events };

    for (;;) {
        int64_t left = deadline - mono_ms();
        int n;

        if (ctl_interrupted)
            return -1;
        if (left <= 0)
            return 0;
        n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int
build_request(struct pt_buf *req, int argc, char *const *argv)
{
    pt_buf_printf(req, "{\"argv\":[");
    for (int i = 0; i < argc; i++) {
        pt_buf_printf(req, "%s", i ? "," : "");
        pt_buf_json_str(req, argv[i]);
    }
    pt_buf_printf(req, "]}\n");
    if (req->oom) {
        ctl_errorf("petrelctl: out of memory\n");
        return -1;
    }
    if (req->len > PT_CTL_REQ_MAX) {
        ctl_errorf("petrelctl: request too long (%zu bytes, the "
                "broker takes %d)\n", req->len, PT_CTL_REQ_MAX);
        return -1;
    }
    return 0;
}

static void
wipe(struct pt_buf *b)
{
    if (b->data != NULL)
        explicit_bzero(b->data, b->cap);
    pt_buf_free(b);
}

static int
send_all(int fd, const char *p, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) != 1)
                return -1;
            continue;
        }
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read until EOF into ans->raw. */
static int
recv_all(const struct ctl_target *t, int fd, int64_t deadline,
         struct ctl_answer *ans)
{
    size_t cap = 0;

    for (;;) {
        ssize_t n;
        int w;

        if (cap - ans->len < 4096) {
            char *p;

            cap = cap ? cap * 2 : 16384;
            if (cap > ANSWER_MAX) {
                ctl_errorf("petrelctl: answer larger than %u bytes\n",
                        ANSWER_MAX);
                return -1;
            }
            p = realloc(ans->raw, cap);
            if (p == NULL) {
                ctl_errorf("petrelctl: out of memory\n");
                return -1;
            }
            ans->raw = p;
        }
        w = wait_fd(fd, POLLIN, deadline);
        if (w != 1) {
            if (ctl_interrupted)
                ctl_errorf("petrelctl: interrupted\n");
            else if (w == 0)
                ctl_errorf("petrelctl: no answer within %d ms\n",
                        t->timeout_ms);
            else
                ctl_errorf("petrelctl: poll: %s\n", strerror(errno));
            return -1;
        }
        n = recv(fd, ans->raw + ans->len, cap - ans->len - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            ctl_errorf("petrelctl: recv: %s\n", strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        ans->len += (size_t)n;
    }
    ans->raw[ans->len] = '\0';
    return 0;
}

/* Check the answer's shape: {"ok":true,"result":...} or
 * {"ok":false,"error":"..."}. */
static int
parse_answer(struct ctl_answer *ans)
{
    const struct pt_json *root, *ok;
    struct pt_json_err err;

    while (ans->len > 0 && (ans->raw[ans->len - 1] == '\n' ||
                            ans->raw[ans->len - 1] == '\r'))
        ans->raw[--ans->len] = '\0';
    if (ans->len == 0) {
        ctl_errorf("petrelctl: empty answer\n");
        return -1;
    }
    ans->doc = pt_json_parse(ans->raw, ans->len, 0, &err);
    if (ans->doc == NULL) {
        ctl_errorf("petrelctl: bad answer (byte %zu: %s): %.200s\n",
                err.pos, err.reason, ans->raw);
        return -1;
    }
    root = pt_json_root(ans->doc);
    ok = pt_json_get(root, "ok");
    if (ok == NULL || (ok->type != PT_JSON_TRUE && ok->type != PT_JSON_FALSE)) {
        ctl_errorf("petrelctl: bad answer (no \"ok\"): %.200s\n",
                ans->raw);
        return -1;
    }
    ans->ok = ok->type == PT_JSON_TRUE;
    ans->result = pt_json_get(root, "result");
    ans->error = pt_json_str(pt_json_get(root, "error"));
    if (!ans->ok && ans->error == NULL)
        ans->error = "(no message)";
    return 0;
}

int
ctl_call(const struct ctl_target *t, int argc, char *const *argv,
         struct ctl_answer *ans)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int64_t deadline = mono_ms() + t->timeout_ms;
    struct pt_buf req = { 0 };
    int fd = -1, rc = -1;

    memset(ans, 0, sizeof(*ans));
    if (build_request(&req, argc, argv) != 0)
        goto out;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        ctl_errorf("petrelctl: cannot reach %s: %s (is petreld "
                "running?)\n", sa.sun_path, strerror(errno));
        goto out;
    }
    if (send_all(fd, req.data, req.len, deadline) != 0) {
        ctl_errorf("petrelctl: send: %s\n",
                ctl_interrupted ? "interrupted" : strerror(errno));
        goto out;
    }
    wipe(&req);
    if (recv_all(t, fd, deadline, ans) != 0 || parse_answer(ans) != 0)
        goto out;
    rc = 0;

out:
    wipe(&req);
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        ctl_answer_free(ans);
    return rc;
}

void
ctl_answer_free(struct ctl_answer *ans)
{
    pt_json_free(ans->doc);
    free(ans->raw);
    memset(ans, 0, sizeof(*ans));
}

int
ctl_print(const struct ctl_target *t, const struct ctl_answer *ans)
{
    if (t->json) {
        printf("%s\n", ans->raw);
    } else if (ans->ok) {
        if (ans->result != NULL)
            ctl_render(stdout, ans->result);
    } else {
        size_t n = strlen(ans->error) * 4 + 1;
        char *msg = malloc(n);
        struct pt_json e = {
            .type = PT_JSON_STRING, .str = ans->error,
            .n = (uint32_t)strlen(ans->error),
        };

        if (msg != NULL)
            ctl_scalar(&e, msg, n);
        ctl_errorf("petrelctl: error: %s\n", msg ? msg : ans->error);
        free(msg);
    }
    fflush(stdout);
    return ans->ok ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}
