#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test_cmd_replies - what the one command dispatcher (common/session_cmd.c) answers, word for word.

POP3 and SMTP check every command line against a table before a handler sees it. These dialogues
drive the real popgated on 127.0.0.1 with a raw socket and compare each reply byte for byte with
the reference (Postfix's .in/.ref habit): unknown verbs, verbs too long to be any, verbs of other
than letters, a NUL byte, a verb in the wrong state, missing, extra and over-long arguments,
over-long lines, mixed case, and the bad-command counting that closes the connection.
"""

import socket

import popgate_harness as h
import smtp_helpers as sh

LONG41 = "1" * 41

# (line sent without CRLF, the exact reply line) in AUTHORIZATION, before any login.
POP3_AUTHORIZATION = [
    (b"FROB", b"-ERR Unknown command"),
    (b"frobnicate", b"-ERR Unknown command"),            # longer than any keyword (RFC 1939: 3-4)
    (b"ST4T", b"-ERR Unknown command"),
    (b"", b"-ERR Unknown command"),
    (b" USER alice", b"-ERR Unknown command"),
    (b"USER\talice", b"-ERR Unknown command"),
    (b"USER\x00alice", b"-ERR NUL byte in command"),
    (b"STAT", b"-ERR Command not valid in this state"),
    (b"retr 1", b"-ERR Command not valid in this state"),
    (b"USER", b"-ERR Wrong number of arguments"),
    (b"USER alice smith", b"-ERR Wrong number of arguments"),
    (b"APOP alice", b"-ERR Wrong number of arguments"),
    (b"STLS now", b"-ERR Wrong number of arguments"),
    (b"PASS", b"-ERR Wrong number of arguments"),
    (b"AUTH " + LONG41.encode(), b"-ERR Argument too long"),
    (b"AUTH CRAM-MD5", b"-ERR Unsupported authentication mechanism"),
    (b"PASS secret", b"-ERR No user name given: send USER first"),
    (b"NOOP " + b"x" * 600, b"-ERR Line too long"),
]

# The same after the login.
POP3_TRANSACTION = [
    (b"USER bob", b"-ERR Command not valid in this state"),
    (b"quiT x", b"-ERR Wrong number of arguments"),
    (b"RETR", b"-ERR Wrong number of arguments"),
    (b"RETR 1 2", b"-ERR Wrong number of arguments"),
    (b"TOP 1", b"-ERR Wrong number of arguments"),
    (b"TOP 1 2 3", b"-ERR Wrong number of arguments"),
    (b"RETR " + LONG41.encode(), b"-ERR Argument too long"),
    (b"TOP 1 " + LONG41.encode(), b"-ERR Argument too long"),
    (b"RETR x", b"-ERR Invalid message number"),
    (b"DELE 7", b"-ERR no such message"),
    (b"STATS", b"-ERR Unknown command"),
    (b"XTND XMIT", b"-ERR Unknown command"),
    (b"noop", b"+OK"),
    (b"NoOp", b"+OK"),
    (b"stat", b"+OK 1 %d"),
    (b"list   1  ", b"+OK 1 %d"),
]

# (line sent, (code, [text lines])) over SMTP, in order: the state moves with the dialogue.
SMTP_DIALOGUE = [
    ("FROB x", (500, ["5.5.1 Command unrecognized"])),
    ("ABCDEFGHIJKLMNO", (500, ["5.5.1 Command unrecognized"])),
    ("ABCDEFGHIJKLMNOP", (500, ["5.5.2 Syntax error"])),   # longer than any verb may be
    ("NO0P", (500, ["5.5.2 Syntax error"])),
    ("", (500, ["5.5.2 Syntax error"])),
    (" NOOP", (500, ["5.5.2 Syntax error"])),
    ("NOOP\tx", (500, ["5.5.2 Syntax error"])),
    ("NOOP\x00x", (500, ["5.5.2 Syntax error"])),
    ("MAIL FROM:<a@example.net>", (503, ["5.5.1 Send HELO or EHLO first"])),
    ("AUTH PLAIN", (503, ["5.5.1 Send HELO or EHLO first"])),
    ("EHLO", (501, ["5.5.4 Syntax: EHLO hostname"])),
    ("HELO   ", (501, ["5.5.4 Syntax: HELO hostname"])),
    ("HELO bad host", (501, ["5.5.4 Syntax: HELO hostname"])),
    ("STARTTLS now", (501, ["5.5.4 Syntax: STARTTLS"])),
    ("STARTTLS", (454, ["4.7.0 TLS not available"])),
    ("noop anything at all", (250, ["2.0.0 Ok"])),
    ("rset x", (501, ["5.5.4 Syntax: RSET"])),
    ("RSET   ", (250, ["2.0.0 Ok"])),
    ("VRFY", (501, ["5.5.4 Syntax: VRFY address"])),
    ("vrfy alice", (252, ["2.5.2 Cannot VRFY user, but will accept message and attempt delivery"])),
    ("EXPN staff", (502, ["5.5.1 EXPN not available"])),
    ("NOOP " + "x" * 506, (500, ["5.5.2 Line too long"])),
    ("helo client.test", (250, ["popgate.test"])),
    ("AUTH", (503, ["5.5.1 Send EHLO first"])),
    ("DATA", (503, ["5.5.1 Need MAIL and RCPT before DATA"])),
    ("RCPT TO:<bob@example.org>", (503, ["5.5.1 Need MAIL before RCPT"])),
    ("MAIL", (501, ["5.5.4 Syntax: MAIL FROM:<address>"])),
    ("MAIL " + "x" * 1100, (500, ["5.5.2 Line too long"])),
    ("mail   FROM:<a@example.net>", (250, ["2.1.0 Ok"])),
    ("MAIL FROM:<a@example.net>", (503, ["5.5.1 Nested MAIL command"])),
    ("AUTH PLAIN", (503, ["5.5.1 AUTH inside a transaction"])),
    ("STARTTLS", (503, ["5.5.1 STARTTLS inside a transaction"])),
    ("RCPT", (501, ["5.5.4 Syntax: RCPT TO:<address>"])),
    ("DATA now", (501, ["5.5.4 Syntax: DATA"])),
    ("DATA", (554, ["5.5.1 No valid recipients"])),
    ("Quit", (221, ["2.0.0 popgate.test Bye"])),
]


class Pop3Raw:
    """A line-level POP3 client on a plain socket: send exact bytes, read exact lines."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.f = self.sock.makefile("rb")

    def line(self):
        line = self.f.readline()
        assert line.endswith(b"\r\n"), "no CRLF line: %r" % line
        return line[:-2]

    def cmd(self, data):
        self.sock.sendall(data + b"\r\n")
        return self.line()

    def closed(self):
        return self.f.readline() == b""

    def close(self):
        self.f.close()
        self.sock.close()


class Replies(h.TestCase):
    def pop3(self, d):
        c = Pop3Raw(d.port("pop3"))
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith(b"+OK popgate ready"))
        return c

    def test_pop3_refusals(self):
        msg = h.mbox_message(1)
        with h.Popgated(self, config={"pop3": {"max_bad_commands": "100"}}, listeners=("pop3",)) as d:
            d.add_user("alice", "secret", messages=[msg])
            d.start()
            c = self.pop3(d)
            for line, want in POP3_AUTHORIZATION:
                self.assertEqual(c.cmd(line), want, "sent %r" % line)
            self.assertEqual(c.cmd(b"user alice"), b"+OK Send your password")
            # PASS takes the rest of the line: a password may hold spaces
            self.assertEqual(c.cmd(b"PASS secret "), b"-ERR [AUTH] Authentication failed")
            self.assertEqual(c.cmd(b"uSeR alice"), b"+OK Send your password")
            self.assertTrue(c.cmd(b"pAsS secret").startswith(b"+OK 1 messages"))
            size = len(msg.split(b"\n", 1)[1].rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n")
            for line, want in POP3_TRANSACTION:
                if b"%d" in want:
                    want = want % size
                self.assertEqual(c.cmd(line), want, "sent %r" % line)
            self.assertEqual(c.cmd(b"QUIT"), b"+OK popgate signing off (1 messages left)")
            self.assertTrue(c.closed())

    def test_pop3_bad_commands_close(self):
        with h.Popgated(self, config={"pop3": {"max_bad_commands": "3"}}, listeners=("pop3",)) as d:
            d.start()
            c = self.pop3(d)
            self.assertEqual(c.cmd(b"FROB"), b"-ERR Unknown command")
            self.assertEqual(c.cmd(b"STAT"), b"-ERR Command not valid in this state")
            self.assertEqual(c.cmd(b"USER"), b"-ERR Too many bad commands, closing connection")
            self.assertTrue(c.closed())

    def test_smtp_refusals(self):
        cfg = sh.base_config(smtp={"max_errors": "100"})
        with h.Popgated(self, config=cfg, listeners=("smtp",)) as d:
            d.start()
            c = sh.Dialog(d.port("smtp"), timeout=20)
            self.addCleanup(c.close)
            self.assertEqual(c.reply(), (220, ["popgate.test ESMTP popgate"]))
            for line, want in SMTP_DIALOGUE:
                self.assertEqual(c.cmd(line), want, "sent %r" % line)
            self.assertTrue(c.closed())

    def test_smtp_errors_close(self):
        cfg = sh.base_config(smtp={"max_errors": "3"})
        with h.Popgated(self, config=cfg, listeners=("smtp",)) as d:
            d.start()
            c = sh.Dialog(d.port("smtp"), timeout=20)
            self.addCleanup(c.close)
            c.reply()
            self.assertEqual(c.cmd("FROB"), (500, ["5.5.1 Command unrecognized"]))
            self.assertEqual(c.cmd("NOOP"), (250, ["2.0.0 Ok"]))     # no error: not counted
            self.assertEqual(c.cmd("DATA"), (503, ["5.5.1 Send HELO or EHLO first"]))
            c.send("RSET x\r\n")
            self.assertEqual(c.reply(), (501, ["5.5.4 Syntax: RSET"]))
            self.assertEqual(c.reply(), (421, ["4.7.0 popgate.test Too many errors, closing connection"]))
            self.assertTrue(c.closed())


if __name__ == "__main__":
    h.main()
