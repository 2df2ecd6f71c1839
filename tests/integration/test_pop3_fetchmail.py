# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_fetchmail - fetchmail, a real-world POP3 client, against popgated: STLS and POP3S,
UIDL-based "keep" mode fetching only new mail, and a final run that deletes what it fetched."""

import os
import poplib
import subprocess

import popgate_harness as h

h.need("fetchmail")


class Fetchmail(h.TestCase):
    def fetch(self, d, home, extra, ssl=False):
        """Run fetchmail once with an rcfile for alice; (exit status, delivered text so far)."""
        out = os.path.join(home, "delivered")
        rc = os.path.join(home, "fetchmailrc")
        port = d.port("pop3s" if ssl else "pop3")
        with open(rc, "w") as f:
            f.write("set no bouncemail\n"
                    "poll 127.0.0.1 with proto POP3 port %d\n"
                    '  user "alice" there with password "secret" is "root" here\n'
                    "  options %s no sslcertck %s\n"
                    "  mda \"/bin/sh -c 'cat >> %s'\"\n" % (port, "ssl" if ssl else "", extra, out))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
        r = subprocess.run(["fetchmail", "-f", rc, "-i", os.path.join(home, "ids"), "--nosyslog", "-v", "-N",
                            "-d0"], capture_output=True, text=True, env=env, timeout=120)
        text = ""
        if os.path.exists(out):
            with open(out) as f:
                text = f.read()
        return r.returncode, text, r.stdout + r.stderr

    def test_fetchmail(self):
        with h.Popgated(self, tls=True, listeners=("pop3", "pop3s")) as d:
            path = d.add_user("alice", "secret", messages=[h.mbox_message(i) for i in range(1, 6)])
            d.start()
            home = os.path.join(d.dir, "fetchmail-home")
            os.makedirs(home, mode=0o700)
            # keep: everything is fetched once, over STLS, and stays on the server.
            status, text, log = self.fetch(d, home, "keep")
            self.assertEqual(status, 0, log)
            self.assertIn("POP3> STLS", log)
            self.assertEqual([text.count("Subject: test %d\n" % i) for i in range(1, 6)], [1] * 5)
            # Nothing new: fetchmail's UIDL bookkeeping finds the same ids again (exit 1: no mail).
            status, text, log = self.fetch(d, home, "keep")
            self.assertEqual(status, 1, log)
            self.assertEqual(text.count("Subject: test"), 5)
            # New mail arrives; POP3S fetches just that one, then a flush run deletes everything.
            with open(path, "ab") as f:
                f.write(h.mbox_message(6))
            status, text, log = self.fetch(d, home, "keep", ssl=True)
            self.assertEqual(status, 0, log)
            self.assertEqual(text.count("Subject: test 6\n"), 1)
            self.assertEqual(text.count("Subject: test"), 6)
            status, text, log = self.fetch(d, home, "fetchall nokeep", ssl=True)
            self.assertEqual(status, 0, log)
            self.assertEqual(text.count("Subject: test"), 12)
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            p.user("alice")
            p.pass_("secret")
            self.assertEqual(p.stat(), (0, 0))
            p.quit()
            self.assertRegex(d.log(), r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice quit: retr=6 dele=6 left=0 update=ok")


if __name__ == "__main__":
    h.main()
