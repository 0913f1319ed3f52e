/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the metrics module (control/metrics*.c): the Prometheus
 * text renderer against a forged snapshot (every line parses as
 * exposition format 0.0.4, HELP and TYPE once per family and before its
 * samples, families not interleaved, no duplicate series, label values
 * escaped, every row of the counter tables present, families of absent
 * sources left out), and the HTTP request parser (statuses for complete,
 * partial, malformed and oversize requests).
 *
 * The HTTP server on a socket, and DPDK telemetry, are exercised by
 * tests/integration/test_metrics.py against a real petreld.
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_telemetry.h>

#include <petrel/broker.h>
#include <petrel/ctl.h>
#include <petrel/dataplane.h>
#include <petrel/metrics.h>

#include "metrics_priv.h"

/* ---- a forged snapshot ---- */

#define N_CORES 3

struct fixture {
    struct pt_dp_core_info cores[N_CORES];
    struct pt_metrics_snap snap;
    struct pt_buf out;
};

/* Values that tell the fields apart: core c, field group g, index i. */
static uint64_t
val(unsigned c, unsigned g, unsigned i)
{
    return (uint64_t)(c + 1) * 1000000 + g * 1000 + i;
}

static void
forge(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    for (unsigned c = 0; c < N_CORES; c++) {
        struct pt_dp_core_info *ci = &fx->cores[c];

        ci->lcore_id = c + 1;
        ci->queue_id = (uint16_t)c;
        ci->loops = val(c, 1, 0);
        ci->pool_in_use = 17;
        ci->pool_size = 8191;
        ci->net.rx_pkts = val(c, 2, 0);
        for (unsigned i = 0; i < PT_NET_DROP_MAX; i++)
            ci->net.drops[i] = val(c, 3, i);
        for (unsigned i = 0; i < PT_TCP_C_MAX; i++)
            ci->tcp.c[i] = val(c, 4, i);
        for (unsigned i = 0; i < PT_TCP_DROP_MAX; i++)
            ci->tcp.drops[i] = val(c, 5, i);
        for (unsigned i = 0; i < PT_TCP_STATE_MAX; i++)
            ci->tcp.states[i] = val(c, 6, i);
        ci->tcp.conn_bytes = 512;
        /* the broker runs on cores 0 and 1, fault injection on 0 only */
        ci->mqtt_on = c < 2;
        for (unsigned i = 0; i < PT_MQTT_C_MAX; i++)
            ci->mqtt.c[i] = val(c, 7, i);
        for (unsigned i = 0; i < PT_MQTT_E_MAX; i++)
            ci->mqtt.errors[i] = val(c, 8, i);
        for (unsigned i = 0; i < PT_MQTT_V_MAX; i++)
            ci->mqtt.violations[i] = val(c, 9, i);
        ci->mqtt.connections = val(c, 10, 0);
        ci->fault_on = c == 0;
        ci->fault.rx.passed = val(c, 11, 0);
        ci->fault.tx.passed = val(c, 11, 1);
    }
    fx->snap.n_cores = N_CORES;
    fx->snap.cores = fx->cores;
    fx->snap.broker_on = true;
    fx->snap.broker.logins = 41;
    fx->snap.broker.routes = 42;
    fx->snap.ctl_on = true;
    fx->snap.ctl.requests = 43;
    fx->snap.http_on = true;
    fx->snap.http.responses[PT_MH_404] = 44;
    fx->snap.uptime_s = 12.5;
    fx->snap.name = "unit";
    fx->snap.version = "0.1.0";
    fx->snap.dpdk = "DPDK 22.11.11";
}

static int
setup(void **state)
{
    struct fixture *fx = malloc(sizeof(*fx));

    if (fx == NULL)
        return -1;
    forge(fx);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    pt_buf_free(&fx->out);
    free(fx);
    return 0;
}

static const char *
render(struct fixture *fx)
{
    pt_buf_free(&fx->out);
    pt_metrics_render_snap(&fx->snap, &fx->out);
    assert_false(fx->out.oom);
    assert_non_null(fx->out.data);
    return fx->out.data;
}

/* ---- an exposition-format checker (text format 0.0.4) ---- */

#define MAX_FAMILIES 1024
#define MAX_SERIES 8192

struct expo {
    char families[MAX_FAMILIES][128];
    int n_families;
    char *series[MAX_SERIES];
    int n_series;
};

