/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the MQTT broker as a whole, part 2: wills, keep-alive,
 * takeover, offline persistent sessions, QoS 2, protocol violations,
 * teardown, slow readers (part 1 is test_mqtt_broker.c). Both drive the
 * broker (dataplane/mqtt_*.c and control/broker_ctl.c): MQTT clients forged by the broker rig
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

/* ---- wills ---- */

static struct rig_client *
with_will(struct rig *rig, unsigned core, const char *cid, uint16_t ka,
          bool retain)
{
    struct rig_connect opt = {
        .client_id = cid, .clean = true, .keepalive = ka,
        .will_topic = "w/gone", .will_msg = cid,
        .will_len = (uint16_t)strlen(cid), .will_qos = 1,
        .will_retain = retain,
    };

    return mqtt_connect(rig, core, &opt, false);
}

static void
test_mqtt_broker_will_on_abnormal_close(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *watch = client(rig, 1, "watch");
    struct rig_client *a = with_will(rig, 0, "a", 60, false);
    struct rig_client *b = with_will(rig, 1, "b", 60, false);

    (void)state;
    subscribe(watch, 1, "w/#", 1);
    /* TCP reset */
    rig_client_reset(a);
    rig_poll(rig);
    ack(watch, PT_MQTT_T_PUBACK,
        expect_publish(watch, "w/gone", S("a"), 1, false, false));
    expect_nothing(watch);
    assert_int_equal(count(rig, 0, PT_MQTT_C_WILLS), 1);
    assert_int_equal(rig_stats(rig, 0)->connections, 0);
    /* FIN without DISCONNECT is abnormal too */
    rig_client_close(b);
    rig_poll(rig);
    ack(watch, PT_MQTT_T_PUBACK,
        expect_publish(watch, "w/gone", S("b"), 1, false, false));
    expect_nothing(watch);
    assert_int_equal(count(rig, 1, PT_MQTT_C_WILLS), 1);
    close_rig(rig);
}

static void
test_mqtt_broker_no_will_after_disconnect(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *watch = client(rig, 1, "watch");
    struct rig_client *a = with_will(rig, 0, "a", 60, true);

    (void)state;
    subscribe(watch, 1, "w/#", 1);
    disconnect(a);          /* MQTT-3.14.4-3: the will is discarded */
    expect_nothing(watch);
    assert_int_equal(count(rig, 0, PT_MQTT_C_WILLS), 0);
    assert_int_equal(count(rig, 0, PT_MQTT_C_DISCONNECTS), 1);
    /* a retained will was not stored either */
    subscribe(watch, 2, "w/gone", 1);
    expect_nothing(watch);
    close_rig(rig);
}

static void
test_mqtt_broker_will_retained(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *a = with_will(rig, 0, "a", 60, true);
    struct rig_client *late;

    (void)state;
    rig_client_reset(a);
    rig_poll(rig);
    late = client(rig, 1, "late");
    subscribe(late, 1, "w/+", 1);
    ack(late, PT_MQTT_T_PUBACK,
        expect_publish(late, "w/gone", S("a"), 1, true, false));
    close_rig(rig);
}

/* ---- keep-alive ---- */

static void
test_mqtt_broker_keepalive_expiry(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_connect forever = { .client_id = "watch", .clean = true,
                                   .keepalive = 0 };
    struct rig_client *watch = mqtt_connect(rig, 1, &forever, false);
    struct rig_client *a = with_will(rig, 0, "a", 2, false);

    (void)state;
    subscribe(watch, 1, "w/#", 1);
    rig_advance(rig, 1000);
    ping(a);                            /* last packet at t = 1 s */
    /* 2.9 s later: past 1 x keep-alive, short of 1.5 x */
    rig_advance(rig, 2900);
    expect_nothing(watch);
    assert_false(a->fin_rcvd);
    assert_int_equal(count(rig, 0, PT_MQTT_C_KEEPALIVE), 0);
    /* 3.1 s: past 1.5 x (MQTT-3.1.2-24): closed, will published */
    rig_advance(rig, 200);
    expect_closed(a);
    ack(watch, PT_MQTT_T_PUBACK,
        expect_publish(watch, "w/gone", S("a"), 1, false, false));
    assert_int_equal(count(rig, 0, PT_MQTT_C_KEEPALIVE), 1);
    assert_int_equal(count(rig, 0, PT_MQTT_C_WILLS), 1);
    assert_int_equal(rig_stats(rig, 0)->connected, 0);
    /* keep-alive 0: never */
    rig_advance(rig, 1000000);
    assert_false(watch->fin_rcvd || watch->rst_rcvd);
    ping(watch);
    assert_int_equal(count(rig, 1, PT_MQTT_C_KEEPALIVE), 0);
    close_rig(rig);
}

