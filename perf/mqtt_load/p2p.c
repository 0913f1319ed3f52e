// SPDX-License-Identifier: BSD-3-Clause
/*
 * --mode p2p (the default): --pairs publisher/subscriber pairs, one topic
 * each. The model is described at the top of main.c; perf/mqtt_ratio.py
 * and docs/performance.md depend on its behaviour and its JSON line, so
 * both stay as they were when this file was split out of mqtt_load.c.
 *
 * Per pair: the subscriber connects, subscribes to "load/<run-id>/<i>"
 * and waits for SUBACK; the publisher connects. A payload carries the
 * send time, the sequence number and the pair index. Closed loop keeps
 * at most --window messages between a publisher's send and its
 * subscriber's delivery; open loop sends on a fixed schedule. Pair i is
 * publisher i and subscriber i of ld_ps; loop.c runs them.
 */
#include <inttypes.h>
#include <stdio.h>

#include "hist.h"
#include "load.h"

static void name(const struct ld_conn *c, char *buf, size_t len)
{
    snprintf(buf, len, "pair %u %s", c->idx,
             c->is_pub ? "publisher" : "subscriber");
}

static const struct ld_proto proto = {
    .on_frame = ld_ps_frame,
    .name = name,
};

static int setup(void)
{
    if (ld_ps_init(ld_opt.pairs, ld_opt.pairs,
                   2 * (uint64_t)ld_opt.pairs + 64, &proto) < 0)
        return -1;
    for (uint32_t i = 0; i < ld_opt.pairs; i++) {
        struct ld_pub *p = &ld_ps.pub[i];
        char id[LD_ID_MAX];

        p->topic_len = (uint16_t)snprintf(p->topic, sizeof(p->topic),
                                          "load/%s/%u", ld_io.run_id, i);
        snprintf(id, sizeof(id), "ld%ss%u", ld_io.run_id, i);
        if (ld_ps_open_sub(i, p, id) < 0)
            return -1;
        snprintf(id, sizeof(id), "ld%sp%u", ld_io.run_id, i);
        if (ld_ps_open_pub(i, id) < 0)
            return -1;
    }
    return 0;
}

static void report(bool timed_out, int rc, const struct ld_totals *t)
{
    const struct pb_hist *h = ld_ps.hist;
    uint64_t cnt = pb_hist_count(h);

    if (ld_opt.json) {
        printf("{\"qos\":%u,\"pairs\":%u,\"msgs\":%" PRIu64
               ",\"warmup\":%" PRIu64 ",\"size\":%u,\"window\":%u,"
               "\"rate\":%.0f,\"sent\":%" PRIu64 ",\"received\":%" PRIu64
               ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64
               ",\"out_of_order\":%" PRIu64 ",\"measured\":%" PRIu64
               ",\"elapsed_s\":%.6f,\"msgs_per_s\":%.1f,"
               "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
               "\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},"
               "\"errors\":%" PRIu64 ",\"timed_out\":%s,\"exit\":%d}\n",
               ld_opt.qos, ld_opt.pairs, ld_opt.msgs, ld_opt.warmup,
               ld_opt.size, ld_opt.window, ld_opt.rate, ld_ps.sent,
               ld_ps.delivered, t->lost, t->dups, t->ooo,
               ld_ps.measured_rcvd, t->elapsed, t->rate,
               ld_hist_us(h, 50), ld_hist_us(h, 90), ld_hist_us(h, 99),
               ld_hist_us(h, 99.9), (double)pb_hist_max(h) * 1e-3,
               cnt ? (double)ld_ps.lat_sum / (double)cnt * 1e-3 : 0.0,
               ld_io.errors, timed_out ? "true" : "false", rc);
    } else {
        printf("qos %u, %u pairs x (%" PRIu64 " + %" PRIu64 " warm-up) "
               "msgs of %u bytes, %s\n", ld_opt.qos, ld_opt.pairs,
               ld_opt.msgs, ld_opt.warmup, ld_opt.size,
               ld_opt.rate > 0 ? "open loop" : "closed loop");
        printf("sent %" PRIu64 "  received %" PRIu64 "  lost %" PRIu64
               "  duplicated %" PRIu64 "  out-of-order %" PRIu64
               "  errors %" PRIu64 "%s\n", ld_ps.sent, ld_ps.delivered,
               t->lost, t->dups, t->ooo, ld_io.errors,
               timed_out ? "  TIMED OUT" : "");
        printf("measured %" PRIu64 " in %.3f s: %.0f msgs/s\n",
               ld_ps.measured_rcvd, t->elapsed, t->rate);
        ld_text_latency(stdout, h);
    }
}

int ld_p2p_run(void)
{
    return ld_ps_run(setup, report);
}
