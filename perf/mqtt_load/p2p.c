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
 * subscriber's delivery; open loop sends on a fixed schedule.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "load.h"

struct ld_pair {
    struct ld_conn sub, pub;
    char topic[LD_TOPIC_MAX];
    uint16_t topic_len;
    /* publisher side */
    uint64_t next_seq;          /* next sequence number to send */
    uint64_t due_ns;            /* --rate: when next_seq is due */
    uint32_t inflight;          /* QoS 1: PUBLISHes not yet acked */
    uint16_t next_id;
    uint8_t id_used[8192];      /* QoS 1: packet ids in flight */
    /* subscriber side */
    uint8_t *seen;              /* one bit per sequence number */
    uint64_t high;              /* highest sequence received + 1 */
    uint64_t uniq, dups, ooo;
};

static struct {
    struct ld_pair *pair;
    uint8_t *pad;
    uint64_t interval_ns;       /* --rate: per-publisher send interval */
    uint64_t sent, measured_sent, measured_rcvd;
    uint64_t first_send, last_recv, last_any_recv;
    uint64_t lat_sum;           /* exact mean */
    struct pb_hist *hist;
} p2p;

static void name(const struct ld_conn *c, char *buf, size_t len)
{
    snprintf(buf, len, "pair %u %s", c->idx,
             c->is_pub ? "publisher" : "subscriber");
}

/* one PUBLISH of pair pr's next sequence number, stamped with ts */
static void queue_publish(struct ld_pair *pr, uint64_t ts)
{
    struct ld_conn *c = &pr->pub;
    uint8_t *p = ld_buf_reserve(&c->tx, 9u + pr->topic_len + ld_opt.size);
    uint64_t seq = pr->next_seq++;
    uint16_t id = 0;
    size_t n;

    if (ld_opt.qos) {
        id = pr->next_id;
        while (id == 0 || pr->id_used[id >> 3] & (1u << (id & 7)))
            id++;
        pr->next_id = (uint16_t)(id + 1);
        pr->id_used[id >> 3] |= (uint8_t)(1u << (id & 7));
        pr->inflight++;
    }
    n = ld_put_publish_head(p, pr->topic, pr->topic_len, ld_opt.qos, id,
                            ld_opt.size);
    memcpy(p + n, &ts, 8);
    memcpy(p + n + 8, &seq, 8);
    memcpy(p + n + 16, &c->idx, 4);
    memcpy(p + n + LD_HDR, p2p.pad, ld_opt.size - LD_HDR);
    c->tx.tail += n + ld_opt.size;
    p2p.sent++;
    if (seq >= ld_opt.warmup) {
        if (p2p.measured_sent++ == 0)
            p2p.first_send = ts;
    }
}

/* ---- receiving ---------------------------------------------------------- */

static void on_publish(struct ld_conn *c, uint8_t flags, const uint8_t *p,
                       size_t rem, uint64_t now)
{
    struct ld_pair *pr = &p2p.pair[c->idx];
    struct ld_publish m;
    uint64_t ts, seq;
    uint32_t pair;

    if (ld_parse_publish(flags, p, rem, &m) < 0) {
        ld_conn_fail(c, "malformed PUBLISH");
        return;
    }
    if (m.qos)
        c->tx.tail += ld_put_puback(ld_buf_reserve(&c->tx, 4), m.id);
    if (m.topic_len != pr->topic_len ||
        memcmp(m.topic, pr->topic, m.topic_len) != 0 ||
        m.payload_len != ld_opt.size) {
        fprintf(stderr, "pt-mqtt-load: pair %u: unexpected topic or "
                "payload size\n", c->idx);
        ld_io.errors++;
        return;
    }
    memcpy(&ts, m.payload, 8);
    memcpy(&seq, m.payload + 8, 8);
    memcpy(&pair, m.payload + 16, 4);
    if (pair != c->idx || seq >= ld_opt.total) {
        fprintf(stderr, "pt-mqtt-load: pair %u: foreign payload\n", c->idx);
        ld_io.errors++;
        return;
    }
    if (pr->seen[seq >> 3] & (1u << (seq & 7))) {
        pr->dups++;
        return;
    }
    pr->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
    pr->uniq++;
    if (seq + 1 < pr->high)
        pr->ooo++;
    else
        pr->high = seq + 1;
    p2p.last_any_recv = now;
    if (seq >= ld_opt.warmup) {
        uint64_t lat = now > ts ? now - ts : 0;
        p2p.measured_rcvd++;
        p2p.last_recv = now;
        p2p.lat_sum += lat;
        pb_hist_record(p2p.hist, lat);
    }
}

