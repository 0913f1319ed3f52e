/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What petrel-bench tells: the progress line once a second (stderr), the
 * per-second CSV rows (--csv), and the JSON summary at the end (stdout and
 * --json). Latency columns are over the measured phase so far.
 *
 * Threading: main lcore only. Reads the cores' counters and histograms
 * while they run (see bench.h).
 */
#include <inttypes.h>
#include <string.h>

#include <arpa/inet.h>

#include "bench.h"

static const char *const counter_names[] = {
#define PB_X(id, name, help) name,
    PB_COUNTERS(PB_X)
#undef PB_X
};

void
pb_totals_collect(struct pb_totals *t, struct pb_core *cores, unsigned n,
                  bool hists)
{
    memset(t->c, 0, sizeof(t->c));
    t->up = t->pending = t->open_done = t->closing = 0;
    if (hists) {
        pb_hist_reset(t->lat);
        pb_hist_reset(t->conn_lat);
    }
    for (unsigned i = 0; i < n; i++) {
        struct pb_core *c = &cores[i];

        for (unsigned k = 0; k < PB_C_MAX; k++)
            t->c[k] += __atomic_load_n(&c->stats[k], __ATOMIC_RELAXED);
        t->up += __atomic_load_n(&c->up_now, __ATOMIC_RELAXED);
        t->pending += __atomic_load_n(&c->pending_now, __ATOMIC_RELAXED);
        t->open_done += __atomic_load_n(&c->open_done_now, __ATOMIC_RELAXED);
        t->closing += __atomic_load_n(&c->closing_now, __ATOMIC_RELAXED);
        if (hists && c->lat != NULL)
            pb_hist_merge(t->lat, c->lat);
        if (hists && c->conn_lat != NULL)
            pb_hist_merge(t->conn_lat, c->conn_lat);
    }
}

static double
us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

/* One second's rates and the latency so far, for both printers. */
struct interval {
    double conns, pubs, recvs;        /* per second */
    double p50, p99, p999, max;       /* microseconds */
};

static struct interval
interval_of(const struct pb_totals *now, const struct pb_totals *prev,
            double dt_s)
{
    const struct pb_hist *h = now->lat;
    struct interval iv = {
        .conns = (double)(now->c[PB_C_SESSIONS_UP] -
                          prev->c[PB_C_SESSIONS_UP]) / dt_s,
        .pubs = (double)(now->c[PB_C_PUB_SENT] - prev->c[PB_C_PUB_SENT]) /
                dt_s,
        .recvs = (double)(now->c[PB_C_MSG_RECV] - prev->c[PB_C_MSG_RECV]) /
                 dt_s,
        .p50 = us(pb_hist_percentile(h, 50)),
        .p99 = us(pb_hist_percentile(h, 99)),
        .p999 = us(pb_hist_percentile(h, 99.9)),
        .max = us(pb_hist_max(h)),
    };

    return iv;
}

void
pb_report_tick(FILE *progress, FILE *csv, double t_s, const char *phase,
               const struct pb_totals *now, const struct pb_totals *prev,
               double dt_s)
{
    struct interval iv = interval_of(now, prev, dt_s);

    if (progress != NULL) {
        fprintf(progress,
                "[%6.1fs] %-7s sessions %u (+%.0f/s) pending %u | pub %.0f/s "
                "recv %.0f/s | p50 %.1f p99 %.1f p99.9 %.1f max %.1f us | "
                "gaps %" PRIu64 " dup %" PRIu64 "\n",
                t_s, phase, now->up, iv.conns, now->pending, iv.pubs,
                iv.recvs, iv.p50, iv.p99, iv.p999, iv.max,
                now->c[PB_C_MSG_GAP], now->c[PB_C_MSG_DUP]);
        fflush(progress);
    }
    if (csv != NULL) {
        fprintf(csv, "%.3f,%u,%.1f,%.1f,%.1f,%.3f,%.3f,%.3f,%.3f,%" PRIu64
                ",%" PRIu64 "\n",
                t_s, now->up, iv.conns, iv.pubs, iv.recvs, iv.p50, iv.p99,
                iv.p999, iv.max, now->c[PB_C_MSG_GAP], now->c[PB_C_MSG_DUP]);
        fflush(csv);
    }
}

void
pb_report_csv_header(FILE *f)
{
    fputs("t_s,sessions,connects_per_s,pubs_per_s,msgs_per_s,p50_us,p99_us,"
          "p999_us,max_us,lost,dup\n", f);
}

