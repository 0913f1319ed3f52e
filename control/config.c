/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Table-driven configuration parser (see include/petrel/config.h).
 *
 * Each key is one row of `keys[]`: name, type, where it lives in struct
 * pt_config, default (as text, parsed by the same code as a file line, so a
 * default can never disagree with the parser), bounds, whether it can change
 * at run time, and help text. Adding a setting is adding a row.
 *
 * Not here: applying settings (the owners read struct pt_config), and the
 * run-time `config set` path (that is the control socket's, later).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/config.h>

enum key_type {
    KT_STRING,
    KT_U16,
    KT_U32,
    KT_IPV4,        /* a.b.c.d or empty (= 0) */
    KT_IPV4_PREFIX, /* a.b.c.d/len (len 1-32) or empty (= 0/0) */
    KT_IDLE,
    KT_BOOL,        /* on|off (also true|false, yes|no, 1|0) */
};

struct key {
    const char *name;
    enum key_type type;
    size_t off;      /* offset of the value in struct pt_config */
    size_t size;     /* for strings: buffer size */
    size_t off2;     /* for prefixes: offset of the uint8_t length */
    const char *def;
    uint32_t min;
    uint32_t max;
    bool runtime;
    const char *help;
};

#define F(m) offsetof(struct pt_config, m)
#define S(m) sizeof(((struct pt_config *)0)->m)

static const struct key keys[] = {
    { "name", KT_STRING, F(name), S(name), 0, "petrel", 1, 0, false,
      "instance name: selects the DPDK runtime prefix (petrel-<name>), the "
      "lock and the default control socket; two running instances must differ" },
    { "port", KT_STRING, F(port_devargs), S(port_devargs), 0,
      "net_tap0,iface=petrel0", 1, 0, false,
      "the port: a DPDK vdev spec (net_tap..., net_memif..., net_af_packet...) "
      "or the PCI address of a NIC bound to vfio-pci" },
    { "port.rx_desc", KT_U16, F(rx_desc), 0, 0, "1024", 64, 16384, false,
      "RX descriptors per queue" },
    { "port.tx_desc", KT_U16, F(tx_desc), 0, 0, "1024", 64, 16384, false,
      "TX descriptors per queue" },
    { "net.ip", KT_IPV4_PREFIX, F(ip), 0, F(prefix_len), "10.99.0.2/24", 0, 0,
      false, "the broker's IPv4 address and prefix length" },
    { "net.gateway", KT_IPV4, F(gateway), 0, 0, "", 0, 0, false,
      "default gateway (empty: none); dataplane core 0 resolves it by "
      "ARP at start and keeps it resolved" },
    { "tap.host_ip", KT_IPV4_PREFIX, F(tap_host_ip), 0, F(tap_host_prefix_len),
      "10.99.0.1/24", 0, 0, false,
      "for a net_tap port: address petreld gives the kernel side of the tap "
      "so local clients can connect (empty: leave the interface alone)" },
    { "dp.cores", KT_U32, F(dp_cores), 0, 0, "1", 1, 64, false,
      "dataplane lcores; each polls its own RX/TX queue pair of the port" },
    { "dp.idle", KT_IDLE, F(idle), 0, 0, "auto", 0, 0, false,
      "idle policy of dataplane lcores: busy (spin), adaptive (nap when "
      "idle), auto (adaptive on hosts with fewer than 4 CPUs)" },
    { "dp.idle_max_sleep_us", KT_U32, F(idle_max_sleep_us), 0, 0, "200", 1,
      100000, false, "longest nap of an idle adaptive lcore, microseconds" },
    { "dp.burst", KT_U32, F(burst), 0, 0, "32", 1, 64, false,
      "packets per RX burst" },
    { "dp.mbufs", KT_U32, F(mbufs_per_core), 0, 0, "8191", 1024, 16777215,
      false, "mbufs in each dataplane core's pool" },
    { "arp.entries", KT_U32, F(arp_entries), 0, 0, "1024", 16, 1048576, false,
      "neighbour cache slots per core (rounded up to a power of two)" },
    { "arp.timeout_s", KT_U32, F(arp_timeout_s), 0, 0, "300", 1, 86400, false,
      "seconds a learned neighbour stays valid without being seen" },
    { "ctl.socket", KT_STRING, F(ctl_socket), S(ctl_socket), 0, "", 0, 0,
      false, "control socket path (empty: " PT_RUN_DIR "/<name>.sock)" },
    { "log.level", KT_STRING, F(log_level), S(log_level), 0, "info", 1, 0,
      true, "log level of petrel's modules: err, warning, notice, info, debug" },
    { "eal.args", KT_STRING, F(eal_args), S(eal_args), 0, "", 0, 0, false,
      "extra EAL arguments, space separated (command-line EAL arguments "
      "before `--` are added after these)" },
    { "tcp.echo_port", KT_U16, F(tcp_echo_port), 0, 0, "0", 0, 65535, false,
      "diagnostic TCP echo listener on this port (0: off); echoes every "
      "byte back, for testing and operating the stack without MQTT" },
    { "tcp.mss", KT_U16, F(tcp_mss), 0, 0, "1460", 536, 1460, false,
      "largest TCP payload we announce and send (the peer's MSS caps it too)" },
    { "tcp.max_conns", KT_U32, F(tcp_max_conns), 0, 0, "65536", 16, 16777216,
      false, "TCP connections per dataplane core (pool size; half-open "
      "ones included)" },
    { "tcp.syn_backlog", KT_U32, F(tcp_syn_backlog), 0, 0, "1024", 1, 16777216,
      false, "half-open (SYN_RCVD) connections per core before SYN cookies "
      "(or drops) take over" },
    { "tcp.syncookies", KT_BOOL, F(tcp_syncookies), 0, 0, "on", 0, 0, false,
      "answer SYNs with SYN cookies once the SYN backlog is full (off: drop "
      "them)" },
    { "tcp.rcv_buf", KT_U32, F(tcp_rcv_buf), 0, 0, "65535", 1460, 65535, false,
      "receive budget per connection: bytes delivered but not yet consumed, "
      "the most we advertise (no window scaling)" },
    { "tcp.snd_buf", KT_U32, F(tcp_snd_buf), 0, 0, "131072", 1460, 16777216,
      false, "send budget per connection: bytes queued and not yet acknowledged" },
    { "tcp.delayed_ack_ms", KT_U32, F(tcp_delayed_ack_ms), 0, 0, "10", 0, 500,
      false, "delay before acknowledging a lone segment (0: acknowledge every "
      "segment at once); every second full segment is acknowledged at once" },
    { "tcp.rto_initial_ms", KT_U32, F(tcp_rto_initial_ms), 0, 0, "1000", 1,
      60000, false, "retransmission timeout before the first RTT sample "
      "(RFC 6298: 1 s)" },
    { "tcp.rto_min_ms", KT_U32, F(tcp_rto_min_ms), 0, 0, "200", 1, 60000, false,
      "lower bound of the retransmission timeout" },
    { "tcp.rto_max_ms", KT_U32, F(tcp_rto_max_ms), 0, 0, "60000", 100, 600000,
      false, "upper bound of the retransmission timeout (and its backoff)" },
    { "tcp.max_retries", KT_U32, F(tcp_max_retries), 0, 0, "12", 1, 30, false,
      "retransmissions of the same data before the connection is aborted" },
    { "tcp.synack_retries", KT_U32, F(tcp_synack_retries), 0, 0, "5", 0, 30,
      false, "SYN-ACK retransmissions before a half-open connection is dropped" },
    { "tcp.time_wait_ms", KT_U32, F(tcp_time_wait_ms), 0, 0, "60000", 0, 240000,
      false, "how long a connection we closed first lingers in TIME_WAIT "
      "(2 MSL; 0: skip TIME_WAIT)" },
    { "tcp.time_wait_max", KT_U32, F(tcp_time_wait_max), 0, 0, "65536", 0,
      16777216, false, "compact TIME_WAIT entries per core (when full, a "
      "closing connection skips TIME_WAIT)" },
    { "tcp.reply_limit", KT_U32, F(tcp_reply_limit), 0, 0, "10000", 1, 10000000,
      false, "RSTs and challenge ACKs a core sends per second in answer to "
      "unexpected segments (RFC 5961 throttle)" },
    { "tcp.ooo_segments", KT_U32, F(tcp_ooo_segments), 0, 0, "64", 0, 255,
      false, "segments a connection keeps past a hole until it fills (0: "
      "drop them and let the peer retransmit); a core's queues together "
      "hold at most a quarter of its mbufs" },
    { "fault.seed", KT_U32, F(fault_seed), 0, 0, "1", 0, UINT32_MAX, false,
      "seed of the fault-injection generator (each core adds its index)" },
    { "fault.rx_drop_ppm", KT_U32, F(fault_rx_drop_ppm), 0, 0, "0", 0, 1000000,
      false, "fault injection: drop this many per million received frames, before the stack" },
    { "fault.rx_dup_ppm", KT_U32, F(fault_rx_dup_ppm), 0, 0, "0", 0, 1000000,
      false, "fault injection: duplicate this many per million received frames, before the stack" },
    { "fault.rx_reorder_ppm", KT_U32, F(fault_rx_reorder_ppm), 0, 0, "0", 0,
      1000000, false, "fault injection: hold back this many per million "
      "received frames, before the stack until the next one has passed" },
    { "fault.rx_delay_us", KT_U32, F(fault_rx_delay_us), 0, 0, "0", 0, 1000000,
      false, "fault injection: delay every one of the received frames, before the stack by this many "
      "microseconds" },
    { "fault.tx_drop_ppm", KT_U32, F(fault_tx_drop_ppm), 0, 0, "0", 0, 1000000,
      false, "fault injection: drop this many per million transmitted frames, after the stack" },
    { "fault.tx_dup_ppm", KT_U32, F(fault_tx_dup_ppm), 0, 0, "0", 0, 1000000,
      false, "fault injection: duplicate this many per million transmitted frames, after the stack" },
    { "fault.tx_reorder_ppm", KT_U32, F(fault_tx_reorder_ppm), 0, 0, "0", 0,
      1000000, false, "fault injection: hold back this many per million "
      "transmitted frames, after the stack until the next one has passed" },
    { "fault.tx_delay_us", KT_U32, F(fault_tx_delay_us), 0, 0, "0", 0, 1000000,
      false, "fault injection: delay every one of the transmitted frames, after the stack by this many "
      "microseconds" },
    { "mqtt.port", KT_U16, F(mqtt_port), 0, 0, "1883", 0, 65535, false,
      "MQTT listener port on every dataplane core (0: no MQTT)" },
    { "mqtt.max_packet", KT_U32, F(mqtt_max_packet), 0, 0, "1048576", 64,
      268435455, false, "largest MQTT packet accepted, bytes (header "
      "included); a client that announces a larger one is disconnected" },
    { "mqtt.max_sessions", KT_U32, F(mqtt_max_sessions), 0, 0, "65536", 16,
      16777216, false, "MQTT sessions per core, connected and offline "
      "persistent ones together" },
    { "mqtt.max_subscriptions", KT_U32, F(mqtt_max_subscriptions), 0, 0,
      "131072", 16, 67108864, false, "subscriptions per core; a SUBSCRIBE "
      "beyond gets return code 0x80 for that filter" },
    { "mqtt.max_inflight", KT_U32, F(mqtt_max_inflight), 0, 0, "32", 1, 65535,
      false, "QoS 1/2 messages sent to one session and not yet acknowledged; "
      "more wait in the session's queue" },
    { "mqtt.max_queued", KT_U32, F(mqtt_max_queued), 0, 0, "1000", 0, 1000000,
      false, "QoS 1/2 messages queued for one session (offline, or its "
      "in-flight window full); a message beyond is dropped for that session "
      "and counted (mqtt_queue_dropped)" },
    { "mqtt.max_queued_bytes", KT_U32, F(mqtt_max_queued_bytes), 0, 0,
      "16777216", 0, UINT32_MAX, false, "payload bytes queued for one session; "
      "the same drop policy as mqtt.max_queued" },
    { "mqtt.queue_entries", KT_U32, F(mqtt_queue_entries), 0, 0, "131072", 64,
      67108864, false, "queue and in-flight entries per core, all sessions "
      "together (24 bytes each)" },
    { "mqtt.max_routes", KT_U32, F(mqtt_max_routes), 0, 0, "131072", 64,
      67108864, false, "routes (topic filter, core) in the global route table; a "
      "SUBSCRIBE that needs a route beyond gets 0x80 for that filter" },
    { "mqtt.max_retained", KT_U32, F(mqtt_max_retained), 0, 0, "65536", 0,
      16777216, false, "retained messages kept by the broker; a new topic "
      "beyond is not retained (counted)" },
    { "mqtt.ring_size", KT_U32, F(mqtt_ring_size), 0, 0, "8192", 64, 1048576,
      false, "descriptors in each ring between two cores (rounded up to a "
      "power of two)" },
    { "mqtt.sys_interval_s", KT_U32, F(mqtt_sys_interval_s), 0, 0, "10", 0,
      86400, false, "period of the $SYS/broker/... statistics topics, "
      "seconds (0: none)" },
    { "mqtt.allow_anonymous", KT_BOOL, F(mqtt_allow_anonymous), 0, 0, "off",
      0, 0, true, "accept CONNECT without a user name (else CONNACK 0x05); "
      "`make run` turns it on" },
    { "mqtt.shutdown_grace_ms", KT_U32, F(mqtt_shutdown_grace_ms), 0, 0,
      "2000", 0, 60000, true, "graceful shutdown: after closing every "
      "session (wills published), wait at most this long for queued output "
      "to reach the clients before the cores stop" },
    { "auth.password_file", KT_STRING, F(auth_password_file),
      S(auth_password_file), 0, "", 0, 0, true, "password file in "
      "mosquitto_passwd format ($7$ PBKDF2-SHA512, $6$ SHA-512); empty: "
      "user names are not checked. Re-read by `reload` and SIGHUP" },
    { "auth.acl_file", KT_STRING, F(auth_acl_file), S(auth_acl_file), 0, "",
      0, 0, true, "ACL file in Mosquitto's acl_file format; empty: every "
      "client may publish and subscribe to every topic. Re-read by `acl "
      "reload`, `reload` and SIGHUP" },
    { "auth.fail_limit", KT_U32, F(auth_fail_limit), 0, 0, "5", 1, 1000000,
      true, "failed logins from one source address, or for one user name, "
      "before further attempts from it are refused unchecked for a while" },
    { "auth.fail_block_ms", KT_U32, F(auth_fail_block_ms), 0, 0, "1000", 1,
      3600000, true, "first block after auth.fail_limit failures; each "
      "further failure doubles it" },
    { "auth.fail_block_max_ms", KT_U32, F(auth_fail_block_max_ms), 0, 0,
      "60000", 1, 86400000, true, "longest block of a source or user name" },
    { "auth.throttle_entries", KT_U32, F(auth_throttle_entries), 0, 0, "4096",
      16, 16777216, false, "source addresses and user names whose failures "
      "are remembered, each (the least recently failed are forgotten first)" },
    { "auth.max_users", KT_U32, F(auth_max_users), 0, 0, "65536", 16,
      16777216, false, "distinct user names the broker knows at once (from "
      "the password file, the ACL file and logins); a login with a new name "
      "beyond gets CONNACK 0x03" },
    { "rules.file", KT_STRING, F(rules_file), S(rules_file), 0, "", 0, 0,
      true, "content rules file (docs/rules.md): Hyperscan patterns every "
      "PUBLISH is scanned against; empty: none. Re-read by `rules reload`, "
      "`reload` and SIGHUP; a file that does not compile keeps the rules "
      "in force" },
    { "health.stall_ms", KT_U32, F(health_stall_ms), 0, 0, "500", 10, 60000,
      true, "a dataplane core whose heartbeat has not moved for this long "
      "is reported stalled" },
    { "health.pool_warn_pct", KT_U32, F(health_pool_warn_pct), 0, 0, "90", 1,
      100, true, "a mempool or connection/session pool used past this "
      "percentage makes `health` fail" },
    { "health.ring_warn_pct", KT_U32, F(health_ring_warn_pct), 0, 0, "75", 1,
      100, true, "an inter-core ring filled past this percentage makes "
      "`health` fail" },
    { "debug.hooks", KT_BOOL, F(debug_hooks), 0, 0, "off", 0, 0, false,
      "test-only control commands (`debug stall`); never on in production" },
    { "metrics.address", KT_IPV4, F(metrics_address), 0, 0, "127.0.0.1", 0, 0,
      false, "address of the Prometheus HTTP listener (kernel socket in "
      "petreld's network namespace)" },
    { "metrics.port", KT_U16, F(metrics_port), 0, 0, "9883", 0, 65535, false,
      "port of the Prometheus HTTP listener, GET /metrics (0: off)" },
    { "metrics.telemetry", KT_BOOL, F(metrics_telemetry), 0, 0, "on", 0, 0,
      false, "register the main counters with DPDK telemetry (/petrel/...) "
      "for dpdk-telemetry.py" },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= PT_CONFIG_KEYS_MAX, "raise PT_CONFIG_KEYS_MAX");

static const char *const idle_names[] = {
    [PT_IDLE_AUTO] = "auto",
    [PT_IDLE_BUSY] = "busy",
    [PT_IDLE_ADAPTIVE] = "adaptive",
};

const char *
pt_idle_mode_name(enum pt_idle_mode m)
{
    return (unsigned)m < 3 ? idle_names[m] : "?";
}

int
pt_log_level_parse(const char *s)
{
    static const char *const names[] = { "err", "warning", "notice", "info",
                                         "debug" };

    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return 4 + i; /* RTE_LOG_ERR .. RTE_LOG_DEBUG */
    return -1;
}

static const struct key *
find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int
fail(char *err, size_t errlen, const char *origin, unsigned line,
     const char *key, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err != NULL && errlen > 0) {
        if (line > 0)
            snprintf(err, errlen, "%s:%u: %s: %s", origin, line, key, msg);
        else
            snprintf(err, errlen, "%s: %s: %s", origin, key, msg);
    }
    return -EINVAL;
}

