/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The application side of a packet script: a test application whose
 * pt_tcp_ops callbacks check what they are given (delivered bytes against
 * what the peer sent, the connection against the peer's) and record it as
 * events, and the commands on that side: `ev` checks the recorded events
 * in order, `app` makes the application act outside any callback. A
 * problem seen inside a callback is kept in sc->cb_err and reported after
 * the line that caused it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <petrel/tcp.h>

#include "pt_tcp_script_priv.h"
#include "pt_test.h"

static const char *const sc_ev_names[] = { "accept", "data", "eof", "closed",
                                           "connected" };

static void
sc_cb_fail(struct sc *sc, const char *fmt, ...)
{
    va_list ap;

    if (sc->cb_err[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(sc->cb_err, sizeof(sc->cb_err), fmt, ap);
    va_end(ap);
}

/* ---- the test application ---- */

static void
sc_push(struct sc *sc, enum sc_ev_type type, struct sc_peer *p,
        uint32_t bytes, uint32_t off, int reason)
{
    if (sc->ev_n == SC_EVENTS) {
        sc_cb_fail(sc, "event queue full (unchecked events?)");
        return;
    }
    sc->ev[(sc->ev_head + sc->ev_n++) % SC_EVENTS] = (struct sc_event){
        .type = type, .peer = p->id, .bytes = bytes, .off = off,
        .reason = reason,
    };
}

static int
app_accept(void *arg, struct pt_tcp_conn *c, void **user)
{
    struct sc *sc = arg;
    uint32_t addr;
    uint16_t port, lport;
    struct sc_peer *p;

    pt_tcp_conn_peer(c, &addr, &port, &lport);
    p = sc_peer_by_port(sc, port);
    if (p == NULL || addr != rte_cpu_to_be_32(PT_TEST_PEER_IP) ||
        lport != sc->port) {
        sc_cb_fail(sc, "accept: unexpected peer %08x:%u -> port %u",
                   rte_be_to_cpu_32(addr), port, lport);
        return -ECONNREFUSED;
    }
    if (pt_tcp_conn_state(c) != PT_TCP_ESTABLISHED)
        sc_cb_fail(sc, "accept: connection in state %s, not established",
                   pt_tcp_state_name(pt_tcp_conn_state(c)));
    sc_push(sc, EV_ACCEPT, p, 0, 0, 0);
    if (sc->refuse)
        return -ECONNREFUSED;
    if (p->conn != NULL)
        sc_cb_fail(sc, "accept: peer %d already has a connection", p->id);
    p->conn = c;
    p->accepts++;
    *user = p;
    return 0;
}

static void
app_data(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    struct sc_peer *p = user;
    struct sc *sc = p->sc;
    uint32_t len = rte_pktmbuf_pkt_len(m);

    if (len > sizeof(sc->data)) {
        sc_cb_fail(sc, "data: %u bytes in one callback", len);
        len = sizeof(sc->data);
    }
    pt_test_read(m, sc->data, len);
    rte_pktmbuf_free(m);
    if (c != p->conn)
        sc_cb_fail(sc, "data: for a connection peer %d does not own", p->id);
    if (len == 0)
        sc_cb_fail(sc, "data: empty delivery");
    for (uint32_t i = 0; i < len; i++) {
        size_t at = p->delivered + i;

        if (at >= SC_LOG_MAX || !p->rx_set[at] || p->rx[at] != sc->data[i]) {
            sc_cb_fail(sc, "data: byte at relative seq %zu is 0x%02x, the "
                       "peer sent %s0x%02x", at + 1, sc->data[i],
                       at < SC_LOG_MAX && p->rx_set[at] ? "" : "nothing: ",
                       at < SC_LOG_MAX ? p->rx[at] : 0);
            break;
        }
    }
    sc_push(sc, EV_DATA, p, len, (uint32_t)p->delivered, 0);
    p->delivered += len;
    if (sc->autorecv)
        pt_tcp_recved(c, len);
    if (sc->echo) {
        struct rte_mbuf *r = pt_test_mbuf(sc->data, len, SC_FRAME_SEG);
        int rc = pt_tcp_send(c, r);

        if (rc != (int)len) {
            sc_cb_fail(sc, "echo: pt_tcp_send returned %d", rc);
            rte_pktmbuf_free(r);
        } else {
            memcpy(p->tx + p->tx_len, sc->data, len);
            p->tx_len += len;
        }
    }
}

static void
app_eof(void *user, struct pt_tcp_conn *c)
{
    struct sc_peer *p = user;

    if (c != p->conn)
        sc_cb_fail(p->sc, "eof: for a connection peer %d does not own",
                   p->id);
    sc_push(p->sc, EV_EOF, p, 0, 0, 0);
}

static void
app_sent(void *user, struct pt_tcp_conn *c, uint32_t bytes)
{
    struct sc_peer *p = user;

    if (c != p->conn)
        sc_cb_fail(p->sc, "sent: for a connection peer %d does not own",
                   p->id);
    p->acked += bytes;
}

static void
app_closed(void *user, struct pt_tcp_conn *c, int reason)
{
    struct sc_peer *p = user;

    if (c != p->conn || p->closes > 0)
        sc_cb_fail(p->sc, "closed: peer %d closed twice or not its "
                   "connection", p->id);
    p->closes++;
    p->conn = NULL;
    sc_push(p->sc, EV_CLOSED, p, 0, 0, reason);
}

static void
app_connected(void *user, struct pt_tcp_conn *c)
{
    struct sc_peer *p = user;

    if (c != p->conn)
        sc_cb_fail(p->sc, "connected: for a connection peer %d does not own",
                   p->id);
    if (pt_tcp_conn_state(c) != PT_TCP_ESTABLISHED)
        sc_cb_fail(p->sc, "connected: connection in state %s",
                   pt_tcp_state_name(pt_tcp_conn_state(c)));
    sc_push(p->sc, EV_CONNECTED, p, 0, 0, 0);
}

const struct pt_tcp_ops sc_ops = {
    .accept = app_accept,
    .data = app_data,
    .eof = app_eof,
    .sent = app_sent,
    .closed = app_closed,
    .connected = app_connected,
};

/* `app connect [laddr=IP] [lport=N] [rport=N] [mac=cache] [expect ERR]`:
 * an active open from our address and port towards the current peer
 * (laddr, lport and the peer's port rport stick to the peer); mac=cache takes the MAC from the neighbour
 * cache instead of giving it. */
static int
sc_connect(struct sc *sc, char **t, int n, bool has_want, long long want)
{
    struct sc_peer *p = sc->cur;
    const struct rte_ether_addr *mac = &pt_test_peer_mac;
    struct pt_tcp_conn *c = NULL;
    const char *val;
    long long v;
    int rc;

    for (int i = 1; i < (has_want ? n - 2 : n); i++) {
        if (sc_kv(t[i], "laddr", &val)) {
            if (sc_ip(sc, val, &p->laddr) < 0)
                return -1;
        } else if (sc_kv(t[i], "lport", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            p->lport = (uint16_t)v;
        } else if (sc_kv(t[i], "rport", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            p->port = (uint16_t)v;
        } else if (strcmp(t[i], "mac=cache") == 0) {
            mac = NULL;
        } else {
            return sc_fail(sc, "app connect [laddr=IP] [lport=N] [rport=N] "
                           "[mac=cache] [expect ERR]");
        }
    }
    rc = pt_tcp_connect(sc->tcp, rte_cpu_to_be_32(p->laddr), sc_lport(sc, p),
                        rte_cpu_to_be_32(PT_TEST_PEER_IP), p->port, mac,
                        &sc_ops, p, &c);
    if (rc == 0) {
        if (p->conn != NULL)
            sc_cb_fail(sc, "connect: peer %d already has a connection",
                       p->id);
        if (pt_tcp_conn_state(c) != PT_TCP_SYN_SENT ||
            pt_tcp_conn_laddr(c) != rte_cpu_to_be_32(p->laddr))
            sc_cb_fail(sc, "connect: state %s, laddr %08x",
                       pt_tcp_state_name(pt_tcp_conn_state(c)),
                       rte_be_to_cpu_32(pt_tcp_conn_laddr(c)));
        p->conn = c;
        p->accepts++;
    }
    pt_tcp_flush(sc->tcp);
    sc_flush(sc);
    if (rc != (has_want ? want : 0))
        return sc_fail(sc, "returned %d, expected %lld", rc,
                       has_want ? want : 0);
    return 0;
}

/* ---- commands ---- */

static int
sc_reason(struct sc *sc, const char *s, int *r)
{
    static const struct {
        const char *name;
        int v;
    } names[] = {
        { "ok", 0 }, { "reset", -ECONNRESET }, { "timeout", -ETIMEDOUT },
        { "aborted", -ECONNABORTED }, { "refused", -ECONNREFUSED },
    };
    long long v;

    for (size_t i = 0; i < RTE_DIM(names); i++)
        if (strcmp(s, names[i].name) == 0) {
            *r = names[i].v;
            return 0;
        }
    if (sc_num(sc, s, &v) < 0)
        return -1;
    *r = (int)v;
    return 0;
}

static void
sc_event_str(const struct sc_event *e, char *out, size_t cap)
{
    switch (e->type) {
    case EV_DATA:
        snprintf(out, cap, "peer %d: data %u", e->peer, e->bytes);
        break;
    case EV_CLOSED:
        snprintf(out, cap, "peer %d: closed %d", e->peer, e->reason);
        break;
    default:
        snprintf(out, cap, "peer %d: %s", e->peer, sc_ev_names[e->type]);
    }
}

int
sc_pending_events(struct sc *sc, const char *what)
{
    char s[96];

    if (sc->ev_n == 0)
        return 0;
    sc_fail(sc, "%s, but %u event(s) are unchecked:", what, sc->ev_n);
    for (unsigned i = 0; i < sc->ev_n && i < 8; i++) {
        sc_event_str(&sc->ev[(sc->ev_head + i) % SC_EVENTS], s, sizeof(s));
        sc_fail(sc, "\n      %s", s);
    }
    return -1;
}

static void
sc_event_pop(struct sc *sc)
{
    sc->ev_head = (sc->ev_head + 1) % SC_EVENTS;
    sc->ev_n--;
}

int
sc_ev(struct sc *sc, char **t, bool *q, int n)
{
    struct sc_peer *p = sc->cur;
    struct sc_event *e;
    long long v = 0;
    char s[96];
    int type;

    if (n == 0)
        return sc_fail(sc, "ev what?");
    if (strcmp(t[0], "none") == 0)
        return sc_pending_events(sc, "expected no event");
    if (strcmp(t[0], "sent") == 0) {
        if (n != 2 || sc_num(sc, t[1], &v) < 0)
            return sc_fail(sc, "ev sent N");
        if (p->acked != (uint64_t)v)
            return sc_fail(sc, "%llu bytes acknowledged (sent), expected "
                           "%lld", (unsigned long long)p->acked, v);
        p->acked = 0;
        return 0;
    }
    for (type = 0; type < (int)RTE_DIM(sc_ev_names); type++)
        if (strcmp(t[0], sc_ev_names[type]) == 0)
            break;
    if (type == (int)RTE_DIM(sc_ev_names))
        return sc_fail(sc, "unknown event '%s'", t[0]);
    if (sc->ev_n == 0)
        return sc_fail(sc, "no event happened");
    e = &sc->ev[sc->ev_head];
    sc_event_str(e, s, sizeof(s));
    if ((int)e->type != type || e->peer != p->id)
        return sc_fail(sc, "the next event is %s", s);
    if (type == EV_CLOSED) {
        int r;

        if (n != 2 || sc_reason(sc, t[1], &r) < 0)
            return sc_fail(sc, "ev closed REASON");
        if (e->reason != r)
            return sc_fail(sc, "the next event is %s", s);
    } else if (type == EV_DATA) {
        uint32_t got = 0, off = e->off;

        if (n < 2 || sc_num(sc, t[1], &v) < 0)
            return sc_fail(sc, "ev data N [\"TEXT\"]");
        while (sc->ev_n > 0 && got < (uint64_t)v) {
            e = &sc->ev[sc->ev_head];
            if (e->type != EV_DATA || e->peer != p->id)
                break;
            got += e->bytes;
            sc_event_pop(sc);
        }
        if (got != (uint64_t)v)
            return sc_fail(sc, "data callbacks delivered %u bytes", got);
        if (n == 3 && q[2] &&
            ((long long)strlen(t[2]) != v || off + v > SC_LOG_MAX ||
             memcmp(p->rx + off, t[2], (size_t)v) != 0))
            return sc_fail(sc, "delivered text differs");
        return 0;
    }
    sc_event_pop(sc);
    return 0;
}

int
sc_app(struct sc *sc, char **t, bool *q, int n)
{
    struct sc_peer *p = sc->cur;
    long long v = 0, want = 0;
    bool has_want = n >= 3 && strcmp(t[n - 2], "expect") == 0;
    int rc = 0;

    if (n == 0)
        return sc_fail(sc, "app what?");
    if (has_want && sc_num(sc, t[n - 1], &want) < 0)
        return -1;
    if (strcmp(t[0], "connect") == 0)
        return sc_connect(sc, t, n, has_want, want);
    if (p->conn == NULL)
        return sc_fail(sc, "peer %d has no open connection", p->id);
    if ((strcmp(t[0], "send") == 0 || strcmp(t[0], "write") == 0) &&
        n >= 2) {
        struct rte_mbuf *m = NULL;
        size_t len;

        if (q[1]) {
            len = strlen(t[1]);
            memcpy(sc->data, t[1], len);
        } else {
            if (sc_num(sc, t[1], &v) < 0)
                return -1;
            len = (size_t)v;
            if (len > sizeof(sc->data))
                return sc_fail(sc, "send at most %zu", sizeof(sc->data));
            for (size_t i = 0; i < len; i++)
                sc->data[i] = sc_pattern((uint32_t)(p->tx_len + 1 + i));
        }
        if (p->tx_len + len > SC_LOG_MAX)
            return sc_fail(sc, "send log full");
        if (t[0][0] == 'w') {
            /* pt_tcp_write: the bytes are copied into the queue */
            rc = pt_tcp_write(p->conn, sc->data, (uint32_t)len);
        } else {
            m = pt_test_mbuf(sc->data, len, SC_FRAME_SEG);
            rc = pt_tcp_send(p->conn, m);
        }
        if (rc >= 0) {
            memcpy(p->tx + p->tx_len, sc->data, len);
            p->tx_len += len;
        } else {
            rte_pktmbuf_free(m);
        }
        if (!has_want)
            want = (long long)len;
    } else if (strcmp(t[0], "close") == 0) {
        rc = pt_tcp_close(p->conn);
        if (!has_want)
            want = 0;
    } else if (strcmp(t[0], "abort") == 0) {
        pt_tcp_abort(p->conn);
        want = 0;
    } else if (strcmp(t[0], "recved") == 0 && n == 2) {
        if (sc_num(sc, t[1], &v) < 0)
            return -1;
        pt_tcp_recved(p->conn, (uint32_t)v);
        want = 0;
    } else {
        return sc_fail(sc, "unknown app action '%s'", t[0]);
    }
    pt_tcp_flush(sc->tcp);
    sc_flush(sc);
    if (rc != want)
        return sc_fail(sc, "returned %d, expected %lld", rc, want);
    return 0;
}