static void
json_hist(FILE *f, const char *name, const struct pb_hist *h)
{
    fprintf(f,
            "  \"%s\": {\"count\": %" PRIu64 ", \"p50\": %.3f, \"p90\": %.3f, "
            "\"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, \"mean\": %.3f},\n",
            name, pb_hist_count(h), us(pb_hist_percentile(h, 50)),
            us(pb_hist_percentile(h, 90)), us(pb_hist_percentile(h, 99)),
            us(pb_hist_percentile(h, 99.9)), us(pb_hist_max(h)),
            pb_hist_mean(h) / 1000.0);
}

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

void
pb_report_summary(FILE *f, const struct pb_run *run,
                  const struct pb_summary *s)
{
    const struct pb_opts *o = run->o;
    const struct pb_totals *t = s->t;
    char broker[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, &o->broker_ip, broker, sizeof(broker));
    fputs("{\n  \"tool\": \"petrel-bench\",\n  \"scenario\": ", f);
    json_str(f, pb_scenario_name(o->scenario));
    fputs(",\n  \"port\": ", f);
    json_str(f, o->port);
    fprintf(f, ",\n  \"broker\": \"%s:%u\",\n", broker, o->broker_port);
    fprintf(f, "  \"cores\": %u,\n  \"qos\": %u,\n  \"payload\": %u,\n",
            o->cores, o->qos, o->payload);
    fprintf(f, "  \"groups\": %u,\n  \"publishers\": %u,\n"
            "  \"subscribers\": %u,\n  \"sessions\": %u,\n",
            run->n_groups, run->n_pubs_total, run->n_subs_total,
            run->n_clients);
    if (o->rate != 0)
        fprintf(f, "  \"loop\": \"open\",\n  \"rate\": %" PRIu64 ",\n",
                o->rate);
    else
        fprintf(f, "  \"loop\": \"closed\",\n  \"window\": %u,\n", o->window);
    fprintf(f, "  \"flood\": %s,\n",
            !o->flood ? "null"
            : o->flood_mode == PB_FLOOD_SYN ? "\"syn\"" : "\"junk\"");
    fprintf(f, "  \"sessions_up_max\": %u,\n", s->up_max);
    fprintf(f, "  \"connect_seconds\": %.3f,\n  \"connects_per_s\": %.1f,\n",
            s->connect_s,
            s->connect_s > 0 ? (double)t->c[PB_C_SESSIONS_UP] / s->connect_s
                             : 0.0);
    json_hist(f, "connect_latency_us", t->conn_lat);
    fprintf(f, "  \"measure_seconds\": %.3f,\n", s->measure_s);
    fprintf(f, "  \"msgs_per_s\": %.1f,\n",
            s->measure_s > 0 ? (double)t->c[PB_C_MSG_MEASURED] / s->measure_s
                             : 0.0);
    fprintf(f, "  \"expected\": %" PRIu64 ",\n  \"delivered\": %" PRIu64
            ",\n  \"lost\": %" PRIu64 ",\n  \"duplicates\": %" PRIu64 ",\n",
            s->expected, s->delivered, s->lost, t->c[PB_C_MSG_DUP]);
    json_hist(f, "latency_us", t->lat);
    fputs("  \"counters\": {", f);
    for (unsigned k = 0; k < PB_C_MAX; k++)
        fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", counter_names[k],
                t->c[k]);
    fputs("},\n  \"tcp\": {", f);
    fprintf(f, "\"retransmits\": %" PRIu64 ", \"rto_fired\": %" PRIu64
            ", \"conns_reset\": %" PRIu64 ", \"conns_timed_out\": %" PRIu64
            "},\n", s->tcp_retrans, s->tcp_rto, s->tcp_reset, s->tcp_timeout);
    fprintf(f, "  \"net_drops\": %" PRIu64 ",\n", s->net_drops);
    fprintf(f, "  \"port_stats\": {\"ipackets\": %" PRIu64
            ", \"opackets\": %" PRIu64 ", \"imissed\": %" PRIu64
            ", \"oerrors\": %" PRIu64 ", \"rx_nombuf\": %" PRIu64 "},\n",
            s->port_ipackets, s->port_opackets, s->port_imissed,
            s->port_oerrors, s->port_rx_nombuf);
    fprintf(f, "  \"result\": \"%s\",\n  \"why\": ", s->failed ? "fail" : "ok");
    json_str(f, s->why);
    fputs("\n}\n", f);
}
