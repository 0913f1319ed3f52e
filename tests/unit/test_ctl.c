/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the control-socket server (control/ctl.c): a real Unix
 * socket under /tmp, the server pumped by hand on this thread.
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
    assert_int_equal(pt_ctl_register(f->ctl, &f->echo), 0);
    assert_int_equal(pt_ctl_register(f->ctl, &f->cfg_show), 0);
    assert_int_equal(pt_ctl_register(f->ctl, &f->fail), 0);
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

static void
pump(struct fixture *f, int rounds)
{
    struct epoll_event ev[8];

    for (int r = 0; r < rounds; r++) {
        int n = epoll_wait(f->epfd, ev, 8, 20);

        for (int i = 0; i < n; i++)
            assert_int_equal(pt_ctl_event(f->ctl, ev[i].data.ptr,
                                          ev[i].events), 1);
    }
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

static void
test_ctl_dispatch_and_args(void **state)
{
    struct fixture *f = *state;

    assert_string_equal(ASK(f, "echo a  b\tc\n"),
                        "{\"ok\":true,\"result\":[\"a\",\"b\",\"c\"]}\n");
    assert_string_equal(ASK(f, "echo\r\n"), "{\"ok\":true,\"result\":[]}\n");
    assert_int_equal(f->echo_calls, 2);
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
        T(test_ctl_socket_mode_0600),
        T(test_ctl_register_duplicate),
    };

    return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
