# SPDX-License-Identifier: BSD-3-Clause
"""Integration-test harness: a real petreld in a network namespace of its own.

Every broker gets a fresh namespace (pt-<test>-<pid>), a unique instance
name (so its DPDK prefix, lock and control socket are its own) and its tap
inside that namespace. Clients run with `ip netns exec`; nothing is sent
from the host's own namespace. Everything is torn down on exit, even when
a test fails.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

PETRELD = os.environ.get("PETRELD", "build/apps/petreld")
PETRELCTL = os.environ.get("PETRELCTL", "build/apps/petrelctl")
BROKER_IP = "10.99.0.2"
HOST_IP = "10.99.0.1"
START_TIMEOUT = float(os.environ.get("PT_START_TIMEOUT", "30"))


def require_root():
    """Skip (exit 77, meson's SKIP) where namespaces or tun are missing."""
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        print("SKIP: needs root and /dev/net/tun")
        sys.exit(77)


class Broker:
    """One petreld in its own namespace. Use as a context manager."""

    def __init__(self, tag, args=(), eal_args=(), config_text=None):
        self.name = f"pt-{tag}-{os.getpid()}"[:31]
        self.ns = self.name
        self.sock = f"/run/petrel/{self.name}.sock"
        self.args = list(args)
        self.eal_args = list(eal_args)
        self.config_text = config_text
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(
            prefix=f"{self.name}-", suffix=".log", delete=False)
        self.cfg_file = None

    # -- lifecycle --
    def __enter__(self):
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"],
                       check=True)
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        # stop it properly, so a sanitizer build reports at exit too
        if self.proc is not None and self.proc.poll() is None:
            self.stop(signal.SIGTERM, timeout=10)
        report = self.sanitizer_report()
        self.cleanup()
        if report and exc[0] is None:
            raise AssertionError(f"petreld sanitizer report:\n{report}")
        return False

    def sanitizer_report(self):
        """ASan/UBSan findings in petreld's output (sanitizer builds)."""
        marks = ("runtime error:", "ERROR: AddressSanitizer",
                 "ERROR: LeakSanitizer")
        lines = self.output().splitlines()
        for i, line in enumerate(lines):
            if any(m in line for m in marks):
                return "\n".join(lines[i:i + 30])
        return None

    def command(self):
        cmd = ["ip", "netns", "exec", self.ns, PETRELD] + self.eal_args
        cmd += ["--", "--name", self.name,
                "--set", f"tap.host_ip={HOST_IP}/24",
                "--set", "port=net_tap0,iface=pt0"]
        if self.config_text is not None:
            fd, self.cfg_file = tempfile.mkstemp(suffix=".conf")
            os.write(fd, self.config_text.encode())
            os.close(fd)
            cmd += ["--config", self.cfg_file]
        return cmd + self.args

    def start(self):
        self.proc = subprocess.Popen(self.command(), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"petreld exited with {self.proc.returncode}:\n"
                    + self.output())
            if os.path.exists(self.sock):
                r = self.ctl_raw("status")
                if r.returncode == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("petreld did not come up:\n" + self.output())

    def stop(self, sig=signal.SIGTERM, timeout=2.0):
        """Signal petreld; return (exit code, seconds it took)."""
        t0 = time.time()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        return rc, time.time() - t0

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        # a killed petreld cannot remove its own socket and lock files
        for path in (self.sock, f"/run/petrel/{self.name}.lock"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        if self.cfg_file:
            os.unlink(self.cfg_file)
        if os.environ.get("PT_KEEP_LOGS") is None:
            self.log.close()
            os.unlink(self.log.name)

    def output(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    # -- talking to it --
    def ctl_raw(self, *words, timeout=10):
        return subprocess.run([PETRELCTL, "--socket", self.sock, "--json"]
                              + list(words), capture_output=True, text=True,
                              timeout=timeout)

    def ctl(self, *words):
        r = self.ctl_raw(*words)
        if r.returncode != 0:
            raise AssertionError(f"petrelctl {' '.join(words)}: rc "
                                 f"{r.returncode} {r.stdout} {r.stderr}")
        return json.loads(r.stdout)["result"]

    def stats(self):
        return self.ctl("stats")["total"]

    def drops(self):
        return self.stats()["drops"]

    def ns_run(self, *cmd, timeout=60, check=False):
        return subprocess.run(["ip", "netns", "exec", self.ns] + list(cmd),
                              capture_output=True, text=True,
                              timeout=timeout, check=check)

    def ping(self, count=3, size=56, interval=0.2, flood=False):
        """Ping the broker from the kernel side; return packets received."""
        args = ["ping", "-n", "-q", "-c", str(count), "-s", str(size),
                "-W", "2"]
        args += ["-f"] if flood else ["-i", str(interval)]
        r = self.ns_run(*args, BROKER_IP, timeout=120)
        for line in r.stdout.splitlines():
            if "received" in line:
                return int(line.split(",")[1].split()[0])
        raise AssertionError(f"ping output unexpected: {r.stdout} {r.stderr}")


def main():
    require_root()
    unittest.main(verbosity=2)
