/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of TCP-lite (dataplane/tcp*.c) as packet scripts: each test is
 * one scenario in the format of tests/lib/pt_tcp_script.h, run against a
 * fresh stack that is torn down at the end with the mempool back at zero in
 * use. The expectations are TCP as the RFCs say it (793, 1122, 5681, 5961,
 * 6298, 6582) plus the choices include/petrel/tcp.h documents, not a
 * transcript of what the code happens to do.
 *
 * Defaults of the scripts (pt_tcp_script.c): our port 1883, mss 1460,
 * rcv_buf 65535, snd_buf 65536, delayed_ack_ms 0, rto 1 s initial / 200 ms
 * min / 60 s max, max_retries 5, synack_retries 3, time_wait_ms 2000,
 * syn_backlog 4, syncookies on. The application frees delivered data at
 * once but reports it consumed only on `app recved`, so our window shrinks
 * by what it has been given.
 *
 * Where an RFC leaves a choice, the scripts fix one and say so: the
 * initial window of RFC 6928 (10 segments, at most max(2 MSS, 14600)), no
 * Nagle hold-back of a tail after a full segment, zero-window probes as an
 * old segment (SND.UNA - 1, no data) that the peer must ACK, RSTs we
 * originate on a connection carrying SEQ = SND.NXT plus an ACK of RCV.NXT,
 * and half-open connections dropped silently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <rte_mempool.h>

#include "pt_tcp_script.h"
#include "pt_test.h"

#define HANDSHAKE PT_TCP_SCRIPT_HANDSHAKE

static void
run(const char *name, const char *script)
{
    assert_int_equal(pt_tcp_script_run(name, script), 0);
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
}

/* ---- handshake ---- */

static void
test_tcp_handshake(void **state)
{
    (void)state;
    run(__func__,
        "# The peer offers SACK, timestamps and window scaling: none of\n"
        "# them is in our SYN-ACK, which carries our MSS only.\n"
        "in  S   0:0(0) win 65535 <mss 1200,sackOK,TS val 100 ecr 0,nop,wscale 7>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "expect states syn_rcvd 1\n"
        "expect conns 1\n"
        "ev none\n"
        "in  .   1:1(0) ack 1 win 65535\n"
        "ev  accept\n"
        "expect state established\n"
        "expect states syn_rcvd 0\n"
        "expect stat conns_accepted 1\n"
        "# MSS = min(ours, theirs) = 1200; 3000 bytes fit the initial\n"
        "# window (3 segments)\n"
        "app send 3000\n"
        "out .   1:1201(1200) ack 1 win 65535\n"
        "out .   1201:2401(1200) ack 1 win 65535\n"
        "out .   2401:3001(600) ack 1 win 65535\n"
        "in  .   1:1(0) ack 3001 win 65535\n"
        "ev  sent 3000\n"
        "out none\n");
}

static void
test_tcp_handshake_mss(void **state)
{
    (void)state;
    run(__func__,
        "# a larger MSS from the peer: ours (1460) bounds the segments\n"
        "in  S   0:0(0) win 65535 <mss 9000>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "app send 2000\n"
        "out .   1:1461(1460) ack 1\n"
        "out .   1461:2001(540) ack 1\n"
        "# no MSS option at all: 536 (RFC 1122 4.2.2.6)\n"
        "peer 2\n"
        "in  S   0:0(0) win 65535\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "app send 1000\n"
        "out .   1:537(536) ack 1\n"
        "out .   537:1001(464) ack 1\n");
}

static void
test_tcp_accept_refused(void **state)
{
    (void)state;
    run(__func__,
        "conf refuse=1\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "# refused: reset, and no other callback follows\n"
        "out R.  1:1(0) ack 1\n"
        "expect drop tcp_refused 1\n"
        "expect conns 0\n"
        "+5000 out none\n");
}

/* ---- data ---- */

