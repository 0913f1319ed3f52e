#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Memory per idle MQTT session and per subscription, from pool counters.

Starts petreld (tests/integration/harness.py: its own namespace, tap) with
--cores dataplane cores, opens --sessions MQTT connections from the kernel
side of the tap (CONNECT, clean session, keep-alive 0, no subscriptions),
waits for every CONNACK and reads `petrelctl stats`:

  per idle session = (TCP connections in use x tcp.conn_bytes
                      + MQTT connection actors x mqtt_conn_bytes
                      + MQTT sessions x mqtt_session_bytes) / sessions

(each *_bytes figure is one pool object with its pool header plus its
actor-table slot; nothing else is allocated per session: received bytes
live in mbufs only while a packet is incomplete, and idle sessions hold
none). Then every session subscribes to --subs filters of its own
("mem/<i>/<k>", distinct, so each is also a route) and it reads:

  per subscription = trie bytes in use / subscriptions   (mqtt_sub_bytes)
  route table      = route-table bytes per (filter, core) route

Everything stays inside the namespace; the run is bounded (--timeout).
Usage: perf/mqtt_memory.py [--sessions N] [--subs K] [--cores C]
                           [--petreld PATH] [--petrelctl PATH] [--json FILE]
"""
import argparse
import json
import os
import resource
import selectors
import socket
import struct
import sys
import time

HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402


def setns(ns):
    import ctypes
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)


def mqtt_str(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def remlen(n):
    out = bytearray()
    while True:
        d = n % 128
        n //= 128
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_pkt(cid):
    body = mqtt_str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 0) + \
        mqtt_str(cid)
    return b"\x10" + remlen(len(body)) + body


def subscribe_pkt(pid, filters):
    body = struct.pack("!H", pid)
    for f in filters:
        body += mqtt_str(f) + b"\x00"
    return b"\x82" + remlen(len(body)) + body


def expect_all(socks, nbytes, first_byte, timeout):
    """Read nbytes from every socket; each reply must start with
    first_byte. Returns when all have answered."""
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    left = len(socks)
    deadline = time.monotonic() + timeout
    while left:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} of {len(socks)} replies missing")
        for key, _ in sel.select(1.0):
            s = key.fileobj
            data = s.recv(nbytes - len(got[s]))
            if not data:
                raise RuntimeError("broker closed a connection")
            got[s] += data
            if len(got[s]) == nbytes:
                if got[s][0] != first_byte:
                    raise RuntimeError(f"unexpected reply {got[s]!r}")
                sel.unregister(s)
                left -= 1
    sel.close()


def flat(d, out=None):
    out = {} if out is None else out
    for k, v in d.items():
        if isinstance(v, dict):
            flat(v, out)
        else:
            out[k] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20000)
    ap.add_argument("--subs", type=int, default=4)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--petreld", default=os.path.join(ROOT, "build/apps/petreld"))
    ap.add_argument("--petrelctl",
                    default=os.path.join(ROOT, "build/apps/petrelctl"))
    ap.add_argument("--json")
    a = ap.parse_args()
    harness.PETRELD = a.petreld
    harness.PETRELCTL = a.petrelctl
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.sessions + 256
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        except (ValueError, OSError):
            # one socket per session on the client side: the file limit
            # caps the count where it cannot be raised (containers)
            a.sessions = hard - 256
            print(f"file limit {hard}: measuring {a.sessions} sessions",
                  file=sys.stderr)
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    n = a.sessions
    args = ["--set", f"dp.cores={a.cores}",
            "--set", f"tcp.max_conns={n + 1024}",
            "--set", f"mqtt.max_sessions={n + 1024}",
            "--set", f"mqtt.max_subscriptions={n * a.subs + 1024}",
            "--set", f"mqtt.max_routes={n * a.subs + 1024}",
            "--set", "mqtt.sys_interval_s=0",
            "--set", "mqtt.allow_anonymous=on"]
    with harness.Broker("mqmem", args=args) as b:
        setns(b.ns)
        socks = []
        t0 = time.monotonic()
        for i in range(n):
            s = socket.create_connection((harness.BROKER_IP, 1883), timeout=10)
            s.sendall(connect_pkt(f"mem{i}"))
            socks.append(s)
            if len(socks) % 1000 == 0:
                expect_all(socks[-1000:], 4, 0x20, a.timeout)
        rest = len(socks) % 1000
        if rest:
            expect_all(socks[-rest:], 4, 0x20, a.timeout)
        t_conn = time.monotonic() - t0
        time.sleep(1.5)
        st = b.ctl("stats")
        tot = flat(st["total"])
        tcp_in_use = tot["conns_in_use"]
        sessions = tot["mqtt_sessions"]
        idle = (tcp_in_use * tot["conn_bytes"] +
                tot["mqtt_connections"] * tot["mqtt_conn_bytes"] +
                sessions * tot["mqtt_session_bytes"]) / max(sessions, 1)
        res = {
            "sessions": sessions,
            "tcp_conns": tcp_in_use,
            "tcp_conn_bytes": tot["conn_bytes"],
            "mqtt_conn_bytes": tot["mqtt_conn_bytes"],
            "mqtt_session_bytes": tot["mqtt_session_bytes"],
            "bytes_per_idle_session": round(idle, 1),
            "mbufs_in_use": sum(c["pool_in_use"] for c in st["cores"]),
            "connect_seconds": round(t_conn, 2),
        }
        # subscriptions: every session its own filters (each a route too)
        for i in range(0, n, 1000):
            batch = socks[i:i + 1000]
            for j, s in enumerate(batch):
                s.sendall(subscribe_pkt(
                    1, [f"mem/{i + j}/{k}" for k in range(a.subs)]))
            expect_all(batch, 4 + a.subs, 0x90, a.timeout)
        time.sleep(1.5)
        st = b.ctl("stats")
        tot = flat(st["total"])
        subs = tot["mqtt_subscriptions"]
        per_core = [flat(c).get("mqtt_sub_bytes", 0) for c in st["cores"]]
        br = st.get("broker", {})
        res.update({
            "subscriptions": subs,
            "bytes_per_subscription": max(per_core),
            "routes": br.get("routes", 0),
            "route_bytes_per_route": round(
                br.get("route_bytes", 0) / max(br.get("routes", 0), 1), 1),
        })
        for s in socks:
            s.close()
    print(json.dumps(res, indent=1))
    print(f"\n| figure | value | goal |\n|---|---|---|\n"
          f"| bytes per idle session (TCP + MQTT) | "
          f"{res['bytes_per_idle_session']} | <= 1024 |\n"
          f"| trie bytes per subscription | {res['bytes_per_subscription']}"
          f" | <= 128 |\n"
          f"| route-table bytes per route (both copies; one route per "
          f"distinct filter and core) | {res['route_bytes_per_route']} | |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    ok = res["bytes_per_idle_session"] <= 1024 and \
        0 < res["bytes_per_subscription"] <= 128
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
