/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of TCP-lite's active open (pt_tcp_connect) and of nets with
 * several local addresses: packet scripts (tests/lib/pt_tcp_script.h) in
 * which the scripted peer is the server, plus a loopback test in which two
 * stacks, one listening and one connecting, are wired back to back through
 * their transmit functions.
 *
 * Expectations follow RFC 9293 3.10.7.3 (SEGMENT ARRIVES in SYN-SENT) and
 * the choices include/petrel/tcp.h documents: SYN resent from
 * rto_initial_ms doubling, syn_retries times; a RST acking our SYN refuses
 * the connection, any other RST is ignored; an ACK that does not ack our
 * SYN gets <SEQ=SEG.ACK><CTL=RST>; a SYN alone (simultaneous open) is
 * dropped; nothing is sent when a connection in SYN_SENT is aborted.
 *
 * Script defaults (pt_tcp_script.c): we are 10.99.0.2 (and up, with
 * ip_count), mss 1460, rcv_buf 65535, rto 1 s initial / 200 ms min,
 * syn_retries 3, time_wait_ms 2000. Our port towards a peer is set by
 * `app connect lport=N`; the peer's ISN is N * 1000000.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ip.h>
#include <rte_mempool.h>

#include <petrel/net.h>
#include <petrel/tcp.h>

#include "pt_tcp_script.h"
#include "pt_test.h"

static void
run(const char *name, const char *script)
{
    assert_int_equal(pt_tcp_script_run(name, script), 0);
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
}

/* Our SYN, the peer's SYN-ACK (MSS 1460), our ACK: established. */
#define CONNECT                                                               \
    "app connect lport=50001\n"                                               \
    "out S  0:0(0) win 65535 <mss 1460>\n"                                    \
    "in  S. 0:0(0) ack 1 win 65535 <mss 1460>\n"                              \
    "out .  1:1(0) ack 1\n"                                                   \
    "ev  connected\n"

/* ---- handshake ---- */

static void
test_tcp_connect_handshake(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001\n"
        "out S  0:0(0) win 65535 <mss 1460>\n"
        "expect state syn_sent\n"
        "expect states syn_sent 1\n"
        "expect conns 1\n"
        "ev none\n"
        "# the peer's MSS is smaller: ours follows it\n"
        "in  S. 0:0(0) ack 1 win 8192 <mss 1200>\n"
        "out .  1:1(0) ack 1 win 65535\n"
        "ev  connected\n"
        "expect state established\n"
        "expect states syn_sent 0\n"
        "expect stat conns_connected 1\n"
        "expect stat conns_accepted 0\n"
        "app send 3000\n"
        "out .  1:1201(1200) ack 1\n"
        "out .  1201:2401(1200) ack 1\n"
        "out .  2401:3001(600) ack 1\n"
        "in  .  1:1(0) ack 3001 win 8192\n"
        "ev  sent 3000\n"
        "out none\n");
}

static void
test_tcp_connect_mss_ours(void **state)
{
    (void)state;
    run(__func__,
        "# our MSS is the smaller one: the SYN says so and we keep to it\n"
        "conf mss=1000\n"
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1000>\n"
        "in  S. 0:0(0) ack 1 win 65535 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n"
        "app send 2500\n"
        "out .  1:1001(1000) ack 1\n"
        "out .  1001:2001(1000) ack 1\n"
        "out .  2001:2501(500) ack 1\n"
        "in  .  1:1(0) ack 2501\n"
        "ev  sent 2500\n");
}

static void
test_tcp_connect_mss_absent(void **state)
{
    (void)state;
    run(__func__,
        "# no MSS option on the SYN-ACK: 536 (RFC 9293 3.7.1)\n"
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "in  S. 0:0(0) ack 1 win 65535\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n"
        PT_TCP_SCRIPT_SEND_1000_MSS_536);
}

static void
test_tcp_connect_queued_before(void **state)
{
    (void)state;
    run(__func__,
        "# data written in SYN_SENT leaves with the handshake's end\n"
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "expect space 65536\n"
        "app write \"CONNECT\"\n"
        "out none\n"
        "in  S. 0:0(0) ack 1 win 65535 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "out .  1:8(7) ack 1\n"
        "ev  connected\n"
        "in  .  1:1(0) ack 8\n"
        "ev  sent 7\n");
}