static void
test_tcp_data_delayed_ack(void **state)
{
    (void)state;
    run(__func__,
        "conf delayed_ack_ms=40\n"
        HANDSHAKE
        "in  P.  1:101(100) ack 1\n"
        "ev  data 100\n"
        "out none\n"
        "+39 out none\n"
        "+1  out .   1:1(0) ack 101 win 65435\n"
        "expect stat delayed_acks 1\n"
        "# our data both ways; two segments, one cumulative ACK\n"
        "app send 2000\n"
        "out .   1:1461(1460) ack 101 win 65435\n"
        "out .   1461:2001(540) ack 101 win 65435\n"
        "expect space 63536\n"
        "in  .   101:101(0) ack 2001\n"
        "ev  sent 2000\n"
        "expect space 65536\n"
        "+1000 out none\n");
}

static void
test_tcp_ack_every_second_segment(void **state)
{
    (void)state;
    run(__func__,
        "conf delayed_ack_ms=40\n"
        HANDSHAKE
        "in  .   1:1461(1460) ack 1\n"
        "ev  data 1460\n"
        "out none\n"
        "# the second full segment is ACKed at once (RFC 5681 4.2)\n"
        "in  .   1461:2921(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 2921 win 62615\n"
        "+40 out none\n"
        "# a lone third one waits for the timer\n"
        "in  .   2921:4381(1460) ack 1\n"
        "ev  data 1460\n"
        "+39 out none\n"
        "+1  out .   1:1(0) ack 4381 win 61155\n"
        "expect stat delayed_acks 1\n");
}

static void
test_tcp_piggyback_ack(void **state)
{
    (void)state;
    run(__func__,
        "conf delayed_ack_ms=40\n"
        HANDSHAKE
        "in  P.  1:6(5) ack 1 data \"hello\"\n"
        "ev  data 5 \"hello\"\n"
        "out none\n"
        "# the reply carries the ACK; no pure ACK follows\n"
        "app send \"world\"\n"
        "out P.  1:6(5) ack 6 win 65530\n"
        "+100 out none\n"
        "expect stat delayed_acks 0\n");
}

static void
test_tcp_piggyback_ack_in_callback(void **state)
{
    (void)state;
    run(__func__,
        "# ACK at once (delayed_ack_ms 0), but the application answers\n"
        "# from its data callback: the answer carries the ACK, in the same\n"
        "# burst, instead of a pure ACK plus a data segment\n"
        "conf echo=1\n"
        HANDSHAKE
        "in  P.  1:6(5) ack 1\n"
        "ev  data 5\n"
        "out P.  1:6(5) ack 6\n"
        "out none\n");
}

static void
test_tcp_rcv_window(void **state)
{
    (void)state;
    run(__func__,
        "conf rcv_buf=4000\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 4000 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "# data held by the application closes the window\n"
        "in  .   1:1461(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 1461 win 2540\n"
        "in  .   1461:2921(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 2921 win 1080\n"
        "# a small read does not announce (receiver SWS avoidance,\n"
        "# RFC 1122 4.2.3.3); a large one does, at once\n"
        "app recved 100\n"
        "out none\n"
        "app recved 2820\n"
        "out .   1:1(0) ack 2921 win 4000\n"
        "expect stat rx_payload_bytes 2920\n");
}

