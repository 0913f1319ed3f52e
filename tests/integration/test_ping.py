#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""ARP and ICMP against a real petreld, driven by the Linux kernel's ping."""
import re
import unittest

from harness import Broker, BROKER_IP, main


class PingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker("ping").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.b.__exit__(None, None, None)  # stops it, checks sanitizers

    def test_ping_three_replies(self):
        before = self.b.stats()["icmp_echo_replies"]
        self.assertEqual(self.b.ping(3), 3)
        self.assertGreaterEqual(self.b.stats()["icmp_echo_replies"],
                                before + 3)

    def test_arp_resolved_by_kernel(self):
        self.b.ping(1)
        status = self.b.ctl("status")
        neigh = self.b.ns_run("ip", "neigh", "show", BROKER_IP).stdout
        # the kernel learned petrel's MAC through our ARP reply/announce
        self.assertIn(status["mac"].lower(), neigh.lower())
        self.assertGreaterEqual(self.b.stats()["arp_replies"]
                                + self.b.stats()["arp_requests"], 1)

    def test_ping_sizes(self):
        for size in (0, 1, 57, 1000, 1472):
            with self.subTest(size=size):
                self.assertEqual(self.b.ping(2, size=size, interval=0.05), 2)

    def test_flood_ping_all_answered_no_leak(self):
        base = self.b.ctl("stats")["cores"][0]["pool_in_use"]
        got = self.b.ping(2000, flood=True)
        self.assertGreaterEqual(got, 1990)  # -f may give up on the last few
        self.assertEqual(self.b.ctl("stats")["cores"][0]["pool_in_use"],
                         base)

    def test_fragmented_ping_refused_and_counted(self):
        # 3000 bytes need two fragments: no reassembly, counted, no reply
        before = self.b.drops()["ip_fragment"]
        self.assertEqual(self.b.ping(1, size=3000), 0)
        self.assertGreaterEqual(self.b.drops()["ip_fragment"], before + 2)
        self.assertEqual(self.b.ping(1), 1)  # still fine afterwards

    def test_stats_shape(self):
        s = self.b.ctl("stats")
        self.assertEqual(len(s["cores"]), 1)
        core = s["cores"][0]
        self.assertGreater(core["loops"], 0)
        for k in ("rx_pkts", "tx_pkts", "drops", "pool_size"):
            self.assertIn(k, core)
        self.assertTrue(re.match(r"^[0-9A-F:]{17}$",
                                 self.b.ctl("status")["mac"]))


class GatewayTest(unittest.TestCase):
    def test_gateway_resolved_without_traffic(self):
        # the kernel side plays the gateway: petrel asks for it by ARP at
        # start and learns the answer before any ping is sent
        with Broker("gw", args=["--set", "net.gateway=10.99.0.1"]) as b:
            for _ in range(50):
                s = b.stats()
                if s["arp_learned"] >= 1:
                    break
                b.ns_run("sleep", "0.1")
            self.assertGreaterEqual(s["arp_requests"], 2)  # announce + gw
            self.assertGreaterEqual(s["arp_learned"], 1)
            self.assertEqual(s["icmp_echo_replies"], 0)


if __name__ == "__main__":
    main()