/* ---- takeover ---- */

static void
test_mqtt_broker_takeover_moves_session(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *old = persistent(rig, 0, "dev", false);
    struct rig_client *neu;
    struct pt_broker_ctl_stats cs;

    (void)state;
    subscribe(old, 1, "t/#", 1);
    /* the same client id on core 1: the old connection is closed, the
     * session (subscription included) moves, session present 1 */
    neu = persistent(rig, 1, "dev", true);
    expect_closed(old);
    assert_int_equal(count(rig, 0, PT_MQTT_C_TAKEOVERS), 1);
    assert_int_equal(count(rig, 1, PT_MQTT_C_MOVED_IN), 1);
    assert_int_equal(rig_stats(rig, 0)->sessions, 1);     /* pub's */
    assert_int_equal(rig_stats(rig, 1)->sessions, 1);
    pt_broker_ctl_stats(rig_broker(rig), &cs);
    assert_int_equal(cs.takeovers, 1);
    assert_int_equal(cs.clients, 2);
    /* a PUBLISH right after the new CONNACK reaches the new connection */
    publish(pub, "t/x", S("moved"), 1, false, 3);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 3);
    ack(neu, PT_MQTT_T_PUBACK,
        expect_publish(neu, "t/x", S("moved"), 1, false, false));
    expect_nothing(neu);
    expect_nothing(old);
    /* and on core 1 only: the route of core 0 went with it */
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_TX), 0);
    disconnect(neu);
    close_rig(rig);
}

static void
test_mqtt_broker_takeover_clean_discards(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *old = persistent(rig, 0, "dev", false);
    struct rig_client *neu;
    struct rig_connect opt = { .client_id = "dev", .clean = true };

    (void)state;
    subscribe(old, 1, "t/#", 1);
    neu = mqtt_connect(rig, 1, &opt, false);
    expect_closed(old);
    publish(pub, "t/x", S("lost"), 0, false, 0);
    rig_poll(rig);
    expect_nothing(neu);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_NO_SUB), 1);
    disconnect(neu);
    close_rig(rig);
}

/* The same client id again on the same core: the session moves to the
 * new connection there. */
static void
test_mqtt_broker_takeover_same_core(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 1, "pub");
    struct rig_client *old = persistent(rig, 0, "dev", false);
    struct rig_client *neu;

    (void)state;
    subscribe(old, 1, "t/#", 1);
    neu = persistent(rig, 0, "dev", true);
    expect_closed(old);
    assert_int_equal(rig_stats(rig, 0)->sessions, 1);
    publish(pub, "t/x", S("same core"), 1, false, 3);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 3);
    ack(neu, PT_MQTT_T_PUBACK,
        expect_publish(neu, "t/x", S("same core"), 1, false, false));
    expect_nothing(neu);
    disconnect(neu);
    close_rig(rig);
}

/* ---- persistent sessions offline ---- */

static void
offline_queue(unsigned back_on)
{
    struct pt_config cfg;
    struct rig *rig;
    struct rig_client *pub, *dev;
    char payload[8];
    uint16_t pid;

    rig_config_defaults(&cfg);
    cfg.mqtt_max_queued = 3;
    rig = open_rig(2, &cfg);
    pub = client(rig, 0, "pub");
    dev = persistent(rig, 1, "dev", false);
    subscribe(dev, 1, "q/#", 1);
    disconnect(dev);
    for (uint16_t i = 1; i <= 5; i++) {
        snprintf(payload, sizeof(payload), "m%u", i);
        publish(pub, "q/t", payload, strlen(payload), 1, false, i);
    }
    rig_poll(rig);
    for (uint16_t i = 1; i <= 5; i++)
        expect_ack(pub, PT_MQTT_T_PUBACK, i);
    /* mqtt.max_queued = 3: the newest two are dropped and counted */
    assert_int_equal(rig_stats(rig, 1)->queued, 3);
    assert_int_equal(count(rig, 1, PT_MQTT_C_QUEUE_DROP), 2);
    /* back (on its old core or another): present, the three in order */
    dev = persistent(rig, back_on, "dev", true);
    for (unsigned i = 1; i <= 3; i++) {
        snprintf(payload, sizeof(payload), "m%u", i);
        pid = expect_publish(dev, "q/t", payload, strlen(payload), 1, false,
                             false);
        ack(dev, PT_MQTT_T_PUBACK, pid);
    }
    expect_nothing(dev);
    rig_poll(rig);
    assert_int_equal(queued(rig), 0);
    /* and it is subscribed there: new messages flow */
    publish(pub, "q/t", S("live"), 1, false, 6);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 6);
    ack(dev, PT_MQTT_T_PUBACK,
        expect_publish(dev, "q/t", S("live"), 1, false, false));
    disconnect(dev);
    close_rig(rig);
}

