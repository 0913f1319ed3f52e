/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP-lite: the user-space TCP of one dataplane core. The broker uses its
 * passive side; the load generator (petrel-bench) opens connections with
 * pt_tcp_connect() through the very same stack.
 *
 * What it does: three-way handshake with MSS both ways (passive, and
 * active from one of the net's local addresses, SYN resent with backoff),
 * keyed-hash ISNs (RFC 6528),
 * SYN cookies when the per-core SYN backlog is full, in-order data both
 * ways with cumulative and delayed ACKs, receive-window flow control from a
 * per-connection budget, a bounded out-of-order queue, RTO per RFC 6298
 * (Karn, backoff), fast retransmit and NewReno congestion control,
 * zero-window probes, FIN/RST in every state, RFC 5961 challenge ACKs, a
 * compact TIME_WAIT.
 *
 * What it does not (negotiated away or dropped, see docs/architecture.md):
 * SACK, timestamps, window scaling, urgent data (URG is ignored and the
 * bytes delivered inline), simultaneous open (a SYN without ACK to a
 * connection in SYN_SENT is dropped and counted), data or FIN on a SYN or
 * SYN-ACK (dropped: the peer sends them again), ephemeral port choice
 * (pt_tcp_connect's caller picks the local port, e.g. for RSS).
 *
 * Model: each dataplane core owns one struct pt_tcp; IPv4 input hands it
 * every TCP segment addressed to us (pt_net routes them). Applications
 * ("connection actors") register a listener with a table of callbacks and
 * see only established connections, or open them with pt_tcp_connect().
 * Connections are keyed by the 4-tuple, our address included: a net may
 * own several addresses (struct pt_net_conf ip_count), and every segment
 * of a connection leaves from its own local address. Callbacks run on the
 * owning core from
 * inside pt_net_input() or pt_tcp_tick(); they may call any function of
 * this header on the connection they were given (sends are queued and go
 * out when the burst ends, in the same burst's transmit).
 *
 * Life of a connection for the application:
 *     passive:  accept -> (data | sent | eof)* -> closed
 *     active:   pt_tcp_connect() -> [connected -> (data | sent | eof)*]
 *               -> closed
 * `closed` comes exactly once for every accepted connection and for every
 * pt_tcp_connect() that returned 0 (whether or not `connected` came),
 * whatever ended it (peer close, reset, refusal, timeout, pt_tcp_close(),
 * pt_tcp_abort(), the stack being freed), and always from a loop-safe
 * point (never from inside a call the application made); after it
 * returns, the connection pointer is dead. Once established, an active
 * connection is an ordinary one: the same calls, timers and guarantees
 * (the side that closes first ends in TIME_WAIT, as usual).
 *
 * Ownership of mbufs:
 *   - `data` passes ownership of a payload-only mbuf chain to the callee,
 *     who frees it when done and reports the bytes consumed with
 *     pt_tcp_recved() (until then they count against the receive window).
 *   - pt_tcp_send() takes the whole chain on success (return >= 0) and
 *     frees it once acknowledged; on error the chain stays the caller's.
 *   - Every segment handed to the stack by pt_net is consumed (delivered,
 *     kept in the connection's out-of-order queue until it can be, or
 *     freed and counted).
 *
 * Threading: everything here runs on the owning lcore only (checked with
 * PT_HOT_ASSERT_OWNER in -Dhot_debug builds), except pt_tcp_stats(), whose
 * counters any thread may read (written by the owner alone; relaxed reads
 * may be one burst old, never torn).
 */
#ifndef PETREL_TCP_H
#define PETREL_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

struct pt_net;
struct pt_config;
struct pt_tcp;
struct pt_tcp_conn;

/* States (RFC 793 names). LISTEN is a listener, not a connection, and
 * TIME_WAIT lives in a compact entry of its own. */
#define PT_TCP_STATES(X)                                                      \
    X(CLOSED, "closed")                                                       \
    X(SYN_SENT, "syn_sent")                                                   \
    X(SYN_RCVD, "syn_rcvd")                                                   \
    X(ESTABLISHED, "established")                                             \
    X(FIN_WAIT_1, "fin_wait_1")                                               \
    X(FIN_WAIT_2, "fin_wait_2")                                               \
    X(CLOSING, "closing")                                                     \
    X(TIME_WAIT, "time_wait")                                                 \
    X(CLOSE_WAIT, "close_wait")                                               \
    X(LAST_ACK, "last_ack")

enum pt_tcp_state {
#define PT_X(id, name) PT_TCP_##id,
    PT_TCP_STATES(PT_X)
#undef PT_X
    PT_TCP_STATE_MAX
};

/*
 * Every reason a segment is dropped (ID, stats name, meaning). A dropped
 * segment may still be answered (RST, ACK, challenge ACK), as noted.
 */
#define PT_TCP_DROPS(X)                                                       \
    X(SHORT, "tcp_short", "segment shorter than a TCP header")                \
    X(DOFF, "tcp_bad_data_offset", "data offset below 5 words or past the segment") \
    X(CSUM, "tcp_bad_checksum", "TCP checksum wrong")                         \
    X(FLAGS, "tcp_bad_flags", "impossible flags (SYN+FIN, SYN+RST, none)") \
    X(PORT, "tcp_port_zero", "source or destination port 0")                  \
    X(NO_LISTENER, "tcp_no_listener", "SYN to a port nobody listens on (RST sent)") \
    X(NO_CONN, "tcp_no_conn", "segment for no connection (RST sent unless it was a RST)") \
    X(BACKLOG, "tcp_syn_backlog_full", "SYN while the backlog is full and cookies are off") \
    X(POOL, "tcp_conn_pool_empty", "no connection left in the core's pool") \
    X(COOKIE, "tcp_bad_cookie", "ACK to a listener with no valid SYN cookie (RST sent)") \
    X(REFUSED, "tcp_refused", "the listener's accept callback refused (RST sent)") \
    X(SEQ, "tcp_out_of_window", "sequence outside the receive window (ACK sent)") \
    X(OOO, "tcp_out_of_order", "data past a hole not kept: out-of-order queue full or off (duplicate ACK sent)") \
    X(RST_SEQ, "tcp_rst_out_of_window", "RST outside the window (in SYN_SENT: not acking our SYN), ignored") \
    X(RST_CHALLENGE, "tcp_rst_challenged", "RST in window but not exact (challenge ACK sent)") \
    X(SYN_CHALLENGE, "tcp_syn_challenged", "SYN on a synchronized connection (challenge ACK sent)") \
    X(NO_ACK, "tcp_no_ack", "segment without ACK on a synchronized connection") \
    X(ACK_NEW, "tcp_ack_unsent", "ACK for data never sent (ACK sent)")        \
    X(ACK_OLD, "tcp_ack_too_old", "ACK older than the window allows (challenge ACK sent)") \
    X(SYNACK_ACK, "tcp_bad_handshake_ack", "handshake ACK (or SYN-ACK) that does not ack our SYN (RST sent)") \
    X(SIMOPEN, "tcp_simultaneous_open", "SYN without ACK to a connection in SYN_SENT (simultaneous open not supported)") \
    X(SYN_SENT, "tcp_syn_sent_no_syn", "segment to a connection in SYN_SENT with neither SYN nor RST") \
    X(AFTER_FIN, "tcp_data_after_fin", "data past the peer's FIN")            \
    X(TIME_WAIT, "tcp_time_wait", "segment to a TIME_WAIT entry (re-ACKed when useful)")

enum pt_tcp_drop {
#define PT_X(id, name, help) PT_TCP_DROP_##id,
    PT_TCP_DROPS(PT_X)
#undef PT_X
    PT_TCP_DROP_MAX
};

/* Event counters (ID, stats name, meaning). */
#define PT_TCP_COUNTERS(X)                                                    \
    X(RX_SEGS, "rx_segments", "TCP segments received")                        \
    X(TX_SEGS, "tx_segments", "TCP segments sent")                            \
    X(RX_BYTES, "rx_payload_bytes", "in-order payload delivered")             \
    X(TX_BYTES, "tx_payload_bytes", "payload sent, retransmissions included") \
    X(ACCEPTED, "conns_accepted", "connections established and accepted")     \
    X(CONNECTED, "conns_connected", "active opens established (pt_tcp_connect)") \
    X(REFUSED, "conns_refused", "active opens refused by the peer (RST to our SYN)") \
    X(CONNECT_POOL, "connect_pool_empty", "pt_tcp_connect refused: connection pool empty") \
    X(CLOSED, "conns_closed", "connections closed in order")                  \
    X(RESET, "conns_reset", "connections reset by the peer")                  \
    X(TIMED_OUT, "conns_timed_out", "connections aborted after max retries (SYN retries included)") \
    X(ABORTED, "conns_aborted", "connections aborted locally")                \
    X(HALF_OPEN_DROPPED, "half_open_dropped", "SYN_RCVD given up after SYN-ACK retries") \
    X(RST_SENT, "rst_sent", "RSTs sent")                                      \
    X(RST_RCVD, "rst_received", "acceptable RSTs received")                   \
    X(RETRANS, "retransmits", "segments retransmitted (any cause)")           \
    X(RTO, "rto_fired", "retransmission timeouts")                            \
    X(FAST_RETRANS, "fast_retransmits", "fast retransmits on 3 duplicate ACKs") \
    X(DUP_ACKS, "dup_acks_received", "duplicate ACKs received")               \
    X(PROBES, "zero_window_probes", "zero-window probes sent")                \
    X(DELAYED_ACKS, "delayed_acks", "ACKs sent by the delayed-ACK timer")     \
    X(SYNACK_RETRANS, "synack_retransmits", "SYN-ACKs retransmitted")         \
    X(COOKIES_SENT, "syncookies_sent", "SYN-ACKs carrying a SYN cookie")      \
    X(COOKIES_OK, "syncookies_validated", "connections made from a valid cookie") \
    X(CHALLENGE_ACKS, "challenge_acks", "RFC 5961 challenge ACKs sent")       \
    X(REPLIES_LIMITED, "replies_rate_limited", "RSTs/challenge ACKs not sent (rate limit)") \
    X(OOO_QUEUED, "ooo_segments_queued", "segments kept past a hole until it fills") \
    X(TW_ENTERED, "time_wait_entered", "connections that entered TIME_WAIT")  \
    X(TW_SKIPPED, "time_wait_skipped", "TIME_WAIT skipped (table full or disabled)") \
    X(NO_MBUF, "no_mbuf", "segments not sent: mempool empty")

enum pt_tcp_counter {
#define PT_X(id, name, help) PT_TCP_C_##id,
    PT_TCP_COUNTERS(PT_X)
#undef PT_X
    PT_TCP_C_MAX
};

/** Per-core TCP counters (read by any thread, written by the owner). */
struct pt_tcp_stats {
    uint64_t c[PT_TCP_C_MAX];            /**< event counters */
    uint64_t drops[PT_TCP_DROP_MAX];     /**< segments dropped, by reason */
    uint64_t states[PT_TCP_STATE_MAX];   /**< connections now in each state */
    uint64_t conns_in_use;               /**< connection pool objects in use */
    uint64_t conns_max;                  /**< pool size */
    uint64_t tw_in_use;                  /**< TIME_WAIT entries in use */
    uint64_t tw_max;
    uint64_t conn_bytes;   /**< bytes per connection: state + table entry */
    uint64_t tw_bytes;     /**< bytes per TIME_WAIT entry */
};

/** Settings of one core's stack (see docs/configuration.md, tcp.*). */
struct pt_tcp_conf {
    struct pt_net *net;         /**< our L2/L3: segments out, its mempool */
    uint32_t max_conns;
    uint32_t syn_backlog;
    bool syncookies;
    uint16_t mss;
    uint32_t rcv_buf;           /**< <= 65535 (no window scaling) */
    uint32_t snd_buf;
    uint32_t delayed_ack_ms;    /**< 0 = ACK every segment at once */
    uint32_t rto_initial_ms;
    uint32_t rto_min_ms;
    uint32_t rto_max_ms;
    uint32_t max_retries;
    uint32_t synack_retries;
    uint32_t syn_retries;       /**< SYN resends of an active open before
                                 *   it fails with -ETIMEDOUT (<= 255) */
    uint32_t time_wait_ms;
    uint32_t time_wait_max;
    uint32_t reply_limit;       /**< RST + challenge ACK per second */
    uint32_t ooo_segments;      /**< out-of-order queue per connection
                                 *   (0 = drop data past a hole) */
    bool tx_cksum_offload;      /**< the port fills IPv4/TCP checksums of
                                 *   what we send (RTE_MBUF_F_TX_*_CKSUM) */
    uint64_t now_ns;            /**< clock at creation */
    const uint8_t *secret;      /**< 16-byte ISN/cookie key; NULL = random */
    int socket_id;
};

/**
 * Bytes one core's stack allocates at creation for max_conns connections
 * and time_wait_max TIME_WAIT entries (pools, table, timer wheel); for
 * sizing EAL memory. Any thread.
 */
uint64_t pt_tcp_memory(uint32_t max_conns, uint32_t time_wait_max);

/** Fill conf from the tcp.* keys of cfg (net, now_ns, socket_id are the
 * caller's to set). */
void pt_tcp_conf_from_config(struct pt_tcp_conf *conf,
                             const struct pt_config *cfg);

/**
 * Create a core's stack and attach it to conf->net (which then hands it
 * every TCP segment). Allocates the connection pool, table, TIME_WAIT pool
 * and timer wheel on conf->socket_id; never called on the packet path.
 * @return the stack, or NULL with rte_errno = EINVAL (bad conf, e.g.
 *         rcv_buf > 65535 or a net that already has a stack) or ENOMEM.
 */
struct pt_tcp *pt_tcp_create(const struct pt_tcp_conf *conf);

/**
 * Detach from the net and free everything. Open connections are reset
 * (RST queued on the net) and their applications get `closed`
 * (-ECONNABORTED) before this returns.
 */
void pt_tcp_free(struct pt_tcp *tcp);

/**
 * Reset every connection now (RSTs queued on the net: call pt_net_flush()
 * after), delivering `closed` (-ECONNABORTED) to their applications, and
 * drop the TIME_WAIT entries: what a core does before it stops, so peers
 * learn at once that the broker went away. Listeners stay.
 */
void pt_tcp_shutdown(struct pt_tcp *tcp);

/**
 * Callbacks of an application. All optional except data (and closed for
 * pt_tcp_connect()). A listener's table uses accept; an active open's uses
 * connected. The stack keeps the pointer: the table must outlive the
 * connections that use it (a static const table is the usual case).
 */
struct pt_tcp_ops {
    /**
     * A connection completed the handshake. Return 0 to take it (and set
     * *user to the application's per-connection state), or a negative
     * errno to refuse it (it is reset; no other callback follows).
     */
    int (*accept)(void *listen_arg, struct pt_tcp_conn *c, void **user);
    /** In-order payload (m: payload-only chain of at least one byte, now
     * the callee's). */
    void (*data)(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m);
    /** The peer sent FIN: no more data will come (we may still send). */
    void (*eof)(void *user, struct pt_tcp_conn *c);
    /** bytes of sent data were acknowledged: send space grew by that. */
    void (*sent)(void *user, struct pt_tcp_conn *c, uint32_t bytes);
    /**
     * The connection is gone: reason 0 (orderly close, both FINs
     * exchanged), -ECONNRESET (peer reset), -ETIMEDOUT (retransmissions or
     * probes exhausted; for an active open, SYN retries exhausted),
     * -ECONNREFUSED (active open: the peer answered our SYN with a RST),
     * -ECONNABORTED (pt_tcp_abort(), or stack freed).
     * Mbufs already handed over by `data` stay the application's.
     */
    void (*closed)(void *user, struct pt_tcp_conn *c, int reason);
    /** An active open (pt_tcp_connect) completed the handshake: the
     * connection is ESTABLISHED (its first callback after the call). */
    void (*connected)(void *user, struct pt_tcp_conn *c);
};

/**
 * Listen on port (host order) with ops; arg is passed to accept.
 * @return 0, -EINVAL (port 0, no data callback), -EADDRINUSE, -ENOSPC
 *         (listener table full).
 */
int pt_tcp_listen(struct pt_tcp *tcp, uint16_t port,
                  const struct pt_tcp_ops *ops, void *arg);

/**
 * Open a connection from laddr:lport (laddr one of the net's addresses,
 * network order; lport host order) to raddr:rport (network order / host
 * order). The SYN (carrying our MSS) is queued on the net at once and
 * leaves with the net's next flush (the end of the burst, or
 * pt_tcp_flush() + pt_net_flush() outside one); unanswered, it is resent
 * on the RTO timer from tcp.rto_initial_ms, doubling each time, syn_retries
 * times, then the connection ends with `closed` (-ETIMEDOUT).
 * Data may be queued (pt_tcp_send/write) and pt_tcp_close() called before
 * `connected`: they take effect once the handshake completes.
 * peer_mac: the next hop's MAC, or NULL to take it from the neighbour cache.
 * ops: callbacks for this connection (data and closed required, accept
 * unused); user: passed to them. Up to PT_TCP_CLIENT_OPS distinct ops
 * tables per stack (any number of connections may share one).
 * Cost: a table lookup, an ISN hash and one frame; no allocation beyond
 * the pool's connection object.
 * @return 0 (*out set, state SYN_SENT; exactly one `closed` will follow
 *           eventually, after `connected` or not), or
 *         -EINVAL (laddr not ours, a port 0, raddr 0 or ours, ops without
 *                  data/closed, out NULL, or peer_mac NULL with raddr off
 *                  our subnet: there is no routing here),
 *         -EADDRINUSE (that 4-tuple is in use, TIME_WAIT included),
 *         -EHOSTUNREACH (no neighbour entry: an ARP request was sent, at
 *                  most one per address and millisecond; try again later),
 *         -ENOBUFS (connection pool empty; counted in connect_pool_empty),
 *         -ENOSPC (PT_TCP_CLIENT_OPS distinct ops tables already in use).
 */
int pt_tcp_connect(struct pt_tcp *tcp, uint32_t laddr, uint16_t lport,
                   uint32_t raddr, uint16_t rport,
                   const struct rte_ether_addr *peer_mac,
                   const struct pt_tcp_ops *ops, void *user,
                   struct pt_tcp_conn **out);

/** Distinct ops tables pt_tcp_connect() accepts per stack. */
#define PT_TCP_CLIENT_OPS 16

/**
 * Queue m (a payload chain; pkt_len bytes) for sending. Segmenting,
 * windows and retransmission are the stack's; output happens when the
 * current burst ends (or at the next pt_tcp_flush()).
 * @return the bytes taken (m->pkt_len, m now the stack's), or
 *         -EAGAIN (more than pt_tcp_send_space(); m stays the caller's:
 *                  wait for `sent`),
 *         -EPIPE  (we already closed our side, or the connection is
 *                  closing; m stays the caller's).
 */
int pt_tcp_send(struct pt_tcp_conn *c, struct rte_mbuf *m);

/**
 * Copy len bytes into the send queue: into the room left in its last
 * buffer when that buffer is the stack's own (not shared), else into new
 * mbufs of the net's pool (at most 4). For small writes (acknowledgements,
 * small messages) this costs no mbuf at all most of the time, and a slow
 * peer's queue holds full buffers rather than one mbuf per write.
 * @return len, or -EAGAIN (more than pt_tcp_send_space()), -EPIPE (as
 *         pt_tcp_send), -ENOBUFS (pool empty: counted in no_mbuf),
 *         -EMSGSIZE (len needs more than 4 new mbufs: use pt_tcp_send).
 *         Nothing is queued on error.
 */
int pt_tcp_write(struct pt_tcp_conn *c, const void *p, uint32_t len);

/** Bytes pt_tcp_send() would take now. */
uint32_t pt_tcp_send_space(const struct pt_tcp_conn *c);

/** The application consumed bytes of delivered data: reopen the window. */
void pt_tcp_recved(struct pt_tcp_conn *c, uint32_t bytes);

/**
 * Close our side: FIN goes after the queued data. Data may still arrive
 * until the peer's FIN; `closed` follows once both sides are done.
 * @return 0, or -EPIPE (already closing).
 */
int pt_tcp_close(struct pt_tcp_conn *c);

/** Reset the connection now (RST sent, queued data freed; in SYN_SENT
 * nothing is sent: the peer holds no state yet); `closed` (-ECONNABORTED)
 * follows from a loop-safe point. Idempotent. */
void pt_tcp_abort(struct pt_tcp_conn *c);

/**
 * Transmit what callbacks and application calls queued (segments go to the
 * net's transmit queue; call pt_net_flush() after) and deliver pending
 * `closed` events. pt_net_input() and pt_tcp_tick() do this themselves;
 * call it after sending from outside a callback.
 */
void pt_tcp_flush(struct pt_tcp *tcp);

/**
 * Advance the clock to now_ns and run due timers (retransmission, delayed
 * ACK, persist, SYN and SYN-ACK resends, TIME_WAIT) in 1 ms ticks. Cost: O(1) per tick
 * passed plus the timers that fire. Ends with pt_tcp_flush().
 */
void pt_tcp_tick(struct pt_tcp *tcp, uint64_t now_ns);

/** Counters (any thread; see the threading note). Gauges are refreshed
 * by the owner on every burst and tick. */
const struct pt_tcp_stats *pt_tcp_stats(const struct pt_tcp *tcp);

/** The connection's state. */
enum pt_tcp_state pt_tcp_conn_state(const struct pt_tcp_conn *c);

/** The peer's address (network order) and port (host order), our port. */
void pt_tcp_conn_peer(const struct pt_tcp_conn *c, uint32_t *addr,
                      uint16_t *port, uint16_t *local_port);

/** Our address of the connection (network order). */
uint32_t pt_tcp_conn_laddr(const struct pt_tcp_conn *c);

/** Replace the application state passed to the callbacks. */
void pt_tcp_conn_set_user(struct pt_tcp_conn *c, void *user);

/** The stack a connection belongs to. */
struct pt_tcp *pt_tcp_conn_stack(const struct pt_tcp_conn *c);

/** Stats names and meanings ("established", "tcp_bad_checksum", ...). */
const char *pt_tcp_state_name(enum pt_tcp_state s);
const char *pt_tcp_drop_name(enum pt_tcp_drop d);
const char *pt_tcp_drop_help(enum pt_tcp_drop d);
const char *pt_tcp_counter_name(enum pt_tcp_counter c);
const char *pt_tcp_counter_help(enum pt_tcp_counter c);

/**
 * The diagnostic echo application: listen on port and send every byte
 * back (holding data, and so closing the window, while the send queue is
 * full); closes when the peer closes.
 * @return as pt_tcp_listen().
 */
int pt_tcp_echo_listen(struct pt_tcp *tcp, uint16_t port);

#endif /* PETREL_TCP_H */
