#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bulk TCP echo throughput: petreld's TCP-lite against the kernel's TCP.

One run of this script creates a network namespace of its own
(ptecho-<pid>), starts in it

  - petreld with its net_tap port (pt0, kernel side 10.99.0.1/24, petreld
    10.99.0.2) and the diagnostic echo listener (tcp.echo_port=7), and
  - a kernel echo server on the namespace's loopback (127.0.0.1:7007), a
    small Python loop (recv_into + sendall, 256 KiB at a time, one thread
    per connection),

then runs the same client against each, alternating, --runs times: it
sends --mb MB of random bytes while reading them back on the same
connection, checks that what came back hashes (sha256) to what was sent,
and times connect-to-EOF. It prints every run, the medians and the ratio
petrel/kernel of the medians (a ratio of runs measured side by side in the
same minute, so machine noise hits both).

What it is not: a benchmark of the kernel's best (the kernel server is
Python; loopback skips every device), nor of petrel's (net_tap costs a
system call and a copy per frame each way, and TCP-lite's window is
64 KiB without window scaling). It tells how far the tap-attached stack
is from a kernel socket pair for a user on the same machine.

All traffic stays inside the namespace: the client runs there
(`ip netns exec`), to 10.99.0.2 through the tap and to 127.0.0.1. Every
wait is bounded (--timeout per transfer, START_TIMEOUT for start-up);
the namespace, petreld and the server are removed on exit, on failure and
on SIGINT/SIGTERM.

Usage: perf/tcp_echo_ratio.py [--petreld PATH] [--mb N] [--runs N]
                              [--timeout S] [--set KEY=VALUE]... [--json FILE]
Exit status: 0 when every transfer came back whole and in time, 1 when one
did not, 2 when the set-up failed (no root, no /dev/net/tun, petreld did
not come up).
"""
import argparse
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.abspath(__file__)
BROKER_IP = "10.99.0.2"
HOST_IP = "10.99.0.1"
ECHO_PORT = 7
KERNEL_PORT = 7007
CHUNK = 256 * 1024
START_TIMEOUT = 30.0


# ---- inside the namespace ----------------------------------------------

def client(spec):
    """Send spec['bytes'] random bytes to spec['host']:spec['port'] while
    reading them back; return the result as a dict."""
    total = spec["bytes"]
    data = os.urandom(total)
    sent_hash = hashlib.sha256(data).hexdigest()
    back = bytearray(total)
    view = memoryview(back)
    errors = []
    deadline = time.monotonic() + spec["timeout"]
    t0 = time.monotonic()
    s = socket.create_connection((spec["host"], spec["port"]), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def sender():
        src = memoryview(data)
        off = 0
        try:
            while off < total:
                off += s.send(src[off:off + CHUNK])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(f"send at {off} of {total}: {e!r}")

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got = 0
    try:
        while got < total + 1:
            left = deadline - time.monotonic()
            if left <= 0:
                errors.append(f"timeout: {got} of {total} bytes back")
                break
            s.settimeout(min(left, 5.0))
            try:
                n = s.recv_into(view[got:] if got < total else bytearray(1))
            except socket.timeout:
                continue
            if n == 0:
                break
            if got + n > total:
                errors.append("more bytes came back than were sent")
                break
            got += n
    except OSError as e:
        errors.append(f"recv at {got} of {total}: {e!r}")
    elapsed = time.monotonic() - t0
    th.join(timeout=1)
    s.close()
    back_hash = hashlib.sha256(view[:got]).hexdigest()
    if got == total and back_hash != sent_hash:
        errors.append("sha256 of the bytes that came back differs")
    return {"bytes": total, "back": got, "elapsed": elapsed,
            "mb_s": got / 1e6 / elapsed if elapsed > 0 else 0.0,
            "errors": errors}


def probe(spec):
    """Wait until host:port accepts a connection; exit 0, or 1 at the
    deadline."""
    deadline = time.monotonic() + spec["timeout"]
    while time.monotonic() < deadline:
        try:
            socket.create_connection((spec["host"], spec["port"]),
                                     timeout=1).close()
            return 0
        except OSError:
            time.sleep(0.2)
    return 1


def server(port):
    """Kernel echo server on 127.0.0.1:port, one thread per connection."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("ready", flush=True)

    def echo(c):
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                n = c.recv_into(buf)
                if n == 0:
                    break
                c.sendall(view[:n])
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


# ---- the driver, in the host namespace (it sends nothing itself) ---------