static int
parse_u32(const char *v, uint32_t *out)
{
    char *end;
    unsigned long long x;

    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || x > UINT32_MAX)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

static int
parse_ipv4(const char *v, uint32_t *out)
{
    struct in_addr a;

    if (inet_pton(AF_INET, v, &a) != 1)
        return -1;
    *out = a.s_addr;
    return 0;
}

int
pt_config_set(struct pt_config *cfg, const char *name, const char *value,
              const char *origin, unsigned line, char *err, size_t errlen)
{
    const struct key *k = find_key(name);
    char *base = (char *)cfg;
    uint32_t u;

    if (k == NULL)
        return fail(err, errlen, origin, line, name, "unknown key");

    switch (k->type) {
    case KT_STRING:
        if (strlen(value) >= k->size)
            return fail(err, errlen, origin, line, name,
                        "value longer than %zu characters", k->size - 1);
        if (strlen(value) < k->min)
            return fail(err, errlen, origin, line, name, "must not be empty");
        if (strcmp(name, "name") == 0) {
            for (const char *p = value; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
                    return fail(err, errlen, origin, line, name,
                                "only letters, digits, '-' and '_' allowed");
        }
        if (strcmp(name, "log.level") == 0 && pt_log_level_parse(value) < 0)
            return fail(err, errlen, origin, line, name,
                        "'%s' is not one of err, warning, notice, info, debug",
                        value);
        memcpy(base + k->off, value, strlen(value) + 1);
        return 0;
    case KT_U16:
    case KT_U32:
        if (parse_u32(value, &u) != 0)
            return fail(err, errlen, origin, line, name,
                        "'%s' is not a non-negative integer", value);
        if (u < k->min || u > k->max)
            return fail(err, errlen, origin, line, name,
                        "%u out of range %u-%u", u, k->min, k->max);
        if (k->type == KT_U16)
            *(uint16_t *)(base + k->off) = (uint16_t)u;
        else
            *(uint32_t *)(base + k->off) = u;
        return 0;
    case KT_IPV4:
        if (value[0] == '\0') {
            *(uint32_t *)(base + k->off) = 0;
            return 0;
        }
        if (parse_ipv4(value, &u) != 0)
            return fail(err, errlen, origin, line, name,
                        "'%s' is not an IPv4 address", value);
        *(uint32_t *)(base + k->off) = u;
        return 0;
    case KT_IPV4_PREFIX: {
        char addr[32];
        const char *slash = strchr(value, '/');
        uint32_t len;

        if (value[0] == '\0') {
            *(uint32_t *)(base + k->off) = 0;
            *(uint8_t *)(base + k->off2) = 0;
            return 0;
        }
        if (slash == NULL || (size_t)(slash - value) >= sizeof(addr) ||
            parse_u32(slash + 1, &len) != 0 || len < 1 || len > 32)
            return fail(err, errlen, origin, line, name,
                        "'%s' is not an address/prefix such as 10.0.0.2/24",
                        value);
        memcpy(addr, value, (size_t)(slash - value));
        addr[slash - value] = '\0';
        if (parse_ipv4(addr, &u) != 0)
            return fail(err, errlen, origin, line, name,
                        "'%s' is not an IPv4 address", addr);
        *(uint32_t *)(base + k->off) = u;
        *(uint8_t *)(base + k->off2) = (uint8_t)len;
        return 0;
    }
    case KT_IDLE:
        for (unsigned i = 0; i < 3; i++) {
            if (strcmp(value, idle_names[i]) == 0) {
                *(enum pt_idle_mode *)(base + k->off) = (enum pt_idle_mode)i;
                return 0;
            }
        }
        return fail(err, errlen, origin, line, name,
                    "'%s' is not one of auto, busy, adaptive", value);
    case KT_BOOL: {
        static const char *const yes[] = { "on", "true", "yes", "1" };
        static const char *const no[] = { "off", "false", "no", "0" };

        for (unsigned i = 0; i < 4; i++) {
            if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
                *(bool *)(base + k->off) = strcmp(value, yes[i]) == 0;
                return 0;
            }
        }
        return fail(err, errlen, origin, line, name,
                    "'%s' is not on or off", value);
    }
    }
    return fail(err, errlen, origin, line, name, "internal: bad key type");
}