static bool
name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool
name_char(char c)
{
    return name_start(c) || isdigit((unsigned char)c);
}

/* Metric name at *p; copy into name, advance. */
static bool
take_name(const char **p, char *name, size_t cap, bool label)
{
    size_t n = 0;

    if (!name_start(**p) || (label && **p == ':'))
        return false;
    while (name_char(**p) && !(label && **p == ':')) {
        if (n + 1 >= cap)
            return false;
        name[n++] = *(*p)++;
    }
    name[n] = '\0';
    return true;
}

static int
family_index(struct expo *e, const char *name)
{
    for (int i = 0; i < e->n_families; i++)
        if (strcmp(e->families[i], name) == 0)
            return i;
    return -1;
}

#define BAD(...)                                                              \
    do {                                                                      \
        snprintf(err, err_cap, __VA_ARGS__);                                  \
        return false;                                                         \
    } while (0)

/*
 * Check the whole text; false with the offending line in err. Rules:
 * "# HELP name text", "# TYPE name counter|gauge", samples
 * "name{l="v",...} value"; a family's HELP then TYPE come once, before
 * its samples, and its samples follow without another family between;
 * counters end in _total; no series (name and labels) twice; label
 * values use only the escapes \\ \" \n.
 */
static bool
expo_parse(const char *text, struct expo *e, char *err, size_t err_cap)
{
    char cur[128] = "";
    bool cur_counter = false, cur_typed = false;
    const char *line = text;
    int lineno = 0;

    memset(e, 0, sizeof(*e));
    if (*text == '\0' || text[strlen(text) - 1] != '\n')
        BAD("empty, or no newline at the end");
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        char buf[4096], name[128];
        const char *p = buf;
        size_t len;

        len = (size_t)(nl - line);
        if (len >= sizeof(buf))
            BAD("line %d too long", lineno + 1);
        memcpy(buf, line, len);
        buf[len] = '\0';
        lineno++;
        line = nl + 1;
        if (strncmp(buf, "# HELP ", 7) == 0) {
            p += 7;
            if (!take_name(&p, name, sizeof(name), false) || *p != ' ')
                BAD("line %d: bad HELP: %.200s", lineno, buf);
            if (family_index(e, name) >= 0)
                BAD("line %d: family %s again", lineno, name);
            if (e->n_families == MAX_FAMILIES)
                BAD("too many families");
            snprintf(e->families[e->n_families++], 128, "%s", name);
            snprintf(cur, sizeof(cur), "%s", name);
            cur_typed = false;
            for (p++; *p; p++)
                if (*p == '\\' && p[1] != '\\' && p[1] != 'n')
                    BAD("line %d: bad escape in HELP", lineno);
                else if (*p == '\\')
                    p++;
            continue;
        }
        if (strncmp(buf, "# TYPE ", 7) == 0) {
            p += 7;
            if (!take_name(&p, name, sizeof(name), false) || *p != ' ')
                BAD("line %d: bad TYPE: %.200s", lineno, buf);
            if (strcmp(name, cur) != 0 || cur_typed)
                BAD("line %d: TYPE not right after its HELP", lineno);
            p++;
            if (strcmp(p, "counter") == 0)
                cur_counter = true;
            else if (strcmp(p, "gauge") == 0)
                cur_counter = false;
            else
                BAD("line %d: type %.200s", lineno, p);
            if (cur_counter &&
                (strlen(name) < 6 ||
                 strcmp(name + strlen(name) - 6, "_total") != 0))
                BAD("line %d: counter %s without _total", lineno, name);
            cur_typed = true;
            continue;
        }
        if (buf[0] == '#')
            BAD("line %d: stray comment %.200s", lineno, buf);

        /* a sample */
        if (!take_name(&p, name, sizeof(name), false))
            BAD("line %d: bad metric name: %.200s", lineno, buf);
        if (strcmp(name, cur) != 0 || !cur_typed)
            BAD("line %d: sample %s outside its family (in %s)",
                     lineno, name, cur);
        if (*p == '{') {
            char seen[16][64];
            int n_labels = 0;

            p++;
            while (*p != '}') {
                char lname[64];

                if (!take_name(&p, lname, sizeof(lname), true) ||
                    strncmp(p, "=\"", 2) != 0)
                    BAD("line %d: bad label: %.200s", lineno, buf);
                for (int i = 0; i < n_labels; i++)
                    if (strcmp(seen[i], lname) == 0)
                        BAD("line %d: label %s twice", lineno, lname);
                if (n_labels == 16)
                    BAD("line %d: too many labels", lineno);
                snprintf(seen[n_labels++], 64, "%s", lname);
                for (p += 2; *p != '"'; p++) {
                    if (*p == '\0')
                        BAD("line %d: unterminated value", lineno);
                    if (*p == '\\') {
                        p++;
                        if (*p != '\\' && *p != '"' && *p != 'n')
                            BAD("line %d: bad escape", lineno);
                    }
                }
                p++;
                if (*p == ',')
                    p++;
                else if (*p != '}')
                    BAD("line %d: junk after label: %.200s", lineno, buf);
            }
            p++;
        }
        if (*p != ' ')
            BAD("line %d: no value: %.200s", lineno, buf);
        {
            char *end;
            double v = strtod(p + 1, &end);

            if (end == p + 1 || *end != '\0' || v < 0)
                BAD("line %d: bad value: %.200s", lineno, buf);
        }
        /* the series (everything before the value) only once */
        len = (size_t)(p - buf);
        for (int i = 0; i < e->n_series; i++)
            if (strlen(e->series[i]) == len &&
                memcmp(e->series[i], buf, len) == 0)
                BAD("line %d: series twice: %.200s", lineno, buf);
        if (e->n_series == MAX_SERIES)
            BAD("too many series");
        e->series[e->n_series] = strndup(buf, len);
        if (e->series[e->n_series] == NULL)
            BAD("out of memory");
        e->n_series++;
    }
    return true;
}

