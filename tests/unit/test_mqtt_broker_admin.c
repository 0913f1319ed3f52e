/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the operator's side of the broker, end to end through the
 * in-process rig (tests/lib/pt_broker_rig.h): queries of one client
 * (show, subs, kick) answered by its core, the client and route listings
 * (control/broker_admin.c, dataplane/mqtt_admin.c), and the two-phase
 * graceful stop (pt_broker_ctl_shutdown). Logins, throttling, anonymous
 * access and the ACL are tested in test_mqtt_broker_access.c.
 *
 * What is expected is what include/petrel/broker.h documents: a query
 * answered once with its ticket, -ENOENT for an unknown client,
 * -ENOTCONN for kicking an offline session; the listings filtered by
 * prefix and online state, the limit cutting the calls but not the count;
 * a kick closing with FIN and publishing the will; the stop's first phase
 * publishing every will and refusing new connections while keeping the
 * old ones, its second closing each with FIN and no will twice. Every
 * test ends with the rig torn down and every mbuf, queue entry and
 * session back in its pool.
 *
 * Each was seen to fail with the code under test broken on purpose (and
 * restored): the kick or a shutdown close not counted; the online-only
 * filter of the listing; the shutdown's first phase without wills or
 * accepting connections.
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

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <petrel/broker.h>
#include <petrel/mqtt_wire.h>

#include "pt_broker_expect.h"
#include "pt_test.h"

/* ---- 1. operator queries and listings ---- */

struct answers {
    unsigned calls;
    uint64_t ticket;
    int err;
    char text[4096];
    size_t len;
};

static void
on_answer(void *arg, uint64_t ticket, int err, const char *text, size_t len)
{
    struct answers *a = arg;

    a->calls++;
    a->ticket = ticket;
    a->err = err;
    a->len = len;
    a->text[0] = '\0';
    if (text != NULL) {
        assert_true(len < sizeof(a->text));
        memcpy(a->text, text, len);
        a->text[len] = '\0';
    }
}

/* One answer came, with ticket, err 0, and text containing every
 * NULL-terminated needle. */
static void
expect_answer(struct answers *a, uint64_t ticket, ...)
{
    va_list ap;
    const char *needle;

    assert_int_equal(a->calls, 1);
    assert_int_equal(a->ticket, ticket);
    assert_int_equal(a->err, 0);
    assert_int_equal(strlen(a->text), a->len);
    va_start(ap, ticket);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(a->text, needle) == NULL)
            fail_msg("answer %s lacks %s", a->text, needle);
    }
    va_end(ap);
    a->calls = 0;
}

struct listed {
    unsigned n;
    struct {
        char cid[64];
        char state[16];
        char user[16];
        unsigned core;
        bool clean;
        uint32_t ip;
    } e[8];
};

static void
client_fn(void *arg, const struct pt_broker_client *c)
{
    struct listed *l = arg;

    assert_true(l->n < 8);
    snprintf(l->e[l->n].cid, sizeof(l->e[0].cid), "%.*s", (int)c->cid_len,
             c->cid);
    snprintf(l->e[l->n].state, sizeof(l->e[0].state), "%s", c->state);
    snprintf(l->e[l->n].user, sizeof(l->e[0].user), "%.*s",
             c->user != NULL ? (int)c->user_len : 0,
             c->user != NULL ? c->user : "");
    l->e[l->n].core = c->core;
    l->e[l->n].clean = c->clean;
    l->e[l->n].ip = c->ip;
    l->n++;
}

static int
listed_find(const struct listed *l, const char *cid)
{
    for (unsigned i = 0; i < l->n; i++)
        if (strcmp(l->e[i].cid, cid) == 0)
            return (int)i;
    return -1;
}

struct route_list {
    unsigned n;
    struct {
        char filter[32];
        uint64_t cores;
    } e[8];
};

static void
route_fn(void *arg, const char *filter, size_t len, uint64_t cores)
{
    struct route_list *l = arg;

    assert_true(l->n < 8);
    snprintf(l->e[l->n].filter, sizeof(l->e[0].filter), "%.*s", (int)len,
             filter);
    l->e[l->n].cores = cores;
    l->n++;
}

/* The core mask of filter in the route list (0: not listed). */
static uint64_t
route_cores(struct rig *rig, const char *filter)
{
    struct route_list l = { 0 };

    pt_broker_ctl_routes(rig_broker(rig), NULL, 8, route_fn, &l);
    for (unsigned i = 0; i < l.n; i++)
        if (strcmp(l.e[i].filter, filter) == 0)
            return l.e[i].cores;
    return 0;
}