void
pt_config_defaults(struct pt_config *cfg)
{
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_KEYS; i++) {
        rc = pt_config_set(cfg, keys[i].name, keys[i].def, "<defaults>", 0,
                           NULL, 0);
        (void)rc; /* a default that does not parse is caught by test_config */
    }
}

static char *
trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int
pt_config_load(struct pt_config *cfg, const char *path, char *err,
               size_t errlen)
{
    char buf[1024];
    unsigned line = 0;
    FILE *f = fopen(path, "r");
    int rc = 0;

    if (f == NULL) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    while (fgets(buf, sizeof(buf), f) != NULL) {
        char *s, *eq, *hash;

        line++;
        if (strchr(buf, '\n') == NULL && !feof(f)) {
            rc = fail(err, errlen, path, line, "-", "line too long");
            break;
        }
        hash = strchr(buf, '#');
        if (hash != NULL)
            *hash = '\0';
        s = trim(buf);
        if (*s == '\0')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            rc = fail(err, errlen, path, line, s, "expected `key = value`");
            break;
        }
        *eq = '\0';
        rc = pt_config_set(cfg, trim(s), trim(eq + 1), path, line, err,
                           errlen);
        if (rc != 0)
            break;
    }
    fclose(f);
    return rc;
}

static uint32_t
prefix_mask(uint8_t len)
{
    return len == 0 ? 0 : htonl(~0u << (32 - len));
}