static void
expo_free(struct expo *e)
{
    for (int i = 0; i < e->n_series; i++)
        free(e->series[i]);
    free(e);
}

/* Parse text, failing the test on the first bad line; the caller frees
 * the result with expo_free. */
static struct expo *
check_exposition(const char *text)
{
    struct expo *e = calloc(1, sizeof(*e));
    char err[512];

    assert_non_null(e);
    if (!expo_parse(text, e, err, sizeof(err))) {
        expo_free(e);
        fail_msg("%s", err);
    }
    return e;
}

static void
assert_has_line(const char *text, const char *fmt, ...)
{
    char want[512];
    va_list ap;
    const char *p;
    size_t l;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    l = strlen(want);
    for (p = text; (p = strstr(p, want)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[l] == '\n')
            return;
    fail_msg("missing line: %s", want);
}

static void
assert_no_text(const char *text, const char *needle)
{
    if (strstr(text, needle) != NULL)
        fail_msg("unexpected %s", needle);
}

/* ---- renderer ---- */

static void
test_metrics_render_valid_exposition(void **state)
{
    struct fixture *fx = *state;
    struct expo *e = check_exposition(render(fx));

    /* every family has samples; about 200 families, 3 cores */
    assert_true(e->n_families > 100);
    assert_true(e->n_series > 3 * 100);
    expo_free(e);
}

/* The checker itself refuses what it must (a test that cannot fail...). */
static void
test_metrics_checker_refuses(void **state)
{
    static const char *const bad[] = {
        /* sample before HELP/TYPE */
        "petrel_x 1\n",
        /* family twice */
        ("# HELP petrel_x a\n# TYPE petrel_x gauge\npetrel_x 1\n"
         "# HELP petrel_y b\n# TYPE petrel_y gauge\npetrel_y 1\n"
         "# HELP petrel_x a\n# TYPE petrel_x gauge\n"),
        /* counter without _total */
        "# HELP petrel_x a\n# TYPE petrel_x counter\npetrel_x 1\n",
        /* unescaped quote */
        "# HELP petrel_x a\n# TYPE petrel_x gauge\npetrel_x{a=\"b\"c\"} 1\n",
        /* duplicate series */
        ("# HELP petrel_x a\n# TYPE petrel_x gauge\npetrel_x{a=\"b\"} 1\n"
         "petrel_x{a=\"b\"} 2\n"),
        /* no value */
        "# HELP petrel_x a\n# TYPE petrel_x gauge\npetrel_x{a=\"b\"}\n",
        /* no newline at the end */
        "# HELP petrel_x a\n# TYPE petrel_x gauge\npetrel_x 1",
    };

    struct expo *e = calloc(1, sizeof(*e));
    char err[512];

    (void)state;
    assert_non_null(e);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool ok = expo_parse(bad[i], e, err, sizeof(err));

        for (int j = 0; j < e->n_series; j++)
            free(e->series[j]);
        if (ok)
            fail_msg("checker accepted bad text %zu", i);
    }
    free(e);
}

