/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of pt-mqtt-load's MQTT wire (perf/mqtt_load/wire.c): the
 * frames it sends byte for byte (CONNECT, SUBSCRIBE, PUBLISH head with a
 * one- and a two-byte remaining length, PUBACK), the frame-length reader
 * on partial and over-long lengths, PUBLISH splitting and its refusals,
 * and the growable buffer (first size, growth, compaction). Declared in
 * perf/meson.build beside pt-mqtt-load (built with -Dperf only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "load.h"

struct ld_opts ld_opt;          /* wire.c reads none; load.h declares it */

static void test_mqtt_load_wire_connect(void **state)
{
    static const uint8_t want[] = {
        0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0x01, 0x2c,
        0, 2, 'i', 'd',
    };
    uint8_t p[64];

    (void)state;
    assert_int_equal(ld_put_connect(p, "id", 2, 300), sizeof(want));
    assert_memory_equal(p, want, sizeof(want));
}

static void test_mqtt_load_wire_subscribe_puback(void **state)
{
    static const uint8_t sub[] = {
        0x82, 8, 0, 1, 0, 3, 'a', '/', 'b', 1,
    };
    static const uint8_t ack[] = { 0x40, 2, 0x12, 0x34 };
    uint8_t p[64];

    (void)state;
    assert_int_equal(ld_put_subscribe(p, "a/b", 3, 1), sizeof(sub));
    assert_memory_equal(p, sub, sizeof(sub));
    assert_int_equal(ld_put_puback(p, 0x1234), 4);
    assert_memory_equal(p, ack, sizeof(ack));
}

static void test_mqtt_load_wire_publish_head(void **state)
{
    uint8_t p[32];
    size_t hdr;
    uint32_t rem;

    (void)state;
    /* QoS 0, 64-byte payload: rem = 2 + 1 + 64 = 67, one length byte */
    assert_int_equal(ld_put_publish_head(p, "t", 1, 0, 0, 64), 5);
    assert_int_equal(p[0], 0x30);
    assert_int_equal(p[1], 67);
    assert_int_equal(ld_frame_header(p, 5, &hdr, &rem), 0);
    assert_int_equal(hdr, 2);
    assert_int_equal(rem, 67);
    /* QoS 1, 200 bytes: rem = 2 + 1 + 2 + 200 = 205 = 0xcd 0x01 */
    assert_int_equal(ld_put_publish_head(p, "t", 1, 1, 0xbeef, 200), 8);
    assert_int_equal(p[0], 0x32);
    assert_int_equal(p[1], 0xcd);
    assert_int_equal(p[2], 0x01);
    assert_int_equal(p[6], 0xbe);
    assert_int_equal(p[7], 0xef);
    assert_int_equal(ld_frame_header(p, 8, &hdr, &rem), 0);
    assert_int_equal(hdr, 3);
    assert_int_equal(rem, 205);
}

static void test_mqtt_load_wire_frame_header_limits(void **state)
{
    static const uint8_t four[] = { 0x30, 0xff, 0xff, 0xff, 0x7f };
    static const uint8_t five[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
    size_t hdr = 0;
    uint32_t rem = 0;

    (void)state;
    /* partial lengths wait for more */
    for (size_t n = 1; n < sizeof(four); n++)
        assert_int_equal(ld_frame_header(four, n, &hdr, &rem), 1);
    assert_int_equal(ld_frame_header(four, sizeof(four), &hdr, &rem), 0);
    assert_int_equal(hdr, 5);
    assert_int_equal(rem, 268435455u);
    /* a fifth length byte is refused */
    assert_int_equal(ld_frame_header(five, sizeof(five), &hdr, &rem), -1);
}

static void test_mqtt_load_wire_parse_publish(void **state)
{
    /* topic "ab", QoS 1 id 7, payload "xyz" */
    static const uint8_t q1[] = { 0, 2, 'a', 'b', 0, 7, 'x', 'y', 'z' };
    struct ld_publish m;

    (void)state;
    assert_int_equal(ld_parse_publish(0x2, q1, sizeof(q1), &m), 0);
    assert_int_equal(m.qos, 1);
    assert_int_equal(m.id, 7);
    assert_int_equal(m.topic_len, 2);
    assert_memory_equal(m.topic, "ab", 2);
    assert_int_equal(m.payload_len, 3);
    assert_memory_equal(m.payload, "xyz", 3);
    /* the same bytes at QoS 0: the id is payload */
    assert_int_equal(ld_parse_publish(0x0, q1, sizeof(q1), &m), 0);
    assert_int_equal(m.payload_len, 5);
    /* refused: QoS 2 and 3, no topic length, topic or id past the end */
    assert_int_equal(ld_parse_publish(0x4, q1, sizeof(q1), &m), -1);
    assert_int_equal(ld_parse_publish(0x6, q1, sizeof(q1), &m), -1);
    assert_int_equal(ld_parse_publish(0x0, q1, 1, &m), -1);
    assert_int_equal(ld_parse_publish(0x0, q1, 3, &m), -1);
    assert_int_equal(ld_parse_publish(0x2, q1, 5, &m), -1);
    /* exactly the topic and the id: an empty payload is fine */
    assert_int_equal(ld_parse_publish(0x2, q1, 6, &m), 0);
    assert_int_equal(m.payload_len, 0);
}

static void test_mqtt_load_wire_buf(void **state)
{
    struct ld_buf b = { 0 };
    uint8_t *p;

    (void)state;
    p = ld_buf_reserve(&b, 10);
    assert_non_null(p);
    assert_int_equal(b.cap, LD_BUF_INIT);
    memset(p, 'a', 10);
    b.tail += 10;
    b.head += 4;                            /* 6 bytes left unread */
    /* more than the room at the tail: compacts, then grows to fit */
    p = ld_buf_reserve(&b, LD_BUF_INIT);
    assert_int_equal(b.head, 0);
    assert_int_equal(b.tail, 6);
    assert_true(b.cap - b.tail >= LD_BUF_INIT);
    assert_int_equal(b.cap, 2 * LD_BUF_INIT);
    assert_ptr_equal(p, b.p + 6);
    assert_memory_equal(b.p, "aaaaaa", 6);
    /* emptied: starts again at 0 */
    b.head = b.tail;
    ld_buf_reserve(&b, 1);
    assert_int_equal(b.head, 0);
    assert_int_equal(b.tail, 0);
    ld_buf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mqtt_load_wire_connect),
        cmocka_unit_test(test_mqtt_load_wire_subscribe_puback),
        cmocka_unit_test(test_mqtt_load_wire_publish_head),
        cmocka_unit_test(test_mqtt_load_wire_frame_header_limits),
        cmocka_unit_test(test_mqtt_load_wire_parse_publish),
        cmocka_unit_test(test_mqtt_load_wire_buf),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