static void on_frame(struct ld_conn *c, uint8_t b0, const uint8_t *p,
                     size_t rem, uint64_t now)
{
    struct ld_pair *pr = &p2p.pair[c->idx];
    unsigned type = b0 >> 4;

    if (type == LD_CONNACK && c->state == LD_ST_CONNACK && rem == 2) {
        if (p[1] != 0) {
            ld_conn_fail(c, "CONNACK refused the connection");
        } else if (c->is_pub) {
            c->state = LD_ST_READY;
        } else {
            c->tx.tail += ld_put_subscribe(
                ld_buf_reserve(&c->tx, 16 + pr->topic_len), pr->topic,
                pr->topic_len, ld_opt.qos);
            c->state = LD_ST_SUBACK;
        }
    } else if (type == LD_SUBACK && c->state == LD_ST_SUBACK && rem == 3) {
        if (p[2] > 1)
            ld_conn_fail(c, "SUBACK refused the subscription");
        else
            c->state = LD_ST_READY;
    } else if (type == LD_PUBLISH && !c->is_pub &&
               c->state == LD_ST_READY) {
        on_publish(c, b0 & 15, p, rem, now);
    } else if (type == LD_PUBACK && c->is_pub && ld_opt.qos == 1 &&
               rem == 2) {
        uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
        if (!(pr->id_used[id >> 3] & (1u << (id & 7)))) {
            ld_conn_fail(c, "PUBACK for a packet id not in flight");
            return;
        }
        pr->id_used[id >> 3] &= (uint8_t)~(1u << (id & 7));
        pr->inflight--;
    } else if (type != LD_PINGRESP) {
        char what[64];
        snprintf(what, sizeof(what), "unexpected packet 0x%02x (%zu bytes)",
                 b0, rem);
        ld_conn_fail(c, what);
    }
}

/* ---- publishing --------------------------------------------------------- */

static bool pub_open(const struct ld_pair *pr)
{
    if (pr->pub.state != LD_ST_READY || pr->next_seq >= ld_opt.total)
        return false;
    if (ld_opt.qos && pr->inflight >= ld_opt.window)
        return false;
    if (pr->pub.tx.tail - pr->pub.tx.head >= LD_TX_BACKLOG)
        return false;
    return ld_opt.rate > 0 || pr->next_seq - pr->high < ld_opt.window;
}

/* send what each publisher may; returns the earliest future due time */
static uint64_t pump(uint64_t now)
{
    uint64_t next = UINT64_MAX;

    for (uint32_t i = 0; i < ld_opt.pairs; i++) {
        struct ld_pair *pr = &p2p.pair[i];
        bool any = false;

        while (pub_open(pr)) {
            if (ld_opt.rate > 0) {
                if (pr->due_ns > now)
                    break;
                queue_publish(pr, pr->due_ns);
                pr->due_ns += p2p.interval_ns;
            } else {
                queue_publish(pr, ld_now_ns());
            }
            any = true;
        }
        if (ld_opt.rate > 0 && pub_open(pr) && pr->due_ns < next)
            next = pr->due_ns;
        if (any)
            ld_conn_flush(&pr->pub);
    }
    return next;
}

static bool pub_done(const struct ld_pair *pr)
{
    return pr->pub.state == LD_ST_DEAD ||
           (pr->next_seq >= ld_opt.total && pr->inflight == 0 &&
            pr->pub.tx.head == pr->pub.tx.tail);
}

/* ---- the loop's view ------------------------------------------------------ */

static bool all_ready(void)
{
    for (uint32_t i = 0; i < ld_opt.pairs; i++)
        if (p2p.pair[i].sub.state != LD_ST_READY ||
            p2p.pair[i].pub.state != LD_ST_READY)
            return false;
    return true;
}

static void start(uint64_t now)
{
    for (uint32_t i = 0; i < ld_opt.pairs; i++)
        p2p.pair[i].due_ns = now + i * p2p.interval_ns / ld_opt.pairs;
}

static bool all_sent(void)
{
    for (uint32_t i = 0; i < ld_opt.pairs; i++)
        if (!pub_done(&p2p.pair[i]))
            return false;
    return true;
}

static bool all_received(void)
{
    for (uint32_t i = 0; i < ld_opt.pairs; i++)
        if (p2p.pair[i].sub.state != LD_ST_DEAD &&
            p2p.pair[i].uniq < p2p.pair[i].next_seq)
            return false;
    return true;
}

static void after_events(void)
{
    for (uint32_t i = 0; i < ld_opt.pairs; i++)   /* PUBACKs from subs */
        if (p2p.pair[i].sub.tx.head != p2p.pair[i].sub.tx.tail)
            ld_conn_flush(&p2p.pair[i].sub);
}