int
pt_config_validate(const struct pt_config *cfg, char *err, size_t errlen)
{
    uint32_t mask = prefix_mask(cfg->prefix_len);

    if (cfg->ip == 0)
        return fail(err, errlen, "config", 0, "net.ip", "must be set");
    if (cfg->gateway != 0 && (cfg->gateway & mask) != (cfg->ip & mask))
        return fail(err, errlen, "config", 0, "net.gateway",
                    "not inside net.ip's subnet");
    if (cfg->tap_host_ip != 0 && cfg->tap_host_ip == cfg->ip)
        return fail(err, errlen, "config", 0, "tap.host_ip",
                    "must differ from net.ip");
    if (cfg->tap_host_ip != 0 &&
        (cfg->tap_host_ip & mask) != (cfg->ip & mask))
        return fail(err, errlen, "config", 0, "tap.host_ip",
                    "not inside net.ip's subnet");
    if (cfg->tcp_rto_min_ms > cfg->tcp_rto_max_ms)
        return fail(err, errlen, "config", 0, "tcp.rto_min_ms",
                    "above tcp.rto_max_ms");
    return 0;
}

int
pt_config_get(const struct pt_config *cfg, const char *name, char *buf,
              size_t buflen)
{
    const struct key *k = find_key(name);
    const char *base = (const char *)cfg;
    char a[INET_ADDRSTRLEN];
    uint32_t ip;

    if (k == NULL)
        return -ENOENT;
    switch (k->type) {
    case KT_STRING:
        snprintf(buf, buflen, "%s", base + k->off);
        break;
    case KT_U16:
        snprintf(buf, buflen, "%u", *(const uint16_t *)(base + k->off));
        break;
    case KT_U32:
        snprintf(buf, buflen, "%u", *(const uint32_t *)(base + k->off));
        break;
    case KT_IPV4:
    case KT_IPV4_PREFIX:
        memcpy(&ip, base + k->off, sizeof(ip));
        if (ip == 0) {
            snprintf(buf, buflen, "%s", "");
            break;
        }
        inet_ntop(AF_INET, &ip, a, sizeof(a));
        if (k->type == KT_IPV4)
            snprintf(buf, buflen, "%s", a);
        else
            snprintf(buf, buflen, "%s/%u", a,
                     *(const uint8_t *)(base + k->off2));
        break;
    case KT_IDLE:
        snprintf(buf, buflen, "%s",
                 pt_idle_mode_name(*(const enum pt_idle_mode *)(base + k->off)));
        break;
    case KT_BOOL:
        snprintf(buf, buflen, "%s", *(const bool *)(base + k->off) ? "on" : "off");
        break;
    }
    return 0;
}

