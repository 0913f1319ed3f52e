/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the MQTT broker as a whole, part 1: CONNECT, PUBLISH and
 * fan-out, SUBACK after the route, UNSUBSCRIBE, retained, $SYS (part 2,
 * test_mqtt_broker_session.c: wills, keep-alive, takeover, offline
 * sessions, QoS 2, violations, slow readers). Both drive the broker
 * (dataplane/mqtt_*.c and control/broker_ctl.c): MQTT clients forged by the broker rig
 * (tests/lib/pt_broker_rig.h) talk TCP to 1, 2 or 4 in-process dataplane
 * cores whose control half runs on the same thread; every step is driven
 * by the test (fake clock, explicit polls), so each scenario is
 * deterministic.
 *
 * Expectations are MQTT 3.1.1 (OASIS, 2014) plus the choices
 * include/petrel/broker.h and docs/architecture.md document: SUBACK only
 * once every core sees the route, QoS 1/2 queued for offline persistent
 * sessions up to mqtt.max_queued, protocol violations closing just the
 * one connection and counted, acknowledgements never lost to a slow
 * reader. Every test ends by tearing the rig down as petreld does and
 * checking that every mbuf is back in the test pool and every queue
 * entry and session object in the broker's (a message reference left
 * behind anywhere shows up there).
 *
 * Each test was seen to fail with the broker broken on purpose in a copy
 * of the tree (a CONNACK flag, ring or local delivery skipped, SUBACK
 * before the grace period, RETAIN flags, the empty retained message, the
 * will, 1 x keep-alive, takeover without close, the queue bound, DUP, the
 * QoS 2 id check, each violation counter, a message reference or queue
 * entry leaked, the route of an unsubscribe or a moved session, QoS
 * downgrade in the fan-out cache, PUBCOMP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/broker.h>
#include <petrel/mqtt_wire.h>

#include "pt_broker_expect.h"
#include "pt_test.h"

/* ---- CONNECT ---- */

static void
test_mqtt_broker_connect_connack(void **state)
{
    static const uint8_t connack_ok[4] = { 0x20, 0x02, 0x00, 0x00 };
    struct rig *rig = open_rig(2, NULL);
    struct rig_connect opt = { .client_id = "c1", .clean = true,
                               .keepalive = 30 };
    struct rig_client *c = rig_client_open(rig, 1);
    struct pt_broker_ctl_stats cs;
    uint8_t buf[128];

    (void)state;
    assert_non_null(c);
    assert_int_equal(rig_stats(rig, 1)->connections, 1);
    assert_int_equal(rig_stats(rig, 1)->connected, 0);
    send_pkt(c, buf, rig_pkt_connect(buf, &opt));
    /* the login is the control plane's: no CONNACK before it answered */
    for (int i = 0; i < 3; i++)
        rig_poll_core(rig, 1);
    expect_nothing(c);
    rig_poll(rig);
    expect_packet(c, connack_ok, sizeof(connack_ok));
    expect_nothing(c);
    assert_int_equal(count(rig, 1, PT_MQTT_C_CONNECTS), 1);
    assert_int_equal(count(rig, 1, PT_MQTT_C_CONNACK_OK), 1);
    assert_int_equal(rig_stats(rig, 1)->connected, 1);
    assert_int_equal(rig_stats(rig, 1)->sessions, 1);
    assert_int_equal(rig_stats(rig, 0)->connections, 0);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.logins, 1);
    assert_int_equal(cs.clients, 1);
    ping(c);
    assert_int_equal(count(rig, 1, PT_MQTT_C_PINGS), 1);
    disconnect(c);
    assert_int_equal(count(rig, 1, PT_MQTT_C_DISCONNECTS), 1);
    assert_int_equal(rig_stats(rig, 1)->connected, 0);
    assert_int_equal(rig_stats(rig, 1)->sessions, 0);
    assert_int_equal(rig_stats(rig, 1)->connections, 0);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.clients, 0);
    close_rig(rig);
}

/* A connection that goes before its login is answered leaves nothing in
 * the client-id registry. */