static void
test_tcp_rcv_window_zero(void **state)
{
    (void)state;
    run(__func__,
        "conf rcv_buf=4000\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 4000 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "in  .   1:1461(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 1461 win 2540\n"
        "in  .   1461:2921(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 2921 win 1080\n"
        "in  P.  2921:4001(1080) ack 1\n"
        "ev  data 1080\n"
        "out .   1:1(0) ack 4001 win 0\n"
        "# the peer's zero-window probe: its ACK is taken (RFC 793 p. 69),\n"
        "# its byte is not\n"
        "in  .   4001:4002(1) ack 1\n"
        "out .   1:1(0) ack 4001 win 0\n"
        "ev  none\n"
        "expect stat rx_payload_bytes 4000\n"
        "app recved 4000\n"
        "out .   1:1(0) ack 4001 win 4000\n"
        "in  .   4001:4002(1) ack 1\n"
        "ev  data 1\n"
        "out .   1:1(0) ack 4002 win 3999\n");
}

static void
test_tcp_peer_window(void **state)
{
    (void)state;
    run(__func__,
        "# the peer offers 1000 bytes: we never have more in flight\n"
        "in  S   0:0(0) win 1000 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 1 win 1000\n"
        "ev  accept\n"
        "app send 3000\n"
        "out .   1:1001(1000) ack 1\n"
        "out none\n"
        "in  .   1:1(0) ack 1001 win 1000\n"
        "ev  sent 1000\n"
        "out .   1001:2001(1000) ack 1\n"
        "out none\n"
        "in  .   1:1(0) ack 2001 win 1000\n"
        "out .   2001:3001(1000) ack 1\n"
        "in  .   1:1(0) ack 3001 win 1000\n"
        "ev  sent 2000\n"
        "out none\n");
}

static void
test_tcp_send_buffer(void **state)
{
    (void)state;
    run(__func__,
        "conf snd_buf=4000\n"
        HANDSHAKE
        "expect space 4000\n"
        "app send 3000\n"
        "out .   1:1461(1460) ack 1\n"
        "out .   1461:2921(1460) ack 1\n"
        "out .   2921:3001(80) ack 1\n"
        "expect space 1000\n"
        "app send 2000 expect -11\n"
        "app send 1000\n"
        "out .   3001:4001(1000) ack 1\n"
        "expect space 0\n"
        "in  .   1:1(0) ack 2921\n"
        "ev  sent 2920\n"
        "expect space 2920\n"
        "in  .   1:1(0) ack 4001\n"
        "ev  sent 1080\n"
        "expect space 4000\n");
}

static void
test_tcp_seq_wrap(void **state)
{
    (void)state;
    run(__func__,
        "# the peer's sequence numbers cross 2^32 mid-segment\n"
        "peer 1 isn=4294967000\n"
        HANDSHAKE
        "in  .   1:1461(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 1461\n"
        "in  .   1461:2921(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 2921\n");
}

static void
test_tcp_initial_window(void **state)
{
    (void)state;
    run(__func__,
        "in  S   0:0(0) win 65535 <mss 1000>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "# RFC 6928: 10 segments, then nothing until an ACK\n"
        "app send 15000\n"
        "out .   1:1001(1000) ack 1\n"
        "out .   1001:2001(1000) ack 1\n"
        "out .   2001:3001(1000) ack 1\n"
        "out .   3001:4001(1000) ack 1\n"
        "out .   4001:5001(1000) ack 1\n"
        "out .   5001:6001(1000) ack 1\n"
        "out .   6001:7001(1000) ack 1\n"
        "out .   7001:8001(1000) ack 1\n"
        "out .   8001:9001(1000) ack 1\n"
        "out .   9001:10001(1000) ack 1\n"
        "out none\n"
        "# slow start: an ACK of one segment frees one and grows cwnd by one\n"
        "in  .   1:1(0) ack 1001\n"
        "ev  sent 1000\n"
        "out .   10001:11001(1000) ack 1\n"
        "out .   11001:12001(1000) ack 1\n"
        "out none\n");
}

static void
test_tcp_clock_past_2_32_ms(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "# 49.7 days idle, then an RTO that falls just past 2^32 ms: the\n"
        "# clock must not wrap under the timer wheel (the RTO after the\n"
        "# handshake's 0 ms sample is rto_min, 200 ms)\n"
        "+4294967200 out none\n"
        "app send 100\n"
        "out .   1:101(100) ack 1\n"
        "+199 out none\n"
        "+1 out .   1:101(100) ack 1\n"
        "expect stat rto_fired 1\n");
}

/* pt_tcp_write copies into the room of the queue's last buffer: bytes
 * written after a segment went out land behind it, and a retransmission
 * carries old and new bytes in the right order; a small write costs no
 * mbuf when the room is there. */
