#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Malformed and unwanted TCP segments, injected over AF_PACKET from the
kernel side of the tap (inside the test's own namespace), against a petreld
running the echo listener (tcp.echo_port=7):

  - each kind is counted under its own drop reason in `petrelctl stats`
    (total.tcp.drops): bad checksum, truncated header, data offset below 5
    or past the segment, SYN+FIN, SYN+RST, no flags, port 0, an ACK to a
    closed port (answered with a RST, counted in rst_sent), a SYN to a
    closed port (answered with RST.ACK, seen on the wire);
  - a real kernel TCP connection to the echo port, opened before any junk,
    keeps echoing (round trips verified before, between and after);
  - a flood of 20,000 junk segments of every kind is counted exactly (what
    the tap delivered = what the drop reasons and rate-limited replies
    account for), creates no connection state, and hurts neither the live
    connection nor ping.

Everything runs in the broker's namespace: the injector (inject.py), the
sniffer and the kernel client are this file or inject.py run with
`ip netns exec`.
"""
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time
import unittest

from harness import Broker, BROKER_IP, HOST_IP, main
from test_malformed import INJECT, csum, ip4, ipv4

HERE = os.path.abspath(__file__)
ECHO_PORT = 7
CLOSED_PORT = 9
IFACE = "pt0"
# source ports of injected segments: below the kernel's ephemeral range, so
# never the live connection's
JUNK_SPORT = 20000
FLOOD_N = 20000
FLOOD_CHUNK = 1000        # frames per inject.py run (argv stays < 128 KiB)

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
TCP_PROTO = 6


def tcp(sport, dport, flags, seq=1000, ack=0, doff=5, win=8192, opts=b"",
        payload=b"", good_csum=True, src=HOST_IP, dst=BROKER_IP):
    """A TCP segment with its checksum over the IPv4 pseudo-header (the
    data offset field is written as given, whatever the real length)."""
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, (doff & 0xF) << 4, flags, win, 0,
                      0) + opts + payload
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, TCP_PROTO,
                                               len(seg))
    c = csum(pseudo + seg)
    if not good_csum:
        c ^= 0x5A5A
    return seg[:16] + struct.pack("!H", c) + seg[18:]


# Every junk kind: (name, drop reason, builder(i) -> TCP part). i makes
# the source port, sequence numbers and payloads differ from frame to frame.
def _bad_csum(i):
    return tcp(JUNK_SPORT + i % 1000, ECHO_PORT, PSH | ACK, seq=i, ack=i,
               payload=b"x" * (i % 50), good_csum=False)


def _short(i):
    return tcp(JUNK_SPORT + i % 1000, ECHO_PORT, SYN, seq=i)[:8 + i % 12]


def _doff_low(i):
    return tcp(JUNK_SPORT + i % 1000, ECHO_PORT, SYN, seq=i, doff=i % 5)


def _doff_past(i):
    return tcp(JUNK_SPORT + i % 1000, ECHO_PORT, SYN, seq=i,
               doff=7 + i % 9, opts=b"\x01" * 4 * (i % 2))


def _syn_fin(i):
    return tcp(JUNK_SPORT + i % 1000, ECHO_PORT, SYN | FIN, seq=i)


def _syn_rst(i):
    return tcp(JUNK_SPORT + i % 1000, ECHO_PORT, SYN | RST | (ACK * (i % 2)),
               seq=i)


def _no_flags(i):
    return tcp(JUNK_SPORT + i % 1000, ECHO_PORT, PSH * (i % 2), seq=i,
               payload=b"y" * (i % 7))


def _port_zero(i):
    if i % 2:
        return tcp(0, ECHO_PORT, SYN, seq=i)
    return tcp(JUNK_SPORT + i % 1000, 0, SYN, seq=i)


def _ack_closed(i):
    return tcp(JUNK_SPORT + i % 1000, CLOSED_PORT, ACK, seq=i, ack=7 * i)


JUNK = [
    ("bad_checksum", "tcp_bad_checksum", _bad_csum),
    ("short", "tcp_short", _short),
    ("doff_low", "tcp_bad_data_offset", _doff_low),
    ("doff_past", "tcp_bad_data_offset", _doff_past),
    ("syn_fin", "tcp_bad_flags", _syn_fin),
    ("syn_rst", "tcp_bad_flags", _syn_rst),
    ("no_flags", "tcp_bad_flags", _no_flags),
    ("port_zero", "tcp_port_zero", _port_zero),
    ("ack_closed", "tcp_no_conn", _ack_closed),
]


# ---------------------------------------------------------------------------
# In-namespace helpers (this file run with --client / --sniff).
# ---------------------------------------------------------------------------
def recv_exact(sock, n):
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise ConnectionError(f"EOF after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def client_main():
    """One kernel connection to the echo port; on stdin `RT N` runs N
    verified round trips and answers `OK N`, `QUIT` closes. Errors are
    answered `ERR ...` (and end the client)."""
    rnd = random.Random(7)
    try:
        s = socket.create_connection((BROKER_IP, ECHO_PORT), timeout=10)
        s.settimeout(10)
        print("READY", s.getsockname()[1], flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[0] == "QUIT":
                s.close()
                print("BYE", flush=True)
                return
            n = int(words[1])
            for _ in range(n):
                msg = rnd.randbytes(rnd.randint(1, 4000))
                s.sendall(msg)
                if recv_exact(s, len(msg)) != msg:
                    raise AssertionError(f"echo of {len(msg)} bytes differs")
            print("OK", n, flush=True)
    except Exception as e:  # report, the parent asserts
        print("ERR", type(e).__name__, e, flush=True)


def sniff_main(spec):
    """Open a packet socket on the tap, inject the frames with inject.py,
    and print (JSON) the TCP segments petreld sent to spec['ports'] within
    spec['wait'] seconds."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((IFACE, 0))
    subprocess.run([sys.executable, INJECT, IFACE] + spec["frames"],
                   check=True)
    got = []
    want = set(spec["ports"])
    deadline = time.time() + spec["wait"]
    while time.time() < deadline and len(got) < spec["expect"]:
        r, _, _ = select.select([s], [], [], deadline - time.time())
        if not r:
            break
        f = s.recv(2048)
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != TCP_PROTO:
            continue
        if f[26:30] != ip4(BROKER_IP):
            continue
        ihl = (f[14] & 0xF) * 4
        sport, dport, seq, ack, _, flags = struct.unpack(
            "!HHIIBB", f[14 + ihl:14 + ihl + 14])
        if dport in want:
            got.append({"sport": sport, "dport": dport, "seq": seq,
                        "ack": ack, "flags": flags})
    print(json.dumps(got), flush=True)


# ---------------------------------------------------------------------------
# The tests.
# ---------------------------------------------------------------------------
class TcpMalformedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker("tcpmal", args=[
            "--set", f"tcp.echo_port={ECHO_PORT}",
        ]).__enter__()
        cls.client = None
        try:
            assert cls.b.ping(1) == 1, "no ping before the TCP tests"
            cls.our = bytes.fromhex(
                cls.b.ctl("status")["mac"].replace(":", ""))
            link = cls.b.ns_run("cat", f"/sys/class/net/{IFACE}/address")
            cls.peer = bytes.fromhex(link.stdout.strip().replace(":", ""))
            cls.client = subprocess.Popen(
                ["ip", "netns", "exec", cls.b.ns, sys.executable, HERE,
                 "--client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True)
            words = cls._client_line(cls, 15).split()
            assert words and words[0] == "READY", f"client: {words}"
            cls.live_port = int(words[1])
        except BaseException:
            cls._stop_client(cls)
            cls.b.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop_client(cls)
        cls.b.__exit__(None, None, None)  # stops it, checks sanitizers

    # -- the live kernel connection --
    def _client_line(self, timeout):
        r, _, _ = select.select([self.client.stdout], [], [], timeout)
        if not r:
            raise AssertionError(f"kernel client silent for {timeout} s")
        return self.client.stdout.readline().strip()

    def _stop_client(self):
        if self.client is None:
            return
        if self.client.poll() is None:
            try:
                self.client.stdin.write("QUIT\n")
                self.client.stdin.flush()
                self.client.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.client.kill()
                self.client.wait()
        for f in (self.client.stdin, self.client.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.client = None

    def round_trips(self, n=5):
        """n echo round trips on the connection opened in setUpClass."""
        self.assertIsNone(self.client.poll(), "kernel client died")
        self.client.stdin.write(f"RT {n}\n")
        self.client.stdin.flush()
        line = self._client_line(30)
        self.assertEqual(line, f"OK {n}", "live connection broken")

    # -- frames and counters --
    def eth(self, l4):
        return self.our + self.peer + struct.pack("!H", 0x0800) + \
            ipv4(l4, proto=TCP_PROTO)

    def inject(self, frames):
        r = self.b.ns_run(sys.executable, INJECT, IFACE,
                          *[f.hex() for f in frames])
        self.assertEqual(r.returncode, 0, r.stderr)

    def tcp_stats(self):
        return self.b.stats()["tcp"]

    def tap_dropped(self):
        r = self.b.ns_run("cat",
                          f"/sys/class/net/{IFACE}/statistics/tx_dropped")
        return int(r.stdout.strip())

    def wait_for(self, cond, timeout=5.0):
        deadline = time.time() + timeout
        while not cond() and time.time() < deadline:
            time.sleep(0.05)
        return cond()

    def ip_drops(self):
        # IPv4 reasons only: the kernel side may send IPv6 (ND, MLD) or ARP
        # of its own at any time
        return {r: v for r, v in self.b.drops().items()
                if r.startswith("ip_")}

    def expect_drop(self, reason, l4, n=3):
        before = self.tcp_stats()
        ip_before = self.ip_drops()
        self.inject([self.eth(l4)] * n)
        self.wait_for(lambda: self.tcp_stats()["drops"][reason]
                      >= before["drops"][reason] + n)
        after = self.tcp_stats()
        self.assertEqual(after["drops"][reason], before["drops"][reason] + n,
                         reason)
        # nothing else moved: no other TCP drop, no L2/L3 drop, no state
        for r, v in after["drops"].items():
            if r != reason:
                self.assertEqual(v, before["drops"][r], f"{r} moved too")
        self.assertEqual(self.ip_drops(), ip_before)
        self.assertEqual(after["states"]["syn_rcvd"], 0)
        return before, after

    # -- one kind at a time --
    def test_01_live_connection_echoes(self):
        self.round_trips(5)

    def test_02_bad_checksum(self):
        self.expect_drop("tcp_bad_checksum",
                         tcp(JUNK_SPORT, ECHO_PORT, SYN, good_csum=False))
        # a bad checksum is refused before anything else is looked at, even
        # a RST aimed at the live connection's own ports
        self.expect_drop("tcp_bad_checksum",
                         tcp(self.live_port, ECHO_PORT, RST | ACK,
                             good_csum=False))
        self.round_trips(2)

    def test_03_truncated_header(self):
        self.expect_drop("tcp_short", tcp(JUNK_SPORT, ECHO_PORT, SYN)[:12])
        self.expect_drop("tcp_short", tcp(JUNK_SPORT, ECHO_PORT, SYN)[:19])

    def test_04_data_offset_below_5(self):
        self.expect_drop("tcp_bad_data_offset",
                         tcp(JUNK_SPORT, ECHO_PORT, SYN, doff=4))
        self.expect_drop("tcp_bad_data_offset",
                         tcp(JUNK_SPORT, ECHO_PORT, SYN, doff=0))

    def test_05_data_offset_past_segment(self):
        self.expect_drop("tcp_bad_data_offset",
                         tcp(JUNK_SPORT, ECHO_PORT, SYN, doff=15))
        self.expect_drop("tcp_bad_data_offset",
                         tcp(JUNK_SPORT, ECHO_PORT, SYN, doff=7,
                             opts=b"\x02\x04\x05\xb4"))

    def test_06_syn_fin(self):
        self.expect_drop("tcp_bad_flags",
                         tcp(JUNK_SPORT, ECHO_PORT, SYN | FIN))

    def test_07_syn_rst(self):
        self.expect_drop("tcp_bad_flags",
                         tcp(JUNK_SPORT, ECHO_PORT, SYN | RST))

    def test_08_no_flags(self):
        self.expect_drop("tcp_bad_flags", tcp(JUNK_SPORT, ECHO_PORT, 0))
        self.expect_drop("tcp_bad_flags",
                         tcp(JUNK_SPORT, ECHO_PORT, PSH, payload=b"data"))

    def test_09_port_zero(self):
        self.expect_drop("tcp_port_zero", tcp(0, ECHO_PORT, SYN))
        self.expect_drop("tcp_port_zero", tcp(JUNK_SPORT, 0, SYN))

    def test_10_ack_to_closed_port_gets_rst(self):
        before, after = self.expect_drop(
            "tcp_no_conn", tcp(JUNK_SPORT + 1, CLOSED_PORT, ACK, seq=5,
                               ack=0x12345678))
        self.assertEqual(after["rst_sent"] + after["replies_rate_limited"],
                         before["rst_sent"] + before["replies_rate_limited"]
                         + 3)
        self.assertGreater(after["rst_sent"], before["rst_sent"])
        # on the wire: a bare RST whose sequence is the ACK's number
        seen = self.sniff([tcp(JUNK_SPORT + 2, CLOSED_PORT, ACK, seq=5,
                               ack=0x12345678)], [JUNK_SPORT + 2])
        self.assertEqual(len(seen), 1, seen)
        self.assertEqual(seen[0]["flags"], RST, seen)
        self.assertEqual(seen[0]["seq"], 0x12345678, seen)
        self.assertEqual(seen[0]["sport"], CLOSED_PORT, seen)

    def test_11_syn_to_closed_port_gets_rst_ack(self):
        before, after = self.expect_drop(
            "tcp_no_listener", tcp(JUNK_SPORT + 3, CLOSED_PORT, SYN,
                                   seq=1000))
        self.assertGreater(after["rst_sent"], before["rst_sent"])
        seen = self.sniff([tcp(JUNK_SPORT + 4, CLOSED_PORT, SYN, seq=4242)],
                          [JUNK_SPORT + 4])
        self.assertEqual(len(seen), 1, seen)
        self.assertEqual(seen[0]["flags"], RST | ACK, seen)
        self.assertEqual(seen[0]["ack"], 4243, seen)

    def sniff(self, l4s, ports, wait=3.0):
        spec = {"frames": [self.eth(x).hex() for x in l4s], "ports": ports,
                "wait": wait, "expect": len(l4s)}
        r = self.b.ns_run(sys.executable, HERE, "--sniff", json.dumps(spec),
                          timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1])

    # -- everything at once --
    def test_20_flood_is_counted_and_harmless(self):
        self.round_trips(3)
        rnd = random.Random(20000)
        kinds = [rnd.randrange(len(JUNK)) for _ in range(FLOOD_N)]
        sent = {}
        for k in kinds:
            sent[JUNK[k][1]] = sent.get(JUNK[k][1], 0) + 1
        ack_closed = sum(1 for k in kinds if JUNK[k][0] == "ack_closed")
        before = self.tcp_stats()
        ip_before = self.ip_drops()
        tap_before = self.tap_dropped()
        t0 = time.time()
        for off in range(0, FLOOD_N, FLOOD_CHUNK):
            frames = [self.eth(JUNK[k][2](off + j)).hex() for j, k in
                      enumerate(kinds[off:off + FLOOD_CHUNK])]
            inj = subprocess.Popen(
                ["ip", "netns", "exec", self.b.ns, sys.executable, INJECT,
                 IFACE] + frames, stderr=subprocess.PIPE, text=True)
            self.round_trips(1)  # the live connection, while junk flows
            _, err = inj.communicate(timeout=60)
            self.assertEqual(inj.returncode, 0, err)
        elapsed = time.time() - t0
        lost = self.tap_dropped() - tap_before

        def counted():
            d = self.tcp_stats()["drops"]
            return sum(d[r] - before["drops"][r] for r in sent)

        self.wait_for(lambda: counted() >= FLOOD_N - lost, timeout=10)
        after = self.tcp_stats()
        print(f"\n{FLOOD_N} junk segments in {elapsed:.1f} s, {lost} lost "
              f"in the tap", file=sys.stderr)
        # every frame the tap delivered is counted under its own reason
        # (what the tap lost may include the live connection's segments)
        self.assertGreaterEqual(counted(), FLOOD_N - lost, (sent, lost))
        self.assertLessEqual(counted(), FLOOD_N, (sent, lost))
        for reason, n in sent.items():
            got = after["drops"][reason] - before["drops"][reason]
            self.assertLessEqual(got, n, reason)
            self.assertGreaterEqual(got, n - lost, reason)
        for r, v in after["drops"].items():
            if r not in sent:
                self.assertEqual(v, before["drops"][r], f"{r} moved")
        self.assertEqual(self.ip_drops(), ip_before)
        # ACKs to the closed port: answered, or refused by the rate limit
        replies = (after["rst_sent"] + after["replies_rate_limited"]
                   - before["rst_sent"] - before["replies_rate_limited"])
        self.assertGreaterEqual(replies, ack_closed - lost)
        self.assertLessEqual(replies, ack_closed)
        # no connection state came of it: only the live connection is open
        self.assertEqual(after["conns_in_use"], 1)
        self.assertEqual(after["states"]["established"], 1)
        self.assertEqual(after["states"]["syn_rcvd"], 0)
        self.assertEqual(after["conns_accepted"], before["conns_accepted"])
        self.round_trips(5)
        self.assertEqual(self.b.ping(3), 3)

    def test_99_live_connection_still_echoes(self):
        self.round_trips(10)
        st = self.tcp_stats()
        self.assertEqual(st["conns_reset"], 0)
        self.assertEqual(st["conns_in_use"], 1)


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--client":
        client_main()
    elif len(sys.argv) == 3 and sys.argv[1] == "--sniff":
        sniff_main(json.loads(sys.argv[2]))
    else:
        main()
