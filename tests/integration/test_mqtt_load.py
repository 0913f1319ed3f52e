#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""pt-mqtt-load (perf/mqtt_load/), the kernel-socket baseline client,
against Debian's mosquitto: each mode briefly, checked on its JSON line.

- connect: every session up, none dropped while held, every one closed
  with DISCONNECT; connect latency recorded for each. Under a shrunk
  ephemeral port range (net.ipv4.ip_local_port_range is per namespace)
  the run without --src runs out of ports, fails and says to use --src;
  with --src 127.0.0.2 --src-count 2 (IP_BIND_ADDRESS_NO_PORT) every
  session is up.
- fanout: delivered == published x F at QoS 0 (closed loop) and QoS 1
  (open loop), nothing lost or duplicated, a latency for every measured
  delivery.
- p2p: its JSON line keeps exactly the fields perf/mqtt_ratio.py and the
  docs read.
- bad usage exits 2 with a reason; no broker: connect counts every session
  failed (exit 1), p2p fails its set-up (exit 2).

Each test gets a mosquitto of its own in a namespace made here
(perf/mqtt_ratio.py's Mosquitto: listener 127.0.0.1:1883, anonymous, no
persistence, TCP_NODELAY, no connection limit); the client runs in that namespace with `ip netns exec`, so no
traffic leaves it. The binary: $PT_MQTT_LOAD (tests/integration/meson.build
sets it to <build>/perf/pt-mqtt-load), else that path under
$MESON_BUILD_ROOT or build/. SKIP (77) without root, `ip`, mosquitto, or
the binary (a build with -Dperf=false has none).
"""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import mqtt_ratio  # noqa: E402  (mosquitto in its namespace)

MOSQUITTO = os.environ.get("MOSQUITTO", shutil.which("mosquitto")
                           or "/usr/sbin/mosquitto")
P2P_KEYS = ["qos", "pairs", "msgs", "warmup", "size", "window", "rate",
            "sent", "received", "lost", "duplicated", "out_of_order",
            "measured", "elapsed_s", "msgs_per_s", "latency_us", "errors",
            "timed_out", "exit"]


def load_binary():
    path = os.environ.get("PT_MQTT_LOAD")
    if not path:
        root = os.environ.get("MESON_BUILD_ROOT", "build")
        path = os.path.join(root, "perf", "pt-mqtt-load")
    return path


LOAD = load_binary()


def Mosquitto(tag):
    """mosquitto on 127.0.0.1:1883 in a fresh namespace ptl-<tag>-<pid>
    (perf/mqtt_ratio.py's)."""
    return mqtt_ratio.Mosquitto(MOSQUITTO, ns=f"ptl-{tag}-{os.getpid()}"[:31])


class MqttLoadTest(unittest.TestCase):
    """One mosquitto per test."""

    def setUp(self):
        self.mq = Mosquitto(self._testMethodName[5:17].replace("_", ""))
        self.mq.__enter__()
        self.addCleanup(self.mq.__exit__, None, None, None)

    def load(self, *args, expect_rc=0):
        """Run pt-mqtt-load --json in the broker's namespace; its JSON."""
        r = self.mq.run(LOAD, "--json", *args)
        why = (f"pt-mqtt-load {' '.join(args)}: exit {r.returncode}\n"
               f"stdout: {r.stdout}\nstderr: {r.stderr[-2000:]}\n"
               f"mosquitto: {self.mq.output()[-1000:]}")
        self.assertEqual(r.returncode, expect_rc, why)
        lines = r.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1, "one JSON line\n" + why)
        res = json.loads(lines[0])
        self.assertEqual(res["exit"], expect_rc, why)
        res["stderr"] = r.stderr
        return res

    # -- connect --
    def test_connect_all_up_and_closed(self):
        n = 400
        r = self.load("--mode", "connect", "--sessions", str(n),
                      "--hold", "0.5", "--max-pending", "32")
        self.assertEqual(r["mode"], "connect")
        for key in ("sessions", "opened", "up", "sessions_up_max", "closed"):
            self.assertEqual(r[key], n, key)
        self.assertEqual((r["failed"], r["dropped"], r["close_errors"]),
                         (0, 0, 0))
        self.assertFalse(r["timed_out"])
        self.assertGreater(r["connects_per_s"], 0)
        lat = r["connect_latency_us"]
        self.assertEqual(lat["count"], n)
        self.assertTrue(0 < lat["p50"] <= lat["p99"] <= lat["max"], lat)

    def test_connect_paced(self):
        r = self.load("--mode", "connect", "--sessions", "200",
                      "--connect-rate", "1000", "--hold", "0")
        self.assertEqual((r["up"], r["closed"]), (200, 200))
        # 200 opens at 1000/s take at least 199 ms
        self.assertGreaterEqual(r["connect_seconds"], 0.19)
        self.assertLess(r["connects_per_s"], 1100)

    def test_connect_source_range(self):
        """200 ephemeral ports: 300 sessions need two source addresses."""
        r = self.mq.run("sysctl", "-qw",
                        "net.ipv4.ip_local_port_range=40000 40199")
        self.assertEqual(r.returncode, 0, r.stderr)
        short = self.load("--mode", "connect", "--sessions", "300",
                          "--hold", "0", expect_rc=1)
        self.assertLessEqual(short["up"], 200)
        self.assertGreater(short["failed"], 0)
        self.assertEqual(short["up"] + short["failed"], 300)
        self.assertIn("use --src", short["stderr"])
        ok = self.load("--mode", "connect", "--sessions", "300", "--hold",
                       "0", "--src", "127.0.0.2", "--src-count", "2")
        self.assertEqual((ok["up"], ok["closed"], ok["failed"]),
                         (300, 300, 0))
        self.assertEqual(ok["src_count"], 2)

    # -- fanout --
    def check_fanout(self, r, f, msgs, warmup):
        self.assertEqual(r["mode"], "fanout")
        self.assertEqual(r["sessions"], f + 1)
        self.assertEqual(r["published"], msgs + warmup)
        self.assertEqual(r["expected"], (msgs + warmup) * f)
        self.assertEqual(r["delivered"], r["expected"])
        self.assertEqual((r["lost"], r["duplicates"], r["errors"],
                          r["sessions_lost"]), (0, 0, 0, 0))
        self.assertEqual(r["measured"], msgs * f)
        self.assertEqual(r["latency_us"]["count"], msgs * f)
        self.assertGreater(r["msgs_per_s"], 0)
        self.assertFalse(r["timed_out"])

    def test_fanout_qos0_closed_loop(self):
        r = self.load("--mode", "fanout", "--fanout", "50", "--msgs", "300",
                      "--warmup", "20", "--qos", "0")
        self.check_fanout(r, 50, 300, 20)

    def test_fanout_qos1_open_loop(self):
        r = self.load("--mode", "fanout", "--fanout", "50", "--msgs", "200",
                      "--warmup", "10", "--qos", "1", "--rate", "400")
        self.check_fanout(r, 50, 200, 10)
        self.assertEqual(r["rate"], 400)
        # open loop: 210 publishes at 400/s take about half a second
        self.assertLess(r["pubs_per_s"], 480)

    # -- p2p --
    def test_p2p_fields_unchanged(self):
        r = self.load("--pairs", "2", "--msgs", "500", "--qos", "1")
        del r["stderr"]
        self.assertEqual(list(r), P2P_KEYS)
        self.assertEqual(list(r["latency_us"]),
                         ["p50", "p90", "p99", "p999", "max", "mean"])
        self.assertEqual((r["sent"], r["received"], r["lost"]),
                         (1200, 1200, 0))
        self.assertEqual(r["measured"], 1000)

    # -- refusals --
    def test_no_broker(self):
        r = self.load("--mode", "connect", "--sessions", "20", "--port",
                      "1884", "--hold", "0", expect_rc=1)
        self.assertEqual((r["up"], r["failed"]), (0, 20))
        self.assertIn("refused", r["stderr"])
        p = self.mq.run(LOAD, "--port", "1884", "--msgs", "10")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("set-up failed", p.stderr)

    def fake_broker(self, port, reply):
        """A server on 127.0.0.1:port that answers each connection's
        first bytes with reply and keeps it open."""
        code = ("import socket, sys\n"
                "s = socket.socket()\n"
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
                "s.listen(128)\n"
                "keep = []\n"
                "while True:\n"
                "    c, _ = s.accept()\n"
                "    c.recv(256)\n"
                "    c.sendall(bytes.fromhex(sys.argv[2]))\n"
                "    keep.append(c)\n")
        p = subprocess.Popen(["ip", "netns", "exec", self.mq.ns,
                              sys.executable, "-c", code, str(port),
                              reply.hex()])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        time.sleep(0.5)

    def test_garbage_from_broker(self):
        """Bad bytes are refused with a reason, never a crash."""
        self.fake_broker(1885, b"\x30\x02\x00\x00")       # PUBLISH, no CONNACK
        r = self.load("--mode", "connect", "--sessions", "5", "--port",
                      "1885", "--hold", "0", "--timeout", "5", expect_rc=1)
        self.assertEqual((r["up"], r["failed"]), (0, 5))
        self.assertIn("not a CONNACK", r["stderr"])
        self.fake_broker(1886, b"\x20\xff\xff\xff\xff\x01")  # 5-byte length
        p = self.mq.run(LOAD, "--port", "1886", "--timeout", "5")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("remaining length over 4 bytes", p.stderr)
        # CONNACK, then a PUBLISH whose topic runs past the frame
        self.fake_broker(1887, b"\x20\x02\x00\x00\x32\x03\x00\x09x")
        p = self.mq.run(LOAD, "--mode", "fanout", "--fanout", "2",
                        "--port", "1887", "--timeout", "5")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("unexpected packet 0x32", p.stderr)

    def test_bad_usage(self):
        for args, why in ((["--mode", "fanout", "--sessions", "5"],
                           "does not apply"),
                          (["--mode", "p2p", "--hold", "1"],
                           "does not apply"),
                          (["--mode", "nosuch"], "bad value for --mode"),
                          (["--src-count", "4"], "needs --src"),
                          (["--mode", "connect", "--src", "1.2.3"],
                           "--src wants"),
                          (["--fanout", "0", "--mode", "fanout"],
                           "bad value for --fanout")):
            r = self.mq.run(LOAD, *args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertIn(why, r.stderr, args)
            self.assertEqual(r.stdout, "", args)


def main():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("SKIP: needs root and iproute2 (network namespaces)")
        sys.exit(77)
    if not os.path.exists(MOSQUITTO):
        print(f"SKIP: no mosquitto at {MOSQUITTO}")
        sys.exit(77)
    if not os.access(LOAD, os.X_OK):
        print(f"SKIP: no pt-mqtt-load at {LOAD} (built with -Dperf=false?)")
        sys.exit(77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
