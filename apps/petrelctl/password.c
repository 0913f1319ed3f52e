/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a password for `user add` / `user passwd`: from the terminal
 * without echo (asked twice, both must match) or, with --password-stdin or
 * when stdin is not a terminal, one line of stdin with its newline
 * stripped. Never from the command line, where ps(1) and the shell's
 * history would see it. Buffers that held it are wiped.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "petrelctl.h"

static struct termios saved;
static volatile sig_atomic_t echo_off;
static struct sigaction old_int, old_term, old_hup;

static void
echo_restore(void)
{
    if (echo_off) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        echo_off = 0;
    }
}

/* Ctrl-C at the prompt: give the terminal its echo back, then die of the
 * signal as we would have. */
static void
on_signal(int sig)
{
    echo_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Read one line from fd into buf (no newline kept). Returns its length,
 * or -1 on EOF before any byte or on error, -2 when too long. */
static ssize_t
read_line(int fd, char *buf, size_t size)
{
    size_t len = 0;

    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return len > 0 ? (ssize_t)len : -1;
        if (c == '\n')
            break;
        if (len + 1 >= size) {
            /* swallow the rest of the line: it must not reach the shell */
            while (read(fd, &c, 1) == 1 && c != '\n')
                ;
            return -2;
        }
        buf[len++] = c;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

static int
prompt(const char *text, char *buf, size_t size)
{
    struct termios t;
    struct sigaction sa = { .sa_handler = on_signal };
    ssize_t n;

    if (tcgetattr(STDIN_FILENO, &saved) != 0) {
        fprintf(stderr, "petrelctl: terminal: %s\n", strerror(errno));
        return -1;
    }
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    t = saved;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    echo_off = 1;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
    fputs(text, stderr);
    fflush(stderr);
    n = read_line(STDIN_FILENO, buf, size);
    echo_restore();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    fputc('\n', stderr);
    if (n == -2) {
        fprintf(stderr, "petrelctl: password too long (at most %zu "
                "bytes)\n", size - 1);
        return -1;
    }
    if (n < 0) {
        fprintf(stderr, "petrelctl: no password read\n");
        return -1;
    }
    return 0;
}

int
ctl_read_password(const char *user, bool from_stdin, char *buf, size_t size)
{
    char again[1024], text[256];
    int rc = -1;

    if (from_stdin) {
        ssize_t n = read_line(STDIN_FILENO, buf, size);

        if (n == -2) {
            fprintf(stderr, "petrelctl: password too long (at most %zu "
                    "bytes)\n", size - 1);
        } else if (n < 0) {
            fprintf(stderr, "petrelctl: no password on stdin\n");
        } else {
            if (n > 0 && buf[n - 1] == '\r')
                buf[--n] = '\0';
            if (n == 0)
                fprintf(stderr, "petrelctl: empty password\n");
            else
                rc = 0;
        }
        if (rc != 0)
            explicit_bzero(buf, size);
        return rc;
    }
    snprintf(text, sizeof(text), "Password for %s: ", user);
    if (prompt(text, buf, size) != 0)
        goto out;
    if (buf[0] == '\0') {
        fprintf(stderr, "petrelctl: empty password\n");
        goto out;
    }
    if (prompt("Retype the password: ", again,
               size < sizeof(again) ? size : sizeof(again)) != 0)
        goto out;
    if (strcmp(buf, again) != 0) {
        fprintf(stderr, "petrelctl: the passwords do not match\n");
        goto out;
    }
    rc = 0;

out:
    explicit_bzero(again, sizeof(again));
    if (rc != 0)
        explicit_bzero(buf, size);
    return rc;
}
