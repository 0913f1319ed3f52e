/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet-script interpreter for TCP-lite unit tests (format in
 * pt_tcp_script.h): set-up and tear-down of the stack under test, the
 * line loop and command dispatch, the fake clock, and the `conf`, `peer`
 * and `expect` commands. Parsing, frames and the test application live in
 * the sibling files listed in pt_tcp_script_priv.h. It holds no TCP
 * knowledge of its own beyond sequence arithmetic: every expectation comes
 * from the script.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_mempool.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "pt_tcp_script.h"
#include "pt_tcp_script_priv.h"
#include "pt_test.h"

static const uint8_t sc_secret[16] = {
    0x70, 0x65, 0x74, 0x72, 0x65, 0x6c, 0x2d, 0x74,
    0x63, 0x70, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x21,
};

int
sc_fail(struct sc *sc, const char *fmt, ...)
{
    va_list ap;
    size_t n = strlen(sc->err);

    va_start(ap, fmt);
    vsnprintf(sc->err + n, sizeof(sc->err) - n, fmt, ap);
    va_end(ap);
    return -1;
}

uint16_t
sc_lport(const struct sc *sc, const struct sc_peer *p)
{
    return p->lport != 0 ? p->lport : sc->port;
}

struct sc_peer *
sc_peer_by_port(struct sc *sc, uint16_t port)
{
    for (int i = 1; i <= SC_PEERS; i++)
        if (sc->peers[i].port == port)
            return &sc->peers[i];
    return NULL;
}

/* ---- set-up and tear-down ---- */

static void
sc_init(struct sc *sc, const char *name)
{
    const char *t = getenv("PT_TCP_SCRIPT_TRACE");

    sc->name = name;
    sc->trace = t != NULL && t[0] == '1';
    sc->port = SC_LISTEN_PORT;
    sc->now = SC_T0_NS;
    sc->tx.accept = UINT32_MAX;
    /* the net comes in sc_start(); scripts change the rest with `conf` */
    pt_test_tcp_conf(&sc->conf, NULL, SC_T0_NS);
    sc->conf.syn_backlog = 4;
    sc->conf.reply_limit = 1000000;
    sc->conf.secret = sc_secret;
    for (int i = 1; i <= SC_PEERS; i++) {
        struct sc_peer *p = &sc->peers[i];

        p->sc = sc;
        p->id = i;
        p->port = (uint16_t)(SC_PEER_PORT_BASE + i);
        p->isn = (uint32_t)i * 1000000u;
        p->laddr = PT_TEST_OUR_IP;
    }
    sc->cur = &sc->peers[1];
}

static int
sc_start(struct sc *sc)
{
    struct pt_net_conf nc;
    int rc;

    if (sc->net != NULL)
        return 0;
    for (int i = 1; i <= SC_PEERS; i++) {
        struct sc_peer *p = &sc->peers[i];

        p->rx = calloc(1, SC_LOG_MAX);
        p->rx_set = calloc(1, SC_LOG_MAX);
        p->tx = calloc(1, SC_LOG_MAX);
        if (p->rx == NULL || p->rx_set == NULL || p->tx == NULL)
            return sc_fail(sc, "out of memory");
    }
    pt_test_net_conf(&nc, pt_test_tx_capture, &sc->tx);
    nc.ip_count = sc->ip_count;
    sc->net = pt_net_create(&nc);
    if (sc->net == NULL)
        return sc_fail(sc, "pt_net_create: %s", rte_strerror(rte_errno));
    sc->conf.net = sc->net;
    sc->tcp = pt_tcp_create(&sc->conf);
    if (sc->tcp == NULL)
        return sc_fail(sc, "pt_tcp_create: %s", rte_strerror(rte_errno));
    rc = pt_tcp_listen(sc->tcp, sc->port, &sc_ops, sc);
    if (rc != 0)
        return sc_fail(sc, "pt_tcp_listen: %d", rc);
    return 0;
}

/* Free everything; every accepted connection must have been closed once. */
static int
sc_stop(struct sc *sc, bool check)
{
    int rc = 0;

    if (sc->tcp != NULL)
        pt_tcp_free(sc->tcp);
    if (sc->net != NULL) {
        pt_net_flush(sc->net);
        pt_test_tx_reset(&sc->tx);
        pt_net_free(sc->net);
    }
    for (int i = 1; i <= SC_PEERS; i++) {
        struct sc_peer *p = &sc->peers[i];

        if (check && p->closes != p->accepts)
            rc = sc_fail(sc, "peer %d: %u accepted, %u closed after "
                         "pt_tcp_free", i, p->accepts, p->closes);
        free(p->rx);
        free(p->rx_set);
        free(p->tx);
    }
    return rc;
}

/* ---- commands ---- */