/* ---- SYN retransmission ---- */

static void
test_tcp_connect_syn_timeout(void **state)
{
    (void)state;
    run(__func__,
        "conf syn_retries=2\n"
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "+999\n"
        "out none\n"
        "+1\n"
        "out S  0:0(0) <mss 1460>\n"
        "+1999\n"
        "out none\n"
        "+1\n"
        "out S  0:0(0) <mss 1460>\n"
        "+3999\n"
        "out none\n"
        "expect state syn_sent\n"
        "ev none\n"
        "# no answer to 2 resends: given up, nothing sent (no RST)\n"
        "+1\n"
        "out none\n"
        "ev  closed timeout\n"
        "expect stat conns_timed_out 1\n"
        "expect stat retransmits 2\n"
        "expect conns 0\n"
        "expect states syn_sent 0\n");
}

static void
test_tcp_connect_syn_retransmit_then_ok(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "+1000\n"
        "out S  0:0(0) <mss 1460>\n"
        "+100\n"
        "in  S. 0:0(0) ack 1 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n"
        "# no more SYNs once established; nothing in flight, no timer\n"
        "+10000\n"
        "out none\n"
        "expect state established\n");
}

/* ---- the other answers in SYN_SENT ---- */

static void
test_tcp_connect_refused(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "# RSTs that do not ack our SYN are ignored (RFC 5961 3.2)\n"
        "in  R  0:0(0)\n"
        "in  R. 0:0(0) ack 5\n"
        "out none\n"
        "expect state syn_sent\n"
        "expect drop tcp_rst_out_of_window 2\n"
        "in  R. 0:0(0) ack 1 win 0\n"
        "out none\n"
        "ev  closed refused\n"
        "expect stat conns_refused 1\n"
        "expect stat rst_received 1\n"
        "expect stat conns_reset 0\n"
        "expect conns 0\n");
}

static void
test_tcp_connect_bad_ack(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "# an ACK (with or without SYN) not acking our SYN: <SEQ=ACK><RST>\n"
        "in  .  0:0(0) ack 1000\n"
        "out R  1000:1000(0)\n"
        "in  S. 0:0(0) ack 0 <mss 1460>\n"
        "out R  0:0(0)\n"
        "expect drop tcp_bad_handshake_ack 2\n"
        "expect state syn_sent\n"
        "ev none\n"
        "# the right SYN-ACK still completes it\n"
        "in  S. 0:0(0) ack 1 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n");
}

static void
test_tcp_connect_syn_only(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "# simultaneous open is not supported: dropped, counted\n"
        "in  S  0:0(0) <mss 1460>\n"
        "out none\n"
        "expect drop tcp_simultaneous_open 1\n"
        "# neither SYN nor RST: dropped\n"
        "in  F  0:0(0)\n"
        "out none\n"
        "expect drop tcp_syn_sent_no_syn 1\n"
        "expect state syn_sent\n"
        "ev none\n");
}

static void
test_tcp_connect_data_on_synack(void **state)
{
    (void)state;
    run(__func__,
        "# data on the SYN-ACK is not taken: we ACK the SYN only and the\n"
        "# peer sends the data again\n"
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "in  S. 0:10(10) ack 1 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n"
        "in  .  1:11(10) ack 1\n"
        "out .  1:1(0) ack 11\n"
        "ev  data 10\n");
}

/* ---- an established active open is an ordinary connection ---- */

static void
test_tcp_connect_data(void **state)
{
    (void)state;
    run(__func__,
        CONNECT
        "in  .  1:101(100) ack 1\n"
        "out .  1:1(0) ack 101\n"
        "ev  data 100\n"
        "app send 50\n"
        "out .  1:51(50) ack 101\n"
        "in  .  101:151(50) ack 51\n"
        "out .  51:51(0) ack 151\n"
        "ev  data 50\n"
        "ev  sent 50\n"
        "expect stat rx_payload_bytes 150\n"
        "expect stat tx_payload_bytes 50\n");
}

