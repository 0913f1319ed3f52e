// SPDX-License-Identifier: BSD-3-Clause
/*
 * pt-mqtt-load: an MQTT 3.1.1 load generator over kernel sockets, for
 * comparing brokers (perf/mqtt_ratio.py runs it against mosquitto and
 * petreld); the kernel-socket baseline of petrel-bench's scenarios. One
 * thread, one epoll set. Three modes (--mode):
 *
 * p2p (default; p2p.c). For each of --pairs pairs it opens a subscriber
 * (CONNECT with clean session, SUBSCRIBE to "load/<run-id>/<i>" at --qos,
 * waits for SUBACK) and a publisher; when every connection is ready the
 * publishers send --warmup + --msgs PUBLISHes each. A payload is --size
 * bytes: the send time (CLOCK_MONOTONIC ns), the sequence number and the
 * pair index, native byte order (client and broker run on one host), then
 * padding. Subscribers acknowledge QoS 1 deliveries, check the topic, the
 * payload and per-pair order, and count duplicates, out-of-order
 * deliveries and, at the end, losses.
 *
 * fanout (fanout.c). One publisher, --fanout F subscribers of one topic;
 * the same payload, checks and counts, per subscriber: every PUBLISH is
 * expected F times; lost = sent x F - first deliveries.
 *
 * connect (connect.c). --sessions N sessions opened (TCP + CONNECT /
 * CONNACK, anonymous, clean session), unpaced or at --connect-rate, with
 * at most --max-pending opens in flight; held --hold seconds; closed with
 * DISCONNECT. Reports sessions up, connects/s (first open to last
 * CONNACK), connect latency, failures, sessions the broker dropped.
 *
 * Pacing (p2p, fanout). Closed loop (default): a publisher keeps at most
 * --window messages between its send and its subscriber's delivery (in
 * fanout: the first subscriber's; by sequence number, so a lost QoS 0
 * message does not close the window), and at QoS 1 also at most --window
 * unacknowledged PUBLISHes. Latency is then that of a broker kept busy but
 * not flooded. Open loop (--rate, PUBLISHes per second in total): each
 * publisher sends on a fixed schedule and stamps the scheduled time, so a
 * broker that falls behind shows it as latency; only the QoS 1 PUBACK
 * window (and a 4 MiB send backlog per connection) holds a publisher back.
 *
 * Measured: the first --warmup messages of each publisher are sent and
 * checked but left out of latency and msgs/s. msgs/s = measured messages
 * received (fanout: deliveries) / (first measured send .. last measured
 * receive). Latency goes into petrel-bench's histogram (report.c: 3
 * significant digits, error <= 0.1%), not a sample array.
 *
 * Kernel limits: RLIMIT_NOFILE is raised to what the run needs (the hard
 * limit too where allowed; set-up fails clearly otherwise). Past ~28k
 * connections to one broker port, give source addresses: --src 127.0.0.2
 * --src-count K (loopback has all of 127/8), bound with
 * IP_BIND_ADDRESS_NO_PORT (net.c).
 *
 * Ending (p2p, fanout): when everything has arrived, or 2 s after the last
 * send with nothing more arriving, or at --timeout. Exit 0; 1 when a QoS 1
 * message was lost, a connection broke or misbehaved, or time ran out
 * before all was sent (connect: a session not up, dropped or not closed
 * cleanly); 2 when set-up failed (connect, CONNACK, SUBACK, file limit)
 * or bad usage. --json prints one JSON line; p2p's fields are what they
 * always were, fanout and connect lines start with "mode".
 *
 * What it is not: an MQTT client library (no retained messages, no QoS 2,
 * no reconnect, no PINGREQ: keepalive is 60 s in p2p and fanout, and in
 * connect covers the whole run), nor a many-topic benchmark.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

struct ld_opts ld_opt = {
    .mode = LD_MODE_P2P,
    .pairs = 1, .size = 64, .window = 32, .msgs = 10000, .warmup = 100,
    .timeout = 60.0,
    .sessions = 1000, .max_pending = 64, .hold = 2.0,
    .fanout = 100,
};

/* the modes an option applies to */
#define M_P2P   (1u << LD_MODE_P2P)
#define M_CONN  (1u << LD_MODE_CONNECT)
#define M_FAN   (1u << LD_MODE_FANOUT)
#define M_ALL   (M_P2P | M_CONN | M_FAN)
#define M_PUB   (M_P2P | M_FAN)

