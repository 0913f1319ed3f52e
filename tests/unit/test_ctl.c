/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the control-socket server (control/ctl.c): a real Unix
 * socket under /tmp, the server pumped by hand on this thread. Word and
 * JSON requests, every malformed kind, deferred answers (delivered, timed
 * out, late, for a client that has gone), and clients that misbehave
 * without blocking anyone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <petrel/ctl.h>

struct fixture {
    int epfd;
    struct pt_ctl *ctl;
    char path[64];
    int echo_calls;
    struct pt_ctl_cmd echo;
    struct pt_ctl_cmd cfg_show;
    struct pt_ctl_cmd fail;
    struct pt_ctl_cmd defer;
    struct pt_ctl_cmd now;
    struct pt_ctl_cmd big;
    int n_tickets;
    uint64_t tickets[64];
};

static int
cmd_echo(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct fixture *f = ctx;

    f->echo_calls++;
    pt_buf_printf(out, "[");
    for (int i = 0; i < argc; i++) {
        pt_buf_printf(out, "%s", i ? "," : "");
        pt_buf_json_str(out, argv[i]);
    }
    pt_buf_printf(out, "]");
    return 0;
}

static int
cmd_cfg_show(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    pt_buf_printf(out, "\"config-show\"");
    return 0;
}

static int
cmd_fail(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    pt_buf_printf(out, "it \"broke\"");
    return -EIO;
}

/* Defers: keeps its ticket for the test to answer. */
static int
cmd_defer(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct fixture *f = ctx;

    (void)argc;
    (void)argv;
    pt_buf_printf(out, "ignored");
    f->tickets[f->n_tickets++] = pt_ctl_ticket(f->ctl);
    return PT_CTL_DEFER;
}

/* Defers and answers at once (the dataplane answered synchronously). */
static int
cmd_now(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct fixture *f = ctx;
    uint64_t t = pt_ctl_ticket(f->ctl);

    (void)argc;
    (void)argv;
    (void)out;
    assert_int_equal(pt_ctl_answer(f->ctl, t, 0, "\"at once\"", 9), 1);
    assert_int_equal(pt_ctl_answer(f->ctl, t, 0, "\"twice\"", 7), 0);
    return PT_CTL_DEFER;
}

/* An answer far larger than a socket buffer. */
static int
cmd_big(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    pt_buf_printf(out, "\"");
    for (int i = 0; i < 4 << 20; i += 64)
        pt_buf_printf(out, "%064d", i);
    pt_buf_printf(out, "\"");
    return 0;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    snprintf(f->path, sizeof(f->path), "/tmp/pt_test_ctl_%d.sock",
             (int)getpid());
    f->epfd = epoll_create1(0);
    f->ctl = pt_ctl_open(f->path, f->epfd);
    assert_non_null(f->ctl);
    f->echo = (struct pt_ctl_cmd){ "echo", "[words]", "echo the words",
                                   cmd_echo, f };
    f->cfg_show = (struct pt_ctl_cmd){ "config show", "", "show",
                                       cmd_cfg_show, f };
    f->fail = (struct pt_ctl_cmd){ "fail", "", "always fails", cmd_fail, f };
    f->defer = (struct pt_ctl_cmd){ "defer", "", "answer later", cmd_defer,
                                    f };
    f->now = (struct pt_ctl_cmd){ "now", "", "answer in the handler",
                                  cmd_now, f };
    f->big = (struct pt_ctl_cmd){ "big", "", "4 MB answer", cmd_big, f };
    assert_int_equal(pt_ctl_register(f->ctl, &f->echo), 0);
    assert_int_equal(pt_ctl_register(f->ctl, &f->cfg_show), 0);
    assert_int_equal(pt_ctl_register(f->ctl, &f->fail), 0);
    assert_int_equal(pt_ctl_register(f->ctl, &f->defer), 0);
    assert_int_equal(pt_ctl_register(f->ctl, &f->now), 0);
    assert_int_equal(pt_ctl_register(f->ctl, &f->big), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    pt_ctl_close(f->ctl);
    close(f->epfd);
    assert_int_equal(access(f->path, F_OK), -1); /* socket file removed */
    free(f);
    return 0;
}

/* Run the server's events for a few rounds; returns how many it got. */
static int
pump(struct fixture *f, int rounds)
{
    struct epoll_event ev[8];
    int total = 0;

    for (int r = 0; r < rounds; r++) {
        int n = epoll_wait(f->epfd, ev, 8, 20);

        for (int i = 0; i < n; i++)
            assert_int_equal(pt_ctl_event(f->ctl, ev[i].data.ptr,
                                          ev[i].events), 1);
        total += n > 0 ? n : 0;
    }
    return total;
}

static int
connect_client(struct fixture *f)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Send req (may lack '\n'), pump, return the whole answer. */
static char *
ask(struct fixture *f, const char *req, size_t len)
{
    static char ans[65536];
    int fd = connect_client(f);
    size_t got = 0;
    ssize_t n;

    pump(f, 1);
    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    pump(f, 3);
    while ((n = recv(fd, ans + got, sizeof(ans) - 1 - got, MSG_DONTWAIT)) >
           0)
        got += (size_t)n;
    ans[got] = '\0';
    close(fd);
    return ans;
}

#define ASK(f, s) ask((f), (s), strlen(s))

/* Connect, send req and let the server read it; the answer is not read. */
static int
send_req(struct fixture *f, const char *req)
{
    int fd = connect_client(f);

    pump(f, 1);
    assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
                     (ssize_t)strlen(req));
    pump(f, 2);
    return fd;
}