static void
test_mqtt_broker_offline_queue(void **state)
{
    (void)state;
    offline_queue(1);
}

static void
test_mqtt_broker_offline_queue_other_core(void **state)
{
    (void)state;
    offline_queue(0);
}

static void
test_mqtt_broker_dup_resend(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *dev = persistent(rig, 1, "dev", false);
    uint16_t p1, p2, p3;

    (void)state;
    subscribe(dev, 1, "d/#", 2);
    publish(pub, "d/a", S("one"), 1, false, 1);
    publish(pub, "d/a", S("two"), 1, false, 2);
    publish(pub, "d/b", S("three"), 2, false, 3);
    rig_poll(rig);
    p1 = expect_publish(dev, "d/a", S("one"), 1, false, false);
    p2 = expect_publish(dev, "d/a", S("two"), 1, false, false);
    p3 = expect_publish(dev, "d/b", S("three"), 2, false, false);
    /* "one" acknowledged, "two" not, "three" half-way (PUBREL sent) */
    ack(dev, PT_MQTT_T_PUBACK, p1);
    ack(dev, PT_MQTT_T_PUBREC, p3);
    rig_poll(rig);
    expect_ack(dev, PT_MQTT_T_PUBREL, p3);
    rig_client_reset(dev);
    rig_poll(rig);
    assert_int_equal(rig_stats(rig, 1)->queued, 2);
    /* reconnect: "two" again with DUP and its packet id, then the PUBREL
     * of "three" again (MQTT-4.4.0-1) */
    dev = persistent(rig, 1, "dev", true);
    assert_int_equal(expect_publish(dev, "d/a", S("two"), 1, false, true),
                     p2);
    expect_ack(dev, PT_MQTT_T_PUBREL, p3);
    expect_nothing(dev);
    assert_int_equal(count(rig, 1, PT_MQTT_C_PUB_RESENT), 1);
    ack(dev, PT_MQTT_T_PUBACK, p2);
    ack(dev, PT_MQTT_T_PUBCOMP, p3);
    rig_poll(rig);
    assert_int_equal(queued(rig), 0);
    disconnect(dev);
    close_rig(rig);
}

/* ---- QoS 2 inbound ---- */

static void
test_mqtt_broker_qos2_duplicate_routed_once(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *sub = client(rig, 1, "sub");
    uint8_t buf[64];
    uint16_t s1, s2;

    (void)state;
    subscribe(sub, 1, "d/t", 2);
    publish(pub, "d/t", S("x"), 2, false, 7);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBREC, 7);
    s1 = expect_publish(sub, "d/t", S("x"), 2, false, false);
    /* the same id again before PUBREL (DUP): acknowledged, not routed */
    send_pkt(pub, buf, rig_pkt_publish(buf, "d/t", S("x"), 2, false, true,
                                       7));
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBREC, 7);
    expect_nothing(sub);
    assert_int_equal(count(rig, 0, PT_MQTT_C_QOS2_DUP), 1);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_RX), 2);
    /* released: the id is free, the next PUBLISH with it is new */
    ack(pub, PT_MQTT_T_PUBREL, 7);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBCOMP, 7);
    publish(pub, "d/t", S("y"), 2, false, 7);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBREC, 7);
    s2 = expect_publish(sub, "d/t", S("y"), 2, false, false);
    assert_int_not_equal(s1, s2);
    ack(pub, PT_MQTT_T_PUBREL, 7);
    ack(sub, PT_MQTT_T_PUBREC, s1);
    ack(sub, PT_MQTT_T_PUBREC, s2);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBCOMP, 7);
    expect_ack(sub, PT_MQTT_T_PUBREL, s1);
    expect_ack(sub, PT_MQTT_T_PUBREL, s2);
    ack(sub, PT_MQTT_T_PUBCOMP, s1);
    ack(sub, PT_MQTT_T_PUBCOMP, s2);
    rig_poll(rig);
    assert_int_equal(queued(rig), 0);
    close_rig(rig);
}

