# SPDX-License-Identifier: BSD-3-Clause
"""The MQTT broker under test, for the test_mqtt_* integration tests.

By default it is petreld (harness.Broker: a namespace of its own, a tap,
two dataplane cores, MQTT on port 1883, $SYS every second). With
PT_MQTT_REFERENCE=mosquitto it is a mosquitto started here inside a
namespace made here, listening on that namespace's loopback: the same tests
run against a mature broker to show that the tests themselves are right.

    PT_MQTT_REFERENCE=mosquitto python3 tests/integration/test_mqtt_basic.py

Clients never send from the host's namespace: MqttTestCase moves the test
thread into the broker's namespace (setns(2), per thread; paho's network
threads are created from it and inherit it) for the whole class, and every
client checks that it is in there before it opens a socket. Command-line
clients (mosquitto_pub/mosquitto_sub) run with `ip netns exec`.

Options (MqttBroker / MqttTestCase.BROKER_OPTS):
  loss        5% of frames dropped each way. petrel: fault.rx_drop_ppm and
              fault.tx_drop_ppm = 50000, tcp.rto_min_ms = 5, and the kernel
              side's route gets rto_min 5ms. mosquitto: an nftables rule
              drops 5% of the namespace's loopback packets (the test is
              skipped for the reference where nft is missing).
  max_packet  mqtt.max_packet / max_packet_size, bytes.
  max_queued  mqtt.max_queued / max_queued_messages (messages per session).

Counters (petrel only; `petrelctl stats`, "mqtt" object of "total" and of
each core, nested objects flattened to their leaf names): mqtt_stats(),
core_mqtt_stats(); MqttTestCase has snap()/assert_delta()/wait_gauge()
which do nothing against the reference.
"""
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import Broker, BROKER_IP
from test_tcp_echo import _flatten  # stats JSON -> {leaf name: number}

REFERENCE = os.environ.get("PT_MQTT_REFERENCE", "").strip().lower() or None
if REFERENCE not in (None, "mosquitto", "petrel"):
    raise SystemExit(f"PT_MQTT_REFERENCE={REFERENCE}: only 'mosquitto'")
if REFERENCE == "petrel":
    REFERENCE = None
MQTT_PORT = 1883
LOSS_PPM = 50000
MOSQUITTO = os.environ.get("MOSQUITTO", shutil.which("mosquitto")
                           or "/usr/sbin/mosquitto")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns({path}): {os.strerror(e)}")
    finally:
        os.close(fd)


def _thread_netns_ino():
    return os.stat("/proc/thread-self/ns/net").st_ino


