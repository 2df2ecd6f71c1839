# SPDX-License-Identifier: GPL-2.0-or-later
"""test_admin_helpdesk - the helpdesk's calls (issue 18) walked through on the admin page in
Debian's headless Chromium, at desktop width (1280 px) and at phone width (375 px).

Each walk has its own client address on 127.0.0.0/8 and its own POP user; admin_helpdesk.cjs
clicks through the page and asks this test, between two clicks, to act on popgated with real
clients and to check what the server does:

  lockout -> unlock  three wrong POP3 passwords (poplib) lock the address out (the greeting
                     refuses it); the page shows it live, Unlock lifts it: the greeting is +OK again
  check              "Why can't I send?" says denied (SMTP refuses RCPT), then, after a POP3 login,
                     authorized (SMTP relays), in the same words as popgatectl check
  block -> unblock   the page's form blocks the user: SMTP refuses to relay for its address, a POP
                     login authorizes nothing (or is refused with "also refuse POP logins"); after
                     Unblock a POP login authorizes relaying again
  audit              the trail lists unlock, block and unblock with the admin's name

and a viewer finally sees all of it without a single change button. Between the two walks popgated
is reloaded (SIGHUP): the page stays logged in. Screenshots, one per step and
width, are kept in $POPGATE_BUILDDIR/tests/artifacts/helpdesk-WIDTH-N-STEP.png. test_formatting
checks www/fmt.js (times, numeric address order, protocols in words) in node alone.

Needs chromium, node and playwright-core (browser_helpers.py); skipped (77) without them unless CI.
"""

import json
import os
import poplib
import re
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admin_helpers as ah  # noqa: E402
import browser_helpers as bh  # noqa: E402
import popgate_harness as h  # noqa: E402
import smtp_helpers as sh  # noqa: E402

ADMINS = {"helen": ("helen-admin-pw", "admin"), "vic": ("vic-viewer-pw", "viewer")}
PASSWORDS = {"alice": "alice-pop-pw", "bob": "bob-pop-pw", "carol": "carol-pop-pw", "dave": "dave-pop-pw"}
WALKS = [
    {"name": "desktop", "width": 1280, "height": 900, "ip": "127.0.0.2", "user": "alice",
     "block": {"duration": "2h", "pop": False, "note": "spam run, ticket 4711"}},
    {"name": "phone", "width": 375, "height": 812, "ip": "127.0.0.3", "user": "bob",
     "block": {"forever": True, "pop": True, "note": "compromised, ticket 4712"}},
]
STEPS = ["1-lockout", "2-unlocked", "3-check-denied", "4-check-allowed", "5-blocked", "6-unblocked", "7-audit"]
LOCKED = "-ERR [AUTH] Logins from your address are refused for a while after failed logins"
FAILED = "-ERR [AUTH] Authentication failed"
BLOCKED = "-ERR [AUTH] This account is blocked by the administrator; call the helpdesk"


def same_words(lines):
    """LINES without the relative times, which move on between two look-ups a second apart."""
    return [re.sub(r"\((in [^)]*|[^)]* ago|now)\)", "(~)", line) for line in lines]


class Server:
    """What the browser script asks the test to do on popgated, each step checked here."""

    def __init__(self, test, d):
        self.t = test
        self.d = d

    def pop(self, ip, user, password):
        """One POP3 login from IP: +OK..., or the -ERR line (also a refusing greeting)."""
        try:
            p = h.SourcePOP3("127.0.0.1", self.d.port("pop3"), ip, timeout=30)
        except poplib.error_proto as e:
            return e.args[0].decode()
        try:
            p.user(user)
            return p.pass_(password).decode()
        except poplib.error_proto as e:
            return e.args[0].decode()
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError):
                pass

    def greeting(self, ip):
        with socket.create_connection(("127.0.0.1", self.d.port("pop3")), timeout=30,
                                      source_address=(ip, 0)) as s:
            return s.makefile("rb").readline().decode().rstrip("\r\n")

    def rcpt(self, ip):
        return bh.relay_rcpt(self.d.port("smtp"), ip)

    def lock(self, req):
        for _ in range(3):
            self.t.assertEqual(self.pop(req["ip"], req["user"], "wrong"), FAILED)
        sh.wait_until(lambda: self.greeting(req["ip"]) == LOCKED, timeout=60,
                      what="the lockout of %s in force" % req["ip"])
        self.t.assertEqual(self.pop(req["ip"], req["user"], PASSWORDS[req["user"]]), LOCKED,
                           "the right password is refused too while locked out")
        return {"greeting": LOCKED}

    def unlocked(self, req):
        g = self.greeting(req["ip"])
        self.t.assertTrue(g.startswith("+OK"), "still locked out after Unlock: %s" % g)
        return {"greeting": g}

    def denied(self, req):
        code, msg = self.rcpt(req["ip"])
        self.t.assertGreaterEqual(code, 500, "relaying allowed before any POP3 login: %s" % msg)
        return {"rcpt": code}

    def pop_login(self, req):
        answer = self.pop(req["ip"], req["user"], PASSWORDS[req["user"]])
        self.t.assertTrue(answer.startswith("+OK"), answer)
        code, msg = self.rcpt(req["ip"])
        self.t.assertEqual(code, 250, "relaying refused right after the POP3 login: %s" % msg)
        return {"pop": answer, "rcpt": code}

    def same_words(self, req):
        """The page's lines are popgatectl check's, but for the two about events it cannot see."""
        out = ah.ctl(self.d, "check", req["ip"], check=False).stdout.splitlines()
        self.t.assertEqual(same_words(req["lines"][:-2]), same_words(out[:-2]))
        return {"lines": len(out)}

    def blocked(self, req):
        ip, user = req["ip"], req["user"]
        code, msg = self.rcpt(ip)
        self.t.assertGreaterEqual(code, 500, "the block left %s's authorization in place: %s" % (user, msg))
        answer = self.pop(ip, user, PASSWORDS[user])
        if req["pop"]:
            self.t.assertEqual(answer, BLOCKED)
        else:
            self.t.assertTrue(answer.startswith("+OK"), answer)
        code, msg = self.rcpt(ip)
        self.t.assertGreaterEqual(code, 500, "a blocked account's POP login authorized relaying: %s" % msg)
        return {"pop": answer, "rcpt": code}

    def unblocked(self, req):
        return self.pop_login(req)

    def reload(self, req):
        """SIGHUP: the master restarts the admin worker; back once the new one serves."""
        serving = self.d.log().count("serving the admin page")
        self.d.reload()
        sh.wait_until(lambda: self.d.log().count("serving the admin page") > serving, timeout=60,
                      what="the new admin worker serving")
        return {}

    def handlers(self):
        return {name: getattr(self, name) for name in
                ("lock", "unlocked", "denied", "pop_login", "same_words", "blocked", "unblocked", "reload")}


