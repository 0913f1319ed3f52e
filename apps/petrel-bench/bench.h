/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel-bench: many MQTT 3.1.1 clients per core on petrel's own TCP-lite
 * in active-open mode, over any DPDK port (net_memif to a petreld on the
 * same host, net_af_packet on a veth, a NIC).
 *
 * Layout: the main lcore parses options, starts the port and reports once a
 * second; each worker lcore ("bench core") owns one RX/TX queue pair, one
 * struct pt_net + struct pt_tcp, and a slice of the clients. Clients are
 * grouped: a group has A publishers and B subscribers on one topic
 * (point-to-point: A = B = 1; fan-out: 1 -> B; fan-in: A -> 1); the
 * members of a group may live on different cores.
 *
 * Life of a client (client.c):
 *
 *   IDLE --connect()--> SYN_SENT --connected--> CONNACK_WAIT
 *     --CONNACK 0--> [subscriber: SUBACK_WAIT --SUBACK-->] UP
 *     --end of run--> CLOSING (DISCONNECT + FIN) --closed--> DONE
 *   any state --refused / reset / timeout / protocol error--> FAILED
 *
 * A publisher in UP sends PUBLISHes while the run is in its sending phase,
 * within its window (closed loop) or on its core's schedule (open loop).
 * A payload carries the send time (pt_clock_ns of this process), the
 * sequence number and the publisher's global index; a subscriber checks
 * them, records the latency and counts per source: received in order,
 * duplicates (a sequence number already seen), gaps (numbers skipped).
 * Lost = sent - received, computed exactly at the end.
 *
 * Threading: a struct pb_core and its clients are written only by their
 * lcore. The counters in pb_core.stats and the histograms are read by the
 * main lcore while the core runs (relaxed 64-bit loads; one burst old at
 * worst, never torn). One client field crosses cores: a subscriber's
 * next[] (next expected sequence per publisher), written by its core with
 * relaxed atomics and read by the publishers' cores for their closed-loop
 * window. The run phase
 * (pb_run.phase) is written by the main lcore, read by every core.
 */
#ifndef PETREL_BENCH_H
#define PETREL_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "flood.h"
#include "hist.h"

#define PB_MAX_CORES 64
#define PB_PAYLOAD_MIN 16   /* send time (8) + sequence (4) + publisher (4) */
#define PB_TOPIC_MAX 64
#define PB_SYN_RETRIES 3    /* SYN resends (1 + 2 + 4 s) before... */
#define PB_OPEN_TRIES 3     /* ...the open is retried from another tuple */
#define PB_TXQ 16384        /* frames a core holds back for a full port */

/* What a run does. */
enum pb_scenario {
    PB_SC_CONNECT,   /* sessions only: ramp, hold, close */
    PB_SC_P2P,       /* pairs: publisher i -> subscriber i */
    PB_SC_FANOUT,    /* 1 publisher -> fanout subscribers per group */
    PB_SC_FANIN,     /* fanin publishers -> 1 subscriber per group */
};

/* Run phases, in order (main lcore advances them). */
enum pb_phase {
    PB_PH_CONNECT,   /* open the sessions (and subscribe) */
    PB_PH_WARMUP,    /* publish, not measured */
    PB_PH_MEASURE,   /* publish, measured */
    PB_PH_DRAIN,     /* no new PUBLISH; wait for what is in flight */
    PB_PH_CLOSE,     /* DISCONNECT every session */
    PB_PH_STOP,      /* cores return */
};

