/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of TCP-lite's closing, resets and refusals (dataplane/tcp*.c):
 * every close sequence, RST and challenge ACK in each state, segments a
 * connection refuses, closed ports and malformed segments. Opening, data,
 * windows and loss recovery are in test_tcp.c. Packet scripts: each test is
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

/* ---- closing ---- */

static void
test_tcp_close_passive(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "in  F.  1:1(0) ack 1\n"
        "out .   1:1(0) ack 2\n"
        "ev  eof\n"
        "expect state close_wait\n"
        "# we may still send\n"
        "app send 100\n"
        "out P.  1:101(100) ack 2\n"
        "in  .   2:2(0) ack 101\n"
        "ev  sent 100\n"
        "app close\n"
        "out F.  101:101(0) ack 2\n"
        "expect state last_ack\n"
        "in  .   2:2(0) ack 102\n"
        "ev  closed ok\n"
        "expect conns 0\n"
        "expect tw 0\n"
        "expect stat conns_closed 1\n"
        "+10000 out none\n");
}

static void
test_tcp_close_active(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app close\n"
        "out F.  1:1(0) ack 1\n"
        "expect state fin_wait_1\n"
        "app send 10 expect -32\n"
        "app close expect -32\n"
        "in  .   1:1(0) ack 2\n"
        "out none\n"
        "expect state fin_wait_2\n"
        "# data still comes in\n"
        "in  P.  1:11(10) ack 2\n"
        "ev  data 10\n"
        "out .   2:2(0) ack 11\n"
        "in  F.  11:11(0) ack 2\n"
        "out .   2:2(0) ack 12\n"
        "ev  eof\n"
        "ev  closed ok\n"
        "expect state gone\n"
        "expect conns 0\n"
        "expect tw 1\n"
        "expect stat time_wait_entered 1\n"
        "# a retransmitted FIN is re-ACKed and restarts the 2MSL timer\n"
        "# (RFC 793 TIME-WAIT)\n"
        "+500 in  F.  11:11(0) ack 2\n"
        "out .   2:2(0) ack 12\n"
        "expect drop tcp_time_wait 1\n"
        "# a RST does not cut TIME_WAIT short (RFC 1337)\n"
        "in  R   12:12(0)\n"
        "out none\n"
        "expect drop tcp_time_wait 2\n"
        "+1999 expect tw 1\n"
        "+1    expect tw 0\n"
        "# the tuple is free again: a stray ACK is answered with RST\n"
        "in  .   12:12(0) ack 2\n"
        "out R   2:2(0)\n");
}

static void
test_tcp_close_simultaneous(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app close\n"
        "out F.  1:1(0) ack 1\n"
        "# the peer's FIN crosses ours\n"
        "in  F.  1:1(0) ack 1\n"
        "out .   2:2(0) ack 2\n"
        "ev  eof\n"
        "expect state closing\n"
        "in  .   2:2(0) ack 2\n"
        "ev  closed ok\n"
        "expect tw 1\n"
        "+1999 expect tw 1\n"
        "+1    expect tw 0\n"
        "out none\n");
}

static void
test_tcp_close_fin_acks_fin(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app close\n"
        "out F.  1:1(0) ack 1\n"
        "# FIN_WAIT_1 straight to TIME_WAIT\n"
        "in  F.  1:1(0) ack 2\n"
        "out .   2:2(0) ack 2\n"
        "ev  eof\n"
        "ev  closed ok\n"
        "expect tw 1\n"
        "expect conns 0\n");
}

static void
test_tcp_close_fin_with_data(void **state)
{
    (void)state;
    run(__func__,
        "# a FIN is ACKed at once even with delayed ACKs\n"
        "conf delayed_ack_ms=40\n"
        HANDSHAKE
        "in  FP. 1:6(5) ack 1 data \"bye!\\n\"\n"
        "ev  data 5 \"bye!\\n\"\n"
        "ev  eof\n"
        "out .   1:1(0) ack 7\n"
        "expect state close_wait\n"
        "app close\n"
        "out F.  1:1(0) ack 7\n"
        "in  .   7:7(0) ack 2\n"
        "ev  closed ok\n"
        "expect tw 0\n");
}

static void
test_tcp_abort(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app send 100\n"
        "out P.  1:101(100) ack 1\n"
        "app abort\n"
        "out R.  101:101(0) ack 1\n"
        "ev  closed aborted\n"
        "expect conns 0\n"
        "expect stat conns_aborted 1\n"
        "expect mbufs 0\n"
        "+10000 out none\n");
}

