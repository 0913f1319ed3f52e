/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Metrics for operators: every counter `petrelctl stats` shows, served
 *   - over HTTP in the Prometheus text exposition format (version 0.0.4)
 *     on a kernel TCP socket at metrics.address:metrics.port
 *     (GET /metrics), and
 *   - through DPDK telemetry (metrics.telemetry): /petrel/stats (node
 *     totals), /petrel/core,<n> (one dataplane core), /petrel/broker
 *     (the broker's control-plane counters), for dpdk-telemetry.py.
 *
 * What it is not: no push, no history, no aggregation across cores in
 * the exposition (PromQL sums); the families come from the same tables
 * and name functions as `stats` (net.h, tcp.h, mqtt.h, broker.h), so a
 * counter added there shows up here (docs/operations.md, "Metrics").
 *
 * HTTP server: GET (or HEAD) /metrics answers 200 with
 * "Content-Type: text/plain; version=0.0.4; charset=utf-8"; another path
 * 404; another method 405; a malformed request 400; more than
 * PT_METRICS_REQ_MAX bytes of request line and headers 431. Every answer
 * closes the connection. A client that has not sent a whole request
 * within PT_METRICS_IDLE_MS, or has not read its answer within as long,
 * is closed; at most PT_METRICS_MAX_CLIENTS are served at once (more are
 * answered 503 and closed). Sockets are non-blocking and answers queued
 * (EPOLLOUT), so no client can hold up the control plane.
 *
 * Threading: pt_metrics_open/event/tick/render/close run on the control
 * plane's thread only (the one running the epoll loop; checked by
 * assert() in debug builds, on the thread that opened it). The telemetry
 * commands run on DPDK's telemetry threads (one per telemetry client):
 * they never touch the dataplane, the broker or this struct, only a
 * snapshot that pt_metrics_open and pt_metrics_tick copy under a mutex
 * (so telemetry is at most one tick, 250 ms, old). DPDK cannot
 * unregister a command: after pt_metrics_close they answer null (an
 * error) until another pt_metrics_open.
 */
#ifndef PETREL_METRICS_H
#define PETREL_METRICS_H

#include <stdint.h>

#include <petrel/config.h>
#include <petrel/ctl.h>
#include <petrel/dataplane.h>

#define PT_METRICS_MAX_CLIENTS 16
#define PT_METRICS_REQ_MAX 8192     /**< request line + headers, bytes */
#define PT_METRICS_IDLE_MS 5000
#define PT_METRICS_LINGER_MS 1000   /**< after the answer: wait this long
                                         for the client to close first */

struct pt_broker;
struct pt_ctl;
struct pt_metrics;

/**
 * Open the HTTP listener (when cfg->metrics_port != 0) and add it to epfd;
 * register the DPDK telemetry commands (when cfg->metrics_telemetry).
 * @param cfg settings (metrics.*, name); must outlive the result
 * @param epfd the control plane's epoll instance
 * @param dp the dataplane whose cores are reported (NULL: none)
 * @param broker the broker whose control-plane counters are reported
 *        (NULL: no broker families)
 * @param ctl the control socket whose own counters are reported (NULL:
 *        none)
 * @return the metrics, or NULL with errno set: the listener's socket(),
 *         bind() (EADDRINUSE, EADDRNOTAVAIL, ...), listen() or
 *         epoll_ctl() error (logged with the address and port), ENOMEM,
 *         or EBUSY when another pt_metrics serves telemetry.
 */
struct pt_metrics *pt_metrics_open(const struct pt_config *cfg, int epfd,
                                   struct pt_dp *dp, struct pt_broker *broker,
                                   const struct pt_ctl *ctl);

/**
 * Handle an epoll event whose data.ptr may be the metrics server's.
 * @return 1 when ptr was ours (handled), 0 otherwise (m may be NULL).
 */
int pt_metrics_event(struct pt_metrics *m, void *ptr, uint32_t events);

/**
 * Housekeeping, every 250 ms: close clients past their deadline, refresh
 * the telemetry snapshot. @param now_ms CLOCK_MONOTONIC in milliseconds.
 */
void pt_metrics_tick(struct pt_metrics *m, uint64_t now_ms);

/** Close every client and the listener; telemetry answers null from now
 * on. NULL is a no-op. */
void pt_metrics_close(struct pt_metrics *m);

/**
 * Append the exposition text (format 0.0.4) of the counters as they are
 * now to out (allocation failure sets out->oom).
 */
void pt_metrics_render(struct pt_metrics *m, struct pt_buf *out);

#endif /* PETREL_METRICS_H */