/* An inbound QoS 2 id not yet released belongs to the session: after a
 * reconnect (here on another core) the client's resend with DUP is not
 * routed again (MQTT-4.3.3-2), and PUBREL completes it. */
static void
test_mqtt_broker_qos2_inbound_survives_reconnect(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *sub = client(rig, 1, "sub");
    struct rig_client *dev = persistent(rig, 0, "dev", false);
    uint8_t buf[64];
    uint16_t s1;

    (void)state;
    subscribe(sub, 1, "i/t", 1);
    publish(dev, "i/t", S("once"), 2, false, 5);
    rig_poll(rig);
    expect_ack(dev, PT_MQTT_T_PUBREC, 5);
    s1 = expect_publish(sub, "i/t", S("once"), 1, false, false);
    rig_client_reset(dev);
    rig_poll(rig);
    dev = persistent(rig, 1, "dev", true);
    send_pkt(dev, buf, rig_pkt_publish(buf, "i/t", S("once"), 2, false, true,
                                       5));
    rig_poll(rig);
    expect_ack(dev, PT_MQTT_T_PUBREC, 5);
    expect_nothing(sub);
    assert_int_equal(count(rig, 1, PT_MQTT_C_QOS2_DUP), 1);
    ack(dev, PT_MQTT_T_PUBREL, 5);
    rig_poll(rig);
    expect_ack(dev, PT_MQTT_T_PUBCOMP, 5);
    ack(sub, PT_MQTT_T_PUBACK, s1);
    disconnect(dev);
    close_rig(rig);
}

/* mqtt.max_inflight: at most that many QoS 1 deliveries unacknowledged;
 * the rest wait in order and go as acknowledgements come. */
static void
test_mqtt_broker_inflight_window(void **state)
{
    struct pt_config cfg;
    struct rig *rig;
    struct rig_client *pub, *sub;
    char payload[8];
    uint16_t pid[6];

    (void)state;
    rig_config_defaults(&cfg);
    cfg.mqtt_max_inflight = 2;
    rig = open_rig(2, &cfg);
    pub = client(rig, 0, "pub");
    sub = client(rig, 1, "sub");
    subscribe(sub, 1, "w/t", 1);
    for (uint16_t i = 1; i <= 5; i++) {
        snprintf(payload, sizeof(payload), "m%u", i);
        publish(pub, "w/t", payload, strlen(payload), 1, false, i);
    }
    rig_poll(rig);
    pid[1] = expect_publish(sub, "w/t", S("m1"), 1, false, false);
    pid[2] = expect_publish(sub, "w/t", S("m2"), 1, false, false);
    expect_nothing(sub);
    assert_int_equal(rig_stats(rig, 1)->queued, 5);
    for (unsigned i = 3; i <= 5; i++) {
        char want[8];

        ack(sub, PT_MQTT_T_PUBACK, pid[i - 2]);
        rig_poll(rig);
        snprintf(want, sizeof(want), "m%u", i);
        pid[i] = expect_publish(sub, "w/t", want, strlen(want), 1, false,
                                false);
        expect_nothing(sub);
    }
    ack(sub, PT_MQTT_T_PUBACK, pid[4]);
    ack(sub, PT_MQTT_T_PUBACK, pid[5]);
    rig_poll(rig);
    assert_int_equal(queued(rig), 0);
    close_rig(rig);
}

/* ---- protocol violations: that connection only, counted ---- */

struct violation {
    bool connect_first;     /* CONNECT (and CONNACK) before the bad bytes */
    const uint8_t *bytes;
    size_t len;
    int codec_err;          /* errors[] that counts it, or 0 */
    int violation;          /* violations[] that counts it, or -1 */
};

