/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrelctl's internals, shared by its files:
 *   main.c      options, the commands that need more than one request
 *               (health's exit status, user's password), exit statuses
 *   client.c    one request over the control socket (JSON form) and its
 *               parsed answer
 *   render.c    the human rendering of any JSON result
 *   password.c  reading a password without echo, or from stdin
 *   top.c       the live view
 *
 * Single-threaded program; nothing here is used by petreld.
 */
#ifndef PETRELCTL_H
#define PETRELCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <petrel/json.h>

/* Exit statuses (docs/cli.md). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1      /* error answer, or unhealthy */
#define CTL_EXIT_NO_ANSWER 2  /* not running, timeout, bad usage */

/** Where and how to ask. */
struct ctl_target {
    char path[108];     /* sizeof(sun_path) */
    int timeout_ms;     /* for one request, connect to last byte */
    bool json;          /* --json: print answers verbatim */
};

/** One answer. */
struct ctl_answer {
    char *raw;                    /* the answer line, without '\n' */
    size_t len;
    struct pt_json_doc *doc;
    bool ok;
    const struct pt_json *result; /* ok: the result (NULL = absent) */
    const char *error;            /* !ok: the message */
};

/** Set by a signal handler: a request in progress gives up. */
extern volatile sig_atomic_t ctl_interrupted;

/** While set, error messages are kept for ctl_flush_errors() instead of
 * going to stderr (top's full screen would hide them). */
extern bool ctl_hold_errors;

/** An error message: to stderr, or kept while ctl_hold_errors. */
void ctl_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print the messages kept while ctl_hold_errors. */
void ctl_flush_errors(void);

/**
 * Send argv as {"argv":[...]} and read and parse the answer. The request
 * buffer is wiped after sending (it may hold a password).
 * @return 0 (ans filled; check ans->ok), or -1 with the reason printed on
 *         stderr (no answer: socket missing, timeout, bad answer).
 */
int ctl_call(const struct ctl_target *t, int argc, char *const *argv,
             struct ctl_answer *ans);

/** Release an answer. */
void ctl_answer_free(struct ctl_answer *ans);

/**
 * Print an answer: --json verbatim on stdout, otherwise the result
 * rendered on stdout or "petrelctl: error: ..." on stderr.
 * @return CTL_EXIT_OK or CTL_EXIT_ERROR.
 */
int ctl_print(const struct ctl_target *t, const struct ctl_answer *ans);

/** Render a JSON result for people (render.c). */
void ctl_render(FILE *f, const struct pt_json *v);

/**
 * Format a scalar for people into buf: strings as they are with control
 * characters escaped, numbers as written, null as "-".
 */
void ctl_scalar(const struct pt_json *v, char *buf, size_t size);

/** Display width of a UTF-8 string (code points; no wide characters). */
size_t ctl_width(const char *s);

/**
 * Read a password: from stdin (one line, newline stripped) when from_stdin,
 * else from the terminal without echo, twice, both must match.
 * @return 0, or -1 with the reason printed on stderr.
 */
int ctl_read_password(const char *user, bool from_stdin, char *buf,
                      size_t size);

/** `petrelctl top [...]`: args after "top". Returns an exit status. */
int ctl_top(const struct ctl_target *t, int argc, char **argv);

#endif /* PETRELCTL_H */
