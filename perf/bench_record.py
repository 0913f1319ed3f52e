#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The performance record of issue 7: petrel (petreld + petrel-bench over
net_memif) against Mosquitto (pt-mqtt-load over loopback), same scenarios,
same run, medians of repeated trials, written as JSON and a markdown table.

Scenarios (each --reps times; the two brokers alternate):
  sessions   connect-only ramp to --sessions (petrel) / --mosq-sessions
             (mosquitto), held --hold s: sessions up at once, and the
             broker's memory growth per session (VmRSS of the broker
             process at the peak minus before, divided by the sessions)
  connect    --connect-sessions opened unpaced: sessions/s (TCP handshake
             + CONNECT/CONNACK, anonymous, clean session)
  p2p0/p2p1  --pairs publisher -> subscriber pairs, 64-byte payloads,
             QoS 0 / 1, closed loop (--window): delivered msgs/s, latency
  fanout     1 publisher -> 1,000 subscribers, QoS 0, closed loop:
             deliveries/s
  half       p2p QoS 0 open loop at half the median p2p0 rate of the same
             broker: latency p50/p99/p99.9 (the latency goal)

Before the trials, perf/jitter.c (pt-jitter) spins on every CPU for 3 s
and reports how much of the time a busy thread lost its CPU: no latency
percentile can beat that floor.

petreld: one dataplane core (busy polling) in a network namespace of its
own, the memif server; petrel-bench: one core, the memif client, in the
same namespace. Mosquitto: its own namespace, loopback. Every run is
bounded (per-trial timeout) and every broker and namespace is removed on
exit, failure or signal.

Usage: perf/bench_record.py [--build DIR] [--reps N] [--only SCENARIO,...]
                            [--brokers petrel,mosquitto] [--sessions N]
                            [--mosq-sessions N] [--connect-sessions N]
                            [--pairs N] [--window N] [--duration S]
                            [--hold S] [--json FILE] [--quick]
Exit status: 0 when every trial ran (a missed goal is not a failure: it is
in the table), 1 when a trial failed, 2 when the set-up failed.
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
import mqtt_ratio  # noqa: E402  (Mosquitto in its namespace, probe)

SCENARIOS = ("sessions", "connect", "p2p0", "p2p1", "fanout", "half")
TRIAL_TIMEOUT = 600


def rss_of(pid):
    """VmRSS of a process in bytes (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class PeakRss:
    """Sample a process's VmRSS every 50 ms while a trial runs."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.base = rss_of(pid) or 0
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_of(self.pid) or 0)
            time.sleep(0.05)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join()
        return False