class MqttBroker:
    """petreld or mosquitto, each in a namespace of its own."""

    def __init__(self, tag, loss=False, max_packet=None, max_queued=None,
                 extra=(), anonymous=True):
        self.tag = tag
        self.loss = loss
        self.max_packet = max_packet
        self.max_queued = max_queued
        self.extra = list(extra)      # more petreld options (petrel only)
        self.anonymous = anonymous
        self.petrel = REFERENCE is None
        self.kind = "petreld" if self.petrel else "mosquitto"
        self.port = MQTT_PORT
        self.pb = None        # harness.Broker (petrel)
        self.proc = None      # mosquitto
        self._home = None     # fd of the namespace we came from

    # -- lifecycle --
    def __enter__(self):
        if self.petrel:
            self._start_petrel()
        else:
            self._start_mosquitto()
        return self

    def __exit__(self, *exc):
        self.leave_ns()
        if self.pb is not None:
            self.pb.__exit__(*exc)
        else:
            self._stop_mosquitto()
        return False

    def petrel_args(self):
        """The petreld options this fixture uses."""
        args = ["--set", "dp.cores=2",
                "--set", f"mqtt.port={MQTT_PORT}",
                "--set", "mqtt.sys_interval_s=1",
                "--set", "mqtt.allow_anonymous="
                + ("on" if self.anonymous else "off")]
        if self.max_packet is not None:
            args += ["--set", f"mqtt.max_packet={self.max_packet}"]
        if self.max_queued is not None:
            args += ["--set", f"mqtt.max_queued={self.max_queued}"]
        if self.loss:
            args += ["--set", f"fault.rx_drop_ppm={LOSS_PPM}",
                     "--set", f"fault.tx_drop_ppm={LOSS_PPM}",
                     "--set", "tcp.rto_min_ms=5"]
        return args + self.extra

    def _start_petrel(self):
        self.host = BROKER_IP
        self.pb = Broker(self.tag, args=self.petrel_args())
        try:
            self.pb.__enter__()
        except RuntimeError as e:
            msg = str(e)
            if "mqtt." in msg and ("unknown key" in msg or "unknown" in msg):
                raise RuntimeError(
                    "petreld refused the MQTT settings: this petreld has no "
                    "MQTT broker yet (its configuration lacks the mqtt.* "
                    "keys). Run with PT_MQTT_REFERENCE=mosquitto to check "
                    "the tests against mosquitto.\npetreld options: "
                    + " ".join(self.petrel_args()) + "\n" + msg) from None
            raise
        self.ns = self.pb.ns
        try:
            # the kernel side recovers losses as fast as petrel does
            from test_tcp_echo import tune_kernel_route
            tune_kernel_route(self.pb, "5ms" if self.loss else "20ms")
            self._wait_listening()
        except BaseException:
            self.pb.__exit__(None, None, None)
            raise

    def _mosquitto_conf(self):
        lines = [f"listener {MQTT_PORT} 127.0.0.1",
                 "allow_anonymous true",
                 "persistence false",
                 "sys_interval 1",
                 # petrel's default (mqtt.max_queued) unless a test sets it
                 f"max_queued_messages {self.max_queued or 1000}",
                 "set_tcp_nodelay true",
                 "log_dest stderr",
                 "log_type error",
                 "log_type warning",
                 "log_type notice",
                 "log_type information"]
        if self.max_packet is not None:
            lines.append(f"max_packet_size {self.max_packet}")
        return "\n".join(lines) + "\n"

    def _start_mosquitto(self):
        self.host = "127.0.0.1"
        self.ns = f"pt-{self.tag}-{os.getpid()}"[:31]
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.log = tempfile.NamedTemporaryFile(
            prefix=f"{self.ns}-", suffix=".log", delete=False)
        fd, self.conf = tempfile.mkstemp(prefix=f"{self.ns}-", suffix=".conf")
        os.write(fd, self._mosquitto_conf().encode())
        os.close(fd)
        os.chmod(self.conf, 0o644)
        try:
            self.ns_run("ip", "link", "set", "lo", "up", check=True)
            if self.loss:
                self._mosquitto_loss()
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, MOSQUITTO, "-c", self.conf],
                stdout=self.log, stderr=subprocess.STDOUT)
            self._wait_listening()
        except BaseException:
            self._stop_mosquitto()
            raise

    def _mosquitto_loss(self):
        if shutil.which("nft") is None:
            raise unittest.SkipTest("reference with loss needs nft "
                                    "(apt-get install nftables)")
        # every packet on the namespace's loopback passes the output hook
        # once: 5% of each direction
        for rule in ("add table inet ptloss",
                     "add chain inet ptloss out { type filter hook output "
                     "priority 0; }",
                     f"add rule inet ptloss out numgen random mod 1000000 < "
                     f"{LOSS_PPM} drop"):
            r = self.ns_run("nft", rule)
            if r.returncode != 0:
                raise unittest.SkipTest(f"nft {rule}: {r.stderr}")
        r = self.ns_run("sysctl", "-qw", "net.ipv4.tcp_rto_min_us=5000")
        if r.returncode != 0:
            print(f"note: no tcp_rto_min_us: {r.stderr}", file=sys.stderr)

    def _stop_mosquitto(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        for p in (self.conf,):
            try:
                os.unlink(p)
            except OSError:
                pass
        if os.environ.get("PT_KEEP_LOGS") is None:
            self.log.close()
            os.unlink(self.log.name)

    def _wait_listening(self, timeout=15.0):
        """Until a TCP connect to the MQTT port succeeds (from inside)."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with "
                                   f"{self.proc.returncode}:\n{self.output()}")
            r = self.ns_run(sys.executable, "-c",
                            "import socket,sys; socket.create_connection("
                            "(sys.argv[1], int(sys.argv[2])), 2).close()",
                            self.host, str(self.port), timeout=10)
            if r.returncode == 0:
                return
            last = r.stderr.strip().splitlines()[-1:] or r.stdout
            time.sleep(0.2)
        raise RuntimeError(f"{self.kind}: nothing listens on {self.host}:"
                           f"{self.port} after {timeout} s ({last}):\n"
                           + self.output())

    def output(self):
        if self.pb is not None:
            return self.pb.output()
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    # -- the namespace --
    def enter_ns(self):
        """Move the calling thread into the broker's namespace (threads it
        creates afterwards start there too)."""
        if self._home is None:
            self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        _setns(f"/run/netns/{self.ns}")
        self.check_ns()

    def leave_ns(self):
        if self._home is not None:
            if _libc.setns(self._home, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"setns(home): {os.strerror(e)}")
            os.close(self._home)
            self._home = None

    def check_ns(self):
        """Refuse to go on unless this thread is in the broker's namespace."""
        want = os.stat(f"/run/netns/{self.ns}").st_ino
        if _thread_netns_ino() != want:
            raise AssertionError(f"this thread is not in namespace {self.ns}:"
                                 f" refusing to open a client socket")

    def ns_run(self, *cmd, timeout=60, check=False, input=None):
        return subprocess.run(["ip", "netns", "exec", self.ns] + list(cmd),
                              capture_output=True, text=True, input=input,
                              timeout=timeout, check=check)

    def ns_popen(self, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.ns] + list(cmd),
                                **kw)

    # -- petrel's counters --
    def _mqtt_of(self, obj, where):
        m = obj.get("mqtt")
        if not isinstance(m, dict):
            raise AssertionError(f"no 'mqtt' object in petrelctl stats "
                                 f"{where} (have: {', '.join(sorted(obj))})")
        out = {}
        _flatten(m, out)
        return out

    def mqtt_stats(self):
        """Flat {leaf name: value} of stats' total.mqtt."""
        return self._mqtt_of(self.pb.ctl("stats")["total"], "total")

    def core_mqtt_stats(self):
        return [self._mqtt_of(c, f"core {c.get('core')}")
                for c in self.pb.ctl("stats")["cores"]]


