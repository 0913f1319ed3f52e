/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet-script interpreter for TCP-lite unit tests (format in
 * pt_tcp_script.h). It forges the peer's segments, parses and checks what
 * the stack transmits, runs a recording test application, and drives the
 * fake clock. It holds no TCP knowledge of its own beyond sequence
 * arithmetic: every expectation comes from the script.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "pt_tcp_script.h"
#include "pt_test.h"

#define SC_T0_NS (1000ull * 1000000000ull) /* fake clock at creation */
#define SC_LISTEN_PORT 1883
#define SC_PEER_PORT_BASE 40000
#define SC_PEERS 8
#define SC_EVENTS 256
#define SC_TOKENS 48
#define SC_LINE_MAX 1024
#define SC_FRAME_MAX 16384
#define SC_LOG_MAX (1u << 20)     /* relative sequence space we record */
#define SC_FRAME_SEG 1800         /* mbuf chunk for long forged frames */
#define L2 sizeof(struct rte_ether_hdr)
#define L3 sizeof(struct rte_ipv4_hdr)

/* TCP flag bits in byte 13, in tcpdump's letter order; ACK is `.`. */
static const struct {
    char c;
    uint8_t bit;
} sc_flag_chars[] = {
    { 'S', 0x02 }, { 'F', 0x01 }, { 'R', 0x04 }, { 'P', 0x08 },
    { 'U', 0x20 }, { 'E', 0x40 }, { 'W', 0x80 }, { '.', 0x10 },
};
#define SC_ACK 0x10
#define SC_SYN 0x02
#define SC_FIN 0x01
#define SC_PSH 0x08

enum sc_ev_type { EV_ACCEPT, EV_DATA, EV_EOF, EV_CLOSED };
static const char *const sc_ev_names[] = { "accept", "data", "eof", "closed" };

struct sc_event {
    enum sc_ev_type type;
    int peer;
    uint32_t bytes;   /* data */
    uint32_t off;     /* data: offset in the peer's stream */
    int reason;       /* closed */
};

struct sc;

struct sc_peer {
    struct sc *sc;
    int id;
    uint16_t port;
    uint32_t isn;                 /* the peer's ISN (ours to choose) */
    uint32_t sisn;                /* the stack's, from its first SYN */
    bool sisn_known;
    struct pt_tcp_conn *conn;     /* accepted and not yet closed */
    unsigned accepts;
    unsigned closes;
    uint8_t *rx, *rx_set;         /* what the peer sent, at rel seq - 1 */
    uint8_t *tx;                  /* what the app gave pt_tcp_send() */
    size_t tx_len;
    size_t delivered;             /* bytes the data callback got */
    uint64_t acked;               /* `sent` bytes not yet checked */
};

struct sc {
    const char *name;
    unsigned lineno;
    char err[4096];
    char cb_err[512];             /* first error seen inside a callback */
    bool trace;

    struct pt_tcp_conf conf;
    uint16_t port;
    bool autorecv, echo, refuse;

    struct pt_net *net;
    struct pt_tcp *tcp;
    struct pt_test_tx tx;
    unsigned tx_next;             /* first unchecked captured frame */
    uint64_t now;

    struct sc_peer peers[SC_PEERS + 1];
    struct sc_peer *cur;

    struct sc_event ev[SC_EVENTS];
    unsigned ev_head, ev_n;

    uint8_t buf[SC_FRAME_MAX];
    uint8_t data[70000];
};

/* A parsed SEG of an `in` or `out` line. */
struct sc_seg {
    uint8_t flags;
    bool has_seq, has_ack, has_win, has_opts, has_data;
    uint32_t seq, len, ack, win;
    uint8_t opts[40];
    size_t optlen;
    bool has_mss;
    uint16_t mss;
    const char *data;
    size_t data_len;
    bool badcsum;
    int doff, tcplen, sport, dport;   /* -1 = not given */
};

/* A decoded frame the stack sent. */
struct sc_frame {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    bool has_mss, other_opts;
    uint16_t mss;
    const uint8_t *payload;
    uint32_t len;
};

static const uint8_t sc_secret[16] = {
    0x70, 0x65, 0x74, 0x72, 0x65, 0x6c, 0x2d, 0x74,
    0x63, 0x70, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x21,
};

