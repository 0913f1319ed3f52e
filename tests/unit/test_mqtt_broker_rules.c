/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the content rules inside the broker: the in-process rig
 * (tests/lib/pt_broker_rig.h, fake clock, forged clients, two cores) with
 * a rules file loaded through pt_broker_ctl_load_rules, as petreld does:
 *
 * - drop: the message reaches nobody (a subscriber on the other core
 *   neither), the publisher gets its PUBACK all the same;
 * - disconnect: the publisher is closed, the message not routed;
 * - count: the message passes and the rule counts it;
 * - a topic-scoped rule and a filter-restricted rule;
 * - wills scanned when published (a dropped one goes nowhere);
 * - a pattern that straddles the boundary between two TCP segments (two
 *   mbufs) of a large payload is found;
 * - per-rule counts (pt_broker_ctl_rules) survive a reload; a file that
 *   does not compile keeps the rules in force; an empty rules.file
 *   removes them; every reload's old rules are freed (no leak at the end).
 *
 * The rules module itself (parsing, flags, precedence) is test_rules.c's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <petrel/broker.h>
#include <petrel/mqtt_wire.h>
#include <petrel/rules.h>

#include "pt_broker_expect.h"
#include "pt_test.h"

static const char rules_v1[] =
    "# id action scope flags filter pattern\n"
    "10 drop payload caseless - buy cheap\n"
    "20 disconnect payload - - (?:kill|wipe) -rf\n"
    "30 count payload - - hello\n"
    "40 drop topic - - ^spam/\n"
    "50 drop payload - chat/# forbidden\n";

struct rule_count {
    uint32_t id[16];
    uint64_t matches[16];
    unsigned n;
};

static void
rule_fn(void *arg, const struct pt_rule_info *r, uint64_t matches)
{
    struct rule_count *rc = arg;

    assert_true(rc->n < 16);
    rc->id[rc->n] = r->id;
    rc->matches[rc->n++] = matches;
}

/* Matches of rule id (-1: not in force). */
static int64_t
matches_of(struct rig *rig, uint32_t id)
{
    struct rule_count rc = { .n = 0 };

    pt_broker_ctl_rules(rig_broker(rig), rule_fn, &rc);
    for (unsigned i = 0; i < rc.n; i++)
        if (rc.id[i] == id)
            return (int64_t)rc.matches[i];
    return -1;
}

static struct rig *
rules_rig(const char *text)
{
    static struct pt_config cfg;
    struct rig *rig;
    char err[512] = "";

    rig_config_defaults(&cfg);
    snprintf(cfg.rules_file, sizeof(cfg.rules_file), "%s",
             write_file("rules", text));
    rig = open_rig(2, &cfg);
    if (pt_broker_ctl_load_rules(rig_broker(rig), err, sizeof(err)) != 0)
        fail_msg("rules: %s", err);
    rig_poll(rig);
    return rig;
}

static void
reload(struct rig *rig, const char *text, int want)
{
    char err[512] = "";

    write_file("rules", text);
    assert_int_equal(pt_broker_ctl_load_rules(rig_broker(rig), err,
                                              sizeof(err)), want);
    if (want != 0)
        assert_non_null(strstr(err, "rules:"));
    rig_poll(rig);
}

static void
test_mqtt_broker_rules_actions(void **state)
{
    struct rig *rig = rules_rig(rules_v1);
    struct rig_client *sub = client(rig, 1, "sub");
    struct rig_client *pub = client(rig, 0, "pub");
    struct rig_client *bad;

    (void)state;
    subscribe(sub, 1, "#", 1);

    /* drop: acknowledged, routed nowhere */
    publish(pub, "shop/a", "BUY CHEAP now", 13, 1, false, 7);
    rig_poll(rig);
    expect_ack(pub, PT_MQTT_T_PUBACK, 7);
    expect_nothing(sub);
    assert_int_equal(count(rig, 0, PT_MQTT_C_RULE_DROPPED), 1);
    assert_int_equal(matches_of(rig, 10), 1);

    /* count: passes, counted */
    publish(pub, "greet", "hello there", 11, 0, false, 0);
    rig_poll(rig);
    expect_publish(sub, "greet", "hello there", 11, 0, false, false);
    assert_int_equal(matches_of(rig, 30), 1);

    /* a topic rule, and a rule restricted to chat/# */
    publish(pub, "spam/x", "ok", 2, 0, false, 0);
    publish(pub, "news/x", "forbidden word", 14, 0, false, 0);
    publish(pub, "chat/x", "forbidden word", 14, 0, false, 0);
    rig_poll(rig);
    expect_publish(sub, "news/x", "forbidden word", 14, 0, false, false);
    expect_nothing(sub);
    assert_int_equal(matches_of(rig, 40), 1);
    assert_int_equal(matches_of(rig, 50), 1);
    assert_int_equal(count(rig, 0, PT_MQTT_C_RULE_DROPPED), 3);
    assert_int_equal(count(rig, 0, PT_MQTT_C_RULE_SCANNED), 5);

    /* disconnect: closed, not routed, others unharmed */
    bad = client(rig, 0, "bad");
    publish(bad, "ops", "please wipe -rf /", 17, 1, false, 9);
    rig_poll(rig);
    expect_closed(bad);
    expect_nothing(sub);
    assert_int_equal(count(rig, 0, PT_MQTT_C_RULE_DISCONNECTED), 1);
    assert_int_equal(matches_of(rig, 20), 1);
    publish(pub, "greet", "still here", 10, 0, false, 0);
    rig_poll(rig);
    expect_publish(sub, "greet", "still here", 10, 0, false, false);
    close_rig(rig);
}