def counter(stats, name):
    if name not in stats:
        raise AssertionError(f"MQTT counter '{name}' not in petrelctl stats "
                             f"(have: {', '.join(sorted(stats))})")
    return stats[name]


class MqttTestCase(unittest.TestCase):
    """One broker for the whole class; the test thread lives in its
    namespace from setUpClass to tearDownClass."""
    TAG = "mqtt"
    BROKER_OPTS = {}
    # waits: generous and bounded; multiplied under loss
    T = 1.0

    @classmethod
    def setUpClass(cls):
        cls.mq = MqttBroker(cls.TAG, **cls.BROKER_OPTS).__enter__()
        cls.petrel = cls.mq.petrel
        cls.T = 2.0 if cls.BROKER_OPTS.get("loss") else 1.0
        cls._n = 0
        cls._clients = []
        try:
            cls.mq.enter_ns()
        except BaseException:
            cls.mq.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        for c in cls._clients:
            try:
                c.close()
            except Exception:
                pass
        cls.mq.__exit__(None, None, None)

    def setUp(self):
        self._test_clients = []

    def tearDown(self):
        for c in self._test_clients:
            try:
                c.close()
            except Exception:
                pass
        if self.petrel:
            # let the broker finish closing them before the next test reads
            # its gauges (bounded; the tests assert what they need)
            kept = sum(1 for c in self._clients
                       if getattr(c, "connected", False))
            try:
                self.wait_gauge("mqtt_connections", lambda v: v <= kept,
                                timeout=3.0)
            except AssertionError:
                pass

    # -- helpers --
    def uniq(self, what="t"):
        """A topic prefix / client id no other test of this broker uses."""
        type(self)._n += 1
        return f"{what}{type(self)._n}-{self._testMethodName[5:25]}"

    def paho(self, client_id=None, clean=True, keepalive=60, will=None,
             connect=True, keep=False, username=None, password=None):
        """A connected paho client, closed after the test (after the class
        with keep)."""
        c = PahoClient(self.mq, client_id or self.uniq("c"), clean,
                       keepalive, will, username=username, password=password)
        (self._clients if keep else self._test_clients).append(c)
        if connect:
            try:
                sp, rc = c.connect(timeout=10 * self.T)
            except OSError as e:
                self.broker_gone(e)
            self.assertEqual(rc, 0, "CONNACK return code")
        return c

    def raw(self):
        try:
            c = RawClient(self.mq, timeout=10 * self.T)
        except OSError as e:
            self.broker_gone(e)
        self._test_clients.append(c)
        return c

    def broker_gone(self, err):
        """A client could not connect: say so, with the broker's last words
        if it is no longer running."""
        proc = self.mq.pb.proc if self.petrel else self.mq.proc
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{self.mq.kind} exited ({proc.returncode})"
                                 f"; connect: {err}\n"
                                 + self.mq.output()[-4000:]) from None
        raise AssertionError(f"cannot connect to {self.mq.host}:"
                             f"{self.mq.port}: {err}") from None

    def close_settled(self, client):
        """Close client and give the broker time to end its connection (an
        offline session, a next CONNECT with the same id): petrel until
        mqtt_connections drops, the reference a moment."""
        n0 = (counter(self.mq.mqtt_stats(), "mqtt_connections")
              if self.petrel else None)
        client.close()
        if self.petrel:
            self.wait_gauge("mqtt_connections", lambda v: v < n0,
                            timeout=5 * self.T)
        else:
            time.sleep(0.2 * self.T)

    def assert_nothing(self, client, topic=None, wait=1.0):
        """No message (on topic) arrives within wait seconds."""
        time.sleep(wait)
        got = [m for m in client.msgs if topic is None or m.topic == topic]
        self.assertEqual(got, [], f"unexpected messages on {topic}")

    # -- petrel counters (no-ops against the reference) --
    GAUGES = ("mqtt_connections", "mqtt_sessions", "mqtt_subscriptions")

    def snap(self):
        """Counters now, once the gauges have settled (unchanged over
        0.15 s; at most 3 s): None against the reference."""
        if not self.petrel:
            return None
        st = self.mq.mqtt_stats()
        deadline = time.time() + 3.0
        while time.time() < deadline:
            time.sleep(0.15)
            nxt = self.mq.mqtt_stats()
            if all(nxt.get(g) == st.get(g) for g in self.GAUGES):
                return nxt
            st = nxt
        return st

    def assert_delta(self, before, name, expect, at_least=False,
                     timeout=5.0):
        """Counter name rose by expect (or at least expect) since before;
        polls a while, counters of other cores arrive asynchronously."""
        if before is None:
            return
        base = counter(before, name)
        deadline = time.time() + timeout
        while True:
            d = counter(self.mq.mqtt_stats(), name) - base
            ok = d >= expect if at_least else d == expect
            if ok or time.time() > deadline:
                break
            time.sleep(0.1)
        if at_least:
            self.assertGreaterEqual(d, expect, f"{name} rose by {d}")
        else:
            self.assertEqual(d, expect, f"{name} rose by {d}")

    def wait_gauge(self, name, pred, timeout=5.0):
        """Poll gauge name until pred(value); return the last value."""
        if not self.petrel:
            return None
        deadline = time.time() + timeout
        while True:
            v = counter(self.mq.mqtt_stats(), name)
            if pred(v) or time.time() > deadline:
                return v
            time.sleep(0.1)


from mqtt_client import PahoClient, RawClient  # noqa: E402  (after harness)

main = harness.main