static void
test_metrics_render_values_per_core(void **state)
{
    struct fixture *fx = *state;
    const char *t = render(fx);

    assert_has_line(t, "petrel_build_info{name=\"unit\",version=\"0.1.0\","
                       "dpdk=\"DPDK 22.11.11\"} 1");
    assert_has_line(t, "petrel_uptime_seconds 12.500");
    assert_has_line(t, "petrel_core_info{core=\"2\",lcore=\"3\","
                       "queue=\"2\"} 1");
    assert_has_line(t, "petrel_core_loops_total{core=\"1\"} %lu",
                    val(1, 1, 0));
    assert_has_line(t, "petrel_core_pool_size{core=\"0\"} 8191");
    assert_has_line(t, "petrel_net_rx_pkts_total{core=\"2\"} %lu",
                    val(2, 2, 0));
    assert_has_line(t, "petrel_net_drops_total{core=\"1\",reason=\"%s\"} %lu",
                    pt_net_drop_name(PT_NET_DROP_IP_CSUM),
                    val(1, 3, PT_NET_DROP_IP_CSUM));
    assert_has_line(t, "petrel_tcp_retransmits_total{core=\"0\"} %lu",
                    val(0, 4, PT_TCP_C_RETRANS));
    /* the table's "tcp_" prefix is not repeated in the label */
    assert_has_line(t, "petrel_tcp_drops_total{core=\"2\","
                       "reason=\"bad_checksum\"} %lu",
                    val(2, 5, PT_TCP_DROP_CSUM));
    assert_has_line(t, "petrel_tcp_connections{core=\"0\","
                       "state=\"established\"} %lu",
                    val(0, 6, PT_TCP_ESTABLISHED));
    assert_has_line(t, "petrel_tcp_conn_bytes{core=\"1\"} 512");
    assert_has_line(t, "petrel_mqtt_connects_total{core=\"1\"} %lu",
                    val(1, 7, PT_MQTT_C_CONNECTS));
    assert_has_line(t, "petrel_mqtt_connections{core=\"0\"} %lu",
                    val(0, 10, 0));
    /* codec errors and session violations share one family */
    assert_has_line(t, "petrel_mqtt_violations_total{core=\"0\","
                       "reason=\"bad_qos\"} %lu",
                    val(0, 8, PT_MQTT_E_QOS));
    assert_has_line(t, "petrel_mqtt_violations_total{core=\"1\","
                       "reason=\"second_connect\"} %lu",
                    val(1, 9, PT_MQTT_V_SECOND_CONNECT));
    assert_has_line(t, "petrel_fault_passed_total{core=\"0\",dir=\"rx\"} %lu",
                    val(0, 11, 0));
    assert_has_line(t, "petrel_fault_passed_total{core=\"0\",dir=\"tx\"} %lu",
                    val(0, 11, 1));
    assert_has_line(t, "petrel_broker_logins_total 41");
    assert_has_line(t, "petrel_broker_routes 42");
    assert_has_line(t, "petrel_ctl_requests_total 43");
    assert_has_line(t, "petrel_metrics_http_responses_total{code=\"404\"} 44");
    assert_has_line(t, "petrel_metrics_http_responses_total{code=\"200\"} 0");
    /* no MQTT on core 2, no fault injection on cores 1 and 2 */
    assert_no_text(t, "petrel_mqtt_connects_total{core=\"2\"}");
    assert_no_text(t, "petrel_fault_passed_total{core=\"1\"");
    /* no totals: every per-core sample names its core */
    assert_no_text(t, "\npetrel_net_rx_pkts_total ");
    assert_no_text(t, "{core=\"3\"");
}

static void
test_metrics_render_absent_sources_left_out(void **state)
{
    struct fixture *fx = *state;
    const char *t;

    for (unsigned c = 0; c < N_CORES; c++) {
        fx->cores[c].mqtt_on = false;
        fx->cores[c].fault_on = false;
    }
    fx->snap.broker_on = false;
    fx->snap.ctl_on = false;
    t = render(fx);
    /* whole families gone, HELP and TYPE included */
    assert_no_text(t, "petrel_mqtt_");
    assert_no_text(t, "petrel_fault_");
    assert_no_text(t, "petrel_broker_");
    assert_no_text(t, "petrel_ctl_");
    assert_has_line(t, "# TYPE petrel_net_drops_total counter");
    expo_free(check_exposition(t));

    /* no dataplane at all: still valid, server families only */
    fx->snap.n_cores = 0;
    t = render(fx);
    assert_no_text(t, "core=");
    assert_no_text(t, "petrel_core_info");
    assert_has_line(t, "# TYPE petrel_metrics_http_timeouts_total counter");
    expo_free(check_exposition(t));
}