/* Payload pattern: a byte per relative sequence number, period 61 (prime,
 * so a segment shifted by any plausible amount reads differently). */
static uint8_t
sc_pattern(uint32_t rel)
{
    static const char a[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy";

    return (uint8_t)a[rel % 61];
}

static int
sc_fail(struct sc *sc, const char *fmt, ...)
{
    va_list ap;
    size_t n = strlen(sc->err);

    va_start(ap, fmt);
    vsnprintf(sc->err + n, sizeof(sc->err) - n, fmt, ap);
    va_end(ap);
    return -1;
}

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

static struct sc_peer *
sc_peer_by_port(struct sc *sc, uint16_t port)
{
    for (int i = 1; i <= SC_PEERS; i++)
        if (sc->peers[i].port == port)
            return &sc->peers[i];
    return NULL;
}

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

static const struct pt_tcp_ops sc_ops = {
    .accept = app_accept,
    .data = app_data,
    .eof = app_eof,
    .sent = app_sent,
    .closed = app_closed,
};

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
    sc->conf = (struct pt_tcp_conf){
        .max_conns = 64,
        .syn_backlog = 4,
        .syncookies = true,
        .mss = 1460,
        .rcv_buf = 65535,
        .snd_buf = 65536,
        .delayed_ack_ms = 0,
        .rto_initial_ms = 1000,
        .rto_min_ms = 200,
        .rto_max_ms = 60000,
        .max_retries = 5,
        .synack_retries = 3,
        .time_wait_ms = 2000,
        .time_wait_max = 64,
        .reply_limit = 1000000,
        .now_ns = SC_T0_NS,
        .secret = sc_secret,
        .socket_id = SOCKET_ID_ANY,
    };
    for (int i = 1; i <= SC_PEERS; i++) {
        struct sc_peer *p = &sc->peers[i];

        p->sc = sc;
        p->id = i;
        p->port = (uint16_t)(SC_PEER_PORT_BASE + i);
        p->isn = (uint32_t)i * 1000000u;
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

/* ---- lines and tokens ---- */

/* Split s in place; quoted strings lose their quotes (\n \t \\ \"
 * escapes), <...> stays one token. @return the count or -1. */
static int
sc_tokenize(char *s, char **tok, bool *quoted, int max)
{
    int n = 0;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (*s == '\0' || *s == '#')
            return n;
        if (n == max)
            return -1;
        quoted[n] = false;
        if (*s == '"') {
            char *w = ++s;

            tok[n] = w;
            quoted[n] = true;
            while (*s != '\0' && *s != '"') {
                if (*s == '\\' && s[1] != '\0') {
                    s++;
                    *w++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
                    s++;
                } else {
                    *w++ = *s++;
                }
            }
            if (*s != '"')
                return -1;
            s++;
            *w = '\0';
        } else if (*s == '<') {
            tok[n] = s;
            while (*s != '\0' && *s != '>')
                s++;
            if (*s != '>')
                return -1;
            s++;
            if (*s != '\0')
                *s++ = '\0';
        } else {
            tok[n] = s;
            while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r' &&
                   *s != '#')
                s++;
            if (*s == '#') {
                *s = '\0';
                return n + 1;
            }
            if (*s != '\0')
                *s++ = '\0';
        }
        n++;
    }
}

static int
sc_num(struct sc *sc, const char *s, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0')
        return sc_fail(sc, "not a number: '%s'", s);
    return 0;
}

/* "KEY=N" with KEY matching. */
static bool
sc_kv(const char *tok, const char *key, const char **val)
{
    size_t n = strlen(key);

    if (strncmp(tok, key, n) != 0 || tok[n] != '=')
        return false;
    *val = tok + n + 1;
    return true;
}

static int
sc_flags_parse(struct sc *sc, const char *s, uint8_t *flags)
{
    *flags = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    for (; *s != '\0'; s++) {
        size_t i;

        for (i = 0; i < RTE_DIM(sc_flag_chars); i++)
            if (sc_flag_chars[i].c == *s)
                break;
        if (i == RTE_DIM(sc_flag_chars))
            return sc_fail(sc, "bad flag '%c'", *s);
        *flags |= sc_flag_chars[i].bit;
    }
    return 0;
}