enum {
    O_MODE = 256, O_HOST, O_PORT, O_SRC, O_SRC_COUNT, O_PAIRS, O_FANOUT,
    O_SESSIONS, O_CONNECT_RATE, O_MAX_PENDING, O_HOLD, O_QOS, O_MSGS,
    O_SIZE, O_RATE, O_WARMUP, O_WINDOW, O_TIMEOUT, O_JSON, O_HELP,
};

struct ld_optdef {
    const char *name, *arg;     /* arg NULL: a flag */
    int id;
    unsigned modes;
    const char *help;
};

static const struct ld_optdef optdefs[] = {
    { "mode", "M", O_MODE, M_ALL,
      "p2p | fanout | connect (p2p); --scenario is the same" },
    { "host", "IP", O_HOST, M_ALL, "broker IPv4 address (127.0.0.1)" },
    { "port", "N", O_PORT, M_ALL, "broker port (1883)" },
    { "src", "IP", O_SRC, M_ALL,
      "bind client sockets to source addresses from IP on (none)" },
    { "src-count", "K", O_SRC_COUNT, M_ALL,
      "with --src: use IP .. IP+K-1, in turn (1)" },
    { "pairs", "P", O_PAIRS, M_P2P,
      "p2p: publisher/subscriber pairs, one topic each (1)" },
    { "fanout", "F", O_FANOUT, M_FAN,
      "fanout: subscribers of the one publisher's topic (100)" },
    { "sessions", "N", O_SESSIONS, M_CONN, "connect: sessions to open (1000)" },
    { "connect-rate", "R", O_CONNECT_RATE, M_CONN,
      "connect: opens per second (0: as fast as possible)" },
    { "max-pending", "N", O_MAX_PENDING, M_CONN,
      "connect: opens in flight at most (64; mosquitto's listen backlog\n                    is 100: past it SYNs drop and cost 1 s each)" },
    { "hold", "S", O_HOLD, M_CONN,
      "connect: hold the sessions S seconds before closing (2)" },
    { "qos", "0|1", O_QOS, M_PUB, "publish and subscribe QoS (0)" },
    { "msgs", "M", O_MSGS, M_PUB, "measured messages per publisher (10000)" },
    { "size", "BYTES", O_SIZE, M_PUB, "payload size, >= 20 (64)" },
    { "rate", "R", O_RATE, M_PUB,
      "open loop: R PUBLISHes/s over all publishers (closed loop)" },
    { "warmup", "W", O_WARMUP, M_PUB,
      "extra messages per publisher sent first, not measured (100)" },
    { "window", "N", O_WINDOW, M_PUB,
      "closed loop: messages between send and delivery per publisher;\n"
      "                    QoS 1: unacknowledged PUBLISHes per publisher (32)" },
    { "timeout", "S", O_TIMEOUT, M_ALL,
      "give up after S seconds (60; connect: for the opening phase)" },
    { "json", NULL, O_JSON, M_ALL, "one JSON line instead of text" },
    { "help", NULL, O_HELP, M_ALL, "this text" },
};

#define N_OPTDEFS (sizeof(optdefs) / sizeof(optdefs[0]))

