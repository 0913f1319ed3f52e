/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the TCP packet-script interpreter (the format is in
 * pt_tcp_script.h). Shared by its four files and by nothing else; unit
 * tests include only pt_tcp_script.h.
 *
 *   pt_tcp_script.c        set-up and tear-down of the stack under test,
 *                          line dispatch, the `conf`, `peer` and `expect`
 *                          commands, the clock, pt_tcp_script_run()
 *   pt_tcp_script_parse.c  tokenizer, numbers, KEY=N, flag letters, TCP
 *                          options and the SEG of `in`/`out` lines
 *   pt_tcp_script_frame.c  the `in` and `out` commands: forging the peer's
 *                          frame, decoding and checking the stack's,
 *                          formatting frames for messages and the trace
 *   pt_tcp_script_app.c    the recording test application (pt_tcp_ops
 *                          callbacks) and the `ev` and `app` commands
 *
 * Every internal function is named sc_*; those below are the ones shared
 * between the files, the rest are static. Commands return 0, or -1 with
 * the reason appended to sc->err through sc_fail().
 *
 * Threading: the calling thread only, like pt_tcp_script_run().
 */
#ifndef PETREL_TCP_SCRIPT_PRIV_H
#define PETREL_TCP_SCRIPT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>

#include <petrel/tcp.h>

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
#define SC_L2 sizeof(struct rte_ether_hdr)
#define SC_L3 sizeof(struct rte_ipv4_hdr)

/* TCP flag bits in byte 13 (letters in pt_tcp_script_parse.c). */
#define SC_ACK 0x10
#define SC_SYN 0x02
#define SC_FIN 0x01
#define SC_PSH 0x08

enum sc_ev_type { EV_ACCEPT, EV_DATA, EV_EOF, EV_CLOSED, EV_CONNECTED };

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
    uint16_t lport;               /* our port towards it (0: the listener's) */
    uint32_t laddr;               /* our address towards it, host order */
    uint32_t isn;                 /* the peer's ISN (ours to choose) */
    uint32_t sisn;                /* the stack's, from its first SYN */
    bool sisn_known;
    struct pt_tcp_conn *conn;     /* accepted or connected, not yet closed */
    unsigned accepts;             /* accepted + pt_tcp_connect() == 0 */
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
    uint32_t ip_count;            /* the net's addresses from our IP */
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
    uint32_t dst;                     /* `in` dst=IP (host order; 0: ours) */
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

/* Payload pattern: a byte per relative sequence number, period 61 (prime,
 * so a segment shifted by any plausible amount reads differently). */
static inline uint8_t
sc_pattern(uint32_t rel)
{
    static const char a[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy";

    return (uint8_t)a[rel % 61];
}

/* ---- pt_tcp_script.c ---- */

/* Append a formatted reason to sc->err. @return -1. */
int sc_fail(struct sc *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The peer whose port is port, or NULL. */
struct sc_peer *sc_peer_by_port(struct sc *sc, uint16_t port);

/* ---- pt_tcp_script_parse.c ---- */

int sc_tokenize(char *s, char **tok, bool *quoted, int max);
int sc_num(struct sc *sc, const char *s, long long *v);
/* A dotted-quad IPv4 address into host order. */
int sc_ip(struct sc *sc, const char *s, uint32_t *ip);
/* Our port towards the current peer (its lport, else the listener's). */
uint16_t sc_lport(const struct sc *sc, const struct sc_peer *p);
bool sc_kv(const char *tok, const char *key, const char **val);
/* FLAGS as the script writes them; out holds at least 9 bytes. */
void sc_flags_str(uint8_t flags, char *out);
int sc_seg_parse(struct sc *sc, char **t, bool *q, int n, struct sc_seg *g,
                 bool out);

/* ---- pt_tcp_script_frame.c ---- */

/* pt_net_flush, then trace the new frames when asked to. */
void sc_flush(struct sc *sc);
/* Fail, listing them, if frames are left unchecked. */
int sc_unchecked(struct sc *sc, const char *what);
int sc_in(struct sc *sc, char **t, bool *q, int n);
int sc_out(struct sc *sc, char **t, bool *q, int n);

/* ---- pt_tcp_script_app.c ---- */

extern const struct pt_tcp_ops sc_ops;
/* Fail, listing them, if application events are left unchecked. */
int sc_pending_events(struct sc *sc, const char *what);
int sc_ev(struct sc *sc, char **t, bool *q, int n);
int sc_app(struct sc *sc, char **t, bool *q, int n);

#endif /* PETREL_TCP_SCRIPT_PRIV_H */
