#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""MQTT 3.1.1 protocol violations, sent as raw bytes to the broker under
test (mqtt_fixture; this broker has mqtt.max_packet = 4096): each one
closes that connection only (after a CONNACK with a refusal code where the
spec asks for one), and petrel counts it under its own name. A healthy
subscriber and publisher, connected before the first violation, keep
exchanging messages throughout and are checked after every case.
"""
import struct
import time

import mqtt_fixture as mf
from mqtt_client import (CONNACK, PahoClient, connect_pkt, mstr, packet,
                         publish_pkt, remaining_length, subscribe_pkt,
                         unsubscribe_pkt)

MAX_PACKET = 4096


class MqttViolationsTest(mf.MqttTestCase):
    TAG = "mqviol"
    BROKER_OPTS = {"max_packet": MAX_PACKET}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.hsub = PahoClient(cls.mq, "healthy-sub", keepalive=5)
            cls.hpub = PahoClient(cls.mq, "healthy-pub", keepalive=5)
            cls._clients += [cls.hsub, cls.hpub]
            for c in (cls.hsub, cls.hpub):
                assert c.connect() == (0, 0)
            assert cls.hsub.subscribe([("healthy/#", 1)]) == [1]
            cls.seq = 0
        except BaseException:
            cls.tearDownClass()
            raise

    def healthy(self):
        """The bystanders still exchange messages."""
        type(self).seq += 1
        n = type(self).seq
        self.hpub.publish("healthy/seq", str(n).encode(), 1)
        got = self.hsub.wait_msgs(n, timeout=10, topic="healthy/seq")
        self.assertEqual(got[-1].payload, str(n).encode())
        self.assertTrue(self.hsub.connected and self.hpub.connected,
                        "a healthy connection was closed")

    def violate(self, name, data, connect=True, connack=None, **sub):
        """Send data on a fresh connection (after a valid CONNECT with
        connect); the broker must close it, having sent nothing but the
        CONNACK with return code connack (if not None)."""
        with self.subTest(counter=name, **sub):
            r = self.raw()
            if connect:
                self.assertEqual(r.connect(self.uniq("v")), (0, 0))
            try:
                r.send(data)
            except OSError:
                pass      # closed already (a refused header)
            try:
                got = r.wait_closed(5)
            except TimeoutError:
                self.fail(f"{name}: connection still open after 5 s")
            if connack is None:
                self.assertEqual(got, [], "answered instead of closing")
            else:
                self.assertEqual([(p.type, p.body) for p in got],
                                 [(CONNACK, bytes([0, connack]))])
            self.healthy()

    def check(self, name, cases, connect=True, connack=None):
        """cases: {label: bytes}; each a violation counted under name."""
        before = self.snap()
        for label, data in cases.items():
            self.violate(name, data, connect, connack, case=label)
        self.assert_delta(before, name, len(cases))

    # -- the fixed header --
    def test_bad_remaining_length(self):
        self.check("mqtt_bad_remaining_length", {
            "5 bytes": b"\x30\xff\xff\xff\xff\x7f",
            "5 bytes, pingreq": b"\xc0\x80\x80\x80\x80\x01"})

    def test_reserved_type(self):
        self.check("mqtt_reserved_type", {"type 0": b"\x00\x00",
                                          "type 15": b"\xf0\x00"})

    def test_bad_flags(self):
        cases = {
            "SUBSCRIBE flags 0": subscribe_pkt(1, [("a/b", 0)], flags=0),
            "UNSUBSCRIBE flags 0": packet(10, 0, struct.pack("!H", 1)
                                          + mstr("a/b")),
            "PUBREL flags 0": packet(6, 0, struct.pack("!H", 1))}
        if self.petrel:
            # MQTT-2.2.2-2 holds for every type, but mosquitto 2.0.11 does
            # not check PINGREQ's flags (it answers PINGRESP): petrel only
            cases["PINGREQ flags 1"] = b"\xc1\x00"
        self.check("mqtt_bad_flags", cases)

    def test_bad_qos(self):
        self.check("mqtt_bad_qos", {
            "PUBLISH QoS 3": packet(3, 0x06, mstr("a/b") + b"\x00\x01x")})

    def test_packet_too_large(self):
        before = self.snap()
        # just below the limit: accepted (and delivered)
        ok = self.raw()
        ok.connect(self.uniq("big"))
        ok.publish("healthy/big", b"b" * (MAX_PACKET - 100), 1, pid=1)
        self.assertEqual(ok.read_packet(5).name, "PUBACK")
        m = self.hsub.wait_msgs(1, 10, topic="healthy/big")[0]
        self.assertEqual(len(m.payload), MAX_PACKET - 100)
        ok.disconnect()
        # above: refused; a header announcing it is enough
        self.violate("mqtt_packet_too_large",
                     publish_pkt("a/b", b"x" * (MAX_PACKET + 1000)),
                     case="whole")
        self.violate("mqtt_packet_too_large",
                     b"\x30" + remaining_length(10 * MAX_PACKET) + b"\x00",
                     case="header only")
        self.assert_delta(before, "mqtt_packet_too_large", 2)

    def test_truncated(self):
        self.check("mqtt_truncated", {
            "topic past the end": packet(3, 0, b"\x00\x10ab"),
            "SUBSCRIBE without its QoS byte": packet(8, 2, b"\x00\x01"
                                                     + mstr("a/b"))})

    # -- CONNECT --
    def test_first_packet_not_connect(self):
        self.check("mqtt_first_packet_not_connect", {
            "PUBLISH": publish_pkt("a/b", b"x"),
            "SUBSCRIBE": subscribe_pkt(1, [("a/b", 0)])}, connect=False)

    def test_second_connect(self):
        self.check("mqtt_second_connect", {
            "CONNECT again": connect_pkt(self.uniq("again"))})

    def test_bad_protocol_name(self):
        # MQTT-3.1.2-1: the server MAY disconnect without CONNACK
        self.check("mqtt_bad_protocol_name", {
            "MQTX": connect_pkt(self.uniq("pn"), proto_name=b"MQTX"),
            "mqtt": connect_pkt(self.uniq("pn"), proto_name=b"mqtt")},
            connect=False)

    def test_bad_protocol_level(self):
        # MQTT-3.1.2-2: CONNACK 0x01 (unacceptable protocol level), close
        self.check("mqtt_bad_protocol_level", {
            "level 3": connect_pkt(self.uniq("pl"), level=3),
            "level 6": connect_pkt(self.uniq("pl"), level=6)},
            connect=False, connack=0x01)

    def test_connect_reserved_flag(self):
        self.check("mqtt_connect_reserved_flag", {
            "reserved bit": connect_pkt(self.uniq("rf"), reserved=True)},
            connect=False)

    def test_empty_client_id(self):
        # MQTT-3.1.3-8: empty id with clean session 0: CONNACK 0x02, close
        self.check("mqtt_empty_client_id", {
            "clean 0": connect_pkt("", clean=False)},
            connect=False, connack=0x02)

    # -- strings and topics --
    def test_bad_utf8(self):
        self.check("mqtt_bad_utf8", {
            "0xff in topic": publish_pkt(b"a/\xff\xfe", b"x"),
            "overlong '/'": publish_pkt(b"a\xc0\xafb", b"x"),
            "surrogate": publish_pkt(b"a/\xed\xa0\x80", b"x"),
            "truncated sequence": publish_pkt(b"a/\xe2\x82", b"x"),
            "in a filter": subscribe_pkt(1, [(b"a/\xff", 0)])})

    def test_utf8_nul(self):
        self.check("mqtt_utf8_nul", {
            "NUL in topic": publish_pkt(b"a\x00b", b"x"),
            "NUL in filter": subscribe_pkt(1, [(b"a/\x00", 0)])})

    def test_wildcard_in_topic(self):
        self.check("mqtt_wildcard_in_topic", {
            "+": publish_pkt("a/+/b", b"x"),
            "#": publish_pkt("a/#", b"x"),
            "QoS 1 +": publish_pkt("+", b"x", 1, pid=1)})

    def test_bad_wildcard(self):
        self.check("mqtt_bad_wildcard", {
            "a/b#": subscribe_pkt(1, [("a/b#", 0)]),
            "a/#/b": subscribe_pkt(1, [("a/#/b", 0)]),
            "a+": subscribe_pkt(1, [("a+", 0)]),
            "unsubscribe a/#b": unsubscribe_pkt(1, ["a/#b"])})

    def test_packet_id_zero(self):
        self.check("mqtt_packet_id_zero", {
            "SUBSCRIBE": subscribe_pkt(0, [("a/b", 0)]),
            "PUBLISH QoS 1": publish_pkt("a/b", b"x", 1, pid=0),
            "UNSUBSCRIBE": unsubscribe_pkt(0, ["a/b"])})

    def test_zz_healthy_connections_survived_everything(self):
        self.healthy()
        self.assertIsNone(self.hsub.disconnected)
        self.assertIsNone(self.hpub.disconnected)
        got = [m.payload for m in self.hsub.msgs if m.topic == "healthy/seq"]
        self.assertEqual(got, [str(i).encode()
                               for i in range(1, type(self).seq + 1)])
        time.sleep(0.2)
        if self.petrel:
            st = self.mq.mqtt_stats()
            self.assertEqual(mf.counter(st, "mqtt_connections"), 2,
                             "only the healthy pair is still connected")


if __name__ == "__main__":
    mf.main()
