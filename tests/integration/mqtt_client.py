# SPDX-License-Identifier: BSD-3-Clause
"""MQTT 3.1.1 clients for the integration tests: a thin synchronous wrapper
around paho-mqtt (PahoClient) and a raw-socket mini client (RawClient) that
sends exactly the bytes a test wants (violations, withheld acknowledgements,
DUP redelivery) with the encoders to build them.

Both connect to a broker under test (mqtt_fixture.MqttBroker) and refuse to
open a socket unless the calling thread is inside that broker's network
namespace, so no test traffic ever leaves from the host's own namespace.
"""
import socket
import struct
import sys
import threading
import time

try:
    import paho.mqtt.client as paho
except ImportError:  # a python3 of its own (pyenv, venv): Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import paho.mqtt.client as paho
    except ImportError:
        raise SystemExit("the MQTT tests need paho-mqtt: apt-get install "
                         "python3-paho-mqtt (scripts/install-deps.sh)")

# packet types
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = range(1, 8)
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP = range(8, 14)
DISCONNECT = 14
TYPE_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK",
              5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE",
              9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ",
              13: "PINGRESP", 14: "DISCONNECT"}


# ---------------------------------------------------------------------------
# Encoders (client -> server packets, and anything malformed built from them)
# ---------------------------------------------------------------------------
def remaining_length(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def mstr(s):
    """A length-prefixed MQTT string (bytes are taken verbatim: a test may
    want invalid UTF-8)."""
    if isinstance(s, str):
        s = s.encode()
    return struct.pack("!H", len(s)) + s


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + remaining_length(len(body)) + body


def connect_pkt(client_id, clean=True, keepalive=60, will=None,
                proto_name=b"MQTT", level=4, reserved=False, username=None,
                password=None):
    """will: (topic, payload, qos, retain) or None."""
    flags = 0x02 if clean else 0
    if reserved:
        flags |= 0x01
    payload = mstr(client_id)
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += mstr(topic) + mstr(msg)
    if username is not None:
        flags |= 0x80
        payload += mstr(username)
    if password is not None:
        flags |= 0x40
        payload += mstr(password)
    body = mstr(proto_name) + bytes([level, flags]) + \
        struct.pack("!H", keepalive) + payload
    return packet(CONNECT, 0, body)


def publish_pkt(topic, payload=b"", qos=0, pid=None, dup=False, retain=False):
    flags = (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    body = mstr(topic)
    if qos:
        body += struct.pack("!H", pid)
    if isinstance(payload, str):
        payload = payload.encode()
    return packet(PUBLISH, flags, body + payload)


def subscribe_pkt(pid, filters, flags=0x02):
    """filters: [(filter, qos)]."""
    body = struct.pack("!H", pid)
    for f, q in filters:
        body += mstr(f) + bytes([q])
    return packet(SUBSCRIBE, flags, body)


def unsubscribe_pkt(pid, filters):
    body = struct.pack("!H", pid) + b"".join(mstr(f) for f in filters)
    return packet(UNSUBSCRIBE, 0x02, body)


def ack_pkt(ptype, pid):
    """PUBACK, PUBREC, PUBREL (flags 2) or PUBCOMP."""
    return packet(ptype, 0x02 if ptype == PUBREL else 0, struct.pack("!H", pid))


PINGREQ_PKT = bytes([PINGREQ << 4, 0])
DISCONNECT_PKT = bytes([DISCONNECT << 4, 0])


class Packet:
    """One decoded server -> client packet."""
    __slots__ = ("type", "flags", "body")

    def __init__(self, ptype, flags, body):
        self.type, self.flags, self.body = ptype, flags, body

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, str(self.type))

    @property
    def pid(self):
        if self.type == PUBLISH:
            if not self.qos:
                return None
            tl = struct.unpack("!H", self.body[:2])[0]
            return struct.unpack("!H", self.body[2 + tl:4 + tl])[0]
        return struct.unpack("!H", self.body[:2])[0]

    # PUBLISH fields
    @property
    def qos(self):
        return (self.flags >> 1) & 3

    @property
    def dup(self):
        return bool(self.flags & 0x08)

    @property
    def retain(self):
        return bool(self.flags & 0x01)

    @property
    def topic(self):
        tl = struct.unpack("!H", self.body[:2])[0]
        return self.body[2:2 + tl].decode()

    @property
    def payload(self):
        tl = struct.unpack("!H", self.body[:2])[0]
        return self.body[2 + tl + (2 if self.qos else 0):]

    def __repr__(self):
        if self.type == PUBLISH:
            return (f"PUBLISH(topic={self.topic!r} qos={self.qos} "
                    f"dup={self.dup} retain={self.retain} pid={self.pid} "
                    f"payload={self.payload[:40]!r})")
        return f"{self.name}(flags={self.flags:#x} body={self.body[:40].hex()})"


# ---------------------------------------------------------------------------
# Raw-socket client
# ---------------------------------------------------------------------------
class Closed(Exception):
    """The broker closed the connection (EOF or RST)."""


class RawClient:
    """A blocking socket speaking MQTT bytes by hand. Every read is bounded
    by a timeout; read_packet raises Closed on EOF/RST and TimeoutError when
    nothing complete arrives in time."""

    def __init__(self, broker, timeout=10.0, source=None):
        """source: a local address to connect from (the kernel side's)."""
        broker.check_ns()
        self.sock = socket.create_connection(
            (broker.host, broker.port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError("no complete packet in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no complete packet in time") from None
        except (ConnectionResetError, BrokenPipeError):
            raise Closed("connection reset") from None
        if not chunk:
            raise Closed("EOF")
        self.buf += chunk

    def read_packet(self, timeout=10.0):
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 2:
                n, mult, i = 0, 1, 1
                complete = False
                while i < len(self.buf) and i <= 4:
                    b = self.buf[i]
                    n += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        complete = True
                        break
                if complete and len(self.buf) >= i + n:
                    first = self.buf[0]
                    p = Packet(first >> 4, first & 0x0F, self.buf[i:i + n])
                    self.buf = self.buf[i + n:]
                    return p
            self._fill(deadline)

    def expect(self, ptype, timeout=10.0):
        p = self.read_packet(timeout)
        if p.type != ptype:
            raise AssertionError(f"expected {TYPE_NAMES[ptype]}, got {p!r}")
        return p

    def connect(self, client_id, clean=True, keepalive=60, will=None,
                timeout=10.0, username=None, password=None):
        """CONNECT; return (session_present, return_code) of the CONNACK."""
        self.send(connect_pkt(client_id, clean, keepalive, will,
                              username=username, password=password))
        p = self.expect(CONNACK, timeout)
        return p.body[0] & 1, p.body[1]

    def subscribe(self, pid, filters, timeout=10.0):
        """SUBSCRIBE; return the SUBACK's return codes (PUBLISHes that come
        first, e.g. retained ones, are kept in self.early)."""
        self.send(subscribe_pkt(pid, filters))
        self.early = []
        deadline = time.time() + timeout
        while True:
            p = self.read_packet(max(0.01, deadline - time.time()))
            if p.type == SUBACK:
                if p.pid != pid:
                    raise AssertionError(f"SUBACK for {p.pid}, sent {pid}")
                return list(p.body[2:])
            if p.type != PUBLISH:
                raise AssertionError(f"expected SUBACK, got {p!r}")
            self.early.append(p)

    def publish(self, topic, payload=b"", qos=0, pid=None, dup=False,
                retain=False):
        self.send(publish_pkt(topic, payload, qos, pid, dup, retain))

    def ack(self, ptype, pid):
        self.send(ack_pkt(ptype, pid))

    def disconnect(self):
        try:
            self.send(DISCONNECT_PKT)
        except OSError:
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Close with a RST (SO_LINGER 0): the hardest abnormal close."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def wait_closed(self, timeout=10.0):
        """Read until the broker closes the connection; return the packets
        it sent before (raises TimeoutError if it is still open)."""
        got = []
        deadline = time.time() + timeout
        while True:
            try:
                got.append(self.read_packet(max(0.01, deadline - time.time())))
            except Closed:
                return got


# ---------------------------------------------------------------------------
# paho wrapper
# ---------------------------------------------------------------------------
class Msg:
    __slots__ = ("topic", "payload", "qos", "retain", "dup", "t")

    def __init__(self, m):
        self.topic = m.topic
        self.payload = m.payload
        self.qos = m.qos
        self.retain = bool(m.retain)
        self.dup = bool(m.dup)
        self.t = time.time()

    def __repr__(self):
        return (f"Msg({self.topic!r}, {self.payload[:40]!r}, qos={self.qos}, "
                f"retain={self.retain})")


class PahoClient:
    """paho-mqtt with its network thread; every call waits for the
    broker's answer (bounded), and received messages collect in .msgs."""

    def __init__(self, broker, client_id, clean=True, keepalive=60,
                 will=None, username=None, password=None):
        self.broker = broker
        self.keepalive = keepalive
        self.c = paho.Client(client_id=client_id, clean_session=clean,
                             protocol=paho.MQTTv311,
                             reconnect_on_failure=False)
        self.cv = threading.Condition()
        self.msgs = []
        self.connack = None
        self.subacks = {}
        self.unsubacks = set()
        self.published = set()
        self.disconnected = None
        self.pingresps = 0
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_publish = self._on_publish
        self.c.on_disconnect = self._on_disconnect
        self.c.on_log = self._on_log
        if will:
            topic, payload, qos, retain = will
            self.c.will_set(topic, payload, qos, retain)
        if username is not None:
            self.c.username_pw_set(username, password)
        self.started = False

    # callbacks (paho's thread)
    def _on_connect(self, c, ud, flags, rc):
        with self.cv:
            self.connack = (flags.get("session present", 0), rc)
            self.cv.notify_all()

    def _on_message(self, c, ud, m):
        with self.cv:
            self.msgs.append(Msg(m))
            self.cv.notify_all()

    def _on_subscribe(self, c, ud, mid, granted):
        with self.cv:
            self.subacks[mid] = list(granted)
            self.cv.notify_all()

    def _on_unsubscribe(self, c, ud, mid):
        with self.cv:
            self.unsubacks.add(mid)
            self.cv.notify_all()

    def _on_publish(self, c, ud, mid):
        with self.cv:
            self.published.add(mid)
            self.cv.notify_all()

    def _on_disconnect(self, c, ud, rc):
        with self.cv:
            self.disconnected = rc
            self.cv.notify_all()

    def _on_log(self, c, ud, level, buf):
        if "Received PINGRESP" in buf:
            with self.cv:
                self.pingresps += 1

    def _wait(self, pred, timeout, what):
        with self.cv:
            if not self.cv.wait_for(pred, timeout):
                raise AssertionError(f"{self.c._client_id!r}: no {what} in "
                                     f"{timeout} s")

    # calls (test thread)
    def connect(self, timeout=10.0):
        """Connect; return (session_present, return_code)."""
        self.broker.check_ns()
        self.c.connect(self.broker.host, self.broker.port, self.keepalive)
        self.c.loop_start()
        self.started = True
        self._wait(lambda: self.connack is not None
                   or self.disconnected is not None, timeout, "CONNACK")
        if self.connack is None:
            raise AssertionError(f"connection closed before CONNACK "
                                 f"(rc {self.disconnected})")
        return self.connack

    def subscribe(self, filters, timeout=10.0):
        """filters: [(filter, qos)]; return the granted QoS list."""
        rc, mid = self.c.subscribe(list(filters))
        if rc != paho.MQTT_ERR_SUCCESS:
            raise AssertionError(f"subscribe: {paho.error_string(rc)}")
        self._wait(lambda: mid in self.subacks, timeout, "SUBACK")
        return self.subacks[mid]

    def unsubscribe(self, filters, timeout=10.0):
        rc, mid = self.c.unsubscribe(list(filters))
        if rc != paho.MQTT_ERR_SUCCESS:
            raise AssertionError(f"unsubscribe: {paho.error_string(rc)}")
        self._wait(lambda: mid in self.unsubacks, timeout, "UNSUBACK")

    def publish(self, topic, payload, qos=0, retain=False, wait=True,
                timeout=10.0):
        """Publish; with wait, until complete (QoS 1: PUBACK, QoS 2:
        PUBCOMP, QoS 0: written). Returns the message id."""
        info = self.c.publish(topic, payload, qos, retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise AssertionError(f"publish: {paho.error_string(info.rc)}")
        if wait:
            self.wait_published([info.mid], timeout)
        return info.mid

    def wait_published(self, mids, timeout=10.0):
        mids = set(mids)
        self._wait(lambda: mids <= self.published, timeout,
                   f"completion of {len(mids)} publishes")

    def wait_msgs(self, n, timeout=10.0, topic=None):
        """Wait until n messages (on topic, if given) have arrived; return
        them (fails with what did arrive)."""
        def sel():
            return [m for m in self.msgs if topic is None or m.topic == topic]
        with self.cv:
            if self.cv.wait_for(lambda: len(sel()) >= n, timeout):
                return sel()
            got = sel()
        raise AssertionError(f"{self.c._client_id!r}: {len(got)} of {n} "
                             f"messages{' on ' + topic if topic else ''} in "
                             f"{timeout} s; last: {got[-3:]}")

    def take(self):
        """Messages so far, emptying the list."""
        with self.cv:
            m, self.msgs = self.msgs, []
        return m

    def wait_disconnected(self, timeout=10.0):
        with self.cv:
            return self.cv.wait_for(lambda: self.disconnected is not None,
                                    timeout)

    @property
    def connected(self):
        return self.c.is_connected() and self.disconnected is None

    def abort(self):
        """Drop the TCP connection without DISCONNECT (the will is due)
        and stop the network thread."""
        if self.started:
            sock = self.c.socket()
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            self.wait_disconnected(5)
            self.c.loop_stop()
            self.started = False

    def close(self):
        """DISCONNECT (if still connected) and stop the network thread."""
        if self.started:
            try:
                if self.disconnected is None:
                    self.c.disconnect()
                    self.wait_disconnected(5)
            finally:
                self.c.loop_stop()
                self.started = False