static int
sc_stat(struct sc *sc, const char *kind, const char *name, uint64_t *v)
{
    const struct pt_tcp_stats *st = pt_tcp_stats(sc->tcp);

    if (strcmp(kind, "stat") == 0) {
        for (int i = 0; i < PT_TCP_C_MAX; i++)
            if (strcmp(name, pt_tcp_counter_name(i)) == 0) {
                *v = st->c[i];
                return 0;
            }
    } else if (strcmp(kind, "drop") == 0) {
        for (int i = 0; i < PT_TCP_DROP_MAX; i++)
            if (strcmp(name, pt_tcp_drop_name(i)) == 0) {
                *v = st->drops[i];
                return 0;
            }
        for (int i = 0; i < PT_NET_DROP_MAX; i++)
            if (strcmp(name, pt_net_drop_name(i)) == 0) {
                *v = pt_net_stats(sc->net)->drops[i];
                return 0;
            }
    } else if (strcmp(kind, "states") == 0) {
        for (int i = 0; i < PT_TCP_STATE_MAX; i++)
            if (strcmp(name, pt_tcp_state_name(i)) == 0) {
                *v = st->states[i];
                return 0;
            }
    }
    return sc_fail(sc, "no %s named '%s'", kind, name);
}

static int
sc_expect(struct sc *sc, char **t, int n)
{
    const struct pt_tcp_stats *st = pt_tcp_stats(sc->tcp);
    struct sc_peer *p = sc->cur;
    uint64_t got = 0;
    long long want;

    if (n == 2 && strcmp(t[0], "state") == 0) {
        const char *s = p->conn == NULL ? "gone" :
                        pt_tcp_state_name(pt_tcp_conn_state(p->conn));

        if (strcmp(s, t[1]) != 0)
            return sc_fail(sc, "state is %s", s);
        return 0;
    }
    if (n == 3) {
        if (sc_num(sc, t[2], &want) < 0 || sc_stat(sc, t[0], t[1], &got) < 0)
            return -1;
    } else if (n == 2) {
        if (sc_num(sc, t[1], &want) < 0)
            return -1;
        if (strcmp(t[0], "drops") == 0) {
            for (int i = 0; i < PT_TCP_DROP_MAX; i++)
                got += st->drops[i];
        } else if (strcmp(t[0], "conns") == 0) {
            got = st->conns_in_use;
        } else if (strcmp(t[0], "tw") == 0) {
            got = st->tw_in_use;
        } else if (strcmp(t[0], "mbufs") == 0) {
            got = rte_mempool_in_use_count(pt_test_pool());
        } else if (strcmp(t[0], "space") == 0) {
            if (p->conn == NULL)
                return sc_fail(sc, "peer %d has no open connection", p->id);
            got = pt_tcp_send_space(p->conn);
        } else {
            return sc_fail(sc, "unknown expectation '%s'", t[0]);
        }
    } else {
        return sc_fail(sc, "expect what?");
    }
    if (got != (uint64_t)want)
        return sc_fail(sc, "%s is %llu", n == 3 ? t[1] : t[0],
                       (unsigned long long)got);
    return 0;
}

