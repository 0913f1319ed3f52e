#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Every petrelctl command against a running petreld (its own namespace,
two dataplane cores, MQTT on, anonymous clients):

status, help, stats, health (and the watchdog: `debug stall` stops a core,
health says so within a second and exits 1, then recovers), clients
list/show/kick, sessions, routes, subscriptions, config show/set, log
level, reload and SIGHUP, top, bad requests of every kind, and last the
graceful shutdown: a subscriber receives the wills of the other clients
before its own connection is closed, and petreld exits 0.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from mqtt_fixture import MqttTestCase, REFERENCE


class ControlTest(MqttTestCase):
    TAG = "ctl"

    @classmethod
    def setUpClass(cls):
        if REFERENCE:
            raise unittest.SkipTest("petrel-only: petrelctl")
        fd, cls.conf = tempfile.mkstemp(prefix="pt-ctl-", suffix=".conf")
        os.write(fd, b"health.stall_ms = 400\n")
        os.close(fd)
        cls.BROKER_OPTS = {"extra": ["--config", cls.conf,
                                     "--set", "debug.hooks=on"]}
        super().setUpClass()
        cls.pb = cls.mq.pb

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        os.unlink(cls.conf)

    def petrelctl(self, *words, json_out=False, timeout=20):
        cmd = [harness.PETRELCTL, "--socket", self.pb.sock]
        cmd += ["--json"] if json_out else []
        return subprocess.run(cmd + list(words), capture_output=True,
                              text=True, timeout=timeout)

    def wait_output(self, text, timeout=5.0):
        """Until petreld's log has text (its stdout is a buffered file)."""
        deadline = time.time() + timeout
        while text not in self.pb.output():
            self.assertLess(time.time(), deadline, f"no '{text}' in the log")
            time.sleep(0.1)

    def client(self, cid, **kw):
        """A connected paho client kept for the class."""
        return self.paho(cid, keep=True, **kw)

    # -- read-only views --
    def test_01_status_help_stats(self):
        st = self.pb.ctl("status")
        self.assertEqual(st["dataplane_cores"], 2)
        cmds = {c["command"]: c for c in self.pb.ctl("help")}
        for name in ("status", "health", "stats", "clients list",
                     "clients show", "clients kick", "sessions", "routes",
                     "subscriptions", "user add", "user passwd", "user del",
                     "acl reload", "config show", "config set", "log level",
                     "reload", "shutdown", "debug stall"):
            self.assertIn(name, cmds)
            self.assertGreater(len(cmds[name]["help"]), 10, name)
        stats = self.pb.ctl("stats")
        self.assertEqual(len(stats["cores"]), 2)
        self.assertIn("broker", stats)
        r = self.petrelctl("status")
        self.assertEqual(r.returncode, 0)
        self.assertIn("dataplane_cores", r.stdout)

    def test_02_health_and_watchdog(self):
        r = self.petrelctl("health")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        h = self.pb.ctl("health")
        self.assertTrue(h["healthy"])
        self.assertEqual([c["state"] for c in h["cores"]], ["ok", "ok"])
        self.pb.ctl("debug", "stall", "1", "2500")
        t0 = time.time()
        while True:
            r = self.petrelctl("health", json_out=True)
            if r.returncode == 1:
                break
            self.assertLess(time.time() - t0, 1.0,
                            "stall not reported within 1 s")
            time.sleep(0.05)
        detected = time.time() - t0
        h = json.loads(r.stdout)["result"]
        self.assertFalse(h["healthy"])
        self.assertEqual(h["cores"][1]["state"], "stalled")
        self.assertTrue(any("core 1 stalled" in p for p in h["problems"]))
        self.wait_output("stalled: no heartbeat")
        time.sleep(2.8)
        h = self.pb.ctl("health")
        self.assertTrue(h["healthy"], h["problems"])
        self.assertEqual(h["cores"][1]["stalls"], 1)
        self.wait_output("core 1 recovered")
        print(f"stall detected after {detected * 1000:.0f} ms")

    # -- clients --
    def test_03_clients_sessions_routes_subscriptions(self):
        a = self.client("ctl-a")
        a.subscribe([("ctl/+/x", 1), ("ctl/#", 0)])
        p = self.client("ctl-p", clean=False)
        p.subscribe([("persist/#", 1)])
        p.close()                           # stays as an offline session
        time.sleep(0.2)
        cl = self.pb.ctl("clients", "list", "ctl-")
        ids = {c["client_id"]: c for c in cl["clients"]}
        self.assertIn("ctl-a", ids)
        self.assertNotIn("ctl-p", ids, "offline: not a connected client")
        self.assertEqual(ids["ctl-a"]["state"], "online")
        self.assertTrue(ids["ctl-a"]["address"].startswith("10.99.0.1:"))
        ss = {s["client_id"]: s for s in
              self.pb.ctl("sessions", "ctl-")["sessions"]}
        self.assertEqual(ss["ctl-p"]["state"], "offline")
        self.assertEqual(self.pb.ctl("sessions", "ctl-", "1")["shown"], 1)
        show = self.pb.ctl("clients", "show", "ctl-a")
        self.assertEqual(show["state"], "connected")
        self.assertEqual(sorted(s["filter"] for s in show["subscriptions"]),
                         ["ctl/#", "ctl/+/x"])
        off = self.pb.ctl("clients", "show", "ctl-p")
        self.assertEqual(off["state"], "offline")
        subs = self.pb.ctl("subscriptions", "ctl-p")
        self.assertEqual(subs["subscriptions"],
                         [{"filter": "persist/#", "qos": 1}])
        tot = self.pb.ctl("subscriptions")
        self.assertGreaterEqual(tot["subscriptions"], 3)
        routes = {r["filter"]: r["cores"] for r in
                  self.pb.ctl("routes", "ctl/")["routes"]}
        self.assertEqual(set(routes), {"ctl/+/x", "ctl/#"})
        r = self.petrelctl("clients", "show", "no-such-client")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no client id", r.stderr)
        r = self.petrelctl("clients", "list")      # human table
        self.assertEqual(r.returncode, 0)
        self.assertIn("ctl-a", r.stdout)

    def test_04_kick(self):
        w = self.client("kick-me", will=("kick/will", b"gone", 1, False))
        s = self.client("kick-watch")
        s.subscribe([("kick/will", 1)])
        r = self.pb.ctl("clients", "kick", "kick-me")
        self.assertTrue(r["kicked"])
        self.assertTrue(w.wait_disconnected(5))
        s.wait_msgs(1, 5, topic="kick/will")
        r = self.petrelctl("clients", "kick", "kick-me")
        self.assertEqual(r.returncode, 1)
        self.assertGreaterEqual(self.pb.ctl("stats")["broker"]
                                ["clients_kicked"], 1)

    # -- settings --
    def test_05_config_set_and_show(self):
        self.pb.ctl("config", "set", "auth.fail_limit", "7")
        self.assertEqual(self.pb.ctl("config", "show")["auth.fail_limit"],
                         "7")
        r = self.petrelctl("config", "set", "dp.cores", "4")
        self.assertEqual(r.returncode, 1)
        self.assertIn("run time", r.stderr)
        r = self.petrelctl("config", "set", "auth.fail_limit", "0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("out of range", r.stderr)
        r = self.petrelctl("config", "set", "no.such.key", "1")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.pb.ctl("config", "show")["auth.fail_limit"],
                         "7")

    def test_06_log_level(self):
        lv = self.pb.ctl("log", "level")
        self.assertIn("pt.ctl.main", lv)
        lv = self.pb.ctl("log", "level", "debug", "pt.ctl.health")
        self.assertEqual(lv["pt.ctl.health"], "debug")
        lv = self.pb.ctl("log", "level", "info", "pt.ctl.health")
        self.assertEqual(lv["pt.ctl.health"], "info")
        r = self.petrelctl("log", "level", "loud")
        self.assertEqual(r.returncode, 1)

    def test_07_reload_and_sighup(self):
        with open(self.conf, "a") as f:
            f.write("health.stall_ms = 700\ndp.burst = 16\n")
        r = self.pb.ctl("reload")
        self.assertIn({"key": "health.stall_ms", "value": "700"},
                      r["applied"])
        self.assertIn("dp.burst", r["restart_needed"])
        self.assertEqual(self.pb.ctl("config", "show")["health.stall_ms"],
                         "700")
        with open(self.conf, "a") as f:
            f.write("health.stall_ms = 800\n")
        self.pb.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while self.pb.ctl("config", "show")["health.stall_ms"] != "800":
            self.assertLess(time.time(), deadline, "SIGHUP did not reload")
            time.sleep(0.1)
        with open(self.conf, "a") as f:
            f.write("health.stall_ms = lots\n")
        r = self.petrelctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{self.conf}:", r.stderr)
        self.assertEqual(self.pb.ctl("config", "show")["health.stall_ms"],
                         "800", "a bad file changes nothing")

    def test_08_top(self):
        r = self.petrelctl("top", "--count", "2", "--interval", "300")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("core", r.stdout.lower())

    # -- bad requests --
    def test_09_bad_requests(self):
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(self.pb.sock)        # connects and never speaks
        try:
            def raw(data):
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(5)
                s.connect(self.pb.sock)
                s.sendall(data)
                out = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    out += b
                s.close()
                return json.loads(out)

            t0 = time.time()
            self.assertTrue(raw(b"status\n")["ok"])
            self.assertLess(time.time() - t0, 1.0, "a silent client blocks")
            for req, word in ((b"frobnicate\n", "unknown command"),
                              (b'{"argv": ["status"\n', "JSON"),
                              (b'{"argv": [1, 2]}\n', "argv"),
                              (b"x" * 4096, "longer than")):
                a = raw(req)
                self.assertFalse(a["ok"], req[:30])
                self.assertIn(word, a["error"])
            a = raw(json.dumps({"argv": ["clients", "show",
                                         "a b"]}).encode() + b"\n")
            self.assertIn("no client id 'a b'", a["error"])
        finally:
            silent.close()
        ctl = self.pb.ctl("stats")
        self.assertIsNotNone(ctl)

    # -- last: graceful shutdown --
    def test_99_graceful_shutdown(self):
        watcher = self.client("bye-watch")
        watcher.subscribe([("bye/#", 1)])
        for i in range(3):
            self.client(f"bye-{i}", will=(f"bye/{i}", b"will", 1, False))
        r = self.pb.ctl("shutdown")
        self.assertEqual(r, "stopping")
        rc = self.pb.proc.wait(10)
        self.assertEqual(rc, 0)
        got = watcher.wait_msgs(3, 5)
        self.assertEqual(sorted(m.topic for m in got),
                         ["bye/0", "bye/1", "bye/2"])
        self.assertTrue(watcher.wait_disconnected(5))
        out = self.pb.output()
        self.assertIn("graceful stop", out)
        self.assertIn("every connection closed", out)


if __name__ == "__main__":
    harness.main()
