/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control-socket server (see include/petrel/ctl.h for the wire format):
 * accepts clients, reads one request line, parses it (word or JSON form),
 * runs the command's handler, writes the answer. It is not where commands
 * live: the modules owning the state register them.
 *
 * Client state machine, one slot per connection:
 *
 *                  '\n' (or EOF after some bytes), handler answers
 *     READING ----------------------------------------------> WRITING
 *        |  \                                                 ^   |
 *        |   \ handler returns PT_CTL_DEFER                   |   | all sent
 *        |    v                                               |   v
 *        |   WAITING ---pt_ctl_answer(ticket) / deadline-------+  closed
 *        |      |
 *        |      +--peer hangs up--> closed (later answers are ignored)
 *        +--silent PT_CTL_IDLE_MS--> closed (counted as timeout)
 *
 *     READING --'\n'--> WRITING [client_read -> request -> reply]
 *     READING --PT_CTL_REQ_MAX bytes without '\n'--> WRITING (error answer)
 *     READING --NUL byte, bad JSON, bad argv--> WRITING (error, malformed)
 *     READING --handler returns PT_CTL_DEFER--> WAITING [request]
 *         (the client is WAITING while its handler runs, so an answer the
 *         handler gives for its own ticket is delivered like a later one)
 *     READING --silent PT_CTL_IDLE_MS--> closed [pt_ctl_sweep]
 *     WAITING --pt_ctl_answer(ticket)--> WRITING [reply]
 *     WAITING --PT_CTL_IDLE_MS without answer--> WRITING (timeout error)
 *                                                   [pt_ctl_sweep]
 *     WAITING --peer hangs up (EPOLLHUP/ERR)--> closed [pt_ctl_event]
 *     WRITING --all sent, or error--> closed [client_write]
 *     WRITING --not read for PT_CTL_IDLE_MS--> closed [pt_ctl_sweep]
 *
 * Invariants: every socket is non-blocking; the server never waits for a
 * client; every state but FREE has a deadline; at most PT_CTL_MAX_CLIENTS
 * are open (more are refused at once). A WAITING client is registered for
 * no events but hang-up and error, so bytes it sends after its request
 * cannot make the loop spin. Each request takes a new ticket from a 64-bit
 * counter; an answer is delivered only to a WAITING client holding the
 * same ticket, so a late answer never reaches the wrong client.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <petrel/ctl.h>
#include <petrel/json.h>
#include <petrel/log.h>

PT_LOG_REGISTER(ctl_sock, pt.ctl.sock, INFO);

#define PT_CTL_MAX_CMDS 64
/* {"argv":[...]} nests 2 deep; allow a little more for a clear message */
#define PT_CTL_JSON_DEPTH 4

enum client_state { CL_FREE = 0, CL_READING, CL_WAITING, CL_WRITING };

struct client {
    int fd;
    enum client_state state;
    uint64_t deadline_ms;
    uint64_t ticket;        /* of its request; 0 before one */
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
    uint64_t last_ticket;
    struct client *cur;     /* client whose handler is running */
    pthread_t owner;        /* the thread that opened it (debug check) */
    struct client clients[PT_CTL_MAX_CLIENTS];
};

#define PT_CTL_XSTR(x) #x
#define PT_CTL_STR(x) PT_CTL_XSTR(x)

#define ASSERT_OWNER(ctl) assert(pthread_equal((ctl)->owner, pthread_self()))


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
    ctl->owner = pthread_self();
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
    c->ticket = 0;
}

static void
client_watch(struct pt_ctl *ctl, struct client *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };

    epoll_ctl(ctl->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what the socket takes; close when all is sent or on error.
 * Returns -1 when the client failed (it is closed), 0 otherwise. */
static int
client_write(struct pt_ctl *ctl, struct client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off,
                         c->out.len - c->out_off, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                client_watch(ctl, c, EPOLLOUT);
                return 0;
            }
            client_close(ctl, c);
            return -1;
        }
        c->out_off += (size_t)n;
    }
    client_close(ctl, c);
    return 0;
}

