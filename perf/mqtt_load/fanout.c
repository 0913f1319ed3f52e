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
 * traffic flows, plus (warmup + msgs) / 8 bytes of bitmap.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "load.h"

struct ld_fsub {
    struct ld_conn c;
    bool dirty;                 /* in fo.dirty: bytes queued, not sent */
    uint8_t *seen;              /* one bit per sequence number */
    uint64_t high;              /* highest sequence received + 1 */
    uint64_t uniq, dups, ooo;
};

static struct {
    struct ld_conn pub;
    struct ld_fsub *sub;
    struct ld_fsub **dirty;     /* subscribers with bytes to flush */
    uint32_t ndirty;
    char topic[LD_TOPIC_MAX];
    uint16_t topic_len;
    uint8_t *pad;
    /* publisher */
    uint64_t next_seq, due_ns, interval_ns;
    uint32_t inflight;
    uint16_t next_id;
    uint8_t id_used[8192];
    uint32_t first_live;        /* closed loop: window on this subscriber */
    /* totals */
    uint64_t measured_sent, measured_rcvd, delivered;
    uint64_t first_send, last_recv, last_any_recv;
    struct pb_hist *hist;
} fo;

static void name(const struct ld_conn *c, char *buf, size_t len)
{
    if (c->is_pub)
        snprintf(buf, len, "fanout publisher");
    else
        snprintf(buf, len, "fanout subscriber %u", c->idx);
}

/* queued bytes go out after this batch of events (after_events) */
static void mark_dirty(struct ld_fsub *s)
{
    if (!s->dirty) {
        s->dirty = true;
        fo.dirty[fo.ndirty++] = s;
    }
}

static void queue_publish(uint64_t ts)
{
    struct ld_conn *c = &fo.pub;
    uint8_t *p = ld_buf_reserve(&c->tx, 9u + fo.topic_len + ld_opt.size);
    uint64_t seq = fo.next_seq++;
    uint32_t group = 0;
    uint16_t id = 0;
    size_t n;

    if (ld_opt.qos) {
        id = fo.next_id;
        while (id == 0 || fo.id_used[id >> 3] & (1u << (id & 7)))
            id++;
        fo.next_id = (uint16_t)(id + 1);
        fo.id_used[id >> 3] |= (uint8_t)(1u << (id & 7));
        fo.inflight++;
    }
    n = ld_put_publish_head(p, fo.topic, fo.topic_len, ld_opt.qos, id,
                            ld_opt.size);
    memcpy(p + n, &ts, 8);
    memcpy(p + n + 8, &seq, 8);
    memcpy(p + n + 16, &group, 4);
    memcpy(p + n + LD_HDR, fo.pad, ld_opt.size - LD_HDR);
    c->tx.tail += n + ld_opt.size;
    if (seq >= ld_opt.warmup && fo.measured_sent++ == 0)
        fo.first_send = ts;
}

/* ---- receiving ---------------------------------------------------------- */

static void on_publish(struct ld_fsub *s, uint8_t flags, const uint8_t *p,
                       size_t rem, uint64_t now)
{
    struct ld_conn *c = &s->c;
    struct ld_publish m;
    uint64_t ts, seq;
    uint32_t group;

    if (ld_parse_publish(flags, p, rem, &m) < 0) {
        ld_conn_fail(c, "malformed PUBLISH");
        return;
    }
    if (m.qos) {
        c->tx.tail += ld_put_puback(ld_buf_reserve(&c->tx, 4), m.id);
        mark_dirty(s);
    }
    if (m.topic_len != fo.topic_len ||
        memcmp(m.topic, fo.topic, m.topic_len) != 0 ||
        m.payload_len != ld_opt.size) {
        fprintf(stderr, "pt-mqtt-load: fanout subscriber %u: unexpected "
                "topic or payload size\n", c->idx);
        ld_io.errors++;
        return;
    }
    memcpy(&ts, m.payload, 8);
    memcpy(&seq, m.payload + 8, 8);
    memcpy(&group, m.payload + 16, 4);
    if (group != 0 || seq >= ld_opt.total) {
        fprintf(stderr, "pt-mqtt-load: fanout subscriber %u: foreign "
                "payload\n", c->idx);
        ld_io.errors++;
        return;
    }
    if (s->seen[seq >> 3] & (1u << (seq & 7))) {
        s->dups++;
        return;
    }
    s->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
    s->uniq++;
    fo.delivered++;
    if (seq + 1 < s->high)
        s->ooo++;
    else
        s->high = seq + 1;
    fo.last_any_recv = now;
    if (seq >= ld_opt.warmup) {
        fo.measured_rcvd++;
        fo.last_recv = now;
        pb_hist_record(fo.hist, now > ts ? now - ts : 0);
    }
}