static uint64_t last_recv(void)
{
    return p2p.last_any_recv;
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
    if (ld_nofile(2 * (uint64_t)ld_opt.pairs + 64) < 0 ||
        ld_io_init(&proto) < 0)
        return -1;
    p2p.hist = ld_hist_new();
    p2p.pair = calloc(ld_opt.pairs, sizeof(*p2p.pair));
    p2p.pad = malloc(ld_opt.size);
    if (p2p.pair == NULL || p2p.pad == NULL) {
        perror("pt-mqtt-load: set-up");
        return -1;
    }
    if (ld_opt.rate > 0)
        p2p.interval_ns = (uint64_t)(1e9 * ld_opt.pairs / ld_opt.rate);
    memset(p2p.pad, 0x5a, ld_opt.size);
    for (uint32_t i = 0; i < ld_opt.pairs; i++) {
        struct ld_pair *pr = &p2p.pair[i];
        char id[LD_ID_MAX];

        pr->topic_len = (uint16_t)snprintf(pr->topic, sizeof(pr->topic),
                                           "load/%s/%u", ld_io.run_id, i);
        pr->next_id = 1;
        pr->seen = calloc(ld_opt.total / 8 + 1, 1);
        if (pr->seen == NULL) {
            perror("pt-mqtt-load: calloc");
            return -1;
        }
        snprintf(id, sizeof(id), "ld%ss%u", ld_io.run_id, i);
        if (ld_conn_open(&pr->sub, i, false, id) < 0)
            return -1;
        snprintf(id, sizeof(id), "ld%sp%u", ld_io.run_id, i);
        if (ld_conn_open(&pr->pub, i, true, id) < 0)
            return -1;
    }
    return 0;
}

static uint64_t pair_lost(const struct ld_pair *pr)
{
    return pr->uniq < pr->next_seq ? pr->next_seq - pr->uniq : 0;
}

static void report(bool timed_out, int rc)
{
    uint64_t rcvd = 0, lost = 0, dups = 0, ooo = 0, cnt;
    double el = 0.0, rate = 0.0;
    const struct pb_hist *h = p2p.hist;

    for (uint32_t i = 0; i < ld_opt.pairs; i++) {
        const struct ld_pair *pr = &p2p.pair[i];
        rcvd += pr->uniq;
        lost += pair_lost(pr);
        dups += pr->dups;
        ooo += pr->ooo;
    }
    if (p2p.measured_rcvd && p2p.last_recv > p2p.first_send) {
        el = (double)(p2p.last_recv - p2p.first_send) * 1e-9;
        rate = (double)p2p.measured_rcvd / el;
    }
    cnt = pb_hist_count(h);
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
               ld_opt.size, ld_opt.window, ld_opt.rate, p2p.sent, rcvd, lost,
               dups, ooo, p2p.measured_rcvd, el, rate,
               ld_hist_us(h, 50), ld_hist_us(h, 90), ld_hist_us(h, 99),
               ld_hist_us(h, 99.9), (double)pb_hist_max(h) * 1e-3,
               cnt ? (double)p2p.lat_sum / (double)cnt * 1e-3 : 0.0,
               ld_io.errors, timed_out ? "true" : "false", rc);
    } else {
        printf("qos %u, %u pairs x (%" PRIu64 " + %" PRIu64 " warm-up) "
               "msgs of %u bytes, %s\n", ld_opt.qos, ld_opt.pairs,
               ld_opt.msgs, ld_opt.warmup, ld_opt.size,
               ld_opt.rate > 0 ? "open loop" : "closed loop");
        printf("sent %" PRIu64 "  received %" PRIu64 "  lost %" PRIu64
               "  duplicated %" PRIu64 "  out-of-order %" PRIu64
               "  errors %" PRIu64 "%s\n", p2p.sent, rcvd, lost, dups, ooo,
               ld_io.errors, timed_out ? "  TIMED OUT" : "");
        printf("measured %" PRIu64 " in %.3f s: %.0f msgs/s\n",
               p2p.measured_rcvd, el, rate);
        printf("latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
               "max %.1f\n", ld_hist_us(h, 50), ld_hist_us(h, 90),
               ld_hist_us(h, 99), ld_hist_us(h, 99.9),
               (double)pb_hist_max(h) * 1e-3);
    }
}

static int exit_code(bool timed_out)
{
    uint64_t lost = 0;
    bool unsent = false;

    for (uint32_t i = 0; i < ld_opt.pairs; i++) {
        const struct ld_pair *pr = &p2p.pair[i];
        lost += pair_lost(pr);
        unsent |= pr->next_seq < ld_opt.total;
    }
    if (ld_io.setup_failed)
        return 2;
    if (ld_io.errors || (ld_opt.qos == 1 && lost) || (timed_out && unsent))
        return 1;
    return 0;
}

int ld_p2p_run(void)
{
    bool timed_out;
    int rc;

    if (setup() < 0)
        return 2;
    timed_out = ld_loop(&loop_ops, ld_opt.rate > 0);
    if (ld_io.setup_failed) {
        fprintf(stderr, "pt-mqtt-load: set-up failed\n");
        return 2;
    }
    if (timed_out && p2p.sent == 0) {
        fprintf(stderr, "pt-mqtt-load: timed out during set-up\n");
        return 2;
    }
    rc = exit_code(timed_out);
    report(timed_out, rc);
    for (uint32_t i = 0; i < ld_opt.pairs; i++) {   /* DISCONNECT */
        ld_conn_close(&p2p.pair[i].sub);
        ld_conn_close(&p2p.pair[i].pub);
    }
    return rc;
}