static bool
sc_is_flags(const char *s)
{
    if (strcmp(s, "-") == 0)
        return true;
    for (; *s != '\0'; s++)
        if (strchr("SFRPUEW.", *s) == NULL)
            return false;
    return true;
}

static void
sc_flags_str(uint8_t flags, char *out)
{
    char *o = out;

    for (size_t i = 0; i < RTE_DIM(sc_flag_chars); i++)
        if (flags & sc_flag_chars[i].bit)
            *o++ = sc_flag_chars[i].c;
    if (o == out)
        *o++ = '-';
    *o = '\0';
}

/* "<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>" into wire options. */
static int
sc_opts_parse(struct sc *sc, const char *tok, struct sc_seg *g, bool out)
{
    char copy[256], *item, *save = NULL;
    uint8_t *o = g->opts;

    snprintf(copy, sizeof(copy), "%.*s", (int)strlen(tok) - 2, tok + 1);
    g->has_opts = true;
    for (item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        unsigned long a, b;

        while (*item == ' ')
            item++;
        if (o - g->opts > 28)
            return sc_fail(sc, "too many options");
        if (sscanf(item, "mss %lu", &a) == 1) {
            g->has_mss = true;
            g->mss = (uint16_t)a;
            *o++ = 2, *o++ = 4, *o++ = (uint8_t)(a >> 8), *o++ = (uint8_t)a;
            continue;
        }
        if (out)
            return sc_fail(sc, "`out` checks only <mss N>, not '%s'", item);
        if (strncmp(item, "sackOK", 6) == 0) {
            *o++ = 4, *o++ = 2;
        } else if (sscanf(item, "TS val %lu ecr %lu", &a, &b) == 2) {
            *o++ = 8, *o++ = 10;
            for (int i = 3; i >= 0; i--)
                *o++ = (uint8_t)(a >> (8 * i));
            for (int i = 3; i >= 0; i--)
                *o++ = (uint8_t)(b >> (8 * i));
        } else if (sscanf(item, "wscale %lu", &a) == 1) {
            *o++ = 3, *o++ = 3, *o++ = (uint8_t)a;
        } else if (strncmp(item, "nop", 3) == 0) {
            *o++ = 1;
        } else if (strncmp(item, "eol", 3) == 0) {
            *o++ = 0;
        } else {
            return sc_fail(sc, "unknown option '%s'", item);
        }
    }
    while ((o - g->opts) % 4 != 0)
        *o++ = 0;
    g->optlen = (size_t)(o - g->opts);
    return 0;
}

