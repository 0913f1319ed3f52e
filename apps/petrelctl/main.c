/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrelctl: the operator's client for petreld's control socket.
 *
 *   petrelctl [--name NAME | --socket PATH] [--json] COMMAND [ARGS...]
 *
 * Sends "COMMAND ARGS...\n", reads the one-line JSON answer (wire format in
 * docs/cli.md). Prints the result indented (or verbatim with --json); an
 * error answer goes to stderr. Exit status: 0 ok, 1 the broker answered
 * with an error, 2 no answer (not running, timeout, bad usage).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <petrel/config.h>

#define TIMEOUT_MS 5000

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: petrelctl [--name NAME | --socket PATH] [--json] COMMAND [ARGS...]\n"
            "  -n, --name NAME    instance name (socket " PT_RUN_DIR "/NAME.sock; default petrel)\n"
            "  -s, --socket PATH  control socket path\n"
            "  -j, --json         print the raw JSON answer\n"
            "  -t, --timeout MS   give up after MS milliseconds (default %d)\n"
            "`petrelctl help` lists the broker's commands.\n",
            TIMEOUT_MS);
}

/* Re-indent one JSON text (strings are copied verbatim). */
static void
pretty(const char *s, size_t len)
{
    int depth = 0, in_str = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (in_str) {
            putchar(c);
            if (c == '\\' && i + 1 < len)
                putchar(s[++i]);
            else if (c == '"')
                in_str = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            putchar(c);
            break;
        case '{':
        case '[':
            if (i + 1 < len && (s[i + 1] == '}' || s[i + 1] == ']')) {
                putchar(c);
                putchar(s[++i]);
                break;
            }
            printf("%c\n%*s", c, ++depth * 2, "");
            break;
        case '}':
        case ']':
            printf("\n%*s%c", --depth * 2, "", c);
            break;
        case ',':
            printf(",\n%*s", depth * 2, "");
            break;
        case ':':
            printf(": ");
            break;
        default:
            putchar(c);
        }
    }
    putchar('\n');
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "socket", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char req[4096], *ans = NULL;
    size_t req_len = 0, ans_len = 0, ans_cap = 0;
    const char *name = "petrel", *path = NULL;
    int json = 0, timeout = TIMEOUT_MS, c, fd;
    struct pollfd pfd;

    while ((c = getopt_long(argc, argv, "+n:s:jt:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 's':
            path = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 't':
            timeout = atoi(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    for (int i = optind; i < argc; i++) {
        int n = snprintf(req + req_len, sizeof(req) - req_len, "%s%s",
                         i > optind ? " " : "", argv[i]);

        if (n < 0 || (size_t)n >= sizeof(req) - req_len - 1) {
            fprintf(stderr, "petrelctl: request too long\n");
            return 2;
        }
        req_len += (size_t)n;
    }
    req[req_len++] = '\n';

    if (path != NULL)
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    else
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", PT_RUN_DIR,
                 name);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "petrelctl: cannot reach %s: %s (is petreld "
                "running?)\n", sa.sun_path, strerror(errno));
        return 2;
    }
    if (send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
        fprintf(stderr, "petrelctl: send: %s\n", strerror(errno));
        return 2;
    }
    pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
    for (;;) {
        ssize_t n;

        if (poll(&pfd, 1, timeout) <= 0) {
            fprintf(stderr, "petrelctl: no answer within %d ms\n", timeout);
            return 2;
        }
        if (ans_cap - ans_len < 4096) {
            ans_cap = ans_cap ? ans_cap * 2 : 8192;
            ans = realloc(ans, ans_cap);
            if (ans == NULL)
                return 2;
        }
        n = recv(fd, ans + ans_len, ans_cap - ans_len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        ans_len += (size_t)n;
    }
    close(fd);
    if (ans_len == 0) {
        fprintf(stderr, "petrelctl: empty answer\n");
        return 2;
    }
    ans[ans_len] = '\0';
    while (ans_len > 0 && ans[ans_len - 1] == '\n')
        ans[--ans_len] = '\0';

    if (json) {
        printf("%s\n", ans);
    } else if (strncmp(ans, "{\"ok\":true,\"result\":", 20) == 0) {
        pretty(ans + 20, ans_len - 21); /* drop the wrapper's last '}' */
    } else {
        const char *e = strstr(ans, "\"error\":");

        fprintf(stderr, "petrelctl: error: %s\n", e ? e + 8 : ans);
    }
    c = strncmp(ans, "{\"ok\":true", 10) == 0 ? 0 : 1;
    free(ans);
    return c;
}
