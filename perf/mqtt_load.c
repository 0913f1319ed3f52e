// SPDX-License-Identifier: BSD-3-Clause
/*
 * pt-mqtt-load: an MQTT 3.1.1 point-to-point load generator over kernel
 * sockets, for comparing brokers (perf/mqtt_ratio.py runs it against
 * mosquitto and petreld).
 *
 * For each of --pairs pairs it opens a subscriber (CONNECT with clean
 * session, SUBSCRIBE to "load/<run-id>/<i>" at --qos, waits for SUBACK)
 * and a publisher; when every connection is ready the publishers send
 * --warmup + --msgs PUBLISHes each. A payload is --size bytes: the send
 * time (CLOCK_MONOTONIC ns), the sequence number and the pair index,
 * native byte order (client and broker run on one host), then padding.
 * Subscribers acknowledge QoS 1 deliveries, check the topic, the payload
 * and per-pair order, and count duplicates, out-of-order deliveries and,
 * at the end, losses.
 *
 * Pacing. Closed loop (default): a publisher keeps at most --window
 * messages between its send and its subscriber's delivery (by sequence
 * number, so a lost QoS 0 message does not close the window), and at QoS 1
 * also at most --window unacknowledged PUBLISHes. Latency is then that of
 * a broker kept busy but not flooded. Open loop (--rate, messages per
 * second in total): each publisher sends on a fixed schedule and stamps
 * the scheduled time, so a broker that falls behind shows it as latency;
 * only the QoS 1 PUBACK window (and a 4 MiB send backlog per connection)
 * holds a publisher back.
 *
 * Measured: the first --warmup messages of each publisher are sent and
 * checked but left out of latency and msgs/s. msgs/s = measured messages
 * received / (first measured send .. last measured receive). Latency goes
 * into a log-linear histogram (128 sub-buckets per power of two, < 0.8%
 * error), not a sample array.
 *
 * Ending: when everything has arrived, or 2 s after the last send with
 * nothing more arriving, or at --timeout. Exit 0; 1 when a QoS 1 message
 * was lost, a connection broke or misbehaved, or time ran out before all
 * was sent; 2 when set-up failed (connect, CONNACK, SUBACK) or bad usage.
 *
 * What it is not: an MQTT client library (no retained messages, no QoS 2,
 * no reconnect, no PINGREQ: keepalive is 60 s and runs are short), nor a
 * fan-out or many-topic benchmark. One thread, one epoll set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LD_HDR          20u             /* payload: ts 8, seq 8, pair 4 */
#define LD_MAX_SIZE     (16u << 20)
#define LD_MAX_PAIRS    10000u
#define LD_BUF_INIT     16384u          /* first allocation of rx and tx */
#define LD_RX_MIN       8192u           /* room made before each recv */
#define LD_TX_BACKLOG   (4u << 20)      /* stop producing above this */
#define LD_DRAIN_NS     2000000000ull
#define LD_TOPIC_MAX    48u

#define HIST_SUB_BITS   7
#define HIST_SUB        (1u << HIST_SUB_BITS)
#define HIST_BUCKETS    ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

/* MQTT control packet types (first byte, high nibble) */
enum { MQ_CONNACK = 2, MQ_PUBLISH = 3, MQ_PUBACK = 4, MQ_SUBACK = 9,
       MQ_PINGRESP = 13 };

enum ld_state {
    ST_CONNECTING,      /* TCP connect in progress, CONNECT queued */
    ST_CONNACK,         /* waiting for CONNACK */
    ST_SUBACK,          /* subscriber: SUBSCRIBE sent */
    ST_READY,
    ST_DEAD,            /* closed; the pair carries on without it */
};

struct ld_buf {
    uint8_t *p;
    size_t head, tail, cap;
};

struct ld_conn {
    int fd;
    bool is_pub;
    bool want_out;              /* EPOLLOUT registered */
    enum ld_state state;
    uint32_t pair;
    struct ld_buf rx, tx;
};

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

