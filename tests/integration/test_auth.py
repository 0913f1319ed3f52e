#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Login and access control against a real petreld (its own namespace):

- a password file written by mosquitto_passwd (both hash kinds): right
  password in, wrong password / unknown user CONNACK 0x04, no user name
  0x05 (anonymous off), each counted;
- an ACL file in Mosquitto's format: a denied PUBLISH is acknowledged but
  reaches nobody, a denied SUBSCRIBE gets 0x80, a denied will is dropped,
  %u and %c patterns; `acl reload` swaps the rules under a live session
  and a bad file keeps the old ones;
- `petrelctl user add|passwd|del` rewrite the file and the next login
  sees it;
- a wrong-password flood from one address does not stop a valid user
  logging in from another: the flood is throttled (counted) and the valid
  logins stay fast.
"""
import os
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from mqtt_client import RawClient, PahoClient, Closed
from mqtt_fixture import MqttTestCase, REFERENCE

# More addresses on the kernel side of the tap. Failed logins are
# throttled per source address, so the tests that fail on purpose do it
# from addresses of their own.
FLOOD_IP = "10.99.0.3"
USER_IP = "10.99.0.4"
BAD_IP = "10.99.0.5"
BAD_IP2 = "10.99.0.6"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class AuthTest(MqttTestCase):
    TAG = "auth"

    @classmethod
    def setUpClass(cls):
        if REFERENCE:
            raise unittest.SkipTest("petrel-only: password file, ACL and "
                                    "petrelctl")
        cls.dir = tempfile.mkdtemp(prefix="pt-auth-")
        cls.pw = os.path.join(cls.dir, "passwd")
        cls.acl = os.path.join(cls.dir, "acl")
        subprocess.run(["mosquitto_passwd", "-c", "-b", cls.pw, "alice",
                        "wonderland"], check=True)
        subprocess.run(["mosquitto_passwd", "-H", "sha512", "-b", cls.pw,
                        "bob", "builder"], check=True)
        subprocess.run(["mosquitto_passwd", "-b", cls.pw, "carol",
                        "p@ss word:x"], check=True)
        write(cls.acl, cls.ACL)
        cls.BROKER_OPTS = {"anonymous": False, "extra": [
            "--set", f"auth.password_file={cls.pw}",
            "--set", f"auth.acl_file={cls.acl}",
            "--set", "auth.fail_limit=3",
            "--set", "auth.fail_block_ms=2000"]}
        super().setUpClass()
        cls.pb = cls.mq.pb
        for ip in (FLOOD_IP, USER_IP, BAD_IP, BAD_IP2):
            cls.mq.ns_run("ip", "addr", "add", f"{ip}/24", "dev", "pt0",
                          check=True)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for f in os.listdir(cls.dir):
            os.unlink(os.path.join(cls.dir, f))
        os.rmdir(cls.dir)

    ACL = """# anonymous clients: nothing (and anonymous is off anyway)