static void usage(FILE *f)
{
    fputs("usage: pt-mqtt-load [--mode p2p|fanout|connect] [options]\n", f);
    for (size_t i = 0; i < N_OPTDEFS; i++) {
        const struct ld_optdef *d = &optdefs[i];
        char left[40];

        snprintf(left, sizeof(left), "--%s%s%s", d->name, d->arg ? " " : "",
                 d->arg ? d->arg : "");
        fprintf(f, "  %-17s %s\n", left, d->help);
    }
    fputs("exit: 0 ok; 1 QoS 1 loss, broken connection, timeout (connect: a\n"
          "session not up, dropped or not closed); 2 set-up failed or bad "
          "usage\n", f);
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
    struct option lo[N_OPTDEFS + 2];
    const char *host = "127.0.0.1", *src = NULL;
    const struct ld_optdef *given[N_OPTDEFS];
    size_t ngiven = 0;
    double port = 1883, src_count = 1, v;
    int c, li = 0;

    for (size_t i = 0; i < N_OPTDEFS; i++)
        lo[i] = (struct option){ optdefs[i].name,
                                 optdefs[i].arg ? required_argument
                                                : no_argument,
                                 NULL, optdefs[i].id };
    lo[N_OPTDEFS] = (struct option){ "scenario", required_argument, NULL,
                                     O_MODE };
    lo[N_OPTDEFS + 1] = (struct option){ NULL, 0, NULL, 0 };
    while ((c = getopt_long(argc, argv, "", lo, &li)) != -1) {
        bool ok = true;

        for (size_t i = 0; i < N_OPTDEFS; i++)
            if (optdefs[i].id == c && ngiven < N_OPTDEFS)
                given[ngiven++] = &optdefs[i];
        switch (c) {
        case O_MODE:
            if (strcmp(optarg, "p2p") == 0)
                ld_opt.mode = LD_MODE_P2P;
            else if (strcmp(optarg, "fanout") == 0)
                ld_opt.mode = LD_MODE_FANOUT;
            else if (strcmp(optarg, "connect") == 0)
                ld_opt.mode = LD_MODE_CONNECT;
            else
                ok = false;
            break;
        case O_HOST: host = optarg; break;
        case O_PORT: ok = parse_num(optarg, 1, 65535, &port); break;
        case O_SRC: src = optarg; break;
        case O_SRC_COUNT: ok = parse_num(optarg, 1, 1 << 24, &src_count);
                          break;
        case O_PAIRS: ok = parse_num(optarg, 1, LD_MAX_PAIRS, &v);
                      ld_opt.pairs = (uint32_t)v; break;
        case O_FANOUT: ok = parse_num(optarg, 1, LD_MAX_FANOUT, &v);
                       ld_opt.fanout = (uint32_t)v; break;
        case O_SESSIONS: ok = parse_num(optarg, 1, LD_MAX_SESSIONS, &v);
                         ld_opt.sessions = (uint32_t)v; break;
        case O_CONNECT_RATE:
            ok = parse_num(optarg, 0, 1e8, &ld_opt.connect_rate); break;
        case O_MAX_PENDING: ok = parse_num(optarg, 1, 1 << 24, &v);
                            ld_opt.max_pending = (uint32_t)v; break;
        case O_HOLD: ok = parse_num(optarg, 0, 3600, &ld_opt.hold); break;
        case O_QOS: ok = parse_num(optarg, 0, 1, &v);
                    ld_opt.qos = (uint32_t)v; break;
        case O_MSGS: ok = parse_num(optarg, 1, 1e9, &v);
                     ld_opt.msgs = (uint64_t)v; break;
        case O_SIZE: ok = parse_num(optarg, LD_HDR, LD_MAX_SIZE, &v);
                     ld_opt.size = (uint32_t)v; break;
        case O_RATE: ok = parse_num(optarg, 0, 1e9, &ld_opt.rate); break;
        case O_WARMUP: ok = parse_num(optarg, 0, 1e9, &v);
                       ld_opt.warmup = (uint64_t)v; break;
        case O_WINDOW: ok = parse_num(optarg, 1, 30000, &v);
                       ld_opt.window = (uint32_t)v; break;
        case O_TIMEOUT: ok = parse_num(optarg, 0.1, 86400, &ld_opt.timeout);
                        break;
        case O_JSON: ld_opt.json = true; break;
        case O_HELP: usage(stdout); exit(0);
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
    for (size_t i = 0; i < ngiven; i++) {
        if (!(given[i]->modes & (1u << ld_opt.mode))) {
            fprintf(stderr, "pt-mqtt-load: --%s does not apply to --mode "
                    "%s (see --help)\n", given[i]->name,
                    ld_opt.mode == LD_MODE_P2P ? "p2p" :
                    ld_opt.mode == LD_MODE_FANOUT ? "fanout" : "connect");
            return -1;
        }
    }
    ld_opt.addr.sin_family = AF_INET;
    ld_opt.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &ld_opt.addr.sin_addr) != 1) {
        fprintf(stderr, "pt-mqtt-load: --host wants an IPv4 address\n");
        return -1;
    }
    if (src != NULL) {
        struct in_addr a;

        if (inet_pton(AF_INET, src, &a) != 1) {
            fprintf(stderr, "pt-mqtt-load: --src wants an IPv4 address\n");
            return -1;
        }
        ld_opt.src_first = ntohl(a.s_addr);
        ld_opt.src_count = (uint32_t)src_count;
        if ((uint64_t)ld_opt.src_first + ld_opt.src_count - 1 > UINT32_MAX) {
            fprintf(stderr, "pt-mqtt-load: --src + --src-count runs past "
                    "255.255.255.255\n");
            return -1;
        }
    } else if (src_count != 1) {
        fprintf(stderr, "pt-mqtt-load: --src-count needs --src\n");
        return -1;
    }
    ld_opt.total = ld_opt.warmup + ld_opt.msgs;
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_opts(argc, argv) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    switch (ld_opt.mode) {
    case LD_MODE_CONNECT:
        return ld_connect_run();
    case LD_MODE_FANOUT:
        return ld_fanout_run();
    case LD_MODE_P2P:
    default:
        return ld_p2p_run();
    }
}
