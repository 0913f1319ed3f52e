// SPDX-License-Identifier: BSD-3-Clause
/*
 * What p2p and fanout share: publishers and subscribers (struct ld_pub,
 * struct ld_sub in ld_ps), their frames, pacing, counting and the event
 * loop. A mode only lays out who subscribes to whom (ld_ps_init,
 * ld_ps_open_sub, ld_ps_open_pub), names its connections and prints its
 * report; ld_ps_run does the rest.
 *
 * A publisher's subscribers are a contiguous range of ld_ps.sub (p2p: one
 * each; fanout: all of them). Its payloads carry its index as the group
 * (p2p: the pair; fanout: 0); a subscriber checks topic, size, group and
 * sequence number, counts first deliveries (a bit per sequence number),
 * duplicates and out-of-order ones, and acknowledges QoS 1.
 *
 * Pacing. Closed loop: at most --window messages between a publisher's
 * send and their delivery to its first subscriber still connected (by
 * sequence number), and at QoS 1 at most --window unacknowledged
 * PUBLISHes. Open loop (--rate R in total): each of N publishers sends on
 * a fixed schedule every N / R s, the publishers' schedules staggered
 * evenly, stamped with the scheduled time; only the QoS 1 window and the
 * 4 MiB send backlog hold a publisher back.
 *
 * The loop's phases:
 *
 *   SETUP --all_ready--> RUN --all_sent--> DRAIN --all_received or idle--> END
 *     any phase --deadline (--timeout)--> END (timed out)
 *     any phase --ld_io.setup_failed--> END
 *
 * SETUP: connections connect, CONNACK, subscribe. RUN: pump() sends what
 * the pacing allows and says when the next send is due (open loop: a
 * timerfd wakes the loop then). DRAIN: wait until every message sent has
 * arrived, or LD_DRAIN_NS after the later of the last delivery and the
 * start of the drain. Every epoll wait is at most 100 ms. It is not a
 * scheduler: one thread, level-triggered epoll, no priorities. Bytes a
 * subscriber queues (SUBSCRIBE, PUBACKs) go out after each batch of
 * events, through a list of the subscribers that have some.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"
#include "load.h"

struct ld_ps ld_ps;

enum ld_phase { PH_SETUP, PH_RUN, PH_DRAIN, PH_END };

/* ---- set-up ----------------------------------------------------------------- */

int ld_ps_init(uint32_t npub, uint32_t nsub, uint64_t nofile,
               const struct ld_proto *proto)
{
    if (ld_nofile(nofile) < 0 || ld_io_init(proto) < 0)
        return -1;
    ld_ps.hist = ld_hist_new();
    ld_ps.npub = npub;
    ld_ps.nsub = nsub;
    ld_ps.pub = calloc(npub, sizeof(*ld_ps.pub));
    ld_ps.sub = calloc(nsub, sizeof(*ld_ps.sub));
    ld_ps.dirty = calloc(nsub, sizeof(*ld_ps.dirty));
    ld_ps.pad = malloc(ld_opt.size);
    if (ld_ps.pub == NULL || ld_ps.sub == NULL || ld_ps.dirty == NULL ||
        ld_ps.pad == NULL) {
        perror("pt-mqtt-load: set-up");
        return -1;
    }
    memset(ld_ps.pad, 0x5a, ld_opt.size);
    if (ld_opt.rate > 0)
        ld_ps.interval_ns = (uint64_t)(1e9 * npub / ld_opt.rate);
    return 0;
}

int ld_ps_open_sub(uint32_t i, struct ld_pub *from, const char *id)
{
    struct ld_sub *s = &ld_ps.sub[i];

    if (from->sub_end == from->sub_first) {
        from->sub_first = i;
        from->first_live = i;
    }
    from->sub_end = i + 1;
    s->from = from;
    s->seen = calloc(ld_opt.total / 8 + 1, 1);
    if (s->seen == NULL) {
        fprintf(stderr, "pt-mqtt-load: no memory for subscriber %u's "
                "bitmap (%" PRIu64 " bytes each)\n", i,
                ld_opt.total / 8 + 1);
        return -1;
    }
    return ld_conn_open(&s->c, i, false, id);
}

int ld_ps_open_pub(uint32_t i, const char *id)
{
    ld_ps.pub[i].next_id = 1;
    return ld_conn_open(&ld_ps.pub[i].c, i, true, id);
}

