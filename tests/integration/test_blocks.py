#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_blocks - an admin blocks a compromised account (issue 18.3): its POP logins stop
authorizing relay and its current authorizations are revoked; SMTP AUTH is refused; with --pop its
POP logins are refused too, with a reply that says so; blocks are listed, lifted, kept over a
restart, through popgatectl and through the admin API (every route and role).

The client is 127.0.0.1, so relay.allow is emptied (its default allows loopback).
"""

import json
import os
import poplib
import smtplib
import time

import admin_helpers as ah
import popgate_harness as h
import smtp_helpers as sh

OUTSIDE = "friend@elsewhere.net"
USERS = {"helen": ("helen-pw-1", "admin"), "vic": ("vic-pw-2", "viewer")}


def pop_login(d, user, password):
    """A POP3 login; None when accepted, else the server's -ERR line."""
    pop = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
    try:
        pop.user(user)
        pop.pass_(password)
    except poplib.error_proto as e:
        return e.args[0].decode()
    finally:
        pop.quit()
    return None


def smtp_auth(d, user, password):
    """SMTP AUTH PLAIN; the reply (code, text)."""
    s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
    try:
        s.ehlo("client.test")
        try:
            code, text = s.login(user, password)
        except smtplib.SMTPAuthenticationError as e:
            code, text = e.smtp_code, e.smtp_error
        return code, text.decode()
    finally:
        s.quit()


def may_relay(d):
    """Whether popgatectl check says 127.0.0.1 may relay."""
    return d.ctl("check", "127.0.0.1", check=False).returncode == 0


