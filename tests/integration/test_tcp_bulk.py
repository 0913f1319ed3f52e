#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bulk transfer through TCP-lite's echo listener under injected faults:
PT_BULK_MB (default 100) MB of random bytes go from a kernel socket to
petreld and come back on the same connection, while petreld's fault
injection drops and reorders frames in both directions (0 %, 1 %, 5 %; one
broker per level). What comes back must hash (sha256) to what was sent, each
level must finish within its time limit, and under loss both sides must
have retransmitted (petreld's `retransmits`, the kernel's tcpi_total_retrans).

The kernel side recovers in milliseconds rather than the default 200 ms:
its route to the broker gets rto_min 5ms and quickack (inside the
namespace), and petreld runs with tcp.rto_min_ms=5.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
import unittest

from harness import Broker, BROKER_IP, main
from test_tcp_echo import (ECHO_PORT, counter, run_client, tcp_stats,
                           tune_kernel_route, wait_gauges_zero, LIVE_STATES)

HERE = os.path.abspath(__file__)
BULK_MB = float(os.environ.get("PT_BULK_MB", "100"))
CHUNK = 256 * 1024

# (loss and reorder per million frames, each direction; seconds allowed for
# 100 MB, scaled with PT_BULK_MB; at least 10 s)
LEVELS = {
    0: (0, 40),
    1: (10000, 60),
    5: (50000, 100),
}


def tcp_info(sock):
    """(tcpi_options, tcpi_snd_mss, tcpi_rtt us, tcpi_total_retrans) of a
    kernel socket (struct tcp_info, linux/tcp.h)."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    u8 = struct.unpack_from("8B", raw, 0)
    u32 = struct.unpack_from("24I", raw, 8)
    return {"options": u8[5], "snd_mss": u32[2], "rtt_us": u32[15],
            "total_retrans": u32[23]}


def bulk_client(spec):
    """Send spec['bytes'] random bytes and read them back concurrently;
    report both hashes, the bytes that came back and the time taken."""
    total, limit = spec["bytes"], spec["limit"]
    h_tx, h_rx = hashlib.sha256(), hashlib.sha256()
    errors = []
    t0 = time.time()
    deadline = t0 + limit
    s = socket.create_connection((BROKER_IP, ECHO_PORT), timeout=10)
    s.settimeout(max(1.0, deadline - time.time()))

    def sender():
        left = total
        try:
            while left:
                chunk = os.urandom(min(CHUNK, left))
                h_tx.update(chunk)
                s.sendall(chunk)
                left -= len(chunk)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(f"send ({total - left} of {total} sent): {e!r}")

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        while True:
            left_s = deadline - time.time()
            if left_s <= 0:
                errors.append(f"time limit {limit} s: {got} of {total} "
                              "bytes back")
                break
            s.settimeout(max(0.05, left_s))
            try:
                n = s.recv_into(buf)
            except socket.timeout:
                continue
            if n == 0:
                break
            h_rx.update(view[:n])
            got += n
    except OSError as e:
        errors.append(f"recv ({got} of {total} back): {e!r}")
    elapsed = time.time() - t0
    info = tcp_info(s)
    th.join(timeout=1)
    s.close()
    return {"sent_sha256": h_tx.hexdigest(), "back_sha256": h_rx.hexdigest(),
            "bytes": total, "back": got, "elapsed": round(elapsed, 3),
            "errors": errors, "tcp_info": info}


class TcpBulkTest(unittest.TestCase):
    def transfer(self, level):
        ppm, limit_100 = LEVELS[level]
        nbytes = int(BULK_MB * 1024 * 1024)
        limit = max(10.0, limit_100 * BULK_MB / 100)
        args = ["--set", f"tcp.echo_port={ECHO_PORT}",
                "--set", "tcp.rto_min_ms=5",
                "--set", f"fault.seed={1000 + level}"]
        for key in ("rx_drop_ppm", "tx_drop_ppm", "rx_reorder_ppm",
                    "tx_reorder_ppm"):
            args += ["--set", f"fault.{key}={ppm}"]
        with Broker(f"bulk{level}", args=args) as b:
            self.assertEqual(b.ping(1), 1)
            tune_kernel_route(b, "5ms")
            before = tcp_stats(b)
            res = run_client(b, HERE, {"bytes": nbytes, "limit": limit},
                             timeout=limit + 30)
            after = wait_gauges_zero(b, timeout=10)
            retrans = counter(after, "retransmits") - \
                counter(before, "retransmits")
            # what came back went both ways: count it twice
            mbps = 2 * res["back"] / 1e6 / max(res["elapsed"], 1e-3)
            print(f"\n{level}% loss+reorder: {res['back']} of {nbytes} "
                  f"bytes echoed in {res['elapsed']} s ({mbps:.1f} MB/s both "
                  f"directions together); petreld retransmits {retrans}, "
                  f"rto_fired "
                  f"{after.get('rto_fired')}, fast_retransmits "
                  f"{after.get('fast_retransmits')}, dup_acks_received "
                  f"{after.get('dup_acks_received')}, drops out_of_order "
                  f"{after.get('tcp_out_of_order')} out_of_window "
                  f"{after.get('tcp_out_of_window')}; kernel "
                  f"{res['tcp_info']}", file=sys.stderr)
            self.assertEqual(res["errors"], [])
            self.assertEqual(res["back"], nbytes)
            self.assertEqual(res["back_sha256"], res["sent_sha256"])
            self.assertLessEqual(res["elapsed"], limit)
            if ppm:
                self.assertGreater(retrans, 0, "petreld never retransmitted")
                self.assertGreater(res["tcp_info"]["total_retrans"], 0,
                                   "the kernel never retransmitted")
            for name in LIVE_STATES + ("conns_in_use",):
                self.assertEqual(counter(after, name), 0, name)

    def test_0_no_loss(self):
        self.transfer(0)

    def test_1_one_percent_loss_and_reorder(self):
        self.transfer(1)

    def test_5_five_percent_loss_and_reorder(self):
        self.transfer(5)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        print(json.dumps(bulk_client(json.loads(sys.argv[2]))), flush=True)
    else:
        main()