/* Per-core counters (ID, JSON/CSV name, meaning). */
#define PB_COUNTERS(X)                                                        \
    X(CONN_ATTEMPTS, "connect_attempts", "TCP opens started")                \
    X(CONN_RETRIED, "connect_retried", "opens retried (tuple in TIME_WAIT, SYNs unanswered, no ARP entry yet, pool full)") \
    X(TCP_UP, "tcp_connected", "TCP handshakes completed")                   \
    X(SESSIONS_UP, "sessions_connected", "CONNACK 0 received")               \
    X(CONNACK_REFUSED, "connack_refused", "CONNACK with a non-zero code")    \
    X(CONN_FAILED, "connect_failed", "opens refused, reset or timed out before CONNACK") \
    X(SESSIONS_LOST, "sessions_lost", "sessions that ended before the close phase") \
    X(SUBSCRIBED, "subscribed", "SUBACKs granting the requested QoS")        \
    X(SUB_REFUSED, "subscribe_refused", "SUBACKs refusing (0x80) or downgrading") \
    X(PUB_SENT, "published", "PUBLISHes sent")                               \
    X(PUB_ACKED, "publish_acked", "QoS 1/2 publishes completed (PUBACK/PUBCOMP)") \
    X(MSG_RECV, "received", "PUBLISHes delivered to subscribers")            \
    X(MSG_DUP, "duplicates", "deliveries of a sequence number already seen") \
    X(MSG_GAP, "gaps", "sequence numbers skipped at delivery")               \
    X(MSG_MEASURED, "measured", "deliveries in the measured phase (latency recorded)") \
    X(PROTO_ERR, "protocol_errors", "malformed or unexpected packets from the broker") \
    X(BAD_PAYLOAD, "bad_payloads", "deliveries whose payload or topic did not check") \
    X(WRITE_FULL, "send_blocked", "writes refused by a full TCP send queue") \
    X(CLOSED_OK, "sessions_closed", "sessions closed in the close phase")    \
    X(CLOSE_UNFINISHED, "close_unfinished", "sessions whose close had not finished when the run stopped") \
    X(FLOOD_SENT, "flood_frames", "stateless flood frames sent")             \
    X(FLOOD_DROPPED, "flood_dropped", "flood frames the port refused")      \
    X(TX_FULL, "tx_full", "frames dropped: port refused them and the backlog was full")

enum pb_counter {
#define PB_X(id, name, help) PB_C_##id,
    PB_COUNTERS(PB_X)
#undef PB_X
    PB_C_MAX
};

/* Options (opts.c). */
struct pb_opts {
    char port[256];          /* DPDK devargs of the port (also --vdev) */
    unsigned cores;          /* bench cores (worker lcores) */
    uint32_t broker_ip;      /* network order */
    uint16_t broker_port;
    uint32_t src_ip;         /* first local address, network order */
    uint32_t src_count;      /* local addresses */
    uint8_t prefix_len;
    uint16_t sport_min, sport_max;
    enum pb_scenario scenario;
    uint32_t sessions;       /* connect scenario: sessions to open */
    uint32_t groups;         /* groups (pairs for p2p) */
    uint32_t fanout;         /* subscribers per group (fan-out) */
    uint32_t fanin;          /* publishers per group (fan-in) */
    uint32_t connect_rate;   /* new sessions/s in total; 0 = unpaced */
    uint32_t max_pending;    /* handshakes in flight per core */
    uint8_t qos;
    uint32_t payload;        /* bytes (>= PB_PAYLOAD_MIN) */
    uint64_t rate;           /* open loop: messages/s in total; 0 = closed */
    uint64_t pub_rate;       /* --pub-rate (sets rate from the layout) */
    uint32_t window;         /* closed loop: messages in flight/publisher */
    double warmup_s, duration_s, hold_s, drain_s, connect_timeout_s;
    uint16_t keepalive;
    char username[64], password[64];
    bool persistent;         /* clean session 0 */
    char client_prefix[32];
    char topic_prefix[32];
    /* stateless flood, on every core, alongside the scenario */
    enum pb_flood_mode flood_mode;
    bool flood;
    uint64_t flood_rate;     /* frames/s in total */
    uint32_t flood_src_ip;   /* network order */
    uint32_t flood_src_count;
    /* output */
    char json_path[256], csv_path[256], cdf_path[256];
    bool quiet;              /* no progress line */
    bool fail_on_loss;       /* default: when QoS >= 1 */
    /* TCP */
    uint32_t tcp_rcv_buf, tcp_snd_buf;
    uint32_t mbufs;          /* per core */
};

int pb_opts_parse(struct pb_opts *o, int argc, char **argv);
void pb_opts_usage(FILE *f);
const char *pb_scenario_name(enum pb_scenario s);

