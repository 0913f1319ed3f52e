/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operator's control socket: a Unix stream socket (mode 0600) served by
 * the control plane, and a registry of commands that the modules owning the
 * state add to (table-driven; each command has help text).
 *
 * Wire format (docs/cli.md): the client sends one request line, at most
 * PT_CTL_REQ_MAX bytes, ending in '\n', in one of two forms:
 *     stats                                    space-separated words, or
 *     {"argv":["clients","kick","id with spaces"]}
 * A line whose first non-blank character is '{' is JSON: an object whose
 * only member "argv" is an array of 1 to PT_CTL_MAX_ARGS strings (any
 * UTF-8 but NUL, every JSON escape). petrelctl always sends JSON; the word
 * form is for socat. The server answers one line of JSON and closes:
 *     {"ok":true,"result":<value>}      or
 *     {"ok":false,"error":"<message>"}
 * A request that is too long, malformed, not terminated within
 * PT_CTL_IDLE_MS, or names an unknown command gets an error answer; a
 * client can never block the control plane (all sockets are non-blocking,
 * output is queued, every state has a deadline).
 *
 * Deferred answers: a handler that must ask a dataplane core takes its
 * request's ticket (pt_ctl_ticket()), sends the question and returns
 * PT_CTL_DEFER; whoever gets the reply calls pt_ctl_answer() with the
 * ticket, later, on the control-plane thread. A request still unanswered
 * after PT_CTL_IDLE_MS is answered "timed out waiting for the dataplane".
 * Clients cannot tell a deferred answer from an immediate one.
 *
 * Threading: control-plane thread only (the one running the epoll loop;
 * checked by assert() in pt_ctl_event, pt_ctl_sweep, pt_ctl_ticket and
 * pt_ctl_answer). Handlers run on that thread and may only read dataplane
 * state.
 */
#ifndef PETREL_CTL_H
#define PETREL_CTL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PT_CTL_REQ_MAX 4096
#define PT_CTL_IDLE_MS 5000
#define PT_CTL_MAX_CLIENTS 32
#define PT_CTL_MAX_ARGS 16

/** Handler return value: the answer comes later through pt_ctl_answer(). */
#define PT_CTL_DEFER 1

/** A growable text buffer for answers. Allocation failure sets oom. */
struct pt_buf {
    char *data;
    size_t len;
    size_t cap;
    int oom;
};

/** Append formatted text. */
void pt_buf_printf(struct pt_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Append s as a JSON string literal (quoted, escaped). Bytes that are
 * not valid UTF-8 are written as \ufffd (U+FFFD), so the literal is
 * valid JSON whatever s holds (a word-form request's raw bytes). */
void pt_buf_json_str(struct pt_buf *b, const char *s);
/** Release the buffer's memory. */
void pt_buf_free(struct pt_buf *b);

/**
 * A command handler. Write the result as one JSON value to out and return
 * 0, or write a plain-text error message to out and return a negative
 * errno, or take pt_ctl_ticket() and return PT_CTL_DEFER (out is then
 * discarded). argv[0..argc) are the words after the command's name, valid
 * only during the call (copy what a deferred request needs). ctx is the
 * command's ctx; a handler that defers keeps the struct pt_ctl pointer
 * there, next to its own state.
 */
typedef int (*pt_ctl_handler)(void *ctx, int argc, char **argv,
                              struct pt_buf *out);

/** One command; argv[0] is matched against name (multi-word names such as
 * "config show" match the first words of the request). */
struct pt_ctl_cmd {
    const char *name;
    const char *args;   /**< usage of the arguments, "" if none */
    const char *help;
    pt_ctl_handler fn;
    void *ctx;
};

struct pt_ctl;

/**
 * Open the control socket at path (a stale socket file is replaced; the
 * caller holds the instance lock) and add it to epfd.
 * @return the server, or NULL with errno set.
 */
struct pt_ctl *pt_ctl_open(const char *path, int epfd);

/**
 * Register a command. The struct must outlive the server.
 * @return 0, -EEXIST (name taken) or -ENOSPC (table full).
 */
int pt_ctl_register(struct pt_ctl *ctl, const struct pt_ctl_cmd *cmd);

/** Handle an epoll event whose data.ptr the server registered. Returns 1
 * when ptr belonged to the server, 0 otherwise. */
int pt_ctl_event(struct pt_ctl *ctl, void *ptr, uint32_t events);

/** CLOCK_MONOTONIC in milliseconds: the clock of pt_ctl_sweep() and of the
 * control plane's other timers (any thread). */
static inline uint64_t
pt_ctl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/**
 * Enforce the deadlines, given the CLOCK_MONOTONIC time in ms: close clients
 * silent or not reading for PT_CTL_IDLE_MS, and answer deferred requests
 * waiting that long with "timed out waiting for the dataplane". Call it a
 * few times a second.
 */
void pt_ctl_sweep(struct pt_ctl *ctl, uint64_t now_ms);

/**
 * The ticket of the request being handled: only inside a handler (0
 * elsewhere). Tickets are unique for the server's life (a 64-bit counter,
 * never reused, never 0), so an answer can never reach a later client of
 * the same slot.
 */
uint64_t pt_ctl_ticket(struct pt_ctl *ctl);

/**
 * Answer a deferred request.
 * @param rc   0: res[0..len) is the JSON result (len 0 = null); < 0: it is
 *             a plain-text error message.
 * @return 1 when the answer went to the client (sent or queued), 0 when
 *         the ticket is unknown or stale: its client has gone (hung up,
 *         timed out) or it was answered already. Never blocks; res is
 *         copied.
 */
int pt_ctl_answer(struct pt_ctl *ctl, uint64_t ticket, int rc,
                  const char *res, size_t len);

/** Close every client and the socket, and remove the socket file. */
void pt_ctl_close(struct pt_ctl *ctl);

/** Counters of the server itself. */
struct pt_ctl_stats {
    uint64_t requests;
    uint64_t errors;      /**< answers with ok:false */
    uint64_t timeouts;    /**< clients closed for silence */
    uint64_t oversize;    /**< requests longer than PT_CTL_REQ_MAX */
    uint64_t refused;     /**< connections over PT_CTL_MAX_CLIENTS */
    uint64_t malformed;   /**< bad JSON, bad argv, too many arguments,
                           *   NUL bytes */
    uint64_t deferred;    /**< requests a handler answered later */
    uint64_t deferred_timeouts; /**< ... not answered in PT_CTL_IDLE_MS */
};
const struct pt_ctl_stats *pt_ctl_stats(const struct pt_ctl *ctl);

#endif /* PETREL_CTL_H */