static void
test_mqtt_broker_login_abandoned(void **state)
{
    struct rig *rig = open_rig(1, NULL);
    struct rig_connect opt = { .client_id = "gone", .clean = true };
    struct rig_client *c = rig_client_open(rig, 0);
    struct pt_broker_ctl_stats cs;
    uint8_t buf[128];

    (void)state;
    send_pkt(c, buf, rig_pkt_connect(buf, &opt));
    rig_client_reset(c);            /* before the control plane polled */
    rig_poll(rig);
    assert_int_equal(rig_stats(rig, 0)->connections, 0);
    assert_int_equal(rig_stats(rig, 0)->sessions, 0);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.logins, 1);
    assert_int_equal(cs.clients, 0);
    close_rig(rig);
}

/* A burst of logins (more than one ring burst) is answered in one control
 * poll: the control plane drains a core's ring, it does not take a fixed
 * 64 descriptors a tick (that capped logins at 64 per millisecond). */
static void
test_mqtt_broker_login_burst(void **state)
{
    static const uint8_t connack_ok[4] = { 0x20, 0x02, 0x00, 0x00 };
    struct rig *rig = open_rig(1, NULL);
    struct rig_client *cs[100];
    struct pt_broker_ctl_stats st;
    uint8_t buf[128];
    char id[16];

    (void)state;
    for (unsigned i = 0; i < RTE_DIM(cs); i++) {
        struct rig_connect opt = { .client_id = id, .clean = true };

        snprintf(id, sizeof(id), "burst-%u", i);
        cs[i] = rig_client_open(rig, 0);
        assert_non_null(cs[i]);
        send_pkt(cs[i], buf, rig_pkt_connect(buf, &opt));
    }
    for (int i = 0; i < 3; i++)
        rig_poll_core(rig, 0);
    /* every LOGIN is in the ring: one control poll takes them all */
    assert_int_equal(rig_poll_ctl(rig), RTE_DIM(cs));
    pt_broker_ctl_stats(rig_broker(rig), &st);
    assert_int_equal(st.logins, RTE_DIM(cs));
    for (int i = 0; i < 8; i++)      /* the core takes 32 answers a poll */
        rig_poll(rig);
    for (unsigned i = 0; i < RTE_DIM(cs); i++)
        expect_packet(cs[i], connack_ok, sizeof(connack_ok));
    assert_int_equal(count(rig, 0, PT_MQTT_C_RING_FULL), 0);
    close_rig(rig);
}

/* ---- PUBLISH and delivery ---- */

static void
test_mqtt_broker_publish_qos0(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *far = client(rig, 1, "far");
    struct rig_client *near = client(rig, 0, "near");

    (void)state;
    subscribe(far, 1, "a/+", 0);
    subscribe(near, 1, "a/#", 0);
    publish(pub, "a/b", S("hello"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(pub);
    expect_publish(far, "a/b", S("hello"), 0, false, false);
    expect_publish(near, "a/b", S("hello"), 0, false, false);
    expect_nothing(far);
    expect_nothing(near);
    /* one message to core 1 by ring, one local delivery */
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_RX), 1);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_TX), 1);
    assert_int_equal(count(rig, 1, PT_MQTT_C_PUB_TX), 1);
    /* a topic nobody wants */
    publish(pub, "b", S("x"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(far);
    expect_nothing(near);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 1);
    close_rig(rig);
}

static void
test_mqtt_broker_publish_qos1(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *far = client(rig, 1, "far");
    struct rig_client *near = client(rig, 0, "near");
    struct rig_client *low = client(rig, 1, "low");
    uint16_t pf, pn;

    (void)state;
    subscribe(far, 1, "q1/t", 1);
    subscribe(near, 1, "q1/t", 2);
    subscribe(low, 1, "q1/#", 0);
    publish(pub, "q1/t", S("one"), 1, false, 42);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 42);
    expect_nothing(pub);
    pf = expect_publish(far, "q1/t", S("one"), 1, false, false);
    pn = expect_publish(near, "q1/t", S("one"), 1, false, false);
    /* granted QoS 0: the message goes down to QoS 0 */
    expect_publish(low, "q1/t", S("one"), 0, false, false);
    assert_int_equal(queued(rig), 2);
    ack(far, PT_MQTT_T_PUBACK, pf);
    ack(near, PT_MQTT_T_PUBACK, pn);
    rig_poll(rig);
    assert_int_equal(queued(rig), 0);
    expect_nothing(far);
    expect_nothing(near);
    close_rig(rig);
}

