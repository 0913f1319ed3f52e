#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Malformed and unwanted frames, injected from the kernel side of the tap:
each is counted under its own drop reason, none is answered, and petreld
keeps answering ping afterwards."""
import os
import struct
import unittest

from harness import Broker, BROKER_IP, HOST_IP, main

INJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inject.py")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(addr):
    return bytes(int(x) for x in addr.split("."))


def ipv4(payload, proto=1, src=HOST_IP, dst=BROKER_IP, ihl=5, version=4,
         frag=0x4000, total=None, options=b"", good_csum=True):
    total = total if total is not None else 20 + len(options) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, total, 1, frag,
                      64, proto, 0, ip4(src), ip4(dst)) + options
    c = csum(hdr)
    if not good_csum:
        c ^= 0x5A5A
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def icmp(typ=8, code=0, body=b"petrel-test", good_csum=True):
    msg = struct.pack("!BBHHH", typ, code, 0, 0x77, 1) + body
    c = csum(msg) ^ (0 if good_csum else 0x1111)
    return msg[:2] + struct.pack("!H", c) + msg[4:]


def arp(op=1, hlen=6, plen=4, htype=1, ptype=0x0800, sha=b"", tip=BROKER_IP):
    return struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + sha + \
        ip4(HOST_IP) + b"\0" * 6 + ip4(tip)


class MalformedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker("malformed").__enter__()
        cls.b.ping(1)  # let ARP settle
        cls.our = bytes.fromhex(cls.b.ctl("status")["mac"].replace(":", ""))
        link = cls.b.ns_run("cat", "/sys/class/net/pt0/address").stdout
        cls.peer = bytes.fromhex(link.strip().replace(":", ""))

    @classmethod
    def tearDownClass(cls):
        cls.b.__exit__(None, None, None)  # stops it, checks sanitizers

    def eth(self, payload, etype=0x0800, dst=None):
        return (dst or self.our) + self.peer + struct.pack("!H", etype) + \
            payload

    def send(self, *frames):
        r = self.b.ns_run("python3", INJECT, "pt0",
                          *[f.hex() for f in frames])
        self.assertEqual(r.returncode, 0, r.stderr)

    def expect_drop(self, reason, frame, n=3):
        before = self.b.drops()[reason]
        replies = self.b.stats()["icmp_echo_replies"]
        self.send(*([frame] * n))
        # the core naps at most a fraction of a millisecond; poll briefly
        for _ in range(50):
            if self.b.drops()[reason] >= before + n:
                break
            self.b.ns_run("sleep", "0.02")
        self.assertGreaterEqual(self.b.drops()[reason], before + n, reason)
        self.assertEqual(self.b.stats()["icmp_echo_replies"], replies)

    def test_good_echo_injected_is_answered(self):
        # the injector itself works: a well-formed echo gets its reply
        before = self.b.stats()["icmp_echo_replies"]
        self.send(self.eth(ipv4(icmp())))
        for _ in range(50):
            if self.b.stats()["icmp_echo_replies"] > before:
                break
            self.b.ns_run("sleep", "0.02")
        self.assertEqual(self.b.stats()["icmp_echo_replies"], before + 1)

    def test_ip_bad_version(self):
        self.expect_drop("ip_bad_version", self.eth(ipv4(icmp(), version=6)))

    def test_ip_bad_ihl(self):
        self.expect_drop("ip_bad_ihl", self.eth(ipv4(icmp(), ihl=3)))

    def test_ip_bad_length(self):
        self.expect_drop("ip_bad_length", self.eth(ipv4(icmp(), total=900)))

    def test_ip_bad_checksum(self):
        self.expect_drop("ip_bad_checksum",
                         self.eth(ipv4(icmp(), good_csum=False)))

    def test_ip_options(self):
        self.expect_drop("ip_options",
                         self.eth(ipv4(icmp(), ihl=6, options=b"\1\1\1\0")))

    def test_ip_fragment(self):
        self.expect_drop("ip_fragment", self.eth(ipv4(icmp(), frag=0x2000)))

    def test_ip_not_for_us(self):
        self.expect_drop("ip_not_for_us",
                         self.eth(ipv4(icmp(), dst="10.99.0.77")))

    def test_ip_bad_source(self):
        self.expect_drop("ip_bad_src", self.eth(ipv4(icmp(), src="127.0.0.1")))

    def test_ip_proto_unsupported(self):
        self.expect_drop("ip_proto_unsupported",
                         self.eth(ipv4(b"\0" * 8, proto=17)))

    def test_icmp_bad_checksum(self):
        self.expect_drop("icmp_bad_checksum",
                         self.eth(ipv4(icmp(good_csum=False))))

    def test_icmp_short(self):
        self.expect_drop("icmp_short", self.eth(ipv4(b"\x08\0\0")))

    def test_icmp_type_unsupported(self):
        self.expect_drop("icmp_type_unsupported", self.eth(ipv4(icmp(13))))

    def test_arp_bad_lengths(self):
        self.expect_drop("arp_bad_format",
                         self.eth(arp(hlen=8, sha=self.peer + b"\0\0"),
                                  etype=0x0806))
        self.expect_drop("arp_bad_format",
                         self.eth(arp(ptype=0x86DD, sha=self.peer),
                                  etype=0x0806))

    def test_arp_short(self):
        self.expect_drop("arp_short", self.eth(b"\0\1\x08\0\6\4", 0x0806))

    def test_arp_bad_op(self):
        self.expect_drop("arp_bad_op", self.eth(arp(op=9, sha=self.peer),
                                                etype=0x0806))

    def test_eth_not_for_us(self):
        self.expect_drop("eth_not_for_us",
                         self.eth(ipv4(icmp()), dst=b"\x02\0\0\0\0\x99"))

    def test_eth_type_unsupported(self):
        self.expect_drop("eth_type_unsupported",
                         self.eth(b"\0" * 46, etype=0x88CC))

    def test_zz_still_answers_after_all(self):
        self.assertEqual(self.b.ping(3), 3)


if __name__ == "__main__":
    main()
