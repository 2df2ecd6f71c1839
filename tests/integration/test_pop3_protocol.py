# SPDX-License-Identifier: GPL-2.0-or-later
"""test_pop3_protocol - POP3 against the real popgated: every command on mbox and Maildir, pipelining,
limits, timeouts, APOP, SASL, the plaintext policy, the failure delay, [IN-USE] and delivery during a
session. Clients: python's poplib and a raw socket where poplib would hide what is on the wire."""

import base64
import fcntl
import hashlib
import os
import poplib
import re
import socket
import time

import popgate_harness as h

MSGS = [h.mbox_message(1), h.mbox_message(2, body=b".leading dot\n.\nafter\n"),
        h.mbox_message(3, body=b"x" * 1500 + b"\n" + b"line\n" * 300)]


def wire(msg):
    """What RETR must deliver for an mbox-form message: no From_ line, CRLF line ends."""
    return msg.split(b"\n", 1)[1].rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n"


def maildir_msgs():
    """The same messages as a delivery agent writes them into a Maildir (no From_ line)."""
    return [m.split(b"\n", 1)[1].rstrip(b"\n") + b"\n" for m in MSGS]


class Raw:
    """A line-level POP3 client on a plain socket."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        line = self.f.readline()
        if not line:
            return None
        assert line.endswith(b"\r\n"), line
        return line[:-2].decode("latin-1")

    def expect(self, prefix):
        line = self.line()
        assert line is not None and line.startswith(prefix), "got %r, expected %r" % (line, prefix)
        return line

    def body(self):
        lines = []
        while True:
            line = self.line()
            assert line is not None, "EOF inside a multi-line reply"
            if line == ".":
                return lines
            lines.append(line[1:] if line.startswith(".") else line)

    def closed(self):
        try:
            return self.f.readline() == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.f.close()
        self.sock.close()


class Case(h.TestCase):
    """A test case whose raw connections are closed when it ends."""

    def raw(self, port):
        c = Raw(port)
        self.addCleanup(c.close)
        return c


def login(d, user="alice", password="secret"):
    p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
    p.user(user)
    p.pass_(password)
    return p


def retr(p, n):
    resp, lines, octets = p.retr(n)
    return b"".join(l + b"\r\n" for l in lines), resp


class Commands(h.TestCase):
    """Every TRANSACTION command through poplib, on both mailbox kinds."""

    def check_kind(self, kind):
        with h.Popgated(self) as d:
            d.add_user("alice", "secret", kind=kind, messages=MSGS if kind == "mbox" else maildir_msgs())
            d.start()
            expect = [wire(m) for m in MSGS]
            p = login(d)
            self.assertEqual(p.stat(), (3, sum(len(m) for m in expect)))
            resp, listing, _ = p.list()
            self.assertEqual(listing, [b"%d %d" % (i + 1, len(m)) for i, m in enumerate(expect)])
            self.assertEqual(p.list(2), b"+OK 2 %d" % len(expect[1]))
            for i, m in enumerate(expect):
                data, resp = retr(p, i + 1)
                self.assertEqual(data, m)
                self.assertEqual(resp, b"+OK %d octets" % len(m))
            resp, lines, _ = p.top(3, 2)
            self.assertEqual(lines[-3:], [b"", b"x" * 1500, b"line"])
            resp, uids, _ = p.uidl()
            uids = [u.split()[1] for u in uids]
            self.assertEqual(len(set(uids)), 3)
            self.assertEqual(p.uidl(3), b"+OK 3 " + uids[2])
            p.dele(2)
            with self.assertRaisesRegex(poplib.error_proto, "no such message"):
                p.retr(2)
            with self.assertRaisesRegex(poplib.error_proto, "no such message"):
                p.list(4)
            p.rset()
            p.dele(1)
            self.assertEqual(p.noop(), b"+OK")
            self.assertEqual(p.quit(), b"+OK popgate signing off (2 messages left)")
            p = login(d)
            self.assertEqual(p.stat()[0], 2)
            self.assertEqual([u.split()[1] for u in p.uidl()[1]], uids[1:])
            self.assertEqual(retr(p, 1)[0], expect[1])
            p.quit()
            log = d.log()
            self.assertRegex(log, r"pop3 session=[0-9a-f]{12} ip=127\.0\.0\.1 user=alice quit: retr=3 dele=1 left=2 update=ok")

    def test_mbox(self):
        self.check_kind("mbox")

    def test_maildir(self):
        self.check_kind("maildir")


class Wire(Case):
    """What poplib hides: pipelining, limits, bad commands, timeouts, the greeting's challenge."""

    def test_pipelining_and_line_limits(self):
        with h.Popgated(self) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            c = self.raw(d.port("pop3"))
            c.send("CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nRETR 2\r\nDELE 1\r\nLIST\r\n"
                   + "A" * 600 + "\r\nNOOP\r\nRSET\r\nQUIT\r\n")
            c.expect("+OK Capability list follows")
            self.assertIn("PIPELINING", c.body())
            c.expect("+OK")
            c.expect("+OK 3 messages")
            c.expect("+OK 3 ")
            c.expect("+OK %d octets" % len(wire(MSGS[1])))
            self.assertEqual("".join(l + "\r\n" for l in c.body()).encode(), wire(MSGS[1]))
            c.expect("+OK message 1 deleted")
            c.expect("+OK 2 messages")
            self.assertEqual(len(c.body()), 2)
            c.expect("-ERR Line too long")
            c.expect("+OK")
            c.expect("+OK maildrop has 3 messages")
            c.expect("+OK popgate signing off (3 messages left)")
            self.assertTrue(c.closed())

    def test_bad_command_limit(self):
        with h.Popgated(self, config={"pop3": {"max_bad_commands": "3"}}) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            c = self.raw(d.port("pop3"))
            c.send("HELO\r\nRETR 1\r\n")
            c.expect("-ERR Unknown command")
            c.expect("-ERR Command not valid in this state")
            c.send("X" * 3000 + "\r\n")
            c.expect("-ERR Too many bad commands")
            self.assertTrue(c.closed())
            # After login the count goes on from zero in the post-login process.
            c = self.raw(d.port("pop3"))
            c.send("USER alice\r\nPASS secret\r\nRETR x\r\nTOP 1 -1\r\nLIST 1 2\r\n")
            c.expect("+OK")
            c.expect("+OK 3 messages")
            c.expect("-ERR Invalid message number")
            c.expect("-ERR Invalid line count")
            c.expect("-ERR Too many bad commands")
            self.assertTrue(c.closed())
            d.wait_for_log(r"user=alice too many bad commands")

    def test_idle_timeout_keeps_messages(self):
        with h.Popgated(self, config={"pop3": {"idle_timeout": "1s"}}) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            c = self.raw(d.port("pop3"))
            t0 = time.time()
            self.assertTrue(c.closed())  # before login
            self.assertLess(time.time() - t0, 5)
            c = self.raw(d.port("pop3"))
            c.send("USER alice\r\nPASS secret\r\nDELE 1\r\nDELE 2\r\n")
            for prefix in ("+OK", "+OK 3 messages", "+OK", "+OK"):
                c.expect(prefix)
            t0 = time.time()
            self.assertTrue(c.closed())  # RFC 1939 autologout: no reply, no UPDATE
            self.assertGreaterEqual(time.time() - t0, 0.5)
            d.wait_for_log(r"user=alice idle timeout")
            p = login(d)
            self.assertEqual(p.stat()[0], 3)
            p.quit()

    def test_apop(self):
        with h.Popgated(self) as d:
            d.add_user("alice", "secret", messages=MSGS)
            secrets = os.path.join(d.dir, "apop.secrets")
            with open(secrets, "w") as f:
                f.write("alice:tanstaaf\n")
            os.chmod(secrets, 0o600)
            d.config["auth"]["apop_secrets_file"] = secrets
            d.config["pop3"]["trusted_networks"] = "192.0.2.0/24"  # APOP needs no TLS
            d.start()
            c = self.raw(d.port("pop3"))
            m = re.fullmatch(r"\+OK popgate ready (<\d+\.\d+@popgate\.test>)", c.greeting)
            self.assertIsNotNone(m, c.greeting)
            wrong = hashlib.md5((m.group(1) + "wrong").encode()).hexdigest()
            c.send("APOP alice %s\r\n" % wrong)
            c.expect("-ERR [AUTH] Authentication failed")
            c.send("APOP alice %s\r\nSTAT\r\nQUIT\r\n" % hashlib.md5((m.group(1) + "tanstaaf").encode()).hexdigest())
            c.expect("+OK 3 messages")
            c.expect("+OK 3 ")
            c.expect("+OK")
            # poplib's own APOP against a new challenge.
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            self.assertTrue(p.apop("alice", "tanstaaf").startswith(b"+OK 3 messages"))
            p.quit()
            d.wait_for_log(r"user=alice login ok: mech=APOP")

    def test_sasl(self):
        with h.Popgated(self) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            b64 = lambda s: base64.b64encode(s.encode()).decode()
            c = self.raw(d.port("pop3"))
            c.send("AUTH PLAIN %s\r\n" % b64("\0alice\0nope"))
            c.expect("-ERR [AUTH] Authentication failed")
            c.send("AUTH PLAIN\r\n")
            c.expect("+ ")
            c.send("*\r\n")
            c.expect("-ERR Authentication cancelled")
            c.send("AUTH PLAIN %s\r\n" % b64("alice\0alice\0secret"))
            c.expect("+OK 3 messages")
            c.send("QUIT\r\n")
            c.expect("+OK")
            c = self.raw(d.port("pop3"))
            c.send("AUTH LOGIN\r\n")
            c.expect("+ VXNlcm5hbWU6")
            c.send(b64("alice") + "\r\n")
            c.expect("+ UGFzc3dvcmQ6")
            c.send(b64("secret") + "\r\nSTAT\r\nQUIT\r\n")
            c.expect("+OK 3 messages")
            c.expect("+OK 3 ")
            c.expect("+OK")
            # poplib's RFC 5034 AUTH with an initial response.
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            self.assertTrue(p._shortcmd("AUTH PLAIN " + b64("\0alice\0secret")).startswith(b"+OK 3"))
            p.quit()


