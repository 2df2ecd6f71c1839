#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_check - "why can't I send?" (issue 18.2): one look-up by address or user name gives the
whole decision (deny list, allow list, the authorization, a block, the last login and the last
relay attempt) in GET /api/check and in popgatectl check, in the same words.

The client is 127.0.0.1, so relay.allow is emptied (its default allows loopback).
"""

import poplib
import re
import smtplib
import urllib.parse

import admin_helpers as ah
import popgate_harness as h
import smtp_helpers as sh

USERS = {"helen": ("helen-pw-1", "admin"), "vic": ("vic-pw-2", "viewer")}


def same_words(lines):
    """LINES without the relative times, which move on between two look-ups a second apart."""
    return [re.sub(r"\((in [^)]*|[^)]* ago|now)\)", "(~)", l) for l in lines]


class Check(h.TestCase):
    def daemon(self):
        cfg = sh.base_config(pop3={"plaintext_auth": "always"},
                             relay={"deny": "192.0.2.0/24", "allow": "198.51.100.0/24"})
        d = h.Popgated(self, config=cfg, listeners=("pop3", "smtp", "admin"))
        d.add_user("alice", "alice-pw")
        ah.setup_admin(d, USERS)
        return d

    def check(self, c, **q):
        r = c.get("/api/check?" + urllib.parse.urlencode(q))
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_address_and_user_lookups(self):
        with self.daemon() as d:
            d.start()
            c = ah.AdminClient(d)
            self.assertEqual(c.get("/api/check?ip=127.0.0.1").status, 401)
            c.login("vic", "vic-pw-2")   # a viewer may look
            for bad in ("", "?ip=", "?ip=not-an-ip", "?user=../x", "?ip=127.0.0.1&user=a%0ab"):
                self.assertEqual(c.get("/api/check" + bad).status, 400, bad)

            # Before any login: denied, nothing recorded; the relay attempt is seen.
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
            s.ehlo("client.test")
            s.mail("alice@example.org")
            self.assertEqual(s.rcpt("friend@elsewhere.net")[0], 550)
            s.quit()
            # The master hears of the attempt a moment after the 550: wait for it, not for a clock.
            sh.wait_until(lambda: self.check(c, ip="127.0.0.1")["last_relay_attempt"], timeout=30,
                          what="the relay attempt among the events")
            x = self.check(c, ip="127.0.0.1")
            self.assertEqual((x["allowed"], x["decision"], x["authorization"]), (False, "unknown", None))
            self.assertEqual(x["last_relay_attempt"]["what"], "relay denied")
            self.assertIn("authorization: none for 127.0.0.1 (no POP login from it within relay.timeout)",
                          x["lines"])
            self.assertIn("deny list: 127.0.0.1 is not on it", x["lines"])

            pop = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            pop.user("alice")
            pop.pass_("alice-pw")
            pop.quit()
            # The session's end slides the authorization once more (pop3_session_end.c) after the
            # client has its +OK: wait for the master's word that the session is over, so that the
            # admin page and popgatectl below read the same expiry.
            sid = d.wait_for_log(r"session=(\w+) ip=127\.0\.0\.1 user=alice login ok").group(1)
            d.wait_for_log(r"session process \d+ is done with session=%s" % sid, timeout=60)
            sh.wait_until(lambda: self.check(c, ip="127.0.0.1")["last_login"], timeout=30,
                          what="the login among the events")
            x = self.check(c, ip="127.0.0.1")
            self.assertEqual((x["allowed"], x["decision"], x["user"]), (True, "authorized", "alice"))
            self.assertEqual(x["authorization"]["proto_words"], "POP3 login")
            self.assertEqual(x["last_login"]["what"], "login ok")
            self.assertIsNone(x["block"])
            self.assertEqual(x["lines"][0], "127.0.0.1: relay allowed: authorized user alice")
            self.assertRegex("\n".join(x["lines"]),
                             r"authorization: user alice, POP3 login, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
                             r"\([^)]*\), expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in (29|30)m\)")
            self.assertIn("block: alice is not blocked", x["lines"])
            self.assertIn("failed logins of 127.0.0.1: none recorded (no penalty, no lockout)", x["lines"])
            self.assertRegex(x["lines"][-2], r"^last login seen for 127.0.0.1: .*, login ok, POP3 login from "
                                             r"127.0.0.1, user alice$")
            # popgatectl says the same, but for the events only the admin page sees.
            out = d.ctl("check", "127.0.0.1").stdout.splitlines()
            self.assertEqual(same_words(out[:-2]), same_words(x["lines"][:-2]))
            self.assertEqual(out[-1], "last relay attempt seen for 127.0.0.1: only the admin page sees the latest events")

            # By user name: her authorizations and her block.
            x = self.check(c, user="alice")
            self.assertIsNone(x["ip"])
            self.assertTrue(any(l.startswith("authorization of alice: 127.0.0.1, POP3 login") for l in x["lines"]),
                            x["lines"])
            self.assertEqual(d.ctl("check", "alice").returncode, 0)
            d.ctl("block", "alice", "--note", "ticket 9")
            x = self.check(c, user="alice")
            self.assertEqual(x["block"]["note"], "ticket 9")
            self.assertIn("block: alice is blocked until lifted by popgatectl: ticket 9: logins authorize no "
                          "relaying, SMTP AUTH is refused", x["lines"])
            self.assertIn("authorizations of alice: none", x["lines"])
            out = d.ctl("check", "alice", check=False)
            self.assertEqual(out.returncode, 1)
            self.assertEqual(same_words(out.stdout.splitlines()[:-2]), same_words(x["lines"][:-2]))

    def test_lists(self):
        with self.daemon() as d:
            d.start()
            c = ah.AdminClient(d)
            c.login("helen", "helen-pw-1")
            x = self.check(c, ip="192.0.2.5")
            self.assertEqual((x["allowed"], x["decision"], x["deny_list"]), (False, "deny-list", "192.0.2.0/24"))
            self.assertEqual(x["lines"][:2], ["192.0.2.5: relay denied: deny-list (192.0.2.0/24)",
                                              "deny list: 192.0.2.5 is on it (192.0.2.0/24): relaying is "
                                              "refused whatever else holds"])
            x = self.check(c, ip="198.51.100.9")
            self.assertEqual((x["allowed"], x["allow_list"]), (True, "198.51.100.0/24"))
            self.assertIn("allow list: 198.51.100.9 is on it (198.51.100.0/24)", x["lines"])
            self.assertEqual(x["last_relay_attempt"], None)
            self.assertEqual(x["lines"][-1], "last relay attempt seen for 198.51.100.9: none among the latest events")
            # A hand-made entry in words, and the ctl exit status follows the verdict.
            d.ctl("add", "203.0.113.5", "--user", "walk-in", "--ttl", "2h")
            x = self.check(c, ip="203.0.113.5")
            self.assertRegex(x["lines"][3], r"^authorization: user walk-in, added by hand, since .* expires .*\(in (1h59m|2h0m)\)$")
            self.assertEqual(d.ctl("check", "192.0.2.5", check=False).returncode, 1)
            self.assertEqual(d.ctl("check", "203.0.113.5").returncode, 0)


if __name__ == "__main__":
    h.main()
