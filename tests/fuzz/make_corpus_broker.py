#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of fuzz_broker (tests/fuzz/corpus_broker/).

Each seed is a valid MQTT session in fuzz_broker's input format (see the
top of fuzz_broker.c): a settings byte, then records. Slot k's connection
talks to core k % 2, so slots 0 and 2 share core 0, slots 1 and 3 core 1.
The subscriber's packet ids are the ones the broker's session hands out
(1, 2, ... per session), so the seeds acknowledge what they receive. The
output is deterministic: running it again rewrites the same bytes.

Usage: tests/fuzz/make_corpus_broker.py [OUTDIR]   (default: corpus_broker
beside this file)
"""
import os
import struct
import sys


# ---- MQTT packets as a client writes them ----

def remlen(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(b)) + b


def packet(first, body):
    return bytes([first]) + remlen(len(body)) + body


def connect(cid, clean=True, keepalive=60, will=None, user=None):
    """will: (topic, message, qos, retain)"""
    flags = 0x02 if clean else 0
    payload = s(cid)
    if will is not None:
        topic, msg, qos, retain = will
        flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
        payload += s(topic) + s(msg)
    if user is not None:
        flags |= 0x80
        payload += s(user)
    return packet(0x10, s("MQTT") + bytes([4, flags]) +
                  struct.pack(">H", keepalive) + payload)


def subscribe(pid, *filters):
    body = struct.pack(">H", pid)
    for f, qos in filters:
        body += s(f) + bytes([qos])
    return packet(0x82, body)


def unsubscribe(pid, *filters):
    return packet(0xA2, struct.pack(">H", pid) + b"".join(s(f) for f in filters))


def publish(topic, payload, qos=0, retain=False, pid=0, dup=False):
    body = s(topic) + (struct.pack(">H", pid) if qos else b"") + payload
    return packet(0x30 | qos << 1 | (1 if retain else 0) | (8 if dup else 0),
                  body)


def ack(kind, pid):
    first = {"puback": 0x40, "pubrec": 0x50, "pubrel": 0x62,
             "pubcomp": 0x70}[kind]
    return packet(first, struct.pack(">H", pid))


PINGREQ = packet(0xC0, b"")
DISCONNECT = packet(0xE0, b"")


# ---- fuzz_broker records ----

def settings(inflight=0, small_queue=False, one_retained=False,
             small_out=False, rules=False):
    return bytes([(inflight & 3) | (4 if small_queue else 0) |
                  (8 if one_retained else 0) | (16 if small_out else 0) |
                  (32 if rules else 0)])


def data(slot, payload, poll=True):
    """Send payload on the slot's connection (several records if long)."""
    out = b""
    while True:
        chunk, payload = payload[:255], payload[255:]
        op = (slot & 3) | (0 if poll and not payload else 0x04)
        out += bytes([op, len(chunk)]) + chunk
        if not payload:
            return out


def control(kind, slot=0):
    return bytes([0xC0 | (kind & 0xF) << 2 | (slot & 3)])


def reset(slot):
    return control(0, slot)


def close(slot):
    return control(1, slot)


def clock(tenths):
    return control(2) + bytes([tenths])


def step():
    return control(3)


def poll_core(slot):
    return control(4, slot)


def poll_ctl():
    return control(5)


def poll():
    return control(6)


# ---- the seeds ----

