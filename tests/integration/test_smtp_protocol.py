#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_smtp_protocol - the ESMTP dialogue of popgated's SMTP listener, its limits and DATA rules.

Every test drives the real daemon on 127.0.0.1 with exact dialogues (smtp_helpers.Dialog) or
python's smtplib, and hands messages to the sendmail stand-in to see what would go on.
"""

import smtplib
import time

import popgate_harness as h
import smtp_helpers as sh


class Protocol(h.TestCase):
    def daemon(self, **smtp):
        cfg = sh.base_config(smtp=smtp)
        d = h.Popgated(self, config=cfg, listeners=("smtp",))
        self.mta = sh.Sendmail(d)
        return d

    def dialog(self, d):
        c = sh.Dialog(d.port("smtp"))
        self.addCleanup(c.close)
        return c

    def test_greeting_and_ehlo(self):
        with self.daemon(max_message_size="2M") as d:
            d.start()
            c = self.dialog(d)
            code, lines = c.reply()
            self.assertEqual(code, 220)
            self.assertTrue(lines[0].startswith("popgate.test ESMTP"))
            code, lines = c.cmd("EHLO client.test")
            self.assertEqual(code, 250)
            self.assertEqual(lines[0], "popgate.test Hello client.test [127.0.0.1]")
            self.assertEqual(lines[1:], ["PIPELINING", "SIZE 2097152", "8BITMIME", "ENHANCEDSTATUSCODES"])
            # No [tls]: no STARTTLS; not trusted and not under TLS: no AUTH either.
            self.assertEqual(c.cmd("HELO client.test"), (250, ["popgate.test"]))
            self.assertEqual(c.cmd("QUIT")[0], 221)
            self.assertTrue(c.closed())

    def test_simple_commands(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))
            self.assertEqual(c.cmd("RSET")[0], 250)
            self.assertEqual(c.cmd("VRFY alice")[0], 252)
            self.assertEqual(c.cmd("VRFY")[0], 501)
            self.assertEqual(c.cmd("EXPN staff")[0], 502)
            code, lines = c.cmd("HELP")
            self.assertEqual(code, 214)
            self.assertIn("MAIL", lines[0])
            self.assertEqual(c.cmd("FROB x"), (500, ["5.5.1 Command unrecognized"]))
            self.assertEqual(c.cmd("BDAT 10 LAST")[0], 500)
            self.assertEqual(c.cmd("ehlo client.test")[0], 250)  # verbs are case-insensitive
            self.assertEqual(c.cmd("RSET now")[0], 501)
            self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_sequence_and_syntax(self):
        with self.daemon(max_errors="100") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net>"), (503, ["5.5.1 Send HELO or EHLO first"]))
            self.assertEqual(c.cmd("EHLO")[0], 501)
            self.assertEqual(c.cmd("EHLO bad host")[0], 501)
            self.assertEqual(c.cmd("EHLO client.test")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<bob@example.org>")[0], 503)
            self.assertEqual(c.cmd("DATA")[0], 503)
            self.assertEqual(c.cmd("MAIL FROM:a@example.net")[0], 501)
            self.assertEqual(c.cmd("MAIL FROM:<a@@example.net>")[0], 501)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net> FOO=BAR")[0], 555)
            self.assertEqual(c.cmd("MAIL FROM:<@relay.example:a@example.net>")[0], 553)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net>"), (250, ["2.1.0 Ok"]))
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net>")[0], 503)
            self.assertEqual(c.cmd("DATA"), (554, ["5.5.1 No valid recipients"]))
            self.assertEqual(c.cmd("RCPT TO:<>")[0], 501)
            self.assertEqual(c.cmd("RCPT TO:<bob>")[0], 553)
            code, lines = c.cmd("RCPT TO:<b\xe9b@example.org>")
            self.assertEqual((code, lines[0][:5]), (501, "5.6.7"))
            self.assertEqual(c.cmd("RCPT TO:<bob@example.org> NOTIFY=NEVER")[0], 555)
            self.assertEqual(c.cmd("RCPT TO:<bob@example.org>")[0], 250)
            self.assertEqual(c.cmd("RSET")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<bob@example.org>")[0], 503)
            # Parameters need EHLO.
            self.assertEqual(c.cmd("HELO client.test")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net> SIZE=10")[0], 555)
            self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_relayed_message_reaches_sendmail(self):
        with self.daemon() as d:
            d.start()
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=60)
            s.ehlo("client.test")
            body = b"Subject: hello\r\n\r\nfirst line\r\n.leading dot\r\n.\r\nlast\r\n"
            refused = s.sendmail("alice@example.net", ["bob@example.org", "carol@sub.example.org"], body)
            self.assertEqual(refused, {})
            s.quit()
            runs = self.mta.runs()
            self.assertEqual(len(runs), 1)
            r = runs[0]
            self.assertEqual(r["argv"], ["-i", "-f", "alice@example.net", "--", "bob@example.org",
                                         "carol@sub.example.org"])
            # A clean environment (python itself may add PWD and LC_CTYPE).
            self.assertEqual(set(r["env"]) - {"PWD", "LC_CTYPE"}, {"PATH"})
            msg = r["msg"]
            self.assertNotIn(b"\r", msg)  # sendmail gets the local form: LF line ends
            header, rest = msg.split(b"\n\tby ", 1)
            self.assertTrue(msg.startswith(b"Received: from client.test ([127.0.0.1])\n"), msg)
            self.assertIn(b"(relay=relay-domain)", header)
            self.assertRegex(rest.split(b"\n")[0], rb"^popgate\.test \(popgate\) with ESMTP id [0-9A-F]{12};$")
            self.assertNotIn(b"for <", msg)  # two recipients: none named
            self.assertTrue(msg.endswith(b"Subject: hello\n\nfirst line\n.leading dot\n.\nlast\n"), msg)
            self.assertRegex(d.log(), r"smtp session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- message relayed: id=[0-9A-F]{12} "
                                      r"from=<alice@example\.net> rcpts=2")

    def test_pipelining(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.send("EHLO client.test\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob@example.org>\r\n"
                   "RCPT TO:<eve@elsewhere.net>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.reply(), (550, ["5.7.1 Relaying denied"]))
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.reply()[0], 354)
            c.send("Subject: piped\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 250)
            self.assertRegex(lines[0], r"^2\.0\.0 Ok: queued as [0-9A-F]{12}$")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(c.reply()[0], 221)
            runs = self.mta.runs()
            self.assertEqual(runs[0]["argv"][4:], ["bob@example.org", "carol@example.org"])

    def test_size_limit(self):
        with self.daemon(max_message_size="2K") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net> SIZE=4096")[0], 552)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net> SIZE=1000")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<bob@example.org>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(("x" * 78 + "\r\n") * 40 + ".\r\n")  # 3200 octets: more than it said, over the limit
            code, lines = c.reply()
            self.assertEqual((code, lines[0][:5]), (552, "5.3.4"))
            self.assertEqual(c.cmd("NOOP")[0], 250)  # read to its end: the session is still in step
            self.assertEqual(self.mta.runs(), [])

    def test_recipient_limit(self):
        with self.daemon(max_recipients="2") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@example.net>")
            self.assertEqual(c.cmd("RCPT TO:<b1@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b2@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<b3@example.org>"), (452, ["4.5.3 Too many recipients"]))
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: two\r\n\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(self.mta.runs()[0]["argv"][4:], ["b1@example.org", "b2@example.org"])

    def test_sendmail_command_line_bound(self):
        """Recipients beyond what one sendmail command line can carry get 452, not a doomed 250."""
        with self.daemon(max_recipients="5000") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@example.net>")
            rcpts = ["%s%04d@example.org" % ("r" * 58, i) for i in range(5000)]
            c.send("".join("RCPT TO:<%s>\r\n" % r for r in rcpts))
            codes = [c.reply()[0] for _ in rcpts]
            accepted = codes.count(250)
            self.assertEqual(set(codes), {250, 452})
            self.assertEqual(codes, [250] * accepted + [452] * (len(rcpts) - accepted))
            self.assertGreater(accepted, 3000)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: many\r\n\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(self.mta.runs()[0]["argv"][4:], rcpts[:accepted])

    def test_line_lengths(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            self.assertEqual(c.cmd("NOOP " + "x" * 505)[0], 250)  # 512 with CRLF
            self.assertEqual(c.cmd("NOOP " + "x" * 506), (500, ["5.5.2 Line too long"]))
            self.assertEqual(c.cmd("NOOP " + "x" * 20000), (500, ["5.5.2 Line too long"]))
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@example.net>")
            c.cmd("RCPT TO:<bob@example.org>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("ok\r\n" + "y" * 999 + "\r\nmore\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual((code, lines[0][:5]), (554, "5.6.0"))
            self.assertIn("998", lines[0])
            self.assertEqual(c.cmd("NOOP")[0], 250)
            c.cmd("MAIL FROM:<a@example.net>")
            c.cmd("RCPT TO:<bob@example.org>")
            c.cmd("DATA")
            c.send("y" * 998 + "\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(len(self.mta.runs()), 1)

    def test_long_last_line_keeps_session(self):
        # The review's case: the too-long line is the message's last; its CRLF "." CRLF still ends
        # the message, so the client hears why and sends its next transaction on the same session.
        with self.daemon() as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@example.net>")
            c.cmd("RCPT TO:<bob@example.org>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: a\r\n\r\n" + "A" * 1200 + "\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual((code, lines[0][:5]), (554, "5.6.0"))
            self.assertIn("longer than 998", lines[0])
            self.assertNotIn("closing", lines[0])
            self.assertEqual(c.cmd("MAIL FROM:<a@example.net>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<bob@example.org>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("Subject: b\r\n\r\nshort\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            self.assertEqual(len(self.mta.runs()), 1)

    def test_too_many_errors(self):
        with self.daemon(max_errors="3") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            self.assertEqual(c.cmd("FOO")[0], 500)
            self.assertEqual(c.cmd("BAR")[0], 500)
            self.assertEqual(c.cmd("BAZ")[0], 500)
            code, lines = c.reply()
            self.assertEqual((code, lines[0][:5]), (421, "4.7.0"))
            self.assertTrue(c.closed())
            d.wait_for_log(r"too many errors: errors=3")

    def test_command_timeout(self):
        with self.daemon(command_timeout="1s") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            t0 = time.time()
            code, lines = c.reply()  # nothing sent: the server gives up
            self.assertEqual((code, lines[0][:5]), (421, "4.4.2"))
            self.assertTrue(c.closed())
            self.assertLess(time.time() - t0, 5)

    def test_data_timeout(self):
        with self.daemon(data_timeout="1s", command_timeout="30s") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@example.net>")
            c.cmd("RCPT TO:<bob@example.org>")
            c.cmd("DATA")
            c.send("Subject: stalled\r\n")
            code, lines = c.reply()
            self.assertEqual((code, lines[0][:5]), (421, "4.4.2"))
            self.assertTrue(c.closed())
            self.assertEqual(self.mta.runs(), [])

    def test_session_deadline(self):
        with self.daemon(session_timeout="2s") as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            t0 = time.time()
            with self.assertRaises(AssertionError):
                while time.time() - t0 < 6:  # busy, never idle: only the session deadline stops it
                    self.assertEqual(c.cmd("NOOP")[0], 250)
                    time.sleep(0.2)
            self.assertLess(time.time() - t0, 5)
            self.assertTrue(c.closed())

    def test_connections_per_ip(self):
        cfg = sh.base_config()
        cfg["server"] = {"max_connections_per_ip": "2"}
        with h.Popgated(self, config=cfg, listeners=("smtp",)) as d:
            sh.Sendmail(d)
            d.start()
            first, second = self.dialog(d), self.dialog(d)
            self.assertEqual(first.reply()[0], 220)
            self.assertEqual(second.reply()[0], 220)
            third = self.dialog(d)
            code, lines = third.reply()
            self.assertEqual((code, lines[0][:5]), (421, "4.7.0"))
            self.assertTrue(third.closed())
            self.assertEqual(first.cmd("QUIT")[0], 221)
            first.closed()
            fourth = sh.wait_until(lambda: self._greeted(d), what="a free slot")
            self.assertEqual(fourth.cmd("QUIT")[0], 221)

    def _greeted(self, d):
        c = self.dialog(d)
        return c if c.reply()[0] == 220 else None

    def test_bare_lf_refused(self):
        with self.daemon() as d:
            d.start()
            c = self.dialog(d)
            c.reply()
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@example.net>")
            c.cmd("RCPT TO:<bob@example.org>")
            c.cmd("DATA")
            c.send("Subject: lf\r\n\r\nbare\nline\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual((code, lines[0][:5]), (554, "5.6.0"))
            self.assertEqual(c.cmd("NOOP")[0], 250)
            c.cmd("MAIL FROM:<a@example.net>")
            c.cmd("RCPT TO:<bob@example.org>")
            c.cmd("DATA")
            c.send("Subject: cr\r\n\r\nbare\rcr\r\n.\r\n")
            self.assertEqual(c.reply()[0], 554)
            self.assertEqual(self.mta.runs(), [])

    def test_smtp_smuggling_does_not_pass(self):
        """The classic smuggling payloads: neither the hidden message nor its commands get through."""
        payloads = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n"]
        with self.daemon() as d:
            d.start()
            for p in payloads:
                c = self.dialog(d)
                c.reply()
                c.cmd("EHLO client.test")
                c.cmd("MAIL FROM:<alice@example.net>")
                c.cmd("RCPT TO:<bob@example.org>")
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(b"Subject: outer\r\n\r\nouter body" + p +
                       b"MAIL FROM:<ceo@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
                       b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\nNOOP\r\n")
                code, lines = c.reply()
                self.assertEqual(code, 554, (p, lines))
                # Either the session ended at the ambiguous dot, or everything up to the real end
                # was one refused message: the next reply is NOOP's, not MAIL's.
                try:
                    self.assertEqual(c.reply(), (250, ["2.0.0 Ok"]))
                except EOFError:
                    pass
                c.close()
            time.sleep(0.2)
            self.assertEqual(self.mta.runs(), [])
            self.assertNotIn("ceo@example.org", d.log())

    def test_eight_bit_mime(self):
        with self.daemon() as d:
            d.start()
            s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=60)
            s.ehlo("client.test")
            body = "Subject: caf\u00e9\r\n\r\nna\u00efve\r\n".encode("utf-8")
            s.sendmail("a@example.net", ["bob@example.org"], body, mail_options=["BODY=8BITMIME"])
            s.quit()
            self.assertTrue(self.mta.runs()[0]["msg"].endswith("na\u00efve\n".encode("utf-8")))


if __name__ == "__main__":
    h.main()