/* What has arrived on fd so far ("" if nothing), without waiting. */
static char *
received(int fd)
{
    static char ans[4096];
    size_t got = 0;
    ssize_t n;

    while ((n = recv(fd, ans + got, sizeof(ans) - 1 - got, MSG_DONTWAIT)) >
           0)
        got += (size_t)n;
    ans[got] = '\0';
    return ans;
}

static void
test_ctl_dispatch_and_args(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(ASK(f, "echo a  b\tc\n"),
                        "{\"ok\":true,\"result\":[\"a\",\"b\",\"c\"]}\n");
    assert_string_equal(ASK(f, "echo\r\n"), "{\"ok\":true,\"result\":[]}\n");
    /* word-form bytes that are not UTF-8 are answered as U+FFFD */
    assert_string_equal(ASK(f, "echo caf\xc3\xa9 \xff\xc3\n"),
                        "{\"ok\":true,\"result\":[\"caf\xc3\xa9\","
                        "\"\\ufffd\\ufffd\"]}\n");
    assert_int_equal(f->echo_calls, 3);
}

static void
test_ctl_multiword_command(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(ASK(f, "config show\n"),
                        "{\"ok\":true,\"result\":\"config-show\"}\n");
    assert_non_null(strstr(ASK(f, "config\n"), "unknown command 'config'"));
}

static void
test_ctl_unknown_and_empty(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(ASK(f, "nope\n"),
                        "{\"ok\":false,\"error\":\"unknown command 'nope'; "
                        "try `help`\"}\n");
    assert_non_null(strstr(ASK(f, "\n"), "empty request"));
    assert_int_equal(pt_ctl_stats(f->ctl)->errors, 2);
}

static void
test_ctl_handler_error_escaped(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(ASK(f, "fail\n"),
                        "{\"ok\":false,\"error\":\"it \\\"broke\\\"\"}\n");
}

static void
test_ctl_help_lists_commands(void **state)
{
    struct fixture *f = *state;
    char *a = ASK(f, "help\n");

    assert_non_null(strstr(a, "\"command\":\"help\""));
    assert_non_null(strstr(a, "\"command\":\"echo\",\"args\":\"[words]\""));
    assert_non_null(strstr(a, "\"command\":\"config show\""));
}

static void
test_ctl_oversize_request(void **state)
{
    struct fixture *f = *state;
    char *big = malloc(PT_CTL_REQ_MAX + 100);

    memset(big, 'x', PT_CTL_REQ_MAX + 100);
    assert_non_null(strstr(ask(f, big, PT_CTL_REQ_MAX + 100),
                           "request longer than"));
    assert_int_equal(pt_ctl_stats(f->ctl)->oversize, 1);
    free(big);
}

static void
test_ctl_too_many_args(void **state)
{
    struct fixture *f = *state;

    assert_non_null(strstr(ASK(f, "echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
                                  "15 16 17\n"), "too many arguments"));
    assert_int_equal(f->echo_calls, 0);
    assert_int_equal(pt_ctl_stats(f->ctl)->malformed, 1);
}