/* A group: its topic and members (global client indexes). */
struct pb_group {
    uint32_t first_pub, n_pubs;   /* publishers: clients first_pub.. */
    uint32_t first_sub, n_subs;
};

/* One client (a session). Kept small: a million of them per core. */
struct pb_client {
    struct pt_tcp_conn *conn;
    struct pb_core *core;
    struct rte_mbuf *rx;          /* bytes received, not yet a whole packet */
    uint32_t id;                  /* global index */
    uint32_t group;
    uint8_t state;                /* enum pb_client_state */
    uint8_t role;                 /* PB_ROLE_* */
    uint16_t next_pid;            /* next packet id (QoS 1/2) */
    uint32_t inflight;            /* QoS 1/2 publishes not completed */
    uint32_t seq;                 /* publisher: next sequence number */
    uint32_t laddr;               /* our address and port for this session */
    uint16_t lport;
    uint8_t dead;                 /* aborted; on_closed() still to come */
    uint8_t tries;                /* opens retried after SYN timeouts */
    uint64_t t_start_ns;          /* open started (connect latency) */
    uint32_t *next;               /* subscriber: next expected seq per
                                   * publisher of its group */
    struct pb_client *link;       /* a core list (ready publishers) */
};

enum pb_client_state {
    PB_CL_IDLE,
    PB_CL_SYN_SENT,
    PB_CL_CONNACK_WAIT,
    PB_CL_SUBACK_WAIT,
    PB_CL_UP,
    PB_CL_CLOSING,
    PB_CL_DONE,
    PB_CL_FAILED,
};

enum { PB_ROLE_NONE, PB_ROLE_PUB, PB_ROLE_SUB };

/* The run, shared by every core (read-only once launched, but phase). */
struct pb_run {
    const struct pb_opts *o;
    struct pb_group *groups;
    uint32_t n_groups;
    uint32_t n_clients;
    uint32_t n_pubs_total, n_subs_total;
    struct pb_client *clients;    /* all of them; core c owns index % n */
    uint32_t *next_slots;         /* the subscribers' next[] arrays */
    volatile int phase;           /* enum pb_phase, main lcore writes */
    uint64_t t_phase_ns;          /* when the phase began */
    struct rte_ether_addr broker_mac;
    volatile int broker_mac_ok;
    uint16_t port_id;
    bool tx_cksum;
    bool rss;                     /* the port spreads by RSS (ports picked) */
    uint8_t rss_key[64];
    uint8_t rss_key_len;
    uint16_t reta[512];
    uint16_t reta_size;
    uint64_t tuple_start;         /* where the (address, port) walk starts:
                                   * random, so runs back to back do not
                                   * reuse the tuples the broker may still
                                   * hold in TIME_WAIT */
};

/* One bench core. */
struct pb_core {
    unsigned idx, lcore_id;
    uint16_t queue_id;
    struct pb_run *run;
    struct rte_mempool *pool;
    struct pt_net *net;
    struct pt_tcp *tcp;
    struct pt_tcp_ops ops;
    struct pb_flood *flood;
    uint32_t n_clients;           /* clients this core owns */
    uint32_t next_open;           /* next of them to open */
    struct pb_client *retry;      /* opens to retry (linked by ->link) */
    uint32_t pending;             /* handshakes + CONNECTs in flight */
    uint32_t up;                  /* sessions up now (gauge) */
    uint32_t open_done;           /* opens finished (up or failed) */
    uint32_t closing;             /* sessions in CLOSING */
    uint32_t close_cursor;        /* next client to close */
    /* the gauges above, published for the main lcore each loop */
    uint32_t up_now, pending_now, open_done_now, closing_now;
    int flood_failed;
    uint64_t next_tuple;          /* cursor over (address, port) pairs */
    double open_credit;           /* paced opens: credit */
    uint64_t open_last_ns;
    /* publishing */
    struct pb_client **pubs;      /* this core's publishers */
    uint32_t n_pubs;
    uint32_t pub_cursor;
    uint64_t sched_ns;            /* open loop: next scheduled send */
    uint64_t sched_gap_ns;        /* open loop: ns between sends of core */
    uint8_t pkt_buf[2048];        /* PUBLISH being built */
    struct rte_mbuf *txq[PB_TXQ]; /* frames the port refused, in order */
    uint32_t txq_n;
    uint64_t stats[PB_C_MAX];     /* owner writes (relaxed), any reads */
    struct pb_hist *lat;          /* message latency, measured phase */
    struct pb_hist *conn_lat;     /* open -> CONNACK */
    volatile int done;            /* the lcore returned */
};

