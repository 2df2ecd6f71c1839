#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_smtp_forward - the hand-off after DATA: 250 only once the next hop accepted, 451 for a
temporary failure and 554 for a permanent one, so nothing that got a 250 is lost.

Next hops: the sendmail stand-in (argv and message recorded, exit status chosen per test), a real
smarthost on 127.0.0.1 (aiosmtpd: STARTTLS, AUTH, refusals) and Postfix's smtp-sink; swaks and
smtplib as clients.
"""

import os
import shutil
import subprocess
import time

import popgate_harness as h
import smtp_helpers as sh

class Sendmail(h.TestCase):
    def daemon(self, **smtp):
        d = h.Popgated(self, config=sh.base_config(smtp=smtp), listeners=("smtp",))
        self.mta = sh.Sendmail(d)
        return d

    def test_tempfail_keeps_the_message_with_the_client(self):
        with self.daemon() as d:
            self.mta.set_exit(75)  # EX_TEMPFAIL
            d.start()
            code, text = sh.send_message(d.port("smtp"))
            self.assertEqual((code, text[:5]), (451, "4.3.0"))
            self.assertRegex(d.log(), r'message deferred: .* next-hop="\S+ exited 75')
            # The client retries later, and then it goes through.
            self.mta.set_exit(0)
            self.assertEqual(sh.send_message(d.port("smtp"))[0], 250)
            runs = self.mta.runs()
            self.assertEqual([r["status"] for r in runs], [75, 0])
            first, second = (r["msg"][r["msg"].index(b"Subject:"):] for r in runs)
            self.assertEqual(first, second)
            self.assertTrue(first.endswith(b"\nfirst\n.leading dot\n.\nlast\n"))

    def test_permanent_failures(self):
        with self.daemon() as d:
            d.start()
            for status in (67, 65, 68):
                self.mta.set_exit(status)
                code, text = sh.send_message(d.port("smtp"))
                self.assertEqual(code, 554)
                self.assertIn("sendmail exit status %d" % status, text)
            for status in (1, 69, 71, 78):
                self.mta.set_exit(status)
                self.assertEqual(sh.send_message(d.port("smtp"))[0], 451)

    def test_stderr_is_logged(self):
        with self.daemon() as d:
            self.mta.set_exit(75)
            self.mta.set_behaviour("stderr queue directory is full")
            d.start()
            self.assertEqual(sh.send_message(d.port("smtp"))[0], 451)
            self.assertIn("exited 75: queue directory is full", d.log())

    def test_hung_sendmail_times_out(self):
        with self.daemon(forward_timeout="1s") as d:
            self.mta.set_behaviour("sleep 20")
            d.start()
            t0 = time.time()
            code, _ = sh.send_message(d.port("smtp"))
            self.assertEqual(code, 451)
            self.assertLess(time.time() - t0, 8)
            self.assertIn("timed out after 1s and was killed", d.log())

    def test_sendmail_missing(self):
        # popgated refuses to start without the program (test_master); here it goes away later.
        with self.daemon() as d:
            gone = os.path.join(d.dir, "sendmail-gone")
            shutil.copy("/bin/true", gone)
            d.config["smtp"]["forward"] = "sendmail:" + gone
            d.start()
            os.unlink(gone)
            self.assertEqual(sh.send_message(d.port("smtp"))[0], 451)
            self.assertIn("cannot execute", d.log())

    def test_bad_forward_setting_refused_at_start(self):
        with self.daemon() as d:
            d.config["smtp"]["forward"] = "lmtp:/run/lmtp.sock"
            d.write_config()
            r = subprocess.run([h.POPGATED, "-F", "-f", d.conf_path], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 78)
            self.assertIn("smtp.forward", r.stdout + r.stderr)

    def test_swaks(self):
        if shutil.which("swaks") is None:
            self.skipTest("swaks is not installed")
        with self.daemon() as d:
            d.start()
            r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % d.port("smtp"), "--helo", "swaks.test",
                                "--from", "alice@example.net", "--to", "bob@example.org", "--pipeline",
                                "--header", "Subject: from swaks", "--body", "hello from swaks"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            msg = self.mta.runs()[0]["msg"]
            self.assertIn(b"Received: from swaks.test ([127.0.0.1])", msg)
            self.assertIn(b"Subject: from swaks", msg)


class Smarthost(h.TestCase):
    def daemon(self, **smtp):
        d = h.Popgated(self, config=sh.base_config(smtp=smtp), listeners=("smtp",))
        return d

    def smarthost(self, d, **kw):
        return sh.Smarthost(os.path.join(d.dir, "smarthost-%d" % len(os.listdir(d.dir))), **kw)

    def test_relay_to_smarthost(self):
        with self.daemon(forward_tls="no") as d, self.smarthost(d) as sm:
            d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
            d.start()
            code, text = sh.send_message(d.port("smtp"), rcpts=("bob@example.org", "carol@example.org"),
                              options=("BODY=8BITMIME",))
            self.assertEqual(code, 250)
            (env, content), = sm.messages()
            self.assertEqual(env["mail_from"], "alice@example.net")
            self.assertEqual(env["rcpt_tos"], ["bob@example.org", "carol@example.org"])
            self.assertEqual(env["helo"], "popgate.test")
            self.assertFalse(env["tls"])
            self.assertIn("BODY=8BITMIME", env["mail_options"])
            self.assertTrue(any(o.startswith("SIZE=") for o in env["mail_options"]))
            # Canonical on the wire: CRLF everywhere, and the dot lines arrived intact (stuffed and unstuffed).
            self.assertTrue(content.startswith(b"Received: from client.test ([127.0.0.1])\r\n"))
            self.assertNotIn(b"\n", content.replace(b"\r\n", b""))
            self.assertTrue(content.endswith(b"\r\n\r\nfirst\r\n.leading dot\r\n.\r\nlast\r\n"), content)
            self.assertRegex(d.log(), r'message relayed: .* next-hop="127\.0\.0\.1:%d said: 250 2\.0\.0 Ok'
                             % sm.port)

    def test_starttls_when_offered(self):
        with self.daemon() as d:
            cert, key = h.make_cert(d.dir)
            with self.smarthost(d, tls=(cert, key), require_tls=True) as sm:
                d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
                d.start()
                self.assertEqual(sh.send_message(d.port("smtp"))[0], 250)
                (env, _), = sm.messages()
                self.assertTrue(env["tls"])
                self.assertIn("(TLS) said: 250", d.log())

    def test_tls_required_but_not_offered(self):
        with self.daemon(forward_tls="require") as d, self.smarthost(d) as sm:
            d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
            d.start()
            self.assertEqual(sh.send_message(d.port("smtp"))[0], 451)
            self.assertIn(r"does not offer STARTTLS (smtp.forward_tls \x3d require)", d.log())  # = is escaped in a quoted value
            self.assertEqual(sm.messages(), [])

    def test_certificate_verification(self):
        with self.daemon(forward_tls="require", forward_tls_verify="yes") as d:
            cert, key = h.make_cert(d.dir)
            with self.smarthost(d, tls=(cert, key)) as sm:
                d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
                d.start()
                # A self-signed certificate does not verify: required TLS means no delivery...
                self.assertEqual(sh.send_message(d.port("smtp"))[0], 451)
                self.assertIn("TLS handshake failed (certificate verification is on)", d.log())
                self.assertEqual(sm.messages(), [])
                # ...while opportunistic TLS falls back to plaintext once (RFC 7435).
                d.config["smtp"]["forward_tls"] = "may"
                sh.restart(d)
                self.assertEqual(sh.send_message(d.port("smtp"))[0], 250)
                (env, _), = sm.messages()
                self.assertFalse(env["tls"])
                self.assertIn("without TLS", d.log())

    def test_auth_at_smarthost(self):
        with self.daemon() as d:
            cert, key = h.make_cert(d.dir)
            auth_file = os.path.join(d.dir, "smarthost-auth")
            with open(auth_file, "w") as f:
                f.write("# credentials for the smarthost\nrelayuser:relay:pass\n")
            os.chmod(auth_file, 0o600)  # root only: read before the session drops privileges
            with self.smarthost(d, tls=(cert, key), auth="relayuser:relay:pass") as sm:
                d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
                d.config["smtp"]["forward_auth_file"] = auth_file
                d.start()
                self.assertEqual(sh.send_message(d.port("smtp"))[0], 250)
                (env, _), = sm.messages()
                self.assertEqual((env["auth"], env["tls"]), ("relayuser", True))
                # Wrong credentials are our configuration's fault: 451, the client keeps the message.
                with open(auth_file, "w") as f:
                    f.write("relayuser:wrong\n")
                sh.restart(d)
                self.assertEqual(sh.send_message(d.port("smtp"))[0], 451)
                self.assertIn("AUTH PLAIN: 535", d.log())
                self.assertEqual(len(sm.messages()), 1)

    def test_refusals_all_or_nothing(self):
        with self.daemon(forward_tls="no") as d:
            with self.smarthost(d, rejects=("gone@example.org=550 5.1.1 No such user",
                                            "busy@example.org=450 4.2.1 Mailbox busy")) as sm:
                d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
                d.start()
                code, text = sh.send_message(d.port("smtp"), rcpts=("bob@example.org", "gone@example.org"))
                self.assertEqual(code, 554)
                self.assertIn("550 5.1.1 No such user", text)
                code, text = sh.send_message(d.port("smtp"), rcpts=("bob@example.org", "busy@example.org"))
                self.assertEqual(code, 451)
                self.assertEqual(sm.messages(), [])  # bob got nothing either: one answer per message

    def test_final_reply_decides(self):
        for reply, expect in (("554 5.7.1 Looks like spam", 554), ("452 4.3.1 Out of storage", 451)):
            with self.daemon(forward_tls="no") as d, self.smarthost(d, data_reply=reply) as sm:
                d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port
                d.start()
                code, text = sh.send_message(d.port("smtp"))
                self.assertEqual(code, expect)
                self.assertIn(reply, text if expect == 554 else d.log())

    def test_smarthost_down_loses_nothing(self):
        with self.daemon(forward_tls="no") as d:
            sm = self.smarthost(d)
            d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sm.port  # nothing listens there yet
            d.start()
            code, text = sh.send_message(d.port("smtp"))
            self.assertEqual((code, text[:5]), (451, "4.3.0"))
            self.assertIn("cannot connect to 127.0.0.1:%d" % sm.port, d.log())
            with sm:
                self.assertEqual(sh.send_message(d.port("smtp"))[0], 250)  # the client's retry
                self.assertEqual(len(sm.messages()), 1)
            # And if it goes away in the middle of things: still 451, never a false 250.
            self.assertEqual(sh.send_message(d.port("smtp"))[0], 451)

    def test_smtp_sink(self):
        with self.daemon(forward_tls="no") as d, sh.SmtpSink(os.path.join(d.dir, "sink")) as sink:
            d.config["smtp"]["forward"] = "smtp:127.0.0.1:%d" % sink.port
            d.start()
            self.assertEqual(sh.send_message(d.port("smtp"), rcpts=("bob@example.org",))[0], 250)
            msgs = sh.wait_until(sink.messages, what="smtp-sink's dump")
            self.assertIn(b"X-Mail-Args: <alice@example.net>", msgs[0])
            self.assertIn(b"X-Rcpt-Args: <bob@example.org>", msgs[0])
            self.assertIn(b"X-Helo-Args: popgate.test", msgs[0])
            self.assertIn(b"\n.leading dot\n.\nlast\n", msgs[0])


if __name__ == "__main__":
    h.main()