def seeds():
    out = {}

    # QoS 0, 1 and 2 from core 0 to a subscriber on core 1, every ack
    out["qos_all"] = (
        settings() +
        data(0, connect("pub")) + data(1, connect("sub")) +
        data(1, subscribe(1, ("t/#", 2))) +
        data(0, publish("t/a", b"zero")) +
        data(0, publish("t/b", b"one", qos=1, pid=1)) +
        data(0, publish("t/c", b"two", qos=2, pid=2)) +
        data(0, ack("pubrel", 2)) +
        data(1, ack("puback", 1) + ack("pubrec", 2)) +
        data(1, ack("pubcomp", 2)) +
        data(0, DISCONNECT) + data(1, DISCONNECT))

    # the same subscriber on the publisher's core, several filters
    out["qos_local"] = (
        settings() +
        data(0, connect("pub")) + data(2, connect("sub")) +
        data(2, subscribe(7, ("l/+", 1), ("l/#", 2), ("x", 0))) +
        data(0, publish("l/a", b"m1", qos=1, pid=3) +
             publish("l/a", b"m2", qos=2, pid=4)) +
        data(0, ack("pubrel", 4)) +
        data(2, ack("puback", 1) + ack("pubrec", 2)) +
        data(2, ack("pubcomp", 2) + PINGREQ) +
        data(2, unsubscribe(8, "l/+", "x")) +
        data(0, DISCONNECT) + data(2, DISCONNECT))

    # persistent session: offline queue, back on the other core
    out["offline_queue"] = (
        settings(small_queue=True) +
        data(1, connect("dev", clean=False)) +
        data(1, subscribe(1, ("q/#", 1))) +
        data(1, DISCONNECT) +
        data(0, connect("pub")) +
        data(0, b"".join(publish("q/t", b"m%d" % i, qos=1, pid=i)
                         for i in range(1, 4))) +
        close(1) +
        data(2, connect("dev", clean=False)) +
        data(2, ack("puback", 1) + ack("puback", 2)) +
        data(2, DISCONNECT))

    # an unacknowledged QoS 1 resent with DUP after a reset
    out["dup_resend"] = (
        settings() +
        data(1, connect("dev", clean=False)) +
        data(1, subscribe(1, ("d/#", 2))) +
        data(0, connect("pub")) +
        data(0, publish("d/a", b"one", qos=1, pid=1) +
             publish("d/b", b"two", qos=2, pid=2)) +
        data(1, ack("pubrec", 2)) +
        reset(1) +
        data(1, connect("dev", clean=False)) +
        data(1, ack("puback", 1) + ack("pubcomp", 2)) +
        data(1, DISCONNECT))

    # takeover of an online connection from the other core
    out["takeover"] = (
        settings() +
        data(0, connect("twin", clean=False, will=("w/twin", b"bye", 1,
                                                   False))) +
        data(0, subscribe(1, ("a/b", 1))) +
        data(1, connect("twin", clean=False)) +
        data(2, connect("pub")) +
        data(2, publish("a/b", b"to the new one", qos=1, pid=9)) +
        data(1, ack("puback", 1)) +
        data(3, connect("twin", clean=True)) +
        data(3, DISCONNECT))

    # wills: reset, FIN, keep-alive expiry; retained will
    out["wills"] = (
        settings() +
        data(1, connect("watch", keepalive=0)) +
        data(1, subscribe(1, ("w/#", 1))) +
        data(0, connect("r", will=("w/r", b"reset", 1, True))) +
        data(2, connect("f", will=("w/f", b"fin", 0, False))) +
        data(3, connect("k", keepalive=1, will=("w/k", b"idle", 1, False))) +
        reset(0) + close(2) +
        clock(20) +
        data(1, ack("puback", 1) + ack("puback", 2)) +
        data(0, connect("late")) +
        data(0, subscribe(2, ("w/r", 0))) +
        data(0, DISCONNECT) + data(1, DISCONNECT))

    # retained: store, replace, deliver on subscribe, clear
    out["retained"] = (
        settings(one_retained=True) +
        data(0, connect("pub")) +
        data(0, publish("r/a", b"v1", qos=1, retain=True, pid=1)) +
        data(1, connect("s1")) +
        data(1, subscribe(1, ("r/#", 1))) +
        data(1, ack("puback", 1)) +
        data(0, publish("r/a", b"v2", retain=True)) +
        data(0, publish("r/b", b"over the limit", retain=True)) +
        data(0, publish("r/a", b"", retain=True)) +
        data(3, connect("s2")) +
        data(3, subscribe(1, ("r/+", 2))) +
        data(0, DISCONNECT) + data(1, DISCONNECT) + data(3, DISCONNECT))

    # QoS 2 duplicate before PUBREL, then the id reused
    out["qos2_dup"] = (
        settings() +
        data(1, connect("sub")) + data(1, subscribe(1, ("d/t", 2))) +
        data(0, connect("pub")) +
        data(0, publish("d/t", b"x", qos=2, pid=5)) +
        data(0, publish("d/t", b"x", qos=2, pid=5, dup=True)) +
        data(0, ack("pubrel", 5)) +
        data(0, publish("d/t", b"y", qos=2, pid=5)) +
        data(0, ack("pubrel", 5)) +
        data(1, ack("pubrec", 1) + ack("pubrec", 2)) +
        data(1, ack("pubcomp", 1) + ack("pubcomp", 2)))

    # no full poll between steps: logins, SYNCs and rings still busy
    out["partial_polls"] = (
        settings(inflight=1) +
        data(1, connect("sub", clean=False), poll=False) +
        poll_core(1) + poll_ctl() + step() +
        data(1, subscribe(1, ("p/#", 1)), poll=False) +
        data(0, connect("pub"), poll=False) +
        poll_ctl() + poll_core(1) + poll_ctl() + poll_core(0) + step() +
        data(0, publish("p/q", b"early", qos=1, pid=1), poll=False) +
        step() + step() + poll() +
        data(0, publish("p/q", b"later", qos=1, pid=2) +
             publish("p/q", b"queued", qos=1, pid=3)) +
        data(1, ack("puback", 1)) + data(1, ack("puback", 2)) +
        data(3, connect("sub", clean=False), poll=False) + reset(1) +
        poll() + data(3, ack("puback", 3)))

    # a subscriber slower than the publisher: its output queues fill and
    # deliveries wait in flight, sent as its ACKs make room
    burst = b"".join(publish("s/t", b"p" * 100, qos=1, pid=i)
                     for i in range(1, 25))
    out["slow_consumer"] = (
        settings(small_out=True) +
        data(0, connect("pub")) + data(2, connect("sub")) +
        data(2, subscribe(1, ("s/#", 2))) +
        data(0, burst, poll=False) +
        data(2, b"".join(ack("puback", i) for i in range(1, 25))) +
        data(0, DISCONNECT) + data(2, DISCONNECT))

    # content rules (FZ_RULES in fuzz_broker.c): a counted message, a
    # dropped one at each QoS (still acknowledged), a dropped topic, and a
    # publisher disconnected; the subscriber on the other core gets only
    # what passes
    out["rules"] = (
        settings(rules=True) +
        data(0, connect("pub")) + data(1, connect("sub")) +
        data(1, subscribe(1, ("#", 2))) +
        data(0, publish("r/a", b"a counted one")) +
        data(0, publish("r/b", b"please DROP me", qos=1, pid=5)) +
        data(0, publish("r/c", b"drop", qos=2, pid=6)) +
        data(0, ack("pubrel", 6)) +
        data(0, publish("t/x", b"topic rule", qos=1, pid=7)) +
        data(1, ack("puback", 1)) +
        data(2, connect("bad")) +
        data(2, publish("r/d", b"now k1ll it", qos=1, pid=8)) +
        data(0, DISCONNECT) + data(1, DISCONNECT))

    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus_broker")
    os.makedirs(outdir, exist_ok=True)
    for name, blob in sorted(seeds().items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