static void
test_metrics_render_label_escaping(void **state)
{
    struct fixture *fx = *state;
    const char *t;

    fx->snap.name = "a\"b\\c\nd";
    t = render(fx);
    assert_non_null(strstr(t, "petrel_build_info{name=\"a\\\"b\\\\c\\nd\","));
    expo_free(check_exposition(t));
}

static const char *
strip(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0 ? s + strlen(prefix) : s;
}

/* Every row of the tables `stats` uses appears, so a counter added to a
 * table shows up in the metrics without touching metrics*.c. */
static void
test_metrics_render_every_table_row(void **state)
{
    struct fixture *fx = *state;
    const char *t = render(fx);
    char want[256];

    for (unsigned i = 0; i < PT_NET_DROP_MAX; i++) {
        snprintf(want, sizeof(want), "reason=\"%s\"",
                 pt_net_drop_name((enum pt_net_drop)i));
        assert_non_null(strstr(t, want));
    }
    for (unsigned i = 0; i < PT_TCP_C_MAX; i++) {
        snprintf(want, sizeof(want), "\npetrel_tcp_%s_total{core=\"0\"} %lu\n",
                 pt_tcp_counter_name((enum pt_tcp_counter)i), val(0, 4, i));
        if (strstr(t, want) == NULL)
            fail_msg("missing %s", want);
    }
    for (unsigned i = 0; i < PT_TCP_DROP_MAX; i++) {
        snprintf(want, sizeof(want), "reason=\"%s\"} %lu\n",
                 strip(pt_tcp_drop_name((enum pt_tcp_drop)i), "tcp_"),
                 val(1, 5, i));
        assert_non_null(strstr(t, want));
    }
    for (unsigned i = 0; i < PT_TCP_STATE_MAX; i++) {
        snprintf(want, sizeof(want), "state=\"%s\"} %lu\n",
                 pt_tcp_state_name((enum pt_tcp_state)i), val(2, 6, i));
        assert_non_null(strstr(t, want));
    }
    for (unsigned i = 0; i < PT_MQTT_C_MAX; i++) {
        snprintf(want, sizeof(want), "\npetrel_%s_total{core=\"1\"} %lu\n",
                 pt_mqtt_counter_name((enum pt_mqtt_counter)i),
                 val(1, 7, i));
        if (strstr(t, want) == NULL)
            fail_msg("missing %s", want);
    }
    for (unsigned i = 1; i < PT_MQTT_E_MAX; i++) {
        snprintf(want, sizeof(want), "reason=\"%s\"} %lu\n",
                 strip(pt_mqtt_err_name((enum pt_mqtt_err)i), "mqtt_"),
                 val(0, 8, i));
        if (strstr(t, want) == NULL)
            fail_msg("missing %s", want);
    }
    for (unsigned i = 0; i < PT_MQTT_V_MAX; i++) {
        snprintf(want, sizeof(want), "reason=\"%s\"} %lu\n",
                 strip(pt_mqtt_violation_name((enum pt_mqtt_violation)i),
                       "mqtt_"),
                 val(0, 9, i));
        if (strstr(t, want) == NULL)
            fail_msg("missing %s", want);
    }
#define PT_X(field, name, kind, help)                                         \
    assert_non_null(strstr(t, "\n# HELP petrel_broker_" name));
    PT_BROKER_CTL_STATS(PT_X)
#undef PT_X
}