static void
test_tcp_connect_close_active(void **state)
{
    (void)state;
    run(__func__,
        "# we close first: FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT\n"
        CONNECT
        "app close\n"
        "out F. 1:1(0) ack 1\n"
        "expect state fin_wait_1\n"
        "in  .  1:1(0) ack 2\n"
        "expect state fin_wait_2\n"
        "in  F. 1:1(0) ack 2\n"
        "out .  2:2(0) ack 2\n"
        "ev  eof\n"
        "ev  closed ok\n"
        "expect tw 1\n"
        "expect stat time_wait_entered 1\n"
        "# the 4-tuple is taken while in TIME_WAIT\n"
        "app connect expect -98\n"
        "out none\n"
        "+2000\n"
        "expect tw 0\n"
        "# free again (peer 2 on peer 1's port: the same 4-tuple)\n"
        "peer 2\n"
        "app connect lport=50001 rport=40001\n"
        "out S  0:0(0) <mss 1460>\n"
        "app abort\n"
        "ev  closed aborted\n");
}

static void
test_tcp_connect_close_passive(void **state)
{
    (void)state;
    run(__func__,
        "# the peer closes first: CLOSE_WAIT, LAST_ACK, gone\n"
        CONNECT
        "in  F. 1:1(0) ack 1\n"
        "out .  1:1(0) ack 2\n"
        "ev  eof\n"
        "expect state close_wait\n"
        "app close\n"
        "out F. 1:1(0) ack 2\n"
        "expect state last_ack\n"
        "in  .  2:2(0) ack 2\n"
        "ev  closed ok\n"
        "expect tw 0\n"
        "expect conns 0\n"
        "expect stat conns_closed 1\n");
}

static void
test_tcp_connect_abort_syn_sent(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "app close\n"
        "out none\n"
        "# abort in SYN_SENT sends nothing\n"
        "app abort\n"
        "out none\n"
        "ev  closed aborted\n"
        "expect stat conns_aborted 1\n"
        "expect conns 0\n"
        "# the late SYN-ACK finds no connection: RST\n"
        "in  S. 0:0(0) ack 1 <mss 1460>\n"
        "out R  1:1(0)\n"
        "expect drop tcp_no_conn 1\n");
}

/* ---- refusals of pt_tcp_connect ---- */

static void
test_tcp_connect_in_use(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "app connect expect -98\n"
        "# another local port, or another peer port, is another tuple\n"
        "peer 2\n"
        "app connect lport=50001 rport=40001 expect -98\n"
        "app connect lport=50002 rport=40001\n"
        "out S  0:0(0) <mss 1460>\n"
        "expect conns 2\n"
        "out none\n");
}

static void
test_tcp_connect_bad_args(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001 laddr=10.99.0.9 expect -22\n"
        "app connect laddr=10.99.0.2 rport=0 expect -22\n"
        "out none\n"
        "expect conns 0\n");
}

static void
test_tcp_connect_arp(void **state)
{
    (void)state;
    run(__func__,
        "app connect lport=50001 mac=cache expect -113\n"
        "out arp request 10.99.0.1\n"
        "# one request per address and millisecond\n"
        "app connect mac=cache expect -113\n"
        "out none\n"
        "+1\n"
        "app connect mac=cache expect -113\n"
        "out arp request 10.99.0.1\n"
        "expect conns 0\n"
        "in  arp reply\n"
        "out none\n"
        "app connect mac=cache\n"
        "out S  0:0(0) <mss 1460>\n"
        "in  S. 0:0(0) ack 1 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n");
}

static void
test_tcp_connect_pool_full(void **state)
{
    (void)state;
    run(__func__,
        "conf max_conns=2\n"
        "peer 1\n"
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "peer 2\n"
        "app connect lport=50001\n"
        "out S  0:0(0) <mss 1460>\n"
        "peer 3\n"
        "app connect lport=50001 expect -105\n"
        "out none\n"
        "expect stat connect_pool_empty 1\n"
        "expect conns 2\n"
        "# a slot freed is a slot to use\n"
        "peer 1\n"
        "app abort\n"
        "ev  closed aborted\n"
        "peer 3\n"
        "app connect\n"
        "out S  0:0(0) <mss 1460>\n");
}

