/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the broker unit tests (tests/unit/test_mqtt_broker*.c) share on top
 * of the rig: opening and closing it with the leak checks, files in a
 * temporary directory, and what a client does and expects to see, as
 * cmocka assertions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_mempool.h>

#include <petrel/mqtt_wire.h>

#include "pt_broker_expect.h"
#include "pt_test.h"

/* The rig of the running test (torn down by teardown() if it failed). */
static struct rig *cur;       /* the running test's rig */
static unsigned mbufs_before;

struct rig *
open_rig(unsigned cores, const struct pt_config *cfg)
{
    assert_int_equal(pt_test_eal_init(), 0);
    mbufs_before = rte_mempool_in_use_count(pt_test_pool());
    cur = rig_create(cores, cfg);
    assert_non_null(cur);
    return cur;
}

/* Quiesce, tear down, and check nothing is held: no mbuf (every message
 * reference released), no queue entry, no session (offline persistent
 * sessions go with their core). */
void
close_rig(struct rig *rig)
{
    struct rig_leaks l;

    rig_poll(rig);
    cur = NULL;
    rig_destroy(rig, &l);
    assert_int_equal(l.mbufs, mbufs_before);
    assert_int_equal(l.qents, 0);
    assert_int_equal(l.sessions, 0);
}

int
teardown(void **state)
{
    (void)state;
    if (cur != NULL) {
        rig_destroy(cur, NULL);
        cur = NULL;
    }
    return 0;
}

/* ---- files in a temporary directory ---- */

static char tmpdir[64];         /* "" when none */
static char files[4][128];      /* written there, removed by cleanup */

int
cleanup(void **state)
{
    teardown(state);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (files[i][0] != '\0')
            unlink(files[i]);
        files[i][0] = '\0';
    }
    if (tmpdir[0] != '\0')
        rmdir(tmpdir);
    tmpdir[0] = '\0';
    return 0;
}

const char *
write_file(const char *name, const char *text)
{
    size_t i;
    FILE *f;
    char path[128];

    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/pt-rig-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (files[i][0] == '\0' || strcmp(files[i], path) == 0)
            break;
    assert_true(i < sizeof(files) / sizeof(files[0]));
    snprintf(files[i], sizeof(files[i]), "%s", path);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return files[i];
}

/* ---- what a client sees ---- */

void
expect_packet(struct rig_client *c, const uint8_t *want, size_t len)
{
    uint8_t got[256];
    size_t n = rig_recv_packet(c, got, sizeof(got));

    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
}

void
expect_connack(struct rig_client *c, bool present, uint8_t code)
{
    const uint8_t want[4] = { 0x20, 0x02, present ? 1 : 0, code };

    expect_packet(c, want, sizeof(want));
}

void
expect_ack(struct rig_client *c, uint8_t type, uint16_t pid)
{
    uint8_t want[4];

    rig_pkt_ack(want, type, pid);
    expect_packet(c, want, sizeof(want));
}

void
expect_suback(struct rig_client *c, uint16_t pid, uint8_t code)
{
    const uint8_t want[5] = { 0x90, 0x03, (uint8_t)(pid >> 8), (uint8_t)pid,
                              code };

    expect_packet(c, want, sizeof(want));
}

/* The next packet is a PUBLISH of topic with payload, qos, retain, dup.
 * @return its packet id (0 at QoS 0). */
uint16_t
expect_publish(struct rig_client *c, const char *topic, const void *payload,
               size_t plen, uint8_t qos, bool retain, bool dup)
{
    uint8_t got[2048];
    struct rig_publish p;
    size_t n = rig_recv_packet(c, got, sizeof(got));

    assert_true(n > 0 && n <= sizeof(got));
    assert_int_equal(rig_parse_publish(got, n, &p), 0);
    assert_int_equal(p.topic_len, strlen(topic));
    assert_memory_equal(p.topic, topic, p.topic_len);
    assert_int_equal(p.payload_len, plen);
    if (plen > 0)
        assert_memory_equal(p.payload, payload, plen);
    assert_int_equal(p.qos, qos);
    assert_int_equal(p.retain, retain);
    assert_int_equal(p.dup, dup);
    if (qos > 0)
        assert_int_not_equal(p.pid, 0);
    return p.pid;
}

void
expect_nothing(struct rig_client *c)
{
    assert_int_equal(rig_pending(c), 0);
}

/* The broker closed c (FIN), and sent nothing more. */
void
expect_closed(struct rig_client *c)
{
    expect_nothing(c);
    assert_true(c->fin_rcvd || c->rst_rcvd);
}

/* ---- what a client does ---- */