/* ---- RST in every state (RFC 5961 3.2): out of window ignored, in the
 * window but not RCV.NXT challenged, exact resets ---- */

static void
test_tcp_rst_syn_rcvd(void **state)
{
    (void)state;
    run(__func__,
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  R   100001:100001(0)\n"
        "out none\n"
        "expect drop tcp_rst_out_of_window 1\n"
        "in  R   1001:1001(0)\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_rst_challenged 1\n"
        "expect states syn_rcvd 1\n"
        "in  R   1:1(0)\n"
        "out none\n"
        "expect conns 0\n"
        "expect states syn_rcvd 0\n"
        "expect stat rst_received 1\n"
        "# never accepted: the application hears nothing\n"
        "ev  none\n"
        "+10000 out none\n");
}

static void
test_tcp_rst_established(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "in  R   100001:100001(0)\n"
        "out none\n"
        "expect drop tcp_rst_out_of_window 1\n"
        "in  R.  -5000:-5000(0) ack 1\n"
        "out none\n"
        "expect drop tcp_rst_out_of_window 2\n"
        "in  R.  1001:1001(0) ack 1\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_rst_challenged 1\n"
        "expect stat challenge_acks 1\n"
        "expect state established\n"
        "in  R   1:1(0)\n"
        "out none\n"
        "ev  closed reset\n"
        "expect conns 0\n"
        "expect stat conns_reset 1\n"
        "expect stat rst_received 1\n");
}

static void
test_tcp_rst_fin_wait_1(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app close\n"
        "out F.  1:1(0) ack 1\n"
        "expect state fin_wait_1\n"
        "in  R   100001:100001(0)\n"
        "out none\n"
        "in  R   1001:1001(0)\n"
        "out .   2:2(0) ack 1\n"
        "expect state fin_wait_1\n"
        "in  R   1:1(0)\n"
        "out none\n"
        "ev  closed reset\n"
        "expect conns 0\n"
        "expect tw 0\n"
        "+10000 out none\n");
}

static void
test_tcp_rst_fin_wait_2(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app close\n"
        "out F.  1:1(0) ack 1\n"
        "in  .   1:1(0) ack 2\n"
        "expect state fin_wait_2\n"
        "in  R   100001:100001(0)\n"
        "out none\n"
        "in  R   1001:1001(0)\n"
        "out .   2:2(0) ack 1\n"
        "expect state fin_wait_2\n"
        "in  R   1:1(0)\n"
        "out none\n"
        "ev  closed reset\n"
        "expect conns 0\n"
        "expect tw 0\n");
}

static void
test_tcp_rst_close_wait(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "in  F.  1:1(0) ack 1\n"
        "out .   1:1(0) ack 2\n"
        "ev  eof\n"
        "in  R   100002:100002(0)\n"
        "out none\n"
        "in  R   1002:1002(0)\n"
        "out .   1:1(0) ack 2\n"
        "expect state close_wait\n"
        "in  R   2:2(0)\n"
        "out none\n"
        "ev  closed reset\n"
        "expect conns 0\n");
}

static void
test_tcp_rst_last_ack(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "in  F.  1:1(0) ack 1\n"
        "out .   1:1(0) ack 2\n"
        "ev  eof\n"
        "app close\n"
        "out F.  1:1(0) ack 2\n"
        "expect state last_ack\n"
        "in  R   100002:100002(0)\n"
        "out none\n"
        "in  R   1002:1002(0)\n"
        "out .   2:2(0) ack 2\n"
        "expect state last_ack\n"
        "in  R   2:2(0)\n"
        "out none\n"
        "ev  closed reset\n"
        "expect conns 0\n"
        "expect tw 0\n"
        "+10000 out none\n");
}

/* ---- unacceptable segments on a connection ---- */

static void
test_tcp_syn_on_established(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "# RFC 5961 4.2: any SYN gets a challenge ACK, the connection stays\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out .   1:1(0) ack 1\n"
        "in  S   5000:5000(0) win 65535 <mss 1460>\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_syn_challenged 1\n"
        "expect state established\n"
        "expect conns 1\n"
        "ev  none\n");
}