/* The family walk says counter or gauge as the tables do. */
static void
test_metrics_family_kinds(void **state)
{
    struct pt_metrics_iter it = { 0 };
    struct pt_metrics_family f;
    unsigned n = 0;

    (void)state;
    while (pt_metrics_family_next(&it, &f)) {
        n++;
        assert_true(strlen(f.name) > 0);
        assert_non_null(f.help);
        assert_true(f.n >= 1);
        assert_true(f.label != NULL || f.n == 1);
        if (strcmp(f.name, "tcp_connections") == 0 ||
            strcmp(f.name, "tcp_conns_in_use") == 0 ||
            strcmp(f.name, "mqtt_sessions") == 0 ||
            strcmp(f.name, "broker_routes") == 0 ||
            strcmp(f.name, "broker_client_ids") == 0 ||
            strcmp(f.name, "core_pool_in_use") == 0 ||
            strcmp(f.name, "fault_held") == 0)
            assert_false(f.counter);
        if (strcmp(f.name, "tcp_rx_segments") == 0 ||
            strcmp(f.name, "net_drops") == 0 ||
            strcmp(f.name, "mqtt_violations") == 0 ||
            strcmp(f.name, "broker_logins") == 0 ||
            strcmp(f.name, "core_loops") == 0)
            assert_true(f.counter);
    }
    assert_true(n > 100);
}

/* ---- DPDK telemetry ---- */

/* The flat dicts must fit DPDK's limit, or keys would silently go. */
static void
test_metrics_telemetry_dicts_fit(void **state)
{
    struct pt_metrics_iter it = { 0 };
    struct pt_metrics_family f;
    unsigned core_keys = 0, broker_keys = 0;

    (void)state;
    while (pt_metrics_family_next(&it, &f)) {
        if (f.src == PT_MSRC_CORE)
            core_keys += f.n;
        else if (f.src == PT_MSRC_BROKER)
            broker_keys += f.n;
    }
    assert_true(core_keys + 3 <= RTE_TEL_MAX_DICT_ENTRIES);  /* + core... */
    assert_true(broker_keys <= RTE_TEL_MAX_DICT_ENTRIES);
}

static void
test_metrics_telemetry_answers_only_while_open(void **state)
{
    struct fixture *fx = *state;
    struct rte_tel_data *d = rte_tel_data_alloc();

    assert_non_null(d);
    assert_int_equal(pt_metrics_tel_start(N_CORES), 0);
    pt_metrics_tel_publish(&fx->snap);
    assert_int_equal(pt_metrics_tel_stats("/petrel/stats", NULL, d), 0);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", "2", d), 0);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", "3", d), -EINVAL);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", "1x", d), -EINVAL);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", "-1", d), -EINVAL);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", NULL, d), -EINVAL);
    assert_int_equal(pt_metrics_tel_broker("/petrel/broker", NULL, d), 0);
    /* one publisher at a time */
    assert_int_equal(pt_metrics_tel_start(N_CORES), -EBUSY);

    /* closed: DPDK cannot unregister, the commands answer an error */
    pt_metrics_tel_stop();
    assert_int_equal(pt_metrics_tel_stats("/petrel/stats", NULL, d), -ENODEV);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", "0", d), -ENODEV);
    assert_int_equal(pt_metrics_tel_broker("/petrel/broker", NULL, d),
                     -ENODEV);
    /* a publish after the stop is ignored, not a use after free */
    pt_metrics_tel_publish(&fx->snap);
    assert_int_equal(pt_metrics_tel_stats("/petrel/stats", NULL, d), -ENODEV);

    /* open again (no second registration): answers again */
    assert_int_equal(pt_metrics_tel_start(1), 0);
    pt_metrics_tel_publish(&fx->snap);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", "0", d), 0);
    assert_int_equal(pt_metrics_tel_core("/petrel/core", "1", d), -EINVAL);
    pt_metrics_tel_stop();
    rte_tel_data_free(d);
}

/* ---- HTTP request parser ---- */

static int
parse(const char *req, bool *head)
{
    return pt_metrics_http_parse(req, strlen(req), head);
}

static void
test_metrics_http_parse_routes(void **state)
{
    bool head;

    (void)state;
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &head),
                     200);
    assert_false(head);
    assert_int_equal(parse("GET /metrics HTTP/1.0\r\n\r\n", &head), 200);
    assert_int_equal(parse("GET /metrics?x=1 HTTP/1.1\r\n\r\n", &head), 200);
    assert_int_equal(parse("GET /metrics HTTP/1.1\n"
                           "Accept: text/plain\n\n", &head), 200);
    assert_int_equal(parse("HEAD /metrics HTTP/1.1\r\n\r\n", &head), 200);
    assert_true(head);
    assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &head), 404);
    assert_int_equal(parse("GET /metricsx HTTP/1.1\r\n\r\n", &head), 404);
    assert_int_equal(parse("GET /metrics/ HTTP/1.1\r\n\r\n", &head), 404);
    assert_int_equal(parse("POST /metrics HTTP/1.1\r\n"
                           "Content-Length: 0\r\n\r\n", &head), 405);
    assert_int_equal(parse("DELETE /x HTTP/1.1\r\n\r\n", &head), 405);
    assert_int_equal(parse("get /metrics HTTP/1.1\r\n\r\n", &head), 405);
}

