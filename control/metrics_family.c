/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The metric families: what `petrelctl stats` shows, as (name, help,
 * counter or gauge, label, values). Both the Prometheus renderer and the
 * telemetry commands walk this list, so they never disagree.
 *
 * Where the names come from:
 *   - the X-macro tables and their name functions (net drops, TCP
 *     counters/drops/states, MQTT counters/errors/violations, the
 *     broker's PT_BROKER_CTL_STATS): a row added there appears here with
 *     no change to this file. Counter tables give one family per row
 *     (petrel_tcp_retransmits_total); reason tables give one family with
 *     a label (petrel_tcp_drops_total{reason="bad_checksum"}); a table's
 *     area prefix ("tcp_", "mqtt_") is dropped from names and labels.
 *   - plain struct fields (the net counters, the TCP and MQTT gauges, the
 *     fault injector's, a core's loops and pool): listed below by hand,
 *     as cmd_stats.c lists them. The _Static_asserts fail the build when
 *     such a struct grows, so a new field cannot be forgotten here.
 *
 * Counter or gauge: every row of the counter and reason tables is a
 * counter, TCP states are gauges, the broker's table says C or G; the
 * hand-listed fields say it in their row. This file is the only place
 * that classifies.
 */
#include <stdio.h>
#include <string.h>

#include <petrel/broker.h>
#include <petrel/ctl.h>
#include <petrel/dataplane.h>

#include "metrics_priv.h"

_Static_assert(sizeof(struct pt_net_stats) ==
               (8 + PT_NET_DROP_MAX) * sizeof(uint64_t),
               "pt_net_stats grew: list the new field in metrics_family.c");
_Static_assert(sizeof(struct pt_tcp_stats) ==
               (PT_TCP_C_MAX + PT_TCP_DROP_MAX + PT_TCP_STATE_MAX + 6) *
               sizeof(uint64_t),
               "pt_tcp_stats grew: list the new field in metrics_family.c");
_Static_assert(sizeof(struct pt_mqtt_stats) ==
               (PT_MQTT_C_MAX + PT_MQTT_E_MAX + PT_MQTT_V_MAX + 9) *
               sizeof(uint64_t),
               "pt_mqtt_stats grew: list the new field in metrics_family.c");
_Static_assert(sizeof(struct pt_fault_dir_stats) == 8 * sizeof(uint64_t),
               "pt_fault_dir_stats grew: list it in metrics_family.c");
_Static_assert(sizeof(struct pt_ctl_stats) == 8 * sizeof(uint64_t),
               "pt_ctl_stats grew: list the new field in metrics_family.c");
_Static_assert(sizeof(struct pt_metrics_http_stats) ==
               (PT_MH_CODE_MAX + 3) * sizeof(uint64_t),
               "pt_metrics_http_stats grew: list it in metrics_family.c");

enum shape {
    SH_FIELD,      /* one value at off */
    SH_SPLIT,      /* n values, a family each: name prefix + elem_name(i) */
    SH_LABELLED,   /* n values, one family, label = elem_name(i) */
};

#define F_U32 0x100u   /* the field is an unsigned int, not a uint64_t */

struct desc {
    enum shape shape;
    enum pt_metrics_src src;
    bool counter;
    unsigned flags;
    const char *name;  /* FIELD, LABELLED: the family; SPLIT: its prefix */
    const char *help;  /* FIELD, LABELLED */
    size_t off;        /* the first value in the source struct */
    size_t stride;     /* SPLIT, LABELLED: bytes from one value to the next */
    unsigned n;        /* SPLIT, LABELLED: values */
    const char *label; /* LABELLED: the label key */
    const char *(*elem_name)(unsigned i);
    const char *(*elem_help)(unsigned i);     /* SPLIT */
    uint64_t (*get)(const void *src, unsigned i); /* instead of off/stride */
};

static const char *
strip(const char *s, const char *prefix)
{
    size_t l = strlen(prefix);

    return strncmp(s, prefix, l) == 0 ? s + l : s;
}

/* Name functions of the tables, as label values or family suffixes. */
static const char *
net_drop(unsigned i)
{
    return pt_net_drop_name((enum pt_net_drop)i);
}

static const char *
tcp_counter(unsigned i)
{
    return pt_tcp_counter_name((enum pt_tcp_counter)i);
}

static const char *
tcp_counter_help(unsigned i)
{
    return pt_tcp_counter_help((enum pt_tcp_counter)i);
}

static const char *
tcp_drop(unsigned i)
{
    return strip(pt_tcp_drop_name((enum pt_tcp_drop)i), "tcp_");
}

static const char *
tcp_state(unsigned i)
{
    return pt_tcp_state_name((enum pt_tcp_state)i);
}

static const char *
mqtt_counter(unsigned i)
{
    return strip(pt_mqtt_counter_name((enum pt_mqtt_counter)i), "mqtt_");
}

static const char *const mqtt_counter_helps[] = {
#define PT_X(id, name, help) help,
    PT_MQTT_COUNTERS(PT_X)
#undef PT_X
};

static const char *
mqtt_counter_help(unsigned i)
{
    return i < PT_MQTT_C_MAX ? mqtt_counter_helps[i] : "?";
}

/* Codec errors (1 .. PT_MQTT_E_MAX-1) then session violations: one
 * family, as `stats` shows them in one "violations" object. */
#define MQTT_N_ERR (PT_MQTT_E_MAX - 1)

static const char *
mqtt_violation(unsigned j)
{
    if (j < MQTT_N_ERR)
        return strip(pt_mqtt_err_name((enum pt_mqtt_err)(j + 1)), "mqtt_");
    return strip(pt_mqtt_violation_name(
                     (enum pt_mqtt_violation)(j - MQTT_N_ERR)), "mqtt_");
}

static uint64_t
mqtt_violation_get(const void *src, unsigned j)
{
    const struct pt_dp_core_info *ci = src;

    return j < MQTT_N_ERR ? ci->mqtt.errors[j + 1]
                          : ci->mqtt.violations[j - MQTT_N_ERR];
}

static const char *
fault_dir(unsigned i)
{
    return i == 0 ? "rx" : "tx";
}

static const char *const http_codes[] = {
#define PT_X(code, reason) #code,
    PT_METRICS_HTTP_CODES(PT_X)
#undef PT_X
};

static const char *
http_code(unsigned i)
{
    return i < PT_MH_CODE_MAX ? http_codes[i] : "?";
}

#define CI(field) offsetof(struct pt_dp_core_info, field)

#define FIELD(src_, ctr, flg, nm, hlp, offset)                                \
    { .shape = SH_FIELD, .src = (src_), .counter = (ctr), .flags = (flg),     \
      .name = (nm), .help = (hlp), .off = (offset) }
#define CORE_C(nm, hlp, fld) FIELD(PT_MSRC_CORE, true, 0, nm, hlp, CI(fld))
#define CORE_G(nm, hlp, fld, flg) \
    FIELD(PT_MSRC_CORE, false, flg, nm, hlp, CI(fld))
#define MQTT_G(nm, hlp, fld, flg) \
    FIELD(PT_MSRC_CORE, false, PT_METRICS_F_MQTT | (flg), nm, hlp, CI(fld))
#define FAULT(nm, ctr, hlp, fld)                                              \
    { .shape = SH_LABELLED, .src = PT_MSRC_CORE, .counter = (ctr),            \
      .flags = PT_METRICS_F_FAULT, .name = (nm), .help = (hlp),               \
      .off = CI(fault.rx.fld), .stride = sizeof(struct pt_fault_dir_stats),   \
      .n = 2, .label = "dir", .elem_name = fault_dir }

#define BROKER_KIND_C true
#define BROKER_KIND_G false

static const struct desc descs[] = {
    /* a core's loop and pool (cores[] of `stats`) */
    CORE_C("core_loops", "poll-loop iterations (the heartbeat)", loops),
    CORE_C("core_busy_loops", "poll-loop iterations that received something",
           busy_loops),
    CORE_C("core_naps", "adaptive-idle sleeps taken", naps),
    CORE_G("core_pool_in_use", "mbufs out of the core's mempool",
           pool_in_use, F_U32),
    CORE_G("core_pool_size", "mbufs in the core's mempool", pool_size,
           F_U32),

    /* L2/L3 */
    CORE_C("net_rx_pkts", "frames received", net.rx_pkts),
    CORE_C("net_rx_bytes", "bytes received", net.rx_bytes),
    CORE_C("net_tx_pkts", "frames sent", net.tx_pkts),
    CORE_C("net_tx_bytes", "bytes sent", net.tx_bytes),
    CORE_C("net_arp_replies", "ARP replies sent", net.arp_replies),
    CORE_C("net_arp_requests", "ARP requests sent (announce, resolve)",
           net.arp_requests),
    CORE_C("net_arp_learned", "neighbour entries created", net.arp_learned),
    CORE_C("net_icmp_echo_replies", "ICMP echo replies sent",
           net.icmp_echo_replies),
    { .shape = SH_LABELLED, .src = PT_MSRC_CORE, .counter = true,
      .name = "net_drops", .help = "frames dropped by L2/L3, by reason",
      .off = CI(net.drops), .stride = sizeof(uint64_t),
      .n = PT_NET_DROP_MAX, .label = "reason", .elem_name = net_drop },

    /* TCP-lite */
    { .shape = SH_SPLIT, .src = PT_MSRC_CORE, .counter = true,
      .name = "tcp_", .off = CI(tcp.c), .stride = sizeof(uint64_t),
      .n = PT_TCP_C_MAX, .elem_name = tcp_counter,
      .elem_help = tcp_counter_help },
    { .shape = SH_LABELLED, .src = PT_MSRC_CORE, .counter = true,
      .name = "tcp_drops", .help = "TCP segments dropped, by reason",
      .off = CI(tcp.drops), .stride = sizeof(uint64_t),
      .n = PT_TCP_DROP_MAX, .label = "reason", .elem_name = tcp_drop },
    { .shape = SH_LABELLED, .src = PT_MSRC_CORE, .counter = false,
      .name = "tcp_connections", .help = "TCP connections in each state",
      .off = CI(tcp.states), .stride = sizeof(uint64_t),
      .n = PT_TCP_STATE_MAX, .label = "state", .elem_name = tcp_state },
    CORE_G("tcp_conns_in_use", "TCP connection-pool objects in use",
           tcp.conns_in_use, 0),
    CORE_G("tcp_conns_max", "TCP connection-pool size (tcp.max_conns)",
           tcp.conns_max, 0),
    CORE_G("tcp_time_wait_in_use", "TIME_WAIT entries in use",
           tcp.tw_in_use, 0),
    CORE_G("tcp_time_wait_max", "TIME_WAIT entries available",
           tcp.tw_max, 0),
    CORE_G("tcp_conn_bytes", "bytes per TCP connection (state and table "
           "entry)", tcp.conn_bytes, PT_METRICS_F_SIZE),
    CORE_G("tcp_time_wait_bytes", "bytes per TIME_WAIT entry", tcp.tw_bytes,
           PT_METRICS_F_SIZE),

    /* MQTT, on cores where the broker runs */
    { .shape = SH_SPLIT, .src = PT_MSRC_CORE, .counter = true,
      .flags = PT_METRICS_F_MQTT, .name = "mqtt_", .off = CI(mqtt.c),
      .stride = sizeof(uint64_t), .n = PT_MQTT_C_MAX,
      .elem_name = mqtt_counter, .elem_help = mqtt_counter_help },
    { .shape = SH_LABELLED, .src = PT_MSRC_CORE, .counter = true,
      .flags = PT_METRICS_F_MQTT, .name = "mqtt_violations",
      .help = "MQTT connections closed for a protocol violation, by reason",
      .n = MQTT_N_ERR + PT_MQTT_V_MAX, .label = "reason",
      .elem_name = mqtt_violation, .get = mqtt_violation_get },
    MQTT_G("mqtt_connections", "MQTT connection actors alive",
           mqtt.connections, 0),
    MQTT_G("mqtt_connected", "MQTT connections past CONNACK 0x00",
           mqtt.connected, 0),
    MQTT_G("mqtt_sessions", "MQTT sessions on the core, offline included",
           mqtt.sessions, 0),
    MQTT_G("mqtt_subscriptions", "subscriptions in the core's trie",
           mqtt.subscriptions, 0),
    MQTT_G("mqtt_queued", "messages queued or in flight, all sessions",
           mqtt.queued, 0),
    MQTT_G("mqtt_conn_bytes", "bytes per MQTT connection actor",
           mqtt.conn_bytes, PT_METRICS_F_SIZE),
    MQTT_G("mqtt_session_bytes", "bytes per MQTT session",
           mqtt.session_bytes, PT_METRICS_F_SIZE),
    MQTT_G("mqtt_sub_bytes", "trie bytes per subscription", mqtt.sub_bytes,
           PT_METRICS_F_SIZE),
    MQTT_G("mqtt_ring_backlog", "descriptors waiting in the rings into the "
           "core", mqtt.ring_backlog, 0),

    /* fault injection, on cores where it is on */
    FAULT("fault_passed", true, "frames handed on in place", passed),
    FAULT("fault_dropped", true, "frames dropped by the injector", dropped),
    FAULT("fault_duplicated", true, "copies made and handed on", duplicated),
    FAULT("fault_reordered", true, "frames held back to reorder", reordered),
    FAULT("fault_delayed", true, "frames held back to delay", delayed),
    FAULT("fault_held_overflow", true, "frames not held: rings full",
          held_overflow),
    FAULT("fault_nomem", true, "duplicates not made: mempool empty", nomem),
    FAULT("fault_held", false, "frames held right now", held),

    /* the broker's control half */
#define PT_X(field, nm, kind, hlp)                                            \
    FIELD(PT_MSRC_BROKER, BROKER_KIND_##kind, 0, "broker_" nm, hlp,           \
          offsetof(struct pt_broker_ctl_stats, field)),
    PT_BROKER_CTL_STATS(PT_X)
#undef PT_X

    /* the control socket */
#define CTL(nm, hlp, fld) \
    FIELD(PT_MSRC_CTL, true, 0, nm, hlp, offsetof(struct pt_ctl_stats, fld))
    CTL("ctl_requests", "control-socket requests", requests),
    CTL("ctl_errors", "control-socket answers with ok:false", errors),
    CTL("ctl_timeouts", "control clients closed for silence", timeouts),
    CTL("ctl_oversize", "control requests over the size limit", oversize),
    CTL("ctl_refused", "control connections over the client limit", refused),
    CTL("ctl_malformed", "control requests malformed (bad JSON, bad argv, "
        "NUL bytes)", malformed),
    CTL("ctl_deferred", "control requests answered later by the dataplane",
        deferred),
    CTL("ctl_deferred_timeouts", "deferred control requests not answered "
        "in time", deferred_timeouts),
#undef CTL

    /* this server */
    { .shape = SH_LABELLED, .src = PT_MSRC_HTTP, .counter = true,
      .name = "metrics_http_responses",
      .help = "metrics HTTP answers, by status (200: scrapes)",
      .off = offsetof(struct pt_metrics_http_stats, responses),
      .stride = sizeof(uint64_t), .n = PT_MH_CODE_MAX, .label = "code",
      .elem_name = http_code },
#define HTTP(nm, hlp, fld)                                                    \
    FIELD(PT_MSRC_HTTP, true, 0, nm, hlp,                                     \
          offsetof(struct pt_metrics_http_stats, fld))
    HTTP("metrics_http_timeouts", "metrics clients closed: request not sent "
         "or answer not read in time", timeouts),
    HTTP("metrics_http_refused", "metrics connections over the client limit "
         "(answered 503)", refused),
    HTTP("metrics_http_errors", "metrics connections lost before the answer "
         "was sent", errors),
#undef HTTP
};

#define N_DESCS (sizeof(descs) / sizeof(descs[0]))

bool
pt_metrics_family_next(struct pt_metrics_iter *it,
                       struct pt_metrics_family *f)
{
    const struct desc *d;

    for (;;) {
        if (it->desc >= N_DESCS)
            return false;
        d = &descs[it->desc];
        if (d->shape != SH_SPLIT || it->elem < d->n)
            break;
        it->desc++;
        it->elem = 0;
    }
    memset(f, 0, sizeof(*f));
    f->counter = d->counter;
    f->src = d->src;
    f->flags = d->flags & ~F_U32;
    f->desc = d;
    f->n = 1;
    if (d->shape == SH_SPLIT) {
        f->elem = it->elem++;
        snprintf(f->name, sizeof(f->name), "%s%s", d->name,
                 strip(d->elem_name(f->elem), d->name));
        f->help = d->elem_help(f->elem);
        return true;
    }
    snprintf(f->name, sizeof(f->name), "%s", d->name);
    f->help = d->help;
    if (d->shape == SH_LABELLED) {
        f->label = d->label;
        f->n = d->n;
    }
    it->desc++;
    it->elem = 0;
    return true;
}

const char *
pt_metrics_family_label(const struct pt_metrics_family *f, unsigned j)
{
    const struct desc *d = f->desc;

    return d->shape == SH_LABELLED ? d->elem_name(j) : NULL;
}

uint64_t
pt_metrics_family_value(const struct pt_metrics_family *f, const void *src,
                        unsigned j)
{
    const struct desc *d = f->desc;
    const char *p = src;
    uint64_t v;

    if (d->get != NULL)
        return d->get(src, j);
    if (d->shape == SH_SPLIT)
        j = f->elem;
    p += d->off + (size_t)j * d->stride;
    if (d->flags & F_U32) {
        unsigned u;

        memcpy(&u, p, sizeof(u));
        return u;
    }
    memcpy(&v, p, sizeof(v));
    return v;
}

const void *
pt_metrics_family_src(const struct pt_metrics_family *f,
                      const struct pt_metrics_snap *s, unsigned core)
{
    const struct pt_dp_core_info *ci;

    switch (f->src) {
    case PT_MSRC_CORE:
        if (core >= s->n_cores)
            return NULL;
        ci = &s->cores[core];
        if ((f->flags & PT_METRICS_F_MQTT) && !ci->mqtt_on)
            return NULL;
        if ((f->flags & PT_METRICS_F_FAULT) && !ci->fault_on)
            return NULL;
        return ci;
    case PT_MSRC_BROKER:
        return s->broker_on ? &s->broker : NULL;
    case PT_MSRC_CTL:
        return s->ctl_on ? &s->ctl : NULL;
    case PT_MSRC_HTTP:
        return s->http_on ? &s->http : NULL;
    }
    return NULL;
}
