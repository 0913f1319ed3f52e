#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Operator metrics against a real petreld: the Prometheus endpoint
(GET /metrics on a kernel socket inside petreld's namespace) and the DPDK
telemetry commands (/petrel/stats, /petrel/core, /petrel/broker).

HTTP clients run inside the broker's namespace (`ip netns exec`, a small
script given to python3 -c); the telemetry socket is a Unix socket in the
DPDK runtime directory, reached like the control socket.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest

from harness import Broker, main

METRICS_PORT = 9883
MQTT_PORT = 1883
CORES = 2

# Raw HTTP client run inside the namespace. argv: port, then one mode:
#   req <hex bytes>          send the bytes, read to EOF, print the answer
#   silent_then_get <path>   open a silent connection, GET path on another,
#                            print the answer and how long the GET took,
#                            then wait for the server to close the silent
#                            one and print after how long
#   crowd <n>                open n silent connections, then one more and
#                            print what it gets
CLIENT = r'''
import json, socket, sys, time
port = int(sys.argv[1]); mode = sys.argv[2]

def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=10)

def read_all(s):
    data = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        data += b
    return data

def answer(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2) if lines and lines[0] else ["", "0"]
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return {"status": int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0,
            "status_line": lines[0] if lines else "",
            "headers": headers, "body": body.decode("utf-8", "replace")}

def request(raw):
    s = conn()
    s.sendall(raw)
    r = answer(read_all(s))
    s.close()
    return r

if mode == "req":
    print(json.dumps(request(bytes.fromhex(sys.argv[3]))))
elif mode == "silent_then_get":
    quiet = conn()
    time.sleep(0.3)
    t0 = time.time()
    r = request(b"GET " + sys.argv[3].encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    r["took"] = time.time() - t0
    t1 = time.time()
    quiet.settimeout(15)
    try:
        got = quiet.recv(1)
    except (ConnectionResetError, socket.timeout):
        got = b"?"
    r["silent_closed_after"] = time.time() - t1 + 0.3 + r["took"]
    r["silent_got"] = got.decode("latin-1")
    print(json.dumps(r))
elif mode == "crowd":
    n = int(sys.argv[3])
    crowd = [conn() for _ in range(n)]
    time.sleep(0.5)
    extra = conn()
    r = answer(read_all(extra))
    for s in crowd:
        s.close()
    time.sleep(0.3)
    r["after"] = request(b"GET /metrics HTTP/1.1\r\n\r\n")["status"]
    print(json.dumps(r))
'''

SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})?'
    r' (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse_exposition(text):
    """Parse text format 0.0.4 strictly: {name: {"type", "help",
    "samples": {frozenset(labels): value}}}. Raises AssertionError."""
    fams = {}
    cur = None
    done = set()
    assert text.endswith("\n"), "no newline at the end"
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert name not in fams, f"line {n}: family {name} again"
            if cur is not None:
                done.add(cur)
            cur = name
            fams[name] = {"help": help_, "type": None, "samples": {}}
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == cur and fams[name]["type"] is None, \
                f"line {n}: TYPE not after its HELP: {line}"
            assert typ in ("counter", "gauge"), f"line {n}: {typ}"
            if typ == "counter":
                assert name.endswith("_total"), f"line {n}: {name}"
            fams[name]["type"] = typ
        else:
            assert not line.startswith("#"), f"line {n}: {line}"
            m = SAMPLE_RE.match(line)
            assert m, f"line {n}: not a sample: {line!r}"
            name, labels, value = m.groups()
            assert name == cur and fams[cur]["type"], \
                f"line {n}: {name} outside its family ({cur})"
            assert name not in done, f"line {n}: {name} interleaved"
            key = frozenset(LABEL_RE.findall(labels or ""))
            assert key not in fams[name]["samples"], f"line {n}: twice"
            v = float(value)
            assert v >= 0, f"line {n}: negative"
            fams[name]["samples"][key] = v
    return fams