/* ---- several local addresses ---- */

static void
test_tcp_connect_two_addresses(void **state)
{
    (void)state;
    run(__func__,
        "conf ip_count=2\n"
        "# two connections whose tuples differ only in our address\n"
        "peer 1\n"
        "app connect laddr=10.99.0.2 lport=50001 rport=40001\n"
        "out S  0:0(0) <mss 1460>\n"
        "peer 2\n"
        "app connect laddr=10.99.0.3 lport=50001 rport=40001\n"
        "out S  0:0(0) <mss 1460>\n"
        "in  S. 0:0(0) ack 1 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n"
        "peer 1\n"
        "expect state syn_sent\n"
        "in  S. 0:0(0) ack 1 <mss 1460>\n"
        "out .  1:1(0) ack 1\n"
        "ev  connected\n"
        "in  .  1:6(5) ack 1 data \"hello\"\n"
        "out .  1:1(0) ack 6\n"
        "ev  data 5 \"hello\"\n"
        "peer 2\n"
        "in  .  1:4(3) ack 1 data \"abc\"\n"
        "out .  1:1(0) ack 4\n"
        "ev  data 3 \"abc\"\n"
        "app send 20\n"
        "out .  1:21(20) ack 4\n"
        "in  .  4:4(0) ack 21\n"
        "ev  sent 20\n"
        "# ARP is answered for each address, with that address\n"
        "in  arp request 10.99.0.3\n"
        "out arp reply 10.99.0.3\n"
        "in  arp request 10.99.0.2\n"
        "out arp reply 10.99.0.2\n"
        "in  arp request 10.99.0.4\n"
        "out none\n"
        "expect drop arp_not_for_us 1\n"
        "# past the range: not for us\n"
        "in  dst=10.99.0.4 . 4:4(0) ack 21\n"
        "out none\n"
        "expect drop ip_not_for_us 1\n"
        "# a passive connection takes our address from the SYN\n"
        "peer 3 laddr=10.99.0.3\n"
        "in  S  0:0(0) <mss 1460>\n"
        "out S. 0:0(0) ack 1 <mss 1460>\n"
        "in  .  1:1(0) ack 1\n"
        "ev  accept\n"
        "# and a RST for no connection leaves from where the segment went\n"
        "peer 4 laddr=10.99.0.3\n"
        "in  dport=9999 S 0:0(0)\n"
        "out sport=9999 R. 0:0(0) ack 1\n"
        "expect drop tcp_no_listener 1\n");
}

/* Whether 10.99.0.<d> is one of net's addresses. */
static bool
is_local_99(const struct pt_net *net, uint8_t d)
{
    return pt_net_is_local(net, rte_cpu_to_be_32(RTE_IPV4(10, 99, 0, d)));
}

static void
test_tcp_connect_net_range(void **state)
{
    struct pt_net_conf nc;
    struct pt_test_tx tx = { .accept = UINT32_MAX };
    struct pt_net *net;

    (void)state;
    pt_test_net_conf(&nc, pt_test_tx_capture, &tx);
    /* 10.99.0.2 .. 10.99.0.254 fits the /24; one more is its broadcast */
    nc.ip_count = 253;
    net = pt_net_create(&nc);
    assert_non_null(net);
    assert_true(is_local_99(net, 2));   /* PT_TEST_OUR_IP */
    assert_true(is_local_99(net, 254));
    assert_false(is_local_99(net, 255));
    assert_false(is_local_99(net, 1));
    pt_net_free(net);
    nc.ip_count = 254;
    assert_null(pt_net_create(&nc));
    nc.ip_count = 1000;
    assert_null(pt_net_create(&nc));
    nc.ip_count = 0;
    net = pt_net_create(&nc);
    assert_non_null(net);
    assert_true(is_local_99(net, 2));
    assert_false(is_local_99(net, 3));
    pt_net_free(net);
}

/* ---- loopback: two stacks back to back ---- */

#define LB_CONNS 1000
#define LB_BATCH 100
#define LB_ADDRS 4
#define LB_MSG 300
#define LB_WIRE 4096
#define LB_SERVER_IP RTE_IPV4(10, 99, 0, 2)
#define LB_CLIENT_IP RTE_IPV4(10, 99, 0, 10)