static void
violation(const struct violation *v)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 1, "pub");
    struct rig_client *by = client(rig, 0, "bystander");
    struct rig_client *bad;
    const struct pt_mqtt_stats *st = rig_stats(rig, 0);
    uint64_t errs = 0, viols = 0;

    subscribe(by, 1, "b/#", 0);
    if (v->connect_first)
        bad = client(rig, 0, "bad");
    else
        bad = rig_client_open(rig, 0);
    assert_non_null(bad);
    assert_int_equal(st->connections, 2);
    rig_send(bad, v->bytes, v->len);
    rig_poll(rig);
    expect_closed(bad);
    if (v->codec_err > 0)
        assert_int_equal(st->errors[v->codec_err], 1);
    if (v->violation >= 0)
        assert_int_equal(st->violations[v->violation], 1);
    for (int i = 0; i < PT_MQTT_E_MAX; i++)
        errs += st->errors[i];
    for (int i = 0; i < PT_MQTT_V_MAX; i++)
        viols += st->violations[i];
    assert_int_equal(errs + viols, 1);
    /* nobody else noticed */
    assert_int_equal(st->connections, 1);
    assert_false(by->fin_rcvd || by->rst_rcvd);
    ping(by);
    publish(pub, "b/x", S("still"), 0, false, 0);
    rig_poll(rig);
    expect_publish(by, "b/x", S("still"), 0, false, false);
    close_rig(rig);
}

static void
test_mqtt_broker_violation_first_not_connect(void **state)
{
    static const uint8_t pingreq[] = { 0xc0, 0x00 };
    const struct violation v = {
        .connect_first = false, .bytes = pingreq, .len = sizeof(pingreq),
        .violation = PT_MQTT_V_FIRST_NOT_CONNECT,
    };

    (void)state;
    violation(&v);
}

static void
test_mqtt_broker_violation_second_connect(void **state)
{
    struct rig_connect opt = { .client_id = "bad", .clean = true };
    uint8_t buf[64];
    size_t n = rig_pkt_connect(buf, &opt);
    const struct violation v = {
        .connect_first = true, .bytes = buf, .len = n,
        .violation = PT_MQTT_V_SECOND_CONNECT,
    };

    (void)state;
    violation(&v);
}

static void
test_mqtt_broker_violation_reserved_flags(void **state)
{
    /* PUBREL must carry flags 0x2 (MQTT-2.2.2-2) */
    static const uint8_t pubrel0[] = { 0x60, 0x02, 0x00, 0x01 };
    const struct violation v = {
        .connect_first = true, .bytes = pubrel0, .len = sizeof(pubrel0),
        .codec_err = PT_MQTT_E_FLAGS, .violation = -1,
    };

    (void)state;
    violation(&v);
}

static void
test_mqtt_broker_violation_bad_remaining_length(void **state)
{
    /* a remaining length running into a 5th byte (MQTT-2.2.3) */
    static const uint8_t remlen[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
    const struct violation v = {
        .connect_first = true, .bytes = remlen, .len = sizeof(remlen),
        .codec_err = PT_MQTT_E_REMLEN, .violation = -1,
    };

    (void)state;
    violation(&v);
}

/* ---- teardown ---- */

/* pt_mqtt_core_free "closes every connection (sessions are dropped)":
 * an offline persistent session goes too, and the messages it still
 * holds back to the pool they came from. */
static void
test_mqtt_broker_teardown_releases_offline_sessions(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *dev = persistent(rig, 1, "dev", false);

    (void)state;
    subscribe(dev, 1, "o/#", 2);
    /* in flight (sent, not acknowledged), an inbound QoS 2 id not
     * released, then offline, then one more queued */
    publish(pub, "o/t", S("in flight"), 1, false, 1);
    publish(dev, "x/y", S("unreleased"), 2, false, 9);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 1);
    expect_ack(dev, PT_MQTT_T_PUBREC, 9);
    expect_publish(dev, "o/t", S("in flight"), 1, false, false);
    rig_client_reset(dev);
    rig_poll(rig);
    publish(pub, "o/t", S("queued for dev"), 2, false, 2);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBREC, 2);
    assert_int_equal(rig_stats(rig, 1)->queued, 2);
    assert_int_equal(rig_stats(rig, 1)->sessions, 1);
    close_rig(rig);
}

/* ---- QoS 2 outbound: a PUBREC for a delivery still waiting to go out ---- */

/*
 * A subscriber whose TCP send queue and the connection's own queue are
 * full has QoS 2 deliveries in flight that were never sent (they go when
 * `sent` makes room). A PUBREC for one of them (a client that guesses
 * packet ids, or one resuming from an earlier connection) moves it to
 * WAIT_COMP and drops its message; the broker must not then try to send
 * that message.
 */
