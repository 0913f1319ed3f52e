#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""TCP-lite against the Linux kernel's TCP, through the diagnostic echo
listener (tcp.echo_port): odd payload sizes on one connection, the peer
half-closing, a closed port refused with RST, 1,000 concurrent connections
each echoing its own payload byte for byte, and afterwards every connection
gauge back to zero and the mbuf pool back near idle.

The clients are the kernel's sockets driven by this very file in client
mode (`ip netns exec NS python3 test_tcp_echo.py --client SPEC`), which
prints one JSON result line. test_tcp_bulk and test_tcp_synflood import
the helpers below (tcp_stats, run_client, ...).
"""
import errno
import json
import os
import random
import resource
import selectors
import socket
import subprocess
import sys
import time
import unittest

from harness import Broker, BROKER_IP, main

ECHO_PORT = 7
CLOSED_PORT = 9
HERE = os.path.abspath(__file__)

# ---------------------------------------------------------------------------
# Reading TCP counters from `petrelctl stats`.
#
# The stack's counters (include/petrel/tcp.h: PT_TCP_COUNTERS, PT_TCP_DROPS,
# PT_TCP_STATES, conns_in_use) are expected somewhere under stats' "total"
# object: flat, or nested (e.g. total.tcp.{...}, total.tcp.drops,
# total.tcp.states). Until the layout is settled this reads them
# defensively: nested objects are flattened (names are unique: counters,
# tcp_* drops, state names), and if "total" has no TCP names at all the
# per-core objects are summed. A name that is missing fails the test that
# needs it, with the names that are there.
# ---------------------------------------------------------------------------
TCP_PROBE_NAMES = ("rx_segments", "tx_segments", "conns_accepted")
# connection gauges that must read 0 when no connection is open (TIME_WAIT
# is a compact entry of its own and may linger; "closed" is not a live state)
LIVE_STATES = ("syn_rcvd", "established", "fin_wait_1", "fin_wait_2",
               "closing", "close_wait", "last_ack")


def _flatten(obj, out):
    for k, v in obj.items():
        if isinstance(v, dict):
            _flatten(v, out)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.setdefault(k, v)


def _flat(obj):
    """Numbers of obj at any depth by name; a "tcp" object's names win."""
    out = {}
    if isinstance(obj.get("tcp"), dict):
        _flatten(obj["tcp"], out)
    _flatten(obj, out)
    return out


def tcp_stats(broker):
    """Flat {name: value} of stats' total, TCP names included (see above)."""
    s = broker.ctl("stats")
    flat = _flat(s.get("total", {}))
    if not any(n in flat for n in TCP_PROBE_NAMES):
        summed = {}
        for core in s.get("cores", []):
            for k, v in _flat(core).items():
                summed[k] = summed.get(k, 0) + v
        for k, v in summed.items():
            flat.setdefault(k, v)
    return flat


def counter(stats, name):
    """stats[name], or an AssertionError naming what is there."""
    if name not in stats:
        raise AssertionError(
            f"TCP counter '{name}' not in petrelctl stats (have: "
            f"{', '.join(sorted(stats))})")
    return stats[name]


def pool_in_use(broker):
    return sum(c["pool_in_use"] for c in broker.ctl("stats")["cores"])


def wait_gauges_zero(broker, timeout=15.0):
    """Poll until every live-connection gauge and conns_in_use read 0;
    return the last stats (the caller asserts)."""
    deadline = time.time() + timeout
    while True:
        st = tcp_stats(broker)
        live = {n: st.get(n) for n in LIVE_STATES + ("conns_in_use",)}
        if all(v == 0 for v in live.values()) or time.time() > deadline:
            return st
        time.sleep(0.2)


def tune_kernel_route(broker, rto_min="5ms"):
    """Make the kernel side recover losses fast: lower its minimum RTO and
    acknowledge at once on the route to the broker (inside the namespace)."""
    r = broker.ns_run("ip", "route", "change", "10.99.0.0/24", "dev", "pt0",
                      "proto", "kernel", "scope", "link", "src", "10.99.0.1",
                      "rto_min", rto_min, "quickack", "1")
    if r.returncode != 0:
        raise AssertionError(f"ip route change: {r.stderr}")


