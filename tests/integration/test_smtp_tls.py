#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_smtp_tls - STARTTLS (RFC 3207), implicit TLS (RFC 8314) and SMTP AUTH (RFC 4954):
AUTH only under TLS unless configured otherwise, plaintext pipelined after STARTTLS discarded,
everything learnt before the handshake forgotten, PLAIN and LOGIN against the POP3 users.
"""

import base64
import shutil
import smtplib
import socket
import subprocess

import popgate_harness as h
import smtp_helpers as sh

OUTSIDE = "friend@elsewhere.net"


class Tls(h.TestCase):
    def daemon(self, pop3=None, smtp=None):
        d = h.Popgated(self, config=sh.base_config(pop3=pop3 or {}, smtp=smtp or {}), tls=True,
                       listeners=("smtp", "smtps"))
        self.mta = sh.Sendmail(d)
        d.add_user("alice", "secret")
        return d

    def dialog(self, d, name="smtp", tls=False):
        c = sh.Dialog(d.port(name), tls_context=sh.client_tls_context() if tls else None)
        self.addCleanup(c.close)
        return c

    def test_starttls_then_auth(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            code, lines = c.cmd("EHLO client.test")
            self.assertIn("STARTTLS", lines)
            self.assertFalse([l for l in lines if l.startswith("AUTH")], lines)  # not before TLS
            code, lines = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0secret").decode())
            self.assertEqual((code, lines[0][:6]), (538, "5.7.11"))
            self.assertEqual(c.cmd("STARTTLS now")[0], 501)
            self.assertEqual(c.cmd("STARTTLS"), (220, ["2.0.0 Ready to start TLS"]))
            c.starttls(sh.client_tls_context())
            # RFC 3207 4.2: the EHLO before the handshake is forgotten.
            self.assertEqual(c.cmd("MAIL FROM:<alice@example.org>")[0], 503)
            code, lines = c.cmd("EHLO client.test")
            self.assertIn("AUTH PLAIN LOGIN", lines)
            self.assertNotIn("STARTTLS", lines)
            self.assertEqual(c.cmd("STARTTLS")[0], 454)
            code, lines = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0secret").decode())
            self.assertEqual((code, lines), (235, ["2.7.0 Authentication successful"]))
            self.assertEqual(c.cmd("AUTH PLAIN")[0], 503)
            self.assertEqual(c.cmd("MAIL FROM:<alice@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % OUTSIDE)[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: via tls\r\n\r\nhi\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            msg = self.mta.runs()[0]["msg"]
            self.assertIn(b"(relay=smtp-auth user=alice)", msg)
            self.assertIn(b"with ESMTPSA id", msg)
            self.assertRegex(msg.decode(), r"\(using TLSv1\.[23] \S+\)")
            self.assertRegex(d.log(), r"smtp session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice login ok")

    def test_plaintext_pipelined_after_starttls_is_discarded(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            # An attacker in the path appends commands to the client's STARTTLS (CVE-2011-0411).
            c.send("STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.org>\r\n")
            self.assertEqual(c.reply()[0], 220)
            c.starttls(sh.client_tls_context())
            code, lines = c.cmd("EHLO client.test")
            self.assertEqual(code, 250)
            self.assertIn("PIPELINING", lines)  # the first reply under TLS is EHLO's own
            self.assertEqual(c.cmd("RCPT TO:<victim@example.org>")[0], 503)  # no MAIL survived
            self.assertEqual(c.cmd("QUIT")[0], 221)
            self.assertNotIn("evil@example.net", d.log())

    def test_auth_mechanisms_with_smtplib(self):
        with self.daemon() as d:
            d.start()
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
            s.starttls(context=sh.client_tls_context())
            s.ehlo("client.test")
            s.user, s.password = "alice", "secret"
            self.assertEqual(s.auth("LOGIN", s.auth_login)[0], 235)
            s.sendmail("alice@example.org", [OUTSIDE], b"Subject: login\r\n\r\nx\r\n")
            s.quit()
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
            s.starttls(context=sh.client_tls_context())
            s.ehlo("client.test")
            with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                s.login("alice", "wrong")
            self.assertEqual(e.exception.smtp_code, 535)
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("mallory", "secret")
            # Not authenticated: relaying is refused.
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                s.sendmail("alice@example.org", [OUTSIDE], b"Subject: no\r\n\r\nx\r\n")
            s.quit()
            self.assertEqual(len(self.mta.runs()), 1)
            self.assertIn("login failed", d.log())

    def test_sasl_edge_cases(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d, "smtps", tls=True)
            c.reply()
            c.cmd("EHLO client.test")
            self.assertEqual(c.cmd("AUTH CRAM-MD5")[0], 504)
            self.assertEqual(c.cmd("AUTH PLAIN"), (334, [""]))
            self.assertEqual(c.cmd("*"), (501, ["5.0.0 Authentication cancelled"]))
            self.assertEqual(c.cmd("AUTH PLAIN not-base64!")[0], 501)
            # An authorization identity other than the user is not supported.
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"root\0alice\0secret").decode())[0], 501)
            # One parser with POP3 AUTH: an empty user name is malformed (501), never a credential check,
            # and so is base64 with non-zero pad bits ("AGFsaWNlAHNlY3JldB==" is not canonical).
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0\0secret").decode())[0], 501)
            self.assertEqual(c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldB==")[0], 501)
            self.assertNotIn("login failed", d.log())
            self.assertEqual(c.cmd("AUTH LOGIN"), (334, ["VXNlcm5hbWU6"]))
            self.assertEqual(c.cmd(base64.b64encode(b"alice").decode()), (334, ["UGFzc3dvcmQ6"]))
            self.assertEqual(c.cmd(base64.b64encode(b"secret").decode())[0], 235)

    def test_implicit_tls(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d, "smtps", tls=True)
            self.assertEqual(c.reply()[0], 220)
            code, lines = c.cmd("EHLO client.test")
            self.assertNotIn("STARTTLS", lines)
            self.assertIn("AUTH PLAIN LOGIN", lines)
            c.cmd("MAIL FROM:<alice@example.org>")
            self.assertEqual(c.cmd("RCPT TO:<bob@example.org>")[0], 250)
            c.cmd("DATA")
            c.send("Subject: smtps\r\n\r\nhi\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            msg = self.mta.runs()[0]["msg"]
            self.assertIn(b"with ESMTPS id", msg)
            self.assertRegex(d.log(), r"smtps session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- relay ok")

    def test_implicit_tls_refuses_plaintext(self):
        with self.daemon() as d:
            d.start()
            s = socket.create_connection(("127.0.0.1", d.port("smtps")), timeout=10)
            s.sendall(b"EHLO client.test\r\n")
            try:
                data = s.recv(4096)  # a TLS alert, or nothing
            except ConnectionResetError:
                data = b""
            self.assertFalse(data.startswith(b"220"))
            s.close()
            d.wait_for_log(r"smtps session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- tls handshake failed")
            self.assertEqual(self.dialog(d, "smtps", tls=True).reply()[0], 220)  # still serving

    def test_auth_offered_to_trusted_networks_without_tls(self):
        with self.daemon(pop3={"trusted_networks": "127.0.0.0/8"}) as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            self.assertIn("AUTH PLAIN LOGIN", c.cmd("EHLO client.test")[1])
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0secret").decode())[0], 235)

    def test_smtp_trusted_networks_is_its_own(self):
        """smtp.trusted_networks, once set, decides for SMTP alone, whatever POP3 trusts."""
        with self.daemon(pop3={"trusted_networks": "127.0.0.0/8"}, smtp={"trusted_networks": ""}) as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            self.assertFalse([l for l in c.cmd("EHLO client.test")[1] if l.startswith("AUTH")])
            code, lines = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0secret").decode())
            self.assertEqual((code, lines[0][:6]), (538, "5.7.11"))
        with self.daemon(pop3={"trusted_networks": ""}, smtp={"trusted_networks": "127.0.0.1/32"}) as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            self.assertIn("AUTH PLAIN LOGIN", c.cmd("EHLO client.test")[1])
            self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0secret").decode())[0], 235)

    def test_swaks_starttls_auth(self):
        if shutil.which("swaks") is None:
            self.skipTest("swaks is not installed")
        with self.daemon() as d:
            d.start()
            r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % d.port("smtp"), "--tls", "--auth", "PLAIN",
                                "--auth-user", "alice", "--auth-password", "secret", "--from",
                                "alice@example.org", "--to", OUTSIDE, "--helo", "swaks.test"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(b"(relay=smtp-auth user=alice)", self.mta.runs()[0]["msg"])


if __name__ == "__main__":
    h.main()