static void
test_tcp_write_appends(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app write 100\n"
        "out .   1:101(100) ack 1\n"
        "expect mbufs 1\n"
        "app write 50\n"
        "out .   101:151(50) ack 1\n"
        "# still one buffer: the 50 bytes went into the first one's room\n"
        "expect mbufs 1\n"
        "app write 30\n"
        "out .   151:181(30) ack 1\n"
        "app write 20\n"
        "out .   181:201(20) ack 1\n"
        "# the RTO resends all of it from the one buffer, in order\n"
        "+200 out .   1:201(200) ack 1\n"
        "in  .   1:1(0) ack 201\n"
        "expect mbufs 0\n"
        "expect space 65536\n"
        "# a larger write takes new buffers (after the RTO, cwnd is one\n"
        "# segment); one beyond the send space is refused whole\n"
        "app write 4000\n"
        "out .   201:1661(1460) ack 1\n"
        "expect mbufs 2\n"
        "app write 62000 expect -11\n"
        "expect mbufs 2\n"
        "expect space 61536\n");
}

/* ---- retransmission ---- */

static void
test_tcp_rto_backoff(void **state)
{
    (void)state;
    run(__func__,
        "# rto_min = 1 s: the first RTO is 1 s whether or not the\n"
        "# handshake gave an RTT sample (RFC 6298 2.1, 2.4); then it\n"
        "# doubles (5.5) up to rto_max\n"
        "conf rto_min_ms=1000 rto_max_ms=5000 max_retries=4\n"
        HANDSHAKE
        "app send 100\n"
        "out P.  1:101(100) ack 1\n"
        "+999  out none\n"
        "+1    out P.  1:101(100) ack 1\n"
        "+1999 out none\n"
        "+1    out P.  1:101(100) ack 1\n"
        "+3999 out none\n"
        "+1    out P.  1:101(100) ack 1\n"
        "# 8 s capped at 5 s\n"
        "+4999 out none\n"
        "+1    out P.  1:101(100) ack 1\n"
        "expect stat retransmits 4\n"
        "expect state established\n"
        "# the next expiry gives up: RST, closed (timeout)\n"
        "+4999 out none\n"
        "+1    out R.  101:101(0) ack 1\n"
        "ev  closed timeout\n"
        "expect state gone\n"
        "expect conns 0\n"
        "expect stat conns_timed_out 1\n"
        "expect mbufs 0\n");
}

static void
test_tcp_rto_min(void **state)
{
    (void)state;
    run(__func__,
        "# an RTT sample of 0 gives RTO = max(G, 0) clamped to rto_min\n"
        "# (200 ms, RFC 6298 2.3/2.4); backoff doubles it\n"
        HANDSHAKE
        "app send 100\n"
        "out P.  1:101(100) ack 1\n"
        "in  .   1:1(0) ack 101\n"
        "ev  sent 100\n"
        "app send 100\n"
        "out P.  101:201(100) ack 1\n"
        "+199 out none\n"
        "+1   out P.  101:201(100) ack 1\n"
        "+399 out none\n"
        "+1   out P.  101:201(100) ack 1\n"
        "expect stat rto_fired 2\n"
        "in  .   1:1(0) ack 201\n"
        "ev  sent 100\n"
        "+10000 out none\n");
}

static void
test_tcp_synack_retransmit(void **state)
{
    (void)state;
    run(__func__,
        "conf synack_retries=2\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "+999  out none\n"
        "+1    out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "+1999 out none\n"
        "+1    out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "expect stat synack_retransmits 2\n"
        "# the next expiry drops the half-open connection, silently\n"
        "+3999 out none\n"
        "expect conns 1\n"
        "+1    out none\n"
        "expect conns 0\n"
        "expect states syn_rcvd 0\n"
        "expect stat half_open_dropped 1\n"
        "# a late ACK finds no connection and is no cookie: RST\n"
        "in  .   1:1(0) ack 1\n"
        "out R   1:1(0)\n"
        "ev  none\n");
}

