/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control-socket server (see include/petrel/ctl.h for the wire format).
 *
 * Client state machine, one slot per connection:
 *
 *     READING --'\n'--> WRITING --all sent--> closed
 *     READING --PT_CTL_REQ_MAX bytes without '\n'--> WRITING (error answer)
 *     READING --silent PT_CTL_IDLE_MS--> closed (counted as timeout)
 *     READING/WRITING --peer hangs up or error--> closed
 *
 * Invariants: every socket is non-blocking; the server never waits for a
 * client; at most PT_CTL_MAX_CLIENTS are open (more are refused at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <petrel/ctl.h>
#include <petrel/log.h>

PT_LOG_REGISTER(ctl_sock, pt.ctl.sock, INFO);

#define PT_CTL_MAX_CMDS 64

enum client_state { CL_FREE = 0, CL_READING, CL_WRITING };

struct client {
    int fd;
    enum client_state state;
    uint64_t deadline_ms;
    size_t in_len;
    char in[PT_CTL_REQ_MAX + 1];
    struct pt_buf out;
    size_t out_off;
};

struct pt_ctl {
    int lfd;
    int epfd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned n_cmds;
    const struct pt_ctl_cmd *cmds[PT_CTL_MAX_CMDS];
    struct pt_ctl_stats stats;
    struct client clients[PT_CTL_MAX_CLIENTS];
};

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cmd_help(void *ctx, int argc, char **argv, struct pt_buf *out);

static const struct pt_ctl_cmd help_cmd = {
    .name = "help",
    .args = "",
    .help = "list the commands with their arguments and help",
    .fn = cmd_help,
};

struct pt_ctl *
pt_ctl_open(const char *path, int epfd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct epoll_event ev = { .events = EPOLLIN };
    struct pt_ctl *ctl;
    mode_t old;
    int err;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    ctl = calloc(1, sizeof(*ctl));
    if (ctl == NULL)
        return NULL;
    ctl->epfd = epfd;
    ctl->lfd = -1;
    snprintf(ctl->path, sizeof(ctl->path), "%s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ctl->lfd < 0)
        goto fail;
    unlink(path); /* stale from a dead instance; we hold the instance lock */
    old = umask(0177); /* socket file mode 0600 */
    err = bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (err != 0 || listen(ctl->lfd, 16) != 0)
        goto fail;
    ev.data.ptr = ctl;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, ctl->lfd, &ev) != 0)
        goto fail;
    ctl->cmds[ctl->n_cmds++] = &help_cmd;
    return ctl;

fail:
    err = errno;
    if (ctl->lfd >= 0)
        close(ctl->lfd);
    free(ctl);
    errno = err;
    return NULL;
}

int
pt_ctl_register(struct pt_ctl *ctl, const struct pt_ctl_cmd *cmd)
{
    for (unsigned i = 0; i < ctl->n_cmds; i++)
        if (strcmp(ctl->cmds[i]->name, cmd->name) == 0)
            return -EEXIST;
    if (ctl->n_cmds == PT_CTL_MAX_CMDS)
        return -ENOSPC;
    ctl->cmds[ctl->n_cmds++] = cmd;
    return 0;
}

const struct pt_ctl_stats *
pt_ctl_stats(const struct pt_ctl *ctl)
{
    return &ctl->stats;
}

static int
cmd_help(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    const struct pt_ctl *ctl = ctx;

    (void)argc;
    (void)argv;
    pt_buf_printf(out, "[");
    for (unsigned i = 0; i < ctl->n_cmds; i++) {
        pt_buf_printf(out, "%s{\"command\":", i ? "," : "");
        pt_buf_json_str(out, ctl->cmds[i]->name);
        pt_buf_printf(out, ",\"args\":");
        pt_buf_json_str(out, ctl->cmds[i]->args);
        pt_buf_printf(out, ",\"help\":");
        pt_buf_json_str(out, ctl->cmds[i]->help);
        pt_buf_printf(out, "}");
    }
    pt_buf_printf(out, "]");
    return 0;
}

static void
client_close(struct pt_ctl *ctl, struct client *c)
{
    epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    pt_buf_free(&c->out);
    c->state = CL_FREE;
    c->fd = -1;
}

/* Count how many words of a command name there are ("config show" = 2). */
static int
name_words(const char *name)
{
    int n = 1;

    for (; *name; name++)
        n += *name == ' ';
    return n;
}

static int
name_matches(const char *name, int argc, char **argv)
{
    int words = name_words(name);
    size_t off = 0;

    if (argc < words)
        return 0;
    for (int i = 0; i < words; i++) {
        size_t l = strlen(argv[i]);

        if (strncmp(name + off, argv[i], l) != 0 ||
            (name[off + l] != ' ' && name[off + l] != '\0'))
            return 0;
        off += l + 1;
    }
    return words;
}

