#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""MQTT point-to-point load: petreld against mosquitto, side by side.

One run of this script starts two brokers, each in a network namespace of
its own, and runs the same pt-mqtt-load workload (perf/mqtt_load/) against
each, alternating, --reps times per QoS:

  - mosquitto (Debian's /usr/sbin/mosquitto) in ptmq-<pid>, with a config
    written here (listener 1883 127.0.0.1, anonymous, no persistence,
    TCP_NODELAY: without it Nagle and delayed ACKs put ~40 ms into
    mosquitto's latency tail, which measures neither broker); the client
    runs in the same namespace against 127.0.0.1;
  - petreld via tests/integration/harness.py's Broker (net_tap port pt0,
    broker 10.99.0.2, --set mqtt.port=1883 --set dp.cores=N); the client
    runs in that namespace against harness.BROKER_IP, through the tap.

Each trial is one pt-mqtt-load process (--pairs publisher/subscriber
pairs, --msgs measured messages each, closed loop with --window in flight
unless --rate). Printed: every trial, then a markdown table of the medians
of msgs/s and p99 latency per broker and QoS and the ratios
petrel/mosquitto (msgs/s ratio > 1 and p99 ratio < 1 favour petrel).
Before the trials each broker gets a one-message smoke run, so a broker
that accepts TCP but not MQTT fails the set-up rather than every trial.

What it is not: a fan-out, retained-message or connection-rate benchmark,
nor a measure of either broker's best (client and broker share this
machine's CPUs; net_tap costs petrel a system call and a copy per frame).

All traffic stays inside the namespaces. Every wait is bounded (each trial
by --timeout plus 30 s, start-up by START_TIMEOUT); brokers and namespaces
are removed on exit, on failure and on SIGINT/SIGTERM.

Usage: perf/mqtt_ratio.py [--reps N] [--pairs P] [--msgs M] [--size B]
                          [--qos 0|1] [--window N] [--rate R] [--cores N]
                          [--only mosquitto|petrel] [--set KEY=VALUE]...
                          [--petreld PATH] [--petrelctl PATH] [--load PATH]
                          [--mosquitto PATH] [--timeout S] [--json FILE]
Exit status: 0 when every trial passed (pt-mqtt-load exit 0: no QoS 1
loss, no broken connection, in time), 1 when one did not, 2 when the
set-up failed (no root, a binary missing, a broker did not come up).
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (petreld in its namespace)

MQTT_PORT = 1883
START_TIMEOUT = 30.0
BROKERS = ("mosquitto", "petrel")
MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
max_connections -1
log_dest stdout
log_type error
log_type warning
"""


def probe(host, port, timeout):
    """Inside a namespace: wait until host:port accepts; exit 0, or 1."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return 0
        except OSError:
            time.sleep(0.2)
    return 1


class Mosquitto:
    """mosquitto on the loopback of a namespace of its own (ns, default
    ptmq-<pid>), with as many files as this process may have (the hard
    limit). tests/integration/test_mqtt_load.py and bench_record.py use
    it too."""

    def __init__(self, path, ns=None):
        self.path = path
        self.ns = ns or f"ptmq-{os.getpid()}"
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix=f"{self.ns}-")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log = open(os.path.join(self.dir, "mosquitto.log"), "w+")

    def __enter__(self):
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        try:
            subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"],
                           check=True)
            with open(self.conf, "w") as f:
                f.write(MOSQUITTO_CONF.format(port=MQTT_PORT))
            os.chmod(self.dir, 0o755)
            os.chmod(self.conf, 0o644)
            self.proc = subprocess.Popen(
                ["sh", "-c", 'ulimit -n "$(ulimit -Hn)"; exec "$@"', "sh",
                 "ip", "netns", "exec", self.ns, self.path, "-c", self.conf],
                stdout=self.log, stderr=subprocess.STDOUT)
            r = subprocess.run(
                ["ip", "netns", "exec", self.ns, sys.executable, HERE,
                 "--probe", "127.0.0.1", str(MQTT_PORT), str(START_TIMEOUT)],
                timeout=START_TIMEOUT + 10)
            if r.returncode != 0 or self.proc.poll() is not None:
                raise RuntimeError("mosquitto did not come up:\n"
                                   + self.output())
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def run(self, *cmd, timeout=60):
        """cmd in the namespace; its CompletedProcess (text output)."""
        return subprocess.run(["ip", "netns", "exec", self.ns] + list(cmd),
                              capture_output=True, text=True,
                              timeout=timeout)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def cleanup(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        self.log.close()
        for name in ("mosquitto.conf", "mosquitto.log"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        os.rmdir(self.dir)


class Petrel:
    """petreld behind its tap, through harness.Broker."""

    def __init__(self, args):
        harness.PETRELD = args.petreld
        harness.PETRELCTL = args.petrelctl
        extra = ["--set", f"mqtt.port={MQTT_PORT}",
                 "--set", "mqtt.allow_anonymous=on",
                 "--set", f"dp.cores={args.cores}"]
        for kv in args.set:
            extra += ["--set", kv]
        self.broker = harness.Broker("mqload", args=extra)
        self.ns = None

    def __enter__(self):
        self.broker.__enter__()
        self.ns = self.broker.ns
        try:
            r = subprocess.run(
                ["ip", "netns", "exec", self.ns, sys.executable, HERE,
                 "--probe", harness.BROKER_IP, str(MQTT_PORT),
                 str(START_TIMEOUT)],
                timeout=START_TIMEOUT + 10)
            if r.returncode != 0 or not self.alive():
                raise RuntimeError(
                    f"petreld does not accept on {harness.BROKER_IP}:"
                    f"{MQTT_PORT}:\n" + self.output())
        except BaseException:
            self.broker.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        return self.broker.__exit__(*exc)

    def alive(self):
        p = self.broker.proc
        return p is not None and p.poll() is None

    def output(self):
        return self.broker.output()[-4000:]


def load_cmd(args, qos, msgs, warmup, pairs):
    cmd = [args.load, "--port", str(MQTT_PORT), "--pairs", str(pairs),
           "--qos", str(qos), "--msgs", str(msgs), "--warmup", str(warmup),
           "--size", str(args.size), "--window", str(args.window),
           "--timeout", str(args.timeout), "--json"]
    if args.rate:
        cmd += ["--rate", str(args.rate)]
    return cmd


def trial(ns, host, cmd, timeout):
    """One pt-mqtt-load run in namespace ns; its JSON line, plus 'rc' and
    'stderr'; None in place of the figures when it printed none."""
    try:
        r = subprocess.run(["ip", "netns", "exec", ns] + cmd
                           + ["--host", host],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"rc": None, "stderr": "pt-mqtt-load did not end in time",
                "msgs_per_s": None, "latency_us": None}
    res = {"msgs_per_s": None, "latency_us": None}
    for line in reversed(r.stdout.strip().splitlines()):
        try:
            res = json.loads(line)
            break
        except ValueError:
            continue
    res["rc"] = r.returncode
    res["stderr"] = r.stderr[-2000:]
    return res


def median(runs, key):
    vals = [key(r) for r in runs if r["rc"] == 0]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(qoses, med, brokers):
    both = len(brokers) == 2
    head = ["QoS"]
    for b in brokers:
        head.append(f"{b} msgs/s")
    if both:
        head.append("ratio msgs/s (>1 petrel better)")
    for b in brokers:
        head.append(f"{b} p99 us")
    if both:
        head.append("ratio p99 (<1 petrel better)")
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for q in qoses:
        m = med[str(q)]
        row = [str(q)]
        row += [fmt(m[b]["msgs_per_s"], ",.0f") for b in brokers]
        if both:
            row.append(fmt(m["ratio_msgs_per_s"], ".3f"))
        row += [fmt(m[b]["p99_us"], ",.1f") for b in brokers]
        if both:
            row.append(fmt(m["ratio_p99"], ".3f"))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5,
                    help="trials per broker and QoS, alternating (5)")
    ap.add_argument("--pairs", type=int, default=4,
                    help="publisher/subscriber pairs (4)")
    ap.add_argument("--msgs", type=int, default=20000,
                    help="measured messages per publisher (20000)")
    ap.add_argument("--warmup", type=int, default=500,
                    help="unmeasured messages per publisher first (500)")
    ap.add_argument("--size", type=int, default=64,
                    help="payload bytes, >= 20 (64)")
    ap.add_argument("--qos", type=int, choices=(0, 1), action="append",
                    help="QoS to run (repeatable; default 0 and 1)")
    ap.add_argument("--window", type=int, default=32,
                    help="pt-mqtt-load --window (32)")
    ap.add_argument("--rate", type=float, default=0,
                    help="open loop at this many msgs/s in total "
                         "(default closed loop)")
    ap.add_argument("--cores", type=int, default=1,
                    help="petreld dp.cores (1)")
    ap.add_argument("--set", action="append", default=[],
                    metavar="KEY=VALUE", help="extra petreld setting")
    ap.add_argument("--only", choices=BROKERS,
                    help="run one broker alone")
    ap.add_argument("--petreld", default="build/apps/petreld")
    ap.add_argument("--petrelctl", default="build/apps/petrelctl")
    ap.add_argument("--load", default="build/perf/pt-mqtt-load")
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds allowed per trial (60)")
    ap.add_argument("--json", help="write trials, medians and ratios here")
    args = ap.parse_args()
    qoses = sorted(set(args.qos or [0, 1]))
    brokers = [args.only] if args.only else list(BROKERS)

    def setup_error(msg):
        print(f"mqtt_ratio: {msg}", file=sys.stderr)
        return 2

    if os.geteuid() != 0:
        return setup_error("needs root (network namespaces)")
    if args.reps < 1 or args.pairs < 1 or args.msgs < 1 or args.size < 20:
        return setup_error("--reps, --pairs, --msgs >= 1, --size >= 20")
    need = [args.load]
    if "mosquitto" in brokers:
        need.append(args.mosquitto)
    if "petrel" in brokers:
        if not os.path.exists("/dev/net/tun"):
            return setup_error("petrel needs /dev/net/tun")
        need += [args.petreld, args.petrelctl]
    for path in need:
        if not os.access(path, os.X_OK):
            return setup_error(f"no executable at {path}")
    args.load = os.path.abspath(args.load)

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sides = {}
    runs = {b: {str(q): [] for q in qoses} for b in brokers}
    failed = False
    t0 = time.monotonic()
    try:
        try:
            for b in brokers:
                side = (Mosquitto(args.mosquitto) if b == "mosquitto"
                        else Petrel(args))
                sides[b] = side.__enter__()
                host = ("127.0.0.1" if b == "mosquitto"
                        else harness.BROKER_IP)
                smoke = trial(side.ns, host, load_cmd(args, 1, 1, 0, 1),
                              args.timeout + 30)
                if smoke["rc"] != 0:
                    raise RuntimeError(
                        f"{b}: one-message smoke run failed (rc "
                        f"{smoke['rc']}): {smoke['stderr']}\n"
                        + side.output())
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            return setup_error(f"set-up failed: {e}")
        print(f"{args.pairs} pairs x {args.msgs} msgs of {args.size} bytes, "
              + (f"open loop {args.rate:g} msgs/s" if args.rate else
                 f"closed loop, window {args.window}")
              + f"; {args.reps} trials per broker and QoS, alternating",
              flush=True)
        for q in qoses:
            for i in range(args.reps):
                order = brokers if i % 2 == 0 else brokers[::-1]
                for b in order:
                    side = sides[b]
                    if not side.alive():
                        print(f"{b} died:\n{side.output()}", file=sys.stderr)
                        return 1
                    host = ("127.0.0.1" if b == "mosquitto"
                            else harness.BROKER_IP)
                    r = trial(side.ns, host,
                              load_cmd(args, q, args.msgs, args.warmup,
                                       args.pairs),
                              args.timeout + 30)
                    runs[b][str(q)].append(r)
                    ok = r["rc"] == 0
                    failed |= not ok
                    lat = r.get("latency_us") or {}
                    print(f"qos {q} trial {i + 1} {b:9s} "
                          f"{fmt(r.get('msgs_per_s'), '10,.0f')} msgs/s  "
                          f"p50 {fmt(lat.get('p50'), '9,.1f')} us  "
                          f"p99 {fmt(lat.get('p99'), '9,.1f')} us  "
                          f"lost {r.get('lost', '-')}"
                          + ("" if ok else
                             f"  FAILED rc {r['rc']}: "
                             f"{r['stderr'].strip()[-300:]}"),
                          flush=True)
    finally:
        for side in reversed(list(sides.values())):
            try:
                side.__exit__(None, None, None)
            except AssertionError as e:     # sanitizer report from petreld
                print(e, file=sys.stderr)
                failed = True

    med = {}
    for q in qoses:
        m = med[str(q)] = {}
        for b in brokers:
            rs = runs[b][str(q)]
            m[b] = {"msgs_per_s": median(rs, lambda r: r["msgs_per_s"]),
                    "p99_us": median(rs, lambda r: r["latency_us"]["p99"]),
                    "ok": sum(r["rc"] == 0 for r in rs), "trials": len(rs)}
        if len(brokers) == 2:
            pm, mm = m["petrel"], m["mosquitto"]
            m["ratio_msgs_per_s"] = (
                pm["msgs_per_s"] / mm["msgs_per_s"]
                if pm["msgs_per_s"] and mm["msgs_per_s"] else None)
            m["ratio_p99"] = (pm["p99_us"] / mm["p99_us"]
                              if pm["p99_us"] and mm["p99_us"] else None)
    print()
    print(table(qoses, med, brokers))
    print(f"\n(medians of the trials that passed; "
          f"{time.monotonic() - t0:.0f} s in all)")
    if args.json:
        params = {k: getattr(args, k) for k in
                  ("reps", "pairs", "msgs", "warmup", "size", "window",
                   "rate", "cores", "set")}
        params["qos"] = qoses
        with open(args.json, "w") as f:
            json.dump({"params": params, "runs": runs, "median": med},
                      f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        sys.exit(probe(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    sys.exit(main())