static void
test_tcp_fast_retransmit(void **state)
{
    (void)state;
    run(__func__,
        "in  S   0:0(0) win 65535 <mss 500>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "# within the initial window (RFC 6928: 10 segments of 500)\n"
        "app send 2000\n"
        "out .   1:501(500) ack 1\n"
        "out .   501:1001(500) ack 1\n"
        "out .   1001:1501(500) ack 1\n"
        "out .   1501:2001(500) ack 1\n"
        "out none\n"
        "in  .   1:1(0) ack 501\n"
        "in  .   1:1(0) ack 1001\n"
        "in  .   1:1(0) ack 1501\n"
        "in  .   1:1(0) ack 2001\n"
        "ev  sent 2000\n"
        "# slow start grew cwnd to 14 segments: all six go out at once\n"
        "app send 3000\n"
        "out .   2001:2501(500) ack 1\n"
        "out .   2501:3001(500) ack 1\n"
        "out .   3001:3501(500) ack 1\n"
        "out .   3501:4001(500) ack 1\n"
        "out .   4001:4501(500) ack 1\n"
        "out .   4501:5001(500) ack 1\n"
        "# 2501 and 3501 are lost; the third duplicate ACK retransmits\n"
        "in  .   1:1(0) ack 2501\n"
        "in  .   1:1(0) ack 2501\n"
        "in  .   1:1(0) ack 2501\n"
        "out none\n"
        "in  .   1:1(0) ack 2501\n"
        "out .   2501:3001(500) ack 1\n"
        "expect stat fast_retransmits 1\n"
        "expect stat dup_acks_received 3\n"
        "# partial ACK (NewReno, RFC 6582 3.2): the next hole at once\n"
        "in  .   1:1(0) ack 3501\n"
        "out .   3501:4001(500) ack 1\n"
        "in  .   1:1(0) ack 5001\n"
        "ev  sent 3000\n"
        "out none\n"
        "expect stat retransmits 2\n"
        "expect stat rto_fired 0\n"
        "+10000 out none\n");
}

static void
test_tcp_zero_window_probe(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app send 1000\n"
        "out P.  1:1001(1000) ack 1\n"
        "in  .   1:1(0) ack 1001 win 0\n"
        "ev  sent 1000\n"
        "app send 500\n"
        "out none\n"
        "# probes after one RTO (200 ms: the RTT sample was 0), then\n"
        "# backing off (RFC 1122 4.2.2.17); a probe is an old segment\n"
        "# (SND.UNA - 1, no data) the peer must answer with an ACK\n"
        "+199 out none\n"
        "+1   out .   1000:1000(0) ack 1\n"
        "in  .   1:1(0) ack 1001 win 0\n"
        "+399 out none\n"
        "+1   out .   1000:1000(0) ack 1\n"
        "in  .   1:1(0) ack 1001 win 0\n"
        "+799 out none\n"
        "+1   out .   1000:1000(0) ack 1\n"
        "in  .   1:1(0) ack 1001 win 0\n"
        "expect stat zero_window_probes 3\n"
        "expect state established\n"
        "# the window opens: the data goes at once\n"
        "in  .   1:1(0) ack 1001 win 4000\n"
        "out .   1001:1501(500) ack 1\n"
        "in  .   1:1(0) ack 1501 win 4000\n"
        "ev  sent 500\n"
        "+10000 out none\n");
}

static void
test_tcp_zero_window_timeout(void **state)
{
    (void)state;
    run(__func__,
        "# unanswered probes count as retries\n"
        "conf max_retries=2\n"
        HANDSHAKE
        "app send 1000\n"
        "out P.  1:1001(1000) ack 1\n"
        "in  .   1:1(0) ack 1001 win 0\n"
        "ev  sent 1000\n"
        "app send 500\n"
        "+200 out .   1000:1000(0) ack 1\n"
        "+400 out .   1000:1000(0) ack 1\n"
        "+799 out none\n"
        "+1   out R.\n"
        "ev  closed timeout\n"
        "expect conns 0\n");
}

/* ---- out-of-order data ---- */