static void
test_mqtt_broker_publish_qos2(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *far = client(rig, 1, "far");
    struct rig_client *near = client(rig, 0, "near");
    struct rig_client *mid = client(rig, 1, "mid");
    uint16_t pf, pn, pm;

    (void)state;
    subscribe(far, 1, "q2/t", 2);
    subscribe(near, 1, "q2/+", 2);
    subscribe(mid, 1, "q2/t", 1);
    publish(pub, "q2/t", S("two"), 2, false, 9);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBREC, 9);
    pf = expect_publish(far, "q2/t", S("two"), 2, false, false);
    pn = expect_publish(near, "q2/t", S("two"), 2, false, false);
    pm = expect_publish(mid, "q2/t", S("two"), 1, false, false);
    /* the publisher's side: PUBREL, PUBCOMP */
    ack(pub, PT_MQTT_T_PUBREL, 9);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBCOMP, 9);
    /* the subscribers' side: PUBREC, PUBREL, PUBCOMP */
    ack(far, PT_MQTT_T_PUBREC, pf);
    ack(near, PT_MQTT_T_PUBREC, pn);
    ack(mid, PT_MQTT_T_PUBACK, pm);
    rig_poll(rig);
    expect_ack(far, PT_MQTT_T_PUBREL, pf);
    expect_ack(near, PT_MQTT_T_PUBREL, pn);
    assert_int_equal(queued(rig), 2);   /* until PUBCOMP */
    ack(far, PT_MQTT_T_PUBCOMP, pf);
    ack(near, PT_MQTT_T_PUBCOMP, pn);
    rig_poll(rig);
    assert_int_equal(queued(rig), 0);
    expect_nothing(far);
    expect_nothing(near);
    expect_nothing(mid);
    expect_nothing(pub);
    close_rig(rig);
}

/* Four cores, a subscriber on each, one publisher: every core gets the
 * message once. */
static void
test_mqtt_broker_publish_four_cores(void **state)
{
    struct rig *rig = open_rig(4, NULL);
    struct rig_client *sub[4], *pub;
    char cid[16];

    (void)state;
    for (unsigned i = 0; i < 4; i++) {
        snprintf(cid, sizeof(cid), "s%u", i);
        sub[i] = client(rig, i, cid);
        subscribe(sub[i], 1, "all/#", 0);
    }
    pub = client(rig, 2, "pub");
    publish(pub, "all/x", S("hi"), 0, false, 0);
    rig_poll(rig);
    for (unsigned i = 0; i < 4; i++) {
        expect_publish(sub[i], "all/x", S("hi"), 0, false, false);
        expect_nothing(sub[i]);
        assert_int_equal(count(rig, i, PT_MQTT_C_PUB_TX), 1);
    }
    close_rig(rig);
}

/* Every payload size from 0 to 600 bytes at QoS 0, 1 and 2, to a
 * subscriber on the publisher's core and one on another: remaining
 * lengths across the one/two-byte boundary, messages copied or shared by
 * reference, each delivered whole. */