static void
test_mqtt_broker_pubrec_for_unsent_qos2(void **state)
{
    struct pt_config cfg;
    struct rig *rig;
    struct rig_client *pub, *sub;
    uint8_t payload[100], buf[256], recs[4 * 60];

    (void)state;
    rig_config_defaults(&cfg);
    cfg.tcp_snd_buf = 1460;
    cfg.mqtt_max_packet = 256;
    cfg.mqtt_max_inflight = 64;
    rig = open_rig(1, &cfg);
    pub = client(rig, 0, "pub");
    sub = client(rig, 0, "sub");
    subscribe(sub, 1, "f/t", 2);
    memset(payload, 'p', sizeof(payload));
    /* 60 QoS 2 deliveries of 109 bytes to a subscriber that does not
     * read: 1460 bytes in TCP's queue, 256 + 1460 in the connection's,
     * the rest in flight unsent (the session numbers them 1..60) */
    rig_client_freeze(sub, true);
    for (uint16_t i = 1; i <= 60; i++)
        rig_send(pub, buf, rig_pkt_publish(buf, "f/t", payload,
                                           sizeof(payload), 2, false, false,
                                           i));
    assert_true(rig_pending(sub) < 60 * 109);
    /* PUBREC for every id at once, newest first, acknowledging nothing
     * new: the broker reads them once its backlog drains; the first, for
     * 60, finds it unsent (each acknowledgement then pumps the others
     * out, which is right: the broker cannot know more PUBRECs follow) */
    for (uint16_t i = 1; i <= 60; i++)
        rig_pkt_ack(recs + 4 * (i - 1), PT_MQTT_T_PUBREC, (uint16_t)(61 - i));
    rig_send(sub, recs, sizeof(recs));
    rig_client_freeze(sub, false);
    rig_poll(rig);
    assert_false(sub->fin_rcvd || sub->rst_rcvd);
    /* what was sent arrives, each id once; a PUBREL answers each PUBREC;
     * what had not gone out never does (its receiver has it) */
    {
        uint8_t seen[61] = { 0 }, pkt[256];
        unsigned pubs = 0, rels = 0;
        size_t n;

        while ((n = rig_recv_packet(sub, pkt, sizeof(pkt))) > 0) {
            struct rig_publish p;

            if (pkt[0] == 0x62) {
                rels++;
                continue;
            }
            assert_int_equal(rig_parse_publish(pkt, n, &p), 0);
            assert_true(p.pid >= 1 && p.pid <= 60);
            assert_int_equal(seen[p.pid]++, 0);
            assert_int_equal(p.payload_len, sizeof(payload));
            pubs++;
        }
        assert_true(rels > 0);      /* see slow_reader_keeps_acks */
        assert_true(pubs < 60);     /* else the case was not reached */
    }
    for (uint16_t i = 1; i <= 60; i++)
        rig_pkt_ack(recs + 4 * (i - 1), PT_MQTT_T_PUBCOMP, i);
    rig_send(sub, recs, sizeof(recs));
    rig_poll(rig);
    expect_nothing(sub);
    assert_int_equal(queued(rig), 0);
    close_rig(rig);
}

/*
 * A client that publishes QoS 1 faster than it reads: its output queue
 * fills with deliveries (QoS 0 ones may then be dropped, and are
 * counted), but every PUBLISH it sent is still acknowledged
 * (MQTT-4.3.2-2): an acknowledgement lost is a message the client keeps
 * in flight until it reconnects. The broker stops reading the client
 * while its answers cannot go out, and goes on once they do.
 */
