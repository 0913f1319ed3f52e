#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A SYN flood against TCP-lite's echo listener with a small SYN backlog,
so SYN cookies take over: while pt_synflood (tests/tools) sends SYNs at full
rate for a few seconds, connections established before it keep echoing
(every round trip verified, no failures), and a connection opened during
the flood is made (through a cookie: syncookies_validated moves). Afterwards
petreld still answers ping, its half-open connections drain, and no
connection is left.

The flood's source is 10.99.0.77, an address nobody in the namespace owns:
petreld learns it from one injected ARP request, so its SYN-ACKs reach the
kernel, which drops them silently (not its address, no forwarding) instead
of resetting the half-open connections. Everything stays in the namespace.
"""
import json
import os
import random
import select
import socket
import subprocess
import sys
import threading
import time
import unittest

from harness import Broker, BROKER_IP, main
from test_tcp_echo import (ECHO_PORT, counter, raise_nofile, tcp_stats,
                           wait_gauges_zero, LIVE_STATES)

HERE = os.path.abspath(__file__)
INJECT = os.path.join(os.path.dirname(HERE), "inject.py")
SYNFLOOD = os.environ.get("PT_SYNFLOOD", "build/tests/tools/pt_synflood")
SPOOF_IP = "10.99.0.77"
FLOOD_S = 3
FLOOD_MAX = 3000000       # SYNs at most, whatever the rate
STEADY_CONNS = 8
NEWCONN_AT = 1.0          # seconds into the flood


def recv_exact(sock, n):
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise ConnectionError(f"EOF after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def round_trip(sock, rnd):
    msg = rnd.randbytes(rnd.randint(1, 4000))
    sock.sendall(msg)
    back = recv_exact(sock, len(msg))
    if back != msg:
        raise AssertionError(f"echo of {len(msg)} bytes differs")


def steady_client(spec):
    """Open spec['conns'] echo connections, print READY, wait for GO on
    stdin, then keep every connection echoing (one verified round trip
    after another) for spec['duration'] s, and open one more connection
    spec['newconn_at'] s after GO. Print a JSON summary."""
    raise_nofile()
    socks = []
    for i in range(spec["conns"]):
        s = socket.create_connection((BROKER_IP, ECHO_PORT), timeout=10)
        s.settimeout(spec["rt_timeout"])
        round_trip(s, random.Random(i))
        socks.append(s)
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        raise SystemExit("no GO")
    t_go = time.time()
    end = t_go + spec["duration"]
    ok = [0] * len(socks)
    failures = []

    def worker(i):
        rnd = random.Random(1000 + i)
        while time.time() < end:
            try:
                round_trip(socks[i], rnd)
                ok[i] += 1
            except (OSError, ConnectionError, AssertionError) as e:
                failures.append(f"conn {i}: {e!r}")
                return

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(len(socks))]
    for t in threads:
        t.start()
    time.sleep(max(0.0, t_go + spec["newconn_at"] - time.time()))
    new = {"ok": False}
    t0 = time.time()
    try:
        s = socket.create_connection((BROKER_IP, ECHO_PORT),
                                     timeout=spec["connect_timeout"])
        new["connect_s"] = round(time.time() - t0, 3)
        s.settimeout(spec["rt_timeout"])
        rnd = random.Random(99)
        for _ in range(3):
            round_trip(s, rnd)
        s.close()
        new["ok"] = True
    except (OSError, ConnectionError, AssertionError) as e:
        new["error"] = repr(e)
    new["during_flood_s"] = round(t0 - t_go, 3)
    for t in threads:
        t.join(timeout=spec["rt_timeout"] + max(0.0, end - time.time()))
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    for s in socks:
        s.close()
    return {"round_trips": ok, "failures": failures, "stuck": stuck,
            "new_conn": new, "elapsed": round(time.time() - t_go, 3)}


def arp_request_frame(src_mac, src_ip, dst_ip):
    ip4 = socket.inet_aton
    arp = (b"\x00\x01\x08\x00\x06\x04\x00\x01" + src_mac + ip4(src_ip)
           + b"\0" * 6 + ip4(dst_ip))
    return b"\xff" * 6 + src_mac + b"\x08\x06" + arp


class TcpSynFloodTest(unittest.TestCase):
    def setUp(self):
        if not os.access(SYNFLOOD, os.X_OK):
            self.fail(f"pt_synflood not found at {SYNFLOOD} (PT_SYNFLOOD)")
        self.b = Broker("synflood", args=[
            "--set", f"tcp.echo_port={ECHO_PORT}",
            "--set", "tcp.syn_backlog=64",
            "--set", "tcp.syncookies=on",
            # half-open entries give up fast once the flood stops
            "--set", "tcp.synack_retries=1",
            "--set", "tcp.rto_initial_ms=250",
        ]).__enter__()
        self.addCleanup(self.b.cleanup)
        self.assertEqual(self.b.ping(1), 1)

    def teach_spoofed_neighbour(self):
        """Let petreld resolve SPOOF_IP to the kernel side's MAC."""
        mac = self.b.ns_run("cat", "/sys/class/net/pt0/address").stdout
        mac = bytes.fromhex(mac.strip().replace(":", ""))
        learned = self.b.stats()["arp_learned"]
        r = self.b.ns_run(sys.executable, INJECT, "pt0",
                          arp_request_frame(mac, SPOOF_IP, BROKER_IP).hex())
        self.assertEqual(r.returncode, 0, r.stderr)
        for _ in range(50):
            if self.b.stats()["arp_learned"] > learned:
                return
            time.sleep(0.02)
        self.fail("petreld did not learn the flood's source address")

    def test_flood_established_keep_echoing_new_conn_via_cookie(self):
        self.teach_spoofed_neighbour()
        before = tcp_stats(self.b)
        spec = {"conns": STEADY_CONNS, "duration": FLOOD_S + 0.5,
                "newconn_at": NEWCONN_AT, "rt_timeout": 10,
                "connect_timeout": 15}
        client = subprocess.Popen(
            ["ip", "netns", "exec", self.b.ns, sys.executable, HERE,
             "--client", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        flood = None
        try:
            ready, _, _ = select.select([client.stdout], [], [], 30)
            line = client.stdout.readline() if ready else ""
            self.assertEqual(line.strip(), "READY",
                             f"client did not come up: {line} "
                             f"{client.stderr.read() if not ready else ''}")
            flood = subprocess.Popen(
                ["ip", "netns", "exec", self.b.ns, SYNFLOOD, "--src",
                 SPOOF_IP, BROKER_IP, str(ECHO_PORT), str(FLOOD_S),
                 str(FLOOD_MAX)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            client.stdin.write("GO\n")
            client.stdin.flush()
            f_out, f_err = flood.communicate(timeout=FLOOD_S + 30)
            c_out, c_err = client.communicate(timeout=60)
        finally:
            for p in (flood, client):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
        self.assertEqual(flood.returncode, 0, f_err)
        self.assertEqual(client.returncode, 0, c_err[-2000:])
        res = json.loads(c_out.strip().splitlines()[-1])
        during = tcp_stats(self.b)
        print(f"\n{f_out.strip()}; client {res}; cookies sent "
              f"{during.get('syncookies_sent')}, validated "
              f"{during.get('syncookies_validated')}, syn_rcvd now "
              f"{during.get('syn_rcvd')}, rx_segments "
              f"{during.get('rx_segments')}", file=sys.stderr)
        self.assertGreater(int(f_out.split()[1]), 0, f_out)

        # established connections: every round trip verified, none failed
        self.assertEqual(res["failures"], [])
        self.assertEqual(res["stuck"], [])
        for i, n in enumerate(res["round_trips"]):
            self.assertGreater(n, 0, f"connection {i} made no round trip")
        # the new connection got through, and by a cookie
        self.assertTrue(res["new_conn"]["ok"], res["new_conn"])
        self.assertLess(res["new_conn"]["during_flood_s"], FLOOD_S)
        self.assertGreater(counter(during, "syncookies_sent"),
                           counter(before, "syncookies_sent"))
        self.assertGreater(counter(during, "syncookies_validated"),
                           counter(before, "syncookies_validated"))

        # afterwards: ping, half-open drained, nothing left open
        self.assertEqual(self.b.ping(3), 3)
        st = wait_gauges_zero(self.b, timeout=20)
        for name in LIVE_STATES + ("conns_in_use",):
            with self.subTest(gauge=name):
                self.assertEqual(counter(st, name), 0)
        self.assertGreater(counter(st, "half_open_dropped"),
                           counter(before, "half_open_dropped"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        print(json.dumps(steady_client(json.loads(sys.argv[2]))), flush=True)
    else:
        main()
