// SPDX-License-Identifier: BSD-3-Clause
/*
 * --mode fanout: one publisher, --fanout F subscribers, one topic
 * ("load/<run-id>/fan"), the baseline of petrel-bench's fanout scenario
 * with one group.
 *
 * Set-up: every subscriber connects, subscribes at --qos and waits for its
 * SUBACK; the publisher connects. Then the publisher sends --warmup +
 * --msgs PUBLISHes at --qos (payload as in p2p: send time, sequence
 * number, group 0, padding), each of which the broker delivers F times.
 *
 * Pacing. Closed loop (default): at most --window messages between the
 * publisher's send and their delivery to the first subscriber still
 * connected (by sequence number), and at QoS 1 at most --window
 * unacknowledged PUBLISHes. The other subscribers may lag behind the
 * first; what they lag shows as latency. Open loop (--rate R): R
 * PUBLISHes per second on a fixed schedule, stamped with the scheduled
 * time (R x F deliveries per second); only the QoS 1 window and the 4 MiB
 * send backlog hold the publisher back.
 *
 * Counted per subscriber, exactly: each sequence number's first delivery
 * (a bit per number), duplicates, out-of-order deliveries; lost = sent -
 * first deliveries, summed over subscribers. Latency: every measured
 * delivery (sequence >= --warmup) to every subscriber goes into one
 * histogram; msgs/s = measured deliveries / (first measured send .. last
 * measured delivery). Memory: ~33 KiB of buffers per subscriber once
 * traffic flows, plus (warmup + msgs) / 8 bytes of bitmap. The publisher
 * is publisher 0 of ld_ps, the subscribers its subscribers; loop.c runs
 * them.
 */
#include <inttypes.h>
#include <stdio.h>

#include "hist.h"
#include "load.h"

static void name(const struct ld_conn *c, char *buf, size_t len)
{
    if (c->is_pub)
        snprintf(buf, len, "fanout publisher");
    else
        snprintf(buf, len, "fanout subscriber %u", c->idx);
}

static const struct ld_proto proto = {
    .on_frame = ld_ps_frame,
    .name = name,
};

static int setup(void)
{
    struct ld_pub *p;
    char id[LD_ID_MAX];

    if (ld_ps_init(1, ld_opt.fanout,
                   (uint64_t)ld_opt.fanout + 1 + LD_FD_SPARE, &proto) < 0)
        return -1;
    p = &ld_ps.pub[0];
    p->topic_len = (uint16_t)snprintf(p->topic, sizeof(p->topic),
                                      "load/%s/fan", ld_io.run_id);
    for (uint32_t i = 0; i < ld_opt.fanout; i++) {
        snprintf(id, sizeof(id), "ld%sf%u", ld_io.run_id, i);
        if (ld_ps_open_sub(i, p, id) < 0)
            return -1;
    }
    snprintf(id, sizeof(id), "ld%sF", ld_io.run_id);
    return ld_ps_open_pub(0, id);
}

static void report(bool timed_out, int rc, const struct ld_totals *t)
{
    const struct pb_hist *h = ld_ps.hist;

    if (ld_opt.json) {
        printf("{\"mode\":\"fanout\",\"qos\":%u,\"fanout\":%u,"
               "\"sessions\":%u,\"msgs\":%" PRIu64 ",\"warmup\":%" PRIu64
               ",\"size\":%u,\"window\":%u,\"rate\":%.0f,"
               "\"published\":%" PRIu64 ",\"expected\":%" PRIu64
               ",\"delivered\":%" PRIu64 ",\"lost\":%" PRIu64
               ",\"duplicates\":%" PRIu64 ",\"out_of_order\":%" PRIu64
               ",\"subscribers_short\":%u,\"sessions_lost\":%" PRIu64
               ",\"measured\":%" PRIu64 ",\"elapsed_s\":%.6f"
               ",\"msgs_per_s\":%.1f,\"pubs_per_s\":%.1f",
               ld_opt.qos, ld_opt.fanout, ld_opt.fanout + 1, ld_opt.msgs,
               ld_opt.warmup, ld_opt.size, ld_opt.window, ld_opt.rate,
               ld_ps.sent, t->expected, ld_ps.delivered, t->lost, t->dups,
               t->ooo, t->short_subs, t->subs_lost, ld_ps.measured_rcvd,
               t->elapsed, t->rate, t->prate);
        ld_json_hist(stdout, "latency_us", h);
        printf(",\"errors\":%" PRIu64 ",\"timed_out\":%s,\"exit\":%d}\n",
               ld_io.errors, timed_out ? "true" : "false", rc);
    } else {
        printf("fanout 1 -> %u, qos %u, %" PRIu64 " + %" PRIu64 " warm-up "
               "msgs of %u bytes, %s\n", ld_opt.fanout, ld_opt.qos,
               ld_opt.msgs, ld_opt.warmup, ld_opt.size,
               ld_opt.rate > 0 ? "open loop" : "closed loop");
        printf("published %" PRIu64 "  delivered %" PRIu64 " of %" PRIu64
               "  lost %" PRIu64 " (%u subscribers short)  duplicates %"
               PRIu64 "  out-of-order %" PRIu64 "  sessions lost %" PRIu64
               "  errors %" PRIu64 "%s\n", ld_ps.sent, ld_ps.delivered,
               t->expected, t->lost, t->short_subs, t->dups, t->ooo,
               t->subs_lost, ld_io.errors, timed_out ? "  TIMED OUT" : "");
        printf("measured %" PRIu64 " deliveries in %.3f s: %.0f msgs/s "
               "(%.0f publishes/s)\n", ld_ps.measured_rcvd, t->elapsed,
               t->rate, t->prate);
        ld_text_latency(stdout, h);
    }
}

int ld_fanout_run(void)
{
    return ld_ps_run(setup, report);
}