class Blocks(h.TestCase):
    def daemon(self):
        cfg = sh.base_config(pop3={"plaintext_auth": "always"}, smtp={"plaintext_auth": "always"})
        d = h.Popgated(self, config=cfg, listeners=("pop3", "smtp", "admin"))
        d.add_user("alice", "alice-pw", messages=[h.mbox_message(1)])
        d.add_user("bob", "bob-pw")
        ah.setup_admin(d, USERS)
        return d

    def test_block_stops_relaying_and_smtp_auth_then_unblock(self):
        with self.daemon() as d:
            d.start()
            self.assertIsNone(pop_login(d, "alice", "alice-pw"))
            self.assertTrue(may_relay(d))
            d.ctl("add", "198.51.100.7", "--user", "alice")
            d.ctl("add", "198.51.100.8", "--user", "bob")
            out = d.ctl("block", "alice", "--for", "2h", "--note", "spam run, ticket 4711").stdout
            self.assertIn("alice: blocked until", out)
            self.assertIn("2 authorizations revoked", out)
            # Both of alice's authorizations are gone, bob's stays.
            ips = {e["ip"] for e in json.loads(d.ctl("list", "--json").stdout)}
            self.assertEqual(ips, {"198.51.100.8"})
            listed = d.ctl("blocks").stdout
            self.assertRegex(listed, r"alice\s+\S+ \S+\s+\S+ \S+\s+no\s+popgatectl\s+spam run, ticket 4711")
            # Her POP login still works (the block leaves mail alone) but authorizes nothing.
            self.assertIsNone(pop_login(d, "alice", "alice-pw"))
            self.assertFalse(may_relay(d))
            self.assertIn("tls=no relay=no (account blocked by an admin)", d.log())
            code, text = smtp_auth(d, "alice", "alice-pw")
            self.assertEqual((code, text), (535, "5.7.1 Account blocked by the administrator"))
            # A wrong password still reads as a wrong password: the block tells nothing to a guesser.
            self.assertEqual(smtp_auth(d, "alice", "nope")[0], 535)
            self.assertNotIn("blocked", smtp_auth(d, "alice", "nope")[1])
            self.assertEqual(smtp_auth(d, "bob", "bob-pw")[0], 235)
            # Lifted: logins authorize again.
            self.assertIn("alice: unblocked", d.ctl("unblock", "alice").stdout)
            self.assertEqual(d.ctl("unblock", "alice", check=False).returncode, 1)
            self.assertEqual(smtp_auth(d, "alice", "alice-pw")[0], 235)
            self.assertIsNone(pop_login(d, "alice", "alice-pw"))
            self.assertTrue(may_relay(d))

    def test_pop_block_survives_a_restart(self):
        with self.daemon() as d:
            d.start()
            d.ctl("block", "alice", "--pop")
            err = pop_login(d, "alice", "alice-pw")
            self.assertEqual(err, "-ERR [AUTH] This account is blocked by the administrator; call the helpdesk")
            self.assertEqual(pop_login(d, "alice", "wrong"), "-ERR [AUTH] Authentication failed")
            self.assertFalse(may_relay(d))
            d.stop()
            d.start()
            self.assertEqual(pop_login(d, "alice", "alice-pw"), err)
            self.assertRegex(d.ctl("blocks").stdout, r"alice\s+\S+ \S+\s+lifted\s+yes")
            # The file popgatectl (root) wrote stays the daemon's own.
            path = os.path.join(d.config["server"]["state_dir"], "blocks")
            self.assertEqual(os.stat(path).st_uid, d.uid)
            self.assertIsNone(pop_login(d, "bob", "bob-pw"))

    def test_api_routes_and_roles(self):
        with self.daemon() as d:
            d.start()
            c = ah.AdminClient(d)
            for method, path, body in [("GET", "/api/blocks", None),
                                       ("POST", "/api/blocks", {"user": "alice"}),
                                       ("DELETE", "/api/blocks/alice", None)]:
                self.assertEqual(c.request(method, path, body=body).status, 401, (method, path))
            c.login("vic", "vic-pw-2")
            self.assertEqual(c.get("/api/blocks").json["blocks"], [])
            self.assertEqual(c.post("/api/blocks", {"user": "alice"}).status, 403)
            self.assertEqual(c.delete("/api/blocks/alice").status, 403)

            a = ah.AdminClient(d)
            a.login("helen", "helen-pw-1")
            self.assertEqual(a.post("/api/blocks", {"user": "alice"}, csrf=False).status, 403)
            for bad in ({"user": "../x"}, {"user": "alice", "duration": "soon"},
                        {"user": "alice", "note": "a\nb"}, {"user": "alice", "pop": "yes"}, {}):
                r = a.post("/api/blocks", bad)
                self.assertEqual(r.status, 400, (bad, r))
            self.assertIsNone(pop_login(d, "alice", "alice-pw"))
            self.assertTrue(may_relay(d))
            r = a.post("/api/blocks", {"user": "alice", "duration": "1h", "pop": False, "note": "phished"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json["revoked"], 1)
            b = r.json["block"]
            self.assertEqual((b["user"], b["by"], b["note"], b["pop"], b["permanent"]),
                             ("alice", "helen", "phished", False, False))
            self.assertEqual(b["until"] - b["since"], 3600)
            self.assertFalse(may_relay(d))
            self.assertIn("user=helen account blocked: account=alice", d.log())
            listed = c.get("/api/blocks").json
            self.assertEqual([x["user"] for x in listed["blocks"]], ["alice"])
            self.assertEqual(ah.parse_metrics(c.get("/metrics").text)["popgate_blocked_accounts"], 1)
            self.assertIn("alice", d.ctl("blocks").stdout)
            self.assertEqual(smtp_auth(d, "alice", "alice-pw")[0], 535)
            # A new block replaces the old one: for good, POP too.
            r = a.post("/api/blocks", {"user": "alice", "pop": True})
            self.assertEqual(r.status, 201, r)
            self.assertIsNone(r.json["block"]["until"])
            self.assertEqual(len(c.get("/api/blocks").json["blocks"]), 1)
            self.assertIn("blocked by the administrator", pop_login(d, "alice", "alice-pw"))
            self.assertEqual(a.delete("/api/blocks/alice").json, {"unblocked": "alice"})
            self.assertEqual(a.delete("/api/blocks/alice").status, 404)
            self.assertEqual(a.delete("/api/blocks/..").status, 400)
            self.assertEqual(c.get("/api/blocks").json["blocks"], [])
            self.assertIsNone(pop_login(d, "alice", "alice-pw"))
            self.assertTrue(may_relay(d))

    def hold_past_a_second(self, p, since):
        """Keep the POP session open until two seconds after SINCE (by the clock: popgated records
        the authorization again at the end of a session that lasted a second or more)."""
        while time.time() < since + 2:
            p.noop()
            time.sleep(0.1)

    def sessions_ended(self, a):
        sh.wait_until(lambda: a.get("/api/stats").json["counters"]["sessions_active"] == 0, timeout=30,
                      what="the POP session's monitor gone, its end recorded or not")

    def test_the_end_of_a_blocked_accounts_session_authorizes_nothing(self):
        """A POP session's end records its authorization again; not for a blocked account, nor
        for one blocked while the session runs (it once did, once the session lasted a second)."""
        with self.daemon() as d:
            d.start()
            a = ah.AdminClient(d)
            a.login("helen", "helen-pw-1")
            for blocked_before in (False, True):
                start = time.time()
                p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
                p.user("alice")
                p.pass_("alice-pw")
                if not blocked_before:
                    self.assertTrue(may_relay(d))
                    r = a.post("/api/blocks", {"user": "alice", "duration": "1h"})
                    self.assertEqual((r.status, r.json["revoked"]), (201, 1), r)
                self.assertFalse(may_relay(d))
                self.hold_past_a_second(p, start)
                p.quit()
                self.sessions_ended(a)
                self.assertFalse(may_relay(d), "the session's end authorized a blocked account "
                                 "(blocked %s the login)" % ("before" if blocked_before else "after"))

    def test_page_blocks_after_root_blocked_first(self):
        """root's popgatectl block makes the lock file first; the admin worker (server.user) must
        still be able to take it: it once could not (a 0640 root:root file) and every block from
        the page failed with 503 "the block could not be saved" from then on."""
        if not h.IS_ROOT:
            print("SKIP: needs root (popgatectl as root, the daemon as another user)")
            return
        with self.daemon() as d:
            d.start()
            d.ctl("block", "bob", "--note", "by root first")
            a = ah.AdminClient(d)
            a.login("helen", "helen-pw-1")
            r = a.post("/api/blocks", {"user": "alice", "duration": "1h"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(a.delete("/api/blocks/bob").status, 200)
            self.assertEqual([x["user"] for x in a.get("/api/blocks").json["blocks"]], ["alice"])
            lock = os.stat(os.path.join(d.dir, "state", "blocks.lock"))
            self.assertEqual((lock.st_uid, lock.st_gid), (d.uid, d.gid))
            # Not world-readable: whoever can open the lock can hold it and stall every block.
            self.assertEqual(lock.st_mode & 0o777, 0o640)

    def test_a_lock_file_readable_by_all_is_narrowed(self):
        """A blocks.lock left 0644 by an older popgate is narrowed to 0640 at the next block,
        whether root's popgatectl or the page (server.user, its owner) takes it."""
        if not h.IS_ROOT:
            print("SKIP: needs root (popgatectl as root, the daemon as another user)")
            return
        with self.daemon() as d:
            d.start()
            path = os.path.join(d.dir, "state", "blocks.lock")
            for who in ("popgatectl", "page"):
                with open(path, "a"):
                    pass
                os.chown(path, d.uid, d.gid)
                os.chmod(path, 0o644)
                if who == "popgatectl":
                    d.ctl("block", "bob")
                else:
                    a = ah.AdminClient(d)
                    a.login("helen", "helen-pw-1")
                    self.assertEqual(a.post("/api/blocks", {"user": "alice", "duration": "1h"}).status, 201)
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o640, who)


if __name__ == "__main__":
    h.main()
