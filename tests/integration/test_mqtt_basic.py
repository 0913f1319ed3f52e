#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""MQTT 3.1.1 basics against the broker under test (mqtt_fixture: petreld
with two dataplane cores, or mosquitto with PT_MQTT_REFERENCE=mosquitto):
CONNACK, publish/subscribe at every QoS pair between 8 publishers and 8
subscribers on connections of their own (with two cores and RSS some pairs
cross cores), wildcards, $ topics, granted QoS, overlapping subscriptions,
UNSUBSCRIBE, PINGREQ, DISCONNECT discarding the will, per-publisher order,
retained messages, $SYS, a 200 KB payload, 100 concurrent clients, and the
mosquitto_pub/mosquitto_sub command-line clients.

The case classes are mixins: test_mqtt_loss runs CoreCases and
RetainedCases again on a broker that drops 5% of the frames.
"""
import os
import random
import select
import subprocess
import time

import mqtt_fixture as mf
from mqtt_client import PINGREQ_PKT, PINGRESP


class CoreCases:
    """Connect, the QoS matrix across cores, per-publisher order."""

    def test_01_connack_session_present_0_on_clean(self):
        c = self.paho(clean=True)
        self.assertEqual(c.connack, (0, 0))
        # a session that existed (clean 0) is discarded by clean 1: still 0
        cid = self.uniq("cs")
        p = self.paho(cid, clean=False)
        p.subscribe([(self.uniq("x") + "/t", 1)], timeout=10 * self.T)
        p.close()
        r = self.raw()
        self.assertEqual(r.connect(cid, clean=True, timeout=10 * self.T),
                         (0, 0))
        r.disconnect()
        # empty client id with clean session 1: the broker assigns one
        r = self.raw()
        self.assertEqual(r.connect("", clean=True, timeout=10 * self.T),
                         (0, 0))
        r.send(PINGREQ_PKT)
        self.assertEqual(r.read_packet(10 * self.T).type, PINGRESP)
        r.disconnect()

    def test_02_qos_matrix_8_publishers_8_subscribers(self):
        u = self.uniq("m")
        before = self.snap()
        subs = [self.paho() for _ in range(8)]
        for s in subs:
            g = s.subscribe([(f"{u}/q0/#", 0), (f"{u}/q1/#", 1),
                             (f"{u}/q2/#", 2)], timeout=10 * self.T)
            self.assertEqual(g, [0, 1, 2], "granted QoS")
        pubs = [self.paho() for _ in range(8)]
        if self.petrel:
            # 16 connections over two cores: both serve some, so some
            # publisher/subscriber pair crosses cores
            self.wait_gauge("mqtt_connections", lambda v: v >= 16)
            cores = self.mq.core_mqtt_stats()
            self.assertEqual(len(cores), 2)
            per = [mf.counter(c, "mqtt_connections") for c in cores]
            self.assertTrue(all(n >= 1 for n in per),
                            f"connections per core {per}: no cross-core pair")
        expect = set()
        mids = {}
        for i, p in enumerate(pubs):
            mids[i] = []
            for sq in range(3):
                for pq in range(3):
                    topic = f"{u}/q{sq}/p{i}/{pq}"
                    payload = f"{i}:{sq}:{pq}".encode()
                    mids[i].append(p.publish(topic, payload, pq, wait=False))
                    expect.add((topic, payload, min(sq, pq)))
        for i, p in enumerate(pubs):
            p.wait_published(mids[i], timeout=20 * self.T)
        for j, s in enumerate(subs):
            got = s.wait_msgs(len(expect), timeout=20 * self.T)
            with self.subTest(subscriber=j):
                have = [(m.topic, m.payload, m.qos) for m in got]
                self.assertEqual(set(have), expect)
                self.assertEqual(len(have), len(expect), "duplicates")
                self.assertFalse(any(m.retain or m.dup for m in got))
        time.sleep(0.3)
        self.assertEqual([len(s.msgs) for s in subs], [len(expect)] * 8,
                         "late duplicates")
        self.assert_delta(before, "mqtt_publish_received", 72)
        self.assert_delta(before, "mqtt_publish_sent", 8 * 72)

    def test_03_per_publisher_order_1000_qos1(self):
        # 2 x 500: never more than the 1000 messages a slow session may
        # have queued (mqtt.max_queued, max_queued_messages), so none may
        # be dropped
        u = self.uniq("o")
        before = self.snap()
        s = self.paho()
        s.subscribe([(f"{u}/#", 1)], timeout=10 * self.T)
        pubs = [self.paho() for _ in range(2)]
        n = 500
        mids = [[], []]
        for k in range(n):
            for i, p in enumerate(pubs):
                mids[i].append(p.publish(f"{u}/p{i}", str(k).encode(), 1,
                                         wait=False))
        for i, p in enumerate(pubs):
            p.wait_published(mids[i], timeout=60 * self.T)
        got = s.wait_msgs(2 * n, timeout=60 * self.T)
        for i in range(2):
            with self.subTest(publisher=i):
                seq = [int(m.payload) for m in got if m.topic == f"{u}/p{i}"]
                self.assertEqual(seq, list(range(n)))
        self.assertTrue(all(m.qos == 1 for m in got))
        time.sleep(0.2)
        self.assertEqual(len(s.msgs), 2 * n, "duplicates")
        self.assert_delta(before, "mqtt_queue_dropped", 0)


class RetainedCases:
    def test_20_retained_store_replace_clear(self):
        u = self.uniq("r")
        T = self.T
        pub = self.paho()
        pub.publish(f"{u}/a", b"v1", 1, retain=True, timeout=10 * T)
        # delivered with the retain flag to a new subscription
        old = self.paho()
        old.subscribe([(f"{u}/#", 1)], timeout=10 * T)
        m = old.wait_msgs(1, timeout=10 * T)[0]
        self.assertEqual((m.topic, m.payload, m.retain), (f"{u}/a", b"v1",
                                                           True))
        # replaced; an existing subscriber gets it without the retain flag
        pub.publish(f"{u}/a", b"v2", 1, retain=True, timeout=10 * T)
        pub.publish(f"{u}/b", b"b1", 0, retain=True, timeout=10 * T)
        got = old.wait_msgs(3, timeout=10 * T)[1:]
        self.assertEqual([(m.topic, m.payload, m.retain) for m in got],
                         [(f"{u}/a", b"v2", False), (f"{u}/b", b"b1", False)])
        # a new subscriber gets the latest of each topic, retain set, at
        # min(publish QoS, granted QoS)
        new = self.paho()
        new.subscribe([(f"{u}/#", 2)], timeout=10 * T)
        got = new.wait_msgs(2, timeout=10 * T)
        self.assertEqual(sorted((m.topic, m.payload, m.retain, m.qos)
                                for m in got),
                         [(f"{u}/a", b"v2", True, 1),
                          (f"{u}/b", b"b1", True, 0)])
        # a subscription at QoS 0 gets the QoS 1 retained message at QoS 0
        q0 = self.paho()
        q0.subscribe([(f"{u}/a", 0)], timeout=10 * T)
        m = q0.wait_msgs(1, timeout=10 * T)[0]
        self.assertEqual((m.payload, m.retain, m.qos), (b"v2", True, 0))
        # an empty retained payload clears it (and is delivered as usual)
        pub.publish(f"{u}/a", b"", 1, retain=True, timeout=10 * T)
        m = old.wait_msgs(4, timeout=10 * T)[3]
        self.assertEqual((m.topic, m.payload, m.retain), (f"{u}/a", b"",
                                                           False))
        late = self.paho()
        late.subscribe([(f"{u}/a", 1)], timeout=10 * T)
        late.subscribe([(f"{u}/b", 1)], timeout=10 * T)
        late.wait_msgs(1, timeout=10 * T, topic=f"{u}/b")
        self.assert_nothing(late, f"{u}/a", wait=0.5 * T)
        # a non-retained publish does not touch the retained message
        pub.publish(f"{u}/b", b"live", 1, retain=False, timeout=10 * T)
        late2 = self.paho()
        late2.subscribe([(f"{u}/b", 1)], timeout=10 * T)
        m = late2.wait_msgs(1, timeout=10 * T)[0]
        self.assertEqual((m.payload, m.retain), (b"b1", True))


class BasicCases:
    def test_30_wildcards(self):
        u = self.uniq("w")
        filters = {
            f"{u}/+/x": {f"{u}/a/x", f"{u}/b/x", f"{u}//x"},
            f"{u}/#": {f"{u}", f"{u}/a", f"{u}/a/x", f"{u}/b/x", f"{u}/a/y",
                       f"{u}/a/x/z", f"{u}//x"},
            f"{u}/a/+": {f"{u}/a/x", f"{u}/a/y"},
            f"{u}/a/x": {f"{u}/a/x"},
            f"{u}/+": {f"{u}/a"},
            f"{u}/a/#": {f"{u}/a", f"{u}/a/x", f"{u}/a/y", f"{u}/a/x/z"},
            f"{u}/+/+/+": {f"{u}/a/x/z"},
        }
        subs = {}
        for f in filters:
            s = self.paho()
            self.assertEqual(s.subscribe([(f, 1)]), [1])
            subs[f] = s
        pub = self.paho()
        topics = sorted(set().union(*filters.values()))
        for t in topics:
            pub.publish(t, t.encode(), 1)
        for f, want in filters.items():
            with self.subTest(filter=f):
                got = subs[f].wait_msgs(len(want), timeout=10 * self.T)
                time.sleep(0.1)
                got = subs[f].msgs
                self.assertEqual(sorted(m.topic for m in got), sorted(want))

    def test_31_dollar_topics_not_matched_by_wildcards(self):
        u = self.uniq("d")
        every = self.paho()
        every.subscribe([("#", 0)])
        plus = self.paho()
        plus.subscribe([("+/broker/uptime", 0), ("+/broker/#", 0),
                        ("+/+/+", 0)])
        sys_ = self.paho()
        sys_.subscribe([("$SYS/broker/uptime", 0)])
        # two $SYS publications pass (mosquitto's sys_interval 1 publishes
        # every 2 s; petrel's mqtt.sys_interval_s = 1 every second)
        sys_.wait_msgs(2, timeout=6)
        # the '#' subscriber does work for ordinary topics
        pub = self.paho()
        pub.publish(f"{u}/x", b"1", 1)
        every.wait_msgs(1, timeout=10 * self.T, topic=f"{u}/x")
        bad = [m.topic for m in every.msgs + plus.msgs
               if m.topic.startswith("$")]
        self.assertEqual(bad, [], "$ topics matched by a leading wildcard")

    def test_32_granted_qos_and_overlapping_subscriptions(self):
        u = self.uniq("g")
        s = self.paho()
        self.assertEqual(s.subscribe([(f"{u}/#", 0), (f"{u}/+/x", 2),
                                      (f"{u}/a/+", 1)]), [0, 2, 1])
        pub = self.paho()
        # topic, publish QoS, QoS of the delivery (min(publish QoS, the
        # highest QoS granted to a matching filter), MQTT-3.3.5-1), and
        # whether several of the client's filters match
        cases = [(f"{u}/a/x", 2, 2, True),   # all three: max granted 2
                 (f"{u}/a/y", 2, 1, True),   # '#' (0) and 'a/+' (1)
                 (f"{u}/b/x", 1, 1, True),   # '#' (0), '+/x' (2): min(1, 2)
                 (f"{u}/c", 2, 0, False),    # only '#' (0): downgraded
                 (f"{u}/d/x", 0, 0, True),   # never upgraded
                 (f"{u}/e", 1, 0, False)]
        for t, pq, _, _ in cases:
            pub.publish(t, t.encode(), pq)
        pub.publish(f"{u}/end", b"end", 1)
        s.wait_msgs(1, timeout=10 * self.T, topic=f"{u}/end")
        time.sleep(0.3)
        for t, _, dq, overlap in cases:
            with self.subTest(topic=t):
                got = [m.qos for m in s.msgs if m.topic == t]
                # MQTT-3.3.5-1 would allow a copy per matching filter; both
                # petrel and mosquitto deliver exactly one
                self.assertEqual(len(got), 1, got)
                if overlap and not self.petrel:
                    # mosquitto 2.0.11 delivers the one copy at the QoS of
                    # whichever matching subscription it meets last, not
                    # always the highest (e.g. 'x/a/+' 1 and 'x/#' 2: an
                    # x/a/y QoS 2 publish arrives at QoS 1): not checked
                    # against the reference
                    continue
                self.assertEqual(got, [dq], "QoS of the delivery")

    def test_33_suback_failure_for_too_deep_filter(self):
        if not self.petrel:
            self.skipTest("petrel-only: filters deeper than 64 levels are "
                          "refused (mosquitto has no such limit)")
        u = self.uniq("deep")
        deep64 = "/".join([u] + ["l"] * 63)
        deep65 = deep64 + "/l"
        s = self.paho()
        self.assertEqual(s.subscribe([(deep65, 1), (deep64, 1)]), [0x80, 1])
        pub = self.paho()
        pub.publish(deep64, b"ok", 1)
        self.assertEqual(s.wait_msgs(1, 10 * self.T)[0].payload, b"ok")
        self.assertTrue(s.connected)

    def test_34_unsubscribe_stops_delivery(self):
        u = self.uniq("u")
        before = self.snap()
        s = self.paho()
        s.subscribe([(f"{u}/a", 1), (f"{u}/b", 1)])
        self.assert_delta(before, "mqtt_subscriptions", 2)
        pub = self.paho()
        pub.publish(f"{u}/a", b"1", 1)
        s.wait_msgs(1, 10 * self.T, topic=f"{u}/a")
        s.unsubscribe([f"{u}/a"])
        pub.publish(f"{u}/a", b"2", 1)
        pub.publish(f"{u}/b", b"barrier", 1)
        s.wait_msgs(1, 10 * self.T, topic=f"{u}/b")
        time.sleep(0.3)
        self.assertEqual([m.payload for m in s.msgs if m.topic == f"{u}/a"],
                         [b"1"])
        # unsubscribing what was never subscribed still gets its UNSUBACK
        s.unsubscribe([f"{u}/never"])
        self.assertTrue(s.connected)
        self.assert_delta(before, "mqtt_subscriptions", 1)
        # and a clean session's subscriptions go with its connection
        s.close()
        self.assert_delta(before, "mqtt_subscriptions", 0)

    def test_35_pingreq_pingresp(self):
        r = self.raw()
        self.assertEqual(r.connect(self.uniq("p"), keepalive=60), (0, 0))
        for _ in range(3):
            r.send(PINGREQ_PKT)
            p = r.read_packet(5 * self.T)
            self.assertEqual((p.type, p.flags, p.body), (PINGRESP, 0, b""))
        r.disconnect()
        # paho with keepalive 1 pings on its own when idle and stays up
        c = self.paho(keepalive=1)
        time.sleep(3.5)
        self.assertGreaterEqual(c.pingresps, 2)
        self.assertTrue(c.connected)

    def test_36_disconnect_discards_the_will(self):
        u = self.uniq("wd")
        before = self.snap()
        watch = self.paho()
        watch.subscribe([(f"{u}/will", 1)])
        polite = self.raw()
        polite.connect(self.uniq("wp"),
                       will=(f"{u}/will", b"polite", 1, False))
        polite.disconnect()
        time.sleep(1.0)
        # positive control: the same watcher does see an abnormal close's
        rude = self.raw()
        rude.connect(self.uniq("wr"), will=(f"{u}/will", b"rude", 1, False))
        rude.close()
        watch.wait_msgs(1, 10 * self.T)
        time.sleep(0.3)
        self.assertEqual([m.payload for m in watch.msgs], [b"rude"])
        self.assert_delta(before, "mqtt_wills_published", 1)

    def test_37_sys_topics(self):
        s = self.paho()
        names = ["$SYS/broker/clients/connected",
                 "$SYS/broker/messages/received",
                 "$SYS/broker/messages/sent",
                 "$SYS/broker/subscriptions/count",
                 "$SYS/broker/uptime"]
        s.subscribe([(n, 0) for n in names])
        deadline = time.time() + 5
        while time.time() < deadline:
            if {m.topic for m in s.msgs} >= set(names):
                break
            time.sleep(0.1)
        for n in names:
            with self.subTest(topic=n):
                vals = [m.payload for m in s.msgs if m.topic == n]
                self.assertTrue(vals, f"no {n}")
                self.assertTrue(vals[-1].split()[0].isdigit(), vals[-1])
        # published periodically (every 1-2 s here): uptime moves on, and
        # the values catch up with this client (the first may be a stale
        # retained one)
        def last(n):
            return int([m.payload for m in s.msgs
                        if m.topic == n][-1].split()[0])
        n0 = len([m for m in s.msgs if m.topic.endswith("uptime")])
        t0 = time.time()
        while time.time() - t0 < 6.0:
            ups = [m for m in s.msgs if m.topic.endswith("uptime")]
            if len(ups) >= n0 + 2 \
                    and last("$SYS/broker/subscriptions/count") >= 5:
                break
            time.sleep(0.1)
        ups = [int(m.payload.split()[0]) for m in s.msgs
               if m.topic.endswith("uptime")]
        self.assertGreaterEqual(len(ups), n0 + 2, "uptime not periodic")
        self.assertGreater(ups[-1], ups[0])
        self.assertGreaterEqual(last("$SYS/broker/clients/connected"), 1)
        self.assertGreaterEqual(last("$SYS/broker/subscriptions/count"), 5)
        self.assertGreaterEqual(last("$SYS/broker/messages/sent"), 1)

    def test_38_200kb_payload(self):
        u = self.uniq("big")
        data = random.Random(200).randbytes(200 * 1024)
        s = self.paho()
        s.subscribe([(f"{u}/#", 2)])
        pub = self.paho()
        for q in (0, 1, 2):
            pub.publish(f"{u}/{q}", data, q, timeout=30 * self.T)
        got = s.wait_msgs(3, 30 * self.T)
        for m in got:
            with self.subTest(topic=m.topic):
                self.assertEqual(len(m.payload), len(data))
                self.assertTrue(m.payload == data, "payload differs")
                self.assertEqual(m.qos, int(m.topic[-1]))

    def test_39_hundred_concurrent_clients(self):
        u = self.uniq("h")
        n = 100
        clients = [mf.PahoClient(self.mq, f"{u}-{i}") for i in range(n)]
        self._test_clients.extend(clients)
        for c in clients:
            c.broker.check_ns()
            c.c.connect(self.mq.host, self.mq.port, 60)
            c.c.loop_start()
            c.started = True
        for c in clients:
            c._wait(lambda c=c: c.connack is not None, 20 * self.T, "CONNACK")
            self.assertEqual(c.connack[1], 0)
        mids = [(c, c.c.subscribe([(f"{u}/c/{i}", 1), (f"{u}/all", 0)])[1])
                for i, c in enumerate(clients)]
        for c, mid in mids:
            c._wait(lambda c=c, mid=mid: mid in c.subacks, 20 * self.T,
                    "SUBACK")
            self.assertEqual(c.subacks[mid], [1, 0])
        if self.petrel:
            self.assertGreaterEqual(
                self.wait_gauge("mqtt_connections", lambda v: v >= n), n)
        pub = self.paho()
        for i in range(n):
            pub.publish(f"{u}/c/{i}", f"to {i}".encode(), 1, wait=False)
        pub.publish(f"{u}/all", b"everyone", 1, timeout=20 * self.T)
        for i, c in enumerate(clients):
            got = c.wait_msgs(2, 20 * self.T)
            with self.subTest(client=i):
                self.assertEqual(sorted(m.payload for m in got),
                                 [b"everyone", f"to {i}".encode()])
        time.sleep(0.2)
        self.assertEqual([len(c.msgs) for c in clients], [2] * n)
        for c in clients:
            c.close()
        if self.petrel:
            self.assertLess(self.wait_gauge("mqtt_connections",
                                            lambda v: v < n), n)

    # -- the command-line clients --
    def mosquitto_sub(self, topic, count, qos=2, wait_s=20, extra=()):
        """Start mosquitto_sub in the namespace; return once it is
        subscribed. .communicate() it afterwards."""
        cmd = ["stdbuf", "-oL", "mosquitto_sub", "-V", "mqttv311",
               "-h", self.mq.host, "-p", str(self.mq.port), "-t", topic,
               "-q", str(qos), "-C", str(count), "-W", str(int(wait_s)),
               "-d", "-F", "MSG %q %r %t %p"] + list(extra)
        proc = self.mq.ns_popen(*cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        buf = b""
        while time.time() < deadline:
            r, _, _ = select.select([proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                if b"Subscribed (mid" in buf:
                    proc.prefix = buf
                    return proc
        proc.kill()
        proc.wait()
        raise AssertionError(f"mosquitto_sub did not subscribe: {buf!r}")

    def sub_lines(self, proc, timeout=30):
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            raise AssertionError(f"mosquitto_sub ran past {timeout} s")
        text = (proc.prefix + out).decode(errors="replace")
        msgs = [line.split(" ", 4)[1:] for line in text.splitlines()
                if line.startswith("MSG ")]
        return proc.returncode, msgs, text

    def mosquitto_pub(self, *args, input=None):
        r = self.mq.ns_run("mosquitto_pub", "-V", "mqttv311",
                           "-h", self.mq.host, "-p", str(self.mq.port),
                           *args, input=input, timeout=30)
        self.assertEqual(r.returncode, 0, f"mosquitto_pub {args}: {r.stdout}"
                         f" {r.stderr}")

    def test_40_mosquitto_command_line_clients(self):
        u = self.uniq("cli")
        # mosquitto_sub receives from paho and from mosquitto_pub
        proc = self.mosquitto_sub(f"{u}/#", 6)
        pub = self.paho()
        for q in range(3):
            pub.publish(f"{u}/paho{q}", f"p{q}".encode(), q)
        for q in range(3):
            self.mosquitto_pub("-t", f"{u}/cli{q}", "-m", f"c{q}", "-q",
                               str(q))
        rc, msgs, text = self.sub_lines(proc)
        self.assertEqual(rc, 0, text[-2000:])
        self.assertEqual(sorted(msgs), sorted(
            [[str(q), "0", f"{u}/paho{q}", f"p{q}"] for q in range(3)]
            + [[str(q), "0", f"{u}/cli{q}", f"c{q}"] for q in range(3)]))
        # paho receives mosquitto_pub's lines, in order, at QoS 1
        s = self.paho()
        s.subscribe([(f"{u}/lines", 2)])
        lines = [f"line {i}" for i in range(50)]
        self.mosquitto_pub("-t", f"{u}/lines", "-q", "1", "-l",
                           input="\n".join(lines) + "\n")
        got = s.wait_msgs(50, 10 * self.T)
        self.assertEqual([m.payload.decode() for m in got], lines)
        self.assertTrue(all(m.qos == 1 for m in got))
        # retained by mosquitto_pub -r, seen by a later mosquitto_sub with
        # the retain flag; cleared by -n -r
        self.mosquitto_pub("-t", f"{u}/ret", "-m", "kept", "-q", "1", "-r")
        proc = self.mosquitto_sub(f"{u}/ret", 1, qos=1, wait_s=10)
        rc, msgs, text = self.sub_lines(proc)
        self.assertEqual((rc, msgs), (0, [["1", "1", f"{u}/ret", "kept"]]),
                         text[-2000:])
        self.mosquitto_pub("-t", f"{u}/ret", "-n", "-r", "-q", "1")
        proc = self.mosquitto_sub(f"{u}/ret", 1, qos=1, wait_s=2)
        rc, msgs, text = self.sub_lines(proc)
        self.assertEqual(msgs, [], text[-2000:])
        self.assertEqual(rc, 27, "mosquitto_sub -W timeout expected")


class MqttBasicTest(CoreCases, RetainedCases, BasicCases, mf.MqttTestCase):
    TAG = "mqbasic"


if __name__ == "__main__":
    mf.main()