static void
test_mqtt_broker_publish_sizes(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *near = client(rig, 0, "near");
    struct rig_client *far = client(rig, 1, "far");
    static uint8_t payload[600];

    (void)state;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    subscribe(near, 1, "big/t", 2);
    subscribe(far, 1, "big/+", 2);
    for (uint8_t qos = 0; qos <= 2; qos++) {
        for (size_t n = 0; n <= sizeof(payload); n++) {
            uint16_t pn, pf;

            publish(pub, "big/t", payload, n, qos, false, 1);
            rig_poll(rig);
            if (qos == 1)
                expect_ack(pub, PT_MQTT_T_PUBACK, 1);
            if (qos == 2) {
                expect_ack(pub, PT_MQTT_T_PUBREC, 1);
                ack(pub, PT_MQTT_T_PUBREL, 1);
            }
            pn = expect_publish(near, "big/t", payload, n, qos, false, false);
            pf = expect_publish(far, "big/t", payload, n, qos, false, false);
            if (qos > 0) {
                uint8_t t = qos == 1 ? PT_MQTT_T_PUBACK : PT_MQTT_T_PUBREC;

                ack(near, t, pn);
                ack(far, t, pf);
            }
            rig_poll(rig);
            if (qos == 2) {
                expect_ack(pub, PT_MQTT_T_PUBCOMP, 1);
                expect_ack(near, PT_MQTT_T_PUBREL, pn);
                expect_ack(far, PT_MQTT_T_PUBREL, pf);
                ack(near, PT_MQTT_T_PUBCOMP, pn);
                ack(far, PT_MQTT_T_PUBCOMP, pf);
                rig_poll(rig);
            }
            expect_nothing(near);
            expect_nothing(far);
            expect_nothing(pub);
        }
    }
    assert_int_equal(queued(rig), 0);
    close_rig(rig);
}

/* The same topic again and again (each core caches its fan-out per
 * topic): who gets it follows every change of subscriptions, on this
 * core and on others, and each subscriber's QoS. */