static void
test_mqtt_broker_slow_reader_keeps_acks(void **state)
{
    struct pt_config cfg;
    struct rig *rig;
    struct rig_client *x;
    uint8_t payload[100], buf[256], seen[201] = { 0 };
    unsigned acks = 0;
    size_t n;

    (void)state;
    rig_config_defaults(&cfg);
    cfg.tcp_snd_buf = 1460;
    cfg.mqtt_max_packet = 256;
    rig = open_rig(1, &cfg);
    x = client(rig, 0, "x");
    subscribe(x, 1, "s/#", 0);
    memset(payload, 'p', sizeof(payload));
    /* 200 PUBLISH to itself while it does not read */
    rig_client_freeze(x, true);
    for (uint16_t i = 1; i <= 200; i++)
        rig_send(x, buf, rig_pkt_publish(buf, "s/t", payload,
                                         sizeof(payload), 1, false, false,
                                         i));
    rig_poll(rig);
    /* its answers back up: the broker stops reading it (the rest waits
     * in TCP's receive window) rather than drop an acknowledgement */
    assert_true(count(rig, 0, PT_MQTT_C_PUB_RX) < 200);
    rig_client_freeze(x, false);
    rig_poll(rig);
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_RX), 200);
    while ((n = rig_recv_packet(x, buf, sizeof(buf))) > 0) {
        if (buf[0] >> 4 != PT_MQTT_T_PUBACK)
            continue;
        assert_int_equal(n, 4);
        assert_true((buf[2] << 8 | buf[3]) >= 1 && (buf[2] << 8 | buf[3]) <= 200);
        assert_int_equal(seen[buf[2] << 8 | buf[3]]++, 0);
        acks++;
    }
    assert_int_equal(x->gaps, 0);
    assert_int_equal(acks, 200);
    close_rig(rig);
}

/*
 * A subscriber that does not read loses QoS 0 messages once its backlog
 * passes mqtt.max_packet + tcp.snd_buf (counted in mqtt_qos0_dropped);
 * its publisher is not slowed: every PUBLISH is read and acknowledged.
 */
static void
test_mqtt_broker_slow_subscriber_drops_qos0(void **state)
{
    struct pt_config cfg;
    struct rig *rig;
    struct rig_client *sub, *pub;
    uint8_t payload[100], buf[256];
    unsigned acks = 0;
    size_t n;

    (void)state;
    rig_config_defaults(&cfg);
    cfg.tcp_snd_buf = 1460;
    cfg.mqtt_max_packet = 256;
    rig = open_rig(1, &cfg);
    sub = client(rig, 0, "sub");
    pub = client(rig, 0, "pub");
    subscribe(sub, 1, "s/#", 0);
    memset(payload, 'p', sizeof(payload));
    rig_client_freeze(sub, true);
    for (uint16_t i = 1; i <= 200; i++) {
        rig_send(pub, buf, rig_pkt_publish(buf, "s/t", payload,
                                           sizeof(payload), 1, false, false,
                                           i));
        rig_poll(rig);
    }
    assert_int_equal(count(rig, 0, PT_MQTT_C_PUB_RX), 200);
    assert_true(count(rig, 0, PT_MQTT_C_QOS0_DROP) > 0);
    assert_true(count(rig, 0, PT_MQTT_C_QOS0_DROP) < 200);
    while ((n = rig_recv_packet(pub, buf, sizeof(buf))) > 0)
        acks += buf[0] >> 4 == PT_MQTT_T_PUBACK;
    assert_int_equal(acks, 200);
    rig_client_freeze(sub, false);
    rig_poll(rig);
    close_rig(rig);
}

int
main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
    const struct CMUnitTest tests[] = {
        T(test_mqtt_broker_will_on_abnormal_close),
        T(test_mqtt_broker_no_will_after_disconnect),
        T(test_mqtt_broker_will_retained),
        T(test_mqtt_broker_keepalive_expiry),
        T(test_mqtt_broker_takeover_moves_session),
        T(test_mqtt_broker_takeover_clean_discards),
        T(test_mqtt_broker_takeover_same_core),
        T(test_mqtt_broker_offline_queue),
        T(test_mqtt_broker_offline_queue_other_core),
        T(test_mqtt_broker_dup_resend),
        T(test_mqtt_broker_qos2_duplicate_routed_once),
        T(test_mqtt_broker_qos2_inbound_survives_reconnect),
        T(test_mqtt_broker_inflight_window),
        T(test_mqtt_broker_violation_first_not_connect),
        T(test_mqtt_broker_violation_second_connect),
        T(test_mqtt_broker_violation_reserved_flags),
        T(test_mqtt_broker_violation_bad_remaining_length),
        T(test_mqtt_broker_teardown_releases_offline_sessions),
        T(test_mqtt_broker_pubrec_for_unsent_qos2),
        T(test_mqtt_broker_slow_reader_keeps_acks),
        T(test_mqtt_broker_slow_subscriber_drops_qos0),
    };
#undef T

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("mqtt_broker_session", tests, NULL, NULL);
}