class Policy(Case):
    def test_plaintext_refused_from_untrusted_network(self):
        with h.Popgated(self, config={"pop3": {"trusted_networks": "192.0.2.0/24"}}) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            caps = p.capa()
            self.assertNotIn("USER", caps)
            self.assertNotIn("SASL", caps)
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Plaintext authentication disallowed"):
                p.user("alice")
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Plaintext authentication disallowed"):
                p._shortcmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==")
            p.quit()
            self.assertNotRegex(d.log(), r"login (ok|failed)")  # the password never reached the monitor

    def test_plaintext_always(self):
        with h.Popgated(self, config={"pop3": {"trusted_networks": "", "plaintext_auth": "always"}}) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            login(d).quit()

    def test_failure_delay(self):
        with h.Popgated(self, config={"auth": {"fail_delay": "1s"}}) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            p = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=20)
            p.user("alice")
            t0 = time.time()
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Authentication failed"):
                p.pass_("wrong")
            self.assertGreaterEqual(time.time() - t0, 1.0)
            # The penalty is per user name: another name starts again from auth.fail_delay...
            p.user("nosuchuser")
            t0 = time.time()
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Authentication failed"):
                p.pass_("wrong")
            self.assertGreaterEqual(time.time() - t0, 1.0)
            # ...and alice's second failure waits twice as long.
            p.user("alice")
            t0 = time.time()
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] Authentication failed"):
                p.pass_("wrong")
            self.assertGreaterEqual(time.time() - t0, 2.0)
            # The right password is never penalized: the success is logged without a delay.
            p.user("alice")
            p.pass_("secret")
            p.quit()
            d.wait_for_log(r"user=alice login ok: mech=password")
            self.assertNotRegex(d.log(), r"user=alice login ok[^\n]*delay=")
            d.wait_for_log(r"user=nosuchuser login failed: delay=1s failures=1 address_failures=2")
            d.wait_for_log(r"user=alice login failed: delay=2s failures=2 address_failures=3")