/* Run one request line and leave the answer in c->out. */
static void
dispatch(struct pt_ctl *ctl, struct client *c, char *line)
{
    char *argv[PT_CTL_MAX_ARGS + 1];
    int argc = 0, rc = -ENOENT, words = 0;
    const struct pt_ctl_cmd *cmd = NULL;
    struct pt_buf res = { 0 };
    char *save = NULL;

    ctl->stats.requests++;
    for (char *w = strtok_r(line, " \t\r", &save); w != NULL;
         w = strtok_r(NULL, " \t\r", &save)) {
        if (argc == PT_CTL_MAX_ARGS) {
            rc = -E2BIG;
            pt_buf_printf(&res, "too many arguments (at most %d)",
                          PT_CTL_MAX_ARGS);
            goto answer;
        }
        argv[argc++] = w;
    }
    argv[argc] = NULL;
    if (argc == 0) {
        rc = -EINVAL;
        pt_buf_printf(&res, "empty request; try `help`");
        goto answer;
    }
    /* The longest matching name wins ("config show" over "config"). */
    for (unsigned i = 0; i < ctl->n_cmds; i++) {
        int w = name_matches(ctl->cmds[i]->name, argc, argv);

        if (w > words) {
            words = w;
            cmd = ctl->cmds[i];
        }
    }
    if (cmd == NULL) {
        pt_buf_printf(&res, "unknown command '%s'; try `help`", argv[0]);
        goto answer;
    }
    rc = cmd->fn(cmd->fn == cmd_help ? (void *)ctl : cmd->ctx, argc - words,
                 argv + words, &res);
    if (rc != 0 && res.len == 0)
        pt_buf_printf(&res, "%s failed: %s", cmd->name, strerror(-rc));

answer:
    if (res.oom) {
        rc = -ENOMEM;
        pt_buf_free(&res);
        pt_buf_printf(&res, "out of memory");
    }
    if (rc == 0) {
        pt_buf_printf(&c->out, "{\"ok\":true,\"result\":%.*s}\n",
                      (int)res.len, res.data ? res.data : "null");
    } else {
        ctl->stats.errors++;
        pt_buf_printf(&c->out, "{\"ok\":false,\"error\":");
        pt_buf_json_str(&c->out, res.data ? res.data : "error");
        pt_buf_printf(&c->out, "}\n");
    }
    pt_buf_free(&res);
}

static void
client_write(struct pt_ctl *ctl, struct client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off,
                         c->out.len - c->out_off, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

                epoll_ctl(ctl->epfd, EPOLL_CTL_MOD, c->fd, &ev);
                return;
            }
            break;
        }
        c->out_off += (size_t)n;
    }
    client_close(ctl, c);
}

static void
client_read(struct pt_ctl *ctl, struct client *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len,
                         PT_CTL_REQ_MAX - c->in_len, 0);
        char *nl;

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            client_close(ctl, c);
            return;
        }
        if (n < 0)
            return;
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
        nl = memchr(c->in, '\n', c->in_len);
        if (nl != NULL || memchr(c->in, '\0', c->in_len) != NULL) {
            if (nl != NULL)
                *nl = '\0';
            c->state = CL_WRITING;
            dispatch(ctl, c, c->in);
            client_write(ctl, c);
            return;
        }
        if (c->in_len == PT_CTL_REQ_MAX) {
            ctl->stats.requests++;
            ctl->stats.oversize++;
            ctl->stats.errors++;
            c->state = CL_WRITING;
            pt_buf_printf(&c->out, "{\"ok\":false,\"error\":\"request "
                          "longer than %d bytes\"}\n", PT_CTL_REQ_MAX);
            client_write(ctl, c);
            return;
        }
    }
}

static void
accept_all(struct pt_ctl *ctl)
{
    for (;;) {
        int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct client *c = NULL;
        struct epoll_event ev = { .events = EPOLLIN };

        if (fd < 0)
            return;
        for (unsigned i = 0; i < PT_CTL_MAX_CLIENTS; i++) {
            if (ctl->clients[i].state == CL_FREE) {
                c = &ctl->clients[i];
                break;
            }
        }
        if (c == NULL) {
            static const char busy[] =
                "{\"ok\":false,\"error\":\"too many control clients\"}\n";

            ctl->stats.refused++;
            (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
            close(fd);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->state = CL_READING;
        c->deadline_ms = now_ms() + PT_CTL_IDLE_MS;
        ev.data.ptr = c;
        if (epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            c->state = CL_FREE;
        }
    }
}

int
pt_ctl_event(struct pt_ctl *ctl, void *ptr, uint32_t events)
{
    struct client *c = ptr;

    if (ptr == ctl) {
        accept_all(ctl);
        return 1;
    }
    if (c < ctl->clients || c >= ctl->clients + PT_CTL_MAX_CLIENTS)
        return 0;
    if (c->state == CL_READING && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        client_read(ctl, c);
    else if (c->state == CL_WRITING)
        client_write(ctl, c);
    return 1;
}

void
pt_ctl_sweep(struct pt_ctl *ctl, uint64_t now)
{
    for (unsigned i = 0; i < PT_CTL_MAX_CLIENTS; i++) {
        struct client *c = &ctl->clients[i];

        if (c->state != CL_FREE && now >= c->deadline_ms) {
            if (c->state == CL_READING)
                ctl->stats.timeouts++;
            client_close(ctl, c);
        }
    }
}

void
pt_ctl_close(struct pt_ctl *ctl)
{
    if (ctl == NULL)
        return;
    for (unsigned i = 0; i < PT_CTL_MAX_CLIENTS; i++)
        if (ctl->clients[i].state != CL_FREE)
            client_close(ctl, &ctl->clients[i]);
    epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, ctl->lfd, NULL);
    close(ctl->lfd);
    unlink(ctl->path);
    free(ctl);
}