/* ---- publishing --------------------------------------------------------- */

/* one PUBLISH of p's next sequence number, stamped with ts */
static void queue_publish(struct ld_pub *p, uint64_t ts)
{
    struct ld_conn *c = &p->c;
    uint8_t *b = ld_buf_reserve(&c->tx, 9u + p->topic_len + ld_opt.size);
    uint64_t seq = p->next_seq++;
    uint16_t id = 0;
    size_t n;

    if (ld_opt.qos) {
        id = p->next_id;
        while (id == 0 || p->id_used[id >> 3] & (1u << (id & 7)))
            id++;
        p->next_id = (uint16_t)(id + 1);
        p->id_used[id >> 3] |= (uint8_t)(1u << (id & 7));
        p->inflight++;
    }
    n = ld_put_publish_head(b, p->topic, p->topic_len, ld_opt.qos, id,
                            ld_opt.size);
    memcpy(b + n, &ts, 8);
    memcpy(b + n + 8, &seq, 8);
    memcpy(b + n + 16, &c->idx, 4);             /* the group */
    memcpy(b + n + LD_HDR, ld_ps.pad, ld_opt.size - LD_HDR);
    c->tx.tail += n + ld_opt.size;
    ld_ps.sent++;
    if (seq >= ld_opt.warmup && ld_ps.measured_sent++ == 0)
        ld_ps.first_send = ts;
}

/* closed loop: p's first subscriber still connected sets the window */
static const struct ld_sub *window_sub(struct ld_pub *p)
{
    while (p->first_live < p->sub_end &&
           ld_ps.sub[p->first_live].c.state == LD_ST_DEAD)
        p->first_live++;
    return p->first_live < p->sub_end ? &ld_ps.sub[p->first_live] : NULL;
}

static bool pub_open(struct ld_pub *p)
{
    const struct ld_sub *w;

    if (p->c.state != LD_ST_READY || p->next_seq >= ld_opt.total)
        return false;
    if (ld_opt.qos && p->inflight >= ld_opt.window)
        return false;
    if (p->c.tx.tail - p->c.tx.head >= LD_TX_BACKLOG)
        return false;
    if (ld_opt.rate > 0)
        return true;
    w = window_sub(p);
    return w == NULL || p->next_seq - w->high < ld_opt.window;
}

/* send what each publisher may; returns the earliest future due time */
static uint64_t pump(uint64_t now)
{
    uint64_t next = UINT64_MAX;

    for (uint32_t i = 0; i < ld_ps.npub; i++) {
        struct ld_pub *p = &ld_ps.pub[i];
        bool any = false;

        while (pub_open(p)) {
            if (ld_opt.rate > 0) {
                if (p->due_ns > now)
                    break;
                queue_publish(p, p->due_ns);
                p->due_ns += ld_ps.interval_ns;
            } else {
                queue_publish(p, ld_now_ns());
            }
            any = true;
        }
        if (any)
            ld_conn_flush(&p->c);
        if (ld_opt.rate > 0 && pub_open(p) && p->due_ns < next)
            next = p->due_ns;
    }
    return next;
}

/* ---- receiving ---------------------------------------------------------- */

/* queued bytes go out after this batch of events (flush_dirty) */
static void mark_dirty(struct ld_sub *s)
{
    if (!s->dirty) {
        s->dirty = true;
        ld_ps.dirty[ld_ps.ndirty++] = s;
    }
}

static void flush_dirty(void)
{
    for (uint32_t i = 0; i < ld_ps.ndirty; i++) {
        ld_ps.dirty[i]->dirty = false;
        ld_conn_flush(&ld_ps.dirty[i]->c);
    }
    ld_ps.ndirty = 0;
}

static void bad_publish(struct ld_sub *s, const char *what)
{
    char who[48];

    ld_io.proto->name(&s->c, who, sizeof(who));
    fprintf(stderr, "pt-mqtt-load: %s: %s\n", who, what);
    ld_io.errors++;
}