user alice
topic readwrite alice/#
topic read shared/#
topic deny alice/secret/#
topic write news/#
user bob
topic write shared/#
topic write alice/inbox
topic read bob/#
user carol
topic read #
pattern readwrite clients/%c/#
pattern read users/%u/#
"""

    # -- helpers --
    def broker(self):
        return self.pb.ctl("stats")["broker"]

    def mqtt(self):
        return self.mq.mqtt_stats()

    def login(self, cid, user, password, will=None):
        """A connected paho client with credentials, kept for the class."""
        return self.paho(cid, will=will, keep=True, username=user,
                         password=password)

    def raw_connect(self, cid, user=None, password=None, source=None):
        r = RawClient(self.mq, source=source)
        try:
            return r.connect(cid, username=user, password=password)[1]
        finally:
            r.close()

    # -- login --
    def test_01_login_codes_and_counters(self):
        before = self.broker()
        self.assertEqual(self.raw_connect("l1", "alice", "wonderland"), 0)
        self.assertEqual(self.raw_connect("l2", "bob", "builder"), 0,
                         "$6$ (sha512) hash")
        self.assertEqual(self.raw_connect("l3", "carol", "p@ss word:x"), 0)
        self.assertEqual(self.raw_connect("l4", "alice", "wrong",
                                          source=BAD_IP), 4)
        self.assertEqual(self.raw_connect("l5", "nobody", "x",
                                          source=BAD_IP), 4)
        self.assertEqual(self.raw_connect("l6", source=BAD_IP), 5,
                         "anonymous is off")
        self.assertEqual(self.raw_connect("l7", "carol", source=BAD_IP2), 4,
                         "user name without password")
        after = self.broker()
        self.assertEqual(after["auth_ok"] - before["auth_ok"], 3)
        self.assertEqual(after["auth_bad_password"]
                         - before["auth_bad_password"], 2)
        self.assertEqual(after["auth_unknown_user"]
                         - before["auth_unknown_user"], 1)
        self.assertEqual(after["auth_no_credentials"]
                         - before["auth_no_credentials"], 1)

    # -- ACL --
    def test_02_acl_publish_denied(self):
        sub = self.login("acl-sub", "carol", "p@ss word:x")
        self.assertEqual(sub.subscribe([("alice/#", 1), ("shared/#", 1)]),
                         [1, 1])
        pub = self.login("acl-pub", "bob", "builder")
        before = self.mqtt()["mqtt_acl_publish_denied"]
        pub.publish("alice/private", b"not allowed", qos=1)  # PUBACKed
        pub.publish("shared/news", b"allowed", qos=1)
        pub.publish("alice/inbox", b"allowed too", qos=1)
        sub.wait_msgs(2, 5)
        time.sleep(0.3)
        self.assertEqual(sorted(m.topic for m in sub.msgs),
                         ["alice/inbox", "shared/news"])
        self.assertEqual(self.mqtt()["mqtt_acl_publish_denied"] - before, 1)

    def test_03_acl_subscribe_denied(self):
        c = self.login("acl-subd", "alice", "wonderland")
        before = self.mqtt()["mqtt_acl_subscribe_denied"]
        got = c.subscribe([("alice/x", 1), ("bob/x", 1), ("#", 0),
                           ("alice/secret/a", 0), ("alice/#", 0),
                           ("shared/+", 1)])
        # alice/# would cover alice/secret/# which is denied: refused
        self.assertEqual(got, [1, 128, 128, 128, 128, 1])
        self.assertEqual(self.mqtt()["mqtt_acl_subscribe_denied"] - before,
                         4)

    def test_04_acl_patterns(self):
        c = self.login("cid-7", "bob", "builder")
        self.assertEqual(c.subscribe([("clients/cid-7/in", 1),
                                      ("clients/other/in", 1),
                                      ("users/bob/#", 1),
                                      ("users/alice/#", 1)]),
                         [1, 128, 1, 128])
        c.publish("clients/cid-7/in", b"to myself", qos=1)
        c.wait_msgs(1, 5)
        self.assertEqual(c.msgs[0].topic, "clients/cid-7/in")

    def test_05_will_denied(self):
        sub = self.login("will-sub", "carol", "p@ss word:x")
        sub.subscribe([("#", 0)])
        before = self.mqtt()
        w = PahoClient(self.mq, "will-bob", username="bob",
                       password="builder", will=("bob/will", b"x", 0, False))
        self.assertEqual(w.connect()[1], 0)
        w.abort()               # no DISCONNECT: the will is due
        time.sleep(1.0)
        after = self.mqtt()
        self.assertEqual(after["mqtt_acl_will_denied"]
                         - before["mqtt_acl_will_denied"], 1)
        self.assertFalse([m for m in sub.msgs if m.topic == "bob/will"])

    def test_06_acl_reload_live_and_bad(self):
        c = self.login("reload-1", "bob", "builder")
        a = self.login("reload-pub", "alice", "wonderland")
        self.assertEqual(c.subscribe([("news/#", 0)]), [128])
        more = self.ACL.replace("user bob\n", "user bob\ntopic read news/#\n")
        write(self.acl, more)
        r = self.pb.ctl("acl", "reload")
        self.assertGreater(r["entries"], 0)
        self.assertEqual(c.subscribe([("news/#", 0)]), [0],
                         "the same session sees the new rules")
        a.publish("news/a", b"1", qos=1)
        c.wait_msgs(1, 5, topic="news/a")
        self.assertIsNone(c.disconnected, "reload dropped the session")
        write(self.acl, more + "frobnicate all the things\n")
        r = self.pb.ctl_raw("acl", "reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{self.acl}:", r.stderr + r.stdout)
        self.assertIn("frobnicate", r.stderr + r.stdout)
        # the previous rules are still in force
        a.publish("news/b", b"2", qos=1)
        c.wait_msgs(1, 5, topic="news/b")
        # back to the first rules: bob's subscription is taken away, the
        # session stays
        before = self.mqtt()["mqtt_acl_revoked"]
        write(self.acl, self.ACL)
        self.pb.ctl("acl", "reload")
        time.sleep(0.3)
        self.assertEqual(self.mqtt()["mqtt_acl_revoked"] - before, 1)
        a.publish("news/c", b"3", qos=1)
        time.sleep(0.5)
        self.assertEqual([m.topic for m in c.msgs], ["news/a", "news/b"])
        self.assertIsNone(c.disconnected)

    # -- users --
    def test_07_user_commands(self):
        ctl = harness.PETRELCTL

        def petrelctl(*words, stdin=None):
            opts = ["--password-stdin"] if stdin is not None else []
            return subprocess.run([ctl, "--socket", self.pb.sock] + opts +
                                  list(words), input=stdin,
                                  capture_output=True, text=True, timeout=20)

        r = petrelctl("user", "add", "dave", stdin="first pass\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.raw_connect("u1", "dave", "first pass"), 0)
        with open(self.pw) as f:
            text = f.read()
        self.assertIn("dave:$7$", text)
        self.assertIn("alice:$7$", text)    # others kept
        self.assertEqual(os.stat(self.pw).st_mode & 0o777, 0o600)
        r = petrelctl("user", "add", "dave", stdin="again\n")
        self.assertEqual(r.returncode, 1, "adding an existing user")
        r = petrelctl("user", "passwd", "dave", stdin="second pass\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.raw_connect("u2", "dave", "first pass",
                                          source=BAD_IP2), 4)
        self.assertEqual(self.raw_connect("u3", "dave", "second pass"), 0)
        users = self.pb.ctl("user", "list")["users"]
        self.assertIn("dave", users)
        r = petrelctl("user", "del", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.raw_connect("u4", "dave", "second pass",
                                          source=BAD_IP2), 4)
        r = petrelctl("user", "del", "dave")
        self.assertEqual(r.returncode, 1)

    # -- throttling --
    def test_08_wrong_password_flood(self):
        stop = threading.Event()
        results = {"flood": 0, "throttled_codes": 0}

        def flood():
            n = 0
            while not stop.is_set() and n < 3000:
                try:
                    rc = self.raw_connect(f"f{n}", "alice", f"guess{n}",
                                          source=FLOOD_IP)
                    results["flood"] += 1
                    if rc == 5:
                        results["throttled_codes"] += 1
                except (Closed, OSError, TimeoutError):
                    pass
                n += 1

        before = self.broker()
        threads = [threading.Thread(target=flood) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            worst = 0.0
            for i in range(10):
                t0 = time.time()
                rc = self.raw_connect(f"good{i}", "bob", "builder",
                                      source=USER_IP)
                worst = max(worst, time.time() - t0)
                self.assertEqual(rc, 0, "the valid user got in")
                time.sleep(0.1)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        after = self.broker()
        throttled = after["auth_throttled"] - before["auth_throttled"]
        checked = (after["auth_bad_password"]
                   - before["auth_bad_password"])
        print(f"flood: {results['flood']} attempts, {throttled} refused "
              f"unchecked, {checked} passwords checked; worst valid login "
              f"{worst * 1000:.0f} ms")
        self.assertGreater(throttled, 0)
        self.assertGreater(results["throttled_codes"], 0)
        # the flood's passwords are checked only until the block starts
        self.assertLess(checked, results["flood"] / 2)
        self.assertLess(worst, 1.0)


if __name__ == "__main__":
    harness.main()