static int
sc_seg_parse(struct sc *sc, char **t, bool *q, int n, struct sc_seg *g,
             bool out)
{
    int i = 0;
    long long v;
    const char *val;

    memset(g, 0, sizeof(*g));
    g->doff = g->tcplen = g->sport = g->dport = -1;
    /* modifiers first (in), then flags */
    for (; i < n && !sc_is_flags(t[i]); i++) {
        if (!out && strcmp(t[i], "badcsum") == 0) {
            g->badcsum = true;
        } else if (!out && sc_kv(t[i], "doff", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->doff = (int)v;
        } else if (!out && sc_kv(t[i], "tcplen", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->tcplen = (int)v;
        } else if (sc_kv(t[i], "sport", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->sport = (int)v;
        } else if (!out && sc_kv(t[i], "dport", &val)) {
            if (sc_num(sc, val, &v) < 0)
                return -1;
            g->dport = (int)v;
        } else {
            return sc_fail(sc, "unknown modifier or flags '%s'", t[i]);
        }
    }
    if (i == n)
        return sc_fail(sc, "no flags");
    if (sc_flags_parse(sc, t[i++], &g->flags) < 0)
        return -1;
    if (i < n && !q[i] && (isdigit((unsigned char)t[i][0]) ||
                           t[i][0] == '-')) {
        long long s, e, l;
        char *p;

        s = strtoll(t[i], &p, 10);
        if (*p++ != ':')
            return sc_fail(sc, "sequence '%s' is not SEQ:END(LEN)", t[i]);
        e = strtoll(p, &p, 10);
        if (*p++ != '(')
            return sc_fail(sc, "sequence '%s' is not SEQ:END(LEN)", t[i]);
        l = strtoll(p, &p, 10);
        if (strcmp(p, ")") != 0 || e - s != l || l < 0)
            return sc_fail(sc, "sequence '%s': END-SEQ must be LEN", t[i]);
        g->has_seq = true;
        g->seq = (uint32_t)s;
        g->len = (uint32_t)l;
        i++;
    }
    while (i < n) {
        if (strcmp(t[i], "ack") == 0 && i + 1 < n) {
            if (sc_num(sc, t[i + 1], &v) < 0)
                return -1;
            g->has_ack = true;
            g->ack = (uint32_t)v;
            i += 2;
        } else if (strcmp(t[i], "win") == 0 && i + 1 < n) {
            if (sc_num(sc, t[i + 1], &v) < 0)
                return -1;
            g->has_win = true;
            g->win = (uint32_t)v;
            i += 2;
        } else if (t[i][0] == '<' && !q[i]) {
            if (sc_opts_parse(sc, t[i], g, out) < 0)
                return -1;
            i++;
        } else if (strcmp(t[i], "data") == 0 && i + 1 < n && q[i + 1]) {
            if (out)
                return sc_fail(sc, "`out` payloads come from app sends");
            g->has_data = true;
            g->data = t[i + 1];
            g->data_len = strlen(t[i + 1]);
            i += 2;
        } else {
            return sc_fail(sc, "unexpected '%s'", t[i]);
        }
    }
    if (g->has_data && g->has_seq && g->data_len != g->len)
        return sc_fail(sc, "data has %zu bytes, LEN says %u", g->data_len,
                       g->len);
    if (g->has_data && !g->has_seq) {
        g->has_seq = true;
        g->seq = 1;
        g->len = (uint32_t)g->data_len;
    }
    if (!out && (g->flags & SC_ACK) && !g->has_ack)
        return sc_fail(sc, "ACK flag without `ack N`");
    return 0;
}

/* ---- frames ---- */

/* Decode a TCP/IPv4 frame; for `out` frames, check what every frame must
 * satisfy and report it in err. @return 0 or -1 (not TCP/IPv4 at all). */
static int
sc_frame_decode(const uint8_t *b, size_t len, struct sc_frame *f,
                char *err, size_t errlen)
{
    const struct rte_ether_hdr *eh = (const void *)b;
    const struct rte_ipv4_hdr *ip = (const void *)(b + L2);
    const struct rte_tcp_hdr *th = (const void *)(b + L2 + L3);
    size_t doff, tlen;
    const uint8_t *o;

    memset(f, 0, sizeof(*f));
    err[0] = '\0';
    if (len < L2 + L3 + sizeof(*th) ||
        eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
        ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_TCP) {
        snprintf(err, errlen, "not a TCP/IPv4 frame (%zu bytes)", len);
        return -1;
    }
    tlen = rte_be_to_cpu_16(ip->total_length);
    doff = (size_t)(th->data_off >> 4) * 4;
    if (tlen != len - L2 || doff < sizeof(*th) || L3 + doff > tlen) {
        snprintf(err, errlen, "bad lengths: frame %zu, ip total %zu, "
                 "doff %zu", len, tlen, doff);
        return -1;
    }
    f->sport = rte_be_to_cpu_16(th->src_port);
    f->dport = rte_be_to_cpu_16(th->dst_port);
    f->seq = rte_be_to_cpu_32(th->sent_seq);
    f->ack = rte_be_to_cpu_32(th->recv_ack);
    f->flags = th->tcp_flags;
    f->win = rte_be_to_cpu_16(th->rx_win);
    f->payload = (const uint8_t *)th + doff;
    f->len = (uint32_t)(tlen - L3 - doff);
    for (o = (const uint8_t *)(th + 1); o < f->payload;) {
        if (*o == 0 || *o == 1) {   /* EOL and NOP pad */
            o++;
            continue;
        }
        if (o + 1 >= f->payload || o[1] < 2 || o + o[1] > f->payload) {
            f->other_opts = true;
            break;
        }
        if (o[0] == 2 && o[1] == 4) {
            f->has_mss = true;
            f->mss = (uint16_t)(o[2] << 8 | o[3]);
        } else {
            f->other_opts = true;
        }
        o += o[1];
    }
    if (memcmp(&eh->dst_addr, &pt_test_peer_mac, 6) != 0 ||
        memcmp(&eh->src_addr, &pt_test_our_mac, 6) != 0)
        snprintf(err, errlen, "Ethernet addresses are not us -> peer");
    else if (ip->src_addr != rte_cpu_to_be_32(PT_TEST_OUR_IP) ||
             ip->dst_addr != rte_cpu_to_be_32(PT_TEST_PEER_IP))
        snprintf(err, errlen, "IP addresses are not us -> peer");
    else if (rte_ipv4_cksum(ip) != 0)
        snprintf(err, errlen, "IPv4 header checksum wrong");
    else if (ip->fragment_offset &
             rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
        snprintf(err, errlen, "IPv4 fragment");
    else if (rte_ipv4_udptcp_cksum_verify(ip, th) != 0)
        snprintf(err, errlen, "TCP checksum wrong");
    else if ((th->data_off & 0x0f) != 0 || (th->tcp_flags & 0x20) ||
             th->tcp_urp != 0)
        snprintf(err, errlen, "reserved bits, URG or urgent pointer set");
    return 0;
}

/* One line like the script's: FLAGS SEQ:END(LEN) ack N win N <mss N>. */
static void
sc_frame_str(const struct sc_frame *f, uint32_t seq_base, uint32_t ack_base,
             char *out, size_t cap)
{
    char fl[16];
    int n;

    sc_flags_str(f->flags, fl);
    n = snprintf(out, cap, "%s %d:%d(%u)", fl, (int32_t)(f->seq - seq_base),
                 (int32_t)(f->seq - seq_base + f->len), f->len);
    if (f->flags & SC_ACK)
        n += snprintf(out + n, cap - (size_t)n, " ack %d",
                      (int32_t)(f->ack - ack_base));
    n += snprintf(out + n, cap - (size_t)n, " win %u", f->win);
    if (f->has_mss)
        n += snprintf(out + n, cap - (size_t)n, " <mss %u%s>", f->mss,
                      f->other_opts ? ",other" : "");
    else if (f->other_opts)
        n += snprintf(out + n, cap - (size_t)n, " <other>");
    snprintf(out + n, cap - (size_t)n, "   [%u > %u, seq %u ack %u]",
             f->sport, f->dport, f->seq, f->ack);
}

/* Describe captured frame i for a message. */
static void
sc_captured_str(struct sc *sc, unsigned i, char *out, size_t cap)
{
    struct sc_frame f;
    char err[160];
    size_t len = pt_test_read(sc->tx.pkts[i], sc->buf, sizeof(sc->buf));
    struct sc_peer *p;

    if (sc_frame_decode(sc->buf, len, &f, err, sizeof(err)) < 0) {
        snprintf(out, cap, "%s", err);
        return;
    }
    p = sc_peer_by_port(sc, f.dport);
    sc_frame_str(&f, p != NULL && p->sisn_known ? p->sisn : 0,
                 p != NULL ? p->isn : 0, out, cap);
    if (p != NULL && p != sc->cur) {
        size_t n = strlen(out);

        snprintf(out + n, cap - n, " (peer %d)", p->id);
    }
}

/* Take the oldest unchecked frame; NULL when there is none. */
static struct rte_mbuf *
sc_frame_take(struct sc *sc)
{
    struct rte_mbuf *m;

    if (sc->tx_next == sc->tx.n)
        return NULL;
    m = sc->tx.pkts[sc->tx_next];
    sc->tx.pkts[sc->tx_next++] = NULL;
    if (sc->tx_next == sc->tx.n)
        sc->tx.n = sc->tx_next = 0;
    return m;
}

static void
sc_flush(struct sc *sc)
{
    pt_net_flush(sc->net);
    if (sc->trace) {
        char s[256];

        for (unsigned i = sc->tx_next; i < sc->tx.n; i++) {
            sc_captured_str(sc, i, s, sizeof(s));
            fprintf(stderr, "  %s:%u < %s\n", sc->name, sc->lineno, s);
        }
    }
}

static int
sc_unchecked(struct sc *sc, const char *what)
{
    char s[256];

    if (sc->tx_next == sc->tx.n)
        return 0;
    sc_fail(sc, "%s, but %u frame(s) sent and not checked:", what,
            sc->tx.n - sc->tx_next);
    for (unsigned i = sc->tx_next; i < sc->tx.n && i < sc->tx_next + 8;
         i++) {
        sc_captured_str(sc, i, s, sizeof(s));
        sc_fail(sc, "\n      %s", s);
    }
    return -1;
}

/* ---- commands ---- */

static int
sc_in(struct sc *sc, char **t, bool *q, int n)
{
    struct sc_peer *p = sc->cur;
    struct sc_seg g;
    uint8_t *b = sc->buf;
    struct rte_ether_hdr *eh = (void *)b;
    struct rte_ipv4_hdr *ip = (void *)(b + L2);
    struct rte_tcp_hdr *th = (void *)(b + L2 + L3);
    uint8_t *pl;
    size_t hl, tcplen;
    uint32_t start;
    struct rte_mbuf *m;

    if (sc_seg_parse(sc, t, q, n, &g, false) < 0)
        return -1;
    if (!g.has_seq)
        return sc_fail(sc, "`in` needs SEQ:END(LEN)");
    hl = sizeof(*th) + g.optlen;
    if (L2 + L3 + hl + g.len > sizeof(sc->buf))
        return sc_fail(sc, "segment too long");
    memset(b, 0, L2 + L3 + hl);
    eh->dst_addr = pt_test_our_mac;
    eh->src_addr = pt_test_peer_mac;
    eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    th->src_port = rte_cpu_to_be_16(g.sport >= 0 ? (uint16_t)g.sport :
                                    p->port);
    th->dst_port = rte_cpu_to_be_16(g.dport >= 0 ? (uint16_t)g.dport :
                                    sc->port);
    th->sent_seq = rte_cpu_to_be_32(p->isn + g.seq);
    th->recv_ack = rte_cpu_to_be_32(g.has_ack ? p->sisn + g.ack : 0);
    th->data_off = (uint8_t)((g.doff >= 0 ? g.doff : (int)(hl / 4)) << 4);
    th->tcp_flags = g.flags;
    th->rx_win = rte_cpu_to_be_16((uint16_t)(g.has_win ? g.win : 65535));
    memcpy(th + 1, g.opts, g.optlen);
    pl = (uint8_t *)th + hl;
    start = g.seq + ((g.flags & SC_SYN) ? 1 : 0);
    for (uint32_t i = 0; i < g.len; i++) {
        uint32_t rel = start + i;

        pl[i] = g.has_data ? (uint8_t)g.data[i] : sc_pattern(rel);
        if (rel >= 1 && rel <= SC_LOG_MAX) {
            p->rx[rel - 1] = pl[i];
            p->rx_set[rel - 1] = 1;
        }
    }
    tcplen = g.tcplen >= 0 ? (size_t)g.tcplen : hl + g.len;
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16((uint16_t)(L3 + tcplen));
    ip->packet_id = rte_cpu_to_be_16((uint16_t)sc->lineno);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    ip->src_addr = rte_cpu_to_be_32(PT_TEST_PEER_IP);
    ip->dst_addr = rte_cpu_to_be_32(PT_TEST_OUR_IP);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    th->cksum = 0;
    th->cksum = rte_ipv4_udptcp_cksum(ip, th);
    if (g.badcsum)
        th->cksum ^= rte_cpu_to_be_16(0x0101);
    if (sc->trace) {
        struct sc_frame f;
        char err[160], s[256];

        if (sc_frame_decode(b, L2 + L3 + tcplen, &f, err, sizeof(err)) == 0)
            sc_frame_str(&f, p->isn, p->sisn, s, sizeof(s));
        else
            snprintf(s, sizeof(s), "(%s)", err);
        fprintf(stderr, "  %s:%u > %s\n", sc->name, sc->lineno, s);
    }
    m = pt_test_mbuf(b, L2 + L3 + tcplen,
                     L2 + L3 + tcplen > SC_FRAME_SEG ? SC_FRAME_SEG : 0);
    pt_net_input(sc->net, &m, 1, sc->now);
    sc_flush(sc);
    return 0;
}

static int
sc_out(struct sc *sc, char **t, bool *q, int n)
{
    struct sc_peer *p = sc->cur;
    struct sc_seg g;
    struct sc_frame f;
    struct rte_mbuf *m;
    char err[160], got[256];
    size_t len;
    uint32_t rel, sport;
    int rc = 0;

    if (n == 1 && strcmp(t[0], "none") == 0)
        return sc_unchecked(sc, "expected nothing");
    if (sc_seg_parse(sc, t, q, n, &g, true) < 0)
        return -1;
    m = sc_frame_take(sc);
    if (m == NULL)
        return sc_fail(sc, "nothing was sent");
    len = pt_test_read(m, sc->buf, sizeof(sc->buf));
    rte_pktmbuf_free(m);
    if (sc_frame_decode(sc->buf, len, &f, err, sizeof(err)) < 0)
        return sc_fail(sc, "%s", err);
    if ((g.flags & SC_SYN) && !p->sisn_known && (f.flags & SC_SYN)) {
        p->sisn = f.seq - (g.has_seq ? g.seq : 0);
        p->sisn_known = true;
    }
    sc_frame_str(&f, p->sisn_known ? p->sisn : 0, p->isn, got, sizeof(got));
    if (err[0] != '\0')
        rc = sc_fail(sc, "%s; ", err);
    sport = g.sport >= 0 ? (uint32_t)g.sport : sc->port;
    if (f.sport != sport || f.dport != p->port)
        rc = sc_fail(sc, "ports %u > %u, expected %u > %u; ", f.sport,
                     f.dport, sport, p->port);
    if ((f.flags & ~SC_PSH) != (g.flags & ~SC_PSH))
        rc = sc_fail(sc, "flags differ; ");
    rel = f.seq - (p->sisn_known ? p->sisn : 0);
    if (g.has_seq && rel != g.seq)
        rc = sc_fail(sc, "seq differs; ");
    if (g.has_seq && f.len != g.len)
        rc = sc_fail(sc, "length differs; ");
    if (g.has_ack && f.ack - p->isn != g.ack)
        rc = sc_fail(sc, "ack differs; ");
    if (g.has_win && f.win != g.win)
        rc = sc_fail(sc, "window differs; ");
    if (f.other_opts || f.has_mss != g.has_mss ||
        (g.has_mss && f.mss != g.mss))
        rc = sc_fail(sc, "options differ; ");
    if (!g.has_opts && f.payload - sc->buf != (long)(L2 + L3 + 20))
        rc = sc_fail(sc, "header is not 20 bytes; ");
    if (f.len > 0) {
        uint32_t start = rel + ((f.flags & SC_SYN) ? 1 : 0);

        if (start < 1 || start - 1 + (size_t)f.len > p->tx_len)
            rc = sc_fail(sc, "payload at %u..%u, the app gave only %zu "
                         "bytes; ", start, start + f.len, p->tx_len);
        else if (memcmp(f.payload, p->tx + start - 1, f.len) != 0)
            rc = sc_fail(sc, "payload is not what the app sent there; ");
    }
    if (rc < 0)
        sc_fail(sc, "\n    actual: %s", got);
    return rc;
}

static int
sc_reason(struct sc *sc, const char *s, int *r)
{
    static const struct {
        const char *name;
        int v;
    } names[] = {
        { "ok", 0 }, { "reset", -ECONNRESET }, { "timeout", -ETIMEDOUT },
        { "aborted", -ECONNABORTED },
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

static int
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

static int
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

static int
sc_app(struct sc *sc, char **t, bool *q, int n)
{
    struct sc_peer *p = sc->cur;
    long long v = 0, want;
    bool has_want = n >= 3 && strcmp(t[n - 2], "expect") == 0;
    int rc = 0;

    if (n == 0)
        return sc_fail(sc, "app what?");
    if (has_want && sc_num(sc, t[n - 1], &want) < 0)
        return -1;
    if (p->conn == NULL)
        return sc_fail(sc, "peer %d has no open connection", p->id);
    if (strcmp(t[0], "send") == 0 && n >= 2) {
        struct rte_mbuf *m;
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
        m = pt_test_mbuf(sc->data, len, SC_FRAME_SEG);
        rc = pt_tcp_send(p->conn, m);
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
        K(max_retries), K(synack_retries), K(time_wait_ms),
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

    if (n < 1 || n > 2 || sc_num(sc, t[0], &v) < 0 || v < 1 || v > SC_PEERS)
        return sc_fail(sc, "peer N [isn=X], N in 1..%d", SC_PEERS);
    p = sc->cur = &sc->peers[v];
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
