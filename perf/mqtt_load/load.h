/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pt-mqtt-load internals: what its modules share. The program is described
 * at the top of main.c; this header is the map of the rooms:
 *
 *   main.c     options, usage, the rlimit, dispatch to a mode
 *   wire.c     MQTT 3.1.1 encoding and decoding, growable byte buffers
 *   net.c      sockets (source address range), the buffered connection
 *              (struct ld_conn: epoll, flush, receive, frame split)
 *   loop.c     what p2p and fanout share: publishers, subscribers,
 *              their frames, pacing, counts, the set-up/run/drain loop
 *   report.c   latency figures (pb_hist) in text and JSON
 *   p2p.c      --mode p2p: publisher/subscriber pairs, a topic each
 *   fanout.c   --mode fanout: one publisher, F subscribers, one topic
 *   connect.c  --mode connect: N sessions opened, held, closed
 *
 * Threading: one thread, one epoll set. Nothing here locks and nothing may
 * be called from another thread.
 *
 * Ownership: a mode owns its connections and their buffers; the buffers
 * grow by realloc and are freed at exit by the process (a load generator
 * runs once). Out of memory while running exits with status 2.
 *
 * Errors: a connection that misbehaves is closed (ld_conn_fail) and
 * counted: in ld_io.errors once it was ready, as a set-up failure before.
 * Bad bytes from the broker never crash: every frame is length-checked.
 */
#ifndef PT_MQTT_LOAD_H
#define PT_MQTT_LOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pb_hist;

#define LD_HDR          20u             /* payload: ts 8, seq 8, group 4 */
#define LD_MAX_SIZE     (16u << 20)
#define LD_MAX_PAIRS    10000u
#define LD_MAX_FANOUT   100000u
#define LD_MAX_SESSIONS (4u << 20)
#define LD_BUF_INIT     16384u          /* first allocation of rx and tx */
#define LD_RX_MIN       8192u           /* room made before each recv */
#define LD_TX_BACKLOG   (4u << 20)      /* stop producing above this */
#define LD_DRAIN_NS     2000000000ull
#define LD_TOPIC_MAX    48u
#define LD_ID_MAX       32u             /* client id bytes */
#define LD_KEEPALIVE    60u             /* CONNECT keep alive, p2p/fanout */
#define LD_FD_SPARE     16u             /* fds besides sockets: std, epoll, timer */

/* MQTT control packet types (first byte, high nibble) */
enum { LD_CONNACK = 2, LD_PUBLISH = 3, LD_PUBACK = 4, LD_SUBACK = 9,
       LD_PINGRESP = 13 };

enum ld_mode { LD_MODE_P2P, LD_MODE_CONNECT, LD_MODE_FANOUT };

/* ---- options (main.c) --------------------------------------------------- */

struct ld_opts {
    enum ld_mode mode;
    struct sockaddr_in addr;        /* the broker */
    uint32_t pairs, size, window, qos;
    uint64_t msgs, warmup, total;   /* total = warmup + msgs per publisher */
    double rate, timeout;
    bool json;
    /* connect */
    uint32_t sessions, max_pending;
    double connect_rate, hold;
    /* fanout */
    uint32_t fanout;
    /* --src/--src-count: host-order first source address, 0 = no bind */
    uint32_t src_first, src_count;
};

extern struct ld_opts ld_opt;

/* ---- wire.c: buffers and MQTT frames ------------------------------------ */

struct ld_buf {
    uint8_t *p;
    size_t head, tail, cap;
};

/** Room for @p need bytes at b->tail (first allocation LD_BUF_INIT or
 *  need, whichever is larger); exits with 2 when memory runs out. */
uint8_t *ld_buf_reserve(struct ld_buf *b, size_t need);
void ld_buf_free(struct ld_buf *b);

/** CONNECT (MQTT 3.1.1, clean session, no credentials) into @p p; at most
 *  16 + idlen bytes. @return bytes written. */
size_t ld_put_connect(uint8_t *p, const char *id, size_t idlen,
                      uint16_t keepalive);
/** SUBSCRIBE of one filter, packet id 1; at most 10 + tlen bytes. */
size_t ld_put_subscribe(uint8_t *p, const char *topic, size_t tlen,
                        unsigned qos);
/** PUBACK: 4 bytes. */
size_t ld_put_puback(uint8_t *p, uint16_t id);
/** PUBLISH fixed header, topic and (QoS 1) packet id for a payload of
 *  @p size bytes that the caller writes next; at most 9 + tlen bytes. */
