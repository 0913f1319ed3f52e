/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the metrics module (include/petrel/metrics.h), shared by
 * its files and its unit test:
 *   - metrics_family.c: the metric families, walked from the same tables
 *     and name functions `stats` uses (the one place that says what is a
 *     counter and what a gauge);
 *   - metrics.c: snapshots, the Prometheus text renderer, the glue;
 *   - metrics_http.c: the HTTP/1.x server for GET /metrics;
 *   - metrics_telemetry.c: the DPDK telemetry commands.
 *
 * Threading: as metrics.h; only metrics_telemetry.c runs (its callbacks)
 * on another thread.
 */
#ifndef PETREL_METRICS_PRIV_H
#define PETREL_METRICS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <petrel/broker.h>
#include <petrel/ctl.h>
#include <petrel/dataplane.h>
#include <petrel/metrics.h>

/* ---- the HTTP server's own counters ---- */

/* Status codes answered to a request, for petrel_metrics_http_responses. */
#define PT_METRICS_HTTP_CODES(X)                                              \
    X(200, "OK")                                                              \
    X(400, "Bad Request")                                                     \
    X(404, "Not Found")                                                       \
    X(405, "Method Not Allowed")                                              \
    X(431, "Request Header Fields Too Large")                                 \
    X(500, "Internal Server Error")

enum pt_metrics_http_code {
#define PT_X(code, reason) PT_MH_##code,
    PT_METRICS_HTTP_CODES(PT_X)
#undef PT_X
    PT_MH_CODE_MAX
};

struct pt_metrics_http_stats {
    uint64_t responses[PT_MH_CODE_MAX]; /**< answers, by status */
    uint64_t timeouts;  /**< closed: no whole request, or answer unread,
                             within PT_METRICS_IDLE_MS */
    uint64_t refused;   /**< over PT_METRICS_MAX_CLIENTS (answered 503) */
    uint64_t errors;    /**< connections lost before the answer was sent */
};

/* ---- snapshots ---- */

/** Everything a rendering shows, copied at one time. */
struct pt_metrics_snap {
    unsigned n_cores;
    struct pt_dp_core_info *cores;   /**< n_cores entries */
    bool broker_on;
    struct pt_broker_ctl_stats broker;
    bool ctl_on;
    struct pt_ctl_stats ctl;
    bool http_on;
    struct pt_metrics_http_stats http;
    double uptime_s;
    const char *name;                /**< instance name */
    const char *version;             /**< petrel's */
    const char *dpdk;                /**< rte_version() */
};

/** Render a snapshot as exposition text (pt_metrics_render's body). */
void pt_metrics_render_snap(const struct pt_metrics_snap *s,
                            struct pt_buf *out);

/* ---- families ---- */

/** Where a family's values live. */
enum pt_metrics_src {
    PT_MSRC_CORE,     /**< struct pt_dp_core_info, one per core */
    PT_MSRC_BROKER,   /**< struct pt_broker_ctl_stats */
    PT_MSRC_CTL,      /**< struct pt_ctl_stats */
    PT_MSRC_HTTP,     /**< struct pt_metrics_http_stats */
};

#define PT_METRICS_F_MQTT  0x1u  /**< only cores where the broker runs */
#define PT_METRICS_F_FAULT 0x2u  /**< only cores with fault injection */
#define PT_METRICS_F_SIZE  0x4u  /**< a size per object, the same on every
                                      core: not summed into totals */

#define PT_METRICS_NAME_MAX 96

/** One family: a name, a type, and n values per source. */
struct pt_metrics_family {
    char name[PT_METRICS_NAME_MAX]; /**< after "petrel_", before "_total" */
    const char *help;
    bool counter;                   /**< else a gauge */
    enum pt_metrics_src src;
    unsigned flags;                 /**< PT_METRICS_F_* */
    const char *label;              /**< label key; NULL: one value */
    unsigned n;                     /**< values per source (1 unlabelled) */
    const void *desc;               /* private to metrics_family.c */
    unsigned elem;
};