static void on_publish(struct ld_sub *s, uint8_t flags, const uint8_t *p,
                       size_t rem, uint64_t now)
{
    const struct ld_pub *from = s->from;
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
    if (m.topic_len != from->topic_len ||
        memcmp(m.topic, from->topic, m.topic_len) != 0 ||
        m.payload_len != ld_opt.size) {
        bad_publish(s, "unexpected topic or payload size");
        return;
    }
    memcpy(&ts, m.payload, 8);
    memcpy(&seq, m.payload + 8, 8);
    memcpy(&group, m.payload + 16, 4);
    if (group != from->c.idx || seq >= ld_opt.total) {
        bad_publish(s, "foreign payload");
        return;
    }
    if (s->seen[seq >> 3] & (1u << (seq & 7))) {
        s->dups++;
        return;
    }
    s->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
    s->uniq++;
    ld_ps.delivered++;
    if (seq + 1 < s->high)
        s->ooo++;
    else
        s->high = seq + 1;
    ld_ps.last_any_recv = now;
    if (seq >= ld_opt.warmup) {
        uint64_t lat = now > ts ? now - ts : 0;
        ld_ps.measured_rcvd++;
        ld_ps.last_recv = now;
        ld_ps.lat_sum += lat;
        pb_hist_record(ld_ps.hist, lat);
    }
}

void ld_ps_frame(struct ld_conn *c, uint8_t b0, const uint8_t *p,
                 size_t rem, uint64_t now)
{
    struct ld_pub *pub = c->is_pub ? &ld_ps.pub[c->idx] : NULL;
    struct ld_sub *sub = c->is_pub ? NULL : &ld_ps.sub[c->idx];
    unsigned type = b0 >> 4;

    if (type == LD_CONNACK && c->state == LD_ST_CONNACK && rem == 2) {
        if (p[1] != 0) {
            ld_conn_fail(c, "CONNACK refused the connection");
        } else if (pub != NULL) {
            c->state = LD_ST_READY;
        } else {
            const struct ld_pub *from = sub->from;
            c->tx.tail += ld_put_subscribe(
                ld_buf_reserve(&c->tx, 16 + from->topic_len), from->topic,
                from->topic_len, ld_opt.qos);
            c->state = LD_ST_SUBACK;
            mark_dirty(sub);
        }
    } else if (type == LD_SUBACK && c->state == LD_ST_SUBACK && rem == 3) {
        if (p[2] > 1)
            ld_conn_fail(c, "SUBACK refused the subscription");
        else
            c->state = LD_ST_READY;
    } else if (type == LD_PUBLISH && sub != NULL &&
               c->state == LD_ST_READY) {
        on_publish(sub, b0 & 15, p, rem, now);
    } else if (type == LD_PUBACK && pub != NULL && ld_opt.qos == 1 &&
               rem == 2) {
        uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
        if (!(pub->id_used[id >> 3] & (1u << (id & 7)))) {
            ld_conn_fail(c, "PUBACK for a packet id not in flight");
            return;
        }
        pub->id_used[id >> 3] &= (uint8_t)~(1u << (id & 7));
        pub->inflight--;
    } else if (type != LD_PINGRESP) {
        char what[64];
        snprintf(what, sizeof(what), "unexpected packet 0x%02x (%zu bytes)",
                 b0, rem);
        ld_conn_fail(c, what);
    }
}

/* ---- the loop ------------------------------------------------------------- */

static bool all_ready(void)
{
    for (uint32_t i = 0; i < ld_ps.npub; i++)
        if (ld_ps.pub[i].c.state != LD_ST_READY)
            return false;
    for (uint32_t i = 0; i < ld_ps.nsub; i++)
        if (ld_ps.sub[i].c.state != LD_ST_READY)
            return false;
    return true;
}

static void start(uint64_t now)
{
    for (uint32_t i = 0; i < ld_ps.npub; i++)
        ld_ps.pub[i].due_ns = now + i * ld_ps.interval_ns / ld_ps.npub;
}

static bool all_sent(void)
{
    for (uint32_t i = 0; i < ld_ps.npub; i++) {
        const struct ld_pub *p = &ld_ps.pub[i];
        if (p->c.state != LD_ST_DEAD &&
            (p->next_seq < ld_opt.total || p->inflight != 0 ||
             p->c.tx.head != p->c.tx.tail))
            return false;
    }
    return true;
}

static bool all_received(void)
{
    for (uint32_t i = 0; i < ld_ps.nsub; i++) {
        const struct ld_sub *s = &ld_ps.sub[i];
        if (s->c.state != LD_ST_DEAD && s->uniq < s->from->next_seq)
            return false;
    }
    return true;
}

/* Run until everything arrived, the drain went idle or --timeout.
 * @return true when it ended by --timeout; early when set-up failed. */