class Privileges(Case):
    def test_session_processes_hold_nothing(self):
        with h.Popgated(self) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            c = self.raw(d.port("pop3"))
            child = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=\S+ user=- connect").group(1))
            st = h.proc_status(child)
            self.assertEqual(st["Uid"], [str(d.login_uid)] * 4, "the protocol child runs as server.login_user")
            self.assertEqual(int(st["CapPrm"][0], 16), 0, "protocol child keeps capabilities")
            self.assertEqual(int(st["CapEff"][0], 16), 0)
            c.send("USER alice\r\nPASS secret\r\n")
            c.expect("+OK")
            c.expect("+OK 3 messages")
            post = int(d.wait_for_log(r"pop3\[(\d+)\]: \w+: pop3 session=[0-9a-f]{12} ip=\S+ user=alice mailbox open").group(1))
            st = h.proc_status(post)
            self.assertEqual(st["Uid"], [str(d.uid)] * 4)
            self.assertEqual(st["Gid"], [str(d.gid)] * 4)
            self.assertEqual(int(st["CapPrm"][0], 16), 0, "post-login process keeps capabilities")
            self.assertEqual(int(st["CapEff"][0], 16), 0)
            index = os.path.join(d.dir, "state", "index", str(d.uid))
            self.assertEqual((os.stat(index).st_uid, os.stat(index).st_mode & 0o777), (d.uid, 0o700))
            c.send("QUIT\r\n")
            c.expect("+OK")


