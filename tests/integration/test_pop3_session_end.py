# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_session_end - a POP session's relay authorization slides from the session's end (QUIT or a
closed connection), not only from its login: a client that downloads for longer than relay.timeout
may still relay afterwards."""

import json
import poplib
import socket
import time

import popgate_harness as h

TIMEOUT = 2  # relay.timeout in seconds: the session outlives it


def entry(d, ip="127.0.0.1"):
    return {e["ip"]: e for e in json.loads(d.ctl("list", "--json").stdout)}.get(ip)


def wait_until(pred, timeout):
    end = time.time() + timeout * h.SLOWDOWN
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def expired(d):
    r = d.ctl("check", "127.0.0.1", check=False)
    return r.returncode == 1 and "expired" in r.stdout


class SessionEnd(h.TestCase):
    def daemon(self):
        d = h.Popgated(self, config={"relay": {"timeout": "%ds" % TIMEOUT, "allow": ""},
                                     "pop3": {"plaintext_auth": "always"}}, listeners=("pop3",))
        d.add_user("alice", "secret", messages=[h.mbox_message(i) for i in range(3)])
        return d

    def hold_past_the_login(self, d, p):
        """With the session open, wait (by asking, not sleeping) until the login's authorization expired."""
        login = entry(d)
        self.assertIsNotNone(login)
        self.assertEqual((login["proto"], login["user"], login["logins"]), ("pop3", "alice", 1))
        self.assertTrue(wait_until(lambda: expired(d), 30), "the login's authorization never expired")
        p.noop()  # the session is still there, past relay.timeout
        return login

    def assert_slid_from(self, d, login, ended):
        def renewed():
            e = entry(d)
            return e is not None and e["logins"] == 2
        self.assertTrue(wait_until(renewed, 10), "the session's end did not record: %s" % entry(d))
        e = entry(d)
        self.assertGreaterEqual(e["last"], int(ended))
        self.assertGreater(e["last"], login["last"])
        self.assertEqual(e["expires"], e["last"] + TIMEOUT)
        self.assertEqual((e["proto"], e["user"]), ("pop3", "alice"))
        return e

    def assert_policy_agrees(self, d, e):
        """popgatectl check judges the address by the recorded session end: allowed within the new window.
        relay.timeout is 2 s, so a loaded machine (a sanitizer build's popgatectl takes a second) may ask
        only after the window closed: then it must say expired, at the slid expiry, not at the login's."""
        asked = time.time()
        r = d.ctl("check", "127.0.0.1", check=False)
        if asked + 1 < e["expires"]:
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("authorized", r.stdout)
        else:
            self.assertEqual(r.returncode, 1, r.stdout)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["expires"]))
            self.assertIn("expired %s" % stamp, r.stdout)

    def test_quit_restarts_the_clock(self):
        with self.daemon() as d:
            d.start()
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=30)
            p.user("alice")
            p.pass_("secret")
            login = self.hold_past_the_login(d, p)
            p.retr(1)
            ended = time.time()
            p.quit()
            e = self.assert_slid_from(d, login, ended)
            self.assert_policy_agrees(d, e)

    def test_a_closed_connection_restarts_the_clock(self):
        with self.daemon() as d:
            d.start()
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=30)
            p.user("alice")
            p.pass_("secret")
            login = self.hold_past_the_login(d, p)
            ended = time.time()
            p.sock.shutdown(socket.SHUT_RDWR)  # gone without QUIT
            p.sock.close()
            self.assert_slid_from(d, login, ended)


if __name__ == "__main__":
    h.main()