/* A client that connects and never speaks is closed by the sweep and does
 * not stop others from being served. */
static void
test_ctl_silent_client_timeout(void **state)
{
    struct fixture *f = *state;
    int silent = connect_client(f);
    char buf[16];

    pump(f, 1);
    assert_string_equal(ASK(f, "echo x\n"),
                        "{\"ok\":true,\"result\":[\"x\"]}\n");
    pt_ctl_sweep(f->ctl, UINT64_MAX);
    assert_int_equal(pt_ctl_stats(f->ctl)->timeouts, 1);
    assert_int_equal(recv(silent, buf, sizeof(buf), 0), 0); /* closed */
    close(silent);
}

static void
test_ctl_client_limit(void **state)
{
    struct fixture *f = *state;
    int fds[PT_CTL_MAX_CLIENTS];
    char buf[128];
    int extra;
    ssize_t n;

    for (int i = 0; i < PT_CTL_MAX_CLIENTS; i++) {
        fds[i] = connect_client(f);
        pump(f, 1); /* accept as we go: connect blocks on a full backlog */
    }
    extra = connect_client(f);
    pump(f, 1);
    n = recv(extra, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "too many control clients"));
    assert_int_equal(pt_ctl_stats(f->ctl)->refused, 1);
    close(extra);
    for (int i = 0; i < PT_CTL_MAX_CLIENTS; i++)
        close(fds[i]);
    pump(f, 2);
    /* slots are freed once the clients hang up */
    assert_string_equal(ASK(f, "echo y\n"),
                        "{\"ok\":true,\"result\":[\"y\"]}\n");
}

static void
test_ctl_json_request(void **state)
{
    struct fixture *f = *state;

    /* spaces, tabs, quotes, \uXXXX and raw UTF-8 arrive as they were */
    assert_string_equal(
        ASK(f, "{\"argv\":[\"echo\",\"id with spaces\",\"caf\\u00e9 "
               "\xe2\x82\xac\",\"tab\\there\",\"q\\\"uote\"]}\n"),
        "{\"ok\":true,\"result\":[\"id with spaces\",\"caf\xc3\xa9 "
        "\xe2\x82\xac\",\"tab\\u0009here\",\"q\\\"uote\"]}\n");
    /* whitespace around, CRLF, a multi-word command name */
    assert_string_equal(ASK(f, "  { \"argv\" : [ \"config\", \"show\" ] }"
                               "\r\n"),
                        "{\"ok\":true,\"result\":\"config-show\"}\n");
    /* the longest name still wins; an argument may look like a word */
    assert_string_equal(ASK(f, "{\"argv\":[\"echo\",\"\",\"config show\"]}"
                               "\n"),
                        "{\"ok\":true,\"result\":[\"\",\"config show\"]}\n");
    assert_non_null(strstr(ASK(f, "{\"argv\":[]}\n"), "empty request"));
    assert_non_null(strstr(ASK(f, "{\"argv\":[\"echo x\"]}\n"),
                           "unknown command 'echo x'"));
    assert_int_equal(f->echo_calls, 2);
    assert_int_equal(pt_ctl_stats(f->ctl)->malformed, 0);
    assert_int_equal(pt_ctl_stats(f->ctl)->requests, 5);
}

