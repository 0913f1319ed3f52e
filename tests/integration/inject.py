#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Send raw Ethernet frames out of an interface (run inside the test's own
namespace with `ip netns exec`). Usage: inject.py IFNAME HEXFRAME..."""
import socket
import sys

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]:
    s.send(bytes.fromhex(h))