static void
test_tcp_out_of_order(void **state)
{
    (void)state;
    run(__func__,
        "conf ooo_segments=0\n"
        HANDSHAKE
        "in  P.  1:6(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 6\n"
        "# reassembly off: dropped, with a duplicate ACK\n"
        "in  P.  11:16(5) ack 1\n"
        "out .   1:1(0) ack 6\n"
        "expect drop tcp_out_of_order 1\n"
        "ev  none\n"
        "in  P.  6:11(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 11\n"
        "in  P.  11:16(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 16\n");
}

static void
test_tcp_reassembly(void **state)
{
    (void)state;
    run(__func__,
        "conf ooo_segments=4\n"
        HANDSHAKE
        "in  P.  1:6(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 6\n"
        "# past a hole: kept, one duplicate ACK per segment, at once\n"
        "in  P.  16:21(5) ack 1\n"
        "out .   1:1(0) ack 6\n"
        "in  P.  11:16(5) ack 1\n"
        "out .   1:1(0) ack 6\n"
        "# a duplicate of a kept segment is dropped\n"
        "in  P.  11:16(5) ack 1\n"
        "out .   1:1(0) ack 6\n"
        "expect stat ooo_segments_queued 2\n"
        "expect drop tcp_out_of_order 1\n"
        "ev  none\n"
        "# overlapping what is kept: only the new tail is kept\n"
        "in  P.  18:26(8) ack 1\n"
        "out .   1:1(0) ack 6\n"
        "# the hole fills: everything is delivered in order, ACKed at once\n"
        "in  P.  6:11(5) ack 1\n"
        "ev  data 5\n"
        "ev  data 5\n"
        "ev  data 5\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 26\n"
        "expect mbufs 0\n");
}

static void
test_tcp_reassembly_fin_again(void **state)
{
    (void)state;
    run(__func__,
        "conf ooo_segments=4\n"
        HANDSHAKE
        "in  P.  1:6(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 6\n"
        "# data and FIN past a hole: the data is kept, the FIN is not\n"
        "in  FP. 11:16(5) ack 1\n"
        "out .   1:1(0) ack 6\n"
        "in  P.  6:11(5) ack 1\n"
        "ev  data 5\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 16\n"
        "# the peer sends data and FIN again: only the FIN is news, and the\n"
        "# application never sees an empty delivery (found by fuzz_tcp)\n"
        "in  FP. 11:16(5) ack 1\n"
        "ev  eof\n"
        "out .   1:1(0) ack 17\n"
        "expect state close_wait\n");
}

static void
test_tcp_reassembly_limits(void **state)
{
    (void)state;
    run(__func__,
        "conf ooo_segments=2 rcv_buf=4000\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 4000 <mss 1460>\n"
        "in  .   1:1(0) ack 1 win 65535\n"
        "ev  accept\n"
        "# two entries fit; the third is dropped (still a duplicate ACK)\n"
        "in  P.  101:201(100) ack 1\n"
        "out .   1:1(0) ack 1\n"
        "in  P.  301:401(100) ack 1\n"
        "out .   1:1(0) ack 1\n"
        "in  P.  501:601(100) ack 1\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_out_of_order 1\n"
        "# the hole fills: 101..201 follows; 301..401 waits behind a new hole\n"
        "in  P.  1:101(100) ack 1\n"
        "ev  data 100\n"
        "ev  data 100\n"
        "out .   1:1(0) ack 201\n"
        "# a FIN past a hole is not taken: the peer sends it again\n"
        "in  F.  601:601(0) ack 1\n"
        "out .   1:1(0) ack 201\n"
        "ev  none\n"
        "# the connection goes with data still queued: nothing leaks\n"
        "app abort\n"
        "out R.  1:1(0) ack 201\n"
        "ev  closed aborted\n"
        "expect mbufs 0\n");
}

/* ---- SYN cookies ---- */