/* Frames one side sent, waiting for the other side's input. */
struct lb_wire {
    unsigned n;
    struct rte_mbuf *pkts[LB_WIRE];
};

struct lb_conn {
    struct pt_tcp_conn *c;
    uint32_t got;                 /* echoed bytes back */
    bool connected, closed;
    int reason;
};

struct lb {
    struct lb_wire to_server, to_client;
    struct pt_net *snet, *cnet;
    struct pt_tcp *stcp, *ctcp;
    uint64_t now;
    struct lb_conn conns[LB_CONNS];
    unsigned accepted, server_closed, server_bad_close;
    unsigned per_addr[LB_ADDRS];
    uint64_t server_bytes;
    unsigned errors;
};

static struct lb *lb;

static uint16_t
lb_tx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
    struct lb_wire *w = ctx;
    uint16_t i;

    for (i = 0; i < n && w->n < LB_WIRE; i++)
        w->pkts[w->n++] = pkts[i];
    return i;
}

static uint8_t
lb_byte(unsigned conn, uint32_t i)
{
    return (uint8_t)(conn * 7 + i * 13);
}

/* server: echo every byte, close when the client does */
static int
srv_accept(void *arg, struct pt_tcp_conn *c, void **user)
{
    uint32_t addr;

    (void)arg;
    pt_tcp_conn_peer(c, &addr, NULL, NULL);
    addr = rte_be_to_cpu_32(addr);
    if (addr < LB_CLIENT_IP || addr >= LB_CLIENT_IP + LB_ADDRS)
        lb->errors++;
    else
        lb->per_addr[addr - LB_CLIENT_IP]++;
    lb->accepted++;
    *user = NULL;
    return 0;
}

static void
srv_data(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    uint8_t buf[LB_MSG];
    uint32_t len = rte_pktmbuf_pkt_len(m);

    (void)user;
    if (len > sizeof(buf)) {
        lb->errors++;
        len = sizeof(buf);
    }
    pt_test_read(m, buf, len);
    rte_pktmbuf_free(m);
    lb->server_bytes += len;
    if (pt_tcp_write(c, buf, len) != (int)len)
        lb->errors++;
    pt_tcp_recved(c, len);
}

static void
srv_eof(void *user, struct pt_tcp_conn *c)
{
    (void)user;
    if (pt_tcp_close(c) != 0)
        lb->errors++;
}

static void
srv_closed(void *user, struct pt_tcp_conn *c, int reason)
{
    (void)user;
    (void)c;
    lb->server_closed++;
    if (reason != 0)
        lb->server_bad_close++;
}

static const struct pt_tcp_ops srv_ops = {
    .accept = srv_accept,
    .data = srv_data,
    .eof = srv_eof,
    .closed = srv_closed,
};

/* client: send LB_MSG bytes once connected, close once all came back */
static void
cli_connected(void *user, struct pt_tcp_conn *c)
{
    struct lb_conn *k = user;
    unsigned id = (unsigned)(k - lb->conns);
    uint8_t buf[LB_MSG];

    if (k->c != c || k->connected)
        lb->errors++;
    k->connected = true;
    for (uint32_t i = 0; i < LB_MSG; i++)
        buf[i] = lb_byte(id, i);
    if (pt_tcp_write(c, buf, LB_MSG) != LB_MSG)
        lb->errors++;
}

static void
cli_data(void *user, struct pt_tcp_conn *c, struct rte_mbuf *m)
{
    struct lb_conn *k = user;
    unsigned id = (unsigned)(k - lb->conns);
    uint8_t buf[LB_MSG];
    uint32_t len = rte_pktmbuf_pkt_len(m);

    if (k->got + len > LB_MSG) {
        lb->errors++;
        len = LB_MSG - k->got;
    }
    pt_test_read(m, buf, len);
    rte_pktmbuf_free(m);
    for (uint32_t i = 0; i < len; i++)
        if (buf[i] != lb_byte(id, k->got + i))
            lb->errors++;
    k->got += len;
    pt_tcp_recved(c, len);
    if (k->got == LB_MSG && pt_tcp_close(c) != 0)
        lb->errors++;
}