static int
sc_conf(struct sc *sc, char **t, int n)
{
    static const struct {
        const char *key;
        size_t off;
    } u32[] = {
#define K(f) { #f, offsetof(struct pt_tcp_conf, f) }
        K(max_conns), K(syn_backlog), K(rcv_buf), K(snd_buf),
        K(delayed_ack_ms), K(rto_initial_ms), K(rto_min_ms), K(rto_max_ms),
        K(max_retries), K(synack_retries), K(syn_retries), K(time_wait_ms),
        K(time_wait_max), K(reply_limit), K(ooo_segments),
#undef K
    };

    if (sc->net != NULL)
        return sc_fail(sc, "conf after the stack started");
    for (int i = 0; i < n; i++) {
        const char *val;
        long long v;
        size_t k;

        for (k = 0; k < RTE_DIM(u32); k++)
            if (sc_kv(t[i], u32[k].key, &val))
                break;
        if (k < RTE_DIM(u32)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            *(uint32_t *)((char *)&sc->conf + u32[k].off) = (uint32_t)v;
        } else if (sc_kv(t[i], "mss", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            sc->conf.mss = (uint16_t)v;
        } else if (sc_kv(t[i], "ip_count", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            sc->ip_count = (uint32_t)v;
        } else if (sc_kv(t[i], "syncookies", &val)) {
            sc->conf.syncookies = strcmp(val, "0") != 0;
        } else if (sc_kv(t[i], "port", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            sc->port = (uint16_t)v;
        } else if (sc_kv(t[i], "autorecv", &val)) {
            sc->autorecv = strcmp(val, "0") != 0;
        } else if (sc_kv(t[i], "echo", &val)) {
            sc->echo = strcmp(val, "0") != 0;
        } else if (sc_kv(t[i], "refuse", &val)) {
            sc->refuse = strcmp(val, "0") != 0;
        } else {
            return sc_fail(sc, "unknown conf '%s'", t[i]);
        }
    }
    return 0;
}

static int
sc_peer_cmd(struct sc *sc, char **t, int n)
{
    struct sc_peer *p;
    long long v;
    const char *val;

    if (n < 1 || n > 3 || sc_num(sc, t[0], &v) < 0 || v < 1 || v > SC_PEERS)
        return sc_fail(sc, "peer N [laddr=IP] [isn=X], N in 1..%d",
                       SC_PEERS);
    p = sc->cur = &sc->peers[v];
    if (n >= 2 && sc_kv(t[1], "laddr", &val)) {
        /* our address towards this peer, for a passive connection */
        if (sc_ip(sc, val, &p->laddr) < 0)
            return -1;
        t++;
        n--;
    }
    if (n == 2) {
        /* a new incarnation of the peer: forget the old connection's
         * sequence spaces and logs */
        if (!sc_kv(t[1], "isn", &val) || sc_num(sc, val, &v) < 0)
            return sc_fail(sc, "peer N isn=X");
        if (p->conn != NULL)
            return sc_fail(sc, "peer %d still has a connection", p->id);
        p->isn = (uint32_t)v;
        p->sisn_known = false;
        p->sisn = 0;
        p->tx_len = 0;
        p->delivered = 0;
        p->acked = 0;
        if (p->rx_set != NULL)
            memset(p->rx_set, 0, SC_LOG_MAX);
    }
    return 0;
}

static int
sc_line(struct sc *sc, char *line)
{
    char *tv[SC_TOKENS], **t = tv;
    bool qv[SC_TOKENS], *q = qv;
    int n = sc_tokenize(line, tv, qv, SC_TOKENS), rc;

    if (n < 0)
        return sc_fail(sc, "cannot split the line (quotes, <>, length)");
    if (n == 0)
        return 0;
    if (strcmp(t[0], "conf") == 0)
        return sc_conf(sc, t + 1, n - 1);
    if (sc_start(sc) < 0)
        return -1;
    if (t[0][0] == '+') {
        long long ms;

        if (sc_num(sc, t[0] + 1, &ms) < 0 || ms < 0)
            return -1;
        sc->now += (uint64_t)ms * 1000000ull;
        pt_tcp_tick(sc->tcp, sc->now);
        sc_flush(sc);
        t++;
        q++;
        if (--n == 0)
            return 0;
    }
    if (strcmp(t[0], "peer") == 0)
        rc = sc_peer_cmd(sc, t + 1, n - 1);
    else if (strcmp(t[0], "in") == 0)
        rc = sc_in(sc, t + 1, q + 1, n - 1);
    else if (strcmp(t[0], "out") == 0)
        rc = sc_out(sc, t + 1, q + 1, n - 1);
    else if (strcmp(t[0], "ev") == 0)
        rc = sc_ev(sc, t + 1, q + 1, n - 1);
    else if (strcmp(t[0], "app") == 0)
        rc = sc_app(sc, t + 1, q + 1, n - 1);
    else if (strcmp(t[0], "expect") == 0)
        rc = sc_expect(sc, t + 1, n - 1);
    else
        rc = sc_fail(sc, "unknown command '%s'", t[0]);
    if (rc == 0 && sc->cb_err[0] != '\0')
        rc = sc_fail(sc, "in a callback: %s", sc->cb_err);
    return rc;
}

int
pt_tcp_script_run(const char *name, const char *text)
{
    struct sc *sc = calloc(1, sizeof(*sc));
    char line[SC_LINE_MAX], shown[SC_LINE_MAX] = "(end of script)";
    const char *p = text;
    int rc = 0;

    if (sc == NULL)
        return -1;
    sc_init(sc, name);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

        sc->lineno++;
        if (len >= sizeof(line)) {
            rc = sc_fail(sc, "line too long");
            break;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        memcpy(shown, line, len + 1);
        p += len + (nl != NULL);
        if (sc_line(sc, line) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        snprintf(shown, sizeof(shown), "(end of script)");
        sc->lineno++;
        if (sc_start(sc) < 0 || sc_unchecked(sc, "script ended") < 0 ||
            sc_pending_events(sc, "script ended") < 0)
            rc = -1;
    }
    if (sc_stop(sc, rc == 0) < 0)
        rc = -1;
    if (rc == 0 && rte_mempool_in_use_count(pt_test_pool()) != 0)
        rc = sc_fail(sc, "%u mbufs still in use after teardown",
                     rte_mempool_in_use_count(pt_test_pool()));
    if (rc < 0)
        fprintf(stderr, "%s: line %u: %s\n    %s\n", name, sc->lineno,
                shown, sc->err);
    free(sc);
    return rc;
}