size_t
pt_config_describe(struct pt_config_key_info *info, size_t max)
{
    static char ranges[N_KEYS][40];

    for (size_t i = 0; info != NULL && i < N_KEYS && i < max; i++) {
        const struct key *k = &keys[i];

        switch (k->type) {
        case KT_U16:
        case KT_U32:
            snprintf(ranges[i], sizeof(ranges[i]), "%u-%u", k->min, k->max);
            break;
        case KT_STRING:
            snprintf(ranges[i], sizeof(ranges[i]), "text, at most %zu chars",
                     k->size - 1);
            break;
        case KT_IPV4:
            snprintf(ranges[i], sizeof(ranges[i]), "IPv4 address or empty");
            break;
        case KT_IPV4_PREFIX:
            snprintf(ranges[i], sizeof(ranges[i]), "address/1-32 or empty");
            break;
        case KT_IDLE:
            snprintf(ranges[i], sizeof(ranges[i]), "auto, busy, adaptive");
            break;
        case KT_BOOL:
            snprintf(ranges[i], sizeof(ranges[i]), "on, off");
            break;
        }
        info[i] = (struct pt_config_key_info){
            .key = k->name,
            .default_value = k->def,
            .range = ranges[i],
            .runtime = k->runtime,
            .help = k->help,
        };
    }
    return N_KEYS;
}

void
pt_config_ctl_path(const struct pt_config *cfg, char *buf, size_t len)
{
    if (cfg->ctl_socket[0] != '\0')
        snprintf(buf, len, "%s", cfg->ctl_socket);
    else
        snprintf(buf, len, "%s/%s.sock", PT_RUN_DIR, cfg->name);
}
