/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * petrel-bench's options: defaults, parsing, checks, --help.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const scenario_names[] = {
    [PB_SC_CONNECT] = "connect",
    [PB_SC_P2P] = "p2p",
    [PB_SC_FANOUT] = "fanout",
    [PB_SC_FANIN] = "fanin",
};

const char *
pb_scenario_name(enum pb_scenario s)
{
    return scenario_names[s];
}

void
pb_opts_usage(FILE *f)
{
    fputs(
"usage: petrel-bench [EAL options] -- --port DEVARGS [options]\n"
"       petrel-bench --port DEVARGS [options]   (EAL options derived)\n"
"\n"
"Many MQTT 3.1.1 clients per core on petrel's TCP-lite (active open).\n"
"\n"
"Port and addresses:\n"
"  --port DEVARGS        DPDK port: net_memif0,role=client,socket=PATH,\n"
"                        net_af_packet0,iface=IF, or a PCI address\n"
"  --cores N             bench cores, one queue pair each (1)\n"
"  --broker IP[:PORT]    the broker (10.99.0.2:1883)\n"
"  --src IP/LEN          first local address and prefix (10.99.0.100/24)\n"
"  --src-count N         local addresses from --src on (16); each gives\n"
"                        --sport-min..--sport-max source ports\n"
"  --sport-min/--sport-max P   (1024, 65535)\n"
"\n"
"Scenario:\n"
"  --scenario S          connect | p2p | fanout | fanin (p2p)\n"
"  --sessions N          connect: sessions to open (10000)\n"
"  --groups N            p2p: pairs; fanout/fanin: groups (1)\n"
"  --fanout N            subscribers per group in fanout (1000)\n"
"  --fanin N             publishers per group in fanin (100)\n"
"  --connect-rate N      new sessions per second in total (0 = unpaced)\n"
"  --max-pending N       opens in flight per core (4096)\n"
"  --connect-timeout S   give up on opens after S seconds (60)\n"
"  --hold S              connect: hold the sessions S seconds (2)\n"
"  --qos 0|1|2           publish and subscribe QoS (0)\n"
"  --size N              payload bytes, >= 16 (64)\n"
"  --rate N              open loop: messages per second in total\n"
"  --pub-rate N          open loop: messages per second per publisher\n"
"  --window N            closed loop (no --rate): messages in flight per\n"
"                        publisher (16)\n"
"  --warmup S            publish unmeasured first (1)\n"
"  --duration S          measured publishing (5)\n"
"  --drain S             wait for stragglers after (2)\n"
"  --keepalive S         CONNECT keep alive (0: none; we send no PINGREQ)\n"
"  --username U --password P\n"
"  --persistent          clean session 0\n"
"  --client-prefix P     client ids P<index> (pb-)\n"
"  --topic-prefix P      topics P<group> (pb/)\n"
"\n"
"Stateless flood alongside the scenario (resilience runs):\n"
"  --flood syn|junk      --flood-rate N (frames/s in total, 100000)\n"
"  --flood-src IP        first flood source address (10.99.0.200)\n"
"  --flood-src-count N   (32)\n"
"\n"
"Output:\n"
"  --json FILE           summary (also on stdout)   --csv FILE  per second\n"
"  --cdf FILE            latency CDF (perf/plot)    --quiet     no progress\n"
"  --fail-on-loss / --no-fail-on-loss   (default: fail on loss at QoS >= 1)\n"
"  --tcp-rcv-buf N --tcp-snd-buf N      per connection (16384, 16384)\n"
"  --mbufs N             mbufs per core (65535)\n"
"\n"
"Exit: 0 ok; 1 the run failed (loss where the QoS promises delivery,\n"
"sessions lost, protocol errors, sessions not all up); 2 usage or set-up.\n",
        f);
}

