/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `stats` and `config show`: read-only views of dataplane counters and of
 * the settings in force, for the control socket. Runs on the control plane;
 * counters are snapshots taken with relaxed loads (pt_dp_core_info()).
 */
#include <errno.h>
#include <string.h>

#include <petrel/control.h>
#include <petrel/ctl.h>

static void
net_json(struct pt_buf *out, const struct pt_net_stats *s)
{
    pt_buf_printf(out,
                  "\"rx_pkts\":%lu,\"rx_bytes\":%lu,\"tx_pkts\":%lu,"
                  "\"tx_bytes\":%lu,\"arp_replies\":%lu,\"arp_requests\":%lu,"
                  "\"arp_learned\":%lu,\"icmp_echo_replies\":%lu,\"drops\":{",
                  s->rx_pkts, s->rx_bytes, s->tx_pkts, s->tx_bytes,
                  s->arp_replies, s->arp_requests, s->arp_learned,
                  s->icmp_echo_replies);
    for (unsigned d = 0; d < PT_NET_DROP_MAX; d++)
        pt_buf_printf(out, "%s\"%s\":%lu", d ? "," : "",
                      pt_net_drop_name((enum pt_net_drop)d), s->drops[d]);
    pt_buf_printf(out, "}");
}

static void
tcp_json(struct pt_buf *out, const struct pt_tcp_stats *s)
{
    pt_buf_printf(out, "\"tcp\":{");
    for (unsigned i = 0; i < PT_TCP_C_MAX; i++)
        pt_buf_printf(out, "\"%s\":%lu,",
                      pt_tcp_counter_name((enum pt_tcp_counter)i), s->c[i]);
    pt_buf_printf(out,
                  "\"conns_in_use\":%lu,\"conns_max\":%lu,"
                  "\"time_wait_in_use\":%lu,\"time_wait_max\":%lu,"
                  "\"conn_bytes\":%lu,\"time_wait_bytes\":%lu,\"states\":{",
                  s->conns_in_use, s->conns_max, s->tw_in_use, s->tw_max,
                  s->conn_bytes, s->tw_bytes);
    for (unsigned i = 0; i < PT_TCP_STATE_MAX; i++)
        pt_buf_printf(out, "%s\"%s\":%lu", i ? "," : "",
                      pt_tcp_state_name((enum pt_tcp_state)i), s->states[i]);
    pt_buf_printf(out, "},\"drops\":{");
    for (unsigned d = 0; d < PT_TCP_DROP_MAX; d++)
        pt_buf_printf(out, "%s\"%s\":%lu", d ? "," : "",
                      pt_tcp_drop_name((enum pt_tcp_drop)d), s->drops[d]);
    pt_buf_printf(out, "}}");
}

static void
mqtt_json(struct pt_buf *out, const struct pt_mqtt_stats *s)
{
    pt_buf_printf(out, "\"mqtt\":{");
    for (unsigned i = 0; i < PT_MQTT_C_MAX; i++)
        pt_buf_printf(out, "\"%s\":%lu,",
                      pt_mqtt_counter_name((enum pt_mqtt_counter)i), s->c[i]);
    pt_buf_printf(out,
                  "\"mqtt_connections\":%lu,\"mqtt_connected\":%lu,"
                  "\"mqtt_sessions\":%lu,\"mqtt_subscriptions\":%lu,"
                  "\"mqtt_queued\":%lu,\"mqtt_conn_bytes\":%lu,"
                  "\"mqtt_session_bytes\":%lu,\"mqtt_sub_bytes\":%lu,"
                  "\"mqtt_ring_backlog\":%lu,\"violations\":{",
                  s->connections, s->connected, s->sessions, s->subscriptions,
                  s->queued, s->conn_bytes, s->session_bytes, s->sub_bytes,
                  s->ring_backlog);
    for (unsigned e = 1; e < PT_MQTT_E_MAX; e++)
        pt_buf_printf(out, "%s\"%s\":%lu", e > 1 ? "," : "",
                      pt_mqtt_err_name((enum pt_mqtt_err)e), s->errors[e]);
    for (unsigned v = 0; v < PT_MQTT_V_MAX; v++)
        pt_buf_printf(out, ",\"%s\":%lu",
                      pt_mqtt_violation_name((enum pt_mqtt_violation)v),
                      s->violations[v]);
    pt_buf_printf(out, "}}");
}

static void
broker_json(struct pt_buf *out, const struct pt_broker *b)
{
    struct pt_broker_ctl_stats st;
    const char *sep = "";

    pt_broker_ctl_stats(b, &st);
    pt_buf_printf(out, ",\"broker\":{");
#define PT_X(field, name, kind, help)                                          \
    pt_buf_printf(out, "%s\"" name "\":%lu", sep, st.field);                   \
    sep = ",";
    PT_BROKER_CTL_STATS(PT_X)
#undef PT_X
    pt_buf_printf(out, "}");
}

static void
fault_dir_json(struct pt_buf *out, const char *name,
               const struct pt_fault_dir_stats *d)
{
    pt_buf_printf(out,
                  "\"%s\":{\"passed\":%lu,\"dropped\":%lu,"
                  "\"duplicated\":%lu,\"reordered\":%lu,\"delayed\":%lu,"
                  "\"held_overflow\":%lu,\"held\":%lu}",
                  name, d->passed, d->dropped, d->duplicated, d->reordered,
                  d->delayed, d->held_overflow, d->held);
}