/* Wills are scanned when published: one the rules drop goes nowhere,
 * another passes. */
static void
test_mqtt_broker_rules_wills(void **state)
{
    struct rig *rig = rules_rig(rules_v1);
    struct rig_client *sub = client(rig, 1, "sub");
    struct rig_client *w1 = client_with_will(rig, 0, "buy cheap 1", NULL,
                                             "wills/a");
    struct rig_client *w2 = client_with_will(rig, 0, "fine", NULL,
                                             "wills/b");

    (void)state;
    subscribe(sub, 1, "wills/#", 0);
    rig_client_reset(w1);
    rig_client_reset(w2);
    rig_poll(rig);
    expect_publish(sub, "wills/b", "fine", 4, 0, false, false);
    expect_nothing(sub);
    assert_int_equal(count(rig, 0, PT_MQTT_C_RULE_DROPPED), 1);
    assert_int_equal(count(rig, 0, PT_MQTT_C_WILLS), 1);
    assert_int_equal(matches_of(rig, 10), 1);
    close_rig(rig);
}

/* A 3,000-byte payload arrives in three TCP segments (the rig sends at
 * most 1,400 bytes each): "buy cheap" placed across the first boundary
 * is found all the same. */
static void
test_mqtt_broker_rules_segments(void **state)
{
    static uint8_t buf[4096], payload[3000];
    struct rig *rig = rules_rig(rules_v1);
    struct rig_client *sub = client(rig, 1, "sub");
    struct rig_client *pub = client(rig, 0, "pub");
    size_t n, hdr;
    uint8_t got[4096];

    (void)state;
    subscribe(sub, 1, "big/#", 0);
    memset(payload, 'x', sizeof(payload));
    n = rig_pkt_publish(buf, "big/a", payload, sizeof(payload), 0, false,
                        false, 0);
    hdr = n - sizeof(payload);
    /* bytes 1395..1403 of the packet: across the 1,400-byte cut */
    memcpy(payload + (1395 - hdr), "buy cheap", 9);
    n = rig_pkt_publish(buf, "big/a", payload, sizeof(payload), 0, false,
                        false, 0);
    send_pkt(pub, buf, n);
    rig_poll(rig);
    expect_nothing(sub);
    assert_int_equal(matches_of(rig, 10), 1);
    /* and without the pattern the same message passes whole */
    memcpy(payload + (1395 - hdr), "xxxxxxxxx", 9);
    n = rig_pkt_publish(buf, "big/a", payload, sizeof(payload), 0, false,
                        false, 0);
    send_pkt(pub, buf, n);
    rig_poll(rig);
    assert_true(rig_recv_packet(sub, got, sizeof(got)) > sizeof(payload));
    assert_int_equal(matches_of(rig, 10), 1);
    close_rig(rig);
}

static void
test_mqtt_broker_rules_reload(void **state)
{
    struct rig *rig = rules_rig(rules_v1);
    struct rig_client *sub = client(rig, 1, "sub");
    struct rig_client *pub = client(rig, 0, "pub");
    struct pt_broker_ctl_stats st;

    (void)state;
    subscribe(sub, 1, "#", 0);
    publish(pub, "a", "hello", 5, 0, false, 0);
    rig_poll(rig);
    expect_publish(sub, "a", "hello", 5, 0, false, false);
    assert_int_equal(matches_of(rig, 30), 1);

    /* rule 30 stays with its count; 10 goes; 60 is new */
    reload(rig, "30 count payload - - hello\n60 drop payload - - blocked\n",
           0);
    assert_int_equal(matches_of(rig, 30), 1);
    assert_int_equal(matches_of(rig, 10), -1);
    publish(pub, "a", "hello", 5, 0, false, 0);
    publish(pub, "b", "buy cheap", 9, 0, false, 0);
    publish(pub, "c", "blocked", 7, 0, false, 0);
    rig_poll(rig);
    expect_publish(sub, "a", "hello", 5, 0, false, false);
    expect_publish(sub, "b", "buy cheap", 9, 0, false, false);
    expect_nothing(sub);
    assert_int_equal(matches_of(rig, 30), 2);
    assert_int_equal(matches_of(rig, 60), 1);

    /* a pattern Hyperscan refuses: the whole file is refused */
    reload(rig, "30 count payload - - hello\n70 drop payload - - (unclosed\n",
           -EINVAL);
    assert_int_equal(matches_of(rig, 60), 1);
    publish(pub, "c", "blocked", 7, 0, false, 0);
    rig_poll(rig);
    expect_nothing(sub);

    /* many reloads, some without a poll between: the old sets are freed */
    for (int i = 0; i < 10; i++) {
        reload(rig, rules_v1, 0);
        if (i % 3 == 0)
            rig_poll(rig);
    }
    st = ctl_stats(rig);
    assert_int_equal(st.rules, 5);
    assert_int_equal(st.rules_reload_errors, 1);

    /* no rules at all */
    write_file("rules", "");
    reload(rig, "", 0);
    publish(pub, "c", "blocked", 7, 0, false, 0);
    rig_poll(rig);
    expect_publish(sub, "c", "blocked", 7, 0, false, false);
    assert_int_equal(ctl_stats(rig).rules, 0);
    close_rig(rig);
}

int
main(void)
{
#define T(f) cmocka_unit_test_teardown(f, cleanup)
    const struct CMUnitTest tests[] = {
        T(test_mqtt_broker_rules_actions),
        T(test_mqtt_broker_rules_wills),
        T(test_mqtt_broker_rules_segments),
        T(test_mqtt_broker_rules_reload),
    };
#undef T

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("mqtt_broker_rules", tests, NULL,
                                       NULL);
}