static int
parse_ip(const char *s, uint32_t *ip, uint16_t *port, uint8_t *prefix)
{
    char buf[64];
    char *sep;
    struct in_addr a;

    snprintf(buf, sizeof(buf), "%s", s);
    if (port != NULL && (sep = strchr(buf, ':')) != NULL) {
        char *end;
        unsigned long p = strtoul(sep + 1, &end, 10);

        if (*end != '\0' || p == 0 || p > 65535)
            return -1;
        *port = (uint16_t)p;
        *sep = '\0';
    }
    if (prefix != NULL && (sep = strchr(buf, '/')) != NULL) {
        char *end;
        unsigned long l = strtoul(sep + 1, &end, 10);

        if (*end != '\0' || l == 0 || l > 32)
            return -1;
        *prefix = (uint8_t)l;
        *sep = '\0';
    }
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *ip = a.s_addr;
    return 0;
}

static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    char *end;
    unsigned long long x;

    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || x < lo || x > hi)
        return -1;
    *v = x;
    return 0;
}

static int
parse_secs(const char *s, double *v)
{
    char *end;
    double x = strtod(s, &end);

    if (end == s || *end != '\0' || !(x >= 0) || x > 86400)
        return -1;
    *v = x;
    return 0;
}

enum {
    O_PORT = 256, O_CORES, O_BROKER, O_SRC, O_SRC_COUNT, O_SPORT_MIN,
    O_SPORT_MAX, O_SCENARIO, O_SESSIONS, O_GROUPS, O_FANOUT, O_FANIN,
    O_CONNECT_RATE, O_MAX_PENDING, O_CONNECT_TIMEOUT, O_HOLD, O_QOS, O_SIZE,
    O_RATE, O_WINDOW, O_WARMUP, O_DURATION, O_DRAIN, O_KEEPALIVE, O_USER,
    O_PASS, O_PERSISTENT, O_CLIENT_PREFIX, O_TOPIC_PREFIX, O_FLOOD,
    O_FLOOD_RATE, O_FLOOD_SRC, O_FLOOD_SRC_COUNT, O_JSON, O_CSV, O_CDF,
    O_QUIET, O_FAIL_LOSS, O_PUB_RATE, O_NO_FAIL_LOSS, O_RCV_BUF, O_SND_BUF, O_MBUFS,
    O_HELP,
};