static void
test_metrics_http_parse_incomplete(void **state)
{
    static const char req[] =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    bool head;

    (void)state;
    /* every strict prefix waits for more */
    for (size_t l = 0; l < sizeof(req) - 1; l++)
        assert_int_equal(pt_metrics_http_parse(req, l, &head), 0);
    assert_int_equal(pt_metrics_http_parse(req, sizeof(req) - 1, &head), 200);
}

static void
test_metrics_http_parse_malformed(void **state)
{
    static const char *const bad[] = {
        "HELLO\r\n\r\n",
        "GET\r\n\r\n",
        "GET /metrics\r\n\r\n",
        "GET  /metrics HTTP/1.1\r\n\r\n",
        "GET metrics HTTP/1.1\r\n\r\n",
        "GET /metrics HTTP/2.0\r\n\r\n",
        "GET /metrics HTTP/1.1 \r\n\r\n",
        "GET /met\trics HTTP/1.1\r\n\r\n",
        "G(T /metrics HTTP/1.1\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
        "GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nX: a\001b\r\n\r\n",
        "\r\n\r\n",
    };
    bool head;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], &head) != 400)
            fail_msg("not refused: %zu %s", i, bad[i]);
    /* a bad request line is refused before the headers end */
    assert_int_equal(parse("BREW /pot HTCPCP/1.0\r\n", &head), 400);
    /* a NUL byte */
    assert_int_equal(pt_metrics_http_parse("GET /metrics HTTP/1.1\r\n"
                                           "\0\r\n\r\n", 28, &head),
                     400);
}

static void
test_metrics_http_parse_oversize(void **state)
{
    char *req = malloc(PT_METRICS_REQ_MAX + 64);
    size_t l;
    bool head;

    (void)state;
    assert_non_null(req);
    l = (size_t)sprintf(req, "GET /metrics HTTP/1.1\r\n");
    while (l < PT_METRICS_REQ_MAX + 32)
        l += (size_t)sprintf(req + l, "X-Pad: 0123456789abcdef\r\n");
    /* one byte short of the limit: still waiting; at the limit: 431 */
    assert_int_equal(pt_metrics_http_parse(req, PT_METRICS_REQ_MAX - 1,
                                           &head), 0);
    assert_int_equal(pt_metrics_http_parse(req, PT_METRICS_REQ_MAX, &head),
                     431);
    /* a request line alone that long, too */
    memset(req, 'a', PT_METRICS_REQ_MAX);
    memcpy(req, "GET /", 5);
    assert_int_equal(pt_metrics_http_parse(req, PT_METRICS_REQ_MAX, &head),
                     431);
    /* a whole request that fits is fine */
    l = (size_t)sprintf(req, "GET /metrics HTTP/1.1\r\n");
    while (l < PT_METRICS_REQ_MAX - 64)
        l += (size_t)sprintf(req + l, "X-Pad: 0123456789abcdef\r\n");
    l += (size_t)sprintf(req + l, "\r\n");
    assert_true(l <= PT_METRICS_REQ_MAX);
    assert_int_equal(pt_metrics_http_parse(req, l, &head), 200);
    free(req);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_render_valid_exposition,
                                        setup, teardown),
        cmocka_unit_test(test_metrics_checker_refuses),
        cmocka_unit_test_setup_teardown(test_metrics_render_values_per_core,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_metrics_render_absent_sources_left_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_render_label_escaping,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_render_every_table_row,
                                        setup, teardown),
        cmocka_unit_test(test_metrics_family_kinds),
        cmocka_unit_test(test_metrics_telemetry_dicts_fit),
        cmocka_unit_test_setup_teardown(
            test_metrics_telemetry_answers_only_while_open, setup, teardown),
        cmocka_unit_test(test_metrics_http_parse_routes),
        cmocka_unit_test(test_metrics_http_parse_incomplete),
        cmocka_unit_test(test_metrics_http_parse_malformed),
        cmocka_unit_test(test_metrics_http_parse_oversize),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