static void
cli_closed(void *user, struct pt_tcp_conn *c, int reason)
{
    struct lb_conn *k = user;

    if (k->c != c || k->closed)
        lb->errors++;
    k->closed = true;
    k->reason = reason;
}

static const struct pt_tcp_ops cli_ops = {
    .data = cli_data,
    .closed = cli_closed,
    .connected = cli_connected,
};

/* Deliver what is on the wires, a burst at a time, until both are quiet. */
static void
lb_pump(void)
{
    pt_tcp_flush(lb->ctcp);
    pt_net_flush(lb->cnet);
    pt_tcp_flush(lb->stcp);
    pt_net_flush(lb->snet);
    while (lb->to_server.n > 0 || lb->to_client.n > 0) {
        struct lb_wire *w[2] = { &lb->to_server, &lb->to_client };
        struct pt_net *dst[2] = { lb->snet, lb->cnet };

        for (int s = 0; s < 2; s++) {
            uint16_t n = (uint16_t)RTE_MIN(w[s]->n, 32u);
            struct rte_mbuf *burst[32];

            memcpy(burst, w[s]->pkts, n * sizeof(burst[0]));
            memmove(w[s]->pkts, w[s]->pkts + n,
                    (w[s]->n - n) * sizeof(w[s]->pkts[0]));
            w[s]->n -= n;
            pt_net_input(dst[s], burst, n, lb->now);
            pt_net_flush(dst[s]);
        }
    }
}

static void
lb_tick(uint64_t ms)
{
    lb->now += ms * 1000000ull;
    pt_tcp_tick(lb->ctcp, lb->now);
    pt_net_flush(lb->cnet);
    pt_tcp_tick(lb->stcp, lb->now);
    pt_net_flush(lb->snet);
    lb_pump();
}

static struct pt_tcp *
lb_stack(struct pt_net *net)
{
    struct pt_tcp_conf conf;

    pt_test_tcp_conf(&conf, net, lb->now);
    conf.max_conns = LB_CONNS + 24;
    conf.syn_backlog = 256;
    conf.time_wait_max = LB_CONNS + 24;
    conf.reply_limit = 1000000;
    return pt_tcp_create(&conf);
}