size_t ld_put_publish_head(uint8_t *p, const char *topic, size_t tlen,
                           unsigned qos, uint16_t id, uint32_t size);

/* A received PUBLISH, pointing into the frame. */
struct ld_publish {
    const uint8_t *topic, *payload;
    size_t topic_len, payload_len;
    unsigned qos;
    uint16_t id;
};

/** Split a PUBLISH's variable header and payload (@p flags: the low
 *  nibble of byte 0). @return 0, or -1 when malformed (QoS 2 or 3, topic
 *  or packet id past the frame). */
int ld_parse_publish(uint8_t flags, const uint8_t *p, size_t rem,
                     struct ld_publish *out);

/** Length of the frame at the start of @p p: 0 and *hdr, *rem set when a
 *  whole header is there, 1 when more bytes are needed, -1 when the
 *  remaining length runs over 4 bytes. */
int ld_frame_header(const uint8_t *p, size_t avail, size_t *hdr,
                    uint32_t *rem);

/* ---- net.c: sockets and the buffered connection ------------------------- */

enum ld_state {
    LD_ST_CONNECTING,   /* TCP connect in progress, CONNECT queued */
    LD_ST_CONNACK,      /* waiting for CONNACK */
    LD_ST_SUBACK,       /* subscriber: SUBSCRIBE sent */
    LD_ST_READY,
    LD_ST_DEAD,         /* closed; the run carries on without it */
};

struct ld_conn {
    int fd;
    bool is_pub;
    bool want_out;              /* EPOLLOUT registered */
    enum ld_state state;
    uint32_t idx;               /* pair, or subscriber number */
    struct ld_buf rx, tx;
};

/* What a mode plugs into the buffered connection. */
struct ld_proto {
    /** One whole frame: first byte @p b0, @p rem bytes after the length. */
    void (*on_frame)(struct ld_conn *c, uint8_t b0, const uint8_t *p,
                     size_t rem, uint64_t now);
    /** "pair 3 subscriber": who, in error messages. */
    void (*name)(const struct ld_conn *c, char *buf, size_t len);
};

struct ld_io {
    int ep;                     /* the epoll set */
    const struct ld_proto *proto;
    char run_id[9];             /* in client ids and topics */
    uint64_t errors;            /* ready connections that failed */
    bool setup_failed;
};

extern struct ld_io ld_io;

uint64_t ld_now_ns(void);

/** Raise RLIMIT_NOFILE (soft, and hard where allowed) to @p want.
 *  @return 0; -1 with a message on stderr when it cannot be had. */
int ld_nofile(uint64_t want);

/** Epoll set and run id. @return 0, or -1 (message printed). */
int ld_io_init(const struct ld_proto *proto);

/** A non-blocking TCP socket with TCP_NODELAY, bound to the n-th source
 *  address of --src/--src-count (port chosen at connect,
 *  IP_BIND_ADDRESS_NO_PORT) and connecting to --host:--port.
 *  @return the fd, or -errno (EINPROGRESS is not an error). */
int ld_socket_connect(uint64_t n);

/** Open @p c (connect, CONNECT with client id @p id queued, in epoll with
 *  data.ptr = c). @return 0, or -1 with a message printed. */
int ld_conn_open(struct ld_conn *c, uint32_t idx, bool is_pub,
                 const char *id);
void ld_conn_fail(struct ld_conn *c, const char *what);
void ld_conn_flush(struct ld_conn *c);
/** An epoll event for @p c: connect completion, reads (frames go to the
 *  proto's on_frame), writes. */
void ld_conn_event(struct ld_conn *c, uint32_t ev);
/** DISCONNECT (best effort) and close, unless dead already. */
void ld_conn_close(struct ld_conn *c);

/* ---- loop.c: publishers and subscribers (p2p, fanout) ------------------ */

/* A publisher: one topic, sequence numbers from 0, QoS 1 packet ids. Its
 * payloads carry c.idx (its index in ld_ps.pub) as their group. */
struct ld_pub {
    struct ld_conn c;
    char topic[LD_TOPIC_MAX];
    uint16_t topic_len;
    uint32_t sub_first, sub_end;    /* its subscribers in ld_ps.sub */
    uint32_t first_live;            /* closed loop: window on this one */
    uint64_t next_seq;              /* next sequence number to send */
    uint64_t due_ns;                /* --rate: when next_seq is due */
    uint32_t inflight;              /* QoS 1: PUBLISHes not yet acked */
    uint16_t next_id;
    uint8_t id_used[8192];          /* QoS 1: packet ids in flight */
};