static void on_frame(struct ld_conn *c, uint8_t b0, const uint8_t *p,
                     size_t rem, uint64_t now)
{
    unsigned type = b0 >> 4;

    if (type == LD_CONNACK && c->state == LD_ST_CONNACK && rem == 2) {
        if (p[1] != 0) {
            ld_conn_fail(c, "CONNACK refused the connection");
        } else if (c->is_pub) {
            c->state = LD_ST_READY;
        } else {
            c->tx.tail += ld_put_subscribe(
                ld_buf_reserve(&c->tx, 16 + fo.topic_len), fo.topic,
                fo.topic_len, ld_opt.qos);
            c->state = LD_ST_SUBACK;
            mark_dirty(&fo.sub[c->idx]);
        }
    } else if (type == LD_SUBACK && c->state == LD_ST_SUBACK && rem == 3) {
        if (p[2] > 1)
            ld_conn_fail(c, "SUBACK refused the subscription");
        else
            c->state = LD_ST_READY;
    } else if (type == LD_PUBLISH && !c->is_pub &&
               c->state == LD_ST_READY) {
        on_publish(&fo.sub[c->idx], b0 & 15, p, rem, now);
    } else if (type == LD_PUBACK && c->is_pub && ld_opt.qos == 1 &&
               rem == 2) {
        uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
        if (!(fo.id_used[id >> 3] & (1u << (id & 7)))) {
            ld_conn_fail(c, "PUBACK for a packet id not in flight");
            return;
        }
        fo.id_used[id >> 3] &= (uint8_t)~(1u << (id & 7));
        fo.inflight--;
    } else if (type != LD_PINGRESP) {
        char what[64];
        snprintf(what, sizeof(what), "unexpected packet 0x%02x (%zu bytes)",
                 b0, rem);
        ld_conn_fail(c, what);
    }
}

/* ---- publishing --------------------------------------------------------- */

/* closed loop: the first subscriber still connected sets the window */
static const struct ld_fsub *window_sub(void)
{
    while (fo.first_live < ld_opt.fanout &&
           fo.sub[fo.first_live].c.state == LD_ST_DEAD)
        fo.first_live++;
    return fo.first_live < ld_opt.fanout ? &fo.sub[fo.first_live] : NULL;
}

static bool pub_open(void)
{
    const struct ld_fsub *w;

    if (fo.pub.state != LD_ST_READY || fo.next_seq >= ld_opt.total)
        return false;
    if (ld_opt.qos && fo.inflight >= ld_opt.window)
        return false;
    if (fo.pub.tx.tail - fo.pub.tx.head >= LD_TX_BACKLOG)
        return false;
    if (ld_opt.rate > 0)
        return true;
    w = window_sub();
    return w == NULL || fo.next_seq - w->high < ld_opt.window;
}

static uint64_t pump(uint64_t now)
{
    bool any = false;

    while (pub_open()) {
        if (ld_opt.rate > 0) {
            if (fo.due_ns > now)
                break;
            queue_publish(fo.due_ns);
            fo.due_ns += fo.interval_ns;
        } else {
            queue_publish(ld_now_ns());
        }
        any = true;
    }
    if (any)
        ld_conn_flush(&fo.pub);
    return ld_opt.rate > 0 && pub_open() ? fo.due_ns : UINT64_MAX;
}

/* ---- the loop's view ------------------------------------------------------ */

static bool all_ready(void)
{
    if (fo.pub.state != LD_ST_READY)
        return false;
    for (uint32_t i = 0; i < ld_opt.fanout; i++)
        if (fo.sub[i].c.state != LD_ST_READY)
            return false;
    return true;
}

static void start(uint64_t now)
{
    fo.due_ns = now;
}

static bool all_sent(void)
{
    return fo.pub.state == LD_ST_DEAD ||
           (fo.next_seq >= ld_opt.total && fo.inflight == 0 &&
            fo.pub.tx.head == fo.pub.tx.tail);
}

static bool all_received(void)
{
    for (uint32_t i = 0; i < ld_opt.fanout; i++)
        if (fo.sub[i].c.state != LD_ST_DEAD && fo.sub[i].uniq < fo.next_seq)
            return false;
    return true;
}

static void after_events(void)
{
    for (uint32_t i = 0; i < fo.ndirty; i++) {
        fo.dirty[i]->dirty = false;
        ld_conn_flush(&fo.dirty[i]->c);
    }
    fo.ndirty = 0;
}

static uint64_t last_recv(void)
{
    return fo.last_any_recv;
}

static const struct ld_loop_ops loop_ops = {
    .all_ready = all_ready,
    .start = start,
    .pump = pump,
    .all_sent = all_sent,
    .all_received = all_received,
    .after_events = after_events,
    .last_recv = last_recv,
};

static const struct ld_proto proto = {
    .on_frame = on_frame,
    .name = name,
};

/* ---- set-up and report ----------------------------------------------------- */