class Bench:
    def __init__(self, args):
        self.args = args
        self.ns = f"ptecho-{os.getpid()}"
        self.name = self.ns
        self.procs = []
        self.log = tempfile.NamedTemporaryFile(prefix=f"{self.name}-",
                                               suffix=".log", delete=False)

    def ns_cmd(self, *cmd):
        return ["ip", "netns", "exec", self.ns] + list(cmd)

    def setup(self):
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"],
                       check=True)
        petreld = subprocess.Popen(
            self.ns_cmd(self.args.petreld, "--", "--name", self.name,
                        "--set", f"tap.host_ip={HOST_IP}/24",
                        "--set", "port=net_tap0,iface=pt0",
                        "--set", f"tcp.echo_port={ECHO_PORT}",
                        *[w for kv in self.args.set for w in ("--set", kv)]),
            stdout=self.log, stderr=subprocess.STDOUT)
        self.procs.append(petreld)
        srv = subprocess.Popen(
            self.ns_cmd(sys.executable, HERE, "--server", str(KERNEL_PORT)),
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.procs.append(srv)
        line = srv.stdout.readline()   # bounded: the server prints or dies
        if line.strip() != "ready":
            raise RuntimeError("kernel echo server did not start")
        for host, port in ((BROKER_IP, ECHO_PORT), ("127.0.0.1", KERNEL_PORT)):
            spec = {"host": host, "port": port, "timeout": START_TIMEOUT}
            r = subprocess.run(self.ns_cmd(sys.executable, HERE, "--probe",
                                           json.dumps(spec)),
                               timeout=START_TIMEOUT + 10)
            if r.returncode != 0 or petreld.poll() is not None:
                raise RuntimeError(f"{host}:{port} did not come up:\n"
                                   + self.output())

    def output(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()[-4000:]

    def transfer(self, host, port):
        spec = {"host": host, "port": port, "bytes": int(self.args.mb * 1e6),
                "timeout": self.args.timeout}
        r = subprocess.run(self.ns_cmd(sys.executable, HERE, "--client",
                                       json.dumps(spec)),
                           capture_output=True, text=True,
                           timeout=self.args.timeout + 30)
        lines = r.stdout.strip().splitlines()
        if r.returncode != 0 or not lines:
            return {"errors": [f"client rc {r.returncode}: "
                               f"{r.stderr[-1000:]}"], "mb_s": 0.0}
        return json.loads(lines[-1])

    def cleanup(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for path in (f"/run/petrel/{self.name}.sock",
                     f"/run/petrel/{self.name}.lock"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        self.log.close()
        os.unlink(self.log.name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--petreld", default="build/apps/petreld")
    ap.add_argument("--mb", type=float, default=64.0,
                    help="MB (10^6 bytes) per transfer (default 64)")
    ap.add_argument("--runs", type=int, default=5,
                    help="transfers per side, alternating (default 5)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds allowed per transfer (default 60)")
    ap.add_argument("--set", action="append", default=[],
                    metavar="KEY=VALUE",
                    help="extra petreld setting, e.g. dp.idle=busy "
                         "(repeatable)")
    ap.add_argument("--json", help="write the runs and medians here")
    args = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        print("tcp_echo_ratio: needs root and /dev/net/tun", file=sys.stderr)
        return 2
    if not os.access(args.petreld, os.X_OK):
        print(f"tcp_echo_ratio: no petreld at {args.petreld}",
              file=sys.stderr)
        return 2
    if args.runs < 1 or not 0 < args.mb <= 1024:
        print("tcp_echo_ratio: --runs >= 1, 0 < --mb <= 1024",
              file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    b = Bench(args)
    runs = {"petrel": [], "kernel": []}
    failed = False
    try:
        try:
            b.setup()
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            print(f"tcp_echo_ratio: set-up failed: {e}", file=sys.stderr)
            return 2
        print(f"{args.mb:g} MB echoed per transfer, {args.runs} runs each, "
              "alternating; MB/s = MB echoed / (connect to EOF)")
        for i in range(args.runs):
            for side, host, port in (("petrel", BROKER_IP, ECHO_PORT),
                                     ("kernel", "127.0.0.1", KERNEL_PORT)):
                r = b.transfer(host, port)
                runs[side].append(r)
                ok = not r["errors"]
                failed |= not ok
                print(f"run {i + 1} {side:6s} {r['mb_s']:8.1f} MB/s"
                      + ("" if ok else f"  FAILED: {r['errors']}"),
                      flush=True)
    finally:
        b.cleanup()
    med = {side: statistics.median(r["mb_s"] for r in rs)
           for side, rs in runs.items()}
    ratio = med["petrel"] / med["kernel"] if med["kernel"] > 0 else 0.0
    print(f"median petrel {med['petrel']:.1f} MB/s, kernel "
          f"{med['kernel']:.1f} MB/s, ratio petrel/kernel {ratio:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"mb": args.mb, "runs": runs, "median_mb_s": med,
                       "ratio": ratio}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        print(json.dumps(client(json.loads(sys.argv[2]))), flush=True)
    elif len(sys.argv) == 3 and sys.argv[1] == "--probe":
        sys.exit(probe(json.loads(sys.argv[2])))
    elif len(sys.argv) == 3 and sys.argv[1] == "--server":
        server(int(sys.argv[2]))
    else:
        sys.exit(main())