void
send_pkt(struct rig_client *c, const uint8_t *p, size_t n)
{
    rig_send(c, p, n);
}

/* TCP connection, CONNECT opt, polled: the CONNACK must say accepted and
 * session present as given. */
struct rig_client *
mqtt_connect(struct rig *rig, unsigned core, const struct rig_connect *opt,
             bool present)
{
    struct rig_client *c = rig_client_open(rig, core);
    uint8_t buf[512];

    assert_non_null(c);
    send_pkt(c, buf, rig_pkt_connect(buf, opt));
    rig_poll(rig);
    expect_connack(c, present, PT_MQTT_CONNACK_ACCEPTED);
    return c;
}

/* A clean-session client with keep-alive 60 s. */
struct rig_client *
client(struct rig *rig, unsigned core, const char *cid)
{
    struct rig_connect opt = { .client_id = cid, .clean = true,
                               .keepalive = 60 };

    return mqtt_connect(rig, core, &opt, false);
}

/* A persistent-session client (clean session 0). */
struct rig_client *
persistent(struct rig *rig, unsigned core, const char *cid, bool present)
{
    struct rig_connect opt = { .client_id = cid, .clean = false,
                               .keepalive = 60 };

    return mqtt_connect(rig, core, &opt, present);
}

struct rig_client *
login(struct rig *rig, unsigned core, const char *cid, const char *user,
      const char *password)
{
    struct rig_connect opt = { .client_id = cid, .clean = true,
                               .keepalive = 60, .username = user,
                               .password = password };
    struct rig_client *c = rig_client_open(rig, core);
    uint8_t buf[512];

    assert_non_null(c);
    send_pkt(c, buf, rig_pkt_connect(buf, &opt));
    rig_poll(rig);
    return c;
}

struct rig_client *
accepted(struct rig *rig, unsigned core, const char *cid, const char *user,
         const char *password)
{
    struct rig_client *c = login(rig, core, cid, user, password);

    expect_connack(c, false, PT_MQTT_CONNACK_ACCEPTED);
    expect_nothing(c);
    return c;
}

void
refused(struct rig *rig, unsigned core, const char *cid, const char *user,
        const char *password, uint8_t code)
{
    struct rig_client *c = login(rig, core, cid, user, password);

    expect_connack(c, false, code);
    expect_closed(c);
}

struct rig_client *
client_with_will(struct rig *rig, unsigned core, const char *cid,
                 const char *user, const char *topic)
{
    struct rig_connect opt = {
        .client_id = cid, .clean = true, .keepalive = 60,
        .will_topic = topic, .will_msg = cid,
        .will_len = (uint16_t)strlen(cid), .username = user,
    };

    return mqtt_connect(rig, core, &opt, false);
}

void
subscribe(struct rig_client *c, uint16_t pid, const char *filter,
          uint8_t qos)
{
    uint8_t buf[256];

    send_pkt(c, buf, rig_pkt_subscribe(buf, pid, filter, qos));
    rig_poll(c->rig);
    expect_suback(c, pid, qos);
}

void
publish(struct rig_client *c, const char *topic, const void *payload,
        size_t plen, uint8_t qos, bool retain, uint16_t pid)
{
    uint8_t buf[2048];

    send_pkt(c, buf, rig_pkt_publish(buf, topic, payload, plen, qos, retain,
                                     false, pid));
}

void
ack(struct rig_client *c, uint8_t type, uint16_t pid)
{
    uint8_t buf[4];

    send_pkt(c, buf, rig_pkt_ack(buf, type, pid));
}

void
disconnect(struct rig_client *c)
{
    uint8_t buf[2];

    send_pkt(c, buf, rig_pkt_disconnect(buf));
    rig_poll(c->rig);
    expect_closed(c);
}

void
ping(struct rig_client *c)
{
    static const uint8_t pingresp[2] = { 0xd0, 0x00 };
    uint8_t buf[2];

    send_pkt(c, buf, rig_pkt_pingreq(buf));
    rig_poll(c->rig);
    expect_packet(c, pingresp, sizeof(pingresp));
}

uint64_t
count(struct rig *rig, unsigned core, enum pt_mqtt_counter k)
{
    return rig_stats(rig, core)->c[k];
}

uint64_t
queued(struct rig *rig)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < RIG_CORES_MAX && rig_core(rig, i) != NULL; i++)
        n += rig_stats(rig, i)->queued;
    return n;
}

struct pt_broker_ctl_stats
ctl_stats(struct rig *rig)
{
    struct pt_broker_ctl_stats cs;

    pt_broker_ctl_stats(rig_broker(rig), &cs);
    return cs;
}