def run_client(broker, mode_file, spec, timeout):
    """Run mode_file in client mode inside the broker's namespace; return
    its JSON result (the last line of stdout)."""
    try:
        r = broker.ns_run(sys.executable, mode_file, "--client",
                          json.dumps(spec), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"client {spec.get('mode')} ran past "
                             f"{timeout} s: {e.stdout} {e.stderr}") from None
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        raise AssertionError(f"client {spec.get('mode')} failed (rc "
                             f"{r.returncode}): {r.stdout[-2000:]} "
                             f"{r.stderr[-2000:]}")
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------
# Client side (runs inside the namespace).
# ---------------------------------------------------------------------------
def raise_nofile(n=8192):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def payload(seed, size):
    return random.Random(seed).randbytes(size)


class _Conn:
    __slots__ = ("i", "sock", "data", "sent", "got", "state", "shut")

    def __init__(self, i, sock, data):
        self.i, self.sock, self.data = i, sock, data
        self.sent = self.got = 0
        self.state = "connecting"
        self.shut = False


def echo_clients(host, port, payloads, limit_s, half_close=False):
    """Open one non-blocking connection per payload, all at once; each sends
    its payload, reads back exactly as many bytes comparing as they come,
    then closes (half_close: shutdown(SHUT_WR) after sending and read to
    EOF, which must come right after the last byte). Returns a summary."""
    sel = selectors.DefaultSelector()
    conns, failures = [], []
    t0 = time.time()
    deadline = t0 + limit_s

    def fail(c, why):
        failures.append({"conn": c.i, "why": why, "sent": c.sent,
                         "got": c.got, "len": len(c.data)})
        sel.unregister(c.sock)
        c.sock.close()
        c.state = "failed"

    def done(c):
        sel.unregister(c.sock)
        c.sock.close()
        c.state = "done"

    for i, data in enumerate(payloads):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        c = _Conn(i, s, data)
        conns.append(c)
        if rc not in (0, errno.EINPROGRESS):
            failures.append({"conn": i, "why": errno.errorcode.get(rc, rc)})
            s.close()
            c.state = "failed"
            continue
        sel.register(s, selectors.EVENT_WRITE, c)

    open_n = sum(1 for c in conns if c.state == "connecting")
    while open_n and time.time() < deadline:
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            if c.state == "connecting":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, "connect: " + errno.errorcode.get(err, str(err)))
                    open_n -= 1
                    continue
                c.state = "open"
            if ev & selectors.EVENT_WRITE and c.sent < len(c.data):
                try:
                    c.sent += c.sock.send(c.data[c.sent:c.sent + 65536])
                except BlockingIOError:
                    pass
                except OSError as e:
                    fail(c, "send: " + errno.errorcode.get(e.errno, str(e)))
                    open_n -= 1
                    continue
            if ev & selectors.EVENT_READ:
                try:
                    chunk = c.sock.recv(65536)
                except BlockingIOError:
                    chunk = None
                except OSError as e:
                    fail(c, "recv: " + errno.errorcode.get(e.errno, str(e)))
                    open_n -= 1
                    continue
                if chunk == b"":
                    if c.got < len(c.data) or not half_close:
                        fail(c, "EOF before all data came back")
                    else:
                        done(c)
                    open_n -= 1
                    continue
                if chunk:
                    if chunk != c.data[c.got:c.got + len(chunk)]:
                        off = next(k for k in range(len(chunk))
                                   if c.got + k >= len(c.data)
                                   or chunk[k] != c.data[c.got + k])
                        fail(c, f"mismatch at byte {c.got + off}")
                        open_n -= 1
                        continue
                    c.got += len(chunk)
                    if c.got == len(c.data) and not half_close:
                        done(c)
                        open_n -= 1
                        continue
            if c.sent == len(c.data) and half_close and not c.shut:
                c.sock.shutdown(socket.SHUT_WR)
                c.shut = True
            want = selectors.EVENT_READ
            if c.sent < len(c.data):
                want |= selectors.EVENT_WRITE
            sel.modify(c.sock, want, c)
    for c in conns:
        if c.state in ("connecting", "open"):
            fail(c, f"timeout ({c.state}) after {limit_s} s")
    elapsed = time.time() - t0
    return {"n": len(payloads), "ok": sum(c.state == "done" for c in conns),
            "failed": len(failures), "failures": failures[:20],
            "elapsed": round(elapsed, 3),
            "bytes": sum(len(c.data) for c in conns)}


