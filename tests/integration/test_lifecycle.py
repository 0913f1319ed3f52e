#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""petreld's life cycle: clean stops, instance isolation, config errors,
multi-core start, and a control socket that bad clients cannot block."""
import signal
import socket
import subprocess
import time
import unittest

from harness import Broker, PETRELD, main


class LifecycleTest(unittest.TestCase):
    def test_sigterm_clean_exit_within_2s(self):
        with Broker("term") as b:
            self.assertEqual(b.ping(2), 2)
            rc, took = b.stop(signal.SIGTERM)
            self.assertEqual(rc, 0, b.output())
            self.assertLess(took, 2.0)
            self.assertIn("stopped cleanly", b.output())

    def test_sigint_clean_exit(self):
        with Broker("int") as b:
            rc, took = b.stop(signal.SIGINT)
            self.assertEqual(rc, 0, b.output())
            self.assertLess(took, 2.0)

    def test_shutdown_command(self):
        with Broker("shut") as b:
            self.assertEqual(b.ctl("shutdown"), "stopping")
            self.assertEqual(b.proc.wait(timeout=2), 0, b.output())

    def test_open_connections_reset_on_stop(self):
        # a client connected when petreld stops learns it at once (RST),
        # instead of waiting for its own timeouts
        client = (
            "import socket, sys, time\n"
            "s = socket.create_connection(('10.99.0.2', 7), timeout=10)\n"
            "s.sendall(b'x'); assert s.recv(1) == b'x'\n"
            "print('READY', flush=True)\n"
            "t0 = time.time()\n"
            "try:\n"
            "    got = s.recv(1)\n"
            "    print('EOF' if not got else 'DATA', flush=True)\n"
            "except ConnectionResetError:\n"
            "    print('RESET %.2f' % (time.time() - t0), flush=True)\n")
        with Broker("rst", args=["--set", "tcp.echo_port=7"]) as b:
            p = subprocess.Popen(["ip", "netns", "exec", b.ns, "python3",
                                  "-c", client], stdout=subprocess.PIPE,
                                 text=True)
            try:
                self.assertEqual(p.stdout.readline().strip(), "READY")
                rc, _ = b.stop(signal.SIGTERM)
                self.assertEqual(rc, 0, b.output())
                out = p.stdout.readline().split()
                self.assertEqual(out[:1], ["RESET"], out)
                self.assertLess(float(out[1]), 5.0)
            finally:
                p.kill()
                p.wait()
                p.stdout.close()

    def test_same_name_refused(self):
        with Broker("dup") as b:
            r = subprocess.run(b.command(), capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn("already running", r.stderr)
            self.assertEqual(b.ping(1), 1)  # the first one is unharmed

    def test_two_instances_side_by_side(self):
        with Broker("side-a") as a, Broker("side-b") as b:
            self.assertEqual(a.ping(2), 2)
            self.assertEqual(b.ping(2), 2)
            self.assertNotEqual(a.ctl("status")["pid"], b.ctl("status")["pid"])

    def test_bad_config_names_file_line_key(self):
        with self.assertRaises(RuntimeError) as cm:
            with Broker("badcfg", config_text="dp.cores = 2\nbogus.key = 1\n"):
                pass
        self.assertRegex(str(cm.exception), r"\.conf:2: bogus\.key: unknown key")

    def test_check_and_describe(self):
        r = subprocess.run([PETRELD, "--", "--check", "--set", "dp.cores=2"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("dp.cores = 2", r.stdout)
        r = subprocess.run([PETRELD, "--", "--set", "dp.cores=0", "--check"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("dp.cores: 0 out of range", r.stderr)

    def test_two_dataplane_cores(self):
        with Broker("mq", args=["--set", "dp.cores=2"]) as b:
            s = b.ctl("stats")
            self.assertEqual(len(s["cores"]), 2)
            self.assertEqual(b.ctl("status")["dataplane_cores"], 2)
            self.assertEqual(b.ping(5, interval=0.05), 5)
            # both queues are polled: every core's heartbeat moves
            t0 = [c["loops"] for c in b.ctl("stats")["cores"]]
            time.sleep(0.3)
            t1 = [c["loops"] for c in b.ctl("stats")["cores"]]
            self.assertTrue(all(y > x for x, y in zip(t0, t1)), (t0, t1))
            rc, took = b.stop()
            self.assertEqual(rc, 0, b.output())

    def test_control_socket_robust(self):
        with Broker("ctl") as b:
            # a client that connects and never speaks blocks nobody
            silent = socket.socket(socket.AF_UNIX)
            silent.connect(b.sock)
            t0 = time.time()
            self.assertIn("cores", b.ctl("stats"))
            self.assertLess(time.time() - t0, 2)
            r = b.ctl_raw("no-such-command")
            self.assertEqual(r.returncode, 1)
            self.assertIn("unknown command", r.stdout)
            names = [c["command"] for c in b.ctl("help")]
            for n in ("help", "status", "stats", "config show", "shutdown"):
                self.assertIn(n, names)
            self.assertEqual(b.ctl("config", "show")["dp.cores"], "1")
            silent.close()


if __name__ == "__main__":
    main()