/* A subscriber to one publisher's topic, counting what arrives. */
struct ld_sub {
    struct ld_conn c;
    struct ld_pub *from;
    bool dirty;                     /* in ld_ps.dirty: bytes to flush */
    uint8_t *seen;                  /* one bit per sequence number */
    uint64_t high;                  /* highest sequence received + 1 */
    uint64_t uniq, dups, ooo;
};

struct ld_ps {
    struct ld_pub *pub;
    struct ld_sub *sub;
    uint32_t npub, nsub;
    struct ld_sub **dirty;          /* subscribers with bytes to flush */
    uint32_t ndirty;
    uint8_t *pad;                   /* payload padding, 0x5a */
    uint64_t interval_ns;           /* --rate: per-publisher interval */
    /* every publisher and subscriber together */
    uint64_t sent, delivered;       /* PUBLISHes; first deliveries */
    uint64_t measured_sent, measured_rcvd;
    uint64_t first_send, last_recv, last_any_recv;
    uint64_t lat_sum;               /* exact mean of measured latency */
    struct pb_hist *hist;
};

extern struct ld_ps ld_ps;

/* What ld_ps_run hands the mode's report. */
struct ld_totals {
    uint64_t expected, lost, dups, ooo;     /* summed over subscribers */
    uint64_t subs_lost;                     /* subscribers dead */
    uint32_t short_subs;                    /* subscribers missing some */
    bool unsent;                            /* a publisher fell short */
    double elapsed, rate, prate;            /* s, deliveries/s, pubs/s */
};

/** RLIMIT_NOFILE to @p nofile, the epoll set (@p proto: on_frame is
 *  ld_ps_frame), @p npub publishers and @p nsub subscribers zeroed, the
 *  histogram, the padding and the --rate interval. @return 0, or -1 with
 *  a message printed. */
int ld_ps_init(uint32_t npub, uint32_t nsub, uint64_t nofile,
               const struct ld_proto *proto);
/** Open subscriber @p i to @p from's topic (set it first) with client id
 *  @p id. A publisher's subscribers are opened in order, contiguous.
 *  @return 0, or -1 with a message printed. */
int ld_ps_open_sub(uint32_t i, struct ld_pub *from, const char *id);
/** Open publisher @p i with client id @p id. @return 0 or -1. */
int ld_ps_open_pub(uint32_t i, const char *id);
/** The ld_proto on_frame of p2p and fanout. */
void ld_ps_frame(struct ld_conn *c, uint8_t b0, const uint8_t *p,
                 size_t rem, uint64_t now);
/** A whole p2p or fanout run: @p setup (ld_ps_init and the opens), the
 *  loop until everything arrived, the drain went idle (LD_DRAIN_NS after
 *  the last delivery or the last send) or --timeout, then @p report and
 *  DISCONNECT. @return the exit status (see the modes below); a set-up
 *  that failed or timed out returns 2 with a message and no report. */
int ld_ps_run(int (*setup)(void),
              void (*report)(bool timed_out, int rc,
                             const struct ld_totals *t));

/* ---- report.c: latency figures ------------------------------------------- */

/** A latency histogram in ns (up to one hour, 3 significant digits);
 *  exits with 2 when it cannot be allocated. */
struct pb_hist *ld_hist_new(void);
/** Percentile @p pct in microseconds, never above the recorded maximum. */
double ld_hist_us(const struct pb_hist *h, double pct);
/** ,"name":{"count":..,"p50":..,"p90":..,"p99":..,"p999":..,"max":..,
 *  "mean":..} in microseconds (petrel-bench's summary names). */
void ld_json_hist(FILE *f, const char *name, const struct pb_hist *h);
/** "latency us: p50 .. p90 .. p99 .. p99.9 .. max ..\n". */
void ld_text_latency(FILE *f, const struct pb_hist *h);

/* ---- modes ------------------------------------------------------------------ */

/** Each runs its mode and prints the report. @return the exit status:
 *  0 ok, 1 the run failed (loss where QoS 1 promises delivery, broken
 *  connections, time out), 2 set-up failed. */
int ld_p2p_run(void);
int ld_fanout_run(void);
int ld_connect_run(void);

#endif /* PT_MQTT_LOAD_H */