def client_main(spec):
    raise_nofile()
    mode = spec["mode"]
    if mode == "echo":
        sizes = spec["sizes"]
        datas = [payload(spec.get("seed", 1) * 100003 + i, n)
                 for i, n in enumerate(sizes)]
        res = echo_clients(BROKER_IP, spec.get("port", ECHO_PORT), datas,
                           spec.get("limit", 30), spec.get("half_close",
                                                           False))
    elif mode == "refused":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(spec.get("limit", 10))
        t0 = time.time()
        try:
            s.connect((BROKER_IP, spec["port"]))
            res = {"error": None}
        except OSError as e:
            res = {"error": errno.errorcode.get(e.errno, str(e))
                   if e.errno else type(e).__name__}
        res["elapsed"] = round(time.time() - t0, 3)
        s.close()
    else:
        raise SystemExit(f"unknown client mode {mode}")
    print(json.dumps(res), flush=True)


# ---------------------------------------------------------------------------
# The tests.
# ---------------------------------------------------------------------------
class TcpEchoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker("tcpecho", args=[
            "--set", f"tcp.echo_port={ECHO_PORT}",
        ]).__enter__()
        try:
            assert cls.b.ping(1) == 1, "no ping before the TCP tests"
            tune_kernel_route(cls.b, "20ms")
            cls.pool_idle = pool_in_use(cls.b)
        except BaseException:
            cls.b.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.b.__exit__(None, None, None)  # stops it, checks sanitizers

    def echo(self, sizes, limit=30, half_close=False, seed=1):
        res = run_client(self.b, HERE, {
            "mode": "echo", "sizes": sizes, "limit": limit,
            "half_close": half_close, "seed": seed}, timeout=limit + 30)
        self.assertEqual(res["failed"], 0, res["failures"])
        self.assertEqual(res["ok"], len(sizes))
        return res

    def test_1_single_connection_odd_sizes(self):
        before = tcp_stats(self.b)
        for n in (1, 1460, 1461, 100 * 1024):
            with self.subTest(size=n):
                self.echo([n], limit=20, seed=n)
        after = tcp_stats(self.b)
        self.assertGreaterEqual(counter(after, "conns_accepted")
                                - counter(before, "conns_accepted"), 4)
        self.assertGreaterEqual(counter(after, "rx_payload_bytes")
                                - counter(before, "rx_payload_bytes"),
                                1 + 1460 + 1461 + 100 * 1024)

    def test_2_half_close_gets_everything_then_eof(self):
        # the window (64 KB) is smaller than the larger payload: the echo
        # must keep answering after our FIN until it has sent all back
        for n in (3000, 150 * 1024):
            with self.subTest(size=n):
                self.echo([n], limit=20, half_close=True, seed=7 + n)

    def test_3_closed_port_refused_with_rst(self):
        before = tcp_stats(self.b)
        res = run_client(self.b, HERE, {"mode": "refused",
                                        "port": CLOSED_PORT, "limit": 5},
                         timeout=30)
        self.assertEqual(res["error"], "ECONNREFUSED", res)
        self.assertLess(res["elapsed"], 2.0, "refusal came from a timeout?")
        after = tcp_stats(self.b)
        self.assertGreater(counter(after, "rst_sent"),
                           counter(before, "rst_sent"))
        self.assertGreater(counter(after, "tcp_no_listener"),
                           counter(before, "tcp_no_listener"))

    def test_4_thousand_concurrent_connections(self):
        rnd = random.Random(1000)
        sizes = [rnd.randint(1000, 6000) for _ in range(1000)]
        before = tcp_stats(self.b)
        res = self.echo(sizes, limit=60, seed=1000)
        print(f"\n1000 connections, {res['bytes']} bytes each way, "
              f"{res['elapsed']} s", file=sys.stderr)
        after = wait_gauges_zero(self.b)
        self.assertGreaterEqual(counter(after, "conns_accepted")
                                - counter(before, "conns_accepted"), 1000)
        self.assertGreaterEqual(counter(after, "conns_closed")
                                - counter(before, "conns_closed"), 1000)

    def test_9_gauges_back_to_zero_pool_near_idle(self):
        st = wait_gauges_zero(self.b)
        for name in LIVE_STATES + ("conns_in_use",):
            with self.subTest(gauge=name):
                self.assertEqual(counter(st, name), 0)
        self.assertEqual(counter(st, "tcp_bad_checksum"), 0)
        # the pool: every segment buffered by the stack is freed once the
        # connections are gone (slack for what the RX ring holds at a time)
        deadline = time.time() + 10
        while pool_in_use(self.b) > self.pool_idle + 64 \
                and time.time() < deadline:
            time.sleep(0.2)
        self.assertLessEqual(pool_in_use(self.b), self.pool_idle + 64,
                             f"idle was {self.pool_idle}")
        self.assertEqual(self.b.ping(3), 3)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        client_main(json.loads(sys.argv[2]))
    else:
        main()
