#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""MQTT 3.1.1 sessions against the broker under test (mqtt_fixture): wills
on abnormal close and on keepalive expiry, session takeover, persistent
sessions (clean session 0) with queued QoS 1 messages, the offline queue
bound (mqtt.max_queued), QoS 2 exactly once, and redelivery of
unacknowledged messages with DUP set and their packet identifiers.

WillCases and PersistentCases run again under 5% loss in test_mqtt_loss.
"""
import socket
import time

import mqtt_fixture as mf
from mqtt_client import (PINGREQ_PKT, PINGRESP, PUBACK, PUBCOMP, PUBLISH,
                         PUBREC, PUBREL)


class WillCases:
    def test_01_will_on_abnormal_close(self):
        u = self.uniq("will")
        T = self.T
        before = self.snap()
        watch = self.paho()
        watch.subscribe([(f"{u}/#", 2)], timeout=10 * T)
        # keepalive 5: should a FIN or RST be lost (loss runs), the
        # keepalive still ends the connection and the will still comes
        fin = self.raw()
        fin.connect(self.uniq("wf"), keepalive=5,
                    will=(f"{u}/fin", b"fin", 1, False), timeout=10 * T)
        rst = self.raw()
        rst.connect(self.uniq("wr"), keepalive=5,
                    will=(f"{u}/rst", b"rst", 0, False), timeout=10 * T)
        ret = self.raw()
        ret.connect(self.uniq("wt"), keepalive=5,
                    will=(f"{u}/ret", b"retained will", 2, True),
                    timeout=10 * T)
        pw = self.paho(keepalive=5, will=(f"{u}/paho", b"paho", 1, False))
        t0 = time.time()
        fin.close()                    # FIN, no DISCONNECT
        rst.abort()                    # RST
        ret.close()
        pw.c.socket().shutdown(socket.SHUT_RDWR)   # paho, no DISCONNECT
        got = watch.wait_msgs(4, timeout=20 * T)
        took = max(m.t for m in got) - t0
        time.sleep(0.3)
        self.assertEqual(sorted((m.topic, m.payload, m.qos)
                                for m in watch.msgs),
                         [(f"{u}/fin", b"fin", 1), (f"{u}/paho", b"paho", 1),
                          (f"{u}/ret", b"retained will", 2),
                          (f"{u}/rst", b"rst", 0)])
        if not self.BROKER_OPTS.get("loss"):
            # from the close, not from the keepalive
            self.assertLess(took, 2.0, "wills came late")
        # a will with retain set is retained
        late = self.paho()
        late.subscribe([(f"{u}/ret", 1)], timeout=10 * T)
        m = late.wait_msgs(1, timeout=10 * T)[0]
        self.assertEqual((m.payload, m.retain, m.qos),
                         (b"retained will", True, 1))
        self.assert_delta(before, "mqtt_wills_published", 4)

    def test_02_will_on_keepalive_expiry(self):
        u = self.uniq("ka")
        before = self.snap()
        watch = self.paho()
        watch.subscribe([(f"{u}/will", 1)], timeout=10 * self.T)
        k = self.raw()
        k.connect(self.uniq("k"), keepalive=2,
                  will=(f"{u}/will", b"expired", 1, False),
                  timeout=10 * self.T)
        # alive for a while: a PINGREQ restarts the broker's timer
        time.sleep(1.0)
        t_last = time.time()
        k.send(PINGREQ_PKT)
        self.assertEqual(k.read_packet(5 * self.T).type, PINGRESP)
        # then silent: 1.5 x 2 s after the last packet the broker must end
        # the connection (MQTT-3.1.2-24) and publish the will
        limit = 5.0 if self.petrel else 12.0
        if self.BROKER_OPTS.get("loss"):
            limit += 1.0
        m = watch.wait_msgs(1, timeout=limit + 2)[0]
        took = m.t - t_last
        self.assertEqual(m.payload, b"expired")
        self.assertGreaterEqual(took, 2.95, "will before 1.5 x keepalive")
        # mosquitto 2.0.11 checks keepalives coarsely: it closes a
        # keepalive-2 client 5-9 s after its last packet, past the 3 s the
        # spec asks for; the bound for the reference is looser
        self.assertLessEqual(took, limit, "keepalive expiry late")
        try:
            rest = k.wait_closed(5 * self.T)
        except TimeoutError:
            self.fail("connection still open after the keepalive expired")
        self.assertEqual(rest, [])
        self.assert_delta(before, "mqtt_keepalive_timeouts", 1)
        self.assert_delta(before, "mqtt_wills_published", 1)


class PersistentCases:
    def test_20_persistent_session_queues_qos1(self):
        u = self.uniq("ps")
        T = self.T
        cid = self.uniq("pc")
        s = self.paho(cid, clean=False)
        self.assertEqual(s.connack, (0, 0))
        self.assertEqual(s.subscribe([(f"{u}/#", 1)], timeout=10 * T), [1])
        self.close_settled(s)
        if self.petrel:
            # offline persistent session: counted in sessions, not in
            # connections
            st = self.snap()
            self.assertGreater(mf.counter(st, "mqtt_sessions"),
                               mf.counter(st, "mqtt_connections"))
        pub = self.paho()
        mids = [pub.publish(f"{u}/m", str(i).encode(), 1, wait=False)
                for i in range(10)]
        pub.wait_published(mids, timeout=20 * T)
        s = self.paho(cid, clean=False)
        self.assertEqual(s.connack, (1, 0), "session present")
        got = s.wait_msgs(10, timeout=20 * T)
        self.assertEqual([m.payload for m in got],
                         [str(i).encode() for i in range(10)])
        self.assertTrue(all(m.qos == 1 for m in got))
        # the subscription survived: live messages come too
        pub.publish(f"{u}/live", b"live", 1, timeout=10 * T)
        s.wait_msgs(1, timeout=10 * T, topic=f"{u}/live")
        time.sleep(0.3)
        self.assertEqual(len(s.msgs), 11, "duplicates")
        self.close_settled(s)
        # clean session 1 discards the session and what it queued
        mids = [pub.publish(f"{u}/m", f"dropped {i}".encode(), 1, wait=False)
                for i in range(10)]
        pub.wait_published(mids, timeout=20 * T)
        s = self.paho(cid, clean=True)
        self.assertEqual(s.connack, (0, 0))
        self.assert_nothing(s, wait=1.0)
        self.close_settled(s)
        # ... and the clean session's state ends with its connection
        s = self.paho(cid, clean=False)
        self.assertEqual(s.connack, (0, 0), "session present after clean")
        pub.publish(f"{u}/m", b"after", 1, timeout=10 * T)
        self.assert_nothing(s, wait=0.5)

    def test_22_qos2_exactly_once(self):
        u = self.uniq("q2")
        T = self.T
        s = self.paho()
        s.subscribe([(f"{u}/#", 2)], timeout=10 * T)
        # paho: every publish completes (PUBCOMP), each arrives once
        pub = self.paho()
        mids = [pub.publish(f"{u}/paho", str(i).encode(), 2, wait=False)
                for i in range(50)]
        pub.wait_published(mids, timeout=30 * T)
        got = s.wait_msgs(50, timeout=30 * T, topic=f"{u}/paho")
        self.assertEqual([m.payload for m in got],
                         [str(i).encode() for i in range(50)])
        self.assertTrue(all(m.qos == 2 for m in got))
        # raw publisher: a PUBLISH repeated (DUP) before PUBREL is answered
        # with PUBREC again and not delivered twice (MQTT-4.3.3-2); after
        # PUBCOMP the same packet id is a new message
        r = self.raw()
        r.connect(self.uniq("q2r"), timeout=10 * T)
        r.publish(f"{u}/raw", b"first", 2, pid=7)
        self.assertEqual(r.expect(PUBREC, 10 * T).pid, 7)
        r.publish(f"{u}/raw", b"first", 2, pid=7, dup=True)
        self.assertEqual(r.expect(PUBREC, 10 * T).pid, 7)
        r.ack(PUBREL, 7)
        self.assertEqual(r.expect(PUBCOMP, 10 * T).pid, 7)
        r.publish(f"{u}/raw", b"second", 2, pid=7)
        self.assertEqual(r.expect(PUBREC, 10 * T).pid, 7)
        r.ack(PUBREL, 7)
        self.assertEqual(r.expect(PUBCOMP, 10 * T).pid, 7)
        s.wait_msgs(2, timeout=10 * T, topic=f"{u}/raw")
        # raw subscriber: the broker's side of the exchange
        rs = self.raw()
        rs.connect(self.uniq("q2s"), timeout=10 * T)
        self.assertEqual(rs.subscribe(1, [(f"{u}/to-raw", 2)], 10 * T), [2])
        pub.publish(f"{u}/to-raw", b"x", 2, wait=False)
        p = rs.expect(PUBLISH, 10 * T)
        self.assertEqual((p.qos, p.dup, p.payload), (2, False, b"x"))
        self.assertNotEqual(p.pid, 0)
        rs.ack(PUBREC, p.pid)
        self.assertEqual(rs.expect(PUBREL, 10 * T).pid, p.pid)
        rs.ack(PUBCOMP, p.pid)
        time.sleep(0.5)
        self.assertEqual([m.payload for m in s.msgs if m.topic == f"{u}/raw"],
                         [b"first", b"second"])
        self.assertEqual(len([m for m in s.msgs if m.topic == f"{u}/paho"]),
                         50)
        rs.send(PINGREQ_PKT)      # nothing else was pending for rs
        self.assertEqual(rs.read_packet(5 * T).type, PINGRESP)

    def test_23_unacknowledged_redelivered_with_dup(self):
        u = self.uniq("dup")
        T = self.T
        cid = self.uniq("dc")
        r = self.raw()
        self.assertEqual(r.connect(cid, clean=False, timeout=10 * T), (0, 0))
        self.assertEqual(r.subscribe(1, [(f"{u}/x", 2)], 10 * T), [2])
        pub = self.paho()
        pub.publish(f"{u}/x", b"one", 1)
        pub.publish(f"{u}/x", b"two", 2)
        a = r.expect(PUBLISH, 10 * T)
        b = r.expect(PUBLISH, 10 * T)
        self.assertEqual((a.payload, a.qos, a.dup), (b"one", 1, False))
        self.assertEqual((b.payload, b.qos, b.dup), (b"two", 2, False))
        # no PUBACK for one; PUBREC for two (the broker answers PUBREL),
        # no PUBCOMP; then the connection goes
        r.ack(PUBREC, b.pid)
        self.assertEqual(r.expect(PUBREL, 10 * T).pid, b.pid)
        r.disconnect()
        # clean session 0 again: the PUBLISH is resent with DUP set and the
        # same packet id, the PUBREL is resent (MQTT-4.4.0-1, 3.3.1-1)
        r = self.raw()
        self.assertEqual(r.connect(cid, clean=False, timeout=10 * T), (1, 0))
        got = [r.read_packet(10 * T), r.read_packet(10 * T)]
        pubs = [p for p in got if p.type == PUBLISH]
        rels = [p for p in got if p.type == PUBREL]
        self.assertEqual(len(pubs), 1, got)
        self.assertEqual(len(rels), 1, got)
        p = pubs[0]
        self.assertEqual((p.payload, p.qos, p.dup, p.pid),
                         (b"one", 1, True, a.pid))
        self.assertEqual(rels[0].pid, b.pid)
        r.ack(PUBACK, p.pid)
        r.ack(PUBCOMP, b.pid)
        r.send(PINGREQ_PKT)
        self.assertEqual(r.read_packet(5 * T).type, PINGRESP)
        r.disconnect()
        # everything acknowledged: nothing comes again
        r = self.raw()
        self.assertEqual(r.connect(cid, clean=False, timeout=10 * T), (1, 0))
        r.send(PINGREQ_PKT)
        self.assertEqual(r.read_packet(5 * T).type, PINGRESP,
                         "a message came again after its acknowledgement")
        r.disconnect()


class SessionCases:
    def test_10_takeover_keeps_the_session(self):
        T = self.T
        u = self.uniq("tk")
        cid = self.uniq("tc")
        before = self.snap()
        a = self.raw()
        self.assertEqual(a.connect(cid, clean=False, timeout=10 * T), (0, 0))
        self.assertEqual(a.subscribe(1, [(f"{u}/x", 1)], 10 * T), [1])
        b = self.raw()
        self.assertEqual(b.connect(cid, clean=False, timeout=10 * T), (1, 0),
                         "takeover: session present")
        try:
            rest = a.wait_closed(5 * T)
        except TimeoutError:
            self.fail("the first connection was not closed")
        self.assertEqual(rest, [])
        pub = self.paho()
        pub.publish(f"{u}/x", b"to b", 1)
        p = b.expect(PUBLISH, 10 * T)
        self.assertEqual((p.payload, p.qos), (b"to b", 1))
        b.ack(PUBACK, p.pid)
        self.assert_delta(before, "mqtt_takeovers", 1)
        # a paho client taken over the same way
        pc = self.paho(cid, clean=False)
        self.assertEqual(pc.connack, (1, 0))
        try:
            b.wait_closed(5 * T)
        except TimeoutError:
            self.fail("the second connection was not closed")
        pub.publish(f"{u}/x", b"to paho", 1)
        self.assertEqual(pc.wait_msgs(1, 10 * T)[0].payload, b"to paho")
        self.assert_delta(before, "mqtt_takeovers", 2)

    def test_11_takeover_with_clean_session(self):
        T = self.T
        u = self.uniq("tkc")
        cid = self.uniq("tcc")
        a = self.raw()
        a.connect(cid, clean=False, timeout=10 * T)
        a.subscribe(1, [(f"{u}/x", 1)], 10 * T)
        b = self.paho(cid, clean=True)
        self.assertEqual(b.connack, (0, 0))
        try:
            a.wait_closed(5 * T)
        except TimeoutError:
            self.fail("the first connection was not closed")
        pub = self.paho()
        pub.publish(f"{u}/x", b"nobody", 1)
        b.subscribe([(f"{u}/barrier", 1)])
        pub.publish(f"{u}/barrier", b"b", 1)
        b.wait_msgs(1, 10 * T, topic=f"{u}/barrier")
        time.sleep(0.3)
        self.assertEqual([m.topic for m in b.msgs], [f"{u}/barrier"],
                         "the old subscription survived a clean takeover")

    def test_12_persistent_session_mosquitto_sub(self):
        u = self.uniq("ms")
        cid = self.uniq("msc")
        base = ["mosquitto_sub", "-V", "mqttv311", "-h", self.mq.host,
                "-p", str(self.mq.port), "-i", cid, "-c", "-q", "1",
                "-t", f"{u}/#"]
        r = self.mq.ns_run(*base, "-E", timeout=20)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        pub = self.paho()
        for i in range(5):
            pub.publish(f"{u}/m", f"m{i}".encode(), 1)
        r = self.mq.ns_run(*base, "-C", "5", "-W", "10", timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.split(), [f"m{i}" for i in range(5)])


class MqttSessionTest(WillCases, PersistentCases, SessionCases,
                      mf.MqttTestCase):
    TAG = "mqsess"


class MqttQueueBoundTest(mf.MqttTestCase):
    """A broker of its own: mqtt.max_queued = 5."""
    TAG = "mqqueue"
    BROKER_OPTS = {"max_queued": 5}

    def test_offline_queue_bound(self):
        u = self.uniq("qb")
        cid = self.uniq("qc")
        before = self.snap()
        s = self.paho(cid, clean=False)
        s.subscribe([(f"{u}/#", 1)])
        self.close_settled(s)
        pub = self.paho()
        mids = [pub.publish(f"{u}/m", str(i).encode(), 1, wait=False)
                for i in range(10)]
        pub.wait_published(mids, timeout=20)
        s = self.paho(cid, clean=False)
        self.assertEqual(s.connack, (1, 0))
        s.wait_msgs(5, timeout=10)
        time.sleep(1.0)
        # the first five were queued, the rest dropped for this session
        self.assertEqual([m.payload for m in s.msgs],
                         [str(i).encode() for i in range(5)])
        self.assert_delta(before, "mqtt_queue_dropped", 5)
        # the session goes on normally
        pub.publish(f"{u}/m", b"live", 1)
        self.assertEqual(s.wait_msgs(6, timeout=10)[5].payload, b"live")


if __name__ == "__main__":
    mf.main()