static void
test_mqtt_broker_publish_repeated_topic(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *a = client(rig, 0, "a");
    struct rig_client *b = client(rig, 0, "b");
    struct rig_client *f = client(rig, 1, "f");
    uint8_t buf[64];

    (void)state;
    subscribe(a, 1, "rep/t", 0);
    for (int i = 0; i < 3; i++) {
        publish(pub, "rep/t", S("q1"), 1, false, 1);
        rig_poll(rig);
        expect_ack(pub, PT_MQTT_T_PUBACK, 1);
        expect_publish(a, "rep/t", S("q1"), 0, false, false);
        expect_nothing(a);
    }
    /* a second local subscriber, at QoS 1 */
    subscribe(b, 1, "rep/#", 1);
    for (int i = 0; i < 2; i++) {
        publish(pub, "rep/t", S("q1"), 1, false, 1);
        rig_poll(rig);
        expect_ack(pub, PT_MQTT_T_PUBACK, 1);
        expect_publish(a, "rep/t", S("q1"), 0, false, false);
        ack(b, PT_MQTT_T_PUBACK,
            expect_publish(b, "rep/t", S("q1"), 1, false, false));
    }
    /* a raises its QoS: same filter, new grant */
    subscribe(a, 2, "rep/t", 1);
    publish(pub, "rep/t", S("up"), 1, false, 1);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 1);
    ack(a, PT_MQTT_T_PUBACK, expect_publish(a, "rep/t", S("up"), 1, false,
                                            false));
    ack(b, PT_MQTT_T_PUBACK, expect_publish(b, "rep/t", S("up"), 1, false,
                                            false));
    /* another core joins */
    subscribe(f, 1, "rep/t", 0);
    publish(pub, "rep/t", S("all"), 0, false, 0);
    rig_poll(rig);
    expect_publish(a, "rep/t", S("all"), 0, false, false);
    expect_publish(b, "rep/t", S("all"), 0, false, false);
    expect_publish(f, "rep/t", S("all"), 0, false, false);
    /* a leaves, then b's connection goes */
    send_pkt(a, buf, rig_pkt_unsubscribe(buf, 3, "rep/t"));
    rig_poll(rig);
    expect_ack(a, PT_MQTT_T_UNSUBACK, 3);
    publish(pub, "rep/t", S("no a"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(a);
    expect_publish(b, "rep/t", S("no a"), 0, false, false);
    expect_publish(f, "rep/t", S("no a"), 0, false, false);
    disconnect(b);
    publish(pub, "rep/t", S("f only"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(a);
    expect_publish(f, "rep/t", S("f only"), 0, false, false);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 0);
    /* and core 1's last subscriber leaves: nobody */
    disconnect(f);
    publish(pub, "rep/t", S("nobody"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(a);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 1);
    close_rig(rig);
}

/* A session whose filters overlap gets one copy, at the highest QoS
 * they grant (the trie's choice; MQTT 3.1.1 section 3.3.5 allows it). */
static void
test_mqtt_broker_overlapping_filters(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *near = client(rig, 0, "near");
    struct rig_client *far = client(rig, 1, "far");

    (void)state;
    subscribe(near, 1, "o/#", 0);
    subscribe(near, 2, "o/+/c", 1);
    subscribe(far, 1, "+/b/c", 1);
    subscribe(far, 2, "o/b/#", 0);
    for (int i = 0; i < 2; i++) {       /* the second from the caches */
        publish(pub, "o/b/c", S("once"), 2, false, 4);
        rig_poll(rig);
        expect_ack(pub, PT_MQTT_T_PUBREC, 4);
        ack(pub, PT_MQTT_T_PUBREL, 4);
        ack(near, PT_MQTT_T_PUBACK,
            expect_publish(near, "o/b/c", S("once"), 1, false, false));
        ack(far, PT_MQTT_T_PUBACK,
            expect_publish(far, "o/b/c", S("once"), 1, false, false));
        rig_poll(rig);
        expect_ack(pub, PT_MQTT_T_PUBCOMP, 4);
        expect_nothing(near);
        expect_nothing(far);
    }
    /* only the QoS 0 filter matches: QoS 0 */
    publish(pub, "o/x", S("zero"), 1, false, 5);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 5);
    expect_publish(near, "o/x", S("zero"), 0, false, false);
    expect_nothing(far);
    assert_int_equal(queued(rig), 0);
    close_rig(rig);
}

/* Topics starting with '$' are not matched by filters starting with a
 * wildcard (MQTT-4.7.2-1), but by filters naming their first level. */
static void
test_mqtt_broker_dollar_topics(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *all = client(rig, 1, "all");
    struct rig_client *plus = client(rig, 0, "plus");
    struct rig_client *dollar = client(rig, 1, "dollar");

    (void)state;
    subscribe(all, 1, "#", 0);
    subscribe(plus, 1, "+/x", 0);
    subscribe(dollar, 1, "$d/#", 0);
    publish(pub, "$d/x", S("d"), 0, false, 0);
    publish(pub, "n/x", S("n"), 0, false, 0);
    rig_poll(rig);
    expect_publish(dollar, "$d/x", S("d"), 0, false, false);
    expect_nothing(dollar);
    expect_publish(all, "n/x", S("n"), 0, false, false);
    expect_nothing(all);
    expect_publish(plus, "n/x", S("n"), 0, false, false);
    expect_nothing(plus);
    /* no core has a route for it: unrouted */
    publish(pub, "$e/x", S("e"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(all);
    expect_nothing(plus);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 1);
    close_rig(rig);
}

/* ---- SUBACK waits for the route ---- */

static void
test_mqtt_broker_suback_after_route_visible(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *sub = client(rig, 1, "sub");
    struct rig_client *pub = client(rig, 0, "pub");
    uint8_t buf[64];
    struct pt_broker_ctl_stats cs;

    (void)state;
    send_pkt(sub, buf, rig_pkt_subscribe(buf, 5, "v/t", 1));
    /* the core alone cannot answer: the control plane has the SYNC */
    for (int i = 0; i < 3; i++) {
        rig_poll_core(rig, 1);
        rig_poll_core(rig, 0);
    }
    expect_nothing(sub);
    /* the control plane stages the route and starts a grace period; as
     * long as core 0 has not passed a quiescent state, no SUBACK */
    rig_poll_ctl(rig);
    for (int i = 0; i < 3; i++) {
        rig_poll_core(rig, 1);
        rig_poll_ctl(rig);
        rig_poll_core(rig, 1);
    }
    expect_nothing(sub);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.route_syncs, 0);
    /* core 0 reports: the grace period ends, the SYNC is acknowledged */
    rig_poll_core(rig, 0);
    rig_poll_ctl(rig);
    rig_poll_core(rig, 1);
    expect_suback(sub, 5, 1);
    /* and the route is there: a PUBLISH on core 0 right now reaches it */
    publish(pub, "v/t", S("now"), 1, false, 1);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 1);
    ack(sub, PT_MQTT_T_PUBACK,
        expect_publish(sub, "v/t", S("now"), 1, false, false));
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 0);
    close_rig(rig);
}