/* Queue the answer to c's request and start sending it: rc 0 and a JSON
 * value res[0..len) (len 0 = null), or rc < 0 and a plain-text message. */
static int
reply(struct pt_ctl *ctl, struct client *c, int rc, const char *res,
      size_t len)
{
    c->state = CL_WRITING;
    c->deadline_ms = pt_ctl_now_ms() + PT_CTL_IDLE_MS;
    if (rc >= 0) {
        pt_buf_printf(&c->out, "{\"ok\":true,\"result\":%.*s}\n",
                      len ? (int)len : 4, len ? res : "null");
    } else {
        struct pt_buf msg = { 0 };

        ctl->stats.errors++;
        pt_buf_printf(&msg, "%.*s", (int)len, res != NULL ? res : "");
        pt_buf_printf(&c->out, "{\"ok\":false,\"error\":");
        pt_buf_json_str(&c->out, msg.len ? msg.data : "error");
        pt_buf_printf(&c->out, "}\n");
        pt_buf_free(&msg);
    }
    if (c->out.oom) {
        PT_LOG(ERR, ctl_sock, "out of memory for an answer");
        client_close(ctl, c);
        return -1;
    }
    return client_write(ctl, c);
}

static int
reply_buf(struct pt_ctl *ctl, struct client *c, int rc, struct pt_buf *res)
{
    int err;

    if (res->oom) {
        pt_buf_free(res);
        rc = -ENOMEM;
        pt_buf_printf(res, "out of memory");
    }
    err = reply(ctl, c, rc, res->data, res->len);
    pt_buf_free(res);
    return err;
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

/* Split a word-form request (modified in place). */
static int
text_argv(char *line, char **argv, int *argc, struct pt_buf *res)
{
    char *save = NULL;

    *argc = 0;
    for (char *w = strtok_r(line, " \t\r", &save); w != NULL;
         w = strtok_r(NULL, " \t\r", &save)) {
        if (*argc == PT_CTL_MAX_ARGS) {
            pt_buf_printf(res, "too many arguments (at most %d)",
                          PT_CTL_MAX_ARGS);
            return -E2BIG;
        }
        argv[(*argc)++] = w;
    }
    return 0;
}

/* Check a JSON request {"argv":[strings]} and point argv at its strings
 * (they live in *doc, which the caller frees). */
static int
json_argv(const char *line, size_t len, struct pt_json_doc **doc,
          char **argv, int *argc, struct pt_buf *res)
{
    const struct pt_json *root, *args = NULL;
    struct pt_json_err err;
    int i = 0;

    *argc = 0;
    *doc = pt_json_parse(line, len, PT_CTL_JSON_DEPTH, &err);
    if (*doc == NULL) {
        pt_buf_printf(res, "malformed JSON request at byte %zu: %s",
                      err.pos, err.reason);
        return errno == ENOMEM ? -ENOMEM : -EINVAL;
    }
    root = pt_json_root(*doc);
    if (root->type != PT_JSON_OBJECT) {
        pt_buf_printf(res, "a JSON request is an object "
                      "{\"argv\":[\"command\",\"arg\",...]}");
        return -EINVAL;
    }
    for (const struct pt_json *m = pt_json_first(root); m != NULL;
         m = pt_json_next(root, m)) {
        if (strcmp(m->key, "argv") != 0 || m->key_len != 4 ||
            args != NULL) {
            pt_buf_printf(res, "%s member ", args != NULL &&
                          strcmp(m->key, "argv") == 0 ? "duplicate" :
                          "unknown");
            pt_buf_json_str(res, m->key);
            pt_buf_printf(res, " in a JSON request (the only member is "
                          "\"argv\")");
            return -EINVAL;
        }
        args = m;
    }
    if (args == NULL) {
        pt_buf_printf(res, "a JSON request needs an \"argv\" member: "
                      "{\"argv\":[\"command\",\"arg\",...]}");
        return -EINVAL;
    }
    if (args->type != PT_JSON_ARRAY) {
        pt_buf_printf(res, "\"argv\" must be an array of strings, not "
                      "%s %s", args->type == PT_JSON_OBJECT ? "an" : "a",
                      pt_json_type_name(args->type));
        return -EINVAL;
    }
    if (args->n > PT_CTL_MAX_ARGS) {
        pt_buf_printf(res, "too many arguments (at most %d)",
                      PT_CTL_MAX_ARGS);
        return -E2BIG;
    }
    for (const struct pt_json *a = pt_json_first(args); a != NULL;
         a = pt_json_next(args, a), i++) {
        if (a->type != PT_JSON_STRING) {
            pt_buf_printf(res, "argv[%d] is %s %s, not a string", i,
                          a->type == PT_JSON_ARRAY ||
                          a->type == PT_JSON_OBJECT ? "an" : "a",
                          pt_json_type_name(a->type));
            return -EINVAL;
        }
        if (strlen(a->str) != a->n) {
            pt_buf_printf(res, "argv[%d] contains a NUL character", i);
            return -EINVAL;
        }
        argv[i] = (char *)(uintptr_t)a->str; /* the doc's own memory */
    }
    *argc = i;
    return 0;
}

/* Run one request line (len bytes, NUL-terminated at len) and answer it,
 * now or, when its handler defers, later. */
static void
request(struct pt_ctl *ctl, struct client *c, char *line, size_t len)
{
    char *argv[PT_CTL_MAX_ARGS + 1];
    int argc = 0, rc = -ENOENT, words = 0;
    const struct pt_ctl_cmd *cmd = NULL;
    struct pt_json_doc *doc = NULL;
    struct pt_buf res = { 0 };
    const char *p = line;
    uint64_t ticket;

    ctl->stats.requests++;
    ticket = c->ticket = ++ctl->last_ticket;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strlen(line) != len) {
        pt_buf_printf(&res, "request contains a NUL byte");
        rc = -EINVAL;
    } else if (*p == '{') {
        rc = json_argv(p, len - (size_t)(p - line), &doc, argv, &argc,
                       &res);
    } else {
        rc = text_argv(line, argv, &argc, &res);
    }
    if (rc != 0) {
        if (rc != -ENOMEM)
            ctl->stats.malformed++;
        PT_LOG(DEBUG, ctl_sock, "malformed request: %.*s",
               (int)res.len, res.data ? res.data : "");
        goto answer;
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
        rc = -ENOENT;
        pt_buf_printf(&res, "unknown command '%s'; try `help`", argv[0]);
        goto answer;
    }
    /* WAITING while the handler runs: an answer it gives for its own
     * ticket (pt_ctl_answer) finds the client where a later one would */
    c->state = CL_WAITING;
    ctl->cur = c;
    rc = cmd->fn(cmd->fn == cmd_help ? (void *)ctl : cmd->ctx, argc - words,
                 argv + words, &res);
    ctl->cur = NULL;
    pt_json_free(doc);
    doc = NULL;
    if (rc == PT_CTL_DEFER) {
        ctl->stats.deferred++;
        pt_buf_free(&res);
        if (c->state == CL_WAITING && c->ticket == ticket) {
            c->deadline_ms = pt_ctl_now_ms() + PT_CTL_IDLE_MS;
            client_watch(ctl, c, 0); /* only hang-up and errors */
        }
        return;
    }
    if (c->state != CL_WAITING || c->ticket != ticket) {
        PT_LOG(ERR, ctl_sock, "%s answered ticket %lu and returned %d "
               "instead of PT_CTL_DEFER", cmd->name, ticket, rc);
        pt_buf_free(&res);
        return;
    }
    if (rc != 0 && res.len == 0)
        pt_buf_printf(&res, "%s failed: %s", cmd->name, strerror(-rc));

answer:
    pt_json_free(doc);
    reply_buf(ctl, c, rc, &res);
}