static void
test_tcp_ack_unsent(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "# SEG.ACK > SND.NXT: ACK and drop, data included (RFC 793, 5961 5.2)\n"
        "in  P.  1:6(5) ack 1000\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_ack_unsent 1\n"
        "ev  none\n"
        "# SEG.ACK < SND.UNA - MAX.SND.WND: challenge ACK and drop\n"
        "in  P.  1:6(5) ack -100000\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_ack_too_old 1\n"
        "ev  none\n"
        "in  P.  1:6(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 6\n");
}

static void
test_tcp_out_of_window_data(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "in  P.  100001:100011(10) ack 1\n"
        "out .   1:1(0) ack 1\n"
        "expect drop tcp_out_of_window 1\n"
        "ev  none\n"
        "in  P.  1:11(10) ack 1\n"
        "ev  data 10\n"
        "out .   1:1(0) ack 11\n"
        "# an old duplicate is re-ACKed, not delivered again\n"
        "in  P.  1:11(10) ack 1\n"
        "out .   1:1(0) ack 11\n"
        "expect drop tcp_out_of_window 2\n"
        "ev  none\n"
        "# overlapping the left edge: only the new part is delivered\n"
        "in  P.  6:21(15) ack 1\n"
        "ev  data 10\n"
        "out .   1:1(0) ack 21\n");
}

/* ---- no connection ---- */

static void
test_tcp_closed_port(void **state)
{
    (void)state;
    run(__func__,
        "# RFC 793 (CLOSED): no ACK bit -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN>\n"
        "# <CTL=RST,ACK>; ACK bit -> <SEQ=SEG.ACK><CTL=RST>\n"
        "in  dport=9999 S 0:0(0) win 65535 <mss 1460>\n"
        "out sport=9999 R. 0:0(0) ack 1\n"
        "expect drop tcp_no_listener 1\n"
        "in  dport=9999 S 0:10(10) win 65535\n"
        "out sport=9999 R. 0:0(0) ack 11\n"
        "in  dport=9999 . 1:1(0) ack 5000\n"
        "out sport=9999 R 5000:5000(0)\n"
        "expect drop tcp_no_conn 1\n"
        "# a RST is never answered\n"
        "in  dport=9999 R 1:1(0)\n"
        "out none\n"
        "expect drop tcp_no_conn 2\n"
        "expect stat rst_sent 3\n"
        "expect conns 0\n");
}

/* ---- malformed segments: dropped, counted, not answered ---- */

static void
test_tcp_malformed(void **state)
{
    (void)state;
    run(__func__,
        "in  badcsum S 0:0(0) win 65535 <mss 1460>\n"
        "out none\n"
        "expect drop tcp_bad_checksum 1\n"
        "in  tcplen=12 S 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_short 1\n"
        "in  doff=3 S 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_bad_data_offset 1\n"
        "in  doff=15 S 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_bad_data_offset 2\n"
        "in  SF 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_bad_flags 1\n"
        "in  SR 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_bad_flags 2\n"
        "in  - 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_bad_flags 3\n"
        "in  P 1:6(5) win 65535\n"
        "out none\n"
        "expect drop tcp_bad_flags 4\n"
        "in  sport=0 S 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_port_zero 1\n"
        "in  dport=0 S 0:0(0) win 65535\n"
        "out none\n"
        "expect drop tcp_port_zero 2\n"
        "expect drops 10\n"
        "expect conns 0\n"
        "expect stat rst_sent 0\n"
        "# the listener still works\n"
        HANDSHAKE
        "# and on a connection, corrupt segments are neither delivered\n"
        "# nor answered\n"
        "in  badcsum P. 1:6(5) ack 1\n"
        "in  doff=15 P. 1:6(5) ack 1\n"
        "in  tcplen=19 P. 1:6(5) ack 1\n"
        "in  - 1:6(5)\n"
        "out none\n"
        "ev  none\n"
        "expect drop tcp_bad_checksum 2\n"
        "expect drop tcp_bad_data_offset 3\n"
        "expect drop tcp_short 2\n"
        "expect drop tcp_bad_flags 5\n"
        "# no ACK bit on a synchronized connection: dropped (RFC 793)\n"
        "in  F 1:1(0)\n"
        "out none\n"
        "expect drop tcp_no_ack 1\n"
        "ev  none\n"
        "expect state established\n"
        "expect drops 15\n"
        "expect state established\n"
        "in  P.  1:6(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 6\n");
}