static void
test_ctl_json_malformed(void **state)
{
    static const struct {
        const char *req;
        const char *error;
    } cases[] = {
        { "{\"argv\":[\"echo\"\n",
          "malformed JSON request at byte 15: unterminated array" },
        { "{\"argv\":[\"echo\",]}\n",
          "malformed JSON request at byte 16: trailing comma" },
        { "{argv:[\"echo\"]}\n",
          "malformed JSON request at byte 1: expected a string key" },
        { "{\"argv\":[\"echo\"]} x\n",
          "malformed JSON request at byte 18: unexpected text" },
        { "{\"argv\":[\"echo\",\"\xff\"]}\n",
          "at byte 17: invalid UTF-8 in string" },
        { "{\"argv\":[\"echo\",\"\\ud800\"]}\n", "high surrogate" },
        { "{\"argv\":[[[[\"echo\"]]]]}\n", "nested too deep" },
        { "{\"argv\":\"echo\"}\n",
          "\\\"argv\\\" must be an array of strings, not a string" },
        { "{\"argv\":{\"0\":\"echo\"}}\n",
          "\\\"argv\\\" must be an array of strings, not an object" },
        { "{\"argv\":[\"echo\",1]}\n", "argv[1] is a number, not a string" },
        { "{\"argv\":[\"echo\",null]}\n", "argv[1] is a null, not a string" },
        { "{\"argv\":[\"echo\",[\"x\"]]}\n",
          "argv[1] is an array, not a string" },
        { "{\"argv\":[\"echo\",\"a\\u0000b\"]}\n",
          "argv[1] contains a NUL character" },
        { "{}\n", "needs an \\\"argv\\\" member" },
        { "{\"args\":[\"echo\"]}\n", "unknown member \\\"args\\\"" },
        { "{\"argv\":[\"echo\"],\"id\":1}\n", "unknown member \\\"id\\\"" },
        { "{\"argv\":[\"echo\"],\"argv\":[\"echo\"]}\n",
          "duplicate member \\\"argv\\\"" },
        { "{\"argv\":[\"echo\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
          "\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\"]}\n",
          "too many arguments (at most 16)" },
    };
    static const char nul_text[] = "echo a\0b\n";
    static const char nul_json[] = "{\"argv\":[\"echo\"]\0}\n";
    struct fixture *f = *state;
    size_t n = sizeof(cases) / sizeof(cases[0]);

    for (size_t i = 0; i < n; i++) {
        char *a = ASK(f, cases[i].req);

        if (strncmp(a, "{\"ok\":false,\"error\":\"", 21) != 0 ||
            strstr(a, cases[i].error) == NULL)
            fail_msg("case %zu: got %s want error with %s", i, a,
                     cases[i].error);
    }
    assert_non_null(strstr(ask(f, nul_text, sizeof(nul_text) - 1),
                           "request contains a NUL byte"));
    assert_non_null(strstr(ask(f, nul_json, sizeof(nul_json) - 1),
                           "request contains a NUL byte"));
    n += 2;
    assert_int_equal(f->echo_calls, 0);
    assert_int_equal(pt_ctl_stats(f->ctl)->malformed, n);
    assert_int_equal(pt_ctl_stats(f->ctl)->errors, n);
    assert_int_equal(pt_ctl_stats(f->ctl)->requests, n);
    /* the server is still fine */
    assert_string_equal(ASK(f, "{\"argv\":[\"echo\",\"ok\"]}\n"),
                        "{\"ok\":true,\"result\":[\"ok\"]}\n");
}

/* An oversize JSON request is refused like a word one. */
static void
test_ctl_json_oversize(void **state)
{
    struct fixture *f = *state;
    char *big = malloc(PT_CTL_REQ_MAX + 100);

    memset(big, ' ', PT_CTL_REQ_MAX + 100);
    memcpy(big, "{\"argv\":[\"echo\",\"", 17);
    assert_non_null(strstr(ask(f, big, PT_CTL_REQ_MAX + 100),
                           "request longer than 4096 bytes"));
    assert_int_equal(pt_ctl_stats(f->ctl)->oversize, 1);
    assert_int_equal(f->echo_calls, 0);
    free(big);
}

/* EOF after a request without '\n' (printf stats | socat): answered. */
static void
test_ctl_request_ended_by_eof(void **state)
{
    struct fixture *f = *state;
    int fd = connect_client(f);

    pump(f, 1);
    assert_int_equal(send(fd, "echo eof", 8, MSG_NOSIGNAL), 8);
    shutdown(fd, SHUT_WR);
    pump(f, 3);
    assert_string_equal(received(fd),
                        "{\"ok\":true,\"result\":[\"eof\"]}\n");
    close(fd);
}