static void
client_read(struct pt_ctl *ctl, struct client *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len,
                         PT_CTL_REQ_MAX - c->in_len, 0);
        char *nl;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n < 0 || (n == 0 && c->in_len == 0)) {
            client_close(ctl, c);
            return;
        }
        if (n == 0) {
            /* EOF after a partial line (printf stats | socat): the peer
             * may still read, so answer what came */
            request(ctl, c, c->in, c->in_len);
            return;
        }
        c->in_len += (size_t)n;
        c->in[c->in_len] = '\0';
        nl = memchr(c->in, '\n', c->in_len);
        if (nl != NULL) {
            *nl = '\0';
            request(ctl, c, c->in, (size_t)(nl - c->in));
            return;
        }
        if (memchr(c->in, '\0', c->in_len) != NULL) {
            request(ctl, c, c->in, c->in_len); /* refused: NUL byte */
            return;
        }
        if (c->in_len == PT_CTL_REQ_MAX) {
            static const char msg[] = "request longer than "
                                      PT_CTL_STR(PT_CTL_REQ_MAX) " bytes";

            ctl->stats.requests++;
            ctl->stats.oversize++;
            c->ticket = ++ctl->last_ticket;
            reply(ctl, c, -E2BIG, msg, sizeof(msg) - 1);
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
        c->deadline_ms = pt_ctl_now_ms() + PT_CTL_IDLE_MS;
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

    ASSERT_OWNER(ctl);
    if (ptr == ctl) {
        accept_all(ctl);
        return 1;
    }
    if (c < ctl->clients || c >= ctl->clients + PT_CTL_MAX_CLIENTS)
        return 0;
    switch (c->state) {
    case CL_READING:
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            client_read(ctl, c);
        break;
    case CL_WAITING:
        /* gone before its answer: free the slot, the ticket dies */
        if (events & (EPOLLHUP | EPOLLERR))
            client_close(ctl, c);
        break;
    case CL_WRITING:
        client_write(ctl, c);
        break;
    case CL_FREE:
        break;
    }
    return 1;
}

