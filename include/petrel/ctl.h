/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operator's control socket: a Unix stream socket (mode 0600) served by
 * the control plane, and a registry of commands that the modules owning the
 * state add to (table-driven; each command has help text).
 *
 * Wire format (docs/cli.md): the client sends one request line, at most
 * PT_CTL_REQ_MAX bytes, of space-separated words ending in '\n' (`stats`,
 * `config show`). The server answers one line of JSON and closes:
 *     {"ok":true,"result":<value>}      or
 *     {"ok":false,"error":"<message>"}
 * A request that is too long, not terminated within PT_CTL_IDLE_MS, or
 * names an unknown command gets an error answer; a client can never block
 * the control plane (all sockets are non-blocking, output is queued).
 *
 * Threading: control-plane thread only (the one running the epoll loop).
 * Handlers run on that thread and may only read dataplane state.
 */
#ifndef PETREL_CTL_H
#define PETREL_CTL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PT_CTL_REQ_MAX 4096
#define PT_CTL_IDLE_MS 5000
#define PT_CTL_MAX_CLIENTS 32
#define PT_CTL_MAX_ARGS 16

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
/** Append s as a JSON string literal (quoted, escaped). */
void pt_buf_json_str(struct pt_buf *b, const char *s);
/** Release the buffer's memory. */
void pt_buf_free(struct pt_buf *b);

/**
 * A command handler. Write the result as one JSON value to out and return
 * 0, or write a plain-text error message to out and return a negative errno.
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

/** Close clients that have been silent longer than PT_CTL_IDLE_MS. */
void pt_ctl_sweep(struct pt_ctl *ctl, uint64_t now_ms);

/** Close every client and the socket, and remove the socket file. */
void pt_ctl_close(struct pt_ctl *ctl);

/** Counters of the server itself. */
struct pt_ctl_stats {
    uint64_t requests;
    uint64_t errors;      /**< answers with ok:false */
    uint64_t timeouts;    /**< clients closed for silence */
    uint64_t oversize;    /**< requests longer than PT_CTL_REQ_MAX */
    uint64_t refused;     /**< connections over PT_CTL_MAX_CLIENTS */
};
const struct pt_ctl_stats *pt_ctl_stats(const struct pt_ctl *ctl);

#endif /* PETREL_CTL_H */
