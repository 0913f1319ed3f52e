#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The core MQTT checks again with 5% of the frames lost each way: the
QoS matrix across cores and per-publisher order (test_mqtt_basic
CoreCases), retained messages (RetainedCases), wills (test_mqtt_session
WillCases) and persistent sessions, QoS 2 exactly once and DUP redelivery
(PersistentCases). The same test functions, on a broker started with the
fixture's loss option: petreld drops 5% of received and of transmitted
frames (fault.*_drop_ppm) and both TCP sides retransmit after 5 ms at the
earliest; against the reference, an nftables rule drops 5% of the
namespace's loopback packets (skipped where nft is missing).
"""
import mqtt_fixture as mf
from test_mqtt_basic import CoreCases, RetainedCases
from test_mqtt_session import PersistentCases, WillCases


class MqttLossTest(CoreCases, RetainedCases, WillCases, PersistentCases,
                   mf.MqttTestCase):
    TAG = "mqloss"
    BROKER_OPTS = {"loss": True}

    def test_00_loss_is_on(self):
        """The loss is real: frames are being dropped."""
        c = self.paho()
        c.subscribe([(self.uniq("l") + "/#", 1)], timeout=20)
        for i in range(50):
            c.publish(self.uniq("x"), b"y" * 1000, 1, timeout=20)
        if self.petrel:
            # stats' "fault" objects ({"rx": {"dropped": n, ...}, "tx": ...}
            # in the total and/or per core)
            dropped = {"rx": 0, "tx": 0}

            def walk(o):
                if isinstance(o, dict):
                    for k, v in o.items():
                        if k == "fault" and isinstance(v, dict):
                            for d in dropped:
                                dropped[d] += v.get(d, {}).get("dropped", 0)
                        else:
                            walk(v)
                elif isinstance(o, list):
                    for v in o:
                        walk(v)
            walk(self.mq.pb.ctl("stats"))
            self.assertGreater(dropped["rx"], 0, "no frames dropped on RX")
            self.assertGreater(dropped["tx"], 0, "no frames dropped on TX")
        else:
            r = self.mq.ns_run("nft", "list", "table", "inet", "ptloss")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("numgen random", r.stdout)


if __name__ == "__main__":
    mf.main()