/*
 * mqtt.max_routes reached: a filter whose route the table refuses gets
 * 0x80 in its SUBACK (a SUBACK granting a subscription other cores'
 * publishers can never reach would be a lie to the client), and the core
 * drops the local subscription it had made.
 */
static void
test_mqtt_broker_route_table_full(void **state)
{
    struct pt_config cfg;
    struct rig *rig;
    struct rig_client *sub, *pub;
    struct pt_broker_ctl_stats cs;
    uint8_t buf[64], pkt[16];
    char f[16];
    size_t n;

    (void)state;
    rig_config_defaults(&cfg);
    cfg.mqtt_max_routes = 64;
    rig = open_rig(2, &cfg);
    sub = client(rig, 0, "sub");
    pub = client(rig, 0, "pub");
    for (unsigned i = 0; i < 64; i++) {
        snprintf(f, sizeof(f), "f/%u", i);
        subscribe(sub, (uint16_t)(i + 1), f, 0);
    }
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.routes, 64);
    send_pkt(sub, buf, rig_pkt_subscribe(buf, 100, "f/64", 0));
    rig_poll(rig);
    n = rig_recv_packet(sub, pkt, sizeof(pkt));
    assert_int_equal(n, 5);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.routes, 64);        /* the table is full */
    publish(pub, "f/63", S("routed"), 0, false, 0);
    rig_poll(rig);
    expect_publish(sub, "f/63", S("routed"), 0, false, false);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 0);
    /* the SUBACK said so (0x80), and the filter is not the session's */
    assert_int_equal(pkt[4], 0x80);
    assert_int_equal(cs.routes_refused, 1);
    assert_int_equal(count(rig, 0, PT_MQTT_C_SUB_REFUSED), 1);
    publish(pub, "f/64", S("local"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(sub);
    close_rig(rig);
}

/* ---- UNSUBSCRIBE ---- */

static void
test_mqtt_broker_unsubscribe(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *sub = client(rig, 1, "sub");
    struct rig_client *pub = client(rig, 0, "pub");
    uint8_t buf[64];

    (void)state;
    subscribe(sub, 1, "u/t", 0);
    send_pkt(sub, buf, rig_pkt_unsubscribe(buf, 2, "u/t"));
    rig_poll(rig);
    expect_ack(sub, PT_MQTT_T_UNSUBACK, 2);
    assert_int_equal(count(rig, 1, PT_MQTT_C_UNSUBSCRIBES), 1);
    publish(pub, "u/t", S("x"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(sub);
    /* the route went with the last subscriber of core 1 */
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 1);
    /* UNSUBACK even for a filter never subscribed (MQTT-3.10.4-5) */
    send_pkt(sub, buf, rig_pkt_unsubscribe(buf, 3, "never"));
    rig_poll(rig);
    expect_ack(sub, PT_MQTT_T_UNSUBACK, 3);
    close_rig(rig);
}

/* ---- retained messages ---- */

static void
test_mqtt_broker_retained(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *s1 = client(rig, 1, "s1");
    struct rig_client *s2, *s3;
    struct pt_broker_ctl_stats cs;
    uint8_t buf[64];

    (void)state;
    publish(pub, "r/a", S("v1"), 1, true, 1);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 1);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.retained, 1);
    /* a new subscription gets it with RETAIN set, after its SUBACK */
    subscribe(s1, 1, "r/#", 1);
    ack(s1, PT_MQTT_T_PUBACK, expect_publish(s1, "r/a", S("v1"), 1, true,
                                             false));
    expect_nothing(s1);
    /* a new value reaches the existing subscriber without RETAIN */
    publish(pub, "r/a", S("v2"), 0, true, 0);
    rig_poll(rig);
    expect_publish(s1, "r/a", S("v2"), 0, false, false);
    expect_nothing(s1);
    /* and replaces the stored one: a later subscriber gets v2 only,
     * at the lower of the two QoS */
    s2 = client(rig, 0, "s2");
    subscribe(s2, 1, "r/+", 1);
    expect_publish(s2, "r/a", S("v2"), 0, true, false);
    expect_nothing(s2);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.retained, 1);
    /* an empty retained message clears the topic (MQTT-3.3.1-10/11); it
     * is still delivered to the subscribers there are */
    publish(pub, "r/a", NULL, 0, 0, true, 0);
    rig_poll(rig);
    expect_publish(s1, "r/a", NULL, 0, 0, false, false);
    expect_publish(s2, "r/a", NULL, 0, 0, false, false);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.retained, 0);
    s3 = client(rig, 1, "s3");
    subscribe(s3, 1, "r/#", 1);
    expect_nothing(s3);
    /* a retained message matching no subscriber is still kept */
    publish(pub, "r/b", S("kept"), 0, true, 0);
    rig_poll(rig);
    send_pkt(s3, buf, rig_pkt_unsubscribe(buf, 2, "r/#"));
    rig_poll(rig);
    expect_publish(s3, "r/b", S("kept"), 0, false, false);
    expect_ack(s3, PT_MQTT_T_UNSUBACK, 2);
    subscribe(s3, 3, "r/b", 0);
    expect_publish(s3, "r/b", S("kept"), 0, true, false);
    close_rig(rig);
}