static void
fault_json(struct pt_buf *out, const struct pt_fault_stats *f)
{
    pt_buf_printf(out, "\"fault\":{");
    fault_dir_json(out, "rx", &f->rx);
    pt_buf_printf(out, ",");
    fault_dir_json(out, "tx", &f->tx);
    pt_buf_printf(out, "}");
}

static void
sum_u64(void *sum, const void *s, size_t size)
{
    uint64_t *d = sum;
    const uint64_t *x = s;

    for (size_t i = 0; i < size / sizeof(uint64_t); i++)
        d[i] += x[i];
}

static int
cmd_stats(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    struct pt_dp *dp = ctx;
    struct pt_net_stats total;
    struct pt_tcp_stats tcp_total;
    struct pt_fault_stats fault_total;
    struct pt_mqtt_stats mqtt_total;
    bool fault_on = false, mqtt_on = false;
    uint64_t loops = 0;

    (void)argv;
    if (argc != 0) {
        pt_buf_printf(out, "stats takes no arguments");
        return -EINVAL;
    }
    memset(&total, 0, sizeof(total));
    memset(&tcp_total, 0, sizeof(tcp_total));
    memset(&fault_total, 0, sizeof(fault_total));
    memset(&mqtt_total, 0, sizeof(mqtt_total));
    pt_buf_printf(out, "{\"cores\":[");
    for (unsigned i = 0; i < pt_dp_n_cores(dp); i++) {
        struct pt_dp_core_info ci;

        pt_dp_core_info(pt_dp_core(dp, i), &ci);
        pt_buf_printf(out,
                      "%s{\"core\":%u,\"lcore\":%u,\"queue\":%u,"
                      "\"loops\":%lu,\"busy_loops\":%lu,\"naps\":%lu,"
                      "\"pool_in_use\":%u,\"pool_size\":%u,",
                      i ? "," : "", i, ci.lcore_id, ci.queue_id, ci.loops,
                      ci.busy_loops, ci.naps, ci.pool_in_use, ci.pool_size);
        net_json(out, &ci.net);
        pt_buf_printf(out, ",");
        tcp_json(out, &ci.tcp);
        if (ci.mqtt_on) {
            pt_buf_printf(out, ",");
            mqtt_json(out, &ci.mqtt);
            mqtt_on = true;
        }
        if (ci.fault_on) {
            pt_buf_printf(out, ",");
            fault_json(out, &ci.fault);
            fault_on = true;
        }
        pt_buf_printf(out, "}");
        sum_u64(&total, &ci.net, sizeof(ci.net));
        sum_u64(&tcp_total, &ci.tcp, sizeof(ci.tcp));
        /* sizes per connection are the same on every core, not a sum */
        tcp_total.conn_bytes = ci.tcp.conn_bytes;
        tcp_total.tw_bytes = ci.tcp.tw_bytes;
        sum_u64(&fault_total, &ci.fault, sizeof(ci.fault));
        sum_u64(&mqtt_total, &ci.mqtt, sizeof(ci.mqtt));
        mqtt_total.conn_bytes = ci.mqtt.conn_bytes;
        mqtt_total.session_bytes = ci.mqtt.session_bytes;
        mqtt_total.sub_bytes = ci.mqtt.sub_bytes;
        loops += ci.loops;
    }
    pt_buf_printf(out, "],\"total\":{\"loops\":%lu,", loops);
    net_json(out, &total);
    pt_buf_printf(out, ",");
    tcp_json(out, &tcp_total);
    if (mqtt_on) {
        pt_buf_printf(out, ",");
        mqtt_json(out, &mqtt_total);
    }
    if (fault_on) {
        pt_buf_printf(out, ",");
        fault_json(out, &fault_total);
    }
    pt_buf_printf(out, "}");
    if (pt_dp_broker(dp) != NULL)
        broker_json(out, pt_dp_broker(dp));
    pt_buf_printf(out, "}");
    return 0;
}

static int
cmd_config_show(void *ctx, int argc, char **argv, struct pt_buf *out)
{
    const struct pt_config *cfg = ctx;
    size_t n = pt_config_describe(NULL, 0);
    struct pt_config_key_info info[PT_CONFIG_KEYS_MAX];
    char val[PT_EAL_ARGS_MAX];

    (void)argc;
    (void)argv;
    pt_config_describe(info, n);
    pt_buf_printf(out, "{");
    for (size_t i = 0; i < n; i++) {
        pt_config_get(cfg, info[i].key, val, sizeof(val));
        pt_buf_printf(out, "%s", i ? "," : "");
        pt_buf_json_str(out, info[i].key);
        pt_buf_printf(out, ":");
        pt_buf_json_str(out, val);
    }
    pt_buf_printf(out, "}");
    return 0;
}

int
pt_cmd_stats_register(struct pt_ctl *ctl, struct pt_dp *dp)
{
    static struct pt_ctl_cmd cmd = {
        .name = "stats", .args = "",
        .help = "per-core and total counters: packets, bytes, ARP, ICMP, "
                "TCP (events, connections per state, pool use, drops by "
                "reason), MQTT (events, sessions, violations by reason), "
                "broker (logins, client ids, retained, routes), fault injection, loops (heartbeat), mempool use",
        .fn = cmd_stats,
    };

    cmd.ctx = dp;
    return pt_ctl_register(ctl, &cmd);
}

int
pt_cmd_config_register(struct pt_ctl *ctl, const struct pt_config *cfg)
{
    static struct pt_ctl_cmd cmd = {
        .name = "config show", .args = "",
        .help = "every configuration key with the value in force",
        .fn = cmd_config_show,
    };

    cmd.ctx = (void *)(uintptr_t)cfg;
    return pt_ctl_register(ctl, &cmd);
}