static void
test_tcp_malformed_urg(void **state)
{
    (void)state;
    run(__func__,
        "# URG is ignored (tcp.h: no urgent data): a SYN with it opens a\n"
        "# connection, and urgent bytes arrive inline with the rest\n"
        "in  SU 0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "in  .   1:1(0) ack 1 win 65535\n"
        "ev  accept\n"
        "in  .U  1:6(5) ack 1\n"
        "ev  data 5\n"
        "out .   1:1(0) ack 6\n"
        "expect drop tcp_bad_flags 0\n");
}

static void
test_tcp_challenge_ack_rate_limit(void **state)
{
    (void)state;
    run(__func__,
        "conf reply_limit=2\n"
        HANDSHAKE
        "in  R   1001:1001(0)\n"
        "out .   1:1(0) ack 1\n"
        "in  R   1002:1002(0)\n"
        "out .   1:1(0) ack 1\n"
        "in  R   1003:1003(0)\n"
        "out none\n"
        "expect stat replies_rate_limited 1\n"
        "expect stat challenge_acks 2\n"
        "# a new second, a new budget\n"
        "+1000 in  R   1004:1004(0)\n"
        "out .   1:1(0) ack 1\n"
        "expect state established\n");
}

static void
test_tcp_close_fin_retransmit(void **state)
{
    (void)state;
    run(__func__,
        "# our FIN is retransmitted on RTO like data (rto_min 1 s makes\n"
        "# the RTO 1 s whatever the handshake sampled)\n"
        "conf rto_min_ms=1000\n"
        HANDSHAKE
        "app close\n"
        "out F.  1:1(0) ack 1\n"
        "+999  out none\n"
        "+1    out F.  1:1(0) ack 1\n"
        "+1999 out none\n"
        "+1    out F.  1:1(0) ack 1\n"
        "in  .   1:1(0) ack 2\n"
        "expect state fin_wait_2\n"
        "out none\n"
        "+10000 out none\n");
}

static void
test_tcp_data_after_fin(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "in  F.  1:1(0) ack 1\n"
        "out .   1:1(0) ack 2\n"
        "ev  eof\n"
        "# CLOSE_WAIT: text past the FIN is ignored (RFC 793)\n"
        "in  P.  2:7(5) ack 1\n"
        "out none\n"
        "expect drop tcp_data_after_fin 1\n"
        "ev  none\n"
        "expect state close_wait\n");
}

static void
test_tcp_time_wait_reuse(void **state)
{
    (void)state;
    run(__func__,
        HANDSHAKE
        "app close\n"
        "out F.  1:1(0) ack 1\n"
        "in  F.  1:1(0) ack 2\n"
        "out .   2:2(0) ack 2\n"
        "ev  eof\n"
        "ev  closed ok\n"
        "expect tw 1\n"
        "# RFC 1122 4.2.2.13: a SYN above the old sequence space reopens\n"
        "+100 peer 1 isn=5000000\n"
        "in  S   0:0(0) win 65535 <mss 1460>\n"
        "out S.  0:0(0) ack 1 win 65535 <mss 1460>\n"
        "expect tw 0\n"
        "in  .   1:1(0) ack 1\n"
        "ev  accept\n"
        "expect state established\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_close_passive),
        cmocka_unit_test(test_tcp_close_active),
        cmocka_unit_test(test_tcp_close_simultaneous),
        cmocka_unit_test(test_tcp_close_fin_acks_fin),
        cmocka_unit_test(test_tcp_close_fin_with_data),
        cmocka_unit_test(test_tcp_abort),
        cmocka_unit_test(test_tcp_rst_syn_rcvd),
        cmocka_unit_test(test_tcp_rst_established),
        cmocka_unit_test(test_tcp_rst_fin_wait_1),
        cmocka_unit_test(test_tcp_rst_fin_wait_2),
        cmocka_unit_test(test_tcp_rst_close_wait),
        cmocka_unit_test(test_tcp_rst_last_ack),
        cmocka_unit_test(test_tcp_syn_on_established),
        cmocka_unit_test(test_tcp_ack_unsent),
        cmocka_unit_test(test_tcp_out_of_window_data),
        cmocka_unit_test(test_tcp_closed_port),
        cmocka_unit_test(test_tcp_malformed),
        cmocka_unit_test(test_tcp_malformed_urg),
        cmocka_unit_test(test_tcp_challenge_ack_rate_limit),
        cmocka_unit_test(test_tcp_close_fin_retransmit),
        cmocka_unit_test(test_tcp_data_after_fin),
        cmocka_unit_test(test_tcp_time_wait_reuse),
    };

    return cmocka_run_group_tests(tests, pt_test_group_setup, NULL);
}