class Helpdesk(h.TestCase):
    def test_formatting(self):
        bh.need_node()
        r = subprocess.run(["node", os.path.join(bh.HERE, "fmt_test.cjs")], capture_output=True, text=True,
                           env=dict(os.environ, TZ="UTC", WWW_DIR=ah.WWW_DIR), timeout=120)
        sys.stdout.write(r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0)
        self.assertIn("FMT PASSED", r.stdout)

    def seed(self, d):
        """What the walks find: authorizations to sort, a blocked account, penalties at two addresses."""
        for ip in ("10.0.0.2", "2001:db8::1", "9.1.1.1"):
            ah.ctl(d, "add", ip, "--ttl", "1h")
        ah.ctl(d, "block", "dave", "--note", "seeded by the test")
        s = Server(self, d)
        for ip in ("127.0.0.10", "127.0.0.9"):
            self.assertEqual(s.pop(ip, "carol", "wrong"), FAILED)
        c = ah.AdminClient(d)
        c.login("vic", ADMINS["vic"][0])
        sh.wait_until(lambda: len(c.get("/api/lockouts").json["lockouts"]) == 2, timeout=60,
                      what="the two penalties known to the master")

    def test_walkthrough(self):
        modules = bh.need_browser()
        for old in os.listdir(bh.artifacts()):   # a screenshot counts only if this run took it
            if old.startswith("helpdesk-"):
                os.unlink(os.path.join(bh.artifacts(), old))
        # Loopback must not be on the permanent allow list, or relaying would never be refused;
        # three failures lock an address out, so that a walk makes a lockout quickly.
        cfg = {"relay": {"allow": "", "timeout": "30m"}, "pop3": {"plaintext_auth": "always"},
               "auth": {"fail_delay": "1s", "fail_delay_max": "2s", "max_failures": "3", "lockout": "1h"}}
        with h.Popgated(self, config=cfg) as d, tempfile.TemporaryDirectory(prefix="popgate-chromium-") as profile:
            for user, password in PASSWORDS.items():
                d.add_user(user, password)
            ah.setup_admin(d, ADMINS)
            d.start()
            self.seed(d)
            env = bh.node_env(d, modules, profile, ADMIN_USER="helen", ADMIN_PASS=ADMINS["helen"][0],
                              VIEWER_USER="vic", VIEWER_PASS=ADMINS["vic"][0], WALKS=json.dumps(WALKS))
            rc, out, errors = bh.run_node("admin_helpdesk.cjs", env, Server(self, d).handlers())
            self.assertEqual(errors, [], "the server did not do what the page said")
            self.assertEqual(rc, 0, "the browser part failed")
            self.assertIn("HELPDESK PASSED", out)

            for w in WALKS:
                for step in STEPS + (["8-viewer"] if w is WALKS[-1] else []):
                    path = os.path.join(bh.artifacts(), "helpdesk-%s-%s.png" % (w["name"], step))
                    self.assertGreater(os.path.getsize(path), 5000, path)
            # The trail is the server's, not the page's: it is in GET /api/audit and the log.
            c = ah.AdminClient(d)
            c.login("vic", ADMINS["vic"][0])
            trail = [(e["actor"], e["action"], e["detail"]) for e in c.get("/api/audit").json["entries"]]
            for w in WALKS:
                self.assertIn(("helen", "unblock", "unblocked " + w["user"]), trail)
                self.assertTrue(any(who == "helen" and act == "block" and x.startswith("blocked %s " % w["user"])
                                    for who, act, x in trail), trail)
                self.assertRegex(d.log(), r"user=helen unlocked: ip=%s " % re.escape(w["ip"]))


if __name__ == "__main__":
    h.main()