static void
test_tcp_connect_loopback(void **state)
{
    struct pt_net_conf nc;
    const struct pt_tcp_stats *cs, *ss;
    unsigned closed_ok = 0, connected = 0;

    (void)state;
    lb = calloc(1, sizeof(*lb));
    assert_non_null(lb);
    lb->now = 1000ull * 1000000000ull;

    pt_test_net_conf(&nc, lb_tx, &lb->to_client);
    nc.ip = rte_cpu_to_be_32(LB_SERVER_IP);
    lb->snet = pt_net_create(&nc);
    pt_test_net_conf(&nc, lb_tx, &lb->to_server);
    nc.mac = pt_test_peer_mac;
    nc.ip = rte_cpu_to_be_32(LB_CLIENT_IP);
    nc.ip_count = LB_ADDRS;
    lb->cnet = pt_net_create(&nc);
    assert_non_null(lb->snet);
    assert_non_null(lb->cnet);
    lb->stcp = lb_stack(lb->snet);
    lb->ctcp = lb_stack(lb->cnet);
    assert_non_null(lb->stcp);
    assert_non_null(lb->ctcp);
    assert_int_equal(pt_tcp_listen(lb->stcp, 1883, &srv_ops, NULL), 0);

    /* open in batches, each run to its end (echo and close included) */
    for (unsigned b = 0; b < LB_CONNS; b += LB_BATCH) {
        for (unsigned i = b; i < b + LB_BATCH; i++) {
            uint32_t laddr = LB_CLIENT_IP + i % LB_ADDRS;
            int rc = pt_tcp_connect(lb->ctcp, rte_cpu_to_be_32(laddr),
                                    (uint16_t)(20000 + i / LB_ADDRS),
                                    rte_cpu_to_be_32(LB_SERVER_IP), 1883,
                                    &pt_test_our_mac, &cli_ops,
                                    &lb->conns[i], &lb->conns[i].c);

            assert_int_equal(rc, 0);
        }
        lb_pump();
    }
    cs = pt_tcp_stats(lb->ctcp);
    ss = pt_tcp_stats(lb->stcp);
    for (unsigned i = 0; i < LB_CONNS; i++) {
        connected += lb->conns[i].connected;
        closed_ok += lb->conns[i].closed && lb->conns[i].reason == 0 &&
                     lb->conns[i].got == LB_MSG;
    }
    assert_int_equal(lb->errors, 0);
    assert_int_equal(connected, LB_CONNS);
    assert_int_equal(closed_ok, LB_CONNS);
    assert_int_equal(lb->accepted, LB_CONNS);
    assert_int_equal(lb->server_closed, LB_CONNS);
    assert_int_equal(lb->server_bad_close, 0);
    assert_int_equal(lb->server_bytes, (uint64_t)LB_CONNS * LB_MSG);
    for (unsigned a = 0; a < LB_ADDRS; a++)
        assert_int_equal(lb->per_addr[a], LB_CONNS / LB_ADDRS);
    assert_int_equal(cs->c[PT_TCP_C_CONNECTED], LB_CONNS);
    assert_int_equal(ss->c[PT_TCP_C_ACCEPTED], LB_CONNS);
    assert_int_equal(cs->c[PT_TCP_C_RETRANS] + ss->c[PT_TCP_C_RETRANS], 0);
    /* the client closed first: its side waits in TIME_WAIT */
    assert_int_equal(cs->conns_in_use, 0);
    assert_int_equal(ss->conns_in_use, 0);
    assert_int_equal(cs->tw_in_use, LB_CONNS);
    assert_int_equal(ss->tw_in_use, 0);
    lb_tick(2001);
    assert_int_equal(cs->tw_in_use, 0);
    assert_int_equal(pt_net_stats(lb->snet)->drops[PT_NET_DROP_TX_FULL] +
                     pt_net_stats(lb->cnet)->drops[PT_NET_DROP_TX_FULL], 0);

    pt_tcp_free(lb->ctcp);
    pt_tcp_free(lb->stcp);
    pt_net_flush(lb->cnet);
    pt_net_flush(lb->snet);
    for (unsigned i = 0; i < lb->to_server.n; i++)
        rte_pktmbuf_free(lb->to_server.pkts[i]);
    for (unsigned i = 0; i < lb->to_client.n; i++)
        rte_pktmbuf_free(lb->to_client.pkts[i]);
    pt_net_free(lb->cnet);
    pt_net_free(lb->snet);
    free(lb);
    lb = NULL;
    assert_int_equal(rte_mempool_in_use_count(pt_test_pool()), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_connect_handshake),
        cmocka_unit_test(test_tcp_connect_mss_ours),
        cmocka_unit_test(test_tcp_connect_mss_absent),
        cmocka_unit_test(test_tcp_connect_queued_before),
        cmocka_unit_test(test_tcp_connect_syn_timeout),
        cmocka_unit_test(test_tcp_connect_syn_retransmit_then_ok),
        cmocka_unit_test(test_tcp_connect_refused),
        cmocka_unit_test(test_tcp_connect_bad_ack),
        cmocka_unit_test(test_tcp_connect_syn_only),
        cmocka_unit_test(test_tcp_connect_data_on_synack),
        cmocka_unit_test(test_tcp_connect_data),
        cmocka_unit_test(test_tcp_connect_close_active),
        cmocka_unit_test(test_tcp_connect_close_passive),
        cmocka_unit_test(test_tcp_connect_abort_syn_sent),
        cmocka_unit_test(test_tcp_connect_in_use),
        cmocka_unit_test(test_tcp_connect_bad_args),
        cmocka_unit_test(test_tcp_connect_arp),
        cmocka_unit_test(test_tcp_connect_pool_full),
        cmocka_unit_test(test_tcp_connect_two_addresses),
        cmocka_unit_test(test_tcp_connect_net_range),
        cmocka_unit_test(test_tcp_connect_loopback),
    };

    return cmocka_run_group_tests(tests, pt_test_group_setup, NULL);
}