def child_pid(pid, name):
    """The descendant of pid whose command is name (ip netns exec forks)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/comm") as f:
                if f.read().strip() == name:
                    return p
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return None


class PetrelSide:
    name = "petrel"

    def __init__(self, args):
        harness.PETRELD = os.path.join(args.build, "apps/petreld")
        harness.PETRELCTL = os.path.join(args.build, "apps/petrelctl")
        self.bench = os.path.join(args.build, "apps/petrel-bench/petrel-bench")
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="pt-record-")
        self.sock = os.path.join(self.tmp, "memif.sock")
        self.n = max(args.sessions, args.connect_sessions) + 65536
        self.broker = None
        self.pid = None
        self.small_rss = None

    def make_broker(self, n):
        # EAL memory: pools are sized for n sessions at start (petreld's own
        # estimate is for its defaults); --no-huge pages are touched as used
        mem_mb = 1024 + n * 3 // 1024
        return harness.Broker("record", eal_args=[
            "--no-huge", "-m", str(mem_mb)], args=[
            "--set", f"port=net_memif0,role=server,socket={self.sock}",
            "--set", "mqtt.allow_anonymous=on",
            "--set", "dp.idle=busy",
            "--set", f"tcp.max_conns={n}",
            "--set", f"mqtt.max_sessions={n}",
            "--set", "dp.mbufs=131071",
            "--set", "tcp.time_wait_max=65536",
        ])

    def __enter__(self):
        if self.small_rss is None:
            # the same petreld with room for 1,024 sessions: what the
            # sessions' all-in memory is counted from
            with self.make_broker(1024) as b:
                self.small_rss = rss_of(child_pid(b.proc.pid, "petreld"))
        self.broker = self.make_broker(self.n)
        self.broker.__enter__()
        self.pid = child_pid(self.broker.proc.pid, "petreld")
        return self

    def __exit__(self, *exc):
        self.broker.__exit__(*exc)
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass
        return False

    def cleanup(self):
        os.rmdir(self.tmp)

    def alive(self):
        return self.broker.proc is not None and self.broker.proc.poll() is None

    def run(self, scenario, **kw):
        a = self.args
        cmd = [self.bench, "--port",
               f"net_memif0,role=client,socket={self.sock}", "--quiet",
               "--client-prefix", f"r{int(time.time() * 1000) % 100000}-"]
        if scenario in ("sessions", "connect"):
            n = a.sessions if scenario == "sessions" else a.connect_sessions
            cmd += ["--scenario", "connect", "--sessions", str(n),
                    "--hold", str(a.hold if scenario == "sessions" else 0.5),
                    "--max-pending", str(a.max_pending),
                    "--src-count", str(max(16, n // 60000 + 1)),
                    "--connect-timeout", "300"]
        elif scenario == "fanout":
            cmd += ["--scenario", "fanout", "--fanout", "1000",
                    "--window", str(a.window), "--duration", str(a.duration)]
        else:
            qos = "1" if scenario == "p2p1" else "0"
            cmd += ["--scenario", "p2p", "--groups", str(a.pairs),
                    "--qos", qos, "--duration", str(a.duration)]
            if scenario == "half":
                cmd += ["--rate", str(int(kw["rate"]))]
            else:
                cmd += ["--window", str(a.window)]
        full = ["ip", "netns", "exec", self.broker.ns] + cmd
        with PeakRss(self.pid) as mem:
            try:
                r = subprocess.run(full, capture_output=True, text=True,
                                   timeout=TRIAL_TIMEOUT)
            except subprocess.TimeoutExpired:
                return {"ok": False, "error": "timeout", "cmd": cmd}
        out = r.stdout[r.stdout.find("{"):] if "{" in r.stdout else ""
        try:
            s = json.loads(out)
        except ValueError:
            return {"ok": False, "error": r.stderr[-1500:], "cmd": cmd}
        res = {
            "ok": r.returncode == 0, "cmd": " ".join(cmd),
            "why": s["why"],
            "sessions": s["sessions_up_max"],
            "connects_per_s": s["connects_per_s"],
            "connect_p99_us": s["connect_latency_us"]["p99"],
            "msgs_per_s": s["msgs_per_s"],
            "p50_us": s["latency_us"]["p50"],
            "p99_us": s["latency_us"]["p99"],
            "p999_us": s["latency_us"]["p999"],
            "lost": s["lost"],
            "rss_growth": mem.peak - mem.base,
        }
        if scenario == "sessions" and s["sessions_up_max"]:
            # all-in: pools sized for the sessions (allocated and touched
            # at start) plus what the sessions touched, over a petreld
            # sized for 1,024
            res["growth_per_session"] = res["rss_growth"] / s["sessions_up_max"]
            res["bytes_per_session"] = (mem.peak - self.small_rss) / \
                s["sessions_up_max"]
        return res


class MosquittoSide:
    name = "mosquitto"

    def __init__(self, args):
        self.args = args
        self.load = os.path.join(args.build, "perf/pt-mqtt-load")
        self.m = mqtt_ratio.Mosquitto(args.mosquitto)

    def __enter__(self):
        self.m.__enter__()
        self.pid = child_pid(self.m.proc.pid, "mosquitto")
        return self

    def __exit__(self, *exc):
        self.m.__exit__(*exc)
        self.m = mqtt_ratio.Mosquitto(self.args.mosquitto)
        return False

    def cleanup(self):
        pass

    def alive(self):
        return self.m.alive()

    def run(self, scenario, **kw):
        a = self.args
        cmd = [self.load, "--host", "127.0.0.1", "--port", "1883", "--json",
               "--timeout", str(TRIAL_TIMEOUT - 30)]
        if scenario in ("sessions", "connect"):
            n = a.mosq_sessions if scenario == "sessions" else \
                min(a.connect_sessions, a.mosq_sessions)
            cmd += ["--mode", "connect", "--sessions", str(n),
                    "--hold", str(a.hold if scenario == "sessions" else 0.5),
                    "--max-pending", "64",
                    "--src", "127.0.0.2",
                    "--src-count", str(max(2, n // 10000 + 1))]
        elif scenario == "fanout":
            cmd += ["--mode", "fanout", "--fanout", "1000",
                    "--window", str(a.window),
                    "--msgs", str(a.fanout_msgs)]
        else:
            qos = "1" if scenario == "p2p1" else "0"
            cmd += ["--pairs", str(a.pairs), "--qos", qos,
                    "--msgs", str(a.msgs)]
            if scenario == "half":
                cmd += ["--rate", str(int(kw["rate"]))]
            else:
                cmd += ["--window", str(a.window)]
        with PeakRss(self.pid) as mem:
            r = mqtt_ratio.trial(self.m.ns, "127.0.0.1", cmd, TRIAL_TIMEOUT)
        lat = r.get("latency_us") or {}
        conn = r.get("connect_latency_us") or {}
        res = {
            "ok": r["rc"] == 0, "cmd": " ".join(cmd),
            "why": r.get("stderr", "")[-500:] if r["rc"] != 0 else "",
            "sessions": r.get("sessions_up_max", r.get("sessions")),
            "connects_per_s": r.get("connects_per_s"),
            "connect_p99_us": conn.get("p99"),
            "msgs_per_s": r.get("msgs_per_s"),
            "p50_us": lat.get("p50"), "p99_us": lat.get("p99"),
            "p999_us": lat.get("p999"),
            "lost": r.get("lost"),
            "rss_growth": mem.peak - mem.base,
        }
        if scenario == "sessions" and res["sessions"]:
            # a fresh mosquitto each time (bench_record restarts it): its
            # growth is all-in (it allocates per client)
            res["bytes_per_session"] = res["rss_growth"] / res["sessions"]
            res["growth_per_session"] = res["bytes_per_session"]
        return res


KEYS = {
    "sessions": ("sessions", "bytes_per_session", "growth_per_session"),
    "connect": ("connects_per_s", "connect_p99_us"),
    "p2p0": ("msgs_per_s", "p99_us"),
    "p2p1": ("msgs_per_s", "p99_us"),
    "fanout": ("msgs_per_s", "p99_us"),
    "half": ("p50_us", "p99_us", "p999_us", "msgs_per_s"),
}


def med(trials, key):
    vals = [t[key] for t in trials if t.get("ok") and t.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float) and v < 100:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def table(results, sides):
    lines = ["| scenario | figure | " + " | ".join(sides)
             + (" | petrel / mosquitto |" if len(sides) == 2 else " |"),
             "|---|---|" + "---|" * (len(sides) + (len(sides) == 2))]
    for sc in SCENARIOS:
        if sc not in results:
            continue
        for key in KEYS[sc]:
            vals = [med(results[sc].get(s, []), key) for s in sides]
            row = [sc, key] + [fmt(v) for v in vals]
            if len(sides) == 2:
                a, b = vals
                row.append(f"{a / b:.2f}" if a and b else "-")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-perf")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("--brokers", default="petrel,mosquitto")
    ap.add_argument("--sessions", type=int, default=1000000)
    ap.add_argument("--mosq-sessions", type=int, default=19000,
                    help="kernel client: open files cap it (20,000 here)")
    ap.add_argument("--connect-sessions", type=int, default=200000)
    ap.add_argument("--max-pending", type=int, default=4096)
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--msgs", type=int, default=20000,
                    help="pt-mqtt-load: measured messages per publisher")
    ap.add_argument("--fanout-msgs", type=int, default=2000)
    ap.add_argument("--hold", type=float, default=3.0)
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, 1 rep: checks the script, not a record")
    a = ap.parse_args()
    if a.quick:
        a.reps, a.sessions, a.mosq_sessions = 1, 5000, 2000
        a.connect_sessions, a.pairs, a.duration = 5000, 4, 1.0
        a.msgs, a.fanout_msgs, a.hold = 2000, 200, 0.5
    scen = [s for s in a.only.split(",") if s]
    sides = [s for s in a.brokers.split(",") if s]
    if any(s not in SCENARIOS for s in scen) or \
            any(s not in ("petrel", "mosquitto") for s in sides):
        ap.error("unknown scenario or broker")
    if os.geteuid() != 0:
        print("bench_record: needs root (namespaces, memif)", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)

    # the platform's own noise, in the same run: the floor under p99
    jitter = []
    r = subprocess.run([os.path.join(a.build, "perf/pt-jitter"),
                        "--seconds", "3"]
                       + [str(c) for c in sorted(os.sched_getaffinity(0))],
                       capture_output=True, text=True, timeout=60)
    for line in r.stdout.splitlines():
        jitter.append(json.loads(line))
        print("jitter", line)
    results = {sc: {} for sc in scen}
    crashes = {}
    failed = False
    opened = []
    try:
        for s in sides:
            side = PetrelSide(a) if s == "petrel" else MosquittoSide(a)
            side.__enter__()
            opened.append(side)
        for sc in scen:
            for rep in range(a.reps):
                for side in opened:
                    kw = {}
                    if sc == "half":
                        top = med(results.get("p2p0", {}).get(side.name, []),
                                  "msgs_per_s")
                        if top is None:
                            t = side.run("p2p0")
                            results.setdefault("p2p0", {}).setdefault(
                                side.name, []).append(t)
                            top = t.get("msgs_per_s")
                        kw["rate"] = max(1000, (top or 2000) / 2)
                    if not side.alive():
                        # DPDK 22.11's memif server can fault when its
                        # client leaves mid-burst: say so, start afresh
                        print(f"bench_record: {side.name} died; restarting",
                              file=sys.stderr)
                        crashes[side.name] = crashes.get(side.name, 0) + 1
                        side.__exit__(None, None, None)
                        side.__enter__()
                    elif sc == "sessions" and rep > 0:
                        # memory is measured from a fresh broker
                        side.__exit__(None, None, None)
                        side.__enter__()
                    t = side.run(sc, **kw)
                    t["rep"] = rep
                    results[sc].setdefault(side.name, []).append(t)
                    print(f"{sc:9s} {side.name:9s} rep {rep}: "
                          + ("ok " if t.get("ok") else "FAIL ")
                          + ", ".join(f"{k}={fmt(t.get(k))}"
                                      for k in KEYS[sc]),
                          flush=True)
                    if not t.get("ok"):
                        failed = True
                        print("   ", t.get("why") or t.get("error"),
                              file=sys.stderr)
    except KeyboardInterrupt:
        print("bench_record: interrupted", file=sys.stderr)
        failed = True
    except RuntimeError as e:
        print(f"bench_record: set-up failed: {e}", file=sys.stderr)
        return 2
    finally:
        for side in reversed(opened):
            side.__exit__(None, None, None)
            side.cleanup()
    print()
    print(table(results, [s.name for s in opened]))
    for name, n in crashes.items():
        print(f"\n{name} died {n} time(s) between trials (restarted)", end="")
    for j in jitter:
        print(f"\nCPU {j['cpu']}: a spinning thread lost its CPU "
              f"{j['stalled_pct']:.2f}% of {j['seconds']} s in gaps over "
              f"100 us (longest {j['max_gap_us']} us)", end="")
    print()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "jitter": jitter,
                       "crashes": crashes, "results": results}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