def total(fams, name, **labels):
    """Sum of a family's samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for k, v in fams[name]["samples"].items() if want <= k)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker("metrics", args=[
            "--set", f"dp.cores={CORES}",
            "--set", f"mqtt.port={MQTT_PORT}",
            "--set", "mqtt.allow_anonymous=on",
            "--set", "metrics.address=127.0.0.1",
            "--set", f"metrics.port={METRICS_PORT}",
            "--set", "metrics.telemetry=on"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.b.__exit__(None, None, None)  # stops it, checks sanitizers

    # -- helpers --
    def client(self, *args, timeout=30):
        r = self.b.ns_run(sys.executable, "-c", CLIENT, str(METRICS_PORT),
                          *args, timeout=timeout)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def raw(self, data):
        return self.client("req", data.hex())

    def scrape(self):
        r = self.raw(b"GET /metrics HTTP/1.1\r\nHost: petrel\r\n\r\n")
        self.assertEqual(r["status"], 200, r)
        return parse_exposition(r["body"])

    def telemetry(self, *cmds):
        """Send each command on one telemetry connection; the replies."""
        path = f"/var/run/dpdk/petrel-{self.b.name}/dpdk_telemetry.v2"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(10)
        s.connect(path)
        try:
            greeting = json.loads(s.recv(1024))
            self.assertEqual(greeting["pid"], self.b.proc.pid)
            out = []
            for c in cmds:
                s.send(c.encode())
                out.append(json.loads(s.recv(greeting["max_output_len"])))
            return out
        finally:
            s.close()

    # -- HTTP --
    def test_scrape_headers_and_format(self):
        r = self.raw(b"GET /metrics HTTP/1.1\r\nHost: petrel\r\n\r\n")
        self.assertEqual(r["status"], 200)
        self.assertEqual(r["headers"]["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(r["headers"]["connection"], "close")
        self.assertEqual(int(r["headers"]["content-length"]),
                         len(r["body"].encode()))
        fams = parse_exposition(r["body"])
        info = fams["petrel_build_info"]["samples"]
        self.assertEqual(len(info), 1)
        labels = dict(next(iter(info)))
        self.assertEqual(labels["name"], self.b.name)
        self.assertIn("DPDK", labels["dpdk"])
        self.assertGreater(total(fams, "petrel_uptime_seconds"), 0)
        # one sample per core, labelled, no totals
        loops = fams["petrel_core_loops_total"]["samples"]
        self.assertEqual(sorted(dict(k)["core"] for k in loops),
                         [str(i) for i in range(CORES)])
        self.assertEqual(fams["petrel_core_loops_total"]["type"], "counter")
        self.assertEqual(fams["petrel_tcp_conns_in_use"]["type"], "gauge")
        # reasons as labels, the broker's and the servers' own counters
        self.assertIn(frozenset({("core", "0"), ("reason", "ip_bad_checksum")}),
                      fams["petrel_net_drops_total"]["samples"])
        self.assertIn(frozenset({("core", "1"), ("reason", "bad_checksum")}),
                      fams["petrel_tcp_drops_total"]["samples"])
        self.assertIn(frozenset({("core", "0"),
                                 ("reason", "first_packet_not_connect")}),
                      fams["petrel_mqtt_violations_total"]["samples"])
        for fam in ("petrel_broker_logins_total", "petrel_broker_routes",
                    "petrel_ctl_requests_total",
                    "petrel_metrics_http_responses_total",
                    "petrel_mqtt_connects_total"):
            self.assertIn(fam, fams)

    def test_counters_move_with_traffic_and_match_stats(self):
        before = total(self.scrape(), "petrel_net_icmp_echo_replies_total")
        self.assertEqual(self.b.ping(3), 3)
        low = self.b.stats()["icmp_echo_replies"]
        fams = self.scrape()
        high = self.b.stats()["icmp_echo_replies"]
        got = total(fams, "petrel_net_icmp_echo_replies_total")
        self.assertGreaterEqual(got, before + 3)
        self.assertTrue(low <= got <= high, (low, got, high))
        # the control socket's requests are counted too
        self.assertGreater(total(fams, "petrel_ctl_requests_total"), 0)

    def test_scrapes_count_themselves(self):
        a = total(self.scrape(), "petrel_metrics_http_responses_total",
                  code="200")
        b = total(self.scrape(), "petrel_metrics_http_responses_total",
                  code="200")
        self.assertEqual(b, a + 1)

    def test_head(self):
        r = self.raw(b"HEAD /metrics HTTP/1.0\r\n\r\n")
        self.assertEqual(r["status"], 200)
        self.assertEqual(r["body"], "")
        self.assertGreater(int(r["headers"]["content-length"]), 1000)

    def test_not_found_and_method_not_allowed(self):
        n404 = total(self.scrape(), "petrel_metrics_http_responses_total",
                     code="404")
        r = self.raw(b"GET /nope HTTP/1.1\r\n\r\n")
        self.assertEqual(r["status"], 404)
        self.assertEqual(r["headers"]["connection"], "close")
        r = self.raw(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(r["status"], 405)
        self.assertIn("GET", r["headers"]["allow"])
        fams = self.scrape()
        self.assertEqual(total(fams, "petrel_metrics_http_responses_total",
                               code="404"), n404 + 1)
        self.assertGreaterEqual(
            total(fams, "petrel_metrics_http_responses_total", code="405"), 1)

    def test_malformed_and_oversize(self):
        self.assertEqual(self.raw(b"HELLO THERE\r\n\r\n")["status"], 400)
        self.assertEqual(self.raw(b"GET /metrics HTTP/1.1\r\nbad header\r\n"
                                  b"\r\n")["status"], 400)
        self.assertEqual(self.raw(b"GET /metrics HTTP/1.1\r\n\x00\r\n\r\n")
                         ["status"], 400)
        big = b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n"
        r = self.raw(big + b"\r\n")
        self.assertEqual(r["status"], 431, r["status_line"])
        fams = self.scrape()
        self.assertGreaterEqual(
            total(fams, "petrel_metrics_http_responses_total", code="400"), 3)
        self.assertGreaterEqual(
            total(fams, "petrel_metrics_http_responses_total", code="431"), 1)

    def test_silent_client_neither_blocks_nor_stays(self):
        t0 = total(self.scrape(), "petrel_metrics_http_timeouts_total")
        r = self.client("silent_then_get", "/metrics")
        self.assertEqual(r["status"], 200)
        self.assertLess(r["took"], 2.0)
        # closed by the server after PT_METRICS_IDLE_MS (5 s, swept every
        # 250 ms), without an answer
        self.assertEqual(r["silent_got"], "")
        self.assertGreater(r["silent_closed_after"], 4.5)
        self.assertLess(r["silent_closed_after"], 7.0)
        self.assertEqual(total(self.scrape(),
                               "petrel_metrics_http_timeouts_total"), t0 + 1)

    def test_client_limit(self):
        r = self.client("crowd", "16")
        self.assertEqual(r["status"], 503)
        self.assertEqual(r["after"], 200)
        self.assertGreaterEqual(
            total(self.scrape(), "petrel_metrics_http_refused_total"), 1)

    # -- telemetry --
    def test_telemetry_stats_core_broker(self):
        stats, core1, bad, nan, broker, listing = self.telemetry(
            "/petrel/stats", "/petrel/core,1", "/petrel/core,9",
            "/petrel/core,x", "/petrel/broker", "/")
        st = stats["/petrel/stats"]
        self.assertEqual(st["cores"], CORES)
        for k in ("core_loops", "net_rx_pkts", "net_drops_ip_bad_checksum",
                  "tcp_rx_segments", "tcp_drops_bad_checksum",
                  "tcp_connections_established", "mqtt_connects",
                  "mqtt_violations_first_packet_not_connect"):
            self.assertIn(k, st)
        c1 = core1["/petrel/core"]
        self.assertEqual(c1["core"], 1)
        self.assertIn("net_rx_pkts", c1)
        self.assertIn("lcore", c1)
        self.assertIsNone(bad["/petrel/core"])
        self.assertIsNone(nan["/petrel/core"])
        self.assertIn("broker_logins", broker["/petrel/broker"])
        for c in ("/petrel/stats", "/petrel/core", "/petrel/broker"):
            self.assertIn(c, listing["/"])

    def test_telemetry_moves_with_traffic(self):
        before, = self.telemetry("/petrel/stats")
        self.assertEqual(self.b.ping(2), 2)
        time.sleep(0.6)  # the snapshot is refreshed every 250 ms
        after, = self.telemetry("/petrel/stats")
        self.assertGreaterEqual(
            after["/petrel/stats"]["net_icmp_echo_replies"],
            before["/petrel/stats"]["net_icmp_echo_replies"] + 2)
        # totals are the sum of the cores (a counter nobody else moves now)
        cores = self.telemetry(*[f"/petrel/core,{i}" for i in range(CORES)])
        self.assertEqual(
            sum(c["/petrel/core"]["net_icmp_echo_replies"] for c in cores),
            after["/petrel/stats"]["net_icmp_echo_replies"])

    @unittest.skipUnless(shutil.which("dpdk-telemetry.py")
                         or os.path.exists("/usr/bin/dpdk-telemetry.py"),
                         "dpdk-telemetry.py not installed")
    def test_dpdk_telemetry_py(self):
        tool = shutil.which("dpdk-telemetry.py") or "/usr/bin/dpdk-telemetry.py"
        r = subprocess.run([sys.executable, tool, "-f",
                            f"petrel-{self.b.name}"],
                           input="/petrel/stats\n", capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        reply = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(reply["/petrel/stats"]["cores"], CORES)


class MetricsConfigTest(unittest.TestCase):
    def test_bind_failure_is_a_startup_error(self):
        # an address the namespace does not have
        with self.assertRaises(RuntimeError) as cm:
            with Broker("metbad", args=["--set", "metrics.address=10.77.0.1",
                                        "--set", "metrics.port=9999"]):
                pass
        self.assertIn("metrics listener 10.77.0.1:9999", str(cm.exception))

    def test_off(self):
        with Broker("metoff", args=["--set", "metrics.port=0",
                                    "--set", "metrics.telemetry=off"]) as b:
            r = b.ns_run(sys.executable, "-c", CLIENT, str(METRICS_PORT),
                         "req", b"GET /metrics HTTP/1.1\r\n\r\n".hex())
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("ConnectionRefused", r.stderr)
            path = f"/var/run/dpdk/petrel-{b.name}/dpdk_telemetry.v2"
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(10)
            s.connect(path)
            s.recv(1024)
            s.send(b"/petrel/stats")
            self.assertIsNone(json.loads(s.recv(16384))["/petrel/stats"])
            s.close()


if __name__ == "__main__":
    main()
