#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""petrel-bench against a real petreld over net_af_packet: a veth pair in
the test's own network namespace, petreld on one end, petrel-bench on the
other (the kernel only carries frames between them: neither end has an
address). Each scenario runs briefly and is checked
against petrel-bench's own JSON summary and against what petreld counted:

- p2p at QoS 0, 1 and 2: nothing lost, acknowledgements complete, the CSV
  and CDF files written; fan-out and fan-in deliver publishers x
  subscribers messages;
- connect: a ramp of sessions, all up at once (petreld's gauge agrees),
  all closed again;
- a subscriber kicked mid-run: the run fails, naming the lost session and
  the messages lost;
- a wrong password: every CONNACK refused, counted, exit 1;
- bad usage and an unreachable broker: exit 2 / 1 with a clear reason;
- resilience: a SYN flood and a junk flood from petrel-bench's stateless
  generator while QoS 1 sessions publish: no message lost, no session
  lost, and petreld counted the flood (SYN cookies, drops by reason).
"""
import csv
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Broker, main

BENCH = os.environ.get("PETREL_BENCH", "build/apps/petrel-bench/petrel-bench")
RUN_TIMEOUT = 120


class VethBroker(Broker):
    """petreld on vb0 of a veth pair in its namespace; vb1 is the bench's.

    (Not memif: DPDK 22.11's memif server can fault when its client goes
    away mid-burst, and this test starts a dozen clients against one
    petreld. perf/bench_record.py uses memif, for speed.)
    """

    def start(self):
        subprocess.run(["ip", "-n", self.ns, "link", "add", "vb0", "type",
                        "veth", "peer", "name", "vb1"], check=True)
        for dev in ("vb0", "vb1"):
            subprocess.run(["ip", "-n", self.ns, "link", "set", dev, "up"],
                           check=True)
        super().start()


class BenchTest(unittest.TestCase):
    broker = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="pt-bench-")
        cls.passwd = os.path.join(cls.tmp.name, "passwd")
        subprocess.run(["mosquitto_passwd", "-b", "-c", cls.passwd, "bench",
                        "s3cret"], check=True, capture_output=True)
        cls.broker = VethBroker("bench", args=[
            "--set", f"auth.password_file={cls.passwd}",
            "--set", "auth.fail_limit=1000000",
            "--set", "port=net_af_packet0,iface=vb0",
            "--set", "mqtt.allow_anonymous=on",
            "--set", "tcp.syn_backlog=64",
            "--set", "dp.idle=busy",
        ])
        cls.broker.__enter__()

    @classmethod
    def tearDownClass(cls):
        if cls.broker is not None:
            cls.broker.__exit__(None, None, None)
        cls.tmp.cleanup()

    def bench(self, *args, expect_rc=0):
        """Run petrel-bench in the namespace; return its JSON summary."""
        cmd = ["ip", "netns", "exec", self.broker.ns, BENCH,
               "--port", "net_af_packet0,iface=vb1",
               "--quiet", "--warmup", "0.3", "--duration", "1",
               "--client-prefix", f"{self.id().split('.')[-1]}-"]
        cmd += list(args)
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT)
        if r.returncode != expect_rc:
            self.fail(f"petrel-bench exited {r.returncode}, not "
                      f"{expect_rc}:\n{r.stdout}\n{r.stderr[-3000:]}")
        if expect_rc == 2:
            return r
        start = r.stdout.find("{")
        self.assertGreaterEqual(start, 0, r.stdout + r.stderr)
        return json.loads(r.stdout[start:])

    def mqtt(self):
        return self.broker.stats()["mqtt"]

    def control_stats(self):
        return self.broker.ctl("stats")["broker"]

    def tcp(self):
        return self.broker.stats()["tcp"]

    def assert_clean(self, s):
        c = s["counters"]
        self.assertEqual(s["result"], "ok", s["why"])
        self.assertEqual(s["lost"], 0)
        self.assertEqual(s["duplicates"], 0)
        self.assertEqual(c["sessions_lost"], 0)
        self.assertEqual(c["protocol_errors"], 0)
        self.assertEqual(c["bad_payloads"], 0)
        self.assertEqual(c["sessions_connected"], s["sessions"])
        self.assertEqual(c["sessions_closed"], s["sessions"])
        self.assertEqual(s["expected"], s["delivered"])

    # -- scenarios --
    def test_p2p_qos0_files(self):
        csv_path = os.path.join(self.tmp.name, "p2p.csv")
        cdf_path = os.path.join(self.tmp.name, "p2p.cdf")
        json_path = os.path.join(self.tmp.name, "p2p.json")
        before = self.mqtt()
        s = self.bench("--scenario", "p2p", "--groups", "8", "--qos", "0",
                       "--csv", csv_path, "--cdf", cdf_path,
                       "--json", json_path)
        self.assert_clean(s)
        self.assertEqual(s["publishers"], 8)
        self.assertGreater(s["counters"]["measured"], 1000)
        self.assertGreater(s["msgs_per_s"], 1000)
        lat = s["latency_us"]
        self.assertEqual(lat["count"], s["counters"]["measured"])
        self.assertTrue(0 < lat["p50"] <= lat["p99"] <= lat["p999"]
                        <= lat["max"] * 1.001, lat)
        # the broker saw the same traffic
        after = self.mqtt()
        self.assertEqual(after["mqtt_publish_received"]
                         - before["mqtt_publish_received"],
                         s["counters"]["published"])
        self.assertEqual(after["mqtt_connects"] - before["mqtt_connects"], 16)
        # files: JSON as on stdout, CSV rows each second, a monotone CDF
        with open(json_path) as f:
            self.assertEqual(json.load(f)["delivered"], s["delivered"])
        with open(csv_path) as f:
            rows = list(csv.DictReader(f))
        self.assertGreaterEqual(len(rows), 2)
        self.assertEqual(list(rows[0].keys()),
                         ["t_s", "sessions", "connects_per_s", "pubs_per_s",
                          "msgs_per_s", "p50_us", "p99_us", "p999_us",
                          "max_us", "lost", "dup"])
        self.assertTrue(any(float(r["msgs_per_s"]) > 0 for r in rows))
        with open(cdf_path) as f:
            lines = [l for l in f.read().splitlines()
                     if l and l[0].isdigit()]
        fracs = [float(l.split(",")[1]) for l in lines]
        self.assertTrue(fracs and fracs == sorted(fracs))
        self.assertAlmostEqual(fracs[-1], 1.0, places=6)

    def test_p2p_qos1_and_qos2(self):
        for qos in (1, 2):
            with self.subTest(qos=qos):
                s = self.bench("--scenario", "p2p", "--groups", "4",
                               "--qos", str(qos), "--window", "8")
                self.assert_clean(s)
                c = s["counters"]
                self.assertGreater(c["published"], 100)
                self.assertEqual(c["publish_acked"], c["published"])
                self.assertEqual(c["subscribed"], 4)

    def test_fanout_and_fanin(self):
        s = self.bench("--scenario", "fanout", "--fanout", "40",
                       "--qos", "1")
        self.assert_clean(s)
        self.assertEqual(s["expected"], s["counters"]["published"] * 40)
        s = self.bench("--scenario", "fanin", "--fanin", "20", "--groups",
                       "2", "--qos", "0", "--pub-rate", "500")
        self.assert_clean(s)
        self.assertEqual(s["publishers"], 40)
        self.assertEqual(s["expected"], s["counters"]["published"])
        self.assertEqual(s["loop"], "open")
        self.assertEqual(s["rate"], 40 * 500)      # per publisher x 40
        # open loop keeps its schedule: 1.3 s at 20,000/s, give or take
        self.assertAlmostEqual(s["counters"]["published"], 26000,
                               delta=4000)

    def test_connect_ramp(self):
        peak = []
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    peak.append(self.mqtt()["mqtt_sessions"])
                except Exception:  # noqa: BLE001 - best effort sampling
                    pass
                time.sleep(0.2)

        t = threading.Thread(target=watch)
        t.start()
        try:
            s = self.bench("--scenario", "connect", "--sessions", "3000",
                           "--connect-rate", "20000", "--hold", "1.5")
        finally:
            done.set()
            t.join()
        self.assert_clean(s)
        self.assertEqual(s["sessions_up_max"], 3000)
        self.assertGreater(s["connects_per_s"], 0)
        self.assertEqual(s["connect_latency_us"]["count"], 3000)
        self.assertIn(3000, peak, "petreld never showed 3000 sessions")
        # all gone again
        deadline = time.time() + 10
        while time.time() < deadline and self.mqtt()["mqtt_sessions"] != 0:
            time.sleep(0.2)
        self.assertEqual(self.mqtt()["mqtt_sessions"], 0)

    def test_kicked_subscriber_is_loss(self):
        prefix = "test_kicked_subscriber_is_loss-"
        result = {}

        def run():
            result["s"] = self.bench("--scenario", "p2p", "--groups", "2",
                                     "--qos", "1", "--duration", "3",
                                     expect_rc=1)

        t = threading.Thread(target=run)
        t.start()
        # client 1 is the subscriber of group 0
        deadline = time.time() + 20
        kicked = False
        while time.time() < deadline and not kicked:
            time.sleep(0.3)
            r = self.broker.ctl_raw("clients", "kick", prefix + "1")
            kicked = r.returncode == 0
        t.join()
        self.assertTrue(kicked, "could not kick the subscriber")
        s = result["s"]
        self.assertEqual(s["result"], "fail")
        self.assertEqual(s["counters"]["sessions_lost"], 1)
        self.assertGreater(s["lost"], 0)
        self.assertEqual(s["lost"], s["expected"] - s["delivered"])
        self.assertIn("sessions lost", s["why"])
        self.assertIn("messages lost at QoS 1", s["why"])

    def test_password(self):
        before = self.control_stats()
        s = self.bench("--scenario", "connect", "--sessions", "20",
                       "--username", "bench", "--password", "wrong",
                       expect_rc=1)
        self.assertEqual(s["counters"]["connack_refused"], 20)
        self.assertEqual(s["counters"]["sessions_connected"], 0)
        self.assertIn("never came up", s["why"])
        mid = self.control_stats()
        self.assertEqual(mid["auth_bad_password"]
                         - before["auth_bad_password"], 20)
        # the right password (auth.fail_limit keeps the throttle away)
        s = self.bench("--scenario", "p2p", "--groups", "2",
                       "--username", "bench", "--password", "s3cret")
        self.assert_clean(s)
        after = self.control_stats()
        self.assertEqual(after["auth_ok"] - mid["auth_ok"], 4)

    def test_bad_usage_and_unreachable(self):
        r = self.bench("--size", "8", expect_rc=2)
        self.assertIn("--size", r.stderr)
        r = self.bench("--scenario", "nonsense", expect_rc=2)
        self.assertIn("--scenario", r.stderr)
        s = self.bench("--broker", "10.99.0.9", "--groups", "1",
                       expect_rc=1)
        self.assertIn("did not answer ARP", s["why"])

    # -- resilience --
    def flood_run(self, mode):
        before = self.broker.stats()
        s = self.bench("--scenario", "p2p", "--groups", "4", "--qos", "1",
                       "--window", "8", "--duration", "2", "--flood", mode,
                       "--flood-rate", "100000")
        self.assert_clean(s)
        self.assertGreater(s["counters"]["flood_frames"], 10000)
        self.assertGreater(s["counters"]["measured"], 500)
        return before, self.broker.stats(), s

    def test_syn_flood_keeps_sessions(self):
        before, after, _ = self.flood_run("syn")
        d = lambda k: after["tcp"][k] - before["tcp"][k]  # noqa: E731
        self.assertGreater(d("syncookies_sent"), 1000)

    def test_junk_flood_keeps_sessions(self):
        before, after, s = self.flood_run("junk")
        drops = {k: after["drops"].get(k, 0) - before["drops"].get(k, 0)
                 for k in after["drops"]}
        tcp_drops = {k: after["tcp"]["drops"][k] - before["tcp"]["drops"][k]
                     for k in after["tcp"]["drops"]}
        # (fragments do not cross the veth: the kernel keeps them)
        for name in ("ip_bad_checksum", "ip_options", "ip_bad_length",
                     "ip_proto_unsupported"):
            self.assertGreater(drops.get(name, 0), 0, (name, drops))
        for name in ("tcp_bad_checksum", "tcp_bad_flags"):
            self.assertGreater(tcp_drops.get(name, 0), 0, (name, tcp_drops))


if __name__ == "__main__":
    main()