static inline void
pb_count(struct pb_core *c, enum pb_counter k, uint64_t n)
{
    __atomic_store_n(&c->stats[k], c->stats[k] + n, __ATOMIC_RELAXED);
}

/* client.c */
void pb_client_ops(struct pt_tcp_ops *ops);
int pb_client_open(struct pb_core *core, struct pb_client *cl, uint64_t now);
int pb_client_publish(struct pb_core *core, struct pb_client *cl,
                      uint64_t stamp_ns);
bool pb_client_can_publish(const struct pb_core *core,
                           const struct pb_client *cl);
void pb_client_close(struct pb_core *core, struct pb_client *cl);

/* core.c */
int pb_core_setup(struct pb_core *c, struct pb_run *run, unsigned idx,
                  unsigned lcore_id);
int pb_core_main(void *arg);
void pb_core_free(struct pb_core *c);

/* run.c: lay the clients out (roles, groups, next[] arrays); the
 * deliveries the subscriptions call for and the distinct ones made so far
 * (before gaps); the verdict once the cores returned (fills s). */
int pb_run_layout(struct pb_run *run, const struct pb_opts *o);
void pb_run_deliveries(const struct pb_run *run, uint64_t *expected,
                       uint64_t *highest);
struct pb_summary;
struct pb_totals;
void pb_run_verdict(struct pb_run *run, struct pb_core *cores,
                    struct pb_summary *s, struct pb_totals *t);

/* rss.c: the Toeplitz hash (the port's key) of the broker's answers to
 * laddr:lport (network order / host order), as the NIC computes it */
uint32_t pb_rss_hash(const struct pb_run *run, uint32_t laddr,
                     uint16_t lport);
/* rss.c: the next local (address, port) for core c of n, or -ENOSPC */
int pb_tuple_next(const struct pb_run *run, unsigned core, unsigned n_cores,
                  uint64_t *cursor, uint32_t *laddr, uint16_t *lport);

/* report.c */
struct pb_totals {
    uint64_t c[PB_C_MAX];
    uint32_t up, pending, open_done, closing;
    struct pb_hist *lat, *conn_lat;   /* the caller allocates them */
};

/* What the summary says beyond the totals. */
struct pb_summary {
    const struct pb_totals *t;
    double connect_s;        /* first open .. last open finished */
    double measure_s;
    uint32_t up_max;         /* most sessions up at once */
    uint64_t expected;       /* deliveries the subscriptions call for */
    uint64_t delivered;      /* distinct messages delivered */
    uint64_t lost;
    uint64_t tcp_retrans, tcp_rto, tcp_reset, tcp_timeout;
    uint64_t net_drops;      /* frames pt_net dropped (all reasons) */
    uint64_t port_ipackets, port_opackets, port_imissed, port_oerrors,
             port_rx_nombuf;
    bool failed;
    char why[256];
};

/* Sum the cores' counters and gauges; with hists, merge their
 * histograms too (tens of microseconds: the main lcore shares a CPU with
 * a busy core on small machines, so only when reporting). */
void pb_totals_collect(struct pb_totals *t, struct pb_core *cores,
                       unsigned n, bool hists);
/* The once-a-second report: the progress line (progress != NULL) and
 * the CSV row (csv != NULL), rates over dt_s, latency so far. */
void pb_report_tick(FILE *progress, FILE *csv, double t_s, const char *phase,
                    const struct pb_totals *now,
                    const struct pb_totals *prev, double dt_s);
void pb_report_csv_header(FILE *f);
void pb_report_summary(FILE *f, const struct pb_run *run,
                       const struct pb_summary *s);

#endif /* PETREL_BENCH_H */