struct ld_hist {
    uint64_t count, max, sum;
    uint64_t b[HIST_BUCKETS];
};

static struct {
    struct sockaddr_in addr;
    uint32_t pairs, size, window, qos;
    uint64_t msgs, warmup, total;   /* total = warmup + msgs per pair */
    double rate, timeout;
    bool json;
} opt = {
    .pairs = 1, .size = 64, .window = 32, .msgs = 10000, .warmup = 100,
    .timeout = 60.0,
};

static struct {
    int ep, tfd;
    struct ld_pair *pair;
    uint8_t *pad;
    char run_id[9];
    uint64_t interval_ns;       /* --rate: per-publisher send interval */
    uint64_t sent, measured_sent, measured_rcvd;
    uint64_t first_send, last_recv, last_any_recv;
    uint64_t errors;
    bool setup_failed;
    struct ld_hist hist;
} run;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(struct ld_conn *c, const char *what)
{
    if (c->state == ST_DEAD)
        return;
    fprintf(stderr, "pt-mqtt-load: pair %u %s: %s\n", c->pair,
            c->is_pub ? "publisher" : "subscriber", what);
    if (c->state != ST_READY)
        run.setup_failed = true;
    else
        run.errors++;
    c->state = ST_DEAD;
    epoll_ctl(run.ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

/* ---- histogram ---------------------------------------------------------- */

static void hist_add(struct ld_hist *h, uint64_t v)
{
    unsigned msb = v ? 63u - (unsigned)__builtin_clzll(v) : 0;
    unsigned shift = msb > HIST_SUB_BITS ? msb - HIST_SUB_BITS : 0;

    h->b[shift * HIST_SUB + (v >> shift)]++;
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* upper bound of the bucket holding the q-quantile, capped at the max */
static uint64_t hist_quantile(const struct ld_hist *h, double q)
{
    double x = q * (double)h->count;
    uint64_t want = (uint64_t)x, acc = 0;

    if (h->count == 0)
        return 0;
    if ((double)want < x || want == 0)
        want++;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        acc += h->b[i];
        if (acc >= want) {
            unsigned shift = i < 2 * HIST_SUB ? 0 : i / HIST_SUB - 1;
            uint64_t mant = i - shift * HIST_SUB;
            uint64_t high = ((mant + 1) << shift) - 1;
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}

/* ---- buffers and the wire ---------------------------------------------- */

static uint8_t *buf_reserve(struct ld_buf *b, size_t need)
{
    if (b->head == b->tail)
        b->head = b->tail = 0;
    if (b->cap - b->tail >= need)
        return b->p + b->tail;
    if (b->head > 0) {
        memmove(b->p, b->p + b->head, b->tail - b->head);
        b->tail -= b->head;
        b->head = 0;
    }
    if (b->cap - b->tail < need) {
        size_t cap = b->cap ? b->cap : LD_BUF_INIT;
        while (cap - b->tail < need)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            perror("pt-mqtt-load: realloc");
            exit(2);
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->tail;
}

static size_t put_varint(uint8_t *p, uint32_t v)
{
    size_t n = 0;

    do {
        p[n] = v & 0x7f;
        v >>= 7;
        if (v)
            p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

static size_t put_str(uint8_t *p, const char *s, size_t len)
{
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, s, len);
    return len + 2;
}

static void queue_connect(struct ld_conn *c)
{
    char id[24];
    int idlen = snprintf(id, sizeof(id), "ld%s%c%u", run.run_id,
                         c->is_pub ? 'p' : 's', c->pair);
    uint8_t *p = buf_reserve(&c->tx, 64);
    static const uint8_t vh[] = { 0, 4, 'M', 'Q', 'T', 'T', 4,
                                  0x02 /* clean session */, 0, 60 };
    size_t n = 0;

    p[n++] = 0x10;
    n += put_varint(p + n, (uint32_t)(sizeof(vh) + 2 + (size_t)idlen));
    memcpy(p + n, vh, sizeof(vh));
    n += sizeof(vh);
    n += put_str(p + n, id, (size_t)idlen);
    c->tx.tail += n;
}

static void queue_subscribe(struct ld_conn *c, const struct ld_pair *pr)
{
    uint8_t *p = buf_reserve(&c->tx, 16 + pr->topic_len);
    size_t n = 0;

    p[n++] = 0x82;
    n += put_varint(p + n, 2u + 2u + pr->topic_len + 1u);
    p[n++] = 0;
    p[n++] = 1;                 /* packet id 1 */
    n += put_str(p + n, pr->topic, pr->topic_len);
    p[n++] = (uint8_t)opt.qos;
    c->tx.tail += n;
}

static void queue_puback(struct ld_conn *c, uint16_t id)
{
    uint8_t *p = buf_reserve(&c->tx, 4);

    p[0] = 0x40;
    p[1] = 2;
    p[2] = (uint8_t)(id >> 8);
    p[3] = (uint8_t)id;
    c->tx.tail += 4;
}

/* one PUBLISH of pair pr's next sequence number, stamped with ts */
static void queue_publish(struct ld_pair *pr, uint64_t ts)
{
    struct ld_conn *c = &pr->pub;
    uint32_t rem = 2u + pr->topic_len + (opt.qos ? 2u : 0u) + opt.size;
    uint8_t *p = buf_reserve(&c->tx, 5 + rem);
    uint64_t seq = pr->next_seq++;
    size_t n = 0;

    p[n++] = (uint8_t)(0x30 | (opt.qos << 1));
    n += put_varint(p + n, rem);
    n += put_str(p + n, pr->topic, pr->topic_len);
    if (opt.qos) {
        uint16_t id = pr->next_id;
        while (id == 0 || pr->id_used[id >> 3] & (1u << (id & 7)))
            id++;
        pr->next_id = (uint16_t)(id + 1);
        pr->id_used[id >> 3] |= (uint8_t)(1u << (id & 7));
        pr->inflight++;
        p[n++] = (uint8_t)(id >> 8);
        p[n++] = (uint8_t)id;
    }
    memcpy(p + n, &ts, 8);
    memcpy(p + n + 8, &seq, 8);
    memcpy(p + n + 16, &c->pair, 4);
    memcpy(p + n + LD_HDR, run.pad, opt.size - LD_HDR);
    c->tx.tail += n + opt.size;
    run.sent++;
    if (seq >= opt.warmup) {
        if (run.measured_sent++ == 0)
            run.first_send = ts;
    }
}

static void set_out(struct ld_conn *c, bool want)
{
    struct epoll_event ev = {
        .events = EPOLLIN | (want ? EPOLLOUT : 0u),
        .data.ptr = c,
    };

    if (c->want_out == want)
        return;
    c->want_out = want;
    epoll_ctl(run.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void flush(struct ld_conn *c)
{
    struct ld_buf *b = &c->tx;

    if (c->state == ST_DEAD || c->state == ST_CONNECTING)
        return;
    while (b->head < b->tail) {
        ssize_t n = send(c->fd, b->p + b->head, b->tail - b->head,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            fail(c, strerror(errno));
            return;
        }
        b->head += (size_t)n;
    }
    set_out(c, b->head < b->tail);
}

/* ---- receiving ---------------------------------------------------------- */

static void on_publish(struct ld_conn *c, uint8_t flags, const uint8_t *p,
                       size_t rem, uint64_t now)
{
    struct ld_pair *pr = &run.pair[c->pair];
    unsigned qos = (flags >> 1) & 3;
    size_t tlen, off;
    uint64_t ts, seq;
    uint32_t pair;

    if (rem < 2 || qos > 1) {
        fail(c, "malformed PUBLISH");
        return;
    }
    tlen = (size_t)p[0] << 8 | p[1];
    off = 2 + tlen + (qos ? 2 : 0);
    if (off > rem) {
        fail(c, "malformed PUBLISH");
        return;
    }
    if (qos)
        queue_puback(c, (uint16_t)(p[2 + tlen] << 8 | p[3 + tlen]));
    if (tlen != pr->topic_len || memcmp(p + 2, pr->topic, tlen) != 0 ||
        rem - off != opt.size) {
        fprintf(stderr, "pt-mqtt-load: pair %u: unexpected topic or "
                "payload size\n", c->pair);
        run.errors++;
        return;
    }
    memcpy(&ts, p + off, 8);
    memcpy(&seq, p + off + 8, 8);
    memcpy(&pair, p + off + 16, 4);
    if (pair != c->pair || seq >= opt.total) {
        fprintf(stderr, "pt-mqtt-load: pair %u: foreign payload\n", c->pair);
        run.errors++;
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
    run.last_any_recv = now;
    if (seq >= opt.warmup) {
        run.measured_rcvd++;
        run.last_recv = now;
        hist_add(&run.hist, now > ts ? now - ts : 0);
    }
}

static void on_frame(struct ld_conn *c, uint8_t b0, const uint8_t *p,
                     size_t rem, uint64_t now)
{
    struct ld_pair *pr = &run.pair[c->pair];
    unsigned type = b0 >> 4;

    if (type == MQ_CONNACK && c->state == ST_CONNACK && rem == 2) {
        if (p[1] != 0) {
            fail(c, "CONNACK refused the connection");
        } else if (c->is_pub) {
            c->state = ST_READY;
        } else {
            queue_subscribe(c, pr);
            c->state = ST_SUBACK;
        }
    } else if (type == MQ_SUBACK && c->state == ST_SUBACK && rem == 3) {
        if (p[2] > 1)
            fail(c, "SUBACK refused the subscription");
        else
            c->state = ST_READY;
    } else if (type == MQ_PUBLISH && !c->is_pub && c->state == ST_READY) {
        on_publish(c, b0 & 15, p, rem, now);
    } else if (type == MQ_PUBACK && c->is_pub && opt.qos == 1 && rem == 2) {
        uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
        if (!(pr->id_used[id >> 3] & (1u << (id & 7)))) {
            fail(c, "PUBACK for a packet id not in flight");
            return;
        }
        pr->id_used[id >> 3] &= (uint8_t)~(1u << (id & 7));
        pr->inflight--;
    } else if (type != MQ_PINGRESP) {
        char what[64];
        snprintf(what, sizeof(what), "unexpected packet 0x%02x (%zu bytes)",
                 b0, rem);
        fail(c, what);
    }
}

/* hand each whole frame in rx to on_frame; a partial one waits for more */
static void parse(struct ld_conn *c, uint64_t now)
{
    struct ld_buf *b = &c->rx;

    while (c->state != ST_DEAD && b->tail - b->head >= 2) {
        const uint8_t *p = b->p + b->head;
        size_t avail = b->tail - b->head, hdr = 1;
        uint32_t rem = 0;
        unsigned shift = 0;

        for (;;) {
            if (hdr >= avail)
                return;                         /* length not all here */
            rem |= (uint32_t)(p[hdr] & 0x7f) << shift;
            if (!(p[hdr++] & 0x80))
                break;
            shift += 7;
            if (hdr > 4) {
                fail(c, "remaining length over 4 bytes");
                return;
            }
        }
        if (avail < hdr + rem) {
            buf_reserve(b, hdr + rem - avail);  /* room for the rest */
            return;
        }
        b->head += hdr + rem;
        on_frame(c, p[0], p + hdr, rem, now);
    }
}

static void on_readable(struct ld_conn *c)
{
    for (int i = 0; i < 4 && c->state != ST_DEAD; i++) {
        uint8_t *p = buf_reserve(&c->rx, LD_RX_MIN);
        ssize_t n = recv(c->fd, p, c->rx.cap - c->rx.tail, MSG_DONTWAIT);
        if (n == 0) {
            fail(c, "connection closed by the broker");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fail(c, strerror(errno));
            return;
        }
        bool drained = (size_t)n < c->rx.cap - c->rx.tail;
        c->rx.tail += (size_t)n;
        parse(c, now_ns());
        if (drained)
            return;
    }
}

static void on_event(struct ld_conn *c, uint32_t ev)
{
    if (c->state == ST_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            fail(c, strerror(err));
            return;
        }
        c->state = ST_CONNACK;
        flush(c);
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c);
    if ((ev & EPOLLOUT) && c->state != ST_DEAD)
        flush(c);
}

/* ---- publishing --------------------------------------------------------- */

static bool pub_open(const struct ld_pair *pr)
{
    if (pr->pub.state != ST_READY || pr->next_seq >= opt.total)
        return false;
    if (opt.qos && pr->inflight >= opt.window)
        return false;
    if (pr->pub.tx.tail - pr->pub.tx.head >= LD_TX_BACKLOG)
        return false;
    return opt.rate > 0 || pr->next_seq - pr->high < opt.window;
}

/* send what each publisher may; returns the earliest future due time */
static uint64_t pump(uint64_t now)
{
    uint64_t next = UINT64_MAX;

    for (uint32_t i = 0; i < opt.pairs; i++) {
        struct ld_pair *pr = &run.pair[i];
        bool any = false;

        while (pub_open(pr)) {
            if (opt.rate > 0) {
                if (pr->due_ns > now)
                    break;
                queue_publish(pr, pr->due_ns);
                pr->due_ns += run.interval_ns;
            } else {
                queue_publish(pr, now_ns());
            }
            any = true;
        }
        if (opt.rate > 0 && pub_open(pr) && pr->due_ns < next)
            next = pr->due_ns;
        if (any)
            flush(&pr->pub);
    }
    return next;
}

static bool pub_done(const struct ld_pair *pr)
{
    return pr->pub.state == ST_DEAD ||
           (pr->next_seq >= opt.total && pr->inflight == 0 &&
            pr->pub.tx.head == pr->pub.tx.tail);
}

/* ---- set-up ------------------------------------------------------------- */

static int conn_open(struct ld_conn *c, uint32_t pair, bool is_pub)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    int one = 1;

    c->pair = pair;
    c->is_pub = is_pub;
    c->want_out = true;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        perror("pt-mqtt-load: socket");
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&opt.addr, sizeof(opt.addr)) < 0 &&
        errno != EINPROGRESS) {
        perror("pt-mqtt-load: connect");
        close(c->fd);
        return -1;
    }
    c->state = ST_CONNECTING;
    queue_connect(c);
    return epoll_ctl(run.ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static int setup(void)
{
    struct rlimit rl;
    rlim_t want = 2 * (rlim_t)opt.pairs + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(run.run_id, sizeof(run.run_id), "%08x",
             (unsigned)(getpid() ^ (now_ns() >> 10)));
    run.ep = epoll_create1(EPOLL_CLOEXEC);
    run.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    run.pair = calloc(opt.pairs, sizeof(*run.pair));
    run.pad = malloc(opt.size);
    if (run.ep < 0 || run.tfd < 0 || run.pair == NULL || run.pad == NULL) {
        perror("pt-mqtt-load: set-up");
        return -1;
    }
    struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(run.ep, EPOLL_CTL_ADD, run.tfd, &tev);
    memset(run.pad, 0x5a, opt.size);
    for (uint32_t i = 0; i < opt.pairs; i++) {
        struct ld_pair *pr = &run.pair[i];
        pr->topic_len = (uint16_t)snprintf(pr->topic, sizeof(pr->topic),
                                           "load/%s/%u", run.run_id, i);
        pr->next_id = 1;
        pr->seen = calloc(opt.total / 8 + 1, 1);
        if (pr->seen == NULL) {
            perror("pt-mqtt-load: calloc");
            return -1;
        }
        if (conn_open(&pr->sub, i, false) < 0 ||
            conn_open(&pr->pub, i, true) < 0)
            return -1;
    }
    return 0;
}

/* ---- the loop ------------------------------------------------------------ */

enum ld_phase { PH_SETUP, PH_RUN, PH_DRAIN, PH_END };

static bool all_ready(void)
{
    for (uint32_t i = 0; i < opt.pairs; i++)
        if (run.pair[i].sub.state != ST_READY ||
            run.pair[i].pub.state != ST_READY)
            return false;
    return true;
}

static bool all_sent(void)
{
    for (uint32_t i = 0; i < opt.pairs; i++)
        if (!pub_done(&run.pair[i]))
            return false;
    return true;
}

static bool all_received(void)
{
    for (uint32_t i = 0; i < opt.pairs; i++)
        if (run.pair[i].sub.state != ST_DEAD &&
            run.pair[i].uniq < run.pair[i].next_seq)
            return false;
    return true;
}

/* returns true when the run ended by --timeout */
static bool loop(void)
{
    struct epoll_event evs[256];
    uint64_t start = now_ns();
    uint64_t deadline = start + (uint64_t)(opt.timeout * 1e9);
    uint64_t drain_from = 0, armed = 0;
    enum ld_phase ph = PH_SETUP;

    while (ph != PH_END) {
        uint64_t now = now_ns(), wake = deadline;

        if (now >= deadline)
            return true;
        if (run.setup_failed)
            return false;
        if (ph == PH_SETUP && all_ready()) {
            ph = PH_RUN;
            for (uint32_t i = 0; i < opt.pairs; i++)
                run.pair[i].due_ns = now + i * run.interval_ns / opt.pairs;
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
            uint64_t idle_from = run.last_any_recv > drain_from
                                 ? run.last_any_recv : drain_from;
            if (all_received() || now >= idle_from + LD_DRAIN_NS)
                break;
            if (idle_from + LD_DRAIN_NS < wake)
                wake = idle_from + LD_DRAIN_NS;
        }
        if (opt.rate > 0 && wake != armed && wake < deadline) {
            struct itimerspec its = {
                .it_value = { .tv_sec = (time_t)(wake / 1000000000ull),
                              .tv_nsec = (long)(wake % 1000000000ull) },
            };
            timerfd_settime(run.tfd, TFD_TIMER_ABSTIME, &its, NULL);
            armed = wake;
        }
        uint64_t ms = (wake - now + 999999) / 1000000;
        int n = epoll_wait(run.ep, evs, 256, ms > 100 ? 100 : (int)ms);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                uint64_t ticks;
                if (read(run.tfd, &ticks, sizeof(ticks)) < 0)
                    (void)0;            /* spurious: nothing to consume */
                armed = 0;
                continue;
            }
            on_event(evs[i].data.ptr, evs[i].events);
        }
        for (uint32_t i = 0; i < opt.pairs; i++)   /* PUBACKs from subs */
            if (run.pair[i].sub.tx.head != run.pair[i].sub.tx.tail)
                flush(&run.pair[i].sub);
    }
    return false;
}

/* ---- report ---------------------------------------------------------------- */

static uint64_t pair_lost(const struct ld_pair *pr)
{
    return pr->uniq < pr->next_seq ? pr->next_seq - pr->uniq : 0;
}

static void report(bool timed_out, int rc)
{
    uint64_t rcvd = 0, lost = 0, dups = 0, ooo = 0;
    double el = 0.0, rate = 0.0, us = 1e-3;
    const struct ld_hist *h = &run.hist;

    for (uint32_t i = 0; i < opt.pairs; i++) {
        const struct ld_pair *pr = &run.pair[i];
        rcvd += pr->uniq;
        lost += pair_lost(pr);
        dups += pr->dups;
        ooo += pr->ooo;
    }
    if (run.measured_rcvd && run.last_recv > run.first_send) {
        el = (double)(run.last_recv - run.first_send) * 1e-9;
        rate = (double)run.measured_rcvd / el;
    }
    if (opt.json) {
        printf("{\"qos\":%u,\"pairs\":%u,\"msgs\":%" PRIu64
               ",\"warmup\":%" PRIu64 ",\"size\":%u,\"window\":%u,"
               "\"rate\":%.0f,\"sent\":%" PRIu64 ",\"received\":%" PRIu64
               ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64
               ",\"out_of_order\":%" PRIu64 ",\"measured\":%" PRIu64
               ",\"elapsed_s\":%.6f,\"msgs_per_s\":%.1f,"
               "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
               "\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},"
               "\"errors\":%" PRIu64 ",\"timed_out\":%s,\"exit\":%d}\n",
               opt.qos, opt.pairs, opt.msgs, opt.warmup, opt.size,
               opt.window, opt.rate, run.sent, rcvd, lost, dups, ooo,
               run.measured_rcvd, el, rate,
               hist_quantile(h, 0.5) * us, hist_quantile(h, 0.9) * us,
               hist_quantile(h, 0.99) * us, hist_quantile(h, 0.999) * us,
               h->max * us, h->count ? (double)h->sum / h->count * us : 0.0,
               run.errors, timed_out ? "true" : "false", rc);
    } else {
        printf("qos %u, %u pairs x (%" PRIu64 " + %" PRIu64 " warm-up) "
               "msgs of %u bytes, %s\n", opt.qos, opt.pairs, opt.msgs,
               opt.warmup, opt.size, opt.rate > 0 ? "open loop" :
               "closed loop");
        printf("sent %" PRIu64 "  received %" PRIu64 "  lost %" PRIu64
               "  duplicated %" PRIu64 "  out-of-order %" PRIu64
               "  errors %" PRIu64 "%s\n", run.sent, rcvd, lost, dups, ooo,
               run.errors, timed_out ? "  TIMED OUT" : "");
        printf("measured %" PRIu64 " in %.3f s: %.0f msgs/s\n",
               run.measured_rcvd, el, rate);
        printf("latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
               "max %.1f\n", hist_quantile(h, 0.5) * us,
               hist_quantile(h, 0.9) * us, hist_quantile(h, 0.99) * us,
               hist_quantile(h, 0.999) * us, h->max * us);
    }
}

static int exit_code(bool timed_out)
{
    uint64_t lost = 0;
    bool unsent = false;

    for (uint32_t i = 0; i < opt.pairs; i++) {
        const struct ld_pair *pr = &run.pair[i];
        lost += pair_lost(pr);
        unsent |= pr->next_seq < opt.total;
    }
    if (run.setup_failed)
        return 2;
    if (run.errors || (opt.qos == 1 && lost) || (timed_out && unsent))
        return 1;
    return 0;
}

/* ---- options -------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
"usage: pt-mqtt-load [--host IP] [--port N] [--pairs P] [--qos 0|1]\n"
"                    [--msgs M] [--size BYTES] [--rate MSGS_PER_S]\n"
"                    [--warmup W] [--window N] [--timeout S] [--json]\n"
"  --host IP      broker IPv4 address (127.0.0.1)\n"
"  --port N       broker port (1883)\n"
"  --pairs P      publisher/subscriber pairs, one topic each (1)\n"
"  --qos 0|1      publish and subscribe QoS (0)\n"
"  --msgs M       measured messages per publisher (10000)\n"
"  --size BYTES   payload size, >= %u (64)\n"
"  --rate R       open loop: R messages/s over all publishers (closed loop)\n"
"  --warmup W     extra messages per publisher sent first, not measured (100)\n"
"  --window N     closed loop: messages between send and delivery per pair;\n"
"                 QoS 1: unacknowledged PUBLISHes per publisher (32)\n"
"  --timeout S    give up after S seconds (60)\n"
"  --json         one JSON line instead of text\n"
"exit: 0 ok; 1 QoS 1 loss, broken connection or timeout; 2 set-up failed\n",
            LD_HDR);
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static int parse_opts(int argc, char **argv)
{
    static const struct option lo[] = {
        { "host", required_argument, NULL, 'h' },
        { "port", required_argument, NULL, 'p' },
        { "pairs", required_argument, NULL, 'P' },
        { "qos", required_argument, NULL, 'q' },
        { "msgs", required_argument, NULL, 'm' },
        { "size", required_argument, NULL, 's' },
        { "rate", required_argument, NULL, 'r' },
        { "warmup", required_argument, NULL, 'w' },
        { "window", required_argument, NULL, 'W' },
        { "timeout", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 },
    };
    const char *host = "127.0.0.1";
    double port = 1883, v;
    int c, li = 0;

    while ((c = getopt_long(argc, argv, "", lo, &li)) != -1) {
        bool ok = true;
        switch (c) {
        case 'h': host = optarg; break;
        case 'p': ok = parse_num(optarg, 1, 65535, &port); break;
        case 'P': ok = parse_num(optarg, 1, LD_MAX_PAIRS, &v);
                  opt.pairs = (uint32_t)v; break;
        case 'q': ok = parse_num(optarg, 0, 1, &v); opt.qos = (uint32_t)v;
                  break;
        case 'm': ok = parse_num(optarg, 1, 1e9, &v); opt.msgs = (uint64_t)v;
                  break;
        case 's': ok = parse_num(optarg, LD_HDR, LD_MAX_SIZE, &v);
                  opt.size = (uint32_t)v; break;
        case 'r': ok = parse_num(optarg, 0, 1e9, &opt.rate); break;
        case 'w': ok = parse_num(optarg, 0, 1e9, &v);
                  opt.warmup = (uint64_t)v; break;
        case 'W': ok = parse_num(optarg, 1, 30000, &v);
                  opt.window = (uint32_t)v; break;
        case 't': ok = parse_num(optarg, 0.1, 86400, &opt.timeout); break;
        case 'j': opt.json = true; break;
        case 'H': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (!ok) {
            fprintf(stderr, "pt-mqtt-load: bad value for --%s: %s "
                    "(see --help)\n", lo[li].name, optarg);
            return -1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return -1;
    }
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1) {
        fprintf(stderr, "pt-mqtt-load: --host wants an IPv4 address\n");
        return -1;
    }
    opt.total = opt.warmup + opt.msgs;
    if (opt.rate > 0)
        run.interval_ns = (uint64_t)(1e9 * opt.pairs / opt.rate);
    return 0;
}

int main(int argc, char **argv)
{
    bool timed_out;
    int rc;

    if (parse_opts(argc, argv) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (setup() < 0)
        return 2;
    timed_out = loop();
    if (run.setup_failed) {
        fprintf(stderr, "pt-mqtt-load: set-up failed\n");
        return 2;
    }
    if (timed_out && run.sent == 0) {
        fprintf(stderr, "pt-mqtt-load: timed out during set-up\n");
        return 2;
    }
    rc = exit_code(timed_out);
    report(timed_out, rc);
    for (uint32_t i = 0; i < opt.pairs; i++) {   /* DISCONNECT, best effort */
        struct ld_conn *cs[2] = { &run.pair[i].sub, &run.pair[i].pub };
        for (int k = 0; k < 2; k++) {
            if (cs[k]->state == ST_DEAD)
                continue;
            static const uint8_t disc[2] = { 0xe0, 0 };
            if (send(cs[k]->fd, disc, 2, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                (void)0;
            close(cs[k]->fd);
        }
    }
    return rc;
}