static const struct option long_opts[] = {
    { "port", required_argument, NULL, O_PORT },
    { "cores", required_argument, NULL, O_CORES },
    { "broker", required_argument, NULL, O_BROKER },
    { "src", required_argument, NULL, O_SRC },
    { "src-count", required_argument, NULL, O_SRC_COUNT },
    { "sport-min", required_argument, NULL, O_SPORT_MIN },
    { "sport-max", required_argument, NULL, O_SPORT_MAX },
    { "scenario", required_argument, NULL, O_SCENARIO },
    { "sessions", required_argument, NULL, O_SESSIONS },
    { "groups", required_argument, NULL, O_GROUPS },
    { "fanout", required_argument, NULL, O_FANOUT },
    { "fanin", required_argument, NULL, O_FANIN },
    { "connect-rate", required_argument, NULL, O_CONNECT_RATE },
    { "max-pending", required_argument, NULL, O_MAX_PENDING },
    { "connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT },
    { "hold", required_argument, NULL, O_HOLD },
    { "qos", required_argument, NULL, O_QOS },
    { "size", required_argument, NULL, O_SIZE },
    { "rate", required_argument, NULL, O_RATE },
    { "pub-rate", required_argument, NULL, O_PUB_RATE },
    { "window", required_argument, NULL, O_WINDOW },
    { "warmup", required_argument, NULL, O_WARMUP },
    { "duration", required_argument, NULL, O_DURATION },
    { "drain", required_argument, NULL, O_DRAIN },
    { "keepalive", required_argument, NULL, O_KEEPALIVE },
    { "username", required_argument, NULL, O_USER },
    { "password", required_argument, NULL, O_PASS },
    { "persistent", no_argument, NULL, O_PERSISTENT },
    { "client-prefix", required_argument, NULL, O_CLIENT_PREFIX },
    { "topic-prefix", required_argument, NULL, O_TOPIC_PREFIX },
    { "flood", required_argument, NULL, O_FLOOD },
    { "flood-rate", required_argument, NULL, O_FLOOD_RATE },
    { "flood-src", required_argument, NULL, O_FLOOD_SRC },
    { "flood-src-count", required_argument, NULL, O_FLOOD_SRC_COUNT },
    { "json", required_argument, NULL, O_JSON },
    { "csv", required_argument, NULL, O_CSV },
    { "cdf", required_argument, NULL, O_CDF },
    { "quiet", no_argument, NULL, O_QUIET },
    { "fail-on-loss", no_argument, NULL, O_FAIL_LOSS },
    { "no-fail-on-loss", no_argument, NULL, O_NO_FAIL_LOSS },
    { "tcp-rcv-buf", required_argument, NULL, O_RCV_BUF },
    { "tcp-snd-buf", required_argument, NULL, O_SND_BUF },
    { "mbufs", required_argument, NULL, O_MBUFS },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static int
copy(char *dst, size_t len, const char *s, const char *what)
{
    if (strlen(s) >= len) {
        fprintf(stderr, "petrel-bench: %s too long (at most %zu bytes)\n",
                what, len - 1);
        return -1;
    }
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static void
defaults(struct pb_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->cores = 1;
    parse_ip("10.99.0.2", &o->broker_ip, NULL, NULL);
    o->broker_port = 1883;
    parse_ip("10.99.0.100", &o->src_ip, NULL, NULL);
    o->prefix_len = 24;
    o->src_count = 16;
    o->sport_min = 1024;
    o->sport_max = 65535;
    o->scenario = PB_SC_P2P;
    o->sessions = 10000;
    o->groups = 1;
    o->fanout = 1000;
    o->fanin = 100;
    o->max_pending = 4096;
    o->connect_timeout_s = 60;
    o->hold_s = 2;
    o->payload = 64;
    o->window = 16;
    o->warmup_s = 1;
    o->duration_s = 5;
    o->drain_s = 2;
    snprintf(o->client_prefix, sizeof(o->client_prefix), "pb-");
    snprintf(o->topic_prefix, sizeof(o->topic_prefix), "pb/");
    o->flood_rate = 100000;
    parse_ip("10.99.0.200", &o->flood_src_ip, NULL, NULL);
    o->flood_src_count = 32;
    o->tcp_rcv_buf = 16384;
    o->tcp_snd_buf = 16384;
    o->mbufs = 65535;
}

#define BAD(...)                                                              \
    do {                                                                      \
        fprintf(stderr, "petrel-bench: " __VA_ARGS__);                        \
        fputc('\n', stderr);                                                  \
        return -1;                                                            \
    } while (0)

static int
check(struct pb_opts *o, bool loss_set)
{
    uint32_t src_first = ntohl(o->src_ip), mask;

    if (o->port[0] == '\0')
        BAD("--port is required (see --help)");
    if (o->cores == 0 || o->cores > PB_MAX_CORES)
        BAD("--cores must be 1..%d", PB_MAX_CORES);
    if (o->payload < PB_PAYLOAD_MIN)
        BAD("--size must be at least %d (the payload carries a time stamp, "
            "a sequence number and the publisher)", PB_PAYLOAD_MIN);
    if (o->sport_min == 0 || o->sport_min > o->sport_max)
        BAD("--sport-min must be 1..--sport-max");
    mask = o->prefix_len == 32 ? ~0u : ~(~0u >> o->prefix_len);
    if (o->src_count == 0 ||
        ((src_first + o->src_count - 1) & mask) != (src_first & mask) ||
        (ntohl(o->broker_ip) & mask) != (src_first & mask))
        BAD("--src..--src-count and --broker must be in one /%u subnet",
            o->prefix_len);
    if (ntohl(o->broker_ip) >= src_first &&
        ntohl(o->broker_ip) < src_first + o->src_count)
        BAD("--broker is inside the local address range");
    if (o->scenario != PB_SC_CONNECT && o->groups == 0)
        BAD("--groups must be at least 1");
    if ((o->scenario == PB_SC_FANOUT && o->fanout == 0) ||
        (o->scenario == PB_SC_FANIN && o->fanin == 0))
        BAD("--fanout/--fanin must be at least 1");
    if (o->scenario != PB_SC_CONNECT && o->window == 0 && o->rate == 0)
        BAD("--window must be at least 1 in closed loop");
    if (o->max_pending == 0)
        BAD("--max-pending must be at least 1");
    if (o->pub_rate != 0) {     /* the total follows from the layout */
        uint64_t pubs = o->scenario == PB_SC_FANIN
                            ? (uint64_t)o->fanin * o->groups
                            : o->groups;

        if (o->scenario == PB_SC_CONNECT)
            BAD("--pub-rate needs a publishing scenario");
        if (o->pub_rate * pubs > 1000000000)
            BAD("--pub-rate x publishers: at most 1000000000 messages/s");
        o->rate = o->pub_rate * pubs;
    }
    if (!loss_set)
        o->fail_on_loss = o->qos > 0;
    return 0;
}

int
pb_opts_parse(struct pb_opts *o, int argc, char **argv)
{
    bool loss_set = false;
    uint64_t v;
    int opt;

    defaults(o);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (opt) {
        case O_PORT:
            if (copy(o->port, sizeof(o->port), optarg, "--port"))
                return -1;
            break;
        case O_CORES:
            if (parse_u64(optarg, 1, PB_MAX_CORES, &v))
                BAD("--cores: 1..%d", PB_MAX_CORES);
            o->cores = (unsigned)v;
            break;
        case O_BROKER:
            if (parse_ip(optarg, &o->broker_ip, &o->broker_port, NULL))
                BAD("--broker: IPv4[:port], not '%s'", optarg);
            break;
        case O_SRC:
            if (parse_ip(optarg, &o->src_ip, NULL, &o->prefix_len))
                BAD("--src: IPv4[/len], not '%s'", optarg);
            break;
        case O_SRC_COUNT:
            if (parse_u64(optarg, 1, 65536, &v))
                BAD("--src-count: 1..65536");
            o->src_count = (uint32_t)v;
            break;
        case O_SPORT_MIN:
        case O_SPORT_MAX:
            if (parse_u64(optarg, 1, 65535, &v))
                BAD("--sport-min/--sport-max: 1..65535");
            if (opt == O_SPORT_MIN)
                o->sport_min = (uint16_t)v;
            else
                o->sport_max = (uint16_t)v;
            break;
        case O_SCENARIO: {
            bool found = false;

            for (unsigned i = 0; i < RTE_DIM(scenario_names); i++) {
                if (strcmp(optarg, scenario_names[i]) == 0) {
                    o->scenario = (enum pb_scenario)i;
                    found = true;
                }
            }
            if (!found)
                BAD("--scenario: connect, p2p, fanout or fanin, not '%s'",
                    optarg);
            break;
        }
        case O_SESSIONS:
            if (parse_u64(optarg, 1, 16u << 20, &v))
                BAD("--sessions: 1..%u", 16u << 20);
            o->sessions = (uint32_t)v;
            break;
        case O_GROUPS:
            if (parse_u64(optarg, 1, 4u << 20, &v))
                BAD("--groups: 1..%u", 4u << 20);
            o->groups = (uint32_t)v;
            break;
        case O_FANOUT:
        case O_FANIN:
            if (parse_u64(optarg, 1, 1u << 20, &v))
                BAD("--fanout/--fanin: 1..%u", 1u << 20);
            if (opt == O_FANOUT)
                o->fanout = (uint32_t)v;
            else
                o->fanin = (uint32_t)v;
            break;
        case O_CONNECT_RATE:
            if (parse_u64(optarg, 0, 100000000, &v))
                BAD("--connect-rate: 0..100000000");
            o->connect_rate = (uint32_t)v;
            break;
        case O_MAX_PENDING:
            if (parse_u64(optarg, 1, 1u << 24, &v))
                BAD("--max-pending: 1..%u", 1u << 24);
            o->max_pending = (uint32_t)v;
            break;
        case O_CONNECT_TIMEOUT:
        case O_HOLD:
        case O_WARMUP:
        case O_DURATION:
        case O_DRAIN: {
            double d;

            if (parse_secs(optarg, &d))
                BAD("%s: seconds, 0..86400", argv[optind - 2]);
            if (opt == O_CONNECT_TIMEOUT)
                o->connect_timeout_s = d;
            else if (opt == O_HOLD)
                o->hold_s = d;
            else if (opt == O_WARMUP)
                o->warmup_s = d;
            else if (opt == O_DURATION)
                o->duration_s = d;
            else
                o->drain_s = d;
            break;
        }
        case O_QOS:
            if (parse_u64(optarg, 0, 2, &v))
                BAD("--qos: 0, 1 or 2");
            o->qos = (uint8_t)v;
            break;
        case O_SIZE:
            if (parse_u64(optarg, PB_PAYLOAD_MIN, 1024, &v))
                BAD("--size: %d..1024", PB_PAYLOAD_MIN);
            o->payload = (uint32_t)v;
            break;
        case O_RATE:
            if (parse_u64(optarg, 0, 1000000000, &v))
                BAD("--rate: 0..1000000000");
            o->rate = v;
            o->pub_rate = 0;
            break;
        case O_PUB_RATE:
            if (parse_u64(optarg, 1, 100000000, &v))
                BAD("--pub-rate: 1..100000000");
            o->pub_rate = v;
            break;
        case O_WINDOW:
            if (parse_u64(optarg, 1, 65535, &v))
                BAD("--window: 1..65535");
            o->window = (uint32_t)v;
            break;
        case O_KEEPALIVE:
            if (parse_u64(optarg, 0, 65535, &v))
                BAD("--keepalive: 0..65535");
            o->keepalive = (uint16_t)v;
            break;
        case O_USER:
            if (copy(o->username, sizeof(o->username), optarg, "--username"))
                return -1;
            break;
        case O_PASS:
            if (copy(o->password, sizeof(o->password), optarg, "--password"))
                return -1;
            break;
        case O_PERSISTENT:
            o->persistent = true;
            break;
        case O_CLIENT_PREFIX:
            if (copy(o->client_prefix, sizeof(o->client_prefix), optarg,
                     "--client-prefix"))
                return -1;
            break;
        case O_TOPIC_PREFIX:
            if (copy(o->topic_prefix, sizeof(o->topic_prefix), optarg,
                     "--topic-prefix"))
                return -1;
            break;
        case O_FLOOD:
            if (strcmp(optarg, "syn") == 0)
                o->flood_mode = PB_FLOOD_SYN;
            else if (strcmp(optarg, "junk") == 0)
                o->flood_mode = PB_FLOOD_JUNK;
            else
                BAD("--flood: syn or junk, not '%s'", optarg);
            o->flood = true;
            break;
        case O_FLOOD_RATE:
            if (parse_u64(optarg, 1, 1000000000, &v))
                BAD("--flood-rate: 1..1000000000");
            o->flood_rate = v;
            break;
        case O_FLOOD_SRC:
            if (parse_ip(optarg, &o->flood_src_ip, NULL, NULL))
                BAD("--flood-src: IPv4, not '%s'", optarg);
            break;
        case O_FLOOD_SRC_COUNT:
            if (parse_u64(optarg, 1, 1u << 24, &v))
                BAD("--flood-src-count: 1..%u", 1u << 24);
            o->flood_src_count = (uint32_t)v;
            break;
        case O_JSON:
        case O_CSV:
        case O_CDF: {
            char *dst = opt == O_JSON ? o->json_path
                        : opt == O_CSV ? o->csv_path
                                       : o->cdf_path;

            if (copy(dst, sizeof(o->json_path), optarg, "file name"))
                return -1;
            break;
        }
        case O_QUIET:
            o->quiet = true;
            break;
        case O_FAIL_LOSS:
        case O_NO_FAIL_LOSS:
            o->fail_on_loss = opt == O_FAIL_LOSS;
            loss_set = true;
            break;
        case O_RCV_BUF:
        case O_SND_BUF:
            if (parse_u64(optarg, 1024, 65535, &v))
                BAD("--tcp-rcv-buf/--tcp-snd-buf: 1024..65535");
            if (opt == O_RCV_BUF)
                o->tcp_rcv_buf = (uint32_t)v;
            else
                o->tcp_snd_buf = (uint32_t)v;
            break;
        case O_MBUFS:
            if (parse_u64(optarg, 1024, 16777215, &v))
                BAD("--mbufs: 1024..16777215");
            o->mbufs = (uint32_t)v;
            break;
        case 'h':
        case O_HELP:
            pb_opts_usage(stdout);
            return 1;
        default:
            pb_opts_usage(stderr);
            return -1;
        }
    }
    if (optind < argc)
        BAD("unexpected argument '%s' (EAL options go before `--`)",
            argv[optind]);
    return check(o, loss_set);
}
