# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_tls - POP3 over TLS against the real popgated: POP3S (implicit TLS), STLS (RFC 2595)
with poplib, openssl s_client and curl, the plaintext policy under TLS, and that plaintext pipelined
behind STLS is thrown away rather than run as if it had been protected."""

import poplib
import socket
import ssl
import subprocess
import time

import popgate_harness as h

h.need("openssl", "curl")

MSGS = [h.mbox_message(1), h.mbox_message(2, body=b".dot\nsecond body\n"), h.mbox_message(3)]


def wire(msg):
    return msg.split(b"\n", 1)[1].rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Lines:
    """Line reading over a plain or TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")


class Pop3s(h.TestCase):
    def test_implicit_tls(self):
        with h.Popgated(self, tls=True, listeners=("pop3", "pop3s")) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            p = poplib.POP3_SSL("127.0.0.1", d.port("pop3s"), context=client_ctx(), timeout=10)
            self.assertTrue(p.getwelcome().startswith(b"+OK popgate ready"))
            caps = p.capa()
            self.assertNotIn("STLS", caps)
            self.assertIn("USER", caps)  # under TLS passwords are fine from anywhere
            with self.assertRaisesRegex(poplib.error_proto, "Already using TLS"):
                p._shortcmd("STLS")
            p.user("alice")
            self.assertTrue(p.pass_("secret").startswith(b"+OK 3 messages"))
            resp, lines, _ = p.retr(2)
            self.assertEqual(b"".join(l + b"\r\n" for l in lines), wire(MSGS[1]))
            p.dele(1)
            self.assertEqual(p.quit(), b"+OK popgate signing off (2 messages left)")
            d.wait_for_log(r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice login ok")
            d.wait_for_log(r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice quit: retr=1 dele=1 left=2 update=ok")

    def test_handshake_timeout_and_idle_over_tls(self):
        cfg = {"tls": {"handshake_timeout": "1s"}, "pop3": {"idle_timeout": "1s"}}
        with h.Popgated(self, config=cfg, tls=True, listeners=("pop3", "pop3s")) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            s = socket.create_connection(("127.0.0.1", d.port("pop3s")), timeout=10)
            t0 = time.time()
            self.assertEqual(s.recv(100), b"")  # no ClientHello: dropped
            self.assertLess(time.time() - t0, 5)
            s.close()
            d.wait_for_log(r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- tls handshake failed")
            # After login the post-login process talks through the child's TLS proxy; its idle
            # timeout must still close the client's connection.
            p = poplib.POP3_SSL("127.0.0.1", d.port("pop3s"), context=client_ctx(), timeout=10)
            p.user("alice")
            p.pass_("secret")
            time.sleep(2.5)
            with self.assertRaises((poplib.error_proto, OSError, EOFError)):
                p.stat()
            p.close()
            d.wait_for_log(r"user=alice idle timeout")


class Stls(h.TestCase):
    def test_poplib_stls_and_policy(self):
        with h.Popgated(self, config={"pop3": {"trusted_networks": "192.0.2.0/24"}}, tls=True) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            caps = p.capa()
            self.assertIn("STLS", caps)
            self.assertNotIn("USER", caps)
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Plaintext"):
                p.user("alice")
            p.stls(client_ctx())
            caps = p.capa()
            self.assertNotIn("STLS", caps)
            self.assertIn("USER", caps)
            self.assertEqual(caps["SASL"], ["PLAIN", "LOGIN"])
            with self.assertRaisesRegex(poplib.error_proto, "Already using TLS"):
                p._shortcmd("STLS")
            p.user("alice")
            self.assertTrue(p.pass_("secret").startswith(b"+OK 3 messages"))
            self.assertEqual(p.stat()[0], 3)
            p.quit()
            d.wait_for_log(r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice login ok")

    def test_plaintext_before_handshake_is_discarded(self):
        with h.Popgated(self, tls=True) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            s = socket.create_connection(("127.0.0.1", d.port("pop3")), timeout=10)
            r = Lines(s)
            self.assertTrue(r.line().startswith("+OK popgate ready"))
            # A man in the middle could append commands behind STLS; they must not survive.
            s.sendall(b"STLS\r\nUSER alice\r\nPASS secret\r\n")
            self.assertEqual(r.line(), "+OK Begin TLS negotiation")
            self.assertEqual(r.buf, b"")
            t = client_ctx().wrap_socket(s)
            r = Lines(t)
            t.sendall(b"STAT\r\nCAPA\r\n")
            self.assertEqual(r.line(), "-ERR Command not valid in this state")
            self.assertEqual(r.line(), "+OK Capability list follows")
            t.sendall(b"QUIT\r\n")
            while r.line() != "+OK popgate signing off":
                pass
            t.close()
            self.assertNotIn("login ok", d.log())

    def test_openssl_s_client(self):
        with h.Popgated(self, tls=True) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            # Each command waits for its answer: s_client sends lines as it reads them.
            script = b"USER alice\nPASS secret\nSTAT\nRETR 2\nQUIT\n"
            r = subprocess.run(["openssl", "s_client", "-starttls", "pop3", "-crlf", "-quiet", "-ign_eof",
                                "-connect", "127.0.0.1:%d" % d.port("pop3")], input=script,
                               capture_output=True, timeout=30)
            out = r.stdout.decode("latin-1")
            self.assertIn("+OK 3 messages", out)
            self.assertIn("+OK 3 %d" % sum(len(wire(m)) for m in MSGS), out)
            self.assertIn("..dot\r\nsecond body\r\n.\r\n", out)
            self.assertIn("+OK popgate signing off", out)
            d.wait_for_log(r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice quit: retr=1")


class Curl(h.TestCase):
    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", "alice:secret"] + list(args),
                           capture_output=True, timeout=40)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_curl(self):
        with h.Popgated(self, tls=True, listeners=("pop3", "pop3s")) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            plain, tls = d.port("pop3"), d.port("pop3s")
            sizes = b"".join(b"%d %d\r\n" % (i + 1, len(wire(m))) for i, m in enumerate(MSGS))
            self.assertEqual(self.curl("pop3://127.0.0.1:%d/" % plain), sizes)
            self.assertEqual(self.curl("pop3://127.0.0.1:%d/2" % plain), wire(MSGS[1]))
            self.assertEqual(self.curl("-k", "pop3s://127.0.0.1:%d/3" % tls), wire(MSGS[2]))
            self.assertEqual(self.curl("-k", "--ssl-reqd", "pop3://127.0.0.1:%d/1" % plain), wire(MSGS[0]))
            self.curl("-k", "pop3s://127.0.0.1:%d/1" % tls, "-X", "DELE", "-I")
            self.assertEqual(self.curl("pop3://127.0.0.1:%d/" % plain).count(b"\r\n"), 2)
            log = d.log()
            self.assertRegex(log, r"pop3 session=[0-9a-f]{12} ip=127\.0\.0\.1 user=- connect: port=\d+ tls=no")
            self.assertRegex(log, r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice quit: retr=1 dele=0")  # STLS
            self.assertRegex(log, r"pop3s session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice quit: retr=0 dele=1 left=2")


if __name__ == "__main__":
    h.main()
