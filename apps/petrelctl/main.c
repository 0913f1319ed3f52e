/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrelctl: the operator's client for petreld's control socket.
 *
 *   petrelctl [--name NAME | --socket PATH] [--json] [--timeout MS]
 *             [--password-stdin] COMMAND [ARGS...]
 *
 * Sends {"argv":[COMMAND, ARGS...]} (wire format in docs/cli.md), reads
 * the one-line JSON answer and prints the result for people (render.c) or,
 * with --json, the answer line verbatim. Commands it treats specially:
 *   health               exit status 1 when result.healthy is false
 *   user add|passwd NAME the password is read here (password.c) and sent
 *                        as a fourth word, never taken from the command
 *                        line
 *   top                  a live view (top.c), client side only
 * Everything else goes to the broker as it is, so new broker commands need
 * no change here.
 *
 * Exit status: 0 ok; 1 the broker answered with an error, or health is
 * false; 2 no answer (not running, timeout, bad answer) or bad usage.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/config.h>

#include "petrelctl.h"

#define TIMEOUT_MS 5000
#define PASSWORD_MAX 1024

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: petrelctl [OPTIONS] COMMAND [ARGS...]\n"
            "  -n, --name NAME       instance name (socket " PT_RUN_DIR
            "/NAME.sock; default petrel)\n"
            "  -s, --socket PATH     control socket path\n"
            "  -j, --json            print the raw JSON answer\n"
            "  -t, --timeout MS      give up after MS milliseconds "
            "(default %d)\n"
            "  -p, --password-stdin  `user add|passwd`: read the password "
            "from stdin\n"
            "  -V, --version         print the version\n"
            "commands:\n"
            "  help                  the broker's commands, as a table\n"
            "  status, stats, config show, health, shutdown, ...\n"
            "                        anything the broker lists in `help`\n"
            "  health                exit status 1 when not healthy\n"
            "  user add NAME         add a user; the password is asked for "
            "(twice,\n"
            "  user passwd NAME      without echo) or read from stdin, "
            "never given\n"
            "                        on the command line\n"
            "  user del NAME         remove a user\n"
            "  top [-c|--count N] [-i|--interval MS]\n"
            "                        live per-core view, refreshed every "
            "MS (1000)\n"
            "exit status: 0 ok, 1 error answer or unhealthy, 2 no answer or "
            "bad usage\n",
            TIMEOUT_MS);
}

/* One request, printed; health's verdict turns into the exit status. */
static int
run(const struct ctl_target *t, int argc, char **argv)
{
    struct ctl_answer ans;
    int rc;

    if (ctl_call(t, argc, argv, &ans) != 0)
        return CTL_EXIT_NO_ANSWER;
    rc = ctl_print(t, &ans);
    if (rc == CTL_EXIT_OK && strcmp(argv[0], "health") == 0) {
        const struct pt_json *h = pt_json_get(ans.result, "healthy");

        if (h != NULL && h->type == PT_JSON_FALSE)
            rc = CTL_EXIT_ERROR;
    }
    ctl_answer_free(&ans);
    return rc;
}

/* user add|passwd NAME: read the password and send it as argv[3]. */
static int
run_user_password(const struct ctl_target *t, int argc, char **argv,
                  bool pw_stdin)
{
    char pw[PASSWORD_MAX];
    char *av[4];
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: petrelctl [--password-stdin] user %s NAME\n"
                "(the password is asked for, or read from stdin; never on "
                "the command line)\n", argv[1]);
        return CTL_EXIT_NO_ANSWER;
    }
    if (ctl_read_password(argv[2], pw_stdin || !isatty(STDIN_FILENO), pw,
                          sizeof(pw)) != 0)
        return CTL_EXIT_NO_ANSWER;
    av[0] = argv[0];
    av[1] = argv[1];
    av[2] = argv[2];
    av[3] = pw;
    rc = run(t, 4, av);
    explicit_bzero(pw, sizeof(pw));
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "socket", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "password-stdin", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct ctl_target t = { .timeout_ms = TIMEOUT_MS };
    const char *name = "petrel", *path = NULL;
    bool pw_stdin = false;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "+n:s:jt:phV", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 's':
            path = optarg;
            break;
        case 'j':
            t.json = true;
            break;
        case 't':
            t.timeout_ms = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || t.timeout_ms <= 0) {
                fprintf(stderr, "petrelctl: --timeout wants milliseconds "
                        "> 0\n");
                return CTL_EXIT_NO_ANSWER;
            }
            break;
        case 'p':
            pw_stdin = true;
            break;
        case 'h':
            usage(stdout);
            return CTL_EXIT_OK;
        case 'V':
            printf("petrelctl %s\n", PT_VERSION);
            return CTL_EXIT_OK;
        default:
            usage(stderr);
            return CTL_EXIT_NO_ANSWER;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CTL_EXIT_NO_ANSWER;
    }
    if (path != NULL &&
        (size_t)snprintf(t.path, sizeof(t.path), "%s", path) >=
        sizeof(t.path)) {
        fprintf(stderr, "petrelctl: socket path too long\n");
        return CTL_EXIT_NO_ANSWER;
    }
    if (path == NULL &&
        (size_t)snprintf(t.path, sizeof(t.path), "%s/%s.sock", PT_RUN_DIR,
                         name) >= sizeof(t.path)) {
        fprintf(stderr, "petrelctl: instance name too long\n");
        return CTL_EXIT_NO_ANSWER;
    }
    argc -= optind;
    argv += optind;
    if (strcmp(argv[0], "top") == 0)
        return ctl_top(&t, argc, argv);
    if (strcmp(argv[0], "user") == 0 && argc >= 2 &&
        (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "passwd") == 0))
        return run_user_password(&t, argc, argv, pw_stdin);
    return run(&t, argc, argv);
}