static void
test_ctl_deferred_answer(void **state)
{
    struct fixture *f = *state;
    int fd = send_req(f, "{\"argv\":[\"defer\"]}\n");
    int fd2;

    assert_int_equal(f->n_tickets, 1);
    assert_true(f->tickets[0] != 0);
    assert_string_equal(received(fd), ""); /* waiting */
    assert_int_equal(pt_ctl_stats(f->ctl)->deferred, 1);
    /* others are served meanwhile */
    assert_string_equal(ASK(f, "echo z\n"),
                        "{\"ok\":true,\"result\":[\"z\"]}\n");
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0,
                                   "{\"x\":1}", 7), 1);
    assert_string_equal(received(fd),
                        "{\"ok\":true,\"result\":{\"x\":1}}\n");
    /* answered once only */
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0, "2", 1), 0);
    close(fd);

    /* an error answer, escaped; the message need not end in NUL */
    fd2 = send_req(f, "defer\n");
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[1], -EIO,
                                   "core 2 \"said\" no!!!", 16), 1);
    assert_string_equal(received(fd2),
                        "{\"ok\":false,\"error\":\"core 2 \\\"said\\\" no\"}"
                        "\n");
    close(fd2);
    /* an empty result is null */
    fd2 = send_req(f, "defer\n");
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[2], 0, NULL, 0), 1);
    assert_string_equal(received(fd2), "{\"ok\":true,\"result\":null}\n");
    close(fd2);
    assert_int_equal(pt_ctl_stats(f->ctl)->deferred, 3);
    assert_int_equal(pt_ctl_stats(f->ctl)->errors, 1);
    assert_int_equal(pt_ctl_stats(f->ctl)->deferred_timeouts, 0);
}

/* A big answer still being sent: the ticket is spent, a second answer
 * does not get appended. */
static void
test_ctl_deferred_answer_once_while_sending(void **state)
{
    struct fixture *f = *state;
    int fd = send_req(f, "defer\n");
    size_t len = 4 << 20, got = 0;
    char *big = malloc(len), *in = malloc(len + 64);
    ssize_t n;

    memset(big, '7', len);
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0, big, len), 1);
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0, "8", 1), 0);
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], -EIO, "x", 1), 0);
    for (int idle = 0; idle < 50 && got < len + 64;) {
        n = recv(fd, in + got, len + 64 - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            idle = 0;
        } else if (n == 0) {
            break;
        } else {
            pump(f, 1);
            idle++;
        }
    }
    assert_int_equal(got, 20 + len + 2); /* {"ok":true,"result": ... }\n */
    assert_memory_equal(in, "{\"ok\":true,\"result\":7", 21);
    assert_memory_equal(in + got - 3, "7}\n", 3);
    free(big);
    free(in);
    close(fd);
}

/* A handler may answer its own ticket before it returns PT_CTL_DEFER. */
static void
test_ctl_deferred_answered_in_handler(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(ASK(f, "now\n"),
                        "{\"ok\":true,\"result\":\"at once\"}\n");
    assert_int_equal(pt_ctl_stats(f->ctl)->deferred, 1);
}

static void
test_ctl_deferred_timeout_late_answer(void **state)
{
    struct fixture *f = *state;
    int fd = send_req(f, "defer\n");

    pt_ctl_sweep(f->ctl, 0); /* before the deadline: nothing */
    assert_string_equal(received(fd), "");
    pt_ctl_sweep(f->ctl, UINT64_MAX);
    assert_string_equal(received(fd),
                        "{\"ok\":false,\"error\":\"timed out waiting for "
                        "the dataplane\"}\n");
    assert_int_equal(pt_ctl_stats(f->ctl)->deferred_timeouts, 1);
    assert_int_equal(pt_ctl_stats(f->ctl)->timeouts, 0);
    assert_int_equal(pt_ctl_stats(f->ctl)->errors, 1);
    /* the late answer goes nowhere */
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0, "1", 1), 0);
    assert_string_equal(received(fd), "");
    close(fd);
}

/* Tickets are never reused: the answer for a client that left cannot
 * reach the next client of the same slot. */
static void
test_ctl_ticket_unique(void **state)
{
    struct fixture *f = *state;
    int a, b, c;

    assert_int_equal(pt_ctl_ticket(f->ctl), 0); /* outside a handler */
    a = send_req(f, "defer\n");
    b = send_req(f, "{\"argv\":[\"defer\"]}\n");
    assert_int_equal(f->n_tickets, 2);
    assert_true(f->tickets[0] != f->tickets[1]);
    close(a);
    pump(f, 2);                 /* a's slot is free again */
    c = send_req(f, "defer\n"); /* takes a's slot */
    assert_int_equal(f->n_tickets, 3);
    assert_true(f->tickets[2] != f->tickets[0]);
    assert_true(f->tickets[2] != f->tickets[1]);
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0, "\"a\"", 3),
                     0);
    assert_string_equal(received(c), "");
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[2], 0, "\"c\"", 3),
                     1);
    assert_string_equal(received(c), "{\"ok\":true,\"result\":\"c\"}\n");
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[1], 0, "\"b\"", 3),
                     1);
    assert_string_equal(received(b), "{\"ok\":true,\"result\":\"b\"}\n");
    /* every request takes one, answered at once or not */
    ASK(f, "echo\n");
    a = send_req(f, "defer\n");
    assert_true(f->tickets[3] == f->tickets[2] + 2);
    close(a);
    close(b);
    close(c);
}