class Concurrency(h.TestCase):
    def test_in_use(self):
        with h.Popgated(self) as d:
            d.add_user("alice", "secret", messages=MSGS)
            d.start()
            first = login(d)
            second = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
            second.user("alice")
            with self.assertRaisesRegex(poplib.error_proto, r"^b'-ERR \[IN-USE\]"):
                second.pass_("secret")
            second.close()
            self.assertEqual(first.stat()[0], 3)
            first.quit()
            login(d).quit()

    def test_quit_releases_the_mailbox_before_its_answer(self):
        # A client that reconnects the moment it reads QUIT's +OK must find its mailbox free.
        msgs = [h.mbox_message(i) for i in range(1, 41)]
        with h.Popgated(self) as d:
            d.add_user("alice", "secret", messages=msgs)
            d.start()
            first = login(d)
            for left in range(len(msgs), 0, -1):
                self.assertEqual(first.stat()[0], left)
                nxt = poplib.POP3("127.0.0.1", d.port("pop3"), timeout=10)
                nxt.user("alice")
                first.dele(1)
                first.quit()
                nxt.pass_("secret")  # poplib raises on -ERR [IN-USE]
                first = nxt
            first.quit()

    def test_update_failure_keeps_everything(self):
        with h.Popgated(self) as d:
            path = d.add_user("alice", "secret", messages=MSGS)
            # The session user may read and write the mbox but not create the dotlock or the new copy.
            os.chmod(os.path.dirname(path), 0o755 if h.IS_ROOT else 0o555)
            d.start()
            p = login(d)
            p.dele(1)
            with self.assertRaisesRegex(poplib.error_proto, r"-ERR \[SYS/TEMP\] some deleted messages not removed"):
                p.quit()
            p.close()
            d.wait_for_log(r"user=alice quit: retr=0 dele=1 left=2 update=temporary failure")
            with open(path, "rb") as f:
                self.assertEqual(f.read(), b"".join(MSGS))
            os.chmod(os.path.dirname(path), 0o1777)

    def test_delivery_during_session(self):
        with h.Popgated(self) as d:
            path = d.add_user("alice", "secret", messages=MSGS)
            d.start()
            p = login(d)
            p.dele(1)
            p.dele(3)
            new = h.mbox_message(4, body=b"delivered while the session was open\n")
            with open(path, "ab") as f:  # like a local delivery agent: fcntl lock, append
                fcntl.lockf(f, fcntl.LOCK_EX)
                f.write(new)
                fcntl.lockf(f, fcntl.LOCK_UN)
            self.assertEqual(p.stat()[0], 1)  # the session's view is fixed at login
            self.assertEqual(p.quit(), b"+OK popgate signing off (1 messages left)")
            p = login(d)
            self.assertEqual(p.stat()[0], 2)
            self.assertEqual(retr(p, 1)[0], wire(MSGS[1]))
            self.assertEqual(retr(p, 2)[0], wire(new))
            p.quit()


if __name__ == "__main__":
    h.main()