/** Family iterator: zero it to start. */
struct pt_metrics_iter {
    unsigned desc;
    unsigned elem;
};

/** Next family. @return false after the last. */
bool pt_metrics_family_next(struct pt_metrics_iter *it,
                            struct pt_metrics_family *f);

/** The label value of value j (0 <= j < f->n); NULL when unlabelled. */
const char *pt_metrics_family_label(const struct pt_metrics_family *f,
                                    unsigned j);

/** Value j of f in src (what pt_metrics_family_src returned). */
uint64_t pt_metrics_family_value(const struct pt_metrics_family *f,
                                 const void *src, unsigned j);

/**
 * The source of f in s: core `core`'s info for PT_MSRC_CORE (NULL when
 * the core lacks the family: broker or fault injection off), the node
 * struct otherwise (NULL when absent).
 */
const void *pt_metrics_family_src(const struct pt_metrics_family *f,
                                  const struct pt_metrics_snap *s,
                                  unsigned core);

/* ---- HTTP server (metrics_http.c) ---- */

/** Produces the body of a 200 answer. */
typedef void (*pt_metrics_body_fn)(void *ctx, struct pt_buf *out);

struct pt_metrics_http;

/**
 * Listen on addr:port (network byte order address, host order port) and
 * add the socket to epfd. @return the server, or NULL with errno set.
 */
struct pt_metrics_http *pt_metrics_http_open(uint32_t addr, uint16_t port,
                                             int epfd, pt_metrics_body_fn fn,
                                             void *ctx);
/** @return 1 when ptr was the server's, 0 otherwise. */
int pt_metrics_http_event(struct pt_metrics_http *h, void *ptr,
                          uint32_t events);
/** Close clients past their deadline. */
void pt_metrics_http_sweep(struct pt_metrics_http *h, uint64_t now_ms);
void pt_metrics_http_close(struct pt_metrics_http *h);
const struct pt_metrics_http_stats *
pt_metrics_http_stats(const struct pt_metrics_http *h);

/**
 * Judge the bytes of a request received so far.
 * @param req, len the bytes (not NUL-terminated)
 * @param head set when the method is HEAD (answer without a body)
 * @return 0: incomplete, wait for more; otherwise the status to answer:
 *         200 (GET or HEAD of /metrics, a query string ignored), 404
 *         (GET or HEAD of another path), 405 (another method), 400
 *         (malformed request line or header line, a NUL byte, not
 *         HTTP/1.0 or 1.1), 431 (PT_METRICS_REQ_MAX bytes without the
 *         blank line that ends the headers).
 */
int pt_metrics_http_parse(const char *req, size_t len, bool *head);

/* ---- DPDK telemetry (metrics_telemetry.c) ---- */

/**
 * Register the commands (first call in the process) and make them answer
 * from snapshots of n_cores cores. @return 0, -ENOMEM, -EBUSY (another
 * pt_metrics serves them) or rte_telemetry_register_cmd's error.
 */
int pt_metrics_tel_start(unsigned n_cores);
/** Copy s (n_cores as started) for the telemetry threads. */
void pt_metrics_tel_publish(const struct pt_metrics_snap *s);
/** From now on the commands answer null. */
void pt_metrics_tel_stop(void);

/* The commands' callbacks (DPDK's telemetry_cb), for the unit test:
 * 0 with d filled, or a negative errno (DPDK answers null): -ENODEV when
 * stopped, -EINVAL for a core that is not a number below n_cores. */
struct rte_tel_data;
int pt_metrics_tel_stats(const char *cmd, const char *params,
                         struct rte_tel_data *d);
int pt_metrics_tel_core(const char *cmd, const char *params,
                        struct rte_tel_data *d);
int pt_metrics_tel_broker(const char *cmd, const char *params,
                          struct rte_tel_data *d);

#endif /* PETREL_METRICS_PRIV_H */