static void
test_tcp_syncookie(void **state)
{
    (void)state;
    run(__func__,
        "conf syn_backlog=1\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "expect conns 1\n"
        "# the backlog is full: a cookie, and no state\n"
        "peer 2\n"
        "in  S   0:0(0) win 65535 <mss 536>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "expect stat syncookies_sent 1\n"
        "expect conns 1\n"
        "# an ACK that is no cookie of ours: RST (seq = its ack)\n"
        "in  .   1:1(0) ack 1000\n"
        "out R   1000:1000(0)\n"
        "expect drop tcp_bad_cookie 1\n"
        "expect conns 1\n"
        "# the real cookie makes the connection, with the MSS it encoded\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "expect state established\n"
        "expect stat syncookies_validated 1\n"
        "expect conns 2\n"
        PT_TCP_SCRIPT_SEND_1000_MSS_536);
}

/* ---- more handshake, backlog, window and timer cases ---- */

static void
test_tcp_handshake_ack_with_data(void **state)
{
    (void)state;
    run(__func__,
        "# the handshake's ACK carries the first data\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  P.  1:6(5) ack 1 win 65535\n"
        "ev  accept\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 6 win 65530\n");
}

static void
test_tcp_handshake_bad_ack(void **state)
{
    (void)state;
    run(__func__,
        "# SYN_RCVD, an ACK that does not ack our SYN: RST <SEQ=SEG.ACK>,\n"
        "# and the half-open connection stays (RFC 793)\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 5\n"
        "out R   5:5(0)\n"
        "expect drop tcp_bad_handshake_ack 1\n"
        "expect states syn_rcvd 1\n"
        "ev  none\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n");
}