/* $SYS: every mqtt.sys_interval_s the control plane publishes the
 * broker's figures, retained; a subscriber gets them as they come, a
 * later one from the retained store. */
static void
test_mqtt_broker_sys_topics(void **state)
{
    struct pt_config cfg;
    struct rig *rig;
    struct rig_client *sub, *late;
    unsigned seen = 0, version = 0, connected = 0;
    uint8_t pkt[256];
    size_t n;

    (void)state;
    rig_config_defaults(&cfg);
    cfg.mqtt_sys_interval_s = 1;
    rig = open_rig(2, &cfg);
    sub = client(rig, 1, "sub");
    subscribe(sub, 1, "$SYS/broker/#", 0);
    rig_advance(rig, 1100);
    while ((n = rig_recv_packet(sub, pkt, sizeof(pkt))) > 0) {
        struct rig_publish p;

        assert_int_equal(rig_parse_publish(pkt, n, &p), 0);
        assert_true(p.topic_len > 12 &&
                    memcmp(p.topic, "$SYS/broker/", 12) == 0);
        assert_false(p.retain);
        if (p.topic_len == 19 && memcmp(p.topic, "$SYS/broker/version", 19)
                                     == 0) {
            assert_true(p.payload_len > 7 &&
                        memcmp(p.payload, "petrel ", 7) == 0);
            version++;
        }
        if (p.topic_len == 29 &&
            memcmp(p.topic, "$SYS/broker/clients/connected", 29) == 0) {
            assert_int_equal(p.payload_len, 1);
            assert_int_equal(p.payload[0], '1');
            connected++;
        }
        seen++;
    }
    assert_int_equal(version, 1);
    assert_int_equal(connected, 1);
    assert_true(seen >= 10);
    late = client(rig, 0, "late");
    subscribe(late, 1, "$SYS/broker/version", 0);
    n = rig_recv_packet(late, pkt, sizeof(pkt));
    {
        struct rig_publish p;

        assert_int_equal(rig_parse_publish(pkt, n, &p), 0);
        assert_true(p.retain);
    }
    close_rig(rig);
}

int
main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
    const struct CMUnitTest tests[] = {
        T(test_mqtt_broker_connect_connack),
        T(test_mqtt_broker_login_abandoned),
        T(test_mqtt_broker_login_burst),
        T(test_mqtt_broker_publish_qos0),
        T(test_mqtt_broker_publish_qos1),
        T(test_mqtt_broker_publish_qos2),
        T(test_mqtt_broker_publish_four_cores),
        T(test_mqtt_broker_publish_sizes),
        T(test_mqtt_broker_publish_repeated_topic),
        T(test_mqtt_broker_overlapping_filters),
        T(test_mqtt_broker_dollar_topics),
        T(test_mqtt_broker_suback_after_route_visible),
        T(test_mqtt_broker_route_table_full),
        T(test_mqtt_broker_unsubscribe),
        T(test_mqtt_broker_retained),
        T(test_mqtt_broker_sys_topics),
    };
#undef T

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("mqtt_broker", tests, NULL, NULL);
}