static void
test_mqtt_broker_admin_operator(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct pt_broker *b = rig_broker(rig);
    struct answers ans = { 0 };
    struct listed l = { 0 };
    struct route_list rl = { 0 };
    struct rig_connect dopt = {
        .client_id = "dev1", .clean = true, .keepalive = 30,
        .will_topic = "dev/dev1/status", .will_msg = "gone", .will_len = 4,
        .username = "u1",
    };
    struct rig_client *dev, *mon, *mon2, *off;
    uint8_t buf[128];
    int i;

    (void)state;
    pt_broker_ctl_on_answer(b, on_answer, &ans);
    dev = mqtt_connect(rig, 1, &dopt, false);
    mon = client(rig, 0, "mon");
    mon2 = client(rig, 1, "mon2");
    off = persistent(rig, 0, "off1", false);
    subscribe(dev, 1, "cmd/dev1", 1);
    subscribe(dev, 2, "cmd/all", 0);
    subscribe(mon, 1, "dev/+/status", 0);
    subscribe(mon2, 1, "dev/+/status", 0);
    subscribe(off, 1, "cmd/off1", 1);
    disconnect(off);

    /* show and subs of a connected client, answered by its core */
    assert_int_equal(pt_broker_ctl_query(b, "dev1", 4, PT_BROKER_SHOW, 42),
                     0);
    assert_int_equal(ans.calls, 0);
    rig_poll(rig);
    expect_answer(&ans, 42, "\"client_id\":\"dev1\"", "\"core\":1",
                  "\"state\":\"connected\"", "\"user\":\"u1\"",
                  "\"address\":\"10.99.0.1:", "\"keepalive_s\":30",
                  "\"will\":true", "\"clean_session\":true",
                  "\"subscription_count\":2",
                  "{\"filter\":\"cmd/dev1\",\"qos\":1}",
                  "{\"filter\":\"cmd/all\",\"qos\":0}", NULL);
    assert_int_equal(pt_broker_ctl_query(b, "dev1", 4, PT_BROKER_SUBS, 43),
                     0);
    rig_poll(rig);
    expect_answer(&ans, 43, "\"client_id\":\"dev1\"",
                  "\"subscription_count\":2", "\"cmd/dev1\"", "\"cmd/all\"",
                  NULL);
    assert_int_equal(pt_broker_ctl_query(b, "nobody", 6, PT_BROKER_SHOW, 44),
                     -ENOENT);
    assert_int_equal(pt_broker_ctl_query(b, "dev", 3, PT_BROKER_KICK, 44),
                     -ENOENT);
    /* an offline persistent session: shown, not kicked */
    assert_int_equal(pt_broker_ctl_query(b, "off1", 4, PT_BROKER_KICK, 45),
                     -ENOTCONN);
    assert_int_equal(pt_broker_ctl_query(b, "off1", 4, PT_BROKER_SHOW, 46),
                     0);
    rig_poll(rig);
    expect_answer(&ans, 46, "\"client_id\":\"off1\"", "\"core\":0",
                  "\"state\":\"offline\"", "\"user\":null",
                  "\"clean_session\":false", "\"cmd/off1\"", NULL);
    assert_null(strstr(ans.text, "address"));

    /* the registry */
    assert_int_equal(pt_broker_ctl_clients(b, NULL, false, 8, client_fn, &l),
                     4);
    assert_int_equal(l.n, 4);
    i = listed_find(&l, "dev1");
    assert_true(i >= 0);
    assert_string_equal(l.e[i].state, "online");
    assert_string_equal(l.e[i].user, "u1");
    assert_int_equal(l.e[i].core, 1);
    assert_true(l.e[i].clean);
    assert_int_equal(l.e[i].ip, rte_cpu_to_be_32(PT_TEST_PEER_IP));
    i = listed_find(&l, "off1");
    assert_true(i >= 0);
    assert_string_equal(l.e[i].state, "offline");
    assert_false(l.e[i].clean);
    assert_int_equal(l.e[i].core, 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(pt_broker_ctl_clients(b, NULL, true, 8, client_fn, &l),
                     3);
    assert_int_equal(listed_find(&l, "off1"), -1);
    memset(&l, 0, sizeof(l));
    assert_int_equal(pt_broker_ctl_clients(b, "mon", true, 8, client_fn, &l),
                     2);
    assert_true(listed_find(&l, "mon") >= 0 && listed_find(&l, "mon2") >= 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(pt_broker_ctl_clients(b, "off", true, 8, client_fn, &l),
                     0);
    assert_int_equal(pt_broker_ctl_clients(b, "off", false, 8, client_fn,
                                           &l), 1);
    assert_int_equal(l.n, 1);
    memset(&l, 0, sizeof(l));
    /* the limit cuts the calls, not the count */
    assert_int_equal(pt_broker_ctl_clients(b, "", false, 1, client_fn, &l),
                     4);
    assert_int_equal(l.n, 1);

    /* routes and their core masks */
    assert_int_equal(route_cores(rig, "dev/+/status"), 0x3);
    assert_int_equal(route_cores(rig, "cmd/dev1"), 0x2);
    assert_int_equal(route_cores(rig, "cmd/all"), 0x2);
    assert_int_equal(route_cores(rig, "cmd/off1"), 0x1);   /* offline */
    assert_int_equal(pt_broker_ctl_routes(b, "cmd/", 1, route_fn, &rl), 3);
    assert_int_equal(rl.n, 1);
    send_pkt(mon2, buf, rig_pkt_unsubscribe(buf, 2, "dev/+/status"));
    rig_poll(rig);
    expect_ack(mon2, PT_MQTT_T_UNSUBACK, 2);
    assert_int_equal(route_cores(rig, "dev/+/status"), 0x1);
    send_pkt(dev, buf, rig_pkt_unsubscribe(buf, 3, "cmd/all"));
    rig_poll(rig);
    expect_ack(dev, PT_MQTT_T_UNSUBACK, 3);
    assert_int_equal(route_cores(rig, "cmd/all"), 0);
    assert_int_equal(pt_broker_ctl_routes(b, "cmd/", 8, route_fn, &rl), 2);

    /* kick: FIN, the will goes out, counted */
    assert_int_equal(pt_broker_ctl_query(b, "dev1", 4, PT_BROKER_KICK, 47),
                     0);
    rig_poll(rig);
    expect_answer(&ans, 47, "\"kicked\":true", "\"core\":1", NULL);
    expect_closed(dev);
    assert_true(dev->fin_rcvd);
    assert_false(dev->rst_rcvd);
    expect_publish(mon, "dev/dev1/status", S("gone"), 0, false, false);
    expect_nothing(mon);
    expect_nothing(mon2);
    assert_int_equal(count(rig, 1, PT_MQTT_C_KICKED), 1);
    assert_int_equal(count(rig, 1, PT_MQTT_C_WILLS), 1);
    assert_int_equal(ctl_stats(rig).kicks, 1);
    /* a clean session goes with its connection */
    assert_int_equal(pt_broker_ctl_query(b, "dev1", 4, PT_BROKER_SHOW, 48),
                     -ENOENT);
    assert_int_equal(route_cores(rig, "cmd/dev1"), 0);
    assert_int_equal(ans.calls, 0);
    pt_broker_ctl_on_answer(b, NULL, NULL);
    close_rig(rig);
}

/* ---- 2. graceful stop ---- */

/* MQTT-3.1.3-6: an empty client id gets "auto-" and 128 bits in UUID
 * form from the core, unique per connection, and is then a registry entry
 * like any other: listed, shown, kicked (and gone when it closes). */
static void
test_mqtt_broker_admin_assigned_id(void **state)
{
    struct rig *rig = open_rig(2, NULL);
    struct pt_broker *b = rig_broker(rig);
    struct answers ans = { 0 };
    struct listed l = { 0 };
    struct rig_client *a = client(rig, 0, ""), *c = client(rig, 1, "");

    (void)state;
    pt_broker_ctl_on_answer(b, on_answer, &ans);
    assert_int_equal(pt_broker_ctl_clients(b, "auto-", true, 8, client_fn,
                                           &l), 2);
    for (unsigned i = 0; i < 2; i++) {
        const char *id = l.e[i].cid;

        assert_int_equal(strlen(id), 41);
        assert_int_equal(strspn(id + 5, "0123456789abcdef-"), 36);
        assert_true(id[13] == '-' && id[18] == '-' && id[23] == '-' &&
                    id[28] == '-');
    }
    assert_string_not_equal(l.e[0].cid, l.e[1].cid);
    assert_int_equal(pt_broker_ctl_query(b, l.e[0].cid, 41, PT_BROKER_SHOW,
                                         7), 0);
    rig_poll(rig);
    expect_answer(&ans, 7, "\"state\":\"connected\"", "\"client_id\":\"auto-",
                  NULL);
    assert_int_equal(pt_broker_ctl_query(b, l.e[1].cid, 41, PT_BROKER_KICK,
                                         8), 0);
    rig_poll(rig);
    expect_answer(&ans, 8, "\"kicked\":true", NULL);
    expect_closed(l.e[1].core == 0 ? a : c);
    disconnect(l.e[1].core == 0 ? c : a);
    rig_poll(rig);
    assert_int_equal(pt_broker_ctl_clients(b, NULL, false, 8, client_fn,
                                           &l), 0);
    close_rig(rig);
}

static void
test_mqtt_broker_admin_shutdown(void **state)
{
    static const char *const topics[] = { "will/a", "will/b", "will/c" };
    struct rig *rig = open_rig(2, NULL);
    struct pt_broker *b = rig_broker(rig);
    struct rig_client *cl[6], *late0, *late1;
    bool seen[3] = { false, false, false };
    uint8_t pkt[256];
    size_t n;

    (void)state;
    cl[0] = client(rig, 1, "watch");
    subscribe(cl[0], 1, "will/#", 0);
    cl[1] = client_with_will(rig, 0, "a", NULL, "will/a");
    cl[2] = client_with_will(rig, 0, "b", NULL, "will/b");
    /* on the watcher's core */
    cl[3] = client_with_will(rig, 1, "c", NULL, "will/c");
    cl[4] = client(rig, 0, "quiet");
    cl[5] = persistent(rig, 0, "keep", false);

    /* phase 1: every will, nobody closed */
    assert_int_equal(pt_broker_ctl_shutdown(b, PT_SHUTDOWN_WILLS), 2);
    assert_false(pt_broker_ctl_shutdown_done(b, PT_SHUTDOWN_WILLS));
    rig_poll(rig);
    assert_true(pt_broker_ctl_shutdown_done(b, PT_SHUTDOWN_WILLS));
    assert_false(pt_broker_ctl_shutdown_done(b, PT_SHUTDOWN_CLOSE));
    while ((n = rig_recv_packet(cl[0], pkt, sizeof(pkt))) > 0) {
        struct rig_publish p;
        bool known = false;

        assert_int_equal(rig_parse_publish(pkt, n, &p), 0);
        for (unsigned i = 0; i < 3; i++) {
            if (p.topic_len == strlen(topics[i]) &&
                memcmp(p.topic, topics[i], p.topic_len) == 0) {
                assert_false(seen[i]);
                seen[i] = true;
                known = true;
            }
        }
        assert_true(known);
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    assert_int_equal(rig_count(rig, PT_MQTT_C_WILLS), 3);
    for (unsigned i = 0; i < 6; i++)
        assert_false(cl[i]->fin_rcvd || cl[i]->rst_rcvd);
    /* new connections are refused */
    late0 = rig_client_open(rig, 0);
    late1 = rig_client_open(rig, 1);
    assert_non_null(late0);
    assert_non_null(late1);
    rig_poll(rig);
    assert_true(late0->rst_rcvd);
    assert_true(late1->rst_rcvd);
    assert_int_equal(count(rig, 0, PT_MQTT_C_SHUTDOWN_REFUSED), 1);
    assert_int_equal(count(rig, 1, PT_MQTT_C_SHUTDOWN_REFUSED), 1);
    /* what is connected still works meanwhile */
    ping(cl[4]);

    /* phase 2: every connection ends with FIN, no will twice */
    assert_int_equal(pt_broker_ctl_shutdown(b, PT_SHUTDOWN_CLOSE), 2);
    rig_poll(rig);
    assert_true(pt_broker_ctl_shutdown_done(b, PT_SHUTDOWN_CLOSE));
    for (unsigned i = 0; i < 6; i++) {
        expect_closed(cl[i]);
        assert_true(cl[i]->fin_rcvd);
        assert_false(cl[i]->rst_rcvd);
    }
    assert_int_equal(count(rig, 0, PT_MQTT_C_SHUTDOWN_CLOSED), 4);
    assert_int_equal(count(rig, 1, PT_MQTT_C_SHUTDOWN_CLOSED), 2);
    assert_int_equal(rig_count(rig, PT_MQTT_C_WILLS), 3);
    assert_int_equal(rig_stats(rig, 0)->connections, 0);
    assert_int_equal(rig_stats(rig, 1)->connections, 0);
    close_rig(rig);
}

int
main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
    const struct CMUnitTest tests[] = {
        T(test_mqtt_broker_admin_operator),
        T(test_mqtt_broker_admin_assigned_id),
        T(test_mqtt_broker_admin_shutdown),
    };
#undef T

    if (pt_test_eal_init() != 0)
        return 1;
    return cmocka_run_group_tests_name("mqtt_broker_admin", tests, NULL,
                                       NULL);
}