static int setup(void)
{
    char id[LD_ID_MAX];

    if (ld_nofile((uint64_t)ld_opt.fanout + 1 + LD_FD_SPARE) < 0 ||
        ld_io_init(&proto) < 0)
        return -1;
    fo.hist = ld_hist_new();
    fo.sub = calloc(ld_opt.fanout, sizeof(*fo.sub));
    fo.dirty = calloc(ld_opt.fanout, sizeof(*fo.dirty));
    fo.pad = malloc(ld_opt.size);
    if (fo.sub == NULL || fo.dirty == NULL || fo.pad == NULL) {
        perror("pt-mqtt-load: set-up");
        return -1;
    }
    memset(fo.pad, 0x5a, ld_opt.size);
    if (ld_opt.rate > 0)
        fo.interval_ns = (uint64_t)(1e9 / ld_opt.rate);
    fo.next_id = 1;
    fo.topic_len = (uint16_t)snprintf(fo.topic, sizeof(fo.topic),
                                      "load/%s/fan", ld_io.run_id);
    for (uint32_t i = 0; i < ld_opt.fanout; i++) {
        fo.sub[i].seen = calloc(ld_opt.total / 8 + 1, 1);
        if (fo.sub[i].seen == NULL) {
            fprintf(stderr, "pt-mqtt-load: no memory for subscriber %u's "
                    "bitmap (%" PRIu64 " bytes each)\n", i,
                    ld_opt.total / 8 + 1);
            return -1;
        }
        snprintf(id, sizeof(id), "ld%sf%u", ld_io.run_id, i);
        if (ld_conn_open(&fo.sub[i].c, i, false, id) < 0)
            return -1;
    }
    snprintf(id, sizeof(id), "ld%sF", ld_io.run_id);
    return ld_conn_open(&fo.pub, 0, true, id);
}

struct totals {
    uint64_t expected, lost, dups, ooo, subs_lost;
    uint32_t short_subs;        /* subscribers missing something */
};

static struct totals totals(void)
{
    struct totals t = { .expected = fo.next_seq * ld_opt.fanout };

    for (uint32_t i = 0; i < ld_opt.fanout; i++) {
        const struct ld_fsub *s = &fo.sub[i];
        uint64_t l = s->uniq < fo.next_seq ? fo.next_seq - s->uniq : 0;
        t.lost += l;
        t.short_subs += l > 0;
        t.dups += s->dups;
        t.ooo += s->ooo;
        t.subs_lost += s->c.state == LD_ST_DEAD;
    }
    return t;
}

static void report(bool timed_out, int rc, const struct totals *t)
{
    double el = 0.0, rate = 0.0, prate = 0.0;
    const struct pb_hist *h = fo.hist;

    if (fo.measured_rcvd && fo.last_recv > fo.first_send) {
        el = (double)(fo.last_recv - fo.first_send) * 1e-9;
        rate = (double)fo.measured_rcvd / el;
        prate = (double)fo.measured_sent / el;
    }
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
               fo.next_seq, t->expected, fo.delivered, t->lost, t->dups,
               t->ooo, t->short_subs, t->subs_lost, fo.measured_rcvd, el,
               rate, prate);
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
               "  errors %" PRIu64 "%s\n", fo.next_seq, fo.delivered,
               t->expected, t->lost, t->short_subs, t->dups, t->ooo,
               t->subs_lost, ld_io.errors, timed_out ? "  TIMED OUT" : "");
        printf("measured %" PRIu64 " deliveries in %.3f s: %.0f msgs/s "
               "(%.0f publishes/s)\n", fo.measured_rcvd, el, rate, prate);
        printf("latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
               "max %.1f\n", ld_hist_us(h, 50), ld_hist_us(h, 90),
               ld_hist_us(h, 99), ld_hist_us(h, 99.9),
               (double)pb_hist_max(h) * 1e-3);
    }
}

int ld_fanout_run(void)
{
    struct totals t;
    bool timed_out;
    int rc = 0;

    if (setup() < 0)
        return 2;
    timed_out = ld_loop(&loop_ops, ld_opt.rate > 0);
    if (ld_io.setup_failed) {
        fprintf(stderr, "pt-mqtt-load: set-up failed\n");
        return 2;
    }
    if (timed_out && fo.next_seq == 0) {
        fprintf(stderr, "pt-mqtt-load: timed out during set-up\n");
        return 2;
    }
    t = totals();
    if (ld_io.errors || t.subs_lost || (ld_opt.qos == 1 && t.lost) ||
        (timed_out && fo.next_seq < ld_opt.total))
        rc = 1;
    report(timed_out, rc, &t);
    for (uint32_t i = 0; i < ld_opt.fanout; i++)
        ld_conn_close(&fo.sub[i].c);
    ld_conn_close(&fo.pub);
    return rc;
}
