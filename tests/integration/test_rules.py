#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Content rules (Hyperscan) against a real petreld in its own namespace,
driven by paho clients:

- a message matching a drop rule never reaches a subscriber, and the
  publisher's QoS 1 is acknowledged; a disconnect rule closes the
  publisher; a count rule passes the message and counts it (`rules
  stats`, metrics, $SYS);
- a pattern that spans TCP segments (and so mbufs) of a large payload is
  found;
- `rules reload` under traffic loses nothing that should pass, and a file
  that does not compile keeps the rules in force (the error names file and
  line and carries Hyperscan's message);
- SIGHUP reloads the rules too.
"""
import os
import signal
import tempfile
import time
import unittest

import harness
from mqtt_fixture import MqttTestCase, REFERENCE

RULES = """# id action scope flags filter pattern
1 drop payload caseless - buy\\s+cheap
2 disconnect payload - - \\bwipe\\s+-rf\\b
3 count payload - - hello
4 drop topic - - ^spam/
5 drop payload - chat/# forbidden
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class RulesTest(MqttTestCase):
    TAG = "rules"

    @classmethod
    def setUpClass(cls):
        if REFERENCE:
            raise unittest.SkipTest("petrel-only: content rules")
        fd, cls.rules = tempfile.mkstemp(prefix="pt-rules-", suffix=".txt")
        os.close(fd)
        write(cls.rules, RULES)
        cls.BROKER_OPTS = {"extra": ["--set", f"rules.file={cls.rules}"]}
        super().setUpClass()
        cls.pb = cls.mq.pb

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        os.unlink(cls.rules)

    def matches(self):
        return {r["id"]: r["matches"]
                for r in self.pb.ctl("rules", "stats")["rules"]}

    def test_01_actions(self):
        sub = self.paho("r-sub", keep=True)
        sub.subscribe([("#", 1)])
        pub = self.paho("r-pub")
        before = self.matches()
        pub.publish("shop/a", b"Buy   CHEAP watches", qos=1)   # PUBACKed
        pub.publish("greet", b"hello world", qos=1)
        pub.publish("spam/x", b"anything", qos=1)
        pub.publish("news/x", b"forbidden fruit", qos=1)      # not chat/#
        pub.publish("chat/x", b"forbidden fruit", qos=1)
        sub.wait_msgs(2, 5)
        time.sleep(0.5)
        self.assertEqual(sorted(m.topic for m in sub.take()),
                         ["greet", "news/x"])
        after = self.matches()
        for rid, d in ((1, 1), (3, 1), (4, 1), (5, 1)):
            self.assertEqual(after[rid] - before[rid], d, f"rule {rid}")
        bad = self.paho("r-bad")
        bad.publish("ops", b"now wipe -rf /", qos=0, wait=False)
        self.assertTrue(bad.wait_disconnected(5), "disconnect rule")
        time.sleep(0.3)
        self.assertEqual(sub.take(), [])
        self.assertEqual(self.matches()[2] - before[2], 1)
        st = self.mq.mqtt_stats()
        self.assertGreaterEqual(st["mqtt_rules_dropped"], 3)
        self.assertGreaterEqual(st["mqtt_rules_disconnected"], 1)

    def test_02_across_segments(self):
        sub = self.paho("seg-sub")
        sub.subscribe([("big/#", 0)])
        pub = self.paho("seg-pub")
        before = self.matches()[1]
        payload = bytearray(b"x" * 20000)
        # around every multiple of the MSS, so some copy straddles a
        # segment boundary whatever the framing
        for off in range(1440, 19000, 1460):
            payload[off:off + 9] = b"buy cheap"
        pub.publish("big/a", bytes(payload), qos=1)
        time.sleep(0.5)
        self.assertEqual(sub.take(), [])
        self.assertEqual(self.matches()[1] - before, 1)
        # one pattern only, just across the first segment's end
        payload = bytearray(b"y" * 20000)
        payload[1452:1461] = b"buy cheap"
        pub.publish("big/b", bytes(payload), qos=1)
        time.sleep(0.5)
        self.assertEqual(sub.take(), [])
        clean = b"z" * 20000
        pub.publish("big/c", clean, qos=1)
        self.assertEqual([m.payload for m in sub.wait_msgs(1, 5)], [clean])

    def test_03_reload_under_traffic(self):
        sub = self.paho("rl-sub")
        sub.subscribe([("load/#", 1)])
        pub = self.paho("rl-pub")
        variants = [RULES, RULES + "9 drop payload - - never-seen-xyz\n",
                    "3 count payload - - hello\n", RULES]
        n, chunk = 600, 50
        try:
            # each chunk goes out without waiting for its PUBACKs, and a
            # reload follows at once, while those messages are in flight
            for c in range(n // chunk):
                mids = [pub.publish(f"load/{i % 7}", f"ok {i}".encode(),
                                    qos=1, wait=False)
                        for i in range(c * chunk, (c + 1) * chunk)]
                write(self.rules, variants[c % len(variants)])
                self.pb.ctl("rules", "reload")
                pub.wait_published(mids, 15)
            got = sub.wait_msgs(n, 15)
            self.assertEqual(sorted(int(m.payload.split()[1]) for m in got),
                             list(range(n)),
                             "lost or duplicated across reloads")
        finally:
            write(self.rules, RULES)
            self.pb.ctl("rules", "reload")

    def test_04_bad_reload_keeps_rules(self):
        write(self.rules, RULES)
        self.pb.ctl("rules", "reload")
        write(self.rules, RULES + "7 drop payload - - (unclosed\n")
        r = self.pb.ctl_raw("rules", "reload")
        self.assertEqual(r.returncode, 1)
        text = r.stdout + r.stderr
        self.assertIn(f"{self.rules}:7:", text)
        self.assertIn("unchanged", text)
        sub = self.paho("bad-sub")
        sub.subscribe([("x/#", 0)])
        pub = self.paho("bad-pub")
        pub.publish("x/a", b"buy cheap", qos=1)
        pub.publish("x/b", b"fine", qos=1)
        self.assertEqual([m.topic for m in sub.wait_msgs(1, 5)], ["x/b"])
        write(self.rules, RULES)

    def test_05_metrics_sys_and_sighup(self):
        sub = self.paho("sys-sub")
        sub.subscribe([("$SYS/broker/rules/#", 0)])
        pub = self.paho("sys-pub")
        pub.publish("g", b"hello", qos=1)
        got = sub.wait_msgs(1, 5, topic="$SYS/broker/rules/3/matches")
        self.assertGreater(int(got[-1].payload), 0)
        r = self.mq.ns_run("python3", "-c",
                           "import urllib.request;print(urllib.request."
                           "urlopen('http://127.0.0.1:9883/metrics',"
                           "timeout=5).read().decode())")
        self.assertIn('petrel_rule_matches_total{rule="3",action="count",'
                      'scope="payload"}', r.stdout)
        write(self.rules, "3 count payload - - hello\n")
        self.pb.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while len(self.matches()) != 1:
            self.assertLess(time.time(), deadline, "SIGHUP did not reload")
            time.sleep(0.1)
        write(self.rules, RULES)


if __name__ == "__main__":
    harness.main()