static void
test_tcp_syn_backlog_full(void **state)
{
    (void)state;
    run(__func__,
        "conf syn_backlog=1 syncookies=0\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "peer 2\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out none\n"
        "expect drop tcp_syn_backlog_full 1\n"
        "expect conns 1\n"
        "# the backlog frees up when peer 1 completes\n"
        "peer 1\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "peer 2\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n");
}

static void
test_tcp_conn_pool_empty(void **state)
{
    (void)state;
    run(__func__,
        "conf max_conns=1 syncookies=0\n"
        HANDSHAKE
        "peer 2\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out none\n"
        "expect drop tcp_conn_pool_empty 1\n"
        "expect conns 1\n");
}

static void
test_tcp_rcv_window_overrun(void **state)
{
    (void)state;
    run(__func__,
        "conf rcv_buf=4000\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 4000 <mss 1460>\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "in  .   1:1461(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 1461 win 2540\n"
        "in  .   1461:2921(1460) ack 1\n"
        "ev  data 1460\n"
        "out .   1:1(0) ack 2921 win 1080\n"
        "# 380 bytes past the window: the part inside is taken\n"
        "in  .   2921:4381(1460) ack 1\n"
        "ev  data 1080\n"
        "out .   1:1(0) ack 4001 win 0\n");
}

static void
test_tcp_rto_go_back_n(void **state)
{
    (void)state;
    run(__func__,
        "# after an RTO, cwnd = 1 segment (RFC 5681 3.1): the first\n"
        "# unacknowledged segment alone, the rest as ACKs open cwnd\n"
        "conf rto_min_ms=1000\n"
        HANDSHAKE
        "app send 3000\n"
        "out .   1:1461(1460) ack 1\n"
        "out .   1461:2921(1460) ack 1\n"
        "out .   2921:3001(80) ack 1\n"
        "+999 out none\n"
        "+1   out .   1:1461(1460) ack 1\n"
        "out none\n"
        "expect stat rto_fired 1\n"
        "in  .   1:1(0) ack 1461\n"
        "ev  sent 1460\n"
        "out .   1461:2921(1460) ack 1\n"
        "out .   2921:3001(80) ack 1\n"
        "in  .   1:1(0) ack 3001\n"
        "ev  sent 1540\n"
        "+10000 out none\n");
}

static void
test_tcp_out_of_order_delayed_ack(void **state)
{
    (void)state;
    run(__func__,
        "# an out-of-order segment is answered at once even with delayed\n"
        "# ACKs (RFC 5681 4.2)\n"
        "conf delayed_ack_ms=40\n"
        HANDSHAKE
        "in  P.  11:16(5) ack 1\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_out_of_order 1\n"
        "ev  none\n");
}

static void
test_tcp_timers_dack_and_rto(void **state)
{
    (void)state;
    run(__func__,
        "# a delayed ACK and an RTO pending together both fire on time\n"
        "conf delayed_ack_ms=40 rto_min_ms=1000\n"
        HANDSHAKE
        "app send 100\n"
        "out P.  1:101(100) ack 1\n"
        "+500 in  P.  1:6(5) ack 1\n"
        "ev  data 5\n"
        "+39  out none\n"
        "+1   out .   101:101(0) ack 6\n"
        "+459 out none\n"
        "+1   out P.  1:101(100) ack 6\n"
        "in  .   6:6(0) ack 101\n"
        "ev  sent 100\n"
        "+10000 out none\n");
}

static void
test_tcp_rto_restart(void **state)
{
    (void)state;
    run(__func__,
        "# an ACK of new data restarts the timer (RFC 6298 5.3); rto_min\n"
        "# 2 s keeps the RTO at 2 s whatever the RTT samples say\n"
        "conf rto_min_ms=2000\n"
        HANDSHAKE
        "app send 2920\n"
        "out .   1:1461(1460) ack 1\n"
        "out .   1461:2921(1460) ack 1\n"
        "+500  in  .   1:1(0) ack 1461\n"
        "ev  sent 1460\n"
        "+1999 out none\n"
        "+1    out .   1461:2921(1460) ack 1\n"
        "in  .   1:1(0) ack 2921\n"
        "ev  sent 1460\n"
        "+10000 out none\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_handshake),
        cmocka_unit_test(test_tcp_handshake_mss),
        cmocka_unit_test(test_tcp_accept_refused),
        cmocka_unit_test(test_tcp_data_delayed_ack),
        cmocka_unit_test(test_tcp_ack_every_second_segment),
        cmocka_unit_test(test_tcp_piggyback_ack),
        cmocka_unit_test(test_tcp_piggyback_ack_in_callback),
        cmocka_unit_test(test_tcp_rcv_window),
        cmocka_unit_test(test_tcp_rcv_window_zero),
        cmocka_unit_test(test_tcp_peer_window),
        cmocka_unit_test(test_tcp_send_buffer),
        cmocka_unit_test(test_tcp_seq_wrap),
        cmocka_unit_test(test_tcp_initial_window),
        cmocka_unit_test(test_tcp_clock_past_2_32_ms),
        cmocka_unit_test(test_tcp_write_appends),
        cmocka_unit_test(test_tcp_rto_backoff),
        cmocka_unit_test(test_tcp_rto_min),
        cmocka_unit_test(test_tcp_synack_retransmit),
        cmocka_unit_test(test_tcp_fast_retransmit),
        cmocka_unit_test(test_tcp_zero_window_probe),
        cmocka_unit_test(test_tcp_zero_window_timeout),
        cmocka_unit_test(test_tcp_out_of_order),
        cmocka_unit_test(test_tcp_syncookie),
        cmocka_unit_test(test_tcp_reassembly),
        cmocka_unit_test(test_tcp_reassembly_fin_again),
        cmocka_unit_test(test_tcp_reassembly_limits),
        cmocka_unit_test(test_tcp_handshake_ack_with_data),
        cmocka_unit_test(test_tcp_handshake_bad_ack),
        cmocka_unit_test(test_tcp_syn_backlog_full),
        cmocka_unit_test(test_tcp_conn_pool_empty),
        cmocka_unit_test(test_tcp_rcv_window_overrun),
        cmocka_unit_test(test_tcp_rto_go_back_n),
        cmocka_unit_test(test_tcp_out_of_order_delayed_ack),
        cmocka_unit_test(test_tcp_timers_dack_and_rto),
        cmocka_unit_test(test_tcp_rto_restart),
    };

    return cmocka_run_group_tests(tests, pt_test_group_setup, NULL);
}
