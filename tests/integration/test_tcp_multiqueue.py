#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""TCP-lite on several dataplane cores: with dp.cores = 2 the tap has two
queues, the kernel steers each flow to one queue by its hash, and each
core runs its own stack. Many kernel connections must spread over both
cores, echo byte for byte, and never be seen by the wrong core: a segment
of a flow that moved would land on a core without its connection and be
counted as tcp_no_conn / tcp_bad_cookie and answered with a RST.
"""
import random
import sys
import unittest

from harness import Broker, main
from test_tcp_echo import (ECHO_PORT, HERE, run_client, tune_kernel_route,
                           wait_gauges_zero)

CONNS = 400


class TcpMultiQueueTest(unittest.TestCase):
    def test_flows_stay_on_their_core(self):
        with Broker("tcpmq", args=["--set", "dp.cores=2",
                                   "--set", f"tcp.echo_port={ECHO_PORT}"]) as b:
            self.assertEqual(b.ping(1), 1)
            tune_kernel_route(b, "20ms")
            rnd = random.Random(42)
            sizes = [rnd.randint(100, 20000) for _ in range(CONNS)]
            res = run_client(b, HERE, {"mode": "echo", "sizes": sizes,
                                       "limit": 60, "seed": 42}, timeout=120)
            self.assertEqual(res["failed"], 0, res["failures"])
            self.assertEqual(res["ok"], CONNS)
            wait_gauges_zero(b)
            cores = b.ctl("stats")["cores"]
            self.assertEqual(len(cores), 2)
            for c in cores:
                t = c["tcp"]
                print(f"core {c['core']}: {t['conns_accepted']} connections, "
                      f"{t['rx_payload_bytes']} bytes in", file=sys.stderr)
                with self.subTest(core=c["core"]):
                    # both cores serve a share (the kernel's hash spreads
                    # flows; 400 flows all on one queue would be a broken
                    # steering, not bad luck)
                    self.assertGreater(t["conns_accepted"], CONNS // 10)
                    self.assertEqual(t["conns_accepted"], t["conns_closed"])
                    for d in ("tcp_no_conn", "tcp_bad_cookie"):
                        self.assertEqual(t["drops"][d], 0, d)
                    self.assertEqual(t["conns_in_use"], 0)
            self.assertEqual(sum(c["tcp"]["conns_accepted"] for c in cores),
                             CONNS)
            total = b.ctl("stats")["total"]["tcp"]
            # sizes per connection are not summed over the cores
            self.assertEqual(total["conn_bytes"], cores[0]["tcp"]["conn_bytes"])
            self.assertLessEqual(total["conn_bytes"], 256)
            self.assertEqual(total["conns_max"],
                             sum(c["tcp"]["conns_max"] for c in cores))


if __name__ == "__main__":
    main()
