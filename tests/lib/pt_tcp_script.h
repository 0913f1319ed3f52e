/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet scripts for TCP-lite: a small tcpdump/packetdrill-like language in
 * which a unit test says, one line per step, which segments the peer sends,
 * which segments the stack must answer with, what the application sees and
 * does, and how the fake clock moves. pt_tcp_script_run() builds a fresh
 * pt_net + pt_tcp (our side 10.99.0.2, port 1883; peers 10.99.0.1), runs the
 * script, tears everything down and checks that the test mempool is back at
 * zero in use. It is a test helper, not a TCP model: every expectation is
 * written out in the script.
 *
 * Format (one step a line; `#` starts a comment; blank lines are skipped):
 *
 *   [+MS] COMMAND ...   advance the fake clock by MS milliseconds first
 *                       (pt_tcp_tick + pt_net_flush), then run COMMAND;
 *                       a line may be a bare `+MS`.
 *
 *   conf KEY=N ...      before the first other step: override the stack's
 *                       conf (max_conns syn_backlog syncookies mss rcv_buf
 *                       snd_buf delayed_ack_ms rto_initial_ms rto_min_ms
 *                       rto_max_ms max_retries synack_retries syn_retries
 *                       time_wait_ms time_wait_max reply_limit), the net's
 *                       (ip_count: our addresses from 10.99.0.2 on) or the
 *                       test application
 *                       (port, autorecv=1: recved at once, echo=1: send the
 *                       data back from inside the data callback, refuse=1:
 *                       accept returns -ECONNREFUSED).
 *   peer N [laddr=IP] [isn=X]
 *                       later lines speak for peer N (1..8; port 40000+N,
 *                       ISN N*1000000). Peer 1 is the default. laddr: our
 *                       address it talks to (default 10.99.0.2). isn=X
 *                       starts a new incarnation: the stack's ISN is
 *                       learned anew.
 *
 *   in  [MOD...] SEG    the peer sends SEG (pt_net_input + pt_net_flush).
 *   in  arp request IP  the peer broadcasts who-has IP.
 *   in  arp reply       the peer tells us (10.99.0.2) its MAC.
 *   out SEG             the oldest unchecked frame the stack sent is SEG.
 *   out arp request IP  ...is our broadcast who-has IP (from 10.99.0.2).
 *   out arp reply IP    ...is our reply to the peer: IP is at our MAC.
 *   out none            every frame sent so far has been checked.
 *
 *   SEG = FLAGS [SEQ:END(LEN)] [ack N] [win N] [<OPTIONS>] [data "TEXT"]
 *     FLAGS   S F R P U E W and `.` for ACK, in any order; `-` for none.
 *             `out` compares them exactly, except PSH (the sender's choice).
 *     SEQ     `in`: relative to the peer's ISN; `ack` relative to the
 *             stack's ISN (learned from the first SYN it sends the peer: for
 *             a cookie SYN-ACK that is the cookie; absolute while unknown).
 *             `out`: the other way round. Numbers may be negative.
 *     win     `in`: default 65535. `out`: checked only when given.
 *     OPTIONS `in`: comma list of mss N, sackOK, TS val N ecr N, wscale N,
 *             nop, eol (padded to 4 bytes). `out`: `<mss N>` only; an `out`
 *             without OPTIONS requires a bare 20-byte header.
 *     data    `in`: the payload text (LEN must match); without it the
 *             payload is a pattern of the relative sequence number.
 *             `out` payloads are always compared with what the application
 *             gave pt_tcp_send() at that sequence number.
 *     MOD     `in` only: badcsum, doff=N (data offset field), tcplen=N (cut
 *             the TCP segment to N bytes), sport=N, dport=N, dst=IP (default
 *             our address towards the peer). `out` accepts sport=N (our
 *             port, default the peer's lport or the listener's).
 *   Every `out` also checks Ethernet/IPv4 addresses (the source must be our
 *   address towards the peer), the IPv4 and TCP checksums, ports, and no
 *   URG/reserved bits.
 *
 *   ev accept | connected | data N ["TEXT"] | eof | closed REASON |
 *      sent N | none
 *                       the oldest unchecked application event is that (for
 *                       the current peer). `data N` takes consecutive data
 *                       callbacks adding up to exactly N bytes (their content
 *                       is always checked against what the peer sent).
 *                       REASON: ok, reset, timeout, aborted, refused or a
 *                       number.
 *                       `sent N`: bytes acknowledged via `sent` since the
 *                       last `ev sent` (these are not queued as events).
 *   app send N | send "TEXT" [expect ERR] | write N | write "TEXT" |
 *       close [expect ERR] | abort | recved N |
 *       connect [laddr=IP] [lport=N] [rport=N] [mac=cache] [expect ERR]
 *                       the application acts outside any callback (send:
 *                       pt_tcp_send of an mbuf chain; write: pt_tcp_write
 *                       of the bytes; connect: pt_tcp_connect from our
 *                       address and port towards the current peer, which
 *                       keeps laddr, lport and rport (its own port);
 *                       mac=cache: no MAC given),
 *                       then pt_tcp_flush + pt_net_flush.
 *   expect state NAME   current peer's connection state (`gone` once closed)
 *   expect stat NAME N | drop NAME N | states NAME N | drops N | conns N |
 *          tw N | mbufs N | space N
 *                       counter, drop reason (TCP or L2/L3), state gauge,
 *                       total TCP drops, connections in use, TIME_WAIT
 *                       entries, mbufs in use, pt_tcp_send_space().
 *
 * At the end of the script no frame or event may be left unchecked. Then
 * pt_tcp_free() runs: every accepted (or connected: pt_tcp_connect returned
 * 0) connection must have had exactly one `closed` by the time it returns.
 *
 * Set PT_TCP_SCRIPT_TRACE=1 in the environment to print every frame.
 *
 * Threading: the calling thread only, after pt_test_eal_init().
 */
#ifndef PETREL_TCP_SCRIPT_H
#define PETREL_TCP_SCRIPT_H

/**
 * Run a packet script against a fresh stack and tear it down.
 * @param name   shown in failure messages (the test's name)
 * @param text   the script, lines separated by '\n'
 * @return 0 when every step held and the mempool is back at zero in use;
 *         -1 otherwise, with the failing line, the reason and the actual
 *         frame on stderr.
 */
int pt_tcp_script_run(const char *name, const char *text);

/* The peer's SYN, our SYN-ACK, the peer's ACK: an established connection
 * with MSS 1460 both ways and windows of 65535 (a script's usual start). */
#define PT_TCP_SCRIPT_HANDSHAKE                                               \
    "in  S   0:0(0) win 65535 <mss 1460>\n"                                  \
    "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"                            \
    "in  .   1:1(0) ack 1 win 65535\n"                                       \
    "ev  accept\n"

/* On an established connection whose send MSS is 536 (the peer announced
 * it, or gave none: RFC 9293 3.7.1), the application sends 1000 bytes:
 * 536 + 464 leave at once, the peer acknowledges both, `sent 1000`. */
#define PT_TCP_SCRIPT_SEND_1000_MSS_536                                       \
    "app send 1000\n"                                                        \
    "out .   1:537(536) ack 1\n"                                             \
    "out .   537:1001(464) ack 1\n"                                          \
    "in  .   1:1(0) ack 1001\n"                                              \
    "ev  sent 1000\n"

#endif /* PETREL_TCP_SCRIPT_H */
