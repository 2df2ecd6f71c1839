#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_lockouts - failed logins (issue 18.1): a penalty per address and user name that grows
with each failure (another user's right password at the same address is not slowed or refused),
a hard lockout of the address only past auth.max_failures of all its users, replies that say
what happened, the penalties and lockouts listed (address, user, failures, since, until) and lifted
by an admin: popgatectl lockouts|unlock, GET /api/lockouts, DELETE /api/lockouts/IP, every role.
The master answers control.sock only for root and the admin page: not for server.user.
"""

import os
import re
import poplib
import socket

import admin_helpers as ah
import popgate_harness as h
import smtp_helpers as sh

USERS = {"helen": ("helen-pw-1", "admin"), "vic": ("vic-pw-2", "viewer")}
LOCKED = "-ERR [AUTH] Logins from your address are refused for a while after failed logins"


def pop(d, user, password, more=None):
    """One POP3 session: USER/PASS, then MORE (another password) on failure; the answers."""
    try:
        p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=30)
    except (poplib.error_proto, OSError) as e:
        return [str(e)]
    answers = []
    try:
        for pw in [password] + ([more] if more else []):
            try:
                p.user(user)
                answers.append(p.pass_(pw).decode())
                break
            except poplib.error_proto as e:
                answers.append(e.args[0].decode())
        p.quit()
    except (poplib.error_proto, OSError):
        pass
    return answers


def greeting(d):
    """The first line a new POP3 connection reads."""
    with socket.create_connection(("127.0.0.1", d.port("pop3")), timeout=30) as s:
        return s.makefile("rb").readline().decode().rstrip("\r\n")


class Lockouts(h.TestCase):
    def rows(self, c):
        r = c.get("/api/lockouts")
        self.assertEqual(r.status, 200, r)
        return {(x["ip"], x["user"]): x for x in r.json["lockouts"]}

    def wait_failures(self, c, user, n):
        sh.wait_until(lambda: self.rows(c).get(("127.0.0.1", user), {}).get("failures") == n, timeout=30,
                      what="%d failures of %s known to the master" % (n, user))

    def test_penalty_per_user_then_lockout_and_unlock(self):
        cfg = {"pop3": {"plaintext_auth": "always"},
               "auth": {"fail_delay": "1s", "fail_delay_max": "2s", "max_failures": "5", "lockout": "1h"}}
        with h.Popgated(self, config=cfg, listeners=("pop3", "admin")) as d:
            d.add_user("alice", "alice-pw")
            d.add_user("bob", "bob-pw")
            ah.setup_admin(d, USERS)
            d.start()
            v = ah.AdminClient(d)
            self.assertEqual(v.get("/api/lockouts").status, 401)
            v.login("vic", "vic-pw-2")
            self.assertEqual(self.rows(v), {})

            # alice's client has a wrong password: each failure waits longer...
            self.assertEqual(pop(d, "alice", "wrong"), ["-ERR [AUTH] Authentication failed"])
            self.wait_failures(v, "alice", 1)
            self.assertEqual(pop(d, "alice", "wrong"), ["-ERR [AUTH] Authentication failed"])
            self.wait_failures(v, "alice", 2)
            log = d.log()
            self.assertIn("user=alice login failed: delay=1s failures=1 address_failures=1", log)
            self.assertIn("user=alice login failed: delay=2s failures=2 address_failures=2", log)
            # ...but bob at the same address starts from the base delay, and his right password works.
            self.assertEqual(pop(d, "bob", "wrong-once", more="bob-pw")[0], "-ERR [AUTH] Authentication failed")
            self.assertIn("user=bob login failed: delay=1s failures=1 address_failures=3", d.log())
            self.assertIn("user=bob login ok", d.log())
            row = self.rows(v)[("127.0.0.1", "alice")]
            self.assertEqual((row["failures"], row["state"], row["delay"]), (2, "penalty", 2))
            self.assertGreater(row["until"], row["since"])
            self.assertNotIn(("127.0.0.1", "bob"), self.rows(v))   # his login cleared his own failures

            # Past auth.max_failures from the address, every login there is refused, and says so.
            answers = pop(d, "alice", "wrong", more="wrong")
            self.assertEqual(answers[0], "-ERR [AUTH] Authentication failed")
            self.wait_failures(v, "alice", 4)
            answers = pop(d, "alice", "wrong", more="alice-pw")
            self.assertEqual(answers[0], "-ERR [AUTH] Authentication failed")
            self.assertEqual(answers[1], "-ERR [AUTH] Too many failed logins from your address: logins from "
                                         "it are refused for a while; the helpdesk can lift this")
            self.wait_failures(v, "alice", 6)
            self.assertEqual(greeting(d), LOCKED)
            row = self.rows(v)[("127.0.0.1", "alice")]
            self.assertEqual(row["state"], "locked out")
            out = d.ctl("lockouts").stdout
            self.assertRegex(out, r"127\.0\.0\.1\s+alice\s+6\s+\S+ \S+\s+\S+ \S+\s+locked out\s+2s")

            # An operator alerts on it (issue 18.6).
            m = ah.parse_metrics(v.get("/metrics").text)
            self.assertEqual(m['popgate_failed_logins_tracked{state="locked_out"}'], 1)
            self.assertEqual(m['popgate_failed_logins_tracked{state="penalty"}'], 0)
            self.assertEqual(m["popgate_control_up"], 1)
            self.assertEqual(len([k for k in m if k.startswith("popgate_build_info{version=")]), 1)

            # The look-up says it, on the page and in popgatectl check alike.
            lines = v.get("/api/check?ip=127.0.0.1").json["lines"]
            locked = [l for l in lines if l.startswith("failed logins:")]
            self.assertEqual(len(locked), 1, lines)
            self.assertRegex(locked[0], r"^failed logins: 127\.0\.0\.1 user alice, 6 since .*, the address is "
                                        r"locked out: every login from it is refused until .*\(in (59m|1h0m)\)$")
            ctl = [l for l in d.ctl("check", "127.0.0.1", check=False).stdout.splitlines()
                   if l.startswith("failed logins")]
            self.assertEqual([re.sub(r"\([^)]*\)", "", l) for l in ctl], [re.sub(r"\([^)]*\)", "", locked[0])])

            # Lifted by popgatectl (root): bob logs in at once.
            self.assertEqual(v.delete("/api/lockouts/127.0.0.1").status, 403)   # a viewer may not
            self.assertIn("127.0.0.1: unlocked", d.ctl("unlock", "127.0.0.1").stdout)
            self.assertEqual(d.ctl("unlock", "127.0.0.1", check=False).returncode, 1)
            answers = pop(d, "bob", "bob-pw")
            self.assertTrue(answers[0].startswith("+OK"), answers)

            # And by the admin page.
            self.assertEqual(pop(d, "alice", "wrong"), ["-ERR [AUTH] Authentication failed"])
            self.wait_failures(v, "alice", 1)
            a = ah.AdminClient(d)
            a.login("helen", "helen-pw-1")
            self.assertEqual(a.delete("/api/lockouts/127.0.0.1", csrf=False).status, 403)
            r = a.delete("/api/lockouts/127.0.0.1")
            self.assertEqual((r.status, r.json), (200, {"unlocked": "127.0.0.1", "cleared": 1}))
            self.assertEqual(a.delete("/api/lockouts/127.0.0.1").status, 404)
            self.assertEqual(a.delete("/api/lockouts/nonsense").status, 400)
            self.assertEqual(self.rows(v), {})
            m = ah.parse_metrics(v.get("/metrics").text)
            self.assertEqual(m['popgate_failed_logins_tracked{state="locked_out"}'], 0)
            acts = [(e["actor"], e["action"]) for e in a.get("/api/audit").json["entries"]]
            self.assertIn(("helen", "unlock"), acts)
            self.assertTrue(any(x.startswith("popgatectl") and y == "unlock" for x, y in acts), acts)

    @h.unittest.skipUnless(os.geteuid() == 0, "needs root to act as server.user")
    def test_control_socket_refuses_server_user(self):
        with h.Popgated(self, listeners=("pop3",)) as d:
            d.start()
            path = os.path.join(d.config["server"]["state_dir"], "control.sock")
            rd, wr = os.pipe()
            pid = os.fork()
            if pid == 0:   # as server.user, what a subverted session could do
                try:
                    os.close(rd)
                    os.setgid(d.gid)
                    os.setuid(d.uid)
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    s.bind("")   # autobind: somewhere to answer
                    s.connect(path)
                    s.send(b"unlock 127.0.0.1")
                    s.settimeout(10)
                    os.write(wr, s.recv(4096))
                finally:
                    os._exit(0)
            os.close(wr)
            answer = os.read(rd, 4096).decode()
            os.waitpid(pid, 0)
            self.assertEqual(answer, "error only root and the admin page may ask\n")
            self.assertIn("control: request refused from uid %d" % d.uid, d.log())


if __name__ == "__main__":
    h.main()