static bool loop(void)
{
    struct epoll_event evs[256];
    bool paced = ld_opt.rate > 0;
    uint64_t start_ns = ld_now_ns();
    uint64_t deadline = start_ns + (uint64_t)(ld_opt.timeout * 1e9);
    uint64_t drain_from = 0, armed = 0;
    enum ld_phase ph = PH_SETUP;
    int tfd = -1;

    if (paced) {
        struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (tfd < 0 || epoll_ctl(ld_io.ep, EPOLL_CTL_ADD, tfd, &tev) < 0) {
            perror("pt-mqtt-load: timerfd");
            ld_io.setup_failed = true;
            return false;
        }
    }
    while (ph != PH_END) {
        uint64_t now = ld_now_ns(), wake = deadline;

        if (now >= deadline)
            return true;
        if (ld_io.setup_failed)
            return false;
        if (ph == PH_SETUP && all_ready()) {
            ph = PH_RUN;
            start(now);
        }
        if (ph == PH_RUN) {
            uint64_t due = pump(now);
            if (due < wake)
                wake = due;
            if (all_sent()) {
                ph = PH_DRAIN;
                drain_from = now;
            }
        }
        if (ph == PH_DRAIN) {
            uint64_t last = ld_ps.last_any_recv;
            uint64_t idle_from = last > drain_from ? last : drain_from;
            if (all_received() || now >= idle_from + LD_DRAIN_NS)
                break;
            if (idle_from + LD_DRAIN_NS < wake)
                wake = idle_from + LD_DRAIN_NS;
        }
        if (paced && wake != armed && wake < deadline) {
            struct itimerspec its = {
                .it_value = { .tv_sec = (time_t)(wake / 1000000000ull),
                              .tv_nsec = (long)(wake % 1000000000ull) },
            };
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            armed = wake;
        }
        uint64_t ms = (wake - now + 999999) / 1000000;
        int n = epoll_wait(ld_io.ep, evs, 256, ms > 100 ? 100 : (int)ms);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) < 0)
                    (void)0;            /* spurious: nothing to consume */
                armed = 0;
                continue;
            }
            ld_conn_event(evs[i].data.ptr, evs[i].events);
        }
        flush_dirty();
    }
    return false;
}

/* ---- the end ---------------------------------------------------------------- */

static struct ld_totals totals(void)
{
    struct ld_totals t = { 0 };

    for (uint32_t i = 0; i < ld_ps.npub; i++)
        t.unsent |= ld_ps.pub[i].next_seq < ld_opt.total;
    for (uint32_t i = 0; i < ld_ps.nsub; i++) {
        const struct ld_sub *s = &ld_ps.sub[i];
        uint64_t sent = s->from->next_seq;
        uint64_t l = s->uniq < sent ? sent - s->uniq : 0;
        t.expected += sent;
        t.lost += l;
        t.short_subs += l > 0;
        t.dups += s->dups;
        t.ooo += s->ooo;
        t.subs_lost += s->c.state == LD_ST_DEAD;
    }
    if (ld_ps.measured_rcvd && ld_ps.last_recv > ld_ps.first_send) {
        t.elapsed = (double)(ld_ps.last_recv - ld_ps.first_send) * 1e-9;
        t.rate = (double)ld_ps.measured_rcvd / t.elapsed;
        t.prate = (double)ld_ps.measured_sent / t.elapsed;
    }
    return t;
}

int ld_ps_run(int (*setup)(void),
              void (*report)(bool timed_out, int rc,
                             const struct ld_totals *t))
{
    struct ld_totals t;
    bool timed_out;
    int rc = 0;

    if (setup() < 0)
        return 2;
    timed_out = loop();
    if (ld_io.setup_failed) {
        fprintf(stderr, "pt-mqtt-load: set-up failed\n");
        return 2;
    }
    if (timed_out && ld_ps.sent == 0) {
        fprintf(stderr, "pt-mqtt-load: timed out during set-up\n");
        return 2;
    }
    t = totals();
    if (ld_io.errors || t.subs_lost || (ld_opt.qos == 1 && t.lost) ||
        (timed_out && t.unsent))
        rc = 1;
    report(timed_out, rc, &t);
    for (uint32_t i = 0; i < ld_ps.nsub; i++)           /* DISCONNECT */
        ld_conn_close(&ld_ps.sub[i].c);
    for (uint32_t i = 0; i < ld_ps.npub; i++)
        ld_conn_close(&ld_ps.pub[i].c);
    return rc;
}