static void
test_ctl_deferred_client_gone(void **state)
{
    struct fixture *f = *state;
    int fd = send_req(f, "defer\n");
    int fds[PT_CTL_MAX_CLIENTS];

    close(fd);
    pump(f, 2); /* hang-up seen: the slot is freed */
    assert_int_equal(pump(f, 1), 0); /* and the hang-up is not seen again */
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0, "1", 1), 0);
    /* gone but not yet noticed: the answer fails to send */
    fd = send_req(f, "defer\n");
    close(fd);
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[1], 0, "1", 1), 0);
    pump(f, 1);
    /* every slot is free */
    for (int i = 0; i < PT_CTL_MAX_CLIENTS; i++) {
        fds[i] = connect_client(f);
        pump(f, 1);
    }
    assert_int_equal(pt_ctl_stats(f->ctl)->refused, 0);
    for (int i = 0; i < PT_CTL_MAX_CLIENTS; i++)
        close(fds[i]);
    pump(f, 2);
    assert_int_equal(pt_ctl_stats(f->ctl)->deferred_timeouts, 0);
}

/* Bytes a waiting client sends after its request raise no events. */
static void
test_ctl_deferred_client_keeps_talking(void **state)
{
    struct fixture *f = *state;
    int fd = send_req(f, "defer\n");

    assert_int_equal(send(fd, "more\n", 5, MSG_NOSIGNAL), 5);
    assert_int_equal(pump(f, 2), 0);
    assert_int_equal(pt_ctl_answer(f->ctl, f->tickets[0], 0, "7", 1), 1);
    assert_string_equal(received(fd), "{\"ok\":true,\"result\":7}\n");
    close(fd);
}

/* A client that never reads a big answer holds its slot until the sweep,
 * and nobody else waits for it. */
static void
test_ctl_unread_answer_does_not_block(void **state)
{
    struct fixture *f = *state;
    int fd = send_req(f, "big\n");
    char buf[64];

    assert_string_equal(ASK(f, "echo w\n"),
                        "{\"ok\":true,\"result\":[\"w\"]}\n");
    pt_ctl_sweep(f->ctl, UINT64_MAX);
    /* the slot was closed mid-answer: the client sees a cut answer */
    pump(f, 1);
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
    assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 0);
    assert_string_equal(ASK(f, "echo v\n"),
                        "{\"ok\":true,\"result\":[\"v\"]}\n");
    close(fd);
}

static void
test_ctl_socket_mode_0600(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void
test_ctl_register_duplicate(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(pt_ctl_register(f->ctl, &f->echo), -EEXIST);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ctl_dispatch_and_args),
        T(test_ctl_multiword_command),
        T(test_ctl_unknown_and_empty),
        T(test_ctl_handler_error_escaped),
        T(test_ctl_help_lists_commands),
        T(test_ctl_oversize_request),
        T(test_ctl_too_many_args),
        T(test_ctl_silent_client_timeout),
        T(test_ctl_client_limit),
        T(test_ctl_json_request),
        T(test_ctl_json_malformed),
        T(test_ctl_json_oversize),
        T(test_ctl_request_ended_by_eof),
        T(test_ctl_deferred_answer),
        T(test_ctl_deferred_answer_once_while_sending),
        T(test_ctl_deferred_answered_in_handler),
        T(test_ctl_deferred_timeout_late_answer),
        T(test_ctl_ticket_unique),
        T(test_ctl_deferred_client_gone),
        T(test_ctl_deferred_client_keeps_talking),
        T(test_ctl_unread_answer_does_not_block),
        T(test_ctl_socket_mode_0600),
        T(test_ctl_register_duplicate),
    };

    return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