void
pt_ctl_sweep(struct pt_ctl *ctl, uint64_t now)
{
    static const char late[] = "timed out waiting for the dataplane";

    ASSERT_OWNER(ctl);
    for (unsigned i = 0; i < PT_CTL_MAX_CLIENTS; i++) {
        struct client *c = &ctl->clients[i];

        if (c->state == CL_FREE || now < c->deadline_ms)
            continue;
        switch (c->state) {
        case CL_READING:
            ctl->stats.timeouts++;
            client_close(ctl, c);
            break;
        case CL_WAITING:
            ctl->stats.deferred_timeouts++;
            PT_LOG(NOTICE, ctl_sock, "no answer for ticket %lu within "
                   "%d ms", c->ticket, PT_CTL_IDLE_MS);
            reply(ctl, c, -ETIMEDOUT, late, sizeof(late) - 1);
            break;
        case CL_WRITING:
        case CL_FREE:
            client_close(ctl, c);
            break;
        }
    }
}

uint64_t
pt_ctl_ticket(struct pt_ctl *ctl)
{
    ASSERT_OWNER(ctl);
    return ctl->cur != NULL ? ctl->cur->ticket : 0;
}

int
pt_ctl_answer(struct pt_ctl *ctl, uint64_t ticket, int rc, const char *res,
              size_t len)
{
    ASSERT_OWNER(ctl);
    if (ticket == 0)
        return 0;
    for (unsigned i = 0; i < PT_CTL_MAX_CLIENTS; i++) {
        struct client *c = &ctl->clients[i];

        if (c->state == CL_WAITING && c->ticket == ticket)
            return reply(ctl, c, rc, res, len) == 0;
    }
    return 0;
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
